//! Ports Tests/Python/Kamaelia/Chassis/test_Carousel.py (reference §8, "Carousel"; behaviour
//! §7.4), plus the Rust port's own checks. The Python tests' `runFor(cycles=n)` becomes
//! `run_until_idle`: every step is deterministic.

mod util_more;

use axon_core::ipc::{Ipc, IpcKind, ProducerFinished, ShutdownMicroprocess, Status};
use axon_core::{boxes, BoxDecl, ComponentRef, LinkError, Scheduler};
use kamaelia_chassis::{Carousel, NextRequest};
use util_more::{failure, inert, mock_factory, take_all, Mocks, STD_STRING};

/// The Python `setup_test`: a Carousel of mock children over `String` data, with its outbox,
/// signal and requestNext each linked to a component that never reads (the test does).
struct Fixture {
    sched: Scheduler,
    carousel: ComponentRef,
    out_dest: ComponentRef,
    next_fbk: ComponentRef,
    children: Mocks<String>,
}

const NEXT_FBK: &[BoxDecl] = &[BoxDecl::inbox::<NextRequest>("inbox")];

fn setup(make_first_request: bool) -> Fixture {
    let (factory, children) = mock_factory::<String>(STD_STRING);
    let sched = Scheduler::new();
    let carousel =
        sched.create(Carousel::<String, String, _>::new(factory).make_first_request(make_first_request));
    let out_dest = inert(&sched, STD_STRING);
    let next_fbk = inert(&sched, NEXT_FBK);
    sched.link((&carousel, "outbox"), (&out_dest, "inbox")).unwrap();
    sched.link((&carousel, "signal"), (&out_dest, "control")).unwrap();
    sched.link((&carousel, "requestNext"), (&next_fbk, "inbox")).unwrap();
    sched.activate(&carousel);
    Fixture { sched, carousel, out_dest, next_fbk, children }
}

impl Fixture {
    fn run(&self) {
        self.sched.run_until_idle();
    }
    fn send_to_inbox(&self, s: &str) {
        self.carousel.deliver("inbox", s.to_string()).unwrap();
    }
    fn send_to_control(&self, m: Ipc) {
        self.carousel.deliver("control", m).unwrap();
    }
    fn send_to_next(&self, s: &str) {
        self.carousel.deliver("next", s.to_string()).unwrap();
    }
    fn outbox(&self) -> Vec<String> {
        take_all(&self.out_dest, "inbox")
    }
    fn signal(&self) -> Vec<Ipc> {
        take_all(&self.out_dest, "control")
    }
    fn request_next(&self) -> Vec<NextRequest> {
        take_all(&self.next_fbk, "inbox")
    }
    fn child_count(&self) -> usize {
        self.children.borrow().len()
    }
    fn child(&self, i: usize) -> std::rc::Rc<util_more::MockChild<String>> {
        self.children.borrow()[i].clone()
    }
    fn last(&self) -> std::rc::Rc<util_more::MockChild<String>> {
        self.children.borrow().last().cloned().expect("a child")
    }
}

fn stop_kinds() -> [(Ipc, IpcKind); 2] {
    [
        (Ipc::new(ProducerFinished::default()), IpcKind::ProducerFinished),
        (Ipc::new(ShutdownMicroprocess::default()), IpcKind::ShutdownMicroprocess),
    ]
}

#[test]
fn by_default_does_nothing() {
    let f = setup(false);
    f.run();
    assert_eq!(f.child_count(), 0, "no children");
    assert!(f.outbox().is_empty() && f.signal().is_empty() && f.request_next().is_empty());
    assert!(!f.carousel.is_finished(), "still running");
    assert!(f.carousel.is_paused(), "idle, not busy");
}

