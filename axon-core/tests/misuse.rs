//! Every misuse of the box and linkage API has a documented outcome (DESIGN §2, §3, §8): an
//! error that names what went wrong and changes nothing, or a counted drop, or — for a component
//! that panics or fails — an end cause that touches that component only.

mod util;

use std::cell::Cell;
use std::rc::Rc;

use axon_core::ipc::Ipc;
use axon_core::{
    from_fn, BoxError, Direction, EndCause, LinkError, LinkOptions, Passthrough, Scheduler, SendError,
};
use util::{inert, puppet, recv, send, spinner, STD, STD_STRING};

// ----- unknown boxes -----

#[test]
fn linking_an_unknown_box_is_unknown_box_naming_both_ends_and_listing_the_declared_ones() {
    let s = Scheduler::new();
    let (a, b) = (inert(&s, STD), inert(&s, STD));
    let err = s.link((&a, "nonsuch"), (&b, "inbox")).unwrap_err();
    match &err {
        LinkError::UnknownBox { source_box, sink_box, error: BoxError::UnknownBox(name, declared) } => {
            assert_eq!((source_box.id, source_box.name.as_str()), (a.id(), "nonsuch"));
            assert_eq!((sink_box.id, sink_box.name.as_str()), (b.id(), "inbox"));
            assert_eq!(name.name, "nonsuch", "the error says which end is missing");
            assert_eq!(name.direction, Direction::Outbox);
            assert_eq!(name.id, a.id());
            assert!(declared.contains("outbox") && declared.contains("signal"), "{declared}");
        }
        other => panic!("expected UnknownBox, got {other:?}"),
    }
    let text = err.to_string();
    assert!(text.contains("nonsuch") && text.contains(&a.name()) && text.contains(&b.name()), "{text}");
    // A missing sink: both ends named, the lookup error about the sink.
    let err = s.link((&a, "outbox"), (&b, "nonsuch")).unwrap_err();
    let text = err.to_string();
    assert!(text.contains(&a.name()) && text.contains(&b.name()) && text.contains("nonsuch"), "{text}");
    assert!(
        matches!(&err, LinkError::UnknownBox { error: BoxError::UnknownBox(n, _), .. } if n.id == b.id()),
        "{err:?}"
    );
    // An inbox name on the outbox side is unknown there too.
    assert!(matches!(s.link((&a, "inbox"), (&b, "inbox")), Err(LinkError::UnknownBox { .. })));
    assert!(s.linkages().is_empty());
}

#[test]
fn sending_to_an_unknown_box_hands_the_message_back() {
    let s = Scheduler::new();
    let (_c, cx) = puppet(&s, STD);
    let err = cx.send(7u32, "nonsuch").unwrap_err();
    assert!(matches!(err, SendError::BadBox(7, BoxError::UnknownBox(..))));
    assert_eq!(err.into_inner(), 7);
}

#[test]
fn receiving_from_an_unknown_box_is_an_error_and_data_ready_is_zero() {
    let s = Scheduler::new();
    let (c, cx) = puppet(&s, STD);
    assert!(matches!(cx.recv::<u32>("nonsuch"), Err(BoxError::UnknownBox(..))));
    assert!(matches!(c.inbox::<u32>("nonsuch"), Err(BoxError::UnknownBox(..))));
    assert_eq!(cx.data_ready("nonsuch"), 0);
    assert_eq!(c.data_ready("nonsuch"), 0);
}

#[test]
fn delivering_to_an_unknown_box_hands_the_message_back() {
    let s = Scheduler::new();
    let c = inert(&s, STD);
    assert!(matches!(c.deliver("nonsuch", 1u32), Err(SendError::BadBox(1, _))));
}

// ----- types -----

