//! Graphlines (`Kamaelia.Chassis.Graphline`): named children wired by a table of linkages,
//! any shape (reference §7.3).
//!
//! # Names
//! A linkage joins `(name, box)` to `(name, box)`. A name that is not one of the children's
//! names means the Graphline itself — `"self"` by convention, but `""` or `"flurble"` work
//! too, as in Kamaelia:
//!
//! | from      | to        | link made                                                    |
//! |-----------|-----------|--------------------------------------------------------------|
//! | child     | child     | child's outbox → child's inbox                               |
//! | Graphline | child     | the Graphline's *inbox* → the child's inbox (passthrough 1)  |
//! | child     | Graphline | the child's outbox → the Graphline's *outbox* (passthrough 2)|
//! | Graphline | Graphline | the Graphline's outbox → its own inbox, with a warning logged|
//!
//! # Boxes of its own
//! Its `inbox`/`outbox` carry `In`/`Out` (type parameters, as for a
//! [`Pipeline`](crate::Pipeline)); `control` and `signal` carry [`Ipc`]. These exist from the
//! moment it is created. Any other box named on the Graphline's side is added to *this*
//! Graphline when it runs, carrying the type of the child box it is linked to. Kamaelia added
//! such boxes to the Graphline *class*, so they leaked into every later Graphline; here each
//! Graphline has only its own. Because they appear when it runs, link to them after it has
//! started.

use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;

use axon_core::ipc::{Ipc, ProducerFinished};
use axon_core::{
    BoxDecl, Component, ComponentRef, ComponentResult, Context, Direction, LinkError, LinkOptions,
    Passthrough,
};

use crate::child::{same_type, Child, End, WiringError};

const INBOX: &str = axon_core::boxes::INBOX;
const CONTROL: &str = axon_core::boxes::CONTROL;
const OUTBOX: &str = axon_core::boxes::OUTBOX;
const SIGNAL: &str = axon_core::boxes::SIGNAL;

/// The Graphline's internal outbox through which it hands each `control` message to its
/// children, one temporary link at a time (Kamaelia's `_cs`).
pub const CONTROL_FANOUT: &str = "_cs";

/// How the Graphline is named in error messages.
const ME: &str = "the graphline";

/// The declarations of a `Graphline<In, Out>`.
struct Decls<In, Out>(PhantomData<fn() -> (In, Out)>);

impl<In: 'static, Out: 'static> Decls<In, Out> {
    const BOXES: &'static [BoxDecl] = &[
        BoxDecl::inbox::<In>(INBOX).doc("data in, if a linkage starts at the graphline's inbox"),
        BoxDecl::inbox::<Ipc>(CONTROL).doc("lifecycle messages in; see Shutdown"),
        BoxDecl::outbox::<Out>(OUTBOX).doc("data out, if a linkage ends at the graphline's outbox"),
        BoxDecl::outbox::<Ipc>(SIGNAL).doc("lifecycle messages out; see Shutdown"),
        BoxDecl::outbox::<Ipc>(CONTROL_FANOUT).doc("internal: control messages to each child in turn"),
    ];
}

/// One entry of the linkage table.
struct Linkage {
    from: (String, String),
    to: (String, String),
}

impl fmt::Display for Linkage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({:?}, {:?}) -> ({:?}, {:?})", self.from.0, self.from.1, self.to.0, self.to.1)
    }
}

