//! The cooperative scheduler (`Axon.Scheduler`): one OS thread running many components.
//!
//! # How a cycle runs
//! [`Scheduler::step`] is one cycle: it takes the wakes that arrived from other threads, fires
//! the timers that are due, then polls every component that was queued when the cycle began,
//! in order (round-robin; a component woken during the cycle runs in the next one — unless it
//! was woken through an inbox with handoff on, [`Inbox::set_handoff`](crate::Inbox::set_handoff),
//! which runs it right after the component that woke it, at most three in a row). A component
//! runs until it awaits; what it awaited decides what happens next:
//!
//! - [`Context::pause`](crate::Context::pause) (or a wait built on it): it stays off the run
//!   queue until a wake — reference §1.3's four rules: a delivery into one of its inboxes, a
//!   collection from an inbox its outboxes feed, a child ending, an explicit wake — or, if a wake
//!   came while it ran, it runs again next cycle (no lost wake-ups).
//! - [`Context::yield_now`](crate::Context::yield_now): it goes to the back of the run queue.
//! - Any other future (a channel from another runtime, say): it is polled again once a std
//!   `Waker` handed to such a future fires. The scheduler has one such waker, so a wake from any
//!   of them polls every component awaiting a foreign future again (each finds its own still
//!   pending, or not); a waker per component would cost an allocation at every spawn for what is
//!   rare in Axon code.
//!
//! When nothing is runnable the thread parks — on a plain thread park, or on whatever [`Park`]
//! is installed (`kamaelia-net` installs its mio reactor) — until the next timer deadline or a
//! wake from another thread. Nothing busy-waits.
//!
//! # Ending
//! A component ends when `main` returns or panics, or when it is stopped. The scheduler then
//! records the [`EndCause`], drops the `main` future, removes the linkages the component made,
//! refuses further deliveries into its inboxes (dropped and counted), wakes its parent and frees
//! its slot. A panic is caught and logged with `tracing`; it ends that component only.

use std::any::{Any, TypeId};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Poll, Wake, Waker};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use slab::Slab;

use crate::component::{Component, ComponentId, ComponentRef, EndCause};
use crate::error::LinkError;
use crate::linkage::{LinkOptions, Linkage};
use crate::postoffice::Postoffice;
use crate::task::{EndKind, Start, State, Task};
use crate::tracker::Tracker;

/// What the running component asked for when it returned `Pending`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Intent {
    /// Nothing of ours: it awaits a foreign future.
    Foreign,
    /// Pause until woken.
    Pause,
    /// Run again next cycle.
    Yield,
}

thread_local! {
    /// What the component being polled on this thread asked for when it returned `Pending`: set
    /// by [`Pause`] and [`Sleep`], read by `poll_task` right after the poll. A thread polls one
    /// component at a time, so one slot per thread is enough, and a pause needs no reference to
    /// its scheduler.
    static INTENT: Cell<Intent> = const { Cell::new(Intent::Foreign) };
}

#[inline]
fn set_intent(intent: Intent) {
    INTENT.with(|i| i.set(intent));
}

#[inline]
fn intent() -> Intent {
    INTENT.with(Cell::get)
}

/// Blocks the scheduler's thread while nothing is runnable. The default parks the thread;
/// `kamaelia-net` installs a mio reactor, which also wakes components on socket readiness.
pub trait Park {
    /// Blocks until [`Unpark::unpark`] is called, `timeout` (if any) elapses, or the
    /// implementation has woken some component itself. Spurious returns are allowed.
    fn park(&mut self, timeout: Option<Duration>);

    /// A handle that ends a `park` early, from any thread.
    fn unparker(&self) -> Arc<dyn Unpark>;
}

/// Ends a [`Park::park`] early; usable from any thread.
pub trait Unpark: Send + Sync + 'static {
    /// Makes the current or the next `park` return.
    fn unpark(&self);
}

struct ThreadPark(std::thread::Thread);

impl Park for ThreadPark {
    fn park(&mut self, timeout: Option<Duration>) {
        match timeout {
            Some(t) => std::thread::park_timeout(t),
            None => std::thread::park(),
        }
    }

    fn unparker(&self) -> Arc<dyn Unpark> {
        Arc::new(ThreadUnpark(self.0.clone()))
    }
}

struct ThreadUnpark(std::thread::Thread);

impl Unpark for ThreadUnpark {
    fn unpark(&self) {
        self.0.unpark();
    }
}

/// What other threads share with the scheduler: wake requests, the stop flag, and how to
/// unpark it.
pub(crate) struct Remote {
    wakes: Mutex<Vec<(usize, ComponentId)>>,
    /// Something above is set: checked once per cycle without taking the lock.
    pending: AtomicBool,
    foreign: AtomicBool,
    stop: AtomicBool,
    parked: AtomicBool,
    unpark: Mutex<Arc<dyn Unpark>>,
    /// Messages a threaded component's thread sent after its component had ended: counted in
    /// [`Stats::dropped_dead`] (the thread cannot reach the scheduler's own counters).
    dropped_by_threads: AtomicU64,
}

