//! Ports Tests/Python/Axon/test_AdaptiveCommsComponent.py (reference §1.4, §8
//! "AdaptiveCommsComponent").
//!
//! In Rust every component is adaptive: the dynamic-box and resource-tracking methods are on its
//! [`Context`](axon_core::Context). Python's KeyError is [`BoxError::UnknownBox`] here.

mod util;

use axon_core::{BoxError, ComponentId, LinkOptions, Scheduler};
use util::{puppet, recv, send, STD};

#[test]
fn has_exactly_the_default_boxes_all_empty() {
    let s = Scheduler::new();
    let (c, _cx) = puppet(&s, STD);
    assert_eq!(c.inbox_names(), ["inbox", "control"]);
    assert_eq!(c.outbox_names(), ["outbox", "signal"]);
    assert!(c.inbox_names().iter().all(|b| c.data_ready(b) == 0));
}

#[test]
fn add_inbox_keeps_a_free_name() {
    let s = Scheduler::new();
    let (c, cx) = puppet(&s, STD);
    assert_eq!(cx.add_inbox::<u32>("newinbox"), "newinbox");
    assert!(c.inbox_names().contains(&"newinbox".to_owned()));
}

#[test]
fn add_inbox_gives_a_taken_name_a_new_name_with_the_same_prefix() {
    let s = Scheduler::new();
    let (c, cx) = puppet(&s, STD);
    let n = cx.add_inbox::<u32>("inbox");
    assert_ne!(n, "inbox");
    assert!(n.starts_with("inbox"), "{n}");
    let m = cx.add_inbox::<u32>("inbox");
    assert!(m.starts_with("inbox") && m != n && m != "inbox", "{m}");
    assert_eq!(c.inbox_names().len(), 4);
}

#[test]
fn add_outbox_keeps_a_free_name_and_renames_a_taken_one() {
    let s = Scheduler::new();
    let (c, cx) = puppet(&s, STD);
    assert_eq!(cx.add_outbox::<u32>("newoutbox"), "newoutbox");
    let n = cx.add_outbox::<u32>("outbox");
    assert!(n.starts_with("outbox") && n != "outbox", "{n}");
    assert_eq!(c.outbox_names().len(), 4);
}

#[test]
fn adding_four_boxes_and_deleting_them_restores_the_original_set() {
    let s = Scheduler::new();
    let (c, cx) = puppet(&s, STD);
    let (ins, outs) = (c.inbox_names(), c.outbox_names());
    let i1 = cx.add_inbox::<u32>("inbox");
    let i2 = cx.add_inbox::<String>("x");
    let o1 = cx.add_outbox::<u32>("outbox");
    let o2 = cx.add_outbox::<String>("y");
    assert_eq!(c.inbox_names().len(), 4);
    cx.delete_inbox(&i1).unwrap();
    cx.delete_inbox(&i2).unwrap();
    cx.delete_outbox(&o1).unwrap();
    cx.delete_outbox(&o2).unwrap();
    assert_eq!((c.inbox_names(), c.outbox_names()), (ins, outs));
}

#[test]
fn deleting_a_missing_box_is_an_unknown_box_error() {
    let s = Scheduler::new();
    let (_c, cx) = puppet(&s, STD);
    assert!(matches!(cx.delete_inbox("nonsuch"), Err(BoxError::UnknownBox(..))));
    assert!(matches!(cx.delete_outbox("nonsuch"), Err(BoxError::UnknownBox(..))));
}

#[test]
fn deleting_an_existing_box_removes_it() {
    let s = Scheduler::new();
    let (c, cx) = puppet(&s, STD);
    cx.delete_inbox("control").unwrap();
    assert_eq!(c.inbox_names(), ["inbox"]);
    assert!(cx.inbox::<axon_core::ipc::Ipc>("control").is_err());
    cx.delete_outbox("signal").unwrap();
    assert_eq!(c.outbox_names(), ["outbox"]);
}

