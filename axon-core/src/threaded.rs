//! Threaded components (`Axon.ThreadedComponent`): a blocking `main` on an OS thread of its
//! own, with the same boxes as any component.
//!
//! # How it works
//! [`Threaded`] wraps a [`ThreadedComponent`] as an ordinary [`Component`]: a proxy that runs on
//! the scheduler (Axon's `_localmain`) and owns the real boxes. Each declared box is bridged to
//! the thread by a bounded crossbeam channel of `queue_len` messages (Axon's `queuelengths`,
//! default 1000):
//!
//! - inbound, the proxy moves messages from each inbox into its channel while the channel has
//!   room — data boxes first, `control` last, so data is handed over before the control message
//!   that follows it — and wakes the thread;
//! - outbound, the thread's [`ThreadOutbox::send`] puts into the channel (refusing with
//!   [`NoSpaceInBox`] when it is full) and wakes the proxy, which moves messages into the real
//!   outbox while the destination has room. A full destination stalls the proxy until the
//!   consumer collects (wake rule 2), and the thread then sees `NoSpaceInBox`: a sender sees
//!   `inbox size + queue_len` of buffering in all, as in Axon.
//!
//! In one step the proxy moves at most 1024 messages through each box, then yields if there is
//! more: a thread that sends as fast as the proxy passes its messages on cannot hold the
//! scheduler's thread in one step.
//!
//! `link`, `unlink` and dynamic boxes called from the thread are carried out by the proxy on
//! the scheduler's thread while the calling thread waits for the reply, so the link graph is
//! never touched by two threads.
//!
//! # Ending
//! The component ends when the thread's `main` has returned *and* every outbound channel has
//! been flushed into its outbox — even if its inbound channels still hold messages. A panic or
//! error in the thread becomes the component's end cause. A thread cannot be killed: stopping
//! the component cuts the thread off (its receives return `None`, its sends are dropped) and
//! [`ThreadContext::is_stopped`] turns true; a well-behaved `main` checks it and returns. Every
//! message the thread was told it sent is then either passed on or counted in
//! [`Stats::dropped_dead`](crate::Stats): those still in the channel at the cut-off and those
//! sent after it. The other way, messages the thread never reads — left in an inbound channel
//! when the thread ends, or sent on after it has — are counted there too, once neither the
//! proxy nor any handle of the thread's can take them any more.
//!
//! ```
//! use std::time::Duration;
//! use axon_core::threaded::{self, Threaded, ThreadedComponent, ThreadContext};
//! use axon_core::{from_fn, BoxDecl, ComponentResult, Scheduler};
//!
//! /// Squares numbers on its own thread (imagine a blocking computation).
//! struct Squarer;
//! impl ThreadedComponent for Squarer {
//!     fn boxes(&self) -> &'static [BoxDecl] {
//!         const B: &[BoxDecl] = &threaded::standard::<u64>();
//!         B
//!     }
//!     fn main(self, cx: ThreadContext) -> ComponentResult {
//!         let inbox = cx.inbox::<u64>("inbox")?;
//!         let outbox = cx.outbox::<u64>("outbox")?;
//!         for _ in 0..3 {
//!             let n = inbox.recv().ok_or("stopped")?;
//!             outbox.send_wait(n * n);
//!         }
//!         Ok(())
//!     }
//! }
//!
//! const B: &[BoxDecl] = &axon_core::boxes::standard::<u64>();
//! let sched = Scheduler::new();
//! let sq = sched.create(Threaded::new(Squarer));
//! let sink = sched.create(from_fn(B, |cx| async move {
//!     let inbox = cx.inbox::<u64>("inbox")?;
//!     let mut got = Vec::new();
//!     while got.len() < 3 { got.push(inbox.recv_wait().await); }
//!     assert_eq!(got, [1, 4, 9]);
//!     Ok(())
//! }));
//! sched.link((&sq, "outbox"), (&sink, "inbox")).unwrap();
//! for n in 1u64..=3 { sq.deliver("inbox", n).unwrap(); }
//! sched.activate(&sq);
//! sched.activate(&sink);
//! assert!(sched.run_until(Duration::from_secs(10), || sq.is_finished() && sink.is_finished()));
//! ```

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, Sender, TryRecvError, TrySendError};
use parking_lot::{Condvar, Mutex};

