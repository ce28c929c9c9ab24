//! Ports Tests/Python/Kamaelia/Chassis/test_Graphline.py (reference §7.3, §8 "Graphline"),
//! plus per-instance boxes (Kamaelia's class-mutation defect, fixed), nesting, and wiring
//! mistakes.
//!
//! The Python tests surround the Graphline with `Dummy` components linked to its boxes and step
//! the scheduler for "about N cycles"; here the stand-ins are created, never-activated
//! components (plain box storage) and the scheduler runs until idle. Python's
//! `MockChild.stopNow()` is `ComponentRef::stop()`. Python's `test_smokeTest` and
//! `test_graphlineNoLinkagesArg` (no `linkages` argument is an error) have no run-time
//! counterpart: `graphline!` without its linkage section does not compile (a `compile_fail`
//! doc test on the macro); the builder starts with an empty table, as `linkages={}` does.

mod util_chassis;

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use axon_core::ipc::{Ipc, ProducerFinished, ShutdownMicroprocess};
use axon_core::{ComponentRef, Direction, EndCause, LinkError, Passthrough, Scheduler};
use kamaelia_chassis::{graphline, pipeline, Child, Graphline, Pipeline, WiringError};
use util_chassis::{
    collect, inert, map, mock, recv, send, source, token, token_of, Mock, IPC_STD, STRING_STD, U32_STD,
};

type Link<'a> = ((&'a str, &'a str), (&'a str, &'a str));

/// A `Graphline<Ipc>` of created mocks named `names`, wired by `links`, with stand-ins linked
/// to its inbox, control, outbox and signal (the Python tests' `setup_initialise`). Stand-ins
/// for other boxes are made on first use, once the Graphline runs.
struct Rig {
    s: Scheduler,
    g: ComponentRef,
    kids: Vec<(String, ComponentRef)>,
    /// Stand-ins whose outbox feeds one of the Graphline's inboxes.
    feeders: RefCell<HashMap<String, ComponentRef>>,
    /// Stand-ins whose inbox one of the Graphline's outboxes feeds.
    taps: RefCell<HashMap<String, ComponentRef>>,
    serial: std::cell::Cell<u32>,
}

