//! The `CREATE TABLE` of each input and output of an analytics node: columns from the record
//! type, the watermark from the schema, and the Kinesis or Firehose connector options.

use super::{comment, literal, quote};
use crate::ast::{CopyFormat, DestinationKind, PartitionKey, RecordFormat, Schema};
use crate::ir::graph::{NodeKind, Pipeline};
use crate::ir::types::{FieldType, RecordType, Type};

/// How records are encoded on the stream or delivery stream.
enum Format {
    Json,
    Csv { delimiter: String },
}

impl Format {
    fn name(&self) -> &'static str {
        match self {
            Format::Json => "JSON",
            Format::Csv { .. } => "CSV",
        }
    }

    /// Flink's JSON format reads a `Z`-suffixed timestamp only as `TIMESTAMP_LTZ`.
    fn timestamp(&self) -> &'static str {
        match self {
            Format::Json => "TIMESTAMP_LTZ(3)",
            Format::Csv { .. } => "TIMESTAMP(3)",
        }
    }

    fn options(&self, sink: bool) -> Vec<(&'static str, String)> {
        match self {
            Format::Json => {
                let mut options = vec![
                    ("format", "json".to_string()),
                    ("json.timestamp-format.standard", "ISO-8601".to_string()),
                ];
                if sink {
                    options.push(("json.encode.decimal-as-plain-number", "true".to_string()));
                }
                options
            }
            Format::Csv { delimiter } => vec![
                ("format", "csv".to_string()),
                ("csv.field-delimiter", delimiter.clone()),
            ],
        }
    }
}

/// One table to write: everything but the columns is optional.
struct Table<'a> {
    name: &'a str,
    about: String,
    notes: Vec<String>,
    record: &'a RecordType,
    format: Format,
    watermark: Option<String>,
    partitioned_by: Option<String>,
    options: Vec<(&'static str, String)>,
}

/// The `CREATE TABLE` of an input stream (or a comment saying why there is none).
pub(super) fn source_table(pipeline: &Pipeline, name: &str) -> String {
    let Some(node) = pipeline
        .graph
        .node(name)
        .filter(|n| n.kind == NodeKind::Stream)
    else {
        return comment(&format!("Input {name:?} is not a stream: no CREATE TABLE."));
    };
    let schema = pipeline.stream_schema(name);
    let format = schema.map_or(Format::Json, schema_format);
    let about = format!(
        "Input: stream {name:?} = Kinesis stream {:?}{}, {} records.",
        aws_name(pipeline, name),
        schema.map_or(String::new(), |s| format!(", schema {:?}", s.name.value)),
        format.name(),
    );
    let Some(record) = node.record.known() else {
        return comment(&format!(
            "{about} Its record type is not known yet (it is inferred from the SQL that writes \
             it), so its CREATE TABLE is left out."
        ));
    };
    let mut notes = Vec::new();
    let watermark = schema.and_then(|s| watermark(s, record, &mut notes));
    let mut options = kinesis_options(pipeline, name);
    options.push(("source.init.position", "LATEST".to_string()));
    options.extend(format.options(false));
    render(&Table {
        name,
        about,
        notes,
        record,
        format,
        watermark,
        partitioned_by: None,
        options,
    })
}

/// The `CREATE TABLE` of the output of `analytics` (or a comment saying why there is none).
pub(super) fn sink_table(pipeline: &Pipeline, name: &str, analytics: &str) -> String {
    let graph = &pipeline.graph;
    let Some(node) = graph.node(name) else {
        return comment(&format!("Output {name:?} is not a node: no CREATE TABLE."));
    };
    // The target's type (a declared schema) or, for an inferred target, the analytics' own.
    let record = node
        .record
        .known()
        .or_else(|| graph.node(analytics).and_then(|a| a.record.known()));
    let aws = aws_name(pipeline, name);
    let (about, format, mut options) = match node.kind {
        NodeKind::Stream => {
            let format = pipeline
                .stream_schema(name)
                .map_or(Format::Json, schema_format);
            let about = format!("Output: stream {name:?} = Kinesis stream {aws:?}");
            (about, format, kinesis_options(pipeline, name))
        }
        NodeKind::Firehose => {
            let format = firehose_format(pipeline, name);
            let about = format!("Output: firehose {name:?} = Firehose delivery stream {aws:?}");
            let options = vec![
                ("connector", "firehose".to_string()),
                ("delivery-stream", aws),
                ("aws.region", "${kin:region}".to_string()),
            ];
            (about, format, options)
        }
        _ => return comment(&format!("Output {name:?} is not a stream or a firehose.")),
    };
    let about = format!("{about}, {} records.", format.name());
    let Some(record) = record else {
        return comment(&format!(
            "{about} Its record type is unknown: it is inferred from the analytics SQL, which \
             has not been typed. Its CREATE TABLE is left out."
        ));
    };
    let mut notes = Vec::new();
    let partitioned_by = match node.kind {
        NodeKind::Stream => partition_columns(pipeline, name, record, &mut notes),
        _ => None,
    };
    options.extend(format.options(true));
    render(&Table {
        name,
        about,
        notes,
        record,
        format,
        watermark: None,
        partitioned_by,
        options,
    })
}

fn render(table: &Table) -> String {
    let mut out = comment(&table.about);
    for note in &table.notes {
        out.push_str(&comment(note));
    }
    let mut lines: Vec<String> = table
        .record
        .fields
        .iter()
        .map(|f| format!("{} {}", quote(&f.name), flink_type(&f.ty, &table.format)))
        .collect();
    lines.extend(table.watermark.clone());
    out.push_str(&format!(
        "CREATE TABLE {} (\n  {}\n)\n",
        quote(table.name),
        lines.join(",\n  ")
    ));
    if let Some(columns) = &table.partitioned_by {
        out.push_str(&format!("PARTITIONED BY ({columns})\n"));
    }
    let options: Vec<String> = table
        .options
        .iter()
        .map(|(key, value)| format!("{} = {}", literal(key), literal(value)))
        .collect();
    out.push_str(&format!("WITH (\n  {}\n);\n", options.join(",\n  ")));
    out
}

