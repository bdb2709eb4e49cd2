//! Flink's window table functions — `TABLE(TUMBLE(TABLE s, DESCRIPTOR(ts), INTERVAL '1' MINUTE))`,
//! `HOP`, `CUMULATE`, `SESSION` — rewritten into subqueries DataFusion can plan, adding the
//! `window_start`, `window_end` and `window_time` columns:
//!
//! - TUMBLE: `date_bin(size, ts)` is the window start.
//! - HOP: the `size / slide` windows a row belongs to, as an unnested list of starts.
//! - CUMULATE: the window start `date_bin(size, ts)` and an unnested list of ends, one per step.
//! - SESSION: typed like TUMBLE with the gap as size; sessions themselves are the runtime's job.
//!   For the runtime, `Analysis::runtime_sql` reads each SESSION from a table of its own
//!   ([`WindowUse::session_table`]) that the runtime fills with the sessionized rows.
//!
//! Flink function names DataFusion spells differently are renamed here too.

use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

use super::text::{Lines, Rewritten};
use super::{Problem, TableInput};
use crate::diagnostic::codes;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowKind {
    Tumble,
    Hop,
    Cumulate,
    Session,
}

impl WindowKind {
    fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_uppercase().as_str() {
            "TUMBLE" => Some(WindowKind::Tumble),
            "HOP" => Some(WindowKind::Hop),
            "CUMULATE" => Some(WindowKind::Cumulate),
            "SESSION" => Some(WindowKind::Session),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            WindowKind::Tumble => "TUMBLE",
            WindowKind::Hop => "HOP",
            WindowKind::Cumulate => "CUMULATE",
            WindowKind::Session => "SESSION",
        }
    }

    /// The interval arguments after the descriptor, in order.
    fn interval_names(self) -> &'static [&'static str] {
        match self {
            WindowKind::Tumble => &["SIZE"],
            WindowKind::Hop => &["SLIDE", "SIZE"],
            WindowKind::Cumulate => &["STEP", "SIZE"],
            WindowKind::Session => &["GAP"],
        }
    }
}

/// One window function as written: its kind, table, time column and intervals (ms).
#[derive(Clone, Debug)]
pub struct WindowUse {
    pub kind: WindowKind,
    pub table: String,
    pub time_column: String,
    pub intervals_ms: Vec<u64>,
    pub partition_by: Vec<String>,
    /// Byte range of `TABLE(…)` in the original SQL.
    pub range: (usize, usize),
    /// For SESSION: the table that stands for this window in `Analysis::runtime_sql`. The
    /// runtime fills it with the input's rows plus `window_start`, `window_end`, `window_time`.
    pub session_table: Option<String>,
}

/// What [`rewrite`] makes of one query.
pub(crate) struct Rewrite {
    /// The SQL DataFusion plans for typing (SESSION typed like TUMBLE).
    pub rewritten: Rewritten,
    /// The SQL the runtime executes: as `rewritten`, but each SESSION reads its session table.
    pub runtime_sql: String,
    pub windows: Vec<WindowUse>,
    pub problems: Vec<Problem>,
}

/// The name of the table that stands for the `n`th SESSION window of a query at run time.
pub fn session_table_name(n: usize) -> String {
    format!("__kin_session_{n}")
}

/// Flink names → DataFusion names, for the functions kin supports under both.
/// (DATE_FORMAT's Java pattern is typed here; formatting it is the runtime's job.)
const RENAMES: &[(&str, &str)] = &[
    ("APPROX_COUNT_DISTINCT", "approx_distinct"),
    ("CHAR_LENGTH", "character_length"),
    ("DATE_FORMAT", "to_char"),
];

/// A token with its byte range in the SQL text.
struct Tok {
    token: Token,
    start: usize,
    end: usize,
}

fn tokens(sql: &str) -> Result<Vec<Tok>, Problem> {
    let dialect = GenericDialect {};
    let lines = Lines::new(sql);
    let raw: Vec<TokenWithSpan> = Tokenizer::new(&dialect, sql)
        .tokenize_with_location()
        .map_err(|e| {
            let at = lines.offset(e.location.line, e.location.column);
            Problem::new(
                codes::SQL_SYNTAX,
                (at, at),
                format!("the SQL does not parse: {}", e.message),
            )
        })?;
    Ok(raw
        .into_iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_)))
        .map(|t| Tok {
            start: lines.offset(t.span.start.line, t.span.start.column),
            end: lines.offset(t.span.end.line, t.span.end.column),
            token: t.token,
        })
        .collect())
}