impl Remote {
    fn notify(&self) {
        self.pending.store(true, Ordering::SeqCst);
        if self.parked.load(Ordering::SeqCst) {
            let u = self.unpark.lock().clone();
            u.unpark();
        }
    }
}

impl Wake for Remote {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.foreign.store(true, Ordering::SeqCst);
        self.notify();
    }
}

/// Counters a user can read to see what was dropped (Axon dropped these silently).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Messages sent from an outbox that led nowhere.
    pub dropped_unlinked: u64,
    /// Messages sent to, or left in, the inboxes of components that had ended.
    pub dropped_dead: u64,
    /// Components that have ended, in all.
    pub ended: u64,
    /// Components that ended by panicking.
    pub panicked: u64,
}

pub(crate) struct Shared {
    pub(crate) run_queue: RefCell<VecDeque<Rc<Task>>>,
    tasks: RefCell<Slab<Rc<Task>>>,
    /// The slab key of the task being polled; `NOT_POLLING` between polls.
    current: Cell<usize>,
    timers: RefCell<BTreeMap<(Instant, u64), (usize, ComponentId)>>,
    timer_seq: Cell<u64>,
    foreign: RefCell<Vec<(usize, ComponentId)>>,
    pub(crate) remote: Arc<Remote>,
    waker: Waker,
    pub(crate) root: RefCell<Postoffice>,
    stats: Cell<Stats>,
    pub(crate) tracker: RefCell<Tracker>,
    resources: RefCell<HashMap<TypeId, Rc<dyn Any>>>,
    park: RefCell<Option<Box<dyn Park>>>,
    /// Whether `park` is an installed one (a reactor) rather than the plain thread park: only
    /// then is it worth polling while components are runnable.
    custom_park: Cell<bool>,
    /// Components polled since the park was last given a chance to report readiness.
    polled_since_io: Cell<usize>,
    /// The component to poll right after the one being polled: woken by it through an inbox
    /// with handoff on ([`Inbox::set_handoff`](crate::Inbox::set_handoff)). Its state is
    /// `Queued`, as if it were on the run queue; empty between polls.
    pub(crate) next: Cell<Option<Rc<Task>>>,
}

/// The run-queue length from which [`Shared::prefetch_ahead`] prefetches.
const PREFETCH_QUEUE_MIN: usize = 32;

/// While components stay runnable, the installed park is polled without blocking after this
/// many component steps, so sockets are not starved by a busy run queue.
const IO_POLL_EVERY: usize = 64;

/// `Shared::current` between polls (no slab key is this large).
const NOT_POLLING: usize = usize::MAX;

/// How many components in a row may run through the handoff slot before the one waiting in it
/// goes to the back of the run queue, so that two components handing off to each other cannot
/// keep the rest from running (tokio's LIFO slot has the same limit).
const HANDOFF_CHAIN: usize = 3;

impl Shared {
    fn bump(&self, f: impl FnOnce(&mut Stats)) {
        let mut s = self.stats.get();
        f(&mut s);
        self.stats.set(s);
    }

    pub(crate) fn create<C: Component>(self: &Rc<Self>, c: C) -> ComponentRef {
        let decls = c.boxes();
        let task = Task::new(self.clone(), std::any::type_name::<C>, decls, |me| {
            Box::pin(Start::new(c, me.clone(), C::main))
        });
        ComponentRef { task }
    }

    pub(crate) fn activate(self: &Rc<Self>, r: &ComponentRef) {
        let task = &r.task;
        if task.state.get() != State::Inactive {
            return;
        }
        if task.stop_requested.get() {
            finish(task.clone(), EndCause::Stopped);
            return;
        }
        let key = self.tasks.borrow_mut().insert(task.clone());
        task.key.set(u32::try_from(key).expect("fewer than 2^32 active components"));
        task.state.set(State::Queued);
        self.run_queue.borrow_mut().push_back(task.clone());
    }

    pub(crate) fn spawn<C: Component>(self: &Rc<Self>, c: C) -> ComponentRef {
        let r = self.create(c);
        self.activate(&r);
        r
    }

