//! Representations after parsing: record types, units and the typed pipeline graph.

pub mod graph;
pub mod prefix;
pub mod types;
pub mod units;
