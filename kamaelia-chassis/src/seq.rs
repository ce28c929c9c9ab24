//! Seq (`Kamaelia.Chassis.Seq`): runs components one after another, each wired in place of the
//! last.

use std::collections::VecDeque;
use std::fmt;
use std::io::Write;
use std::marker::PhantomData;

use axon_core::boxes::{CONTROL, INBOX, OUTBOX, SIGNAL};
use axon_core::ipc::{Ipc, IpcKind, ProducerFinished};
use axon_core::{BoxDecl, Component, ComponentResult, Context, LinkOptions, Passthrough};

use crate::child::Child;

/// Seq's internal outbox linked to the current child's `control`.
pub const CHILD_CONTROL: &str = "_control";

/// One step of a [`Seq`]: a component to run to its end, or something to do in between
/// (Kamaelia also accepted strings, which it printed).
pub struct SeqItem(Item);

enum Item {
    /// The child, created when its turn comes.
    Component(Child),
    /// Printed to stdout, followed by a newline.
    Print(String),
    /// Called, then the Seq moves on.
    Call(Box<dyn FnOnce()>),
}

impl SeqItem {
    /// A component to run: Seq creates it, wires it, activates it and waits for it to end.
    /// Any [`Component`] converts into a [`Child`]; so does a created, unactivated handle
    /// ([`Child::created`]).
    pub fn component(component: impl Into<Child>) -> Self {
        SeqItem(Item::Component(component.into()))
    }

    /// A line to print on stdout between components (Kamaelia's string items).
    pub fn print(text: impl Into<String>) -> Self {
        SeqItem(Item::Print(text.into()))
    }

    /// A closure to call between components (for logging, counting, setting things up).
    pub fn call(f: impl FnOnce() + 'static) -> Self {
        SeqItem(Item::Call(Box::new(f)))
    }
}

impl fmt::Debug for SeqItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Item::Component(c) => f.debug_tuple("SeqItem::Component").field(c).finish(),
            Item::Print(s) => f.debug_tuple("SeqItem::Print").field(s).finish(),
            Item::Call(_) => f.write_str("SeqItem::Call"),
        }
    }
}

/// The box declarations of a `Seq<T>`.
struct Decls<T>(PhantomData<T>);

impl<T: 'static> Decls<T> {
    const BOXES: &'static [BoxDecl] = &[
        BoxDecl::inbox::<T>(INBOX).doc("data for the current child"),
        BoxDecl::inbox::<Ipc>(CONTROL).doc("ShutdownMicroprocess: stop the current child and end"),
        BoxDecl::outbox::<T>(OUTBOX).doc("data from the current child"),
        BoxDecl::outbox::<Ipc>(SIGNAL).doc("ProducerFinished after the last item, or the shutdown message"),
        BoxDecl::outbox::<Ipc>(CHILD_CONTROL).doc("internal: to the current child's control"),
    ];
}

/// Runs its items one after another (Kamaelia's `Seq`): each component is wired in as
/// `self.inbox → child.inbox` and `child.outbox → self.outbox` (passthrough), run until it
/// ends, then unwired; the next item follows. `T` is the data type of `inbox` and `outbox`.
///
/// A child's `signal` is deliberately not linked, so the component downstream of a Seq is not
/// told to stop when one item ends; the Seq itself says `ProducerFinished` after its last item.
/// Data sent to the Seq before its first child is wired waits in its inbox and goes to that
/// child. Data that arrives between a child ending and the Seq noticing (one scheduler cycle)
/// still goes to the ended child and is lost — counted in
/// [`Stats::dropped_dead`](axon_core::Stats) — as in Kamaelia.
///
/// # Inboxes
/// - `inbox` (`T`): passed through to the current child's `inbox`.
/// - `control` ([`Ipc`]): see *Shutdown*.
///
/// # Outboxes
/// - `outbox` (`T`): the current child's `outbox`, passed through.
/// - `signal` ([`Ipc`]): [`ProducerFinished`] after the last item, or the shutdown message.
/// - `_control` ([`Ipc`]): internal, to the current child's `control`.
///
/// # Shutdown
/// Kamaelia's Seq ignored `control`; this one answers a kind of `ShutdownMicroprocess` (or the
/// legacy `Shutdown`), which is what a Rust user expects of a chassis: it is forwarded to the
/// current child, the Seq waits for that child to end, runs no further items, and emits the
/// message on `signal`. A child that ignores it keeps the Seq waiting. `ProducerFinished` and
/// other control messages are ignored, as in Kamaelia: "no more input" does not mean "skip the
/// rest of the sequence".
///
/// # Errors
/// `main` fails with the [`LinkError`](axon_core::LinkError) if a child's boxes do not fit.
///
/// ```
/// use axon_core::{boxes, from_fn, BoxDecl, Scheduler};
/// use kamaelia_chassis::{Seq, SeqItem};
/// const STD: &[BoxDecl] = &boxes::standard::<u32>();
///
/// let say = |n: u32| from_fn(STD, move |cx| async move {
///     cx.outbox::<u32>("outbox")?.send(n)?;
///     Ok(())
/// });
/// let seq = Seq::<u32>::new().then(say(1)).item(SeqItem::print("between")).then(say(2));
/// let sched = Scheduler::new();
/// let s = sched.spawn(seq);
/// sched.run();
/// assert!(s.is_finished());
/// ```
pub struct Seq<T> {
    items: VecDeque<SeqItem>,
    _data: PhantomData<fn(T) -> T>,
}