    pub(crate) fn resource<R: 'static>(&self) -> Option<Rc<R>> {
        let r = self.resources.borrow().get(&TypeId::of::<R>())?.clone();
        r.downcast::<R>().ok()
    }

    pub(crate) fn insert_resource<R: 'static>(&self, r: Rc<R>) -> Option<Rc<R>> {
        let old = self.resources.borrow_mut().insert(TypeId::of::<R>(), r)?;
        old.downcast::<R>().ok()
    }

    pub(crate) fn set_park(&self, park: Box<dyn Park>) {
        *self.remote.unpark.lock() = park.unparker();
        *self.park.borrow_mut() = Some(park);
        self.custom_park.set(true);
    }

    /// Lets an installed park (a reactor) report readiness without blocking, once enough
    /// components have run since it last could.
    fn poll_io_if_due(&self) {
        if !self.custom_park.get() || self.polled_since_io.get() < IO_POLL_EVERY {
            return;
        }
        self.polled_since_io.set(0);
        let park = self.park.borrow_mut().take();
        if let Some(mut p) = park {
            p.park(Some(Duration::ZERO));
            let mut slot = self.park.borrow_mut();
            if slot.is_none() {
                *slot = Some(p);
            }
        }
    }

    pub(crate) fn stats(&self) -> Stats {
        let mut s = self.stats.get();
        s.dropped_dead += self.remote.dropped_by_threads.load(Ordering::Relaxed);
        s
    }

    pub(crate) fn task_count(&self) -> usize {
        self.tasks.borrow().len()
    }

    /// The active component with `id`, if any (a scan: for rare calls such as a thread's link).
    pub(crate) fn find(&self, id: ComponentId) -> Option<ComponentRef> {
        self.tasks.borrow().iter().find(|(_, t)| t.id == id).map(|(_, t)| ComponentRef { task: t.clone() })
    }

    fn task_at(&self, key: usize, id: ComponentId) -> Option<Rc<Task>> {
        self.tasks.borrow().get(key).filter(|t| t.id == id).cloned()
    }

    fn take_remote(&self) {
        // A plain load first: the swap (a locked instruction) only when there is something.
        if !self.remote.pending.load(Ordering::Relaxed) || !self.remote.pending.swap(false, Ordering::SeqCst)
        {
            return;
        }
        let wakes = std::mem::take(&mut *self.remote.wakes.lock());
        for (key, id) in wakes {
            if let Some(t) = self.task_at(key, id) {
                t.wake();
            }
        }
        if self.remote.foreign.swap(false, Ordering::SeqCst) {
            let foreign = std::mem::take(&mut *self.foreign.borrow_mut());
            for (key, id) in foreign {
                if let Some(t) = self.task_at(key, id) {
                    t.awaits_foreign.set(false);
                    t.wake();
                }
            }
        }
    }

    fn fire_timers(&self) {
        if self.timers.borrow().is_empty() {
            return;
        }
        let now = Instant::now();
        loop {
            let entry = {
                let mut timers = self.timers.borrow_mut();
                match timers.first_key_value() {
                    Some((&(at, seq), _)) if at <= now => timers.remove(&(at, seq)),
                    _ => None,
                }
            };
            match entry {
                Some((key, id)) => {
                    if let Some(t) = self.task_at(key, id) {
                        t.wake();
                    }
                }
                None => break,
            }
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.timers.borrow().first_key_value().map(|(&(at, _), _)| at)
    }

    fn step(self: &Rc<Self>) -> usize {
        self.take_remote();
        self.fire_timers();
        let n = self.run_queue.borrow().len();
        let mut ran = 0;
        for _ in 0..n {
            let Some(mut task) = self.run_queue.borrow_mut().pop_front() else { break };
            self.prefetch_ahead();
            // The task from the queue, then those it hands off to (see `queue_next`): at most
            // `HANDOFF_CHAIN` of them; one still in the slot after that goes to the back.
            let mut handoffs = 0;
            loop {
                if task.state.get() == State::Queued {
                    self.poll_task(task);
                    ran += 1;
                }
                match self.next.take() {
                    None => break,
                    Some(next) if handoffs == HANDOFF_CHAIN => {
                        self.run_queue.borrow_mut().push_back(next);
                        break;
                    }
                    Some(next) => {
                        handoffs += 1;
                        task = next;
                    }
                }
            }
        }
        self.polled_since_io.set(self.polled_since_io.get() + ran);
        self.poll_io_if_due();
        ran
    }

    /// Starts loading what the next polls will touch first, while this one runs: the record of
    /// the component two places ahead in the run queue, and the future of the one next in line,
    /// whose record was asked for one poll ago (so reading where its future is does not wait).
    /// A server's components are polled one after another in the order their sockets became
    /// ready, each mostly cold; a poll that makes system calls leaves time for the loads.
    ///
    /// Only while the run queue is long ([`PREFETCH_QUEUE_MIN`]): a burst of components woken
    /// together, a reactor's batch, whose state has gone cold since they last ran. A few
    /// components passing messages round (a pipeline) stay in the cache, and there the prefetch
    /// only cost time: 5 % per hop in `pipeline_bench` at 10 stages, batch 1.
    #[inline]
    fn prefetch_ahead(&self) {
        let queue = self.run_queue.borrow();
        if queue.len() < PREFETCH_QUEUE_MIN {
            return;
        }
        if let Some(after_next) = queue.get(1) {
            crate::prefetch::prefetch(Rc::as_ptr(after_next));
        }
        if let Some(next) = queue.front() {
            let body = next.body.take();
            if let Some(fut) = &body {
                let p =
                    (&**fut as *const dyn Future<Output = crate::component::ComponentResult>).cast::<u8>();
                crate::prefetch::prefetch(p);
                crate::prefetch::prefetch(p.wrapping_add(64));
                crate::prefetch::prefetch(p.wrapping_add(128));
            }
            next.body.set(body);
        }
    }

    /// Queues `task`, already marked `Queued`, to run right after the component being polled
    /// (an inbox with handoff on woke it). Outside a poll it goes to the back of the run queue,
    /// as any wake would; a component already in the slot is moved there to make room.
    #[inline(never)]
    pub(crate) fn queue_next(&self, task: Rc<Task>) {
        if self.current.get() == NOT_POLLING {
            self.run_queue.borrow_mut().push_back(task);
            return;
        }
        if let Some(bumped) = self.next.replace(Some(task)) {
            self.run_queue.borrow_mut().push_back(bumped);
        }
    }

    fn poll_task(self: &Rc<Self>, task: Rc<Task>) {
        if task.stop_requested.get() {
            finish(task, EndCause::Stopped);
            return;
        }
        task.state.set(State::Running);
        // A new poll starts a new epoch: a box that woke this task before now must wake it
        // again if it is sent to during this poll (it may pause at the end of it).
        crate::task::bump_pause_epoch();
        set_intent(Intent::Foreign);
        self.current.set(task.key());
        let Some(mut fut) = task.body.take() else {
            finish(task, EndCause::Finished);
            return;
        };
        let mut cx = std::task::Context::from_waker(&self.waker);
        let polled = catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(&mut cx)));
        self.current.set(NOT_POLLING);
        match polled {
            Ok(Poll::Pending) => {
                task.body.set(Some(fut));
                let intent = intent();
                let requeue = task.state.get() == State::RunningWoken
                    || task.stop_requested.get()
                    || intent == Intent::Yield;
                if requeue {
                    task.state.set(State::Queued);
                    self.run_queue.borrow_mut().push_back(task);
                } else {
                    task.state.set(State::Paused);
                    crate::task::bump_pause_epoch();
                    if intent == Intent::Foreign {
                        // Once per wait: a task woken by its boxes while a foreign future
                        // is still pending must not be listed again.
                        if !task.awaits_foreign.replace(true) {
                            self.foreign.borrow_mut().push((task.key(), task.id));
                        }
                    }
                }
            }
            Ok(Poll::Ready(Ok(()))) => {
                drop_quietly(fut);
                finish(task, EndCause::Finished);
            }
            Ok(Poll::Ready(Err(e))) => {
                drop_quietly(fut);
                tracing::warn!(component = %task.name(), error = %e, "component failed");
                finish(task, EndCause::Failed(Arc::from(e)));
            }
            Err(p) => {
                let msg = panic_message(&*p);
                drop_quietly(fut);
                tracing::error!(component = %task.name(), panic = %msg, "component panicked");
                finish(task, EndCause::Panicked(msg));
            }
        }
    }

    /// Gives back what a burst of components made the run queue and the task slots grow to,
    /// once the queue is empty (about to park, idle, or done): memory follows the components
    /// that exist, not the peak.
    fn trim(&self) {
        let mut q = self.run_queue.borrow_mut();
        if q.is_empty() && q.capacity() > 1024 {
            q.shrink_to(64);
        }
        drop(q);
        // The slots can shrink only down to the last one in use: try when at most a quarter are
        // in use. A try that cannot shrink (the last slot is in use) costs a check; one that
        // can scans the slots once.
        let mut tasks = self.tasks.borrow_mut();
        let cap = tasks.capacity();
        if cap > 1024 && tasks.len() < cap / 4 {
            tasks.shrink_to_fit();
        }
    }

    fn is_idle(&self) -> bool {
        self.run_queue.borrow().is_empty()
            && !self.remote.pending.load(Ordering::SeqCst)
            && self.next_deadline().is_none_or(|d| d > Instant::now())
    }

    fn park(&self, deadline: Option<Instant>) {
        self.polled_since_io.set(0);
        self.trim();
        let timeout = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        self.remote.parked.store(true, Ordering::SeqCst);
        if !self.remote.pending.load(Ordering::SeqCst) && timeout != Some(Duration::ZERO) {
            let mut park = self.park.borrow_mut().take();
            if park.is_none() {
                park = Some(Box::new(ThreadPark(std::thread::current())));
                *self.remote.unpark.lock() = park.as_ref().map(|p| p.unparker()).expect("just set");
            }
            if let Some(p) = park.as_mut() {
                p.park(timeout);
            }
            let mut slot = self.park.borrow_mut();
            if slot.is_none() {
                *slot = park;
            }
        }
        self.remote.parked.store(false, Ordering::SeqCst);
    }

    /// Ends every remaining component (cause `Stopped`).
    fn stop_all(&self) {
        // Ending one component can start or end others; repeat until none is left.
        loop {
            let tasks: Vec<_> = self.tasks.borrow().iter().map(|(_, t)| t.clone()).collect();
            if tasks.is_empty() {
                break;
            }
            for t in tasks {
                // `finish` frees the slot before any of the component's code runs, so this
                // loop always ends.
                finish(t, EndCause::Stopped);
            }
        }
        self.run_queue.borrow_mut().clear();
        drop(self.next.take());
        self.timers.borrow_mut().clear();
        self.foreign.borrow_mut().clear();
    }
}

