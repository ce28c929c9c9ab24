//! Helpers shared by the carousel, seq, backplane and components tests. They drive the
//! scheduler deterministically (`step`, `run_until_idle`); nothing sleeps.
//!
//! Each test binary uses a different subset of these, hence the `dead_code` allowance.
#![allow(dead_code, unreachable_pub)]

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use axon_core::ipc::Ipc;
use axon_core::{boxes, from_fn, BoxDecl, Component, ComponentRef, EndCause, Scheduler};

/// Axon's four standard boxes, with `String` data boxes.
pub const STD_STRING: &[BoxDecl] = &boxes::standard::<String>();

/// Axon's four standard boxes, with `u32` data boxes.
pub const STD_U32: &[BoxDecl] = &boxes::standard::<u32>();

/// A created, never activated component with the given boxes: plain box storage the test
/// reads from outside (the Python tests' `Dummy` components that never read).
pub fn inert(sched: &Scheduler, decls: &'static [BoxDecl]) -> ComponentRef {
    sched.create(from_fn(decls, |_| async { Ok(()) }))
}

/// Everything waiting in `c`'s inbox `name`, taken.
pub fn take_all<T: 'static>(c: &ComponentRef, name: &str) -> Vec<T> {
    let inbox = c.inbox::<T>(name).expect("inbox exists");
    inbox.drain().collect()
}

/// What a [`collector`] has received: its data, and the stop message that ended it.
pub type Collected<T> = Rc<RefCell<Vec<T>>>;

/// A component that collects whatever arrives on its `inbox` into a shared vector, and ends
/// when a stop message arrives on `control` (recording the stop message too).
pub fn collector<T: 'static>(
    sched: &Scheduler,
    decls: &'static [BoxDecl],
) -> (ComponentRef, Collected<T>, Collected<Ipc>) {
    let got = Rc::new(RefCell::new(Vec::new()));
    let stops = Rc::new(RefCell::new(Vec::new()));
    let (g, s) = (got.clone(), stops.clone());
    let c = sched.spawn(from_fn(decls, move |cx| async move {
        let inbox = cx.inbox::<T>("inbox")?;
        let control = cx.inbox::<Ipc>("control")?;
        loop {
            g.borrow_mut().extend(inbox.drain());
            if let Some(m) = control.recv() {
                if m.is_stop() {
                    g.borrow_mut().extend(inbox.drain());
                    s.borrow_mut().push(m);
                    return Ok(());
                }
            }
            cx.pause().await;
        }
    }));
    (c, got, stops)
}

/// The error a component failed with, if it failed.
pub fn failure(c: &ComponentRef) -> Option<std::sync::Arc<dyn std::error::Error + Send + Sync>> {
    match c.end_cause() {
        Some(EndCause::Failed(e)) => Some(e),
        _ => None,
    }
}

/// A child made by a test factory (the Python tests' `MockChild`): it records its argument,
/// notes its activation, never reads its boxes (the test does), and runs until told
/// [`stop_now`](Self::stop_now).
#[derive(Debug)]
pub struct MockChild<A> {
    pub arg: A,
    activated: Cell<bool>,
    stop: Cell<bool>,
    me: RefCell<Option<ComponentRef>>,
}

impl<A> MockChild<A> {
    /// Whether it has started running (Python's `wasActivated`).
    pub fn was_activated(&self) -> bool {
        self.activated.get()
    }

    /// Makes it end at its next step (Python's `stopNow = True`), and wakes it.
    pub fn stop_now(&self) {
        self.stop.set(true);
        if let Some(me) = self.me.borrow().as_ref() {
            me.wake();
        }
    }

    /// Its handle; it must have been activated.
    pub fn handle(&self) -> ComponentRef {
        self.me.borrow().clone().expect("the child has run")
    }

    /// Whether it has ended (Python's `_isStopped`).
    pub fn is_finished(&self) -> bool {
        self.me.borrow().as_ref().is_some_and(|c| c.is_finished())
    }

    /// Takes one message from its `control` inbox.
    pub fn recv_control(&self) -> Option<Ipc> {
        self.handle().inbox::<Ipc>("control").expect("control").recv()
    }
}

/// The children a [`mock_factory`] has made, oldest first.
pub type Mocks<A> = Rc<RefCell<Vec<Rc<MockChild<A>>>>>;

/// A factory of [`MockChild`]ren with `decls` boxes, recording each in the returned list.
pub fn mock_factory<A: Clone + 'static>(
    decls: &'static [BoxDecl],
) -> (impl FnMut(A) -> MockComponent<A> + 'static, Mocks<A>) {
    let mocks: Mocks<A> = Rc::new(RefCell::new(Vec::new()));
    let m = mocks.clone();
    let factory = move |arg: A| {
        let child = Rc::new(MockChild {
            arg,
            activated: Cell::new(false),
            stop: Cell::new(false),
            me: RefCell::new(None),
        });
        m.borrow_mut().push(child.clone());
        MockComponent { decls, child }
    };
    (factory, mocks)
}

/// The component a [`mock_factory`] makes.
pub struct MockComponent<A> {
    decls: &'static [BoxDecl],
    child: Rc<MockChild<A>>,
}

impl<A: 'static> Component for MockComponent<A> {
    fn boxes(&self) -> &'static [BoxDecl] {
        self.decls
    }

    async fn main(self, cx: axon_core::Context) -> axon_core::ComponentResult {
        let child = self.child;
        child.activated.set(true);
        *child.me.borrow_mut() = Some(cx.me());
        while !child.stop.get() {
            cx.pause().await;
        }
        Ok(())
    }
}
