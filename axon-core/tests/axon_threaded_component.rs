//! Ports Tests/Python/Axon/test_ThreadedComponent.py (reference §3.1 and §8, ThreadedComponent).
//!
//! The Python tests poke `_localmain` and the queues directly; here each behaviour is checked
//! through the public API: a `Threaded` component on a real scheduler, with its thread
//! reporting back over std channels. Every wait is bounded.

mod util;

use std::sync::mpsc;
use std::time::Duration;

use axon_core::threaded::{self, ThreadContext, Threaded, ThreadedComponent};
use axon_core::{boxes, from_fn, BoxDecl, ComponentResult, EndCause, LinkOptions, Scheduler};

const LIMIT: Duration = Duration::from_secs(20);
const STD: &[BoxDecl] = &boxes::standard::<u32>();

/// A threaded component whose body is a closure.
struct Body<F>(F);

impl<F: FnOnce(ThreadContext) -> ComponentResult + Send + 'static> ThreadedComponent for Body<F> {
    fn boxes(&self) -> &'static [BoxDecl] {
        const B: &[BoxDecl] = &threaded::standard::<u32>();
        B
    }
    fn main(self, cx: ThreadContext) -> ComponentResult {
        (self.0)(cx)
    }
}

fn body<F: FnOnce(ThreadContext) -> ComponentResult + Send + 'static>(f: F) -> Threaded<Body<F>> {
    Threaded::new(Body(f))
}

#[test]
fn default_boxes_are_exactly_the_standard_two_and_two() {
    let sched = Scheduler::new();
    let t = sched.create(body(|_| Ok(())));
    assert_eq!(t.inbox_names(), ["inbox", "control"]);
    assert_eq!(t.outbox_names(), ["outbox", "signal"]);
}

#[test]
fn component_ends_when_its_thread_ends() {
    let sched = Scheduler::new();
    let t = sched.spawn(body(|_| Ok(())));
    assert!(sched.run_until(LIMIT, || t.is_finished()));
    assert!(matches!(t.end_cause(), Some(EndCause::Finished)));
}

#[test]
fn main_runs_in_a_different_os_thread() {
    let (tx, rx) = mpsc::channel();
    let sched = Scheduler::new();
    let t = sched.spawn(body(move |_| {
        tx.send(std::thread::current().id()).unwrap();
        Ok(())
    }));
    assert!(sched.run_until(LIMIT, || t.is_finished()));
    assert_ne!(rx.recv_timeout(LIMIT).unwrap(), std::thread::current().id());
}

#[test]
fn inbound_data_reaches_the_thread_and_its_sends_reach_a_linked_consumer() {
    let sched = Scheduler::new();
    let t = sched.create(body(|cx| {
        let inbox = cx.inbox::<u32>("inbox")?;
        let outbox = cx.outbox::<u32>("outbox")?;
        for _ in 0..5 {
            let n = inbox.recv().ok_or("stopped")?;
            outbox.send_wait(n + 100);
        }
        Ok(())
    }));
    let got = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let g = got.clone();
    let sink = sched.create(from_fn(STD, move |cx| async move {
        let inbox = cx.inbox::<u32>("inbox")?;
        while g.borrow().len() < 5 {
            let m = inbox.recv_wait().await;
            g.borrow_mut().push(m);
        }
        Ok(())
    }));
    sched.link((&t, "outbox"), (&sink, "inbox")).unwrap();
    for n in 0u32..5 {
        t.deliver("inbox", n).unwrap();
    }
    sched.activate(&t);
    sched.activate(&sink);
    assert!(sched.run_until(LIMIT, || t.is_finished() && sink.is_finished()));
    assert_eq!(*got.borrow(), [100, 101, 102, 103, 104]);
}

#[test]
fn data_ready_counts_what_waits_for_the_thread() {
    let (tx, rx) = mpsc::channel();
    let sched = Scheduler::new();
    let t = sched.create(body(move |cx| {
        let inbox = cx.inbox::<u32>("inbox")?;
        // Wait until the proxy has handed over all three.
        while cx.data_ready("inbox") < 3 {
            cx.pause(Some(Duration::from_millis(50)));
            if cx.is_stopped() {
                return Ok(());
            }
        }
        tx.send((cx.data_ready("inbox"), inbox.try_recv(), cx.data_ready("nonexistent"))).unwrap();
        Ok(())
    }));
    for n in 0u32..3 {
        t.deliver("inbox", n).unwrap();
    }
    sched.activate(&t);
    assert!(sched.run_until(LIMIT, || t.is_finished()));
    assert_eq!(rx.recv_timeout(LIMIT).unwrap(), (3, Some(0), 0));
}

