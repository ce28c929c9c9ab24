//! Splitter (`Kamaelia.Util.Splitter`, its `PlugSplitter`): copies every message it receives to
//! each of a changing set of sinks, each through an outbox of its own.
//!
//! # Slow sinks
//! The splitter never waits for a sink. A sink whose inbox is bounded and full (see
//! [`Sink::limit`]) misses the message: it is dropped and counted, for that sink
//! ([`DropCounter`]) and in all ([`SplitterStats::dropped`]), and the other sinks still get it.
//! So one stalled sink neither stalls the others nor makes the splitter hold anything: the
//! memory a sink can take is its own inbox's limit.

use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;
use std::rc::Rc;

use axon_core::boxes::{CONTROL, INBOX, OUTBOX, SIGNAL};
use axon_core::ipc::Ipc;
use axon_core::{
    BoxDecl, Component, ComponentId, ComponentRef, ComponentResult, Context, LinkOptions, Outbox,
};

/// The splitter's inbox for [`SplitterConfig`] messages (Kamaelia's `"configuration"`).
pub const CONFIGURATION: &str = "configuration";

/// A count of messages dropped for one sink because its inbox was full. Cheap to clone; every
/// clone reads the same count. Single-threaded (it lives on the scheduler's thread).
#[derive(Clone, Default)]
pub struct DropCounter(Rc<Cell<u64>>);

impl DropCounter {
    /// A counter at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many messages have been dropped.
    pub fn get(&self) -> u64 {
        self.0.get()
    }

    fn add(&self) {
        self.0.set(self.0.get() + 1);
    }
}

impl fmt::Debug for DropCounter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DropCounter").field(&self.get()).finish()
    }
}

#[derive(Default)]
struct StatsInner {
    received: Cell<u64>,
    dropped: Cell<u64>,
    sinks: Cell<usize>,
}

/// A live view of a [`Splitter`]'s counters, readable from outside the component (take it with
/// [`Splitter::stats`] before spawning). Cheap to clone; single-threaded.
#[derive(Clone, Default)]
pub struct SplitterStats(Rc<StatsInner>);

impl SplitterStats {
    /// Messages received on `inbox` (each copied to every sink).
    pub fn received(&self) -> u64 {
        self.0.received.get()
    }

    /// Copies dropped, over all sinks, because a sink's inbox was full.
    pub fn dropped(&self) -> u64 {
        self.0.dropped.get()
    }

    /// How many sinks are attached now.
    pub fn sinks(&self) -> usize {
        self.0.sinks.get()
    }
}

impl fmt::Debug for SplitterStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SplitterStats")
            .field("received", &self.received())
            .field("dropped", &self.dropped())
            .field("sinks", &self.sinks())
            .finish()
    }
}

/// A sink to add to a [`Splitter`] (the arguments of Kamaelia's `addsink`): a component's inbox
/// for data and, optionally, an inbox for the splitter's control messages.
#[derive(Clone)]
pub struct Sink {
    component: ComponentRef,
    inbox: String,
    control: Option<String>,
    limit: Option<usize>,
    dropped: Option<DropCounter>,
}

impl Sink {
    /// `component`'s `inbox` as a sink; no control box, no limit.
    pub fn new(component: &ComponentRef) -> Self {
        Sink {
            component: component.clone(),
            inbox: INBOX.to_owned(),
            control: None,
            limit: None,
            dropped: None,
        }
    }

    /// Delivers data to inbox `name` instead of `inbox` (Kamaelia's `sinkbox`).
    pub fn inbox(mut self, name: &str) -> Self {
        self.inbox = name.to_owned();
        self
    }

    /// Also delivers the splitter's control messages to inbox `name` (Kamaelia's
    /// `sinkcontrol`), so the sink hears when the splitter stops.
    pub fn control(mut self, name: &str) -> Self {
        self.control = Some(name.to_owned());
        self
    }

    /// Bounds the sink's data inbox to `n` messages (at least 1): past that, copies for this
    /// sink are dropped and counted.
    pub fn limit(mut self, n: usize) -> Self {
        self.limit = Some(n.max(1));
        self
    }

    /// Counts the copies dropped for this sink in `counter`.
    pub fn count_drops_in(mut self, counter: DropCounter) -> Self {
        self.dropped = Some(counter);
        self
    }
}

impl fmt::Debug for Sink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sink")
            .field("component", &self.component.name())
            .field("inbox", &self.inbox)
            .field("control", &self.control)
            .field("limit", &self.limit)
            .finish()
    }
}

