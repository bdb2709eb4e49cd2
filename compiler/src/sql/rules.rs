//! The rules a stream imposes that DataFusion does not know: aggregations and joins need a
//! window (a stream never ends), no LIMIT / ORDER BY / expression subqueries / `now()`, every
//! output column named, window timestamps not used as strings, tables only from `from`.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    visit_expressions, Expr, GroupByExpr, JoinConstraint, JoinOperator, OrderByKind, Query, Select,
    SelectItem, SetExpr, SetOperator, SetQuantifier, Spanned, Statement, TableFactor,
};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::Span;

use super::text::{Lines, Rewritten};
use super::windows::WindowUse;
use super::{Problem, TableInput};
use crate::diagnostic::codes;

pub(super) struct Found {
    pub tables_read: Vec<String>,
    pub problems: Vec<Problem>,
    /// Problems that make planning pointless (a table DataFusion would not find).
    pub blocking: bool,
}

const AGGREGATES: &[&str] = &[
    "count",
    "sum",
    "avg",
    "min",
    "max",
    "approx_distinct",
    "approx_count_distinct",
    "stddev",
    "stddev_pop",
    "stddev_samp",
    "var_pop",
    "var_samp",
    "variance",
    "first_value",
    "last_value",
    "listagg",
    "collect",
    "array_agg",
    "string_agg",
    "bool_and",
    "bool_or",
];
const NOW: &[&str] = &[
    "now",
    "current_timestamp",
    "localtimestamp",
    "current_date",
    "current_time",
    "proctime",
    "current_row_timestamp",
    "localtime",
];
const STRING_FUNCTIONS: &[&str] = &[
    "concat",
    "concat_ws",
    "substr",
    "substring",
    "upper",
    "lower",
    "trim",
    "ltrim",
    "rtrim",
    "char_length",
    "character_length",
    "length",
    "replace",
    "left",
    "right",
    "lpad",
    "rpad",
    "split_part",
    "starts_with",
    "ends_with",
    "regexp_replace",
    "regexp_extract",
    "regexp_like",
    "initcap",
    "reverse",
    "strpos",
    "position",
];
const WINDOW_COLUMNS: [&str; 3] = ["window_start", "window_end", "window_time"];

struct Walker<'a> {
    rewritten: &'a Rewritten,
    /// Names of common table expressions (`WITH name AS (…)`), which are tables too.
    ctes: Vec<String>,
    lines: Lines<'a>,
    inputs: &'a [TableInput],
    found: Found,
}

pub(super) fn check(
    original: &str,
    rewritten: &Rewritten,
    windows: &[WindowUse],
    inputs: &[TableInput],
) -> Result<Found, Problem> {
    let _ = original;
    let statements = Parser::parse_sql(&GenericDialect {}, &rewritten.sql)
        .map_err(|e| parse_problem(&e.to_string(), rewritten))?;
    let mut w = Walker {
        ctes: Vec::new(),
        rewritten,
        lines: Lines::new(&rewritten.sql),
        inputs,
        found: Found {
            tables_read: Vec::new(),
            problems: Vec::new(),
            blocking: false,
        },
    };
    for window in windows {
        w.found.tables_read.push(window.table.clone());
    }
    match statements.as_slice() {
        [Statement::Query(query)] => w.query(query),
        [] => {
            return Err(Problem::new(codes::SQL_SYNTAX, (0, 0), "the SQL is empty")
                .help("write one SELECT statement"))
        }
        [first, ..] => {
            w.found.blocking = true;
            w.push(
            codes::SQL_UNSUPPORTED,
            first.span(),
            "an analytics query is one SELECT statement",
            "kin writes the INSERT INTO the target itself: remove other statements and any INSERT, CREATE or `;`-separated parts",
            );
        }
    }
    Ok(w.found)
}

fn parse_problem(message: &str, rewritten: &Rewritten) -> Problem {
    // sqlparser: "sql parser error: Expected: …, found: … at Line: 2, Column: 5"
    let lines = Lines::new(&rewritten.sql);
    let position = message.rsplit_once("Line: ").and_then(|(_, rest)| {
        let (line, column) = rest.split_once(", Column: ")?;
        Some((
            line.trim().parse::<u64>().ok()?,
            column.trim().parse::<u64>().ok()?,
        ))
    });
    let at = position.map_or(0, |(l, c)| rewritten.original(lines.offset(l, c)));
    let text = message.trim_start_matches("sql parser error: ");
    let text = text.rsplit_once(" at Line: ").map_or(text, |(t, _)| t);
    Problem::new(
        codes::SQL_SYNTAX,
        (at, at),
        format!(
            "the SQL does not parse: {}",
            text.replace("Expected: ", "expected ")
        ),
    )
}

