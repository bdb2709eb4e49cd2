//! Analytics: each query planned against its inputs (in dependency order, so an analytics
//! reading another's output sees its inferred type), its problems mapped into the file, and its
//! output type given to the analytics node and to the stream it writes.

use petgraph::algo::toposort;

use super::records::differences;
use super::Context;
use crate::ast::{Analytics, Sql};
use crate::diagnostic::{codes, Diagnostic};
use crate::ir::graph::{NodeKind, PipelineGraph, Record};
use crate::source::Span;
use crate::sql::{analyze, Problem, TableInput};

pub(super) fn check(cx: &mut Context, graph: &mut PipelineGraph) {
    let spec = cx.spec;
    // Dependency order; with a cycle (already an error), declaration order.
    let order: Vec<String> = match toposort(&graph.graph, None) {
        Ok(nodes) => nodes
            .into_iter()
            .map(|n| graph.graph[n].name.clone())
            .collect(),
        Err(_) => spec
            .analytics
            .iter()
            .map(|a| a.name.value.clone())
            .collect(),
    };
    let first_declared: Vec<Span> = cx.nodes.values().map(|(_, s)| *s).collect();
    for name in order {
        let Some(analytics) = spec
            .analytics
            .iter()
            .find(|a| a.name.value == name && first_declared.contains(&a.name.span))
        else {
            continue;
        };
        check_one(cx, graph, analytics);
    }
}

fn check_one(cx: &mut Context, graph: &mut PipelineGraph, analytics: &Analytics) {
    let Some(sql) = &analytics.sql else { return };
    if analytics.from.is_empty() {
        return; // no inputs to plan against: the missing `from` is already reported
    }
    let mut inputs: Vec<TableInput> = Vec::new();
    for (i, from) in analytics.from.iter().enumerate() {
        if let Some(first) = analytics.from[..i].iter().find(|f| f.value == from.value) {
            cx.push(
                Diagnostic::new(codes::DUPLICATE_NAME, from.span, format!("analytics \"{}\" lists stream \"{}\" twice in `from`", analytics.name.value, from.value))
                    .with_label("listed again")
                    .with_secondary(first.span, "first listed here")
                    .with_help("list each input once; to read a stream twice in the SQL, give it two aliases (`FROM s AS a JOIN s AS b …`)"),
            );
            continue;
        }
        let Some(record) = cx.stream_types.get(&from.value) else {
            // An unknown or untyped input is reported where it is declared or written.
            return;
        };
        inputs.push(TableInput {
            name: from.value.clone(),
            record: record.clone(),
            event_time: event_time(cx, &from.value),
        });
    }
    let analysis = analyze(&sql.text, &inputs);
    let owner = format!("analytics \"{}\"", analytics.name.value);
    for problem in &analysis.problems {
        cx.push(diagnostic(sql, problem, &owner));
    }
    let clean = analysis.problems.is_empty();
    if clean {
        for from in &analytics.from {
            if !analysis.tables_read.contains(&from.value) {
                cx.push(
                    Diagnostic::new(codes::SQL_TABLE_NOT_IN_FROM, from.span, format!("{owner} reads from stream \"{}\", but its SQL never uses it", from.value))
                        .with_label("unused input")
                        .with_help("remove it from `from`, or read it in the SQL (each stream of `from` is a table of that name)"),
                );
            }
        }
    }
    if let Some(output) = &analysis.output {
        if let Some(&i) = graph.by_name.get(&analytics.name.value) {
            graph.graph[i].record = Record::Known(output.clone());
        }
        cx.analytics_types
            .insert(analytics.name.value.clone(), output.clone());
        type_target(cx, graph, analytics, output);
    }
    cx.analyses.insert(analytics.name.value.clone(), analysis);
}

/// The event_time of a stream: its declared schema's.
fn event_time(cx: &Context, stream: &str) -> Option<String> {
    let decl = cx.spec.streams.iter().find(|s| s.name.value == stream)?;
    let schema = decl.schema.as_ref()?;
    let schema = cx
        .spec
        .schemas
        .iter()
        .find(|s| s.name.value == schema.value)?;
    schema.event_time.as_ref().map(|e| e.value.clone())
}

/// The stream an analytics writes takes its output type, or must match its declared schema.
fn type_target(
    cx: &mut Context,
    graph: &mut PipelineGraph,
    analytics: &Analytics,
    output: &crate::ir::types::RecordType,
) {
    let Some(to) = &analytics.to else { return };
    if cx.nodes.get(to.value.as_str()).map(|(k, _)| *k) != Some(NodeKind::Stream) {
        return;
    }
    let declared = cx
        .spec
        .streams
        .iter()
        .find(|s| s.name.value == to.value)
        .and_then(|s| s.schema.as_ref());
    match declared {
        Some(schema) => {
            let Some(expected) = cx.stream_types.get(&to.value).cloned() else {
                return;
            };
            let diffs = differences(&expected, output);
            if !diffs.is_empty() {
                cx.push(
                    Diagnostic::new(
                        codes::SQL_OUTPUT_MISMATCH,
                        to.span,
                        format!(
                            "analytics \"{}\" writes records that differ from stream \"{}\"'s schema \"{}\": {}",
                            analytics.name.value,
                            to.value,
                            schema.value,
                            diffs.join(", ")
                        ),
                    )
                    .with_label("output does not match")
                    .with_secondary(schema.span, "the declared schema")
                    .with_help("change the SELECT list (names, CASTs, COALESCE for nullability), or remove the stream's `schema` to take the query's type"),
                );
            }
        }
        None => {
            cx.stream_types.insert(to.value.clone(), output.clone());
            if let Some(&i) = graph.by_name.get(&to.value) {
                graph.graph[i].record = Record::Known(output.clone());
            }
        }
    }
}

fn diagnostic(sql: &Sql, problem: &Problem, owner: &str) -> Diagnostic {
    let (start, end) = problem.range;
    let span = if start == 0 && end == 0 && problem.code != codes::SQL_SYNTAX {
        sql.span
    } else {
        file_span(sql, start, end)
    };
    let mut d = Diagnostic::new(problem.code, span, format!("{owner}: {}", problem.message));
    d.label = problem.label.clone();
    d.help = problem.help.clone();
    for ((start, end), note) in &problem.notes {
        let note_start = sql.file_offset(*start);
        d = d.with_secondary(
            Span::new(note_start, sql.file_offset(*end).max(note_start + 1)),
            note.clone(),
        );
    }
    d
}

/// The file span of SQL bytes `start..end`; an empty range covers the character at `start`.
fn file_span(sql: &Sql, start: usize, end: usize) -> Span {
    let end = if end > start {
        end
    } else {
        sql.text[start.min(sql.text.len())..]
            .chars()
            .next()
            .map_or(start, |c| start + c.len_utf8())
    };
    let file_start = sql.file_offset(start);
    Span::new(file_start, sql.file_offset(end).max(file_start))
}