#[test]
fn linking_boxes_of_different_types_fails_at_link_time_naming_both_ends() {
    let s = Scheduler::new();
    let a = inert(&s, STD); // outbox carries u32
    let b = inert(&s, STD_STRING); // inbox carries String
    let err = s.link((&a, "outbox"), (&b, "inbox")).unwrap_err();
    match &err {
        LinkError::TypeMismatch { source_box, source_type, sink_box, sink_type } => {
            assert_eq!((source_box.id, source_box.name.as_str()), (a.id(), "outbox"));
            assert_eq!((sink_box.id, sink_box.name.as_str()), (b.id(), "inbox"));
            assert_eq!(*source_type, "u32");
            assert!(sink_type.contains("String"));
        }
        other => panic!("expected TypeMismatch, got {other:?}"),
    }
    let text = err.to_string();
    for part in [a.name(), b.name(), "outbox".into(), "inbox".into()] {
        assert!(text.contains(&part), "{text:?} names {part}");
    }
    assert!(s.linkages().is_empty());
    assert!(!a.outbox::<u32>("outbox").unwrap().is_linked());
}

#[test]
fn asking_for_a_box_as_the_wrong_type_is_type_mismatch() {
    let s = Scheduler::new();
    let (c, cx) = puppet(&s, STD);
    assert!(matches!(cx.inbox::<String>("inbox"), Err(BoxError::TypeMismatch { .. })));
    assert!(matches!(c.outbox::<String>("outbox"), Err(BoxError::TypeMismatch { .. })));
    assert!(matches!(
        cx.send(String::from("x"), "outbox"),
        Err(SendError::BadBox(_, BoxError::TypeMismatch { .. }))
    ));
    assert!(matches!(cx.recv::<Ipc>("inbox"), Err(BoxError::TypeMismatch { .. })));
}

// ----- topology -----

#[test]
fn a_second_link_from_one_source_is_refused_naming_both_sinks_and_changes_nothing() {
    let s = Scheduler::new();
    let (a, b, c) = (inert(&s, STD), inert(&s, STD), inert(&s, STD));
    s.link((&a, "outbox"), (&b, "inbox")).unwrap();
    match s.link((&a, "outbox"), (&c, "inbox")).unwrap_err() {
        LinkError::BoxAlreadyLinkedToDestination { source_box, existing_sink, new_sink } => {
            assert_eq!(source_box.id, a.id());
            assert_eq!(existing_sink.id, b.id());
            assert_eq!(new_sink.id, c.id());
        }
        other => panic!("expected BoxAlreadyLinkedToDestination, got {other:?}"),
    }
    send(&a, "outbox", 1u32);
    assert_eq!(recv::<u32>(&b, "inbox"), Some(1));
    assert_eq!(c.data_ready("inbox"), 0);
    assert_eq!(s.linkages().len(), 1);
}

#[test]
fn a_link_that_would_close_a_loop_is_refused() {
    let s = Scheduler::new();
    let (a, b) = (inert(&s, STD), inert(&s, STD));
    let inbound = LinkOptions::new().passthrough(Passthrough::Inbound);
    let outbound = LinkOptions::new().passthrough(Passthrough::Outbound);
    assert!(matches!(s.link_with((&a, "inbox"), (&a, "inbox"), inbound), Err(LinkError::Cycle { .. })));
    s.link_with((&a, "inbox"), (&b, "inbox"), inbound).unwrap();
    assert!(matches!(s.link_with((&b, "inbox"), (&a, "inbox"), inbound), Err(LinkError::Cycle { .. })));
    s.link_with((&a, "outbox"), (&b, "outbox"), outbound).unwrap();
    assert!(matches!(s.link_with((&b, "outbox"), (&a, "outbox"), outbound), Err(LinkError::Cycle { .. })));
    assert_eq!(s.linkages().len(), 2);
}

// ----- ownership -----

#[test]
fn unlinking_a_linkage_someone_else_made_is_not_owner_and_changes_nothing() {
    let s = Scheduler::new();
    let (_c, cx) = puppet(&s, STD);
    let (_d, dx) = puppet(&s, STD);
    let (a, b, e, f) = (inert(&s, STD), inert(&s, STD), inert(&s, STD), inert(&s, STD));
    let by_sched = s.link((&a, "outbox"), (&b, "inbox")).unwrap();
    let by_c = cx.link((&e, "outbox"), (&f, "inbox")).unwrap();

    assert!(matches!(cx.unlink(&by_sched), Err(LinkError::NotOwner(_))));
    assert!(matches!(s.unlink(&by_c), Err(LinkError::NotOwner(_))));
    assert!(matches!(dx.unlink(&by_c), Err(LinkError::NotOwner(_))));
    let err = dx.unlink(&by_c).unwrap_err();
    assert!(err.to_string().contains(&by_c.to_string()), "{err}");

    send(&a, "outbox", 1u32);
    send(&e, "outbox", 2u32);
    assert_eq!(recv::<u32>(&b, "inbox"), Some(1));
    assert_eq!(recv::<u32>(&f, "inbox"), Some(2));
    assert_eq!(s.linkages(), std::slice::from_ref(&by_sched));
    assert_eq!(cx.linkages(), std::slice::from_ref(&by_c));

    // Unlinking twice: the second time it is no longer ours.
    cx.unlink(&by_c).unwrap();
    assert!(matches!(cx.unlink(&by_c), Err(LinkError::NotOwner(_))));
}

