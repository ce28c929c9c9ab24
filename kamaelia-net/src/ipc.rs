//! Kamaelia's networking messages (`Kamaelia.IPC`), as Rust types whose relations to Axon's are
//! explicit through [`IpcMessage::kind`]:
//!
//! | Kamaelia          | here              | is a kind of          | travels on                       |
//! |-------------------|-------------------|-----------------------|----------------------------------|
//! | `socketShutdown`  | [`SocketShutdown`]| `producerFinished`    | adapter `CreatorFeedback`, `signal` |
//! | `serverShutdown`  | [`ServerShutdown`]| `shutdownMicroprocess`| server `control`                 |
//! | —                 | [`PeerEof`]       | `producerFinished`    | adapter `signal`                 |
//! | —                 | [`ConnectFailed`] | `producerFinished`    | client `signal`                  |
//! | `newCSA`          | [`NewCsa`]        | (typed message)       | server `protocolHandlerSignal`   |
//! | `shutdownCSA`     | [`ShutdownCsa`]   | (typed message)       | server `protocolHandlerSignal`   |
//!
//! `NewCsa` and `ShutdownCsa` carry a [`ComponentRef`], which belongs to one scheduler thread,
//! so they are not [`Ipc`](axon_core::ipc::Ipc) messages (those are `Send`): they travel on the
//! server's `protocolHandlerSignal` outbox as a [`SocketActivity`].
//!
//! Because `SocketShutdown` is a `ProducerFinished`, a handler that stops on "no more data"
//! also stops when its socket goes; because `ServerShutdown` is a `ShutdownMicroprocess`, a
//! component that stops on "stop now" also stops on it.
//!
//! ```
//! use axon_core::ipc::Ipc;
//! use kamaelia_net::ipc::{HowDied, ServerShutdown, SocketShutdown};
//!
//! let closed = Ipc::new(SocketShutdown { csa: None, how: Some(HowDied::Flushed) });
//! assert!(closed.is_producer_finished());
//! assert!(Ipc::new(ServerShutdown).is_shutdown_microprocess());
//! ```

use std::fmt;
use std::io;
use std::net::SocketAddr;

use axon_core::ipc::{IpcKind, IpcMessage};
use axon_core::{ComponentId, ComponentRef};

/// Why an adapter closed its connection (the `howDied` of Kamaelia's `socketShutdown`, which
/// Kamaelia's `TCPServer` dropped; here it is passed on in [`ShutdownCsa`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HowDied {
    /// Told "no more data" (`ProducerFinished` on `control`): everything queued was written,
    /// then the socket was closed. Output that arrives once the adapter has sent its FIN (from
    /// a handler that goes on sending after its `ProducerFinished`) cannot be written: it is
    /// dropped at the close and counted in
    /// [`NetStats::bytes_unsent`](crate::NetStats::bytes_unsent).
    Flushed,
    /// Told "stop now" (`ShutdownMicroprocess` on `control`): closed at once; unwritten data was
    /// dropped.
    ShutdownRequested,
    /// The peer had closed its side (EOF) and then refused further data (reset or broken pipe).
    PeerClosed,
    /// The peer reset the connection.
    Reset,
    /// Any other socket error.
    Error {
        /// The error's kind.
        kind: io::ErrorKind,
        /// The error, as text.
        message: String,
    },
    /// The adapter ended without reporting (it was stopped, or panicked); reported by the
    /// server that noticed.
    Ended,
    /// Told "no more data", but the peer did not take what was queued within the adapter's
    /// flush timeout ([`CsaConfig::flush_timeout`](crate::CsaConfig::flush_timeout)): closed with
    /// data unwritten.
    FlushTimedOut,
}

impl HowDied {
    /// Classifies a socket error: resets and broken pipes are [`HowDied::Reset`], the rest
    /// [`HowDied::Error`].
    pub fn from_io(e: &io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted | io::ErrorKind::BrokenPipe => {
                HowDied::Reset
            }
            kind => HowDied::Error { kind, message: e.to_string() },
        }
    }
}

impl fmt::Display for HowDied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HowDied::Flushed => f.write_str("flushed and closed"),
            HowDied::ShutdownRequested => f.write_str("shut down on request"),
            HowDied::PeerClosed => f.write_str("closed by the peer"),
            HowDied::Reset => f.write_str("reset by the peer"),
            HowDied::Error { message, .. } => write!(f, "socket error: {message}"),
            HowDied::Ended => f.write_str("adapter ended without reporting"),
            HowDied::FlushTimedOut => f.write_str("closed: the peer did not read what was left in time"),
        }
    }
}

