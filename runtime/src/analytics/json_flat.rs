//! The fast path of [`super::decode_json`] for flat schemas (strings, integers, floats,
//! booleans and UTC timestamps, at most 64 columns): each record is read once by
//! [`crate::flat_json`] straight into Arrow builders, fields the schema does not name are
//! checked as JSON and skipped, and strings are copied once, into their column.
//!
//! arrow-json's reader builds a tape of every value of every record before its column decoders
//! run; analytics inputs are narrowed to the columns a query reads
//! ([`super::AnalyticsEngine::input_schema`]), so most of a record is skipped here. Values are
//! read by the rules of the producers' typed check (the same reader): an integer column takes a
//! JSON integer, a float column any number, a timestamp an RFC 3339 string or epoch
//! milliseconds; `null` or a missing field is null where the column is nullable and an error
//! where not; a field given twice is an error.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Float64Builder, Int64Builder, StringBuilder,
    TimestampMillisecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::{RecordBatch, RecordBatchOptions};

use crate::flat_json::{self, Field, Kind, Unknown, Value};

/// One column being built.
enum Builder {
    Utf8(StringBuilder),
    Int64(Int64Builder),
    Float64(Float64Builder),
    Boolean(BooleanBuilder),
    Timestamp(TimestampMillisecondBuilder),
}

/// Why a record does not decode: the message names the field.
pub(super) struct RecordError {
    /// The record's index; `None` when the batch, not a record, failed.
    pub record: Option<usize>,
    pub message: String,
}

/// Decodes `records` into one batch of `schema`, or `None` when the schema is not flat (the
/// caller then uses arrow-json).
pub(super) fn decode(
    schema: &SchemaRef,
    records: &[&[u8]],
) -> Option<Result<RecordBatch, RecordError>> {
    let (fields, mut builders) = columns(schema, records.len())?;
    for (index, record) in records.iter().enumerate() {
        let read = flat_json::read(record, &fields, Unknown::Skip, |column, value| {
            append(&mut builders[column], value);
            Ok(())
        });
        if let Err(message) = read {
            return Some(Err(RecordError {
                record: Some(index),
                message,
            }));
        }
    }
    Some(
        finish(schema, builders, records.len()).map_err(|e| RecordError {
            record: None,
            message: e.to_string(),
        }),
    )
}

/// The reader's field table and a builder per column, when every column is of a type this
/// path reads.
fn columns(schema: &SchemaRef, rows: usize) -> Option<(Vec<Field<'_>>, Vec<Builder>)> {
    if schema.fields().len() > flat_json::MAX_FIELDS {
        return None;
    }
    schema
        .fields()
        .iter()
        .map(|field| {
            let (kind, builder) = match field.data_type() {
                DataType::Utf8 => (
                    Kind::String,
                    Builder::Utf8(StringBuilder::with_capacity(rows, rows * 16)),
                ),
                DataType::Int64 => (Kind::Int, Builder::Int64(Int64Builder::with_capacity(rows))),
                DataType::Float64 => (
                    Kind::Float,
                    Builder::Float64(Float64Builder::with_capacity(rows)),
                ),
                DataType::Boolean => (
                    Kind::Bool,
                    Builder::Boolean(BooleanBuilder::with_capacity(rows)),
                ),
                DataType::Timestamp(TimeUnit::Millisecond, None) => (
                    Kind::Timestamp,
                    Builder::Timestamp(TimestampMillisecondBuilder::with_capacity(rows)),
                ),
                _ => return None,
            };
            let read = Field::new(field.name(), kind, field.is_nullable());
            Some((read, builder))
        })
        .collect::<Option<Vec<_>>>()
        .map(|columns| columns.into_iter().unzip())
}

/// Appends one value; the reader has checked that it is of the column's kind or null.
fn append(builder: &mut Builder, value: Value<'_>) {
    match (builder, value) {
        (Builder::Utf8(b), Value::Str(v)) => b.append_value(v),
        (Builder::Int64(b), Value::Int(v)) => b.append_value(v),
        (Builder::Float64(b), Value::Float(v)) => b.append_value(v),
        (Builder::Boolean(b), Value::Bool(v)) => b.append_value(v),
        (Builder::Timestamp(b), Value::Timestamp(v)) => b.append_value(v),
        (Builder::Utf8(b), _) => b.append_null(),
        (Builder::Int64(b), _) => b.append_null(),
        (Builder::Float64(b), _) => b.append_null(),
        (Builder::Boolean(b), _) => b.append_null(),
        (Builder::Timestamp(b), _) => b.append_null(),
    }
}

