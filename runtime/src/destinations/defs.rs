//! Destination settings as generated code writes them (`&'static str` that may hold
//! `${var.…}` and `${secret:…}`), and their resolution into [`DestinationConfig`]s when the
//! pipeline starts.

use std::time::Duration;

use super::http::HttpConfig;
use super::opensearch::{IndexRotation, OpenSearchConfig};
use super::redshift::{CopyFormat, RedshiftConfig};
use super::splunk::{HecEndpoint, SplunkConfig};
use super::vars::Resolver;
use super::{BackupMode, DestinationConfig, BACKUP_BUCKET};

/// Firehose's default retry duration for Redshift (s).
pub const REDSHIFT_RETRY_DEFAULT_S: u64 = 3600;
/// Firehose's default retry duration for OpenSearch, Splunk and HTTP endpoints (s).
pub const RETRY_DEFAULT_S: u64 = 300;
/// Firehose's default HEC acknowledgement timeout (s).
pub const HEC_ACK_TIMEOUT_DEFAULT_S: u64 = 180;

pub struct RedshiftDef {
    pub jdbc_url: &'static str,
    pub table: &'static str,
    pub columns: Vec<&'static str>,
    pub user: &'static str,
    pub password: &'static str,
    pub format: CopyFormat,
    pub copy_options: Option<&'static str>,
    /// The intermediate bucket; `None`: kin's bucket ([`BACKUP_BUCKET`]).
    pub bucket: Option<&'static str>,
    pub retry_duration_ms: u64,
}

pub struct OpenSearchDef {
    pub endpoint: &'static str,
    pub index: &'static str,
    pub rotation: IndexRotation,
    pub backup: BackupMode,
    pub retry_duration_ms: u64,
}

pub struct SplunkDef {
    pub endpoint: &'static str,
    pub token: &'static str,
    pub endpoint_type: HecEndpoint,
    pub ack_timeout_ms: u64,
    pub backup: BackupMode,
    pub retry_duration_ms: u64,
}

pub struct HttpDef {
    pub url: &'static str,
    pub name: Option<&'static str>,
    pub access_key: Option<&'static str>,
    pub backup: BackupMode,
    pub retry_duration_ms: u64,
}

/// A generated destination other than S3.
pub enum Def<'a> {
    Redshift(&'a RedshiftDef),
    OpenSearch(&'a OpenSearchDef),
    Splunk(&'a SplunkDef),
    Http(&'a HttpDef),
}

/// A resolved destination with its retry duration and backup mode.
pub struct Resolved {
    pub config: DestinationConfig,
    pub retry: Duration,
    pub backup: BackupMode,
}

impl Def<'_> {
    /// Resolves every `${…}`; missing variables are added to `resolver.errors`.
    pub fn resolve(&self, r: &mut Resolver) -> Resolved {
        match self {
            Def::Redshift(d) => Resolved {
                config: DestinationConfig::Redshift(RedshiftConfig {
                    jdbc_url: r.get("redshift.jdbc_url", d.jdbc_url),
                    table: r.get("redshift.table", d.table),
                    columns: d.columns.iter().map(|c| c.to_string()).collect(),
                    user: r.get("redshift.user", d.user),
                    password: r.get("redshift.password", d.password),
                    format: d.format,
                    copy_options: d.copy_options.map(str::to_string),
                    bucket: r
                        .get_opt("redshift.bucket", d.bucket)
                        .unwrap_or_else(|| BACKUP_BUCKET.to_string()),
                }),
                retry: Duration::from_millis(d.retry_duration_ms),
                backup: BackupMode::Failed,
            },
            Def::OpenSearch(d) => Resolved {
                config: DestinationConfig::OpenSearch(OpenSearchConfig {
                    endpoint: r.get("opensearch.endpoint", d.endpoint),
                    index: r.get("opensearch.index", d.index),
                    rotation: d.rotation,
                }),
                retry: Duration::from_millis(d.retry_duration_ms),
                backup: d.backup,
            },
            Def::Splunk(d) => Resolved {
                config: DestinationConfig::Splunk(SplunkConfig {
                    endpoint: r.get("splunk.endpoint", d.endpoint),
                    token: r.get("splunk.token", d.token),
                    endpoint_type: d.endpoint_type,
                    ack_timeout: Duration::from_millis(d.ack_timeout_ms),
                }),
                retry: Duration::from_millis(d.retry_duration_ms),
                backup: d.backup,
            },
            Def::Http(d) => Resolved {
                config: DestinationConfig::Http(HttpConfig {
                    url: r.get("http.url", d.url),
                    name: d.name.map(str::to_string),
                    access_key: r.get_opt("http.access_key", d.access_key),
                }),
                retry: Duration::from_millis(d.retry_duration_ms),
                backup: d.backup,
            },
        }
    }
}