fn rig(names: &[&str], links: &[Link<'_>]) -> Rig {
    let s = Scheduler::new();
    let kids: Vec<(String, ComponentRef)> =
        names.iter().map(|n| (n.to_string(), mock(&s, IPC_STD))).collect();
    let mut g = Graphline::<Ipc>::new();
    for (n, k) in &kids {
        g = g.child(n, Child::created(k.clone()));
    }
    for (from, to) in links {
        g = g.link(*from, *to);
    }
    let g = s.create(g);
    let r = Rig {
        s,
        g,
        kids,
        feeders: RefCell::default(),
        taps: RefCell::default(),
        serial: std::cell::Cell::new(100),
    };
    for b in ["inbox", "control"] {
        r.feeder(b);
    }
    for b in ["outbox", "signal"] {
        r.tap(b);
    }
    r
}

/// One end of a data-flow check: a child's box, or one of the Graphline's own.
#[derive(Clone, Copy)]
enum At<'a> {
    Kid(&'a str, &'a str),
    Me(&'a str),
}

impl Rig {
    /// `setup_activate` followed by running until nothing is runnable.
    fn activate(&self) {
        self.s.activate(&self.g);
        self.s.run_until_idle();
    }

    fn kid(&self, name: &str) -> &ComponentRef {
        &self.kids.iter().find(|(n, _)| n == name).expect("a child of that name").1
    }

    fn feeder(&self, b: &str) -> ComponentRef {
        let mut f = self.feeders.borrow_mut();
        f.entry(b.to_owned())
            .or_insert_with(|| {
                let c = inert(&self.s, IPC_STD);
                self.s.link((&c, "outbox"), (&self.g, b)).unwrap_or_else(|e| panic!("no inbox {b:?}: {e}"));
                c
            })
            .clone()
    }

    fn tap(&self, b: &str) -> ComponentRef {
        let mut t = self.taps.borrow_mut();
        t.entry(b.to_owned())
            .or_insert_with(|| {
                let c = inert(&self.s, IPC_STD);
                self.s.link((&self.g, b), (&c, "inbox")).unwrap_or_else(|e| panic!("no outbox {b:?}: {e}"));
                c
            })
            .clone()
    }

    /// Sends `msg` into the Graphline's inbox `b`.
    fn send_to(&self, b: &str, msg: Ipc) {
        send(&self.feeder(b), "outbox", msg);
    }

    /// Takes what came out of the Graphline's outbox `b`.
    fn recv_from(&self, b: &str) -> Option<Ipc> {
        recv(&self.tap(b), "inbox")
    }

    fn ready_at(&self, b: &str) -> usize {
        self.tap(b).data_ready("inbox")
    }

    /// Python's `checkDataFlows`: a fresh message sent from `from` arrives at `to` and no child
    /// other than `to` has anything waiting.
    fn check_flows(&self, from: At<'_>, to: At<'_>) {
        let n = self.serial.get();
        self.serial.set(n + 1);
        if let At::Me(b) = to {
            self.tap(b);
        }
        match from {
            At::Me(b) => self.send_to(b, token(n)),
            At::Kid(k, b) => send(self.kid(k), b, token(n)),
        }
        self.s.run_until_idle();
        let got = match to {
            At::Me(b) => self.recv_from(b),
            At::Kid(k, b) => recv::<Ipc>(self.kid(k), b),
        };
        assert_eq!(got.as_ref().and_then(token_of), Some(n), "the message arrived");
        for (name, kid) in &self.kids {
            if matches!(to, At::Kid(k, _) if k == name) {
                continue;
            }
            for b in kid.inbox_names() {
                assert_eq!(kid.data_ready(&b), 0, "nothing leaked into {name:?} {b:?}");
            }
        }
    }

    fn stop_all(&self) {
        for (_, k) in &self.kids {
            k.stop();
        }
        self.s.run_until_idle();
    }

    fn running(&self) -> bool {
        self.s.components().contains(&self.g)
    }
}

/// The text of a Failed end cause, and the [`WiringError`] inside it.
fn failure(c: &ComponentRef) -> (String, WiringError) {
    match c.end_cause() {
        Some(EndCause::Failed(e)) => {
            (e.to_string(), e.downcast_ref::<WiringError>().expect("a WiringError").clone())
        }
        other => panic!("expected a wiring failure, got {other:?}"),
    }
}

const UNUSED_NAMES: [&str; 6] = ["", "self", "flurble", "a", "component", "pig"];

// ----- construction and children -----

#[test]
fn an_empty_linkage_table_is_fine_with_or_without_children() {
    let g: Graphline<Ipc> = graphline! { A = Mock::new(IPC_STD).0, B = Mock::new(IPC_STD).0; };
    assert!(g.check().is_ok());
    assert_eq!(g.child_names().collect::<Vec<_>>(), ["A", "B"]);
    let g: Graphline<Ipc> = graphline! { ; };
    assert!(g.check().is_ok());
    let s = Scheduler::new();
    let g = s.spawn(g);
    s.run_until_idle();
    assert!(g.is_finished(), "with no children it ends at once");
}

#[test]
fn children_become_its_children_only_once_it_is_activated_and_runs() {
    let r = rig(&["A", "B"], &[]);
    r.s.run_until_idle();
    assert!(r.g.children().is_empty());
    r.activate();
    let children = r.g.children();
    assert!(r.kids.iter().all(|(_, k)| children.contains(k)));
}

#[test]
fn every_child_is_activated_when_it_runs_and_no_sooner_linked_or_not() {
    let no_links: &[Link<'_>] = &[];
    let ring: &[Link<'_>] = &[
        (("A", "outbox"), ("B", "inbox")),
        (("B", "outbox"), ("C", "inbox")),
        (("C", "outbox"), ("A", "inbox")),
    ];
    for links in [no_links, ring] {
        let s = Scheduler::new();
        let (kids, flags): (Vec<Mock>, Vec<_>) = (0..3).map(|_| Mock::new(IPC_STD)).unzip();
        let mut g = Graphline::<Ipc>::new();
        for (name, kid) in ["A", "B", "C"].into_iter().zip(kids) {
            g = g.child(name, kid);
        }
        for (from, to) in links {
            g = g.link(*from, *to);
        }
        let g = s.create(g);
        s.run_until_idle();
        assert!(flags.iter().all(|f| !f.get()));
        s.activate(&g);
        s.run_until_idle();
        assert!(flags.iter().all(|f| f.get()), "all activated with {} links", links.len());
    }
}

#[test]
fn a_linkage_between_children_carries_data_there_and_nowhere_else() {
    let r = rig(&["A", "B"], &[(("A", "outbox"), ("B", "inbox"))]);
    r.activate();
    r.check_flows(At::Kid("A", "outbox"), At::Kid("B", "inbox"));
}

#[test]
fn several_linkages_between_children_all_carry_data_and_nothing_leaks() {
    let r = rig(
        &["A", "B", "C", "D"],
        &[
            (("A", "outbox"), ("B", "inbox")),
            (("C", "outbox"), ("D", "control")),
            (("C", "signal"), ("A", "inbox")),
            (("B", "signal"), ("A", "control")),
        ],
    );
    r.activate();
    r.check_flows(At::Kid("A", "outbox"), At::Kid("B", "inbox"));
    r.check_flows(At::Kid("C", "outbox"), At::Kid("D", "control"));
    r.check_flows(At::Kid("C", "signal"), At::Kid("A", "inbox"));
    r.check_flows(At::Kid("B", "signal"), At::Kid("A", "control"));
}

#[test]
fn it_ends_when_every_child_has_ended_and_not_before() {
    let r = rig(&["A", "B", "C"], &[(("A", "outbox"), ("B", "inbox"))]);
    r.activate();
    r.s.run_until_idle();
    assert!(r.running());
    for name in ["A", "B"] {
        r.kid(name).stop();
        r.s.run_until_idle();
        assert!(r.running(), "still running after {name} ended");
    }
    r.kid("C").stop();
    r.s.run_until_idle();
    assert!(!r.running());
    assert!(matches!(r.g.end_cause(), Some(EndCause::Finished)));
}

// ----- names that are not children's mean the Graphline -----

#[test]
fn an_unknown_source_name_passes_the_graphlines_inbox_or_control_through_to_the_child() {
    for name in UNUSED_NAMES {
        let r = rig(
            &["A", "B", "C"],
            &[
                ((name, "inbox"), ("A", "control")),
                ((name, "control"), ("B", "inbox")),
                (("C", "outbox"), ("A", "inbox")),
            ],
        );
        r.activate();
        r.check_flows(At::Me("inbox"), At::Kid("A", "control"));
        r.check_flows(At::Me("control"), At::Kid("B", "inbox"));
    }
}

#[test]
fn an_unknown_source_box_becomes_a_new_inbox_passed_through_to_the_child() {
    for name in UNUSED_NAMES {
        let r = rig(
            &["A", "B", "C"],
            &[
                ((name, "novel-inbox"), ("A", "control")),
                ((name, "another-novel-inbox"), ("B", "inbox")),
                (("C", "outbox"), ("A", "inbox")),
            ],
        );
        r.activate();
        r.check_flows(At::Me("novel-inbox"), At::Kid("A", "control"));
        r.check_flows(At::Me("another-novel-inbox"), At::Kid("B", "inbox"));
    }
}

#[test]
fn an_unknown_destination_name_passes_the_child_through_to_the_graphlines_outbox_or_signal() {
    for name in UNUSED_NAMES {
        let r = rig(
            &["A", "B", "C"],
            &[
                (("A", "outbox"), (name, "signal")),
                (("B", "signal"), (name, "outbox")),
                (("C", "outbox"), ("A", "inbox")),
            ],
        );
        r.activate();
        r.check_flows(At::Kid("A", "outbox"), At::Me("signal"));
        r.check_flows(At::Kid("B", "signal"), At::Me("outbox"));
    }
}

#[test]
fn an_unknown_destination_box_becomes_a_new_outbox_fed_by_the_child() {
    for name in UNUSED_NAMES {
        let r = rig(
            &["A", "B", "C"],
            &[
                (("A", "outbox"), (name, "novel-boxname")),
                (("B", "signal"), (name, "another-novel-boxname")),
                (("C", "outbox"), ("A", "inbox")),
            ],
        );
        r.activate();
        r.check_flows(At::Kid("A", "outbox"), At::Me("novel-boxname"));
        r.check_flows(At::Kid("B", "signal"), At::Me("another-novel-boxname"));
    }
}

#[test]
fn boxes_added_to_one_graphline_belong_to_it_alone_and_carry_the_childs_type() {
    let s = Scheduler::new();
    let words = mock(&s, STRING_STD);
    let first = s.create(
        Graphline::<Ipc>::new()
            .child("W", Child::created(words.clone()))
            .link(("self", "novel-in"), ("W", "inbox"))
            .link(("W", "outbox"), ("self", "novel-out")),
    );
    let second = s.create(Graphline::<Ipc>::new().child("M", Mock::new(IPC_STD).0));
    assert!(!first.inbox_names().contains(&"novel-in".to_owned()), "added when it runs");
    s.activate(&first);
    s.activate(&second);
    s.run_until_idle();

    assert!(first.inbox::<String>("novel-in").is_ok(), "an inbox carrying the child's type");
    assert!(first.outbox::<String>("novel-out").is_ok());
    assert_eq!(second.inbox_names(), ["inbox", "control"]);
    assert_eq!(second.outbox_names(), ["outbox", "signal", "_cs"]);
    let third = s.create(Graphline::<Ipc>::new());
    assert_eq!(third.inbox_names(), ["inbox", "control"], "nor on a Graphline made later");

    first.deliver("novel-in", "typed".to_owned()).unwrap();
    assert_eq!(recv::<String>(&words, "inbox").as_deref(), Some("typed"));
}

#[test]
fn a_linkage_from_the_graphline_to_itself_links_its_outbox_to_its_inbox() {
    let s = Scheduler::new();
    let g = s.spawn(
        Graphline::<Ipc>::new().child("A", Mock::new(IPC_STD).0).link(("self", "outbox"), ("", "inbox")),
    );
    s.run_until_idle();
    let links = g.linkages();
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].source_pair(), (g.id(), "outbox"));
    assert_eq!(links[0].sink_pair(), (g.id(), "inbox"));
    assert_eq!(links[0].passthrough(), Passthrough::Normal);
}

