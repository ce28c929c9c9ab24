//! `echo_load`: a load generator for TCP echo servers, with byte-exact verification.
//!
//! It opens `--conns` connections to `--addr` (loopback addresses only), spread over `--threads`
//! client threads, each thread driving its share with its own mio `Poll` (edge-triggered, no
//! per-connection thread or task). Once every connection is up it runs unmeasured for `--warmup`
//! seconds (default 0), then measures for `--duration` seconds:
//!
//! - `--mode rr`: each connection sends one message of `--size` bytes and waits for the whole echo
//!   before sending the next; the latency is that round trip.
//! - `--mode stream`: each connection keeps `--depth` messages in flight; the latency is the time
//!   from queueing a message for sending to receiving the last byte of its echo.
//! - `--mode churn`: each of the `--conns` connections carries one message, then closes, and a
//!   new connection takes its place; a "message" is then a whole short-lived connection, and the
//!   latency runs from the start of its connect to the last byte of its echo. This measures what
//!   a server spends to accept, set up, serve and tear down a connection. (The client closes
//!   first, so its side waits in TIME_WAIT; Linux reuses those ports for new connects on
//!   loopback by default, `net.ipv4.tcp_tw_reuse = 2`.)
//!
//! Every message is recognisable: its first bytes are the connection id and the sequence number
//! (little-endian `u32`s), the rest a pseudo-random pattern shifted by the sequence number. Each
//! echoed byte is compared with what was sent; a mismatch, a reset, an early EOF, a failed connect
//! or a message unanswered for `--timeout` seconds (default 5) counts as an error. After the
//! duration no new messages are sent and the ones in flight are collected (for up to `--timeout`
//! seconds) and checked, but only messages completed within the duration count towards the rates.
//!
//! It prints one line,
//! `RESULT mode=.. conns=.. size=.. depth=.. msgs_per_s=.. mb_per_s=.. p50_us=.. p99_us=.. errors=..`
//! (`mb_per_s` is echoed payload in one direction, 10^6 bytes per second; `depth` is 1 in rr mode),
//! with a breakdown of the errors on stderr, and exits 1 if there were any errors. It also writes
//! `echo_load: window start` and `echo_load: window end` to stderr as the measured window opens and
//! closes, so that a script can sample the server's CPU time over exactly that window.
//!
//! To reproduce the comparison with the tokio baseline (two cores; run each pair back to back):
//!
//! ```text
//! export CARGO_TARGET_DIR=/work/target-load
//! cargo build --release --example echo_server --example tokio_echo --example echo_load
//! B=$CARGO_TARGET_DIR/release/examples
//! ulimit -n 20000      # (d) needs about 10 000 descriptors in each process
//! timeout 60 $B/echo_server --addr 127.0.0.1:17001 &
//! timeout 60 $B/tokio_echo  --addr 127.0.0.1:17002 &
//! # (a) request/response, 64 B, 100 connections
//! timeout 30 $B/echo_load --addr 127.0.0.1:17001 --mode rr --size 64 --conns 100 --duration 10
//! timeout 30 $B/echo_load --addr 127.0.0.1:17002 --mode rr --size 64 --conns 100 --duration 10
//! # (b) request/response, 64 B, 1000 connections
//! timeout 30 $B/echo_load --addr 127.0.0.1:17001 --mode rr --size 64 --conns 1000 --duration 10
//! timeout 30 $B/echo_load --addr 127.0.0.1:17002 --mode rr --size 64 --conns 1000 --duration 10
//! # (c) streaming, 4 KiB messages, 16 in flight per connection, 100 connections
//! timeout 30 $B/echo_load --addr 127.0.0.1:17001 --mode stream --size 4096 --depth 16 --conns 100
//! timeout 30 $B/echo_load --addr 127.0.0.1:17002 --mode stream --size 4096 --depth 16 --conns 100
//! # (d) 10 000 connections held and echoing
//! timeout 120 $B/echo_load --addr 127.0.0.1:17001 --mode rr --size 64 --conns 10000 --duration 10
//! # steady state only (connection set-up excluded): add e.g. `--warmup 5 --timeout 30`
//! kill %1 %2
//! ```
//!
//! `mio_echo`, a hand-written mio loop (the floor of any framework's overhead), runs the same way
//! on a third port; `examples/scripts/echo_compare.sh` alternates all three servers and prints
//! the medians and their ratios.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream as StdStream};
use std::process::ExitCode;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

