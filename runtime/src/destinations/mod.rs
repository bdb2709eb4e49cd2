//! Firehose destinations other than S3 — Redshift, OpenSearch, Splunk and HTTP endpoints — with
//! Firehose's delivery semantics, and S3-compatible object stores for every S3 object.
//!
//! A [`DestinationFirehose`] buffers records with the same state machine as an S3 delivery
//! stream ([`crate::firehose::Firehose`]: size and interval hints, the 1,000 KiB record limit).
//! Each buffer it delivers becomes a [`Batch`] — the records, their arrival times and the
//! buffer's S3 key — which a [`Deliverer`] hands to a [`Destination`]:
//!
//! 1. [`Destination::prepare`] runs once (Redshift stages the batch in its intermediate bucket);
//! 2. [`Destination::attempt`] is called until every record is delivered or
//!    [`RetryPolicy::duration`] has passed since the first attempt (`0`: one attempt), with
//!    backoff between attempts. An attempt fails as a whole or per record (OpenSearch's
//!    per-document results); only the records still failing are retried;
//! 3. what is still undelivered then goes where Firehose puts it ([`ErrorOutput`]): error records
//!    under the backup bucket's error prefix (`elasticsearch-failed`, `splunk-failed`,
//!    `http-endpoint-failed`), or, for Redshift, a manifest of the skipped S3 objects under
//!    `errors/manifests/`;
//! 4. with `backup: all` ([`BackupMode::All`]) every batch is also written to the backup bucket.
//!
//! Nothing is dropped and everything is counted ([`DestinationCounters`]). Delivery blocks the
//! firehose while it retries, as Firehose pauses a delivery stream whose destination is down;
//! its source (a stream, or the Direct PUT channel) holds the records meanwhile.
//!
//! Spec values may hold `${var.NAME}` and `${secret:NAME}`: [`vars`] resolves them from the
//! environment (`KIN_VAR_NAME`, `KIN_SECRET_NAME`) when the pipeline starts.

mod backup;
mod batch_sink;
pub mod defs;
pub mod http;
pub mod opensearch;
pub mod receivers;
pub mod redshift;
mod retry;
pub mod s3_endpoint;
pub mod splunk;
pub mod vars;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Map, Value};

pub use backup::S3Writer;
pub use batch_sink::DestinationFirehose;
pub use retry::{Deliverer, RetryPolicy};

/// kin's bucket for Firehose backups and Redshift staging (Terraform names it
/// `<prefix>-firehose-<account>`); locally `DATA_DIR/s3/kin-firehose/`.
pub const BACKUP_BUCKET: &str = "kin-firehose";

/// Which records also go to the backup bucket (`s3_backup_mode`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BackupMode {
    /// `FailedDocumentsOnly` / `FailedEventsOnly` / `FailedDataOnly`: only what could not be
    /// delivered, as error records (Firehose's default).
    #[default]
    Failed,
    /// `AllDocuments` / `AllEvents` / `AllData`: every batch, plus the error records.
    All,
}

/// One record of a batch: its bytes are `body[start..end]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchRecord {
    pub start: usize,
    pub end: usize,
    /// When the record arrived at the firehose, epoch milliseconds.
    pub arrival_ms: i64,
}

/// What one buffer delivers: its records, concatenated as Firehose concatenates them.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    pub body: Vec<u8>,
    pub records: Vec<BatchRecord>,
    /// The buffer's object key, without extension (`FIREHOSE/yyyy/MM/dd/HH/FIREHOSE-1-…`): where
    /// Redshift stages it and where `backup: all` copies it.
    pub key: String,
}

impl Batch {
    /// A batch of `records` (bytes, arrival) under `key`.
    pub fn from_records<'a>(
        key: &str,
        records: impl IntoIterator<Item = (&'a [u8], i64)>,
    ) -> Batch {
        let mut batch = Batch {
            key: key.to_string(),
            ..Batch::default()
        };
        for (data, arrival_ms) in records {
            let start = batch.body.len();
            batch.body.extend_from_slice(data);
            batch.records.push(BatchRecord {
                start,
                end: batch.body.len(),
                arrival_ms,
            });
        }
        batch
    }

