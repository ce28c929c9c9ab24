//! Ports Tests/Python/Axon/test_Component.py (reference §1.2, §1.3, §8 "Component").
//!
//! Python tests call methods on component objects that were never activated; here components
//! are created on a scheduler and driven from outside through [`ComponentRef`] box handles, or,
//! where the Python test calls a component's own methods (`link`, `addChildren`...), through the
//! component's [`Context`](axon_core::Context) (see `util::puppet`). The notification tests
//! drive the scheduler deterministically with `step`/`run_until_idle`.

mod util;

use std::cell::Cell;
use std::rc::Rc;

use axon_core::ipc::Ipc;
use axon_core::{from_fn, EndCause, LinkOptions, Passthrough, Scheduler};
use util::{counts, inert, puppet, recv, reset, send, unpause_detectors, STD};

// ----- construction -----

#[test]
fn a_component_has_the_four_default_boxes_all_empty_and_no_children() {
    let s = Scheduler::new();
    let c = inert(&s, STD);
    assert_eq!(c.inbox_names(), ["inbox", "control"]);
    assert_eq!(c.outbox_names(), ["outbox", "signal"]);
    for b in c.inbox_names() {
        assert_eq!(c.data_ready(&b), 0, "inbox {b} starts empty");
    }
    assert!(c.children().is_empty());
}

/// Python checks `str(component)` against a regex; the Rust equivalent is the `Debug` form, which
/// names it as a component and gives its name.
#[test]
fn a_components_debug_form_says_it_is_a_component_and_names_it() {
    let s = Scheduler::new();
    let c = inert(&s, STD);
    let text = format!("{c:?}");
    assert!(text.contains("ComponentRef"), "{text}");
    assert!(text.contains(&c.name()), "{text}");
}

// ----- children -----

#[test]
fn add_children_adds_each_child_exactly_once() {
    let s = Scheduler::new();
    let (parent, cx) = puppet(&s, STD);
    let a = inert(&s, STD);
    let b = inert(&s, STD);
    cx.add_children(&[a.clone(), b.clone()]);
    cx.add_children(std::slice::from_ref(&a));
    assert_eq!(parent.children(), [a.clone(), b.clone()]);
    assert_eq!(cx.child_components(), [a, b]);
}

#[test]
fn child_components_lists_every_child() {
    let s = Scheduler::new();
    let (_parent, cx) = puppet(&s, STD);
    let kids: Vec<_> = (0..3).map(|_| inert(&s, STD)).collect();
    cx.add_children(&kids);
    let listed = cx.child_components();
    assert_eq!(listed.len(), 3);
    for k in &kids {
        assert_eq!(listed.iter().filter(|c| *c == k).count(), 1);
    }
}

/// Python checks that `removeChild` asks the postoffice to `unlink(thecomponent=child)`; here the
/// outcome is checked: the parent's linkages touching the child are gone, the others stay.
#[test]
fn remove_child_drops_the_child_and_the_parents_links_to_it() {
    let s = Scheduler::new();
    let (parent, cx) = puppet(&s, STD);
    let child = inert(&s, STD);
    let other = inert(&s, STD);
    cx.add_children(std::slice::from_ref(&child));
    cx.link((&child, "outbox"), (&other, "inbox")).unwrap();
    let kept = cx.link((&other, "outbox"), (&parent, "inbox")).unwrap();
    cx.remove_child(&child);
    assert!(parent.children().is_empty());
    assert_eq!(cx.linkages(), [kept]);
    assert!(!child.outbox::<u32>("outbox").unwrap().is_linked());
}

#[test]
fn a_parent_is_woken_when_its_child_ends() {
    let s = Scheduler::new();
    let (parent, cx) = puppet(&s, STD);
    let child = s.create(from_fn(STD, |cx| async move {
        cx.pause().await;
        Ok(())
    }));
    cx.add_children(std::slice::from_ref(&child));
    s.activate(&child);
    s.run_until_idle();
    assert!(parent.is_paused() && child.is_paused());
    child.wake();
    s.step();
    assert!(child.is_finished());
    assert!(!parent.is_paused(), "the child's end woke its parent");
}

