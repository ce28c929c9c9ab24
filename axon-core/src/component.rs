//! Components (`Axon.Component`, `Axon.Microprocess`): the [`Component`] trait, handles on
//! created components, and how a component ended.

use std::fmt;
use std::future::Future;
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::boxes::{BoxDecl, Inbox, Outbox};
use crate::context::Context;
use crate::error::{BoxError, Direction, SendError};
use crate::scheduler::WakeHandle;
use crate::task::{State, Task};

/// The error a component's `main` may end with: any error type converts into it with `?`.
pub type Error = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What a component's `main` returns.
pub type ComponentResult = Result<(), Error>;

/// A component's process-wide unique id (Axon's `id`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct ComponentId(pub(crate) u64);

impl ComponentId {
    pub(crate) fn next() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        ComponentId(NEXT.fetch_add(1, Ordering::Relaxed))
    }

    /// The id as a number.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for ComponentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// A component: a value whose `main` is an `async` state machine (a Python generator's
/// counterpart), with named, typed boxes.
///
/// Construction and activation are separate: creating the value runs nothing; `main` starts only
/// when a scheduler activates the component. `main` does everything Axon's `self` did through its
/// [`Context`]. Where Python wrote `yield 1` write `cx.yield_now().await`; where it wrote
/// `self.pause(); yield 1` write `cx.pause().await`.
///
/// ```
/// use axon_core::{boxes, BoxDecl, Component, ComponentResult, Context, Scheduler};
///
/// /// Doubles every number it receives.
/// struct Doubler;
///
/// impl Component for Doubler {
///     fn boxes(&self) -> &'static [BoxDecl] {
///         const BOXES: &[BoxDecl] = &boxes::standard::<u64>();
///         BOXES
///     }
///
///     async fn main(self, cx: Context) -> ComponentResult {
///         let inbox = cx.inbox::<u64>("inbox")?;
///         let outbox = cx.outbox::<u64>("outbox")?;
///         while let Some(n) = inbox.recv() {
///             outbox.send(n * 2)?;
///         }
///         Ok(())
///     }
/// }
///
/// let sched = Scheduler::new();
/// let d = sched.spawn(Doubler);
/// sched.run();
/// assert!(d.is_finished());
/// ```
pub trait Component: 'static {
    /// The component's declared boxes (Axon's `Inboxes`/`Outboxes`). More can be added at run
    /// time with [`Context::add_inbox`]/[`Context::add_outbox`].
    fn boxes(&self) -> &'static [BoxDecl];

    /// The component's body. It runs on the scheduler's thread, one step at a time: between
    /// two `.await` points nothing else runs.
    fn main(self, cx: Context) -> impl Future<Output = ComponentResult> + 'static;
}

/// A component made from a closure: see [`from_fn`].
pub struct FnComponent<F> {
    boxes: &'static [BoxDecl],
    body: F,
}

impl<F> fmt::Debug for FnComponent<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnComponent").field("boxes", &self.boxes).finish_non_exhaustive()
    }
}

/// Makes a component from a closure that receives the [`Context`] — handy for small glue
/// components and tests.
///
/// ```
/// use axon_core::{boxes, from_fn, BoxDecl, Scheduler};
/// const BOXES: &[BoxDecl] = &boxes::standard::<&'static str>();
///
/// let sched = Scheduler::new();
/// let hello = sched.spawn(from_fn(BOXES, |cx| async move {
///     cx.outbox::<&'static str>("outbox")?.send("hello")?;
///     Ok(())
/// }));
/// sched.run();
/// assert!(hello.is_finished());
/// ```
pub fn from_fn<F, Fut>(boxes: &'static [BoxDecl], body: F) -> FnComponent<F>
where
    F: FnOnce(Context) -> Fut + 'static,
    Fut: Future<Output = ComponentResult> + 'static,
{
    FnComponent { boxes, body }
}

impl<F, Fut> Component for FnComponent<F>
where
    F: FnOnce(Context) -> Fut + 'static,
    Fut: Future<Output = ComponentResult> + 'static,
{
    fn boxes(&self) -> &'static [BoxDecl] {
        self.boxes
    }

    fn main(self, cx: Context) -> impl Future<Output = ComponentResult> + 'static {
        (self.body)(cx)
    }
}