    /// The bytes of record `index`; empty when out of range.
    pub fn data(&self, index: usize) -> &[u8] {
        self.records
            .get(index)
            .and_then(|r| self.body.get(r.start..r.end))
            .unwrap_or_default()
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The earliest arrival in the batch (objects are named after it).
    pub fn oldest_ms(&self) -> i64 {
        self.records.iter().map(|r| r.arrival_ms).min().unwrap_or(0)
    }
}

/// Why an attempt failed: an error code in Firehose's style (`Splunk.InvalidToken`,
/// `HttpEndpoint.DestinationException`, `mapper_parsing_exception`…) and a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub code: String,
    pub message: String,
}

impl Failure {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Failure {
        Failure {
            code: code.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// The result of one attempt at the pending records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// Every pending record was delivered.
    Delivered,
    /// Nothing was delivered; all pending records are retried.
    Failed(Failure),
    /// One entry per pending record, in order: `None` delivered, `Some((why, retryable))` not.
    /// Records that are not retryable go to the error output at once.
    PerRecord(Outcomes),
}

/// Per record: `None` delivered, `Some((why, retryable))` not.
pub type Outcomes = Vec<Option<(Failure, bool)>>;

/// Where records that were not delivered in time go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorOutput {
    /// One error record per record (JSON lines) under the backup bucket's error prefix, with this
    /// `!{firehose:error-output-type}`.
    Records { output_type: &'static str },
    /// A Redshift COPY manifest listing the batch's staged object, under the staging prefix's
    /// `errors/manifests/` (the records stay in the staged object).
    Manifest,
}

/// Something a firehose delivers batches to. Implementations do one attempt per call; the
/// [`Deliverer`] retries, backs up and counts.
pub trait Destination: Send {
    /// `redshift`, `opensearch`, `splunk`, `http`: for messages.
    fn kind(&self) -> &'static str;

    /// Where records go when retries are exhausted.
    fn error_output(&self) -> ErrorOutput;

    /// Runs once per batch before the first attempt. An error here (the batch could not be
    /// staged) is returned to the firehose, which keeps the buffer and tries again later.
    fn prepare(&mut self, _batch: &Batch, _s3: &mut S3Writer) -> std::io::Result<()> {
        Ok(())
    }

    /// One attempt at delivering `pending` (indexes into `batch.records`, ascending).
    fn attempt(&mut self, batch: &Batch, pending: &[usize]) -> Attempt;

    /// Fields added to record `index`'s error record (OpenSearch's `esDocumentId`…).
    fn error_fields(&self, _batch: &Batch, _index: usize) -> Map<String, Value> {
        Map::new()
    }

