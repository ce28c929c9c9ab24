//! Ready-made protocol handlers.

use axon_core::ipc::Ipc;
use axon_core::{boxes, BoxDecl, Component, ComponentResult, Context};
use bytes::Bytes;

/// Echoes every byte it receives (the seed's `EchoProtocol`).
///
/// # Inboxes
/// - `inbox` (`Bytes`): data from the client.
/// - `control` ([`Ipc`]): any stop message (`ProducerFinished`, `SocketShutdown`,
///   `ShutdownMicroprocess`) ends it.
///
/// # Outboxes
/// - `outbox` (`Bytes`): the same data, back to the client.
/// - `signal` ([`Ipc`]): the stop message it received, forwarded as it ends.
///
/// # Shutdown
/// It first echoes everything already in `inbox` (waiting for room when the connection's
/// output is full), then forwards the stop message on `signal` and ends.
#[derive(Clone, Copy, Debug, Default)]
pub struct EchoProtocol;

impl Component for EchoProtocol {
    fn boxes(&self) -> &'static [BoxDecl] {
        const B: &[BoxDecl] = &boxes::standard::<Bytes>();
        B
    }

    async fn main(self, cx: Context) -> ComponentResult {
        let inbox = cx.inbox::<Bytes>(boxes::INBOX)?;
        let control = cx.inbox::<Ipc>(boxes::CONTROL)?;
        let outbox = cx.outbox::<Bytes>(boxes::OUTBOX)?;
        let signal = cx.outbox::<Ipc>(boxes::SIGNAL)?;
        loop {
            while let Some(data) = inbox.recv() {
                outbox.send_wait(data).await;
            }
            if let Some(msg) = control.recv() {
                if msg.is_stop() {
                    while let Some(data) = inbox.recv() {
                        outbox.send_wait(data).await;
                    }
                    signal.send(msg).ok();
                    return Ok(());
                }
                // Not a stop (a `PeerEof`): look again before pausing, since a stop may be
                // queued behind it, delivered with the same wake.
                continue;
            }
            cx.pause().await;
        }
    }
}