/// Named children wired by a table of linkages (Kamaelia's
/// `Graphline(linkages={...}, **named_components)`).
///
/// Nothing is created, linked or activated until the Graphline runs; then it makes the links,
/// makes the components its children and activates them all, linked or not. It ends when every
/// child has ended.
///
/// ```
/// use axon_core::ipc::Ipc;
/// use axon_core::{boxes, from_fn, BoxDecl, Scheduler};
/// use kamaelia_chassis::{graphline, Graphline};
///
/// const WORDS: &[BoxDecl] = &boxes::standard::<String>();
///
/// // Shouts each line it gets, and stops on any control message.
/// let shout = from_fn(WORDS, |cx| async move {
///     loop {
///         while let Some(line) = cx.recv::<String>("inbox")? {
///             cx.send(line.to_uppercase(), "outbox")?;
///         }
///         if cx.recv::<Ipc>("control")?.is_some() {
///             return Ok(());
///         }
///         cx.pause().await;
///     }
/// });
///
/// let g: Graphline<String> = graphline! {
///     SHOUT = shout;
///     ("self", "inbox") => ("SHOUT", "inbox"),
///     ("SHOUT", "outbox") => ("self", "outbox"),
/// };
/// let sched = Scheduler::new();
/// let g = sched.create(g);
/// let out = sched.create(from_fn(WORDS, |_| async { Ok(()) })); // never runs: storage
/// sched.link((&g, "outbox"), (&out, "inbox")).unwrap();
/// sched.link((&g, "signal"), (&out, "control")).unwrap();
/// sched.activate(&g);
/// g.deliver("inbox", "hello".to_owned()).unwrap();
/// g.deliver("control", Ipc::shutdown_microprocess()).unwrap();
/// sched.run();
///
/// assert_eq!(out.inbox::<String>("inbox").unwrap().recv().as_deref(), Some("HELLO"));
/// // Nobody else was wired to its signal, so the Graphline passes the shutdown on itself.
/// assert!(out.inbox::<Ipc>("control").unwrap().recv().unwrap().is_shutdown_microprocess());
/// ```
///
/// The builder reads the same: `Graphline::<String>::new().child("SHOUT", shout)
/// .link(("self", "inbox"), ("SHOUT", "inbox"))`.
///
/// # Inboxes
/// - `inbox` (`In`): passed through to a child if a linkage starts at it; otherwise unused.
/// - `control` ([`Ipc`]): passed through to a child if a linkage starts at it; otherwise every
///   message is handed to each child whose `control` no linkage feeds (see Shutdown).
/// - any other name a linkage starts at on the Graphline's side, added when it runs.
///
/// # Outboxes
/// - `outbox` (`Out`): from a child if a linkage ends at it; otherwise silent.
/// - `signal` ([`Ipc`]): from a child if a linkage ends at it; otherwise the Graphline's own
///   end message (see Shutdown).
/// - `_cs` ([`CONTROL_FANOUT`]): internal.
/// - any other name a linkage ends at on the Graphline's side, added when it runs.
///
/// # Shutdown
/// Exactly Kamaelia's rules: whoever is wired to `control` or `signal` owns shutdown.
/// - If no linkage starts at its `control`, each message arriving there is handed to every
///   child whose `control` inbox no linkage feeds (children wired to something else are left
///   alone), and a kind of `ShutdownMicroprocess` among them is remembered (the last one).
/// - It ends when all its children have ended, not before, whatever it was sent.
/// - Then, if no linkage ends at its `signal`, it sends the remembered `ShutdownMicroprocess`
///   on `signal`, or else a [`ProducerFinished`]. If a linkage ends at its `signal`, it sends
///   nothing itself, ever.
///
/// # Wiring errors
/// A child box that does not exist, linked boxes whose types differ, or two children with one
/// name: [`check`](Self::check) finds these before anything runs; a Graphline run with one ends
/// at once with [`EndCause::Failed`](axon_core::EndCause::Failed) carrying the [`WiringError`]
/// (naming the child and box), and activates none of its children.
pub struct Graphline<In, Out = In> {
    /// The named children, in the order given; created when it runs.
    children: Vec<(String, Child)>,
    /// The linkage table, in the order given.
    links: Vec<Linkage>,
    /// The types of its `inbox` and `outbox`.
    _types: PhantomData<fn() -> (In, Out)>,
}

impl<In: 'static, Out: 'static> Default for Graphline<In, Out> {
    fn default() -> Self {
        Self::new()
    }
}

