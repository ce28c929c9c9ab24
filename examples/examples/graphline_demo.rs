//! A `Graphline`: named components and a linkage table, with shutdown propagating cleanly
//! through it (Kamaelia's `Graphline(..., linkages={...})`).
//!
//! ```text
//! cargo run --example graphline_demo
//! ```
//! `COUNT` sends 1..=5 and then `ProducerFinished`; `SQUARE` squares; `SHOW` prints. The
//! `signal → control` links carry the `ProducerFinished` along, each component finishes what it
//! holds and ends, and the Graphline — which ends only when every child has — ends too,
//! forwarding the message out of its own `signal`. The program prints the squares and how each
//! component ended.

use axon_core::ipc::{Ipc, ProducerFinished};
use axon_core::{boxes, from_fn, BoxDecl, Scheduler};
use kamaelia_chassis::{graphline, ConsoleEchoer, Graphline, Map};

const NUMBERS: &[BoxDecl] = &boxes::standard::<u64>();
const MESSAGES: &[BoxDecl] = &boxes::standard::<Ipc>();

fn main() {
    let count = from_fn(NUMBERS, |cx| async move {
        let out = cx.outbox::<u64>("outbox")?;
        for n in 1..=5 {
            out.send_wait(n).await;
        }
        cx.send(Ipc::new(ProducerFinished::from_caller(cx.id())), "signal")?;
        Ok(())
    });
    let squares: Graphline<u64, String> = graphline! {
        COUNT = count,
        SQUARE = Map::new(|n: u64| n * n),
        SHOW = ConsoleEchoer::<u64>::new().lines();
        ("COUNT", "outbox") => ("SQUARE", "inbox"),
        ("COUNT", "signal") => ("SQUARE", "control"),
        ("SQUARE", "outbox") => ("SHOW", "inbox"),
        ("SQUARE", "signal") => ("SHOW", "control"),
    };
    let sched = Scheduler::new();
    let g = sched.create(squares);
    let seen = sched.create(from_fn(MESSAGES, |cx| async move {
        let msg = cx.inbox::<Ipc>("inbox")?.recv_wait().await;
        println!("the graphline said: {msg:?}");
        Ok(())
    }));
    sched.link((&g, "signal"), (&seen, "inbox")).expect("both carry Ipc");
    sched.activate(&g);
    sched.activate(&seen);
    sched.run();
    println!("graphline ended: {}", g.end_cause().map_or("?".into(), |c| c.to_string()));
}
