//! Firehose delivery streams: the source (a Kinesis stream, or Direct PUT with server-side
//! encryption), error logging, the destination block, and the role with exactly what it needs.

use super::context::Builder;
use super::destinations;
use super::iam::{self, allow, via};
use super::model::{Firehose, Role, S3Target, Statement};
use super::names::SHORT_LIMIT;
use super::streams::{resource_id, stream_key};
use crate::ast::{self, Compression, DestinationKind};
use crate::ir::graph::NodeKind;

pub fn firehoses(b: &mut Builder) -> Vec<Firehose> {
    let spec_firehoses: Vec<&ast::Firehose> = b.pipeline.spec.firehoses.iter().collect();
    spec_firehoses
        .into_iter()
        .filter_map(|f| firehose(b, f))
        .collect()
}

fn firehose(b: &mut Builder, f: &ast::Firehose) -> Option<Firehose> {
    let destination = f.to.as_ref()?;
    let node = f.name.value.clone();
    let id = b.ids.claim("aws_kinesis_firehose_delivery_stream", &node);
    let name = b.name(&node, "", SHORT_LIMIT);
    let key = b.key(f.encryption.as_ref().map(|e| &e.value), &node);
    let mut statements = Vec::new();
    let mut source = None;
    let source_node = f.from.as_ref().map(|s| s.value.clone());
    let mut sse_key = None;
    match f.from.as_ref().map(|s| s.value.clone()) {
        Some(stream) => {
            if let Some(stream_id) = resource_id(b, &stream, NodeKind::Stream) {
                let arn = format!("aws_kinesis_stream.{stream_id}.arn");
                source = Some(arn.clone());
                statements.push(allow(
                    "ReadSourceStream",
                    iam::FIREHOSE_KINESIS_READ,
                    vec![arn],
                ));
                if let Some(stream_key) = stream_key(b, &stream) {
                    let decrypt = allow("DecryptSourceStream", &["kms:Decrypt"], vec![stream_key]);
                    statements.push(via(decrypt, "kinesis"));
                }
            }
        }
        None => sse_key = key.clone(),
    }
    let context = destinations::Context {
        node: &node,
        firehose: f,
        key,
        destination_log: format!("{id}_destination"),
        backup_log: format!("{id}_backup"),
    };
    let mut out = Firehose {
        id: id.clone(),
        name: name.hcl(),
        destination: String::new(),
        source,
        source_node,
        sse_key,
        log_group_name: format!("\"/aws/kinesisfirehose/${{var.name_prefix}}{}\"", name.tail),
        log_streams: vec![(
            context.destination_log.clone(),
            "DestinationDelivery".into(),
        )],
        s3: None,
        redshift: None,
        opensearch: None,
        splunk: None,
        http: None,
        role: Role::default(),
        node: node.clone(),
    };
    let target = match &destination.kind {
        DestinationKind::S3(d) => {
            out.destination = "extended_s3".into();
            let s3 = destinations::s3(b, &context, d);
            let target = (
                s3.target.bucket_arn.clone(),
                String::new(),
                s3.target.kms_key_arn.clone(),
            );
            out.s3 = Some(s3);
            target
        }
        DestinationKind::Redshift(d) => {
            out.destination = "redshift".into();
            let redshift = destinations::redshift(b, &context, d);
            let target = staging_target(&redshift.staging, true);
            out.redshift = Some(redshift);
            target
        }
        DestinationKind::OpenSearch(d) => {
            out.destination = "opensearch".into();
            let opensearch = destinations::opensearch(b, &context, d);
            statements.extend(destinations::opensearch_statements(&opensearch));
            let target = staging_target(&opensearch.backup, false);
            out.opensearch = Some(opensearch);
            target
        }
        DestinationKind::Splunk(d) => {
            out.destination = "splunk".into();
            let splunk = destinations::splunk(b, &context, d);
            let target = staging_target(&splunk.backup, false);
            out.splunk = Some(splunk);
            target
        }
        DestinationKind::Http(d) => {
            out.destination = "http_endpoint".into();
            let http = destinations::http(b, &context, d);
            let target = staging_target(&http.backup, false);
            out.http = Some(http);
            target
        }
    };
    if out.s3.is_none() {
        out.log_streams
            .push((context.backup_log.clone(), "BackupDelivery".into()));
    }
    let (bucket_arn, prefix, object_key) = target;
    statements.extend(s3_statements(&bucket_arn, &prefix, object_key));
    let log_arns = out
        .log_streams
        .iter()
        .map(|(log_id, _)| format!("aws_cloudwatch_log_stream.{log_id}.arn"))
        .collect();
    statements.push(allow("LogDeliveryErrors", &["logs:PutLogEvents"], log_arns));
    out.role = b.role(
        &node,
        format!(
            "Firehose delivery stream {node:?} of kin pipeline {:?}",
            b.pipeline.name
        ),
        "firehose.amazonaws.com",
        None,
        statements,
    );
    Some(out)
}

