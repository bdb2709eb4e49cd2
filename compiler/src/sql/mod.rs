//! Stage 2b, SQL: each analytics query planned against its input streams' record types.
//!
//! The SQL is Flink SQL's streaming subset. kin rewrites the window table functions into
//! subqueries DataFusion can plan ([`windows`]), checks the rules a stream imposes that
//! DataFusion does not know ([`rules`]), plans the query over empty tables with the inputs'
//! Arrow schemas ([`plan`]) and reads the output record type off the logical plan.
//! Positions are byte ranges of the SQL text as written; the checker maps them into the file.

// A `Problem` is the error of every step here and small enough to move; boxing would add noise.
#![allow(clippy::result_large_err)]

mod literals;
mod nullability;
mod plan;
mod rules;
mod text;
pub mod windows;

use crate::diagnostic::Code;
use crate::ir::types::RecordType;

pub use literals::compared_literals;
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
    /// The SQL the runtime executes: `rewritten`, except that each SESSION window reads the
    /// table named in its [`windows::WindowUse::session_table`], which the runtime fills with
    /// the sessionized rows (the input's columns, `window_start`, `window_end`, `window_time`).
    pub runtime_sql: String,
    pub windows: Vec<windows::WindowUse>,
    /// Tables the SQL reads (for the `from` cross-check).
    pub tables_read: Vec<String>,
    pub problems: Vec<Problem>,
}

/// Analyzes one query over its inputs.
pub fn analyze(sql: &str, inputs: &[TableInput]) -> Analysis {
    let mut analysis = Analysis::default();
    let windows::Rewrite {
        rewritten,
        runtime_sql,
        windows,
        problems,
    } = match windows::rewrite(sql, inputs) {
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
    analysis.runtime_sql = runtime_sql;
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
    // Planning after these would only repeat them in DataFusion's words.
    let repeats = [
        crate::diagnostic::codes::SQL_SYNTAX,
        crate::diagnostic::codes::SQL_WINDOW_TIME_AS_STRING,
    ];
    if blocking || analysis.problems.iter().any(|p| repeats.contains(&p.code)) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::types::{Field, FieldType, Type};

    fn clicks() -> Vec<TableInput> {
        let f = |name: &str, ty: Type, nullable: bool| Field {
            name: name.into(),
            ty: FieldType { ty, nullable },
        };
        vec![TableInput {
            name: "clicks".into(),
            record: RecordType {
                fields: vec![
                    f("page", Type::String, false),
                    f("referrer", Type::String, true),
                    f("ms", Type::Int, false),
                    f("ts", Type::Timestamp, false),
                ],
            },
            event_time: Some("ts".into()),
        }]
    }

    fn output(sql: &str) -> Vec<String> {
        let a = analyze(sql, &clicks());
        assert!(a.problems.is_empty(), "{sql}: {:?}", a.problems);
        a.output
            .map(|o| {
                o.fields
                    .iter()
                    .map(|f| format!("{}:{}", f.name, f.ty))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn codes_of(sql: &str) -> Vec<&'static str> {
        analyze(sql, &clicks())
            .problems
            .iter()
            .map(|p| p.code.id)
            .collect()
    }

    #[test]
    fn every_window_kind_types_like_flink() {
        let tumble = "SELECT page, window_start, window_end, COUNT(*) AS n, AVG(ms) AS avg_ms FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '1' MINUTE)) GROUP BY page, window_start, window_end";
        assert_eq!(
            output(tumble),
            [
                "page:string",
                "window_start:timestamp",
                "window_end:timestamp",
                "n:int",
                "avg_ms:int"
            ]
        );
        let hop = "SELECT window_start, window_end, SUM(ms) AS total FROM TABLE(HOP(TABLE clicks, DESCRIPTOR(ts), INTERVAL '1' MINUTE, INTERVAL '5' MINUTE)) GROUP BY window_start, window_end";
        assert_eq!(
            output(hop),
            [
                "window_start:timestamp",
                "window_end:timestamp",
                "total:int"
            ]
        );
        let cumulate = "SELECT window_start, window_end, MAX(referrer) AS r FROM TABLE(CUMULATE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '10' MINUTE, INTERVAL '1' HOUR)) GROUP BY window_start, window_end";
        assert_eq!(
            output(cumulate),
            [
                "window_start:timestamp",
                "window_end:timestamp",
                "r:string?"
            ]
        );
        let session = "SELECT page, window_start, window_end, COUNT(*) AS n FROM TABLE(SESSION(TABLE clicks PARTITION BY page, DESCRIPTOR(ts), INTERVAL '5' MINUTE)) GROUP BY page, window_start, window_end";
        assert_eq!(
            output(session),
            [
                "page:string",
                "window_start:timestamp",
                "window_end:timestamp",
                "n:int"
            ]
        );
    }

    #[test]
    fn nullability_follows_flink() {
        let sql = "SELECT UPPER(page) AS p, UPPER(referrer) AS r, COALESCE(referrer, page) AS c, CAST(ms AS STRING) AS s FROM clicks";
        assert_eq!(
            output(sql),
            ["p:string", "r:string?", "c:string", "s:string"]
        );
    }

    #[test]
    fn streaming_rules() {
        assert_eq!(
            codes_of("SELECT page, COUNT(*) AS n FROM clicks GROUP BY page"),
            ["K0104"]
        );
        assert_eq!(codes_of("SELECT page FROM clicks LIMIT 5"), ["K0109"]);
        assert_eq!(codes_of("SELECT UPPER(page) FROM clicks"), ["K0108"]);
        assert_eq!(codes_of("SELECT page, NOW() AS t FROM clicks"), ["K0109"]);
        assert_eq!(
            codes_of("SELECT page FROM clicks UNION SELECT page FROM clicks"),
            ["K0109"]
        );
        assert_eq!(codes_of("SELECT page FROM views"), ["K0107"]);
        assert_eq!(codes_of("SELECT pag FROM clicks"), ["K0102"]);
        assert_eq!(codes_of("SELECT page + 1 AS x FROM clicks"), ["K0103"]);
        assert_eq!(codes_of("SELEC page FROM clicks"), ["K0101"]);
        let not_event_time = "SELECT window_start FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(page), INTERVAL '1' MINUTE))";
        assert_eq!(codes_of(not_event_time), ["K0105"]);
        let hop = "SELECT window_start FROM TABLE(HOP(TABLE clicks, DESCRIPTOR(ts), INTERVAL '2' MINUTE, INTERVAL '5' MINUTE))";
        assert_eq!(codes_of(hop), ["K0112"]);
        let as_string = "SELECT CONCAT(window_start, '!') AS s FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '1' MINUTE))";
        assert_eq!(codes_of(as_string), ["K0110"]);
    }

    #[test]
    fn positions_point_into_the_sql_as_written() {
        let sql = "SELECT page, window_start\nFROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '1' MINUTE))\nWHERE pag = 'x'";
        let a = analyze(sql, &clicks());
        let p = a.problems.first().expect("a problem");
        assert_eq!(p.code.id, "K0102");
        assert_eq!(&sql[p.range.0..p.range.1], "pag");
    }
}
