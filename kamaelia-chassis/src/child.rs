//! What chassis such as [`Pipeline`](crate::Pipeline) and [`Graphline`](crate::Graphline) are
//! given as children ([`Child`]), and how wiring them can go wrong ([`WiringError`]).
//!
//! A Kamaelia chassis is handed components that are constructed but not activated, of any
//! class. In Rust those are values of different types, so a [`Child`] erases the type: it keeps
//! the component until the chassis runs, then creates it on the chassis's scheduler. It also
//! keeps the component's box declarations, so a chassis can check its wiring before it runs.

use std::fmt;

use axon_core::{BoxDecl, Component, ComponentRef, Context, Direction, LinkError};

/// One child of a chassis: a component to create when the chassis runs, or one already created
/// (and not yet activated) on the same scheduler.
///
/// Every [`Component`] converts into a `Child`, so chassis builders take `impl Into<Child>`:
///
/// ```
/// use axon_core::{boxes, from_fn, BoxDecl, Scheduler};
/// use kamaelia_chassis::Child;
/// const B: &[BoxDecl] = &boxes::standard::<u32>();
///
/// let by_value: Child = from_fn(B, |_| async { Ok(()) }).into();
/// assert!(by_value.boxes().is_some());
///
/// let sched = Scheduler::new();
/// let made = sched.create(from_fn(B, |_| async { Ok(()) }));
/// let by_handle = Child::created(made); // e.g. to keep a handle for a test
/// assert!(by_handle.boxes().is_none());
/// ```
pub struct Child {
    kind: Kind,
}

enum Kind {
    /// A component value: created (on the chassis's scheduler) when the chassis runs.
    Value {
        /// Creates the component; consumes it.
        create: Box<dyn FnOnce(&Context) -> ComponentRef>,
        /// Its declared boxes, read before it is created, for the early wiring check.
        boxes: &'static [BoxDecl],
        /// Its type's short name, for error messages.
        type_name: &'static str,
    },
    /// A component created by the caller, not yet activated.
    Created(ComponentRef),
}

impl Child {
    /// A component to create when the chassis runs.
    pub fn new<C: Component>(component: C) -> Self {
        let boxes = component.boxes();
        Child {
            kind: Kind::Value {
                create: Box::new(move |cx: &Context| cx.create(component)),
                boxes,
                type_name: short_type_name(std::any::type_name::<C>()),
            },
        }
    }

    /// A component already created on the chassis's scheduler and not activated; the chassis
    /// wires and activates it. Keep a clone of the handle to watch or drive the child.
    pub fn created(component: ComponentRef) -> Self {
        Child { kind: Kind::Created(component) }
    }

    /// The child's declared boxes, when it was given by value (a created child's declarations
    /// are not visible through its handle).
    pub fn boxes(&self) -> Option<&'static [BoxDecl]> {
        match &self.kind {
            Kind::Value { boxes, .. } => Some(boxes),
            Kind::Created(_) => None,
        }
    }

    /// Creates the component (if it was given by value) on `cx`'s scheduler.
    pub(crate) fn create(self, cx: &Context) -> ComponentRef {
        match self.kind {
            Kind::Value { create, .. } => create(cx),
            Kind::Created(r) => r,
        }
    }

    /// Its type name (by value) or its component name (created), for messages.
    pub(crate) fn describe(&self) -> String {
        match &self.kind {
            Kind::Value { type_name, .. } => (*type_name).to_owned(),
            Kind::Created(r) => r.name(),
        }
    }

    /// What is known of box `name` on side `dir` before the child runs: `Err` if it has no such
    /// box, `Ok(Some(type name))` when declared, `Ok(None)` when it exists but its type is not
    /// visible (a created child; the link checks it when the chassis runs).
    pub(crate) fn box_type(&self, dir: Direction, name: &str) -> Result<Option<&'static str>, ()> {
        match &self.kind {
            Kind::Value { boxes, .. } => boxes
                .iter()
                .find(|d| d.direction() == dir && d.name() == name)
                .map(|d| Some(d.type_name()))
                .ok_or(()),
            Kind::Created(r) => {
                let has = match dir {
                    Direction::Inbox => r.has_inbox(name),
                    Direction::Outbox => r.has_outbox(name),
                };
                if has {
                    Ok(None)
                } else {
                    Err(())
                }
            }
        }
    }
}