use crate::boxes::{BoxDecl, Inbox, Outbox};
use crate::component::{Component, ComponentId, ComponentResult, Error};
use crate::context::Context;
use crate::error::{BoxError, Direction, LinkError, NoSpaceInBox};
use crate::linkage::{LinkOptions, Linkage};
use crate::scheduler::WakeHandle;

/// The default bound of each thread channel (Axon's `queuelengths`).
pub const DEFAULT_QUEUE_LEN: usize = 1000;

/// Builds a box's bridge: the proxy's pump and the thread's end of the channel.
pub(crate) type MakePump = fn(&Context, &str, Direction, usize) -> Result<Bridge, BoxError>;

pub(crate) struct Bridge {
    pump: Box<dyn Pump>,
    thread_end: ThreadEnd,
}

/// The thread's end of one bridged box: the channel end, and how to count what waits in it.
struct ThreadEnd {
    end: Box<dyn Any + Send>,
    len: Box<dyn Fn() -> usize + Send>,
}

/// An inbox whose messages can cross to a threaded component's thread.
pub const fn inbox<T: Send + 'static>(name: &'static str) -> BoxDecl {
    BoxDecl::inbox::<T>(name).with_pump(make_pump::<T>)
}

/// An outbox a threaded component's thread can send from.
pub const fn outbox<T: Send + 'static>(name: &'static str) -> BoxDecl {
    BoxDecl::outbox::<T>(name).with_pump(make_pump::<T>)
}

/// The four standard boxes, usable from a thread: `inbox`/`outbox` carrying `T`,
/// `control`/`signal` carrying [`Ipc`](crate::ipc::Ipc).
pub const fn standard<T: Send + 'static>() -> [BoxDecl; 4] {
    [
        inbox::<T>(crate::boxes::INBOX),
        inbox::<crate::ipc::Ipc>(crate::boxes::CONTROL),
        outbox::<T>(crate::boxes::OUTBOX),
        outbox::<crate::ipc::Ipc>(crate::boxes::SIGNAL),
    ]
}

/// The most messages the proxy moves through one box in one step. A thread that sends as fast
/// as the proxy passes its messages on would otherwise keep the proxy — and the scheduler's
/// thread — in a single step for as long as it went on; with the budget used up the proxy
/// yields, and the other components run before it continues.
const PUMP_BUDGET: usize = 1024;

/// The proxy's side of one bridged box.
trait Pump {
    fn name(&self) -> &str;
    fn direction(&self) -> Direction;
    /// Moves what it can, at most `budget` messages; returns how many moved.
    fn pump(&mut self, budget: usize) -> usize;
    /// Messages still waiting in the channel (outbound) — what must be flushed before ending.
    fn backlog(&self) -> usize;
    /// Cuts the thread's side off (its later sends fail) and gives back the outbound messages
    /// not yet sent on, which the component is ending without: the one taken out of the
    /// channel, if any, and how many more the channel holds (dropped with the channel).
    fn discard(&mut self) -> (Option<Box<dyn Any>>, usize) {
        (None, 0)
    }
}

struct InPump<T> {
    inbox: Inbox<T>,
    tx: Sender<T>,
    /// Counts what the thread leaves unread, once neither side can read it (and, through its
    /// `drops`, a message the pump could not pass on).
    leftovers: Arc<Leftovers<T>>,
}

/// What is left in an inbound channel once nobody can take from it any more: dropped, and
/// counted in [`Stats::dropped_dead`](crate::Stats). The proxy's pump and every thread-side
/// handle on the channel (the thread's end and each [`ThreadInbox`]) share it; whichever lets go
/// last runs its `Drop`, and by then no other reader is left, so the count is exact.
struct Leftovers<T> {
    rx: Receiver<T>,
    drops: WakeHandle,
}

