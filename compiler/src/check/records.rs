//! Record types: schemas resolved into types (decimals, event time, CSV rules), then every
//! stream, firehose and destination typed from its schema or its writers.

use super::Context;
use crate::ast::{FieldDecl, RecordFormat, Schema};
use crate::diagnostic::{codes, did_you_mean, Diagnostic};
use crate::ir::graph::{NodeKind, PipelineGraph, Record};
use crate::ir::types::{FieldType, RecordType, Type};

pub(super) fn check_schemas(cx: &mut Context) {
    let spec = cx.spec;
    for schema in &spec.schemas {
        let what = format!("schema \"{}\"", schema.name.value);
        let mut valid = true;
        for field in &schema.fields {
            valid &= check_field(cx, field, &what);
        }

        csv_rules(cx, schema, &what);
        let fields = crate::ast::declared_fields(&schema.fields);
        let Some(fields) = fields.filter(|f| !f.is_empty()) else {
            continue;
        };
        let record = RecordType { fields };
        event_time(cx, schema, &record, &what);
        if valid && !cx.schemas.contains_key(&schema.name.value) {
            cx.schemas.insert(schema.name.value.clone(), record);
        }
    }
}

/// Decimal precision and scale; returns false when the field is unusable.
fn check_field(cx: &mut Context, field: &FieldDecl, what: &str) -> bool {
    let Some(ty) = &field.ty else { return false };
    let mut ok = true;
    if field.nested.is_empty() {
        if let Err(reason) = decimal_ok(&ty.value.ty) {
            cx.push(
                Diagnostic::new(codes::OUT_OF_RANGE, ty.span, format!("field \"{}\" of {what} has {reason}", field.name.value))
                    .with_label("invalid decimal")
                    .with_help("decimal(p,s) takes a precision from 1 to 38 and a scale from 0 to the precision"),
            );
            ok = false;
        }
    }
    for nested in &field.nested {
        ok &= check_field(cx, nested, what);
    }
    ok
}

fn decimal_ok(ty: &Type) -> Result<(), String> {
    match ty {
        Type::Decimal { precision, scale }
            if *precision == 0 || *precision > 38 || scale > precision =>
        {
            Err(format!("decimal({precision},{scale})"))
        }
        Type::List(item) => decimal_ok(&item.ty),
        Type::Struct(fields) => fields.iter().try_for_each(|f| decimal_ok(&f.ty.ty)),
        _ => Ok(()),
    }
}

fn csv_rules(cx: &mut Context, schema: &Schema, what: &str) {
    let is_csv = schema
        .format
        .as_ref()
        .is_some_and(|f| f.value == RecordFormat::Csv);
    if is_csv {
        for field in &schema.fields {
            if let Some(ty) = &field.ty {
                if !ty.value.ty.is_scalar() {
                    cx.push(
                        Diagnostic::new(
                            codes::CONFLICTING_SETTINGS,
                            ty.span,
                            format!("field \"{}\" of {what} is {}, but a CSV record has only flat columns", field.name.value, ty.value),
                        )
                        .with_label("nested type in a CSV schema")
                        .with_help("use `format: json` for nested records, or flatten this field into columns"),
                    );
                }
            }
        }
        if let Some(d) = &schema.delimiter {
            if d.value.chars().count() != 1 {
                cx.push(
                    Diagnostic::new(
                        codes::INVALID_VALUE,
                        d.span,
                        format!("the delimiter of {what} must be one character"),
                    )
                    .with_help("for example `delimiter: \",\"` or `delimiter: \"|\"`"),
                );
            }
        }
    } else {
        let stray = [
            ("delimiter", schema.delimiter.as_ref().map(|d| d.span)),
            ("header", schema.header.as_ref().map(|h| h.span)),
        ];
        for (key, span) in stray {
            if let Some(span) = span {
                cx.push(
                    Diagnostic::new(
                        codes::CONFLICTING_SETTINGS,
                        span,
                        format!("`{key}` in {what} applies only to CSV records"),
                    )
                    .with_help("add `format: csv` or remove this key"),
                );
            }
        }
    }
}

