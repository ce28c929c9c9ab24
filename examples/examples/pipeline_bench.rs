//! Measures what one hop between two components costs: a source sends `0..M` through N forwarding
//! stages to a sink, all on one scheduler, and the sink checks it received every message, in
//! order (the process exits non-zero if not).
//!
//! The source sends as fast as the boxes allow (with `--bounded K` every stage's inbox holds at
//! most K messages and the senders use `send_wait`) and yields to the scheduler every `--batch`
//! messages (`--batch 1` yields after every message, the worst case for the scheduler). With
//! `--runtime tokio` the same pipeline runs as tokio tasks joined by `mpsc` channels on a
//! `current_thread` runtime, so the two can be compared from one binary.
//!
//! ```text
//! cargo run --release --example pipeline_bench -- --stages 10 --messages 1000000 [--bounded 64] \
//!     [--batch 128] [--runtime axon|tokio]
//! ```
//!
//! It prints one line, `RESULT stages=.. messages=.. batch=.. bounded=.. runtime=.. msgs_per_s=..
//! ns_per_hop=..`, where a hop is one message moving from one component to the next, so
//! `ns_per_hop = elapsed / (messages × (stages + 1))`.

use std::process::ExitCode;
use std::time::{Duration, Instant};

/// The pipeline itself, shared with the criterion bench so both measure the same code.
#[path = "../../axon-core/benches/common/pipeline.rs"]
mod pipeline;
use pipeline::{Tally, END};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Runtime {
    Axon,
    Tokio,
}

#[derive(Clone, Copy, Debug)]
struct Args {
    stages: usize,
    messages: u64,
    batch: u64,
    bounded: Option<usize>,
    runtime: Runtime,
}

const USAGE: &str = "usage: pipeline_bench [--stages N] [--messages M] [--bounded K] [--batch B] \
                     [--runtime axon|tokio]";

fn parse_args() -> Result<Args, String> {
    let mut args =
        Args { stages: 10, messages: 1_000_000, batch: 128, bounded: None, runtime: Runtime::Axon };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--help" || flag == "-h" {
            return Err(USAGE.to_owned());
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let bad = |e: &dyn std::fmt::Display| format!("{flag} {value}: {e}\n{USAGE}");
        match flag.as_str() {
            "--stages" => args.stages = value.parse().map_err(|e| bad(&e))?,
            "--messages" => args.messages = value.parse().map_err(|e| bad(&e))?,
            "--batch" => args.batch = value.parse().map_err(|e| bad(&e))?,
            "--bounded" => {
                let k: usize = value.parse().map_err(|e| bad(&e))?;
                args.bounded = (k > 0).then_some(k);
            }
            "--runtime" => {
                args.runtime = match value.as_str() {
                    "axon" => Runtime::Axon,
                    "tokio" => Runtime::Tokio,
                    _ => return Err(bad(&"expected axon or tokio")),
                }
            }
            _ => return Err(format!("unknown option {flag}\n{USAGE}")),
        }
    }
    if args.batch == 0 {
        return Err(format!("--batch must be at least 1\n{USAGE}"));
    }
    if args.messages == END {
        return Err(format!("--messages must be below {END}\n{USAGE}"));
    }
    Ok(args)
}

fn run(a: &Args) -> Result<(Duration, Tally), Box<dyn std::error::Error>> {
    let start = Instant::now();
    let tally = match a.runtime {
        Runtime::Axon => {
            std::rc::Rc::try_unwrap(pipeline::run_axon(a.stages, a.messages, a.batch, a.bounded))
                .map_err(|_| "the sink's tally is still shared")?
        }
        Runtime::Tokio => {
            let rt = tokio::runtime::Builder::new_current_thread().build()?;
            pipeline::run_tokio(&rt, a.stages, a.messages, a.batch, a.bounded)
        }
    };
    Ok((start.elapsed(), tally))
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let (elapsed, tally) = match run(&args) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("pipeline_bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    if !tally.is_complete(args.messages) {
        eprintln!(
            "pipeline_bench: the sink received {} of {} messages{}",
            tally.received.get(),
            args.messages,
            if tally.out_of_order.get() { ", out of order" } else { "" }
        );
        return ExitCode::FAILURE;
    }
    let secs = elapsed.as_secs_f64();
    let hops = args.messages as f64 * (args.stages as f64 + 1.0);
    println!(
        "RESULT stages={} messages={} batch={} bounded={} runtime={} msgs_per_s={:.0} ns_per_hop={:.2}",
        args.stages,
        args.messages,
        args.batch,
        args.bounded.map_or_else(|| "none".to_owned(), |k| k.to_string()),
        match args.runtime {
            Runtime::Axon => "axon",
            Runtime::Tokio => "tokio",
        },
        args.messages as f64 / secs,
        secs * 1e9 / hops,
    );
    ExitCode::SUCCESS
}
