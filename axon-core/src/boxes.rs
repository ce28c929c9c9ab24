//! Named, typed boxes (`Axon.Box`): declarations, storage, the link graph between boxes, and the
//! typed handles components send and receive through.
//!
//! # Model
//! Every box is a node (`BoxNode`). An inbox owns a `Storage` (a FIFO queue with an optional
//! size limit); an outbox owns none. A node has at most one `target` (the node it is linked to)
//! and any number of `sources`. Following targets from any node ends at one node; that node's
//! storage is the node's `sink`, its *final destination*, and it is cached in every node of the
//! chain whenever a link changes, so a send is one queue push whatever the chain's length. An
//! outbox whose chain ends at an outbox has no sink: sends to it are dropped (and counted).
//!
//! # Invariants
//! - `sink` of every node equals the storage of the end of its target chain (`None` for an
//!   outbox end). Only `BoxNode::add_source` and `BoxNode::remove_source` change targets,
//!   and both re-propagate sinks upstream before returning.
//! - A storage's `producers` are the owners of every outbox upstream of it (Axon's wake-on-pop
//!   callbacks, reference §1.3 rule 2), recomputed whenever a link that reaches it changes.
//! - `sources` are weak and `target` is strong, so the graph holds no reference cycle; a
//!   storage's `owner` and `producers` are weak, so boxes never keep a component alive.
//! - No `RefCell` borrow of a box is held across an `.await` or across a call that can wake a
//!   component.

use std::any::{Any, TypeId};
use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::Poll;

use crate::component::ComponentId;
use crate::error::{BoxName, Direction, LinkError, NoSpaceInBox};
use crate::queue::Queue;
use crate::task::Task;

/// A list of the links around one box: its sources, or the producers a storage wakes. A box of
/// a server's connection has one or two of each, so they are kept inline, where a `Vec` made an
/// allocation (and a free) for each of a connection's links.
type Few<T> = smallvec::SmallVec<[T; 2]>;

thread_local! {
    /// Counts the changes to this thread's box graph that a handle may have cached the result
    /// of: every change of a link (a sink moves) and every delivery into a quiet inbox (one
    /// named `control`, see [`Storage::quiet`]). An [`Outbox`] keeps its destination, and an
    /// [`Inbox`] on a quiet box that it found empty, until this count moves on: on a server's
    /// data path, where neither happens, a send reads no link node and a look at an empty
    /// `control` reads no storage — one or two cache lines fewer per component per message,
    /// which at thousands of connections are mostly cold.
    static BOX_EPOCH: Cell<u64> = const { Cell::new(1) };
}

/// The current box-graph count (never 0, so 0 means "nothing cached").
#[inline]
fn box_epoch() -> u64 {
    BOX_EPOCH.with(Cell::get)
}

/// Marks every cached destination and every cached "empty" as stale.
fn bump_box_epoch() {
    BOX_EPOCH.with(|e| e.set(e.get() + 1));
}

/// The name of the standard data inbox.
pub const INBOX: &str = "inbox";
/// The name of the standard lifecycle inbox.
pub const CONTROL: &str = "control";
/// The name of the standard data outbox.
pub const OUTBOX: &str = "outbox";
/// The name of the standard lifecycle outbox.
pub const SIGNAL: &str = "signal";

/// One declared box: its name, direction and message type (one entry of Axon's `Inboxes` or
/// `Outboxes` dictionaries).
///
/// Declarations are `const`, so a component's box list is a `&'static` slice that costs nothing
/// per instance:
///
/// ```
/// use axon_core::{BoxDecl, ipc::Ipc};
///
/// const BOXES: &[BoxDecl] = &[
///     BoxDecl::inbox::<String>("inbox").doc("lines to shout"),
///     BoxDecl::inbox::<Ipc>("control"),
///     BoxDecl::outbox::<String>("outbox").doc("shouted lines"),
///     BoxDecl::outbox::<Ipc>("signal"),
/// ];
/// assert_eq!(BOXES[0].name(), "inbox");
/// ```
#[derive(Clone, Copy)]
pub struct BoxDecl {
    name: &'static str,
    direction: Direction,
    doc: &'static str,
    type_name: fn() -> &'static str,
    make: MakeNode,
    /// How a threaded component bridges this box to its thread; set only for `Send` types.
    pump: Option<crate::threaded::MakePump>,
}

type MakeNode = fn(&Weak<Task>, ComponentId, Cow<'static, str>, Direction) -> Rc<dyn AnyNode>;

impl BoxDecl {
    /// An inbox named `name` carrying messages of type `T`.
    pub const fn inbox<T: 'static>(name: &'static str) -> Self {
        BoxDecl {
            name,
            direction: Direction::Inbox,
            doc: "",
            type_name: std::any::type_name::<T>,
            make: make_node::<T>,
            pump: None,
        }
    }

    /// An outbox named `name` carrying messages of type `T`.
    pub const fn outbox<T: 'static>(name: &'static str) -> Self {
        BoxDecl {
            name,
            direction: Direction::Outbox,
            doc: "",
            type_name: std::any::type_name::<T>,
            make: make_node::<T>,
            pump: None,
        }
    }

    pub(crate) const fn with_pump(mut self, pump: crate::threaded::MakePump) -> Self {
        self.pump = Some(pump);
        self
    }

    pub(crate) fn pump(&self) -> Option<crate::threaded::MakePump> {
        self.pump
    }

    /// Adds a line of documentation (Axon's dictionary value).
    pub const fn doc(mut self, doc: &'static str) -> Self {
        self.doc = doc;
        self
    }

    /// The box's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Inbox or outbox.
    pub fn direction(&self) -> Direction {
        self.direction
    }

    /// The documentation line.
    pub fn documentation(&self) -> &'static str {
        self.doc
    }

    /// The message type's name.
    pub fn type_name(&self) -> &'static str {
        (self.type_name)()
    }

    pub(crate) fn make(&self, owner: &Weak<Task>, id: ComponentId) -> Rc<dyn AnyNode> {
        (self.make)(owner, id, Cow::Borrowed(self.name), self.direction)
    }
}