impl Walker<'_> {
    /// Converts a span of the rewritten SQL into a range of the SQL as written.
    fn range(&self, span: Span) -> (usize, usize) {
        let start = self
            .rewritten
            .original(self.lines.offset(span.start.line, span.start.column));
        let end = self
            .rewritten
            .original(self.lines.offset(span.end.line, span.end.column))
            .max(start);
        (start, end)
    }

    fn push(
        &mut self,
        code: crate::diagnostic::Code,
        span: Span,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        let range = self.range(span);
        self.found
            .problems
            .push(Problem::new(code, range, message).help(help));
    }

    /// Whether a span lies in text kin wrote (a rewritten window function).
    fn is_kins(&self, span: Span) -> bool {
        self.rewritten
            .in_replacement(self.lines.offset(span.start.line, span.start.column))
            .is_some()
    }

    fn query(&mut self, query: &Query) {
        if let Some(order_by) = &query.order_by {
            let first = match &order_by.kind {
                OrderByKind::Expressions(exprs) => exprs.first().map(|e| &e.expr),
                OrderByKind::All(_) => None,
            };
            let event_times: Vec<&str> = self
                .inputs
                .iter()
                .filter_map(|i| i.event_time.as_deref())
                .collect();
            let by_event_time = first.is_some_and(|e| match e {
                Expr::Identifier(i) => event_times.contains(&i.value.as_str()),
                Expr::CompoundIdentifier(parts) => parts
                    .last()
                    .is_some_and(|i| event_times.contains(&i.value.as_str())),
                _ => false,
            });
            if !by_event_time {
                let span = match &order_by.kind {
                    OrderByKind::Expressions(exprs) => {
                        exprs.first().map_or(query.span(), |e| e.expr.span())
                    }
                    OrderByKind::All(_) => query.span(),
                };
                self.push(codes::SQL_UNSUPPORTED, span, "ORDER BY sorts a stream, which never ends", "Flink sorts a stream only by its event time, ascending (`ORDER BY ts`); leave other sorting to whoever reads the output");
            }
        }
        if let Some(limit) = &query.limit_clause {
            self.push(codes::SQL_UNSUPPORTED, limit.span(), "LIMIT on a stream stops reading it for good", "remove LIMIT; to keep the top N per window, rank within the window (ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY …))");
        }
        if let Some(fetch) = &query.fetch {
            self.push(
                codes::SQL_UNSUPPORTED,
                fetch.span(),
                "FETCH on a stream stops reading it for good",
                "remove FETCH",
            );
        }
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                self.ctes.push(cte.alias.name.value.clone());
                self.query(&cte.query);
            }
        }
        self.set_expr(&query.body);
    }

    fn set_expr(&mut self, body: &SetExpr) {
        match body {
            SetExpr::Select(select) => self.select(select),
            SetExpr::Query(query) => self.query(query),
            SetExpr::SetOperation {
                op,
                set_quantifier,
                left,
                right,
            } => {
                if *op != SetOperator::Union || !matches!(set_quantifier, SetQuantifier::All) {
                    self.push(codes::SQL_UNSUPPORTED, body.span(), format!("{op} {set_quantifier} needs to remember every row of an endless stream").replace("  ", " "), "use UNION ALL");
                }
                self.set_expr(left);
                self.set_expr(right);
            }
            other => self.push(
                codes::SQL_UNSUPPORTED,
                other.span(),
                "an analytics query reads streams with SELECT",
                "write SELECT … FROM a stream of `from`",
            ),
        }
    }

    fn select(&mut self, select: &Select) {
        // Relations: tables and derived tables of FROM and its joins.
        let mut relations = Vec::new();
        for twj in &select.from {
            relations.push((&twj.relation, None));
            for join in &twj.joins {
                relations.push((&join.relation, Some(&join.join_operator)));
            }
        }
        let mut windowed = Vec::new();
        for (relation, _) in &relations {
            windowed.push(self.relation(relation));
        }
        let any_window = windowed.iter().any(|w| *w);
        // Joins of streams: both sides windowed, on the same windows.
        if relations.len() > 1 {
            for (j, ((relation, op), is_windowed)) in
                relations.iter().zip(&windowed).enumerate().skip(1)
            {
                let on = op
                    .and_then(join_condition)
                    .map(|e| e.to_string())
                    .unwrap_or_default();
                // An interval join bounds the other side's time: `b.ts BETWEEN a.ts - INTERVAL … AND a.ts`.
                let interval_join = on.contains("INTERVAL")
                    && (on.contains("BETWEEN") || on.contains('<') || on.contains('>'));
                let both_windowed = *is_windowed && windowed[j - 1];
                if interval_join {
                    continue;
                }
                if !both_windowed {
                    self.push(codes::SQL_UNBOUNDED, relation.span(), "this join of streams has no window or time bound, so it would keep every row forever", "join windowed tables on the same windows (ON a.window_start = b.window_start AND a.window_end = b.window_end), or bound the time: ON … AND b.ts BETWEEN a.ts - INTERVAL '1' HOUR AND a.ts");
                } else if !(on.contains("window_start") && on.contains("window_end")) {
                    self.push(codes::SQL_UNBOUNDED, relation.span(), "a window join must match the windows of both sides", "join ON a.window_start = b.window_start AND a.window_end = b.window_end (plus your keys)");
                }
            }
        }
        // Aggregation needs a window, and must group by it.
        let group_by: Vec<&Expr> = match &select.group_by {
            GroupByExpr::Expressions(exprs, _) => exprs.iter().collect(),
            GroupByExpr::All(_) => Vec::new(),
        };
        let aggregate = first_aggregate(select);
        if !group_by.is_empty() || aggregate.is_some() {
            let span = group_by
                .first()
                .map(|e| e.span())
                .or(aggregate)
                .unwrap_or_else(|| select.span());
            if !any_window {
                self.push(codes::SQL_UNBOUNDED, span, "this aggregation has no window, so it would wait for the stream to end", "aggregate over a window: FROM TABLE(TUMBLE(TABLE s, DESCRIPTOR(ts), INTERVAL '1' MINUTE)) … GROUP BY window_start, window_end, …");
            } else {
                let grouped: Vec<String> = group_by.iter().map(|e| e.to_string()).collect();
                let has = |c: &str| {
                    grouped
                        .iter()
                        .any(|g| g == c || g.ends_with(&format!(".{c}")))
                };
                if !(has("window_start") && has("window_end")) {
                    self.push(
                        codes::SQL_UNBOUNDED,
                        span,
                        "a window aggregation must group by the window",
                        "add `window_start, window_end` to GROUP BY",
                    );
                }
            }
        }
        if select.distinct.is_some() {
            self.push(codes::SQL_UNSUPPORTED, select.span(), "SELECT DISTINCT on a stream must remember every row, and it emits updates a Kinesis or Firehose target cannot take", "deduplicate within a window: GROUP BY window_start, window_end and the distinct columns");
        }
        // Output columns need names.
        for item in &select.projection {
            if let SelectItem::UnnamedExpr(expr) = item {
                if !matches!(expr, Expr::Identifier(_) | Expr::CompoundIdentifier(_))
                    && !self.is_kins(expr.span())
                {
                    let shown = expr.to_string();
                    self.push(codes::SQL_UNNAMED_COLUMN, expr.span(), format!("output column `{shown}` has no name"), format!("name it: `{shown} AS name`; the name becomes the field of the output record"));
                }
            }
        }
        self.expressions(select);
    }

    /// Checks one relation; returns whether it is a kin window.
    fn relation(&mut self, relation: &TableFactor) -> bool {
        match relation {
            TableFactor::Derived { subquery, .. } => {
                if self.is_kins(relation.span()) {
                    return true;
                }
                self.query(subquery);
                false
            }
            TableFactor::Table { name, .. } => {
                let table = name
                    .0
                    .last()
                    .map(|p| p.to_string().trim_matches(['`', '"']).to_string())
                    .unwrap_or_default();
                if self.is_kins(relation.span()) {
                    return true;
                }
                if self.ctes.contains(&table) {
                    return false;
                }
                if !self.inputs.iter().any(|i| i.name == table) {
                    let inputs: Vec<&str> = self.inputs.iter().map(|i| i.name.as_str()).collect();
                    self.push(
                        codes::SQL_TABLE_NOT_IN_FROM,
                        relation.span(),
                        format!("the SQL reads table \"{table}\", which is not in this analytics' `from`"),
                        match crate::diagnostic::nearest(&table, inputs.iter().copied()) {
                            Some(near) => format!("did you mean `{near}`? the tables are the streams of `from`"),
                            None => format!("add `{table}` to `from`; the tables are the streams of `from`: {}", inputs.join(", ")),
                        },
                    );
                    self.found.blocking = true;
                }
                self.found.tables_read.push(table);
                false
            }
            other => {
                self.push(
                    codes::SQL_UNSUPPORTED,
                    other.span(),
                    "kin reads only streams and window functions in FROM",
                    "write FROM stream, or FROM TABLE(TUMBLE(TABLE stream, …))",
                );
                false
            }
        }
    }

    /// Expression rules: no subqueries, no wall-clock time, window timestamps not as strings.
    fn expressions(&mut self, select: &Select) {
        let mut problems: Vec<(crate::diagnostic::Code, Span, String, String)> = Vec::new();
        let _ = visit_expressions(select, |expr: &Expr| {
            if self.is_kins(expr.span()) {
                return ControlFlow::<()>::Continue(());
            }
            match expr {
                Expr::Subquery(_) | Expr::InSubquery { .. } | Expr::Exists { .. } => problems.push((
                    codes::SQL_UNSUPPORTED,
                    expr.span(),
                    "a subquery inside an expression would read a whole stream for every row".into(),
                    "join the streams over a window instead".into(),
                )),
                Expr::Function(f) => {
                    let name = f.name.to_string().to_ascii_lowercase();
                    if NOW.contains(&name.as_str()) {
                        problems.push((codes::SQL_UNSUPPORTED, expr.span(), format!("`{name}` is the wall-clock time, which differs between a replay and a live run"), "use the event time of the record (the schema's event_time field) instead".into()));
                    } else if STRING_FUNCTIONS.contains(&name.as_str()) && mentions_window_column(expr) {
                        problems.push((codes::SQL_WINDOW_TIME_AS_STRING, expr.span(), format!("`{name}` treats a window timestamp as a string"), "window_start and window_end are TIMESTAMP(3): format them with DATE_FORMAT(window_start, 'yyyy-MM-dd HH:mm') or compare them with TIMESTAMP literals".into()));
                    }
                }
                Expr::Like { expr: inner, .. } | Expr::ILike { expr: inner, .. } | Expr::SimilarTo { expr: inner, .. } if is_window_column(inner) => problems.push((
                    codes::SQL_WINDOW_TIME_AS_STRING,
                    expr.span(),
                    "LIKE treats a window timestamp as a string".into(),
                    "compare window_start with TIMESTAMP literals, e.g. window_start >= TIMESTAMP '2024-01-01 00:00:00'".into(),
                )),
                _ => {}
            }
            ControlFlow::Continue(())
        });
        for (code, span, message, help) in problems {
            self.push(code, span, message, help);
        }
    }
}

