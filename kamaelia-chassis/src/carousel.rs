//! The Carousel (`Kamaelia.Chassis.Carousel`): runs one child at a time, made on request by a
//! factory, and replaces it when it ends or when a new request arrives.
//!
//! # State
//! The Carousel is in one of two states, and only its own `main` moves it between them
//! (reference §7.4):
//!
//! - **A, no child.** A stop message on `control` is latched: `ProducerFinished` as "please
//!   stop", `ShutdownMicroprocess` as "must stop". "Must stop" wins at once: it is emitted on
//!   `signal` and the Carousel ends, dropping any queued `next` requests. Otherwise a `next`
//!   request makes, wires and activates a child (state B). Otherwise "please stop" is emitted
//!   and the Carousel ends. Otherwise it pauses.
//! - **B, a child running.** A latched "must stop" is forwarded to the child's `control`; a
//!   pending `next` request makes the Carousel send the child `ShutdownMicroprocess` (the
//!   request is kept for state A); a latched "please stop" is forwarded to the child. The child
//!   is told at most once of each, and "must stop" still reaches a child already told "please
//!   stop". When the child ends the Carousel unwires it, sends [`NextRequest`] on
//!   `requestNext` unless a request is pending or a stop is latched, and goes back to state A.
//!
//! So the Carousel never ends before its child; queued `next` requests are all served
//! before a `ProducerFinished` takes effect, and are dropped by a `ShutdownMicroprocess`.

use std::fmt;
use std::marker::PhantomData;

use axon_core::boxes::{CONTROL, INBOX, OUTBOX, SIGNAL};
use axon_core::ipc::{Ipc, IpcKind, ShutdownMicroprocess};
use axon_core::{BoxDecl, Component, ComponentRef, ComponentResult, Context, LinkOptions, Passthrough};

use crate::child::Child;

/// The Carousel's inbox for requests to replace its child; each request is handed to the factory.
pub const NEXT: &str = "next";
/// The Carousel's outbox asking for the next request ([`NextRequest`], Kamaelia's `"NEXT"`).
pub const REQUEST_NEXT: &str = "requestNext";
/// The Carousel's internal outbox linked to its current child's `control`.
pub const CHILD_SIGNAL: &str = "_signal";

/// "Send me the next request": what a [`Carousel`] emits on `requestNext` (Kamaelia sent the
/// string `"NEXT"`, which is this type's `Display`).
#[doc(alias = "NEXT")]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct NextRequest;

impl fmt::Display for NextRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NEXT")
    }
}

/// The box declarations of a `Carousel<T, M, _>`, one `&'static` slice per pair of types.
struct Decls<T, M>(PhantomData<(T, M)>);

impl<T: 'static, M: 'static> Decls<T, M> {
    const BOXES: &'static [BoxDecl] = &[
        BoxDecl::inbox::<T>(INBOX).doc("data for the current child"),
        BoxDecl::inbox::<M>(NEXT).doc("requests to replace the child; each is passed to the factory"),
        BoxDecl::inbox::<Ipc>(CONTROL).doc("ProducerFinished / ShutdownMicroprocess: stop"),
        BoxDecl::outbox::<T>(OUTBOX).doc("data from the current child"),
        BoxDecl::outbox::<Ipc>(SIGNAL).doc("the stop message, as the Carousel ends"),
        BoxDecl::outbox::<Ipc>(CHILD_SIGNAL).doc("internal: to the current child's control"),
        BoxDecl::outbox::<NextRequest>(REQUEST_NEXT).doc("NEXT: asks for the next request"),
    ];
}

