//! The listening server (`Kamaelia.Internet.TCPServer`): accepts connections and hands each one
//! out as a [`ConnectedSocketAdapter`].
//!
//! # State
//! - `conns`: every adapter this server made that has not yet been reported closed, keyed by
//!   its id. An entry leaves when the adapter's [`SocketShutdown`] arrives on
//!   `_feedbackFromCSA`, or when the server notices the adapter ended without one; either way a
//!   [`ShutdownCsa`] goes out and the adapter stops being a child, so nothing leaks.
//! - `backoff`: set after an accept error that is not the connection's fault (typically out of
//!   file descriptors). Until it passes the server accepts nothing and sleeps on a timer; a
//!   connection closing (which frees a descriptor) ends it early. It never stops accepting for
//!   good.
//! - The listener's readiness bit is cleared only by `WouldBlock`, so while accepting is paused
//!   (backoff, `max_connections`) the bit stays set and accepting resumes without waiting for a
//!   new connection's edge.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axon_core::boxes::{CONTROL, SIGNAL};
use axon_core::ipc::{Ipc, IpcKind};
use axon_core::{BoxDecl, Component, ComponentId, ComponentRef, ComponentResult, Context};
use mio::net::TcpListener;
use mio::Interest;
use socket2::{Domain, Protocol, Socket, Type};
use tracing::{debug, info, warn};

use crate::connected_socket_adapter::{ConnectedSocketAdapter, CsaConfig, CREATOR_FEEDBACK};
use crate::ipc::{HowDied, NewCsa, ShutdownCsa, SocketActivity, SocketShutdown};
use crate::reactor::{Reactor, Registered, READABLE};

/// The name of the server's outbox for [`SocketActivity`] (Kamaelia's
/// `"protocolHandlerSignal"`).
pub const PROTOCOL_HANDLER_SIGNAL: &str = "protocolHandlerSignal";

/// The name of the server's inbox for its adapters' [`SocketShutdown`] (Kamaelia's
/// `"_feedbackFromCSA"`).
pub const FEEDBACK_FROM_CSA: &str = "_feedbackFromCSA";

/// How many connections one step accepts before letting other components run.
const ACCEPT_BUDGET: usize = 64;

/// The first pause after an accept error.
const INITIAL_BACKOFF: Duration = Duration::from_millis(10);

/// The longest pause after repeated accept errors.
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// Settings for a [`TcpServer`].
///
/// ```
/// use kamaelia_net::{CsaConfig, TcpServerConfig};
/// let config = TcpServerConfig::default()
///     .backlog(128)
///     .max_connections(Some(1000))
///     .csa(CsaConfig::default().nodelay(false));
/// assert_eq!(config.get_backlog(), 128);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpServerConfig {
    /// The `listen` backlog.
    backlog: u32,
    /// The most connections open at once; accepting pauses at the cap.
    max_connections: Option<usize>,
    /// Settings for each connection's adapter.
    csa: CsaConfig,
}

impl Default for TcpServerConfig {
    /// Backlog 1024, no connection cap, default [`CsaConfig`].
    fn default() -> Self {
        TcpServerConfig { backlog: 1024, max_connections: None, csa: CsaConfig::default() }
    }
}

impl TcpServerConfig {
    /// Sets the `listen` backlog: how many connections the OS queues before they are accepted
    /// (default 1024; Kamaelia used 5).
    pub fn backlog(mut self, backlog: u32) -> Self {
        self.backlog = backlog;
        self
    }

    /// Caps the number of open connections: at the cap the server stops accepting (new
    /// connections wait in the OS backlog) until one closes. `None` (the default): no cap.
    pub fn max_connections(mut self, max: Option<usize>) -> Self {
        self.max_connections = max;
        self
    }

    /// Sets the settings of each connection's adapter.
    pub fn csa(mut self, csa: CsaConfig) -> Self {
        self.csa = csa;
        self
    }

    /// The backlog.
    pub fn get_backlog(&self) -> u32 {
        self.backlog
    }

    /// The connection cap.
    pub fn get_max_connections(&self) -> Option<usize> {
        self.max_connections
    }

    /// The adapters' settings.
    pub fn get_csa(&self) -> CsaConfig {
        self.csa
    }
}

