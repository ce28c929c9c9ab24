//! The read buffers of the adapters: reads land in memory that is neither zeroed first nor copied
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
//! A `ReadBuf` reads into one buffer (an *arena*) at a time, and every chunk split off the
//! arena shares its allocation. Before each read the arena is taken back whole if every chunk
//! sent from it has been dropped (the usual case: the handler has echoed them and the adapter
//! has written them), so reads start again at its front.
//!
//! When the arena is nearly used up (less than [`MIN_ROOM`] left) and still referenced, it is
//! set aside among a few earlier arenas (the *spares*), and the first of those whose chunks
//! have all been dropped (oldest first) becomes the arena again; only if none can be taken back
//! is a new one allocated. So a `ReadBuf` holds at most `1 + spares` arenas of the largest
//! chunk size asked for, beyond those that chunks still in flight keep alive (each chunk keeps
//! at most one), and a streaming connection does not free and re-allocate an arena every few
//! reads (which had glibc return and re-fault the heap's top pages: 890 `brk` calls in 2 s).
//!
//! Two kinds are in use:
//! - **Shared**: one per scheduler, owned by the reactor, with [`SPARES`] spares, for every
//!   adapter's small reads. In request/response every connection's read then lands in the same
//!   few cache-hot bytes, where a buffer per connection made each message touch that
//!   connection's own, cold, buffer: at 1000 connections that was worth 8 % of the echo
//!   server's throughput.
//! - **Own**: an adapter whose reads are bulk transfers (larger than [`MIN_ROOM`]) reads into a
//!   `ReadBuf` of its own, with one spare, until its reads are small again. Its large chunks,
//!   often still being written when the next read comes, would otherwise use up the shared
//!   arena and its spares read after read: in streaming (100 connections, 4 KiB messages, 16 in
//!   flight) that cost 5 % of throughput.
//!
//! # Miri
//! The tests below exercise every path through `commit` without a socket:
//! `cargo +nightly miri test -p kamaelia-net --lib read_buf`.
#![allow(unsafe_code)]

use std::collections::VecDeque;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::AsFd;

use bytes::{Bytes, BytesMut};

/// When less than this is left of the arena, room for a whole chunk is made before reading.
/// Also the size above which an adapter's reads count as bulk (see the module docs).
pub(crate) const MIN_ROOM: usize = 4096;

/// How many used-up arenas the shared buffer keeps, to be taken back once their chunks are
/// dropped.
pub(crate) const SPARES: usize = 16;

/// See the module docs.
#[derive(Debug, Default)]
pub(crate) struct ReadBuf {
    /// The arena reads land in. Always empty between reads (`len() == 0`): everything read is
    /// split off at once.
    buf: BytesMut,
    /// Arenas used up while chunks from them were still in flight, oldest first, kept so that
    /// their allocations can be taken back once those chunks are dropped instead of freeing
    /// them and allocating anew.
    spares: VecDeque<(usize, BytesMut)>,
    /// The capacity of a fresh arena: the largest chunk size asked for so far.
    size: usize,
    /// The capacity `buf` was allocated with: 0 before the first read. (Spares are kept with
    /// theirs.)
    buf_size: usize,
    /// How many used-up arenas to keep at most.
    max_spares: usize,
}

impl ReadBuf {
    /// An empty buffer that keeps up to [`SPARES`] used-up arenas (the one a scheduler's
    /// adapters share); allocates on the first read.
    pub(crate) fn new() -> Self {
        Self::with_spares(SPARES)
    }

    /// An empty buffer keeping up to `max_spares` used-up arenas.
    pub(crate) fn with_spares(max_spares: usize) -> Self {
        ReadBuf { max_spares, ..ReadBuf::default() }
    }

    /// The uninitialised room the next read of at most `chunk` bytes fills: at most `chunk`
    /// bytes, and at least `min(chunk, MIN_ROOM)`.
    fn room(&mut self, chunk: usize) -> &mut [MaybeUninit<u8>] {
        let chunk = chunk.max(1);
        self.size = self.size.max(chunk);
        // Start again at the front of the arena whenever every chunk split off it has been
        // dropped (in request/response, the last one was echoed and written before the next
        // read): reads then keep landing in the same, cache-hot bytes instead of walking through
        // the whole arena, a fresh cache line per small message. The check reads the arena's
        // shared count (an atomic load, on a line every read touches); it is skipped while the
        // arena is at its front.
        let reclaimed = self.buf.try_reclaim(self.size);
        // `buf` is always empty here, so its capacity is the room left.
        if !reclaimed && self.buf.capacity() < MIN_ROOM.min(chunk) {
            self.replace_used_up();
        }
        let room = self.buf.spare_capacity_mut();
        let n = room.len().min(chunk);
        &mut room[..n]
    }