impl<T> Drop for Leftovers<T> {
    fn drop(&mut self) {
        let mut n = 0;
        while let Ok(m) = self.rx.try_recv() {
            n += 1;
            crate::scheduler::drop_quietly(m);
        }
        if n > 0 {
            self.drops.count_dropped(n);
        }
    }
}

/// The thread's end of an inbound channel.
struct InEnd<T> {
    rx: Receiver<T>,
    leftovers: Arc<Leftovers<T>>,
}

impl<T> Clone for InEnd<T> {
    fn clone(&self) -> Self {
        InEnd { rx: self.rx.clone(), leftovers: self.leftovers.clone() }
    }
}

impl<T: 'static> Pump for InPump<T> {
    fn name(&self) -> &str {
        self.inbox.name()
    }
    fn direction(&self) -> Direction {
        Direction::Inbox
    }
    fn pump(&mut self, budget: usize) -> usize {
        let mut n = 0;
        while n < budget && !self.tx.is_full() {
            match self.inbox.recv() {
                Some(m) => {
                    if self.tx.try_send(m).is_err() {
                        // Cannot happen: only this pump fills the channel, and it checked for
                        // room; and the channel stays open while `leftovers` holds a receiver.
                        // Were it to, the message would still be counted.
                        self.leftovers.drops.count_dropped(1);
                        break;
                    }
                    n += 1;
                }
                None => break,
            }
        }
        n
    }
    fn backlog(&self) -> usize {
        0
    }
}

struct OutPump<T> {
    outbox: Outbox<T>,
    rx: Receiver<T>,
    /// A message taken from the channel that the destination had no room for.
    held: Option<T>,
    /// A sender kept only to count what the channel holds once `rx` has gone.
    probe: Sender<T>,
}

impl<T: 'static> Pump for OutPump<T> {
    fn name(&self) -> &str {
        self.outbox.name()
    }
    fn direction(&self) -> Direction {
        Direction::Outbox
    }
    fn pump(&mut self, budget: usize) -> usize {
        let mut n = 0;
        while n < budget {
            // Take from the channel only when the destination has room, so the buffering a
            // sender sees is exactly the queue plus the destination (as in Axon).
            if self.outbox.is_full() {
                self.outbox.wait_for_room();
                return n;
            }
            let msg = match self.held.take() {
                Some(m) => m,
                None => match self.rx.try_recv() {
                    Ok(m) => m,
                    Err(_) => return n,
                },
            };
            match self.outbox.send(msg) {
                Ok(()) => n += 1,
                Err(e) => {
                    self.held = Some(e.message);
                    return n;
                }
            }
        }
        n
    }
    fn backlog(&self) -> usize {
        self.rx.len() + usize::from(self.held.is_some())
    }
    fn discard(&mut self) -> (Option<Box<dyn Any>>, usize) {
        // Disconnect first: from here on the thread's sends fail, and the thread counts them.
        // What the channel holds then can no longer grow, so counting it misses nothing (a
        // count taken before the disconnect would miss a send landing in between). The
        // messages are dropped with the channel, when the thread lets go of its end.
        drop(std::mem::replace(&mut self.rx, crossbeam_channel::never()));
        let held = self.held.take().map(|m| Box::new(m) as Box<dyn Any>);
        (held, self.probe.len())
    }
}

fn make_pump<T: Send + 'static>(
    cx: &Context,
    name: &str,
    dir: Direction,
    cap: usize,
) -> Result<Bridge, BoxError> {
    match dir {
        Direction::Inbox => {
            let inbox = cx.inbox::<T>(name)?;
            let (tx, rx) = bounded::<T>(cap);
            let counter = rx.clone();
            let leftovers = Arc::new(Leftovers { rx: rx.clone(), drops: cx.wake_handle() });
            let end = InEnd { rx, leftovers: leftovers.clone() };
            let thread_end = ThreadEnd { end: Box::new(end), len: Box::new(move || counter.len()) };
            let pump = InPump { inbox, tx, leftovers };
            Ok(Bridge { pump: Box::new(pump), thread_end })
        }
        Direction::Outbox => {
            let outbox = cx.outbox::<T>(name)?;
            let (tx, rx) = bounded::<T>(cap);
            let (counter, probe) = (tx.clone(), tx.clone());
            let thread_end = ThreadEnd { end: Box::new(tx), len: Box::new(move || counter.len()) };
            Ok(Bridge { pump: Box::new(OutPump { outbox, rx, held: None, probe }), thread_end })
        }
    }
}

