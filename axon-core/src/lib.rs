//! # axon-core
//!
//! The Axon component model — Kamaelia's foundation — in Rust: components with named, typed
//! inboxes and outboxes; a linkage graph that wires outboxes to inboxes; and a cooperative,
//! single-threaded scheduler that runs them. A Python component was a generator; here it is an
//! `async fn main`, which the compiler turns into the same kind of resumable state machine.
//!
//! ```
//! use axon_core::{boxes, from_fn, BoxDecl, Component, ComponentResult, Context, Scheduler};
//! use axon_core::ipc::Ipc;
//!
//! /// Sends three lines, then says it has finished.
//! struct Producer;
//! impl Component for Producer {
//!     fn boxes(&self) -> &'static [BoxDecl] {
//!         const B: &[BoxDecl] = &boxes::standard::<String>();
//!         B
//!     }
//!     async fn main(self, cx: Context) -> ComponentResult {
//!         let out = cx.outbox::<String>("outbox")?;
//!         for word in ["hello", "kamaelia", "world"] {
//!             out.send_wait(word.to_string()).await;
//!         }
//!         cx.send(Ipc::producer_finished(), "signal")?;
//!         Ok(())
//!     }
//! }
//!
//! /// Upper-cases lines until told the producer has finished.
//! struct Shouter;
//! impl Component for Shouter {
//!     fn boxes(&self) -> &'static [BoxDecl] {
//!         const B: &[BoxDecl] = &boxes::standard::<String>();
//!         B
//!     }
//!     async fn main(self, cx: Context) -> ComponentResult {
//!         let inbox = cx.inbox::<String>("inbox")?;
//!         let control = cx.inbox::<Ipc>("control")?;
//!         loop {
//!             while let Some(line) = inbox.recv() {
//!                 println!("{}", line.to_uppercase());
//!             }
//!             // Every control message waiting (one wake may have brought several).
//!             while let Some(msg) = control.recv() {
//!                 if msg.is_stop() {
//!                     return Ok(());
//!                 }
//!             }
//!             cx.pause().await;
//!         }
//!     }
//! }
//!
//! let sched = Scheduler::new();
//! let p = sched.create(Producer);
//! let s = sched.create(Shouter);
//! sched.link((&p, "outbox"), (&s, "inbox")).unwrap();
//! sched.link((&p, "signal"), (&s, "control")).unwrap();
//! sched.activate(&p);
//! sched.activate(&s);
//! sched.run(); // returns when both have ended
//! assert!(s.is_finished());
//! ```
//!
//! # Layout
//! - [`component`](Component): the [`Component`] trait, [`ComponentRef`] handles, [`EndCause`].
//! - [`Context`]: what `main` does through Axon's `self` — send, recv, pause, link, children,
//!   dynamic boxes, resource tracking.
//! - [`boxes`]: box declarations ([`BoxDecl`]) and typed handles ([`Inbox`], [`Outbox`]); the
//!   link graph and its invariants.
//! - [`Linkage`], [`LinkOptions`], [`Passthrough`]: links and how they are made.
//! - [`Scheduler`]: the run queue, timers, parking, stopping.
//! - [`ipc`]: Axon's lifecycle messages ([`ipc::Ipc`], `ProducerFinished`, ...).
//! - [`threaded`]: components whose `main` blocks on an OS thread of its own.
//! - [`tracker`]: the per-scheduler service registry (Axon's CAT).
//! - [`error`](LinkError): one error type per operation; a failed send gives the message back.
//!
//! # Choices this port makes
//! - **Delivery is Axon's**: synchronous and immediate into the final destination's storage;
//!   FIFO per link; no order across links; fan-in allowed, fan-out refused
//!   ([`LinkError::BoxAlreadyLinkedToDestination`]).
//! - **Box types are checked when linking**, not at the first send: linking boxes of different
//!   message types fails with an error naming both ends.
//! - **Dropped messages are counted** ([`Stats`]): a send to an unlinked outbox is dropped as in
//!   Axon; so is a send to a component that has ended (Axon let them pile up).
//! - **Bounded boxes**: a full box refuses with [`NoSpaceInBox`], handing the message back;
//!   [`Outbox::send_wait`] waits for space instead, woken by the consumer's collection.
//! - **A panic ends one component**: it is caught and logged; its end cause is
//!   [`EndCause::Panicked`] (Axon's `immortalise()` as the only mode).
//! - **No zombies**: stopping a paused component ends it; a pause request is never stranded.
//! - **One registry per scheduler**, not a process-wide singleton.
//! - **Two `unsafe` modules**: an inbox's message queue (`src/queue.rs`) is a slot for its
//!   front message and a `VecDeque` for the rest, in `UnsafeCell`s, behind a small API that
//!   never runs user code while it holds a reference into the queue; its module docs give the
//!   argument (and why the slot: a box holding one message at a time touches one cache line).
//!   And `src/prefetch.rs` wraps the x86_64 prefetch instruction, a hint that reads nothing and
//!   cannot fault ([`Outbox::prefetch`]: measured, 7–10 % more messages per second for the
//!   echo server at 1000 connections). Their Miri tests run with
//!   `cargo +nightly miri test -p axon-core --lib queue` and `... --lib prefetch`.
#![deny(unsafe_code)] // `unsafe` only in modules that allow it, each with `// SAFETY:` and Miri tests.

pub mod boxes;
mod component;
mod context;
mod error;
pub mod ipc;
mod linkage;
mod postoffice;
mod prefetch;
mod queue;
mod scheduler;
mod task;
pub mod threaded;
pub mod tracker;

pub use boxes::{BoxDecl, Inbox, Outbox};
pub use component::{
    from_fn, Component, ComponentId, ComponentRef, ComponentResult, EndCause, Error, FnComponent,
    WeakComponentRef,
};
pub use context::{Context, TrackedInformation};
pub use error::{BoxError, BoxName, Direction, LinkError, NoSpaceInBox, SendError};
pub use linkage::{LinkOptions, Linkage, Passthrough};
pub use scheduler::{
    deadline_after, panic_message, LocalWaker, Park, Scheduler, Stats, StopHandle, Unpark, WakeHandle,
};
