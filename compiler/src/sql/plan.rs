//! Planning with DataFusion: inputs registered as empty tables of their Arrow schemas, the
//! rewritten query planned, the output schema read back as a kin record type, and DataFusion's
//! errors (with their spans) turned into problems.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field as ArrowField, Fields, Schema, TimeUnit};
use datafusion::catalog::empty::EmptyTable;
use datafusion::error::DataFusionError;
use datafusion::prelude::{SessionConfig, SessionContext};

use super::text::{Lines, Rewritten};
use super::{Problem, TableInput};
use crate::diagnostic::codes;
use crate::ir::types::{Field, FieldType, RecordType, Type};

/// The Arrow type of a kin type (timestamps are milliseconds, as Flink's TIMESTAMP(3)).
pub fn arrow_type(ty: &Type) -> DataType {
    match ty {
        Type::String => DataType::Utf8,
        Type::Int => DataType::Int64,
        Type::Float => DataType::Float64,
        Type::Bool => DataType::Boolean,
        Type::Timestamp => DataType::Timestamp(TimeUnit::Millisecond, None),
        Type::Date => DataType::Date32,
        Type::Decimal { precision, scale } => DataType::Decimal128(*precision, *scale as i8),
        Type::Bytes => DataType::Binary,
        Type::List(item) => DataType::List(Arc::new(ArrowField::new(
            "item",
            arrow_type(&item.ty),
            item.nullable,
        ))),
        Type::Struct(fields) => DataType::Struct(arrow_fields(fields)),
    }
}

fn arrow_fields(fields: &[Field]) -> Fields {
    fields
        .iter()
        .map(|f| ArrowField::new(&f.name, arrow_type(&f.ty.ty), f.ty.nullable))
        .collect()
}

/// The kin type of an Arrow type, when kin records can hold it.
pub fn kin_type(ty: &DataType) -> Option<Type> {
    Some(match ty {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Type::String,
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => Type::Int,
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => Type::Int,
        DataType::Float16 | DataType::Float32 | DataType::Float64 => Type::Float,
        DataType::Boolean => Type::Bool,
        DataType::Timestamp(_, _) => Type::Timestamp,
        DataType::Date32 | DataType::Date64 => Type::Date,
        DataType::Decimal128(p, s) | DataType::Decimal256(p, s) if *s >= 0 => Type::Decimal {
            precision: *p,
            scale: *s as u8,
        },
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => Type::Bytes,
        DataType::List(item) | DataType::LargeList(item) => Type::List(Box::new(FieldType {
            ty: kin_type(item.data_type())?,
            nullable: item.is_nullable(),
        })),
        DataType::Struct(fields) => Type::Struct(
            fields
                .iter()
                .map(|f| {
                    Some(Field {
                        name: f.name().clone(),
                        ty: FieldType {
                            ty: kin_type(f.data_type())?,
                            nullable: f.is_nullable(),
                        },
                    })
                })
                .collect::<Option<Vec<_>>>()?,
        ),
        _ => return None,
    })
}

fn context(inputs: &[TableInput]) -> Result<SessionContext, DataFusionError> {
    let mut config = SessionConfig::new();
    let options = config.options_mut();
    // Flink identifiers are case-sensitive; spans let errors point into the YAML.
    options.sql_parser.enable_ident_normalization = false;
    options.sql_parser.collect_spans = true;
    options.sql_parser.map_string_types_to_utf8view = false;
    let ctx = SessionContext::new_with_config(config);
    for input in inputs {
        let schema = Arc::new(Schema::new(arrow_fields(&input.record.fields)));
        ctx.register_table(input.name.as_str(), Arc::new(EmptyTable::new(schema)))?;
    }
    Ok(ctx)
}

const WINDOW_COLUMNS: [&str; 3] = ["window_start", "window_end", "window_time"];

