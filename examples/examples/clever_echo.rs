//! The seed's second example: a `ServerCore` whose handler greets each client with where it
//! connected from, then echoes.
//!
//! ```text
//! cargo run --release --example clever_echo                 # listens on 127.0.0.1:1601
//! cargo run --release --example clever_echo -- --addr 127.0.0.1:8081
//! ```
//! then `telnet 127.0.0.1 1601`:
//! ```text
//! Welcome! You have connected to 127.0.0.1 on port 1601 from 127.0.0.1 on port 47316
//! ```
//! and everything typed comes back. Ctrl-C or SIGTERM shuts it down cleanly (exit 0).

use std::process::ExitCode;

use axon_core::{boxes, BoxDecl, Component, ComponentResult, Context};
use bytes::Bytes;
use kamaelia_chassis::{ConnectionInfo, EchoProtocol, ServerCore};

/// Sends the greeting, then behaves as [`EchoProtocol`].
struct CleverEchoProtocol {
    info: ConnectionInfo,
}

impl Component for CleverEchoProtocol {
    fn boxes(&self) -> &'static [BoxDecl] {
        const B: &[BoxDecl] = &boxes::standard::<Bytes>();
        B
    }

    async fn main(self, cx: Context) -> ComponentResult {
        let welcome = format!(
            "Welcome! You have connected to {} on port {} from {} on port {}\n",
            self.info.local_ip(),
            self.info.local_port(),
            self.info.peer_ip(),
            self.info.peer_port()
        );
        cx.outbox::<Bytes>("outbox")?.send_wait(Bytes::from(welcome)).await;
        EchoProtocol.main(cx).await
    }
}

fn main() -> ExitCode {
    kamaelia_examples::serve(
        "clever_echo",
        |addr| {
            let server = ServerCore::new(addr, |info: &ConnectionInfo| CleverEchoProtocol { info: *info })?;
            let local = server.local_addr();
            Ok((server, local))
        },
        |_| {},
    )
}