/// Runs one child at a time, made by a factory from each message on `next`, and asks for the
/// next when the child ends (Kamaelia's `Carousel(componentFactory, make1stRequest)`).
///
/// `T` is the type of the data passing through (`inbox`/`outbox`), `M` the type of the
/// requests on `next`. The factory returns a fresh, unactivated component — any
/// [`Component`], or a [`Child`] when different requests call for children of different types
/// (or for a component created beforehand, [`Child::created`]); the Carousel wires it and
/// activates it.
///
/// # Inboxes
/// - `inbox` (`T`): passed through to the current child's `inbox`. Data that arrives while
///   there is no child waits and goes to the next child.
/// - `next` (`M`): a request to replace the child. The factory is called with it once the
///   current child (told to stop with `ShutdownMicroprocess`) has ended.
/// - `control` ([`Ipc`]): `ProducerFinished` and `ShutdownMicroprocess` (see *Shutdown*). Other
///   messages are forwarded to the current child's `control`, or dropped if there is none.
///
/// # Outboxes
/// - `outbox` (`T`): the current child's `outbox`, passed through.
/// - `signal` ([`Ipc`]): the stop message, as the Carousel ends.
/// - `requestNext` ([`NextRequest`]): sent when a child ends with no request pending, and at
///   start with [`make_first_request`](Self::make_first_request).
/// - `_signal` ([`Ipc`]): internal, to the current child's `control`.
///
/// The child's `signal` is not linked anywhere: what it says there is ignored (and counted as
/// dropped by the scheduler).
///
/// Data that arrives on `inbox` between a child ending and the Carousel noticing (one
/// scheduler cycle) still goes to the ended child, whose inbox it was linked to, and is lost
/// — counted in [`Stats::dropped_dead`](axon_core::Stats) — as in Kamaelia.
///
/// # Shutdown
/// `ProducerFinished` is forwarded to the child; queued `next` requests are still served, one
/// child after another; when the last child has ended the Carousel emits the message on
/// `signal` and ends. `ShutdownMicroprocess` (or the legacy `Shutdown`) is forwarded to the
/// child and queued requests are dropped: the Carousel emits it and ends as soon as the child
/// has ended. The Carousel never ends before its child. See the [module docs](self) for the
/// state machine.
///
/// # Errors
/// `main` fails with the [`LinkError`](axon_core::LinkError) if a child's boxes do not fit
/// (its `inbox`/`outbox` must carry `T`, its `control` [`Ipc`]); the child is not activated.
///
/// ```
/// use axon_core::{boxes, from_fn, BoxDecl, Scheduler};
/// use kamaelia_chassis::Carousel;
/// const STD: &[BoxDecl] = &boxes::standard::<String>();
///
/// // Each request on `next` makes a child that greets the name it was given, then ends.
/// let carousel = Carousel::<String, String, _>::new(|name: String| {
///     from_fn(STD, move |cx| async move {
///         cx.outbox::<String>("outbox")?.send(format!("hello {name}"))?;
///         Ok(())
///     })
/// });
/// let sched = Scheduler::new();
/// let c = sched.spawn(carousel);
/// c.deliver("next", "kamaelia".to_string()).unwrap();
/// sched.run_until_idle();
/// assert_eq!(c.children().len(), 0); // the child has said hello and ended
/// ```
#[doc(alias = "make1stRequest")]
pub struct Carousel<T, M, F> {
    /// Makes a child from each `next` request.
    factory: F,
    /// Whether to send `NEXT` as soon as the Carousel starts.
    make_first_request: bool,
    _types: PhantomData<fn(T, M)>,
}

impl<T, M, F> fmt::Debug for Carousel<T, M, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Carousel")
            .field("data", &std::any::type_name::<T>())
            .field("next", &std::any::type_name::<M>())
            .field("make_first_request", &self.make_first_request)
            .finish_non_exhaustive()
    }
}

impl<T, M, F, C> Carousel<T, M, F>
where
    T: 'static,
    M: 'static,
    F: FnMut(M) -> C + 'static,
    C: Into<Child> + 'static,
{
    /// A Carousel whose children `factory` makes from the requests on `next`.
    pub fn new(factory: F) -> Self {
        Carousel { factory, make_first_request: false, _types: PhantomData }
    }

    /// Whether to send [`NextRequest`] on `requestNext` as soon as it starts (Kamaelia's
    /// `make1stRequest`; off by default).
    #[doc(alias = "make1stRequest")]
    pub fn make_first_request(mut self, yes: bool) -> Self {
        self.make_first_request = yes;
        self
    }
}

