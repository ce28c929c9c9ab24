//! A pipeline from the console to the console, as Kamaelia's
//! `Pipeline(ConsoleReader(), PureTransformer(f), ConsoleEchoer()).run()`: every line typed is
//! shouted back.
//!
//! ```text
//! cargo run --example pipeline_demo
//! ```
//! Type lines; each comes back upper-cased. End with Ctrl-D (EOF): the reader says
//! `ProducerFinished`, which travels down the pipeline's `signal → control` links, each
//! component finishes what it holds and ends, and the program exits.
//! (`printf 'hello\nworld\n' | cargo run --example pipeline_demo` shows it without typing.)

use axon_core::Scheduler;
use kamaelia_chassis::{pipeline, ConsoleEchoer, ConsoleReader, Map, Pipeline};

fn main() {
    let shout: Pipeline<String, String> = pipeline![
        ConsoleReader::new(),
        Map::new(|line: String| line.to_uppercase()),
        ConsoleEchoer::<String>::new(),
    ];
    let sched = Scheduler::new();
    let p = sched.spawn(shout);
    sched.run();
    if let Some(cause) = p.end_cause() {
        eprintln!("pipeline {cause}");
    }
}
