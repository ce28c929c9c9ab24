//! The project's documentation, from `docs/` at the workspace root, included here so that every
//! Rust code block in it is compiled and run by `cargo test` and cannot rot.

#[doc = include_str!("../../docs/guide.md")]
pub mod guide {}

#[doc = include_str!("../../docs/axon-names.md")]
pub mod axon_names {}

#[doc = include_str!("../../docs/guarantees.md")]
pub mod guarantees {}

#[doc = include_str!("../../docs/cookbook.md")]
pub mod cookbook {}

#[doc = include_str!("../../README.md")]
pub mod readme {}