/// A component whose `main` is ordinary blocking code, run on an OS thread of its own (Axon's
/// `threadedcomponent`). Wrap it in [`Threaded`] to create or spawn it.
pub trait ThreadedComponent: Send + 'static {
    /// The declared boxes. Declare them with this module's [`inbox`], [`outbox`] or
    /// [`standard`], whose message types are `Send`; a box declared otherwise makes the
    /// component fail at activation with an error naming the box.
    fn boxes(&self) -> &'static [BoxDecl];

    /// The body, run on the component's own thread.
    ///
    /// # Errors
    /// An error ends the component with [`EndCause::Failed`](crate::EndCause::Failed).
    fn main(self, cx: ThreadContext) -> ComponentResult;
}

/// A [`ThreadedComponent`] made into a [`Component`]; see the module docs.
pub struct Threaded<C> {
    inner: C,
    queue_len: usize,
}

impl<C> fmt::Debug for Threaded<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Threaded").field("queue_len", &self.queue_len).finish_non_exhaustive()
    }
}

impl<C: ThreadedComponent> Threaded<C> {
    /// Wraps `inner` with the default queue length.
    pub fn new(inner: C) -> Self {
        Threaded { inner, queue_len: DEFAULT_QUEUE_LEN }
    }

    /// Sets the bound of each thread channel (Axon's `queuelengths`; at least 1).
    pub fn queue_len(mut self, n: usize) -> Self {
        self.queue_len = n.max(1);
        self
    }
}

/// What the thread asks the proxy to do on the scheduler's thread.
type Request = Box<dyn FnOnce(&Context, &mut Vec<Box<dyn Pump>>) + Send>;

/// Shared between the proxy and the thread.
struct Link {
    /// Set by the proxy to wake a paused thread.
    event: Mutex<bool>,
    cv: Condvar,
    /// The thread's `main` has returned (or panicked).
    done: AtomicBool,
    /// The proxy has ended: the thread is cut off.
    stopped: AtomicBool,
    /// Set by a thread's send that woke the proxy, cleared by the proxy before it drains: while
    /// set, further sends need not wake it again; any send after the clear does.
    proxy_notified: AtomicBool,
    outcome: Mutex<Option<ComponentResult>>,
}

impl Link {
    fn signal(&self) {
        *self.event.lock() = true;
        self.cv.notify_all();
    }

    fn wait(&self, timeout: Option<Duration>) {
        let mut ev = self.event.lock();
        if !*ev {
            match timeout {
                Some(t) => {
                    let _ = self.cv.wait_for(&mut ev, t);
                }
                None => self.cv.wait(&mut ev),
            }
        }
        *ev = false;
    }
}

