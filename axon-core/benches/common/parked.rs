//! What the spawn and memory benches both spawn: axon components that pause for ever, and the
//! tokio equivalent (tasks each awaiting a oneshot).
#![allow(dead_code, unreachable_pub)]

use std::sync::atomic::{AtomicUsize, Ordering};

use axon_core::{boxes, from_fn, BoxDecl, Component};

const BOXES: &[BoxDecl] = &boxes::standard::<u64>();

/// A component that pauses for ever without touching its boxes (they are created lazily).
pub fn parked() -> impl Component {
    from_fn(BOXES, |cx| async move {
        loop {
            cx.pause().await;
        }
    })
}

/// How many tokio tasks have been polled; one relaxed add per task.
static POLLED: AtomicUsize = AtomicUsize::new(0);

/// Spawns `k` tokio tasks on `rt`, each awaiting a oneshot whose sender is pushed onto
/// `senders` (keep them to keep the tasks parked), and runs until each has been polled once.
pub fn spawn_tokio_parked(
    rt: &tokio::runtime::Runtime,
    senders: &mut Vec<tokio::sync::oneshot::Sender<()>>,
    k: usize,
) {
    POLLED.store(0, Ordering::Relaxed);
    rt.block_on(async {
        for _ in 0..k {
            let (tx, rx) = tokio::sync::oneshot::channel::<()>();
            senders.push(tx);
            tokio::spawn(async move {
                POLLED.fetch_add(1, Ordering::Relaxed);
                let _ = rx.await;
            });
        }
        while POLLED.load(Ordering::Relaxed) < k {
            tokio::task::yield_now().await;
        }
    });
}