#[test]
fn link_and_unlink_from_the_thread_are_carried_out_on_the_scheduler() {
    let sched = Scheduler::new();
    let got = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let g = got.clone();
    let sink = sched.spawn(from_fn(STD, move |cx| async move {
        let inbox = cx.inbox::<u32>("inbox")?;
        while g.borrow().len() < 2 {
            let m = inbox.recv_wait().await;
            g.borrow_mut().push(m);
        }
        Ok(())
    }));
    let sink_id = sink.id();
    let t = sched.spawn(body(move |cx| {
        let l = cx.link((cx.id(), "outbox"), (sink_id, "inbox"), LinkOptions::new())?;
        let out = cx.outbox::<u32>("outbox")?;
        out.send_wait(1);
        out.send_wait(2);
        cx.sync();
        cx.unlink(&l)?;
        // Unlinking a second time is refused: the linkage is gone.
        assert!(cx.unlink(&l).is_err());
        Ok(())
    }));
    assert!(sched.run_until(LIMIT, || t.is_finished() && sink.is_finished()));
    assert!(matches!(t.end_cause(), Some(EndCause::Finished)), "{:?}", t.end_cause());
    assert_eq!(*got.borrow(), [1, 2]);
}

/// Sends until refused, with the scheduler not running meanwhile; returns how many fit.
fn sends_that_fit(queue_len: Option<usize>) -> usize {
    let (tx, rx) = mpsc::channel();
    let sched = Scheduler::new();
    let b = body(move |cx| {
        let out = cx.outbox::<u32>("outbox")?;
        let mut n = 0;
        while n < 99_999 && out.send(n as u32).is_ok() {
            n += 1;
        }
        tx.send(n).unwrap();
        Ok(())
    });
    let t = match queue_len {
        Some(q) => sched.spawn(b.queue_len(q)),
        None => sched.spawn(b),
    };
    sched.step(); // starts the thread; the scheduler then stays still while it sends
    let n = rx.recv_timeout(LIMIT).unwrap();
    t.stop();
    sched.run_until_idle();
    n
}

#[test]
fn outqueue_has_a_default_cap() {
    assert_eq!(sends_that_fit(None), threaded::DEFAULT_QUEUE_LEN);
}

#[test]
fn outqueue_cap_can_be_set() {
    assert_eq!(sends_that_fit(Some(20)), 20);
}

const BSIZE: usize = 10;
const QSIZE: usize = 20;

#[test]
fn a_sender_into_a_threaded_component_sees_no_space_after_queue_plus_inbox() {
    let sched = Scheduler::new();
    let t = sched.create(
        body(|cx| {
            // Never reads; waits to be stopped.
            while !cx.is_stopped() {
                cx.pause(Some(Duration::from_millis(20)));
            }
            Ok(())
        })
        .queue_len(QSIZE),
    );
    let sent = std::rc::Rc::new(std::cell::Cell::new(0usize));
    let s = sent.clone();
    let sender = sched.create(from_fn(STD, move |cx| async move {
        let out = cx.outbox::<u32>("outbox")?;
        loop {
            match out.send(1) {
                Ok(()) => s.set(s.get() + 1),
                Err(_) => return Ok(()),
            }
            cx.yield_now().await;
        }
    }));
    sched.link_with((&sender, "outbox"), (&t, "inbox"), LinkOptions::new().pipewidth(BSIZE)).unwrap();
    sched.activate(&t);
    sched.activate(&sender);
    assert!(sched.run_until(LIMIT, || sender.is_finished()));
    assert_eq!(sent.get(), QSIZE + BSIZE);
    t.stop();
    assert!(sched.run_until(LIMIT, || t.is_finished()));
}

