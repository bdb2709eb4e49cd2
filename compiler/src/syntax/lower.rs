//! The YAML node tree → the spec AST. Reports unknown keys, missing keys, wrong kinds, bad units
//! and bad types; what cannot be read becomes `None` and checking goes on.

use super::reader::{Fields, Interp, Reader};
use super::types::{parse_type, type_help};
use super::yaml::{Key, Node, NodeKind};
use super::Syntax;
use crate::ast::*;
use crate::diagnostic::{codes, Diagnostic};
use crate::ir::types::{FieldType, Type};
use crate::source::{Span, Spanned};

const TOP_KEYS: &[&str] = &[
    "pipeline",
    "region",
    "tags",
    "schemas",
    "producers",
    "streams",
    "analytics",
    "firehoses",
];
const SCHEMA_KEYS: &[&str] = &[
    "format",
    "fields",
    "event_time",
    "watermark",
    "delimiter",
    "header",
];
const PRODUCER_KEYS: &[&str] = &["schema", "to", "rate", "record_size"];
const STREAM_KEYS: &[&str] = &[
    "schema",
    "shards",
    "mode",
    "retention",
    "partition_key",
    "encryption",
    "max_record_size",
];
const ANALYTICS_KEYS: &[&str] = &["from", "to", "sql", "parallelism", "checkpoint_interval"];
const FIREHOSE_KEYS: &[&str] = &["from", "buffer", "compression", "encryption", "to"];
const BUFFER_KEYS: &[&str] = &["size", "interval"];
const S3_KEYS: &[&str] = &["bucket", "prefix", "error_prefix", "partition_by"];
const REDSHIFT_KEYS: &[&str] = &[
    "jdbc_url",
    "table",
    "columns",
    "user",
    "password",
    "format",
    "copy_options",
    "bucket",
    "retry_duration",
];
const OPENSEARCH_KEYS: &[&str] = &["endpoint", "index", "rotation", "backup", "retry_duration"];
const SPLUNK_KEYS: &[&str] = &[
    "endpoint",
    "token",
    "endpoint_type",
    "ack_timeout",
    "backup",
    "retry_duration",
];
const HTTP_KEYS: &[&str] = &["url", "name", "access_key", "backup", "retry_duration"];

/// Every key the language knows, by the mapping it belongs to (for the JSON Schema and the docs).
pub const KEYS: &[(&str, &[&str])] = &[
    ("top level", TOP_KEYS),
    ("schema", SCHEMA_KEYS),
    ("producer", PRODUCER_KEYS),
    ("stream", STREAM_KEYS),
    ("analytics", ANALYTICS_KEYS),
    ("firehose", FIREHOSE_KEYS),
    ("buffer", BUFFER_KEYS),
    ("s3", S3_KEYS),
    ("redshift", REDSHIFT_KEYS),
    ("opensearch", OPENSEARCH_KEYS),
    ("splunk", SPLUNK_KEYS),
    ("http", HTTP_KEYS),
];

const ENCRYPTION_KEYS: &[&str] = &["kms_key"];

/// Lowers a parsed document (YAML, or `.kin` built into the same node tree) into the spec AST.
pub fn lower(root: &Node, syntax: Syntax) -> (Spec, Vec<Diagnostic>) {
    let mut r = Reader {
        syntax,
        ..Reader::default()
    };
    let mut spec = Spec::default();
    let anchor = match &root.kind {
        NodeKind::Map(entries) => entries.first().map_or(Span::new(0, 0), |(k, _)| k.span),
        _ => root.span,
    };
    let top = r.fields(root, "the pipeline spec", anchor, TOP_KEYS);
    if let Some(node) = r.require(&top, "pipeline", "clickstream") {
        spec.pipeline = r.string(node, "the pipeline name", Interp::Forbidden);
    }
    if let Some(node) = top.get("region") {
        spec.region = r.string(node, "the region", Interp::Forbidden);
    }
    if let Some(node) = top.get("tags") {
        for (key, value) in r.entries(node, "tags") {
            if let Some(text) = r.scalar_text(value, &format!("tag \"{}\"", key.name)) {
                spec.tags
                    .push((Spanned::new(key.name.clone(), key.span), text));
            }
        }
    }
    spec.schemas = section(&mut r, &top, "schemas", schema);
    spec.producers = section(&mut r, &top, "producers", producer);
    spec.streams = section(&mut r, &top, "streams", stream);
    spec.analytics = section(&mut r, &top, "analytics", analytics);
    spec.firehoses = section(&mut r, &top, "firehoses", firehose);
    (spec, r.diagnostics)
}

