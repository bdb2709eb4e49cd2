//! Builds the pipeline graph from resolved references, and finds cycles.

use petgraph::algo::tarjan_scc;
use petgraph::stable_graph::NodeIndex;

use super::Context;
use crate::ast::DestinationKind;
use crate::diagnostic::{codes, Diagnostic};
use crate::ir::graph::{NodeKind, PipelineGraph, Record};
use crate::source::Span;

pub(super) fn build(cx: &mut Context) -> PipelineGraph {
    let spec = cx.spec;
    let mut g = PipelineGraph::default();
    for (name, (kind, _)) in &cx.nodes {
        g.add(*kind, name, Record::Unknown);
    }
    let mut spans: Vec<(String, Span)> = Vec::new();
    // Only the first declaration of a name is a graph node; later ones are K0006 errors.
    let firsts: Vec<Span> = cx.nodes.values().map(|(_, s)| *s).collect();
    let first = |name: &crate::source::Spanned<String>| firsts.contains(&name.span);
    for p in spec.producers.iter().filter(|p| first(&p.name)) {
        let owner = format!("producer \"{}\"", p.name.value);
        if let Some(to) = &p.to {
            if cx
                .resolve(
                    &owner,
                    "writes to",
                    to,
                    &[NodeKind::Stream, NodeKind::Firehose],
                )
                .is_some()
            {
                g.connect(&p.name.value, &to.value);
            }
        }
    }
    for a in spec.analytics.iter().filter(|a| first(&a.name)) {
        let owner = format!("analytics \"{}\"", a.name.value);

        for from in &a.from {
            if cx
                .resolve(&owner, "reads from", from, &[NodeKind::Stream])
                .is_some()
            {
                g.connect(&from.value, &a.name.value);
            }
        }
        if let Some(to) = &a.to {
            if cx
                .resolve(
                    &owner,
                    "writes to",
                    to,
                    &[NodeKind::Stream, NodeKind::Firehose],
                )
                .is_some()
            {
                g.connect(&a.name.value, &to.value);
                spans.push((a.name.value.clone(), to.span));
            }
        }
    }
    let mut endpoints: Vec<(String, Option<String>)> = Vec::new();
    for f in spec.firehoses.iter().filter(|f| first(&f.name)) {
        let owner = format!("firehose \"{}\"", f.name.value);
        if let Some(from) = &f.from {
            if cx
                .resolve(&owner, "reads from", from, &[NodeKind::Stream])
                .is_some()
            {
                g.connect(&from.value, &f.name.value);
            }
            if cx
                .nodes
                .get(f.name.value.as_str())
                .is_some_and(|(k, _)| *k == NodeKind::Firehose)
            {
                direct_put_conflict(cx, &f.name.value, from.span);
            }
        }
        if let Some(dest) = &f.to {
            let mut name = destination_name(&f.name.value, &dest.kind);
            // The same table or index on another cluster is another destination.
            let endpoint = destination_endpoint(&dest.kind);
            match endpoints.iter().find(|(n, _)| *n == name) {
                Some((_, e)) if *e != endpoint => name = format!("{name}@{}", f.name.value),
                Some(_) => {}
                None => endpoints.push((name.clone(), endpoint)),
            }
            g.add(NodeKind::Destination, &name, Record::Unknown);
            g.connect(&f.name.value, &name);
        }
    }
    cycles(cx, &g, &spans);
    g
}

/// The graph name of a destination: shared when two firehoses deliver to the same place.
pub(crate) fn destination_name(firehose: &str, kind: &DestinationKind) -> String {
    let literal = |s: &Option<crate::source::Spanned<String>>| {
        s.as_ref()
            .filter(|s| !s.value.contains("${"))
            .map(|s| s.value.clone())
    };
    match kind {
        DestinationKind::S3(s3) => match literal(&s3.bucket) {
            Some(bucket) => format!("s3://{bucket}"),
            None => format!("s3:{firehose}"),
        },
        DestinationKind::Redshift(r) => format!(
            "redshift:{}",
            r.table.as_ref().map_or(firehose, |t| t.value.as_str())
        ),
        DestinationKind::OpenSearch(o) => format!(
            "opensearch:{}",
            o.index.as_ref().map_or(firehose, |t| t.value.as_str())
        ),
        DestinationKind::Splunk(_) => format!("splunk:{firehose}"),
        DestinationKind::Http(_) => format!("http:{firehose}"),
    }
}

