//! The pitfalls DESIGN §4 lists for this design, each pinned by a test: a send into your own
//! inbox must not lose its wake-up; several producers waiting on one bounded inbox must all
//! complete; and ended components must be freed (no reference cycle through component → box
//! table → inbox → component), so memory returns to where it started.
//!
//! Memory is checked here by what must have been freed: every component value is dropped
//! ([`DropCount`]), and a weak handle on every component no longer upgrades, so no reference
//! cycle keeps a component, its box table or its links alive. `memory_returns.rs` counts the
//! bytes too, with a counting global allocator (in its own test binary).

mod util;

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::rc::Rc;

use axon_core::{from_fn, BoxDecl, Component, ComponentResult, Context, Scheduler, WeakComponentRef};
use util::{DropCount, STD};

// ----- 1. a send into your own inbox -----

#[test]
fn a_send_into_your_own_inbox_makes_the_next_pause_return_at_once() {
    let s = Scheduler::new();
    let got = Rc::new(RefCell::new(Vec::new()));
    let g = got.clone();
    let c = s.spawn(from_fn(STD, move |cx| async move {
        cx.link((&cx.me(), "outbox"), (&cx.me(), "inbox"))?;
        let inbox = cx.inbox::<u32>("inbox")?;
        cx.send(1u32, "outbox").map_err(|e| e.to_string())?;
        cx.pause().await; // must not wait for anyone else: the send woke us
        g.borrow_mut().extend(inbox.drain());
        Ok(())
    }));
    s.step();
    assert!(!c.is_paused(), "the wake-up from its own send was kept");
    s.step();
    assert!(c.is_finished());
    assert_eq!(*got.borrow(), [1]);
}

// ----- 2. several producers waiting on one full bounded inbox -----

#[test]
fn several_producers_waiting_on_one_full_bounded_inbox_all_complete() {
    const PRODUCERS: u32 = 5;
    const EACH: u32 = 40;
    let s = Scheduler::new();
    let got = Rc::new(RefCell::new(Vec::new()));
    let g = got.clone();
    let consumer = s.create(from_fn(STD, move |cx| async move {
        let inbox = cx.inbox::<u32>("inbox")?;
        for _ in 0..PRODUCERS * EACH {
            let m = inbox.recv_wait().await;
            g.borrow_mut().push(m);
            // Let producers pile up against the full box now and then.
            if m % 3 == 0 {
                cx.yield_now().await;
            }
        }
        Ok(())
    }));
    consumer.inbox::<u32>("inbox").unwrap().set_size(Some(2));
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let c = s.create(from_fn(STD, move |cx| async move {
                let out = cx.outbox::<u32>("outbox")?;
                for i in 0..EACH {
                    out.send_wait(p * 1000 + i).await;
                }
                Ok(())
            }));
            s.link((&c, "outbox"), (&consumer, "inbox")).unwrap();
            c
        })
        .collect();
    for p in &producers {
        s.activate(p);
    }
    s.activate(&consumer);
    s.run_until_idle();

    for p in &producers {
        assert!(p.is_finished(), "producer {} stranded", p.name());
    }
    assert!(consumer.is_finished());
    let got = got.borrow();
    assert_eq!(got.len(), (PRODUCERS * EACH) as usize);
    assert_eq!(got.iter().collect::<HashSet<_>>().len(), got.len(), "nothing received twice");
    for p in 0..PRODUCERS {
        let mine: Vec<u32> = got.iter().copied().filter(|m| m / 1000 == p).collect();
        assert_eq!(mine, (0..EACH).map(|i| p * 1000 + i).collect::<Vec<_>>(), "FIFO per producer");
    }
}

// ----- 3. ended components are freed -----

/// A component that links its own outbox to its own inbox, sends itself a message, collects it,
/// yields once and ends — exercising its box table, its postoffice and the link graph.
struct Loopback {
    _drop: DropCount,
}

impl Component for Loopback {
    fn boxes(&self) -> &'static [BoxDecl] {
        STD
    }

    async fn main(self, cx: Context) -> ComponentResult {
        let _me = self; // dropped when main ends
        cx.link((&cx.me(), "outbox"), (&cx.me(), "inbox"))?;
        cx.send(7u32, "outbox").map_err(|e| e.to_string())?;
        cx.yield_now().await;
        let got = cx.recv::<u32>("inbox")?;
        assert_eq!(got, Some(7));
        Ok(())
    }
}

fn run_batch(s: &Scheduler, n: usize, dropped: &Rc<Cell<usize>>) -> Vec<WeakComponentRef> {
    let weak: Vec<_> =
        (0..n).map(|_| s.spawn(Loopback { _drop: DropCount(dropped.clone()) }).downgrade()).collect();
    s.run();
    weak
}