// ----- shutdown: what it emits on signal -----

#[test]
fn with_nothing_on_control_it_emits_producer_finished_once_all_children_have_ended() {
    let r = rig(&["A", "B", "C"], &[(("A", "outbox"), ("B", "inbox"))]);
    r.activate();
    assert_eq!(r.ready_at("signal"), 0, "nothing emitted yet");
    r.stop_all();
    let msg = r.recv_from("signal").expect("a message on signal");
    assert!(msg.is_producer_finished(), "{msg:?}");
    assert_eq!(msg.downcast_ref::<ProducerFinished>().unwrap().caller, Some(r.g.id()));
}

#[test]
fn a_shutdown_received_on_control_is_the_message_it_emits_when_it_ends() {
    let r = rig(&["A", "B", "C"], &[(("A", "outbox"), ("B", "inbox"))]);
    r.activate();
    assert_eq!(r.ready_at("signal"), 0);
    let sent = ShutdownMicroprocess { microprocesses: vec![r.g.id()] };
    r.send_to("control", Ipc::new(sent.clone()));
    r.s.run_until_idle();
    assert!(r.running(), "it waits for its children");
    assert_eq!(r.ready_at("signal"), 0);
    r.stop_all();
    assert!(!r.running());
    let got = r.recv_from("signal").expect("a message on signal");
    assert_eq!(got.downcast_ref::<ShutdownMicroprocess>(), Some(&sent), "the very message it was sent");
    assert_eq!(r.ready_at("signal"), 0, "exactly one");
}