#[test]
fn children_done_removes_ended_children() {
    let s = Scheduler::new();
    let (_parent, cx) = puppet(&s, STD);
    let done = s.spawn(from_fn(STD, |_| async { Ok(()) }));
    let running = s.spawn(from_fn(STD, |cx| async move {
        cx.pause().await;
        Ok(())
    }));
    cx.add_children(&[done.clone(), running.clone()]);
    s.run_until_idle();
    assert!(!cx.children_done());
    assert_eq!(cx.child_components(), std::slice::from_ref(&running));
    running.wake();
    s.run_until_idle();
    assert!(cx.children_done());
}

// ----- dataReady / recv / send -----

/// Python's `TComponent`: tc1.outbox → tc2.inbox and tc1.signal → tc2.control.
fn tcomponent(s: &Scheduler) -> (axon_core::ComponentRef, axon_core::ComponentRef) {
    const BOXES: &[axon_core::BoxDecl] = &axon_core::boxes::standard::<&'static str>();
    let tc1 = s.create(from_fn(BOXES, |_| async { Ok(()) }));
    let tc2 = s.create(from_fn(BOXES, |_| async { Ok(()) }));
    s.link((&tc1, "outbox"), (&tc2, "inbox")).unwrap();
    s.link((&tc1, "signal"), (&tc2, "control")).unwrap();
    (tc1, tc2)
}

#[test]
fn data_ready_tracks_sends_and_receives_on_the_default_box() {
    let s = Scheduler::new();
    let (tc1, tc2) = tcomponent(&s);
    assert_eq!(tc2.data_ready("inbox"), 0);
    send(&tc1, "outbox", "a");
    assert_eq!(tc2.data_ready("inbox"), 1);
    recv::<&str>(&tc2, "inbox");
    assert_eq!(tc2.data_ready("inbox"), 0);
    send(&tc1, "outbox", "b");
    send(&tc1, "outbox", "c");
    recv::<&str>(&tc2, "inbox");
    assert_eq!(tc2.data_ready("inbox"), 1, "still data after a double send");
    recv::<&str>(&tc2, "inbox");
    assert_eq!(tc2.data_ready("inbox"), 0);
}

#[test]
fn data_ready_tracks_sends_and_receives_on_a_named_box() {
    let s = Scheduler::new();
    let (tc1, tc2) = tcomponent(&s);
    assert_eq!(tc2.data_ready("control"), 0);
    send(&tc1, "signal", Ipc::producer_finished());
    assert_eq!(tc2.data_ready("control"), 1);
    recv::<Ipc>(&tc2, "control");
    assert_eq!(tc2.data_ready("control"), 0);
    send(&tc1, "signal", Ipc::producer_finished());
    send(&tc1, "signal", Ipc::shutdown_microprocess());
    recv::<Ipc>(&tc2, "control");
    assert_eq!(tc2.data_ready("control"), 1);
    recv::<Ipc>(&tc2, "control");
    assert_eq!(tc2.data_ready("control"), 0);
}