#[test]
fn the_threads_sends_fail_after_queue_plus_destination_and_freed_space_propagates_back() {
    let (tx, rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let sched = Scheduler::new();
    let t = sched.create(
        body(move |cx| {
            let out = cx.outbox::<u32>("outbox")?;
            let fill = || {
                let mut n = 0;
                loop {
                    match out.send(1) {
                        Ok(()) => n += 1,
                        Err(_) => {
                            // Let the proxy move what it can, then try once more.
                            cx.sync();
                            if out.send(1).is_err() {
                                return n;
                            }
                            n += 1;
                        }
                    }
                }
            };
            tx.send(fill()).unwrap();
            cx.sync(); // wakes the scheduler so the test sees the count
            go_rx.recv_timeout(LIMIT).map_err(|e| e.to_string())?;
            tx.send(fill()).unwrap();
            Ok(())
        })
        .queue_len(QSIZE),
    );
    // Never collects by itself.
    let consumer = sched.create(from_fn(STD, |cx| async move {
        loop {
            cx.pause().await;
        }
    }));
    sched.link_with((&t, "outbox"), (&consumer, "inbox"), LinkOptions::new().pipewidth(BSIZE)).unwrap();
    sched.activate(&t);
    sched.activate(&consumer);
    let mut first = None;
    assert!(sched.run_until(LIMIT, || {
        first = first.or_else(|| rx.try_recv().ok());
        first.is_some()
    }));
    assert_eq!(first, Some(QSIZE + BSIZE));
    // The consumer takes 5: exactly 5 more fit.
    let inbox = consumer.inbox::<u32>("inbox").unwrap();
    for _ in 0..5 {
        inbox.recv().unwrap();
    }
    go_tx.send(()).unwrap();
    let mut second = None;
    assert!(sched.run_until(LIMIT, || {
        second = second.or_else(|| rx.try_recv().ok());
        second.is_some()
    }));
    assert_eq!(second, Some(5));
    consumer.stop();
    assert!(sched.run_until(LIMIT, || t.is_finished()));
}

#[test]
fn terminates_even_with_data_clogged_in_its_inqueues() {
    let sched = Scheduler::new();
    let t = sched.create(body(|_| Ok(())).queue_len(2));
    for n in 0u32..10 {
        t.deliver("inbox", n).unwrap();
    }
    sched.activate(&t);
    assert!(sched.run_until(LIMIT, || t.is_finished()));
}

#[test]
fn terminates_only_after_its_outqueue_is_flushed_even_through_a_size_one_receiver() {
    let sched = Scheduler::new();
    let t = sched.create(body(|cx| {
        let out = cx.outbox::<u32>("outbox")?;
        for n in 0..50 {
            out.send_wait(n);
        }
        Ok(())
    }));
    let got = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let g = got.clone();
    let slow = sched.create(from_fn(STD, move |cx| async move {
        let inbox = cx.inbox::<u32>("inbox")?;
        loop {
            let m = inbox.recv_wait().await;
            g.borrow_mut().push(m);
            cx.yield_now().await;
        }
    }));
    sched.link_with((&t, "outbox"), (&slow, "inbox"), LinkOptions::new().synchronous()).unwrap();
    sched.activate(&t);
    sched.activate(&slow);
    assert!(sched.run_until(LIMIT, || t.is_finished()));
    // Everything the thread sent had left the outqueue when it ended: at most one message (the
    // size-1 box) is still to be collected.
    sched.run_until_idle();
    assert_eq!(*got.borrow(), (0..50).collect::<Vec<_>>());
}

#[test]
fn a_panic_in_the_thread_ends_the_component_with_that_cause() {
    let sched = Scheduler::new();
    let t = sched.spawn(body(|_| panic!("boom in thread")));
    assert!(sched.run_until(LIMIT, || t.is_finished()));
    match t.end_cause() {
        Some(EndCause::Failed(e)) => assert!(e.to_string().contains("boom in thread")),
        other => panic!("unexpected end: {other:?}"),
    }
}

#[test]
fn a_box_not_declared_thread_safe_is_reported_by_name() {
    struct Bad;
    impl ThreadedComponent for Bad {
        fn boxes(&self) -> &'static [BoxDecl] {
            STD
        }
        fn main(self, _: ThreadContext) -> ComponentResult {
            Ok(())
        }
    }
    let sched = Scheduler::new();
    let t = sched.spawn(Threaded::new(Bad));
    assert!(sched.run_until(LIMIT, || t.is_finished()));
    match t.end_cause() {
        Some(EndCause::Failed(e)) => assert!(e.to_string().contains("\"inbox\""), "{e}"),
        other => panic!("unexpected end: {other:?}"),
    }
}

#[test]
fn stopping_cuts_the_thread_off() {
    let (tx, rx) = mpsc::channel();
    let sched = Scheduler::new();
    let t = sched.spawn(body(move |cx| {
        let inbox = cx.inbox::<u32>("inbox")?;
        // Blocks until stopped: recv then returns None.
        tx.send(inbox.recv()).unwrap();
        Ok(())
    }));
    sched.step();
    t.stop();
    sched.run_until_idle();
    assert!(matches!(t.end_cause(), Some(EndCause::Stopped)));
    assert_eq!(rx.recv_timeout(LIMIT).unwrap(), None);
}

