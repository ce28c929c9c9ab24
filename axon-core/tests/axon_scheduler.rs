//! Ports Tests/Python/Axon/test_Scheduler.py (reference §3, §8 "Scheduler", §9.2).
//!
//! Python drives `scheduler.main()` with `next()`; here [`Scheduler::step`] is one cycle and
//! [`Scheduler::run_until_idle`] runs cycles without blocking. The CPU-use check of idle
//! `runThreads` is in `scheduler_idle.rs`. Python's scheduler singleton (`scheduler.run`) and
//! `slowmo` have no Rust counterpart: schedulers are explicit values, and delays are timers.

mod util;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use axon_core::{from_fn, ComponentRef, EndCause, Scheduler};
use util::{inert, spinner, step_counter, AfterStep, DropCount, STD};

/// A component that yields `n` times, counting its steps, then ends.
fn yielder(s: &Scheduler, n: u32) -> (ComponentRef, Rc<Cell<u32>>) {
    let steps = Rc::new(Cell::new(0));
    let st = steps.clone();
    let c = s.spawn(from_fn(STD, move |cx| async move {
        for _ in 0..n {
            st.set(st.get() + 1);
            cx.yield_now().await;
        }
        Ok(())
    }));
    (c, steps)
}

/// A component, spawned on `s`, that counts its steps and pauses after each.
fn pauser(s: &Scheduler) -> (ComponentRef, Rc<Cell<u32>>) {
    let (c, steps) = step_counter(AfterStep::Pause);
    (s.spawn(c), steps)
}

#[test]
fn with_no_components_run_returns_at_once() {
    let s = Scheduler::new();
    assert_eq!(s.step(), 0);
    s.run();
    s.run_until_idle();
    assert_eq!(s.component_count(), 0);
}

#[test]
fn runs_one_component_to_completion_then_stops() {
    let s = Scheduler::new();
    let (c, steps) = yielder(&s, 5);
    s.run();
    assert_eq!(steps.get(), 5);
    assert!(c.is_finished());
    assert!(matches!(c.end_cause(), Some(EndCause::Finished)));
    assert_eq!(s.component_count(), 0);
}

#[test]
fn runs_several_components_to_completion_then_stops() {
    let s = Scheduler::new();
    let cs: Vec<_> = (1..=5).map(|n| yielder(&s, n * 3)).collect();
    s.run();
    for (i, (c, steps)) in cs.iter().enumerate() {
        assert_eq!(steps.get(), (i as u32 + 1) * 3);
        assert!(c.is_finished());
    }
    assert_eq!(s.stats().ended, 5);
}

#[test]
fn components_run_round_robin_in_activation_order() {
    let s = Scheduler::new();
    let log = Rc::new(RefCell::new(Vec::new()));
    for name in ["a", "b", "c"] {
        let l = log.clone();
        s.spawn(from_fn(STD, move |cx| async move {
            for _ in 0..2 {
                l.borrow_mut().push(name);
                cx.yield_now().await;
            }
            Ok(())
        }));
    }
    s.run_until_idle();
    assert_eq!(*log.borrow(), ["a", "b", "c", "a", "b", "c"]);
}

#[test]
fn a_component_activated_during_a_cycle_runs_in_the_next_one() {
    let s = Scheduler::new();
    let child_ran = Rc::new(Cell::new(false));
    let cr = child_ran.clone();
    let parent = s.spawn(from_fn(STD, move |cx| async move {
        cx.spawn(from_fn(STD, move |_| async move {
            cr.set(true);
            Ok(())
        }));
        Ok(())
    }));
    assert_eq!(s.step(), 1);
    assert!(parent.is_finished());
    assert!(!child_ran.get());
    assert_eq!(s.step(), 1);
    assert!(child_ran.get());
}

#[test]
fn a_paused_component_is_not_stepped() {
    let s = Scheduler::new();
    let (c, steps) = pauser(&s);
    for _ in 0..10 {
        s.step();
    }
    assert_eq!(steps.get(), 1);
    assert!(c.is_paused());
}