// ----- ended components -----

#[test]
fn a_send_to_a_finished_component_is_dropped_and_counted() {
    let s = Scheduler::new();
    let src = inert(&s, STD);
    let dst = s.spawn(from_fn(STD, |_| async { Ok(()) }));
    s.link((&src, "outbox"), (&dst, "inbox")).unwrap();
    s.run_until_idle();
    assert!(dst.is_finished());
    let out = src.outbox::<u32>("outbox").unwrap();
    assert!(!out.is_linked(), "an outbox into an ended component leads nowhere live");
    out.send(1).unwrap();
    out.send(2).unwrap();
    assert_eq!(s.stats().dropped_dead, 2);
    assert_eq!(dst.data_ready("inbox"), 0);
    assert!(dst.deliver("inbox", 3u32).is_ok());
    assert_eq!(dst.data_ready("inbox"), 0);
}

#[test]
fn messages_left_in_an_ended_components_inbox_are_counted_as_dropped() {
    let s = Scheduler::new();
    let c = s.spawn(from_fn(STD, |cx| async move {
        cx.pause().await;
        Ok(())
    }));
    s.run_until_idle();
    c.deliver("inbox", 1u32).unwrap();
    c.deliver("inbox", 2u32).unwrap();
    s.run_until_idle();
    assert!(c.is_finished());
    assert_eq!(s.stats().dropped_dead, 2);
}

#[test]
fn a_send_to_an_unlinked_outbox_is_dropped_and_counted() {
    let s = Scheduler::new();
    let a = inert(&s, STD);
    send(&a, "outbox", 1u32);
    send(&a, "signal", Ipc::producer_finished());
    assert_eq!(s.stats().dropped_unlinked, 2);
}

#[test]
fn a_panicking_component_ends_alone_its_links_go_and_its_parent_is_woken() {
    let s = Scheduler::new();
    let (parent, px) = puppet(&s, STD);
    let (other, other_steps) = spinner(&s);
    let target = inert(&s, STD);
    let t = target.clone();
    let child = px.create(from_fn(STD, move |cx| async move {
        cx.link((&cx.me(), "outbox"), (&t, "inbox"))?;
        cx.send(1u32, "outbox").map_err(|e| e.to_string())?;
        cx.yield_now().await;
        panic!("boom");
    }));
    px.add_children(std::slice::from_ref(&child));
    px.activate(&child);
    s.step(); // child: link, send, yield
    assert!(!child.is_finished());
    s.step(); // child: panic
    assert!(child.is_finished());
    match child.end_cause() {
        Some(EndCause::Panicked(m)) => assert_eq!(m, "boom"),
        other => panic!("expected Panicked, got {other:?}"),
    }
    assert_eq!(s.stats().panicked, 1);
    assert_eq!(recv::<u32>(&target, "inbox"), Some(1), "what it sent before stays delivered");
    assert!(!child.outbox::<u32>("outbox").unwrap().is_linked(), "its own linkage is removed");
    assert!(!parent.is_paused(), "its parent is woken");
    let before = other_steps.get();
    s.step();
    s.step();
    assert_eq!(other_steps.get(), before + 2, "other components keep running");
    assert!(other.is_active() && parent.is_active());
}

