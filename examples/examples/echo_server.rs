//! The seed's first example: a `SimpleServer` whose protocol handler echoes back everything a
//! client sends.
//!
//! ```text
//! cargo run --release --example echo_server                 # listens on 127.0.0.1:1601
//! cargo run --release --example echo_server -- --addr 127.0.0.1:12345
//! ```
//! then, in another terminal, `nc 127.0.0.1 1601` (or `telnet 127.0.0.1 1601`) and type: every
//! line comes back. Ctrl-C (SIGINT) or SIGTERM runs the controlled shutdown — stop accepting,
//! let queued output flush, close — and the process exits 0.

use std::process::ExitCode;

use kamaelia_chassis::{EchoProtocol, SimpleServer};

fn main() -> ExitCode {
    kamaelia_examples::serve(
        "echo_server",
        |addr| {
            let server = SimpleServer::new(addr, || EchoProtocol)?;
            let local = server.local_addr();
            Ok((server, local))
        },
        |_| {},
    )
}
