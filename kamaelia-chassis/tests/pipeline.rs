//! Ports Tests/Python/Kamaelia/Chassis/test_Pipeline.py (reference §7.2, §8 "Pipeline"), plus
//! the circular variant, a working pipeline end to end, and wiring mistakes.
//!
//! The Python tests surround the Pipeline with `Dummy` components linked to its four boxes and
//! step the scheduler for "about N cycles"; here the stand-ins are created, never-activated
//! components (plain box storage) and the scheduler runs until idle, so nothing depends on a
//! cycle count. Python's `MockChild.stopNow()` is `ComponentRef::stop()`.

mod util_chassis;

use std::cell::RefCell;
use std::rc::Rc;

use axon_core::ipc::Ipc;
use axon_core::{ComponentRef, Direction, EndCause, LinkError, Scheduler};
use kamaelia_chassis::{pipeline, Child, Pipeline, WiringError};
use util_chassis::{
    collect, inert, map, mock, mocks, recv, send, source, token, token_of, Mock, IPC_STD, ODD, STRING_STD,
    U32_STD,
};

/// A Pipeline of `n` created mocks, surrounded by stand-ins linked to its four boxes (the
/// Python tests' `setup_initialise`). Nothing is activated.
struct Rig {
    s: Scheduler,
    pipeline: ComponentRef,
    kids: Vec<ComponentRef>,
    /// Its `outbox` feeds the Pipeline's `inbox`, its `signal` the Pipeline's `control`.
    source: ComponentRef,
    /// Fed by the Pipeline's `outbox` (on `inbox`) and `signal` (on `control`).
    sink: ComponentRef,
}

fn rig(n: usize) -> Rig {
    let s = Scheduler::new();
    let kids = mocks(&s, U32_STD, n);
    let p = kids.iter().fold(Pipeline::<u32>::new(), |p, k| p.then(Child::created(k.clone())));
    let pipeline = s.create(p);
    let source = inert(&s, U32_STD);
    let sink = inert(&s, U32_STD);
    s.link((&source, "outbox"), (&pipeline, "inbox")).unwrap();
    s.link((&source, "signal"), (&pipeline, "control")).unwrap();
    s.link((&pipeline, "outbox"), (&sink, "inbox")).unwrap();
    s.link((&pipeline, "signal"), (&sink, "control")).unwrap();
    Rig { s, pipeline, kids, source, sink }
}

impl Rig {
    /// `setup_activate` followed by running until nothing is runnable.
    fn activate(&self) {
        self.s.activate(&self.pipeline);
        self.s.run_until_idle();
    }
}

/// The text of a Failed end cause, and the [`WiringError`] inside it.
fn failure(c: &ComponentRef) -> (String, WiringError) {
    match c.end_cause() {
        Some(EndCause::Failed(e)) => {
            let w = e.downcast_ref::<WiringError>().expect("a WiringError").clone();
            (e.to_string(), w)
        }
        other => panic!("expected a wiring failure, got {other:?}"),
    }
}

// ----- activation and termination -----

#[test]
fn children_are_activated_only_once_the_pipeline_is_activated_and_runs() {
    let s = Scheduler::new();
    let (kids, flags): (Vec<Mock>, Vec<_>) = (0..3).map(|_| Mock::new(U32_STD)).unzip();
    let p = s.create(kids.into_iter().fold(Pipeline::<u32>::new(), Pipeline::then));
    s.run_until_idle();
    assert!(flags.iter().all(|f| !f.get()), "nothing runs before the pipeline is activated");
    assert!(p.children().is_empty(), "children are made when the pipeline runs");

    s.activate(&p);
    s.run_until_idle();
    assert!(flags.iter().all(|f| f.get()), "every child was activated");
    assert_eq!(p.children().len(), 3);
    assert!(p.children().iter().all(ComponentRef::is_active));
}

#[test]
fn children_given_as_created_handles_are_activated_only_when_the_pipeline_runs() {
    let r = rig(3);
    r.s.run_until_idle();
    assert!(r.kids.iter().all(|k| !k.is_active()));
    r.activate();
    assert!(r.kids.iter().all(ComponentRef::is_active));
    assert_eq!(r.pipeline.children(), r.kids, "the children, in order");
}

#[test]
fn the_pipeline_ends_only_when_all_its_children_have_ended() {
    let r = rig(3);
    r.activate();
    assert!(!r.pipeline.is_finished());
    for (i, kid) in r.kids.iter().enumerate() {
        assert!(!r.pipeline.is_finished(), "still running with {} children left", 3 - i);
        kid.stop();
        r.s.run_until_idle();
        assert!(kid.is_finished());
        assert!(r.kids[i + 1..].iter().all(|k| !k.is_finished()), "only the stopped child ended");
    }
    assert!(r.pipeline.is_finished());
    assert!(matches!(r.pipeline.end_cause(), Some(EndCause::Finished)));
}

// ----- wiring -----

