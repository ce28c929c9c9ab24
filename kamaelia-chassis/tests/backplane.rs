//! Backplane / PublishTo / SubscribeTo (reference §7.6, §4 for the registry names), and this
//! port's slow-subscriber policy: bounded subscriber queues, drop-newest with a counter.

mod util_more;

use axon_core::ipc::{Ipc, IpcKind, Status};
use axon_core::tracker::TrackerError;
use axon_core::{from_fn, BoxDecl, ComponentRef, LinkOptions, Scheduler};
use kamaelia_chassis::backplane::{publish_service, subscribe_service};
use kamaelia_chassis::{Backplane, BackplaneError, PublishTo, SubscribeTo};
use util_more::{collector, failure, inert, take_all, Collected, STD_U32};

/// A subscriber to `name` feeding a collector; returns the subscriber and what the collector got.
fn subscriber(sched: &Scheduler, name: &str) -> (ComponentRef, Collected<u32>, Collected<Ipc>) {
    let sub = sched.spawn(SubscribeTo::<u32>::new(name));
    let (sink, got, stops) = collector::<u32>(sched, STD_U32);
    sched.link((&sub, "outbox"), (&sink, "inbox")).unwrap();
    sched.link((&sub, "signal"), (&sink, "control")).unwrap();
    (sub, got, stops)
}

fn publish(publisher: &ComponentRef, msgs: impl IntoIterator<Item = u32>) {
    for m in msgs {
        publisher.deliver("inbox", m).unwrap();
    }
}

#[test]
fn publishing_reaches_every_subscriber() {
    let sched = Scheduler::new();
    let bp = sched.spawn(Backplane::<u32>::new("BUS"));
    let publisher = sched.spawn(PublishTo::<u32>::new("BUS"));
    let subs: Vec<_> = (0..3).map(|_| subscriber(&sched, "BUS")).collect();
    sched.run_until_idle();
    publish(&publisher, [1, 2, 3]);
    sched.run_until_idle();
    for (_, got, _) in &subs {
        assert_eq!(*got.borrow(), [1, 2, 3]);
    }
    assert!(!bp.is_finished());
}

#[test]
fn several_publishers_share_one_backplane() {
    let sched = Scheduler::new();
    sched.spawn(Backplane::<u32>::new("BUS"));
    let p1 = sched.spawn(PublishTo::<u32>::new("BUS"));
    let p2 = sched.spawn(PublishTo::<u32>::new("BUS"));
    let (_, got, _) = subscriber(&sched, "BUS");
    sched.run_until_idle();
    publish(&p1, [1]);
    publish(&p2, [2]);
    sched.run_until_idle();
    assert_eq!(*got.borrow(), [1, 2]);
}

#[test]
fn publishing_is_a_direct_delivery_into_the_backplane() {
    let sched = Scheduler::new();
    sched.spawn(Backplane::<u32>::new("BUS"));
    let publisher = sched.spawn(PublishTo::<u32>::new("BUS"));
    sched.run_until_idle();
    let (splitter, inbox) = sched.tracker().retrieve_service(&publish_service("BUS")).unwrap();
    publish(&publisher, [7]);
    assert_eq!(splitter.data_ready(&inbox), 1, "landed in the splitter before anything ran");
    assert_eq!(publisher.data_ready("inbox"), 0, "the PublishTo never holds the data");
}

#[test]
fn the_backplane_registers_kamaelias_service_names_while_it_runs() {
    let sched = Scheduler::new();
    let bp = sched.spawn(Backplane::<u32>::new("NEWS"));
    sched.run_until_idle();
    let names = sched.tracker().services_registered();
    assert_eq!(names, ["Backplane_I_NEWS", "Backplane_O_NEWS"]);
    assert_eq!(publish_service("NEWS"), "Backplane_I_NEWS");
    assert_eq!(subscribe_service("NEWS"), "Backplane_O_NEWS");
    assert_eq!(sched.tracker().retrieve_service("Backplane_O_NEWS").unwrap().1, "configuration");
    bp.deliver("control", Ipc::shutdown_microprocess()).unwrap();
    sched.run_until_idle();
    assert!(bp.is_finished());
    assert!(sched.tracker().services_registered().is_empty(), "deregistered as it ends");
}

#[test]
fn a_late_subscriber_gets_only_messages_published_after_it_joined() {
    let sched = Scheduler::new();
    sched.spawn(Backplane::<u32>::new("BUS"));
    let publisher = sched.spawn(PublishTo::<u32>::new("BUS"));
    let (_, early, _) = subscriber(&sched, "BUS");
    sched.run_until_idle();
    publish(&publisher, [1, 2]);
    sched.run_until_idle();
    let (_, late, _) = subscriber(&sched, "BUS");
    sched.run_until_idle();
    publish(&publisher, [3]);
    sched.run_until_idle();
    assert_eq!(*early.borrow(), [1, 2, 3]);
    assert_eq!(*late.borrow(), [3]);
}

