//! Kamaelia's chat server: every line one client types appears at every other client, prefixed
//! with who said it. A `Backplane` carries the lines; each connection's handler is a `Pipeline`
//! that publishes what its client says and subscribes to what everyone says (see
//! `examples/src/chat.rs`).
//!
//! ```text
//! cargo run --release --example chat_server                 # listens on 127.0.0.1:1601
//! ```
//! then, in two or more other terminals, `nc 127.0.0.1 1601` and type. Ctrl-C or SIGTERM shuts
//! the server down cleanly (exit 0).

use std::process::ExitCode;

use kamaelia_examples::chat;

fn main() -> ExitCode {
    kamaelia_examples::serve(
        "chat_server",
        |addr| {
            let server = chat::server(addr)?;
            let local = server.local_addr();
            Ok((server, local))
        },
        // The backplane the connections publish to and subscribe to comes first.
        |sched| {
            sched.spawn(chat::backplane());
        },
    )
}