/// Request/response or pipelined streaming.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// One message in flight per connection.
    Rr,
    /// `depth` messages in flight per connection.
    Stream,
    /// One message per connection, then a new connection.
    Churn,
}

/// The command line.
#[derive(Clone, Debug)]
struct Opts {
    /// The server.
    addr: SocketAddr,
    /// Connections in all.
    conns: usize,
    /// Bytes per message.
    size: usize,
    /// The mode.
    mode: Mode,
    /// Messages in flight per connection in stream mode.
    depth: usize,
    /// How long to measure.
    duration: Duration,
    /// Client threads.
    threads: usize,
    /// How long a message may stay unanswered, and how long connecting may take.
    timeout: Duration,
    /// How long to run before measuring.
    warmup: Duration,
}

const USAGE: &str = "usage: echo_load --addr ADDR [--conns N] [--size BYTES] [--mode rr|stream|churn] \
                     [--depth D] [--duration SECS] [--threads T] [--timeout SECS] \
                     [--warmup SECS]";

fn parse_args() -> Result<Opts, String> {
    let mut addr = None;
    let mut o = Opts {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        conns: 100,
        size: 64,
        mode: Mode::Rr,
        depth: 16,
        duration: Duration::from_secs(10),
        threads: 1,
        timeout: Duration::from_secs(5),
        warmup: Duration::ZERO,
    };
    let mut args = std::env::args().skip(1);
    fn num<T: std::str::FromStr>(flag: &str, v: Option<String>) -> Result<T, String> {
        let v = v.ok_or_else(|| format!("{flag} needs a value"))?;
        v.parse().map_err(|_| format!("bad value {v:?} for {flag}"))
    }
    fn secs(flag: &str, v: Option<String>) -> Result<Duration, String> {
        let s: f64 = num(flag, v)?;
        if !(s > 0.0 && s <= 3600.0) {
            return Err(format!("{flag} must be in (0, 3600] seconds"));
        }
        Ok(Duration::from_secs_f64(s))
    }
    while let Some(a) = args.next() {
        match a.as_str() {
            "--addr" => {
                let v: String = num("--addr", args.next())?;
                addr = Some(v.parse::<SocketAddr>().map_err(|e| format!("bad --addr {v:?}: {e}"))?);
            }
            "--conns" => o.conns = num("--conns", args.next())?,
            "--size" => o.size = num("--size", args.next())?,
            "--depth" => o.depth = num("--depth", args.next())?,
            "--threads" => o.threads = num("--threads", args.next())?,
            "--duration" => o.duration = secs("--duration", args.next())?,
            "--timeout" => o.timeout = secs("--timeout", args.next())?,
            "--warmup" => {
                let w: f64 = num("--warmup", args.next())?;
                if !(0.0..=3600.0).contains(&w) {
                    return Err("--warmup must be in [0, 3600] seconds".to_owned());
                }
                o.warmup = Duration::from_secs_f64(w);
            }
            "--mode" => {
                o.mode = match args.next().as_deref() {
                    Some("rr") => Mode::Rr,
                    Some("stream") => Mode::Stream,
                    Some("churn") => Mode::Churn,
                    other => return Err(format!("--mode must be rr, stream or churn, not {other:?}")),
                }
            }
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other:?}; {USAGE}")),
        }
    }
    o.addr = addr.ok_or_else(|| format!("--addr is required; {USAGE}"))?;
    if !o.addr.ip().is_loopback() {
        return Err(format!("refusing to load {}: only loopback addresses are allowed", o.addr));
    }
    if !(1..=100_000).contains(&o.conns) {
        return Err("--conns must be in 1..=100000".to_owned());
    }
    if !(1..=16 << 20).contains(&o.size) {
        return Err("--size must be in 1..=16777216".to_owned());
    }
    if !(1..=4096).contains(&o.depth) {
        return Err("--depth must be in 1..=4096".to_owned());
    }
    if !(1..=64).contains(&o.threads) {
        return Err("--threads must be in 1..=64".to_owned());
    }
    if o.mode != Mode::Stream {
        o.depth = 1;
    }
    Ok(o)
}

