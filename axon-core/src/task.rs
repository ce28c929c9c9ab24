//! The scheduler's record of one component.
//!
//! # State
//! A task's `state` says where it is; only the scheduler moves it out of `Running`, and
//! [`Task::wake`] is the only other writer:
//!
//! | state          | meaning                                  | a wake does                    |
//! |----------------|------------------------------------------|--------------------------------|
//! | `Inactive`     | created, not yet activated               | nothing (Axon: no effect)      |
//! | `Queued`       | in the run queue, exactly once           | nothing                        |
//! | `Running`      | being polled now                         | → `RunningWoken`               |
//! | `RunningWoken` | being polled, and woken meanwhile        | nothing                        |
//! | `Paused`       | waiting for a wake                       | → `Queued`, pushed on the queue|
//! | `Done`         | ended; its end cause is recorded         | nothing                        |
//!
//! A wake through an inbox with handoff on, during another task's poll, puts the task in the
//! scheduler's `next` slot instead of on the queue; the slot counts as the run queue.
//!
//! A wake is therefore a state check and, at most, one queue push: never lost (a wake during a
//! poll makes the next pause return at once), never duplicated (a task is queued at most once).

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};

// FxHash, not SipHash: keyed by component ids and box names, which components' code chooses,
// not a network peer; see `postoffice`.
use rustc_hash::FxHashMap as HashMap;

use crate::boxes::{AnyNode, BoxDecl};
use crate::component::{ComponentId, ComponentRef, ComponentResult, EndCause};
use crate::error::{BoxError, BoxName, Direction};
use crate::postoffice::Postoffice;
use crate::scheduler::Shared;

pub(crate) type LocalFuture = Pin<Box<dyn Future<Output = ComponentResult>>>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    Inactive,
    Queued,
    Running,
    RunningWoken,
    Paused,
    Done,
}

/// How a task ended, kept in a byte so that ending in the common ways allocates nothing; the
/// details of a failure or panic live in `Extras::end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EndKind {
    NotYet,
    Finished,
    Stopped,
    Detailed,
}