fn is_word(t: &Tok, word: &str) -> bool {
    matches!(&t.token, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(word))
}

fn word(t: &Tok) -> Option<&str> {
    match &t.token {
        Token::Word(w) => Some(&w.value),
        _ => None,
    }
}

/// Rewrites every window function and renamed function; returns what it found.
pub(crate) fn rewrite(sql: &str, tables: &[TableInput]) -> Result<Rewrite, Problem> {
    let toks = tokens(sql)?;
    let mut replacements = Vec::new();
    let mut runtime_replacements = Vec::new();
    let mut windows: Vec<WindowUse> = Vec::new();
    let mut problems = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        // TABLE ( KIND ( ... ) ) [AS alias]
        let is_tvf = is_word(&toks[i], "TABLE")
            && matches!(toks.get(i + 1).map(|t| &t.token), Some(Token::LParen))
            && toks
                .get(i + 2)
                .and_then(word)
                .and_then(WindowKind::from_name)
                .is_some()
            && matches!(toks.get(i + 3).map(|t| &t.token), Some(Token::LParen));
        if is_tvf {
            let sessions = windows.iter().filter(|w| w.session_table.is_some()).count();
            match window(sql, &toks, i, tables, sessions) {
                Ok((window, close, replacement, runtime)) => {
                    replacements.push((toks[i].start, toks[close].end, replacement));
                    runtime_replacements.push((toks[i].start, toks[close].end, runtime));
                    windows.push(window);
                    i = close + 1;
                }
                Err(problem) => {
                    problems.push(problem);
                    i += 1;
                }
            }
            continue;
        }
        if let Some((_, to)) = word(&toks[i]).and_then(|w| {
            RENAMES
                .iter()
                .find(|(from, _)| from.eq_ignore_ascii_case(w))
        }) {
            if matches!(toks.get(i + 1).map(|t| &t.token), Some(Token::LParen)) {
                replacements.push((toks[i].start, toks[i].end, (*to).to_string()));
                runtime_replacements.push((toks[i].start, toks[i].end, (*to).to_string()));
            }
        }
        i += 1;
    }
    Ok(Rewrite {
        rewritten: Rewritten::apply(sql, replacements),
        runtime_sql: Rewritten::apply(sql, runtime_replacements).sql,
        windows,
        problems,
    })
}

/// Index of the token closing the parenthesis opened at `open`.
fn closing(toks: &[Tok], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (j, t) in toks.iter().enumerate().skip(open) {
        match t.token {
            Token::LParen => depth += 1,
            Token::RParen => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(j);
                }
            }
            _ => {}
        }
    }
    None
}

/// Splits `toks[from..to]` at top-level commas.
fn arguments(toks: &[Tok], from: usize, to: usize) -> Vec<(usize, usize)> {
    let mut args = Vec::new();
    let (mut depth, mut start) = (0usize, from);
    for (j, tok) in toks.iter().enumerate().take(to).skip(from) {
        match tok.token {
            Token::LParen => depth += 1,
            Token::RParen => depth = depth.saturating_sub(1),
            Token::Comma if depth == 0 => {
                args.push((start, j));
                start = j + 1;
            }
            _ => {}
        }
    }
    if start < to {
        args.push((start, to));
    }
    args
}

