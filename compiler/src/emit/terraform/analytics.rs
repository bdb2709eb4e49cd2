//! Managed Service for Apache Flink: one application per analytics node, running the node's
//! Flink SQL (from `emit::flink`) through a generated PyFlink program.
//!
//! One application per node, not one per pipeline: each runs, scales (parallelism), checkpoints
//! and fails on its own, as the spec declares them, and its role reaches only its own streams.

use super::context::{Builder, PIPELINE_KEY};
use super::iam::{self, allow, via};
use super::model::{Analytics, Statement};
use super::names::LONG_LIMIT;
use super::streams::{resource_id, stream_key};
use crate::ast;
use crate::ir::graph::NodeKind;

/// The connector jar the application's zip holds, as Managed Flink's `jarfile` property names
/// it (relative to the zip's root).
pub const JAR: &str = "lib/kin-flink-connectors.jar";
/// The default checkpoint interval (Managed Flink's and the spec's).
const CHECKPOINT_MS: u64 = 60_000;

pub fn applications(b: &mut Builder) -> Vec<Analytics> {
    let nodes: Vec<&ast::Analytics> = b.pipeline.spec.analytics.iter().collect();
    nodes
        .into_iter()
        .filter_map(|a| application(b, a))
        .collect()
}

fn application(b: &mut Builder, a: &ast::Analytics) -> Option<Analytics> {
    a.sql.as_ref()?;
    let target = a.to.as_ref()?.value.clone();
    let node = a.name.value.clone();
    let id = b.ids.claim("aws_kinesisanalyticsv2_application", &node);
    let name = b.name(&node, "", LONG_LIMIT);
    let code_bucket = b.code_bucket();
    let mut statements = vec![
        allow(
            "ReadCode",
            &["s3:GetObject", "s3:GetObjectVersion"],
            vec![format!(
                "\"${{aws_s3_bucket.{code_bucket}.arn}}/${{aws_s3_object.{id}.key}}\""
            )],
        ),
        via(
            allow(
                "DecryptCode",
                &["kms:Decrypt"],
                vec![PIPELINE_KEY.to_string()],
            ),
            "s3",
        ),
        allow(
            "FindLogGroups",
            &["logs:DescribeLogGroups"],
            vec![
                "\"arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*\""
                    .into(),
            ],
        ),
        allow(
            "WriteLogs",
            &["logs:DescribeLogStreams", "logs:PutLogEvents"],
            vec![format!(
                "\"${{aws_cloudwatch_log_group.{id}.arn}}:log-stream:*\""
            )],
        ),
    ];
    statements.extend(input_statements(b, a));
    statements.extend(output_statements(b, &target));
    let role = b.role(
        &node,
        format!("Managed Flink application {node:?} of kin pipeline {:?}", b.pipeline.name),
        "kinesisanalytics.amazonaws.com",
        Some(format!(
            "\"arn:${{local.partition}}:kinesisanalytics:${{local.region}}:${{local.account_id}}:application/${{var.name_prefix}}{}\"",
            name.tail
        )),
        statements,
    );
    Some(Analytics {
        name: name.hcl(),
        role,
        log_group_name: format!(
            "\"/aws/kinesis-analytics/${{var.name_prefix}}{}\"",
            name.tail
        ),
        dir: format!("flink/{node}"),
        jar: JAR.to_string(),
        connectors: connectors(b, &target),
        parallelism: a.parallelism.as_ref().map(|p| p.value),
        checkpoint_interval_ms: a
            .checkpoint_interval
            .as_ref()
            .map_or(CHECKPOINT_MS, |c| c.value.0),
        code_bucket,
        id,
        node,
    })
}

/// The SQL connector jars of flink-connector-aws 6 (for Flink 2.x) the application needs.
fn connectors(b: &Builder, target: &str) -> Vec<String> {
    let mut jars = vec!["flink-sql-connector-aws-kinesis-streams-6.0.0-2.0.jar".to_string()];
    if resource_id(b, target, NodeKind::Firehose).is_some() {
        jars.push("flink-sql-connector-aws-kinesis-firehose-6.0.0-2.0.jar".to_string());
    }
    jars
}

/// Reading each input stream, and decrypting its records.
fn input_statements(b: &mut Builder, a: &ast::Analytics) -> Vec<Statement> {
    let mut arns = Vec::new();
    let mut keys: Vec<String> = Vec::new();
    for input in &a.from {
        let Some(id) = resource_id(b, &input.value, NodeKind::Stream) else {
            continue;
        };
        let arn = format!("aws_kinesis_stream.{id}.arn");
        if !arns.contains(&arn) {
            arns.push(arn);
        }
        if let Some(key) = stream_key(b, &input.value) {
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
    let mut statements = Vec::new();
    if !arns.is_empty() {
        statements.push(allow("ReadInputStreams", iam::FLINK_KINESIS_READ, arns));
    }
    if !keys.is_empty() {
        statements.push(via(
            allow("DecryptInputs", &["kms:Decrypt"], keys),
            "kinesis",
        ));
    }
    statements
}

/// Writing the output: `PutRecords` on a stream (and encrypting with its key), or
/// `PutRecordBatch` on a delivery stream.
fn output_statements(b: &mut Builder, target: &str) -> Vec<Statement> {
    if let Some(id) = resource_id(b, target, NodeKind::Stream) {
        let mut statements = vec![allow(
            "WriteOutputStream",
            &["kinesis:PutRecords"],
            vec![format!("aws_kinesis_stream.{id}.arn")],
        )];
        if let Some(key) = stream_key(b, target) {
            statements.push(via(
                allow("EncryptOutput", &["kms:GenerateDataKey"], vec![key]),
                "kinesis",
            ));
        }
        return statements;
    }
    if let Some(id) = resource_id(b, target, NodeKind::Firehose) {
        return vec![allow(
            "WriteOutputDeliveryStream",
            &["firehose:PutRecordBatch"],
            vec![format!("aws_kinesis_firehose_delivery_stream.{id}.arn")],
        )];
    }
    Vec::new()
}

/// The Flink SQL of `emit::flink` with the AWS names made deployable: the emitter names the
/// stream or delivery stream of node N `PIPELINE-N`; the Terraform names it
/// `${var.name_prefix}-N`, so each such name becomes `${kin:name_prefix}-N`, which the runner
/// fills from the application's properties like the other placeholders.
pub fn deployable_sql(pipeline: &str, nodes: &[&str], sql: &str) -> String {
    let mut out = sql.to_string();
    for node in nodes {
        let written = format!("{pipeline}-{node}'");
        let placeholder = format!("${{kin:name_prefix}}-{node}'");
        out = out.replace(
            &format!(":stream/{written}"),
            &format!(":stream/{placeholder}"),
        );
        out = out.replace(
            &format!("'delivery-stream' = '{written}"),
            &format!("'delivery-stream' = '{placeholder}"),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::deployable_sql;

    #[test]
    fn aws_names_become_placeholders() {
        let sql = "'stream.arn' = 'arn:${kin:partition}:kinesis:${kin:region}:${kin:account_id}:stream/p-clicks',\n\
                   'delivery-stream' = 'p-out',\nSELECT 'p-clicks' FROM clicks";
        let out = deployable_sql("p", &["clicks", "out"], sql);
        assert!(out.contains(":stream/${kin:name_prefix}-clicks'"));
        assert!(out.contains("'delivery-stream' = '${kin:name_prefix}-out'"));
        assert!(out.contains("SELECT 'p-clicks'"), "user SQL is left alone");
    }
}
