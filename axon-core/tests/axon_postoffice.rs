//! Ports Tests/Python/Axon/test_Postoffice.py (reference §2.1, §2.3, §8 "Postoffice and
//! boxes").
//!
//! Python's tests replace boxes with mocks to see that `link` calls `addsource` on the sink box
//! only, and `unlink` calls `removesource`; here the same facts are checked by their outcome:
//! where messages go once a link is made or removed. Python's postoffice `str()` and
//! `debugname` have no Rust counterpart; the registered linkages are read with `linkages()`.

mod util;

use axon_core::{LinkError, LinkOptions, NoSpaceInBox, Passthrough, Scheduler};
use util::{inert, puppet, recv, send, STD};

fn pt(p: Passthrough) -> LinkOptions {
    LinkOptions::new().passthrough(p)
}

#[test]
fn a_new_component_has_made_no_linkages() {
    let s = Scheduler::new();
    let (_c, cx) = puppet(&s, STD);
    assert!(cx.linkages().is_empty());
    assert!(s.linkages().is_empty());
}

#[test]
fn link_with_passthrough_0_delivers_outbox_to_inbox() {
    let s = Scheduler::new();
    let (a, b) = (inert(&s, STD), inert(&s, STD));
    s.link((&a, "outbox"), (&b, "inbox")).unwrap();
    send(&a, "outbox", 1u32);
    assert_eq!(b.data_ready("inbox"), 1);
    assert_eq!(a.data_ready("inbox"), 0, "no other box is touched");
}

#[test]
fn link_with_passthrough_1_delivers_inbox_to_inbox() {
    let s = Scheduler::new();
    let (src, a, b) = (inert(&s, STD), inert(&s, STD), inert(&s, STD));
    s.link((&src, "outbox"), (&a, "inbox")).unwrap();
    s.link_with((&a, "inbox"), (&b, "inbox"), pt(Passthrough::Inbound)).unwrap();
    send(&src, "outbox", 1u32);
    assert_eq!(a.data_ready("inbox"), 0);
    assert_eq!(b.data_ready("inbox"), 1);
}

#[test]
fn link_with_passthrough_2_delivers_outbox_to_outbox() {
    let s = Scheduler::new();
    let (a, b, dst) = (inert(&s, STD), inert(&s, STD), inert(&s, STD));
    s.link_with((&a, "outbox"), (&b, "outbox"), pt(Passthrough::Outbound)).unwrap();
    s.link((&b, "outbox"), (&dst, "inbox")).unwrap();
    send(&a, "outbox", 1u32);
    assert_eq!(recv::<u32>(&dst, "inbox"), Some(1));
}

#[test]
fn links_are_registered_with_their_maker() {
    let s = Scheduler::new();
    let (c, cx) = puppet(&s, STD);
    let (a, b) = (inert(&s, STD), inert(&s, STD));
    let l1 = cx.link((&a, "outbox"), (&b, "inbox")).unwrap();
    let l2 = cx.link((&c, "outbox"), (&a, "inbox")).unwrap();
    let l3 = s.link((&b, "outbox"), (&c, "inbox")).unwrap();
    assert_eq!(cx.linkages(), [l1, l2]);
    assert_eq!(s.linkages(), [l3]);
}

#[test]
fn unlink_by_linkage_deregisters_only_that_linkage() {
    let s = Scheduler::new();
    let (_c, cx) = puppet(&s, STD);
    let (a, b) = (inert(&s, STD), inert(&s, STD));
    let l1 = cx.link((&a, "outbox"), (&b, "inbox")).unwrap();
    let l2 = cx.link((&a, "signal"), (&b, "control")).unwrap();
    cx.unlink(&l1).unwrap();
    assert_eq!(cx.linkages(), [l2]);
    assert!(!a.outbox::<u32>("outbox").unwrap().is_linked());
    assert!(a.outbox::<axon_core::ipc::Ipc>("signal").unwrap().is_linked());
}

