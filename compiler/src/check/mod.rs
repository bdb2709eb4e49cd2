//! Stage 2, check: the spec AST → the typed pipeline graph, with every semantic diagnostic.
//!
//! Each submodule is one family of rules; all run, and all their diagnostics are collected.
//! The graph is built even when there are errors, so that tools can still show it.

mod capacity;
mod destinations;
mod graph;
mod names;
mod prefix;
mod records;
mod sql;
mod streams;
mod warnings;

use indexmap::IndexMap;

use crate::ast::Spec;
use crate::diagnostic::{codes, did_you_mean, Diagnostic};
use crate::ir::graph::{NodeKind, Pipeline};
use crate::ir::types::RecordType;
use crate::source::{Span, Spanned};

/// The result of checking one spec.
pub struct Checked {
    pub pipeline: Pipeline,
    pub diagnostics: Vec<Diagnostic>,
}

/// Runs every rule over the spec and builds the typed graph.
pub fn check(spec: Spec) -> Checked {
    let mut cx = Context::new(&spec);
    names::check(&mut cx);
    records::check_schemas(&mut cx);
    let mut graph = graph::build(&mut cx);
    records::type_streams(&mut cx, &mut graph);
    sql::check(&mut cx, &mut graph);
    records::type_firehoses(&mut cx, &mut graph);
    streams::check(&mut cx);
    destinations::check(&mut cx);
    capacity::check(&mut cx);
    warnings::check(&mut cx);
    let diagnostics = std::mem::take(&mut cx.diagnostics);
    let schemas = std::mem::take(&mut cx.schemas);
    let analyses = std::mem::take(&mut cx.analyses);
    let name = spec
        .pipeline
        .as_ref()
        .map(|p| p.value.clone())
        .unwrap_or_default();
    Checked {
        pipeline: Pipeline {
            name,
            spec,
            schemas,
            graph,
            analyses,
        },
        diagnostics,
    }
}

/// What every rule can see: the spec, the node table and the resolved types so far.
pub(crate) struct Context<'s> {
    pub spec: &'s Spec,
    pub diagnostics: Vec<Diagnostic>,
    /// Node name → its kind and declaration span (the first declaration, for duplicates).
    pub nodes: IndexMap<&'s str, (NodeKind, Span)>,
    /// Schema name → its record type (only schemas whose every field type is valid).
    pub schemas: IndexMap<String, RecordType>,
    /// Stream name → its record type, once known (declared, or inferred from the SQL writing it).
    pub stream_types: IndexMap<String, RecordType>,
    /// Analytics name → its output record type, once the SQL planned.
    pub analytics_types: IndexMap<String, RecordType>,
    /// Analytics name → what the SQL stage learned (plan, rewritten SQL), for `kin explain`.
    pub analyses: IndexMap<String, crate::sql::Analysis>,
}

impl<'s> Context<'s> {
    fn new(spec: &'s Spec) -> Self {
        let mut nodes = IndexMap::new();
        let mut add = |name: &'s Spanned<String>, kind| {
            nodes
                .entry(name.value.as_str())
                .or_insert((kind, name.span));
        };
        spec.producers
            .iter()
            .for_each(|n| add(&n.name, NodeKind::Producer));
        spec.streams
            .iter()
            .for_each(|n| add(&n.name, NodeKind::Stream));
        spec.analytics
            .iter()
            .for_each(|n| add(&n.name, NodeKind::Analytics));
        spec.firehoses
            .iter()
            .for_each(|n| add(&n.name, NodeKind::Firehose));
        Context {
            spec,
            diagnostics: Vec::new(),
            nodes,
            schemas: IndexMap::new(),
            stream_types: IndexMap::new(),
            analytics_types: IndexMap::new(),
            analyses: IndexMap::new(),
        }
    }

    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    pub fn region(&self) -> &str {
        self.spec
            .region
            .as_ref()
            .map_or("us-east-1", |r| r.value.as_str())
    }

    /// Resolves a reference to a node that must be one of `allowed` kinds; reports K0007/K0008.
    pub fn resolve(
        &mut self,
        owner: &str,
        role: &str,
        target: &Spanned<String>,
        allowed: &[NodeKind],
    ) -> Option<NodeKind> {
        match self.nodes.get(target.value.as_str()).copied() {
            Some((kind, _)) if allowed.contains(&kind) => Some(kind),
            Some((kind, decl)) => {
                let wanted = allowed
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(" or ");
                self.push(
                    Diagnostic::new(
                        codes::WRONG_REFERENCE_KIND,
                        target.span,
                        format!(
                            "{owner} {role} \"{}\", which is {} {}, not {} {wanted}",
                            target.value,
                            article(kind.as_str()),
                            kind.as_str(),
                            article(&wanted)
                        ),
                    )
                    .with_label(format!("expected {} {wanted}", article(&wanted)))
                    .with_secondary(decl, format!("\"{}\" is declared here", target.value)),
                );
                None
            }
            None => {
                let wanted = allowed
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(" or ");
                let candidates: Vec<&str> = self
                    .nodes
                    .iter()
                    .filter(|(_, (k, _))| allowed.contains(k))
                    .map(|(n, _)| *n)
                    .collect();
                self.push(
                    Diagnostic::new(
                        codes::UNKNOWN_REFERENCE,
                        target.span,
                        format!(
                            "{owner} {role} {wanted} \"{}\", which does not exist",
                            target.value
                        ),
                    )
                    .with_label(format!("no {wanted} of this name"))
                    .with_help_opt(did_you_mean(&target.value, candidates.iter().copied())),
                );
                None
            }
        }
    }

    /// Resolves a schema reference; reports K0007 when it does not exist.
    pub fn resolve_schema(&mut self, owner: &str, target: &Spanned<String>) -> Option<RecordType> {
        if let Some(t) = self.schemas.get(&target.value) {
            return Some(t.clone());
        }
        if self
            .spec
            .schemas
            .iter()
            .any(|s| s.name.value == target.value)
        {
            return None; // declared but invalid: already reported
        }
        let candidates: Vec<&str> = self
            .spec
            .schemas
            .iter()
            .map(|s| s.name.value.as_str())
            .collect();
        self.push(
            Diagnostic::new(
                codes::UNKNOWN_REFERENCE,
                target.span,
                format!(
                    "{owner} uses schema \"{}\", which does not exist",
                    target.value
                ),
            )
            .with_label("no schema of this name")
            .with_help_opt(did_you_mean(&target.value, candidates.iter().copied())),
        );
        None
    }
}

pub(crate) fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}