/// Axon left deleting a linked box undefined; Rust refuses it until the link is removed.
#[test]
fn deleting_a_linked_box_is_refused_until_it_is_unlinked() {
    let s = Scheduler::new();
    let (c, cx) = puppet(&s, STD);
    let (other, _) = puppet(&s, STD);
    let name = cx.add_inbox::<u32>("dyn");
    let l = cx.link((&other, "outbox"), (&c, &name)).unwrap();
    assert!(matches!(cx.delete_inbox(&name), Err(BoxError::StillLinked(_))));
    cx.unlink(&l).unwrap();
    cx.delete_inbox(&name).unwrap();
}

#[test]
fn an_added_inbox_and_outbox_carry_messages() {
    let s = Scheduler::new();
    let (c, cx) = puppet(&s, STD);
    let (other, _) = puppet(&s, STD);
    let i = cx.add_inbox::<u32>("in");
    let o = cx.add_outbox::<u32>("out");
    cx.link((&other, "outbox"), (&c, &i)).unwrap();
    cx.link_with((&c, &o), (&other, "inbox"), LinkOptions::new()).unwrap();
    send(&other, "outbox", 1u32);
    assert_eq!(cx.recv::<u32>(&i).unwrap(), Some(1));
    cx.send(2u32, &o).unwrap();
    assert_eq!(recv::<u32>(&other, "inbox"), Some(2));
}

#[test]
fn messages_queued_in_a_deleted_inbox_are_lost() {
    let s = Scheduler::new();
    let (c, cx) = puppet(&s, STD);
    let i = cx.add_inbox::<u32>("in");
    c.deliver(&i, 5u32).unwrap();
    cx.delete_inbox(&i).unwrap();
    let again = cx.add_inbox::<u32>("in");
    assert_eq!(again, "in");
    assert_eq!(cx.data_ready(&again), 0);
}

#[test]
fn track_resource_works_with_default_and_dynamic_inboxes() {
    let s = Scheduler::new();
    let (_c, cx) = puppet(&s, STD);
    cx.track_resource("resource one", "inbox").unwrap();
    let dynamic = cx.add_inbox::<u32>("dyn");
    cx.track_resource(42u64, &dynamic).unwrap();
    assert_eq!(cx.retrieve_tracked_resource::<&str>("inbox").as_deref(), Some(&"resource one"));
    assert_eq!(cx.retrieve_tracked_resource::<u64>(&dynamic).as_deref(), Some(&42));
    assert!(cx.retrieve_tracked_resource::<u64>("inbox").is_none(), "another type");
}

#[test]
fn track_resource_on_a_missing_inbox_is_an_unknown_box_error() {
    let s = Scheduler::new();
    let (_c, cx) = puppet(&s, STD);
    assert!(matches!(cx.track_resource(1u8, "nonsuch"), Err(BoxError::UnknownBox(..))));
    assert!(cx.retrieve_tracked_resource::<u8>("nonsuch").is_none());
}

#[test]
fn track_resource_information_round_trips() {
    let s = Scheduler::new();
    let (_c, cx) = puppet(&s, STD);
    let (res, _) = puppet(&s, STD);
    let i = cx.add_inbox::<u32>("dyn");
    cx.track_resource_information(res.id(), &["inbox", &i], &["outbox"], "info").unwrap();
    let t = cx.retrieve_tracked_resource_information::<&str>(res.id()).unwrap();
    assert_eq!(t.inboxes, ["inbox", i.as_str()]);
    assert_eq!(t.outboxes, ["outbox"]);
    assert_eq!(t.info, "info");
    assert!(cx.cease_tracking_resource(res.id()));
    assert!(cx.retrieve_tracked_resource_information::<&str>(res.id()).is_none());
    assert!(!cx.cease_tracking_resource(res.id()));
}

#[test]
fn track_resource_information_with_a_missing_box_is_refused_and_stores_nothing() {
    let s = Scheduler::new();
    let (c, cx) = puppet(&s, STD);
    let id: ComponentId = c.id();
    assert!(cx.track_resource_information(id, &["nonsuch"], &["outbox"], 1u8).is_err());
    assert!(cx.track_resource_information(id, &["inbox"], &["nonsuch"], 1u8).is_err());
    assert!(cx.retrieve_tracked_resource_information::<u8>(id).is_none());
}