/// Drops `v`, catching and logging a panic from its `Drop` (user code: a component's future, a
/// message, a tracked resource), so that it cannot unwind through the scheduler's bookkeeping.
pub(crate) fn drop_quietly<T>(v: T) {
    if let Err(p) = catch_unwind(AssertUnwindSafe(move || drop(v))) {
        tracing::error!(panic = %panic_message(&*p), "a component panicked while being dropped");
    }
}

/// The message a panic carried (its `&str` or `String` payload), for logging a caught panic as
/// the scheduler does for components.
pub fn panic_message(p: &(dyn Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic with a non-string payload".to_owned()
    }
}

/// Ends `task` with `cause`; see the module docs.
pub(crate) fn finish(task: Rc<Task>, cause: EndCause) {
    if task.state.get() == State::Done {
        return;
    }
    let was_active = task.state.get() != State::Inactive;
    task.state.set(State::Done);
    let shared = task.shared.clone();
    // The slot is freed first, before any of the component's own code (its future's and its
    // messages' `Drop`) runs, so that however that code behaves the slot does not outlive it.
    if was_active {
        let key = task.key();
        let mut tasks = shared.tasks.borrow_mut();
        if tasks.get(key).is_some_and(|t| Rc::ptr_eq(t, &task)) {
            tasks.remove(key);
        }
    }
    drop_quietly(task.body.take());
    // Remove the links it made, then close its inboxes.
    // (Most components never made a link or had a parent: their extras were never allocated,
    // and ending them does not allocate them.)
    let links = task.extras.borrow_mut().as_mut().map(|e| e.postoffice.take_all()).unwrap_or_default();
    for l in links {
        l.undo();
    }
    let mut dropped = 0u64;
    for node in task.live_nodes() {
        dropped += node.kill() as u64;
    }
    let watchers =
        task.extras.borrow_mut().as_mut().map(|e| std::mem::take(&mut e.watchers)).unwrap_or_default();
    // Tracked resources may hold handles on this very component: let them go (outside the
    // borrow, as their `Drop` may call back in).
    let resources = task.extras.borrow_mut().as_mut().map(|e| std::mem::take(&mut e.resources));
    drop_quietly(resources);
    match &cause {
        EndCause::Finished => task.end.set(EndKind::Finished),
        EndCause::Stopped => task.end.set(EndKind::Stopped),
        EndCause::Failed(_) | EndCause::Panicked(_) => {
            task.end.set(EndKind::Detailed);
            task.with_extras(|e| e.end = Some(cause.clone()));
        }
    }
    shared.bump(|s| {
        s.dropped_dead += dropped;
        s.ended += 1;
        if matches!(cause, EndCause::Panicked(_)) {
            s.panicked += 1;
        }
    });
    for w in watchers {
        if let Some(parent) = w.upgrade() {
            parent.with_extras(|e| {
                if e.children.contains(task.id) {
                    e.children.ended.push(ComponentRef { task: task.clone() });
                }
            });
            parent.wake();
        }
    }
}