#[test]
fn a_component_whose_main_returns_an_error_ends_with_failed() {
    let s = Scheduler::new();
    let (parent, px) = puppet(&s, STD);
    let child = px.create(from_fn(STD, |cx| async move {
        cx.inbox::<String>("inbox")?; // the wrong type: an error
        Ok(())
    }));
    px.add_children(std::slice::from_ref(&child));
    px.activate(&child);
    s.step();
    match child.end_cause() {
        Some(EndCause::Failed(e)) => assert!(e.to_string().contains("inbox"), "{e}"),
        other => panic!("expected Failed, got {other:?}"),
    }
    assert!(child.end_cause().unwrap().to_string().starts_with("failed: "));
    assert!(!parent.is_paused());
    assert_eq!(s.stats().panicked, 0);
}

// ----- user code that panics where the scheduler drops things -----

/// A component that ends on its first message: the rest of the system, while another panics.
fn bystander(s: &Scheduler) -> axon_core::ComponentRef {
    s.spawn(from_fn(STD, |cx| async move {
        let inbox = cx.inbox::<u32>("inbox")?;
        let _ = inbox.recv_wait().await;
        Ok(())
    }))
}

/// Checks that `bystander` still runs: it takes a message and ends.
fn carries_on(s: &Scheduler, bystander: &axon_core::ComponentRef) {
    bystander.deliver("inbox", 5u32).expect("the bystander is alive");
    s.run_until_idle();
    assert!(bystander.is_finished(), "the rest of the system carries on");
}

/// A message whose `Drop` panics.
#[derive(Debug)]
struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("a message's Drop panicked");
    }
}

#[test]
fn a_message_whose_drop_panics_when_its_component_ends_ends_nothing_else() {
    const BOXES: &[axon_core::BoxDecl] = &axon_core::boxes::standard::<PanicOnDrop>();
    let s = Scheduler::new();
    let c = s.spawn(from_fn(BOXES, |cx| async move {
        cx.pause().await;
        Ok(())
    }));
    let bystander = bystander(&s);
    s.run_until_idle();
    c.deliver("inbox", PanicOnDrop).expect("c is alive");
    c.deliver("inbox", PanicOnDrop).expect("c is alive");
    // `c` ends with both messages still queued: dropping each panics, inside the scheduler (a
    // second panic while unwinding from the first would abort the process).
    s.run_until_idle();
    assert!(matches!(c.end_cause(), Some(EndCause::Finished)));
    assert_eq!(s.stats().dropped_dead, 2, "the messages are counted as dropped");
    carries_on(&s, &bystander);
    // Stopping and dropping the scheduler end too (they looped for ever on the half-ended task).
    let more = s.spawn(from_fn(STD, |cx| async move {
        loop {
            cx.pause().await;
        }
    }));
    s.stop();
    assert!(more.is_finished());
}

/// The scheduler drops a component's future when it is stopped, and its tracked resources when
/// it ends: a panic in either `Drop` is caught, ends nothing else, and `stop` still ends
/// everything.
#[test]
fn a_future_or_a_tracked_resource_whose_drop_panics_ends_nothing_else() {
    let s = Scheduler::new();
    let holds_in_its_future = s.spawn(from_fn(STD, |cx| async move {
        let _bomb = PanicOnDrop;
        loop {
            cx.pause().await;
        }
    }));
    let tracks_one = s.spawn(from_fn(STD, |cx| async move {
        cx.track_resource(PanicOnDrop, "inbox")?;
        Ok(())
    }));
    let bystander = bystander(&s);
    s.run_until_idle();
    assert!(matches!(tracks_one.end_cause(), Some(EndCause::Finished)), "{:?}", tracks_one.end_cause());
    holds_in_its_future.stop();
    s.run_until_idle();
    assert!(matches!(holds_in_its_future.end_cause(), Some(EndCause::Stopped)));
    carries_on(&s, &bystander);
    let more = s.spawn(from_fn(STD, |cx| async move {
        let _bomb = PanicOnDrop;
        loop {
            cx.pause().await;
        }
    }));
    s.run_until_idle();
    s.stop();
    assert!(more.is_finished());
    assert_eq!(s.component_count(), 0);
}

// ----- recv_wait by a component that does not own the box -----

#[test]
fn recv_wait_on_another_components_inbox_is_woken_by_the_delivery() {
    let s = Scheduler::new();
    let owner = inert(&s, STD);
    let theirs = owner.inbox::<u32>("inbox").expect("owner's inbox");
    let got = Rc::new(Cell::new(None));
    let g = got.clone();
    let waiter = s.spawn(from_fn(STD, move |_cx| async move {
        g.set(Some(theirs.recv_wait().await));
        Ok(())
    }));
    s.run_until_idle();
    assert!(waiter.is_paused());
    owner.deliver("inbox", 5u32).expect("room");
    s.run_until_idle();
    assert_eq!(got.get(), Some(5));
    assert!(waiter.is_finished());
}