impl fmt::Debug for BoxDecl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoxDecl")
            .field("name", &self.name)
            .field("direction", &self.direction)
            .field("type", &self.type_name())
            .finish()
    }
}

/// Axon's four standard boxes: `inbox` and `outbox` carrying `T`, `control` and `signal` carrying
/// [`Ipc`](crate::ipc::Ipc).
///
/// ```
/// use axon_core::{boxes, BoxDecl};
/// const BOXES: &[BoxDecl] = &boxes::standard::<String>();
/// assert_eq!(BOXES.len(), 4);
/// ```
pub const fn standard<T: 'static>() -> [BoxDecl; 4] {
    [
        BoxDecl::inbox::<T>(INBOX).doc("data in"),
        BoxDecl::inbox::<crate::ipc::Ipc>(CONTROL).doc("lifecycle messages in"),
        BoxDecl::outbox::<T>(OUTBOX).doc("data out"),
        BoxDecl::outbox::<crate::ipc::Ipc>(SIGNAL).doc("lifecycle messages out"),
    ]
}

pub(crate) fn make_node<T: 'static>(
    owner: &Weak<Task>,
    owner_id: ComponentId,
    name: Cow<'static, str>,
    direction: Direction,
) -> Rc<dyn AnyNode> {
    let local = match direction {
        Direction::Inbox => Some(Rc::new(Storage::<T>::new(owner.clone(), name == CONTROL))),
        Direction::Outbox => None,
    };
    Rc::new(BoxNode {
        owner: owner.clone(),
        owner_id,
        name,
        direction,
        sink: RefCell::new(local.clone()),
        local,
        target: RefCell::new(None),
        sources: RefCell::new(Few::new()),
    })
}

/// The storage of an inbox: Axon's `realsink`.
///
/// # Layout
/// Laid out by hand and aligned to a cache line: everything a push or a pop touches — the owner
/// to wake, its wake epoch, `limit`, the flags, and the queue's length and front message — is in
/// the first 64 bytes (for a message of up to 32 bytes), so delivering a message to a box that
/// holds at most one at a time, and taking it, costs this one cache line. A server with
/// thousands of connections touches a handful of these per message, mostly cold. The rest —
/// the messages behind the front one, who else to wake and when they were last woken, the size
/// limit as set — is needed only when messages queue up, someone else is woken, or a limit
/// changes. (The owner was once in the rest: waking it cost a second line of every storage
/// delivered to, two cold lines per echoed message; and before the front message had its own
/// slot every delivery touched the `VecDeque`'s buffer too.) The alignment costs about 96 bytes
/// per inbox; without it the pipeline benchmark ran 1–8 % slower (the most with bounded boxes
/// over 100 stages), and the echo server no faster.
#[repr(C, align(64))]
pub(crate) struct Storage<T> {
    // ----- first cache line: every push and pop -----
    /// The component woken when a message is appended (rule 1).
    owner: Weak<Task>,
    /// The pause epoch (`task::pause_epoch`) at which `owner` was last woken: until some
    /// component pauses again, waking it again would change nothing, so it is skipped.
    owner_woken: Cell<u64>,
    /// What a push checks, one comparison for both refusals: `capacity` while the owner lives
    /// (at most `u32::MAX`: a box holding that many messages goes on through the refusal
    /// path, which looks at `capacity` itself), 0 once it has ended (`dead`); the refusal path
    /// tells them apart.
    limit: Cell<u32>,
    /// The [`StorageFlags`].
    flags: StorageFlags,
    /// The queued messages, oldest first: the front one and the length end this line (for a
    /// message of up to 32 bytes, such as `bytes::Bytes`), the `VecDeque` behind them starts
    /// the next (see the [`queue`](crate::queue) module).
    queue: Queue<T>,
    // ----- the rest: only when someone else is woken, or a limit or a link changes -----
    /// The pause epoch of the last collection that woke `producers` (if `notify_producers`)
    /// and `waiters`: later collections in that epoch skip both. Reset to 0 whenever that would
    /// skip a wake that is due: when `producers` grows, a waiter is added, or
    /// `notify_producers` is turned on. Read by a pop only when one of the two flags is on.
    collected: Cell<u64>,
    /// The size limit; `usize::MAX` when unbounded.
    capacity: Cell<usize>,
    /// The components woken when a message is collected (rule 2), one entry per outbox
    /// feeding this storage.
    producers: RefCell<Few<Weak<Task>>>,
    /// Components waiting for room (in `send_wait`), woken by the next collection whatever
    /// `notify_producers` says.
    waiters: RefCell<Vec<Weak<Task>>>,
    /// Components other than `owner` waiting for a message here (in [`Inbox::recv_wait`] on a
    /// handle to another component's inbox, or on an inbox linked onward to this storage):
    /// rule 1 wakes only `owner`, so they are woken by the next push.
    readers: RefCell<Vec<Weak<Task>>>,
}

/// A [`Storage`]'s flags, in one byte so that they fit its first cache line with the rest of
/// what a push or a pop reads.
struct StorageFlags(Cell<u8>);

impl StorageFlags {
    /// The inbox owning the storage is linked onward (its sink is another storage), so a
    /// receive on it must take from the end of its chain instead of from here.
    const FORWARDED: u8 = 1;
    /// A delivery that wakes `owner` runs it right after the sender (off unless the owner turns
    /// it on: [`Inbox::set_handoff`]).
    const HANDOFF: u8 = 1 << 1;
    /// `readers` may be non-empty: a push that wakes the owner checks this flag, not the list.
    const HAS_READERS: u8 = 1 << 2;
    /// `waiters` may be non-empty: a collection that wakes producers checks this flag, not the
    /// list.
    const HAS_WAITERS: u8 = 1 << 3;
    /// A collection wakes `producers` (Axon's rule 2; on unless the owner turns it off).
    const NOTIFY_PRODUCERS: u8 = 1 << 4;
    /// The owner has ended: appends are refused from then on.
    const DEAD: u8 = 1 << 5;
    /// Messages arrive here seldom (an inbox named `control`; fixed when the storage is made):
    /// a delivery moves the box-graph count on ([`BOX_EPOCH`]), so that an [`Inbox`] handle
    /// that found this storage empty knows it still is without reading it.
    const QUIET: u8 = 1 << 6;

