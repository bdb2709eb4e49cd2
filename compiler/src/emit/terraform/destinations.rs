//! The destination block of each firehose: extended S3 (with dynamic partitioning), Redshift
//! (through a staging bucket), OpenSearch, Splunk and HTTP endpoints (each with an S3 backup).

use super::context::Builder;
use super::firehoses::compression;
use super::hcl::string;
use super::iam::allow;
use super::model::{
    HttpDestination, OpenSearchDestination, RedshiftDestination, S3Destination, S3Target,
    SplunkDestination, Statement,
};
use crate::ast::{
    self, BackupMode, Compression, CopyFormat, OpenSearchRotation, SplunkEndpointType,
};
use crate::ir::units::MIB;

/// The minimum buffer of dynamic partitioning, used when the spec gives none.
const PARTITIONED_BUFFER_MIB: u64 = 64;

/// What every destination builder needs of its firehose.
pub struct Context<'a> {
    pub node: &'a str,
    pub firehose: &'a ast::Firehose,
    /// The key the firehose encrypts with at the destination (`None`: encryption off).
    pub key: Option<String>,
    /// The identifiers of its log streams.
    pub destination_log: String,
    pub backup_log: String,
}

impl Context<'_> {
    fn buffer_size(&self) -> Option<u64> {
        self.firehose.buffer.size.as_ref().map(|s| s.value.0 / MIB)
    }

    fn buffer_interval(&self) -> Option<u64> {
        self.firehose
            .buffer
            .interval
            .as_ref()
            .map(|i| i.value.0 / 1000)
    }

    fn compression(&self) -> Option<Compression> {
        self.firehose.compression.as_ref().map(|c| c.value)
    }

    /// A backup location in kin's shared bucket, under the firehose's own prefix.
    fn backup(&self, b: &mut Builder) -> S3Target {
        let bucket = b.firehose_bucket();
        S3Target {
            bucket_arn: format!("aws_s3_bucket.{bucket}.arn"),
            prefix: Some(string(&format!("{}/", self.node))),
            error_prefix: Some(string(&format!(
                "{}/!{{firehose:error-output-type}}/!{{timestamp:yyyy/MM/dd}}/",
                self.node
            ))),
            buffering_size: None,
            buffering_interval: None,
            compression: "GZIP".into(),
            kms_key_arn: self.key.clone(),
            log_stream: self.backup_log.clone(),
        }
    }
}

fn seconds(duration: &Option<crate::source::Spanned<crate::ir::units::Duration>>) -> Option<u64> {
    duration.as_ref().map(|d| d.value.0 / 1000)
}

pub fn s3(b: &mut Builder, c: &Context, d: &ast::S3) -> S3Destination {
    let bucket_text = d.bucket.as_ref().map_or("", |s| s.value.as_str());
    let bucket = b.user_bucket(
        bucket_text,
        c.node,
        &format!("destination of firehose {:?}", c.node),
    );
    let partition_by: Vec<String> = d.partition_by.iter().map(|p| p.value.clone()).collect();
    let (prefix, keys) = crate::ir::prefix::effective_prefix(
        d.prefix.as_ref().map_or("", |p| p.value.as_str()),
        &partition_by,
    );
    let partitioned = !keys.is_empty();
    let query = keys
        .iter()
        .map(|(key, path)| format!("{key}:.{path}"))
        .collect::<Vec<_>>()
        .join(",");
    S3Destination {
        target: S3Target {
            bucket_arn: format!("aws_s3_bucket.{bucket}.arn"),
            prefix: (!prefix.is_empty()).then(|| string(&prefix)),
            error_prefix: d.error_prefix.as_ref().map(|p| string(&p.value)),
            buffering_size: c
                .buffer_size()
                .or(partitioned.then_some(PARTITIONED_BUFFER_MIB)),
            buffering_interval: c.buffer_interval(),
            compression: compression(c.compression()),
            kms_key_arn: c.key.clone(),
            log_stream: c.destination_log.clone(),
        },
        partition_query: partitioned.then(|| string(&format!("{{{query}}}"))),
    }
}

pub fn redshift(b: &mut Builder, c: &Context, d: &ast::Redshift) -> RedshiftDestination {
    let expression = |b: &Builder, v: &Option<crate::source::Spanned<String>>| {
        b.vars
            .expression(v.as_ref().map_or("", |s| s.value.as_str()))
    };
    let bucket = match &d.bucket {
        Some(text) => b.user_bucket(
            &text.value,
            c.node,
            &format!("Redshift staging of firehose {:?}", c.node),
        ),
        None => b.firehose_bucket(),
    };
    let compression = c.compression();
    let mut options = vec![match d.format.as_ref().map(|f| f.value) {
        Some(CopyFormat::Csv) => "CSV".to_string(),
        _ => "JSON 'auto'".to_string(),
    }];
    if compression == Some(Compression::Gzip) {
        options.push("GZIP".into());
    }
    if let Some(extra) = &d.copy_options {
        options.push(extra.value.trim().to_string());
    }
    RedshiftDestination {
        jdbc_url: expression(b, &d.jdbc_url),
        username: expression(b, &d.user),
        password: expression(b, &d.password),
        table: expression(b, &d.table),
        columns: (!d.columns.is_empty()).then(|| {
            let columns: Vec<&str> = d.columns.iter().map(|c| c.value.as_str()).collect();
            string(&columns.join(","))
        }),
        copy_options: string(&options.join(" ")),
        retry_duration: seconds(&d.retry_duration),
        staging: S3Target {
            bucket_arn: format!("aws_s3_bucket.{bucket}.arn"),
            prefix: Some(string(&format!("{}/", c.node))),
            error_prefix: None,
            buffering_size: c.buffer_size(),
            buffering_interval: c.buffer_interval(),
            compression: super::firehoses::compression(compression),
            kms_key_arn: c.key.clone(),
            log_stream: c.backup_log.clone(),
        },
    }
}