/// What a box on the Graphline's side is, while checking.
enum SelfBox {
    /// One of its declared boxes, of this type.
    Declared(&'static str),
    /// A box it adds when it runs; of this type if known.
    Added(Option<&'static str>),
}

impl<In: 'static, Out: 'static> Graphline<In, Out> {
    /// A Graphline with no children and no linkages; add them with [`child`](Self::child) and
    /// [`link`](Self::link). One with no children ends as soon as it runs.
    pub fn new() -> Self {
        Graphline { children: Vec::new(), links: Vec::new(), _types: PhantomData }
    }

    /// Adds a child named `name`: a component value, or [`Child::created`].
    #[must_use]
    pub fn child(mut self, name: &str, child: impl Into<Child>) -> Self {
        self.children.push((name.to_owned(), child.into()));
        self
    }

    /// Adds the linkage `from → to`, each a `(name, box)` pair; a name that is no child's means
    /// the Graphline itself (see the [module docs](self)).
    #[must_use]
    pub fn link(mut self, from: (&str, &str), to: (&str, &str)) -> Self {
        self.links.push(Linkage {
            from: (from.0.to_owned(), from.1.to_owned()),
            to: (to.0.to_owned(), to.1.to_owned()),
        });
        self
    }

    /// The children's names, in order.
    pub fn child_names(&self) -> impl Iterator<Item = &str> + '_ {
        self.children.iter().map(|(n, _)| n.as_str())
    }

    /// Checks, before anything runs, that the linkages can be made: children's names are
    /// distinct, every child box named exists, and the two ends of each linkage carry the
    /// same type. Types of a [`Child::created`] child are not visible here; they are checked
    /// when the links are made.
    ///
    /// # Errors
    /// The first [`WiringError`] found, naming the child (`child "SRC" (Producer)`) and box.
    pub fn check(&self) -> Result<(), WiringError> {
        for (i, (name, _)) in self.children.iter().enumerate() {
            if self.children[..i].iter().any(|(n, _)| n == name) {
                return Err(WiringError::DuplicateName(name.clone()));
            }
        }
        let who: HashMap<&str, (String, &Child)> = self
            .children
            .iter()
            .map(|(n, c)| (n.as_str(), (format!("child {n:?} ({})", c.describe()), c)))
            .collect();
        let child_box = |(who, c): &(String, &Child), dir: Direction, name: &str| {
            c.box_type(dir, name).map_err(|()| WiringError::MissingBox {
                child: who.clone(),
                direction: dir,
                box_name: name.to_owned(),
            })
        };
        // Boxes the Graphline will add, and the type each is first linked with.
        let mut added: HashMap<(Direction, String), Option<&'static str>> = HashMap::new();
        let mut self_box = |dir: Direction, name: &str, other: Option<&'static str>| {
            let declared = Decls::<In, Out>::BOXES.iter().find(|d| d.direction() == dir && d.name() == name);
            match declared {
                Some(d) => SelfBox::Declared(d.type_name()),
                None => SelfBox::Added(*added.entry((dir, name.to_owned())).or_insert(other)),
            }
        };
        for l in &self.links {
            let (fname, fbox) = (l.from.0.as_str(), l.from.1.as_str());
            let (tname, tbox) = (l.to.0.as_str(), l.to.1.as_str());
            let end = |who, name, ty| End { who, name, ty };
            match (who.get(fname), who.get(tname)) {
                (Some(f), Some(t)) => {
                    let fty = child_box(f, Direction::Outbox, fbox)?;
                    let tty = child_box(t, Direction::Inbox, tbox)?;
                    same_type(end(&f.0, fbox, fty), end(&t.0, tbox, tty))?;
                }
                (None, Some(t)) => {
                    let tty = child_box(t, Direction::Inbox, tbox)?;
                    let sty = match self_box(Direction::Inbox, fbox, tty) {
                        SelfBox::Declared(ty) => Some(ty),
                        SelfBox::Added(ty) => ty,
                    };
                    same_type(end(ME, fbox, sty), end(&t.0, tbox, tty))?;
                }
                (Some(f), None) => {
                    let fty = child_box(f, Direction::Outbox, fbox)?;
                    let sty = match self_box(Direction::Outbox, tbox, fty) {
                        SelfBox::Declared(ty) => Some(ty),
                        SelfBox::Added(ty) => ty,
                    };
                    same_type(end(&f.0, fbox, fty), end(ME, tbox, sty))?;
                }
                (None, None) => {
                    // The Graphline's outbox to its own inbox: both must already exist.
                    let mut own = |dir, name: &str| match self_box(dir, name, None) {
                        SelfBox::Declared(ty) => Ok(Some(ty)),
                        SelfBox::Added(_) => Err(WiringError::MissingBox {
                            child: ME.to_owned(),
                            direction: dir,
                            box_name: name.to_owned(),
                        }),
                    };
                    let fty = own(Direction::Outbox, fbox)?;
                    let tty = own(Direction::Inbox, tbox)?;
                    same_type(end(ME, fbox, fty), end(ME, tbox, tty))?;
                }
            }
        }
        Ok(())
    }
}

