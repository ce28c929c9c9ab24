//! Ports Tests/Python/Axon/test_Microprocess.py and test___str__.py (reference §1.1, §8
//! "Microprocess").
//!
//! A Python microprocess is a generator stepped by `next()`; a Rust component is an `async`
//! state machine stepped by [`Scheduler::step`]. Checks that only make sense for generators
//! (`next()` after StopIteration, the class-level `schedulerClass`) are ported to their Rust
//! outcome, as each test says.

mod util;

use std::cell::Cell;
use std::collections::HashSet;
use std::rc::Rc;

use axon_core::{from_fn, EndCause, LinkError, Scheduler};
use util::{inert, step_counter, AfterStep, DropCount, STD};

#[test]
fn components_construct_without_running_and_have_unique_ids() {
    let s = Scheduler::new();
    let ran = Rc::new(Cell::new(false));
    let r = ran.clone();
    let c = s.create(from_fn(STD, move |_| async move {
        r.set(true);
        Ok(())
    }));
    let others: Vec<_> = (0..100).map(|_| inert(&s, STD)).collect();
    let ids: HashSet<_> = others.iter().map(|c| c.id()).chain([c.id()]).collect();
    assert_eq!(ids.len(), 101, "ids are unique");
    s.run_until_idle();
    assert!(!ran.get(), "nothing runs before activation");
    assert!(!c.is_active());
}

/// Python: `activate(sched)` calls `sched._addThread(mp)` exactly once. Rust: activating twice
/// adds it once; it runs once per cycle.
#[test]
fn activate_adds_the_component_to_the_scheduler_exactly_once() {
    let s = Scheduler::new();
    let (c, steps) = step_counter(AfterStep::Yield);
    let c = s.create(c);
    s.activate(&c);
    s.activate(&c);
    assert_eq!(s.component_count(), 1);
    assert_eq!(s.step(), 1);
    assert_eq!(steps.get(), 1);
    s.activate(&c);
    assert_eq!(s.step(), 1);
    assert_eq!(steps.get(), 2);
}

/// Python: `setSchedulerClass` is per class, so microprocesses can run on different schedulers.
/// Rust: a component belongs to the scheduler that created it; schedulers are independent, and
/// linking across them is refused.
#[test]
fn each_scheduler_runs_only_its_own_components() {
    let s1 = Scheduler::new();
    let s2 = Scheduler::new();
    let ran1 = Rc::new(Cell::new(0));
    let ran2 = Rc::new(Cell::new(0));
    let (r1, r2) = (ran1.clone(), ran2.clone());
    let a = s1.spawn(from_fn(STD, move |_| async move {
        r1.set(r1.get() + 1);
        Ok(())
    }));
    let b = s2.spawn(from_fn(STD, move |_| async move {
        r2.set(r2.get() + 1);
        Ok(())
    }));
    // The error names the component that belongs elsewhere, whichever end it is.
    let foreign = |r: Result<_, LinkError>| match r {
        Err(LinkError::ForeignComponent(name)) => name,
        other => panic!("expected ForeignComponent, got {other:?}"),
    };
    assert_eq!(foreign(s1.link((&a, "outbox"), (&b, "inbox"))), b.name());
    assert_eq!(foreign(s1.link((&b, "outbox"), (&a, "inbox"))), b.name());
    assert_eq!(foreign(s2.link((&b, "outbox"), (&a, "inbox"))), a.name());
    // A component of one scheduler cannot link two of another's either.
    let c = inert(&s2, STD);
    let b2 = b.clone();
    let linker = s1.spawn(from_fn(STD, move |cx| {
        let (b, c) = (b2.clone(), c.clone());
        async move {
            match cx.link((&b, "outbox"), (&c, "inbox")) {
                Err(LinkError::ForeignComponent(name)) if name == b.name() => Ok(()),
                other => panic!("expected ForeignComponent naming {}, got {other:?}", b.name()),
            }
        }
    }));
    s1.run_until_idle();
    assert_eq!((ran1.get(), ran2.get()), (1, 0));
    assert!(a.is_finished() && !b.is_finished());
    assert!(matches!(linker.end_cause(), Some(EndCause::Finished)), "{:?}", linker.end_cause());
    s2.run_until_idle();
    assert_eq!((ran1.get(), ran2.get()), (1, 1));
}