#[test]
fn unlink_by_component_deregisters_every_linkage_touching_it() {
    let s = Scheduler::new();
    let (_c, cx) = puppet(&s, STD);
    let (a, b, x) = (inert(&s, STD), inert(&s, STD), inert(&s, STD));
    cx.link((&a, "outbox"), (&b, "inbox")).unwrap();
    cx.link((&b, "outbox"), (&a, "inbox")).unwrap();
    let kept = cx.link((&x, "outbox"), (&b, "control")).err();
    assert!(kept.is_some(), "u32 outbox to Ipc inbox is a type mismatch");
    let kept = cx.link((&b, "signal"), (&x, "control")).unwrap();
    assert_eq!(cx.unlink_component(&a), 2);
    assert_eq!(cx.linkages(), [kept]);
}

#[test]
fn unlink_with_passthrough_0_1_2_stops_delivery() {
    let s = Scheduler::new();
    let (a, b, c, d) = (inert(&s, STD), inert(&s, STD), inert(&s, STD), inert(&s, STD));
    // a.outbox →(2) b.outbox →(0) c.inbox →(1) d.inbox
    let l2 = s.link_with((&a, "outbox"), (&b, "outbox"), pt(Passthrough::Outbound)).unwrap();
    let l0 = s.link((&b, "outbox"), (&c, "inbox")).unwrap();
    let l1 = s.link_with((&c, "inbox"), (&d, "inbox"), pt(Passthrough::Inbound)).unwrap();
    send(&a, "outbox", 1u32);
    assert_eq!(d.data_ready("inbox"), 1);

    s.unlink(&l1).unwrap();
    send(&a, "outbox", 2u32);
    assert_eq!(c.data_ready("inbox"), 1, "passthrough 1 removed: c's inbox is final again");
    assert_eq!(d.data_ready("inbox"), 1, "items already delivered stay");

    s.unlink(&l0).unwrap();
    let dropped = s.stats().dropped_unlinked;
    send(&a, "outbox", 3u32);
    assert_eq!(c.data_ready("inbox"), 1);
    assert_eq!(s.stats().dropped_unlinked, dropped + 1, "an outbox leading nowhere drops");

    s.link((&b, "outbox"), (&c, "inbox")).unwrap();
    s.unlink(&l2).unwrap();
    send(&a, "outbox", 4u32);
    assert_eq!(c.data_ready("inbox"), 1, "passthrough 2 removed: a's outbox leads nowhere");
    send(&b, "outbox", 5u32);
    assert_eq!(c.data_ready("inbox"), 2);
}

#[test]
fn a_second_link_from_one_source_is_refused_until_the_first_is_unlinked() {
    let s = Scheduler::new();
    let (a, b, c) = (inert(&s, STD), inert(&s, STD), inert(&s, STD));
    let l = s.link((&a, "outbox"), (&b, "inbox")).unwrap();
    let err = s.link((&a, "outbox"), (&c, "inbox")).unwrap_err();
    assert!(matches!(err, LinkError::BoxAlreadyLinkedToDestination { .. }), "{err}");
    s.unlink(&l).unwrap();
    s.link((&a, "outbox"), (&c, "inbox")).unwrap();
    send(&a, "outbox", 1u32);
    assert_eq!(c.data_ready("inbox"), 1);
    assert_eq!(b.data_ready("inbox"), 0);
}

// ----- chains build in any order (linkagechaining_Test) -----

fn deliver_through(build: impl FnOnce(&Scheduler, &[axon_core::ComponentRef])) -> Vec<usize> {
    let s = Scheduler::new();
    let cs: Vec<_> = (0..3).map(|_| inert(&s, STD)).collect();
    build(&s, &cs);
    for i in 0..3u32 {
        send(&cs[0], "outbox", i);
    }
    cs.iter().map(|c| c.data_ready("inbox")).collect()
}

