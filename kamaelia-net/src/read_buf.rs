//! The adapter's read buffer: reads land in memory that is neither zeroed first nor copied
//! afterwards, and each read leaves as its own [`Bytes`] chunk.
//!
//! # Why this module uses `unsafe`
//! Safe Rust can only read into initialised memory, so a fresh 64 KiB buffer had to be zeroed
//! before the socket could fill it: in streaming (100 connections, 4 KiB messages, 16 in flight)
//! `memset` took 5.75 % of `echo_server`'s CPU time (perf, cpu-clock samples) — as much as all of
//! axon-core's scheduling together. `recv(2)` writes the bytes it returns, so zeroing first is
//! wasted work; tokio's `ReadBuf` skips it the same way.
//!
//! The unsafe surface is one call, [`BytesMut::set_len`], in [`ReadBuf::commit`], which is
//! private and reached from two places only: [`ReadBuf::recv_from`], after `socket2`'s
//! `recv` reported how many bytes it wrote into the spare room it was given, and the tests,
//! after writing the bytes themselves. Both fill exactly the first `n` bytes of the room.
//!
//! # Memory
//! A buffer of `chunk` bytes' capacity per connection, and the one before it. Chunks split off a
//! buffer share its allocation. Before each read the current buffer is taken back whole if every
//! chunk sent from it has been dropped (the usual case: the handler has echoed them and the
//! adapter has written them), so reads start again at its front. When that is refused and less
//! than [`MIN_ROOM`] is left, the buffer before it is taken back instead if it can be; only if
//! neither can be is a new one allocated. So a connection holds at most two buffers beyond the chunks still in
//! flight, and a streaming connection does not free and re-allocate 64 KiB every few reads
//! (which had glibc return and re-fault the heap's top pages: 890 `brk` calls in 2 s).
//!
//! # Miri
//! The tests below exercise every path through `commit` without a socket:
//! `cargo +nightly miri test -p kamaelia-net --lib read_buf`.
#![allow(unsafe_code)]

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::AsFd;

use bytes::{Bytes, BytesMut};

/// When less than this is left of the buffer, room for a whole chunk is made before reading.
pub(crate) const MIN_ROOM: usize = 4096;

/// See the module docs.
#[derive(Debug)]
pub(crate) struct ReadBuf {
    /// Always empty between reads (`len() == 0`): everything read is split off at once.
    buf: BytesMut,
    /// The buffer used before `buf`, kept while chunks from it may still be in flight so that
    /// its allocation can be taken back once they are dropped, instead of freeing it and
    /// allocating anew (in streaming, glibc then returns and re-faults the pages: a `brk` per
    /// few reads).
    previous: BytesMut,
    /// The most one read takes.
    chunk: usize,
}

impl ReadBuf {
    /// A buffer whose reads take at most `chunk` bytes (at least 1). Allocates on first read.
    pub(crate) fn new(chunk: usize) -> Self {
        ReadBuf { buf: BytesMut::new(), previous: BytesMut::new(), chunk: chunk.max(1) }
    }

    /// The uninitialised room the next read fills: at most `chunk` bytes, and at least
    /// `min(chunk, MIN_ROOM)`.
    fn room(&mut self) -> &mut [MaybeUninit<u8>] {
        // Start again at the front of the buffer whenever every chunk split off it has been
        // dropped (in request/response, the last one was echoed and written before the next
        // read): reads then keep landing in the same, cache-hot bytes instead of walking through
        // the whole buffer, a fresh cache line per small message. The check reads the buffer's
        // shared count (an atomic load); it is skipped while the buffer is at its front.
        let reclaimed = self.buf.capacity() >= self.chunk || self.buf.try_reclaim(self.chunk);
        // `buf` is always empty here, so its capacity is the room left.
        if !reclaimed && self.buf.capacity() < MIN_ROOM.min(self.chunk) {
            // Chunks of this buffer are alive and it is nearly used up: reuse the one before
            // it if none of its chunks is alive any more, else allocate. At most two
            // allocations per connection are held this way.
            std::mem::swap(&mut self.buf, &mut self.previous);
            if !self.buf.try_reclaim(self.chunk) {
                self.buf = BytesMut::with_capacity(self.chunk);
            }
        }
        let room = self.buf.spare_capacity_mut();
        let n = room.len().min(self.chunk);
        &mut room[..n]
    }