impl<C: ThreadedComponent> Component for Threaded<C> {
    fn boxes(&self) -> &'static [BoxDecl] {
        self.inner.boxes()
    }

    async fn main(self, cx: Context) -> ComponentResult {
        let cap = self.queue_len;
        let mut pumps: Vec<Box<dyn Pump>> = Vec::new();
        let mut ends: HashMap<(Direction, String), ThreadEnd> = HashMap::new();
        for decl in self.inner.boxes() {
            let make = decl.pump().ok_or_else(|| -> Error {
                format!(
                    "box {:?} of threaded component {} is not declared with threaded::inbox/outbox \
                     (its type must be Send)",
                    decl.name(),
                    cx.name()
                )
                .into()
            })?;
            let bridge = make(&cx, decl.name(), decl.direction(), cap)?;
            ends.insert((decl.direction(), decl.name().to_owned()), bridge.thread_end);
            pumps.push(bridge.pump);
        }
        // Data boxes before `control`, so data is handed over before the message that ends it.
        pumps.sort_by_key(|p| p.name() == crate::boxes::CONTROL);
        let link = Arc::new(Link {
            event: Mutex::new(false),
            cv: Condvar::new(),
            done: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
            proxy_notified: AtomicBool::new(false),
            outcome: Mutex::new(None),
        });
        let (req_tx, req_rx) = crossbeam_channel::unbounded::<(Request, Sender<()>)>();
        let wake = cx.wake_handle();
        let wake_for_drops = wake.clone();
        let tcx = ThreadContext {
            id: cx.id(),
            name: cx.name(),
            ends: Mutex::new(ends),
            link: link.clone(),
            wake: wake.clone(),
            requests: req_tx,
            queue_len: cap,
        };
        let inner = self.inner;
        let thread_link = link.clone();
        std::thread::Builder::new().name(cx.name()).spawn(move || {
            let result = match catch_unwind(AssertUnwindSafe(|| inner.main(tcx))) {
                Ok(r) => r,
                Err(p) => Err(crate::scheduler::panic_message(&*p).into()),
            };
            *thread_link.outcome.lock() = Some(result);
            thread_link.done.store(true, Ordering::SeqCst);
            wake.wake();
        })?;
        // Owns the pumps from here on, so that however the proxy ends they are gone (the
        // thread's sends fail, and are counted) before the thread is told it is cut off.
        let mut guard = CutOff { link: link.clone(), pumps, wake: wake_for_drops };
        let pumps = &mut guard.pumps;
        let mut requests_pending: Vec<(Request, Sender<()>)> = Vec::new();
        loop {
            let done = link.done.load(Ordering::SeqCst);
            link.proxy_notified.store(false, Ordering::SeqCst);
            let mut moved_in = 0;
            let mut moved_out = 0;
            // A box that used its whole budget may have more: run again next cycle.
            let mut more = false;
            for p in pumps.iter_mut() {
                let n = p.pump(PUMP_BUDGET);
                more |= n >= PUMP_BUDGET;
                match p.direction() {
                    Direction::Inbox => moved_in += n,
                    Direction::Outbox => moved_out += n,
                }
            }
            // Run the requests that were queued when this iteration began.
            requests_pending.extend(req_rx.try_iter());
            for (req, reply) in requests_pending.drain(..) {
                req(&cx, pumps);
                let _ = reply.send(());
            }
            if moved_in > 0 || moved_out > 0 {
                link.signal();
            }
            if done && pumps.iter().all(|p| p.backlog() == 0) {
                let outcome = link.outcome.lock().take();
                return outcome.unwrap_or(Ok(()));
            }
            if more {
                cx.yield_now().await;
            } else {
                cx.pause().await;
            }
        }
    }
}

/// Cuts the thread off when the proxy ends, however it ends: drops the pumps (their channels
/// disconnect, so the thread's later sends fail and are counted as dropped), counts the
/// messages the thread had sent that were never passed on, then tells the thread.
struct CutOff {
    /// The thread's side of the hand-over.
    link: Arc<Link>,
    /// The bridges between the component's boxes and the thread's channels.
    pumps: Vec<Box<dyn Pump>>,
    /// Reaches the scheduler's drop counter.
    wake: WakeHandle,
}

impl Drop for CutOff {
    fn drop(&mut self) {
        let mut pumps = std::mem::take(&mut self.pumps);
        let mut held = Vec::new();
        let mut lost = 0;
        for p in &mut pumps {
            let (h, queued) = p.discard();
            lost += queued + usize::from(h.is_some());
            held.extend(h);
        }
        self.wake.count_dropped(lost as u64);
        self.link.stopped.store(true, Ordering::SeqCst);
        self.link.signal();
        // The messages go last, each on its own (with the pumps' channels, those still queued
        // there): one whose `Drop` panics cannot keep the thread from learning it was cut off.
        for m in held {
            crate::scheduler::drop_quietly(m);
        }
        for p in pumps {
            crate::scheduler::drop_quietly(p);
        }
    }
}

