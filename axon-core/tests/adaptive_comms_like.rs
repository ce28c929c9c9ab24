//! `Context::add_inbox_like` / `add_outbox_like`: adding a box whose message type is copied from
//! another component's box, for chassis (Graphline) that pass a child's box through without
//! knowing its type.

mod util;

use axon_core::{boxes, BoxDecl, BoxError, LinkError, LinkOptions, Passthrough, Scheduler};
use util::{inert, puppet, recv, send, STD};

const STRINGS: &[BoxDecl] = &boxes::standard::<String>();

#[test]
fn an_inbox_added_like_a_childs_inbox_carries_the_childs_type() {
    let s = Scheduler::new();
    let (me, cx) = puppet(&s, STD);
    let child = inert(&s, STRINGS);
    let name = cx.add_inbox_like("words", (&child, "inbox")).unwrap();
    assert_eq!(name, "words");
    assert!(me.inbox::<String>("words").is_ok());
    assert!(matches!(me.inbox::<u32>("words"), Err(BoxError::TypeMismatch { .. })));
    cx.link_with((&me, "words"), (&child, "inbox"), LinkOptions::new().passthrough(Passthrough::Inbound))
        .unwrap();
    me.deliver("words", "hello".to_owned()).unwrap();
    assert_eq!(recv::<String>(&child, "inbox").as_deref(), Some("hello"));
}

#[test]
fn an_outbox_added_like_a_childs_outbox_carries_the_childs_type() {
    let s = Scheduler::new();
    let (me, cx) = puppet(&s, STD);
    let child = inert(&s, STRINGS);
    let sink = inert(&s, STRINGS);
    let name = cx.add_outbox_like("out", (&child, "outbox")).unwrap();
    cx.link_with((&child, "outbox"), (&me, &name), LinkOptions::new().passthrough(Passthrough::Outbound))
        .unwrap();
    cx.link((&me, &name), (&sink, "inbox")).unwrap();
    send(&child, "outbox", "through".to_owned());
    assert_eq!(recv::<String>(&sink, "inbox").as_deref(), Some("through"));
}

#[test]
fn a_box_added_like_another_takes_a_free_name_as_add_inbox_does() {
    let s = Scheduler::new();
    let (me, cx) = puppet(&s, STD);
    let child = inert(&s, STRINGS);
    let name = cx.add_inbox_like("inbox", (&child, "inbox")).unwrap();
    assert_ne!(name, "inbox");
    assert!(name.starts_with("inbox"));
    assert!(me.inbox::<u32>("inbox").is_ok(), "the declared inbox is untouched");
    assert!(me.inbox::<String>(&name).is_ok());
}

#[test]
fn copying_the_type_of_a_missing_box_is_an_unknown_box_error_and_adds_nothing() {
    let s = Scheduler::new();
    let (me, cx) = puppet(&s, STD);
    let child = inert(&s, STRINGS);
    let before = me.inbox_names();
    let err = cx.add_inbox_like("x", (&child, "nonesuch")).unwrap_err();
    assert!(matches!(err, BoxError::UnknownBox(..)), "{err}");
    assert!(err.to_string().contains("nonesuch"), "{err}");
    // "outbox" is an outbox, not an inbox: the direction is the new box's direction.
    assert!(cx.add_inbox_like("x", (&child, "outbox")).is_err());
    assert_eq!(me.inbox_names(), before);
}

#[test]
fn a_box_added_like_another_is_checked_like_any_box_when_linked() {
    let s = Scheduler::new();
    let (me, cx) = puppet(&s, STD);
    let child = inert(&s, STRINGS);
    let numbers = inert(&s, STD);
    let name = cx.add_outbox_like("out", (&child, "outbox")).unwrap();
    let err = cx.link((&me, &name), (&numbers, "inbox")).unwrap_err();
    assert!(matches!(err, LinkError::TypeMismatch { .. }), "{err}");
}