    /// Whether `flag` is on (or, given several, any of them).
    #[inline(always)]
    fn get(&self, flag: u8) -> bool {
        self.0.get() & flag != 0
    }

    #[inline(always)]
    fn set(&self, flag: u8, on: bool) {
        let bits = self.0.get();
        self.0.set(if on { bits | flag } else { bits & !flag });
    }
}

pub(crate) enum PushError<T> {
    Full(T, usize),
    Dead(T),
}

impl<T> Storage<T> {
    fn new(owner: Weak<Task>, quiet: bool) -> Self {
        let quiet = if quiet { StorageFlags::QUIET } else { 0 };
        Storage {
            owner,
            owner_woken: Cell::new(0),
            limit: Cell::new(u32::MAX),
            flags: StorageFlags(Cell::new(StorageFlags::NOTIFY_PRODUCERS | quiet)),
            queue: Queue::new(),
            collected: Cell::new(0),
            capacity: Cell::new(usize::MAX),
            producers: RefCell::new(Few::new()),
            waiters: RefCell::new(Vec::new()),
            readers: RefCell::new(Vec::new()),
        }
    }

    /// Appends `msg` unless the box is full or its owner has ended. Inlined into each sender:
    /// out of line, saving and restoring registers around it cost a third of its instructions.
    #[inline(always)]
    pub(crate) fn push(&self, msg: T) -> Result<(), PushError<T>> {
        if self.queue.len() >= self.limit.get() as usize {
            return self.push_past_limit(msg);
        }
        self.append(msg);
        Ok(())
    }

    /// Appends `msg` and wakes the owner unless it was woken in this pause epoch.
    #[inline(always)]
    fn append(&self, msg: T) {
        self.queue.push_back(msg);
        let epoch = crate::task::pause_epoch();
        if self.owner_woken.get() != epoch {
            self.owner_woken.set(epoch);
            self.wake_owner();
        }
    }

    /// A push that `limit` stops: refused when full (checked first, as a bounded box of an
    /// ended component still reports full) or ended; appended when only `limit`'s range was
    /// too small to say the capacity (`u32::MAX` messages or more).
    #[cold]
    #[inline(never)]
    fn push_past_limit(&self, msg: T) -> Result<(), PushError<T>> {
        if self.queue.len() >= self.capacity.get() {
            Err(PushError::Full(msg, self.capacity.get()))
        } else if self.flags.get(StorageFlags::DEAD) {
            Err(PushError::Dead(msg))
        } else {
            self.append(msg);
            Ok(())
        }
    }

    #[cold]
    #[inline(never)]
    fn wake_owner(&self) {
        if self.flags.get(StorageFlags::QUIET) {
            // Handles that found this box empty must look again; and so must the next push,
            // which therefore takes this path too, whatever the pause epoch.
            bump_box_epoch();
            self.owner_woken.set(0);
        }
        self.wake_readers();
        if let Some(owner) = self.owner.upgrade() {
            if self.flags.get(StorageFlags::HANDOFF) {
                owner.wake_next();
            } else {
                owner.wake();
            }
        }
    }

    #[inline]
    pub(crate) fn pop(&self) -> Option<T> {
        let msg = self.queue.pop_front()?;
        // With both flags off a collection wakes nobody, and `collected`, in the second line,
        // stays unread.
        if self.flags.get(StorageFlags::NOTIFY_PRODUCERS | StorageFlags::HAS_WAITERS) {
            let epoch = crate::task::pause_epoch();
            if self.collected.get() != epoch {
                self.collected.set(epoch);
                self.wake_on_collection();
            }
        }
        Some(msg)
    }

    /// Axon's rule 2 (the producers, unless turned off) and the components waiting for room;
    /// out of line, so a pop that wakes nobody stays small.
    #[cold]
    #[inline(never)]
    fn wake_on_collection(&self) {
        if self.flags.get(StorageFlags::NOTIFY_PRODUCERS) {
            wake_all(&self.producers.borrow());
        }
        self.wake_waiters();
    }

    /// Turns Axon's rule 2 on or off for this storage.
    fn set_notify_producers(&self, on: bool) {
        if on && !self.flags.get(StorageFlags::NOTIFY_PRODUCERS) {
            // Collections earlier in this epoch did not wake the producers.
            self.collected.set(0);
        }
        self.flags.set(StorageFlags::NOTIFY_PRODUCERS, on);
    }

    /// Sets the size limit (`usize::MAX`: none). Raising it wakes the producers waiting for
    /// room.
    fn set_capacity(&self, cap: usize) {
        let raised = cap > self.capacity.get();
        self.capacity.set(cap);
        if !self.flags.get(StorageFlags::DEAD) {
            self.limit.set(u32::try_from(cap).unwrap_or(u32::MAX));
        }
        if raised {
            self.wake_waiters();
        }
    }

    /// Wakes the components other than the owner waiting for a message here.
    #[inline(always)]
    fn wake_readers(&self) {
        wake_listed(&self.flags, StorageFlags::HAS_READERS, &self.readers);
    }

    /// Makes the component being polled a reader (woken by the next push) unless it is the
    /// owner, which rule 1 wakes anyway. `fallback` names the scheduler to ask.
    #[cold]
    #[inline(never)]
    fn add_reader(&self, fallback: &Weak<Task>) {
        // One component runs at a time on a thread: if the owner is running, it is the one
        // waiting.
        if self.owner.upgrade().is_some_and(|o| o.is_running()) {
            return;
        }
        // This storage's owner names the scheduler; the handle's owner only if this one has
        // gone (which leaves nothing to wait for anyway).
        let current =
            crate::scheduler::current_task(&self.owner).or_else(|| crate::scheduler::current_task(fallback));
        let Some(me) = current else { return };
        if me.ptr_eq(&self.owner) {
            return;
        }
        enlist(&self.flags, StorageFlags::HAS_READERS, &self.readers, me);
        // The next push must take the slow path that wakes readers, whatever the epoch.
        self.owner_woken.set(0);
    }

