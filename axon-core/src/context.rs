//! The [`Context`]: everything a component's `main` does through Axon's `self`.

use std::any::Any;
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::rc::{Rc, Weak};
use std::time::{Duration, Instant};

use crate::boxes::{make_node, AnyNode, BoxNode, Inbox, Outbox};
use crate::component::{Component, ComponentId, ComponentRef};
use crate::error::{BoxError, Direction, LinkError, SendError};
use crate::linkage::{LinkOptions, Linkage};
use crate::scheduler::{self, Intent, LocalWaker, Stats, WakeHandle};
use crate::task::{Slot, Task};
use crate::tracker::Tracker;

pub(crate) fn typed_node<T: 'static>(
    task: &Rc<Task>,
    dir: Direction,
    name: &str,
) -> Result<Rc<BoxNode<T>>, BoxError> {
    let node = task.lookup(dir, name)?;
    let actual = node.msg_type_name();
    node.as_any_rc().downcast::<BoxNode<T>>().map_err(|_| BoxError::TypeMismatch {
        box_name: task.box_name(dir, name),
        actual,
        requested: std::any::type_name::<T>(),
    })
}

pub(crate) fn typed_inbox<T: 'static>(task: &Rc<Task>, name: &str) -> Result<Inbox<T>, BoxError> {
    typed_node(task, Direction::Inbox, name).map(Inbox::from_node)
}

pub(crate) fn typed_outbox<T: 'static>(task: &Rc<Task>, name: &str) -> Result<Outbox<T>, BoxError> {
    typed_node(task, Direction::Outbox, name).map(Outbox::from_node)
}

/// AdaptiveComms resource tracking: a plain dictionary with no other effect.
#[derive(Default)]
pub(crate) struct Resources {
    by_inbox: HashMap<String, Rc<dyn Any>>,
    info: HashMap<ComponentId, Rc<dyn Any>>,
}

/// What [`Context::track_resource_information`] stores.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackedInformation<I> {
    /// Inboxes associated with the resource.
    pub inboxes: Vec<String>,
    /// Outboxes associated with the resource.
    pub outboxes: Vec<String>,
    /// Anything else.
    pub info: I,
}

/// A component's view of the runtime, handed to its `main`: Axon's `self`.
///
/// Boxes are reached by name, as in Axon. The string-addressed calls ([`send`](Self::send),
/// [`recv`](Self::recv), [`data_ready`](Self::data_ready)) look the box up each time; for a hot
/// loop get a typed handle once with [`inbox`](Self::inbox)/[`outbox`](Self::outbox) and use
/// that: its operations are a single queue operation.
#[derive(Clone)]
pub struct Context {
    task: Rc<Task>,
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context").field("component", &self.task.name()).finish()
    }
}

impl Context {
    pub(crate) fn new(task: Rc<Task>) -> Self {
        Context { task }
    }

    /// A handle on this component itself, for linking its own boxes.
    pub fn me(&self) -> ComponentRef {
        ComponentRef { task: self.task.clone() }
    }

    /// This component's id.
    pub fn id(&self) -> ComponentId {
        self.task.id
    }

    /// This component's name, `<Type>_<id>`.
    pub fn name(&self) -> String {
        self.task.name()
    }

    // ----- boxes -----

