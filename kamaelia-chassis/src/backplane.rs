//! Backplanes (`Kamaelia.Util.Backplane`): named publish/subscribe buses. A [`Backplane`] owns a
//! [`Splitter`]; [`PublishTo`] components feed it and [`SubscribeTo`] components each receive a
//! copy of everything published after they joined.
//!
//! # Finding a backplane
//! When a `Backplane` activates it registers two services in its scheduler's registry
//! ([`Context::tracker`], Axon's CAT), under Kamaelia's names: [`publish_service`]
//! (`Backplane_I_<name>`, the splitter's `inbox`) and [`subscribe_service`]
//! (`Backplane_O_<name>`, the splitter's `configuration`). `PublishTo`/`SubscribeTo` look them
//! up when they activate, so **activate the `Backplane` before its publishers and
//! subscribers** (Kamaelia likewise required the backplane to be constructed first); an unknown
//! name ends them with [`BackplaneError::UnknownBackplane`]. The registry is per scheduler, so
//! the same name on two schedulers names two backplanes.
//!
//! # Slow subscribers
//! Policy: **bounded subscriber queues, and drop-newest with a counter for the subscriber that
//! is full**. Each `SubscribeTo` bounds its own inbox ([`SubscribeTo::queue_limit`], default
//! [`DEFAULT_QUEUE_LIMIT`]); when it is full, new messages are dropped *for that subscriber
//! only* and counted ([`SubscribeTo::dropped`], [`SplitterStats::dropped`]). The publisher is
//! never held up and the other subscribers keep receiving.
//!
//! Why not make the publisher wait? Publishing is one splitter feeding every subscriber: if
//! it waited for the slowest, one stalled subscriber (a chat client that stopped reading) would
//! stall the whole bus and every other subscriber with it. A bus is for broadcasting state and
//! events, where a late copy is worth less than a live system; a consumer that must see every
//! message should be linked directly (or through a [`Splitter`] it controls), where
//! backpressure is per link. Kamaelia's subscriber inboxes were unbounded instead, and a
//! bounded one crashed its splitter.
//!
//! A `SubscribeTo` forwards to its `outbox` only while the destination has room, so a consumer
//! with a bounded inbox (a `pipewidth` on the link, or [`Context::set_inbox_size`]) pushes the
//! bound through to the subscriber's queue: the memory one subscriber can take is its own
//! queue plus its consumer's inbox. A consumer left unbounded takes what it is sent.

use std::fmt;
use std::marker::PhantomData;

use axon_core::boxes::{CONTROL, INBOX, OUTBOX, SIGNAL};
use axon_core::ipc::Ipc;
use axon_core::{BoxDecl, Component, ComponentRef, ComponentResult, Context, LinkOptions, Passthrough};

use crate::splitter::{DropCounter, Sink, Splitter, SplitterConfig, SplitterStats, CONFIGURATION};

/// The default bound, in messages, of each subscriber's queue (Axon's default `queuelengths`).
pub const DEFAULT_QUEUE_LIMIT: usize = 1000;

/// The default bound, in messages, of a backplane's own inbox, which all its publishers feed.
/// The splitter empties it every time it runs, handing at most this many messages to each
/// subscriber per scheduler cycle: kept well under [`DEFAULT_QUEUE_LIMIT`], a subscriber must
/// fall several cycles behind before it misses anything.
pub const DEFAULT_BACKPLANE_INBOX: usize = 100;

/// The registry name under which a backplane takes publications: `Backplane_I_<name>`.
pub fn publish_service(name: &str) -> String {
    format!("Backplane_I_{name}")
}

/// The registry name under which a backplane takes subscriptions: `Backplane_O_<name>`.
pub fn subscribe_service(name: &str) -> String {
    format!("Backplane_O_{name}")
}

/// Why a [`PublishTo`] or [`SubscribeTo`] could not join its backplane.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BackplaneError {
    /// No backplane of that name is active on this scheduler (Kamaelia raised `KeyError`).
    UnknownBackplane(String),
}

impl fmt::Display for BackplaneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BackplaneError::UnknownBackplane(name) => write!(
                f,
                "no backplane named {name:?} on this scheduler (activate the Backplane before its \
                 PublishTo/SubscribeTo)"
            ),
        }
    }
}

impl std::error::Error for BackplaneError {}

/// Looks up a backplane service, mapping "unknown" to [`BackplaneError`].
fn lookup(cx: &Context, service: &str, name: &str) -> Result<(ComponentRef, String), BackplaneError> {
    cx.tracker().retrieve_service(service).map_err(|_| BackplaneError::UnknownBackplane(name.to_owned()))
}

/// The box declarations of a `Backplane<T>`, `PublishTo<T>` and `SubscribeTo<T>`.
struct Decls<T>(PhantomData<T>);