#[test]
fn after_100_000_components_have_ended_everything_they_held_is_freed() {
    const N: usize = 100_000;
    let s = Scheduler::new();
    let dropped = Rc::new(Cell::new(0));
    let weak = run_batch(&s, N, &dropped);
    assert_eq!(dropped.get(), N, "every component value was dropped");
    assert_eq!(s.component_count(), 0);
    let alive = weak.iter().filter(|w| w.upgrade().is_some()).count();
    assert_eq!(alive, 0, "{alive} ended components are still allocated");
    let stats = s.stats();
    assert_eq!(stats.ended, N as u64);
    assert_eq!(stats.panicked, 0);
    assert_eq!((stats.dropped_dead, stats.dropped_unlinked), (0, 0));
    assert!(s.linkages().is_empty());
}

#[test]
fn dropping_a_scheduler_frees_its_components_even_when_its_registry_and_resources_name_them() {
    let dropped = Rc::new(Cell::new(0));
    let (weak_c, weak_other) = {
        let s = Scheduler::new();
        let d = dropped.clone();
        let c = s.spawn(from_fn(STD, move |cx| async move {
            let _g = DropCount(d);
            cx.tracker().track_value("me", cx.clone())?;
            cx.insert_resource(Rc::new(cx.clone()));
            loop {
                cx.pause().await;
            }
        }));
        s.tracker().register_service("svc", &c, "inbox").unwrap();
        let other = s.create(from_fn(STD, |_| async { Ok(()) }));
        s.link((&c, "outbox"), (&other, "inbox")).unwrap();
        s.run_until_idle();
        (c.downgrade(), other.downgrade())
    };
    assert_eq!(dropped.get(), 1);
    assert!(weak_c.upgrade().is_none(), "the registry kept a component alive after its scheduler");
    assert!(weak_other.upgrade().is_none());
}

/// A component woken by a delivery, which then sends into its own inbox during the step it was
/// woken for, must not lose that second wake: its next `pause` returns, and it sees the message.
#[test]
fn a_self_send_after_being_woken_by_a_delivery_is_not_lost() {
    use std::cell::Cell;
    use std::rc::Rc;
    let sched = axon_core::Scheduler::new();
    let seen = Rc::new(Cell::new(0u32));
    let s = seen.clone();
    const B: &[axon_core::BoxDecl] = &axon_core::boxes::standard::<u32>();
    let echo_to_self = sched.create(axon_core::from_fn(B, move |cx| async move {
        let inbox = cx.inbox::<u32>("inbox")?;
        let out = cx.outbox::<u32>("outbox")?;
        loop {
            let mut last = None;
            while let Some(n) = inbox.recv() {
                s.set(s.get().max(n));
                last = Some(n);
            }
            // After draining: a send that loops back into our own inbox, then a pause.
            if let Some(n) = last.filter(|n| *n < 3) {
                out.send(n + 1)?;
            }
            cx.pause().await;
        }
    }));
    sched.link((&echo_to_self, "outbox"), (&echo_to_self, "inbox")).unwrap();
    sched.activate(&echo_to_self);
    sched.run_until_idle(); // paused, nothing to do
    echo_to_self.deliver("inbox", 1u32).unwrap(); // wakes it
    sched.run_until_idle();
    assert_eq!(seen.get(), 3, "a wake from its own send was lost");
}

/// A component that starts waiting for room (`send_wait` refused) and then, later in the same
/// step, takes a message from that very box itself must be woken by that collection, although
/// the box was already collected from earlier in the step (collections skip wakes already
/// made in the same step; a new waiter must not be skipped).
#[test]
fn a_waiter_for_room_is_woken_by_a_collection_later_in_the_same_step() {
    use std::future::Future;
    use std::task::Poll;
    let s = Scheduler::new();
    // Never activated: only its inbox is used, bounded to one message, and a collection from
    // it wakes no producers, only components waiting for room.
    let x = s.create(from_fn(STD, |cx| async move {
        cx.pause().await;
        Ok(())
    }));
    let xin = x.inbox::<u32>("inbox").unwrap();
    xin.set_size(Some(1));
    xin.set_notify_producers(false);
    let took = Rc::new(RefCell::new(Vec::new()));
    let t = took.clone();
    let w = s.create(from_fn(STD, move |cx| async move {
        let out = cx.outbox::<u32>("outbox")?;
        out.send(1).map_err(|e| e.to_string())?;
        t.borrow_mut().extend(xin.recv()); // a collection early in the step
        out.send(2).map_err(|e| e.to_string())?; // full again
        let mut wait = std::pin::pin!(out.send_wait(3));
        std::future::poll_fn(|fcx| {
            if wait.as_mut().poll(fcx).is_ready() {
                return Poll::Ready(());
            }
            // Waiting for room now: make it, in this same step.
            if t.borrow().len() < 2 {
                t.borrow_mut().extend(xin.recv());
            }
            Poll::Pending
        })
        .await;
        t.borrow_mut().extend(xin.recv());
        Ok(())
    }));
    s.link((&w, "outbox"), (&x, "inbox")).unwrap();
    s.activate(&w);
    s.step();
    assert!(!w.is_paused(), "the collection did not wake the component waiting for room");
    s.step();
    assert!(w.is_finished());
    assert_eq!(*took.borrow(), [1, 2, 3]);
}