#[test]
fn adaptive_threaded_can_add_an_inbox_and_receive_on_it_and_add_an_outbox_and_send_on_it() {
    let (tx, rx) = mpsc::channel();
    let sched = Scheduler::new();
    let got = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let g = got.clone();
    let sink = sched.spawn(from_fn(STD, move |cx| async move {
        let inbox = cx.inbox::<u32>("inbox")?;
        let m = inbox.recv_wait().await;
        g.borrow_mut().push(m);
        Ok(())
    }));
    let sink_id = sink.id();
    let t = sched.spawn(body(move |cx| {
        let name = cx.add_inbox::<u32>("extra").ok_or("stopped")?;
        tx.send(name.clone()).unwrap();
        cx.sync(); // wakes the scheduler so the test sees the name
        let extra = cx.inbox::<u32>(&name)?;
        let v = extra.recv().ok_or("stopped")?;
        let out_name = cx.add_outbox::<u32>("inbox").ok_or("stopped")?;
        cx.link((cx.id(), &out_name), (sink_id, "inbox"), LinkOptions::new())?;
        cx.outbox::<u32>(&out_name)?.send_wait(v * 2);
        Ok(())
    }));
    let mut name = None;
    assert!(sched.run_until(LIMIT, || {
        name = name.take().or_else(|| rx.try_recv().ok());
        name.is_some()
    }));
    let name = name.unwrap();
    assert!(name.starts_with("extra"));
    t.deliver(&name, 21u32).unwrap();
    assert!(sched.run_until(LIMIT, || t.is_finished() && sink.is_finished()));
    assert!(matches!(t.end_cause(), Some(EndCause::Finished)), "{:?}", t.end_cause());
    assert_eq!(*got.borrow(), [42]);
}

#[test]
fn sends_from_the_thread_after_its_component_was_stopped_are_counted_as_dropped() {
    let sched = Scheduler::new();
    let (tx, rx) = mpsc::channel();
    let t = sched.spawn(body(move |cx| {
        let out = cx.outbox::<u32>("outbox")?;
        while !cx.is_stopped() {
            cx.pause(Some(Duration::from_millis(20)));
        }
        // Cut off: the send is accepted and dropped, and the scheduler counts it.
        out.send(7).map_err(|_| "no room")?;
        tx.send(()).map_err(|_| "test gone")?;
        Ok(())
    }));
    sched.run_until_idle();
    t.stop();
    assert!(sched.run_until(LIMIT, || t.is_finished()));
    rx.recv_timeout(LIMIT).expect("the thread sent after it was cut off");
    assert_eq!(sched.stats().dropped_dead, 1);
}

/// A thread sending as fast as it can while its component is stopped: every message it was told
/// went out (`send` returned `Ok`) is either in the destination or counted as dropped — the ones
/// passed on, the ones still in the channel at the cut-off, and the ones sent after it. Many
/// rounds, stopped at different points, so that sends land around the cut-off itself.
#[test]
fn a_thread_stopped_mid_stream_loses_nothing_uncounted() {
    for round in 0..200u32 {
        let sched = Scheduler::new();
        let (tx, rx) = mpsc::channel();
        let sink = sched.create(from_fn(STD, |_| async { Ok(()) }));
        let t = sched.create(body(move |cx| {
            let out = cx.outbox::<u32>("outbox")?;
            let mut sent = 0u64;
            while !cx.is_stopped() {
                match out.send(sent as u32) {
                    Ok(()) => sent += 1,
                    Err(_) => std::thread::yield_now(),
                }
            }
            // A few more after the cut-off: each is accepted and dropped.
            for _ in 0..3 {
                out.send(0).map_err(|_| "no room after the cut-off")?;
                sent += 1;
            }
            tx.send(sent).map_err(|_| "test gone")?;
            Ok(())
        }));
        // Unbounded: whatever the proxy passes on stays in the sink's inbox, to be counted.
        sched.link((&t, "outbox"), (&sink, "inbox")).unwrap();
        sched.activate(&t);
        // Stop it once the stream flows, after a number of messages that varies with the round.
        let flowing = 1 + (round as usize * 397) % 20_000;
        assert!(sched.run_until(LIMIT, || sink.data_ready("inbox") >= flowing), "round {round}: no stream");
        t.stop();
        assert!(sched.run_until(LIMIT, || t.is_finished()), "round {round}: the proxy did not end");
        let sent = rx.recv_timeout(LIMIT).expect("the thread finished");
        let delivered = sink.data_ready("inbox") as u64;
        assert_eq!(delivered + sched.stats().dropped_dead, sent, "round {round}: {:?}", sched.stats());
    }
}

