//! Flink-style analytics on one machine: one analytics node's SQL (as the compiler rewrote it)
//! run incrementally with DataFusion over unbounded inputs, with Flink's event-time semantics.
//!
//! The pipeline [`AnalyticsEngine::push`]es Arrow batches of each input and gets back a
//! [`Step`]: the output rows that became final and the late rows. How it works:
//!
//! - **Watermarks.** Each input with an event time has a watermark, the largest event time seen
//!   minus its `watermark_ms`; the query's watermark is the smallest of them. A window is
//!   emitted once, when `window_end <= watermark`. A record is late when every window it belongs
//!   to was already emitted (judged against the watermark before its batch): it goes to
//!   [`Step::late`] instead of the results. [`AnalyticsEngine::finish`] moves the watermark to
//!   the end of time, so every open window is emitted.
//! - **Micro-batches.** Input rows are buffered as Arrow batches (`buffer`). When the watermark
//!   passes the end of a window that holds buffered rows, the query runs once over the buffered
//!   rows of the windows that close (`bounds` turns "the windows of this row have closed" into
//!   a comparison of its event time), keeping only windows with `previous watermark < window_end
//!   <= watermark` (`shape` adds that filter to the plan for HOP and CUMULATE, whose rows also
//!   belong to windows still open), then rows no open window needs are evicted.
//! - **Sessions** are computed here (`session`): the compiler's runtime SQL reads each SESSION
//!   from a table of its own, which the engine fills with the rows of the sessions that closed
//!   plus `window_start`, `window_end`, `window_time`.
//! - **Shapes.** A query without windows that only projects and filters one input streams
//!   through: each batch's result is returned at once. Any other query without windows on every
//!   input (joins of streams, interval joins, OVER aggregations) buffers its input and runs once,
//!   at `finish`.
//!
//! The SQL is planned once, down to a physical plan over tables whose contents each run swaps
//! (`swap`; the window bounds are functions the plan reads at each execution). A run fills the
//! tables and executes the plan on a current-thread tokio runtime owned by the engine
//! (`query`); there is no per-run planning. Results are cast to the configured
//! output schema (e.g. DataFusion's DOUBLE `AVG` of a BIGINT to BIGINT, as Flink types it).

mod bounds;
mod buffer;
mod config;
mod engine;
mod error;
mod input;
mod json;
mod json_flat;
mod query;
mod session;
mod shape;
mod swap;

pub use config::{AnalyticsConfig, InputSpec, WindowKind, WindowSpec};
pub use engine::{AnalyticsEngine, Late, Step};
pub use error::AnalyticsError;
pub use json::{decode_json, decode_json_mapped, encode_json};
