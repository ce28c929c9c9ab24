//! Helpers shared by the Pipeline and Graphline tests.
//!
//! Each test binary uses a different subset of these, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use axon_core::ipc::{Ipc, IpcMessage};
use axon_core::{boxes, from_fn, BoxDecl, Component, ComponentRef, ComponentResult, Context, Scheduler};

/// Axon's four standard boxes, all carrying [`Ipc`]: the Python tests' children accept any
/// object on any box, and the Graphline tests link data boxes to control boxes.
pub(crate) const IPC_STD: &[BoxDecl] = &boxes::standard::<Ipc>();

/// Axon's four standard boxes with `u32` data boxes.
pub(crate) const U32_STD: &[BoxDecl] = &boxes::standard::<u32>();

/// Axon's four standard boxes with `String` data boxes.
pub(crate) const STRING_STD: &[BoxDecl] = &boxes::standard::<String>();

/// A component with a data inbox only: not one of Axon's standard shapes.
pub(crate) const ODD: &[BoxDecl] = &[BoxDecl::inbox::<u32>("data")];

/// The Python tests' `MockChild`: notes that it was activated, then does nothing until it is
/// stopped (Python's `stopNow()` is [`ComponentRef::stop`] here). It never reads its boxes, so
/// a test can inspect them and send from them as if it were the child.
pub(crate) struct Mock {
    boxes: &'static [BoxDecl],
    activated: Rc<Cell<bool>>,
}

impl Mock {
    /// A mock with the given boxes, and the flag it sets when it starts running.
    pub(crate) fn new(boxes: &'static [BoxDecl]) -> (Mock, Rc<Cell<bool>>) {
        let activated = Rc::new(Cell::new(false));
        (Mock { boxes, activated: activated.clone() }, activated)
    }
}

impl Component for Mock {
    fn boxes(&self) -> &'static [BoxDecl] {
        self.boxes
    }

    async fn main(self, cx: Context) -> ComponentResult {
        self.activated.set(true);
        loop {
            cx.pause().await;
        }
    }
}

/// A [`Mock`] created (not activated) on `sched`, so the test holds its handle.
pub(crate) fn mock(sched: &Scheduler, boxes: &'static [BoxDecl]) -> ComponentRef {
    sched.create(Mock::new(boxes).0)
}

/// `n` created mocks.
pub(crate) fn mocks(sched: &Scheduler, boxes: &'static [BoxDecl], n: usize) -> Vec<ComponentRef> {
    (0..n).map(|_| mock(sched, boxes)).collect()
}

/// A created, never activated component: plain box storage standing in for the Python tests'
/// `Dummy` sources and sinks.
pub(crate) fn inert(sched: &Scheduler, boxes: &'static [BoxDecl]) -> ComponentRef {
    sched.create(from_fn(boxes, |_| async { Ok(()) }))
}

/// Sends `msg` out of `c`'s outbox `name`, from outside the component.
pub(crate) fn send<T: 'static>(c: &ComponentRef, name: &str, msg: T) {
    c.outbox::<T>(name).expect("outbox exists").send(msg).expect("room in the destination");
}

/// Takes one message from `c`'s inbox `name` (from its chain's final destination).
pub(crate) fn recv<T: 'static>(c: &ComponentRef, name: &str) -> Option<T> {
    c.inbox::<T>(name).expect("inbox exists").recv()
}

/// A numbered message, standing in for the Python tests' `object()`: it is recognised by
/// [`token_of`], so a test can tell which message arrived.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Token(pub(crate) u32);

impl IpcMessage for Token {}

/// A [`Token`] as an [`Ipc`].
pub(crate) fn token(n: u32) -> Ipc {
    Ipc::new(Token(n))
}

/// The number of a [`Token`], if `msg` is one.
pub(crate) fn token_of(msg: &Ipc) -> Option<u32> {
    msg.downcast_ref::<Token>().map(|t| t.0)
}

// ----- working stages -----

/// Sends `items` then `ProducerFinished`, and ends.
pub(crate) fn source(items: Vec<u32>) -> impl Component {
    from_fn(U32_STD, move |cx| async move {
        for n in items {
            cx.send(n, "outbox")?;
        }
        cx.send(Ipc::producer_finished(), "signal")?;
        Ok(())
    })
}

/// Applies `f` to every number; on any control message, passes it on and ends.
pub(crate) fn map(f: fn(u32) -> u32) -> impl Component {
    from_fn(U32_STD, move |cx| async move {
        loop {
            while let Some(n) = cx.recv::<u32>("inbox")? {
                cx.send(f(n), "outbox")?;
            }
            if let Some(msg) = cx.recv::<Ipc>("control")? {
                cx.send(msg, "signal")?;
                return Ok(());
            }
            cx.pause().await;
        }
    })
}

/// Collects numbers until a stop message, which it records too.
pub(crate) fn collect(into: Rc<RefCell<Vec<u32>>>, stop: Rc<RefCell<Option<Ipc>>>) -> impl Component {
    from_fn(U32_STD, move |cx| async move {
        loop {
            while let Some(n) = cx.recv::<u32>("inbox")? {
                into.borrow_mut().push(n);
            }
            if let Some(msg) = cx.recv::<Ipc>("control")? {
                *stop.borrow_mut() = Some(msg);
                return Ok(());
            }
            cx.pause().await;
        }
    })
}
