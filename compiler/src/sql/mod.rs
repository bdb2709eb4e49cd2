//! Stage 2b, SQL: each analytics query planned against its input streams' record types.
//!
//! The SQL is Flink SQL's streaming subset. kin rewrites the window table functions into
//! subqueries DataFusion can plan ([`windows`]), checks the rules a stream imposes that
//! DataFusion does not know ([`rules`]), plans the query over empty tables with the inputs'
//! Arrow schemas ([`plan`]) and reads the output record type off the logical plan.
//! Positions are byte ranges of the SQL text as written; the checker maps them into the file.

// A `Problem` is the error of every step here and small enough to move; boxing would add noise.
#![allow(clippy::result_large_err)]

mod nullability;
mod plan;
mod rules;
mod text;
pub mod windows;

use crate::diagnostic::Code;
use crate::ir::types::RecordType;

pub use plan::{arrow_type, kin_type};

/// One input table of a query: a stream of the analytics' `from`.
#[derive(Clone, Debug)]
pub struct TableInput {
    pub name: String,
    pub record: RecordType,
    pub event_time: Option<String>,
}

/// A problem in the SQL, at a byte range of the SQL text as written.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    pub code: Code,
    pub range: (usize, usize),
    pub message: String,
    pub label: Option<String>,
    pub help: Option<String>,
    /// Secondary ranges with their notes (e.g. the operand types of a mismatch).
    pub notes: Vec<((usize, usize), String)>,
}

impl Problem {
    pub fn new(code: Code, range: (usize, usize), message: impl Into<String>) -> Self {
        Problem {
            code,
            range,
            message: message.into(),
            label: None,
            help: None,
            notes: Vec::new(),
        }
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }
}

/// What kin learns from one query.
#[derive(Clone, Debug, Default)]
pub struct Analysis {
    /// The output record type, when the query planned.
    pub output: Option<RecordType>,
    /// DataFusion's logical plan, indented (for `kin explain`).
    pub plan: Option<String>,
    /// The SQL as handed to DataFusion (window functions rewritten).
    pub rewritten: String,
    pub windows: Vec<windows::WindowUse>,
    /// Tables the SQL reads (for the `from` cross-check).
    pub tables_read: Vec<String>,
    pub problems: Vec<Problem>,
}

/// Analyzes one query over its inputs.
pub fn analyze(sql: &str, inputs: &[TableInput]) -> Analysis {
    let mut analysis = Analysis::default();
    let (rewritten, windows, problems) = match windows::rewrite(sql, inputs) {
        Ok(found) => found,
        Err(problem) => {
            analysis.problems.push(problem);
            return analysis;
        }
    };
    if !problems.is_empty() {
        // A window kin could not rewrite would only add parse errors downstream.
        analysis.problems.extend(problems);
        return analysis;
    }
    analysis.rewritten = rewritten.sql.clone();
    analysis.windows = windows;
    let blocking = match rules::check(sql, &rewritten, &analysis.windows, inputs) {
        Ok(found) => {
            analysis.tables_read = found.tables_read;
            let blocking = found.blocking;
            analysis.problems.extend(found.problems);
            blocking
        }
        Err(problem) => {
            analysis.problems.push(problem);
            return analysis;
        }
    };
    if blocking
        || analysis
            .problems
            .iter()
            .any(|p| p.code == crate::diagnostic::codes::SQL_SYNTAX)
    {
        return analysis;
    }
    match plan::plan(&rewritten, inputs, !analysis.windows.is_empty()) {
        Ok((output, plan)) => {
            analysis.output = Some(output);
            analysis.plan = Some(plan);
        }
        Err(problems) => analysis.problems.extend(problems),
    }
    analysis
}
