//! Axon's IPC messages (`Axon.Ipc`): the lifecycle and notification messages that travel on
//! `control` and `signal` boxes.
//!
//! In Python these are classes and behaviour is decided with `isinstance`, so subclassing
//! matters: Kamaelia's `socketShutdown` *is a* `producerFinished`, and `serverShutdown` *is a*
//! `shutdownMicroprocess`. Here every message type implements [`IpcMessage`] and names the Axon
//! base class it is an instance of with [`IpcMessage::kind`]; an [`Ipc`] value answers both
//! questions — "is it exactly a `SocketShutdown`?" ([`Ipc::is`]) and "is it a kind of
//! `ProducerFinished`?" ([`Ipc::is_producer_finished`]) — so a component that stops on the
//! general message also stops on every specific one, across crates.
//!
//! Axon's `newComponent`, `WaitComplete` and `reactivate` are instructions yielded to the
//! scheduler, not messages; in Rust they are [`Context::spawn`](crate::Context::spawn) and a
//! plain `.await` of a sub-future.
//!
//! ```
//! use axon_core::ipc::{Ipc, IpcKind, IpcMessage, ProducerFinished};
//!
//! // A protocol-specific "no more data" message, defined in another crate.
//! #[derive(Debug)]
//! struct EndOfStream;
//! impl IpcMessage for EndOfStream {
//!     fn kind(&self) -> IpcKind { IpcKind::ProducerFinished }
//! }
//!
//! let msg = Ipc::new(EndOfStream);
//! assert!(msg.is_producer_finished());      // it counts as the general message
//! assert!(msg.is::<EndOfStream>());         // and is still its own type
//! assert!(!msg.is::<ProducerFinished>());
//! ```

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use crate::component::ComponentId;

/// The Axon base class a message is an instance of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IpcKind {
    /// `producerFinished`: "no more data; drain, then stop".
    ProducerFinished,
    /// `shutdownMicroprocess`: "stop now".
    ShutdownMicroprocess,
    /// `shutdown`: Axon's legacy "terminate".
    Shutdown,
    /// `notify`: a generic event.
    Notify,
    /// `status`: a generic status report.
    Status,
    /// `wouldblock`: a hint that an operation would block.
    WouldBlock,
    /// `errorInformation`: a non-fatal error report.
    ErrorInformation,
    /// None of Axon's classes; a message of its own.
    Other,
}

/// A message that can travel on `control`/`signal` boxes as an [`Ipc`].
///
/// Implement [`kind`](IpcMessage::kind) to say which Axon class the message is a kind of; the
/// default is [`IpcKind::Other`].
pub trait IpcMessage: Any + Send + Sync + fmt::Debug {
    /// The Axon base class this message is an instance of.
    fn kind(&self) -> IpcKind {
        IpcKind::Other
    }
}

/// A lifecycle or notification message: any [`IpcMessage`], shared cheaply on clone (Python
/// shares message objects by reference too). The message type of the standard `control` and
/// `signal` boxes.
#[derive(Clone)]
pub struct Ipc(Arc<dyn IpcMessage>);

impl Ipc {
    /// Wraps a message.
    pub fn new<M: IpcMessage>(message: M) -> Self {
        Ipc(Arc::new(message))
    }

    /// A `ProducerFinished` with no caller and no message.
    #[doc(alias = "producerFinished")]
    pub fn producer_finished() -> Self {
        Ipc::new(ProducerFinished::default())
    }

    /// A `ShutdownMicroprocess` naming no components.
    #[doc(alias = "shutdownMicroprocess")]
    pub fn shutdown_microprocess() -> Self {
        Ipc::new(ShutdownMicroprocess::default())
    }

    /// The Axon base class of the message.
    pub fn kind(&self) -> IpcKind {
        self.0.kind()
    }

    /// Whether the message is exactly of type `M`.
    pub fn is<M: IpcMessage>(&self) -> bool {
        self.downcast_ref::<M>().is_some()
    }

    /// The message as its concrete type, if it is an `M`.
    pub fn downcast_ref<M: IpcMessage>(&self) -> Option<&M> {
        let any: &dyn Any = &*self.0;
        any.downcast_ref::<M>()
    }