/// Lowers each `NAME: {…}` entry of a top-level section.
fn section<T>(
    r: &mut Reader,
    top: &Fields,
    key: &str,
    lower_one: fn(&mut Reader, &Key, &Node) -> T,
) -> Vec<T> {
    let Some(node) = top.get(key) else {
        return Vec::new();
    };
    let what = r.say(format!("`{key}`"), super::dsl::hints::section_words(key));
    r.entries(node, &what)
        .into_iter()
        .map(|(name, value)| lower_one(r, name, value))
        .collect()
}

fn name_of(key: &Key) -> Spanned<String> {
    Spanned::new(key.name.clone(), key.span)
}

fn schema(r: &mut Reader, key: &Key, node: &Node) -> Schema {
    let what = format!("schema \"{}\"", key.name);
    let f = r.fields(node, what.clone(), key.span, SCHEMA_KEYS);
    let format = f.get("format").and_then(|n| {
        r.choice(
            n,
            &format!("the format of {what}"),
            &[("json", RecordFormat::Json), ("csv", RecordFormat::Csv)],
        )
    });
    let fields_node = r.require(&f, "fields", "{ id: string, ts: timestamp }");
    let fields = fields_node
        .map(|n| field_decls(r, n, &what))
        .unwrap_or_default();
    let empty = |n: &&Node| {
        matches!(&n.kind, NodeKind::Map(m) if m.is_empty()) || matches!(n.kind, NodeKind::Null)
    };
    if let Some(n) = fields_node.filter(empty) {
        r.push(
            Diagnostic::new(codes::MISSING_KEY, n.span, format!("{what} has no fields")).with_help(
                r.say(
                    "declare at least one field, e.g. `fields: { id: string }`",
                    "declare at least one field, e.g. `fields { id: string }`",
                ),
            ),
        );
    }
    Schema {
        name: name_of(key),
        format,
        fields,
        fields_span: fields_node.map_or(key.span, |n| f.key("fields").map_or(n.span, |k| k.span)),
        event_time: f
            .get("event_time")
            .and_then(|n| r.string(n, "event_time", Interp::Forbidden)),
        watermark: f
            .get("watermark")
            .and_then(|n| r.duration(n, &format!("the watermark of {what}"))),
        delimiter: f
            .get("delimiter")
            .and_then(|n| r.string(n, "the delimiter", Interp::Forbidden)),
        header: f.get("header").and_then(|n| r.bool(n, "header")),
    }
}

fn field_decls(r: &mut Reader, node: &Node, what: &str) -> Vec<FieldDecl> {
    let entries = r.entries(node, &format!("the fields of {what}"));
    let mut decls = Vec::new();
    let mut i = 0;
    while i < entries.len() {
        let (key, value) = entries[i];
        i += 1;
        // In a flow mapping `{ a: decimal(10,2) }` YAML splits at the comma: the rest of the
        // type arrives as keys such as `2)`. Report the cut, and skip the pieces.
        let unbalanced = matches!(&value.kind, NodeKind::Str(t) if t.matches('(').count() > t.matches(')').count() || t.matches('<').count() > t.matches('>').count());
        let is_piece = |k: &Key| {
            k.name.contains([')', '>']) || k.name.starts_with(|c: char| c.is_ascii_digit())
        };
        if unbalanced && entries.get(i).is_some_and(|(k, _)| is_piece(k)) {
            while entries.get(i).is_some_and(|(k, _)| is_piece(k)) {
                i += 1;
            }
            let text = match &value.kind {
                NodeKind::Str(t) => t.clone(),
                _ => String::new(),
            };
            r.push(
                Diagnostic::new(codes::UNKNOWN_TYPE, value.span, format!("the type of field \"{}\" of {what} is cut off at a comma: `{text}`", key.name))
                    .with_label("YAML split the type here")
                    .with_help("inside `{ … }` a comma separates entries: quote the type (`\"decimal(10,2)\"`) or write the fields one per line"),
            );
            decls.push(FieldDecl {
                name: name_of(key),
                ty: None,
                nested: Vec::new(),
            });
            continue;
        }
        decls.push(field_decl(r, key, value, what));
    }
    decls
}