#[test]
fn one_component_pausing_lets_the_others_keep_running() {
    let s = Scheduler::new();
    let (_p, paused) = pauser(&s);
    let (_r, running) = spinner(&s);
    for _ in 0..10 {
        s.step();
    }
    assert_eq!(paused.get(), 1);
    assert_eq!(running.get(), 10);
}

#[test]
fn waking_a_paused_component_resumes_it_without_waking_others() {
    let s = Scheduler::new();
    let (a, a_steps) = pauser(&s);
    let (b, b_steps) = pauser(&s);
    s.run_until_idle();
    a.wake();
    s.run_until_idle();
    assert_eq!((a_steps.get(), b_steps.get()), (2, 1));
    assert!(a.is_paused() && b.is_paused());
}

#[test]
fn waking_an_awake_component_has_no_effect() {
    let s = Scheduler::new();
    let (c, steps) = spinner(&s);
    c.wake();
    c.wake();
    assert_eq!(s.step(), 1, "queued once");
    assert_eq!(steps.get(), 1);
    c.wake();
    assert_eq!(s.step(), 1);
    assert_eq!(steps.get(), 2);
}

/// Python: pausing a paused mp has no effect (and §9.2: a second pause request could strand it).
/// Rust: several wakes of a paused component queue it once; it runs once, and a later wake
/// still works.
#[test]
fn waking_a_paused_component_twice_runs_it_once_and_never_strands_it() {
    let s = Scheduler::new();
    let (c, steps) = pauser(&s);
    s.run_until_idle();
    c.wake();
    c.wake();
    s.run_until_idle();
    assert_eq!(steps.get(), 2);
    c.wake();
    s.run_until_idle();
    assert_eq!(steps.get(), 3);
}

/// Python: waking or pausing a never-activated mp is ignored (it is not added). Python's
/// `isThreadPaused` says True for an unknown mp; the Rust equivalent is that it is not active
/// (and not paused: it was never run).
#[test]
fn waking_a_never_activated_component_has_no_effect() {
    let s = Scheduler::new();
    let ran = Rc::new(Cell::new(false));
    let r = ran.clone();
    let c = s.create(from_fn(STD, move |_| async move {
        r.set(true);
        Ok(())
    }));
    c.wake();
    assert!(c.wake_handle().is_none());
    assert_eq!(s.component_count(), 0);
    assert_eq!(s.step(), 0);
    assert!(!ran.get());
    assert!(!c.is_active() && !c.is_paused());
}

#[test]
fn components_lists_every_active_component_paused_or_not() {
    let s = Scheduler::new();
    let (p, _) = pauser(&s);
    let (r, _) = spinner(&s);
    let _inactive = inert(&s, STD);
    s.step();
    let listed = s.components();
    assert_eq!(listed.len(), 2);
    assert!(listed.contains(&p) && listed.contains(&r));
}

#[test]
fn is_paused_is_true_for_paused_and_false_for_awake_components() {
    let s = Scheduler::new();
    let (p, _) = pauser(&s);
    let (r, _) = spinner(&s);
    s.step();
    assert!(p.is_paused());
    assert!(!r.is_paused());
}

/// test_pauseThenTerminateTerminates: a component that pauses and then ends is cleaned up.
#[test]
fn a_component_that_pauses_then_ends_terminates_cleanly() {
    let s = Scheduler::new();
    let c = s.spawn(from_fn(STD, |cx| async move {
        cx.pause().await;
        Ok(())
    }));
    s.run_until_idle();
    assert!(c.is_paused());
    c.wake();
    s.run_until_idle();
    assert!(c.is_finished());
    assert_eq!(s.component_count(), 0);
}

/// §9.2 fixed: `stop()` on a paused component used to leave a zombie that kept `runThreads`
/// running forever. Here it ends, and `run` returns.
#[test]
fn stopping_a_paused_component_ends_it_and_run_returns() {
    let s = Scheduler::new();
    let dropped = Rc::new(Cell::new(0));
    let d = dropped.clone();
    let c = s.spawn(from_fn(STD, move |cx| async move {
        let _g = DropCount(d);
        loop {
            cx.pause().await;
        }
    }));
    s.run_until_idle();
    assert!(c.is_paused());
    c.stop();
    s.run();
    assert!(matches!(c.end_cause(), Some(EndCause::Stopped)));
    assert_eq!(dropped.get(), 1);
}