    /// A typed handle on inbox `name`.
    ///
    /// # Errors
    /// [`BoxError::UnknownBox`] or [`BoxError::TypeMismatch`].
    pub fn inbox<T: 'static>(&self, name: &str) -> Result<Inbox<T>, BoxError> {
        typed_inbox(&self.task, name)
    }

    /// A typed handle on outbox `name`.
    ///
    /// # Errors
    /// [`BoxError::UnknownBox`] or [`BoxError::TypeMismatch`].
    pub fn outbox<T: 'static>(&self, name: &str) -> Result<Outbox<T>, BoxError> {
        typed_outbox(&self.task, name)
    }

    /// Sends `msg` out of outbox `box_name` (Axon's `send(msg, box)`); see [`Outbox::send`].
    ///
    /// # Errors
    /// [`SendError`] with the message: the box is unknown or of another type, or the
    /// destination is full.
    pub fn send<T: 'static>(&self, msg: T, box_name: &str) -> Result<(), SendError<T>> {
        match self.outbox::<T>(box_name) {
            Ok(o) => o.send(msg).map_err(SendError::NoSpace),
            Err(e) => Err(SendError::BadBox(msg, e)),
        }
    }

    /// Takes the oldest message from inbox `box_name` (Axon's `recv`); `Ok(None)` when empty.
    ///
    /// # Errors
    /// [`BoxError`] if the inbox is unknown or of another type.
    pub fn recv<T: 'static>(&self, box_name: &str) -> Result<Option<T>, BoxError> {
        Ok(self.inbox::<T>(box_name)?.recv())
    }

    /// How many messages wait in inbox `box_name` (Axon's `dataReady`); 0 for an unknown box.
    #[doc(alias = "dataReady")]
    pub fn data_ready(&self, box_name: &str) -> usize {
        self.task.lookup(Direction::Inbox, box_name).map_or(0, |n| n.local_len())
    }

    /// The name of the first inbox holding a message (Axon's `anyReady`).
    #[doc(alias = "anyReady")]
    pub fn any_ready(&self) -> Option<String> {
        self.task.box_names(Direction::Inbox).into_iter().find(|n| self.data_ready(n) > 0)
    }

    /// Sets or clears the size limit of inbox `box_name` (Axon's `setInboxSize`).
    ///
    /// # Errors
    /// [`BoxError::UnknownBox`].
    #[doc(alias = "setInboxSize")]
    pub fn set_inbox_size(&self, box_name: &str, size: Option<usize>) -> Result<(), BoxError> {
        self.task.lookup(Direction::Inbox, box_name)?.set_capacity(size);
        Ok(())
    }

    /// Adds an inbox carrying `T`, named `base` if that is free, otherwise `base` followed by
    /// digits (Axon's `addInbox`); returns the name given.
    #[doc(alias = "addInbox")]
    pub fn add_inbox<T: 'static>(&self, base: &str) -> String {
        self.add_box::<T>(Direction::Inbox, base)
    }

    /// Adds an outbox carrying `T`; naming as [`add_inbox`](Self::add_inbox) (Axon's
    /// `addOutbox`).
    #[doc(alias = "addOutbox")]
    pub fn add_outbox<T: 'static>(&self, base: &str) -> String {
        self.add_box::<T>(Direction::Outbox, base)
    }

    /// Adds an inbox carrying the same message type as `like`'s inbox, without naming that
    /// type; naming as [`add_inbox`](Self::add_inbox). For chassis that give themselves a box
    /// to pass a child's inbox through (Graphline), where only the child knows its types.
    ///
    /// # Errors
    /// [`BoxError::UnknownBox`] if `like` has no such inbox; nothing is added.
    pub fn add_inbox_like(&self, base: &str, like: (&ComponentRef, &str)) -> Result<String, BoxError> {
        self.add_box_like(Direction::Inbox, base, like)
    }

    /// Adds an outbox carrying the same message type as `like`'s outbox; see
    /// [`add_inbox_like`](Self::add_inbox_like).
    ///
    /// # Errors
    /// [`BoxError::UnknownBox`] if `like` has no such outbox; nothing is added.
    pub fn add_outbox_like(&self, base: &str, like: (&ComponentRef, &str)) -> Result<String, BoxError> {
        self.add_box_like(Direction::Outbox, base, like)
    }

    fn add_box_like(
        &self,
        dir: Direction,
        base: &str,
        like: (&ComponentRef, &str),
    ) -> Result<String, BoxError> {
        let model = like.0.task.lookup(dir, like.1)?;
        Ok(self.add_box_with(dir, base, |owner, id, name| model.make_sibling(owner, id, name, dir)))
    }

    fn add_box<T: 'static>(&self, dir: Direction, base: &str) -> String {
        self.add_box_with(dir, base, |owner, id, name| make_node::<T>(owner, id, name, dir))
    }

    /// Adds a box made by `make` under the first free name starting with `base`.
    fn add_box_with(
        &self,
        dir: Direction,
        base: &str,
        make: impl FnOnce(&Weak<Task>, ComponentId, Cow<'static, str>) -> Rc<dyn AnyNode>,
    ) -> String {
        let mut table = self.task.boxes.borrow_mut();
        let name = table.free_name(self.task.decls, dir, base);
        let node = make(&Rc::downgrade(&self.task), self.task.id, Cow::Owned(name.clone()));
        table.insert_dynamic(dir, name.clone(), node);
        name
    }

    /// Deletes an inbox; messages still in it are lost (Axon's `deleteInbox`).
    ///
    /// # Errors
    /// [`BoxError::UnknownBox`], or [`BoxError::StillLinked`] if a link still uses it (unlink
    /// first; Axon left this undefined).
    #[doc(alias = "deleteInbox")]
    pub fn delete_inbox(&self, name: &str) -> Result<(), BoxError> {
        self.delete_box(Direction::Inbox, name)
    }

    /// Deletes an outbox (Axon's `deleteOutbox`).
    ///
    /// # Errors
    /// As [`delete_inbox`](Self::delete_inbox).
    #[doc(alias = "deleteOutbox")]
    pub fn delete_outbox(&self, name: &str) -> Result<(), BoxError> {
        self.delete_box(Direction::Outbox, name)
    }

    fn delete_box(&self, dir: Direction, name: &str) -> Result<(), BoxError> {
        let node = self.task.lookup(dir, name)?;
        if node.is_linked() {
            return Err(BoxError::StillLinked(self.task.box_name(dir, name)));
        }
        node.kill();
        let mut table = self.task.boxes.borrow_mut();
        if table.remove_dynamic(dir, name) {
            return Ok(());
        }
        if let Some(i) = self.task.decls.iter().position(|d| d.direction() == dir && d.name() == name) {
            table.declared[i] = Slot::Deleted;
        }
        Ok(())
    }

    // ----- waiting -----

    /// Gives up the rest of this step until a wake (Axon's `self.pause(); yield 1`): a delivery
    /// into one of its inboxes, a collection from an inbox its outboxes feed, a child ending, or
    /// an explicit wake. If a wake came during this step (say it sent into its own inbox), the
    /// pause returns at the next cycle without waiting. It may return spuriously; check for work
    /// and pause again, as Axon components do.
    ///
    /// The future is two bytes, with no reference to the context: it sits in the awaiting
    /// component's future, whose size is what a step touches.
    pub fn pause(&self) -> impl Future<Output = ()> + use<> {
        scheduler::pause(Intent::Pause)
    }

    /// Gives up the rest of this step and runs again next cycle (Axon's `yield 1`).
    pub fn yield_now(&self) -> impl Future<Output = ()> + use<> {
        scheduler::pause(Intent::Yield)
    }

    /// Pauses for `duration`. Other wakes do not end the sleep early.
    pub async fn sleep(&self, duration: Duration) {
        self.sleep_until(crate::deadline_after(duration)).await;
    }

    /// Pauses until `deadline`.
    pub async fn sleep_until(&self, deadline: Instant) {
        scheduler::Sleep::new(self.task.shared.clone(), deadline).await;
    }

    /// Pauses until a wake or until `deadline`, whichever is first; returns whether the
    /// deadline has passed.
    pub async fn pause_until(&self, deadline: Instant) -> bool {
        if Instant::now() >= deadline {
            return true;
        }
        let sleep = scheduler::Sleep::new(self.task.shared.clone(), deadline);
        let mut sleep = std::pin::pin!(sleep);
        // One poll registers the timer and marks the pause; the next poll (any wake) ends it.
        std::future::poll_fn(|cx| {
            let _ = sleep.as_mut().poll(cx);
            std::task::Poll::Ready(())
        })
        .await;
        scheduler::pause(Intent::Pause).await;
        Instant::now() >= deadline
    }

    /// A handle that wakes this component from another thread.
    pub fn wake_handle(&self) -> WakeHandle {
        scheduler::wake_handle(&self.task).expect("a running component is active")
    }

    /// A handle that wakes this component from the scheduler's own thread (e.g. a reactor).
    pub fn local_waker(&self) -> LocalWaker {
        LocalWaker { task: Rc::downgrade(&self.task) }
    }

    // ----- linkages -----

    /// Links `from`'s outbox to `to`'s inbox; the linkage belongs to this component and is
    /// removed when it ends (Axon's `link`).
    ///
    /// # Errors
    /// See [`LinkError`]; both components must belong to this component's scheduler
    /// ([`LinkError::ForeignComponent`] names the one that does not).
    pub fn link(&self, from: (&ComponentRef, &str), to: (&ComponentRef, &str)) -> Result<Linkage, LinkError> {
        self.link_with(from, to, LinkOptions::new())
    }

    /// Links with options: passthrough 1 (inbox → inbox) or 2 (outbox → outbox), pipewidth.
    ///
    /// # Errors
    /// See [`LinkError`].
    pub fn link_with(
        &self,
        from: (&ComponentRef, &str),
        to: (&ComponentRef, &str),
        opts: LinkOptions,
    ) -> Result<Linkage, LinkError> {
        crate::linkage::link_into(&self.task.shared, from, to, opts, |rec| {
            self.task.with_extras(|e| e.postoffice.register(rec))
        })
    }

    /// Removes a linkage this component made (Axon's `unlink(thelinkage=...)`).
    ///
    /// # Errors
    /// [`LinkError::NotOwner`] if this component did not make it; nothing changes (Axon
    /// ignored it silently).
    pub fn unlink(&self, linkage: &Linkage) -> Result<(), LinkError> {
        crate::linkage::unlink_from(linkage, |l| self.task.with_extras(|e| e.postoffice.take(l)))
    }

    /// Removes every linkage this component made that touches `component` (Axon's
    /// `unlink(thecomponent=...)`); returns how many.
    pub fn unlink_component(&self, component: &ComponentRef) -> usize {
        let recs = self.task.with_extras(|e| e.postoffice.take_component(component.id()));
        let n = recs.len();
        for r in recs {
            r.undo();
        }
        n
    }

    /// The linkages this component made.
    pub fn linkages(&self) -> Vec<Linkage> {
        self.task.with_extras(|e| e.postoffice.linkages())
    }

    // ----- components -----

    /// Creates a component on this scheduler, not yet activated: link it, then
    /// [`activate`](Self::activate) it.
    pub fn create<C: Component>(&self, component: C) -> ComponentRef {
        self.task.shared.create(component)
    }

    /// The active component with `id` on this scheduler, if any. A scan of every component:
    /// for rare calls, such as a thread naming a component by id.
    pub fn find(&self, id: ComponentId) -> Option<ComponentRef> {
        if id == self.task.id {
            return Some(self.me());
        }
        self.task.shared.find(id)
    }

    /// Activates a created component.
    pub fn activate(&self, component: &ComponentRef) {
        self.task.shared.activate(component);
    }

    /// Creates and activates a component (Axon's `yield newComponent(c)`).
    #[doc(alias = "newComponent")]
    pub fn spawn<C: Component>(&self, component: C) -> ComponentRef {
        self.task.shared.spawn(component)
    }

    /// Makes each component a child: this component is woken when a child ends. Does not
    /// activate them (Axon's `addChildren`). Adding a child twice has no further effect.
    #[doc(alias = "addChildren")]
    pub fn add_children(&self, children: &[ComponentRef]) {
        for c in children {
            let added = self.task.with_extras(|e| e.children.add(c));
            if added {
                if c.is_finished() {
                    self.task.with_extras(|e| e.children.ended.push(c.clone()));
                    self.task.wake();
                } else {
                    c.task.with_extras(|e| e.watchers.push(Rc::downgrade(&self.task)));
                }
            }
        }
    }

    /// Removes a child and every linkage this component made that touches it (Axon's
    /// `removeChild`).
    #[doc(alias = "removeChild")]
    pub fn remove_child(&self, child: &ComponentRef) {
        self.task.with_extras(|e| e.children.remove(child.id()));
        let me = Rc::downgrade(&self.task);
        child.task.with_extras(|e| e.watchers.retain(|w| !w.ptr_eq(&me)));
        self.unlink_component(child);
    }

    /// This component's children (Axon's `childComponents`).
    #[doc(alias = "childComponents")]
    pub fn child_components(&self) -> Vec<ComponentRef> {
        self.task.with_extras(|e| e.children.list())
    }

    /// The children that have ended since this was last called (and have not been removed
    /// since), oldest first. A parent woken by a child ending learns which one here without
    /// looking at every child — what a server with thousands of connections needs.
    pub fn ended_children(&self) -> Vec<ComponentRef> {
        self.task.with_extras(|e| std::mem::take(&mut e.children.ended))
    }

    /// Removes every child that has ended, then says whether none are left (the `childrenDone`
    /// idiom of Kamaelia's chassis).
    #[doc(alias = "childrenDone")]
    pub fn children_done(&self) -> bool {
        for c in self.child_components() {
            if c.is_finished() {
                self.remove_child(&c);
            }
        }
        self.task.with_extras(|e| e.children.is_empty())
    }

    // ----- scheduler services -----

    /// The scheduler's service registry (Axon's CAT).
    ///
    /// # Panics
    /// The registry is borrowed for as long as the returned guard lives: calling `tracker()`
    /// again meanwhile panics. Take what you need in one statement; never hold the guard
    /// across an `.await`.
    pub fn tracker(&self) -> std::cell::RefMut<'_, Tracker> {
        self.task.shared.tracker.borrow_mut()
    }

    /// The scheduler's drop and end counters.
    pub fn stats(&self) -> Stats {
        self.task.shared.stats()
    }

    /// A shared object of type `R` stored on the scheduler.
    pub fn resource<R: 'static>(&self) -> Option<Rc<R>> {
        self.task.shared.resource()
    }

    /// Stores a shared object of type `R` on the scheduler, returning the previous one.
    pub fn insert_resource<R: 'static>(&self, r: Rc<R>) -> Option<Rc<R>> {
        self.task.shared.insert_resource(r)
    }

    /// Installs `park` as the way the scheduler blocks when idle (a reactor does this).
    pub fn set_park(&self, park: Box<dyn scheduler::Park>) {
        self.task.shared.set_park(park);
    }

    // ----- resource tracking (AdaptiveComms) -----

    /// Associates `resource` with inbox `inbox` (Axon's `trackResource`).
    ///
    /// # Errors
    /// [`BoxError::UnknownBox`] if there is no such inbox.
    #[doc(alias = "trackResource")]
    pub fn track_resource<R: 'static>(&self, resource: R, inbox: &str) -> Result<(), BoxError> {
        self.task.lookup(Direction::Inbox, inbox)?;
        self.task.with_extras(|e| e.resources.by_inbox.insert(inbox.to_owned(), Rc::new(resource)));
        Ok(())
    }

    /// The resource tracked for `inbox`, if it is an `R` (Axon's `retrieveTrackedResource`).
    #[doc(alias = "retrieveTrackedResource")]
    pub fn retrieve_tracked_resource<R: 'static>(&self, inbox: &str) -> Option<Rc<R>> {
        let r = self.task.with_extras(|e| e.resources.by_inbox.get(inbox).cloned())?;
        r.downcast::<R>().ok()
    }

    /// Stores boxes and information about a resource, keyed by a component id such as a
    /// connection's adapter (Axon's `trackResourceInformation`).
    ///
    /// # Errors
    /// [`BoxError::UnknownBox`] if any named box does not exist; nothing is stored.
    #[doc(alias = "trackResourceInformation")]
    pub fn track_resource_information<I: 'static>(
        &self,
        resource: ComponentId,
        inboxes: &[&str],
        outboxes: &[&str],
        info: I,
    ) -> Result<(), BoxError> {
        for i in inboxes {
            self.task.lookup(Direction::Inbox, i)?;
        }
        for o in outboxes {
            self.task.lookup(Direction::Outbox, o)?;
        }
        let t = TrackedInformation {
            inboxes: inboxes.iter().map(|s| s.to_string()).collect(),
            outboxes: outboxes.iter().map(|s| s.to_string()).collect(),
            info,
        };
        self.task.with_extras(|e| e.resources.info.insert(resource, Rc::new(t)));
        Ok(())
    }

    /// What was stored for `resource` (Axon's `retrieveTrackedResourceInformation`).
    #[doc(alias = "retrieveTrackedResourceInformation")]
    pub fn retrieve_tracked_resource_information<I: 'static>(
        &self,
        resource: ComponentId,
    ) -> Option<Rc<TrackedInformation<I>>> {
        let r = self.task.with_extras(|e| e.resources.info.get(&resource).cloned())?;
        r.downcast::<TrackedInformation<I>>().ok()
    }

    /// Forgets `resource` (Axon's `ceaseTrackingResource`); returns whether it was tracked.
    #[doc(alias = "ceaseTrackingResource")]
    pub fn cease_tracking_resource(&self, resource: ComponentId) -> bool {
        // Dropped here, after the borrow: a resource's `Drop` may call back into this component.
        let removed = self.task.with_extras(|e| e.resources.info.remove(&resource));
        removed.is_some()
    }
}
