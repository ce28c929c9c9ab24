//! What an idle component costs in memory: a counting allocator (`stats_alloc`) records the heap
//! bytes requested while K components are spawned and run until each has paused, and the net
//! bytes still held are divided by K. The same for K tokio tasks each awaiting a `oneshot` on a
//! `current_thread` runtime. The figures are requested bytes; the allocator adds its own header
//! and rounding to each allocation, so the allocation count is printed too.
//!
//! ```text
//! cargo bench -p axon-core --bench memory
//! ```

use std::alloc::System;

use axon_core::{boxes, from_fn, BoxDecl, Component, Scheduler};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

mod common;
use common::parked::{parked, spawn_tokio_parked};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Components per measurement.
const K: usize = 100_000;

const BOXES: &[BoxDecl] = &boxes::standard::<u64>();

/// A component that takes a handle on its inbox (creating that box), then pauses forever.
fn parked_with_inbox() -> impl Component {
    from_fn(BOXES, |cx| async move {
        let inbox = cx.inbox::<u64>("inbox")?;
        loop {
            while inbox.recv().is_some() {}
            cx.pause().await;
        }
    })
}

/// Net bytes and allocations per item between `region`'s start and now.
fn per_item(region: &Region<'_, System>, k: usize) -> (f64, f64) {
    let s = region.change();
    let net = s.bytes_allocated as f64 - s.bytes_deallocated as f64;
    let allocs = s.allocations as f64 - s.deallocations as f64;
    (net / k as f64, allocs / k as f64)
}

fn axon<C: Component>(name: &str, make: fn() -> C) {
    let sched = Scheduler::new();
    let region = Region::new(GLOBAL);
    for _ in 0..K {
        sched.spawn(make());
    }
    sched.run_until_idle();
    let (bytes, allocs) = per_item(&region, K);
    assert_eq!(sched.component_count(), K);
    println!("memory/{name}: {bytes:.1} bytes/component, {allocs:.2} live allocations/component (K={K})");
}

fn tokio_oneshot() {
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("tokio runtime");
    let mut senders = Vec::with_capacity(K);
    let region = Region::new(GLOBAL);
    spawn_tokio_parked(&rt, &mut senders, K);
    let (bytes, allocs) = per_item(&region, K);
    println!("memory/tokio_task_oneshot: {bytes:.1} bytes/task, {allocs:.2} live allocations/task (K={K})");
    drop(rt);
    drop(senders);
}

fn main() {
    // Warm up thread-locals and lazily initialised statics before measuring.
    axon("axon_warmup", parked);
    axon("axon_parked", parked);
    axon("axon_parked_with_inbox", parked_with_inbox);
    tokio_oneshot();
}