pub fn opensearch(b: &mut Builder, c: &Context, d: &ast::OpenSearch) -> OpenSearchDestination {
    let rotation = match d.rotation.as_ref().map(|r| r.value) {
        Some(OpenSearchRotation::NoRotation) => "NoRotation",
        Some(OpenSearchRotation::OneHour) => "OneHour",
        Some(OpenSearchRotation::OneWeek) => "OneWeek",
        Some(OpenSearchRotation::OneMonth) => "OneMonth",
        Some(OpenSearchRotation::OneDay) | None => "OneDay",
    };
    OpenSearchDestination {
        endpoint: https_url(b, d.endpoint.as_ref().map_or("", |e| e.value.as_str())),
        index: b
            .vars
            .expression(d.index.as_ref().map_or("", |e| e.value.as_str())),
        rotation: rotation.into(),
        backup_mode: backup(d.backup.as_ref(), "FailedDocumentsOnly", "AllDocuments"),
        buffering_size: c.buffer_size(),
        buffering_interval: c.buffer_interval(),
        retry_duration: seconds(&d.retry_duration),
        backup: c.backup(b),
        domain_local: super::names::identifier(c.node),
    }
}

/// An endpoint as the `https://` URL Firehose needs: a literal gets the scheme now, a variable
/// when Terraform knows its value.
fn https_url(b: &Builder, text: &str) -> String {
    if !super::hcl::has_reference(text) {
        let url = if text.starts_with("https://") {
            text.to_string()
        } else {
            format!("https://{text}")
        };
        return string(&url);
    }
    let value = b.vars.expression(text);
    let with_scheme = match value.strip_prefix("var.") {
        Some(name) => format!("\"https://${{var.{name}}}\""),
        None => format!("\"https://${{{value}}}\""),
    };
    format!("startswith({value}, \"https://\") ? {value} : {with_scheme}")
}

/// What Firehose needs of an OpenSearch domain (AWS's Firehose access guide): describe it, post
/// documents, and read the cluster's settings and statistics.
pub fn opensearch_statements(d: &OpenSearchDestination) -> Vec<Statement> {
    let domain = format!(
        "arn:${{local.partition}}:es:${{local.region}}:${{local.account_id}}:domain/${{local.{}_domain}}",
        d.domain_local
    );
    let index = "${local.".to_string() + &d.domain_local + "_index}";
    let paths = [
        "_all/_settings".to_string(),
        "_cluster/stats".to_string(),
        format!("{index}*/_mapping/*"),
        "_nodes".to_string(),
        "_nodes/stats".to_string(),
        "_nodes/*/stats".to_string(),
        "_stats".to_string(),
        format!("{index}*/_stats"),
    ];
    vec![
        allow(
            "IndexDocuments",
            &[
                "es:DescribeDomain",
                "es:DescribeDomainConfig",
                "es:DescribeDomains",
                "es:ESHttpPost",
                "es:ESHttpPut",
            ],
            vec![format!("\"{domain}\""), format!("\"{domain}/*\"")],
        ),
        allow(
            "ReadClusterState",
            &["es:ESHttpGet"],
            paths.iter().map(|p| format!("\"{domain}/{p}\"")).collect(),
        ),
    ]
}

pub fn splunk(b: &mut Builder, c: &Context, d: &ast::Splunk) -> SplunkDestination {
    SplunkDestination {
        endpoint: b
            .vars
            .expression(d.endpoint.as_ref().map_or("", |e| e.value.as_str())),
        token: b
            .vars
            .expression(d.token.as_ref().map_or("", |e| e.value.as_str())),
        endpoint_type: match d.endpoint_type.as_ref().map(|t| t.value) {
            Some(SplunkEndpointType::Event) => "Event".into(),
            _ => "Raw".into(),
        },
        ack_timeout: seconds(&d.ack_timeout),
        backup_mode: backup(d.backup.as_ref(), "FailedEventsOnly", "AllEvents"),
        buffering_size: c.buffer_size(),
        buffering_interval: c.buffer_interval(),
        retry_duration: seconds(&d.retry_duration),
        backup: c.backup(b),
    }
}

pub fn http(b: &mut Builder, c: &Context, d: &ast::Http) -> HttpDestination {
    HttpDestination {
        url: b
            .vars
            .expression(d.url.as_ref().map_or("", |e| e.value.as_str())),
        name: d.name.as_ref().map(|n| string(&n.value)),
        access_key: d.access_key.as_ref().map(|k| b.vars.expression(&k.value)),
        backup_mode: backup(d.backup.as_ref(), "FailedDataOnly", "AllData"),
        buffering_size: c.buffer_size(),
        buffering_interval: c.buffer_interval(),
        retry_duration: seconds(&d.retry_duration),
        content_encoding: match c.compression() {
            Some(Compression::Gzip) => "GZIP".into(),
            _ => "NONE".into(),
        },
        backup: c.backup(b),
    }
}

fn backup(mode: Option<&crate::source::Spanned<BackupMode>>, failed: &str, all: &str) -> String {
    match mode.map(|m| m.value) {
        Some(BackupMode::All) => all.to_string(),
        _ => failed.to_string(),
    }
}