/// kin type → Flink SQL type; `NOT NULL` unless the field is nullable.
fn flink_type(ty: &FieldType, format: &Format) -> String {
    let base = match &ty.ty {
        Type::String => "STRING".to_string(),
        Type::Int => "BIGINT".to_string(),
        Type::Float => "DOUBLE".to_string(),
        Type::Bool => "BOOLEAN".to_string(),
        Type::Timestamp => format.timestamp().to_string(),
        Type::Date => "DATE".to_string(),
        Type::Decimal { precision, scale } => format!("DECIMAL({precision}, {scale})"),
        Type::Bytes => "BYTES".to_string(),
        Type::List(item) => format!("ARRAY<{}>", flink_type(item, format)),
        Type::Struct(fields) => {
            let fields: Vec<String> = fields
                .iter()
                .map(|f| format!("{} {}", quote(&f.name), flink_type(&f.ty, format)))
                .collect();
            format!("ROW<{}>", fields.join(", "))
        }
    };
    if ty.nullable {
        base
    } else {
        format!("{base} NOT NULL")
    }
}

/// `WATERMARK FOR ts AS ts - INTERVAL …` from the schema's `event_time` and `watermark`.
fn watermark(schema: &Schema, record: &RecordType, notes: &mut Vec<String>) -> Option<String> {
    let path = schema.event_time.as_ref()?.value.as_str();
    if path.contains('.') {
        notes.push(format!(
            "The event_time {path:?} is a nested field, and Flink cannot declare a nested field \
             as a rowtime attribute: this table has no WATERMARK, so no event-time windows."
        ));
        return None;
    }
    if record.field(path)?.ty.ty != Type::Timestamp {
        return None;
    }
    let delay = schema.watermark.as_ref().map_or(0, |w| w.value.0);
    let column = quote(path);
    Some(format!(
        "WATERMARK FOR {column} AS {column} - {}",
        interval(delay)
    ))
}

/// A day-time interval of `millis`: `INTERVAL '10' SECOND`; Flink's `SECOND` holds two digits
/// unless told more (`INTERVAL '300' SECOND(3)`, `INTERVAL '0.500' SECOND`).
pub(super) fn interval(millis: u64) -> String {
    let (seconds, fraction) = (millis / 1000, millis % 1000);
    let digits = seconds.to_string().len();
    let value = if fraction == 0 {
        seconds.to_string()
    } else {
        format!("{seconds}.{fraction:03}")
    };
    let unit = match (digits <= 2, fraction == 0) {
        (true, _) => "SECOND".to_string(),
        (false, true) => format!("SECOND({digits})"),
        (false, false) => format!("SECOND({digits}, 3)"),
    };
    format!("INTERVAL '{value}' {unit}")
}

/// `PARTITIONED BY` for an output stream keyed by a field: the Kinesis sink then uses the
/// column's value as the partition key (`random` needs nothing: it is the sink's default).
fn partition_columns(
    pipeline: &Pipeline,
    stream: &str,
    record: &RecordType,
    notes: &mut Vec<String>,
) -> Option<String> {
    let stream = pipeline
        .spec
        .streams
        .iter()
        .find(|s| s.name.value == stream)?;
    let PartitionKey::Field(path) = &stream.partition_key.as_ref()?.value else {
        return None;
    };
    if !path.contains('.') && record.field(path).is_some() {
        return Some(quote(path));
    }
    notes.push(format!(
        "The partition key {path:?} is not a top-level column, and Flink's PARTITIONED BY takes \
         only those: the sink spreads records at random."
    ));
    None
}

fn kinesis_options(pipeline: &Pipeline, stream: &str) -> Vec<(&'static str, String)> {
    vec![
        ("connector", "kinesis".to_string()),
        ("stream.arn", stream_arn(pipeline, stream)),
        ("aws.region", "${kin:region}".to_string()),
    ]
}

/// The ARN of the Kinesis stream kin names `<pipeline>-<node>`.
pub(crate) fn stream_arn(pipeline: &Pipeline, stream: &str) -> String {
    format!(
        "arn:${{kin:partition}}:kinesis:${{kin:region}}:${{kin:account_id}}:stream/{}",
        aws_name(pipeline, stream)
    )
}

/// The name of a node's AWS resource: `<pipeline>-<node>`.
pub(crate) fn aws_name(pipeline: &Pipeline, node: &str) -> String {
    format!("{}-{node}", pipeline.name)
}

fn schema_format(schema: &Schema) -> Format {
    match schema.format.as_ref().map(|f| f.value) {
        Some(RecordFormat::Csv) => Format::Csv {
            delimiter: schema
                .delimiter
                .as_ref()
                .map_or_else(|| ",".to_string(), |d| d.value.clone()),
        },
        _ => Format::Json,
    }
}

/// A firehose into Redshift with `format: csv` has COPY read CSV; everything else reads JSON.
fn firehose_format(pipeline: &Pipeline, firehose: &str) -> Format {
    let destination = pipeline
        .spec
        .firehoses
        .iter()
        .find(|f| f.name.value == firehose)
        .and_then(|f| f.to.as_ref());
    match destination.map(|d| &d.kind) {
        Some(DestinationKind::Redshift(r))
            if r.format.as_ref().map(|f| f.value) == Some(CopyFormat::Csv) =>
        {
            Format::Csv {
                delimiter: ",".to_string(),
            }
        }
        _ => Format::Json,
    }
}