/// A listening TCP socket as a component (Kamaelia's `TCPServer`): for each connection it makes
/// a [`ConnectedSocketAdapter`] and announces it.
///
/// The socket is bound when the value is made ([`bind`](Self::bind)), so a port in use is an
/// error the caller sees at once; IPv4 and IPv6 addresses both work, and port 0 picks a free port
/// ([`local_addr`](Self::local_addr) says which). `SO_REUSEADDR` is set on Unix, so a restarted
/// server can bind while old connections linger in `TIME_WAIT` (it does not allow two listeners
/// on one port).
///
/// Each adapter is created **but not activated**, made a child of the server, and its
/// `CreatorFeedback` is linked to the server's `_feedbackFromCSA`; whoever receives
/// [`SocketActivity::New`] wires it to a protocol handler and activates it (as Kamaelia's
/// `ServerCore` does).
///
/// # Inboxes
/// - `control` ([`Ipc`]): a kind of `ShutdownMicroprocess` (such as [`ServerShutdown`]) or
///   `Shutdown` stops the server; other messages are ignored.
/// - `_feedbackFromCSA` ([`Ipc`]): [`SocketShutdown`] from the server's adapters.
///
/// # Outboxes
/// - `protocolHandlerSignal` ([`SocketActivity`]): [`SocketActivity::New`] for each accepted
///   connection, [`SocketActivity::Shutdown`] when one closes (or its adapter ends without
///   saying so).
/// - `signal` ([`Ipc`]): the stop message from `control`, forwarded when the server stops.
///
/// # Shutdown
/// On a stop message the server deregisters and closes its listening socket (new connections
/// are refused from then on), forwards the message on `signal` and ends. Connections already
/// open are not touched: they belong to whoever activated their adapters. Accept errors never
/// stop it: a reset or aborted connection is skipped; running out of file descriptors (or any
/// other error) pauses accepting with an exponential backoff (10 ms up to 1 s) and is logged.
///
/// [`ServerShutdown`]: crate::ipc::ServerShutdown
#[doc(alias = "TCPServer")]
#[derive(Debug)]
pub struct TcpServer {
    /// The bound, listening, non-blocking socket.
    listener: TcpListener,
    /// Its address, with the port the OS chose.
    local: SocketAddr,
    /// Its settings.
    config: TcpServerConfig,
}

const BOXES: &[BoxDecl] = &[
    BoxDecl::inbox::<Ipc>(CONTROL).doc("ServerShutdown / ShutdownMicroprocess: stop accepting and end"),
    BoxDecl::inbox::<Ipc>(FEEDBACK_FROM_CSA).doc("SocketShutdown from this server's adapters"),
    BoxDecl::outbox::<SocketActivity>(PROTOCOL_HANDLER_SIGNAL).doc("NewCsa / ShutdownCsa"),
    BoxDecl::outbox::<Ipc>(SIGNAL).doc("the stop message, when the server stops"),
];

impl TcpServer {
    /// Binds a listening socket to `addr` with the default [`TcpServerConfig`].
    ///
    /// # Errors
    /// The OS error, with `addr` in its message, if the socket cannot be created, bound (for
    /// instance [`io::ErrorKind::AddrInUse`]) or put into listening mode.
    pub fn bind(addr: SocketAddr) -> io::Result<TcpServer> {
        Self::bind_with(addr, TcpServerConfig::default())
    }

    /// Binds a listening socket to `addr` with `config`.
    ///
    /// # Errors
    /// As [`bind`](Self::bind).
    pub fn bind_with(addr: SocketAddr, config: TcpServerConfig) -> io::Result<TcpServer> {
        let fail = |what: &str, e: io::Error| io::Error::new(e.kind(), format!("cannot {what} {addr}: {e}"));
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
            .map_err(|e| fail("create a TCP socket for", e))?;
        #[cfg(unix)]
        socket.set_reuse_address(true).map_err(|e| fail("set SO_REUSEADDR for", e))?;
        socket.set_nonblocking(true).map_err(|e| fail("make non-blocking the socket for", e))?;
        socket.bind(&addr.into()).map_err(|e| fail("bind a TCP listener to", e))?;
        let backlog = i32::try_from(config.backlog).unwrap_or(i32::MAX);
        socket.listen(backlog).map_err(|e| fail("listen on", e))?;
        let listener: std::net::TcpListener = socket.into();
        let local = listener.local_addr().map_err(|e| fail("read the address bound for", e))?;
        Ok(TcpServer { listener: TcpListener::from_std(listener), local, config })
    }

    /// The address the server listens on, with the port the OS chose if it was bound to port 0.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }
}

/// What the server remembers about one open connection.
struct Open {
    /// Its adapter.
    csa: ComponentRef,
    /// The remote end.
    peer: SocketAddr,
    /// The local end.
    local: SocketAddr,
}

