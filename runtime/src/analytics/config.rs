//! What the generated code tells the engine about one analytics node: plain data, written as
//! constants, checked once by [`AnalyticsConfig::check`].

use datafusion::arrow::datatypes::{DataType, SchemaRef};

/// One analytics node: its SQL as the compiler rewrote it for the runtime, its inputs, its
/// windows and the Arrow schema of its output (kin's inferred output type).
#[derive(Clone, Debug)]
pub struct AnalyticsConfig {
    pub name: String,
    /// The runtime SQL (`Analysis::runtime_sql`): window functions rewritten, each SESSION read
    /// from its session table.
    pub sql: String,
    pub inputs: Vec<InputSpec>,
    pub windows: Vec<WindowSpec>,
    pub output_schema: SchemaRef,
}

/// One input table of the query.
#[derive(Clone, Debug)]
pub struct InputSpec {
    pub table: String,
    pub schema: SchemaRef,
    /// The event-time column (a timestamp), when the input has one.
    pub event_time: Option<String>,
    /// How far the watermark trails the largest event time seen, in milliseconds.
    pub watermark_ms: i64,
}

/// Flink's window table functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowKind {
    Tumble,
    Hop,
    Cumulate,
    Session,
}

impl WindowKind {
    pub fn name(self) -> &'static str {
        match self {
            WindowKind::Tumble => "TUMBLE",
            WindowKind::Hop => "HOP",
            WindowKind::Cumulate => "CUMULATE",
            WindowKind::Session => "SESSION",
        }
    }

    /// The interval arguments, in the order the compiler records them.
    fn interval_names(self) -> &'static [&'static str] {
        match self {
            WindowKind::Tumble => &["size"],
            WindowKind::Hop => &["slide", "size"],
            WindowKind::Cumulate => &["step", "size"],
            WindowKind::Session => &["gap"],
        }
    }
}

/// One window function of the query, as the compiler's `WindowUse` records it.
#[derive(Clone, Debug)]
pub struct WindowSpec {
    pub kind: WindowKind,
    pub table: String,
    pub time_column: String,
    /// TUMBLE: size; HOP: slide, size; CUMULATE: step, size; SESSION: gap.
    pub intervals_ms: Vec<u64>,
    /// SESSION's `PARTITION BY` columns.
    pub partition_by: Vec<String>,
    /// SESSION: the table the runtime SQL reads this window from (`WindowUse::session_table`).
    pub session_table: Option<String>,
}

impl WindowSpec {
    /// The intervals in milliseconds, as `i64`; `check` made sure they fit and are positive.
    pub(super) fn intervals(&self) -> Vec<i64> {
        self.intervals_ms
            .iter()
            .map(|&ms| i64::try_from(ms).unwrap_or(i64::MAX))
            .collect()
    }
}

impl AnalyticsConfig {
    /// Every inconsistency in the configuration, each naming what it is about.
    pub(super) fn check(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for (i, input) in self.inputs.iter().enumerate() {
            if self.inputs[..i]
                .iter()
                .any(|other| other.table == input.table)
            {
                problems.push(format!("input \"{}\" is listed twice", input.table));
            }
            if input.watermark_ms < 0 {
                problems.push(format!(
                    "input \"{}\" has a negative watermark ({} ms)",
                    input.table, input.watermark_ms
                ));
            }
            if let Some(column) = &input.event_time {
                match input.schema.field_with_name(column) {
                    Ok(field) if matches!(field.data_type(), DataType::Timestamp(_, _)) => {}
                    Ok(field) => problems.push(format!(
                        "the event time \"{column}\" of input \"{}\" is a {}, not a timestamp",
                        input.table,
                        field.data_type()
                    )),
                    Err(_) => problems.push(format!(
                        "input \"{}\" has no event-time column \"{column}\"",
                        input.table
                    )),
                }
            }
        }
        for window in &self.windows {
            problems.extend(self.check_window(window));
        }
        problems
    }

    fn check_window(&self, w: &WindowSpec) -> Vec<String> {
        let mut problems = Vec::new();
        let kind = w.kind.name();
        let names = w.kind.interval_names();
        if w.intervals_ms.len() != names.len() {
            problems.push(format!(
                "{kind} on \"{}\" needs {} intervals ({}), not {}",
                w.table,
                names.len(),
                names.join(", "),
                w.intervals_ms.len()
            ));
        } else if w
            .intervals_ms
            .iter()
            .any(|&ms| ms == 0 || i64::try_from(ms).is_err())
        {
            problems.push(format!(
                "{kind} on \"{}\" has an interval that is zero or too large",
                w.table
            ));
        } else if matches!(w.kind, WindowKind::Hop | WindowKind::Cumulate)
            && !w.intervals_ms[1].is_multiple_of(w.intervals_ms[0])
        {
            problems.push(format!(
                "the size of {kind} on \"{}\" is not a multiple of its {}",
                w.table, names[0]
            ));
        }
        match self.inputs.iter().find(|i| i.table == w.table) {
            None => problems.push(format!(
                "{kind} windows table \"{}\", which is not an input",
                w.table
            )),
            Some(input) => {
                if input.event_time.as_deref() != Some(w.time_column.as_str()) {
                    problems.push(format!(
                        "{kind} on \"{}\" is over \"{}\", which is not the input's event time",
                        w.table, w.time_column
                    ));
                }
                for column in &w.partition_by {
                    if input.schema.field_with_name(column).is_err() {
                        problems.push(format!(
                            "{kind} on \"{}\" is partitioned by \"{column}\", which the input does not have",
                            w.table
                        ));
                    }
                }
            }
        }
        if (w.kind == WindowKind::Session) != w.session_table.is_some() {
            problems.push(format!(
                "{kind} on \"{}\": a session table is named for SESSION windows, and only for them",
                w.table
            ));
        }
        problems
    }
}