#[test]
fn link_records_source_sink_boxes_and_passthrough() {
    let s = Scheduler::new();
    let (parent, cx) = puppet(&s, STD);
    let ac = inert(&s, STD);
    let bc = inert(&s, STD);
    cx.add_children(&[ac.clone(), bc.clone()]);

    let l = cx.link((&ac, "outbox"), (&bc, "inbox")).unwrap();
    assert_eq!(l.source_pair(), (ac.id(), "outbox"));
    assert_eq!(l.sink_pair(), (bc.id(), "inbox"));
    assert_eq!(l.passthrough(), Passthrough::Normal);

    let l = cx
        .link_with(
            (&bc, "outbox"),
            (&parent, "outbox"),
            LinkOptions::new().passthrough(Passthrough::Outbound),
        )
        .unwrap();
    assert_eq!(l.source_pair(), (bc.id(), "outbox"));
    assert_eq!(l.sink_pair(), (parent.id(), "outbox"));
    assert_eq!(l.passthrough(), Passthrough::Outbound);

    // Python passes passthrough=1 positionally; here it is the numeric form.
    let p = Passthrough::try_from(1).unwrap();
    let l = cx.link_with((&parent, "inbox"), (&ac, "inbox"), LinkOptions::new().passthrough(p)).unwrap();
    assert_eq!(l.source_pair(), (parent.id(), "inbox"));
    assert_eq!(l.sink_pair(), (ac.id(), "inbox"));
    assert_eq!(l.passthrough(), Passthrough::Inbound);
    assert_eq!(cx.linkages().len(), 3);
}

/// Python's recv raises IndexError when empty; Rust returns `None`.
#[test]
fn recv_is_fifo_and_returns_none_when_empty() {
    let s = Scheduler::new();
    let (tc1, tc2) = tcomponent(&s);
    assert_eq!(recv::<&str>(&tc2, "inbox"), None);
    send(&tc1, "outbox", "inbox1");
    send(&tc1, "outbox", "inbox2");
    assert_eq!(recv::<&str>(&tc2, "inbox"), Some("inbox1"));
    assert_eq!(recv::<&str>(&tc2, "inbox"), Some("inbox2"));
    assert_eq!(recv::<&str>(&tc2, "inbox"), None);

    assert!(recv::<Ipc>(&tc2, "control").is_none());
    send(&tc1, "signal", Ipc::producer_finished());
    send(&tc1, "signal", Ipc::shutdown_microprocess());
    assert!(recv::<Ipc>(&tc2, "control").unwrap().is_producer_finished());
    assert!(recv::<Ipc>(&tc2, "control").unwrap().is_shutdown_microprocess());
    assert!(recv::<Ipc>(&tc2, "control").is_none());
}

/// Python pops from the outbox's (linked) storage; here the sends arrive at the linked inbox.
#[test]
fn send_delivers_in_order_to_the_linked_destination_over_1000_sends() {
    let s = Scheduler::new();
    let tc1 = inert(&s, STD);
    let tc2 = inert(&s, STD);
    s.link((&tc1, "outbox"), (&tc2, "inbox")).unwrap();
    for x in 0..1000u32 {
        send(&tc1, "outbox", x);
        assert_eq!(recv::<u32>(&tc2, "inbox"), Some(x));
    }
    for x in 0..1000u32 {
        send(&tc1, "outbox", x);
    }
    let got: Vec<u32> = tc2.inbox::<u32>("inbox").unwrap().drain().collect();
    assert_eq!(got, (0..1000).collect::<Vec<_>>());
}

#[test]
fn context_send_recv_and_data_ready_work_by_box_name() {
    let s = Scheduler::new();
    let (me, cx) = puppet(&s, STD);
    cx.link((&me, "outbox"), (&me, "inbox")).unwrap();
    assert_eq!(cx.any_ready(), None);
    cx.send(7u32, "outbox").unwrap();
    assert_eq!(cx.data_ready("inbox"), 1);
    assert_eq!(cx.any_ready().as_deref(), Some("inbox"));
    assert_eq!(cx.recv::<u32>("inbox").unwrap(), Some(7));
    assert_eq!(cx.recv::<u32>("inbox").unwrap(), None);
}

// ----- old-style main and close-down -----

