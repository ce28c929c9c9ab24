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

use std::io::Write;
use std::process::ExitCode;

use axon_core::threaded::Threaded;
use axon_core::Scheduler;
use kamaelia_chassis::{EchoProtocol, SimpleServer};
use kamaelia_examples::{addr_from_args, init_logging, ShutdownOnSignal};

fn main() -> ExitCode {
    init_logging();
    let addr = match addr_from_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("echo_server: {e}");
            return ExitCode::from(2);
        }
    };
    let server = match SimpleServer::new(addr, || EchoProtocol) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("echo_server: {e}");
            return ExitCode::FAILURE;
        }
    };
    let local = server.local_addr();
    let signals = match ShutdownOnSignal::new() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("echo_server: cannot install signal handlers: {e}");
            return ExitCode::FAILURE;
        }
    };
    let sched = Scheduler::new();
    let server = sched.create(server);
    let on_signal = sched.create(Threaded::new(signals));
    sched.link((&on_signal, "outbox"), (&server, "control")).expect("both boxes carry Ipc");
    sched.activate(&server);
    sched.activate(&on_signal);
    println!("listening on {local}");
    let _ = std::io::stdout().flush();
    sched.run();
    ExitCode::SUCCESS
}