/// A staging or backup location in kin's shared bucket is scoped to the firehose's prefix; one
/// in a bucket the spec names (Redshift staging) to the whole bucket.
fn staging_target(target: &S3Target, whole_bucket: bool) -> (String, String, Option<String>) {
    let prefix = if whole_bucket {
        String::new()
    } else {
        target
            .prefix
            .as_deref()
            .map(|p| p.trim_matches('"').to_string())
            .unwrap_or_default()
    };
    (
        target.bucket_arn.clone(),
        prefix,
        target.kms_key_arn.clone(),
    )
}

/// Writing to a bucket (objects under `prefix`) encrypted with `key` (or the bucket's default
/// key, the pipeline's, which S3 then uses with the role's permissions).
fn s3_statements(bucket_arn: &str, prefix: &str, key: Option<String>) -> Vec<Statement> {
    let key = key.unwrap_or_else(|| super::context::PIPELINE_KEY.to_string());
    let bucket = allow(
        "DeliverToBucket",
        iam::FIREHOSE_S3_BUCKET,
        vec![bucket_arn.to_string()],
    );
    let objects = allow(
        "DeliverObjects",
        iam::FIREHOSE_S3_OBJECTS,
        vec![iam::objects(bucket_arn, prefix)],
    );
    let encrypt = iam::when(
        via(
            allow(
                "EncryptObjects",
                &["kms:Decrypt", "kms:GenerateDataKey"],
                vec![key],
            ),
            "s3",
        ),
        "StringLike",
        "kms:EncryptionContext:aws:s3:arn",
        vec![bucket_arn.to_string(), iam::objects(bucket_arn, "")],
    );
    vec![bucket, objects, encrypt]
}

/// Firehose's name for a compression.
pub fn compression(compression: Option<Compression>) -> String {
    match compression.unwrap_or(Compression::None) {
        Compression::None => "UNCOMPRESSED",
        Compression::Gzip => "GZIP",
        Compression::Zip => "ZIP",
        Compression::Snappy => "Snappy",
        Compression::HadoopSnappy => "HADOOP_SNAPPY",
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compressions_use_firehose_names() {
        assert_eq!(compression(None), "UNCOMPRESSED");
        assert_eq!(compression(Some(Compression::Gzip)), "GZIP");
        assert_eq!(compression(Some(Compression::Snappy)), "Snappy");
        assert_eq!(
            compression(Some(Compression::HadoopSnappy)),
            "HADOOP_SNAPPY"
        );
    }

    #[test]
    fn shared_bucket_access_is_scoped_to_the_prefix() {
        let statements = s3_statements("aws_s3_bucket.firehose.arn", "alerts/", None);
        assert_eq!(
            statements[1].resources.as_deref(),
            Some("[\"${aws_s3_bucket.firehose.arn}/alerts/*\"]")
        );
        assert_eq!(
            statements[2].resources.as_deref(),
            Some("[aws_kms_key.pipeline.arn]")
        );
    }
}
