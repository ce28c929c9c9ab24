//! Connected servers (`Kamaelia.Chassis.ConnectedServer`): [`ServerCore`] and [`SimpleServer`]
//! turn a protocol-handler factory into a TCP server.
//!
//! # How it works
//! The server binds at construction (so a bind failure is an error the caller sees), and when it
//! runs creates a [`TcpServer`] child. For each connection the `TcpServer` sends `NewCsa`; the
//! server calls the factory for a fresh, unactivated handler and wires it to the connection's
//! [`ConnectedSocketAdapter`](kamaelia_net::ConnectedSocketAdapter) (CSA) — reference §7.1:
//!
//! | from                         | to                 | why                                    |
//! |------------------------------|--------------------|----------------------------------------|
//! | CSA `outbox`                 | handler `inbox`    | bytes from the client                  |
//! | handler `outbox`             | CSA `inbox`        | bytes to the client                    |
//! | server `protocolHandlerShutdownSignal*` | handler `control` | `SocketShutdown` when the socket closes |
//! | server `connectedSocketShutdownSignal*` | CSA `control`     | closing the socket                      |
//! | handler `signal`             | CSA `control`      | the handler closes its connection      |
//! | CSA `signal`                 | handler `control`  | `PeerEof`: the client sent its last byte (added in this port) |
//! | handler `serversignal` (if declared) | server `control` | a handler stops the whole server |
//!
//! then activates the CSA and the handler. When the socket closes, the `TcpServer` sends
//! `ShutdownCsa`; the server sends [`SocketShutdown`] to the handler's `control` and removes
//! every link it made for the connection.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use axon_core::ipc::{Ipc, IpcMessage, ProducerFinished, ShutdownMicroprocess};
use axon_core::{
    BoxDecl, Component, ComponentId, ComponentRef, ComponentResult, Context, LinkOptions, Outbox,
};
use kamaelia_net::ipc::{NewCsa, ServerShutdown, SocketShutdown};
use kamaelia_net::{SocketActivity, TcpServer, TcpServerConfig, CONTROL, INBOX, OUTBOX, SIGNAL};

/// ServerCore's inbox for the `TcpServer`'s `NewCsa`/`ShutdownCsa`.
pub const SOCKET_ACTIVITY: &str = "_socketactivity";
/// ServerCore's outbox to the `TcpServer`'s `control`.
pub const SERVER_SIGNAL: &str = "_serversignal";
/// The optional handler outbox whose messages stop the whole server.
pub const HANDLER_SERVER_SIGNAL: &str = "serversignal";

/// The default time a controlled shutdown lets connections flush before closing them.
pub const DEFAULT_SHUTDOWN_DEADLINE: Duration = Duration::from_secs(5);

/// The default size limit, in messages, of each handler's `inbox`: how many chunks read from
/// the socket may wait for the handler before the adapter stops reading.
pub const DEFAULT_HANDLER_INBOX: usize = 8;

/// What a [`ServerCore`] factory is told about a connection (Kamaelia passed these as the
/// keyword arguments `peer`, `peerport`, `localip`, `localport`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionInfo {
    /// The client's address.
    pub peer: SocketAddr,
    /// The server's end of the connection.
    pub local: SocketAddr,
}

impl ConnectionInfo {
    /// The client's IP address (Kamaelia's `peer`).
    pub fn peer_ip(&self) -> IpAddr {
        self.peer.ip()
    }

    /// The client's port (Kamaelia's `peerport`).
    pub fn peer_port(&self) -> u16 {
        self.peer.port()
    }

    /// The local IP address the client connected to (Kamaelia's `localip`).
    pub fn local_ip(&self) -> IpAddr {
        self.local.ip()
    }

    /// The local port the client connected to (Kamaelia's `localport`).
    pub fn local_port(&self) -> u16 {
        self.local.port()
    }
}

/// Makes a protocol handler per connection. Implemented for every
/// `FnMut(&ConnectionInfo) -> C` where `C` is a [`Component`].
///
/// The handler must speak `bytes::Bytes` on `inbox` and `outbox` and [`Ipc`] on `control` and
/// `signal`; a handler whose boxes do not fit is refused with an error naming the box, and only
/// its connection is closed.
///
/// A factory that panics refuses only the connection it was making: the panic is logged, that
/// connection is closed, and the server goes on serving — calling the same factory for the next
/// connection, so a factory that can panic must leave itself usable (a lock it held is
/// poisoned, for instance).
pub trait ProtocolFactory: 'static {
    /// The handler component.
    type Handler: Component;

    /// Makes the handler for one connection. Do not activate anything: the server wires and
    /// activates it.
    fn make(&mut self, info: &ConnectionInfo) -> Self::Handler;
}

