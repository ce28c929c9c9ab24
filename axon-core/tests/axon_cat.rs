//! Ports Tests/Python/Axon/test_CoordinatingAssistantTracker.py (reference §4, §8 "CAT").
//!
//! The Rust registry is one per scheduler ([`Scheduler::tracker`]) rather than a process-wide
//! singleton with an optional parent, so Python's `_parent` and `BadParentTracker` checks become
//! "each scheduler has its own, empty registry". Python's `BadComponent` (an object with no
//! `inboxes`) cannot be expressed with a typed `ComponentRef`; its Rust counterpart is
//! registering a component that has ended. Python's KeyError is `UnknownService`.

mod util;

use axon_core::tracker::TrackerError;
use axon_core::Scheduler;
use util::{inert, STD};

#[test]
fn a_registry_starts_empty() {
    let s = Scheduler::new();
    assert!(s.tracker().services_registered().is_empty());
    assert!(s.tracker().information_items_logged().is_empty());
}

#[test]
fn each_scheduler_has_its_own_registry() {
    let s1 = Scheduler::new();
    let s2 = Scheduler::new();
    let c = inert(&s1, STD);
    s1.tracker().register_service("svc", &c, "inbox").unwrap();
    s1.tracker().track_value("v", 1u8).unwrap();
    assert!(s2.tracker().services_registered().is_empty());
    assert!(s2.tracker().information_items_logged().is_empty());
}

#[test]
fn register_service_adds_the_service() {
    let s = Scheduler::new();
    let c = inert(&s, STD);
    s.tracker().register_service("mytestservice", &c, "inbox").unwrap();
    assert_eq!(s.tracker().services_registered(), ["mytestservice"]);
}

#[test]
fn registering_a_taken_name_again_is_service_already_exists_even_with_identical_arguments() {
    let s = Scheduler::new();
    let c = inert(&s, STD);
    s.tracker().register_service("svc", &c, "inbox").unwrap();
    assert_eq!(
        s.tracker().register_service("svc", &c, "inbox"),
        Err(TrackerError::ServiceAlreadyExists("svc".into()))
    );
}

#[test]
fn registering_an_ended_component_is_bad_component() {
    let s = Scheduler::new();
    let c = inert(&s, STD);
    c.stop();
    assert!(matches!(s.tracker().register_service("svc", &c, "inbox"), Err(TrackerError::BadComponent(_))));
    assert!(s.tracker().services_registered().is_empty());
}

#[test]
fn registering_a_missing_inbox_is_bad_inbox() {
    let s = Scheduler::new();
    let c = inert(&s, STD);
    assert!(matches!(
        s.tracker().register_service("svc", &c, "nonsuch"),
        Err(TrackerError::BadInbox { inbox, .. }) if inbox == "nonsuch"
    ));
    assert!(
        matches!(s.tracker().register_service("svc", &c, "outbox"), Err(TrackerError::BadInbox { .. })),
        "an outbox is not an inbox"
    );
}

#[test]
fn retrieve_service_returns_the_component_and_inbox() {
    let s = Scheduler::new();
    let c = inert(&s, STD);
    s.tracker().register_service("svc", &c, "control").unwrap();
    let (got, inbox) = s.tracker().retrieve_service("svc").unwrap();
    assert_eq!(got, c);
    assert_eq!(inbox, "control");
}

#[test]
fn retrieving_an_unknown_service_is_an_error() {
    let s = Scheduler::new();
    assert_eq!(
        s.tracker().retrieve_service("nonsuch").unwrap_err(),
        TrackerError::UnknownService("nonsuch".into())
    );
}

#[test]
fn deregister_service_removes_it_and_an_unknown_name_is_multiple_service_deletion() {
    let s = Scheduler::new();
    let c = inert(&s, STD);
    s.tracker().register_service("svc", &c, "inbox").unwrap();
    s.tracker().deregister_service("svc").unwrap();
    assert!(s.tracker().services_registered().is_empty());
    assert!(s.tracker().retrieve_service("svc").is_err());
    assert_eq!(
        s.tracker().deregister_service("svc"),
        Err(TrackerError::MultipleServiceDeletion("svc".into()))
    );
    // The name can be registered again.
    s.tracker().register_service("svc", &c, "inbox").unwrap();
}

#[test]
fn track_value_works_and_tracking_twice_is_namespace_clash() {
    let s = Scheduler::new();
    s.tracker().track_value("answer", 42u32).unwrap();
    assert_eq!(s.tracker().track_value("answer", 43u32), Err(TrackerError::NamespaceClash("answer".into())));
    assert_eq!(s.tracker().retrieve_value::<u32>("answer").unwrap(), Some(&42));
}

#[test]
fn retrieve_value_returns_the_value_and_an_untracked_name_is_an_error() {
    let s = Scheduler::new();
    s.tracker().track_value("name", String::from("value")).unwrap();
    assert_eq!(s.tracker().retrieve_value::<String>("name").unwrap().map(String::as_str), Some("value"));
    assert_eq!(s.tracker().retrieve_value::<u8>("name").unwrap(), None, "another type");
    assert_eq!(
        s.tracker().retrieve_value::<u8>("nonsuch").unwrap_err(),
        TrackerError::AccessToUndeclaredTrackedVariable("nonsuch".into())
    );
}

#[test]
fn update_value_replaces_the_value_and_an_untracked_name_is_an_error() {
    let s = Scheduler::new();
    s.tracker().track_value("n", 1u32).unwrap();
    s.tracker().update_value("n", 2u32).unwrap();
    assert_eq!(s.tracker().retrieve_value::<u32>("n").unwrap(), Some(&2));
    assert_eq!(
        s.tracker().update_value("nonsuch", 1u32),
        Err(TrackerError::AccessToUndeclaredTrackedVariable("nonsuch".into()))
    );
    assert!(s.tracker().retrieve_value::<u32>("nonsuch").is_err(), "update did not create it");
}

#[test]
fn information_items_logged_lists_every_tracked_name() {
    let s = Scheduler::new();
    for (i, name) in ["a", "b", "c"].into_iter().enumerate() {
        s.tracker().track_value(name, i).unwrap();
    }
    assert_eq!(s.tracker().information_items_logged(), ["a", "b", "c"]);
}

#[test]
fn zap_clears_services_and_values() {
    let s = Scheduler::new();
    let c = inert(&s, STD);
    s.tracker().register_service("svc", &c, "inbox").unwrap();
    s.tracker().track_value("v", 1u8).unwrap();
    s.tracker().zap();
    assert!(s.tracker().services_registered().is_empty());
    assert!(s.tracker().information_items_logged().is_empty());
}