#[test]
fn control_wired_to_a_child_carries_every_message_to_that_child_only() {
    let r = rig(&["A", "B", "C"], &[(("", "control"), ("A", "control"))]);
    r.activate();
    r.check_flows(At::Me("control"), At::Kid("A", "control"));
    r.send_to("control", Ipc::shutdown_microprocess());
    r.s.run_until_idle();
    assert!(recv::<Ipc>(r.kid("A"), "control").is_some_and(|m| m.is_shutdown_microprocess()));
    assert_eq!(r.kid("B").data_ready("control") + r.kid("C").data_ready("control"), 0);
}

#[test]
fn control_messages_reach_only_the_children_whose_control_is_not_wired() {
    // A's outbox feeds B's control, which keeps the Graphline's control messages from B.
    let r = rig(&["A", "B", "C"], &[(("A", "outbox"), ("B", "control"))]);
    r.activate();
    r.send_to("control", Ipc::shutdown_microprocess());
    r.s.run_until_idle();
    assert!(recv::<Ipc>(r.kid("A"), "control").is_some_and(|m| m.is_shutdown_microprocess()));
    assert_eq!(r.kid("B").data_ready("control"), 0);
    assert!(recv::<Ipc>(r.kid("C"), "control").is_some_and(|m| m.is_shutdown_microprocess()));
    assert!(r.g.linkages().iter().all(|l| l.source_pair().1 != "_cs"), "the temporary links are gone");
}

