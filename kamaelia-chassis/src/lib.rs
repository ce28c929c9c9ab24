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
//! - [`pipeline`](mod@pipeline): `Pipeline` and [`pipeline!`], children wired in a chain.
//! - [`graphline`](mod@graphline): `Graphline` and [`graphline!`], named children wired by a linkage table.
//! - [`child`]: `Child`, a chassis's not-yet-created child, and `WiringError`.
//! - [`carousel`]: `Carousel`, one child at a time, replaced on request.
//! - [`seq`]: `Seq`, components run one after another.
//! - [`splitter`]: `Splitter`, a copy of each message to every sink.
//! - [`backplane`]: `Backplane`, `PublishTo`, `SubscribeTo`: named publish/subscribe buses.
//! - [`components`]: `ConsoleReader`, `ConsoleEchoer`, `Map`: small everyday components.
//! - [`docs`]: the guide, the Axon-name table, the guarantees, the cookbook and the README (every code block
//!   in them is compiled and run as a test).
#![forbid(unsafe_code)]

pub mod backplane;
pub mod carousel;
pub mod child;
pub mod components;
pub mod connected_server;
pub mod docs;
pub mod graphline;
pub mod pipeline;
pub mod protocols;
pub mod seq;
pub mod splitter;

pub use backplane::{Backplane, BackplaneError, PublishTo, SubscribeTo};
pub use carousel::{Carousel, NextRequest};
pub use child::{Child, WiringError};
pub use components::{ConsoleEchoer, ConsoleReader, Map, PureTransformer};
pub use connected_server::{ConnectionInfo, ProtocolFactory, ServerCore, SimpleServer};
pub use graphline::Graphline;
pub use pipeline::Pipeline;
pub use protocols::EchoProtocol;
pub use seq::{Seq, SeqItem};
pub use splitter::{DropCounter, Sink, Splitter, SplitterConfig, SplitterStats};