impl<F, C> ProtocolFactory for F
where
    F: FnMut(&ConnectionInfo) -> C + 'static,
    C: Component,
{
    type Handler = C;

    fn make(&mut self, info: &ConnectionInfo) -> C {
        self(info)
    }
}

/// Adapts a factory that takes no arguments, for [`SimpleServer`].
pub struct WithoutInfo<F>(F);

impl<F> fmt::Debug for WithoutInfo<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WithoutInfo")
    }
}

impl<F, C> ProtocolFactory for WithoutInfo<F>
where
    F: FnMut() -> C + 'static,
    C: Component,
{
    type Handler = C;

    fn make(&mut self, _: &ConnectionInfo) -> C {
        (self.0)()
    }
}

const BOXES: &[BoxDecl] = &[
    BoxDecl::inbox::<SocketActivity>(SOCKET_ACTIVITY).doc("NewCsa / ShutdownCsa from the TcpServer"),
    BoxDecl::inbox::<Ipc>(CONTROL).doc("ShutdownMicroprocess / ServerShutdown / ProducerFinished: shut down"),
    BoxDecl::inbox::<Ipc>(INBOX).doc("unused (kept for Kamaelia compatibility)"),
    BoxDecl::outbox::<Ipc>(SERVER_SIGNAL).doc("ServerShutdown to the TcpServer"),
    BoxDecl::outbox::<Ipc>(OUTBOX).doc("unused (kept for Kamaelia compatibility)"),
    BoxDecl::outbox::<Ipc>(SIGNAL).doc("the stop message, once the server has shut down"),
];

/// A TCP server that makes a protocol handler per connection, telling the factory who
/// connected (Kamaelia's `ServerCore`, alias `MoreComplexServer`).
///
/// # Inboxes
/// - `_socketactivity` ([`SocketActivity`]): from its `TcpServer`.
/// - `control` ([`Ipc`]): a kind of `ShutdownMicroprocess` (such as [`ServerShutdown`]) or of
///   `ProducerFinished` starts the controlled shutdown below. Other messages are dropped.
/// - `inbox`: unused.
///
/// # Outboxes
/// - `_serversignal` ([`Ipc`]): [`ServerShutdown`] to its `TcpServer`.
/// - `signal` ([`Ipc`]): the message that stopped it, once everything has closed.
/// - `outbox`: unused.
/// - per connection, `protocolHandlerShutdownSignal*` and `connectedSocketShutdownSignal*`.
///
/// # Shutdown
/// The controlled shutdown (the seed's To-do, finished): accepting stops at once (new connects
/// are refused); every handler is sent [`ProducerFinished`]; as each handler ends, its
/// connection is told to flush what is queued and close; connections still open when the
/// deadline passes ([`shutdown_deadline`](Self::shutdown_deadline), default 5 s) are closed and
/// their handlers stopped. Then it forwards the stop message on `signal` and ends.
///
/// A handler that ends without signalling — or panics — has its connection flushed and closed;
/// other connections are not touched. So does a factory that panics (see [`ProtocolFactory`]).
///
/// If its `TcpServer` ends by itself — its `main` failed, or something stopped it — while no
/// controlled shutdown is under way, the server can accept nothing more: it closes every
/// connection at once, emits `ShutdownMicroprocess` on `signal` and ends with an error saying
/// the listener failed.
///
/// ```no_run
/// use axon_core::Scheduler;
/// use kamaelia_chassis::{ConnectionInfo, ServerCore};
/// # use axon_core::{boxes, BoxDecl, Component, ComponentResult, Context};
/// # struct Greeter(String);
/// # impl Component for Greeter {
/// #     fn boxes(&self) -> &'static [BoxDecl] { const B: &[BoxDecl] = &boxes::standard::<bytes::Bytes>(); B }
/// #     async fn main(self, cx: Context) -> ComponentResult { Ok(()) }
/// # }
///
/// let server = ServerCore::new("127.0.0.1:0".parse().unwrap(), |info: &ConnectionInfo| {
///     Greeter(format!("hello {}:{}", info.peer_ip(), info.peer_port()))
/// })
/// .expect("bind");
/// println!("listening on {}", server.local_addr());
/// let sched = Scheduler::new();
/// sched.spawn(server);
/// sched.run();
/// ```
pub struct ServerCore<F> {
    /// The listener, bound at construction so that a bind failure is the caller's error; it
    /// becomes a child component when the server runs.
    server: TcpServer,
    /// Makes each connection's handler.
    factory: F,
    /// How long a controlled shutdown lets connections flush before closing them.
    shutdown_deadline: Duration,
    /// The size limit of each handler's `inbox`: inbound backpressure per connection.
    handler_inbox: usize,
}