/// A change to a [`Splitter`]'s sinks, sent to its `configuration` inbox.
#[derive(Debug)]
pub enum SplitterConfig {
    /// Adds a sink (Kamaelia's `addsink`). A component already attached is ignored.
    #[doc(alias = "addsink")]
    AddSink(Sink),
    /// Removes the sink of this component, and its links (Kamaelia's `removesink`). Unknown
    /// components are ignored.
    #[doc(alias = "removesink")]
    RemoveSink(ComponentId),
}

/// The box declarations of a `Splitter<T>`.
struct Decls<T>(PhantomData<T>);

impl<T: 'static> Decls<T> {
    const BOXES: &'static [BoxDecl] = &[
        BoxDecl::inbox::<T>(INBOX).doc("data to copy to every sink"),
        BoxDecl::inbox::<Ipc>(CONTROL).doc("forwarded to signal and every sink; a stop message ends it"),
        BoxDecl::inbox::<SplitterConfig>(CONFIGURATION).doc("AddSink / RemoveSink"),
        BoxDecl::outbox::<T>(OUTBOX).doc("a copy of every message, if linked"),
        BoxDecl::outbox::<Ipc>(SIGNAL).doc("the control messages"),
    ];
}

/// Copies each message to every sink (Kamaelia's `Splitter`/`PlugSplitter`). `T: Clone` because
/// each sink gets its own copy; for large messages use a cheaply cloned type (`bytes::Bytes`,
/// `Arc<...>`), which shares one buffer as Python did.
///
/// # Inboxes
/// - `inbox` (`T`): data. Each message goes to every sink and to `outbox` (if linked).
/// - `configuration` ([`SplitterConfig`]): adds and removes sinks. Configuration waiting is
///   applied before the data waiting with it.
/// - `control` ([`Ipc`]): every message is forwarded to `signal` and to each sink's control box.
///
/// # Outboxes
/// - `outbox` (`T`): a copy of every message, if linked.
/// - `signal` ([`Ipc`]): the control messages.
/// - per sink, an outbox named `outbox…` for its data and, if it has a control box, one named
///   `signal…` for control messages.
///
/// # Shutdown
/// A stop message ([`Ipc::is_stop`]) on `control` is forwarded to `signal` and to every sink's
/// control box; then the splitter removes its sinks and ends. A sink whose component has ended
/// is removed the next time the splitter runs.
///
/// Sinks never slow the splitter down: see the [module docs](self).
///
/// ```
/// use axon_core::{boxes, from_fn, BoxDecl, Scheduler};
/// use kamaelia_chassis::{Sink, Splitter, SplitterConfig};
/// const STD: &[BoxDecl] = &boxes::standard::<u32>();
///
/// let sched = Scheduler::new();
/// let a = sched.create(from_fn(STD, |_| async { Ok(()) }));
/// let b = sched.create(from_fn(STD, |_| async { Ok(()) }));
/// let splitter = sched.spawn(Splitter::<u32>::new());
/// splitter.deliver("configuration", SplitterConfig::AddSink(Sink::new(&a))).unwrap();
/// splitter.deliver("configuration", SplitterConfig::AddSink(Sink::new(&b))).unwrap();
/// splitter.deliver("inbox", 7u32).unwrap();
/// sched.run_until_idle();
/// assert_eq!((a.data_ready("inbox"), b.data_ready("inbox")), (1, 1));
/// ```
#[doc(alias = "PlugSplitter")]
pub struct Splitter<T> {
    inbox_size: Option<usize>,
    stats: SplitterStats,
    _data: PhantomData<fn(T) -> T>,
}

impl<T> fmt::Debug for Splitter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Splitter")
            .field("data", &std::any::type_name::<T>())
            .field("inbox_size", &self.inbox_size)
            .field("stats", &self.stats)
            .finish()
    }
}

impl<T: Clone + 'static> Default for Splitter<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Clone + 'static> Splitter<T> {
    /// A splitter with no sinks and an unbounded `inbox`.
    pub fn new() -> Self {
        Splitter { inbox_size: None, stats: SplitterStats::default(), _data: PhantomData }
    }

    /// Bounds its own `inbox` to `n` messages (at least 1). Senders then see `NoSpaceInBox`
    /// (or wait, with `send_wait`) if they send more than that within one scheduler cycle.
    pub fn inbox_size(mut self, n: usize) -> Self {
        self.inbox_size = Some(n.max(1));
        self
    }

    /// A live view of its counters.
    pub fn stats(&self) -> SplitterStats {
        self.stats.clone()
    }

    pub(crate) fn with_stats(mut self, stats: SplitterStats) -> Self {
        self.stats = stats;
        self
    }
}

/// One attached sink.
struct Attached<T> {
    component: ComponentRef,
    data: Outbox<T>,
    control: Option<Outbox<Ipc>>,
    dropped: Option<DropCounter>,
}