/// What wiring found out, for the control and signal rules.
struct Wired {
    /// No linkage starts at the Graphline's `control`: it hands control messages out itself.
    no_control_passthru: bool,
    /// No linkage ends at the Graphline's `signal`: it sends its own end message.
    no_signal_passthru: bool,
    /// The children whose `control` no linkage feeds (and that have an `Ipc` control inbox).
    control_fed: Vec<ComponentRef>,
}

/// Makes the links of the table (reference §7.3), adding the Graphline's own boxes as needed.
fn wire(cx: &Context, kids: &[(String, ComponentRef)], links: &[Linkage]) -> Result<Wired, WiringError> {
    let me = cx.me();
    let find = |name: &str| kids.iter().find(|(n, _)| n == name).map(|(_, c)| c);
    let mut wired = Wired { no_control_passthru: true, no_signal_passthru: true, control_fed: Vec::new() };
    let mut control_linked: Vec<&ComponentRef> = Vec::new();
    for l in links {
        let failed = |source: LinkError| WiringError::Link { linkage: l.to_string(), source };
        let (fbox, tbox) = (l.from.1.as_str(), l.to.1.as_str());
        let (from, to) = (find(&l.from.0), find(&l.to.0));
        let (src, dst, pt) = match (from, to) {
            (Some(f), Some(t)) => (f, t, Passthrough::Normal),
            (None, Some(t)) => {
                if !me.inbox_names().iter().any(|n| n == fbox) {
                    cx.add_inbox_like(fbox, (t, tbox)).map_err(|error| {
                        failed(LinkError::UnknownBox {
                            source_box: me.box_name(Direction::Inbox, fbox),
                            sink_box: t.box_name(Direction::Inbox, tbox),
                            error,
                        })
                    })?;
                }
                (&me, t, Passthrough::Inbound)
            }
            (Some(f), None) => {
                if !me.has_outbox(tbox) {
                    cx.add_outbox_like(tbox, (f, fbox)).map_err(|error| {
                        failed(LinkError::UnknownBox {
                            source_box: f.box_name(Direction::Outbox, fbox),
                            sink_box: me.box_name(Direction::Outbox, tbox),
                            error,
                        })
                    })?;
                }
                (f, &me, Passthrough::Outbound)
            }
            (None, None) => {
                tracing::warn!(
                    graphline = %me.name(),
                    linkage = %l,
                    "both ends name the graphline itself: linking its outbox to its own inbox"
                );
                (&me, &me, Passthrough::Normal)
            }
        };
        cx.link_with((src, fbox), (dst, tbox), LinkOptions::new().passthrough(pt)).map_err(failed)?;
        if from.is_none() && fbox == CONTROL {
            wired.no_control_passthru = false;
        }
        if to.is_none() && tbox == SIGNAL {
            wired.no_signal_passthru = false;
        }
        if let (Some(t), CONTROL) = (to, tbox) {
            control_linked.push(t);
        }
    }
    wired.control_fed = kids
        .iter()
        .map(|(_, c)| c)
        .filter(|c| !control_linked.contains(c) && c.inbox::<Ipc>(CONTROL).is_ok())
        .cloned()
        .collect();
    Ok(wired)
}

