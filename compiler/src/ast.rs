//! The spec as written: every section, key and value with its span, before names are resolved.
//! Both syntaxes (YAML and, later, the `.kin` DSL) lower into this one representation.
//!
//! A required key that is missing is `None` here (the lowering already reported it), so that the
//! checker can go on and report everything else.

use crate::ir::types::FieldType;
use crate::ir::units::{Duration, Rate, Size};
use crate::source::{Span, Spanned};

#[derive(Clone, Debug, Default)]
pub struct Spec {
    pub pipeline: Option<Spanned<String>>,
    pub region: Option<Spanned<String>>,
    pub tags: Vec<(Spanned<String>, Spanned<String>)>,
    pub schemas: Vec<Schema>,
    pub producers: Vec<Producer>,
    pub streams: Vec<Stream>,
    pub analytics: Vec<Analytics>,
    pub firehoses: Vec<Firehose>,
}

impl Spec {
    /// The producers whose `to` names `target`.
    pub fn producers_to<'a>(&'a self, target: &'a str) -> impl Iterator<Item = &'a Producer> + 'a {
        self.producers
            .iter()
            .filter(move |p| p.to.as_ref().is_some_and(|t| t.value == target))
    }

    /// The analytics whose `to` names `target`.
    pub fn analytics_to<'a>(&'a self, target: &'a str) -> impl Iterator<Item = &'a Analytics> + 'a {
        self.analytics
            .iter()
            .filter(move |a| a.to.as_ref().is_some_and(|t| t.value == target))
    }
}