/// A component that waits (`recv_wait`) for one message on its own inbox and records it.
fn waiting_on_its_own_inbox(s: &Scheduler) -> (axon_core::ComponentRef, Rc<Cell<Option<u32>>>) {
    let got = Rc::new(Cell::new(None));
    let g = got.clone();
    let c = s.spawn(from_fn(STD, move |cx| async move {
        let inbox = cx.inbox::<u32>("inbox")?;
        g.set(Some(inbox.recv_wait().await));
        Ok(())
    }));
    (c, got)
}

#[test]
fn recv_wait_on_an_inbox_linked_onward_is_woken_by_a_delivery_at_the_end_of_the_chain() {
    let s = Scheduler::new();
    let end = inert(&s, STD);
    let (middle, got) = waiting_on_its_own_inbox(&s);
    s.link_with((&middle, "inbox"), (&end, "inbox"), LinkOptions::new().passthrough(Passthrough::Inbound))
        .expect("passthrough inbox to inbox");
    s.run_until_idle();
    assert!(middle.is_paused());
    // Delivered into `middle`'s inbox, it lands at the end of the chain, whose owner rule 1 wakes.
    middle.deliver("inbox", 9u32).expect("room");
    s.run_until_idle();
    assert_eq!(got.get(), Some(9));
}

// ----- timeouts too large to add to now -----

#[test]
fn a_sleep_of_duration_max_waits_without_panicking_and_can_be_stopped() {
    let s = Scheduler::new();
    let c = s.spawn(from_fn(STD, |cx| async move {
        cx.sleep(std::time::Duration::MAX).await;
        Ok(())
    }));
    s.run_until_idle();
    assert!(c.is_paused(), "asleep, not panicked: {:?}", c.end_cause());
    c.stop();
    s.run_until_idle();
    assert!(matches!(c.end_cause(), Some(EndCause::Stopped)));
}

#[test]
fn recv_wait_follows_the_inbox_when_it_is_linked_onward_and_back_while_waiting() {
    let s = Scheduler::new();
    let x = inert(&s, STD);
    let y = inert(&s, STD);
    let theirs = x.inbox::<u32>("inbox").expect("x's inbox");
    let got = Rc::new(std::cell::RefCell::new(Vec::new()));
    let g = got.clone();
    let waiter = s.spawn(from_fn(STD, move |_cx| async move {
        for _ in 0..2 {
            let m = theirs.recv_wait().await;
            g.borrow_mut().push(m);
        }
        Ok(())
    }));
    s.run_until_idle();
    // Linked onward while the waiter waits: deliveries into x now land in y's storage.
    let link = s
        .link_with((&x, "inbox"), (&y, "inbox"), LinkOptions::new().passthrough(Passthrough::Inbound))
        .expect("x's inbox on to y's");
    s.run_until_idle();
    x.deliver("inbox", 1u32).expect("room");
    s.run_until_idle();
    assert_eq!(*got.borrow(), [1], "woken by the delivery at the new end of the chain");
    // And back: unlinked while it waits, deliveries land in x's own storage again.
    s.unlink(&link).expect("unlink");
    s.run_until_idle();
    x.deliver("inbox", 2u32).expect("room");
    s.run_until_idle();
    assert_eq!(*got.borrow(), [1, 2]);
    assert!(waiter.is_finished());
}

#[test]
fn an_owner_waiting_on_its_own_inbox_is_woken_when_that_inbox_is_linked_onward() {
    let s = Scheduler::new();
    let y = inert(&s, STD);
    let (x, got) = waiting_on_its_own_inbox(&s);
    s.run_until_idle();
    s.link_with((&x, "inbox"), (&y, "inbox"), LinkOptions::new().passthrough(Passthrough::Inbound))
        .expect("x's inbox on to y's");
    s.run_until_idle();
    x.deliver("inbox", 7u32).expect("room");
    s.run_until_idle();
    assert_eq!(got.get(), Some(7));
}