/// Python: `main()` driven directly does not block when every mp is asleep.
#[test]
fn run_until_idle_does_not_block_when_everything_is_paused() {
    let s = Scheduler::new();
    let _ = pauser(&s);
    let _ = pauser(&s);
    s.run_until_idle();
    assert_eq!(s.step(), 0);
    assert_eq!(s.component_count(), 2);
}

#[test]
fn scheduler_stop_ends_every_component_paused_or_running() {
    let s = Scheduler::new();
    let (p, _) = pauser(&s);
    let (r, _) = spinner(&s);
    s.step();
    s.stop();
    assert!(matches!(p.end_cause(), Some(EndCause::Stopped)));
    assert!(matches!(r.end_cause(), Some(EndCause::Stopped)));
    assert_eq!(s.component_count(), 0);
}

#[test]
fn a_stop_handle_from_another_thread_makes_run_return() {
    let s = Scheduler::new();
    let (p, _) = pauser(&s);
    let (tx, rx) = mpsc::channel();
    let handle = s.stop_handle();
    let t = std::thread::spawn(move || {
        // Wait until the scheduler thread says it is about to run, then stop it.
        rx.recv_timeout(Duration::from_secs(10)).expect("the test thread signals");
        handle.stop();
    });
    let started = s.spawn(from_fn(STD, move |_| async move {
        tx.send(()).unwrap();
        Ok(())
    }));
    s.run();
    t.join().unwrap();
    assert!(started.is_finished());
    assert!(matches!(p.end_cause(), Some(EndCause::Stopped)));
}

#[test]
fn a_wake_handle_from_another_thread_wakes_a_paused_component() {
    let s = Scheduler::new();
    let (p, steps) = pauser(&s);
    s.run_until_idle();
    let h = p.wake_handle().unwrap();
    assert_eq!(h.id(), p.id());
    std::thread::spawn(move || h.wake()).join().unwrap();
    assert!(s.run_until(Duration::from_secs(10), || steps.get() == 2));
}

/// Python's `runThreads(slowmo=1.0)` delays the first run; the Rust counterpart of a delay is a
/// timer: a sleeping component does not run again before its deadline. (A lower bound that the
/// implementation guarantees, not a timing measurement.)
#[test]
fn a_sleeping_component_does_not_resume_before_its_deadline() {
    let s = Scheduler::new();
    let woke_at = Rc::new(Cell::new(None));
    let w = woke_at.clone();
    let start = Instant::now();
    let d = Duration::from_millis(20);
    let c = s.spawn(from_fn(STD, move |cx| async move {
        cx.sleep(d).await;
        w.set(Some(Instant::now()));
        Ok(())
    }));
    s.run_until_idle();
    // On a busy machine the deadline may already have passed here; only then may it be done.
    assert!(!c.is_finished() || start.elapsed() >= d);
    assert!(s.run_until(Duration::from_secs(10), || c.is_finished()));
    assert!(woke_at.get().unwrap() - start >= d);
}

#[test]
fn pause_until_returns_on_a_wake_or_at_the_deadline() {
    let s = Scheduler::new();
    let results = Rc::new(RefCell::new(Vec::new()));
    let r = results.clone();
    let c = s.spawn(from_fn(STD, move |cx| async move {
        let far = Instant::now() + Duration::from_secs(3600);
        let woken_early = cx.pause_until(far).await;
        r.borrow_mut().push(woken_early);
        let near = Instant::now() + Duration::from_millis(5);
        let timed_out = cx.pause_until(near).await;
        r.borrow_mut().push(timed_out);
        Ok(())
    }));
    s.run_until_idle();
    assert!(c.is_paused());
    c.wake();
    assert!(s.run_until(Duration::from_secs(10), || c.is_finished()));
    assert_eq!(*results.borrow(), [false, true]);
}