fn field_decl(r: &mut Reader, key: &Key, node: &Node, what: &str) -> FieldDecl {
    let field_what = format!("field \"{}\" of {what}", key.name);
    match &node.kind {
        NodeKind::Map(_) => {
            let nested = field_decls(r, node, &field_what);
            let fields = declared_fields(&nested);
            let ty = fields.map(|fields| {
                Spanned::new(
                    FieldType {
                        ty: Type::Struct(fields),
                        nullable: false,
                    },
                    node.span,
                )
            });
            FieldDecl {
                name: name_of(key),
                ty,
                nested,
            }
        }
        NodeKind::Str(text) => {
            let ty = match parse_type(text) {
                Ok(ty) => Some(Spanned::new(ty, node.span)),
                Err(reason) => {
                    r.push(
                        Diagnostic::new(
                            codes::UNKNOWN_TYPE,
                            node.span,
                            format!("the type of {field_what} is invalid: {reason}"),
                        )
                        .with_label("not a type")
                        .with_help(type_help(text)),
                    );
                    None
                }
            };
            FieldDecl {
                name: name_of(key),
                ty,
                nested: Vec::new(),
            }
        }
        _ => {
            r.wrong_kind(
                node,
                "a type such as `string` or a nested mapping",
                &format!("the type of {field_what}"),
            );
            FieldDecl {
                name: name_of(key),
                ty: None,
                nested: Vec::new(),
            }
        }
    }
}

fn producer(r: &mut Reader, key: &Key, node: &Node) -> Producer {
    let what = format!("producer \"{}\"", key.name);
    let f = r.fields(node, what.clone(), key.span, PRODUCER_KEYS);
    let schema = r
        .require(&f, "schema", "Click")
        .and_then(|n| r.string(n, "a schema reference", Interp::Forbidden));
    let to = r
        .require(&f, "to", "clicks")
        .and_then(|n| r.string(n, "a stream or firehose reference", Interp::Forbidden));
    Producer {
        name: name_of(key),
        schema,
        to,
        rate: f
            .get("rate")
            .and_then(|n| r.rate(n, &format!("the rate of {what}"))),
        record_size: f
            .get("record_size")
            .and_then(|n| r.size(n, &format!("the record size of {what}"))),
    }
}

fn encryption(r: &mut Reader, node: &Node, what: &str) -> Option<Spanned<Encryption>> {
    match &node.kind {
        NodeKind::Map(_) => {
            let f = r.fields(
                node,
                format!("the encryption of {what}"),
                node.span,
                ENCRYPTION_KEYS,
            );
            let key = r.require(&f, "kms_key", "alias/my-key")?;
            let key = r.string(key, "kms_key", Interp::Allowed)?;
            Some(Spanned::new(Encryption::KmsKey(key), node.span))
        }
        _ => r
            .choice(
                node,
                &format!("the encryption of {what}"),
                &[("kms", true), ("none", false)],
            )
            .map(|s| {
                s.map(|kms| {
                    if kms {
                        Encryption::Kms
                    } else {
                        Encryption::None
                    }
                })
            }),
    }
}