/// Python's old-style `main` (initialiseComponent/mainBody/closeDownComponent) has no Rust
/// counterpart; its observable contract — the body's values come out step by step, in order,
/// and the component then ends — is checked on an `async main` that yields 999 times.
#[test]
fn a_main_runs_one_step_per_cycle_then_ends() {
    let s = Scheduler::new();
    let count = Rc::new(Cell::new(0u32));
    let c2 = count.clone();
    let c = s.spawn(from_fn(STD, move |cx| async move {
        for i in 1..1000 {
            c2.set(i);
            cx.yield_now().await;
        }
        Ok(())
    }));
    for x in 1..1000 {
        s.step();
        assert_eq!(count.get(), x);
        assert!(!c.is_finished());
    }
    s.step();
    assert!(c.is_finished());
    assert!(matches!(c.end_cause(), Some(EndCause::Finished)));
}

/// Python: an exception raised in `closeDownComponent` propagates out of the generator. Rust: an
/// error returned from `main` ends the component with `EndCause::Failed`, carrying the error.
#[test]
fn an_error_at_the_end_of_main_is_the_components_end_cause() {
    let s = Scheduler::new();
    let c = s.spawn(from_fn(STD, |_| async { Err("close down failed".into()) }));
    s.run_until_idle();
    match c.end_cause() {
        Some(EndCause::Failed(e)) => assert_eq!(e.to_string(), "close down failed"),
        other => panic!("expected Failed, got {other:?}"),
    }
}

/// Python: `_closeDownMicroprocess` returns None (no knock-on). Rust: ending normally is
/// `EndCause::Finished` and nothing else is activated.
#[test]
fn ending_normally_has_no_knock_on() {
    let s = Scheduler::new();
    let c = s.spawn(from_fn(STD, |_| async { Ok(()) }));
    s.run_until_idle();
    assert!(matches!(c.end_cause(), Some(EndCause::Finished)));
    assert_eq!(s.component_count(), 0);
    assert_eq!(s.stats().ended, 1);
}

/// test_linkagesRemovedOnComponentShutdown. Differs from Python by design (DESIGN §2, §8): the
/// inboxes of an ended component refuse further messages (dropped and counted in
/// `Stats::dropped_dead`) instead of piling them up.
#[test]
fn linkages_a_component_made_are_removed_when_it_ends_and_others_survive() {
    let s = Scheduler::new();
    let a = inert(&s, STD);
    let b = inert(&s, STD);
    let (c, cxc) = puppet(&s, STD);
    let (d, cxd) = puppet(&s, STD);

    cxc.link((&a, "outbox"), (&b, "inbox")).unwrap();
    cxc.link_with((&c, "outbox"), (&b, "outbox"), LinkOptions::new().passthrough(Passthrough::Outbound))
        .unwrap();
    cxc.link_with((&c, "inbox"), (&a, "inbox"), LinkOptions::new().passthrough(Passthrough::Inbound))
        .unwrap();
    cxd.link((&d, "outbox"), (&c, "inbox")).unwrap();
    cxd.link((&b, "outbox"), (&d, "inbox")).unwrap();

    // The existing linkages work.
    send(&d, "outbox", 1u32);
    assert_eq!(recv::<u32>(&a, "inbox"), Some(1));
    send(&c, "outbox", 2u32);
    assert_eq!(recv::<u32>(&d, "inbox"), Some(2));
    send(&a, "outbox", 3u32);
    assert_eq!(recv::<u32>(&b, "inbox"), Some(3));

    c.stop();
    s.run_until_idle();
    assert!(c.is_finished());
    assert!(cxc.linkages().is_empty(), "c's own linkages are gone");
    assert_eq!(cxd.linkages().len(), 2, "d's linkages survive");

    // d → c still exists, but c has ended: the message is dropped and counted, not passed on.
    let before = s.stats().dropped_dead;
    send(&d, "outbox", 4u32);
    assert_eq!(s.stats().dropped_dead, before + 1);
    assert_eq!(a.data_ready("inbox"), 0);
    // c.outbox no longer leads to b.outbox → d.inbox.
    send(&c, "outbox", 5u32);
    assert_eq!(d.data_ready("inbox"), 0);
    // b.outbox → d.inbox (made by d) still works.
    send(&b, "outbox", 6u32);
    assert_eq!(recv::<u32>(&d, "inbox"), Some(6));
    // a.outbox → b.inbox (made by c) is gone.
    send(&a, "outbox", 7u32);
    assert_eq!(b.data_ready("inbox"), 0);
}

