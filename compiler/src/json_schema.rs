//! The JSON Schema of `pipeline.yaml` (`kin schema`), for editors' completion and validation.
//! A test checks it against the lowering's key tables and against every example, and fails when
//! the copy committed at `spec/pipeline.schema.json` is stale.

use serde_json::{json, Map, Value};

const SIZE: &str = r"^[0-9][0-9_]*(\.[0-9]+)?(B|KiB|MiB|GiB|KB|MB|GB)$";
const DURATION: &str = r"^[0-9][0-9_]*(\.[0-9]+)?(ms|s|m|h|d)$";
const RATE: &str = r"^[0-9][0-9_]*(\.[0-9]+)?/(s|m|h)$";
const NODE_NAME: &str = r"^[a-z][a-z0-9_]{0,63}$";
const SECRET: &str = r"^\$\{secret:[A-Za-z0-9_./-]+\}$";

fn string(description: &str) -> Value {
    json!({ "type": "string", "description": description })
}

fn pattern(p: &str, description: &str) -> Value {
    json!({ "type": "string", "pattern": p, "description": description })
}

fn choice(values: &[&str], description: &str) -> Value {
    json!({ "type": "string", "enum": values, "description": description })
}

fn object(description: &str, properties: Value, required: &[&str]) -> Value {
    json!({
        "type": "object",
        "description": description,
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

fn named_map(item: Value, description: &str, names: &str) -> Value {
    json!({
        "type": "object",
        "description": description,
        "propertyNames": { "pattern": names },
        "additionalProperties": item,
    })
}

fn one_or_many(description: &str) -> Value {
    json!({
        "description": description,
        "oneOf": [{ "type": "string" }, { "type": "array", "items": { "type": "string" }, "minItems": 1 }],
    })
}

fn encryption(description: &str) -> Value {
    json!({
        "description": description,
        "oneOf": [
            { "type": "string", "enum": ["kms", "none"] },
            object("KMS with a key you name", json!({ "kms_key": string("a key ARN, an alias (`alias/NAME`) or `${var.X}`") }), &["kms_key"]),
        ],
    })
}

fn schema_def() -> Value {
    let field = json!({
        "description": "a type (`string`, `int`, `float`, `bool`, `timestamp`, `date`, `decimal(p,s)`, `bytes`, `list<T>`, `struct<a:T,...>`; a trailing `?` makes it nullable) or a nested mapping for a struct",
        "oneOf": [
            { "type": "string", "pattern": r"^\s*(string|int|float|bool|timestamp|date|bytes|decimal\s*\(|list\s*<|struct\s*<)" },
            { "$ref": "#/$defs/fields" },
        ],
    });
    json!({
        "fields": { "type": "object", "additionalProperties": field, "minProperties": 1 },
        "schema": object("a record type", json!({
            "format": choice(&["json", "csv"], "how records are encoded (default json)"),
            "fields": { "$ref": "#/$defs/fields", "description": "field name → type, in column order for CSV" },
            "event_time": string("a non-null timestamp field: enables event-time windows"),
            "watermark": pattern(DURATION, "allowed lateness behind the max event time (default 0s)"),
            "delimiter": string("CSV only: the column delimiter (default `,`)"),
            "header": { "type": "boolean", "description": "CSV only: whether the first line is a header" },
        }), &["fields"]),
    })
}

fn destination() -> Value {
    let retry = pattern(
        DURATION,
        "how long Firehose retries a failed delivery (0s..7200s)",
    );
    let backup = choice(
        &["failed", "all"],
        "which records are also written to the backup bucket",
    );
    let secret = |d: &str| pattern(SECRET, d);
    let one = |key: &str, value: Value| {
        let mut props = Map::new();
        props.insert(key.to_string(), value);
        json!({ "type": "object", "properties": props, "required": [key], "additionalProperties": false })
    };
    json!({
        "description": "exactly one destination",
        "oneOf": [
            one("s3", object("Amazon S3", json!({
                "bucket": string("the bucket name (or `${var.X}`)"),
                "prefix": string("object key prefix; may use `!{timestamp:…}`, `!{firehose:random-string}`, `!{partitionKeyFromQuery:…}`"),
                "error_prefix": string("prefix for failed records; must use `!{firehose:error-output-type}` when it has expressions"),
                "partition_by": { "type": "array", "items": { "type": "string" }, "description": "dynamic partitioning on record fields" },
            }), &["bucket"])),
            one("redshift", object("Amazon Redshift (through an intermediate S3 bucket and COPY)", json!({
                "jdbc_url": string("the cluster JDBC URL, usually `${var.X}`"),
                "table": string("the target table"),
                "columns": { "type": "array", "items": { "type": "string" }, "description": "the table columns to load (default: all fields)" },
                "user": string("the database user"),
                "password": secret("the password, as `${secret:NAME}`"),
                "format": choice(&["json", "csv"], "how COPY reads the staged records (default json)"),
                "copy_options": string("extra COPY options"),
                "bucket": string("the intermediate S3 bucket (kin creates one when absent)"),
                "retry_duration": retry.clone(),
            }), &["jdbc_url", "table", "user", "password"])),
            one("opensearch", object("Amazon OpenSearch Service", json!({
                "endpoint": string("the domain endpoint, usually `${var.X}`"),
                "index": string("the index name"),
                "rotation": choice(&["none", "hour", "day", "week", "month"], "index rotation (default day)"),
                "backup": backup.clone(),
                "retry_duration": retry.clone(),
            }), &["endpoint", "index"])),
            one("splunk", object("Splunk HTTP Event Collector", json!({
                "endpoint": string("the HEC URL, usually `${var.X}`"),
                "token": secret("the HEC token, as `${secret:NAME}`"),
                "endpoint_type": choice(&["raw", "event"], "HEC endpoint (default raw)"),
                "ack_timeout": pattern(DURATION, "HEC acknowledgment timeout (180s..600s)"),
                "backup": backup.clone(),
                "retry_duration": retry.clone(),
            }), &["endpoint", "token"])),
            one("http", object("an HTTP endpoint (Firehose's HTTP delivery protocol)", json!({
                "url": string("an https:// URL, usually `${var.X}`"),
                "name": string("a display name for the endpoint"),
                "access_key": secret("the access key sent in X-Amz-Firehose-Access-Key, as `${secret:NAME}`"),
                "backup": backup,
                "retry_duration": retry,
            }), &["url"])),
        ],
    })
}

/// The JSON Schema (draft 2020-12) of the YAML spec language.
pub fn json_schema() -> Value {
    let mut defs = Map::new();
    if let Value::Object(m) = schema_def() {
        defs.extend(m);
    }
    defs.insert("producer".into(), object("who writes records", json!({
        "schema": string("the schema of the records it writes"),
        "to": string("a stream, or a firehose (Direct PUT)"),
        "rate": pattern(RATE, "expected peak rate, e.g. `2000/s`: capacity checks and local synthetic load"),
        "record_size": pattern(SIZE, "typical record size; estimated from the schema when absent"),
    }), &["schema", "to"]));
    defs.insert("stream".into(), object("a Kinesis data stream", json!({
        "schema": string("the record type; optional when analytics writes the stream (then inferred)"),
        "shards": { "type": "integer", "minimum": 1, "maximum": 10000, "description": "provisioned shard count" },
        "mode": choice(&["provisioned", "on_demand"], "capacity mode (default provisioned)"),
        "retention": pattern(DURATION, "24h..8760h (default 24h)"),
        "partition_key": string("a non-null scalar field, or `random` (the default)"),
        "encryption": encryption("at-rest encryption (default kms)"),
        "max_record_size": pattern(SIZE, "1MiB..10MiB"),
    }), &[]));
    defs.insert("analytics".into(), object("SQL over streams (Flink SQL on AWS, DataFusion locally)", json!({
        "from": one_or_many("the input stream or streams; each is a SQL table of that name"),
        "to": string("a stream or a firehose"),
        "sql": string("Flink SQL's streaming subset"),
        "parallelism": { "type": "integer", "minimum": 1, "maximum": 1024 },
        "checkpoint_interval": pattern(DURATION, "how often Flink checkpoints (default 60s)"),
    }), &["from", "to", "sql"]));
    defs.insert("firehose".into(), object("a Firehose delivery stream", json!({
        "from": string("the source stream; omit for Direct PUT"),
        "buffer": object("buffering hints: delivery happens at whichever comes first", json!({
            "size": pattern(SIZE, "e.g. 5MiB"),
            "interval": pattern(DURATION, "e.g. 60s"),
        }), &[]),
        "compression": choice(&["none", "gzip", "zip", "snappy", "hadoop_snappy"], "per-destination rules apply"),
        "encryption": encryption("at-rest encryption in the destination (default kms)"),
        "to": destination(),
    }), &["to"]));
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:kin:pipeline-v1",
        "title": "kin pipeline spec, version 1",
        "type": "object",
        "additionalProperties": false,
        "required": ["pipeline"],
        "properties": {
            "pipeline": pattern(r"^[a-z][a-z0-9-]{0,39}$", "the pipeline name; prefixes every AWS resource name"),
            "region": string("the default AWS region (us-east-1 when absent)"),
            "tags": { "type": "object", "additionalProperties": { "type": ["string", "number", "boolean"] }, "description": "applied to every AWS resource" },
            "schemas": named_map(json!({ "$ref": "#/$defs/schema" }), "record types", r"^[A-Za-z][A-Za-z0-9_]{0,63}$"),
            "producers": named_map(json!({ "$ref": "#/$defs/producer" }), "who writes records", NODE_NAME),
            "streams": named_map(json!({ "$ref": "#/$defs/stream" }), "Kinesis Data Streams", NODE_NAME),
            "analytics": named_map(json!({ "$ref": "#/$defs/analytics" }), "SQL over streams", NODE_NAME),
            "firehoses": named_map(json!({ "$ref": "#/$defs/firehose" }), "Firehose delivery streams", NODE_NAME),
        },
        "$defs": defs,
    })
}

/// The schema as the committed file holds it: pretty JSON with a trailing newline.
pub fn json_schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&json_schema()).unwrap_or_default();
    text.push('\n');
    text
}
