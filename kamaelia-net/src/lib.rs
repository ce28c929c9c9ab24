//! # kamaelia-net
//!
//! Kamaelia's networking components on `axon-core`: a mio reactor installed as the scheduler's
//! park, `TcpServer`, `ConnectedSocketAdapter` and `TcpClient`. (Work in progress.)