/// Turning a box's producer wakes back on takes effect at its next collection, even when it
/// was collected from earlier in the same step with them off.
#[test]
fn producer_wakes_turned_on_mid_step_wake_at_the_next_collection() {
    let s = Scheduler::new();
    let x = s.create(from_fn(STD, |cx| async move {
        cx.pause().await;
        Ok(())
    }));
    let xin = x.inbox::<u32>("inbox").unwrap();
    xin.set_notify_producers(false);
    let w = s.create(from_fn(STD, move |cx| async move {
        let out = cx.outbox::<u32>("outbox")?;
        out.send(1).map_err(|e| e.to_string())?;
        out.send(2).map_err(|e| e.to_string())?;
        let _ = xin.recv(); // wakes nobody: producer wakes are off
        xin.set_notify_producers(true);
        let _ = xin.recv(); // wakes the producer: this component
        cx.pause().await; // so this returns at once
        Ok(())
    }));
    s.link((&w, "outbox"), (&x, "inbox")).unwrap();
    s.activate(&w);
    s.step();
    assert!(!w.is_paused(), "the collection did not wake its producer");
    s.step();
    assert!(w.is_finished());
}

// ----- 5. a box that does not wake its producers on every collection -----

/// Producers that catch `NoSpaceInBox` and pause — Axon's pattern — are woken by the next
/// collection even when the box's per-collection wake (rule 2) is turned off; a producer that
/// never found it full is not woken.
#[test]
fn with_rule_2_off_a_producer_that_found_the_box_full_is_still_woken() {
    const EACH: u32 = 30;
    let s = Scheduler::new();
    let got = Rc::new(RefCell::new(Vec::new()));
    let g = got.clone();
    let consumer = s.create(from_fn(STD, move |cx| async move {
        let inbox = cx.inbox::<u32>("inbox")?;
        inbox.set_notify_producers(false);
        loop {
            let m = inbox.recv_wait().await;
            g.borrow_mut().push(m);
            cx.yield_now().await;
        }
    }));
    consumer.inbox::<u32>("inbox").unwrap().set_size(Some(1));
    // Axon style: send, and on NoSpaceInBox pause and retry.
    let axon_style = s.create(from_fn(STD, move |cx| async move {
        let out = cx.outbox::<u32>("outbox")?;
        for i in 0..EACH {
            let mut msg = i;
            while let Err(e) = out.send(msg) {
                msg = e.message;
                cx.pause().await;
            }
        }
        Ok(())
    }));
    s.link((&axon_style, "outbox"), (&consumer, "inbox")).unwrap();
    // A second producer that sends once and then only pauses, counting its wakes.
    let wakes = Rc::new(Cell::new(0u32));
    let w = wakes.clone();
    let quiet = s.create(from_fn(STD, move |cx| async move {
        cx.pause().await;
        loop {
            w.set(w.get() + 1);
            cx.pause().await;
        }
    }));
    s.link((&quiet, "outbox"), (&consumer, "inbox")).unwrap();
    s.activate(&quiet);
    s.run_until_idle();
    s.activate(&consumer);
    s.activate(&axon_style);
    s.run_until_idle();

    assert!(axon_style.is_finished(), "the Axon-style producer was stranded");
    assert_eq!(*got.borrow(), (0..EACH).collect::<Vec<_>>());
    assert_eq!(wakes.get(), 0, "rule 2 is off: collections do not wake a producer that never waited");
}

// ----- 4. waiters for room when the chain or the limit changes -----

