//! Pipelines (`Kamaelia.Chassis.Pipeline`): children wired in a chain, each one's `outbox` and
//! `signal` feeding the next one's `inbox` and `control` (reference §7.2).
//!
//! # Message types
//! A Pipeline's own `inbox` passes straight through to its first child's `inbox`, and its last
//! child's `outbox` straight out of its own `outbox`, so its boxes must carry those children's
//! types. Box declarations are `&'static`, so [`Pipeline<In, Out>`] is generic over them: `In`
//! is its first child's `inbox` type, `Out` its last child's `outbox` type (`Out` defaults to
//! `In`); `control` and `signal` carry [`Ipc`]. Its boxes therefore exist, typed, from the
//! moment it is created, so a parent can link to them before activating it (a Pipeline inside
//! a Pipeline or a Graphline works). State the types where the Pipeline is made:
//! `let p: Pipeline<String> = pipeline![a, b, c];` or `Pipeline::<u32, String>::new()`.

use std::fmt;
use std::marker::PhantomData;

use axon_core::ipc::Ipc;
use axon_core::{
    BoxDecl, Component, ComponentRef, ComponentResult, Context, Direction, LinkError, LinkOptions,
    Passthrough,
};

use crate::child::{same_type, Child, End, WiringError};

const INBOX: &str = axon_core::boxes::INBOX;
const CONTROL: &str = axon_core::boxes::CONTROL;
const OUTBOX: &str = axon_core::boxes::OUTBOX;
const SIGNAL: &str = axon_core::boxes::SIGNAL;

/// The declarations of a `Pipeline<In, Out>` (a generic `const` item cannot name `In`; an
/// associated const of a generic type can).
struct Decls<In, Out>(PhantomData<fn() -> (In, Out)>);

impl<In: 'static, Out: 'static> Decls<In, Out> {
    const BOXES: &'static [BoxDecl] = &[
        BoxDecl::inbox::<In>(INBOX).doc("data in, passed through to the first child's inbox"),
        BoxDecl::inbox::<Ipc>(CONTROL)
            .doc("lifecycle messages in, passed through to the first child's control"),
        BoxDecl::outbox::<Out>(OUTBOX).doc("data out, from the last child's outbox"),
        BoxDecl::outbox::<Ipc>(SIGNAL).doc("lifecycle messages out, from the last child's signal"),
    ];
}

/// Children wired in a chain (Kamaelia's `Pipeline(a, b, c)`): each child's `outbox` feeds the
/// next child's `inbox`, and its `signal` the next child's `control`.
///
/// Nothing is created, linked or activated until the Pipeline itself runs; then it makes its
/// children, makes them its children, links them and activates them all. Data sent to the
/// Pipeline before that waits in its `inbox` and moves to the first child when the link is
/// made.
///
/// The [`pipeline!`](crate::pipeline!) macro reads like the Python:
///
/// ```
/// use axon_core::ipc::Ipc;
/// use axon_core::{boxes, from_fn, BoxDecl, Scheduler};
/// use kamaelia_chassis::{pipeline, Pipeline};
///
/// const NUMBERS: &[BoxDecl] = &boxes::standard::<u32>();
///
/// // Sends 1, 2, 3, then says it has finished.
/// let count = from_fn(NUMBERS, |cx| async move {
///     for n in 1..=3u32 {
///         cx.send(n, "outbox")?;
///     }
///     cx.send(Ipc::producer_finished(), "signal")?;
///     Ok(())
/// });
/// // Doubles numbers until its producer has finished, then passes the news on.
/// let double = from_fn(NUMBERS, |cx| async move {
///     loop {
///         while let Some(n) = cx.recv::<u32>("inbox")? {
///             cx.send(n * 2, "outbox")?;
///         }
///         if let Some(msg) = cx.recv::<Ipc>("control")? {
///             cx.send(msg, "signal")?;
///             return Ok(());
///         }
///         cx.pause().await;
///     }
/// });
///
/// let sched = Scheduler::new();
/// let p: Pipeline<u32> = pipeline![count, double];
/// let p = sched.create(p);
/// let results = sched.create(from_fn(NUMBERS, |_| async { Ok(()) })); // never runs: storage
/// sched.link((&p, "outbox"), (&results, "inbox")).unwrap();
/// sched.link((&p, "signal"), (&results, "control")).unwrap();
/// sched.activate(&p);
/// sched.run(); // returns once both children, and so the Pipeline, have ended
///
/// let doubled: Vec<u32> = results.inbox::<u32>("inbox").unwrap().drain().collect();
/// assert_eq!(doubled, [2, 4, 6]);
/// assert!(results.inbox::<Ipc>("control").unwrap().recv().unwrap().is_producer_finished());
/// ```
///
/// # Inboxes
/// - `inbox` (`In`): passed through to the first child's `inbox`.
/// - `control` ([`Ipc`]): passed through to the first child's `control`. The Pipeline itself
///   never reads it.
///
/// # Outboxes
/// - `outbox` (`Out`): the last child's `outbox`.
/// - `signal` ([`Ipc`]): the last child's `signal`.
///
/// A [circular](Self::circular) Pipeline feeds its last child back into its first instead, and
/// its `outbox` and `signal` stay silent.
///
/// # Shutdown
/// The Pipeline has no shutdown logic of its own: a stop message on its `control` reaches the
/// first child, and each child passes it down the chain on its `signal` as it ends. The
/// Pipeline ends only when **all** its children have ended, and emits nothing itself; whatever
/// the last child sends on `signal` is what leaves the Pipeline.
///
/// # Wiring errors
/// Every child needs the four standard boxes, neighbours' types must agree, and the first
/// child's `inbox` must carry `In` and the last child's `outbox` `Out`. [`check`](Self::check)
/// finds such mistakes before anything runs; a Pipeline run with one ends at once with
/// [`EndCause::Failed`](axon_core::EndCause::Failed) carrying the [`WiringError`] (naming the
/// child and box), and activates none of its children.
pub struct Pipeline<In, Out = In> {
    /// The children, first to last; created when the Pipeline runs.
    children: Vec<Child>,
    /// Whether the last child feeds the first (Kamaelia's class attribute `circular`).
    circular: bool,
    /// The types of its `inbox` and `outbox`.
    _types: PhantomData<fn() -> (In, Out)>,
}