impl<F> fmt::Debug for ServerCore<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerCore")
            .field("local_addr", &self.server.local_addr())
            .field("shutdown_deadline", &self.shutdown_deadline)
            .finish_non_exhaustive()
    }
}

impl<F: ProtocolFactory> ServerCore<F> {
    /// Binds `addr` and makes a server whose handlers come from `factory`.
    ///
    /// # Errors
    /// The bind error (for instance `AddrInUse`), naming the address.
    pub fn new(addr: SocketAddr, factory: F) -> io::Result<Self> {
        Self::with_config(addr, TcpServerConfig::default(), factory)
    }

    /// As [`new`](Self::new), with the listener's and connections' settings.
    ///
    /// # Errors
    /// The bind error.
    pub fn with_config(addr: SocketAddr, config: TcpServerConfig, factory: F) -> io::Result<Self> {
        Ok(ServerCore {
            server: TcpServer::bind_with(addr, config)?,
            factory,
            shutdown_deadline: DEFAULT_SHUTDOWN_DEADLINE,
            handler_inbox: DEFAULT_HANDLER_INBOX,
        })
    }

    /// Sets how long a controlled shutdown waits for connections to flush.
    pub fn shutdown_deadline(mut self, d: Duration) -> Self {
        self.shutdown_deadline = d;
        self
    }

    /// Sets the size limit of each handler's `inbox`, in messages (default
    /// [`DEFAULT_HANDLER_INBOX`]; at least 1). With the adapter's own bounded `inbox`, this bounds
    /// what one connection can hold in memory: a client that sends without reading is slowed
    /// down by TCP, not buffered without limit.
    ///
    /// The handler's `inbox` is fed by its adapter alone, which needs a wake only when it found
    /// that inbox full; so taking a message from it does not wake the adapter each time (Axon's
    /// rule 2 is off for it, [`Inbox::set_notify_producers`](axon_core::Inbox::set_notify_producers)),
    /// and the adapter, refused, is woken by the handler's next collection.
    pub fn handler_inbox_size(mut self, messages: usize) -> Self {
        self.handler_inbox = messages.max(1);
        self
    }

    /// The address it listens on (with the port the OS chose for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }
}

/// One connection's bookkeeping.
struct Conn {
    /// The connection's adapter.
    csa: ComponentRef,
    /// Its protocol handler.
    handler: ComponentRef,
    /// To the handler's `control`.
    to_handler: Outbox<Ipc>,
    /// To the CSA's `control`.
    to_csa: Outbox<Ipc>,
    /// Set once the CSA has been told to flush and close.
    closing: bool,
}

/// A controlled shutdown under way.
struct Stopping {
    /// The message that started it, forwarded on `signal` at the end.
    msg: Ipc,
    /// When connections still open are closed.
    deadline: Instant,
    /// Whether the deadline has passed and everything left has been told to stop: from then on
    /// the server waits for its children to end, which wakes it (a deadline in the past would
    /// not).
    forced: bool,
}