    /// Wakes everyone who may be waiting on this storage — its owner, readers and producers
    /// waiting for room — because the chain it is part of has changed: each retries.
    fn wake_all_waiting(&self) {
        self.wake_waiters();
        self.wake_readers();
        // A plain wake even with handoff on: this is no delivery to hand off to.
        if let Some(owner) = self.owner.upgrade() {
            owner.wake();
        }
    }

    /// Wakes every component waiting for room here (they retry their send).
    #[inline(always)]
    fn wake_waiters(&self) {
        wake_listed(&self.flags, StorageFlags::HAS_WAITERS, &self.waiters);
    }

    /// Makes the current component (or, outside a step, `fallback`) a waiter for room.
    #[cold]
    #[inline(never)]
    pub(crate) fn add_waiter(&self, fallback: &Weak<Task>) {
        let me = crate::scheduler::current_task(fallback).unwrap_or_else(|| fallback.clone());
        enlist(&self.flags, StorageFlags::HAS_WAITERS, &self.waiters, me);
        // The next collection must wake it, whatever the epoch.
        self.collected.set(0);
    }

    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    pub(crate) fn is_full(&self) -> bool {
        self.queue.len() >= self.capacity.get()
    }

    pub(crate) fn capacity(&self) -> Option<usize> {
        match self.capacity.get() {
            usize::MAX => None,
            n => Some(n),
        }
    }

    pub(crate) fn is_dead(&self) -> bool {
        self.flags.get(StorageFlags::DEAD)
    }

    /// Whether the inbox owning this storage is linked onward.
    #[inline(always)]
    fn forwarded(&self) -> bool {
        self.flags.get(StorageFlags::FORWARDED)
    }

    /// Whether deliveries here are seldom (see [`StorageFlags::QUIET`]).
    fn quiet(&self) -> bool {
        self.flags.get(StorageFlags::QUIET)
    }
}

/// A list of components waiting on a storage, guarded by a flag in the storage's first cache
/// line (`HAS_READERS`, `HAS_WAITERS`) so that the wake paths of a push or pop check one byte,
/// not the list.
/// Wakes and empties the list if the flag says it may hold anyone: the check inline in the
/// (cold) wake paths, the work out of line.
#[inline(always)]
fn wake_listed(flags: &StorageFlags, flag: u8, list: &RefCell<Vec<Weak<Task>>>) {
    if flags.get(flag) {
        wake_listed_now(flags, flag, list);
    }
}

#[cold]
#[inline(never)]
fn wake_listed_now(flags: &StorageFlags, flag: u8, list: &RefCell<Vec<Weak<Task>>>) {
    flags.set(flag, false);
    // Taken out first: no borrow of the list is held while components are woken.
    let woken = std::mem::take(&mut *list.borrow_mut());
    wake_all(&woken);
}

/// Adds `me` to a flag-guarded list (see [`wake_listed`]), once.
fn enlist(flags: &StorageFlags, flag: u8, list: &RefCell<Vec<Weak<Task>>>, me: Weak<Task>) {
    let mut list = list.borrow_mut();
    if !list.iter().any(|w| w.ptr_eq(&me)) {
        list.push(me);
    }
    flags.set(flag, true);
}

/// Drops each message on its own, catching a panic in any message's `Drop` (user code), so that
/// neither the scheduler's bookkeeping is unwound nor a second panicking message aborts the
/// process (a panic while unwinding from the first would).
fn drop_each_quietly<T>(messages: std::collections::VecDeque<T>) {
    for m in messages {
        crate::scheduler::drop_quietly(m);
    }
}

fn wake_all(tasks: &[Weak<Task>]) {
    for t in tasks {
        if let Some(t) = t.upgrade() {
            t.wake();
        }
    }
}

/// One box in the link graph; see the module docs.
///
/// `sink`, the one field a send reads, comes first (`repr(C)`), so a send touches a single cache
/// line of its node.
#[repr(C)]
pub(crate) struct BoxNode<T> {
    /// The final destination's storage, cached.
    sink: RefCell<Option<Rc<Storage<T>>>>,
    /// The component the box belongs to.
    owner: Weak<Task>,
    /// This box's own storage (inboxes only).
    local: Option<Rc<Storage<T>>>,
    /// The box this one is linked to.
    target: RefCell<Option<Rc<BoxNode<T>>>>,
    /// The boxes linked to this one.
    sources: RefCell<Few<Weak<BoxNode<T>>>>,
    /// The owner's id, for names in errors once the owner has gone.
    owner_id: ComponentId,
    /// The box's name.
    name: Cow<'static, str>,
    /// Inbox or outbox.
    direction: Direction,
}

impl<T: 'static> BoxNode<T> {
    /// The final destination's storage.
    pub(crate) fn sink_storage(&self) -> Option<Rc<Storage<T>>> {
        self.sink.borrow().clone()
    }

    fn propagate(&self, sink: &Option<Rc<Storage<T>>>) {
        bump_box_epoch();
        if let Some(local) = &self.local {
            local.flags.set(StorageFlags::FORWARDED, !sink.as_ref().is_some_and(|s| Rc::ptr_eq(s, local)));
        }
        // The storage replaced is dropped after the borrow (its messages may hold boxes).
        let old = std::mem::replace(&mut *self.sink.borrow_mut(), sink.clone());
        drop(old);
        let sources: Few<_> = self.sources.borrow().iter().filter_map(Weak::upgrade).collect();
        for s in sources {
            s.propagate(sink);
        }
    }

    fn end(self: &Rc<Self>) -> Rc<Self> {
        let mut node = self.clone();
        loop {
            let next = node.target.borrow().clone();
            match next {
                Some(n) => node = n,
                None => return node,
            }
        }
    }

    /// The owners of every outbox in the tree feeding this node (this node included), one
    /// entry per outbox: Axon's wake-on-collection callbacks that this subtree contributes.
    fn collect_producers(&self, out: &mut Few<Weak<Task>>) {
        if self.direction == Direction::Outbox {
            out.push(self.owner.clone());
        }
        let sources: Few<_> = self.sources.borrow().iter().filter_map(Weak::upgrade).collect();
        for s in sources {
            s.collect_producers(out);
        }
    }

    /// The producers `src`'s subtree contributes, which follow it when it is linked or
    /// unlinked. Computed from the subtree only, so linking one more source into a box fed by
    /// thousands costs nothing in the thousands.
    fn subtree_producers(src: &Rc<Self>) -> Few<Weak<Task>> {
        let mut v = Few::new();
        src.collect_producers(&mut v);
        v
    }
}

