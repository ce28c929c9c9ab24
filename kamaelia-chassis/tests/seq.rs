//! Seq (reference §7.5; Kamaelia's `Kamaelia.Chassis.Seq` has no unit tests): items run one
//! after another, each wired in by passthrough, child `signal` dropped, `ProducerFinished` at
//! the end; and this port's answer to `ShutdownMicroprocess`.

mod util_more;

use std::cell::RefCell;
use std::rc::Rc;

use axon_core::ipc::{Ipc, IpcKind};
use axon_core::{boxes, from_fn, BoxDecl, ComponentRef, LinkError, Scheduler};
use kamaelia_chassis::{Child, Seq, SeqItem};
use util_more::{collector, failure, inert, mock_factory, take_all, STD_STRING};

/// A component that sends `words` on its outbox, then `ProducerFinished` on its signal, and ends.
fn sayer(words: &'static [&'static str]) -> impl axon_core::Component {
    from_fn(STD_STRING, move |cx| async move {
        let out = cx.outbox::<String>("outbox")?;
        for w in words {
            out.send(w.to_string())?;
        }
        cx.send(Ipc::producer_finished(), "signal")?;
        Ok(())
    })
}

/// A Seq wired to a collector on outbox/signal (the collector does not stop on the signal, so
/// the test sees everything).
fn run_seq(seq: Seq<String>) -> (Scheduler, ComponentRef, ComponentRef) {
    let sched = Scheduler::new();
    let seq = sched.create(seq);
    let dest = inert(&sched, STD_STRING);
    sched.link((&seq, "outbox"), (&dest, "inbox")).unwrap();
    sched.link((&seq, "signal"), (&dest, "control")).unwrap();
    sched.activate(&seq);
    (sched, seq, dest)
}

fn kinds(msgs: &[Ipc]) -> Vec<IpcKind> {
    msgs.iter().map(|m| m.kind()).collect()
}

#[test]
fn runs_its_components_one_after_another_then_says_producer_finished() {
    let seq = Seq::new().then(sayer(&["a", "b"])).then(sayer(&["c"])).then(sayer(&["d", "e"]));
    let (sched, seq, dest) = run_seq(seq);
    sched.run_until_idle();
    assert!(seq.is_finished());
    assert_eq!(take_all::<String>(&dest, "inbox"), ["a", "b", "c", "d", "e"]);
    assert_eq!(
        kinds(&take_all(&dest, "control")),
        [IpcKind::ProducerFinished],
        "children's signals are dropped; the Seq's own ProducerFinished comes once, at the end"
    );
}

#[test]
fn the_next_child_is_not_activated_before_the_current_one_ends() {
    let (mut factory, mocks) = mock_factory::<u8>(STD_STRING);
    let seq = Seq::<String>::new().then(factory(1)).then(factory(2));
    let (sched, seq, _dest) = run_seq(seq);
    sched.run_until_idle();
    let (first, second) = (mocks.borrow()[0].clone(), mocks.borrow()[1].clone());
    assert!(first.was_activated() && !second.was_activated());
    assert_eq!(seq.children(), [first.handle()]);
    first.stop_now();
    sched.run_until_idle();
    assert!(second.was_activated() && !second.is_finished());
    assert_eq!(seq.children(), [second.handle()], "the ended child is removed");
    second.stop_now();
    sched.run_until_idle();
    assert!(seq.is_finished());
}

#[test]
fn inbox_reaches_whichever_child_is_current() {
    let (mut factory, mocks) = mock_factory::<u8>(STD_STRING);
    let seq = Seq::<String>::new().then(factory(1)).then(factory(2));
    let (sched, seq, _dest) = run_seq(seq);
    sched.run_until_idle();
    seq.deliver("inbox", "to first".to_string()).unwrap();
    let first = mocks.borrow()[0].clone();
    assert_eq!(take_all::<String>(&first.handle(), "inbox"), ["to first"]);
    first.stop_now();
    sched.run_until_idle();
    seq.deliver("inbox", "to second".to_string()).unwrap();
    let second = mocks.borrow()[1].clone();
    assert_eq!(take_all::<String>(&second.handle(), "inbox"), ["to second"]);
}

#[test]
fn data_waiting_in_the_inbox_before_the_seq_runs_goes_to_the_first_child() {
    let (mut factory, mocks) = mock_factory::<u8>(STD_STRING);
    let (sched, seq, _dest) = run_seq(Seq::<String>::new().then(factory(1)));
    seq.deliver("inbox", "early".to_string()).unwrap();
    sched.run_until_idle();
    let first = mocks.borrow()[0].clone();
    assert_eq!(take_all::<String>(&first.handle(), "inbox"), ["early"]);
}