/// Why a component ended.
#[derive(Clone, Debug)]
pub enum EndCause {
    /// `main` returned `Ok(())`.
    Finished,
    /// `main` returned an error.
    Failed(Arc<dyn std::error::Error + Send + Sync>),
    /// `main` panicked; the panic's message. Only this component ended.
    Panicked(String),
    /// It was stopped ([`ComponentRef::stop`] or [`Scheduler::stop`](crate::Scheduler)).
    Stopped,
}

impl fmt::Display for EndCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndCause::Finished => f.write_str("finished"),
            EndCause::Failed(e) => write!(f, "failed: {e}"),
            EndCause::Panicked(m) => write!(f, "panicked: {m}"),
            EndCause::Stopped => f.write_str("stopped"),
        }
    }
}

/// A handle on a created component: what Python code held as the component object. Cheap to
/// clone; it does not keep the component running.
#[derive(Clone)]
pub struct ComponentRef {
    pub(crate) task: Rc<Task>,
}

impl PartialEq for ComponentRef {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.task, &other.task)
    }
}

impl Eq for ComponentRef {}

impl fmt::Debug for ComponentRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ComponentRef")
            .field("name", &self.name())
            .field("state", &self.task.state.get())
            .finish()
    }
}

impl ComponentRef {
    /// The component's id.
    pub fn id(&self) -> ComponentId {
        self.task.id
    }

    /// The component's name, `<Type>_<id>` as in Axon.
    pub fn name(&self) -> String {
        self.task.name()
    }

    /// Names its box `name` on side `direction`, whether or not it exists: for error messages
    /// such as [`LinkError::UnknownBox`](crate::LinkError::UnknownBox).
    pub fn box_name(&self, direction: crate::Direction, name: &str) -> crate::BoxName {
        self.task.box_name(direction, name)
    }

    /// Whether it has been activated and has not ended.
    pub fn is_active(&self) -> bool {
        !matches!(self.task.state.get(), State::Inactive | State::Done)
    }

    /// Whether it has ended (Axon's `_isStopped`).
    #[doc(alias = "_isStopped")]
    pub fn is_finished(&self) -> bool {
        self.task.state.get() == State::Done
    }

    /// Whether it is paused, waiting for a wake (Axon's `isThreadPaused`; false for a component
    /// that is queued or running).
    #[doc(alias = "isThreadPaused")]
    pub fn is_paused(&self) -> bool {
        self.task.state.get() == State::Paused
    }

    /// How it ended, once it has.
    pub fn end_cause(&self) -> Option<EndCause> {
        match self.task.end.get() {
            crate::task::EndKind::NotYet => None,
            crate::task::EndKind::Finished => Some(EndCause::Finished),
            crate::task::EndKind::Stopped => Some(EndCause::Stopped),
            crate::task::EndKind::Detailed => self.task.extras.borrow().as_ref().and_then(|e| e.end.clone()),
        }
    }

    /// Ends the component: the next time the scheduler reaches it, its `main` is dropped
    /// instead of polled, its own linkages are removed and its parent is woken; its end cause is
    /// [`EndCause::Stopped`]. A paused component is woken to be ended, so nothing is left a
    /// zombie (Axon's defect §9.2). A component not yet activated ends at once.
    pub fn stop(&self) {
        crate::scheduler::request_stop(&self.task);
    }

    /// Wakes the component if it is paused (Axon's `unpause`). Has no effect on a component
    /// that is not activated or has ended.
    #[doc(alias = "unpause")]
    pub fn wake(&self) {
        self.task.wake();
    }

    /// A handle that wakes this component from any thread; `None` unless it is active.
    pub fn wake_handle(&self) -> Option<WakeHandle> {
        crate::scheduler::wake_handle(&self.task)
    }