    /// The staged object of `batch`, for a Redshift manifest: (bucket, key).
    fn staged_object(&self, _batch: &Batch) -> Option<(String, String)> {
        None
    }
}

/// Live counts of one destination, shared between its deliverer and whoever reports them.
#[derive(Debug, Default)]
pub struct DestinationStats {
    records_delivered: AtomicU64,
    bytes_delivered: AtomicU64,
    records_failed: AtomicU64,
    records_backed_up: AtomicU64,
    batches: AtomicU64,
    attempts: AtomicU64,
    retries: AtomicU64,
    manifests: AtomicU64,
}

/// A snapshot of [`DestinationStats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DestinationCounters {
    /// Records the destination accepted, and their bytes.
    pub records_delivered: u64,
    pub bytes_delivered: u64,
    /// Records that went to the error output (error records, or a Redshift manifest's objects).
    pub records_failed: u64,
    /// Records copied to the backup bucket by `backup: all`.
    pub records_backed_up: u64,
    /// Batches handed to the destination, attempts made, and attempts that were retries.
    pub batches: u64,
    pub attempts: u64,
    pub retries: u64,
    /// Redshift manifests of skipped objects written.
    pub manifests: u64,
}

impl DestinationStats {
    pub fn snapshot(&self) -> DestinationCounters {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        DestinationCounters {
            records_delivered: get(&self.records_delivered),
            bytes_delivered: get(&self.bytes_delivered),
            records_failed: get(&self.records_failed),
            records_backed_up: get(&self.records_backed_up),
            batches: get(&self.batches),
            attempts: get(&self.attempts),
            retries: get(&self.retries),
            manifests: get(&self.manifests),
        }
    }

    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// Settings of a [`DestinationFirehose`] besides its destination.
#[derive(Clone, Debug)]
pub struct DeliverySettings {
    /// The delivery stream name.
    pub name: String,
    pub buffer_bytes: u64,
    pub buffer_interval_ms: u64,
    /// How objects written to S3 (Redshift's staged objects) are compressed; HTTP endpoints
    /// send GZIP request bodies when this is `Gzip`.
    pub compression: crate::compress::Compression,
    /// Encrypt every object written to S3 (staging, backups, error records).
    pub encryption: Option<crate::encrypt::LocalKey>,
    pub retry: RetryPolicy,
    pub backup: BackupMode,
}

impl DeliverySettings {
    /// Settings with Firehose's default retry duration (300 s) and backup mode (failed only).
    pub fn new(name: &str, buffer_bytes: u64, buffer_interval_ms: u64) -> DeliverySettings {
        DeliverySettings {
            name: name.to_string(),
            buffer_bytes,
            buffer_interval_ms,
            compression: crate::compress::Compression::None,
            encryption: None,
            retry: RetryPolicy::new(Duration::from_secs(300)),
            backup: BackupMode::Failed,
        }
    }
}

/// A resolved destination configuration (every `${…}` replaced).
#[derive(Clone, Debug)]
pub enum DestinationConfig {
    Redshift(redshift::RedshiftConfig),
    OpenSearch(opensearch::OpenSearchConfig),
    Splunk(splunk::SplunkConfig),
    Http(http::HttpConfig),
}

impl DestinationConfig {
    /// The destination for a delivery stream with these settings.
    pub fn build(
        &self,
        settings: &DeliverySettings,
    ) -> Result<Box<dyn Destination>, crate::firehose::ConfigError> {
        let error = |message: String| crate::firehose::ConfigError { message };
        Ok(match self {
            DestinationConfig::Redshift(c) => {
                Box::new(redshift::Redshift::new(c.clone(), settings).map_err(error)?)
            }
            DestinationConfig::OpenSearch(c) => {
                Box::new(opensearch::OpenSearch::new(c.clone()).map_err(error)?)
            }
            DestinationConfig::Splunk(c) => {
                Box::new(splunk::Splunk::new(c.clone()).map_err(error)?)
            }
            DestinationConfig::Http(c) => {
                Box::new(http::HttpEndpoint::new(c.clone(), settings).map_err(error)?)
            }
        })
    }

    /// The bucket the firehose's own objects go to: Redshift's intermediate bucket, else the
    /// backup bucket.
    pub fn bucket(&self) -> &str {
        match self {
            DestinationConfig::Redshift(c) => &c.bucket,
            _ => BACKUP_BUCKET,
        }
    }

    /// A one-line description for the run's notes (no secrets).
    pub fn describe(&self) -> String {
        match self {
            DestinationConfig::Redshift(c) => format!(
                "redshift table {} at {} (staged in s3://{}/)",
                c.table, c.jdbc_url, c.bucket
            ),
            DestinationConfig::OpenSearch(c) => {
                format!("opensearch index {} at {}", c.index, c.endpoint)
            }
            DestinationConfig::Splunk(c) => format!("splunk HEC at {}", c.endpoint),
            DestinationConfig::Http(c) => format!("http endpoint {}", c.url),
        }
    }
}

/// An HTTP client for destinations: rustls, the given request timeout, no proxy from the
/// environment (destinations are addressed directly).
pub(crate) fn http_client(timeout: Duration) -> Result<reqwest::blocking::Client, String> {
    reqwest::blocking::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(10))
        .no_proxy()
        .user_agent(concat!("kin-runtime/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot create an HTTP client: {e}"))
}

/// `https://` added to an endpoint written without a scheme (as kin's Terraform does).
pub(crate) fn with_scheme(endpoint: &str) -> String {
    let trimmed = endpoint.trim().trim_end_matches('/');
    if trimmed.starts_with("https://") || trimmed.starts_with("http://") {
        trimmed.to_string()
    } else {
        format!("https://{trimmed}")
    }
}

/// The text of a failed HTTP exchange (connection refused, timeout…), with its causes.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
