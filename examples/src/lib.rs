//! Examples for kamaelia-rs live in `examples/`.