#[test]
fn with_control_and_signal_unwired_a_shutdown_is_passed_on_once_all_children_have_ended() {
    let r = rig(&["A", "B", "C"], &[(("A", "outbox"), ("B", "control"))]);
    r.activate();
    let sent = ShutdownMicroprocess { microprocesses: vec![r.kid("A").id()] };
    r.send_to("control", Ipc::new(sent.clone()));
    r.s.run_until_idle();
    assert!(r.running());
    r.stop_all();
    assert!(!r.running());
    let got = r.recv_from("signal").expect("a message on signal");
    assert_eq!(got.downcast_ref::<ShutdownMicroprocess>(), Some(&sent));
}

#[test]
fn with_control_and_signal_unwired_any_other_control_message_ends_in_a_fresh_producer_finished() {
    let r = rig(&["A", "B", "C"], &[(("A", "outbox"), ("B", "control"))]);
    r.activate();
    let sent = ProducerFinished { caller: None, message: Some("sent to control".into()) };
    r.send_to("control", Ipc::new(sent.clone()));
    r.s.run_until_idle();
    assert!(r.running());
    r.stop_all();
    assert!(!r.running());
    let got = r.recv_from("signal").expect("a message on signal");
    assert!(got.is_producer_finished());
    assert_ne!(got.downcast_ref::<ProducerFinished>(), Some(&sent), "not the message it was sent");
}

#[test]
fn with_control_wired_and_signal_unwired_it_emits_producer_finished_whatever_control_carried() {
    for sent in [Ipc::producer_finished(), Ipc::shutdown_microprocess(), token(7)] {
        let r = rig(
            &["A", "B", "C"],
            &[(("", "control"), ("A", "control")), (("A", "outbox"), ("B", "control"))],
        );
        r.activate();
        r.send_to("control", sent.clone());
        r.s.run_until_idle();
        assert!(r.running());
        r.stop_all();
        assert!(!r.running());
        let got = r.recv_from("signal").expect("a message on signal");
        assert!(got.is_producer_finished(), "after {sent:?}: {got:?}");
        assert_eq!(got.downcast_ref::<ProducerFinished>().unwrap().caller, Some(r.g.id()));
    }
}

#[test]
fn with_signal_wired_to_a_child_it_never_emits_anything_itself() {
    let r = rig(&["A", "B", "C"], &[(("A", "signal"), ("", "signal")), (("A", "outbox"), ("B", "control"))]);
    r.activate();
    r.send_to("control", Ipc::producer_finished());
    r.send_to("control", Ipc::shutdown_microprocess());
    r.s.run_until_idle();
    assert!(r.running());
    assert_eq!(r.ready_at("signal"), 0);
    r.stop_all();
    assert!(!r.running());
    assert_eq!(r.ready_at("signal"), 0);
}

#[test]
fn with_control_and_signal_both_wired_the_user_owns_shutdown_entirely() {
    let r = rig(
        &["A", "B", "C"],
        &[
            (("", "control"), ("A", "control")),
            (("A", "signal"), ("", "signal")),
            (("B", "outbox"), ("C", "inbox")),
        ],
    );
    r.activate();
    assert_eq!(r.ready_at("outbox") + r.ready_at("signal"), 0);
    r.check_flows(At::Me("control"), At::Kid("A", "control"));
    r.check_flows(At::Kid("A", "signal"), At::Me("signal"));
    r.check_flows(At::Kid("B", "outbox"), At::Kid("C", "inbox"));
    r.s.run_until_idle();
    assert_eq!(r.ready_at("outbox") + r.ready_at("signal"), 0);
    r.stop_all();
    assert!(!r.running());
    assert_eq!(r.ready_at("outbox") + r.ready_at("signal"), 0);
}

// ----- working graphlines -----

#[test]
fn the_macro_reads_like_kamaelias_graphline_and_builds_the_same_table() {
    let a: Graphline<Ipc> = graphline! {
        SRC = Mock::new(IPC_STD).0,
        DST = Mock::new(IPC_STD).0;
        ("SRC", "outbox") => ("DST", "inbox"),
        ("self", "inbox") => ("SRC", "inbox"),
    };
    let b = Graphline::<Ipc>::new()
        .child("SRC", Mock::new(IPC_STD).0)
        .child("DST", Mock::new(IPC_STD).0)
        .link(("SRC", "outbox"), ("DST", "inbox"))
        .link(("self", "inbox"), ("SRC", "inbox"));
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
}