/// One window function at `toks[at]`: what it is, the index of its closing token, and its
/// replacements for typing and for the runtime. `sessions` counts the SESSIONs before it.
fn window(
    sql: &str,
    toks: &[Tok],
    at: usize,
    tables: &[TableInput],
    sessions: usize,
) -> Result<(WindowUse, usize, String, String), Problem> {
    let outer_close = closing(toks, at + 1).ok_or_else(|| unclosed(toks, at))?;
    let inner_close = closing(toks, at + 3).ok_or_else(|| unclosed(toks, at))?;
    let kind = toks
        .get(at + 2)
        .and_then(word)
        .and_then(WindowKind::from_name)
        .ok_or_else(|| unclosed(toks, at))?;
    let range = (toks[at].start, toks[outer_close].end);
    let mut args = arguments(toks, at + 4, inner_close);
    // Named arguments (`DATA => TABLE s`): drop the names, keep Flink's order.
    for arg in &mut args {
        if arg.1 > arg.0 + 1 && matches!(toks[arg.0 + 1].token, Token::RArrow) {
            arg.0 += 2;
        }
    }
    let expected = 2 + kind.interval_names().len();
    if args.len() < expected {
        return Err(Problem::new(
            codes::SQL_WINDOW_ARGUMENTS,
            range,
            format!(
                "{} takes {} arguments: TABLE, DESCRIPTOR and {}",
                kind.name(),
                expected,
                kind.interval_names().join(", ")
            ),
        )
        .help(example(kind)));
    }
    // TABLE name [PARTITION BY cols]
    let (a0, a0_end) = args[0];
    if !is_word(&toks[a0], "TABLE") || a0 + 1 >= a0_end {
        return Err(Problem::new(
            codes::SQL_WINDOW_ARGUMENTS,
            (toks[a0].start, toks[a0_end - 1].end),
            format!(
                "the first argument of {} must be `TABLE stream`",
                kind.name()
            ),
        )
        .help(example(kind)));
    }
    let table_tok = &toks[a0 + 1];
    let table = word(table_tok).unwrap_or_default().to_string();
    let mut partition_by = Vec::new();
    if a0 + 3 < a0_end && is_word(&toks[a0 + 2], "PARTITION") && is_word(&toks[a0 + 3], "BY") {
        partition_by = toks[a0 + 4..a0_end]
            .iter()
            .filter_map(word)
            .map(str::to_string)
            .collect();
    }
    // DESCRIPTOR(col)
    let (d0, d_end) = args[1];
    let descriptor_ok = is_word(&toks[d0], "DESCRIPTOR") && d_end == d0 + 4;
    let time_tok = toks.get(d0 + 2).filter(|_| descriptor_ok).ok_or_else(|| {
        Problem::new(
            codes::SQL_WINDOW_ARGUMENTS,
            (toks[d0].start, toks[d_end - 1].end),
            format!(
                "the second argument of {} must be `DESCRIPTOR(time_column)`",
                kind.name()
            ),
        )
        .help(example(kind))
    })?;
    let time_column = word(time_tok).unwrap_or_default().to_string();
    let mut intervals_ms = Vec::new();
    for (name, &(s, e)) in kind.interval_names().iter().zip(&args[2..]) {
        intervals_ms.push(interval_ms(toks, s, e).ok_or_else(|| {
            Problem::new(
                codes::SQL_WINDOW_ARGUMENTS,
                (toks[s].start, toks[e - 1].end),
                format!(
                    "the {name} of {} must be a constant interval such as `INTERVAL '1' MINUTE`",
                    kind.name()
                ),
            )
            .help("write INTERVAL 'N' SECOND, MINUTE, HOUR or DAY")
        })?);
    }
    let window = WindowUse {
        kind,
        table: table.clone(),
        time_column: time_column.clone(),
        intervals_ms,
        partition_by,
        range,
        session_table: (kind == WindowKind::Session).then(|| session_table_name(sessions)),
    };
    check_window(
        &window,
        tables,
        (table_tok.start, table_tok.end),
        (time_tok.start, time_tok.end),
    )?;
    // Keep a user alias (`… ) AS w`); else the subquery takes the table's name.
    let aliased = toks.get(outer_close + 1).is_some_and(|t| {
        is_word(t, "AS") || matches!(&t.token, Token::Word(w) if w.keyword == Keyword::NoKeyword)
    });
    let quoted_table = sql[table_tok.start..table_tok.end].to_string();
    let mut replacement = subquery(&window, &quoted_table, &sql[time_tok.start..time_tok.end]);
    let mut runtime = window
        .session_table
        .clone()
        .unwrap_or_else(|| replacement.clone());
    if !aliased {
        replacement.push_str(&format!(" AS {quoted_table}"));
        runtime.push_str(&format!(" AS {quoted_table}"));
    }
    Ok((window, outer_close, replacement, runtime))
}

fn unclosed(toks: &[Tok], at: usize) -> Problem {
    Problem::new(
        codes::SQL_SYNTAX,
        (toks[at].start, toks[at].end),
        "the SQL does not parse: this `TABLE(` is never closed",
    )
}

fn example(kind: WindowKind) -> String {
    match kind {
        WindowKind::Tumble => "e.g. TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '1' MINUTE))",
        WindowKind::Hop => "e.g. TABLE(HOP(TABLE clicks, DESCRIPTOR(ts), INTERVAL '1' MINUTE, INTERVAL '5' MINUTE)) — slide, then size",
        WindowKind::Cumulate => "e.g. TABLE(CUMULATE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '1' MINUTE, INTERVAL '1' HOUR)) — step, then max size",
        WindowKind::Session => "e.g. TABLE(SESSION(TABLE clicks PARTITION BY user_id, DESCRIPTOR(ts), INTERVAL '5' MINUTE))",
    }
    .to_string()
}