#[test]
fn each_childs_outbox_feeds_the_next_childs_inbox() {
    let r = rig(4);
    r.activate();
    send(&r.kids[0], "outbox", 0u32);
    for (i, kid) in r.kids[1..r.kids.len() - 1].iter().enumerate() {
        assert_eq!(recv::<u32>(kid, "inbox"), Some(i as u32));
        send(kid, "outbox", i as u32 + 1);
    }
    assert_eq!(recv::<u32>(&r.kids[3], "inbox"), Some(2));
    assert_eq!(recv::<u32>(&r.sink, "inbox"), None, "nothing leaked out of the pipeline");
}

#[test]
fn each_childs_signal_feeds_the_next_childs_control() {
    let r = rig(4);
    r.activate();
    send(&r.kids[0], "signal", token(0));
    for (i, kid) in r.kids[1..r.kids.len() - 1].iter().enumerate() {
        assert_eq!(recv::<Ipc>(kid, "control").as_ref().and_then(token_of), Some(i as u32));
        send(kid, "signal", token(i as u32 + 1));
    }
    assert_eq!(recv::<Ipc>(&r.kids[3], "control").as_ref().and_then(token_of), Some(2));
}

#[test]
fn the_pipelines_inbox_and_control_feed_the_first_child() {
    let r = rig(4);
    r.activate();
    send(&r.source, "outbox", 7u32);
    assert_eq!(recv::<u32>(&r.kids[0], "inbox"), Some(7));
    send(&r.source, "signal", token(8));
    assert_eq!(recv::<Ipc>(&r.kids[0], "control").as_ref().and_then(token_of), Some(8));
}

#[test]
fn the_last_childs_outbox_and_signal_leave_through_the_pipelines_outbox_and_signal() {
    let r = rig(4);
    r.activate();
    send(&r.kids[3], "outbox", 9u32);
    assert_eq!(recv::<u32>(&r.sink, "inbox"), Some(9));
    send(&r.kids[3], "signal", token(10));
    assert_eq!(recv::<Ipc>(&r.sink, "control").as_ref().and_then(token_of), Some(10));
}

#[test]
fn data_sent_to_the_pipeline_before_it_runs_reaches_the_first_child_in_order() {
    let r = rig(2);
    send(&r.source, "outbox", 1u32);
    send(&r.source, "outbox", 2u32);
    assert_eq!(r.pipeline.data_ready("inbox"), 2, "it waits in the pipeline's own inbox");
    r.activate();
    assert_eq!(r.pipeline.data_ready("inbox"), 0);
    assert_eq!(r.kids[0].data_ready("inbox"), 2, "moved across by the passthrough link");
    assert_eq!(recv::<u32>(&r.kids[0], "inbox"), Some(1));
    assert_eq!(recv::<u32>(&r.kids[0], "inbox"), Some(2));
}

#[test]
fn the_pipeline_itself_emits_nothing_not_even_when_it_ends() {
    let r = rig(2);
    r.activate();
    send(&r.source, "signal", Ipc::shutdown_microprocess());
    r.s.run_until_idle();
    for k in &r.kids {
        k.stop();
    }
    r.s.run_until_idle();
    assert!(r.pipeline.is_finished());
    assert_eq!(r.sink.data_ready("inbox"), 0);
    assert_eq!(r.sink.data_ready("control"), 0);
}

#[test]
fn a_circular_pipeline_feeds_its_last_child_back_into_its_first_and_its_outboxes_stay_silent() {
    let s = Scheduler::new();
    let kids = mocks(&s, U32_STD, 3);
    let [a, b, c] = [0, 1, 2].map(|i| Child::created(kids[i].clone()));
    let p: Pipeline<u32> = pipeline![circular: a, b, c];
    assert!(p.is_circular());
    let p = s.create(p);
    let sink = inert(&s, U32_STD);
    s.link((&p, "outbox"), (&sink, "inbox")).unwrap();
    s.link((&p, "signal"), (&sink, "control")).unwrap();
    s.activate(&p);
    s.run_until_idle();

    send(&kids[2], "outbox", 5u32);
    assert_eq!(recv::<u32>(&kids[0], "inbox"), Some(5));
    send(&kids[2], "signal", token(6));
    assert_eq!(recv::<Ipc>(&kids[0], "control").as_ref().and_then(token_of), Some(6));
    send(&kids[0], "outbox", 7u32);
    assert_eq!(recv::<u32>(&kids[1], "inbox"), Some(7), "the chain itself is as usual");
    assert_eq!(sink.data_ready("inbox") + sink.data_ready("control"), 0);
}

#[test]
fn a_single_child_circular_pipeline_feeds_the_child_its_own_output() {
    let s = Scheduler::new();
    let kid = mock(&s, U32_STD);
    let p = s.create(Pipeline::<u32>::circular().then(Child::created(kid.clone())));
    s.activate(&p);
    s.run_until_idle();
    send(&kid, "outbox", 1u32);
    assert_eq!(recv::<u32>(&kid, "inbox"), Some(1));
}

// ----- working pipelines -----

