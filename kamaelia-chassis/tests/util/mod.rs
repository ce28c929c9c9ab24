//! Test harness: a server on its own scheduler thread, probed and controlled from the test
//! thread, and blocking socket clients. Every wait is bounded.
#![allow(dead_code, unreachable_pub)]

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::Command;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use axon_core::ipc::Ipc;
use axon_core::{boxes, from_fn, BoxDecl, Component, ComponentRef, Scheduler, Stats};
use kamaelia_net::{NetStats, Reactor};

/// The longest any single wait in these tests may take.
pub const LIMIT: Duration = Duration::from_secs(60);

/// What the server thread publishes after every turn of its loop.
#[derive(Clone, Debug, Default)]
pub struct Probe {
    /// Active components on the server's scheduler.
    pub components: usize,
    /// The reactor's counters.
    pub net: NetStats,
    /// The scheduler's counters.
    pub stats: Stats,
    /// The linkages the server component has made, as `Link( source:[..], sink:[..] )`.
    pub server_links: Vec<String>,
    /// Whether the server component has ended.
    pub server_done: bool,
    /// How the server component ended, once it has ([`EndCause`](axon_core::EndCause) as text).
    pub end_cause: Option<String>,
    /// What the server emitted on `signal`, as `Debug` text.
    pub signals: Vec<String>,
}

/// What the test thread asks of the server thread.
enum Cmd {
    /// Deliver to the server's `control`.
    Control(Ipc),
    /// Run on the server thread, given the server component.
    WithServer(Box<dyn FnOnce(&ComponentRef) + Send>),
    /// End the server thread.
    Stop,
}

/// A server running on its own thread.
pub struct Harness {
    pub addr: SocketAddr,
    cmd: mpsc::Sender<Cmd>,
    probe: Arc<Mutex<Probe>>,
    thread: Option<JoinHandle<()>>,
}