impl<T: 'static> Decls<T> {
    const BACKPLANE: &'static [BoxDecl] = &[
        BoxDecl::inbox::<T>(INBOX).doc("unused"),
        BoxDecl::inbox::<Ipc>(CONTROL)
            .doc("passed through to the splitter: a stop message ends the backplane"),
        BoxDecl::outbox::<T>(OUTBOX).doc("unused"),
        BoxDecl::outbox::<Ipc>(SIGNAL).doc("the splitter's signal: control messages, as they pass"),
    ];
    const PUBLISH: &'static [BoxDecl] = &[
        BoxDecl::inbox::<T>(INBOX).doc("messages to publish (passed straight to the backplane)"),
        BoxDecl::inbox::<Ipc>(CONTROL).doc("echoed to signal; a stop message ends this PublishTo only"),
        BoxDecl::outbox::<T>(OUTBOX).doc("unused"),
        BoxDecl::outbox::<Ipc>(SIGNAL).doc("the control messages, echoed"),
    ];
    const SUBSCRIBE: &'static [BoxDecl] = &[
        BoxDecl::inbox::<T>(INBOX).doc("internal: the subscriber's bounded queue, fed by the backplane"),
        BoxDecl::inbox::<Ipc>(CONTROL).doc("a stop message ends the subscription"),
        BoxDecl::outbox::<T>(OUTBOX).doc("every message published since it joined"),
        BoxDecl::outbox::<Ipc>(SIGNAL).doc("the stop message, as it ends"),
    ];
}

/// A named publish/subscribe bus (Kamaelia's `Backplane(name)`); see the [module docs](self).
/// `T: Clone` because each subscriber gets its own copy: for large messages use a cheaply
/// cloned type such as `bytes::Bytes` or `Arc<...>`, so the copies share one buffer.
///
/// # Inboxes
/// - `control` ([`Ipc`]): passed through to its splitter. A stop message ([`Ipc::is_stop`])
///   reaches every subscriber's `control` (each then ends) and ends the backplane.
/// - `inbox` (`T`): unused; publish through [`PublishTo`].
///
/// # Outboxes
/// - `signal` ([`Ipc`]): every control message, as the splitter passes it on.
/// - `outbox` (`T`): unused.
///
/// # Shutdown
/// A stop message on `control` ends the splitter, after forwarding the message to every
/// subscriber; then the backplane deregisters its services and ends, and its name is free
/// again. Publishers stay up (their messages are dropped and counted by the scheduler) until
/// told otherwise.
///
/// # Errors
/// `main` fails with [`TrackerError::ServiceAlreadyExists`] if a backplane of the same name
/// is already active on the scheduler.
///
/// [`TrackerError::ServiceAlreadyExists`]: axon_core::tracker::TrackerError::ServiceAlreadyExists
///
/// ```
/// use axon_core::{boxes, from_fn, BoxDecl, Scheduler};
/// use kamaelia_chassis::{Backplane, PublishTo, SubscribeTo};
/// const STD: &[BoxDecl] = &boxes::standard::<String>();
///
/// let sched = Scheduler::new();
/// sched.spawn(Backplane::<String>::new("CHAT"));
/// let publisher = sched.spawn(PublishTo::<String>::new("CHAT"));
/// let alice = sched.spawn(SubscribeTo::<String>::new("CHAT"));
/// let bob = sched.spawn(SubscribeTo::<String>::new("CHAT"));
/// let alice_screen = sched.create(from_fn(STD, |_| async { Ok(()) }));
/// let bob_screen = sched.create(from_fn(STD, |_| async { Ok(()) }));
/// sched.link((&alice, "outbox"), (&alice_screen, "inbox")).unwrap();
/// sched.link((&bob, "outbox"), (&bob_screen, "inbox")).unwrap();
/// sched.run_until_idle(); // everyone has joined
///
/// publisher.deliver("inbox", "hello".to_string()).unwrap();
/// sched.run_until_idle();
/// assert_eq!(alice_screen.data_ready("inbox"), 1);
/// assert_eq!(bob_screen.data_ready("inbox"), 1);
/// ```
pub struct Backplane<T> {
    name: String,
    inbox_size: usize,
    stats: SplitterStats,
    _data: PhantomData<fn(T) -> T>,
}