#[test]
fn a_graphline_inside_a_pipeline_is_wired_through_its_standard_boxes() {
    let s = Scheduler::new();
    let (got, stop) = (Rc::new(RefCell::new(Vec::new())), Rc::new(RefCell::new(None)));
    // The Pipeline's finish reaches the Graphline's unwired control, which hands it to X;
    // X passes it on through its signal, wired out of the Graphline's signal.
    let middle: Graphline<u32> = graphline! {
        X = map(|n| n * 3);
        ("self", "inbox") => ("X", "inbox"),
        ("X", "outbox") => ("self", "outbox"),
        ("X", "signal") => ("self", "signal"),
    };
    let p: Pipeline<u32> = pipeline![source(vec![1, 2]), middle, collect(got.clone(), stop.clone())];
    let p = s.spawn(p);
    assert!(s.run_until(Duration::from_secs(5), || p.is_finished()));
    assert_eq!(*got.borrow(), [3, 6]);
    assert!(stop.borrow().as_ref().is_some_and(Ipc::is_producer_finished));
}

// ----- wiring mistakes -----

#[test]
fn a_box_a_child_does_not_have_is_an_error_naming_the_child_and_box() {
    let s = Scheduler::new();
    let (a, fa) = Mock::new(IPC_STD);
    let (b, fb) = Mock::new(IPC_STD);
    let g: Graphline<Ipc> = graphline! { A = a, B = b; ("A", "nonesuch") => ("B", "inbox") };
    let err = g.check().unwrap_err();
    assert_eq!(
        err,
        WiringError::MissingBox {
            child: "child \"A\" (Mock)".into(),
            direction: Direction::Outbox,
            box_name: "nonesuch".into()
        }
    );
    let g = s.spawn(g);
    s.run_until_idle();
    assert_eq!(failure(&g).1, err, "running it fails with the same error");
    assert!(!fa.get() && !fb.get(), "no child was activated");
}

#[test]
fn linking_boxes_of_different_types_is_an_error_naming_both_ends() {
    let g: Graphline<Ipc> = graphline! {
        W = Mock::new(STRING_STD).0,
        N = Mock::new(U32_STD).0;
        ("W", "outbox") => ("N", "inbox"),
    };
    let text = g.check().unwrap_err().to_string();
    for part in ["child \"W\" (Mock)", "child \"N\" (Mock)", "String", "u32"] {
        assert!(text.contains(part), "{part:?} missing from: {text}");
    }

    // The Graphline's own inbox carries `In`.
    let g: Graphline<u32> = graphline! { W = Mock::new(STRING_STD).0; ("self", "inbox") => ("W", "inbox") };
    let text = g.check().unwrap_err().to_string();
    assert!(text.contains("the graphline") && text.contains("child \"W\" (Mock)"), "{text}");

    // A box the Graphline adds takes one type: the first child's it is linked with.
    let g: Graphline<Ipc> = graphline! {
        W = Mock::new(STRING_STD).0,
        N = Mock::new(U32_STD).0;
        ("W", "outbox") => ("self", "merged"),
        ("N", "outbox") => ("self", "merged"),
    };
    assert!(matches!(g.check(), Err(WiringError::TypeMismatch { .. })));
}

#[test]
fn two_children_with_one_name_are_an_error() {
    let g: Graphline<Ipc> = graphline! { A = Mock::new(IPC_STD).0, A = Mock::new(IPC_STD).0; };
    assert_eq!(g.check(), Err(WiringError::DuplicateName("A".into())));
}

#[test]
fn a_created_childs_mismatch_is_found_when_it_runs_and_no_child_starts() {
    let s = Scheduler::new();
    let w = mock(&s, STRING_STD);
    let other = mock(&s, IPC_STD);
    let g = Graphline::<Ipc>::new()
        .child("W", Child::created(w.clone()))
        .child("O", Child::created(other.clone()))
        .link(("self", "inbox"), ("W", "inbox"));
    assert!(g.check().is_ok(), "a created child's types are not visible before it runs");
    let g = s.spawn(g);
    s.run_until_idle();
    let (text, err) = failure(&g);
    assert!(matches!(err, WiringError::Link { source: LinkError::TypeMismatch { .. }, .. }), "{err:?}");
    assert!(text.contains("(\"self\", \"inbox\") -> (\"W\", \"inbox\")"), "names the linkage: {text}");
    assert!(w.is_finished() && other.is_finished(), "the children were stopped, never run");
}
