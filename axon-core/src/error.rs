//! Error types. Each operation has its own small error; the ones that can fail after a message was
//! handed over give the message back, as crossbeam-channel does.

use std::fmt;

use crate::component::ComponentId;

/// Which side of a component a box is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// An inbox: messages arrive here.
    Inbox,
    /// An outbox: messages leave from here.
    Outbox,
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Inbox => "inbox",
            Direction::Outbox => "outbox",
        })
    }
}

/// Names one box of one component, for error messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BoxName {
    /// The component's name (`<Type>_<id>`).
    pub component: String,
    /// The component's id.
    pub id: ComponentId,
    /// Inbox or outbox.
    pub direction: Direction,
    /// The box's name.
    pub name: String,
}

impl fmt::Display for BoxName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?} of {}", self.direction, self.name, self.component)
    }
}

/// A send into a bounded box that is full (Axon's `noSpaceInBox`). The message is handed back.
#[doc(alias = "noSpaceInBox")]
#[derive(Clone, PartialEq, Eq)]
pub struct NoSpaceInBox<T> {
    /// The message that was not delivered.
    pub message: T,
    /// The size limit of the full box.
    pub capacity: usize,
}

impl<T> NoSpaceInBox<T> {
    /// Takes the undelivered message back.
    pub fn into_inner(self) -> T {
        self.message
    }
}

impl<T> fmt::Debug for NoSpaceInBox<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoSpaceInBox").field("capacity", &self.capacity).finish_non_exhaustive()
    }
}

impl<T> fmt::Display for NoSpaceInBox<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no space in box: it holds its limit of {} messages", self.capacity)
    }
}

impl<T> std::error::Error for NoSpaceInBox<T> {}

/// Looking a box up by name failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BoxError {
    /// No box of that name and direction exists on the component.
    #[error("no {0} (declared boxes: {1})")]
    UnknownBox(BoxName, String),
    /// The box exists but carries another message type.
    #[error("{box_name} carries {actual}, not {requested}")]
    TypeMismatch {
        /// The box.
        box_name: BoxName,
        /// The message type the box was declared with.
        actual: &'static str,
        /// The message type the caller asked for.
        requested: &'static str,
    },
    /// The box is still linked; unlink it before deleting it.
    #[error("{0} is still linked; unlink it before deleting it")]
    StillLinked(BoxName),
}

/// The outcome of a failed string-addressed send ([`Context::send`](crate::Context::send)).
/// The message is handed back in every case.
#[derive(thiserror::Error)]
pub enum SendError<T> {
    /// The destination is bounded and full.
    #[error(transparent)]
    NoSpace(NoSpaceInBox<T>),
    /// The outbox does not exist, or carries another type.
    #[error("{1}")]
    BadBox(T, BoxError),
}

impl<T> SendError<T> {
    /// Takes the undelivered message back.
    pub fn into_inner(self) -> T {
        match self {
            SendError::NoSpace(e) => e.message,
            SendError::BadBox(m, _) => m,
        }
    }
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::NoSpace(e) => f.debug_tuple("NoSpace").field(e).finish(),
            SendError::BadBox(_, e) => f.debug_tuple("BadBox").field(e).finish(),
        }
    }
}

impl<T> From<NoSpaceInBox<T>> for SendError<T> {
    fn from(e: NoSpaceInBox<T>) -> Self {
        SendError::NoSpace(e)
    }
}

/// Making or removing a linkage failed. Nothing was changed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// One end names a box that does not exist. Both ends are named as given; `error` says
    /// which one is missing and lists the boxes its component has.
    #[error("cannot link {source_box} to {sink_box}: {error}")]
    UnknownBox {
        /// The source end, as named in the call.
        source_box: BoxName,
        /// The sink end, as named in the call.
        sink_box: BoxName,
        /// The failed lookup.
        #[source]
        error: BoxError,
    },
    /// The two ends carry different message types.
    #[error(
        "cannot link {source_box} ({source_type}) to {sink_box} ({sink_type}): the message types differ"
    )]
    TypeMismatch {
        /// The source end.
        source_box: BoxName,
        /// Its message type.
        source_type: &'static str,
        /// The sink end.
        sink_box: BoxName,
        /// Its message type.
        sink_type: &'static str,
    },
    /// The source is already linked elsewhere; a box has at most one destination (Axon's
    /// `BoxAlreadyLinkedToDestination`). Use a splitter component for fan-out.
    #[error("cannot link {source_box} to {new_sink}: it is already linked to {existing_sink}")]
    BoxAlreadyLinkedToDestination {
        /// The source end.
        source_box: BoxName,
        /// Where it already goes.
        existing_sink: BoxName,
        /// Where it was asked to go.
        new_sink: BoxName,
    },
    /// The link would make a passthrough chain loop back on itself.
    #[error("cannot link {source_box} to {sink_box}: the chain would loop")]
    Cycle {
        /// The source end.
        source_box: BoxName,
        /// The sink end.
        sink_box: BoxName,
    },
    /// A passthrough value other than 0, 1 or 2.
    #[error("passthrough must be 0, 1 or 2, not {0}")]
    BadPassthrough(u8),
    /// `unlink` was given a linkage this component (or scheduler) did not make. Linkages belong
    /// to their creator; only it may remove them.
    #[error("{0} was not made by this component; only its creator can unlink it")]
    NotOwner(String),
    /// A component that has not been created on this scheduler.
    #[error("component {0} belongs to another scheduler")]
    ForeignComponent(String),
}
