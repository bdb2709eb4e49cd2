//! Stage 3, emit: the typed graph → text for people and tools. Each emitter is a pure function.

pub mod graph;
