//! The connecting client (`Kamaelia.Internet.TCPClient`): connects, then behaves as the
//! connection's [`ConnectedSocketAdapter`], wired through its own boxes.
//!
//! # State
//! - Connecting: the socket is registered for writability; the client pauses until the reactor
//!   reports it (connected or refused) or the timeout's timer fires. It never polls in a loop.
//! - Connected: the socket moves to a child adapter. From then on the client's `inbox` and
//!   `control` *are* the adapter's (passthrough links: messages already queued move across) and
//!   the adapter's `outbox` is the client's. The client itself only watches the adapter: it
//!   answers the adapter's [`PeerEof`] with `ProducerFinished` (so the connection closes once
//!   what is queued is written, as Kamaelia's client closes when the server does) and ends when
//!   the adapter ends.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axon_core::boxes::{CONTROL, INBOX, OUTBOX, SIGNAL};
use axon_core::ipc::Ipc;
use axon_core::{BoxDecl, Component, ComponentResult, Context, LinkOptions, Outbox, Passthrough};
use bytes::Bytes;
use mio::net::TcpStream;
use mio::Interest;
use tracing::debug;

use crate::connected_socket_adapter::{ConnectedSocketAdapter, CsaConfig, CREATOR_FEEDBACK};
use crate::ipc::{ConnectFailed, HowDied, PeerEof, SocketShutdown};
use crate::reactor::{Reactor, Registered, WRITABLE};

/// The name of the client's inbox for its adapter's [`SocketShutdown`] (Kamaelia's
/// `"_socketFeedback"`).
pub const SOCKET_FEEDBACK: &str = "_socketFeedback";

/// The client's inbox for its adapter's `signal` ([`PeerEof`]).
const CSA_SIGNAL: &str = "_csaSignal";

/// The client's outbox to its adapter's `control`.
const CSA_CONTROL: &str = "_csaControl";

/// A TCP connection made from this side, as a component (Kamaelia's `TCPClient`).
///
/// ```no_run
/// use std::time::Duration;
/// use kamaelia_net::TcpClient;
///
/// let client = TcpClient::new("127.0.0.1:1601".parse().unwrap())
///     .connect_timeout(Duration::from_secs(5));
/// ```
///
/// # Inboxes
/// - `inbox` ([`Bytes`]): data to send. Messages sent before the connection is made are kept
///   and sent once it is (bounded by the adapter's `inbox` size once connected).
/// - `control` ([`Ipc`]): while connecting, a stop message (a kind of `ProducerFinished`,
///   `ShutdownMicroprocess` or `Shutdown`) abandons the attempt and is forwarded on `signal`;
///   other messages are forwarded on `signal` too (as in Kamaelia). Once connected, `control`
///   is the adapter's: `ProducerFinished` flushes then closes, `ShutdownMicroprocess` closes
///   now.
/// - `_socketFeedback` ([`Ipc`]): internal, the adapter's [`SocketShutdown`].
///
/// # Outboxes
/// - `outbox` ([`Bytes`]): data received.
/// - `signal` ([`Ipc`]): [`ConnectFailed`] (a kind of `ProducerFinished`) if the connection is
///   refused, fails or times out; otherwise, when the connection has closed, the adapter's
///   [`SocketShutdown`] (also a kind of `ProducerFinished`) saying how.
///
/// # Shutdown
/// The client ends after emitting one message on `signal`: [`ConnectFailed`], the forwarded
/// stop message (stopped while connecting), or [`SocketShutdown`] once its adapter has closed
/// the connection — because it was told to on `control`, because of a socket error, or because
/// the server closed its side (the client then closes after writing what is queued).
#[doc(alias = "TCPClient")]
#[derive(Clone, Debug)]
pub struct TcpClient {
    /// Where to connect.
    addr: SocketAddr,
    /// How long connecting may take.
    connect_timeout: Duration,
    /// The adapter's settings.
    csa: CsaConfig,
}

const BOXES: &[BoxDecl] = &[
    BoxDecl::inbox::<Bytes>(INBOX).doc("bytes to send"),
    BoxDecl::inbox::<Ipc>(CONTROL).doc("ProducerFinished: flush then close; ShutdownMicroprocess: close now"),
    BoxDecl::inbox::<Ipc>(SOCKET_FEEDBACK).doc("internal: SocketShutdown from the adapter"),
    BoxDecl::inbox::<Ipc>(CSA_SIGNAL).doc("internal: the adapter's signal"),
    BoxDecl::outbox::<Bytes>(OUTBOX).doc("bytes received"),
    BoxDecl::outbox::<Ipc>(SIGNAL).doc("ConnectFailed, or SocketShutdown when the connection closed"),
    BoxDecl::outbox::<Ipc>(CSA_CONTROL).doc("internal: to the adapter's control"),
];

impl TcpClient {
    /// A client that will connect to `addr` when activated, with a 60-second connect timeout
    /// (Kamaelia's default) and the default [`CsaConfig`].
    pub fn new(addr: SocketAddr) -> TcpClient {
        TcpClient { addr, connect_timeout: Duration::from_secs(60), csa: CsaConfig::default() }
    }