/// Plans the rewritten query; returns the output record type and the indented logical plan.
pub(super) fn plan(
    rewritten: &Rewritten,
    inputs: &[TableInput],
    windowed: bool,
) -> Result<(RecordType, String), Vec<Problem>> {
    let whole = (0, 0);
    let ctx = context(inputs).map_err(|e| {
        vec![Problem::new(
            codes::SQL_TYPE,
            whole,
            format!("kin could not set up the query's inputs: {e}"),
        )]
    })?;
    let state = ctx.state();
    let planned = futures_executor::block_on(state.create_logical_plan(&rewritten.sql));
    let plan = planned.map_err(|e| vec![problem(&e, rewritten)])?;
    // The analyzer applies type coercion (CASE branches, UNION inputs, comparisons): the types
    // the query really produces, and the mismatches planning alone lets through.
    let flink_types = super::nullability::flink_types(&plan);
    let plan = state
        .analyzer()
        .execute_and_check(plan, state.config_options(), |_, _| {})
        .map_err(|e| vec![problem(&e, rewritten)])?;
    let mut fields = Vec::new();
    let mut problems = Vec::new();
    let nullable = super::nullability::of(&plan);
    for (i, field) in plan.schema().fields().iter().enumerate() {
        let flink_type = match flink_types.get(i) {
            Some(Some(ty)) => Some(ty.clone()),
            _ => kin_type(field.data_type()),
        };
        match flink_type {
            Some(ty) => {
                // Flink's window columns are never null.
                let window_column = windowed && WINDOW_COLUMNS.contains(&field.name().as_str());
                let nullable = nullable.get(i).copied().unwrap_or(field.is_nullable()) && !window_column;
                fields.push(Field { name: field.name().clone(), ty: FieldType { ty, nullable } });
            }
            None => problems.push(Problem::new(
                codes::SQL_TYPE,
                whole,
                format!("output column \"{}\" has type {}, which a kin record cannot hold", field.name(), field.data_type()),
            )
            .help("cast it to a supported type: STRING, BIGINT, DOUBLE, BOOLEAN, TIMESTAMP(3), DATE, DECIMAL(p,s)")),
        }
    }
    for (i, f) in fields.iter().enumerate() {
        let valid = f
            .name
            .starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && f.name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        // An expression without AS (named like `upper(clicks.page)`) is reported by the rules.
        if !valid && !f.name.contains('(') {
            problems.push(
                Problem::new(codes::SQL_UNNAMED_COLUMN, whole, format!("output column `{}` is not a valid field name", f.name))
                    .help("name it with letters, digits and `_` (`… AS page_name`): it becomes a field of the output record"),
            );
        } else if fields[..i].iter().any(|g| g.name == f.name) {
            problems.push(
                Problem::new(codes::SQL_UNNAMED_COLUMN, whole, format!("two output columns are named `{}`", f.name))
                    .help("give one of them another name with AS: each output column becomes a field of the output record"),
            );
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok((RecordType { fields }, format!("{}", plan.display_indent())))
}

/// A DataFusion error as a kin problem, at its span when DataFusion knows it.
fn problem(error: &DataFusionError, rewritten: &Rewritten) -> Problem {
    let lines = Lines::new(&rewritten.sql);
    let inner = error.iter().last().unwrap_or(error);
    let diagnostic = error.iter().find_map(|e| e.diagnostic());
    let range_of = |s: &datafusion::common::Span| {
        let start = rewritten.original(lines.offset(s.start.line, s.start.column));
        let end = rewritten
            .original(lines.offset(s.end.line, s.end.column))
            .max(start);
        (start, end)
    };
    let (message, range, help, notes) = match diagnostic {
        Some(d) => {
            let range = d.span.as_ref().map_or((0, 0), range_of);
            let help = d.helps.first().map(|h| h.message.clone());
            // Notes with a span become labels there; the first without one, the help.
            let notes: Vec<((usize, usize), String)> = d
                .notes
                .iter()
                .filter_map(|n| Some((range_of(n.span.as_ref()?), n.message.clone())))
                .collect();
            let loose = d
                .notes
                .iter()
                .find(|n| n.span.is_none())
                .map(|n| n.message.clone());
            (d.message.clone(), range, help.or(loose), notes)
        }
        None => (message_of(inner), (0, 0), None, Vec::new()),
    };
    let code = match inner {
        DataFusionError::SQL(_, _) => codes::SQL_SYNTAX,
        DataFusionError::SchemaError(_, _) => codes::SQL_UNKNOWN_NAME,
        _ if message.contains("not found") || message.contains("No field named") => {
            codes::SQL_UNKNOWN_NAME
        }
        _ => codes::SQL_TYPE,
    };
    let message = message
        .lines()
        .next()
        .unwrap_or_default()
        .trim_start_matches("Internal error: ")
        .trim_start_matches("Error during planning: ");
    let mut p = Problem::new(code, range, sentence(message));
    p.help = help.map(|h| did_you_mean(&sentence(&h)));
    p.notes = notes.into_iter().map(|(r, n)| (r, sentence(&n))).collect();
    if code == codes::SQL_UNKNOWN_NAME {
        p.label = Some("not found".into());
    }
    p
}

fn message_of(error: &DataFusionError) -> String {
    let text = error.to_string();
    // DataFusion prefixes its messages with the error kind ("Error during planning: …").
    let text = text
        .split_once(": ")
        .map_or(text.as_str(), |(_, rest)| rest)
        .to_string();
    text.lines().next().unwrap_or_default().to_string()
}

/// Arrow type names as Flink SQL users know them.
const FLINK_NAMES: &[(&str, &str)] = &[
    ("Timestamp(Millisecond, None)", "TIMESTAMP(3)"),
    ("Timestamp(ms)", "TIMESTAMP(3)"),
    ("Utf8View", "STRING"),
    ("LargeUtf8", "STRING"),
    ("Utf8", "STRING"),
    ("Int64", "BIGINT"),
    ("Int32", "INT"),
    ("Float64", "DOUBLE"),
    ("Boolean", "BOOLEAN"),
    ("Date32", "DATE"),
    ("Binary", "BYTES"),
];

/// DataFusion's messages start with a capital and name Arrow types; keep them as one sentence
/// with Flink's type names.
fn sentence(text: &str) -> String {
    let mut text = text.trim().to_string();
    for (arrow, flink) in FLINK_NAMES {
        text = text.replace(arrow, flink);
    }
    let mut chars = text.chars();
    let acronym = text.chars().nth(1).is_some_and(|c| c.is_uppercase());
    match chars.next() {
        Some(first) if !acronym => first.to_lowercase().chain(chars).collect(),
        _ => text,
    }
}

/// DataFusion's "possible column clicks.page" as kin's "did you mean `page`?".
fn did_you_mean(help: &str) -> String {
    match help.strip_prefix("possible column ") {
        Some(column) => {
            let name = column.rsplit('.').next().unwrap_or(column);
            format!("did you mean `{name}`?")
        }
        None => help.to_string(),
    }
}