impl<C: Component> From<C> for Child {
    fn from(component: C) -> Self {
        Child::new(component)
    }
}

impl fmt::Debug for Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Value { type_name, .. } => f.debug_tuple("Child").field(type_name).finish(),
            Kind::Created(r) => f.debug_tuple("Child::created").field(&r.name()).finish(),
        }
    }
}

/// `kamaelia_chassis::pipeline::Pipeline<u32>` → `Pipeline`.
fn short_type_name(full: &'static str) -> &'static str {
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base)
}

/// A chassis's children cannot be wired as asked. Each variant names the culprit: the child
/// (by its position in a Pipeline, by its name in a Graphline, and its type) and the box.
///
/// [`Pipeline::check`](crate::Pipeline::check) and [`Graphline::check`](crate::Graphline::check)
/// find these before anything runs; a chassis whose wiring fails when it runs ends with
/// [`EndCause::Failed`](axon_core::EndCause::Failed) carrying this error, and none of its
/// children is activated.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WiringError {
    /// A child lacks a box the wiring needs.
    MissingBox {
        /// The child, e.g. `child 2 (Shouter)` or `child "SRC" (Producer)`.
        child: String,
        /// Inbox or outbox.
        direction: Direction,
        /// The box's name.
        box_name: String,
    },
    /// Two boxes to be linked carry different message types.
    TypeMismatch {
        /// The source: a child, or the chassis itself.
        from: String,
        /// The source box.
        from_box: String,
        /// Its message type.
        from_type: &'static str,
        /// The destination.
        to: String,
        /// The destination box.
        to_box: String,
        /// Its message type.
        to_type: &'static str,
    },
    /// Two Graphline children have the same name.
    DuplicateName(String),
    /// Making a link failed when the chassis ran; `linkage` says which link, in the chassis's
    /// own terms.
    Link {
        /// The link asked for, e.g. `("SRC", "outbox") -> ("DST", "inbox")`.
        linkage: String,
        /// Why it failed; it names both components and boxes.
        source: LinkError,
    },
}

impl fmt::Display for WiringError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WiringError::MissingBox { child, direction, box_name } => {
                write!(f, "{child} has no {direction} {box_name:?}")
            }
            WiringError::TypeMismatch { from, from_box, from_type, to, to_box, to_type } => write!(
                f,
                "cannot link {from} {from_box:?} ({from_type}) to {to} {to_box:?} ({to_type}): \
                 the message types differ"
            ),
            WiringError::DuplicateName(name) => write!(f, "two children are named {name:?}"),
            WiringError::Link { linkage, source } => write!(f, "cannot make the link {linkage}: {source}"),
        }
    }
}

impl std::error::Error for WiringError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WiringError::Link { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// One end of a link being checked: who, which box, and its type if known.
pub(crate) struct End<'a> {
    pub(crate) who: &'a str,
    pub(crate) name: &'a str,
    pub(crate) ty: Option<&'static str>,
}

/// Fails if both ends' types are known and differ.
pub(crate) fn same_type(from: End<'_>, to: End<'_>) -> Result<(), WiringError> {
    match (from.ty, to.ty) {
        (Some(a), Some(b)) if a != b => Err(WiringError::TypeMismatch {
            from: from.who.to_owned(),
            from_box: from.name.to_owned(),
            from_type: a,
            to: to.who.to_owned(),
            to_box: to.name.to_owned(),
            to_type: b,
        }),
        _ => Ok(()),
    }
}