/// Bytes of header (connection id, sequence number) at the start of each message.
const HEADER: usize = 8;
/// The body of message `seq` starts at offset `seq % SHIFTS` of the pattern.
const SHIFTS: u32 = 251;

/// The deterministic message contents.
#[derive(Debug)]
struct Pattern {
    /// Pseudo-random bytes, `size + SHIFTS` long.
    body: Vec<u8>,
    /// Message size.
    size: usize,
}

impl Pattern {
    fn new(size: usize) -> Self {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let body = (0..size + SHIFTS as usize)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect();
        Pattern { body, size }
    }

    fn header(conn: u32, seq: u32) -> [u8; HEADER] {
        let mut h = [0; HEADER];
        h[..4].copy_from_slice(&conn.to_le_bytes());
        h[4..].copy_from_slice(&seq.to_le_bytes());
        h
    }

    /// Appends message `seq` of connection `conn` to `out`.
    fn append(&self, conn: u32, seq: u32, out: &mut Vec<u8>) {
        let h = Self::header(conn, seq);
        let hl = HEADER.min(self.size);
        out.extend_from_slice(&h[..hl]);
        let start = (seq % SHIFTS) as usize;
        out.extend_from_slice(&self.body[start..start + self.size - hl]);
    }

    /// Whether `data` equals bytes `off..off + data.len()` of message `seq` of connection `conn`.
    fn matches(&self, conn: u32, seq: u32, off: usize, data: &[u8]) -> bool {
        let hl = HEADER.min(self.size);
        let mut i = off;
        let mut d = data;
        if i < hl {
            let n = (hl - i).min(d.len());
            if d[..n] != Self::header(conn, seq)[i..i + n] {
                return false;
            }
            d = &d[n..];
            i += n;
        }
        if d.is_empty() {
            return true;
        }
        let start = (seq % SHIFTS) as usize + (i - hl);
        d == &self.body[start..start + d.len()]
    }
}

/// Latencies in microseconds: 1 µs buckets below 65 536 µs, 1 ms buckets above (up to ~65 s).
#[derive(Debug)]
struct Histogram {
    /// Counts per bucket.
    counts: Vec<u64>,
}

const FINE: usize = 1 << 16;

impl Histogram {
    fn new() -> Self {
        Histogram { counts: vec![0; 2 * FINE] }
    }

    fn record(&mut self, d: Duration) {
        let us = d.as_micros().min(u64::MAX as u128) as u64 as usize;
        let i = if us < FINE { us } else { (FINE + us / 1000).min(2 * FINE - 1) };
        self.counts[i] += 1;
    }

    fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
    }

    fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The latency at quantile `q` (0..=1), in µs.
    fn quantile(&self, q: f64) -> u64 {
        let total = self.total();
        if total == 0 {
            return 0;
        }
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return if i < FINE { i as u64 } else { ((i - FINE) * 1000) as u64 };
            }
        }
        0
    }
}

/// Error counts by kind.
#[derive(Debug, Default, Clone, Copy)]
struct Errors {
    /// Connections that could not be made.
    connect: u64,
    /// Echoes that differed from what was sent.
    mismatch: u64,
    /// Connections reset or failing with another I/O error.
    io: u64,
    /// Connections the server closed while messages were outstanding.
    eof: u64,
    /// Messages unanswered for longer than the timeout.
    timeout: u64,
}

impl Errors {
    fn total(&self) -> u64 {
        self.connect + self.mismatch + self.io + self.eof + self.timeout
    }

    fn add(&mut self, o: &Errors) {
        self.connect += o.connect;
        self.mismatch += o.mismatch;
        self.io += o.io;
        self.eof += o.eof;
        self.timeout += o.timeout;
    }
}

/// What one thread measured.
#[derive(Debug)]
struct Report {
    /// Messages whose echo completed within the measured duration.
    completed: u64,
    /// Their latencies.
    hist: Histogram,
    /// Errors.
    errors: Errors,
    /// The measured duration (from this thread's start to its end of sending).
    elapsed: Duration,
}

/// One connection.
#[derive(Debug)]
struct Conn {
    /// The socket; `None` once closed.
    stream: Option<TcpStream>,
    /// The id carried in the messages.
    id: u32,
    /// The sequence number of the next message to send.
    send_seq: u32,
    /// The sequence number of the message being received.
    recv_seq: u32,
    /// Bytes of that message received so far.
    recv_off: usize,
    /// Bytes queued for writing.
    out: Vec<u8>,
    /// How much of `out` is written.
    out_pos: usize,
    /// When each message in flight was queued, oldest first.
    sent_at: VecDeque<Instant>,
}