impl<In: 'static, Out: 'static> Default for Pipeline<In, Out> {
    fn default() -> Self {
        Self::new()
    }
}

impl<In: 'static, Out: 'static> Pipeline<In, Out> {
    /// An empty Pipeline; add children with [`then`](Self::then). A Pipeline with no children
    /// ends as soon as it runs.
    pub fn new() -> Self {
        Pipeline { children: Vec::new(), circular: false, _types: PhantomData }
    }

    /// An empty circular Pipeline: as [`new`](Self::new), but the last child's `outbox` and
    /// `signal` feed the first child's `inbox` and `control` (Kamaelia's `circular = True`)
    /// instead of leaving through the Pipeline's own boxes.
    pub fn circular() -> Self {
        Pipeline { circular: true, ..Self::new() }
    }

    /// Adds `child` at the end of the chain: a component value, or [`Child::created`].
    #[must_use]
    pub fn then(mut self, child: impl Into<Child>) -> Self {
        self.children.push(child.into());
        self
    }

    /// Whether it is circular.
    pub fn is_circular(&self) -> bool {
        self.circular
    }

    /// How many children it has.
    pub fn len(&self) -> usize {
        self.children.len()
    }

    /// Whether it has no children.
    pub fn is_empty(&self) -> bool {
        self.children.is_empty()
    }

    /// Checks, before anything runs, that the children can be wired: each has the four
    /// standard boxes, neighbours' types agree, and the ends carry `In` and `Out`. Types of a
    /// [`Child::created`] child are not visible here; they are checked when the links are made.
    ///
    /// # Errors
    /// The first [`WiringError`] found, naming the child by position (from 1) and type.
    pub fn check(&self) -> Result<(), WiringError> {
        let names: Vec<String> = self
            .children
            .iter()
            .enumerate()
            .map(|(i, c)| format!("child {} ({})", i + 1, c.describe()))
            .collect();
        let mut types = Vec::with_capacity(self.children.len());
        for (child, who) in self.children.iter().zip(&names) {
            let ty = |dir: Direction, name: &str| {
                child.box_type(dir, name).map_err(|()| WiringError::MissingBox {
                    child: who.clone(),
                    direction: dir,
                    box_name: name.to_owned(),
                })
            };
            types.push([
                ty(Direction::Inbox, INBOX)?,
                ty(Direction::Inbox, CONTROL)?,
                ty(Direction::Outbox, OUTBOX)?,
                ty(Direction::Outbox, SIGNAL)?,
            ]);
        }
        let (Some(first), Some(last)) = (types.first(), types.last()) else { return Ok(()) };
        let me = "the pipeline";
        let end = |who, name, ty| End { who, name, ty };
        let (in_ty, out_ty, ipc) =
            (std::any::type_name::<In>(), std::any::type_name::<Out>(), std::any::type_name::<Ipc>());
        same_type(end(me, INBOX, Some(in_ty)), end(&names[0], INBOX, first[0]))?;
        same_type(end(me, CONTROL, Some(ipc)), end(&names[0], CONTROL, first[1]))?;
        for i in 1..types.len() {
            let (a, b) = (&types[i - 1], &types[i]);
            same_type(end(&names[i - 1], OUTBOX, a[2]), end(&names[i], INBOX, b[0]))?;
            same_type(end(&names[i - 1], SIGNAL, a[3]), end(&names[i], CONTROL, b[1]))?;
        }
        let n = names.len() - 1;
        if self.circular {
            same_type(end(&names[n], OUTBOX, last[2]), end(&names[0], INBOX, first[0]))?;
            same_type(end(&names[n], SIGNAL, last[3]), end(&names[0], CONTROL, first[1]))?;
        } else {
            same_type(end(&names[n], OUTBOX, last[2]), end(me, OUTBOX, Some(out_ty)))?;
            same_type(end(&names[n], SIGNAL, last[3]), end(me, SIGNAL, Some(ipc)))?;
        }
        Ok(())
    }
}