// ----- notifications (reference §1.3) -----

#[test]
fn nothing_happens_if_nothing_happens() {
    let s = Scheduler::new();
    let d = unpause_detectors(&s, 2);
    let (a, b) = (&d[0].0, &d[1].0);
    s.link((a, "outbox"), (b, "inbox")).unwrap();
    s.link((b, "outbox"), (a, "inbox")).unwrap();
    for _ in 0..100 {
        s.step();
    }
    assert_eq!(counts(&d), [0, 0]);
    assert!(a.is_paused() && b.is_paused());
}

#[test]
fn consumer_woken_by_delivery() {
    let s = Scheduler::new();
    let d = unpause_detectors(&s, 2);
    let (a, b) = (&d[0].0, &d[1].0);
    s.link((a, "outbox"), (b, "inbox")).unwrap();
    s.run_until_idle();
    send(a, "outbox", 1u32);
    assert!(!b.is_paused(), "the delivery queued the consumer");
    s.run_until_idle();
    assert_eq!(counts(&d), [0, 1]);
}

#[test]
fn producer_not_woken_by_delivery() {
    let s = Scheduler::new();
    let d = unpause_detectors(&s, 2);
    let (a, b) = (&d[0].0, &d[1].0);
    s.link((a, "outbox"), (b, "inbox")).unwrap();
    s.run_until_idle();
    send(a, "outbox", 1u32);
    assert!(a.is_paused());
    s.run_until_idle();
    assert_eq!(d[0].1.get(), 0);
}

#[test]
fn producer_woken_by_collection() {
    let s = Scheduler::new();
    let d = unpause_detectors(&s, 2);
    let (a, b) = (&d[0].0, &d[1].0);
    s.link((a, "outbox"), (b, "inbox")).unwrap();
    s.run_until_idle();
    send(a, "outbox", 1u32);
    s.run_until_idle();
    assert_eq!(recv::<u32>(b, "inbox"), Some(1));
    assert!(!a.is_paused(), "the collection queued the producer");
    s.run_until_idle();
    assert_eq!(d[0].1.get(), 1);
}

/// a.outbox → b.inbox →(1) c.inbox →(1) d.inbox.
fn inbox_chain(s: &Scheduler) -> Detectors {
    let d = unpause_detectors(s, 4);
    let inbound = LinkOptions::new().passthrough(Passthrough::Inbound);
    s.link((&d[0].0, "outbox"), (&d[1].0, "inbox")).unwrap();
    s.link_with((&d[1].0, "inbox"), (&d[2].0, "inbox"), inbound).unwrap();
    s.link_with((&d[2].0, "inbox"), (&d[3].0, "inbox"), inbound).unwrap();
    s.run_until_idle();
    d
}

#[test]
fn chain_only_final_destination_notified() {
    let s = Scheduler::new();
    let d = inbox_chain(&s);
    reset(&d);
    send(&d[0].0, "outbox", 1u32);
    s.run_until_idle();
    assert_eq!(counts(&d), [0, 0, 0, 1]);
}

#[test]
fn chain_only_outbox_holders_notified() {
    let s = Scheduler::new();
    let d = inbox_chain(&s);
    send(&d[0].0, "outbox", 1u32);
    s.run_until_idle();
    reset(&d);
    assert_eq!(recv::<u32>(&d[3].0, "inbox"), Some(1));
    s.run_until_idle();
    assert_eq!(counts(&d), [1, 0, 0, 0]);
}

/// Unpause detectors: each component with its wake counter.
type Detectors = Vec<(axon_core::ComponentRef, Rc<Cell<u32>>)>;

