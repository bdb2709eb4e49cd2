//! The analytics engine's one error type; each message names the analytics node.

use std::fmt;

/// What can go wrong setting up or running an analytics node, or converting its records.
#[derive(Debug)]
pub enum AnalyticsError {
    /// The configuration is inconsistent; every problem found is listed.
    Config {
        analytics: String,
        problems: Vec<String>,
    },
    /// A batch was pushed for a table that is not an input.
    UnknownTable { analytics: String, table: String },
    /// A pushed batch does not fit its input's schema.
    Schema {
        analytics: String,
        table: String,
        message: String,
    },
    /// DataFusion could not plan or run the query.
    Query { analytics: String, message: String },
    /// The query's result cannot be made to fit the output schema.
    Output { analytics: String, message: String },
    /// A JSON record could not be decoded (`record` is its index) or a batch encoded.
    Json {
        record: Option<usize>,
        message: String,
    },
}

impl fmt::Display for AnalyticsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnalyticsError::Config {
                analytics,
                problems,
            } => write!(
                f,
                "analytics \"{analytics}\" is misconfigured: {}",
                problems.join("; ")
            ),
            AnalyticsError::UnknownTable { analytics, table } => write!(
                f,
                "analytics \"{analytics}\" has no input \"{table}\""
            ),
            AnalyticsError::Schema {
                analytics,
                table,
                message,
            } => write!(
                f,
                "a batch for input \"{table}\" of analytics \"{analytics}\" does not fit its schema: {message}"
            ),
            AnalyticsError::Query { analytics, message } => {
                write!(f, "the SQL of analytics \"{analytics}\" failed: {message}")
            }
            AnalyticsError::Output { analytics, message } => write!(
                f,
                "the result of analytics \"{analytics}\" does not fit its output schema: {message}"
            ),
            AnalyticsError::Json {
                record: Some(index),
                message,
            } => write!(f, "JSON record {index}: {message}"),
            AnalyticsError::Json {
                record: None,
                message,
            } => write!(f, "JSON: {message}"),
        }
    }
}

impl std::error::Error for AnalyticsError {}
