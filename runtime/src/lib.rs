//! kin-runtime: the engine that kin's generated local pipelines link against.
//!
//! Not built yet: streams, firehoses, analytics and producers arrive with the runtime issue.
//! The crate exists so that the workspace layout is the final one.