/// The type-erased face of a [`BoxNode`], used by linking code that does not know the message
/// type.
pub(crate) trait AnyNode {
    fn as_any_rc(self: Rc<Self>) -> Rc<dyn Any>;
    fn msg_type(&self) -> TypeId;
    fn msg_type_name(&self) -> &'static str;
    fn box_name(&self) -> BoxName;
    /// The box's name (borrowed from its declaration, for a declared box).
    fn name(&self) -> Cow<'static, str>;
    fn is_linked(&self) -> bool;
    fn local_len(&self) -> usize;
    fn set_capacity(&self, cap: Option<usize>);
    /// Marks the local storage dead and empties it; returns how many messages were dropped.
    fn kill(&self) -> usize;
    fn add_source(self: Rc<Self>, src: Rc<dyn AnyNode>) -> Result<(), LinkError>;
    fn remove_source(self: Rc<Self>, src: Rc<dyn AnyNode>);
    /// A new, unlinked box carrying this box's message type, owned by `owner` (for
    /// `Context::add_inbox_like`, which copies a box's type without naming it).
    fn make_sibling(
        &self,
        owner: &Weak<Task>,
        owner_id: ComponentId,
        name: Cow<'static, str>,
        direction: Direction,
    ) -> Rc<dyn AnyNode>;
}

pub(crate) fn box_name_of(owner: &Weak<Task>, id: ComponentId, dir: Direction, name: &str) -> BoxName {
    BoxName {
        component: match owner.upgrade() {
            Some(t) => t.name(),
            None => format!("<ended component {id}>"),
        },
        id,
        direction: dir,
        name: name.to_owned(),
    }
}

impl<T: 'static> AnyNode for BoxNode<T> {
    fn as_any_rc(self: Rc<Self>) -> Rc<dyn Any> {
        self
    }

    fn msg_type(&self) -> TypeId {
        TypeId::of::<T>()
    }

    fn msg_type_name(&self) -> &'static str {
        std::any::type_name::<T>()
    }

    fn box_name(&self) -> BoxName {
        box_name_of(&self.owner, self.owner_id, self.direction, &self.name)
    }

    fn name(&self) -> Cow<'static, str> {
        self.name.clone()
    }

    fn is_linked(&self) -> bool {
        self.target.borrow().is_some() || self.sources.borrow().iter().any(|w| w.strong_count() > 0)
    }

    fn local_len(&self) -> usize {
        self.local.as_ref().map_or(0, |s| s.len())
    }

    fn set_capacity(&self, cap: Option<usize>) {
        if let Some(s) = &self.local {
            s.set_capacity(cap.unwrap_or(usize::MAX));
        }
    }

    fn kill(&self) -> usize {
        match &self.local {
            Some(s) => {
                s.flags.set(StorageFlags::DEAD, true);
                s.limit.set(0);
                let dropped = s.queue.take_all();
                let n = dropped.len();
                drop_each_quietly(dropped);
                // Producers waiting for room must not wait for ever: wake them, and their next
                // send is dropped (and counted) instead.
                wake_all(&s.producers.borrow());
                s.wake_waiters();
                s.wake_readers();
                n
            }
            None => 0,
        }
    }

    fn add_source(self: Rc<Self>, src: Rc<dyn AnyNode>) -> Result<(), LinkError> {
        // Names are made for an error only: a server links several boxes per connection.
        let src = match src.clone().as_any_rc().downcast::<BoxNode<T>>() {
            Ok(s) => s,
            Err(_) => {
                // The caller checks types first; this is the same error, for completeness.
                return Err(LinkError::TypeMismatch {
                    source_box: src.box_name(),
                    source_type: "another type",
                    sink_box: self.box_name(),
                    sink_type: std::any::type_name::<T>(),
                });
            }
        };
        if let Some(existing) = src.target.borrow().as_ref() {
            return Err(LinkError::BoxAlreadyLinkedToDestination {
                source_box: src.box_name(),
                existing_sink: existing.box_name(),
                new_sink: self.box_name(),
            });
        }
        // Refuse a link that would close a loop: walk from the sink down its chain.
        let mut node = Some(self.clone());
        while let Some(n) = node {
            if Rc::ptr_eq(&n, &src) {
                return Err(LinkError::Cycle { source_box: src.box_name(), sink_box: self.box_name() });
            }
            node = n.target.borrow().clone();
        }
        *src.target.borrow_mut() = Some(self.clone());
        self.sources.borrow_mut().push(Rc::downgrade(&src));
        let sink = self.sink.borrow().clone();
        // Messages waiting in the source's own storage move on, oldest first (reference §2.1).
        if let (Some(local), Some(dest)) = (&src.local, &sink) {
            let mut moved = local.queue.take_all();
            let n = moved.len();
            *local.producers.borrow_mut() = Few::new();
            if dest.is_dead() {
                // Nobody will read them: dropped, and counted like sends to an ended component.
                drop_each_quietly(moved);
                for _ in 0..n {
                    crate::scheduler::count_drop(&src.owner, true);
                }
            } else {
                // Moved whatever the destination's size limit, as in Axon: they were accepted.
                dest.queue.append(&mut moved);
                if n > 0 {
                    dest.wake_owner();
                }
            }
        }
        src.propagate(&sink);
        // The source's producers now feed the end of this chain (reference §1.3 rule 2).
        let moved = Self::subtree_producers(&src);
        if let Some(storage) = &self.end().local {
            storage.producers.borrow_mut().extend(moved);
            storage.collected.set(0);
        }
        // Whoever waited on the source's own storage — producers for room, its owner or readers
        // for a message — now sends to, or receives from, the end of the chain: they retry there.
        if let Some(local) = &src.local {
            local.wake_all_waiting();
        }
        Ok(())
    }

    fn remove_source(self: Rc<Self>, src: Rc<dyn AnyNode>) {
        let Ok(src) = src.as_any_rc().downcast::<BoxNode<T>>() else { return };
        let is_ours = src.target.borrow().as_ref().is_some_and(|t| Rc::ptr_eq(t, &self));
        if !is_ours {
            return;
        }
        let moved = Self::subtree_producers(&src);
        let old_end = self.end().local.clone();
        if let Some(storage) = &old_end {
            // One entry per outbox was added for the subtree; take one per outbox away.
            let mut producers = storage.producers.borrow_mut();
            for w in &moved {
                if let Some(i) = producers.iter().position(|p| p.ptr_eq(w)) {
                    producers.swap_remove(i);
                }
            }
        }
        self.sources.borrow_mut().retain(|w| !std::ptr::eq(w.as_ptr(), Rc::as_ptr(&src)));
        *src.target.borrow_mut() = None;
        src.propagate(&src.local.clone());
        // The source is the end of its own chain again: its storage hears its producers.
        if let Some(storage) = &src.local {
            *storage.producers.borrow_mut() = moved;
            storage.collected.set(0);
        }
        // Those that waited at the old end on the source's behalf — producers for room, readers
        // of an inbox linked onward — now send or receive somewhere else: they retry. Others
        // waiting there retry and wait again.
        if let Some(storage) = old_end {
            storage.wake_all_waiting();
        }
    }

    fn make_sibling(
        &self,
        owner: &Weak<Task>,
        owner_id: ComponentId,
        name: Cow<'static, str>,
        direction: Direction,
    ) -> Rc<dyn AnyNode> {
        make_node::<T>(owner, owner_id, name, direction)
    }
}