#[test]
fn make_first_request_sends_one_next_at_start() {
    let f = setup(true);
    f.run();
    assert_eq!(f.child_count(), 0);
    assert!(f.outbox().is_empty() && f.signal().is_empty());
    assert_eq!(f.request_next(), [NextRequest]);
    assert_eq!(NextRequest.to_string(), "NEXT");
    assert!(!f.carousel.is_finished());
}

#[test]
fn stops_when_idle_on_producer_finished_or_shutdown_forwarding_the_message_to_signal() {
    for (msg, kind) in stop_kinds() {
        let f = setup(false);
        f.run();
        f.send_to_control(msg);
        assert!(!f.carousel.is_finished());
        f.run();
        let got = f.signal();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].kind(), kind);
        assert!(f.carousel.is_finished());
    }
}

#[test]
fn next_calls_the_factory_with_the_message() {
    let f = setup(false);
    f.run();
    assert_eq!(f.child_count(), 0, "the factory is not called before a request");
    f.send_to_next("BLAH");
    f.run();
    assert_eq!(f.child_count(), 1);
    assert_eq!(f.child(0).arg, "BLAH");
}

#[test]
fn next_spawns_an_activated_child() {
    let f = setup(false);
    f.run();
    f.send_to_next("BLAH");
    f.run();
    assert_eq!(f.child_count(), 1);
    assert!(f.last().was_activated());
    assert_eq!(f.carousel.children(), [f.last().handle()], "the child is the Carousel's child");
}

#[test]
fn child_ending_requests_next() {
    let f = setup(false);
    f.run();
    f.send_to_next("BLAH");
    f.run();
    f.last().stop_now();
    f.run();
    assert_eq!(f.request_next(), [NextRequest]);
    assert!(f.carousel.children().is_empty(), "the ended child is removed");
}

#[test]
fn child_stop_message_on_its_signal_does_not_request_next() {
    for (msg, _) in stop_kinds() {
        let f = setup(false);
        f.run();
        f.send_to_next("BLAH");
        f.run();
        f.last().handle().outbox::<Ipc>("signal").unwrap().send(msg).unwrap();
        f.run();
        assert!(f.request_next().is_empty());
        assert!(!f.last().is_finished());
    }
}

#[test]
fn stop_messages_on_control_are_passed_to_the_child() {
    for (msg, kind) in stop_kinds() {
        let f = setup(false);
        f.run();
        f.send_to_next("BLAH");
        f.run();
        f.send_to_control(msg);
        f.run();
        let got = f.last().recv_control().expect("the child received something on control");
        assert_eq!(got.kind(), kind);
    }
}

#[test]
fn other_control_messages_are_passed_to_the_child() {
    let f = setup(false);
    f.run();
    f.send_to_next("BLAH");
    f.run();
    f.send_to_control(Ipc::new(Status("hello".into())));
    f.run();
    assert!(f.last().recv_control().is_some_and(|m| m.is::<Status>()));
    assert!(!f.carousel.is_finished());
}

#[test]
fn a_new_next_replaces_the_child_only_after_the_old_one_has_ended() {
    let f = setup(false);
    f.run();
    f.send_to_next("BLAH");
    f.run();
    for i in 0..5 {
        f.send_to_next("BLAH");
        f.run();
        assert_eq!(f.child_count(), i + 1, "no new child until the previous one has ended");
        assert!(
            f.last().recv_control().is_some_and(|m| m.is_shutdown_microprocess()),
            "the old child is asked to shut down"
        );
        f.last().stop_now();
        f.run();
        assert_eq!(f.child_count(), i + 2, "the 'next' message made a new child");
        assert!(f.child(i).is_finished(), "the older child has ended");
        assert!(f.last().was_activated() && !f.last().is_finished(), "the new child is running");
        assert!(f.request_next().is_empty(), "a pending request means no NEXT");
    }
}

#[test]
fn data_on_inbox_reaches_the_child_inbox() {
    let f = setup(false);
    f.run();
    f.send_to_next("BLAH");
    f.run();
    for i in 0..5 {
        let msg = format!("HELLO{i}");
        f.send_to_inbox(&msg);
        f.run();
        assert_eq!(take_all::<String>(&f.last().handle(), "inbox"), [msg]);
    }
}

