//! Helpers shared by the axon-core integration tests.
//!
//! Each test binary uses a different subset of these, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use axon_core::ipc::Ipc;
use axon_core::{boxes, from_fn, BoxDecl, Component, ComponentRef, Context, Scheduler};

/// Axon's four standard boxes, with `u32` data boxes.
pub(crate) const STD: &[BoxDecl] = &boxes::standard::<u32>();

/// Axon's four standard boxes, with `String` data boxes.
pub(crate) const STD_STRING: &[BoxDecl] = &boxes::standard::<String>();

/// Increments a shared counter when dropped: proves a value (a component, its future) was freed.
#[derive(Debug)]
pub(crate) struct DropCount(pub(crate) Rc<Cell<usize>>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

/// What a [`step_counter`] awaits after each step.
#[derive(Clone, Copy, Debug)]
pub(crate) enum AfterStep {
    /// `yield_now`: it runs again next cycle, never pausing.
    Yield,
    /// `pause`: it runs again when woken.
    Pause,
}

/// A component (not yet created) that counts its steps, awaiting `after` after each.
pub(crate) fn step_counter(after: AfterStep) -> (impl Component, Rc<Cell<u32>>) {
    let steps = Rc::new(Cell::new(0));
    let st = steps.clone();
    let c = from_fn(STD, move |cx| async move {
        loop {
            st.set(st.get() + 1);
            match after {
                AfterStep::Yield => cx.yield_now().await,
                AfterStep::Pause => cx.pause().await,
            }
        }
    });
    (c, steps)
}

/// A step counter, spawned on `sched`, that never pauses (it yields after each step): the other
/// work a test checks is not starved.
pub(crate) fn spinner(sched: &Scheduler) -> (ComponentRef, Rc<Cell<u32>>) {
    let (c, steps) = step_counter(AfterStep::Yield);
    (sched.spawn(c), steps)
}

/// Axon's `UnpauseDetectionComponent`: pauses forever, counting how often it was woken
/// (`while 1: self.pause(); yield 1; self.unpaused += 1`).
pub(crate) fn unpause_detector(sched: &Scheduler) -> (ComponentRef, Rc<Cell<u32>>) {
    let woken = Rc::new(Cell::new(0));
    let w = woken.clone();
    let c = sched.spawn(from_fn(STD, move |cx| async move {
        loop {
            cx.pause().await;
            w.set(w.get() + 1);
        }
    }));
    (c, woken)
}

/// `n` activated unpause detectors, run until all are paused.
pub(crate) fn unpause_detectors(sched: &Scheduler, n: usize) -> Vec<(ComponentRef, Rc<Cell<u32>>)> {
    let v: Vec<_> = (0..n).map(|_| unpause_detector(sched)).collect();
    sched.run_until_idle();
    assert!(v.iter().all(|(c, _)| c.is_paused()), "every detector pauses at its first step");
    v
}

/// Resets every detector's counter to 0 (the Python tests' `x.unpaused = 0`).
pub(crate) fn reset(detectors: &[(ComponentRef, Rc<Cell<u32>>)]) {
    for (_, n) in detectors {
        n.set(0);
    }
}

/// The detectors' counters, in order.
pub(crate) fn counts(detectors: &[(ComponentRef, Rc<Cell<u32>>)]) -> Vec<u32> {
    detectors.iter().map(|(_, n)| n.get()).collect()
}

/// A component that collects whatever arrives on its `inbox` (of type `T`) into a shared vector,
/// and ends when a stop message ([`Ipc::is_stop`]) arrives on `control`.
pub(crate) fn collector<T: 'static>(
    sched: &Scheduler,
    decls: &'static [BoxDecl],
) -> (ComponentRef, Rc<RefCell<Vec<T>>>) {
    let got = Rc::new(RefCell::new(Vec::new()));
    let g = got.clone();
    let c = sched.spawn(from_fn(decls, move |cx| async move {
        let inbox = cx.inbox::<T>("inbox")?;
        let control = cx.inbox::<Ipc>("control")?;
        loop {
            for m in inbox.drain() {
                g.borrow_mut().push(m);
            }
            while let Some(msg) = control.recv() {
                if msg.is_stop() {
                    return Ok(());
                }
            }
            cx.pause().await;
        }
    }));
    (c, got)
}

/// Spawns a component that hands its [`Context`] to the test and then pauses forever, so the
/// test can act as that component (link, unlink, add boxes...) from outside, as the Python tests
/// call methods on component objects directly. Runs scheduler cycles until the component has
/// started; create puppets before components whose first steps matter.
pub(crate) fn puppet(sched: &Scheduler, decls: &'static [BoxDecl]) -> (ComponentRef, Context) {
    let slot: Rc<RefCell<Option<Context>>> = Rc::new(RefCell::new(None));
    let s = slot.clone();
    let c = sched.spawn(from_fn(decls, move |cx| async move {
        *s.borrow_mut() = Some(cx.clone());
        loop {
            cx.pause().await;
        }
    }));
    for _ in 0..10 {
        if slot.borrow().is_some() {
            break;
        }
        sched.step();
    }
    let cx = slot.borrow_mut().take().expect("the puppet ran within 10 cycles");
    (c, cx)
}

/// A created (never activated) component with the given boxes: plain box storage, as the Python
/// tests use components that are never activated.
pub(crate) fn inert(sched: &Scheduler, decls: &'static [BoxDecl]) -> ComponentRef {
    sched.create(from_fn(decls, |_| async { Ok(()) }))
}

/// Sends `msg` out of `c`'s outbox `name` from outside the component.
pub(crate) fn send<T: 'static>(c: &ComponentRef, name: &str, msg: T) {
    c.outbox::<T>(name).expect("outbox exists").send(msg).expect("room in the destination");
}

/// Takes one message from `c`'s inbox `name` (its chain's final destination) from outside.
pub(crate) fn recv<T: 'static>(c: &ComponentRef, name: &str) -> Option<T> {
    c.inbox::<T>(name).expect("inbox exists").recv()
}
