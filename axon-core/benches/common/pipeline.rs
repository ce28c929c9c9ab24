//! The pipeline both `benches/pipeline.rs` and the `pipeline_bench` example measure: a source
//! sending `0..M` (then an end marker) through N forwarding stages to a sink that counts what
//! arrives and notes anything out of order — on axon-core, and the same shape on tokio
//! `current_thread` with `mpsc` channels. One file, so the two measure exactly the same code.
#![allow(dead_code, unreachable_pub)]

use std::cell::Cell;
use std::rc::Rc;

use axon_core::{boxes, from_fn, BoxDecl, Component, Scheduler};

/// Marks the end of the stream; not counted.
pub const END: u64 = u64::MAX;

const BOXES: &[BoxDecl] = &boxes::standard::<u64>();

/// What the sink saw.
#[derive(Debug, Default)]
pub struct Tally {
    /// Messages received.
    pub received: Cell<u64>,
    /// Whether one arrived out of place.
    pub out_of_order: Cell<bool>,
}

impl Tally {
    fn take(&self, m: u64) {
        if m != self.received.get() {
            self.out_of_order.set(true);
        }
        self.received.set(self.received.get() + 1);
    }

    /// Whether exactly `0..messages` arrived, in order.
    pub fn is_complete(&self, messages: u64) -> bool {
        self.received.get() == messages && !self.out_of_order.get()
    }
}

fn axon_source(messages: u64, batch: u64, bounded: bool) -> impl Component {
    from_fn(BOXES, move |cx| async move {
        let out = cx.outbox::<u64>("outbox")?;
        let mut since_yield = 0;
        for i in (0..messages).chain([END]) {
            if bounded {
                out.send_wait(i).await;
            } else {
                out.send(i)?;
            }
            since_yield += 1;
            if since_yield == batch {
                since_yield = 0;
                cx.yield_now().await;
            }
        }
        Ok(())
    })
}

fn axon_stage(bounded: bool) -> impl Component {
    from_fn(BOXES, move |cx| async move {
        let inbox = cx.inbox::<u64>("inbox")?;
        let out = cx.outbox::<u64>("outbox")?;
        loop {
            while let Some(m) = inbox.recv() {
                if bounded {
                    out.send_wait(m).await;
                } else {
                    out.send(m)?;
                }
                if m == END {
                    return Ok(());
                }
            }
            cx.pause().await;
        }
    })
}

fn axon_sink(tally: Rc<Tally>) -> impl Component {
    from_fn(BOXES, move |cx| async move {
        let inbox = cx.inbox::<u64>("inbox")?;
        loop {
            while let Some(m) = inbox.recv() {
                if m == END {
                    return Ok(());
                }
                tally.take(m);
            }
            cx.pause().await;
        }
    })
}

/// Runs the pipeline on a fresh scheduler, every inbox bounded to `bounded` if given.
pub fn run_axon(stages: usize, messages: u64, batch: u64, bounded: Option<usize>) -> Rc<Tally> {
    let sched = Scheduler::new();
    let tally = Rc::new(Tally::default());
    let is_bounded = bounded.is_some();
    let mut chain = vec![sched.create(axon_source(messages, batch, is_bounded))];
    chain.extend((0..stages).map(|_| sched.create(axon_stage(is_bounded))));
    chain.push(sched.create(axon_sink(tally.clone())));
    for pair in chain.windows(2) {
        sched.link((&pair[0], "outbox"), (&pair[1], "inbox")).expect("boxes of one type");
        pair[1].inbox::<u64>("inbox").expect("declared").set_size(bounded);
    }
    for c in &chain {
        sched.activate(c);
    }
    sched.run();
    tally
}

/// Sends into either kind of tokio channel.
enum Tx {
    Unbounded(tokio::sync::mpsc::UnboundedSender<u64>),
    Bounded(tokio::sync::mpsc::Sender<u64>),
}

impl Tx {
    async fn send(&self, m: u64) {
        // A send fails only when the receiver has gone, which the sink's tally will show.
        let _ = match self {
            Tx::Unbounded(tx) => tx.send(m).map_err(drop),
            Tx::Bounded(tx) => tx.send(m).await.map_err(drop),
        };
    }
}

/// Receives from either kind of tokio channel.
enum Rx {
    Unbounded(tokio::sync::mpsc::UnboundedReceiver<u64>),
    Bounded(tokio::sync::mpsc::Receiver<u64>),
}

impl Rx {
    async fn recv(&mut self) -> Option<u64> {
        match self {
            Rx::Unbounded(rx) => rx.recv().await,
            Rx::Bounded(rx) => rx.recv().await,
        }
    }
}

fn channel(bounded: Option<usize>) -> (Tx, Rx) {
    match bounded {
        Some(k) => {
            let (tx, rx) = tokio::sync::mpsc::channel(k);
            (Tx::Bounded(tx), Rx::Bounded(rx))
        }
        None => {
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            (Tx::Unbounded(tx), Rx::Unbounded(rx))
        }
    }
}

/// The same pipeline as tokio tasks joined by `mpsc` channels (`channel(k)` when bounded) on
/// `rt`, a `current_thread` runtime.
pub fn run_tokio(
    rt: &tokio::runtime::Runtime,
    stages: usize,
    messages: u64,
    batch: u64,
    bounded: Option<usize>,
) -> Tally {
    let (received, out_of_order) = rt.block_on(async move {
        let (first_tx, mut rx) = channel(bounded);
        for _ in 0..stages {
            let (tx, next_rx) = channel(bounded);
            let mut stage_rx = std::mem::replace(&mut rx, next_rx);
            tokio::spawn(async move {
                while let Some(m) = stage_rx.recv().await {
                    tx.send(m).await;
                }
            });
        }
        let sink = tokio::spawn(async move {
            let (mut received, mut out_of_order) = (0u64, false);
            while let Some(m) = rx.recv().await {
                out_of_order |= m != received;
                received += 1;
            }
            (received, out_of_order)
        });
        let mut since_yield = 0;
        for i in 0..messages {
            first_tx.send(i).await;
            since_yield += 1;
            if since_yield == batch {
                since_yield = 0;
                tokio::task::yield_now().await;
            }
        }
        drop(first_tx);
        sink.await.expect("the sink task")
    });
    Tally { received: Cell::new(received), out_of_order: Cell::new(out_of_order) }
}