fn stream(r: &mut Reader, key: &Key, node: &Node) -> Stream {
    let what = format!("stream \"{}\"", key.name);
    let f = r.fields(node, what.clone(), key.span, STREAM_KEYS);
    let partition_key = f
        .get("partition_key")
        .and_then(|n| r.string(n, "the partition key", Interp::Forbidden))
        .map(|s| {
            s.map(|k| {
                if k == "random" {
                    PartitionKey::Random
                } else {
                    PartitionKey::Field(k)
                }
            })
        });
    Stream {
        name: name_of(key),
        schema: f
            .get("schema")
            .and_then(|n| r.string(n, "a schema reference", Interp::Forbidden)),
        shards: f
            .get("shards")
            .and_then(|n| r.int(n, &format!("the shard count of {what}"))),
        mode: f.get("mode").and_then(|n| {
            r.choice(
                n,
                &format!("the mode of {what}"),
                &[
                    ("provisioned", StreamMode::Provisioned),
                    ("on_demand", StreamMode::OnDemand),
                ],
            )
        }),
        retention: f
            .get("retention")
            .and_then(|n| r.duration(n, &format!("the retention of {what}"))),
        partition_key,
        encryption: f.get("encryption").and_then(|n| encryption(r, n, &what)),
        max_record_size: f
            .get("max_record_size")
            .and_then(|n| r.size(n, &format!("the max record size of {what}"))),
        written: STREAM_KEYS.iter().copied().filter(|k| f.has(k)).collect(),
    }
}

fn analytics(r: &mut Reader, key: &Key, node: &Node) -> Analytics {
    let what = format!("analytics \"{}\"", key.name);
    let f = r.fields(node, what.clone(), key.span, ANALYTICS_KEYS);
    let from = match r.require(&f, "from", "clicks") {
        Some(n) => {
            if matches!(&n.kind, NodeKind::Seq(items) if items.is_empty()) {
                r.push(
                    Diagnostic::new(
                        codes::MISSING_KEY,
                        n.span,
                        format!("{what} reads from no stream"),
                    )
                    .with_help(r.say(
                        "`from:` names one stream or a list of streams, e.g. `from: clicks`",
                        "`from` names one stream or a list of streams, e.g. `from = clicks` or `from = [clicks, orders]`",
                    )),
                );
            }
            r.string_list(n, &format!("the input of {what}"))
        }
        None => Vec::new(),
    };
    let to = r
        .require(&f, "to", "page_views")
        .and_then(|n| r.string(n, "a stream or firehose reference", Interp::Forbidden));
    let sql = r
        .require(&f, "sql", "SELECT ... FROM clicks")
        .and_then(|n| match &n.kind {
            NodeKind::Str(text) => Some(Sql {
                text: text.clone(),
                span: n.span,
                line_offsets: Vec::new(),
            }),
            _ => {
                r.wrong_kind(n, "a string of SQL", &format!("the sql of {what}"));
                None
            }
        });
    Analytics {
        name: name_of(key),
        from,
        to,
        sql,
        parallelism: f
            .get("parallelism")
            .and_then(|n| r.int(n, &format!("the parallelism of {what}"))),
        checkpoint_interval: f
            .get("checkpoint_interval")
            .and_then(|n| r.duration(n, &format!("the checkpoint interval of {what}"))),
    }
}

const BACKUP_CHOICES: &[(&str, BackupMode)] =
    &[("failed", BackupMode::Failed), ("all", BackupMode::All)];

