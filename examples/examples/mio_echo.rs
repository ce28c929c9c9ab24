//! `mio_echo`: a hand-written, single-threaded mio echo server — the floor the issue measures the
//! framework's overhead against ("a hand-written single-thread mio echo server"), next to
//! `tokio_echo`.
//!
//! One `Poll`, edge-triggered; each connection is a slot holding its socket and whatever the
//! socket would not take yet. Reads go into one 64 KiB buffer the whole loop shares (a
//! connection's unwritten rest is copied out), and a connection reads again only once its rest
//! is written, so a peer that does not read stops being read from. `TCP_NODELAY` is on.
//!
//! ```text
//! cargo run --release --example mio_echo                        # listens on 127.0.0.1:1603
//! cargo run --release --example mio_echo -- --addr 127.0.0.1:12345
//! ```
//! It prints `listening on <addr>` once bound; SIGINT ends it. See `echo_load` for the benchmark
//! commands and `examples/scripts/echo_compare.sh` to compare all three servers.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

/// The address the baseline listens on unless told otherwise.
const DEFAULT_ADDR: &str = "127.0.0.1:1603";

/// The listener's token; connections use their slab keys, which never reach it.
const LISTENER: Token = Token(usize::MAX);

/// The size of the shared read buffer.
const BUF: usize = 64 * 1024;

/// How long to wait before accepting again after accepting failed (out of descriptors, say).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(10);

/// One connection: its socket, the bytes it has not yet taken, and whether the peer's FIN has
/// been reported (after which a short read no longer means the socket is drained: its EOF is
/// still to be read, and no further edge will say so).
struct Conn {
    sock: TcpStream,
    pending: Vec<u8>,
    peer_closed: bool,
}

/// Writes `data` until the socket would block; returns how much it took.
fn write_some(sock: &mut TcpStream, data: &[u8]) -> io::Result<usize> {
    let mut done = 0;
    while done < data.len() {
        match sock.write(&data[done..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// Handles readiness on one connection; `Ok(false)` when it is done with.
fn serve(c: &mut Conn, buf: &mut [u8]) -> io::Result<bool> {
    if !c.pending.is_empty() {
        let n = write_some(&mut c.sock, &c.pending)?;
        c.pending.drain(..n);
        if !c.pending.is_empty() {
            return Ok(true);
        }
    }
    loop {
        let n = match c.sock.read(buf) {
            Ok(0) => return Ok(false),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(true),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let w = write_some(&mut c.sock, &buf[..n])?;
        if w < n {
            c.pending.extend_from_slice(&buf[w..n]);
            return Ok(true);
        }
        if n < buf.len() && !c.peer_closed {
            // A short read drained the socket: the next arrival is a new edge (as tokio does).
            return Ok(true);
        }
    }
}

/// Accepts until the backlog is empty; `Ok(Some(error))` if accepting failed and must be
/// retried.
fn accept_all(
    listener: &TcpListener,
    poll: &Poll,
    conns: &mut slab::Slab<Conn>,
) -> io::Result<Option<io::Error>> {
    loop {
        match listener.accept() {
            Ok((mut sock, _)) => {
                let _ = sock.set_nodelay(true);
                let entry = conns.vacant_entry();
                let token = Token(entry.key());
                poll.registry().register(&mut sock, token, Interest::READABLE | Interest::WRITABLE)?;
                entry.insert(Conn { sock, pending: Vec::new(), peer_closed: false });
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Ok(Some(e)),
        }
    }
}

fn run(addr: SocketAddr) -> io::Result<()> {
    let mut poll = Poll::new()?;
    let mut listener = TcpListener::bind(addr)?;
    poll.registry().register(&mut listener, LISTENER, Interest::READABLE)?;
    println!("listening on {}", listener.local_addr()?);
    io::stdout().flush()?;
    let mut events = Events::with_capacity(1024);
    let mut conns: slab::Slab<Conn> = slab::Slab::new();
    let mut buf = vec![0u8; BUF];
    // Set when accepting failed (typically out of descriptors): the listener's edge has been
    // used up, so accepting is retried after a pause rather than at the next connection.
    let mut retry_accept = false;
    loop {
        let timeout = retry_accept.then_some(ACCEPT_BACKOFF);
        if let Err(e) = poll.poll(&mut events, timeout) {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        let mut accept = retry_accept;
        for ev in events.iter() {
            if ev.token() == LISTENER {
                accept = true;
                continue;
            }
            let key = ev.token().0;
            let Some(c) = conns.get_mut(key) else { continue };
            c.peer_closed |= ev.is_read_closed() || ev.is_error();
            if !matches!(serve(c, &mut buf), Ok(true)) {
                let mut c = conns.remove(key);
                let _ = poll.registry().deregister(&mut c.sock);
            }
        }
        if accept {
            let failed = accept_all(&listener, &poll, &mut conns)?;
            if let (Some(e), false) = (&failed, retry_accept) {
                eprintln!("mio_echo: accept: {e}; retrying every {ACCEPT_BACKOFF:?}");
            }
            retry_accept = failed.is_some();
        }
    }
}

fn main() -> ExitCode {
    let addr = match kamaelia_examples::addr_from_args_or(DEFAULT_ADDR) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("mio_echo: {e}");
            return ExitCode::from(2);
        }
    };
    match run(addr) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mio_echo: {e}");
            ExitCode::FAILURE
        }
    }
}