    /// Whether the message is a kind of `ProducerFinished` (Kamaelia's `SocketShutdown` is).
    pub fn is_producer_finished(&self) -> bool {
        self.kind() == IpcKind::ProducerFinished
    }

    /// Whether the message is a kind of `ShutdownMicroprocess` (Kamaelia's `ServerShutdown` is).
    pub fn is_shutdown_microprocess(&self) -> bool {
        self.kind() == IpcKind::ShutdownMicroprocess
    }

    /// Whether the message asks its receiver to end: a kind of `ProducerFinished`,
    /// `ShutdownMicroprocess` or the legacy `Shutdown`. This is the check most components make
    /// on their `control` inbox.
    pub fn is_stop(&self) -> bool {
        matches!(self.kind(), IpcKind::ProducerFinished | IpcKind::ShutdownMicroprocess | IpcKind::Shutdown)
    }
}

impl fmt::Debug for Ipc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<M: IpcMessage> From<M> for Ipc {
    fn from(m: M) -> Self {
        Ipc::new(m)
    }
}

/// "No more data: finish cleanly" (Axon's `producerFinished`).
#[doc(alias = "producerFinished")]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProducerFinished {
    /// The component that finished, if it says.
    pub caller: Option<ComponentId>,
    /// A free-form note.
    pub message: Option<String>,
}

impl ProducerFinished {
    /// A `ProducerFinished` from `caller`.
    pub fn from_caller(caller: ComponentId) -> Self {
        ProducerFinished { caller: Some(caller), message: None }
    }
}

impl IpcMessage for ProducerFinished {
    fn kind(&self) -> IpcKind {
        IpcKind::ProducerFinished
    }
}

/// "Terminate now" (Axon's `shutdownMicroprocess`).
#[doc(alias = "shutdownMicroprocess")]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShutdownMicroprocess {
    /// The components the request names (Axon's `.microprocesses()`); often empty.
    pub microprocesses: Vec<ComponentId>,
}

impl IpcMessage for ShutdownMicroprocess {
    fn kind(&self) -> IpcKind {
        IpcKind::ShutdownMicroprocess
    }
}

/// Axon's legacy "terminate" (`shutdown`).
#[doc(alias = "shutdown")]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Shutdown;

impl IpcMessage for Shutdown {
    fn kind(&self) -> IpcKind {
        IpcKind::Shutdown
    }
}

/// A generic event with a payload (Axon's `notify(caller, payload)`).
#[doc(alias = "notify")]
#[derive(Clone)]
pub struct Notify {
    /// The component that sent it.
    pub caller: ComponentId,
    /// The payload (Axon's `.object`).
    pub object: Arc<dyn Any + Send + Sync>,
}

impl Notify {
    /// A notification from `caller` carrying `object`.
    pub fn new<P: Any + Send + Sync>(caller: ComponentId, object: P) -> Self {
        Notify { caller, object: Arc::new(object) }
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notify").field("caller", &self.caller).finish_non_exhaustive()
    }
}

impl IpcMessage for Notify {
    fn kind(&self) -> IpcKind {
        IpcKind::Notify
    }
}

/// A generic status report (Axon's `status`).
#[doc(alias = "status")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status(pub String);

impl IpcMessage for Status {
    fn kind(&self) -> IpcKind {
        IpcKind::Status
    }
}

/// A hint that an operation would block (Axon's `wouldblock`).
#[doc(alias = "wouldblock")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WouldBlock {
    /// The component that would block.
    pub caller: ComponentId,
}

impl IpcMessage for WouldBlock {
    fn kind(&self) -> IpcKind {
        IpcKind::WouldBlock
    }
}

/// A non-fatal error report (Axon's `errorInformation`).
#[doc(alias = "errorInformation")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorInformation {
    /// The component reporting.
    pub caller: ComponentId,
    /// The error, as text.
    pub exception: Option<String>,
    /// A free-form note.
    pub message: Option<String>,
}

impl IpcMessage for ErrorInformation {
    fn kind(&self) -> IpcKind {
        IpcKind::ErrorInformation
    }
}