/// A thread that has queued more than a step's worth does not hold the scheduler in one step:
/// each step of its proxy passes on exactly 1024 messages, yields, and goes on in the next
/// cycle, after the other components have run.
#[test]
fn a_flooding_thread_does_not_hold_the_scheduler_in_one_step() {
    const QUEUED: u32 = 5000;
    let sched = Scheduler::new();
    let sink = sched.create(from_fn(STD, |_| async { Ok(()) }));
    let (tx, rx) = mpsc::channel();
    let t = sched.create(
        body(move |cx| {
            let out = cx.outbox::<u32>("outbox")?;
            for n in 0..QUEUED {
                out.send(n).map_err(|_| "the bridge holds them all")?;
            }
            tx.send(()).map_err(|_| "test gone")?;
            while !cx.is_stopped() {
                cx.pause(Some(Duration::from_millis(20)));
            }
            Ok(())
        })
        .queue_len(QUEUED as usize),
    );
    let (ticker, ticks) = util::spinner(&sched);
    sched.link((&t, "outbox"), (&sink, "inbox")).unwrap();
    sched.activate(&t);
    // The proxy's first step starts the thread; the test steps again only once the thread has
    // queued everything.
    sched.step();
    rx.recv_timeout(LIMIT).expect("the thread queued its messages");
    for _ in 0..2 {
        let (before, ticked) = (sink.data_ready("inbox"), ticks.get());
        sched.step();
        assert_eq!(sink.data_ready("inbox") - before, 1024, "one step passes on one budget's worth");
        assert_eq!(ticks.get(), ticked + 1, "the other component runs in the same cycle");
    }
    assert!(sched.run_until(LIMIT, || sink.data_ready("inbox") == QUEUED as usize), "the rest follows");
    t.stop();
    ticker.stop();
    assert!(sched.run_until(LIMIT, || t.is_finished() && ticker.is_finished()));
}

/// Messages that reach a threaded component's inbox after its thread has gone (and let go of
/// its end of the bridge) are counted as dropped, whether the proxy had already passed them
/// into the thread's channel or they were still waiting in the inbox.
#[test]
fn messages_for_a_thread_that_has_gone_are_counted_as_dropped() {
    let sched = Scheduler::new();
    let (tx, rx) = mpsc::channel();
    let t = sched.spawn(body(move |cx| {
        // Lets go of the thread's ends before saying so.
        drop(cx);
        tx.send(()).map_err(|_| "test gone")?;
        Ok(())
    }));
    sched.step();
    rx.recv_timeout(LIMIT).expect("the thread let go of its ends");
    for n in 0..3u32 {
        t.deliver("inbox", n).unwrap();
    }
    assert!(sched.run_until(LIMIT, || t.is_finished()));
    assert_eq!(sched.stats().dropped_dead, 3, "{:?}", sched.stats());
}

#[test]
fn messages_a_thread_leaves_unread_are_counted_as_dropped_whichever_side_lets_go_last() {
    for thread_outlives_proxy in [false, true] {
        let sched = Scheduler::new();
        let (done_tx, done_rx) = mpsc::channel();
        let (hold_tx, hold_rx) = mpsc::channel::<()>();
        let t = sched.create(
            Threaded::new(Body(move |cx: ThreadContext| {
                let inbox = cx.inbox::<u32>("inbox")?;
                let first = inbox.recv();
                // Either the thread lets go of its handle as `main` returns, before the proxy
                // ends, or a thread of its own keeps it until the test says so, after.
                let holder = thread_outlives_proxy.then(|| {
                    std::thread::spawn(move || {
                        let _ = hold_rx.recv_timeout(LIMIT);
                        drop(inbox);
                    })
                });
                done_tx.send((first, holder)).map_err(|_| "test gone")?;
                Ok(())
            }))
            .queue_len(3),
        );
        // Some wait in the thread's channel (after the one it reads), the rest in the inbox.
        for n in 0..6u32 {
            t.deliver("inbox", n).unwrap();
        }
        sched.activate(&t);
        assert!(sched.run_until(LIMIT, || t.is_finished()));
        let (first, holder) = done_rx.recv_timeout(LIMIT).unwrap();
        assert_eq!(first, Some(0));
        if let Some(holder) = holder {
            assert!(sched.stats().dropped_dead < 5, "the channel is still held: not counted yet");
            drop(hold_tx);
            holder.join().expect("the holding thread");
        }
        assert_eq!(sched.stats().dropped_dead, 5, "every message but the one read: {:?}", sched.stats());
    }
}
