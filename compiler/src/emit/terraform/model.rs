//! The template context: everything the Terraform templates print, as HCL expressions already
//! rendered (quoted strings, references), so that the templates only arrange them.

use serde::Serialize;

/// The whole module.
#[derive(Debug, Default, Serialize)]
pub struct Module {
    /// The pipeline name (the default of `name_prefix`).
    pub pipeline: String,
    /// The default region, quoted.
    pub region: String,
    /// The longest `name_prefix` with which every name fits its service's limit.
    pub prefix_max: usize,
    /// The pipeline's tags: (quoted key, quoted value).
    pub tags: Vec<(String, String)>,
    pub variables: Vec<Variable>,
    /// KMS keys the spec names (`data "aws_kms_key"`).
    pub user_keys: Vec<UserKey>,
    pub streams: Vec<Stream>,
    pub producers: Vec<Producer>,
    pub firehoses: Vec<Firehose>,
    pub buckets: Vec<Bucket>,
    pub analytics: Vec<Analytics>,
    /// The bucket access logs go to, when kin creates any bucket.
    pub log_bucket: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Variable {
    pub name: String,
    /// Quoted.
    pub description: String,
    pub sensitive: bool,
}

#[derive(Debug, Serialize)]
pub struct UserKey {
    pub id: String,
    /// The key id, alias or ARN as an HCL expression.
    pub key_id: String,
    /// The spec's nodes using it (for the comment).
    pub used_by: String,
}

#[derive(Debug, Serialize)]
pub struct Stream {
    pub id: String,
    pub node: String,
    pub name: String,
    pub shards: Option<i64>,
    pub on_demand: bool,
    pub retention_hours: u64,
    /// The KMS key ARN expression; `None` when the spec turns encryption off.
    pub key: Option<String>,
    pub max_record_size_kib: Option<u64>,
}

#[derive(Debug, Serialize)]
pub struct Producer {
    pub id: String,
    pub node: String,
    pub name: String,
    /// What it writes to, for the description: `Kinesis stream "clicks"`.
    pub target: String,
    pub policy: Policy,
}

/// An S3 location Firehose writes to: a destination, a backup or Redshift's staging.
#[derive(Debug, Serialize)]
pub struct S3Target {
    pub bucket_arn: String,
    pub prefix: Option<String>,
    pub error_prefix: Option<String>,
    pub buffering_size: Option<u64>,
    pub buffering_interval: Option<u64>,
    /// `UNCOMPRESSED`, `GZIP`, … (unquoted).
    pub compression: String,
    pub kms_key_arn: Option<String>,
    /// The CloudWatch log stream for its errors (an identifier).
    pub log_stream: String,
}

#[derive(Debug, Serialize)]
pub struct Firehose {
    pub id: String,
    pub node: String,
    pub name: String,
    /// `extended_s3`, `redshift`, `opensearch`, `splunk` or `http_endpoint`.
    pub destination: String,
    /// The source stream's ARN expression (Kinesis source), or `None` for Direct PUT.
    pub source: Option<String>,
    /// The source stream's node name.
    pub source_node: Option<String>,
    /// Direct PUT: the key of server-side encryption; `None` with encryption off.
    pub sse_key: Option<String>,
    pub log_group_name: String,
    /// The log streams to create: (identifier, name).
    pub log_streams: Vec<(String, String)>,
    pub s3: Option<S3Destination>,
    pub redshift: Option<RedshiftDestination>,
    pub opensearch: Option<OpenSearchDestination>,
    pub splunk: Option<SplunkDestination>,
    pub http: Option<HttpDestination>,
    pub role: Role,
}

/// An IAM role with its trust policy and its one inline policy.
#[derive(Debug, Default, Serialize)]
pub struct Role {
    pub name: String,
    /// Quoted.
    pub description: String,
    pub trust: Policy,
    pub permissions: Policy,
}

#[derive(Debug, Serialize)]
pub struct S3Destination {
    pub target: S3Target,
    /// The JQ query of dynamic partitioning (`{page:.page}`), quoted.
    pub partition_query: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct RedshiftDestination {
    pub jdbc_url: String,
    pub username: String,
    pub password: String,
    pub table: String,
    pub columns: Option<String>,
    pub copy_options: String,
    pub retry_duration: Option<u64>,
    pub staging: S3Target,
}

#[derive(Debug, Serialize)]
pub struct OpenSearchDestination {
    pub endpoint: String,
    pub index: String,
    /// `NoRotation`, `OneHour`, … (unquoted).
    pub rotation: String,
    pub backup_mode: String,
    pub buffering_size: Option<u64>,
    pub buffering_interval: Option<u64>,
    pub retry_duration: Option<u64>,
    pub backup: S3Target,
    /// The local naming the domain, derived from the endpoint.
    pub domain_local: String,
}

#[derive(Debug, Serialize)]
pub struct SplunkDestination {
    pub endpoint: String,
    pub token: String,
    pub endpoint_type: String,
    pub ack_timeout: Option<u64>,
    pub backup_mode: String,
    pub buffering_size: Option<u64>,
    pub buffering_interval: Option<u64>,
    pub retry_duration: Option<u64>,
    pub backup: S3Target,
}

#[derive(Debug, Serialize)]
pub struct HttpDestination {
    pub url: String,
    pub name: Option<String>,
    pub access_key: Option<String>,
    pub backup_mode: String,
    pub buffering_size: Option<u64>,
    pub buffering_interval: Option<u64>,
    pub retry_duration: Option<u64>,
    pub content_encoding: String,
    pub backup: S3Target,
}

#[derive(Debug, Serialize)]
pub struct Bucket {
    pub id: String,
    /// The bucket name expression.
    pub name: String,
    /// What it holds, for the comment.
    pub purpose: String,
    /// The default encryption key; `None` for the access log bucket (SSE-S3, see the template).
    pub key: Option<String>,
    pub is_log_bucket: bool,
}

#[derive(Debug, Serialize)]
pub struct Analytics {
    pub id: String,
    pub node: String,
    pub name: String,
    pub role: Role,
    pub log_group_name: String,
    /// The directory of the generated program, relative to the module.
    pub dir: String,
    pub jar: String,
    /// The connector jars the application needs (Kinesis, and Firehose when it writes to one).
    pub connectors: Vec<String>,
    pub parallelism: Option<i64>,
    pub checkpoint_interval_ms: u64,
    /// The code bucket's identifier.
    pub code_bucket: String,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Policy {
    pub id: String,
    pub statements: Vec<Statement>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Statement {
    pub sid: String,
    /// An HCL list of quoted actions.
    pub actions: String,
    /// An HCL list of ARN expressions (absent in trust policies).
    pub resources: Option<String>,
    pub principals: Vec<Principal>,
    pub conditions: Vec<Condition>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Principal {
    /// `Service` or `AWS` (quoted).
    pub kind: String,
    pub identifiers: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Condition {
    /// `StringEquals`, `ArnLike`, … (quoted).
    pub test: String,
    /// Quoted.
    pub variable: String,
    /// An HCL list.
    pub values: String,
}