/// `INTERVAL '5' MINUTE` (also `INTERVAL '5 minutes'`) in milliseconds.
fn interval_ms(toks: &[Tok], start: usize, end: usize) -> Option<u64> {
    if !is_word(toks.get(start)?, "INTERVAL") {
        return None;
    }
    let Token::SingleQuotedString(text) = &toks.get(start + 1)?.token else {
        return None;
    };
    let (number, unit) = match (start + 2 < end).then(|| word(&toks[start + 2])).flatten() {
        Some(unit) => (text.trim().to_string(), unit.to_string()),
        None => {
            let mut parts = text.split_whitespace();
            (parts.next()?.to_string(), parts.next()?.to_string())
        }
    };
    let n: f64 = number.parse().ok()?;
    let factor = match unit.to_ascii_uppercase().trim_end_matches('S') {
        "MILLISECOND" => 1.0,
        "SECOND" => 1000.0,
        "MINUTE" => 60_000.0,
        "HOUR" => 3_600_000.0,
        "DAY" => 86_400_000.0,
        _ => return None,
    };
    let ms = (n * factor).round();
    (ms >= 1.0).then_some(ms as u64)
}

/// The window's table must be an input with an event time, windowed on that event time.
fn check_window(
    w: &WindowUse,
    tables: &[TableInput],
    table_range: (usize, usize),
    time_range: (usize, usize),
) -> Result<(), Problem> {
    let Some(input) = tables.iter().find(|t| t.name == w.table) else {
        return Err(Problem::new(
            codes::SQL_TABLE_NOT_IN_FROM,
            table_range,
            format!(
                "{} windows table \"{}\", which is not in this analytics' `from`",
                w.kind.name(),
                w.table
            ),
        )
        .label("not an input")
        .help(format!(
            "add `{}` to `from`, or window one of: {}",
            w.table,
            tables
                .iter()
                .map(|t| t.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    };
    let Some(event_time) = &input.event_time else {
        return Err(Problem::new(codes::SQL_NO_EVENT_TIME, table_range, format!("{} windows stream \"{}\", whose schema has no event_time", w.kind.name(), w.table))
            .label("no event time")
            .help("add `event_time: FIELD` (a timestamp field) to the stream's schema: windows close by event time"));
    };
    if event_time.contains('.') {
        return Err(Problem::new(codes::SQL_NO_EVENT_TIME, table_range, format!("{} windows stream \"{}\", whose event_time \"{event_time}\" is a nested field", w.kind.name(), w.table))
            .label("nested event time")
            .help("Flink needs a top-level timestamp column as the event time: move the field to the top level of the schema"));
    }
    if &w.time_column != event_time {
        return Err(Problem::new(
            codes::SQL_WINDOW_NOT_EVENT_TIME,
            time_range,
            format!(
                "{} windows stream \"{}\" on \"{}\", which is not its event_time",
                w.kind.name(),
                w.table,
                w.time_column
            ),
        )
        .label("not the event time")
        .help(format!(
            "write DESCRIPTOR({event_time}): windows are defined on the schema's event_time"
        )));
    }
    match w.kind {
        WindowKind::Hop | WindowKind::Cumulate => {
            let (step, size) = (w.intervals_ms[0], w.intervals_ms[1]);
            if size % step != 0 || size < step {
                return Err(Problem::new(
                    codes::SQL_WINDOW_ARGUMENTS,
                    w.range,
                    format!(
                        "the size of this {} window ({}) is not a whole multiple of its {} ({})",
                        w.kind.name(),
                        crate::ir::units::Duration(size),
                        if w.kind == WindowKind::Hop {
                            "slide"
                        } else {
                            "step"
                        },
                        crate::ir::units::Duration(step)
                    ),
                )
                .help("Flink requires the size to be an integral multiple of the slide or step"));
            }
        }
        _ => {}
    }
    Ok(())
}

fn interval(ms: u64) -> String {
    format!("INTERVAL '{ms} milliseconds'")
}

/// `ms` as an Arrow duration: added to a timestamp it is one integer addition per row, where
/// an `INTERVAL` goes through calendar arithmetic (months, days, nanoseconds) for every row.
fn duration(ms: u64) -> String {
    format!("arrow_cast({ms}, 'Duration(Millisecond)')")
}

/// The DataFusion subquery standing in for one window function.
fn subquery(w: &WindowUse, table: &str, ts: &str) -> String {
    let one_ms = duration(1);
    match w.kind {
        WindowKind::Tumble | WindowKind::Session => {
            let start = format!("date_bin({}, {ts})", interval(w.intervals_ms[0]));
            let (size, size_less_one) =
                (duration(w.intervals_ms[0]), duration(w.intervals_ms[0] - 1));
            format!("(SELECT *, {start} AS window_start, {start} + {size} AS window_end, {start} + {size_less_one} AS window_time FROM {table})")
        }
        WindowKind::Hop => {
            let (slide, size) = (w.intervals_ms[0], w.intervals_ms[1]);
            let starts: Vec<String> = (0..size / slide)
                .map(|k| {
                    format!(
                        "date_bin({}, {ts}) - {}",
                        interval(slide),
                        duration(k * slide)
                    )
                })
                .collect();
            format!(
                "(SELECT *, window_start + {size} AS window_end, window_start + {size_less_one} AS window_time FROM (SELECT *, unnest(make_array({})) AS window_start FROM {table}))",
                starts.join(", "),
                size = duration(size),
                size_less_one = duration(size - 1),
            )
        }
        WindowKind::Cumulate => {
            let (step, size) = (w.intervals_ms[0], w.intervals_ms[1]);
            let start = format!("date_bin({}, {ts})", interval(size));
            let ends: Vec<String> = (1..=size / step)
                .map(|k| format!("{start} + {}", duration(k * step)))
                .collect();
            format!(
                "(SELECT *, window_end - {one_ms} AS window_time FROM (SELECT *, {start} AS window_start, unnest(make_array({})) AS window_end FROM {table}) WHERE window_end > {ts})",
                ends.join(", ")
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::types::{Field, FieldType, RecordType, Type};

    fn clicks() -> Vec<TableInput> {
        let f = |name: &str, ty: Type| Field {
            name: name.into(),
            ty: FieldType {
                ty,
                nullable: false,
            },
        };
        vec![TableInput {
            name: "clicks".into(),
            record: RecordType {
                fields: vec![f("page", Type::String), f("ts", Type::Timestamp)],
            },
            event_time: Some("ts".into()),
        }]
    }

    fn rewritten(sql: &str) -> Rewrite {
        match rewrite(sql, &clicks()) {
            Ok(found) => found,
            Err(problem) => panic!("{sql}: {problem:?}"),
        }
    }

    #[test]
    fn the_runtime_reads_each_session_from_a_table_of_its_own() {
        let sql = "SELECT page, COUNT(*) AS n FROM TABLE(SESSION(TABLE clicks PARTITION BY page, DESCRIPTOR(ts), INTERVAL '5' MINUTE)) GROUP BY page, window_start, window_end";
        let found = rewritten(sql);
        assert_eq!(
            found.runtime_sql,
            "SELECT page, COUNT(*) AS n FROM __kin_session_0 AS clicks GROUP BY page, window_start, window_end"
        );
        assert!(found.rewritten.sql.contains("date_bin"));
        assert_eq!(
            found.windows[0].session_table.as_deref(),
            Some("__kin_session_0")
        );
        let aliased = "SELECT s.page FROM TABLE(SESSION(TABLE clicks, DESCRIPTOR(ts), INTERVAL '1' MINUTE)) AS s JOIN TABLE(SESSION(TABLE clicks, DESCRIPTOR(ts), INTERVAL '2' MINUTE)) t ON s.page = t.page";
        assert_eq!(
            rewritten(aliased).runtime_sql,
            "SELECT s.page FROM __kin_session_0 AS s JOIN __kin_session_1 t ON s.page = t.page"
        );
    }

    #[test]
    fn without_sessions_the_runtime_sql_is_the_rewritten_sql() {
        let sql = "SELECT CHAR_LENGTH(page) AS l, window_start FROM TABLE(HOP(TABLE clicks, DESCRIPTOR(ts), INTERVAL '1' MINUTE, INTERVAL '2' MINUTE))";
        let found = rewritten(sql);
        assert_eq!(found.runtime_sql, found.rewritten.sql);
        assert_eq!(found.windows[0].session_table, None);
    }
}