impl Harness {
    /// Starts the server `build` makes (it returns the component and its address).
    pub fn start<S, B>(build: B) -> Harness
    where
        S: Component,
        B: FnOnce() -> (S, SocketAddr) + Send + 'static,
    {
        let (addr_tx, addr_rx) = mpsc::channel();
        let (cmd, cmd_rx) = mpsc::channel();
        let probe = Arc::new(Mutex::new(Probe::default()));
        let p = probe.clone();
        let thread = std::thread::spawn(move || {
            let sched = Scheduler::new();
            let reactor = Reactor::for_scheduler(&sched).expect("reactor");
            let (server, addr) = build();
            let server = sched.create(server);
            let signals = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
            let s = signals.clone();
            const IPC: &[BoxDecl] = &boxes::standard::<Ipc>();
            let collector = sched.create(from_fn(IPC, move |cx| async move {
                let inbox = cx.inbox::<Ipc>("inbox")?;
                loop {
                    let m = inbox.recv_wait().await;
                    s.borrow_mut().push(format!("{m:?}"));
                }
            }));
            sched.link((&server, "signal"), (&collector, "inbox")).unwrap();
            sched.activate(&server);
            sched.activate(&collector);
            addr_tx.send(addr).unwrap();
            'outer: loop {
                sched.run_until(Duration::from_millis(5), || false);
                loop {
                    match cmd_rx.try_recv() {
                        Ok(Cmd::Control(m)) => {
                            let _ = server.deliver("control", m);
                        }
                        Ok(Cmd::WithServer(f)) => f(&server),
                        Ok(Cmd::Stop) | Err(mpsc::TryRecvError::Disconnected) => break 'outer,
                        Err(mpsc::TryRecvError::Empty) => break,
                    }
                }
                let mut pr = p.lock().unwrap();
                // The collector is always there; count the rest.
                pr.components = sched.component_count() - usize::from(!collector.is_finished());
                pr.net = reactor.stats();
                pr.stats = sched.stats();
                pr.server_links = server.linkages().iter().map(|l| l.to_string()).collect();
                pr.server_done = server.is_finished();
                pr.end_cause = server.end_cause().map(|c| c.to_string());
                pr.signals = signals.borrow().clone();
            }
        });
        let addr = addr_rx.recv_timeout(LIMIT).expect("server started");
        Harness { addr, cmd, probe, thread: Some(thread) }
    }

    /// Delivers `msg` to the server's `control` inbox.
    pub fn control(&self, msg: Ipc) {
        self.cmd.send(Cmd::Control(msg)).unwrap();
    }

    /// Runs `f` on the server's thread with the server component (to reach its children, say),
    /// at the server thread's next turn.
    pub fn with_server(&self, f: impl FnOnce(&ComponentRef) + Send + 'static) {
        self.cmd.send(Cmd::WithServer(Box::new(f))).unwrap();
    }

    /// The latest probe.
    pub fn probe(&self) -> Probe {
        self.probe.lock().unwrap().clone()
    }

    /// Waits (bounded) until `cond` holds for the probe; returns the probe that satisfied it.
    pub fn wait_for(&self, what: &str, cond: impl Fn(&Probe) -> bool) -> Probe {
        let deadline = Instant::now() + LIMIT;
        loop {
            let p = self.probe();
            if cond(&p) {
                return p;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}; last probe: {p:?}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = self.cmd.send(Cmd::Stop);
        // A test that failed may have failed because the server thread is stuck (spinning in a
        // component that never yields): joining it would hang the test instead of reporting it.
        if std::thread::panicking() {
            return;
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The environment variable naming the test a child process runs (see [`run_isolated`]).
const ISOLATED_TEST: &str = "KAMAELIA_ISOLATED_TEST";

/// Runs `body` as the test `name` alone in a child process — this test binary again, with
/// `--exact name --test-threads=1` — so that process-wide measurements (open descriptors, CPU
/// time, resource limits) see this test only, not the others running in parallel threads.
/// With `nofile`, the child runs under that `RLIMIT_NOFILE` (`ulimit -n`). In the parent, waits
/// (bounded) for the child and fails if it failed; in the child, runs `body`.
pub fn run_isolated(name: &str, nofile: Option<u32>, body: impl FnOnce()) {
    if std::env::var(ISOLATED_TEST).is_ok_and(|n| n == name) {
        body();
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let limit = nofile.map_or_else(String::new, |n| format!("ulimit -n {n} && "));
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("{limit}exec \"$0\" \"$@\""))
        .arg(exe)
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(ISOLATED_TEST, name)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + LIMIT * 2;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the child process running {name} did not finish");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{name} failed in its child process: {status}");
}

/// Connects with read and write timeouts set.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr, LIMIT).expect("connect");
    s.set_read_timeout(Some(LIMIT)).unwrap();
    s.set_write_timeout(Some(LIMIT)).unwrap();
    s
}

/// Sends `data` (from a writer thread) while reading the echo; returns what came back.
/// With `half_close`, shuts the write side after sending and reads until EOF.
pub fn echo(addr: SocketAddr, data: Vec<u8>, half_close: bool) -> io::Result<Vec<u8>> {
    let stream = connect(addr);
    let mut writer = stream.try_clone()?;
    let n = data.len();
    let w = std::thread::spawn(move || -> io::Result<()> {
        writer.write_all(&data)?;
        if half_close {
            writer.shutdown(Shutdown::Write)?;
        }
        Ok(())
    });
    let mut got = Vec::with_capacity(n);
    let mut reader = stream;
    let mut buf = vec![0u8; 64 * 1024];
    while half_close || got.len() < n {
        let k = reader.read(&mut buf)?;
        if k == 0 {
            break;
        }
        got.extend_from_slice(&buf[..k]);
    }
    w.join().expect("writer thread")?;
    Ok(got)
}

/// Reads until the server closes the connection; returns what was read and whether it ended in
/// a clean EOF (rather than a reset).
///
/// # Panics
/// If the read times out: the server never closed the connection.
pub fn read_to_end(s: &mut TcpStream) -> (Vec<u8>, bool) {
    let mut got = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return (got, true),
            Ok(k) => got.extend_from_slice(&buf[..k]),
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                panic!("the server did not close the connection within {LIMIT:?} ({} bytes read)", got.len())
            }
            Err(_) => return (got, false),
        }
    }
}

/// Deterministic pseudo-random bytes.
pub fn pattern(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Open file descriptors of this process.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0)
}