/// What the Carousel has told its current child.
struct Current {
    child: ComponentRef,
    /// It has been sent a kind of `ShutdownMicroprocess`.
    told_shutdown: bool,
    /// It has been sent the latched `ProducerFinished`.
    told_finish: bool,
}

fn is_must_stop(msg: &Ipc) -> bool {
    matches!(msg.kind(), IpcKind::ShutdownMicroprocess | IpcKind::Shutdown)
}

impl<T, M, F, C> Component for Carousel<T, M, F>
where
    T: 'static,
    M: 'static,
    F: FnMut(M) -> C + 'static,
    C: Into<Child> + 'static,
{
    fn boxes(&self) -> &'static [BoxDecl] {
        Decls::<T, M>::BOXES
    }

    async fn main(mut self, cx: Context) -> ComponentResult {
        let me = cx.me();
        let next = cx.inbox::<M>(NEXT)?;
        let control = cx.inbox::<Ipc>(CONTROL)?;
        let signal = cx.outbox::<Ipc>(SIGNAL)?;
        let to_child = cx.outbox::<Ipc>(CHILD_SIGNAL)?;
        let request_next = cx.outbox::<NextRequest>(REQUEST_NEXT)?;
        if self.make_first_request {
            request_next.send(NextRequest).ok();
        }
        let mut please_stop: Option<Ipc> = None;
        let mut must_stop: Option<Ipc> = None;
        let mut current: Option<Current> = None;
        loop {
            while let Some(msg) = control.recv() {
                if is_must_stop(&msg) {
                    must_stop.get_or_insert(msg);
                } else if msg.is_producer_finished() {
                    please_stop.get_or_insert(msg);
                } else if current.is_some() {
                    to_child.send(msg).ok();
                }
            }
            match &mut current {
                None => {
                    if let Some(msg) = must_stop.take() {
                        signal.send(msg).ok();
                        return Ok(());
                    }
                    if let Some(request) = next.recv() {
                        let child = (self.factory)(request).into().create(&cx);
                        let wired = (|| {
                            cx.link_with(
                                (&me, INBOX),
                                (&child, INBOX),
                                LinkOptions::new().passthrough(Passthrough::Inbound),
                            )?;
                            cx.link((&me, CHILD_SIGNAL), (&child, CONTROL))?;
                            cx.link_with(
                                (&child, OUTBOX),
                                (&me, OUTBOX),
                                LinkOptions::new().passthrough(Passthrough::Outbound),
                            )
                        })();
                        if let Err(e) = wired {
                            cx.unlink_component(&child);
                            return Err(e.into());
                        }
                        cx.add_children(std::slice::from_ref(&child));
                        cx.activate(&child);
                        current = Some(Current { child, told_shutdown: false, told_finish: false });
                        // Forward anything already latched before pausing.
                        continue;
                    }
                    if let Some(msg) = please_stop.take() {
                        signal.send(msg).ok();
                        return Ok(());
                    }
                }
                Some(cur) => {
                    if cur.child.is_finished() {
                        cx.remove_child(&cur.child);
                        current = None;
                        if next.is_empty() && please_stop.is_none() && must_stop.is_none() {
                            request_next.send(NextRequest).ok();
                        }
                        continue;
                    }
                    if !cur.told_shutdown {
                        if let Some(msg) = &must_stop {
                            to_child.send(msg.clone()).ok();
                            cur.told_shutdown = true;
                        } else if !next.is_empty() {
                            to_child.send(Ipc::new(ShutdownMicroprocess::default())).ok();
                            cur.told_shutdown = true;
                        } else if let (Some(msg), false) = (&please_stop, cur.told_finish) {
                            to_child.send(msg.clone()).ok();
                            cur.told_finish = true;
                        }
                    }
                }
            }
            cx.pause().await;
        }
    }
}