    /// A typed handle on one of its inboxes, e.g. to inspect or feed it from a test or from
    /// glue code (Axon tests read `inboxes[...]` directly).
    ///
    /// # Errors
    /// [`BoxError`] if there is no such inbox or it carries another type.
    pub fn inbox<T: 'static>(&self, name: &str) -> Result<Inbox<T>, BoxError> {
        crate::context::typed_inbox(&self.task, name)
    }

    /// A typed handle on one of its outboxes.
    ///
    /// # Errors
    /// [`BoxError`] if there is no such outbox or it carries another type.
    pub fn outbox<T: 'static>(&self, name: &str) -> Result<Outbox<T>, BoxError> {
        crate::context::typed_outbox(&self.task, name)
    }

    /// Appends `msg` to inbox `name` as if it had been sent there (Axon's `_deliver`). Into a
    /// component that has ended, the message is dropped and counted
    /// ([`Stats::dropped_dead`](crate::Stats)).
    ///
    /// # Errors
    /// [`SendError`] with the message if the box is unknown, of another type, or full.
    #[doc(alias = "_deliver")]
    pub fn deliver<T: 'static>(&self, name: &str, msg: T) -> Result<(), SendError<T>> {
        let inbox = match crate::context::typed_inbox::<T>(&self.task, name) {
            Ok(i) => i,
            Err(e) => return Err(SendError::BadBox(msg, e)),
        };
        // Into the final destination of the inbox's chain, as a send would (an inbox linked
        // onward holds nothing itself).
        let Some(dest) = inbox.node.sink_storage() else { return Ok(()) };
        match dest.push(msg) {
            Ok(()) => Ok(()),
            Err(crate::boxes::PushError::Full(message, capacity)) => {
                Err(SendError::NoSpace(crate::NoSpaceInBox { message, capacity }))
            }
            Err(crate::boxes::PushError::Dead(_)) => {
                crate::scheduler::count_drop(&Rc::downgrade(&self.task), true);
                Ok(())
            }
        }
    }

    /// How many messages wait in its inbox `name` (0 for an unknown box).
    pub fn data_ready(&self, name: &str) -> usize {
        self.task.lookup(Direction::Inbox, name).map_or(0, |n| n.local_len())
    }

    /// Whether it has an inbox called `name` (declared and not deleted, or added at run time),
    /// without listing them all as [`inbox_names`](Self::inbox_names) does.
    pub fn has_inbox(&self, name: &str) -> bool {
        self.task.has_box(Direction::Inbox, name)
    }

    /// Whether it has an outbox called `name` (declared and not deleted, or added at run
    /// time).
    ///
    /// ```
    /// use axon_core::{boxes, BoxDecl, Component, ComponentResult, Context, Scheduler};
    ///
    /// struct Quiet;
    /// impl Component for Quiet {
    ///     fn boxes(&self) -> &'static [BoxDecl] {
    ///         const B: &[BoxDecl] = &boxes::standard::<u32>();
    ///         B
    ///     }
    ///     async fn main(self, _cx: Context) -> ComponentResult {
    ///         Ok(())
    ///     }
    /// }
    ///
    /// let sched = Scheduler::new();
    /// let c = sched.create(Quiet);
    /// assert!(c.has_outbox("signal"));
    /// assert!(!c.has_outbox("serversignal"));
    /// assert!(c.has_inbox("control") && !c.has_inbox("signal"));
    /// ```
    pub fn has_outbox(&self, name: &str) -> bool {
        self.task.has_box(Direction::Outbox, name)
    }

    /// The names of its inboxes.
    pub fn inbox_names(&self) -> Vec<String> {
        self.task.box_names(Direction::Inbox)
    }

    /// The names of its outboxes.
    pub fn outbox_names(&self) -> Vec<String> {
        self.task.box_names(Direction::Outbox)
    }

    /// The linkages it has made and not yet removed (its postoffice), for introspection.
    pub fn linkages(&self) -> Vec<crate::Linkage> {
        self.task.extras.borrow().as_ref().map(|e| e.postoffice.linkages()).unwrap_or_default()
    }

    /// Its children (Axon's `childComponents`).
    pub fn children(&self) -> Vec<ComponentRef> {
        self.task.extras.borrow().as_ref().map(|e| e.children.list()).unwrap_or_default()
    }

    /// A weak handle on the component: it does not keep the component (or its boxes) alive.
    /// For registries and watchers that must not extend a component's life, and for checking
    /// that an ended component has been freed.
    pub fn downgrade(&self) -> WeakComponentRef {
        WeakComponentRef { task: Rc::downgrade(&self.task) }
    }
}

/// A weak handle on a component, made by [`ComponentRef::downgrade`]. It does not keep the
/// component alive; [`upgrade`](Self::upgrade) gives a [`ComponentRef`] back while some other
/// handle (or the scheduler, while the component is active) still holds it.
#[derive(Clone)]
pub struct WeakComponentRef {
    task: Weak<Task>,
}

impl WeakComponentRef {
    /// A strong handle, if the component has not been freed.
    pub fn upgrade(&self) -> Option<ComponentRef> {
        self.task.upgrade().map(|task| ComponentRef { task })
    }
}

impl fmt::Debug for WeakComponentRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakComponentRef").field("alive", &(self.task.strong_count() > 0)).finish()
    }
}