/// a.outbox →(2) b.outbox →(2) c.outbox → d.inbox →(1) e.inbox, plus `extra` more detectors.
fn outbox_chain(s: &Scheduler, extra: usize) -> (Detectors, Vec<axon_core::Linkage>) {
    let d = unpause_detectors(s, 5 + extra);
    let outbound = LinkOptions::new().passthrough(Passthrough::Outbound);
    let inbound = LinkOptions::new().passthrough(Passthrough::Inbound);
    let links = vec![
        s.link_with((&d[0].0, "outbox"), (&d[1].0, "outbox"), outbound).unwrap(),
        s.link_with((&d[1].0, "outbox"), (&d[2].0, "outbox"), outbound).unwrap(),
        s.link((&d[2].0, "outbox"), (&d[3].0, "inbox")).unwrap(),
        s.link_with((&d[3].0, "inbox"), (&d[4].0, "inbox"), inbound).unwrap(),
    ];
    s.run_until_idle();
    (d, links)
}

#[test]
fn all_outbox_owners_notified() {
    let s = Scheduler::new();
    let (d, _) = outbox_chain(&s, 0);
    send(&d[0].0, "outbox", 1u32);
    s.run_until_idle();
    reset(&d);
    // d's inbox is linked onward: recv takes from the final destination, e's storage.
    assert_eq!(recv::<u32>(&d[3].0, "inbox"), Some(1));
    s.run_until_idle();
    assert_eq!(counts(&d), [1, 1, 1, 0, 0]);
}

#[test]
fn link_broken_no_notify() {
    let s = Scheduler::new();
    let (d, links) = outbox_chain(&s, 0);
    send(&d[0].0, "outbox", 1u32);
    s.run_until_idle();
    s.unlink(&links[1]).unwrap();
    s.run_until_idle();
    reset(&d);
    assert_eq!(recv::<u32>(&d[3].0, "inbox"), Some(1));
    s.run_until_idle();
    assert_eq!(counts(&d), [0, 0, 1, 0, 0]);
}

#[test]
fn link_reestablished_notify() {
    let s = Scheduler::new();
    let (d, links) = outbox_chain(&s, 0);
    send(&d[0].0, "outbox", 1u32);
    s.run_until_idle();
    s.unlink(&links[1]).unwrap();
    s.run_until_idle();
    s.link_with(
        (&d[1].0, "outbox"),
        (&d[2].0, "outbox"),
        LinkOptions::new().passthrough(Passthrough::Outbound),
    )
    .unwrap();
    s.run_until_idle();
    reset(&d);
    assert_eq!(recv::<u32>(&d[3].0, "inbox"), Some(1));
    s.run_until_idle();
    assert_eq!(counts(&d), [1, 1, 1, 0, 0]);
}

#[test]
fn link_newly_established_notify() {
    let s = Scheduler::new();
    let (d, _) = outbox_chain(&s, 1);
    send(&d[0].0, "outbox", 1u32);
    s.run_until_idle();
    s.link_with(
        (&d[5].0, "outbox"),
        (&d[2].0, "outbox"),
        LinkOptions::new().passthrough(Passthrough::Outbound),
    )
    .unwrap();
    s.run_until_idle();
    reset(&d);
    assert_eq!(recv::<u32>(&d[3].0, "inbox"), Some(1));
    s.run_until_idle();
    assert_eq!(counts(&d), [1, 1, 1, 0, 0, 1], "the newly linked-in outbox owner is notified too");
}

#[test]
fn a_component_is_woken_by_a_delivery_into_a_box_it_added_at_run_time() {
    let s = Scheduler::new();
    let (me, cx) = puppet(&s, STD);
    let name = cx.add_inbox::<u32>("extra");
    let src = inert(&s, STD);
    s.link((&src, "outbox"), (&me, &name)).unwrap();
    s.run_until_idle();
    assert!(me.is_paused());
    send(&src, "outbox", 1u32);
    assert!(!me.is_paused());
}