fn event_time(cx: &mut Context, schema: &Schema, record: &RecordType, what: &str) {
    let Some(et) = &schema.event_time else {
        if let Some(w) = &schema.watermark {
            cx.push(
                Diagnostic::new(
                    codes::CONFLICTING_SETTINGS,
                    w.span,
                    format!("{what} has a watermark but no event_time"),
                )
                .with_help(
                    "a watermark bounds lateness behind the event time: add `event_time: FIELD`",
                ),
            );
        }
        return;
    };
    match record.path(&et.value) {
        Some(FieldType { ty: Type::Timestamp, nullable: false }) => {}
        Some(FieldType { ty: Type::Timestamp, nullable: true }) => cx.push(
            Diagnostic::new(codes::INVALID_EVENT_TIME, et.span, format!("event_time \"{}\" of {what} is nullable", et.value))
                .with_help("a record without an event time cannot be placed in a window: make the field `timestamp`, not `timestamp?`"),
        ),
        Some(ty) => cx.push(
            Diagnostic::new(codes::INVALID_EVENT_TIME, et.span, format!("event_time \"{}\" of {what} is {}, not a timestamp", et.value, ty))
                .with_help(if matches!(ty.ty, Type::Int) {
                    "event_time must name a field of type `timestamp`; a `timestamp` field also reads epoch milliseconds".to_string()
                } else {
                    "event_time must name a field of type `timestamp`".to_string()
                }),
        ),
        None => {
            let names: Vec<&str> = record.fields.iter().filter(|f| f.ty.ty == Type::Timestamp).map(|f| f.name.as_str()).collect();
            cx.push(
                Diagnostic::new(codes::INVALID_EVENT_TIME, et.span, format!("event_time \"{}\" is not a field of {what}", et.value))
                    .with_label("no such field")
                    .with_help_opt(did_you_mean(&et.value, names.iter().copied())),
            );
        }
    }
}

/// Field-by-field differences between what a target expects and what a writer produces.
pub(crate) fn differences(expected: &RecordType, actual: &RecordType) -> Vec<String> {
    let mut out = Vec::new();
    for e in &expected.fields {
        match actual.field(&e.name) {
            None => out.push(format!("`{}` is missing", e.name)),
            Some(a) if a.ty != e.ty => {
                out.push(format!("`{}` is {} instead of {}", e.name, a.ty, e.ty))
            }
            Some(_) => {}
        }
    }
    for a in &actual.fields {
        if expected.field(&a.name).is_none() {
            out.push(format!("`{}` is extra", a.name));
        }
    }
    if out.is_empty() && expected != actual {
        out.push("the fields are in a different order".to_string());
    }
    out
}

