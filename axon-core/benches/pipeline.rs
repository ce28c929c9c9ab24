//! What one hop between two components costs: a source sends `0..M` through N forwarding stages
//! to a sink that checks every message arrived in order, the source yielding every 128 messages.
//!
//! Each case runs on axon-core's scheduler with unbounded boxes and with every inbox bounded to
//! 64 (the senders using `send_wait`), and, in the same run so the ratio is fair, as tokio tasks
//! joined by `mpsc` channels (unbounded and `channel(64)`) on a `current_thread` runtime. A plain
//! `VecDeque` per stage, moved by one loop, is the floor.
//!
//! Throughput is counted in hops (`M × (N + 1)` message moves), so criterion's `elem/s` is hops
//! per second and its inverse the cost of one hop. M is 1 000 000 up to 10 stages and 100 000 at
//! 100 stages, to keep the run short.
//!
//! ```text
//! cargo bench -p axon-core --bench pipeline
//! ```

use std::collections::VecDeque;
use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};

mod common;
use common::pipeline::{run_axon, run_tokio};

/// How many messages the source sends between two yields.
const BATCH: u64 = 128;
/// The bound of every inbox in the bounded cases.
const BOUND: usize = 64;

/// The floor: one `VecDeque` per link, moved batch by batch by a single loop.
fn run_vecdeque(stages: usize, messages: u64, batch: u64) -> u64 {
    let mut queues: Vec<VecDeque<u64>> = (0..=stages).map(|_| VecDeque::new()).collect();
    let mut received = 0;
    let mut next = 0;
    while next < messages {
        let end = (next + batch).min(messages);
        queues[0].extend(next..end);
        next = end;
        for i in 0..stages {
            let (from, to) = queues.split_at_mut(i + 1);
            while let Some(m) = from[i].pop_front() {
                to[0].push_back(black_box(m));
            }
        }
        while let Some(m) = queues[stages].pop_front() {
            assert_eq!(m, received, "out of order");
            received += 1;
        }
    }
    received
}

fn messages_for(stages: usize) -> u64 {
    if stages >= 100 {
        100_000
    } else {
        1_000_000
    }
}

fn pipeline(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("tokio runtime");
    let mut g = c.benchmark_group("pipeline");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for stages in [1usize, 10, 100] {
        let m = messages_for(stages);
        g.throughput(Throughput::Elements(m * (stages as u64 + 1)));
        g.bench_with_input(BenchmarkId::new("vecdeque", stages), &stages, |b, &n| {
            b.iter(|| assert_eq!(run_vecdeque(n, m, BATCH), m));
        });
        for (name, bound) in [("unbounded", None), ("bounded64", Some(BOUND))] {
            g.bench_with_input(BenchmarkId::new(format!("axon_{name}"), stages), &stages, |b, &n| {
                b.iter(|| assert!(run_axon(n, m, BATCH, bound).is_complete(m)));
            });
            g.bench_with_input(BenchmarkId::new(format!("tokio_{name}"), stages), &stages, |b, &n| {
                b.iter(|| assert!(run_tokio(&rt, n, m, BATCH, bound).is_complete(m)));
            });
        }
    }
    g.finish();

    // The scheduler's worst case: the source yields after every message.
    let mut g = c.benchmark_group("pipeline_batch1");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    let (stages, m) = (10usize, 200_000u64);
    g.throughput(Throughput::Elements(m * (stages as u64 + 1)));
    for (name, bound) in [("unbounded", None), ("bounded64", Some(BOUND))] {
        g.bench_with_input(BenchmarkId::new(format!("axon_{name}"), stages), &stages, |b, &n| {
            b.iter(|| assert!(run_axon(n, m, 1, bound).is_complete(m)));
        });
        g.bench_with_input(BenchmarkId::new(format!("tokio_{name}"), stages), &stages, |b, &n| {
            b.iter(|| assert!(run_tokio(&rt, n, m, 1, bound).is_complete(m)));
        });
    }
    g.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    pipeline(&mut c);
    c.final_summary();
}
