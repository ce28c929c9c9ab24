//! # kamaelia-net
//!
//! Kamaelia's networking components (`Kamaelia.Internet`) on [`axon_core`]: a listening
//! [`TcpServer`], a [`ConnectedSocketAdapter`] per connection, a connecting [`TcpClient`], and
//! the [`Reactor`] that wakes them when their sockets are ready.
//!
//! A server announces each connection as a [`SocketActivity::New`] carrying an adapter that is
//! created but not activated; the receiver wires it and activates it. Here the wiring is the
//! smallest possible echo: the adapter's `outbox` goes straight back into its own `inbox`, and
//! its `signal` into its own `control`, so when the peer finishes sending the adapter flushes
//! what it echoed and closes. (`kamaelia-chassis`'s `ServerCore` does this wiring properly, with
//! a protocol handler between the two.)
//!
//! ```
//! use std::io::{Read, Write};
//! use std::time::Duration;
//! use axon_core::{boxes, from_fn, BoxDecl, Scheduler};
//! use kamaelia_net::{Reactor, SocketActivity, TcpServer, PROTOCOL_HANDLER_SIGNAL};
//!
//! const WIRER: &[BoxDecl] = &[BoxDecl::inbox::<SocketActivity>("inbox")];
//!
//! let sched = Scheduler::new();
//! let server = TcpServer::bind("127.0.0.1:0".parse().unwrap())?;
//! let addr = server.local_addr();
//! let server = sched.spawn(server);
//! let wirer = sched.spawn(from_fn(WIRER, |cx| async move {
//!     let activity = cx.inbox::<SocketActivity>("inbox")?;
//!     loop {
//!         if let SocketActivity::New(new) = activity.recv_wait().await {
//!             cx.link((&new.csa, "outbox"), (&new.csa, "inbox"))?;   // echo
//!             cx.link((&new.csa, "signal"), (&new.csa, "control"))?; // peer done → flush, close
//!             cx.activate(&new.csa);
//!         }
//!     }
//! }));
//! sched.link((&server, PROTOCOL_HANDLER_SIGNAL), (&wirer, "inbox")).unwrap();
//!
//! let client = std::thread::spawn(move || -> std::io::Result<Vec<u8>> {
//!     let mut s = std::net::TcpStream::connect(addr)?;
//!     s.set_read_timeout(Some(Duration::from_secs(10)))?;
//!     s.write_all(b"hello, kamaelia")?;
//!     s.shutdown(std::net::Shutdown::Write)?;
//!     let mut echoed = Vec::new();
//!     s.read_to_end(&mut echoed)?;
//!     Ok(echoed)
//! });
//! // Run until the adapter has echoed, flushed and closed; the client then reads to EOF.
//! let reactor = Reactor::for_scheduler(&sched)?;
//! assert!(sched.run_until(Duration::from_secs(10), || reactor.stats().closed == 1));
//! assert_eq!(client.join().unwrap()?, b"hello, kamaelia");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Layout
//! - [`Reactor`] (`reactor`): a mio poll installed as the scheduler's park; socket components
//!   register with it and are woken directly by readiness (edge-triggered). [`NetStats`] are its
//!   counters.
//! - [`ipc`]: the messages — [`ipc::SocketShutdown`], [`ipc::ServerShutdown`],
//!   [`ipc::PeerEof`], [`ipc::ConnectFailed`], and the typed [`SocketActivity`]
//!   ([`ipc::NewCsa`], [`ipc::ShutdownCsa`]).
//! - [`TcpServer`] (`tcp_server`): binds, accepts, makes an adapter per connection.
//! - [`ConnectedSocketAdapter`] (`connected_socket_adapter`): one connection, bytes both ways
//!   with backpressure both ways.
//! - [`TcpClient`] (`tcp_client`): connects with a timeout, then wires an adapter through its
//!   own boxes.
//! - [`ShutdownOnSignal`] (`signal`): SIGINT or SIGTERM as a [`ipc::ServerShutdown`], woken
//!   through the reactor (no thread).
//!
//! # Choices this port makes
//! - **No Selector component**: readiness wakes the socket's own component; nothing is
//!   re-registered per event, nothing polls in a loop, an idle server uses no CPU.
//! - **Bounded everywhere on the data path**: an adapter's `inbox` is bounded (64 messages by
//!   default) and an adapter stops reading while its handler's inbox is full.
//! - **Half-close is not full close**: the peer's EOF is reported ([`ipc::PeerEof`]) and the
//!   handler's remaining output is still written before the socket closes.
//! - **Errors are reported**: a bind failure is the constructor's error; an accept error never
//!   stops a server; a connect failure is a [`ipc::ConnectFailed`] on the client's `signal`.
//! - **One read buffer per scheduler for small reads**: adapters read requests and lines into
//!   one arena the reactor owns, taken back to its front whenever the chunks split off it have
//!   all been dropped, so small reads on many connections keep landing in the same cache-hot
//!   bytes (a buffer per connection cost 8 % of the echo server's throughput at 1000
//!   connections); a connection moving bulk data reads into a buffer of its own.
//! - **One `unsafe` call**: an adapter reads into uninitialised buffer room (`src/read_buf.rs`)
//!   rather than zeroing 64 KiB before each buffer is used, which cost 5.75 % of the echo
//!   server's CPU in streaming. Its Miri tests run with
//!   `cargo +nightly miri test -p kamaelia-net --lib read_buf`.
#![deny(unsafe_code)] // `unsafe` only in modules that allow it, each with `// SAFETY:` and Miri tests.

mod connected_socket_adapter;
pub mod ipc;
mod reactor;
mod read_buf;
mod signal;
mod tcp_client;
mod tcp_server;

pub use axon_core::boxes::{CONTROL, INBOX, OUTBOX, SIGNAL};
pub use connected_socket_adapter::{
    ConnectedSocketAdapter, Csa, CsaConfig, CREATOR_FEEDBACK, DEFAULT_FLUSH_TIMEOUT, LINGER_QUIET,
};
pub use ipc::SocketActivity;
pub use reactor::{NetStats, Reactor};
pub use signal::ShutdownOnSignal;
pub use tcp_client::{TcpClient, SOCKET_FEEDBACK};
pub use tcp_server::{TcpServer, TcpServerConfig, FEEDBACK_FROM_CSA, PROTOCOL_HANDLER_SIGNAL};