    /// Sets how long connecting may take before the client gives up with [`ConnectFailed`]
    /// (kind [`io::ErrorKind::TimedOut`]).
    pub fn connect_timeout(mut self, timeout: Duration) -> TcpClient {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the connection adapter's settings.
    pub fn csa_config(mut self, csa: CsaConfig) -> TcpClient {
        self.csa = csa;
        self
    }

    /// Where the client connects.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Connects; `Ok(None)` if the attempt was abandoned or failed (already reported on
    /// `signal`).
    async fn connect(&self, cx: &Context, reactor: &std::rc::Rc<Reactor>) -> io::Result<Option<TcpStream>> {
        let control = cx.inbox::<Ipc>(CONTROL).map_err(io::Error::other)?;
        let signal = cx.outbox::<Ipc>(SIGNAL).map_err(io::Error::other)?;
        let fail = |e: &io::Error| {
            debug!(addr = %self.addr, error = %e, "connect failed");
            let msg = ConnectFailed { addr: self.addr, kind: e.kind(), message: e.to_string() };
            send_or_log(&signal, Ipc::new(msg));
            Ok(None)
        };
        let stream = match TcpStream::connect(self.addr) {
            Ok(s) => s,
            Err(e) => return fail(&e),
        };
        let io =
            match Registered::new(reactor, stream, Interest::READABLE | Interest::WRITABLE, cx.local_waker())
            {
                Ok(io) => io,
                Err(e) => return fail(&e),
            };
        let deadline = axon_core::deadline_after(self.connect_timeout);
        loop {
            while let Some(msg) = control.recv() {
                let stop = msg.is_stop();
                send_or_log(&signal, msg);
                if stop {
                    return Ok(None);
                }
            }
            if io.is_ready(WRITABLE) {
                match io.get().take_error() {
                    Ok(Some(e)) | Err(e) => return fail(&e),
                    Ok(None) => {}
                }
                match io.get().peer_addr() {
                    Ok(_) => return Ok(Some(io.into_inner())),
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => io.clear(WRITABLE),
                    Err(e) => return fail(&e),
                }
            }
            if Instant::now() >= deadline {
                let e = io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("connecting to {} timed out after {:?}", self.addr, self.connect_timeout),
                );
                return fail(&e);
            }
            cx.pause_until(deadline).await;
        }
    }
}

fn send_or_log(signal: &Outbox<Ipc>, msg: Ipc) {
    if signal.send(msg).is_err() {
        debug!("signal box full: message dropped");
    }
}

impl Component for TcpClient {
    fn boxes(&self) -> &'static [BoxDecl] {
        BOXES
    }

    async fn main(self, cx: Context) -> ComponentResult {
        let reactor = Reactor::try_get(&cx)?;
        let Some(stream) = self.connect(&cx, &reactor).await? else { return Ok(()) };
        let signal = cx.outbox::<Ipc>(SIGNAL)?;
        let local = stream.local_addr()?;
        let csa = cx.create(ConnectedSocketAdapter::from_mio(stream, self.addr, local, self.csa));
        let me = cx.me();
        let inbound = LinkOptions::new().passthrough(Passthrough::Inbound);
        let outbound = LinkOptions::new().passthrough(Passthrough::Outbound);
        cx.link_with((&me, INBOX), (&csa, INBOX), inbound)?;
        cx.link_with((&me, CONTROL), (&csa, CONTROL), inbound)?;
        cx.link_with((&csa, OUTBOX), (&me, OUTBOX), outbound)?;
        cx.link((&csa, CREATOR_FEEDBACK), (&me, SOCKET_FEEDBACK))?;
        cx.link((&csa, SIGNAL), (&me, CSA_SIGNAL))?;
        cx.link((&me, CSA_CONTROL), (&csa, CONTROL))?;
        cx.add_children(std::slice::from_ref(&csa));
        cx.activate(&csa);
        debug!(client = %cx.name(), addr = %self.addr, csa = %csa.name(), "connected");

        let feedback = cx.inbox::<Ipc>(SOCKET_FEEDBACK)?;
        let csa_signal = cx.inbox::<Ipc>(CSA_SIGNAL)?;
        let csa_control = cx.outbox::<Ipc>(CSA_CONTROL)?;
        let mut closed: Option<Ipc> = None;
        loop {
            while let Some(msg) = csa_signal.recv() {
                if msg.is::<PeerEof>() {
                    // The server has finished: finish too, once what is queued is written.
                    send_or_log(&csa_control, Ipc::producer_finished());
                }
            }
            while let Some(msg) = feedback.recv() {
                if msg.is::<SocketShutdown>() {
                    closed = Some(msg);
                }
            }
            if csa.is_finished() {
                break;
            }
            cx.pause().await;
        }
        cx.remove_child(&csa);
        let msg = closed
            .unwrap_or_else(|| Ipc::new(SocketShutdown { csa: Some(csa.id()), how: Some(HowDied::Ended) }));
        send_or_log(&signal, msg);
        Ok(())
    }
}