impl<F: ProtocolFactory> Component for ServerCore<F> {
    fn boxes(&self) -> &'static [BoxDecl] {
        BOXES
    }

    async fn main(mut self, cx: Context) -> ComponentResult {
        let me = cx.me();
        let addr = self.server.local_addr();
        let server = cx.create(self.server);
        cx.link((&server, kamaelia_net::PROTOCOL_HANDLER_SIGNAL), (&me, SOCKET_ACTIVITY))?;
        cx.link((&me, SERVER_SIGNAL), (&server, CONTROL))?;
        cx.add_children(std::slice::from_ref(&server));
        cx.activate(&server);
        let activity = cx.inbox::<SocketActivity>(SOCKET_ACTIVITY)?;
        let control = cx.inbox::<Ipc>(CONTROL)?;
        let to_server = cx.outbox::<Ipc>(SERVER_SIGNAL)?;
        let mut conns: HashMap<ComponentId, Conn> = HashMap::new();
        // Each handler's connection, by the handler's id.
        let mut by_handler: HashMap<ComponentId, ComponentId> = HashMap::new();
        let mut stopping: Option<Stopping> = None;
        loop {
            while let Some(ev) = activity.recv() {
                match ev {
                    SocketActivity::New(n) if stopping.is_some() => n.csa.stop(),
                    SocketActivity::New(n) => {
                        if let Some((csa, handler)) =
                            new_connection(&cx, &mut self.factory, self.handler_inbox, n, &mut conns)
                        {
                            by_handler.insert(handler, csa);
                        }
                    }
                    SocketActivity::Shutdown(s) => {
                        forget_connection(&cx, s.csa.id(), &mut conns, &mut by_handler, true)
                    }
                }
            }
            while let Some(msg) = control.recv() {
                if stopping.is_none() && (msg.is_shutdown_microprocess() || msg.is_producer_finished()) {
                    // Stop accepting now, then ask every handler to finish.
                    to_server.send(Ipc::new(ServerShutdown)).ok();
                    for c in conns.values() {
                        // Not to a handler that has ended (its connection is flushing).
                        tell(&c.to_handler, ProducerFinished::from_caller(cx.id()));
                    }
                    let deadline = axon_core::deadline_after(self.shutdown_deadline);
                    stopping = Some(Stopping { msg, deadline, forced: false });
                }
            }
            // A handler that has ended (normally, by error, by panic) no longer drives its
            // connection: flush what it sent and close. An adapter that has ended without its
            // `ShutdownCsa` reaching us (the TcpServer has gone, in a shutdown) is cleaned up.
            for child in cx.ended_children() {
                let id = child.id();
                if id == server.id() {
                    if stopping.is_none() {
                        return listener_failed(&cx, &server, addr, &mut conns, &mut by_handler);
                    }
                } else if conns.contains_key(&id) {
                    forget_connection(&cx, id, &mut conns, &mut by_handler, true);
                } else if let Some(c) = by_handler.get(&id).and_then(|csa| conns.get_mut(csa)) {
                    if !c.closing {
                        c.closing = true;
                        tell(&c.to_csa, ProducerFinished::from_caller(cx.id()));
                    }
                }
            }
            let Some(stop) = stopping.as_mut() else {
                cx.pause().await;
                continue;
            };
            if !stop.forced && Instant::now() >= stop.deadline {
                close_all(&cx, &mut conns, &mut by_handler);
                server.stop();
                stop.forced = true;
            }
            if conns.is_empty() && server.is_finished() {
                cx.remove_child(&server);
                cx.outbox::<Ipc>(SIGNAL)?.send(stop.msg.clone()).ok();
                return Ok(());
            }
            if stop.forced {
                // Each child that ends wakes this component.
                cx.pause().await;
            } else {
                cx.pause_until(stop.deadline).await;
            }
        }
    }
}

/// The `TcpServer` child ended outside a controlled shutdown: nothing more can be accepted.
/// Closes every connection, says so on `signal`, and returns the error the server ends with.
fn listener_failed(
    cx: &Context,
    server: &ComponentRef,
    addr: SocketAddr,
    conns: &mut HashMap<ComponentId, Conn>,
    by_handler: &mut HashMap<ComponentId, ComponentId>,
) -> ComponentResult {
    let cause = server.end_cause().map_or_else(|| "ended".to_owned(), |c| c.to_string());
    tracing::error!(%addr, %cause, connections = conns.len(), "the listener ended: closing every connection");
    close_all(cx, conns, by_handler);
    cx.remove_child(server);
    if let Ok(signal) = cx.outbox::<Ipc>(SIGNAL) {
        signal.send(Ipc::shutdown_microprocess()).ok();
    }
    Err(io::Error::other(format!("the listener on {addr} failed ({cause}); every connection was closed"))
        .into())
}

/// Closes every connection at once: each adapter and handler is stopped (unwritten data is
/// dropped) and its wiring removed.
fn close_all(
    cx: &Context,
    conns: &mut HashMap<ComponentId, Conn>,
    by_handler: &mut HashMap<ComponentId, ComponentId>,
) {
    let ids: Vec<_> = conns.keys().copied().collect();
    for id in ids {
        if let Some(c) = conns.get(&id) {
            c.handler.stop();
            c.csa.stop();
        }
        // Both stopped: nothing to tell either.
        forget_connection(cx, id, conns, by_handler, false);
    }
}