#[test]
fn a_childs_signal_does_not_stop_the_component_downstream() {
    let sched = Scheduler::new();
    let seq = sched.create(Seq::<String>::new().then(sayer(&["one"])).then(sayer(&["two"])));
    let (sink, got, stops) = collector::<String>(&sched, STD_STRING);
    sched.link((&seq, "outbox"), (&sink, "inbox")).unwrap();
    sched.link((&seq, "signal"), (&sink, "control")).unwrap();
    sched.activate(&seq);
    sched.run_until_idle();
    assert_eq!(*got.borrow(), ["one", "two"], "the downstream component saw both items");
    assert_eq!(kinds(&stops.borrow()), [IpcKind::ProducerFinished]);
    assert!(sink.is_finished());
}

#[test]
fn print_and_call_items_run_in_their_place() {
    let log = Rc::new(RefCell::new(Vec::<String>::new()));
    let marker = |text: &'static str| {
        let log = log.clone();
        SeqItem::call(move || log.borrow_mut().push(text.to_string()))
    };
    let logging_child = |text: &'static str| {
        let log = log.clone();
        from_fn(STD_STRING, move |_| async move {
            log.borrow_mut().push(text.to_string());
            Ok(())
        })
    };
    let seq = Seq::<String>::from_items([
        marker("start"),
        SeqItem::component(logging_child("first child")),
        SeqItem::print("printed between the children"),
        marker("between"),
        SeqItem::component(logging_child("second child")),
        marker("end"),
    ]);
    assert_eq!(seq.len(), 6);
    let (sched, seq, _dest) = run_seq(seq);
    sched.run_until_idle();
    assert!(seq.is_finished());
    assert_eq!(*log.borrow(), ["start", "first child", "between", "second child", "end"]);
}

#[test]
fn an_empty_seq_says_producer_finished_and_ends() {
    let (sched, seq, dest) = run_seq(Seq::new());
    sched.run_until_idle();
    assert!(seq.is_finished());
    assert_eq!(kinds(&take_all(&dest, "control")), [IpcKind::ProducerFinished]);
}

#[test]
fn shutdown_microprocess_stops_the_current_child_and_ends_the_seq_without_running_the_rest() {
    let (mut factory, mocks) = mock_factory::<u8>(STD_STRING);
    let seq = Seq::<String>::new().then(factory(1)).then(factory(2));
    let (sched, seq, dest) = run_seq(seq);
    sched.run_until_idle();
    seq.deliver("control", Ipc::shutdown_microprocess()).unwrap();
    sched.run_until_idle();
    let first = mocks.borrow()[0].clone();
    assert!(first.recv_control().is_some_and(|m| m.is_shutdown_microprocess()), "forwarded to the child");
    assert!(!seq.is_finished(), "the Seq waits for its child");
    first.stop_now();
    sched.run_until_idle();
    assert!(seq.is_finished());
    assert!(!mocks.borrow()[1].was_activated(), "the rest is not run");
    assert_eq!(kinds(&take_all(&dest, "control")), [IpcKind::ShutdownMicroprocess]);
}

#[test]
fn producer_finished_on_control_is_ignored() {
    let (mut factory, mocks) = mock_factory::<u8>(STD_STRING);
    let seq = Seq::<String>::new().then(factory(1)).then(factory(2));
    let (sched, seq, dest) = run_seq(seq);
    sched.run_until_idle();
    seq.deliver("control", Ipc::producer_finished()).unwrap();
    sched.run_until_idle();
    let first = mocks.borrow()[0].clone();
    assert!(first.recv_control().is_none(), "not forwarded");
    first.stop_now();
    sched.run_until_idle();
    let second = mocks.borrow()[1].clone();
    assert!(second.was_activated(), "the sequence goes on");
    second.stop_now();
    sched.run_until_idle();
    assert_eq!(kinds(&take_all(&dest, "control")), [IpcKind::ProducerFinished]);
}

#[test]
fn a_child_created_beforehand_can_be_an_item() {
    let sched = Scheduler::new();
    let made = sched.create(sayer(&["made earlier"]));
    let seq = sched.create(Seq::<String>::new().then(Child::created(made.clone())));
    let dest = inert(&sched, STD_STRING);
    sched.link((&seq, "outbox"), (&dest, "inbox")).unwrap();
    sched.activate(&seq);
    sched.run_until_idle();
    assert!(made.is_finished() && seq.is_finished());
    assert_eq!(take_all::<String>(&dest, "inbox"), ["made earlier"]);
}

#[test]
fn a_child_whose_boxes_do_not_fit_fails_the_seq_with_a_link_error() {
    const U32: &[BoxDecl] = &boxes::standard::<u32>();
    let (sched, seq, _dest) = run_seq(Seq::new().then(from_fn(U32, |_| async { Ok(()) })));
    sched.run_until_idle();
    let err = failure(&seq).expect("the Seq failed");
    assert!(err.downcast_ref::<LinkError>().is_some(), "{err}");
}