#[test]
fn chain_simple() {
    let got = deliver_through(|s, c| {
        s.link((&c[0], "outbox"), (&c[1], "inbox")).unwrap();
    });
    assert_eq!(got, [0, 3, 0]);
}

#[test]
fn chain_simple_then_inbox_passthrough() {
    let got = deliver_through(|s, c| {
        s.link((&c[0], "outbox"), (&c[1], "inbox")).unwrap();
        s.link_with((&c[1], "inbox"), (&c[2], "inbox"), pt(Passthrough::Inbound)).unwrap();
    });
    assert_eq!(got, [0, 0, 3]);
}

#[test]
fn chain_inbox_passthrough_then_normal() {
    let got = deliver_through(|s, c| {
        s.link_with((&c[1], "inbox"), (&c[2], "inbox"), pt(Passthrough::Inbound)).unwrap();
        s.link((&c[0], "outbox"), (&c[1], "inbox")).unwrap();
    });
    assert_eq!(got, [0, 0, 3]);
}

#[test]
fn chain_simple_then_outbox_passthrough() {
    let got = deliver_through(|s, c| {
        s.link((&c[1], "outbox"), (&c[2], "inbox")).unwrap();
        s.link_with((&c[0], "outbox"), (&c[1], "outbox"), pt(Passthrough::Outbound)).unwrap();
    });
    assert_eq!(got, [0, 0, 3]);
}

#[test]
fn chain_outbox_passthrough_then_normal() {
    let got = deliver_through(|s, c| {
        s.link_with((&c[0], "outbox"), (&c[1], "outbox"), pt(Passthrough::Outbound)).unwrap();
        s.link((&c[1], "outbox"), (&c[2], "inbox")).unwrap();
    });
    assert_eq!(got, [0, 0, 3]);
}

#[test]
fn chain_inbox_passthrough_deletion_falls_back_to_the_middle_inbox() {
    let s = Scheduler::new();
    let c: Vec<_> = (0..3).map(|_| inert(&s, STD)).collect();
    s.link((&c[0], "outbox"), (&c[1], "inbox")).unwrap();
    let mid = s.link_with((&c[1], "inbox"), (&c[2], "inbox"), pt(Passthrough::Inbound)).unwrap();
    send(&c[0], "outbox", 1u32);
    s.unlink(&mid).unwrap();
    send(&c[0], "outbox", 2u32);
    assert_eq!(recv::<u32>(&c[1], "inbox"), Some(2));
    assert_eq!(recv::<u32>(&c[2], "inbox"), Some(1));
}

#[test]
fn messages_waiting_in_an_inbox_move_on_in_order_when_it_is_linked_onward() {
    let s = Scheduler::new();
    let (a, b, c) = (inert(&s, STD), inert(&s, STD), inert(&s, STD));
    s.link((&a, "outbox"), (&b, "inbox")).unwrap();
    send(&a, "outbox", 1u32);
    send(&a, "outbox", 2u32);
    send(&c, "outbox", 0u32); // unlinked: dropped
    c.deliver("inbox", 0u32).unwrap();
    s.link_with((&b, "inbox"), (&c, "inbox"), pt(Passthrough::Inbound)).unwrap();
    send(&a, "outbox", 3u32);
    assert_eq!(b.data_ready("inbox"), 0);
    let got: Vec<u32> = c.inbox::<u32>("inbox").unwrap().drain().collect();
    assert_eq!(got, [0, 1, 2, 3]);
}

// ----- size limits -----

#[test]
fn set_size_can_be_called_and_read_back() {
    let s = Scheduler::new();
    let (_c, cx) = puppet(&s, STD);
    cx.set_inbox_size("inbox", Some(5)).unwrap();
    assert_eq!(cx.inbox::<u32>("inbox").unwrap().capacity(), Some(5));
    cx.set_inbox_size("inbox", None).unwrap();
    assert_eq!(cx.inbox::<u32>("inbox").unwrap().capacity(), None);
}

