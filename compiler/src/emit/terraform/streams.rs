//! Kinesis streams and the IAM policies of the producers that write to them (or to a Direct
//! PUT delivery stream).

use super::context::Builder;
use super::iam::{allow, via};
use super::model::{Policy, Producer, Stream};
use super::names::LONG_LIMIT;
use crate::ast::{self, StreamMode};
use crate::ir::graph::NodeKind;
use crate::ir::units::KIB;

/// Hours in a retention; AWS's default (24) when the spec says nothing.
const DEFAULT_RETENTION_HOURS: u64 = 24;

pub fn streams(b: &mut Builder) -> Vec<Stream> {
    let spec_streams: Vec<&ast::Stream> = b.pipeline.spec.streams.iter().collect();
    spec_streams
        .into_iter()
        .map(|s| {
            let node = s.name.value.clone();
            let on_demand = s.mode.as_ref().map(|m| m.value) == Some(StreamMode::OnDemand);
            Stream {
                id: b.ids.claim("aws_kinesis_stream", &node),
                name: b.name(&node, "", LONG_LIMIT).hcl(),
                shards: if on_demand {
                    None
                } else {
                    s.shards.as_ref().map(|n| n.value)
                },
                on_demand,
                retention_hours: s
                    .retention
                    .as_ref()
                    .map_or(DEFAULT_RETENTION_HOURS, |r| r.value.0 / 3_600_000),
                key: b.key(s.encryption.as_ref().map(|e| &e.value), &node),
                max_record_size_kib: s.max_record_size.as_ref().map(|m| m.value.0 / KIB),
                node,
            }
        })
        .collect()
}

/// The identifier of a node's resource, when the node is of `kind` (streams and firehoses are
/// named after their nodes).
pub fn resource_id(b: &Builder, node: &str, kind: NodeKind) -> Option<String> {
    let found = b.pipeline.graph.node(node)?;
    (found.kind == kind).then(|| super::names::identifier(node))
}

/// The key of a stream, as [`Builder::key`] gives it.
pub fn stream_key(b: &mut Builder, stream: &str) -> Option<String> {
    let encryption = b
        .pipeline
        .spec
        .streams
        .iter()
        .find(|s| s.name.value == stream)
        .and_then(|s| s.encryption.as_ref())
        .map(|e| e.value.clone());
    b.key(encryption.as_ref(), stream)
}

pub fn producers(b: &mut Builder) -> Vec<Producer> {
    let spec_producers: Vec<&ast::Producer> = b.pipeline.spec.producers.iter().collect();
    let mut out = Vec::new();
    for p in spec_producers {
        let node = p.name.value.clone();
        let Some(to) = p.to.as_ref().map(|t| t.value.clone()) else {
            continue;
        };
        let (target, statements) = if let Some(id) = resource_id(b, &to, NodeKind::Stream) {
            let mut statements = vec![allow(
                "PutRecords",
                &["kinesis:PutRecord", "kinesis:PutRecords"],
                vec![format!("aws_kinesis_stream.{id}.arn")],
            )];
            if let Some(key) = stream_key(b, &to) {
                statements.push(via(
                    allow("EncryptRecords", &["kms:GenerateDataKey"], vec![key]),
                    "kinesis",
                ));
            }
            (format!("Kinesis stream {to:?}"), statements)
        } else if let Some(id) = resource_id(b, &to, NodeKind::Firehose) {
            // Firehose encrypts Direct PUT records itself, through a grant: no KMS permission.
            let statements = vec![allow(
                "PutRecords",
                &["firehose:PutRecord", "firehose:PutRecordBatch"],
                vec![format!("aws_kinesis_firehose_delivery_stream.{id}.arn")],
            )];
            (format!("Firehose delivery stream {to:?}"), statements)
        } else {
            continue;
        };
        out.push(Producer {
            id: b.ids.claim("aws_iam_policy", &node),
            name: b.name(&node, "-producer", LONG_LIMIT).hcl(),
            target,
            policy: Policy {
                id: b
                    .ids
                    .claim("data.aws_iam_policy_document", &format!("{node}_producer")),
                statements,
            },
            node,
        });
    }
    out
}