impl Conn {
    fn in_flight(&self) -> usize {
        self.sent_at.len()
    }
}

/// Drives a share of the connections. `ids` are the connection ids for this thread.
/// Thread 0 `announce`s the measured window on stderr (`echo_load: window start` / `end`), so a
/// script can sample the server's CPU time over exactly that window.
fn run_thread(o: &Opts, ids: std::ops::Range<u32>, barrier: &Barrier, announce: bool) -> Report {
    let pattern = Pattern::new(o.size);
    let mut errors = Errors::default();
    let mut conns: Vec<Conn> = Vec::with_capacity(ids.len());
    let poll = Poll::new();
    let mut poll = match poll {
        Ok(p) => p,
        Err(e) => {
            eprintln!("echo_load: cannot create a poll: {e}");
            errors.connect += ids.len() as u64;
            barrier.wait();
            return Report { completed: 0, hist: Histogram::new(), errors, elapsed: Duration::ZERO };
        }
    };
    for id in ids {
        let s = match StdStream::connect_timeout(&o.addr, o.timeout) {
            Ok(s) => s,
            Err(e) => {
                if errors.connect == 0 {
                    eprintln!("echo_load: connect {}: {e}", o.addr);
                }
                errors.connect += 1;
                continue;
            }
        };
        let setup = s.set_nodelay(true).and_then(|()| s.set_nonblocking(true));
        if let Err(e) = setup {
            eprintln!("echo_load: socket setup: {e}");
            errors.connect += 1;
            continue;
        }
        let mut stream = TcpStream::from_std(s);
        let token = Token(conns.len());
        if let Err(e) = poll.registry().register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
        {
            eprintln!("echo_load: register: {e}");
            errors.connect += 1;
            continue;
        }
        conns.push(Conn {
            stream: Some(stream),
            id,
            send_seq: 0,
            recv_seq: 0,
            recv_off: 0,
            out: Vec::with_capacity(o.size * o.depth),
            out_pos: 0,
            sent_at: VecDeque::with_capacity(o.depth),
        });
    }
    barrier.wait();

    let t0 = Instant::now();
    let start = t0 + o.warmup;
    let end = start + o.duration;
    let mut hist = Histogram::new();
    let mut completed = 0u64;
    let mut sending = true;
    let mut read_buf = vec![0u8; 256 * 1024];
    let mut events = Events::with_capacity(1024);
    let mut open = conns.len();

    // Fill every connection's pipeline.
    for c in conns.iter_mut() {
        let now = Instant::now();
        while c.in_flight() < o.depth {
            queue(c, &pattern, now);
        }
        if flush(c).is_err() {
            close(c, &poll, &mut errors.io);
            open -= 1;
        }
    }

    let mut last_sweep = t0;
    let mut stop_at = end;
    let mut started = false;
    if announce && o.warmup.is_zero() {
        eprintln!("echo_load: window start");
        started = true;
    }
    loop {
        let now = Instant::now();
        if announce && !started && now >= start {
            eprintln!("echo_load: window start");
            started = true;
        }
        if sending && now >= end {
            sending = false;
            stop_at = now + o.timeout;
            if announce {
                eprintln!("echo_load: window end");
            }
        }
        if !sending && (now >= stop_at || conns.iter().all(|c| c.stream.is_none() || c.in_flight() == 0)) {
            break;
        }
        if now.duration_since(last_sweep) >= Duration::from_millis(200) {
            last_sweep = now;
            for c in conns.iter_mut() {
                if c.stream.is_some() && c.sent_at.front().is_some_and(|&t| now.duration_since(t) > o.timeout)
                {
                    if errors.timeout == 0 {
                        eprintln!("echo_load: connection {} timed out", c.id);
                    }
                    close(c, &poll, &mut errors.timeout);
                    open -= 1;
                }
            }
        }
        if open == 0 {
            if sending {
                // Nothing left to drive; wait out the duration so the rates stay honest.
                std::thread::sleep(end.saturating_duration_since(Instant::now()));
            }
            break;
        }
        let wait = match (started || !announce, sending) {
            (false, _) => start.saturating_duration_since(now),
            (true, true) => end.saturating_duration_since(now),
            (true, false) => stop_at.saturating_duration_since(now),
        };
        if let Err(e) = poll.poll(&mut events, Some(wait.min(Duration::from_millis(100)))) {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            eprintln!("echo_load: poll: {e}");
            errors.io += 1;
            break;
        }
        for ev in events.iter() {
            let i = ev.token().0;
            let c = &mut conns[i];
            if c.stream.is_none() {
                continue;
            }
            let churn =
                (o.mode == Mode::Churn).then_some(Churn { addr: o.addr, poll: &poll, token: ev.token() });
            match service(c, &pattern, &mut read_buf, sending, (start, end), &mut hist, &mut completed, churn)
            {
                Ok(()) => {}
                Err(Failure::Mismatch) => {
                    if errors.mismatch == 0 {
                        eprintln!("echo_load: connection {}: echo differs from what was sent", c.id);
                    }
                    close(c, &poll, &mut errors.mismatch);
                    open -= 1;
                }
                Err(Failure::Eof) => {
                    if c.in_flight() > 0 {
                        if errors.eof == 0 {
                            eprintln!("echo_load: connection {}: server closed it", c.id);
                        }
                        close(c, &poll, &mut errors.eof);
                    } else {
                        close(c, &poll, &mut 0);
                    }
                    open -= 1;
                }
                Err(Failure::Io(e)) => {
                    if errors.io == 0 {
                        eprintln!("echo_load: connection {}: {e}", c.id);
                    }
                    close(c, &poll, &mut errors.io);
                    open -= 1;
                }
                Err(Failure::Connect(e)) => {
                    if errors.connect == 0 {
                        eprintln!("echo_load: connect {}: {e}", o.addr);
                    }
                    close(c, &poll, &mut errors.connect);
                    open -= 1;
                }
            }
        }
    }
    // Whatever is still unanswered has timed out.
    for c in &conns {
        if c.stream.is_some() && c.in_flight() > 0 {
            errors.timeout += 1;
        }
    }
    Report { completed, hist, errors, elapsed: o.duration }
}

