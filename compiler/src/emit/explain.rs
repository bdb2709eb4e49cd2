//! `kin explain`: each analytics node's inferred output type and its plan, as text for people.

use std::fmt::Write;

use crate::ir::graph::{NodeKind, Pipeline, Record};
use crate::ir::types::RecordType;
use crate::ir::units::Duration;

/// Explains one node (any kind), or every analytics node when `node` is `None`.
/// Returns `None` when the named node does not exist.
pub fn explain(pipeline: &Pipeline, node: Option<&str>) -> Option<String> {
    let mut out = String::new();
    match node {
        Some(name) => {
            let n = pipeline.graph.node(name)?;
            explain_node(&mut out, pipeline, name, n.kind, &n.record);
        }
        None => {
            let analytics: Vec<_> = pipeline
                .graph
                .nodes()
                .filter(|n| n.kind == NodeKind::Analytics)
                .collect();
            if analytics.is_empty() {
                out.push_str("this pipeline has no analytics\n");
            }
            for (i, n) in analytics.iter().enumerate() {
                if i > 0 {
                    out.push('\n');
                }
                explain_node(&mut out, pipeline, &n.name, n.kind, &n.record);
            }
        }
    }
    Some(out)
}

fn explain_node(
    out: &mut String,
    pipeline: &Pipeline,
    name: &str,
    kind: NodeKind,
    record: &Record,
) {
    let _ = writeln!(out, "{} {name}", kind.as_str());
    if let Some(a) = pipeline
        .spec
        .analytics
        .iter()
        .find(|a| a.name.value == name)
    {
        let from: Vec<&str> = a.from.iter().map(|f| f.value.as_str()).collect();
        let to = a.to.as_ref().map_or("?", |t| t.value.as_str());
        let _ = writeln!(out, "  reads {} → writes {to}", from.join(", "));
    }
    match record {
        Record::Known(t) => {
            out.push_str("  record type:\n");
            write_record(out, t);
        }
        Record::Unknown => {
            out.push_str("  record type: unknown (the SQL did not plan; run `kin check`)\n")
        }
    }
    let Some(analysis) = pipeline.analyses.get(name) else {
        return;
    };
    for w in &analysis.windows {
        let sizes: Vec<String> = w
            .intervals_ms
            .iter()
            .map(|ms| Duration(*ms).to_string())
            .collect();
        let _ = writeln!(
            out,
            "  window: {} over {} on {} ({})",
            w.kind.name(),
            w.table,
            w.time_column,
            sizes.join(", ")
        );
    }
    if let Some(plan) = &analysis.plan {
        out.push_str("  logical plan (DataFusion, window functions rewritten):\n");
        for line in plan.lines() {
            let _ = writeln!(out, "    {line}");
        }
    }
}

fn write_record(out: &mut String, record: &RecordType) {
    let width = record
        .fields
        .iter()
        .map(|f| f.name.len())
        .max()
        .unwrap_or(0);
    for f in &record.fields {
        let _ = writeln!(out, "    {:width$}  {}", f.name, f.ty);
    }
}