/// Calls the factory for one connection. A panic in it is caught and logged, and refuses only
/// this connection (`None`).
fn make_handler<F: ProtocolFactory>(
    cx: &Context,
    factory: &mut F,
    info: &ConnectionInfo,
) -> Option<ComponentRef> {
    // Unwind safety: after a panic the factory is used again only through `make`, and the
    // factory's docs ask that it leave itself usable; nothing of the server's own is touched.
    match std::panic::catch_unwind(AssertUnwindSafe(|| factory.make(info))) {
        Ok(handler) => Some(cx.create(handler)),
        Err(payload) => {
            let message = axon_core::panic_message(&*payload);
            tracing::error!(
                peer = %info.peer,
                panic = %message,
                "the protocol factory panicked; closing this connection"
            );
            None
        }
    }
}

/// Makes a handler for a new connection and wires it to the connection's adapter as the module
/// docs' table says, then activates both. Returns the adapter's and the handler's ids, or `None`
/// if the connection was refused (the factory panicked or the handler's boxes do not fit): then
/// the adapter, and the handler if there is one, are stopped, which closes the socket.
fn new_connection<F: ProtocolFactory>(
    cx: &Context,
    factory: &mut F,
    handler_inbox: usize,
    n: NewCsa,
    conns: &mut HashMap<ComponentId, Conn>,
) -> Option<(ComponentId, ComponentId)> {
    let info = ConnectionInfo { peer: n.peer, local: n.local };
    let csa = n.csa;
    let Some(handler) = make_handler(cx, factory, &info) else {
        refuse(cx, &csa, None, &[]);
        return None;
    };
    let me = cx.me();
    let ph = cx.add_outbox::<Ipc>("protocolHandlerShutdownSignal");
    let cs = cx.add_outbox::<Ipc>("connectedSocketShutdownSignal");
    let wired = (|| -> Result<(), axon_core::LinkError> {
        cx.link_with((&csa, OUTBOX), (&handler, INBOX), LinkOptions::new().pipewidth(handler_inbox))?;
        // Only the adapter feeds it, and a refused send makes the adapter a waiter for room.
        // It runs as soon as the adapter pauses (handoff), so data read is handled at once.
        if let Ok(inbox) = handler.inbox::<bytes::Bytes>(INBOX) {
            inbox.set_notify_producers(false);
            inbox.set_handoff(true);
        }
        cx.link((&handler, OUTBOX), (&csa, INBOX))?;
        cx.link((&me, &ph), (&handler, CONTROL))?;
        cx.link((&me, &cs), (&csa, CONTROL))?;
        cx.link((&handler, SIGNAL), (&csa, CONTROL))?;
        cx.link((&csa, SIGNAL), (&handler, CONTROL))?;
        if handler.has_outbox(HANDLER_SERVER_SIGNAL) {
            cx.link((&handler, HANDLER_SERVER_SIGNAL), (&me, CONTROL))?;
        }
        Ok(())
    })();
    let outboxes = (cx.outbox::<Ipc>(&ph), cx.outbox::<Ipc>(&cs));
    match (wired, outboxes) {
        (Ok(()), (Ok(to_handler), Ok(to_csa))) => {
            cx.add_children(&[csa.clone(), handler.clone()]);
            cx.activate(&csa);
            cx.activate(&handler);
            let ids = (csa.id(), handler.id());
            conns.insert(csa.id(), Conn { csa, handler, to_handler, to_csa, closing: false });
            Some(ids)
        }
        (wired, _) => {
            tracing::error!(
                peer = %info.peer,
                error = %wired.err().map_or_else(|| "internal box error".to_owned(), |e| e.to_string()),
                "cannot wire the protocol handler; closing this connection"
            );
            refuse(cx, &csa, Some(&handler), &[&ph, &cs]);
            None
        }
    }
}

/// Sends `msg` on `out` if a live component is linked to hear it: one that has ended is sent
/// nothing (the message would only be counted in `Stats::dropped_dead`).
fn tell(out: &Outbox<Ipc>, msg: impl IpcMessage) {
    if out.is_linked() {
        out.send(Ipc::new(msg)).ok();
    }
}

/// Refuses a connection: removes whatever was wired for it (its links and the server's
/// `outboxes` made for it) and stops its adapter — not yet activated, it ends at once, closing
/// the socket, and its TcpServer reports it closed — and its handler, if one was made.
fn refuse(cx: &Context, csa: &ComponentRef, handler: Option<&ComponentRef>, outboxes: &[&str]) {
    cx.unlink_component(csa);
    if let Some(h) = handler {
        cx.unlink_component(h);
        h.stop();
    }
    for name in outboxes {
        let _ = cx.delete_outbox(name);
    }
    csa.stop();
}