impl<T> fmt::Debug for Backplane<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Backplane")
            .field("name", &self.name)
            .field("data", &std::any::type_name::<T>())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl<T: Clone + 'static> Backplane<T> {
    /// A backplane called `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Backplane {
            name: name.into(),
            inbox_size: DEFAULT_BACKPLANE_INBOX,
            stats: SplitterStats::default(),
            _data: PhantomData,
        }
    }

    /// Bounds the splitter's inbox, which every publisher feeds, to `n` messages (default
    /// [`DEFAULT_BACKPLANE_INBOX`]). The splitter empties it every time it runs, so this only
    /// limits what publishers may send within one scheduler cycle; a publisher using
    /// `send_wait` waits, one using `send` gets `NoSpaceInBox` back.
    pub fn inbox_size(mut self, n: usize) -> Self {
        self.inbox_size = n.max(1);
        self
    }

    /// A live view of the bus's counters: messages published, copies dropped for full
    /// subscribers, subscribers attached.
    pub fn stats(&self) -> SplitterStats {
        self.stats.clone()
    }

    /// The backplane's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Deregisters a backplane's services however its `main` ends (returns, fails, or is dropped
/// because the component was stopped), so the name is free again.
struct Registered {
    cx: Context,
    services: [String; 2],
}

impl Drop for Registered {
    fn drop(&mut self) {
        let mut tracker = self.cx.tracker();
        for s in &self.services {
            let _ = tracker.deregister_service(s);
        }
    }
}

impl<T: Clone + 'static> Component for Backplane<T> {
    fn boxes(&self) -> &'static [BoxDecl] {
        Decls::<T>::BACKPLANE
    }

    async fn main(self, cx: Context) -> ComponentResult {
        let me = cx.me();
        let splitter =
            cx.create(Splitter::<T>::new().inbox_size(self.inbox_size).with_stats(self.stats.clone()));
        let (input, output) = (publish_service(&self.name), subscribe_service(&self.name));
        {
            let mut tracker = cx.tracker();
            tracker.register_service(&input, &splitter, INBOX)?;
            if let Err(e) = tracker.register_service(&output, &splitter, CONFIGURATION) {
                let _ = tracker.deregister_service(&input);
                return Err(e.into());
            }
        }
        let _registered = Registered { cx: cx.clone(), services: [input, output] };
        cx.link_with(
            (&me, CONTROL),
            (&splitter, CONTROL),
            LinkOptions::new().passthrough(Passthrough::Inbound),
        )?;
        cx.link_with(
            (&splitter, SIGNAL),
            (&me, SIGNAL),
            LinkOptions::new().passthrough(Passthrough::Outbound),
        )?;
        cx.add_children(std::slice::from_ref(&splitter));
        cx.activate(&splitter);
        while !cx.children_done() {
            cx.pause().await;
        }
        Ok(())
    }
}

/// Publishes everything sent to its `inbox` on the backplane called `name` (Kamaelia's
/// `PublishTo(name)`).
///
/// Its `inbox` is passthrough-linked into the backplane's splitter, so a message sent to it
/// lands directly in the splitter: the `PublishTo` never handles the data.
///
/// # Inboxes
/// - `inbox` (`T`): messages to publish. The backplane's inbox is bounded (see
///   [`Backplane::inbox_size`]): send with `send_wait`.
/// - `control` ([`Ipc`]): echoed to `signal`; a stop message ends this `PublishTo` (never the
///   backplane).
///
/// # Outboxes
/// - `signal` ([`Ipc`]): the control messages, echoed.
/// - `outbox` (`T`): unused (Kamaelia's forwarder mode is not ported).
///
/// # Shutdown
/// A stop message on `control` is echoed on `signal`, then the `PublishTo` unlinks from the
/// backplane and ends; anything sent to it afterwards is dropped and counted by the scheduler.
///
/// # Errors
/// `main` fails with [`BackplaneError::UnknownBackplane`] if no backplane of that name is
/// active, and with a [`LinkError`](axon_core::LinkError) naming both boxes if the backplane
/// carries another type than `T`.
pub struct PublishTo<T> {
    name: String,
    _data: PhantomData<fn(T) -> T>,
}

impl<T> fmt::Debug for PublishTo<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublishTo")
            .field("name", &self.name)
            .field("data", &std::any::type_name::<T>())
            .finish()
    }
}

impl<T: Clone + 'static> PublishTo<T> {
    /// A publisher to the backplane called `name`.
    pub fn new(name: impl Into<String>) -> Self {
        PublishTo { name: name.into(), _data: PhantomData }
    }
}

impl<T: Clone + 'static> Component for PublishTo<T> {
    fn boxes(&self) -> &'static [BoxDecl] {
        Decls::<T>::PUBLISH
    }

    async fn main(self, cx: Context) -> ComponentResult {
        let (splitter, inbox) = lookup(&cx, &publish_service(&self.name), &self.name)?;
        cx.link_with(
            (&cx.me(), INBOX),
            (&splitter, &inbox),
            LinkOptions::new().passthrough(Passthrough::Inbound),
        )?;
        let control = cx.inbox::<Ipc>(CONTROL)?;
        let signal = cx.outbox::<Ipc>(SIGNAL)?;
        loop {
            while let Some(msg) = control.recv() {
                let stop = msg.is_stop();
                signal.send(msg).ok();
                if stop {
                    return Ok(());
                }
            }
            cx.pause().await;
        }
    }
}