/// The record fields of declarations whose every type is known.
pub fn declared_fields(decls: &[FieldDecl]) -> Option<Vec<crate::ir::types::Field>> {
    decls
        .iter()
        .map(|d| {
            d.ty.as_ref().map(|t| crate::ir::types::Field {
                name: d.name.value.clone(),
                ty: t.value.clone(),
            })
        })
        .collect()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordFormat {
    Json,
    Csv,
}

#[derive(Clone, Debug)]
pub struct Schema {
    pub name: Spanned<String>,
    pub format: Option<Spanned<RecordFormat>>,
    pub fields: Vec<FieldDecl>,
    /// The span of the `fields` mapping (or of the schema when it is missing).
    pub fields_span: Span,
    pub event_time: Option<Spanned<String>>,
    pub watermark: Option<Spanned<Duration>>,
    pub delimiter: Option<Spanned<String>>,
    pub header: Option<Spanned<bool>>,
}

/// A field as declared: the type is `None` when it did not parse (already reported).
#[derive(Clone, Debug)]
pub struct FieldDecl {
    pub name: Spanned<String>,
    pub ty: Option<Spanned<FieldType>>,
    /// For nested structs: the declarations of the inner fields, for their spans.
    pub nested: Vec<FieldDecl>,
}

#[derive(Clone, Debug)]
pub struct Producer {
    pub name: Spanned<String>,
    pub schema: Option<Spanned<String>>,
    pub to: Option<Spanned<String>>,
    pub rate: Option<Spanned<Rate>>,
    pub record_size: Option<Spanned<Size>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamMode {
    Provisioned,
    OnDemand,
}

/// At-rest encryption of a stream or a firehose's destination.
#[derive(Clone, Debug, PartialEq)]
pub enum Encryption {
    /// KMS with the key kin creates (Terraform) or AWS's managed key.
    Kms,
    None,
    /// KMS with a key the user names: an ARN, an alias or `${var.X}`.
    KmsKey(Spanned<String>),
}

#[derive(Clone, Debug)]
pub enum PartitionKey {
    Random,
    Field(String),
}

#[derive(Clone, Debug)]
pub struct Stream {
    pub name: Spanned<String>,
    pub schema: Option<Spanned<String>>,
    pub shards: Option<Spanned<i64>>,
    pub mode: Option<Spanned<StreamMode>>,
    pub retention: Option<Spanned<Duration>>,
    pub partition_key: Option<Spanned<PartitionKey>>,
    pub encryption: Option<Spanned<Encryption>>,
    pub max_record_size: Option<Spanned<Size>>,
    /// Keys written, even with values that could not be read (to avoid cascading errors).
    pub written: Vec<&'static str>,
}

#[derive(Clone, Debug)]
pub struct Analytics {
    pub name: Spanned<String>,
    pub from: Vec<Spanned<String>>,
    pub to: Option<Spanned<String>>,
    pub sql: Option<Sql>,
    pub parallelism: Option<Spanned<i64>>,
    pub checkpoint_interval: Option<Spanned<Duration>>,
}

/// A SQL text and where it sits in the file, so SQL positions map back to file positions.
#[derive(Clone, Debug)]
pub struct Sql {
    pub text: String,
    /// The span of the YAML value (for a block scalar, from the `|` to the end of the block).
    pub span: Span,
    /// The file offset of the first character of each line of `text`, where it could be found
    /// (a block scalar's lines are the file's lines minus the indentation).
    pub line_offsets: Vec<Option<usize>>,
}

impl Sql {
    /// The file offset of a byte offset into the SQL text (the value's start when unknown).
    pub fn file_offset(&self, sql_offset: usize) -> usize {
        let mut sql_offset = sql_offset.min(self.text.len());
        while !self.text.is_char_boundary(sql_offset) {
            sql_offset -= 1;
        }
        let line = self.text[..sql_offset].matches('\n').count();
        let line_start = self.text[..sql_offset].rfind('\n').map_or(0, |i| i + 1);
        match self.line_offsets.get(line).copied().flatten() {
            Some(file_line) => file_line + (sql_offset - line_start),
            None => self.span.start,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zip,
    Snappy,
    HadoopSnappy,
}

impl Compression {
    pub const NAMES: &'static [&'static str] = &["none", "gzip", "zip", "snappy", "hadoop_snappy"];

    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zip => "zip",
            Compression::Snappy => "snappy",
            Compression::HadoopSnappy => "hadoop_snappy",
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Buffer {
    pub size: Option<Spanned<Size>>,
    pub interval: Option<Spanned<Duration>>,
}

#[derive(Clone, Debug)]
pub struct Firehose {
    pub name: Spanned<String>,
    pub from: Option<Spanned<String>>,
    pub buffer: Buffer,
    pub compression: Option<Spanned<Compression>>,
    pub encryption: Option<Spanned<Encryption>>,
    /// `None` when `to` is missing or names no known destination (already reported).
    pub to: Option<Destination>,
    /// Keys written, even with values that could not be read (to avoid cascading errors).
    pub written: Vec<&'static str>,
}

/// A destination with the span of its kind key (`s3:`, `redshift:`, …).
#[derive(Clone, Debug)]
pub struct Destination {
    pub kind_span: Span,
    pub kind: DestinationKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenSearchRotation {
    NoRotation,
    OneHour,
    OneDay,
    OneWeek,
    OneMonth,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackupMode {
    /// Only what failed goes to the backup bucket (Firehose's default).
    Failed,
    All,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SplunkEndpointType {
    Raw,
    Event,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CopyFormat {
    Json,
    Csv,
}

#[derive(Clone, Debug)]
pub enum DestinationKind {
    S3(S3),
    Redshift(Redshift),
    OpenSearch(OpenSearch),
    Splunk(Splunk),
    Http(Http),
}

impl DestinationKind {
    pub const NAMES: &'static [&'static str] = &["s3", "redshift", "opensearch", "splunk", "http"];

    pub fn name(&self) -> &'static str {
        match self {
            DestinationKind::S3(_) => "s3",
            DestinationKind::Redshift(_) => "redshift",
            DestinationKind::OpenSearch(_) => "opensearch",
            DestinationKind::Splunk(_) => "splunk",
            DestinationKind::Http(_) => "http",
        }
    }

    pub fn retry_duration(&self) -> Option<&Spanned<Duration>> {
        match self {
            DestinationKind::S3(_) => None,
            DestinationKind::Redshift(d) => d.retry_duration.as_ref(),
            DestinationKind::OpenSearch(d) => d.retry_duration.as_ref(),
            DestinationKind::Splunk(d) => d.retry_duration.as_ref(),
            DestinationKind::Http(d) => d.retry_duration.as_ref(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct S3 {
    pub bucket: Option<Spanned<String>>,
    pub prefix: Option<Spanned<String>>,
    pub error_prefix: Option<Spanned<String>>,
    pub partition_by: Vec<Spanned<String>>,
}

#[derive(Clone, Debug)]
pub struct Redshift {
    pub jdbc_url: Option<Spanned<String>>,
    pub table: Option<Spanned<String>>,
    pub columns: Vec<Spanned<String>>,
    pub user: Option<Spanned<String>>,
    pub password: Option<Spanned<String>>,
    pub format: Option<Spanned<CopyFormat>>,
    pub copy_options: Option<Spanned<String>>,
    /// The intermediate S3 bucket; kin creates one when absent.
    pub bucket: Option<Spanned<String>>,
    pub retry_duration: Option<Spanned<Duration>>,
}

#[derive(Clone, Debug)]
pub struct OpenSearch {
    pub endpoint: Option<Spanned<String>>,
    pub index: Option<Spanned<String>>,
    pub rotation: Option<Spanned<OpenSearchRotation>>,
    pub backup: Option<Spanned<BackupMode>>,
    pub retry_duration: Option<Spanned<Duration>>,
}

#[derive(Clone, Debug)]
pub struct Splunk {
    pub endpoint: Option<Spanned<String>>,
    pub token: Option<Spanned<String>>,
    pub endpoint_type: Option<Spanned<SplunkEndpointType>>,
    pub ack_timeout: Option<Spanned<Duration>>,
    pub backup: Option<Spanned<BackupMode>>,
    pub retry_duration: Option<Spanned<Duration>>,
}

#[derive(Clone, Debug)]
pub struct Http {
    pub url: Option<Spanned<String>>,
    pub name: Option<Spanned<String>>,
    pub access_key: Option<Spanned<String>>,
    pub backup: Option<Spanned<BackupMode>>,
    pub retry_duration: Option<Spanned<Duration>>,
}