/// A typed handle on one of a component's inboxes. Get one with
/// [`Context::inbox`](crate::Context::inbox); it is resolved once, so receiving costs one queue
/// pop.
pub struct Inbox<T> {
    pub(crate) node: Rc<BoxNode<T>>,
    /// The box's own storage (`node.local`), held here so a receive reaches it in one step.
    local: Rc<Storage<T>>,
    /// [`NOT_QUIET`] unless the box is quiet (`local.quiet()`, told here so that a receive need
    /// not read the storage to know). For a quiet box: the box-graph count ([`box_epoch`]) at
    /// which this handle last found it empty and not linked onward, or 0. Until the count moves
    /// on — a delivery into a quiet box, or a link change — it is still empty.
    empty_at: Cell<u64>,
}

/// [`Inbox::empty_at`] of a handle on a box that is not quiet (a count never reaches it).
const NOT_QUIET: u64 = u64::MAX;

impl<T> Clone for Inbox<T> {
    fn clone(&self) -> Self {
        Inbox { node: self.node.clone(), local: self.local.clone(), empty_at: Cell::new(self.empty_at.get()) }
    }
}

impl<T: 'static> fmt::Debug for Inbox<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inbox").field("name", &self.node.name).field("ready", &self.data_ready()).finish()
    }
}

impl<T: 'static> Inbox<T> {
    /// The handle on `node`, an inbox (which always has storage of its own).
    pub(crate) fn from_node(node: Rc<BoxNode<T>>) -> Self {
        let local = node.local.clone().expect("an inbox has storage of its own");
        let empty_at = Cell::new(if local.quiet() { 0 } else { NOT_QUIET });
        Inbox { node, local, empty_at }
    }

    /// Takes the oldest message, or `None` if there is none (Axon's `recv`, which raised
    /// `IndexError`). Taking a message wakes the components whose outboxes feed this box.
    ///
    /// Like Axon, when this inbox is itself linked onward (passthrough), `recv` takes from the
    /// final destination of the chain.
    #[inline(always)]
    pub fn recv(&self) -> Option<T> {
        if self.empty_at.get() != NOT_QUIET {
            return self.recv_quiet();
        }
        if !self.local.forwarded() {
            return self.local.pop();
        }
        self.recv_forwarded()
    }

    /// [`recv`](Self::recv) on a quiet box: nothing to read while it is known to be empty.
    #[inline(never)]
    fn recv_quiet(&self) -> Option<T> {
        if self.empty_at.get() == box_epoch() {
            return None;
        }
        if self.local.forwarded() {
            return self.recv_forwarded();
        }
        let msg = self.local.pop();
        if msg.is_none() {
            self.empty_at.set(box_epoch());
        }
        msg
    }

    /// [`recv`](Self::recv) for an inbox linked onward: takes from the end of its chain.
    #[inline(never)]
    fn recv_forwarded(&self) -> Option<T> {
        let sink = self.node.sink.borrow();
        sink.as_ref()?.pop()
    }

    /// How many messages wait in this box's own storage (Axon's `dataReady`). An inbox that is
    /// linked onward holds nothing, so this is 0 for it.
    #[doc(alias = "dataReady")]
    #[inline]
    pub fn data_ready(&self) -> usize {
        if self.empty_at.get() != NOT_QUIET {
            return self.data_ready_quiet();
        }
        self.local.len()
    }

    /// [`data_ready`](Self::data_ready) on a quiet box: 0 while it is known to be empty.
    #[inline(never)]
    fn data_ready_quiet(&self) -> usize {
        if self.empty_at.get() == box_epoch() {
            return 0;
        }
        let n = self.local.len();
        if n == 0 && !self.local.forwarded() {
            self.empty_at.set(box_epoch());
        }
        n
    }

    /// Whether no message waits.
    pub fn is_empty(&self) -> bool {
        self.data_ready() == 0
    }

    /// Waits for a message and takes it. Pauses the component (no busy-waiting) until a
    /// delivery wakes it.
    ///
    /// The component awaiting need not own the box: a handle on another component's inbox
    /// (from [`ComponentRef::inbox`](crate::ComponentRef::inbox)), or an inbox linked onward,
    /// works too — the awaiting component is woken by the next delivery to the storage `recv`
    /// takes from. Once the box's owner has ended nothing more can arrive, and the wait does not
    /// end.
    pub async fn recv_wait(&self) -> T {
        loop {
            if let Some(m) = self.recv() {
                return m;
            }
            self.wait_for_data();
            crate::scheduler::pause(crate::scheduler::Intent::Pause).await;
        }
    }

    /// Registers the component being polled with the storage `recv` takes from, so that a
    /// delivery there wakes it even when rule 1 would not (it is not that storage's owner).
    fn wait_for_data(&self) {
        if !self.local.forwarded() {
            self.local.add_reader(&self.node.owner);
        } else if let Some(end) = self.node.sink.borrow().clone() {
            end.add_reader(&self.node.owner);
        }
    }

    /// Iterates over the waiting messages, taking each (Axon's `Inbox(box)` generator).
    pub fn drain(&self) -> impl Iterator<Item = T> + '_ {
        std::iter::from_fn(move || self.recv())
    }

    /// The size limit of this box's storage, if any.
    pub fn capacity(&self) -> Option<usize> {
        self.local.capacity()
    }

    /// Whether taking a message from this box wakes every component whose outbox feeds it
    /// (Axon's wake rule 2, on by default). Turn it off for a box whose producers do not need a
    /// wake per collection — a server's feedback box fed by every connection, say, or a socket
    /// adapter's write queue — where each collection would otherwise wake them for nothing.
    /// Producers that found the box full ([`NoSpaceInBox`] from [`Outbox::send`], or waiting in
    /// [`Outbox::send_wait`]) are woken by the next collection either way.
    pub fn set_notify_producers(&self, on: bool) {
        self.local.set_notify_producers(on);
    }

    /// Whether a delivery into this box that wakes its owner runs the owner right after the
    /// sender, ahead of the components already waiting to run (off by default: Axon runs a
    /// woken component in the next cycle, after everything queued before it).
    ///
    /// Turn it on for a box on a request's path where the next step should follow at once, so
    /// the message is handled while its data is still in the cache and the steps of one request
    /// are not spread over a whole cycle — a socket adapter's write queue, a server's handler
    /// `inbox`. Scheduling stays fair: at most three components in a row run this way before the
    /// next one waiting goes to the back of the run queue, and a delivery made outside any
    /// component's step (from the scheduler's owner, between steps) queues as usual. A threaded
    /// component's messages are delivered by its proxy during the proxy's own step, so they hand
    /// off too. FIFO order of messages is unchanged; only when the owner runs is.
    pub fn set_handoff(&self, on: bool) {
        self.local.flags.set(StorageFlags::HANDOFF, on);
    }

    /// Sets or clears the size limit (Axon's `setInboxSize`).
    #[doc(alias = "setInboxSize")]
    pub fn set_size(&self, size: Option<usize>) {
        self.node.set_capacity(size);
    }

    /// The box's name.
    pub fn name(&self) -> &str {
        &self.node.name
    }
}