#[test]
fn data_flows_through_every_stage_and_the_producers_finish_cascades_to_the_end() {
    let s = Scheduler::new();
    let (got, stop) = (Rc::new(RefCell::new(Vec::new())), Rc::new(RefCell::new(None)));
    let p: Pipeline<u32> =
        pipeline![source(vec![1, 2, 3]), map(|n| n + 1), map(|n| n * 10), collect(got.clone(), stop.clone())];
    let p = s.spawn(p);
    assert!(s.run_until(std::time::Duration::from_secs(5), || p.is_finished()));
    assert_eq!(*got.borrow(), [20, 30, 40]);
    assert!(stop.borrow().as_ref().is_some_and(Ipc::is_producer_finished));
    assert!(matches!(p.end_cause(), Some(EndCause::Finished)));
}

#[test]
fn a_pipeline_inside_a_pipeline_is_wired_like_any_child() {
    let s = Scheduler::new();
    let (got, stop) = (Rc::new(RefCell::new(Vec::new())), Rc::new(RefCell::new(None)));
    let inner: Pipeline<u32> = pipeline![map(|n| n * 2), map(|n| n + 1)];
    let outer: Pipeline<u32> = pipeline![source(vec![1, 2]), inner, collect(got.clone(), stop.clone())];
    let p = s.spawn(outer);
    assert!(s.run_until(std::time::Duration::from_secs(5), || p.is_finished()));
    assert_eq!(*got.borrow(), [3, 5]);
    assert!(stop.borrow().is_some(), "the finish passed through the inner pipeline's boxes");
}

#[test]
fn an_empty_pipeline_ends_at_once() {
    let s = Scheduler::new();
    let p = s.spawn(Pipeline::<u32>::new());
    s.run_until_idle();
    assert!(matches!(p.end_cause(), Some(EndCause::Finished)));
}

#[test]
fn the_macro_builds_the_same_pipeline_as_the_builder() {
    let a: Pipeline<u32> = pipeline![Mock::new(U32_STD).0, Mock::new(U32_STD).0];
    let b = Pipeline::<u32>::new().then(Mock::new(U32_STD).0).then(Mock::new(U32_STD).0);
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
    assert_eq!(a.len(), 2);
    assert!(!a.is_circular());
}

// ----- wiring mistakes -----

#[test]
fn neighbours_of_different_types_are_an_error_naming_the_children_and_boxes() {
    let s = Scheduler::new();
    let (first, f1) = Mock::new(U32_STD);
    let (second, f2) = Mock::new(STRING_STD);
    let p: Pipeline<u32, String> = pipeline![first, second];
    let err = p.check().unwrap_err();
    assert!(matches!(err, WiringError::TypeMismatch { .. }), "{err:?}");
    let text = err.to_string();
    for part in ["child 1 (Mock)", "\"outbox\"", "child 2 (Mock)", "\"inbox\"", "u32", "String"] {
        assert!(text.contains(part), "{part:?} missing from: {text}");
    }

    let p = s.spawn(p);
    s.run_until_idle();
    let (msg, w) = failure(&p);
    assert_eq!(w, err, "running it fails with the same error");
    assert_eq!(msg, text);
    assert!(!f1.get() && !f2.get(), "no child was activated");
}

#[test]
fn a_child_without_the_standard_boxes_is_an_error_naming_it_and_the_box() {
    let s = Scheduler::new();
    let p: Pipeline<u32> = pipeline![Mock::new(U32_STD).0, Mock::new(ODD).0];
    let err = p.check().unwrap_err();
    assert_eq!(
        err,
        WiringError::MissingBox {
            child: "child 2 (Mock)".into(),
            direction: Direction::Inbox,
            box_name: "inbox".into()
        }
    );
    let p = s.spawn(p);
    s.run_until_idle();
    assert_eq!(failure(&p).1, err);
}

#[test]
fn a_first_child_whose_inbox_differs_from_the_pipelines_is_an_error() {
    let p: Pipeline<u32> = pipeline![Mock::new(STRING_STD).0];
    let text = p.check().unwrap_err().to_string();
    assert!(text.contains("the pipeline") && text.contains("child 1 (Mock)"), "{text}");
    let p: Pipeline<Ipc, u32> = pipeline![Mock::new(IPC_STD).0];
    let text = p.check().unwrap_err().to_string();
    assert!(text.contains("\"outbox\"") && text.contains("the pipeline"), "the last child's outbox: {text}");
}

#[test]
fn a_created_childs_mismatch_is_found_when_the_pipeline_runs_and_no_child_starts() {
    let s = Scheduler::new();
    let a = mock(&s, U32_STD);
    let b = mock(&s, STRING_STD);
    let p: Pipeline<u32> = pipeline![Child::created(a.clone()), Child::created(b.clone())];
    assert!(p.check().is_ok(), "a created child's types are not visible before it runs");
    let p = s.spawn(p);
    s.run_until_idle();
    let (text, w) = failure(&p);
    assert!(matches!(w, WiringError::Link { source: LinkError::TypeMismatch { .. }, .. }), "{w:?}");
    assert!(text.contains(&a.name()) && text.contains(&b.name()), "{text}");
    assert!(a.is_finished() && b.is_finished(), "the children were stopped, never run");
    assert!(p.linkages().is_empty(), "the links made before the failure are gone");
}