/// The cluster or domain a table or index lives on, as written.
fn destination_endpoint(kind: &DestinationKind) -> Option<String> {
    match kind {
        DestinationKind::Redshift(r) => r.jdbc_url.as_ref().map(|u| u.value.clone()),
        DestinationKind::OpenSearch(o) => o.endpoint.as_ref().map(|e| e.value.clone()),
        _ => None,
    }
}

/// A firehose that reads a stream cannot also take Direct PUT writes (AWS disables them).
fn direct_put_conflict(cx: &mut Context, firehose: &str, from_span: Span) {
    let spec = cx.spec;
    let writers = spec
        .producers
        .iter()
        .filter_map(|p| {
            p.to.as_ref()
                .filter(|t| t.value == firehose)
                .map(|t| (format!("producer \"{}\"", p.name.value), t.span))
        })
        .chain(spec.analytics.iter().filter_map(|a| {
            a.to.as_ref()
                .filter(|t| t.value == firehose)
                .map(|t| (format!("analytics \"{}\"", a.name.value), t.span))
        }))
        .collect::<Vec<_>>();
    for (writer, span) in writers {
        cx.push(
            Diagnostic::new(
                codes::CONFLICTING_SETTINGS,
                span,
                format!("{writer} writes to firehose \"{firehose}\", which reads from a stream"),
            )
            .with_label("direct write")
            .with_secondary(from_span, "the firehose's source stream")
            .with_help("AWS turns Direct PUT off for a firehose with a Kinesis source: write to the stream instead, or remove the firehose's `from`"),
        );
    }
}

fn cycles(cx: &mut Context, g: &PipelineGraph, to_spans: &[(String, Span)]) {
    for scc in tarjan_scc(&g.graph) {
        let is_cycle = scc.len() > 1 || scc.iter().any(|&n| g.graph.find_edge(n, n).is_some());
        if !is_cycle {
            continue;
        }
        // Start at the node declared first, so the message is stable.
        let start = *scc
            .iter()
            .min_by_key(|n| g.by_name.get_index_of(g.graph[**n].name.as_str()))
            .unwrap_or(&scc[0]);
        let path = cycle_path(g, start, &scc);
        let names: Vec<&str> = path.iter().map(|&n| g.graph[n].name.as_str()).collect();
        // The write that closes the cycle: the last analytics `to` on the path.
        let span = path[..path.len() - 1]
            .iter()
            .rev()
            .find_map(|n| {
                to_spans
                    .iter()
                    .find(|(a, _)| *a == g.graph[*n].name)
                    .map(|(_, s)| *s)
            })
            .or_else(|| cx.nodes.get(g.graph[start].name.as_str()).map(|(_, s)| *s))
            .unwrap_or_default();
        cx.push(
            Diagnostic::new(
                codes::CYCLE,
                span,
                format!("the pipeline has a cycle: {}", names.join(" → ")),
            )
            .with_label("this write closes the cycle")
            .with_help(
                "records would flow around forever: write the analytics output to a new stream",
            ),
        );
    }
}

/// A path from `start` back to itself inside one strongly connected component.
fn cycle_path(g: &PipelineGraph, start: NodeIndex, scc: &[NodeIndex]) -> Vec<NodeIndex> {
    let mut path = vec![start];
    let mut stack = vec![(start, g.graph.neighbors(start).collect::<Vec<_>>())];
    let mut seen = vec![start];
    while let Some((_, next)) = stack.last_mut() {
        let Some(n) = next.pop() else {
            stack.pop();
            path.pop();
            continue;
        };
        if n == start {
            path.push(start);
            return path;
        }
        if scc.contains(&n) && !seen.contains(&n) {
            seen.push(n);
            path.push(n);
            stack.push((n, g.graph.neighbors(n).collect()));
        }
    }
    vec![start, start]
}