/// Makes the Pipeline's links (reference §7.2); the first failure is returned, naming the link.
fn wire(cx: &Context, kids: &[ComponentRef], circular: bool) -> Result<(), WiringError> {
    let me = cx.me();
    let (Some(first), Some(last)) = (kids.first(), kids.last()) else { return Ok(()) };
    let link = |from: (&ComponentRef, &str), to: (&ComponentRef, &str), pt: Passthrough| {
        cx.link_with(from, to, LinkOptions::new().passthrough(pt)).map(drop).map_err(|e: LinkError| {
            WiringError::Link {
                linkage: format!("({}, {:?}) -> ({}, {:?})", from.0.name(), from.1, to.0.name(), to.1),
                source: e,
            }
        })
    };
    for pair in kids.windows(2) {
        link((&pair[0], OUTBOX), (&pair[1], INBOX), Passthrough::Normal)?;
        link((&pair[0], SIGNAL), (&pair[1], CONTROL), Passthrough::Normal)?;
    }
    link((&me, INBOX), (first, INBOX), Passthrough::Inbound)?;
    link((&me, CONTROL), (first, CONTROL), Passthrough::Inbound)?;
    if circular {
        link((last, OUTBOX), (first, INBOX), Passthrough::Normal)?;
        link((last, SIGNAL), (first, CONTROL), Passthrough::Normal)?;
    } else {
        link((last, OUTBOX), (&me, OUTBOX), Passthrough::Outbound)?;
        link((last, SIGNAL), (&me, SIGNAL), Passthrough::Outbound)?;
    }
    Ok(())
}

impl<In: 'static, Out: 'static> Component for Pipeline<In, Out> {
    fn boxes(&self) -> &'static [BoxDecl] {
        Decls::<In, Out>::BOXES
    }

    async fn main(self, cx: Context) -> ComponentResult {
        self.check()?;
        let kids: Vec<ComponentRef> = self.children.into_iter().map(|c| c.create(&cx)).collect();
        if let Err(e) = wire(&cx, &kids, self.circular) {
            // None of them runs; their links go when the Pipeline ends.
            for k in &kids {
                k.stop();
            }
            return Err(e.into());
        }
        cx.add_children(&kids);
        for k in &kids {
            cx.activate(k);
        }
        // Children wake their parent when they end; other wakes (a consumer collecting from
        // the Pipeline's outbox chain) are spurious and harmless.
        while !cx.children_done() {
            cx.pause().await;
        }
        Ok(())
    }
}

impl<In, Out> fmt::Debug for Pipeline<In, Out> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field("children", &self.children)
            .field("circular", &self.circular)
            .field("in", &std::any::type_name::<In>())
            .field("out", &std::any::type_name::<Out>())
            .finish()
    }
}

/// Builds a [`Pipeline`] from its children, in order, as Kamaelia's `Pipeline(a, b, c)` does;
/// `pipeline![circular: a, b, c]` builds a [circular](Pipeline::circular) one. Each child is a
/// component value or a [`Child`]. State the Pipeline's types where you bind it:
///
/// ```
/// use axon_core::{boxes, from_fn, BoxDecl};
/// use kamaelia_chassis::{pipeline, Pipeline};
/// const B: &[BoxDecl] = &boxes::standard::<String>();
/// let stage = || from_fn(B, |_| async { Ok(()) });
///
/// let p: Pipeline<String> = pipeline![stage(), stage(), stage()];
/// assert_eq!(p.len(), 3);
/// let ring: Pipeline<String> = pipeline![circular: stage(), stage()];
/// assert!(ring.is_circular());
/// assert!(p.check().is_ok() && ring.check().is_ok());
/// ```
#[macro_export]
macro_rules! pipeline {
    (circular: $($child:expr),* $(,)?) => {
        $crate::pipeline::Pipeline::circular()$(.then($child))*
    };
    ($($child:expr),* $(,)?) => {
        $crate::pipeline::Pipeline::new()$(.then($child))*
    };
}