fn bounded_pair(s: &Scheduler, size: usize) -> (axon_core::ComponentRef, axon_core::ComponentRef) {
    let (a, b) = (inert(s, STD), inert(s, STD));
    s.link((&a, "outbox"), (&b, "inbox")).unwrap();
    b.inbox::<u32>("inbox").unwrap().set_size(Some(size));
    (a, b)
}

#[test]
fn five_sends_fit_a_size_5_box_and_the_sixth_is_refused_with_the_message() {
    let s = Scheduler::new();
    let (a, _b) = bounded_pair(&s, 5);
    let out = a.outbox::<u32>("outbox").unwrap();
    for i in 0..5 {
        out.send(i).unwrap();
    }
    assert!(out.is_full());
    let err: NoSpaceInBox<u32> = out.send(5).unwrap_err();
    assert_eq!(err.capacity, 5);
    assert_eq!(err.into_inner(), 5);
}

#[test]
fn receiving_three_allows_exactly_three_more() {
    let s = Scheduler::new();
    let (a, b) = bounded_pair(&s, 5);
    let out = a.outbox::<u32>("outbox").unwrap();
    for i in 0..5 {
        out.send(i).unwrap();
    }
    for i in 0..3 {
        assert_eq!(recv::<u32>(&b, "inbox"), Some(i));
    }
    for i in 5..8 {
        out.send(i).unwrap();
    }
    assert!(out.send(8).is_err());
}

#[test]
fn a_size_limit_mid_chain_has_no_effect_until_the_chain_is_broken() {
    let s = Scheduler::new();
    let (a, b, c) = (inert(&s, STD), inert(&s, STD), inert(&s, STD));
    s.link((&a, "outbox"), (&b, "inbox")).unwrap();
    let mid = s.link_with((&b, "inbox"), (&c, "inbox"), pt(Passthrough::Inbound)).unwrap();
    b.inbox::<u32>("inbox").unwrap().set_size(Some(5));
    let out = a.outbox::<u32>("outbox").unwrap();
    for i in 0..10 {
        out.send(i).unwrap();
    }
    s.unlink(&mid).unwrap();
    for i in 0..5 {
        out.send(i).unwrap();
    }
    assert!(out.send(5).is_err(), "b's limit applies once b is the final destination");
}

#[test]
fn no_size_limit_means_unlimited() {
    let s = Scheduler::new();
    let (a, b) = (inert(&s, STD), inert(&s, STD));
    s.link((&a, "outbox"), (&b, "inbox")).unwrap();
    b.inbox::<u32>("inbox").unwrap().set_size(None);
    for i in 0..9999u32 {
        send(&a, "outbox", i);
    }
    assert_eq!(b.data_ready("inbox"), 9999);
}

#[test]
fn a_size_limit_can_be_switched_off_at_run_time() {
    let s = Scheduler::new();
    let (a, b) = bounded_pair(&s, 5);
    let out = a.outbox::<u32>("outbox").unwrap();
    for i in 0..5 {
        out.send(i).unwrap();
    }
    assert!(out.send(5).is_err());
    b.inbox::<u32>("inbox").unwrap().set_size(None);
    for i in 5..100 {
        out.send(i).unwrap();
    }
    assert_eq!(b.data_ready("inbox"), 100);
}

#[test]
fn every_fan_in_producer_sees_the_same_limit() {
    let s = Scheduler::new();
    let producers: Vec<_> = (0..3).map(|_| inert(&s, STD)).collect();
    let sink = inert(&s, STD);
    for p in &producers {
        s.link((p, "outbox"), (&sink, "inbox")).unwrap();
    }
    sink.inbox::<u32>("inbox").unwrap().set_size(Some(5));
    for i in 0..5 {
        producers[i % 3].outbox::<u32>("outbox").unwrap().send(i as u32).unwrap();
    }
    for p in &producers {
        assert!(p.outbox::<u32>("outbox").unwrap().send(9).is_err());
    }
}