fn join_condition(op: &JoinOperator) -> Option<&Expr> {
    let constraint = match op {
        JoinOperator::Join(c)
        | JoinOperator::Inner(c)
        | JoinOperator::Left(c)
        | JoinOperator::LeftOuter(c)
        | JoinOperator::Right(c)
        | JoinOperator::RightOuter(c)
        | JoinOperator::FullOuter(c) => c,
        _ => return None,
    };
    match constraint {
        JoinConstraint::On(expr) => Some(expr),
        _ => None,
    }
}

/// The span of the first aggregate function call in the projection or HAVING.
fn first_aggregate(select: &Select) -> Option<Span> {
    let mut found = None;
    let mut look = |expr: &Expr| {
        if let Expr::Function(f) = expr {
            let name = f.name.to_string().to_ascii_lowercase();
            // A window function (`… OVER (…)`) is not a grouping aggregate.
            if f.over.is_none() && AGGREGATES.contains(&name.as_str()) && found.is_none() {
                found = Some(expr.span());
            }
        }
        ControlFlow::<()>::Continue(())
    };
    for item in &select.projection {
        let _ = visit_expressions(item, &mut look);
    }
    if let Some(having) = &select.having {
        let _ = visit_expressions(having, &mut look);
    }
    found
}

fn is_window_column(expr: &Expr) -> bool {
    match expr {
        Expr::Identifier(i) => WINDOW_COLUMNS.contains(&i.value.as_str()),
        Expr::CompoundIdentifier(parts) => parts
            .last()
            .is_some_and(|i| WINDOW_COLUMNS.contains(&i.value.as_str())),
        Expr::Nested(inner) => is_window_column(inner),
        _ => false,
    }
}

fn mentions_window_column(expr: &Expr) -> bool {
    let mut found = false;
    let _ = visit_expressions(expr, |e: &Expr| {
        if is_window_column(e) {
            found = true;
        }
        ControlFlow::<()>::Continue(())
    });
    found
}
