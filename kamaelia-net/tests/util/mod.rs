//! Shared test helpers: an echo protocol handler, a hand-wired echo server (a miniature
//! `ServerCore`) driven from the test thread, and blocking clients with bounded waits.
#![allow(dead_code, unreachable_pub)] // each test file uses a different subset

use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axon_core::boxes::{self, CONTROL, INBOX, OUTBOX, SIGNAL};
use axon_core::ipc::Ipc;
use axon_core::{
    from_fn, BoxDecl, Component, ComponentRef, ComponentResult, Context, LinkOptions, Scheduler,
};
use bytes::Bytes;
use kamaelia_net::ipc::HowDied;
use kamaelia_net::{Reactor, SocketActivity, TcpServer, TcpServerConfig, PROTOCOL_HANDLER_SIGNAL};

/// Every wait in the tests is bounded by this.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// Echoes every chunk; on a stop message on `control` echoes what is left, says
/// `ProducerFinished` on `signal` (so its adapter flushes and closes) and ends.
#[derive(Debug)]
pub struct EchoHandler;

impl Component for EchoHandler {
    fn boxes(&self) -> &'static [BoxDecl] {
        const B: &[BoxDecl] = &boxes::standard::<Bytes>();
        B
    }

    async fn main(self, cx: Context) -> ComponentResult {
        let inbox = cx.inbox::<Bytes>(INBOX)?;
        let control = cx.inbox::<Ipc>(CONTROL)?;
        let outbox = cx.outbox::<Bytes>(OUTBOX)?;
        let signal = cx.outbox::<Ipc>(SIGNAL)?;
        loop {
            while let Some(b) = inbox.recv() {
                outbox.send_wait(b).await;
            }
            if let Some(msg) = control.recv() {
                if msg.is_stop() {
                    // Everything the adapter read is already in `inbox`: echo it, then finish.
                    while let Some(b) = inbox.recv() {
                        outbox.send_wait(b).await;
                    }
                    let _ = signal.send(Ipc::producer_finished());
                    return Ok(());
                }
                continue;
            }
            cx.pause().await;
        }
    }
}

/// What the hand-wired server saw.
#[derive(Debug, Default)]
pub struct Log {
    /// Connections announced.
    pub opened: usize,
    /// How each closed connection died, in order.
    pub closed: Vec<HowDied>,
}

impl Log {
    pub fn open_now(&self) -> usize {
        self.opened - self.closed.len()
    }
}

/// A TcpServer wired by hand to one [`EchoHandler`] per connection, on a scheduler driven from
/// the test thread.
pub struct EchoServer {
    pub sched: Scheduler,
    pub reactor: Rc<Reactor>,
    pub server: ComponentRef,
    pub wirer: ComponentRef,
    pub addr: SocketAddr,
    pub log: Rc<RefCell<Log>>,
}

const WIRER_BOXES: &[BoxDecl] = &[BoxDecl::inbox::<SocketActivity>("_socketactivity")];

impl EchoServer {
    /// Binds 127.0.0.1:0 with `config`; handlers' inboxes hold `handler_inbox` chunks.
    pub fn start(config: TcpServerConfig, handler_inbox: usize) -> EchoServer {
        Self::start_on("127.0.0.1:0".parse().unwrap(), config, handler_inbox).expect("bind 127.0.0.1:0")
    }

    pub fn start_on(
        addr: SocketAddr,
        config: TcpServerConfig,
        handler_inbox: usize,
    ) -> io::Result<EchoServer> {
        let sched = Scheduler::new();
        let reactor = Reactor::for_scheduler(&sched)?;
        let server = TcpServer::bind_with(addr, config)?;
        let addr = server.local_addr();
        let server = sched.create(server);
        let log = Rc::new(RefCell::new(Log::default()));
        let wirer = sched.create(wirer(log.clone(), handler_inbox));
        sched.link((&server, PROTOCOL_HANDLER_SIGNAL), (&wirer, "_socketactivity")).unwrap();
        sched.activate(&server);
        sched.activate(&wirer);
        Ok(EchoServer { sched, reactor, server, wirer, addr, log })
    }

    /// Runs the scheduler until `done()` or [`TIMEOUT`]; panics on timeout.
    pub fn run_until(&self, what: &str, done: impl FnMut() -> bool) {
        assert!(self.sched.run_until(TIMEOUT, done), "timed out waiting for {what}");
    }

    /// Runs `f` on a client thread that, when done, says so and wakes the scheduler, so that
    /// [`join`](Self::join) notices at once (a thread ending is not an event the reactor sees).
    pub fn client<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Client<T> {
        let wake = self.wirer.wake_handle().expect("the wirer is active");
        let done = Arc::new(AtomicBool::new(false));
        let flag = done.clone();
        let handle = std::thread::spawn(move || {
            let r = f();
            flag.store(true, Ordering::SeqCst);
            wake.wake();
            r
        });
        Client { done, handle }
    }

