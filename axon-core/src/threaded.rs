//! Threaded components.