fn firehose(r: &mut Reader, key: &Key, node: &Node) -> Firehose {
    let what = format!("firehose \"{}\"", key.name);
    let f = r.fields(node, what.clone(), key.span, FIREHOSE_KEYS);
    let mut buffer = Buffer::default();
    if let Some(n) = f.get("buffer") {
        let b = r.fields(n, format!("the buffer of {what}"), n.span, BUFFER_KEYS);
        buffer.size = b
            .get("size")
            .and_then(|n| r.size(n, &format!("the buffer size of {what}")));
        buffer.interval = b
            .get("interval")
            .and_then(|n| r.duration(n, &format!("the buffer interval of {what}")));
    }
    let compression_choices: Vec<(&str, Compression)> = Compression::NAMES
        .iter()
        .zip([
            Compression::None,
            Compression::Gzip,
            Compression::Zip,
            Compression::Snappy,
            Compression::HadoopSnappy,
        ])
        .map(|(n, c)| (*n, c))
        .collect();
    Firehose {
        name: name_of(key),
        from: f
            .get("from")
            .and_then(|n| r.string(n, "a stream reference", Interp::Forbidden)),
        buffer,
        compression: f.get("compression").and_then(|n| {
            r.choice(
                n,
                &format!("the compression of {what}"),
                &compression_choices,
            )
        }),
        encryption: f.get("encryption").and_then(|n| encryption(r, n, &what)),
        to: r
            .require(&f, "to", "{ s3: { bucket: my-bucket } }")
            .and_then(|n| destination(r, n, f.key("to").map_or(n.span, |k| k.span), &what)),
        written: FIREHOSE_KEYS.iter().copied().filter(|k| f.has(k)).collect(),
    }
}

fn destination(r: &mut Reader, node: &Node, key_span: Span, what: &str) -> Option<Destination> {
    let d = r.fields(
        node,
        format!("the destination of {what}"),
        node.span,
        DestinationKind::NAMES,
    );
    let present: Vec<&str> = DestinationKind::NAMES
        .iter()
        .copied()
        .filter(|k| d.has(k))
        .collect();
    match present.as_slice() {
        [] => {
            if matches!(&node.kind, NodeKind::Map(m) if m.is_empty())
                || matches!(node.kind, NodeKind::Null)
            {
                let help = r.say(
                    "add one of `s3:`, `redshift:`, `opensearch:`, `splunk:` or `http:` under `to:`",
                    "write the destination as `to s3 { … }`, `to redshift { … }`, `to opensearch { … }`, `to splunk { … }` or `to http { … }`",
                );
                r.push(
                    Diagnostic::new(
                        codes::MISSING_KEY,
                        key_span,
                        format!("{what} has no destination"),
                    )
                    .with_help(help),
                );
            }
            None
        }
        [kind] => {
            let key = d.key(kind)?;
            let value = d.get(kind)?;
            let dest_what = format!("the {kind} destination of {what}");
            let kind = match *kind {
                "s3" => DestinationKind::S3(s3(r, key, value, &dest_what)),
                "redshift" => DestinationKind::Redshift(redshift(r, key, value, &dest_what)),
                "opensearch" => DestinationKind::OpenSearch(opensearch(r, key, value, &dest_what)),
                "splunk" => DestinationKind::Splunk(splunk(r, key, value, &dest_what)),
                _ => DestinationKind::Http(http(r, key, value, &dest_what)),
            };
            Some(Destination {
                kind_span: key.span,
                kind,
            })
        }
        [_, second, ..] => {
            let span = d.key(second).map_or(node.span, |k| k.span);
            r.push(
                Diagnostic::new(codes::CONFLICTING_SETTINGS, span, format!("{what} names {} destinations", present.len()))
                    .with_label("a second destination")
                    .with_help("a firehose delivers to exactly one destination: declare one firehose per destination, all reading the same stream"),
            );
            None
        }
    }
}

fn opt_string(r: &mut Reader, f: &Fields, key: &str, interp: Interp) -> Option<Spanned<String>> {
    f.get(key)
        .and_then(|n| r.string(n, &format!("`{key}`"), interp))
}

fn req_string(r: &mut Reader, f: &Fields, key: &str, example: &str) -> Option<Spanned<String>> {
    r.require(f, key, example)
        .and_then(|n| r.string(n, &format!("`{key}`"), Interp::Allowed))
}

fn retry(r: &mut Reader, f: &Fields) -> Option<Spanned<crate::ir::units::Duration>> {
    f.get("retry_duration")
        .and_then(|n| r.duration(n, &format!("the retry duration of {}", f.what)))
}