pub(crate) fn request_stop(task: &Rc<Task>) {
    match task.state.get() {
        State::Done => {}
        State::Inactive => finish(task.clone(), EndCause::Stopped),
        _ => {
            task.stop_requested.set(true);
            task.wake();
        }
    }
}

pub(crate) fn wake_handle(task: &Rc<Task>) -> Option<WakeHandle> {
    match task.state.get() {
        State::Inactive | State::Done => None,
        _ => Some(WakeHandle { remote: task.shared.remote.clone(), key: task.key(), id: task.id }),
    }
}

/// The component being polled on `owner`'s scheduler, if one is.
pub(crate) fn current_task(owner: &Weak<Task>) -> Option<Weak<Task>> {
    let shared = owner.upgrade()?.shared.clone();
    let key = shared.current.get();
    let tasks = shared.tasks.borrow();
    let t = tasks.get(key)?;
    t.is_running().then(|| Rc::downgrade(t))
}

pub(crate) fn count_drop(owner: &Weak<Task>, dead: bool) {
    if let Some(t) = owner.upgrade() {
        t.shared.bump(|s| {
            if dead {
                s.dropped_dead += 1;
            } else {
                s.dropped_unlinked += 1;
            }
        });
    }
}

/// Returns `Pending` once, marking the running component as paused (or yielding); `Ready` when
/// polled again.
pub(crate) struct Pause {
    fired: bool,
    intent: Intent,
}

