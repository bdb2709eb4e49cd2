//! `kin graph`: the typed pipeline graph as JSON, Graphviz DOT or Mermaid.

use serde_json::{json, Value};

use crate::ir::graph::{Node, NodeKind, Pipeline, Record};
use crate::ir::types::RecordType;

/// `{"pipeline", "nodes": [{"kind","name","schema":[{"name","type","nullable"}]}], "edges": [{"from","to"}]}`;
/// `schema` is `null` while a node's type is not known yet.
pub fn to_json(pipeline: &Pipeline) -> Value {
    let g = &pipeline.graph;
    let nodes: Vec<Value> = g
        .nodes()
        .map(|n| {
            json!({
                "kind": n.kind.as_str(),
                "name": n.name,
                "schema": n.record.known().map(schema_json),
            })
        })
        .collect();
    let edges: Vec<Value> = g
        .edges()
        .into_iter()
        .map(|(a, b)| json!({ "from": a, "to": b }))
        .collect();
    json!({ "pipeline": pipeline.name, "nodes": nodes, "edges": edges })
}

fn schema_json(record: &RecordType) -> Value {
    record
        .fields
        .iter()
        .map(|f| json!({ "name": f.name, "type": f.ty.ty.to_string(), "nullable": f.ty.nullable }))
        .collect()
}

fn shape(kind: NodeKind) -> (&'static str, &'static str, &'static str) {
    // (DOT shape, Mermaid open, Mermaid close)
    match kind {
        NodeKind::Producer => ("invhouse", "[/", "/]"),
        NodeKind::Stream => ("cds", "[[", "]]"),
        NodeKind::Analytics => ("hexagon", "{{", "}}"),
        NodeKind::Firehose => ("box", "[", "]"),
        NodeKind::Destination => ("cylinder", "[(", ")]"),
    }
}

fn record_summary(n: &Node) -> String {
    match &n.record {
        Record::Known(t) => t
            .fields
            .iter()
            .map(|f| format!("{}: {}", f.name, f.ty))
            .collect::<Vec<_>>()
            .join("\\n"),
        Record::Unknown => "(type inferred from SQL)".to_string(),
    }
}

fn dot_escape(text: &str) -> String {
    text.replace('"', "\\\"")
}

pub fn to_dot(pipeline: &Pipeline) -> String {
    let g = &pipeline.graph;
    let mut out = format!(
        "digraph \"{}\" {{\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n",
        dot_escape(&pipeline.name)
    );
    for n in g.nodes() {
        let (shape, _, _) = shape(n.kind);
        out.push_str(&format!(
            "  \"{}\" [shape={shape}, label=\"{} {}\", tooltip=\"{}\"];\n",
            dot_escape(&n.name),
            n.kind.as_str(),
            dot_escape(&n.name),
            dot_escape(&record_summary(n))
        ));
    }
    for (a, b) in g.edges() {
        out.push_str(&format!(
            "  \"{}\" -> \"{}\";\n",
            dot_escape(a),
            dot_escape(b)
        ));
    }
    out.push_str("}\n");
    out
}

pub fn to_mermaid(pipeline: &Pipeline) -> String {
    let g = &pipeline.graph;
    let id = |name: &str| {
        g.by_name
            .get_index_of(name)
            .map_or_else(|| "n".to_string(), |i| format!("n{i}"))
    };
    let mut out = String::from("flowchart LR\n");
    for n in g.nodes() {
        let (_, open, close) = shape(n.kind);
        out.push_str(&format!(
            "  {}{open}\"{} {}\"{close}\n",
            id(&n.name),
            n.kind.as_str(),
            n.name.replace('"', "#quot;")
        ));
    }
    for (a, b) in g.edges() {
        out.push_str(&format!("  {} --> {}\n", id(a), id(b)));
    }
    out
}
