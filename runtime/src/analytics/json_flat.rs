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

use crate::flat_json::{self, Field, FieldMap, Kind, Unknown, Value};

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
/// caller then uses arrow-json). A record with a field map (`maps[i]`, from its producer's
/// check) has the values of the columns read where the map says they are, when every column
/// is a field of the map's table of the same type; any other record, or one whose mapped
/// values do not all read as their columns, is read whole.
pub(super) fn decode(
    schema: &SchemaRef,
    records: &[&[u8]],
    maps: &[Option<&FieldMap>],
) -> Option<Result<RecordBatch, RecordError>> {
    let (fields, mut builders) = columns(schema, records.len())?;
    // The table the last map indexed, and where each column is in it.
    let mut plan: Option<(&'static [Field<'static>], Option<Vec<usize>>)> = None;
    let mut row = Vec::with_capacity(fields.len());
    for (index, record) in records.iter().enumerate() {
        if let Some(map) = maps.get(index).copied().flatten() {
            let table = map.table();
            if !plan.as_ref().is_some_and(|(t, _)| std::ptr::eq(*t, table)) {
                plan = Some((table, positions(table, &fields)));
            }
            if let Some((_, Some(positions))) = &plan {
                row.clear();
                let read = positions.iter().zip(&fields).all(|(&at, field)| {
                    map.value(record, at, field)
                        .map(|value| row.push(value))
                        .is_some()
                });
                if read {
                    for (builder, value) in builders.iter_mut().zip(row.drain(..)) {
                        append(builder, value);
                    }
                    continue;
                }
            }
        }
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

/// Where each of `columns` is in `table`: `None` unless every column is a field of the table
/// with the same kind.
fn positions(table: &[Field<'_>], columns: &[Field<'_>]) -> Option<Vec<usize>> {
    columns
        .iter()
        .map(|column| {
            table
                .iter()
                .position(|f| f.name == column.name && f.kind == column.kind)
        })
        .collect()
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
        decode(schema, records, &[]).unwrap_or_else(|| panic!("the schema is flat"))
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

    /// The stream's schema as its producers check it: the columns of [`schema`] and one more.
    static TABLE: [flat_json::Field<'static>; 7] = [
        flat_json::Field::new("page", Kind::String, false),
        flat_json::Field::new("user", Kind::String, true),
        flat_json::Field::new("n", Kind::Int, true),
        flat_json::Field::new("score", Kind::Float, false),
        flat_json::Field::new("ok", Kind::Bool, true),
        flat_json::Field::new("ts", Kind::Timestamp, false),
        flat_json::Field::new("extra", Kind::String, true),
    ];

    /// Checks `records` as a producer does, returning their field maps.
    fn maps(table: &'static [flat_json::Field<'static>], records: &[&[u8]]) -> Vec<FieldMap> {
        let mut builder = flat_json::MapBuilder::default();
        let firsts: Vec<usize> = records
            .iter()
            .map(|record| {
                let first = builder.len();
                flat_json::check_into(record, table, None, &mut builder)
                    .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(record)));
                first
            })
            .collect();
        let spans = builder.finish();
        firsts
            .into_iter()
            .map(|first| FieldMap::new(&spans, first))
            .collect()
    }

    #[test]
    fn mapped_records_decode_as_whole_records_do() {
        let records: [&[u8]; 6] = [
            b"{\"page\":\"/a\",\"user\":\"u1\",\"n\":1,\"score\":0.5,\"ok\":true,\"ts\":\"2024-05-01T10:00:00Z\",\"extra\":\"x\"}\n",
            // Escapes and non-ASCII text, fields in another order.
            b"{\"ts\":1714557600123,\"score\":2,\"page\":\"/\\u00e9t\\u00e9 \\\"q\\\"\\n\",\"user\":\"\xc3\xbc\"}",
            // Nulls and missing nullable fields; an offset timestamp.
            b"{\"page\":\"/c\",\"user\":null,\"n\":null,\"score\":-1.25e3,\"ok\":null,\"ts\":\"2024-05-01T10:00:00.5+02:00\"}\n",
            b"  {\"page\":\"\",\"score\":0,\"ts\":0,\"extra\":null}  \n",
            b"{ \"page\" : \"/big\" , \"n\" : -9223372036854775808 , \"score\":1.7976931348623157e308,\"ok\":false,\"ts\":-1}",
            b"{\"page\":\"/d\",\"score\":3.0,\"ts\":\"1970-01-01T00:00:00.001Z\",\"n\":9223372036854775807}",
        ];
        let maps = maps(&TABLE, &records);
        let mapped: Vec<Option<&FieldMap>> = maps.iter().map(Some).collect();
        // All columns, and a few in another order than the table's.
        let narrow = Arc::new(Schema::new(vec![
            Field::new(
                "ts",
                DataType::Timestamp(TimeUnit::Millisecond, None),
                false,
            ),
            Field::new("n", DataType::Int64, true),
            Field::new("page", DataType::Utf8, false),
        ]));
        for schema in [schema(), narrow] {
            let fast = decode(&schema, &records, &mapped)
                .unwrap_or_else(|| panic!("flat"))
                .unwrap_or_else(|e| panic!("{}", e.message));
            assert_eq!(fast, arrow_json(&schema, &records));
        }
    }

    #[test]
    fn a_map_is_read_where_it_points() {
        // The map of one record applied to another, whose fields are the other way round:
        // what is read is what the map points at (so the map, not the record, was read).
        let (first, second): (&[u8], &[u8]) = (
            b"{\"page\":\"/a\",\"user\":\"/z\",\"score\":1,\"ts\":0}",
            b"{\"user\":\"/a\",\"page\":\"/z\",\"score\":1,\"ts\":0}",
        );
        let maps = maps(&TABLE, &[first]);
        let schema = Arc::new(Schema::new(vec![Field::new("page", DataType::Utf8, false)]));
        let whole = flat(&schema, &[second]).unwrap_or_else(|e| panic!("{}", e.message));
        let mapped = decode(&schema, &[second], &[Some(&maps[0])])
            .unwrap_or_else(|| panic!("flat"))
            .unwrap_or_else(|e| panic!("{}", e.message));
        let page = |batch: &RecordBatch| {
            use datafusion::arrow::array::AsArray;
            let column = batch.column(0).as_string::<i32>();
            column.value(0).to_string()
        };
        assert_eq!(page(&whole), "/z");
        assert_eq!(page(&mapped), "/a");
    }

    #[test]
    fn mapped_records_that_do_not_fit_a_column_are_read_whole() {
        // The table allows a null page and a float n; the columns do not.
        static LOOSE: [flat_json::Field<'static>; 4] = [
            flat_json::Field::new("page", Kind::String, true),
            flat_json::Field::new("n", Kind::Float, true),
            flat_json::Field::new("score", Kind::Float, false),
            flat_json::Field::new("ts", Kind::Timestamp, false),
        ];
        let schema = schema();
        let columns = columns(&schema, 1).map(|(fields, _)| fields);
        let columns = columns.unwrap_or_else(|| panic!("flat"));
        assert_eq!(positions(&LOOSE, &columns[..1]), Some(vec![0]));
        assert_eq!(
            positions(&LOOSE, &columns[..3]),
            None,
            "n is not an int there"
        );
        let good: &[u8] = b"{\"page\":\"/\",\"score\":1,\"ts\":0}";
        for bad in [
            &b"{\"page\":null,\"score\":1,\"ts\":0}"[..],
            b"{\"page\":\"/\",\"n\":1.5,\"score\":1,\"ts\":0}",
        ] {
            let records = [good, bad];
            let maps = maps(&LOOSE, &records);
            let mapped: Vec<Option<&FieldMap>> = maps.iter().map(Some).collect();
            let whole = flat(&schema, &records).err().map(|e| (e.record, e.message));
            let read = decode(&schema, &records, &mapped)
                .unwrap_or_else(|| panic!("flat"))
                .err()
                .map(|e| (e.record, e.message));
            assert!(whole.as_ref().is_some_and(|(record, _)| *record == Some(1)));
            assert_eq!(read, whole);
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
            assert!(decode(&schema, &[b"{\"page\":\"/\"}"], &[]).is_none());
        }
    }
}