/// A threaded component's view of its boxes, used from its own thread. It is `Send`; the
/// calls that touch the link graph wait for the scheduler's thread to carry them out.
pub struct ThreadContext {
    id: ComponentId,
    name: String,
    ends: Mutex<HashMap<(Direction, String), ThreadEnd>>,
    link: Arc<Link>,
    wake: WakeHandle,
    requests: Sender<(Request, Sender<()>)>,
    queue_len: usize,
}

impl fmt::Debug for ThreadContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadContext").field("name", &self.name).finish_non_exhaustive()
    }
}

impl ThreadContext {
    /// The component's id.
    pub fn id(&self) -> ComponentId {
        self.id
    }

    /// The component's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the component has been stopped (or its proxy has otherwise ended): the thread
    /// is cut off and should return.
    pub fn is_stopped(&self) -> bool {
        self.link.stopped.load(Ordering::SeqCst)
    }

    fn end<E: Any + Clone>(
        &self,
        dir: Direction,
        name: &str,
        type_name: &'static str,
    ) -> Result<E, BoxError> {
        let ends = self.ends.lock();
        let bn = || crate::error::BoxName {
            component: self.name.clone(),
            id: self.id,
            direction: dir,
            name: name.to_owned(),
        };
        let end = ends.get(&(dir, name.to_owned())).ok_or_else(|| {
            let names: Vec<_> = ends.keys().filter(|(d, _)| *d == dir).map(|(_, n)| n.clone()).collect();
            BoxError::UnknownBox(bn(), names.join(", "))
        })?;
        end.end.downcast_ref::<E>().cloned().ok_or_else(|| BoxError::TypeMismatch {
            box_name: bn(),
            actual: "another type",
            requested: type_name,
        })
    }