/// Receives a copy of every message published on the backplane called `name` after it has
/// joined, and sends it on its `outbox` (Kamaelia's `SubscribeTo(name)`).
///
/// # Inboxes
/// - `control` ([`Ipc`]): a stop message ends the subscription. The backplane sends its own
///   stop message here when it shuts down.
/// - `inbox` (`T`): internal — the subscriber's bounded queue, which the backplane fills.
///
/// # Outboxes
/// - `outbox` (`T`): the messages, in the order published. It forwards only while the
///   destination has room (see the [module docs](self) on slow subscribers).
/// - `signal` ([`Ipc`]): the stop message, as it ends.
///
/// # Shutdown
/// On `ProducerFinished` it first forwards what is queued (waiting for room), on
/// `ShutdownMicroprocess` it drops it; then it emits the message on `signal`, leaves the
/// backplane and ends. A `SubscribeTo` that ends for any other reason is removed from the
/// backplane the next time the backplane runs.
///
/// # Errors
/// `main` fails with [`BackplaneError::UnknownBackplane`] if no backplane of that name is
/// active, and with a [`BoxError`](axon_core::BoxError) if the backplane carries another type
/// than `T`.
pub struct SubscribeTo<T> {
    name: String,
    queue_limit: usize,
    dropped: DropCounter,
    _data: PhantomData<fn(T) -> T>,
}

impl<T> fmt::Debug for SubscribeTo<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubscribeTo")
            .field("name", &self.name)
            .field("queue_limit", &self.queue_limit)
            .field("dropped", &self.dropped)
            .finish_non_exhaustive()
    }
}

impl<T: Clone + 'static> SubscribeTo<T> {
    /// A subscriber to the backplane called `name`.
    pub fn new(name: impl Into<String>) -> Self {
        SubscribeTo {
            name: name.into(),
            queue_limit: DEFAULT_QUEUE_LIMIT,
            dropped: DropCounter::new(),
            _data: PhantomData,
        }
    }

    /// Bounds its queue to `n` messages (at least 1; default [`DEFAULT_QUEUE_LIMIT`]): while
    /// `n` messages wait for its consumer, newer ones are dropped for this subscriber.
    pub fn queue_limit(mut self, n: usize) -> Self {
        self.queue_limit = n.max(1);
        self
    }

    /// A live count of the messages dropped for this subscriber because its queue was full.
    pub fn dropped(&self) -> DropCounter {
        self.dropped.clone()
    }
}

impl<T: Clone + 'static> Component for SubscribeTo<T> {
    fn boxes(&self) -> &'static [BoxDecl] {
        Decls::<T>::SUBSCRIBE
    }

    async fn main(self, cx: Context) -> ComponentResult {
        let (splitter, config) = lookup(&cx, &subscribe_service(&self.name), &self.name)?;
        // Refuse a backplane of another type here, with an error naming the boxes, rather
        // than have the splitter fail to link us.
        splitter.outbox::<T>(OUTBOX)?;
        let me = cx.me();
        cx.set_inbox_size(INBOX, Some(self.queue_limit))?;
        let join = Sink::new(&me).control(CONTROL).count_drops_in(self.dropped.clone());
        splitter
            .deliver(&config, SplitterConfig::AddSink(join))
            .map_err(|e| format!("cannot subscribe to backplane {:?}: {e}", self.name))?;
        let inbox = cx.inbox::<T>(INBOX)?;
        let control = cx.inbox::<Ipc>(CONTROL)?;
        let outbox = cx.outbox::<T>(OUTBOX)?;
        let signal = cx.outbox::<Ipc>(SIGNAL)?;
        // A message the destination had no room for.
        let mut held: Option<T> = None;
        loop {
            while let Some(msg) = held.take().or_else(|| inbox.recv()) {
                if let Err(full) = outbox.send(msg) {
                    held = Some(full.message);
                    break;
                }
            }
            if let Some(msg) = control.recv() {
                if msg.is_stop() {
                    if msg.is_producer_finished() {
                        while let Some(m) = held.take().or_else(|| inbox.recv()) {
                            outbox.send_wait(m).await;
                        }
                    }
                    signal.send(msg).ok();
                    if !splitter.is_finished() {
                        let _ = splitter.deliver(&config, SplitterConfig::RemoveSink(me.id()));
                    }
                    return Ok(());
                }
                // Other control messages (the backplane's passing traffic) are not ours.
                continue;
            }
            cx.pause().await;
        }
    }
}