impl<In: 'static, Out: 'static> Component for Graphline<In, Out> {
    fn boxes(&self) -> &'static [BoxDecl] {
        Decls::<In, Out>::BOXES
    }

    async fn main(self, cx: Context) -> ComponentResult {
        self.check()?;
        let kids: Vec<(String, ComponentRef)> =
            self.children.into_iter().map(|(name, c)| (name, c.create(&cx))).collect();
        let wired = match wire(&cx, &kids, &self.links) {
            Ok(w) => w,
            Err(e) => {
                // None of them runs; the links made so far go when the Graphline ends.
                for (_, k) in &kids {
                    k.stop();
                }
                return Err(e.into());
            }
        };
        let refs: Vec<ComponentRef> = kids.into_iter().map(|(_, c)| c).collect();
        cx.add_children(&refs);
        for k in &refs {
            cx.activate(k);
        }
        let me = cx.me();
        let control = cx.inbox::<Ipc>(CONTROL)?;
        let fanout = cx.outbox::<Ipc>(CONTROL_FANOUT)?;
        let mut shutdown: Option<Ipc> = None;
        while !cx.children_done() {
            // With `control` passed through, `recv` would take from the child's box: leave it.
            if wired.no_control_passthru {
                while let Some(msg) = control.recv() {
                    for child in wired.control_fed.iter().filter(|c| !c.is_finished()) {
                        // Fan-out by a temporary link, as Kamaelia does: a box has one
                        // destination at a time.
                        match cx.link((&me, CONTROL_FANOUT), (child, CONTROL)) {
                            Ok(l) => {
                                if let Err(e) = fanout.send(msg.clone()) {
                                    let child = child.name();
                                    tracing::warn!(%child, error = %e, "control message dropped");
                                }
                                cx.unlink(&l)?;
                            }
                            Err(e) => tracing::warn!(error = %e, "cannot pass a control message on"),
                        }
                    }
                    if msg.is_shutdown_microprocess() {
                        shutdown = Some(msg);
                    }
                }
            }
            cx.pause().await;
        }
        if wired.no_signal_passthru {
            let msg = shutdown.unwrap_or_else(|| Ipc::new(ProducerFinished::from_caller(cx.id())));
            cx.outbox::<Ipc>(SIGNAL)?.send(msg).ok();
        }
        Ok(())
    }
}

impl<In, Out> fmt::Debug for Graphline<In, Out> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Graphline")
            .field("children", &self.children)
            .field("linkages", &self.links.iter().map(|l| l.to_string()).collect::<Vec<_>>())
            .field("in", &std::any::type_name::<In>())
            .field("out", &std::any::type_name::<Out>())
            .finish()
    }
}

/// Builds a [`Graphline`] the way Kamaelia's `Graphline(A=a, B=b, linkages={...})` reads:
/// named children, a `;`, then the linkage table. State the Graphline's types where you bind
/// it.
///
/// ```
/// use axon_core::{boxes, from_fn, BoxDecl};
/// use kamaelia_chassis::{graphline, Graphline};
/// const B: &[BoxDecl] = &boxes::standard::<String>();
/// let stage = || from_fn(B, |_| async { Ok(()) });
///
/// let g: Graphline<String> = graphline! {
///     SRC = stage(),
///     DST = stage();
///     ("SRC", "outbox") => ("DST", "inbox"),
///     ("SRC", "signal") => ("DST", "control"),
///     ("self", "inbox") => ("SRC", "inbox"),
/// };
/// assert!(g.check().is_ok());
/// ```
///
/// The linkage table is required, as Kamaelia requires `linkages=` (it may be empty:
/// `graphline! { A = a; }`):
///
/// ```compile_fail
/// use axon_core::{boxes, from_fn, BoxDecl};
/// use kamaelia_chassis::{graphline, Graphline};
/// const B: &[BoxDecl] = &boxes::standard::<String>();
/// let g: Graphline<String> = graphline! { A = from_fn(B, |_| async { Ok(()) }) };
/// ```
#[macro_export]
macro_rules! graphline {
    (
        $($name:ident = $child:expr),* $(,)? ;
        $( ($from:expr, $from_box:expr) => ($to:expr, $to_box:expr) ),* $(,)?
    ) => {
        $crate::graphline::Graphline::new()
            $(.child(stringify!($name), $child))*
            $(.link(($from, $from_box), ($to, $to_box)))*
    };
}
