//! How fast components are spawned: K components are created and activated, and the scheduler
//! runs until each has run once and paused (each pauses forever), so the rate counts a spawn, an
//! activation, a first poll and a park. tokio, in the same run: K tasks spawned on a
//! `current_thread` runtime, each awaiting a `oneshot`, until each has been polled once.
//!
//! Tearing the scheduler or runtime down is not timed. Bytes per component are measured by the
//! `memory` bench, whose counting allocator would slow this one down.
//!
//! ```text
//! cargo bench -p axon-core --bench spawn
//! ```

use std::time::{Duration, Instant};

use axon_core::Scheduler;
use criterion::{Criterion, SamplingMode, Throughput};

mod common;
use common::parked::{parked, spawn_tokio_parked};

/// Components spawned per iteration.
const K: usize = 100_000;

/// Spawns `k` parked components on a fresh scheduler and runs until all have paused; returns
/// the time that took (the scheduler's teardown excluded).
fn spawn_axon(k: usize) -> Duration {
    let sched = Scheduler::new();
    let start = Instant::now();
    for _ in 0..k {
        sched.spawn(parked());
    }
    sched.run_until_idle();
    let elapsed = start.elapsed();
    assert_eq!(sched.component_count(), k);
    drop(sched);
    elapsed
}

/// Spawns `k` tokio tasks, each awaiting a oneshot, on a fresh `current_thread` runtime and runs
/// until each has been polled once; returns the time that took.
fn spawn_tokio(k: usize) -> Duration {
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("tokio runtime");
    let mut senders = Vec::with_capacity(k);
    let start = Instant::now();
    spawn_tokio_parked(&rt, &mut senders, k);
    let elapsed = start.elapsed();
    drop(rt);
    drop(senders);
    elapsed
}

fn spawn(c: &mut Criterion) {
    let mut g = c.benchmark_group("spawn_and_park");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Elements(K as u64));
    g.bench_function("axon", |b| b.iter_custom(|iters| (0..iters).map(|_| spawn_axon(K)).sum()));
    g.bench_function("tokio", |b| b.iter_custom(|iters| (0..iters).map(|_| spawn_tokio(K)).sum()));
    g.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    spawn(&mut c);
    c.final_summary();
}
