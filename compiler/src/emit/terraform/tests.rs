//! Unit tests of the Terraform emitter on small specs.

use super::terraform;
use crate::source::SourceFile;

fn build(yaml: &str) -> Vec<(String, String)> {
    let compiled = crate::compile(&SourceFile::new("test.yaml", yaml.to_string()));
    let errors: Vec<_> = compiled
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    terraform(&compiled.pipeline)
}

fn file<'a>(files: &'a [(String, String)], path: &str) -> &'a str {
    files
        .iter()
        .find(|(p, _)| p == path)
        .map(|(_, text)| text.as_str())
        .unwrap_or_else(|| {
            panic!(
                "no {path} among {:?}",
                files.iter().map(|f| &f.0).collect::<Vec<_>>()
            )
        })
}

const SMALL: &str = "pipeline: demo
region: eu-west-1
tags: { team: data }
schemas:
  Click:
    fields: { user_id: string, page: string }
producers:
  web: { schema: Click, to: clicks, rate: 10/s }
streams:
  clicks: { schema: Click, shards: 1, retention: 48h, partition_key: user_id }
firehoses:
  archive:
    from: clicks
    to:
      s3:
        bucket: demo-archive
        prefix: raw/
        error_prefix: errors/
        partition_by: [page]
";

#[test]
fn a_small_pipeline_has_its_files() {
    let files = build(SMALL);
    let paths: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            "versions.tf",
            "variables.tf",
            "main.tf",
            "streams.tf",
            "producers.tf",
            "firehoses.tf",
            "buckets.tf",
            "outputs.tf",
            "README.md"
        ]
    );
}

#[test]
fn streams_are_encrypted_with_the_pipeline_key() {
    let files = build(SMALL);
    let streams = file(&files, "streams.tf");
    assert!(streams.contains("  name             = \"${var.name_prefix}-clicks\"\n"));
    assert!(streams.contains("  shard_count      = 1\n"));
    assert!(streams.contains("  retention_period = 48\n"));
    assert!(streams.contains("  kms_key_id       = aws_kms_key.pipeline.arn\n"));
}

#[test]
fn partition_keys_are_appended_to_the_prefix() {
    let files = build(SMALL);
    let firehoses = file(&files, "firehoses.tf");
    assert!(firehoses.contains("prefix              = \"raw/page=!{partitionKeyFromQuery:page}/\""));
    assert!(firehoses.contains("parameter_value = \"{page:.page}\""));
    assert!(
        firehoses.contains("buffering_size      = 64"),
        "dynamic partitioning needs 64 MiB"
    );
}

#[test]
fn producers_may_only_put() {
    let files = build(SMALL);
    let producers = file(&files, "producers.tf");
    assert!(producers.contains("actions   = [\"kinesis:PutRecord\", \"kinesis:PutRecords\"]"));
    assert!(producers.contains("resources = [aws_kinesis_stream.clicks.arn]"));
    assert!(producers.contains("actions   = [\"kms:GenerateDataKey\"]"));
}

#[test]
fn secrets_are_sensitive_variables() {
    let files = build(
        "pipeline: hec
schemas:
  A: { fields: { x: string } }
producers:
  p: { schema: A, to: to_splunk }
firehoses:
  to_splunk:
    to:
      splunk: { endpoint: \"${var.hec_url}\", token: \"${secret:hec/token}\" }
",
    );
    let variables = file(&files, "variables.tf");
    assert!(variables.contains("variable \"hec_token\" {"));
    assert!(variables.contains("  sensitive   = true\n"));
    assert!(variables.contains("variable \"hec_url\" {"));
    let firehoses = file(&files, "firehoses.tf");
    assert!(firehoses.contains("hec_token         = var.hec_token"));
    assert!(!firehoses.contains("secret:"));
}

#[test]
fn output_is_deterministic() {
    assert_eq!(build(SMALL), build(SMALL));
}