    /// A handle on inbox `name` for this thread.
    ///
    /// # Errors
    /// [`BoxError`] if there is no such inbox or it carries another type.
    pub fn inbox<T: Send + 'static>(&self, name: &str) -> Result<ThreadInbox<T>, BoxError> {
        let end = self.end::<InEnd<T>>(Direction::Inbox, name, std::any::type_name::<T>())?;
        Ok(ThreadInbox {
            rx: end.rx,
            wake: self.wake.clone(),
            link: self.link.clone(),
            cap: self.queue_len,
            _leftovers: end.leftovers,
        })
    }

    /// A handle on outbox `name` for this thread.
    ///
    /// # Errors
    /// [`BoxError`] if there is no such outbox or it carries another type.
    pub fn outbox<T: Send + 'static>(&self, name: &str) -> Result<ThreadOutbox<T>, BoxError> {
        let tx = self.end::<Sender<T>>(Direction::Outbox, name, std::any::type_name::<T>())?;
        Ok(ThreadOutbox { tx, wake: self.wake.clone(), link: self.link.clone() })
    }

    /// Sends `msg` out of outbox `name`; see [`ThreadOutbox::send`].
    ///
    /// # Errors
    /// [`ThreadSendError`] with the message.
    pub fn send<T: Send + 'static>(&self, msg: T, name: &str) -> Result<(), ThreadSendError<T>> {
        match self.outbox::<T>(name) {
            Ok(o) => o.send(msg).map_err(ThreadSendError::NoSpace),
            Err(e) => Err(ThreadSendError::BadBox(msg, e)),
        }
    }

    /// Takes a message from inbox `name` without blocking.
    ///
    /// # Errors
    /// [`BoxError`] if there is no such inbox or it carries another type.
    pub fn recv<T: Send + 'static>(&self, name: &str) -> Result<Option<T>, BoxError> {
        Ok(self.inbox::<T>(name)?.try_recv())
    }

    /// How many messages wait for this thread on inbox `name` (Axon's threaded `dataReady`;
    /// 0 for an unknown box).
    pub fn data_ready(&self, name: &str) -> usize {
        self.ends.lock().get(&(Direction::Inbox, name.to_owned())).map_or(0, |e| (e.len)())
    }

    /// Blocks until the proxy hands over messages or moves the thread's output on, or until
    /// `timeout` (Axon's threaded `pause(timeout)`).
    pub fn pause(&self, timeout: Option<Duration>) {
        self.link.wait(timeout);
    }

    /// Runs `f` with the proxy's [`Context`] on the scheduler's thread and returns its result,
    /// waiting for it (Axon's `_do_threadsafe`). `None` if the component has been stopped.
    pub fn call<R: Send + 'static>(&self, f: impl FnOnce(&Context) -> R + Send + 'static) -> Option<R> {
        self.request(move |cx, _| f(cx))
    }

    fn request<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Context, &mut Vec<Box<dyn Pump>>) -> R + Send + 'static,
    ) -> Option<R> {
        let (rtx, rrx) = bounded::<R>(1);
        let (done_tx, done_rx) = bounded::<()>(1);
        let req: Request = Box::new(move |cx, pumps| {
            let _ = rtx.send(f(cx, pumps));
        });
        if self.is_stopped() || self.requests.send((req, done_tx)).is_err() {
            return None;
        }
        self.wake.wake();
        // Answered, or disconnected because the proxy (and the queued request) is gone.
        let _ = done_rx.recv();
        rrx.try_recv().ok()
    }

    /// A round trip through the scheduler's thread that does nothing (Axon's `sync`).
    pub fn sync(&self) {
        let _ = self.call(|_| ());
    }

    /// Links two boxes, by component id, on the scheduler's thread; the linkage belongs to this
    /// component.
    ///
    /// # Errors
    /// [`LinkError`] as for [`Context::link_with`]; [`LinkError::ForeignComponent`] if an id
    /// names no active component of this scheduler (or the component was stopped).
    pub fn link(
        &self,
        from: (ComponentId, &str),
        to: (ComponentId, &str),
        opts: LinkOptions,
    ) -> Result<Linkage, LinkError> {
        let (fid, fbox, tid, tbox) = (from.0, from.1.to_owned(), to.0, to.1.to_owned());
        self.call(move |cx| {
            let f = cx.find(fid).ok_or_else(|| LinkError::ForeignComponent(fid.to_string()))?;
            let t = cx.find(tid).ok_or_else(|| LinkError::ForeignComponent(tid.to_string()))?;
            cx.link_with((&f, &fbox), (&t, &tbox), opts)
        })
        .unwrap_or_else(|| Err(LinkError::ForeignComponent(self.name.clone())))
    }

    /// Removes a linkage this component made, on the scheduler's thread.
    ///
    /// # Errors
    /// [`LinkError::NotOwner`] as for [`Context::unlink`].
    pub fn unlink(&self, linkage: &Linkage) -> Result<(), LinkError> {
        let l = linkage.clone();
        self.call(move |cx| cx.unlink(&l)).unwrap_or_else(|| Err(LinkError::NotOwner(linkage.to_string())))
    }

    /// Adds an inbox carrying `T` (Axon's threaded adaptive `addInbox`) and bridges it to this
    /// thread; returns its name.
    pub fn add_inbox<T: Send + 'static>(&self, base: &str) -> Option<String> {
        self.add_box::<T>(Direction::Inbox, base)
    }

    /// Adds an outbox carrying `T`, bridged to this thread; returns its name.
    pub fn add_outbox<T: Send + 'static>(&self, base: &str) -> Option<String> {
        self.add_box::<T>(Direction::Outbox, base)
    }

    fn add_box<T: Send + 'static>(&self, dir: Direction, base: &str) -> Option<String> {
        let base = base.to_owned();
        let cap = self.queue_len;
        let (name, end) = self.request(move |cx, pumps| {
            let name = match dir {
                Direction::Inbox => cx.add_inbox::<T>(&base),
                Direction::Outbox => cx.add_outbox::<T>(&base),
            };
            let bridge = make_pump::<T>(cx, &name, dir, cap).ok()?;
            pumps.push(bridge.pump);
            Some((name, bridge.thread_end))
        })??;
        self.ends.lock().insert((dir, name.clone()), end);
        Some(name)
    }
}

/// The thread's end of a bridged inbox.
pub struct ThreadInbox<T> {
    rx: Receiver<T>,
    wake: WakeHandle,
    link: Arc<Link>,
    cap: usize,
    /// Counts what is left unread once every handle on the channel has gone.
    _leftovers: Arc<Leftovers<T>>,
}

