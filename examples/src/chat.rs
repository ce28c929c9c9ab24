//! The chat server of Kamaelia's tutorials, in Rust: a `Backplane` that every connection
//! publishes to and subscribes to, and a `ServerCore` whose per-connection handler is a
//! `Pipeline`:
//!
//! ```text
//! client bytes → Lines → Map(prefix "<peer> says: ") → PublishTo("CHAT")
//!                                                      SubscribeTo("CHAT") → Welcome → NotMine → client
//! ```
//!
//! `PublishTo`'s output is nothing (publishing is a direct delivery into the backplane), so the
//! pipeline's second half carries only what the backplane sends: every line published since this
//! client joined, less the client's own.

use std::net::SocketAddr;

use axon_core::ipc::Ipc;
use axon_core::{BoxDecl, Component, ComponentResult, Context};
use bytes::{Bytes, BytesMut};
use kamaelia_chassis::{
    pipeline, Backplane, ConnectionInfo, Map, Pipeline, PublishTo, ServerCore, SubscribeTo,
};

/// The backplane's name.
pub const CHAT: &str = "CHAT";

/// One line said by one client, as it travels on the backplane.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatLine {
    /// Who said it.
    pub from: SocketAddr,
    /// The line as others see it, prefix included.
    pub text: Bytes,
}

/// The backplane every connection shares. Activate it before the server.
pub fn backplane() -> Backplane<ChatLine> {
    Backplane::new(CHAT)
}

/// A chat server on `addr`.
///
/// # Errors
/// The bind error.
pub fn server(
    addr: SocketAddr,
) -> std::io::Result<ServerCore<impl FnMut(&ConnectionInfo) -> Pipeline<Bytes, Bytes> + 'static>> {
    ServerCore::new(addr, |info: &ConnectionInfo| handler(info.peer))
}

/// The per-connection handler.
pub fn handler(peer: SocketAddr) -> Pipeline<Bytes, Bytes> {
    pipeline![
        Lines::default(),
        Map::new(move |line: Bytes| {
            let mut text = BytesMut::from(format!("{peer} says: ").as_bytes());
            text.extend_from_slice(&line);
            ChatLine { from: peer, text: text.freeze() }
        }),
        PublishTo::<ChatLine>::new(CHAT),
        SubscribeTo::<ChatLine>::new(CHAT),
        Welcome { peer },
        NotMine { me: peer },
    ]
}

/// Splits a byte stream into lines (each ending in `\n`); at the end, a last unterminated line
/// is sent with a `\n` added.
///
/// # Shutdown
/// On any stop message it sends what it holds, forwards the message on `signal` and ends.
#[derive(Debug, Default)]
pub struct Lines {
    partial: BytesMut,
}

const BYTES: &[BoxDecl] = &axon_core::boxes::standard::<Bytes>();

impl Component for Lines {
    fn boxes(&self) -> &'static [BoxDecl] {
        BYTES
    }

    async fn main(mut self, cx: Context) -> ComponentResult {
        let inbox = cx.inbox::<Bytes>("inbox")?;
        let control = cx.inbox::<Ipc>("control")?;
        let outbox = cx.outbox::<Bytes>("outbox")?;
        loop {
            while let Some(data) = inbox.recv() {
                self.partial.extend_from_slice(&data);
                while let Some(i) = self.partial.iter().position(|&b| b == b'\n') {
                    outbox.send_wait(self.partial.split_to(i + 1).freeze()).await;
                }
            }
            if let Some(msg) = control.recv() {
                if msg.is_stop() {
                    if !self.partial.is_empty() {
                        self.partial.extend_from_slice(b"\n");
                        outbox.send_wait(self.partial.split().freeze()).await;
                    }
                    cx.send(msg, "signal")?;
                    return Ok(());
                }
                // Not a stop: a stop may be queued behind it, delivered with the same wake.
                continue;
            }
            cx.pause().await;
        }
    }
}

/// Sends the client `* welcome, <peer>` once, then passes chat lines on.
///
/// It stands after `SubscribeTo` in the pipeline, so it runs after the subscription was
/// requested: by the time the client can read the welcome and answer, the backplane has added
/// the subscriber, and the client sees every line said from then on.
#[derive(Debug)]
pub struct Welcome {
    peer: SocketAddr,
}

const CHAT_LINES: &[BoxDecl] = &axon_core::boxes::standard::<ChatLine>();

impl Component for Welcome {
    fn boxes(&self) -> &'static [BoxDecl] {
        CHAT_LINES
    }

    async fn main(self, cx: Context) -> ComponentResult {
        let outbox = cx.outbox::<ChatLine>("outbox")?;
        let text = Bytes::from(format!("* welcome, {}\n", self.peer));
        outbox.send_wait(ChatLine { from: "0.0.0.0:0".parse()?, text }).await;
        forward(&cx, |line: ChatLine| Some(line)).await
    }
}

/// Passes on the lines said by others, as bytes for the client.
#[derive(Debug)]
pub struct NotMine {
    me: SocketAddr,
}

impl Component for NotMine {
    fn boxes(&self) -> &'static [BoxDecl] {
        const B: &[BoxDecl] = &[
            BoxDecl::inbox::<ChatLine>("inbox"),
            BoxDecl::inbox::<Ipc>("control"),
            BoxDecl::outbox::<Bytes>("outbox"),
            BoxDecl::outbox::<Ipc>("signal"),
        ];
        B
    }

    async fn main(self, cx: Context) -> ComponentResult {
        let me = self.me;
        forward(&cx, move |line: ChatLine| (line.from != me).then_some(line.text)).await
    }
}

/// Sends `f(msg)` for each message until a stop message, which it forwards on `signal`.
async fn forward<In: 'static, Out: 'static>(
    cx: &Context,
    mut f: impl FnMut(In) -> Option<Out>,
) -> ComponentResult {
    let inbox = cx.inbox::<In>("inbox")?;
    let control = cx.inbox::<Ipc>("control")?;
    let outbox = cx.outbox::<Out>("outbox")?;
    loop {
        while let Some(m) = inbox.recv() {
            if let Some(out) = f(m) {
                outbox.send_wait(out).await;
            }
        }
        if let Some(msg) = control.recv() {
            if msg.is_stop() {
                cx.send(msg, "signal")?;
                return Ok(());
            }
            // Not a stop: a stop may be queued behind it, delivered with the same wake.
            continue;
        }
        cx.pause().await;
    }
}