/// Python steps an overridden `main` with `next()`, gets truthy values, then StopIteration.
#[test]
fn main_advances_one_step_per_cycle_and_ends_after_its_last_step() {
    let s = Scheduler::new();
    let at = Rc::new(Cell::new(0));
    let a = at.clone();
    let c = s.spawn(from_fn(STD, move |cx| async move {
        for i in 1..=3 {
            a.set(i);
            cx.yield_now().await;
        }
        Ok(())
    }));
    for i in 1..=3 {
        assert_eq!(s.step(), 1);
        assert_eq!(at.get(), i);
        assert!(c.is_active());
    }
    s.step();
    assert!(c.is_finished());
    assert_eq!(s.step(), 0);
}

/// Python: after `stop()`, `_isStopped()` is true and `unpause()` has no effect.
#[test]
fn stop_ends_the_component_and_a_later_wake_has_no_effect() {
    let s = Scheduler::new();
    let steps = Rc::new(Cell::new(0));
    let n = steps.clone();
    let c = s.spawn(from_fn(STD, move |cx| async move {
        loop {
            n.set(n.get() + 1);
            cx.pause().await;
        }
    }));
    s.run_until_idle();
    c.stop();
    s.run_until_idle();
    assert!(c.is_finished());
    assert!(matches!(c.end_cause(), Some(EndCause::Stopped)));
    c.wake();
    assert_eq!(s.step(), 0);
    assert_eq!(steps.get(), 1);
    assert!(c.wake_handle().is_none());
}

/// Python: after `stop()`, `next()` yields a falsy value once, then StopIteration — the body is
/// not advanced again. Rust: a stopped component's `main` is dropped, never polled again.
#[test]
fn a_stopped_component_is_never_stepped_again_and_its_state_is_dropped() {
    let s = Scheduler::new();
    let steps = Rc::new(Cell::new(0));
    let dropped = Rc::new(Cell::new(0));
    let (n, d) = (steps.clone(), dropped.clone());
    let c = s.spawn(from_fn(STD, move |cx| async move {
        let _guard = DropCount(d);
        loop {
            n.set(n.get() + 1);
            cx.yield_now().await;
        }
    }));
    s.step();
    s.step();
    c.stop();
    assert_eq!(dropped.get(), 0, "stop takes effect when the scheduler reaches it");
    s.step();
    assert_eq!(steps.get(), 2);
    assert_eq!(dropped.get(), 1);
    assert!(c.is_finished());
}

#[test]
fn stopping_a_never_activated_component_ends_it_at_once() {
    let s = Scheduler::new();
    let c = inert(&s, STD);
    c.stop();
    assert!(c.is_finished());
    assert!(matches!(c.end_cause(), Some(EndCause::Stopped)));
    s.activate(&c);
    assert_eq!(s.component_count(), 0, "an ended component cannot be activated");
}

/// Python: `pause()` makes the scheduler report it not runnable; `unpause()` runnable again.
#[test]
fn pause_makes_it_paused_and_wake_makes_it_runnable_again() {
    let s = Scheduler::new();
    let c = s.spawn(from_fn(STD, |cx| async move {
        loop {
            cx.pause().await;
        }
    }));
    assert!(!c.is_paused(), "queued, not paused");
    s.step();
    assert!(c.is_paused());
    c.wake();
    assert!(!c.is_paused());
    s.step();
    assert!(c.is_paused());
}

/// Python: the base `_closeDownMicroprocess()` returns 0 (no knock-on). Rust: a `main` that
/// returns `Ok(())` ends with `EndCause::Finished`.
#[test]
fn a_main_returning_ok_ends_with_finished() {
    let s = Scheduler::new();
    let c = s.spawn(from_fn(STD, |_| async { Ok(()) }));
    s.run_until_idle();
    assert!(matches!(c.end_cause(), Some(EndCause::Finished)));
    assert_eq!(c.end_cause().unwrap().to_string(), "finished");
}

/// test___str__: `str()` is unique per instance and stable. Rust: `name()` is `<Type>_<id>`.
#[test]
fn names_are_unique_per_instance_and_stable() {
    let s = Scheduler::new();
    let a = inert(&s, STD);
    let b = inert(&s, STD);
    assert_ne!(a.name(), b.name());
    assert_eq!(a.name(), a.name());
    assert_eq!(a.name(), format!("FnComponent_{}", a.id().as_u64()));
    s.activate(&a);
    s.run_until_idle();
    assert_eq!(a.name(), format!("FnComponent_{}", a.id().as_u64()), "stable across its life");
}
