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

#[test]
fn streams_on_demand_unencrypted_and_large_records() {
    let files = build(
        "pipeline: big
schemas:
  A: { fields: { x: string } }
streams:
  events: { schema: A, mode: on_demand, max_record_size: 2MiB, encryption: none }
firehoses:
  out: { from: events, to: { s3: { bucket: big-out } } }
",
    );
    let streams = file(&files, "streams.tf");
    assert!(!streams.contains("shard_count"));
    assert!(streams.contains("stream_mode = \"ON_DEMAND\""));
    assert!(streams.contains("max_record_size_in_kib = 2048"));
    assert!(streams.contains("encryption_type        = \"NONE\""));
    assert!(streams.contains("#checkov:skip=CKV_AWS_43:the spec turns encryption off"));
    // The delivery stream reading it then has nothing to decrypt.
    assert!(!file(&files, "firehoses.tf").contains("DecryptSourceStream"));
}

#[test]
fn keys_the_spec_names_are_looked_up() {
    let files = build(
        "pipeline: keyed
schemas:
  A: { fields: { x: string } }
producers:
  p: { schema: A, to: direct }
firehoses:
  direct:
    encryption: { kms_key: alias/team-key }
    to: { s3: { bucket: keyed-out } }
",
    );
    let main = file(&files, "main.tf");
    assert!(main.contains("data \"aws_kms_key\" \"team_key\" {\n  key_id = \"alias/team-key\"\n}"));
    let firehoses = file(&files, "firehoses.tf");
    assert!(firehoses.contains(
        "  server_side_encryption {\n    enabled  = true\n    key_type = \"CUSTOMER_MANAGED_CMK\"\n    key_arn  = data.aws_kms_key.team_key.arn\n  }"
    ));
    assert!(firehoses.contains(" = data.aws_kms_key.team_key.arn\n"));
    assert!(firehoses.contains("kms_key_arn "));
    let producers = file(&files, "producers.tf");
    assert!(producers.contains("actions   = [\"firehose:PutRecord\", \"firehose:PutRecordBatch\"]"));
    assert!(
        !producers.contains("kms:"),
        "Firehose encrypts Direct PUT records itself"
    );
}

#[test]
fn destinations_redshift_copy_options_and_staging() {
    let files = build(
        "pipeline: wh
schemas:
  A: { fields: { id: int, name: string } }
streams:
  rows: { schema: A, shards: 1 }
firehoses:
  load:
    from: rows
    compression: gzip
    to:
      redshift:
        jdbc_url: \"${var.jdbc}\"
        table: public.rows
        columns: [id, name]
        user: loader
        password: \"${secret:pw}\"
        copy_options: \"TIMEFORMAT 'auto'\"
",
    );
    let firehoses = file(&files, "firehoses.tf");
    assert!(firehoses.contains("copy_options       = \"JSON 'auto' GZIP TIMEFORMAT 'auto'\""));
    assert!(firehoses.contains("data_table_columns = \"id,name\""));
    assert!(firehoses.contains("password           = var.pw"));
    // Without a bucket of its own, staging goes to kin's Firehose bucket under its prefix.
    assert!(firehoses.contains("bucket_arn         = aws_s3_bucket.firehose.arn"));
    assert!(firehoses.contains("prefix             = \"load/\""));
    assert!(file(&files, "buckets.tf")
        .contains("bucket = \"${var.name_prefix}-firehose-${local.account_id}\""));
}

#[test]
fn destinations_opensearch_endpoint_becomes_an_https_url() {
    let files = build(
        "pipeline: os
schemas:
  A: { fields: { x: string } }
streams:
  docs: { schema: A, shards: 1 }
firehoses:
  lit: { from: docs, to: { opensearch: { endpoint: search-logs-abc.eu-west-1.es.amazonaws.com, index: docs } } }
  var: { from: docs, to: { opensearch: { endpoint: \"${var.os}\", index: docs } } }
",
    );
    let firehoses = file(&files, "firehoses.tf");
    assert!(
        firehoses.contains("lit_endpoint = \"https://search-logs-abc.eu-west-1.es.amazonaws.com\"")
    );
    assert!(firehoses.contains(
        "var_endpoint = startswith(var.os, \"https://\") ? var.os : \"https://${var.os}\""
    ));
    assert!(firehoses.contains("\"es:ESHttpPost\""));
}

#[test]
fn names_long_analytics_roles_are_shortened_and_bound_the_prefix() {
    let node = "a_rather_long_analytics_name_that_does_not_fit_in_sixty_four_chars";
    let files = build(&format!(
        "pipeline: long-pipeline-name
schemas:
  A:
    fields: {{ x: string, ts: timestamp }}
    event_time: ts
streams:
  input: {{ schema: A, shards: 1 }}
  output: {{ shards: 1 }}
analytics:
  {}:
    from: input
    to: output
    sql: SELECT x, ts FROM input
firehoses:
  sink: {{ from: output, to: {{ s3: {{ bucket: long-out }} }} }}
",
        &node[..60]
    ));
    let analytics = file(&files, "analytics.tf");
    let names: Vec<&str> = analytics
        .lines()
        .filter(|l| l.contains("= \"${var.name_prefix}-a_rather"))
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    let role = names
        .iter()
        .find(|l| l.len() < 100)
        .copied()
        .unwrap_or_default();
    let tail = role
        .split("${var.name_prefix}")
        .nth(1)
        .unwrap_or_default()
        .trim_end_matches('"');
    assert_eq!("long-pipeline-name".len() + tail.len(), 64, "{role:?}");
    let variables = file(&files, "variables.tf");
    assert!(variables.contains("[a-z0-9-]{0,17}$"), "{variables}");
}
