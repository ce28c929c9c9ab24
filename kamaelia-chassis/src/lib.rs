//! # kamaelia-chassis
//!
//! Kamaelia's chassis on `axon-core` and `kamaelia-net`: `ServerCore`, `SimpleServer`,
//! `Pipeline`, `Graphline`, `Carousel`, `Seq`, `Backplane`. (Work in progress.)