/// A typed handle on one of a component's outboxes. Get one with
/// [`Context::outbox`](crate::Context::outbox); it follows link changes, so sending costs one
/// queue push into the final destination.
pub struct Outbox<T> {
    pub(crate) node: Rc<BoxNode<T>>,
    /// `node.sink` as it was when the box-graph count ([`box_epoch`]) was `sink_at`: a send
    /// reads this copy, in the handle (which lives in its component's future, hot while the
    /// component runs), instead of the node's. A link change moves the count on, and the next
    /// send copies the node's sink again. A `Cell`, with no borrow flag: a send takes it out
    /// only for the push itself (see [`send`](Self::send)).
    sink: Cell<Option<Rc<Storage<T>>>>,
    /// When `sink` was copied; 0 before the first send.
    sink_at: Cell<u64>,
}

impl<T> Outbox<T> {
    pub(crate) fn from_node(node: Rc<BoxNode<T>>) -> Self {
        Outbox { node, sink: Cell::new(None), sink_at: Cell::new(0) }
    }
}

impl<T> Clone for Outbox<T> {
    fn clone(&self) -> Self {
        Outbox::from_node(self.node.clone())
    }
}

impl<T: 'static> fmt::Debug for Outbox<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outbox").field("name", &self.node.name).field("linked", &self.is_linked()).finish()
    }
}

