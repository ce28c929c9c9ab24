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

use std::io::Write;
use std::process::ExitCode;

use axon_core::threaded::Threaded;
use axon_core::Scheduler;
use kamaelia_examples::{addr_from_args, chat, init_logging, ShutdownOnSignal};

fn main() -> ExitCode {
    init_logging();
    let addr = match addr_from_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("chat_server: {e}");
            return ExitCode::from(2);
        }
    };
    let server = match chat::server(addr) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("chat_server: {e}");
            return ExitCode::FAILURE;
        }
    };
    let local = server.local_addr();
    let signals = match ShutdownOnSignal::new() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("chat_server: cannot install signal handlers: {e}");
            return ExitCode::FAILURE;
        }
    };
    let sched = Scheduler::new();
    let backplane = sched.spawn(chat::backplane());
    let server = sched.create(server);
    let on_signal = sched.create(Threaded::new(signals));
    sched.link((&on_signal, "outbox"), (&server, "control")).expect("both boxes carry Ipc");
    sched.activate(&server);
    sched.activate(&on_signal);
    println!("listening on {local}");
    let _ = std::io::stdout().flush();
    // Run until the server has shut down, then end the backplane too.
    sched.run_until(std::time::Duration::MAX, || server.is_finished());
    backplane.deliver("control", axon_core::ipc::Ipc::shutdown_microprocess()).ok();
    sched.run();
    ExitCode::SUCCESS
}