pin_project_lite::pin_project! {
    /// A component's `main` future before and after it starts, in one allocation: the component
    /// value waits here until the first poll, which makes its [`Context`](crate::Context) and
    /// calls `main` in place. (An `async` block would keep the component value beside `main`'s
    /// future for the whole run: captured values are never overlapped with later state.)
    #[project = StartProj]
    pub(crate) enum Start<C, F, M> {
        Waiting { component: Option<C>, me: Weak<Task>, main: Option<M> },
        Running { #[pin] fut: F },
    }
}

impl<C, F, M> Start<C, F, M>
where
    F: Future<Output = ComponentResult>,
    M: FnOnce(C, crate::Context) -> F,
{
    pub(crate) fn new(component: C, me: Weak<Task>, main: M) -> Self {
        Start::Waiting { component: Some(component), me, main: Some(main) }
    }
}

impl<C, F, M> Future for Start<C, F, M>
where
    F: Future<Output = ComponentResult>,
    M: FnOnce(C, crate::Context) -> F,
{
    type Output = ComponentResult;

    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<ComponentResult> {
        loop {
            match self.as_mut().project() {
                StartProj::Running { fut } => return fut.poll(cx),
                StartProj::Waiting { component, me, main } => {
                    // Polled only while the scheduler holds the task, so it is alive; and only
                    // once in this state, since it leaves it below.
                    let (Some(task), Some(component), Some(main)) =
                        (me.upgrade(), component.take(), main.take())
                    else {
                        return std::task::Poll::Ready(Ok(()));
                    };
                    let fut = main(component, crate::Context::new(task));
                    self.set(Start::Running { fut });
                }
            }
        }
    }
}

/// A declared box: not created until first used, created, or deleted by its component.
pub(crate) enum Slot {
    Lazy,
    Live(Rc<dyn AnyNode>),
    Deleted,
}

/// A box added at run time (AdaptiveComms).
pub(crate) struct DynBox {
    /// When it was added, so names list in the order boxes were added.
    pub(crate) seq: u64,
    pub(crate) node: Rc<dyn AnyNode>,
}

#[derive(Default)]
pub(crate) struct BoxTable {
    /// One slot per declaration, once the table is first used (empty until then, so an unused
    /// component allocates nothing for its boxes).
    pub(crate) declared: Box<[Slot]>,
    /// Boxes added at run time; allocated when the first one is.
    pub(crate) dynamic: Option<Box<DynamicBoxes>>,
}

/// Boxes added at run time, by side and name: a server adds two per connection, so lookups,
/// additions and deletions must not scan.
#[derive(Default)]
pub(crate) struct DynamicBoxes {
    /// Inboxes, then outboxes (see [`side`]), by name: looked up by `&str`, with no key to make.
    pub(crate) by_name: [HashMap<String, DynBox>; 2],
    /// The next number to try as a suffix when a name is taken; only grows, so finding a free
    /// name takes one or two probes however many boxes there are.
    pub(crate) next_suffix: u64,
    /// How many have been added, ever: the next `DynBox::seq`.
    pub(crate) added: u64,
}

/// The index of `dir`'s map in [`DynamicBoxes::by_name`].
fn side(dir: Direction) -> usize {
    match dir {
        Direction::Inbox => 0,
        Direction::Outbox => 1,
    }
}

impl BoxTable {
    /// The dynamic box `name` on side `dir`, if there is one.
    pub(crate) fn dynamic(&self, dir: Direction, name: &str) -> Option<&DynBox> {
        self.dynamic.as_ref()?.by_name[side(dir)].get(name)
    }

    /// The dynamic boxes, if any were added, of both sides.
    pub(crate) fn dynamic_boxes(&self) -> impl Iterator<Item = &DynBox> {
        self.dynamic.iter().flat_map(|d| d.by_name.iter().flat_map(|side| side.values()))
    }

    /// Whether a box of side `dir` is called `name` (declared and not deleted, or added).
    pub(crate) fn is_taken(&self, decls: &[BoxDecl], dir: Direction, name: &str) -> bool {
        let declared = decls.iter().enumerate().any(|(i, d)| {
            d.direction() == dir && d.name() == name && !matches!(self.declared.get(i), Some(Slot::Deleted))
        });
        declared || self.dynamic(dir, name).is_some()
    }

    /// A free name starting with `base`.
    pub(crate) fn free_name(&mut self, decls: &[BoxDecl], dir: Direction, base: &str) -> String {
        let mut name = base.to_owned();
        while self.is_taken(decls, dir, &name) {
            let d = self.dynamic.get_or_insert_with(Default::default);
            d.next_suffix += 1;
            name = format!("{base}{}", d.next_suffix);
        }
        name
    }

    /// Adds a dynamic box under `name`.
    pub(crate) fn insert_dynamic(&mut self, dir: Direction, name: String, node: Rc<dyn AnyNode>) {
        let d = self.dynamic.get_or_insert_with(Default::default);
        let seq = d.added;
        d.added += 1;
        d.by_name[side(dir)].insert(name, DynBox { seq, node });
    }

    /// Removes the dynamic box `name`; whether there was one.
    pub(crate) fn remove_dynamic(&mut self, dir: Direction, name: &str) -> bool {
        self.dynamic.as_mut().is_some_and(|d| d.by_name[side(dir)].remove(name).is_some())
    }
}

/// A component's children: a server has one or two per connection, so adding, removing and
/// hearing of an ended child must not scan them all.
#[derive(Default)]
pub(crate) struct Children {
    /// Each child, with the order it was added in.
    by_id: HashMap<ComponentId, (u64, ComponentRef)>,
    added: u64,
    /// Children that have ended since the parent last asked (`Context::ended_children`).
    pub(crate) ended: Vec<ComponentRef>,
}

impl Children {
    /// Adds `c`; false if it was a child already.
    pub(crate) fn add(&mut self, c: &ComponentRef) -> bool {
        if self.by_id.contains_key(&c.id()) {
            return false;
        }
        self.added += 1;
        self.by_id.insert(c.id(), (self.added, c.clone()));
        true
    }

    pub(crate) fn remove(&mut self, id: ComponentId) {
        if self.by_id.remove(&id).is_some() {
            self.ended.retain(|c| c.id() != id);
        }
    }

    pub(crate) fn contains(&self, id: ComponentId) -> bool {
        self.by_id.contains_key(&id)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// The children, in the order they were added.
    pub(crate) fn list(&self) -> Vec<ComponentRef> {
        let mut v: Vec<_> = self.by_id.values().cloned().collect();
        v.sort_unstable_by_key(|(seq, _)| *seq);
        v.into_iter().map(|(_, c)| c).collect()
    }
}

/// What a component has that most components rarely use; allocated on first need.
#[derive(Default)]
pub(crate) struct Extras {
    /// Children added with `add_children`.
    pub(crate) children: Children,
    /// Tasks woken when this one ends (parents; Axon's `_callOnCloseDown`).
    pub(crate) watchers: Vec<Weak<Task>>,
    /// The linkages this component made.
    pub(crate) postoffice: Postoffice,
    /// Why it ended.
    pub(crate) end: Option<EndCause>,
    /// AdaptiveComms resource tracking.
    pub(crate) resources: crate::context::Resources,
}

/// The scheduler's record of one component.
///
/// Laid out by hand (`repr(C)`): what a wake and a poll read — the state bytes, the slot key,
/// the `main` future and the scheduler — come first, beside the `Rc`'s reference counts that a
/// wake through a `Weak` reads too: 48 bytes, so that waking and polling a component whose
/// record is no longer cached costs one or two cache lines (the allocation is aligned to 16
/// bytes, not 64), not three.
#[repr(C)]
pub(crate) struct Task {
    /// Where the task is (see the module docs).
    pub(crate) state: Cell<State>,
    /// Set by `stop`: the next time the scheduler reaches the task it ends it instead of polling.
    pub(crate) stop_requested: Cell<bool>,
    /// How it ended, once it has.
    pub(crate) end: Cell<EndKind>,
    /// Listed in the scheduler's foreign-wait list (awaiting a future that is not ours).
    pub(crate) awaits_foreign: Cell<bool>,
    /// The slab key while active.
    pub(crate) key: Cell<u32>,
    /// The component's `main` future, made when the component is created (it makes its
    /// [`Context`](crate::Context) at its first poll, so it holds no strong reference to the task before then).
    /// `None` while the scheduler polls it (taken out and put back) and once the task has ended.
    pub(crate) body: Cell<Option<LocalFuture>>,
    /// The scheduler it belongs to.
    pub(crate) shared: Rc<Shared>,
    /// Its id (unique in the process).
    pub(crate) id: ComponentId,
    /// Its type's name, for `name()`; a function so the record holds one pointer, not two.
    pub(crate) type_name: fn() -> &'static str,
    /// Its declared boxes.
    pub(crate) decls: &'static [BoxDecl],
    /// Its boxes, created as they are first used.
    pub(crate) boxes: RefCell<BoxTable>,
    pub(crate) extras: RefCell<Option<Box<Extras>>>,
}

impl Task {
    pub(crate) fn new(
        shared: Rc<Shared>,
        type_name: fn() -> &'static str,
        decls: &'static [BoxDecl],
        make_body: impl FnOnce(&Weak<Task>) -> LocalFuture,
    ) -> Rc<Task> {
        Rc::new_cyclic(|me| Task {
            state: Cell::new(State::Inactive),
            stop_requested: Cell::new(false),
            end: Cell::new(EndKind::NotYet),
            awaits_foreign: Cell::new(false),
            key: Cell::new(u32::MAX),
            id: ComponentId::next(),
            type_name,
            decls,
            shared,
            body: Cell::new(Some(make_body(me))),
            boxes: RefCell::new(BoxTable::default()),
            extras: RefCell::new(None),
        })
    }

    /// Wakes the task (see the module docs for what that does in each state).
    #[inline]
    pub(crate) fn wake(self: &Rc<Self>) {
        self.wake_into(false);
    }

    /// As [`wake`](Self::wake), but a paused task runs right after the component being polled
    /// now instead of at the back of the run queue (an inbox with handoff on).
    pub(crate) fn wake_next(self: &Rc<Self>) {
        self.wake_into(true);
    }

    #[inline]
    fn wake_into(self: &Rc<Self>, next: bool) {
        match self.state.get() {
            State::Paused => {
                self.state.set(State::Queued);
                if next {
                    self.shared.queue_next(self.clone());
                } else {
                    self.shared.run_queue.borrow_mut().push_back(self.clone());
                }
            }
            State::Running => self.state.set(State::RunningWoken),
            _ => {}
        }
    }

    /// Whether the task is being polled now.
    pub(crate) fn is_running(&self) -> bool {
        matches!(self.state.get(), State::Running | State::RunningWoken)
    }

    /// The slab key while active.
    #[inline]
    pub(crate) fn key(&self) -> usize {
        self.key.get() as usize
    }

    /// The Axon-style name: `<Type>_<id>`.
    pub(crate) fn name(&self) -> String {
        let mut name = String::new();
        // Writing to a `String` cannot fail.
        let _ = write_name(&mut name, self.type_name, self.id);
        name
    }

    pub(crate) fn with_extras<R>(&self, f: impl FnOnce(&mut Extras) -> R) -> R {
        let mut e = self.extras.borrow_mut();
        f(e.get_or_insert_with(Default::default))
    }

    /// Finds (creating lazily) the box `name` on side `dir`.
    pub(crate) fn lookup(self: &Rc<Self>, dir: Direction, name: &str) -> Result<Rc<dyn AnyNode>, BoxError> {
        let mut table = self.boxes.borrow_mut();
        if table.declared.is_empty() && !self.decls.is_empty() {
            table.declared = self.decls.iter().map(|_| Slot::Lazy).collect::<Vec<_>>().into_boxed_slice();
        }
        for (i, d) in self.decls.iter().enumerate() {
            if d.direction() == dir && d.name() == name {
                match &table.declared[i] {
                    Slot::Live(n) => return Ok(n.clone()),
                    Slot::Lazy => {
                        let n = d.make(&Rc::downgrade(self), self.id);
                        table.declared[i] = Slot::Live(n.clone());
                        return Ok(n);
                    }
                    Slot::Deleted => {}
                }
            }
        }
        if let Some(b) = table.dynamic(dir, name) {
            return Ok(b.node.clone());
        }
        drop(table);
        Err(BoxError::UnknownBox(self.box_name(dir, name), self.box_names(dir).join(", ")))
    }

    /// Whether a box of side `dir` is called `name`, without making it.
    pub(crate) fn has_box(&self, dir: Direction, name: &str) -> bool {
        self.boxes.borrow().is_taken(self.decls, dir, name)
    }

    pub(crate) fn box_name(&self, dir: Direction, name: &str) -> BoxName {
        BoxName { component: self.name(), id: self.id, direction: dir, name: name.to_owned() }
    }

    /// The names of the boxes on side `dir`, declared first.
    pub(crate) fn box_names(&self, dir: Direction) -> Vec<String> {
        let table = self.boxes.borrow();
        let mut names = Vec::new();
        for (i, d) in self.decls.iter().enumerate() {
            let deleted = matches!(table.declared.get(i), Some(Slot::Deleted));
            if d.direction() == dir && !deleted {
                names.push(d.name().to_owned());
            }
        }
        let mut added: Vec<_> = table
            .dynamic
            .iter()
            .flat_map(|d| &d.by_name[side(dir)])
            .map(|(n, b)| (b.seq, n.clone()))
            .collect();
        added.sort_unstable();
        names.extend(added.into_iter().map(|(_, n)| n));
        names
    }

    /// The boxes that exist now (created ones only), for teardown and `any_ready`.
    pub(crate) fn live_nodes(&self) -> Vec<Rc<dyn AnyNode>> {
        let table = self.boxes.borrow();
        let mut v: Vec<_> = table
            .declared
            .iter()
            .filter_map(|s| match s {
                Slot::Live(n) => Some(n.clone()),
                _ => None,
            })
            .collect();
        v.extend(table.dynamic_boxes().map(|b| b.node.clone()));
        v
    }
}

thread_local! {
    /// Counts the times a component on this thread has started a poll or paused. A wake only
    /// changes a component that is paused or running, so a box that woke its owner when the
    /// count was `n` need not wake it again while the count is still `n`: since then no poll has
    /// started and nothing has paused, so its owner is still queued (or is the component running
    /// now, already marked woken). This turns the per-message wake into a counter comparison.
    static PAUSE_EPOCH: Cell<u64> = const { Cell::new(1) };
}

/// The current pause count (never 0, so 0 means "never woken").
#[inline]
pub(crate) fn pause_epoch() -> u64 {
    PAUSE_EPOCH.with(Cell::get)
}

pub(crate) fn bump_pause_epoch() {
    PAUSE_EPOCH.with(|e| e.set(e.get() + 1));
}

/// `axon_core::tests::Echo<u8>` → `Echo`.
pub(crate) fn short_type_name(full: &'static str) -> &'static str {
    let base = full.split('<').next().unwrap_or(full);
    // A path's segments are separated by `::`, and a type name has no other `:` before its
    // first `<`, so the last `:` ends the path (a byte search, cheaper than a `"::"` one).
    base.rsplit(':').next().unwrap_or(base)
}

/// Writes a component's Axon-style name, `<Type>_<id>`, without allocating: a link shows the
/// names of its ends this way only when it is shown.
pub(crate) fn write_name(
    f: &mut impl fmt::Write,
    type_name: fn() -> &'static str,
    id: ComponentId,
) -> fmt::Result {
    write!(f, "{}_{}", short_type_name(type_name()), id.0)
}

#[cfg(test)]
mod tests {
    use super::short_type_name;

    #[test]
    fn a_short_type_name_is_the_last_segment_of_the_path_without_generics() {
        assert_eq!(short_type_name("axon_core::tests::Echo<u8>"), "Echo");
        assert_eq!(short_type_name("a::b::Pair<c::D, e::F<g::H>>"), "Pair");
        assert_eq!(short_type_name("Plain"), "Plain");
        assert_eq!(short_type_name("app::main::{{closure}}"), "{{closure}}");
    }
}