impl<T> fmt::Debug for ThreadInbox<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadInbox").field("ready", &self.rx.len()).finish()
    }
}

impl<T: Send + 'static> ThreadInbox<T> {
    fn taken(&self) {
        // The proxy stops refilling when the channel is full; tell it there is room again.
        if self.rx.len() + 1 >= self.cap {
            self.wake.wake();
        }
    }

    /// Blocks until a message arrives; `None` once the component has been stopped and nothing
    /// is left (Axon's threaded `recv`).
    pub fn recv(&self) -> Option<T> {
        // When the proxy ends, its end of the channel goes with it and this returns.
        let m = self.rx.recv().ok()?;
        self.taken();
        Some(m)
    }

    /// Waits up to `timeout` for a message.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<T> {
        let deadline = crate::deadline_after(timeout);
        loop {
            if let Some(m) = self.try_recv() {
                return Some(m);
            }
            let now = Instant::now();
            if now >= deadline || self.link.stopped.load(Ordering::SeqCst) {
                return None;
            }
            match self.rx.recv_timeout(deadline - now) {
                Ok(m) => {
                    self.taken();
                    return Some(m);
                }
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return None,
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
            }
        }
    }

    /// Takes a message if one is waiting.
    pub fn try_recv(&self) -> Option<T> {
        match self.rx.try_recv() {
            Ok(m) => {
                self.taken();
                Some(m)
            }
            Err(TryRecvError::Empty | TryRecvError::Disconnected) => None,
        }
    }

    /// How many messages wait for the thread (Axon's threaded `dataReady`).
    pub fn data_ready(&self) -> usize {
        self.rx.len()
    }
}

/// The thread's end of a bridged outbox.
pub struct ThreadOutbox<T> {
    tx: Sender<T>,
    wake: WakeHandle,
    link: Arc<Link>,
}

impl<T> fmt::Debug for ThreadOutbox<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadOutbox").field("queued", &self.tx.len()).finish()
    }
}

impl<T: Send + 'static> ThreadOutbox<T> {
    /// Queues `msg` for the proxy to send (Axon's threaded `send`). After the component has been
    /// stopped, messages are dropped and counted ([`Stats::dropped_dead`](crate::Stats)).
    ///
    /// # Errors
    /// [`NoSpaceInBox`] with the message when the channel is full: the destination has not kept
    /// up.
    pub fn send(&self, msg: T) -> Result<(), NoSpaceInBox<T>> {
        match self.tx.try_send(msg) {
            Ok(()) => {
                if !self.link.proxy_notified.swap(true, Ordering::SeqCst) {
                    self.wake.wake();
                }
                Ok(())
            }
            Err(TrySendError::Full(message)) => {
                self.wake.wake();
                Err(NoSpaceInBox { message, capacity: self.tx.capacity().unwrap_or(usize::MAX) })
            }
            Err(TrySendError::Disconnected(_)) => {
                self.wake.count_dropped(1);
                Ok(())
            }
        }
    }

    /// Queues `msg`, blocking while the channel is full.
    pub fn send_wait(&self, msg: T) {
        let mut msg = msg;
        loop {
            match self.send(msg) {
                Ok(()) => return,
                Err(e) => msg = e.message,
            }
            if self.link.stopped.load(Ordering::SeqCst) {
                return;
            }
            // The proxy signals whenever it moves this thread's output on, and when it ends.
            self.link.wait(None);
        }
    }
}

/// The outcome of a failed [`ThreadContext::send`]; the message is handed back.
#[derive(Debug)]
pub enum ThreadSendError<T> {
    /// The channel is full.
    NoSpace(NoSpaceInBox<T>),
    /// No such outbox, or another type.
    BadBox(T, BoxError),
}

impl<T> fmt::Display for ThreadSendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ThreadSendError::NoSpace(e) => e.fmt(f),
            ThreadSendError::BadBox(_, e) => e.fmt(f),
        }
    }
}

impl<T: fmt::Debug> std::error::Error for ThreadSendError<T> {}