/// Forgets a closed connection (by its adapter's id; a no-op for one already forgotten): if
/// `notify`, tells the handler `SocketShutdown` and the adapter `ShutdownMicroprocess` (each only
/// if it has not ended; `notify` is false when both have just been stopped, which ends them only
/// when the scheduler next reaches them), then removes both as children with every link made for
/// them, and the connection's two outboxes.
fn forget_connection(
    cx: &Context,
    csa: ComponentId,
    conns: &mut HashMap<ComponentId, Conn>,
    by_handler: &mut HashMap<ComponentId, ComponentId>,
    notify: bool,
) {
    let Some(c) = conns.remove(&csa) else { return };
    by_handler.remove(&c.handler.id());
    // Delivery is immediate, so both land before the links go. Either may have ended already
    // (the usual case: the adapter closed, or the handler ended and the adapter flushed), and
    // is then not sent what it would never read.
    if notify {
        tell(&c.to_handler, SocketShutdown::default());
        tell(&c.to_csa, ShutdownMicroprocess::default());
    }
    let (ph, cs) = (c.to_handler.name().to_owned(), c.to_csa.name().to_owned());
    cx.remove_child(&c.csa);
    cx.remove_child(&c.handler);
    drop(c);
    let _ = cx.delete_outbox(&ph);
    let _ = cx.delete_outbox(&cs);
}

/// A TCP server whose factory takes no arguments (Kamaelia's `SimpleServer`): a
/// [`ServerCore`] that throws the connection information away.
///
/// # Inboxes, Outboxes, Shutdown
/// Exactly [`ServerCore`]'s: `control` starts the controlled shutdown, `signal` reports its
/// end, and each connection's handler is wired as the table in the [module docs](self) shows.
///
/// ```no_run
/// # use axon_core::{boxes, BoxDecl, Component, ComponentResult, Context};
/// # struct Echo;
/// # impl Component for Echo {
/// #     fn boxes(&self) -> &'static [BoxDecl] { const B: &[BoxDecl] = &boxes::standard::<bytes::Bytes>(); B }
/// #     async fn main(self, cx: Context) -> ComponentResult { Ok(()) }
/// # }
/// use kamaelia_chassis::SimpleServer;
/// let server = SimpleServer::new("127.0.0.1:1601".parse().unwrap(), || Echo).expect("bind");
/// axon_core::Scheduler::new().spawn(server);
/// ```
pub struct SimpleServer<F>(ServerCore<WithoutInfo<F>>);

impl<F> fmt::Debug for SimpleServer<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SimpleServer").field(&self.0).finish()
    }
}

impl<F, C> SimpleServer<F>
where
    F: FnMut() -> C + 'static,
    C: Component,
{
    /// Binds `addr` and makes a server whose handlers come from `factory`.
    ///
    /// # Errors
    /// The bind error (for instance `AddrInUse`), naming the address.
    pub fn new(addr: SocketAddr, factory: F) -> io::Result<Self> {
        Ok(SimpleServer(ServerCore::new(addr, WithoutInfo(factory))?))
    }

    /// As [`new`](Self::new), with the listener's and connections' settings.
    ///
    /// # Errors
    /// The bind error.
    pub fn with_config(addr: SocketAddr, config: TcpServerConfig, factory: F) -> io::Result<Self> {
        Ok(SimpleServer(ServerCore::with_config(addr, config, WithoutInfo(factory))?))
    }

    /// Sets how long a controlled shutdown waits for connections to flush.
    pub fn shutdown_deadline(self, d: Duration) -> Self {
        SimpleServer(self.0.shutdown_deadline(d))
    }

    /// Sets the size limit of each handler's `inbox`; see [`ServerCore::handler_inbox_size`].
    pub fn handler_inbox_size(self, messages: usize) -> Self {
        SimpleServer(self.0.handler_inbox_size(messages))
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.0.local_addr()
    }
}

impl<F, C> Component for SimpleServer<F>
where
    F: FnMut() -> C + 'static,
    C: Component,
{
    fn boxes(&self) -> &'static [BoxDecl] {
        BOXES
    }

    fn main(self, cx: Context) -> impl std::future::Future<Output = ComponentResult> + 'static {
        self.0.main(cx)
    }
}