#[test]
fn data_sent_while_there_is_no_child_goes_to_the_next_child() {
    let f = setup(false);
    f.run();
    f.send_to_inbox("early");
    f.run();
    f.send_to_next("BLAH");
    f.run();
    assert_eq!(take_all::<String>(&f.last().handle(), "inbox"), ["early"]);
}

#[test]
fn child_outbox_reaches_the_carousel_outbox() {
    let f = setup(false);
    f.run();
    f.send_to_next("BLAH");
    f.run();
    for i in 0..5 {
        let msg = format!("HELLO{i}");
        f.last().handle().outbox::<String>("outbox").unwrap().send(msg.clone()).unwrap();
        f.run();
        assert_eq!(f.outbox(), [msg]);
    }
}

#[test]
fn child_signal_is_ignored() {
    let f = setup(false);
    f.run();
    f.send_to_next("BLAH");
    f.run();
    let msgs = [Ipc::producer_finished(), Ipc::shutdown_microprocess(), Ipc::new(Status("HELLO!".into()))];
    for msg in msgs {
        f.last().handle().outbox::<Ipc>("signal").unwrap().send(msg).unwrap();
        f.run();
        assert!(f.signal().is_empty(), "nothing from the child's signal leaves the Carousel's");
    }
}

#[test]
fn terminating_a_carousel_with_a_child_passes_the_message_to_the_child() {
    for (msg, kind) in stop_kinds() {
        let f = setup(false);
        f.run();
        f.send_to_next("BLAH");
        f.run();
        f.send_to_control(msg);
        f.run();
        assert_eq!(f.last().recv_control().map(|m| m.kind()), Some(kind));
        f.last().stop_now();
        f.run();
        assert!(f.carousel.is_finished());
        assert_eq!(f.signal().iter().map(|m| m.kind()).collect::<Vec<_>>(), [kind]);
        assert!(f.request_next().is_empty(), "no NEXT once a stop is latched");
    }
}

#[test]
fn carousel_does_not_end_before_its_child() {
    for (msg, kind) in stop_kinds() {
        let f = setup(false);
        f.run();
        f.send_to_next("BLAH");
        f.run();
        f.send_to_control(msg);
        f.run();
        assert_eq!(f.last().recv_control().map(|m| m.kind()), Some(kind));
        assert!(!f.carousel.is_finished(), "the Carousel waits for its child");
        assert!(!f.last().is_finished());
        assert!(f.signal().is_empty());
        f.last().stop_now();
        f.run();
        assert!(f.carousel.is_finished());
        assert!(f.last().is_finished());
    }
}

#[test]
fn queued_nexts_are_finished_before_producer_finished_takes_effect() {
    let f = setup(false);
    f.run();
    f.send_to_next("BLAH");
    f.run();
    f.send_to_control(Ipc::producer_finished());
    for i in 1..10 {
        f.send_to_next(&format!("BLAH{i}"));
    }
    f.run();
    assert_eq!(f.child_count(), 1);
    assert!(!f.carousel.is_finished());
    for i in 0..9 {
        let child = f.child(i);
        assert!(child.was_activated());
        assert!(!child.is_finished());
        let msg = child.recv_control().expect("each child is asked to stop");
        assert!(msg.is_shutdown_microprocess() || msg.is_producer_finished());
        child.stop_now();
        f.run();
        assert_eq!(f.child_count(), i + 2);
        assert!(f.last().was_activated());
        assert_eq!(f.last().arg, format!("BLAH{}", i + 1), "requests are served in order");
    }
    // The last child hears the latched ProducerFinished; when it ends, so does the Carousel.
    let last = f.last();
    assert!(last.recv_control().is_some_and(|m| m.is_producer_finished()));
    assert!(!f.carousel.is_finished());
    last.stop_now();
    f.run();
    assert!(f.carousel.is_finished());
    assert_eq!(f.signal().iter().map(|m| m.kind()).collect::<Vec<_>>(), [IpcKind::ProducerFinished]);
    assert!(f.request_next().is_empty());
}