impl Future for Pause {
    type Output = ();

    #[inline]
    fn poll(mut self: Pin<&mut Self>, _: &mut std::task::Context<'_>) -> Poll<()> {
        if self.fired {
            Poll::Ready(())
        } else {
            self.fired = true;
            set_intent(self.intent);
            Poll::Pending
        }
    }
}

#[inline]
pub(crate) fn pause(intent: Intent) -> Pause {
    Pause { fired: false, intent }
}

/// The instant `after` from now; if that cannot be represented (`Duration::MAX`, say, for "no
/// time limit"), an instant about 30 years ahead, which never comes in practice. For deadlines
/// computed from a user's timeout, where `Instant + Duration` would panic.
///
/// ```
/// use std::time::{Duration, Instant};
/// assert!(axon_core::deadline_after(Duration::MAX) > Instant::now());
/// ```
pub fn deadline_after(after: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(after)
        .or_else(|| now.checked_add(Duration::from_secs(30 * 365 * 24 * 3600)))
        .unwrap_or(now)
}

/// A pause of the component that owns a box; returns at once if that component is gone.
#[inline]
pub(crate) fn pause_current(owner: &Weak<Task>) -> Pause {
    Pause { fired: owner.strong_count() == 0, intent: Intent::Pause }
}

/// The future of [`Context::sleep_until`](crate::Context::sleep_until).
pub(crate) struct Sleep {
    shared: Rc<Shared>,
    deadline: Instant,
    entry: Option<(Instant, u64)>,
}

impl Sleep {
    pub(crate) fn new(shared: Rc<Shared>, deadline: Instant) -> Self {
        Sleep { shared, deadline, entry: None }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, _: &mut std::task::Context<'_>) -> Poll<()> {
        if Instant::now() >= self.deadline {
            if let Some(e) = self.entry.take() {
                self.shared.timers.borrow_mut().remove(&e);
            }
            return Poll::Ready(());
        }
        if self.entry.is_none() {
            let key = self.shared.current.get();
            let id = self.shared.tasks.borrow().get(key).map(|t| t.id);
            if let Some(id) = id {
                let seq = self.shared.timer_seq.get();
                self.shared.timer_seq.set(seq + 1);
                let e = (self.deadline, seq);
                self.shared.timers.borrow_mut().insert(e, (key, id));
                self.entry = Some(e);
            }
        }
        set_intent(Intent::Pause);
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some(e) = self.entry.take() {
            self.shared.timers.borrow_mut().remove(&e);
        }
    }
}

/// Wakes one component from any thread (Axon's thread-safe `scheduler.wakeThread`). Cheap to
/// clone; waking a component that has ended does nothing.
#[derive(Clone)]
pub struct WakeHandle {
    remote: Arc<Remote>,
    key: usize,
    id: ComponentId,
}

impl WakeHandle {
    /// Counts `n` messages dropped on their way between a threaded component's thread and its
    /// boxes because one side had ended ([`Stats::dropped_dead`]).
    pub(crate) fn count_dropped(&self, n: u64) {
        self.remote.dropped_by_threads.fetch_add(n, Ordering::Relaxed);
    }

    /// Wakes the component: a queue push and, if the scheduler is parked, one unpark.
    pub fn wake(&self) {
        self.remote.wakes.lock().push((self.key, self.id));
        self.remote.notify();
    }

    /// The component this handle wakes.
    pub fn id(&self) -> ComponentId {
        self.id
    }
}

impl fmt::Debug for WakeHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WakeHandle").field("id", &self.id).finish()
    }
}

/// Wakes one component from the scheduler's own thread, e.g. from a [`Park`] implementation.
/// Cheaper than a [`WakeHandle`]: no lock, no atomic.
#[derive(Clone)]
pub struct LocalWaker {
    pub(crate) task: Weak<Task>,
}

impl LocalWaker {
    /// Wakes the component if it is paused.
    pub fn wake(&self) {
        if let Some(t) = self.task.upgrade() {
            t.wake();
        }
    }

    /// Whether the component has ended (or been dropped).
    pub fn is_finished(&self) -> bool {
        self.task.upgrade().is_none_or(|t| t.state.get() == State::Done)
    }
}

impl fmt::Debug for LocalWaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalWaker").finish_non_exhaustive()
    }
}

