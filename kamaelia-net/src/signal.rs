//! [`ShutdownOnSignal`]: a process signal (SIGINT, SIGTERM) as a [`ServerShutdown`] message,
//! woken through the reactor like a socket.
//!
//! The signal handler (installed with `signal-hook`) writes a byte into one end of a Unix socket
//! pair; the other end is registered with the scheduler's [`Reactor`], so the component sleeps
//! until the signal comes and needs no thread of its own. (A process with a second thread pays
//! for it on every system call: glibc's socket calls then take their cancellable path, about 60
//! instructions per echoed message.)

use std::io::{self, Read};
use std::os::raw::c_int;

use axon_core::ipc::Ipc;
use axon_core::{BoxDecl, Component, ComponentResult, Context};
use mio::Interest;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::SigId;
use tracing::info;

use crate::ipc::ServerShutdown;
use crate::reactor::{Reactor, Registered, READABLE};
use crate::{CONTROL, OUTBOX};

/// Sends [`ServerShutdown`] out of its `outbox` when the process gets one of its signals (SIGINT
/// or SIGTERM unless made with [`for_signals`](Self::for_signals)), then ends. Link its `outbox`
/// to a server's `control` for a controlled shutdown on Ctrl-C.
///
/// It waits through the scheduler's [`Reactor`] (a self-pipe that the signal handler writes
/// to), so it uses no thread and no CPU while it waits.
///
/// # Boxes
/// - `outbox`: one [`ServerShutdown`] (an [`Ipc`]) when a signal has come.
/// - `control`: a stop message ([`Ipc::is_stop`]) ends it without sending anything.
///
/// # Shutdown
/// It ends after sending, or on a stop message on `control`. Its signal handlers are removed
/// when it ends (or when it is dropped unstarted); from then on the process ignores those
/// signals (`signal-hook` cannot put the default action back), so a second Ctrl-C during a
/// controlled shutdown does not cut it short: the shutdown has its own deadline.
///
/// # Example
/// ```no_run
/// use axon_core::Scheduler;
/// use kamaelia_net::{ShutdownOnSignal, TcpServer};
///
/// let sched = Scheduler::new();
/// let server = sched.create(TcpServer::bind("127.0.0.1:0".parse()?)?);
/// let on_signal = sched.create(ShutdownOnSignal::new()?);
/// sched.link((&on_signal, "outbox"), (&server, "control"))?;
/// sched.activate(&server);
/// sched.activate(&on_signal);
/// // Runs until Ctrl-C stops the server.
/// sched.run_until(std::time::Duration::MAX, || server.is_finished());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct ShutdownOnSignal {
    /// The read end of the self-pipe.
    pipe: mio::net::UnixStream,
    /// The installed handlers, removed on drop.
    handlers: Handlers,
}

/// Signal handlers installed with `signal-hook`, removed on drop.
#[derive(Debug)]
struct Handlers(Vec<SigId>);

impl Drop for Handlers {
    fn drop(&mut self) {
        for id in self.0.drain(..) {
            signal_hook::low_level::unregister(id);
        }
    }
}

impl ShutdownOnSignal {
    /// Installs handlers for SIGINT and SIGTERM.
    ///
    /// # Errors
    /// The OS error if the socket pair cannot be made or a handler cannot be installed.
    pub fn new() -> io::Result<Self> {
        Self::for_signals(&[SIGINT, SIGTERM])
    }

    /// Installs handlers for `signals` (numbers from `signal_hook::consts`).
    ///
    /// # Errors
    /// [`io::ErrorKind::InvalidInput`] for a signal no handler may catch (`SIGKILL`, `SIGSTOP`,
    /// and those `signal-hook` forbids: `SIGILL`, `SIGFPE`, `SIGSEGV`); the OS error if the
    /// socket pair cannot be made or a handler cannot be installed. Nothing stays installed.
    pub fn for_signals(signals: &[c_int]) -> io::Result<Self> {
        if let Some(bad) = signals.iter().find(|s| signal_hook::consts::FORBIDDEN.contains(s)) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("signal {bad} cannot be handled by a program"),
            ));
        }
        let (read, write) = std::os::unix::net::UnixStream::pair()?;
        read.set_nonblocking(true)?;
        let mut handlers = Handlers(Vec::with_capacity(signals.len()));
        for &signal in signals {
            // The handler owns its own copy of the write end and closes it when removed.
            handlers.0.push(signal_hook::low_level::pipe::register(signal, write.try_clone()?)?);
        }
        Ok(ShutdownOnSignal { pipe: mio::net::UnixStream::from_std(read), handlers })
    }
}

const BOXES: &[BoxDecl] = &[
    BoxDecl::inbox::<Ipc>(CONTROL).doc("a stop message: end without sending"),
    BoxDecl::outbox::<Ipc>(OUTBOX).doc("ServerShutdown when a signal has come"),
];

impl Component for ShutdownOnSignal {
    fn boxes(&self) -> &'static [BoxDecl] {
        BOXES
    }

    async fn main(self, cx: Context) -> ComponentResult {
        // The handlers stay installed until the component ends.
        let ShutdownOnSignal { pipe, handlers: _handlers } = self;
        let reactor = Reactor::try_get(&cx)?;
        let control = cx.inbox::<Ipc>(CONTROL)?;
        let out = cx.outbox::<Ipc>(OUTBOX)?;
        let pipe = Registered::new(&reactor, pipe, Interest::READABLE, cx.local_waker())?;
        loop {
            // Every message waiting, not one per wake: a stop behind another message must not
            // wait for a wake that has already come.
            while let Some(msg) = control.recv() {
                if msg.is_stop() {
                    return Ok(());
                }
            }
            if pipe.is_ready(READABLE) {
                // Empty the pipe first, then act: a signal that comes after the read wakes the
                // component again (signal-hook's order).
                if drain(pipe.get())? {
                    info!("signal received: shutting down");
                    out.send_wait(Ipc::new(ServerShutdown)).await;
                    return Ok(());
                }
                pipe.clear(READABLE);
            }
            cx.pause().await;
        }
    }
}

/// Reads everything the pipe holds; whether there was anything.
fn drain(mut pipe: &mio::net::UnixStream) -> io::Result<bool> {
    let mut got = false;
    let mut buf = [0u8; 64];
    loop {
        match pipe.read(&mut buf) {
            Ok(0) => return Ok(got),
            Ok(_) => got = true,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(got),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}
