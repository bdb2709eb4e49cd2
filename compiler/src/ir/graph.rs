//! The typed pipeline graph: producers, streams, analytics, firehoses and destinations, each
//! with its resolved record type, connected in the direction records flow.

use indexmap::IndexMap;
use petgraph::stable_graph::{NodeIndex, StableDiGraph};

use super::types::RecordType;
use crate::ast::Spec;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NodeKind {
    Producer,
    Stream,
    Analytics,
    Firehose,
    Destination,
}

impl NodeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeKind::Producer => "producer",
            NodeKind::Stream => "stream",
            NodeKind::Analytics => "analytics",
            NodeKind::Firehose => "firehose",
            NodeKind::Destination => "destination",
        }
    }
}

/// The record type a node carries: known, or not yet inferred (an analytics output before the
/// SQL stage types it).
#[derive(Clone, Debug, PartialEq)]
pub enum Record {
    Known(RecordType),
    Unknown,
}

impl Record {
    pub fn known(&self) -> Option<&RecordType> {
        match self {
            Record::Known(t) => Some(t),
            Record::Unknown => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Node {
    pub kind: NodeKind,
    pub name: String,
    pub record: Record,
}

#[derive(Clone, Debug, Default)]
pub struct PipelineGraph {
    pub graph: StableDiGraph<Node, ()>,
    pub by_name: IndexMap<String, NodeIndex>,
}

impl PipelineGraph {
    pub fn add(&mut self, kind: NodeKind, name: &str, record: Record) -> NodeIndex {
        if let Some(&index) = self.by_name.get(name) {
            return index;
        }
        let index = self.graph.add_node(Node {
            kind,
            name: name.to_string(),
            record,
        });
        self.by_name.insert(name.to_string(), index);
        index
    }

    pub fn connect(&mut self, from: &str, to: &str) {
        if let (Some(&a), Some(&b)) = (self.by_name.get(from), self.by_name.get(to)) {
            if self.graph.find_edge(a, b).is_none() {
                self.graph.add_edge(a, b, ());
            }
        }
    }

    pub fn node(&self, name: &str) -> Option<&Node> {
        self.by_name.get(name).map(|&i| &self.graph[i])
    }

    /// Nodes in declaration order.
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.by_name.values().map(|&i| &self.graph[i])
    }

    /// Edges as (from, to) names, in a stable order.
    pub fn edges(&self) -> Vec<(&str, &str)> {
        let mut edges: Vec<(usize, usize, &str, &str)> = self
            .graph
            .edge_indices()
            .filter_map(|e| self.graph.edge_endpoints(e))
            .map(|(a, b)| {
                let (na, nb) = (&self.graph[a].name, &self.graph[b].name);
                let ia = self.by_name.get_index_of(na.as_str()).unwrap_or(usize::MAX);
                let ib = self.by_name.get_index_of(nb.as_str()).unwrap_or(usize::MAX);
                (ia, ib, na.as_str(), nb.as_str())
            })
            .collect();
        edges.sort();
        edges.into_iter().map(|(_, _, a, b)| (a, b)).collect()
    }
}

/// A checked pipeline: the spec as written, its schemas resolved, and its typed graph.
#[derive(Clone, Debug)]
pub struct Pipeline {
    pub name: String,
    pub spec: Spec,
    pub schemas: IndexMap<String, RecordType>,
    pub graph: PipelineGraph,
    /// Per analytics node: its SQL's plan and output type (for `kin explain`).
    pub analyses: IndexMap<String, crate::sql::Analysis>,
}

impl Pipeline {
    /// The schema a stream declares with `schema:` (none for streams typed by their writers).
    pub fn stream_schema(&self, stream: &str) -> Option<&crate::ast::Schema> {
        let stream = self.spec.streams.iter().find(|s| s.name.value == stream)?;
        let schema = stream.schema.as_ref()?.value.as_str();
        self.spec.schemas.iter().find(|s| s.name.value == schema)
    }
}