/// Asks a scheduler to stop from any thread: at the end of its current cycle it ends every
/// component (cause [`EndCause::Stopped`]) and `run` returns.
#[derive(Clone)]
pub struct StopHandle {
    remote: Arc<Remote>,
}

impl StopHandle {
    /// Requests the stop.
    pub fn stop(&self) {
        self.remote.stop.store(true, Ordering::SeqCst);
        self.remote.notify();
    }
}

impl fmt::Debug for StopHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StopHandle").finish_non_exhaustive()
    }
}

/// A scheduler: one thread's run queue, timers, service registry and the components on it.
///
/// It is not `Send`: it runs on the thread that made it. Other threads reach it through
/// [`WakeHandle`] and [`StopHandle`].
///
/// ```
/// use axon_core::{boxes, from_fn, BoxDecl, Scheduler};
/// const BOXES: &[BoxDecl] = &boxes::standard::<u32>();
///
/// let sched = Scheduler::new();
/// let producer = sched.create(from_fn(BOXES, |cx| async move {
///     let out = cx.outbox::<u32>("outbox")?;
///     for i in 0..3 { out.send(i)?; }
///     Ok(())
/// }));
/// let consumer = sched.create(from_fn(BOXES, |cx| async move {
///     let inbox = cx.inbox::<u32>("inbox")?;
///     let mut got = Vec::new();
///     while got.len() < 3 { got.push(inbox.recv_wait().await); }
///     assert_eq!(got, [0, 1, 2]);
///     Ok(())
/// }));
/// sched.link((&producer, "outbox"), (&consumer, "inbox")).unwrap();
/// sched.activate(&producer);
/// sched.activate(&consumer);
/// sched.run();
/// assert!(consumer.is_finished());
/// ```
pub struct Scheduler {
    shared: Rc<Shared>,
}

impl fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scheduler")
            .field("components", &self.shared.task_count())
            .field("queued", &self.shared.run_queue.borrow().len())
            .finish()
    }
}

impl Default for Scheduler {
    fn default() -> Self {
        Self::new()
    }
}

impl Scheduler {
    /// A scheduler for the current thread, with no components.
    pub fn new() -> Self {
        let thread_park = ThreadPark(std::thread::current());
        let remote = Arc::new(Remote {
            wakes: Mutex::new(Vec::new()),
            pending: AtomicBool::new(false),
            foreign: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            parked: AtomicBool::new(false),
            unpark: Mutex::new(thread_park.unparker()),
            dropped_by_threads: AtomicU64::new(0),
        });
        let waker = Waker::from(remote.clone());
        let shared = Rc::new(Shared {
            run_queue: RefCell::new(VecDeque::new()),
            tasks: RefCell::new(Slab::new()),
            current: Cell::new(NOT_POLLING),
            timers: RefCell::new(BTreeMap::new()),
            timer_seq: Cell::new(0),
            foreign: RefCell::new(Vec::new()),
            remote,
            waker,
            root: RefCell::new(Postoffice::default()),
            stats: Cell::new(Stats::default()),
            tracker: RefCell::new(Tracker::new()),
            resources: RefCell::new(HashMap::new()),
            park: RefCell::new(Some(Box::new(thread_park))),
            custom_park: Cell::new(false),
            polled_since_io: Cell::new(0),
            next: Cell::new(None),
        });
        Scheduler { shared }
    }

    /// Creates `component` on this scheduler without activating it: its boxes exist, so it can
    /// be linked, but `main` does not run until [`activate`](Self::activate).
    pub fn create<C: Component>(&self, component: C) -> ComponentRef {
        self.shared.create(component)
    }

    /// Activates a created component: it runs from the next cycle. Activating one that is
    /// already active or has ended does nothing.
    pub fn activate(&self, component: &ComponentRef) {
        self.shared.activate(component);
    }

    /// Creates and activates `component` (Axon's `activate()`).
    pub fn spawn<C: Component>(&self, component: C) -> ComponentRef {
        self.shared.spawn(component)
    }

    /// Links `from`'s outbox to `to`'s inbox. The linkage belongs to the scheduler, not to any
    /// component: it lasts until [`unlink`](Self::unlink) or the scheduler is dropped.
    ///
    /// # Errors
    /// See [`LinkError`]: an unknown box, a type mismatch, a source already linked, a loop, or
    /// a component made by another scheduler ([`LinkError::ForeignComponent`], naming it).
    pub fn link(&self, from: (&ComponentRef, &str), to: (&ComponentRef, &str)) -> Result<Linkage, LinkError> {
        self.link_with(from, to, LinkOptions::new())
    }

    /// Links with options (passthrough, pipewidth).
    ///
    /// # Errors
    /// As [`link`](Self::link).
    pub fn link_with(
        &self,
        from: (&ComponentRef, &str),
        to: (&ComponentRef, &str),
        opts: LinkOptions,
    ) -> Result<Linkage, LinkError> {
        crate::linkage::link_into(&self.shared, from, to, opts, |rec| {
            self.shared.root.borrow_mut().register(rec)
        })
    }