fn finish(
    schema: &SchemaRef,
    builders: Vec<Builder>,
    rows: usize,
) -> Result<RecordBatch, ArrowError> {
    let arrays: Vec<ArrayRef> = builders
        .into_iter()
        .map(|builder| -> ArrayRef {
            match builder {
                Builder::Utf8(mut b) => Arc::new(b.finish()),
                Builder::Int64(mut b) => Arc::new(b.finish()),
                Builder::Float64(mut b) => Arc::new(b.finish()),
                Builder::Boolean(mut b) => Arc::new(b.finish()),
                Builder::Timestamp(mut b) => Arc::new(b.finish()),
            }
        })
        .collect();
    let options = RecordBatchOptions::new().with_row_count(Some(rows));
    RecordBatch::try_new_with_options(Arc::clone(schema), arrays, &options)
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::datatypes::{Field, Schema};
    use datafusion::arrow::json::ReaderBuilder;

    use super::*;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("page", DataType::Utf8, false),
            Field::new("user", DataType::Utf8, true),
            Field::new("n", DataType::Int64, true),
            Field::new("score", DataType::Float64, false),
            Field::new("ok", DataType::Boolean, true),
            Field::new(
                "ts",
                DataType::Timestamp(TimeUnit::Millisecond, None),
                false,
            ),
        ]))
    }

    /// arrow-json's reading of the same records: the independent decoder.
    fn arrow_json(schema: &SchemaRef, records: &[&[u8]]) -> RecordBatch {
        let mut decoder = ReaderBuilder::new(Arc::clone(schema))
            .with_batch_size(records.len())
            .build_decoder()
            .unwrap_or_else(|e| panic!("{e}"));
        for record in records {
            decoder.decode(record).unwrap_or_else(|e| panic!("{e}"));
        }
        decoder
            .flush()
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("no batch"))
    }

    fn flat(schema: &SchemaRef, records: &[&[u8]]) -> Result<RecordBatch, RecordError> {
        decode(schema, records).unwrap_or_else(|| panic!("the schema is flat"))
    }

    #[test]
    fn flat_records_decode_as_arrow_json_decodes_them() {
        let records: [&[u8]; 6] = [
            b"{\"page\":\"/a\",\"user\":\"u1\",\"n\":1,\"score\":0.5,\"ok\":true,\"ts\":\"2024-05-01T10:00:00Z\"}\n",
            // Escapes and non-ASCII text, fields in another order, an unknown nested field.
            b"{\"ts\":1714557600123,\"extra\":{\"a\":[1,{\"b\":\"}\"}]},\"score\":2,\"page\":\"/\\u00e9t\\u00e9 \\\"q\\\"\\n\",\"user\":\"\xc3\xbc\"}",
            // Nulls and missing nullable fields; an offset timestamp.
            b"{\"page\":\"/c\",\"user\":null,\"n\":null,\"score\":-1.25e3,\"ok\":null,\"ts\":\"2024-05-01T10:00:00.5+02:00\"}\n",
            b"  {\"page\":\"\",\"score\":0,\"ts\":0,\"unused\":\"x\"}  \n",
            b"{\"page\":\"/big\",\"n\":-9223372036854775808,\"score\":1.7976931348623157e308,\"ok\":false,\"ts\":-1}",
            b"{\"page\":\"/d\",\"score\":3.0,\"ts\":\"1970-01-01T00:00:00.001Z\",\"n\":9223372036854775807}",
        ];
        let schema = schema();
        let fast = flat(&schema, &records).unwrap_or_else(|e| panic!("{}", e.message));
        assert_eq!(fast, arrow_json(&schema, &records));
        assert_eq!(fast.num_rows(), 6);
    }

    #[test]
    fn bad_records_are_named_by_index_and_field() {
        let schema = schema();
        let cases: [(&[u8], &str); 11] = [
            (b"{\"score\":1,\"ts\":0}", "missing field `page`"),
            (
                b"{\"page\":null,\"score\":1,\"ts\":0}",
                "field `page` is null",
            ),
            (b"{\"page\":1,\"score\":1,\"ts\":0}", "field `page`"),
            (
                b"{\"page\":\"/\",\"n\":1.5,\"score\":1,\"ts\":0}",
                "field `n`",
            ),
            (
                b"{\"page\":\"/\",\"n\":\"1\",\"score\":1,\"ts\":0}",
                "field `n`",
            ),
            (
                b"{\"page\":\"/\",\"score\":1,\"ts\":\"yesterday\"}",
                "field `ts`",
            ),
            (
                b"{\"page\":\"/\",\"page\":\"/\",\"score\":1,\"ts\":0}",
                "duplicate field `page`",
            ),
            (
                b"{\"page\":\"/\",\"score\":1,\"ts\":0} {}",
                "trailing characters",
            ),
            (b"[\"/\",1,0]", "a JSON object"),
            (b"{\"page\":\"/\",\"score\":1,\"ts\":0", "EOF"),
            (
                b"{\"page\":\"/\xff\",\"score\":1,\"ts\":0}",
                "invalid utf-8",
            ),
        ];
        for (record, expected) in cases {
            let good: &[u8] = b"{\"page\":\"/\",\"score\":1,\"ts\":0}";
            match flat(&schema, &[good, record, good]) {
                Err(e) => {
                    assert_eq!(e.record, Some(1), "{}", String::from_utf8_lossy(record));
                    assert!(
                        e.message.contains(expected),
                        "{}: {}",
                        String::from_utf8_lossy(record),
                        e.message
                    );
                }
                Ok(_) => panic!("accepted {}", String::from_utf8_lossy(record)),
            }
        }
    }

    #[test]
    fn other_types_are_left_to_arrow_json() {
        for ty in [
            DataType::Decimal128(10, 2),
            DataType::Date32,
            DataType::Binary,
            DataType::Timestamp(TimeUnit::Millisecond, Some("+02:00".into())),
            DataType::List(Arc::new(Field::new("item", DataType::Int64, true))),
        ] {
            let schema = Arc::new(Schema::new(vec![
                Field::new("page", DataType::Utf8, false),
                Field::new("x", ty, true),
            ]));
            assert!(decode(&schema, &[b"{\"page\":\"/\"}"]).is_none());
        }
    }
}