/// Why a connection was given up.
#[derive(Debug)]
enum Failure {
    /// The echo differed.
    Mismatch,
    /// The server closed the connection.
    Eof,
    /// An I/O error.
    Io(io::Error),
    /// A new connection (churn mode) could not be made.
    Connect(io::Error),
}

/// Queues the connection's next message.
fn queue(c: &mut Conn, pattern: &Pattern, now: Instant) {
    if c.out_pos == c.out.len() {
        c.out.clear();
        c.out_pos = 0;
    }
    pattern.append(c.id, c.send_seq, &mut c.out);
    c.send_seq = c.send_seq.wrapping_add(1);
    c.sent_at.push_back(now);
}

/// Writes what is queued until the socket stops taking it.
fn flush(c: &mut Conn) -> io::Result<()> {
    let Some(stream) = c.stream.as_mut() else { return Ok(()) };
    while c.out_pos < c.out.len() {
        match stream.write(&c.out[c.out_pos..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => c.out_pos += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Reads and checks everything available on the connection, refills its pipeline and writes.
/// In churn mode (`churn` given), a completed message closes the connection and opens the next.
#[allow(clippy::too_many_arguments)]
fn service(
    c: &mut Conn,
    pattern: &Pattern,
    buf: &mut [u8],
    sending: bool,
    (start, end): (Instant, Instant),
    hist: &mut Histogram,
    completed: &mut u64,
    mut churn: Option<Churn<'_>>,
) -> Result<(), Failure> {
    loop {
        let Some(stream) = c.stream.as_mut() else { return Ok(()) };
        let n = match stream.read(buf) {
            Ok(0) => return Err(Failure::Eof),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Failure::Io(e)),
        };
        let mut data = &buf[..n];
        let now = Instant::now();
        while !data.is_empty() {
            let Some(&sent) = c.sent_at.front() else {
                // Bytes nobody sent.
                return Err(Failure::Mismatch);
            };
            let k = (pattern.size - c.recv_off).min(data.len());
            if !pattern.matches(c.id, c.recv_seq, c.recv_off, &data[..k]) {
                return Err(Failure::Mismatch);
            }
            data = &data[k..];
            c.recv_off += k;
            if c.recv_off == pattern.size {
                c.recv_off = 0;
                c.recv_seq = c.recv_seq.wrapping_add(1);
                c.sent_at.pop_front();
                if start <= now && now <= end {
                    hist.record(now.duration_since(sent));
                    *completed += 1;
                }
                if sending && now < end {
                    if let Some(churn) = churn.as_mut() {
                        return churn.replace(c, pattern, now);
                    }
                    queue(c, pattern, now);
                }
            }
        }
    }
    flush(c).map_err(Failure::Io)
}

/// What churn mode needs to replace a connection: where to connect, and the poll to register
/// the new one with (under the old one's token).
struct Churn<'a> {
    addr: SocketAddr,
    poll: &'a Poll,
    token: Token,
}

impl Churn<'_> {
    /// Closes `c`'s connection (its message is done) and opens the next, with the next message
    /// queued; it is written once the connect completes (until then a write would block).
    fn replace(&mut self, c: &mut Conn, pattern: &Pattern, now: Instant) -> Result<(), Failure> {
        if let Some(mut old) = c.stream.take() {
            let _ = self.poll.registry().deregister(&mut old);
        }
        let mut stream = TcpStream::connect(self.addr).map_err(Failure::Connect)?;
        stream.set_nodelay(true).map_err(Failure::Connect)?;
        self.poll
            .registry()
            .register(&mut stream, self.token, Interest::READABLE | Interest::WRITABLE)
            .map_err(Failure::Connect)?;
        c.stream = Some(stream);
        c.recv_off = 0;
        c.out.clear();
        c.out_pos = 0;
        queue(c, pattern, now);
        match flush(c) {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            r => r.map_err(Failure::Io),
        }
    }
}

/// Closes a connection, counting it in `counter`.
fn close(c: &mut Conn, poll: &Poll, counter: &mut u64) {
    if let Some(mut s) = c.stream.take() {
        let _ = poll.registry().deregister(&mut s);
    }
    *counter += 1;
}

fn main() -> ExitCode {
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("echo_load: {e}");
            return ExitCode::from(2);
        }
    };
    let threads = o.threads.min(o.conns);
    let barrier = Arc::new(Barrier::new(threads));
    let mut handles = Vec::with_capacity(threads);
    for t in 0..threads {
        let lo = (o.conns * t / threads) as u32;
        let hi = (o.conns * (t + 1) / threads) as u32;
        let o = o.clone();
        let barrier = Arc::clone(&barrier);
        let h = std::thread::Builder::new()
            .name(format!("echo_load-{t}"))
            .spawn(move || run_thread(&o, lo..hi, &barrier, t == 0));
        match h {
            Ok(h) => handles.push(h),
            Err(e) => {
                eprintln!("echo_load: cannot start a thread: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let mut hist = Histogram::new();
    let mut errors = Errors::default();
    let mut completed = 0;
    let mut elapsed = Duration::ZERO;
    for h in handles {
        match h.join() {
            Ok(r) => {
                hist.merge(&r.hist);
                errors.add(&r.errors);
                completed += r.completed;
                elapsed = elapsed.max(r.elapsed);
            }
            Err(_) => {
                eprintln!("echo_load: a client thread panicked");
                errors.io += 1;
            }
        }
    }
    let secs = elapsed.as_secs_f64().max(1e-9);
    let msgs_per_s = completed as f64 / secs;
    let mb_per_s = msgs_per_s * o.size as f64 / 1e6;
    if errors.total() > 0 {
        eprintln!(
            "echo_load: errors: connect={} mismatch={} io={} eof={} timeout={}",
            errors.connect, errors.mismatch, errors.io, errors.eof, errors.timeout
        );
    }
    println!(
        "RESULT mode={} conns={} size={} depth={} msgs_per_s={:.0} mb_per_s={:.2} p50_us={} p99_us={} errors={}",
        match o.mode {
            Mode::Rr => "rr",
            Mode::Stream => "stream",
            Mode::Churn => "churn",
        },
        o.conns,
        o.size,
        o.depth,
        msgs_per_s,
        mb_per_s,
        hist.quantile(0.50),
        hist.quantile(0.99),
        errors.total()
    );
    if errors.total() > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