/// Types every node of the graph: producers from their schema, streams from their declared schema,
/// firehoses and destinations from their source. Reports writers whose type differs (K0025) and
/// streams that end up with no type (K0023).
pub(super) fn type_streams(cx: &mut Context, graph: &mut PipelineGraph) {
    let spec = cx.spec;
    for stream in &spec.streams {
        if let Some(schema) = &stream.schema {
            if let Some(t) = cx.resolve_schema(&format!("stream \"{}\"", stream.name.value), schema)
            {
                cx.stream_types.insert(stream.name.value.clone(), t);
            }
        }
    }
    for producer in &spec.producers {
        let owner = format!("producer \"{}\"", producer.name.value);
        let Some(schema) = &producer.schema else {
            continue;
        };
        let Some(record) = cx.resolve_schema(&owner, schema) else {
            continue;
        };
        set_record(graph, &producer.name.value, Record::Known(record.clone()));
        let Some(to) = &producer.to else { continue };
        let target = cx.nodes.get(to.value.as_str()).map(|(k, _)| *k);
        let declared = match target {
            Some(NodeKind::Stream) => cx.stream_types.get(&to.value).cloned(),
            Some(NodeKind::Firehose) => None,
            _ => continue,
        };
        if let Some(expected) = declared {
            let diffs = differences(&expected, &record);
            if !diffs.is_empty() {
                let stream_schema = spec
                    .streams
                    .iter()
                    .find(|s| s.name.value == to.value)
                    .and_then(|s| s.schema.as_ref());
                let mut d = Diagnostic::new(
                    codes::RECORD_TYPE_MISMATCH,
                    schema.span,
                    format!("{owner} writes \"{}\" records to stream \"{}\", whose records have a different type: {}", schema.value, to.value, diffs.join(", ")),
                )
                .with_label("writer's schema")
                .with_help("make the producer and the stream use the same schema");
                if let Some(s) = stream_schema {
                    d = d.with_secondary(s.span, "stream's schema");
                }
                cx.push(d);
            }
        }
    }
    for stream in &spec.streams {
        let record = match cx.stream_types.get(&stream.name.value) {
            Some(t) => Record::Known(t.clone()),
            None => {
                let fed_by_analytics = spec.analytics_to(&stream.name.value).next().is_some();
                if stream.schema.is_none() && !fed_by_analytics {
                    let writer_schema = spec
                        .producers_to(&stream.name.value)
                        .next()
                        .and_then(|p| p.schema.as_ref());
                    cx.push(
                        Diagnostic::new(codes::UNTYPED_STREAM, stream.name.span, format!("stream \"{}\" has no schema", stream.name.value))
                            .with_label("record type unknown")
                            .with_help(match writer_schema {
                                Some(s) => format!("add `schema: {}`; only a stream written by analytics may omit it (its type is inferred from the SQL)", s.value),
                                None => "add `schema: NAME`; only a stream written by analytics may omit it (its type is inferred from the SQL)".to_string(),
                            }),
                    );
                }
                Record::Unknown
            }
        };
        set_record(graph, &stream.name.value, record);
    }
}

/// Types firehoses and their destinations from their source stream or their Direct PUT writers
/// (after the SQL stage has typed analytics outputs).
pub(super) fn type_firehoses(cx: &mut Context, graph: &mut PipelineGraph) {
    let spec = cx.spec;
    for firehose in &spec.firehoses {
        let record = match &firehose.from {
            Some(from) => cx.stream_types.get(&from.value).cloned(),
            None => direct_put_type(cx, &firehose.name.value),
        };
        let record = record.map_or(Record::Unknown, Record::Known);
        set_record(graph, &firehose.name.value, record.clone());
        for succ in graph
            .graph
            .neighbors(graph.by_name[&firehose.name.value])
            .collect::<Vec<_>>()
        {
            if graph.graph[succ].kind == NodeKind::Destination
                && graph.graph[succ].record == Record::Unknown
            {
                graph.graph[succ].record = record.clone();
            }
        }
    }
}

/// The record type of a Direct PUT firehose: its producers' schema when they agree.
fn direct_put_type(cx: &mut Context, firehose: &str) -> Option<RecordType> {
    let spec = cx.spec;
    let writers: Vec<_> = spec
        .producers_to(firehose)
        .filter_map(|p| {
            p.schema
                .as_ref()
                .and_then(|s| cx.schemas.get(&s.value).map(|t| (p, s, t.clone())))
        })
        .collect();
    let Some((_, first_schema, first)) = writers.first().cloned() else {
        // No producer: the first analytics writing here gives the type.
        return spec
            .analytics_to(firehose)
            .find_map(|a| cx.analytics_types.get(&a.name.value).cloned());
    };
    for (p, s, t) in &writers[1..] {
        let diffs = differences(&first, t);
        if !diffs.is_empty() {
            cx.push(
                Diagnostic::new(
                    codes::RECORD_TYPE_MISMATCH,
                    s.span,
                    format!("producer \"{}\" writes \"{}\" records to firehose \"{firehose}\", unlike its other writers: {}", p.name.value, s.value, diffs.join(", ")),
                )
                .with_secondary(first_schema.span, "the first writer's schema")
                .with_help("every writer of a firehose must produce the same record type"),
            );
        }
    }
    Some(first)
}

fn set_record(graph: &mut PipelineGraph, name: &str, record: Record) {
    if let Some(&i) = graph.by_name.get(name) {
        graph.graph[i].record = record;
    }
}
