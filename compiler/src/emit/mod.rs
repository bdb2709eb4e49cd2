//! Stage 3, emit: the typed graph → text for people and tools. Each emitter is a pure function.

pub mod explain;
pub mod flink;
pub mod graph;
pub mod rust;
pub mod terraform;
