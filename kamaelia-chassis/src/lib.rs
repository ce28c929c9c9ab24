//! # kamaelia-chassis
//!
//! Kamaelia's chassis on `axon-core` and `kamaelia-net`: components that compose other
//! components. [`ServerCore`] and [`SimpleServer`] turn a protocol-handler factory into a TCP
//! server; [`EchoProtocol`] is the seed's echo handler.
//!
//! ```no_run
//! use kamaelia_chassis::{EchoProtocol, SimpleServer};
//!
//! let server = SimpleServer::new("127.0.0.1:0".parse().unwrap(), || EchoProtocol).expect("bind");
//! println!("listening on {}", server.local_addr());
//! let sched = axon_core::Scheduler::new();
//! sched.spawn(server);
//! sched.run();
//! ```
//!
//! # Layout
//! - [`connected_server`]: `ServerCore`, `SimpleServer` and their wiring.
//! - [`protocols`]: small ready-made protocol handlers.

pub mod connected_server;
pub mod protocols;

pub use connected_server::{ConnectionInfo, ProtocolFactory, ServerCore, SimpleServer};
pub use protocols::EchoProtocol;