#[test]
fn queued_nexts_are_dropped_on_shutdown_microprocess() {
    let f = setup(false);
    f.run();
    f.send_to_next("BLAH");
    f.run();
    f.send_to_control(Ipc::shutdown_microprocess());
    for _ in 1..10 {
        f.send_to_next("BLAH");
    }
    f.run();
    assert_eq!(f.child_count(), 1, "only the one child");
    assert!(!f.carousel.is_finished(), "not before the child has ended");
    assert!(f.last().recv_control().is_some_and(|m| m.is_shutdown_microprocess()));
    f.last().stop_now();
    f.run();
    assert_eq!(f.child_count(), 1, "still only the one child");
    assert!(f.carousel.is_finished());
    assert!(f.child(0).is_finished());
    assert_eq!(f.signal().iter().map(|m| m.kind()).collect::<Vec<_>>(), [IpcKind::ShutdownMicroprocess]);
}

#[test]
fn shutdown_after_producer_finished_still_reaches_the_child() {
    let f = setup(false);
    f.run();
    f.send_to_next("BLAH");
    f.run();
    f.send_to_control(Ipc::producer_finished());
    f.run();
    assert!(f.last().recv_control().is_some_and(|m| m.is_producer_finished()));
    f.send_to_control(Ipc::shutdown_microprocess());
    f.run();
    assert!(f.last().recv_control().is_some_and(|m| m.is_shutdown_microprocess()));
    f.last().stop_now();
    f.run();
    assert_eq!(f.signal().iter().map(|m| m.kind()).collect::<Vec<_>>(), [IpcKind::ShutdownMicroprocess]);
}

#[test]
fn a_child_whose_boxes_do_not_fit_fails_the_carousel_with_a_link_error() {
    const U32: &[BoxDecl] = &boxes::standard::<u32>();
    let (factory, children) = mock_factory::<String>(U32);
    let sched = Scheduler::new();
    let carousel = sched.spawn(Carousel::<String, String, _>::new(factory));
    carousel.deliver("next", "BLAH".to_string()).unwrap();
    sched.run_until_idle();
    assert!(carousel.is_finished());
    let err = failure(&carousel).expect("the Carousel failed");
    assert!(err.downcast_ref::<LinkError>().is_some(), "{err}");
    assert!(!children.borrow()[0].was_activated(), "the misfit child never ran");
}

#[test]
fn a_factory_returning_child_can_make_children_of_different_types() {
    use kamaelia_chassis::Child;
    // Two component types behind one factory: `Child` erases the type.
    let factory = |req: String| -> Child {
        if req == "shout" {
            kamaelia_chassis::Map::new(|s: String| s.to_uppercase()).into()
        } else {
            kamaelia_chassis::Map::new(|s: String| format!("{s}!")).into()
        }
    };
    let sched = Scheduler::new();
    let carousel = sched.create(Carousel::<String, String, _>::new(factory));
    let out = inert(&sched, STD_STRING);
    sched.link((&carousel, "outbox"), (&out, "inbox")).unwrap();
    sched.activate(&carousel);
    carousel.deliver("next", "shout".to_string()).unwrap();
    sched.run_until_idle();
    carousel.deliver("inbox", "hi".to_string()).unwrap();
    sched.run_until_idle();
    carousel.deliver("next", "excite".to_string()).unwrap();
    sched.run_until_idle();
    carousel.deliver("inbox", "hi".to_string()).unwrap();
    sched.run_until_idle();
    assert_eq!(take_all::<String>(&out, "inbox"), ["HI", "hi!"]);
}
