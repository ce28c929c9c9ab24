//! After 100 000 components have run and ended, the process's heap returns to where it started:
//! the bytes the scheduler allocated for them (task records, futures, boxes, run-queue and slot
//! growth) are all given back, not merely kept for reuse. Counted by a counting global
//! allocator, so this file is its own test binary.

use std::alloc::System;

use axon_core::{from_fn, Context, Scheduler};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

mod util;
use util::STD;

/// Each component links its outbox to its own inbox, sends itself a message, collects it and
/// yields once before ending: boxes, a link, the run queue and the slots are all exercised.
async fn busy(cx: Context) -> axon_core::ComponentResult {
    let me = cx.me();
    cx.link((&me, "outbox"), (&me, "inbox"))?;
    cx.send(1u32, "outbox")?;
    let _ = cx.recv::<u32>("inbox")?;
    cx.yield_now().await;
    Ok(())
}

fn net_bytes(r: &Region<'_, System>) -> i64 {
    let c = r.change();
    // A reallocation's growth or shrinkage is already counted in these two.
    c.bytes_allocated as i64 - c.bytes_deallocated as i64
}

#[test]
fn the_heap_returns_to_where_it_started_after_100_000_components_have_ended() {
    let sched = Scheduler::new();
    // Warm up: whatever the scheduler allocates once (its first slots, thread-locals).
    for _ in 0..10 {
        sched.spawn(from_fn(STD, busy));
    }
    sched.run();
    let region = Region::new(GLOBAL);
    for _ in 0..100_000 {
        sched.spawn(from_fn(STD, busy));
    }
    let grown = net_bytes(&region);
    assert!(grown > 10_000_000, "100 000 live components take memory ({grown} bytes)");
    sched.run();
    let left = net_bytes(&region);
    assert!(left < 64 * 1024, "{left} bytes still held after every component ended");

    // A burst whose last component outlives the others: the slots cannot shrink past it while
    // it lives, but are given back once it ends too.
    let region = Region::new(GLOBAL);
    burst_whose_last_outlives_it(&sched);
    sched.run();
    let left = net_bytes(&region);
    assert!(left < 64 * 1024, "{left} bytes still held once the last of the burst ended");

    // The same while a component from before the burst lives on: the slots shrink back to it
    // once the burst's last one ends, though an earlier try (while that one lived) could not.
    let region = Region::new(GLOBAL);
    let keeper = sched.spawn(from_fn(STD, parked));
    burst_whose_last_outlives_it(&sched);
    let left = net_bytes(&region);
    assert!(left < 64 * 1024, "{left} bytes still held with one component from before the burst alive");
    keeper.stop();
    sched.run();
}

/// Runs 100 000 busy components and one more that pauses until the rest have ended, then
/// stops that one too and runs until idle.
fn burst_whose_last_outlives_it(sched: &Scheduler) {
    for _ in 0..100_000 {
        sched.spawn(from_fn(STD, busy));
    }
    let last = sched.spawn(from_fn(STD, parked));
    sched.run_until_idle();
    last.stop();
    sched.run_until_idle();
}

/// Pauses until stopped.
async fn parked(cx: Context) -> axon_core::ComponentResult {
    loop {
        cx.pause().await;
    }
}