impl<T: Clone + 'static> Component for Splitter<T> {
    fn boxes(&self) -> &'static [BoxDecl] {
        Decls::<T>::BOXES
    }

    async fn main(self, cx: Context) -> ComponentResult {
        if let Some(n) = self.inbox_size {
            cx.set_inbox_size(INBOX, Some(n))?;
        }
        let inbox = cx.inbox::<T>(INBOX)?;
        let control = cx.inbox::<Ipc>(CONTROL)?;
        let configuration = cx.inbox::<SplitterConfig>(CONFIGURATION)?;
        let outbox = cx.outbox::<T>(OUTBOX)?;
        let signal = cx.outbox::<Ipc>(SIGNAL)?;
        let stats = self.stats;
        let mut sinks: Vec<Attached<T>> = Vec::new();
        loop {
            while let Some(cfg) = configuration.recv() {
                match cfg {
                    SplitterConfig::AddSink(sink) => add_sink(&cx, &mut sinks, sink),
                    SplitterConfig::RemoveSink(id) => {
                        if let Some(i) = sinks.iter().position(|s| s.component.id() == id) {
                            remove_sink(&cx, sinks.swap_remove(i));
                        }
                    }
                }
            }
            // Sinks that ended without saying so.
            let mut i = 0;
            while i < sinks.len() {
                if sinks[i].component.is_finished() {
                    remove_sink(&cx, sinks.swap_remove(i));
                } else {
                    i += 1;
                }
            }
            stats.0.sinks.set(sinks.len());
            while let Some(msg) = inbox.recv() {
                stats.0.received.set(stats.0.received.get() + 1);
                for s in &sinks {
                    if s.data.send(msg.clone()).is_err() {
                        stats.0.dropped.set(stats.0.dropped.get() + 1);
                        if let Some(d) = &s.dropped {
                            d.add();
                        }
                    }
                }
                // Only a linked outbox: an unused tap is not worth counting as a drop.
                if outbox.is_linked() {
                    outbox.send(msg).ok();
                }
            }
            while let Some(msg) = control.recv() {
                for s in &sinks {
                    if let Some(c) = &s.control {
                        c.send(msg.clone()).ok();
                    }
                }
                let stop = msg.is_stop();
                signal.send(msg).ok();
                if stop {
                    for s in sinks.drain(..) {
                        remove_sink(&cx, s);
                    }
                    stats.0.sinks.set(0);
                    return Ok(());
                }
            }
            cx.pause().await;
        }
    }
}

fn add_sink<T: Clone + 'static>(cx: &Context, sinks: &mut Vec<Attached<T>>, sink: Sink) {
    if sink.component.is_finished() || sinks.iter().any(|s| s.component == sink.component) {
        return;
    }
    let me = cx.me();
    let data_box = cx.add_outbox::<T>(OUTBOX);
    let mut opts = LinkOptions::new();
    if let Some(n) = sink.limit {
        opts = opts.pipewidth(n);
    }
    let control_box = sink.control.as_ref().map(|_| cx.add_outbox::<Ipc>(SIGNAL));
    let wired = (|| -> Result<Attached<T>, axon_core::Error> {
        cx.link_with((&me, &data_box), (&sink.component, &sink.inbox), opts)?;
        let control = match (&control_box, &sink.control) {
            (Some(from), Some(to)) => {
                cx.link((&me, from), (&sink.component, to))?;
                Some(cx.outbox::<Ipc>(from)?)
            }
            _ => None,
        };
        Ok(Attached {
            component: sink.component.clone(),
            data: cx.outbox::<T>(&data_box)?,
            control,
            dropped: sink.dropped.clone(),
        })
    })();
    match wired {
        Ok(attached) => sinks.push(attached),
        Err(e) => fail(cx, &sink, &data_box, control_box.as_deref(), &e.to_string()),
    }
}

/// A sink that could not be wired: undo what was made, and say why.
fn fail(cx: &Context, sink: &Sink, data_box: &str, control_box: Option<&str>, error: &str) {
    tracing::warn!(splitter = %cx.name(), sink = %sink.component.name(), %error, "cannot add sink; ignored");
    cx.unlink_component(&sink.component);
    let _ = cx.delete_outbox(data_box);
    if let Some(b) = control_box {
        let _ = cx.delete_outbox(b);
    }
}

fn remove_sink<T: 'static>(cx: &Context, sink: Attached<T>) {
    cx.unlink_component(&sink.component);
    let _ = cx.delete_outbox(sink.data.name());
    if let Some(c) = &sink.control {
        let _ = cx.delete_outbox(c.name());
    }
}