    /// One `recv(2)` on `socket`: the bytes it returned (empty at the peer's EOF), and whether
    /// they fell short of the room offered — a short read means the socket had no more.
    ///
    /// # Errors
    /// Whatever `recv` fails with, `WouldBlock` included; nothing is consumed then.
    pub(crate) fn recv_from(&mut self, socket: &impl AsFd) -> io::Result<(Bytes, bool)> {
        let sock = socket2::SockRef::from(socket);
        let room = self.room();
        let room_len = room.len();
        let n = sock.recv(room)?;
        // `recv` returns at most the length it was given; anything else is a broken socket
        // layer, reported rather than trusted.
        if n > room_len {
            return Err(io::Error::other("recv reported more bytes than it was given room for"));
        }
        // SAFETY: `recv(2)` wrote the first `n` bytes of `room` (socket2 passes the slice straight
        // to the system call, which returns how many bytes it stored), and `n <= room.len()`.
        unsafe { self.commit(n) };
        Ok((self.buf.split().freeze(), n < room_len))
    }

    /// Marks the first `n` bytes of the room as holding data.
    ///
    /// # Safety
    /// The first `n` bytes of the slice the last [`room`](Self::room) returned must have been
    /// written since, and nothing else may have touched the buffer in between.
    unsafe fn commit(&mut self, n: usize) {
        debug_assert!(self.buf.is_empty());
        debug_assert!(n <= self.buf.capacity());
        // SAFETY: the caller wrote the first `n` bytes of the spare capacity, which starts at
        // `len() == 0`, and `room` never hands out more than the capacity.
        unsafe { self.buf.set_len(n) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fills the room with `data` (as a socket would), commits, and returns the chunk.
    fn fill(rb: &mut ReadBuf, data: &[u8]) -> Bytes {
        let room = rb.room();
        assert!(data.len() <= room.len());
        for (slot, b) in room.iter_mut().zip(data) {
            slot.write(*b);
        }
        // SAFETY: the loop above wrote the first `data.len()` bytes of the room.
        unsafe { rb.commit(data.len()) };
        rb.buf.split().freeze()
    }

    #[test]
    fn room_is_at_most_a_chunk() {
        let mut rb = ReadBuf::new(100);
        assert_eq!(rb.room().len(), 100);
        let mut rb = ReadBuf::new(0);
        assert_eq!(rb.room().len(), 1, "a zero chunk size is taken as 1");
    }

    #[test]
    fn chunks_keep_their_bytes_while_later_reads_fill_the_rest() {
        let mut rb = ReadBuf::new(64);
        let a = fill(&mut rb, b"hello");
        let b = fill(&mut rb, b"world!");
        let c = fill(&mut rb, &[7u8; 53]);
        assert_eq!(&a[..], b"hello");
        assert_eq!(&b[..], b"world!");
        assert_eq!(&c[..], &[7u8; 53][..]);
        // Room is down to 0 of 64: the next read needs a new allocation, since a, b, c live on.
        let d = fill(&mut rb, b"more");
        assert_eq!(&d[..], b"more");
        assert_eq!(&a[..], b"hello", "earlier chunks are untouched by later reads");
    }

    #[test]
    fn the_allocation_is_taken_back_once_every_chunk_is_dropped() {
        let mut rb = ReadBuf::new(MIN_ROOM * 2);
        let first = fill(&mut rb, &[1u8; MIN_ROOM * 2]);
        let ptr = first.as_ptr();
        drop(first);
        let again = fill(&mut rb, &[2u8; 10]);
        assert_eq!(again.as_ptr(), ptr, "the unique allocation is reused, not replaced");
        assert_eq!(&again[..], &[2u8; 10][..]);
    }

    #[test]
    fn small_reads_land_at_the_front_again_once_their_chunks_are_dropped() {
        let mut rb = ReadBuf::new(MIN_ROOM * 16);
        let first = fill(&mut rb, &[1u8; 64]);
        let front = first.as_ptr();
        drop(first);
        for i in 0..100u8 {
            let chunk = fill(&mut rb, &[i; 64]);
            assert_eq!(chunk.as_ptr(), front, "read {i} reuses the same bytes");
            assert_eq!(&chunk[..], &[i; 64][..]);
        }
        let held = fill(&mut rb, &[7u8; 64]);
        let next = fill(&mut rb, &[8u8; 64]);
        assert_ne!(next.as_ptr(), front, "a chunk still alive keeps the front taken");
        assert!(held.iter().all(|&b| b == 7));
    }

    #[test]
    fn a_chunk_still_held_keeps_its_memory() {
        let mut rb = ReadBuf::new(MIN_ROOM * 2);
        let held = fill(&mut rb, &[1u8; MIN_ROOM * 2]);
        let next = fill(&mut rb, &[2u8; MIN_ROOM * 2]);
        assert_ne!(held.as_ptr(), next.as_ptr());
        assert!(held.iter().all(|&b| b == 1));
        assert!(next.iter().all(|&b| b == 2));
    }

    #[test]
    fn the_buffer_before_is_reused_once_its_chunks_are_gone() {
        let mut rb = ReadBuf::new(MIN_ROOM * 2);
        let a = fill(&mut rb, &[1u8; MIN_ROOM * 2]);
        let a_ptr = a.as_ptr();
        let b = fill(&mut rb, &[2u8; MIN_ROOM * 2]);
        drop(a);
        // `b` is still alive, so its buffer cannot be taken back; `a`'s can.
        let c = fill(&mut rb, &[3u8; 5]);
        assert_eq!(c.as_ptr(), a_ptr);
        assert!(b.iter().all(|&x| x == 2));
        assert_eq!(&c[..], &[3u8; 5][..]);
    }

    #[test]
    fn an_empty_read_yields_an_empty_chunk() {
        let mut rb = ReadBuf::new(16);
        let _ = rb.room();
        // SAFETY: committing 0 bytes claims nothing was written.
        unsafe { rb.commit(0) };
        assert!(rb.buf.split().freeze().is_empty());
        assert_eq!(&fill(&mut rb, b"x")[..], b"x");
    }

    #[test]
    #[cfg_attr(miri, ignore = "Miri cannot make system calls on sockets")]
    fn recv_from_a_socket_returns_what_was_sent_then_eof() {
        use std::io::Write;
        let (mut a, b) = std::os::unix::net::UnixStream::pair().expect("socketpair");
        a.write_all(b"ping").expect("write");
        let mut rb = ReadBuf::new(3);
        let (data, short) = rb.recv_from(&b).expect("recv");
        assert_eq!((&data[..], short), (&b"pin"[..], false), "at most a chunk per read");
        let (data, short) = rb.recv_from(&b).expect("recv");
        assert_eq!((&data[..], short), (&b"g"[..], true));
        b.set_nonblocking(true).expect("nonblocking");
        let e = rb.recv_from(&b).expect_err("nothing to read");
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
        drop(a);
        assert!(rb.recv_from(&b).expect("eof").0.is_empty());
    }

    #[test]
    fn many_reads_of_varied_sizes_round_trip() {
        let mut rb = ReadBuf::new(1000);
        let mut kept = Vec::new();
        for i in 0..200usize {
            let len = (i * 37) % 1000 + 1;
            let data: Vec<u8> = (0..len).map(|j| (i + j) as u8).collect();
            let chunk = fill(&mut rb, &data);
            assert_eq!(&chunk[..], &data[..]);
            if i % 3 == 0 {
                kept.push((chunk, data));
            }
        }
        for (chunk, data) in kept {
            assert_eq!(&chunk[..], &data[..]);
        }
    }
}