impl<T: 'static> Outbox<T> {
    /// Delivers `msg` straight into the final destination of this outbox's link chain and wakes
    /// its owner (Axon's `send`).
    ///
    /// An unlinked outbox drops the message, as in Axon, and counts it
    /// ([`Stats::dropped_unlinked`](crate::Stats)); so does a destination whose component has
    /// ended ([`Stats::dropped_dead`](crate::Stats)).
    ///
    /// # Errors
    /// [`NoSpaceInBox`] with the message when the destination is bounded and full. The sender
    /// (the component running now, else this outbox's owner) is then woken by the destination's
    /// next collection, so Axon's pattern — catch the error, pause, retry when woken — works even
    /// for a box that does not wake its producers on every collection
    /// ([`Inbox::set_notify_producers`]).
    #[inline(always)]
    pub fn send(&self, msg: T) -> Result<(), NoSpaceInBox<T>> {
        if self.sink_at.get() != box_epoch() {
            self.copy_sink();
        }
        // Taken out for the push, which runs no code of the crate's users (no message is
        // dropped and no component polled inside it), and put back before anything that could.
        let Some(storage) = self.sink.take() else {
            self.count_drop(false);
            return Ok(());
        };
        let pushed = storage.push(msg);
        if let Err(PushError::Full(..)) = pushed {
            storage.add_waiter(&self.node.owner);
        }
        self.sink.set(Some(storage));
        match pushed {
            Ok(()) => Ok(()),
            Err(PushError::Full(message, capacity)) => Err(NoSpaceInBox { message, capacity }),
            Err(PushError::Dead(message)) => {
                self.count_drop(true);
                drop(message);
                Ok(())
            }
        }
    }

    /// Asks the CPU to start loading what the next [`send`](Self::send) will touch — the
    /// destination inbox's storage and the task record of the component it wakes — so that a
    /// component about to block in a system call (a socket adapter before its `recv`) has them
    /// in the cache by the time it sends what it read, instead of waiting for memory then.
    /// Only a hint: it changes nothing but timing.
    ///
    /// ```
    /// # use axon_core::{boxes, from_fn, BoxDecl, Scheduler};
    /// # const B: &[BoxDecl] = &boxes::standard::<u32>();
    /// let sched = Scheduler::new();
    /// let (a, b) = (sched.create(from_fn(B, |_| async { Ok(()) })), sched.create(from_fn(B, |_| async { Ok(()) })));
    /// sched.link((&a, "outbox"), (&b, "inbox"))?;
    /// let out = a.outbox::<u32>("outbox")?;
    /// out.prefetch();
    /// out.send(1).unwrap();
    /// assert_eq!(b.inbox::<u32>("inbox")?.recv(), Some(1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn prefetch(&self) {
        if self.sink_at.get() != box_epoch() {
            self.copy_sink();
        }
        let sink = self.sink.take();
        if let Some(storage) = &sink {
            // The storage's first line is read here (for its owner) and so loaded now; the
            // owner's record is only prefetched.
            crate::prefetch::prefetch(storage.owner.as_ptr());
        }
        self.sink.set(sink);
    }

    /// Copies the node's sink into the handle (see `sink`).
    #[cold]
    #[inline(never)]
    fn copy_sink(&self) {
        let now = self.node.sink.borrow().clone();
        let old = self.sink.replace(now);
        self.sink_at.set(box_epoch());
        // The last reference to a storage drops its messages, whose `Drop` may send on this
        // handle: it finds the new copy in place.
        drop(old);
    }

    /// Counts a dropped message; out of line to keep [`send`](Self::send) small enough to inline.
    #[cold]
    #[inline(never)]
    fn count_drop(&self, dead: bool) {
        crate::scheduler::count_drop(&self.node.owner, dead);
    }

    /// Delivers `msg`, waiting while the destination is full. The waiting component is woken by
    /// the consumer's next collection. The component pauses and is woken
    /// when the consumer takes a message (reference §1.3 rule 2); nothing busy-waits. Several
    /// producers waiting on one box are all woken and all complete.
    ///
    /// The future does nothing until polled; a send that finds room completes on the first poll.
    pub fn send_wait(&self, msg: T) -> impl Future<Output = ()> + '_ {
        SendWait { outbox: self, msg: Some(msg), pause: None }
    }

    /// Asks to be woken by the destination's next collection (the component running now, or
    /// else this outbox's owner).
    pub(crate) fn wait_for_room(&self) {
        if let Some(storage) = self.node.sink.borrow().as_ref() {
            storage.add_waiter(&self.node.owner);
        }
    }

    /// Whether the final destination is bounded and full, so a send would fail now
    /// (Axon's `isFull`).
    pub fn is_full(&self) -> bool {
        self.node.sink.borrow().as_ref().is_some_and(|s| s.is_full())
    }

    /// Whether the outbox leads anywhere (a live inbox at the end of its chain).
    pub fn is_linked(&self) -> bool {
        self.node.sink.borrow().as_ref().is_some_and(|s| !s.is_dead())
    }

    /// The box's name.
    pub fn name(&self) -> &str {
        &self.node.name
    }
}

/// The future of [`Outbox::send_wait`]: the loop `send; on NoSpaceInBox (which makes the sender
/// a waiter for room), pause`, written out by hand so that its first poll (which usually finds
/// room) is small enough to inline into the caller.
struct SendWait<'a, T> {
    outbox: &'a Outbox<T>,
    /// The message, until it is sent.
    msg: Option<T>,
    /// The pause under way, between a refused send and the next try.
    pause: Option<crate::scheduler::Pause>,
}

// No field is ever pinned: the message is moved in and out by value.
impl<T> Unpin for SendWait<'_, T> {}

impl<T: 'static> Future for SendWait<'_, T> {
    type Output = ();

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.pause.is_none() {
            // The first try, inlined: the message usually goes at once.
            let msg = this.msg.take().expect("send_wait polled after it completed");
            match this.outbox.send(msg) {
                Ok(()) => return Poll::Ready(()),
                Err(e) => this.wait(e.message),
            }
        }
        this.poll_paused(cx)
    }
}

impl<T: 'static> SendWait<'_, T> {
    /// After a refused try (which made this component a waiter for room): keeps the message
    /// and starts a pause.
    #[inline(never)]
    fn wait(&mut self, msg: T) {
        self.msg = Some(msg);
        self.pause = Some(crate::scheduler::pause_current(&self.outbox.node.owner));
    }

    /// Goes on from a pause: the loop `pause; send; on refusal wait`.
    #[inline(never)]
    fn poll_paused(&mut self, cx: &mut std::task::Context<'_>) -> Poll<()> {
        loop {
            if let Some(pause) = &mut self.pause {
                if Pin::new(pause).poll(cx).is_pending() {
                    return Poll::Pending;
                }
                self.pause = None;
            }
            let msg = self.msg.take().expect("send_wait polled after it completed");
            match self.outbox.send(msg) {
                Ok(()) => return Poll::Ready(()),
                Err(e) => self.wait(e.message),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::mem::offset_of;

    use super::Storage;
    use crate::queue::Queue;

    /// What a push or a pop reads is in a storage's first cache line, for messages of up to
    /// 32 bytes; the rest starts on the next.
    fn first_line_holds_the_hot_fields<T>() {
        let last_hot = offset_of!(Storage<T>, queue) + Queue::<T>::HEADER_SIZE;
        assert!(last_hot <= 64, "the hot fields end at byte {last_hot}");
        for hot in [
            offset_of!(Storage<T>, owner),
            offset_of!(Storage<T>, owner_woken),
            offset_of!(Storage<T>, limit),
            offset_of!(Storage<T>, flags),
        ] {
            assert!(hot < offset_of!(Storage<T>, queue));
        }
        assert!(offset_of!(Storage<T>, collected) >= 64);
        assert!(offset_of!(Storage<T>, capacity) >= 64);
        assert_eq!(std::mem::align_of::<Storage<T>>(), 64);
    }

    #[test]
    fn a_storages_first_cache_line_holds_what_a_push_or_pop_reads() {
        first_line_holds_the_hot_fields::<u8>();
        first_line_holds_the_hot_fields::<String>();
        first_line_holds_the_hot_fields::<bytes_like::Chunk>();
    }

    mod bytes_like {
        /// A 32-byte message with a reference in it, like `bytes::Bytes` (whose vtable
        /// reference lets `Option<Bytes>` be 32 bytes too).
        pub(super) struct Chunk(#[allow(dead_code)] &'static (), #[allow(dead_code)] [usize; 3]);
    }
}