    /// Runs the scheduler until the client's work is done, then joins its thread.
    pub fn join<T>(&self, client: Client<T>) -> T {
        self.run_until("a client thread", || client.is_finished());
        client.handle.join().expect("client thread panicked")
    }
}

/// A client thread started by [`EchoServer::client`].
pub struct Client<T> {
    done: Arc<AtomicBool>,
    handle: std::thread::JoinHandle<T>,
}

impl<T> Client<T> {
    /// Whether its work is done (set before it wakes the scheduler).
    pub fn is_finished(&self) -> bool {
        self.done.load(Ordering::SeqCst)
    }
}

/// The miniature ServerCore: wires and activates adapter + handler for each new connection.
fn wirer(log: Rc<RefCell<Log>>, handler_inbox: usize) -> impl Component {
    from_fn(WIRER_BOXES, move |cx| async move {
        let activity = cx.inbox::<SocketActivity>("_socketactivity")?;
        let mut pairs: Vec<(ComponentRef, ComponentRef, bool)> = Vec::new();
        loop {
            while let Some(a) = activity.recv() {
                match a {
                    SocketActivity::New(new) => {
                        let csa = new.csa;
                        let h = cx.create(EchoHandler);
                        cx.link_with(
                            (&csa, OUTBOX),
                            (&h, INBOX),
                            LinkOptions::new().pipewidth(handler_inbox),
                        )?;
                        cx.link((&h, OUTBOX), (&csa, INBOX))?;
                        cx.link((&h, SIGNAL), (&csa, CONTROL))?;
                        cx.link((&csa, SIGNAL), (&h, CONTROL))?;
                        cx.add_children(std::slice::from_ref(&h));
                        cx.activate(&csa);
                        cx.activate(&h);
                        log.borrow_mut().opened += 1;
                        pairs.push((csa, h, false));
                    }
                    SocketActivity::Shutdown(s) => {
                        log.borrow_mut().closed.push(s.how);
                        if let Some(i) = pairs.iter().position(|p| p.0 == s.csa) {
                            let (csa, h, _) = pairs.remove(i);
                            cx.unlink_component(&csa);
                            cx.remove_child(&h);
                        }
                    }
                }
            }
            // A handler that ended without a word must not leave its socket open.
            for (csa, h, told) in pairs.iter_mut() {
                if h.is_finished() && !*told {
                    *told = true;
                    let _ = csa.deliver(CONTROL, Ipc::producer_finished());
                }
            }
            cx.pause().await;
        }
    })
}

/// A blocking client with bounded read and write waits.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(TIMEOUT)).unwrap();
    s.set_write_timeout(Some(TIMEOUT)).unwrap();
    s
}

/// Deterministic pseudo-random bytes (xorshift), so a failure is reproducible.
pub fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// A small xorshift for sizes.
pub struct Rng(pub u64);

impl Rng {
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Sends `data` in pieces of the given sizes from one thread while reading the echo on
/// another, then half-closes and reads to EOF. Returns what came back.
pub fn echo_exchange(addr: SocketAddr, data: Vec<u8>, pieces: Vec<usize>) -> io::Result<Vec<u8>> {
    let mut s = connect(addr);
    let mut reader = s.try_clone()?;
    let expected = data.len();
    let r = std::thread::spawn(move || -> io::Result<Vec<u8>> {
        let mut got = Vec::with_capacity(expected);
        reader.read_to_end(&mut got)?;
        Ok(got)
    });
    let mut off = 0;
    for p in pieces {
        let end = (off + p).min(data.len());
        s.write_all(&data[off..end])?;
        off = end;
    }
    s.write_all(&data[off..])?;
    s.shutdown(std::net::Shutdown::Write)?;
    r.join().expect("reader thread panicked")
}

/// A component, spawned on `sched`, that records what `c` says on `signal` until a message for
/// which `last` is true (then ends). Returns it and the record.
pub fn watch_signal(
    sched: &Scheduler,
    c: &ComponentRef,
    last: fn(&Ipc) -> bool,
) -> (ComponentRef, Rc<RefCell<Vec<Ipc>>>) {
    record(sched, (c, SIGNAL), last)
}

/// A component, spawned on `sched`, that records what arrives from the outbox `from` until a
/// message for which `last` is true (then ends). Returns it and the record.
pub fn record(
    sched: &Scheduler,
    from: (&ComponentRef, &str),
    last: fn(&Ipc) -> bool,
) -> (ComponentRef, Rc<RefCell<Vec<Ipc>>>) {
    const B: &[BoxDecl] = &boxes::standard::<Bytes>();
    let seen: Rc<RefCell<Vec<Ipc>>> = Rc::default();
    let log = seen.clone();
    let watcher = sched.spawn(from_fn(B, move |cx| async move {
        let control = cx.inbox::<Ipc>(CONTROL)?;
        loop {
            let msg = control.recv_wait().await;
            let done = last(&msg);
            log.borrow_mut().push(msg);
            if done {
                return Ok(());
            }
        }
    }));
    sched.link(from, (&watcher, CONTROL)).unwrap();
    (watcher, seen)
}
