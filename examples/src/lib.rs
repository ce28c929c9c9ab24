//! Shared pieces of the kamaelia-rs examples: command-line parsing, logging, and the `main` of a
//! server that SIGINT/SIGTERM shut down in a controlled way ([`kamaelia_net::ShutdownOnSignal`]).
#![forbid(unsafe_code)]

pub mod chat;

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use axon_core::{Component, Scheduler};
use kamaelia_net::ShutdownOnSignal;

/// The address the example servers listen on unless told otherwise (Kamaelia's default port).
pub const DEFAULT_ADDR: &str = "127.0.0.1:1601";

/// Reads `--addr ADDR` from the command line, defaulting to [`DEFAULT_ADDR`].
///
/// # Errors
/// A message naming the bad argument.
pub fn addr_from_args() -> Result<SocketAddr, String> {
    addr_from_args_or(DEFAULT_ADDR)
}

/// Reads `--addr ADDR` from the command line, defaulting to `default` (for a server that should
/// not collide with the examples' default port).
///
/// # Errors
/// A message naming the bad argument.
pub fn addr_from_args_or(default: &str) -> Result<SocketAddr, String> {
    let mut args = std::env::args().skip(1);
    let mut addr = default.to_owned();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--addr" => addr = args.next().ok_or("--addr needs a value, e.g. 127.0.0.1:1601")?,
            "-h" | "--help" => return Err(format!("usage: [--addr ADDR] (default {default})")),
            other => return Err(format!("unknown argument {other:?}; usage: [--addr ADDR]")),
        }
    }
    addr.parse().map_err(|e| format!("bad --addr {addr:?}: {e}"))
}

/// Sends logs to stderr, filtered by `RUST_LOG` (default `warn`).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

/// Runs an example server: reads `--addr`, makes the server with `make` (which binds and
/// returns the server and the address it is bound to), lets `setup` add anything else the
/// server needs to the scheduler, prints `listening on <addr>` (flushed), and runs until the
/// server has shut down — on SIGINT or SIGTERM, through its controlled shutdown. Whatever else
/// is still running then is stopped, and the process exits 0.
pub fn serve<S: Component>(
    name: &str,
    make: impl FnOnce(SocketAddr) -> std::io::Result<(S, SocketAddr)>,
    setup: impl FnOnce(&Scheduler),
) -> ExitCode {
    init_logging();
    let fail = |what: String, code: ExitCode| {
        eprintln!("{name}: {what}");
        code
    };
    let addr = match addr_from_args() {
        Ok(a) => a,
        Err(e) => return fail(e, ExitCode::from(2)),
    };
    let (server, local) = match make(addr) {
        Ok(s) => s,
        Err(e) => return fail(e.to_string(), ExitCode::FAILURE),
    };
    let signals = match ShutdownOnSignal::new() {
        Ok(s) => s,
        Err(e) => return fail(format!("cannot install signal handlers: {e}"), ExitCode::FAILURE),
    };
    let sched = Scheduler::new();
    setup(&sched);
    let server = sched.create(server);
    let on_signal = sched.create(signals);
    if let Err(e) = sched.link((&on_signal, "outbox"), (&server, "control")) {
        return fail(e.to_string(), ExitCode::FAILURE);
    }
    sched.activate(&server);
    sched.activate(&on_signal);
    println!("listening on {local}");
    let _ = std::io::stdout().flush();
    sched.run_until(std::time::Duration::MAX, || server.is_finished());
    sched.stop();
    ExitCode::SUCCESS
}