    /// Sets the used-up arena aside and takes back the oldest spare none of whose chunks is
    /// alive any more, or allocates a fresh one.
    #[cold]
    fn replace_used_up(&mut self) {
        let size = self.size;
        // A spare made before a larger chunk size was asked for can never be taken back for a
        // whole chunk: let it go (its memory goes with its last chunk).
        self.spares.retain(|(s, _)| *s >= size);
        let (fresh_size, fresh) = match self.spares.iter_mut().position(|(_, b)| b.try_reclaim(size)) {
            Some(i) => self.spares.remove(i).unwrap_or_default(),
            None => (size, BytesMut::with_capacity(size)),
        };
        let used_size = std::mem::replace(&mut self.buf_size, fresh_size);
        let used = std::mem::replace(&mut self.buf, fresh);
        if used_size >= size && self.max_spares > 0 {
            if self.spares.len() >= self.max_spares {
                // Its memory goes when the last chunk split off it does.
                self.spares.pop_front();
            }
            self.spares.push_back((used_size, used));
        }
    }

    /// One `recv(2)` of at most `chunk` bytes on `socket`: the bytes it returned (empty at the
    /// peer's EOF), and whether they fell short of the room offered — a short read means the
    /// socket had no more.
    ///
    /// # Errors
    /// Whatever `recv` fails with, `WouldBlock` included; nothing is consumed then.
    pub(crate) fn recv_from(&mut self, socket: &impl AsFd, chunk: usize) -> io::Result<(Bytes, bool)> {
        let sock = socket2::SockRef::from(socket);
        let room = self.room(chunk);
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

    /// Fills the room for a read of at most `chunk` bytes with `data` (as a socket would),
    /// commits, and returns the chunk.
    fn fill(rb: &mut ReadBuf, chunk: usize, data: &[u8]) -> Bytes {
        let room = rb.room(chunk);
        assert!(data.len() <= room.len());
        for (slot, b) in room.iter_mut().zip(data) {
            slot.write(*b);
        }
        // SAFETY: the loop above wrote the first `data.len()` bytes of the room.
        unsafe { rb.commit(data.len()) };
        rb.buf.split().freeze()
    }

    /// A chunk, waiting in an inbox, fits the front slot that a storage keeps in its first cache
    /// line (32 bytes, `axon-core`'s `queue` module): `Option<Bytes>` is no larger than `Bytes`.
    #[test]
    fn a_queued_chunk_fits_a_storages_front_slot() {
        assert_eq!(std::mem::size_of::<Option<Bytes>>(), 32);
    }

    #[test]
    fn room_is_at_most_a_chunk() {
        let mut rb = ReadBuf::new();
        assert_eq!(rb.room(100).len(), 100);
        assert_eq!(rb.room(0).len(), 1, "a zero chunk size is taken as 1");
    }

    #[test]
    fn chunks_keep_their_bytes_while_later_reads_fill_the_rest() {
        let mut rb = ReadBuf::new();
        let a = fill(&mut rb, 64, b"hello");
        let b = fill(&mut rb, 64, b"world!");
        let c = fill(&mut rb, 64, &[7u8; 53]);
        assert_eq!(&a[..], b"hello");
        assert_eq!(&b[..], b"world!");
        assert_eq!(&c[..], &[7u8; 53][..]);
        // Room is down to 0 of 64: the next read needs a new arena, since a, b, c live on.
        let d = fill(&mut rb, 64, b"more");
        assert_eq!(&d[..], b"more");
        assert_eq!(&a[..], b"hello", "earlier chunks are untouched by later reads");
    }

    #[test]
    fn the_allocation_is_taken_back_once_every_chunk_is_dropped() {
        let mut rb = ReadBuf::new();
        let first = fill(&mut rb, MIN_ROOM * 2, &[1u8; MIN_ROOM * 2]);
        let ptr = first.as_ptr();
        drop(first);
        let again = fill(&mut rb, MIN_ROOM * 2, &[2u8; 10]);
        assert_eq!(again.as_ptr(), ptr, "the unique allocation is reused, not replaced");
        assert_eq!(&again[..], &[2u8; 10][..]);
    }

    #[test]
    fn small_reads_land_at_the_front_again_once_their_chunks_are_dropped() {
        let mut rb = ReadBuf::new();
        let chunk = MIN_ROOM * 16;
        let first = fill(&mut rb, chunk, &[1u8; 64]);
        let front = first.as_ptr();
        drop(first);
        for i in 0..100u8 {
            // Alternate chunk sizes, as adapters with different settings would.
            let c = fill(&mut rb, if i % 2 == 0 { chunk } else { 128 }, &[i; 64]);
            assert_eq!(c.as_ptr(), front, "read {i} reuses the same bytes");
            assert_eq!(&c[..], &[i; 64][..]);
        }
        let held = fill(&mut rb, chunk, &[7u8; 64]);
        let next = fill(&mut rb, chunk, &[8u8; 64]);
        assert_ne!(next.as_ptr(), front, "a chunk still alive keeps the front taken");
        assert!(held.iter().all(|&b| b == 7));
    }

    #[test]
    fn reads_for_different_connections_share_one_arena() {
        let mut rb = ReadBuf::new();
        let a = fill(&mut rb, 1024, &[1u8; 100]);
        let b = fill(&mut rb, 16, &[2u8; 16]);
        assert_eq!(b.as_ptr(), a[100..].as_ptr(), "the next read lands right after a chunk still held");
        assert!(a.iter().all(|&x| x == 1) && b.iter().all(|&x| x == 2));
    }

    #[test]
    fn a_chunk_still_held_keeps_its_memory() {
        let mut rb = ReadBuf::new();
        let held = fill(&mut rb, MIN_ROOM * 2, &[1u8; MIN_ROOM * 2]);
        let next = fill(&mut rb, MIN_ROOM * 2, &[2u8; MIN_ROOM * 2]);
        assert_ne!(held.as_ptr(), next.as_ptr());
        assert!(held.iter().all(|&b| b == 1));
        assert!(next.iter().all(|&b| b == 2));
    }

    #[test]
    fn a_used_up_arena_is_reused_once_its_chunks_are_gone() {
        let mut rb = ReadBuf::new();
        let a = fill(&mut rb, MIN_ROOM * 2, &[1u8; MIN_ROOM * 2]);
        let a_ptr = a.as_ptr();
        let b = fill(&mut rb, MIN_ROOM * 2, &[2u8; MIN_ROOM * 2]);
        drop(a);
        // `b` is still alive, so its arena cannot be taken back; `a`'s can.
        let c = fill(&mut rb, MIN_ROOM * 2, &[3u8; 5]);
        assert_eq!(c.as_ptr(), a_ptr);
        assert!(b.iter().all(|&x| x == 2));
        assert_eq!(&c[..], &[3u8; 5][..]);
    }

    #[test]
    fn at_most_spares_used_up_arenas_are_kept_and_they_are_reused() {
        let mut rb = ReadBuf::new();
        let chunk = MIN_ROOM;
        // Every read fills a whole arena and its chunk is held: each needs a fresh arena.
        let held: Vec<Bytes> = (0..SPARES + 5).map(|i| fill(&mut rb, chunk, &[i as u8; MIN_ROOM])).collect();
        assert_eq!(rb.spares.len(), SPARES, "older arenas are let go, to be freed with their chunks");
        // The arenas the reactor still holds: the spares (each advanced past its one chunk)
        // and the current one. They are still allocated, so a fresh allocation cannot be at
        // any of these addresses.
        let mut kept: Vec<*const u8> =
            rb.spares.iter().map(|(_, b)| b.as_ptr().wrapping_sub(MIN_ROOM)).collect();
        kept.push(held[held.len() - 1].as_ptr());
        for (i, h) in held.iter().enumerate() {
            assert!(h.iter().all(|&x| x == i as u8), "chunk {i} intact");
        }
        drop(held);
        let mut previous = None;
        for i in 0..2 * SPARES {
            // Each read fills its arena, and its chunk lives on while the next read is made.
            let c = fill(&mut rb, chunk, &[i as u8; MIN_ROOM]);
            assert!(kept.contains(&c.as_ptr()), "read {i} reuses a kept arena, allocating none");
            previous = Some(c);
        }
        assert!(previous.is_some_and(|c| c.iter().all(|&x| x == (2 * SPARES - 1) as u8)));
    }

    #[test]
    fn a_buffer_of_ones_own_keeps_one_spare() {
        let mut rb = ReadBuf::with_spares(1);
        let held: Vec<Bytes> = (0..4).map(|i| fill(&mut rb, MIN_ROOM, &[i; MIN_ROOM])).collect();
        assert_eq!(rb.spares.len(), 1);
        let spare = rb.spares[0].1.as_ptr().wrapping_sub(MIN_ROOM);
        assert_eq!(spare, held[2].as_ptr(), "the one kept is the latest used up");
        let kept = [spare, held[3].as_ptr()];
        drop(held);
        let mut previous = None;
        for i in 0..4u8 {
            // The two kept arenas alternate, each taken back in turn: nothing is allocated.
            let c = fill(&mut rb, MIN_ROOM, &[i; MIN_ROOM]);
            assert!(kept.contains(&c.as_ptr()), "read {i}");
            previous = Some(c);
        }
        assert!(previous.is_some_and(|c| c.iter().all(|&x| x == 3)));
        assert!(rb.spares.len() <= 1);
    }

    #[test]
    fn a_larger_chunk_size_makes_the_next_arena_larger_and_lets_smaller_spares_go() {
        let mut rb = ReadBuf::new();
        let small = fill(&mut rb, 100, &[1u8; 100]);
        let small2 = fill(&mut rb, 100, &[2u8; 100]);
        assert_eq!(rb.spares.len(), 1, "the first arena, used up, is kept");
        assert_eq!(rb.room(MIN_ROOM * 4).len(), MIN_ROOM * 4);
        assert!(rb.spares.iter().all(|(size, _)| *size >= MIN_ROOM * 4), "too small to take back");
        assert!(small.iter().all(|&x| x == 1) && small2.iter().all(|&x| x == 2));
    }

    #[test]
    fn a_buffer_without_spares_keeps_none() {
        let mut rb = ReadBuf::with_spares(0);
        let held: Vec<Bytes> = (0..3).map(|i| fill(&mut rb, MIN_ROOM, &[i; MIN_ROOM])).collect();
        assert!(rb.spares.is_empty());
        assert!(held.iter().enumerate().all(|(i, c)| c.iter().all(|&x| x == i as u8)));
    }

    #[test]
    fn an_empty_read_yields_an_empty_chunk() {
        let mut rb = ReadBuf::new();
        let _ = rb.room(16);
        // SAFETY: committing 0 bytes claims nothing was written.
        unsafe { rb.commit(0) };
        assert!(rb.buf.split().freeze().is_empty());
        assert_eq!(&fill(&mut rb, 16, b"x")[..], b"x");
    }

    #[test]
    #[cfg_attr(miri, ignore = "Miri cannot make system calls on sockets")]
    fn recv_from_a_socket_returns_what_was_sent_then_eof() {
        use std::io::Write;
        let (mut a, b) = std::os::unix::net::UnixStream::pair().expect("socketpair");
        a.write_all(b"ping").expect("write");
        let mut rb = ReadBuf::new();
        let (data, short) = rb.recv_from(&b, 3).expect("recv");
        assert_eq!((&data[..], short), (&b"pin"[..], false), "at most a chunk per read");
        let (data, short) = rb.recv_from(&b, 3).expect("recv");
        assert_eq!((&data[..], short), (&b"g"[..], true));
        b.set_nonblocking(true).expect("nonblocking");
        let e = rb.recv_from(&b, 3).expect_err("nothing to read");
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
        drop(a);
        assert!(rb.recv_from(&b, 3).expect("eof").0.is_empty());
    }

    #[test]
    fn many_reads_of_varied_sizes_round_trip() {
        let mut rb = ReadBuf::new();
        let mut kept = Vec::new();
        for i in 0..200usize {
            let len = (i * 37) % 1000 + 1;
            let data: Vec<u8> = (0..len).map(|j| (i + j) as u8).collect();
            let chunk = fill(&mut rb, 1000 + i % 7, &data);
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