/// "The socket has closed" (Kamaelia's `socketShutdown`): *is a* `ProducerFinished`.
///
/// An adapter sends it, naming itself and saying why, to its creator (`CreatorFeedback`) and on
/// its `signal` outbox. A server chassis may also send one with neither field to a protocol
/// handler's `control` (Kamaelia's `socketShutdown()` with no arguments).
#[doc(alias = "socketShutdown")]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SocketShutdown {
    /// The adapter whose socket closed.
    pub csa: Option<ComponentId>,
    /// Why it closed.
    pub how: Option<HowDied>,
}

impl IpcMessage for SocketShutdown {
    fn kind(&self) -> IpcKind {
        IpcKind::ProducerFinished
    }
}

/// "Stop the server now" (Kamaelia's `serverShutdown`): *is a* `ShutdownMicroprocess`. On a
/// [`TcpServer`](crate::TcpServer)'s `control` it stops accepting and closes the listener.
#[doc(alias = "serverShutdown")]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerShutdown;

impl IpcMessage for ServerShutdown {
    fn kind(&self) -> IpcKind {
        IpcKind::ShutdownMicroprocess
    }
}

/// "The peer will send nothing more" — it closed its side of the connection (read EOF): *is a*
/// `ProducerFinished`. Sent by an adapter on its `signal` outbox once every byte read has been
/// delivered on `outbox`. The socket stays open for writing: what the handler still sends is
/// written, and the adapter closes when the handler says so. Link the adapter's `signal` to the
/// handler's `control` (as a Pipeline links neighbours) so the handler learns of it; a handler
/// that finishes on `ProducerFinished` then drains, says `ProducerFinished` on its own `signal`
/// (linked to the adapter's `control`), and the adapter flushes and closes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerEof {
    /// The adapter that saw the end of input.
    pub csa: ComponentId,
}

impl IpcMessage for PeerEof {
    fn kind(&self) -> IpcKind {
        IpcKind::ProducerFinished
    }
}

/// A [`TcpClient`](crate::TcpClient) could not connect: *is a* `ProducerFinished` (as in
/// Kamaelia, where a refused connection ends the client with `producerFinished`), so the
/// components downstream of the client finish too. Emitted on the client's `signal`, after
/// which the client ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectFailed {
    /// Where it tried to connect.
    pub addr: SocketAddr,
    /// The error's kind: [`io::ErrorKind::ConnectionRefused`] for a refusal,
    /// [`io::ErrorKind::TimedOut`] when the connect timeout passed.
    pub kind: io::ErrorKind,
    /// The error, as text.
    pub message: String,
}

impl IpcMessage for ConnectFailed {
    fn kind(&self) -> IpcKind {
        IpcKind::ProducerFinished
    }
}

/// A new connection (Kamaelia's `newCSA`): its adapter, created but **not activated** — whoever
/// receives this wires the adapter to a protocol handler and activates both, as Kamaelia's
/// `ServerCore` does.
#[doc(alias = "newCSA")]
#[derive(Clone, Debug)]
pub struct NewCsa {
    /// The connection's [`ConnectedSocketAdapter`](crate::ConnectedSocketAdapter).
    pub csa: ComponentRef,
    /// The remote end's address.
    pub peer: SocketAddr,
    /// The local end's address.
    pub local: SocketAddr,
}

/// A connection has closed (Kamaelia's `shutdownCSA`): the server has forgotten the adapter and
/// removed it from its children.
#[doc(alias = "shutdownCSA")]
#[derive(Clone, Debug)]
pub struct ShutdownCsa {
    /// The adapter whose socket closed.
    pub csa: ComponentRef,
    /// The remote end's address.
    pub peer: SocketAddr,
    /// The local end's address.
    pub local: SocketAddr,
    /// Why it closed, as the adapter reported it ([`HowDied::Ended`] if it ended without
    /// reporting).
    pub how: HowDied,
}

/// What a [`TcpServer`](crate::TcpServer) says on its `protocolHandlerSignal` outbox.
#[derive(Clone, Debug)]
pub enum SocketActivity {
    /// A connection was accepted.
    New(NewCsa),
    /// A connection closed.
    Shutdown(ShutdownCsa),
}
