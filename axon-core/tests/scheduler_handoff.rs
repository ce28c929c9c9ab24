//! Handoff ([`Inbox::set_handoff`]): a delivery that wakes the owner of a handoff inbox runs the
//! owner right after the sender, ahead of the components already queued; chains of handoffs are
//! capped so the run queue is never starved; deliveries from outside a step queue as usual; and
//! without it the order is Axon's round-robin exactly.

mod util;

use std::cell::RefCell;
use std::rc::Rc;

use axon_core::{from_fn, ComponentRef, Scheduler};
use util::STD;

type Log = Rc<RefCell<Vec<&'static str>>>;

/// A component that logs `name` each time it runs after a pause, then takes whatever is in
/// `inbox`, sends one message on `outbox` if `forward`, and pauses again. Its inbox does not wake
/// producers on collection (Axon's rule 2 off, as on a server's data path), so that only
/// deliveries and explicit wakes make it run.
fn logger(sched: &Scheduler, log: &Log, name: &'static str, forward: bool) -> ComponentRef {
    let log = log.clone();
    let c = sched.spawn(from_fn(STD, move |cx| async move {
        let inbox = cx.inbox::<u32>("inbox")?;
        let outbox = cx.outbox::<u32>("outbox")?;
        loop {
            cx.pause().await;
            log.borrow_mut().push(name);
            for _ in inbox.drain() {}
            if forward {
                // Refused only when nothing is linked, which these tests do not rely on.
                let _ = outbox.send(1);
            }
        }
    }));
    c.inbox::<u32>("inbox").expect("an inbox").set_notify_producers(false);
    c
}

/// Three loggers: A sends to B and, if `ping_pong`, B sends back to A; the inboxes that receive
/// hand off if `handoff`. Once all are paused, A and then C are woken and one cycle runs.
/// Returns the log, the scheduler and C.
fn a_to_b_with_c_queued(ping_pong: bool, handoff: bool) -> (Log, Scheduler, ComponentRef) {
    let sched = Scheduler::new();
    let log: Log = Rc::default();
    let a = logger(&sched, &log, "A", true);
    let b = logger(&sched, &log, "B", ping_pong);
    let c = logger(&sched, &log, "C", false);
    sched.link((&a, "outbox"), (&b, "inbox")).expect("A's outbox to B's inbox");
    b.inbox::<u32>("inbox").expect("B has an inbox").set_handoff(handoff);
    if ping_pong {
        sched.link((&b, "outbox"), (&a, "inbox")).expect("B's outbox to A's inbox");
        a.inbox::<u32>("inbox").expect("A has an inbox").set_handoff(handoff);
    }
    sched.run_until_idle();
    assert!(log.borrow().is_empty(), "every component pauses before logging");
    a.wake();
    c.wake();
    sched.step();
    (log, sched, c)
}

#[test]
fn without_handoff_a_component_woken_in_a_cycle_runs_in_the_next_as_in_axon() {
    let (log, sched, _) = a_to_b_with_c_queued(false, false);
    assert_eq!(*log.borrow(), ["A", "C"]);
    sched.step();
    assert_eq!(*log.borrow(), ["A", "C", "B"]);
}

#[test]
fn with_handoff_the_woken_owner_runs_right_after_its_sender_ahead_of_the_queue() {
    let (log, sched, _) = a_to_b_with_c_queued(false, true);
    assert_eq!(*log.borrow(), ["A", "B", "C"]);
    sched.run_until_idle();
    assert_eq!(*log.borrow(), ["A", "B", "C"], "B ran once, for its one message");
}

#[test]
fn two_components_handing_off_to_each_other_cannot_starve_the_queue() {
    let (log, sched, c) = a_to_b_with_c_queued(true, true);
    // A from the queue, then three handoffs (B, A, B); the fourth goes to the back, behind C.
    assert_eq!(*log.borrow(), ["A", "B", "A", "B", "C"]);
    sched.step();
    assert_eq!(log.borrow()[5..], ["A", "B", "A", "B"], "the ping-pong goes on, a cycle at a time");
    assert!(!c.is_finished() && c.is_paused(), "C ran once and waits again");
}

#[test]
fn a_delivery_from_outside_any_step_queues_behind_the_components_already_queued() {
    let sched = Scheduler::new();
    let log: Log = Rc::default();
    let b = logger(&sched, &log, "B", false);
    let c = logger(&sched, &log, "C", false);
    b.inbox::<u32>("inbox").expect("B has an inbox").set_handoff(true);
    sched.run_until_idle();
    c.wake();
    b.deliver("inbox", 7u32).expect("B's inbox is unbounded");
    sched.step();
    assert_eq!(*log.borrow(), ["C", "B"]);
}

#[test]
fn handoff_keeps_every_message_in_order() {
    let sched = Scheduler::new();
    let (sink, got) = util::collector::<u32>(&sched, STD);
    sink.inbox::<u32>("inbox").expect("inbox").set_handoff(true);
    let source = sched.spawn(from_fn(STD, |cx| async move {
        let out = cx.outbox::<u32>("outbox")?;
        for i in 0..1000 {
            out.send_wait(i).await;
            if i % 7 == 0 {
                cx.yield_now().await;
            }
        }
        Ok(())
    }));
    sched
        .link_with((&source, "outbox"), (&sink, "inbox"), axon_core::LinkOptions::new().pipewidth(3))
        .expect("source to sink");
    assert!(sched.run_until(std::time::Duration::from_secs(30), || source.is_finished()));
    sched.run_until_idle();
    assert_eq!(*got.borrow(), (0..1000).collect::<Vec<_>>());
}