    /// Removes a linkage the scheduler made.
    ///
    /// # Errors
    /// [`LinkError::NotOwner`] if the scheduler did not make it (nothing changes).
    pub fn unlink(&self, linkage: &Linkage) -> Result<(), LinkError> {
        crate::linkage::unlink_from(linkage, |l| self.shared.root.borrow_mut().take(l))
    }

    /// Runs one cycle (see the module docs); returns how many components were polled.
    pub fn step(&self) -> usize {
        let n = self.shared.step();
        if self.shared.remote.stop.load(Ordering::SeqCst) {
            self.stop();
        }
        n
    }

    /// Runs cycles until nothing is runnable now (every component paused, no timer due, no
    /// wake pending), without blocking. For deterministic tests.
    pub fn run_until_idle(&self) {
        loop {
            self.step();
            if self.shared.is_idle() {
                self.shared.trim();
                return;
            }
        }
    }

    /// Runs until no components remain or [`StopHandle::stop`] is called, parking the thread
    /// whenever nothing is runnable (Axon's `runThreads`).
    pub fn run(&self) {
        loop {
            self.step();
            if self.shared.task_count() == 0 {
                self.shared.trim();
                return;
            }
            if self.shared.run_queue.borrow().is_empty() {
                self.shared.park(self.shared.next_deadline());
            }
        }
    }

    /// Runs, parking when idle, until `done()` is true (checked after every cycle) or `timeout`
    /// has passed. Returns whether `done()` became true. For tests and for glue code that drives
    /// a scheduler from a loop.
    ///
    /// `done()` is checked when the scheduler wakes: a condition that another thread makes true
    /// (a flag, a finished thread) is only seen at the next wake, so have that thread also wake
    /// a component ([`WakeHandle`]) or expect to wait until `timeout`.
    pub fn run_until(&self, timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
        // A timeout too large to represent means no deadline.
        let deadline = Instant::now().checked_add(timeout);
        loop {
            self.step();
            if done() {
                return true;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return false;
            }
            if self.shared.run_queue.borrow().is_empty() {
                let wake_at = match (self.shared.next_deadline(), deadline) {
                    (Some(t), Some(d)) => Some(t.min(d)),
                    (t, d) => t.or(d),
                };
                self.shared.park(wake_at);
            }
        }
    }

    /// Ends every component now (cause [`EndCause::Stopped`]), fixing Axon's zombie defect:
    /// paused components end too.
    pub fn stop(&self) {
        self.shared.remote.stop.store(false, Ordering::SeqCst);
        self.shared.stop_all();
    }

    /// A handle that stops this scheduler from any thread.
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle { remote: self.shared.remote.clone() }
    }

    /// How many components are active (activated and not ended).
    pub fn component_count(&self) -> usize {
        self.shared.task_count()
    }

    /// Every active component, paused or not (Axon's `listAllThreads`).
    #[doc(alias = "listAllThreads")]
    pub fn components(&self) -> Vec<ComponentRef> {
        self.shared.tasks.borrow().iter().map(|(_, t)| ComponentRef { task: t.clone() }).collect()
    }

    /// The drop and end counters.
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    /// The scheduler's service registry (Axon's CAT); see [`Tracker`].
    pub fn tracker(&self) -> std::cell::RefMut<'_, Tracker> {
        self.shared.tracker.borrow_mut()
    }

    /// Installs `park` as the way this scheduler blocks when idle (e.g. a reactor).
    pub fn set_park(&self, park: Box<dyn Park>) {
        self.shared.set_park(park);
    }

    /// A shared object of type `R` stored on this scheduler, if one was inserted.
    pub fn resource<R: 'static>(&self) -> Option<Rc<R>> {
        self.shared.resource()
    }

    /// Stores a shared object of type `R` (one per type), returning the previous one.
    pub fn insert_resource<R: 'static>(&self, r: Rc<R>) -> Option<Rc<R>> {
        self.shared.insert_resource(r)
    }

    /// The linkages the scheduler itself made.
    pub fn linkages(&self) -> Vec<Linkage> {
        self.shared.root.borrow().linkages()
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        self.shared.stop_all();
        let links = self.shared.root.borrow_mut().take_all();
        for l in links {
            l.undo();
        }
        // The registry and the resources may hold components (and contexts), which hold the
        // shared state: empty them or that cycle outlives the scheduler. Taken out before being
        // dropped, so a value whose drop reaches back into the scheduler finds them free.
        let tracker = std::mem::take(&mut *self.shared.tracker.borrow_mut());
        drop(tracker);
        let resources = std::mem::take(&mut *self.shared.resources.borrow_mut());
        drop(resources);
        self.shared.park.borrow_mut().take();
    }
}