/// A producer that sends 1 then 2 with `send_wait` into a size-1 inbox nobody reads; returns
/// it (paused on the second send), the consumer, the link and a flag set when it finishes.
fn stuck_producer(
    s: &Scheduler,
) -> (axon_core::ComponentRef, axon_core::ComponentRef, axon_core::Linkage, Rc<Cell<bool>>) {
    let consumer = s.spawn(from_fn(STD, |cx| async move {
        loop {
            cx.pause().await;
        }
    }));
    consumer.inbox::<u32>("inbox").expect("inbox").set_size(Some(1));
    let done = Rc::new(Cell::new(false));
    let d = done.clone();
    let producer = s.create(from_fn(STD, move |cx| async move {
        let out = cx.outbox::<u32>("outbox")?;
        out.send_wait(1).await;
        out.send_wait(2).await;
        d.set(true);
        Ok(())
    }));
    let link = s.link((&producer, "outbox"), (&consumer, "inbox")).expect("link");
    s.activate(&producer);
    s.run_until_idle();
    assert!(producer.is_paused() && !done.get(), "the second send waits for room");
    (producer, consumer, link, done)
}

#[test]
fn a_producer_waiting_for_room_is_woken_when_its_link_is_removed() {
    let s = Scheduler::new();
    let (producer, _consumer, link, done) = stuck_producer(&s);
    s.unlink(&link).expect("unlink");
    s.run_until_idle();
    // Unlinked, its send is dropped and counted, as any send from an unlinked outbox.
    assert!(done.get() && producer.is_finished());
    assert_eq!(s.stats().dropped_unlinked, 1);
}

#[test]
fn a_producer_waiting_for_room_is_woken_when_the_limit_is_raised() {
    let s = Scheduler::new();
    let (producer, consumer, _link, done) = stuck_producer(&s);
    consumer.inbox::<u32>("inbox").expect("inbox").set_size(Some(2));
    s.run_until_idle();
    assert!(done.get() && producer.is_finished());
    assert_eq!(consumer.data_ready("inbox"), 2);
}

#[test]
fn a_producer_waiting_for_room_is_woken_when_the_chain_it_feeds_is_remade() {
    let s = Scheduler::new();
    let (producer, consumer, _link, done) = stuck_producer(&s);
    // The full inbox is linked onward to one with room: the producer's sends now end there.
    let roomy = s.create(from_fn(STD, |_| async { Ok(()) }));
    s.link_with(
        (&consumer, "inbox"),
        (&roomy, "inbox"),
        axon_core::LinkOptions::new().passthrough(axon_core::Passthrough::Inbound),
    )
    .expect("passthrough link");
    s.run_until_idle();
    assert!(done.get() && producer.is_finished());
    assert_eq!(roomy.data_ready("inbox"), 2, "the waiting message, moved on, and the retried one");
}

#[test]
fn a_producer_waiting_for_room_is_woken_when_the_consumer_ends() {
    let s = Scheduler::new();
    let (producer, consumer, _link, done) = stuck_producer(&s);
    consumer.stop();
    s.run_until_idle();
    // Its retried send goes to an ended component: dropped and counted, as any such send.
    assert!(done.get() && producer.is_finished());
    assert_eq!(s.stats().dropped_dead, 2, "the message left queued and the retried one");
}

/// A message whose `Drop` sends through the very outbox handle that is delivering it.
struct SendsOnDrop {
    out: Option<Rc<axon_core::Outbox<SendsOnDrop>>>,
}

impl Drop for SendsOnDrop {
    fn drop(&mut self) {
        if let Some(out) = self.out.take() {
            // The second message carries no handle: the chain ends with it.
            out.send(SendsOnDrop { out: None }).ok();
        }
    }
}

/// A send that a dead destination refuses drops the message after the handle has its
/// destination back, so a send from the message's `Drop`, on the same handle, reaches the same
/// destination (dropped and counted as sent to an ended component again), not "nowhere".
#[test]
fn a_message_dropped_by_a_send_can_send_on_the_same_outbox_from_its_drop() {
    const B: &[BoxDecl] = &axon_core::boxes::standard::<SendsOnDrop>();
    let s = Scheduler::new();
    let a = s.create(from_fn(B, |_| async { Ok(()) }));
    let b = s.spawn(from_fn(B, |_| async { Ok(()) }));
    s.link((&a, "outbox"), (&b, "inbox")).unwrap();
    s.run_until_idle();
    assert!(b.is_finished(), "b has ended: its inbox refuses deliveries");
    let out = Rc::new(a.outbox::<SendsOnDrop>("outbox").unwrap());
    let before = s.stats();
    out.send(SendsOnDrop { out: Some(out.clone()) }).ok();
    let after = s.stats();
    assert_eq!(after.dropped_dead, before.dropped_dead + 2, "{after:?}");
    assert_eq!(after.dropped_unlinked, before.dropped_unlinked, "{after:?}");
}