impl Component for TcpServer {
    fn boxes(&self) -> &'static [BoxDecl] {
        BOXES
    }

    async fn main(self, cx: Context) -> ComponentResult {
        let reactor = Reactor::try_get(&cx)?;
        let control = cx.inbox::<Ipc>(CONTROL)?;
        let feedback = cx.inbox::<Ipc>(FEEDBACK_FROM_CSA)?;
        // Every adapter feeds this box and none ever waits on it: taking a message need not
        // wake them all (Axon's rule 2 would, once per close, for every open connection).
        feedback.set_notify_producers(false);
        let activity = cx.outbox::<SocketActivity>(PROTOCOL_HANDLER_SIGNAL)?;
        let signal = cx.outbox::<Ipc>(SIGNAL)?;
        let me = cx.me();
        let listener = Registered::new(&reactor, self.listener, Interest::READABLE, cx.local_waker())?;
        info!(server = %cx.name(), addr = %self.local, "listening");
        let mut conns: HashMap<ComponentId, Open> = HashMap::new();
        let mut backoff: Option<Instant> = None;
        let mut delay = INITIAL_BACKOFF;
        loop {
            while let Some(msg) = control.recv() {
                if msg.is_shutdown_microprocess() || msg.kind() == IpcKind::Shutdown {
                    drop(listener);
                    info!(server = %cx.name(), addr = %self.local, "stopped listening");
                    if signal.send(msg).is_err() {
                        debug!("signal box full: stop message dropped");
                    }
                    return Ok(());
                }
            }

            // Connections that closed: reported by their adapter, or ended without a word.
            let mut gone: Vec<(ComponentId, HowDied)> = Vec::new();
            while let Some(msg) = feedback.recv() {
                if let Some(SocketShutdown { csa: Some(id), how }) = msg.downcast_ref::<SocketShutdown>() {
                    gone.push((*id, how.clone().unwrap_or(HowDied::Ended)));
                }
            }
            for child in cx.ended_children() {
                gone.push((child.id(), HowDied::Ended));
            }
            for (id, how) in gone {
                let Some(open) = conns.remove(&id) else { continue };
                cx.remove_child(&open.csa);
                // A descriptor was freed: try accepting again now.
                backoff = None;
                let msg = ShutdownCsa { csa: open.csa, peer: open.peer, local: open.local, how };
                activity.send_wait(SocketActivity::Shutdown(msg)).await;
            }

            if backoff.is_some_and(|t| Instant::now() >= t) {
                backoff = None;
            }
            let mut busy = false;
            let mut budget = ACCEPT_BUDGET;
            while backoff.is_none()
                && listener.is_ready(READABLE)
                && self.config.max_connections.is_none_or(|m| conns.len() < m)
            {
                if budget == 0 {
                    busy = true;
                    break;
                }
                budget -= 1;
                match listener.get().accept() {
                    Ok((stream, peer)) => {
                        delay = INITIAL_BACKOFF;
                        let local = stream.local_addr().unwrap_or(self.local);
                        let csa =
                            cx.create(ConnectedSocketAdapter::from_mio(stream, peer, local, self.config.csa));
                        reactor.bump(|s| s.accepted += 1);
                        if !activity.is_linked() {
                            // Nobody would activate the adapter: close the connection now rather
                            // than hold its descriptor for ever.
                            warn!(server = %cx.name(), %peer, "protocolHandlerSignal is not linked: connection closed");
                            csa.stop();
                            continue;
                        }
                        if let Err(e) = cx.link((&csa, CREATOR_FEEDBACK), (&me, FEEDBACK_FROM_CSA)) {
                            csa.stop();
                            return Err(e.into());
                        }
                        cx.add_children(std::slice::from_ref(&csa));
                        debug!(server = %cx.name(), %peer, csa = %csa.name(), "accepted");
                        conns.insert(csa.id(), Open { csa: csa.clone(), peer, local });
                        activity.send_wait(SocketActivity::New(NewCsa { csa, peer, local })).await;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => listener.clear(READABLE),
                    Err(e) if is_connection_error(&e) => {
                        debug!(error = %e, "a connection failed before it was accepted; skipped");
                    }
                    Err(e) => {
                        if is_out_of_descriptors(&e) {
                            warn!(error = %e, pause = ?delay, "out of file descriptors: pausing accept");
                        } else {
                            warn!(error = %e, pause = ?delay, "accept failed: pausing accept");
                        }
                        reactor.bump(|s| s.accept_backoffs += 1);
                        backoff = Some(Instant::now() + delay);
                        delay = (delay * 2).min(MAX_BACKOFF);
                    }
                }
            }

            if busy {
                reactor.poll_now();
                cx.yield_now().await;
            } else if let Some(t) = backoff {
                cx.pause_until(t).await;
            } else {
                cx.pause().await;
            }
        }
    }
}

/// Errors about one connection, not about the server: skip it and accept the next (accept(2):
/// "treat them like EAGAIN by retrying").
fn is_connection_error(e: &io::Error) -> bool {
    use io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionAborted
            | ConnectionReset
            | Interrupted
            | HostUnreachable
            | NetworkUnreachable
            | NetworkDown
    )
}

/// EMFILE (process) or ENFILE (system): out of file descriptors.
fn is_out_of_descriptors(e: &io::Error) -> bool {
    // The values are the same on Linux, the BSDs and macOS.
    cfg!(unix) && matches!(e.raw_os_error(), Some(23 | 24))
}