#[test]
fn a_subscriber_that_ends_is_removed_from_the_backplane() {
    let sched = Scheduler::new();
    let bp = Backplane::<u32>::new("BUS");
    let stats = bp.stats();
    sched.spawn(bp);
    let publisher = sched.spawn(PublishTo::<u32>::new("BUS"));
    let (leaver, left_got, left_stops) = subscriber(&sched, "BUS");
    let (_, stayer_got, _) = subscriber(&sched, "BUS");
    sched.run_until_idle();
    assert_eq!(stats.sinks(), 2);
    let (splitter, _) = sched.tracker().retrieve_service(&subscribe_service("BUS")).unwrap();
    let outboxes_with_two = splitter.outbox_names().len();

    leaver.deliver("control", Ipc::producer_finished()).unwrap();
    sched.run_until_idle();
    assert!(leaver.is_finished());
    assert_eq!(kinds(&left_stops.borrow()), [IpcKind::ProducerFinished], "it says so on signal");
    assert_eq!(stats.sinks(), 1, "unsubscribed");
    assert_eq!(splitter.outbox_names().len(), outboxes_with_two - 2, "its data and signal outboxes are gone");

    publish(&publisher, [5]);
    sched.run_until_idle();
    assert!(left_got.borrow().is_empty());
    assert_eq!(*stayer_got.borrow(), [5]);
    assert_eq!(sched.stats().dropped_dead, 0, "nothing was sent to the ended subscriber");
}

#[test]
fn a_subscriber_that_is_stopped_outright_is_removed_when_the_backplane_next_runs() {
    let sched = Scheduler::new();
    let bp = Backplane::<u32>::new("BUS");
    let stats = bp.stats();
    sched.spawn(bp);
    let publisher = sched.spawn(PublishTo::<u32>::new("BUS"));
    let (gone, _, _) = subscriber(&sched, "BUS");
    sched.run_until_idle();
    gone.stop();
    sched.run_until_idle();
    publish(&publisher, [1]);
    sched.run_until_idle();
    assert_eq!(stats.sinks(), 0);
    assert_eq!(sched.stats().dropped_dead, 0);
}

fn kinds(msgs: &[Ipc]) -> Vec<IpcKind> {
    msgs.iter().map(|m| m.kind()).collect()
}

#[test]
fn backplane_shutdown_reaches_every_subscriber_and_ends_them() {
    for stop in [Ipc::shutdown_microprocess(), Ipc::producer_finished()] {
        let sched = Scheduler::new();
        let bp = sched.spawn(Backplane::<u32>::new("BUS"));
        let publisher = sched.spawn(PublishTo::<u32>::new("BUS"));
        let bp_signal = inert(&sched, STD_U32);
        sched.link((&bp, "signal"), (&bp_signal, "control")).unwrap();
        let subs: Vec<_> = (0..3).map(|_| subscriber(&sched, "BUS")).collect();
        sched.run_until_idle();
        let kind = stop.kind();
        bp.deliver("control", stop).unwrap();
        sched.run_until_idle();
        for (sub, _, stops) in &subs {
            assert!(sub.is_finished(), "every subscriber ends");
            assert_eq!(kinds(&stops.borrow()), [kind], "and passes the message on");
        }
        assert!(bp.is_finished(), "the backplane ends");
        assert_eq!(kinds(&take_all(&bp_signal, "control")), [kind]);
        assert!(!publisher.is_finished(), "publishers are not the backplane's to stop");
        // The name is free again.
        let again = sched.spawn(Backplane::<u32>::new("BUS"));
        sched.run_until_idle();
        assert!(again.is_active());
    }
}

#[test]
fn publish_to_echoes_control_to_signal_and_a_stop_ends_only_the_publish_to() {
    let sched = Scheduler::new();
    let bp = sched.spawn(Backplane::<u32>::new("BUS"));
    let quitter = sched.spawn(PublishTo::<u32>::new("BUS"));
    let echo = inert(&sched, STD_U32);
    sched.link((&quitter, "signal"), (&echo, "control")).unwrap();
    let other = sched.spawn(PublishTo::<u32>::new("BUS"));
    let (sub, got, _) = subscriber(&sched, "BUS");
    sched.run_until_idle();

    quitter.deliver("control", Ipc::new(Status("hello".into()))).unwrap();
    sched.run_until_idle();
    assert!(!quitter.is_finished());
    quitter.deliver("control", Ipc::shutdown_microprocess()).unwrap();
    sched.run_until_idle();
    assert!(quitter.is_finished());
    assert_eq!(kinds(&take_all(&echo, "control")), [IpcKind::Status, IpcKind::ShutdownMicroprocess]);

    assert!(!bp.is_finished() && !sub.is_finished() && !other.is_finished());
    publish(&other, [9]);
    sched.run_until_idle();
    assert_eq!(*got.borrow(), [9], "the backplane still works");
}

