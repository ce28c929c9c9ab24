//! Code shared by the benches (and, through a `#[path]` module, the `pipeline_bench` example).

pub mod parked;
pub mod pipeline;