impl<T> fmt::Debug for Seq<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Seq").field("data", &std::any::type_name::<T>()).field("items", &self.items).finish()
    }
}

impl<T: 'static> Default for Seq<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: 'static> Seq<T> {
    /// An empty Seq: it emits `ProducerFinished` and ends at once.
    pub fn new() -> Self {
        Seq { items: VecDeque::new(), _data: PhantomData }
    }

    /// A Seq of the given items.
    pub fn from_items(items: impl IntoIterator<Item = SeqItem>) -> Self {
        Seq { items: items.into_iter().collect(), _data: PhantomData }
    }

    /// Appends a component.
    pub fn then(self, component: impl Into<Child>) -> Self {
        self.item(SeqItem::component(component))
    }

    /// Appends any item.
    pub fn item(mut self, item: SeqItem) -> Self {
        self.items.push_back(item);
        self
    }

    /// How many items are left to run.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

fn is_shutdown(msg: &Ipc) -> bool {
    matches!(msg.kind(), IpcKind::ShutdownMicroprocess | IpcKind::Shutdown)
}

impl<T: 'static> Component for Seq<T> {
    fn boxes(&self) -> &'static [BoxDecl] {
        Decls::<T>::BOXES
    }

    async fn main(self, cx: Context) -> ComponentResult {
        let me = cx.me();
        let control = cx.inbox::<Ipc>(CONTROL)?;
        let signal = cx.outbox::<Ipc>(SIGNAL)?;
        let to_child = cx.outbox::<Ipc>(CHILD_CONTROL)?;
        // A shutdown received: no further items run.
        let mut shutdown: Option<Ipc> = None;
        let check_control = |shutdown: &mut Option<Ipc>| {
            while let Some(msg) = control.recv() {
                if shutdown.is_none() && is_shutdown(&msg) {
                    *shutdown = Some(msg);
                }
            }
        };
        for item in self.items {
            check_control(&mut shutdown);
            if shutdown.is_some() {
                break;
            }
            let child = match item.0 {
                Item::Print(text) => {
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "{text}").ok();
                    continue;
                }
                Item::Call(f) => {
                    f();
                    continue;
                }
                Item::Component(child) => child.create(&cx),
            };
            let wired = (|| {
                cx.link_with(
                    (&me, INBOX),
                    (&child, INBOX),
                    LinkOptions::new().passthrough(Passthrough::Inbound),
                )?;
                cx.link_with(
                    (&child, OUTBOX),
                    (&me, OUTBOX),
                    LinkOptions::new().passthrough(Passthrough::Outbound),
                )?;
                cx.link((&me, CHILD_CONTROL), (&child, CONTROL))
            })();
            if let Err(e) = wired {
                cx.unlink_component(&child);
                return Err(e.into());
            }
            cx.add_children(std::slice::from_ref(&child));
            cx.activate(&child);
            let mut told = false;
            while !child.is_finished() {
                check_control(&mut shutdown);
                if let (Some(msg), false) = (&shutdown, told) {
                    to_child.send(msg.clone()).ok();
                    told = true;
                }
                cx.pause().await;
            }
            cx.remove_child(&child);
        }
        check_control(&mut shutdown);
        let last = shutdown.unwrap_or_else(|| Ipc::new(ProducerFinished::from_caller(cx.id())));
        signal.send(last).ok();
        Ok(())
    }
}