fn backup(r: &mut Reader, f: &Fields) -> Option<Spanned<BackupMode>> {
    f.get("backup")
        .and_then(|n| r.choice(n, "the backup mode", BACKUP_CHOICES))
}

fn s3(r: &mut Reader, key: &Key, node: &Node, what: &str) -> S3 {
    let f = r.fields(node, what, key.span, S3_KEYS);
    S3 {
        bucket: req_string(r, &f, "bucket", "my-bucket"),
        prefix: opt_string(r, &f, "prefix", Interp::Forbidden),
        error_prefix: opt_string(r, &f, "error_prefix", Interp::Forbidden),
        partition_by: f
            .get("partition_by")
            .map(|n| r.string_list(n, "a partition_by field"))
            .unwrap_or_default(),
    }
}

fn redshift(r: &mut Reader, key: &Key, node: &Node, what: &str) -> Redshift {
    let f = r.fields(node, what, key.span, REDSHIFT_KEYS);
    Redshift {
        jdbc_url: req_string(r, &f, "jdbc_url", "${var.redshift_jdbc_url}"),
        table: req_string(r, &f, "table", "page_views"),
        columns: f
            .get("columns")
            .map(|n| r.string_list(n, "a column name"))
            .unwrap_or_default(),
        user: req_string(r, &f, "user", "firehose"),
        password: req_string(r, &f, "password", "${secret:redshift_password}"),
        format: f.get("format").and_then(|n| {
            r.choice(
                n,
                "the COPY format",
                &[("json", CopyFormat::Json), ("csv", CopyFormat::Csv)],
            )
        }),
        copy_options: opt_string(r, &f, "copy_options", Interp::Forbidden),
        bucket: opt_string(r, &f, "bucket", Interp::Allowed),
        retry_duration: retry(r, &f),
    }
}

fn opensearch(r: &mut Reader, key: &Key, node: &Node, what: &str) -> OpenSearch {
    use OpenSearchRotation::*;
    let f = r.fields(node, what, key.span, OPENSEARCH_KEYS);
    let rotations = [
        ("none", NoRotation),
        ("hour", OneHour),
        ("day", OneDay),
        ("week", OneWeek),
        ("month", OneMonth),
    ];
    OpenSearch {
        endpoint: req_string(r, &f, "endpoint", "${var.search_endpoint}"),
        index: req_string(r, &f, "index", "page-views"),
        rotation: f
            .get("rotation")
            .and_then(|n| r.choice(n, "the index rotation", &rotations)),
        backup: backup(r, &f),
        retry_duration: retry(r, &f),
    }
}

fn splunk(r: &mut Reader, key: &Key, node: &Node, what: &str) -> Splunk {
    let f = r.fields(node, what, key.span, SPLUNK_KEYS);
    Splunk {
        endpoint: req_string(r, &f, "endpoint", "${var.splunk_hec_url}"),
        token: req_string(r, &f, "token", "${secret:splunk_hec_token}"),
        endpoint_type: f.get("endpoint_type").and_then(|n| {
            r.choice(
                n,
                "the HEC endpoint type",
                &[
                    ("raw", SplunkEndpointType::Raw),
                    ("event", SplunkEndpointType::Event),
                ],
            )
        }),
        ack_timeout: f
            .get("ack_timeout")
            .and_then(|n| r.duration(n, "the acknowledgment timeout")),
        backup: backup(r, &f),
        retry_duration: retry(r, &f),
    }
}

fn http(r: &mut Reader, key: &Key, node: &Node, what: &str) -> Http {
    let f = r.fields(node, what, key.span, HTTP_KEYS);
    Http {
        url: req_string(r, &f, "url", "${var.webhook_url}"),
        name: opt_string(r, &f, "name", Interp::Forbidden),
        access_key: opt_string(r, &f, "access_key", Interp::Allowed),
        backup: backup(r, &f),
        retry_duration: retry(r, &f),
    }
}