/// The policy test: a subscriber whose consumer never reads (its inbox bounded at 4), many
/// messages published. What that subscriber holds stays bounded, the rest is dropped and
/// counted, the publisher never waits on it, and a fast subscriber gets everything.
#[test]
fn a_slow_subscriber_stays_bounded_drops_with_a_count_and_does_not_hold_up_the_others() {
    const N: u32 = 10_000;
    const QUEUE: usize = 8;
    const CONSUMER: usize = 4;
    let sched = Scheduler::new();
    let bp = Backplane::<u32>::new("BUS").inbox_size(16);
    let stats = bp.stats();
    sched.spawn(bp);
    let publisher = sched.spawn(PublishTo::<u32>::new("BUS"));
    // The slow one: never reads.
    let slow = SubscribeTo::<u32>::new("BUS").queue_limit(QUEUE);
    let slow_dropped = slow.dropped();
    let slow = sched.spawn(slow);
    let never_reads = inert(&sched, STD_U32);
    sched
        .link_with((&slow, "outbox"), (&never_reads, "inbox"), LinkOptions::new().pipewidth(CONSUMER))
        .unwrap();
    // The fast one.
    let fast = SubscribeTo::<u32>::new("BUS");
    let fast_dropped = fast.dropped();
    let fast = sched.spawn(fast);
    let (sink, fast_got, _) = collector::<u32>(&sched, STD_U32);
    sched.link((&fast, "outbox"), (&sink, "inbox")).unwrap();
    // A source that publishes N messages as fast as the backplane takes them.
    const SRC: &[BoxDecl] = STD_U32;
    let source = sched.create(from_fn(SRC, |cx| async move {
        let out = cx.outbox::<u32>("outbox")?;
        for n in 0..N {
            out.send_wait(n).await;
        }
        Ok(())
    }));
    sched.link((&source, "outbox"), (&publisher, "inbox")).unwrap();
    sched.run_until_idle();
    sched.activate(&source);
    sched.run_until_idle();

    assert!(source.is_finished(), "the publisher was never held up");
    assert_eq!(fast_got.borrow().len(), N as usize, "the fast subscriber got everything");
    assert!(fast_got.borrow().iter().copied().eq(0..N), "in order");
    assert_eq!(fast_dropped.get(), 0);

    assert_eq!(never_reads.data_ready("inbox"), CONSUMER, "the consumer holds its limit");
    assert_eq!(slow.data_ready("inbox"), QUEUE, "the subscriber's queue holds its limit");
    let held = N as u64 - slow_dropped.get() - CONSUMER as u64 - QUEUE as u64;
    assert!(held <= 1, "at most one message is in hand, waiting for room: {held}");
    assert!(slow_dropped.get() >= u64::from(N) - 13, "the rest was dropped and counted");
    assert_eq!(stats.dropped(), slow_dropped.get());
    assert_eq!(stats.received(), u64::from(N));

    // Once the consumer reads, the subscriber resumes with what it kept.
    let first: Vec<u32> = take_all(&never_reads, "inbox");
    assert_eq!(first, [0, 1, 2, 3]);
    sched.run_until_idle();
    assert_eq!(never_reads.data_ready("inbox"), CONSUMER);
}

#[test]
fn a_second_backplane_of_the_same_name_fails_with_service_already_exists() {
    let sched = Scheduler::new();
    let first = sched.spawn(Backplane::<u32>::new("DUP"));
    let second = sched.spawn(Backplane::<u32>::new("DUP"));
    sched.run_until_idle();
    assert!(first.is_active());
    let err = failure(&second).expect("the second backplane failed");
    assert_eq!(
        err.downcast_ref::<TrackerError>(),
        Some(&TrackerError::ServiceAlreadyExists("Backplane_I_DUP".into()))
    );
    assert_eq!(sched.tracker().services_registered().len(), 2, "the first keeps its names");
}

#[test]
fn publishing_or_subscribing_to_an_unknown_backplane_fails_with_a_clear_error() {
    let sched = Scheduler::new();
    let p = sched.spawn(PublishTo::<u32>::new("NOWHERE"));
    let s = sched.spawn(SubscribeTo::<u32>::new("NOWHERE"));
    sched.run_until_idle();
    for c in [&p, &s] {
        let err = failure(c).expect("failed");
        assert_eq!(
            err.downcast_ref::<BackplaneError>(),
            Some(&BackplaneError::UnknownBackplane("NOWHERE".into()))
        );
        assert!(err.to_string().contains("no backplane named \"NOWHERE\""), "{err}");
    }
}

#[test]
fn joining_a_backplane_of_another_message_type_fails() {
    let sched = Scheduler::new();
    sched.spawn(Backplane::<String>::new("TEXT"));
    sched.run_until_idle();
    let p = sched.spawn(PublishTo::<u32>::new("TEXT"));
    let s = sched.spawn(SubscribeTo::<u32>::new("TEXT"));
    sched.run_until_idle();
    assert!(failure(&p).is_some() && failure(&s).is_some());
    let ok = sched.spawn(PublishTo::<String>::new("TEXT"));
    sched.run_until_idle();
    assert!(ok.is_active());
}
