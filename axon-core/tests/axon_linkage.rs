//! Ports Tests/Python/Axon/test_Linkage.py (reference §2.2, §8 "Linkage").
//!
//! A Rust [`Linkage`](axon_core::Linkage) is only made by `link`, so Python's "constructing
//! without source or sink raises TypeError" is a compile-time guarantee here and has no test.

mod util;

use axon_core::{LinkError, LinkOptions, Passthrough, Scheduler};
use util::{inert, STD};

#[test]
fn link_defaults_to_outbox_to_inbox_with_passthrough_0() {
    assert_eq!(LinkOptions::new(), LinkOptions::default());
    assert_eq!(LinkOptions::new(), LinkOptions::new().passthrough(Passthrough::Normal));
    assert_eq!(Passthrough::default(), Passthrough::Normal);
    let s = Scheduler::new();
    let (a, b) = (inert(&s, STD), inert(&s, STD));
    let l = s.link((&a, "outbox"), (&b, "inbox")).unwrap();
    assert_eq!(l.source_pair(), (a.id(), "outbox"));
    assert_eq!(l.sink_pair(), (b.id(), "inbox"));
    assert_eq!(l.passthrough(), Passthrough::Normal);
}

#[test]
fn explicit_boxes_are_honoured() {
    let s = Scheduler::new();
    let (a, b) = (inert(&s, STD), inert(&s, STD));
    let l = s.link((&a, "signal"), (&b, "control")).unwrap();
    assert_eq!(l.source_pair(), (a.id(), "signal"));
    assert_eq!(l.sink_pair(), (b.id(), "control"));
}

#[test]
fn passthrough_1_and_2_are_stored() {
    let s = Scheduler::new();
    let (a, b) = (inert(&s, STD), inert(&s, STD));
    let l1 = s
        .link_with((&a, "inbox"), (&b, "inbox"), LinkOptions::new().passthrough(Passthrough::Inbound))
        .unwrap();
    let l2 = s
        .link_with((&a, "outbox"), (&b, "outbox"), LinkOptions::new().passthrough(Passthrough::Outbound))
        .unwrap();
    assert_eq!(l1.passthrough(), Passthrough::Inbound);
    assert_eq!(u8::from(l1.passthrough()), 1);
    assert_eq!(l2.passthrough(), Passthrough::Outbound);
    assert_eq!(u8::from(l2.passthrough()), 2);
}

/// Python accepts the passthrough positionally as an int; Rust converts from `u8`.
#[test]
fn passthrough_converts_from_0_1_2_and_refuses_anything_else() {
    assert_eq!(Passthrough::try_from(0), Ok(Passthrough::Normal));
    assert_eq!(Passthrough::try_from(1), Ok(Passthrough::Inbound));
    assert_eq!(Passthrough::try_from(2), Ok(Passthrough::Outbound));
    assert_eq!(Passthrough::try_from(3), Err(LinkError::BadPassthrough(3)));
}

#[test]
fn passthrough_selects_which_sides_are_joined() {
    use axon_core::Direction::{Inbox, Outbox};
    assert_eq!(Passthrough::Normal.directions(), (Outbox, Inbox));
    assert_eq!(Passthrough::Inbound.directions(), (Inbox, Inbox));
    assert_eq!(Passthrough::Outbound.directions(), (Outbox, Outbox));
}

#[test]
fn display_is_axons_link_format() {
    let s = Scheduler::new();
    let (a, b) = (inert(&s, STD), inert(&s, STD));
    let l = s.link((&a, "signal"), (&b, "control")).unwrap();
    assert_eq!(l.to_string(), format!("Link( source:[{},signal], sink:[{},control] )", a.name(), b.name()));
    assert_eq!(format!("{l:?}"), l.to_string());
}

#[test]
fn a_link_still_names_its_ends_once_they_have_gone() {
    let s = Scheduler::new();
    let (a, b) = (inert(&s, STD), inert(&s, STD));
    let (na, nb) = (a.name(), b.name());
    let l = s.link((&a, "outbox"), (&b, "inbox")).unwrap();
    drop((a, b));
    assert_eq!(l.to_string(), format!("Link( source:[{na},outbox], sink:[{nb},inbox] )"));
}

#[test]
fn links_are_equal_only_to_themselves() {
    let s = Scheduler::new();
    let (a, b) = (inert(&s, STD), inert(&s, STD));
    let l = s.link((&a, "outbox"), (&b, "inbox")).unwrap();
    assert_eq!(l.clone(), l);
    s.unlink(&l).unwrap();
    // The same two boxes linked again: another link.
    let again = s.link((&a, "outbox"), (&b, "inbox")).unwrap();
    assert_ne!(again, l);
    let set: std::collections::HashSet<_> = [l.clone(), again.clone(), l.clone()].into_iter().collect();
    assert_eq!(set.len(), 2);
}

#[test]
fn pipewidth_and_synchronous_size_the_sink_box() {
    let s = Scheduler::new();
    let (a, b, c) = (inert(&s, STD), inert(&s, STD), inert(&s, STD));
    s.link_with((&a, "outbox"), (&b, "inbox"), LinkOptions::new().pipewidth(3)).unwrap();
    s.link_with((&a, "signal"), (&c, "control"), LinkOptions::new().synchronous()).unwrap();
    assert_eq!(b.inbox::<u32>("inbox").unwrap().capacity(), Some(3));
    assert_eq!(c.inbox::<axon_core::ipc::Ipc>("control").unwrap().capacity(), Some(1));
    assert_eq!(a.inbox::<u32>("inbox").unwrap().capacity(), None, "no other box is touched");
}
