//! The fast path of [`super::decode_json`] for flat schemas (strings, integers, floats,
//! booleans and UTC timestamps, at most 64 columns): each record is read once by serde_json
//! straight into Arrow builders, fields the schema does not name are skipped without being
//! decoded, and strings are copied once, into their column.
//!
//! arrow-json's reader builds a tape of every value of every record before its column decoders
//! run; analytics inputs are narrowed to the columns a query reads
//! ([`super::AnalyticsEngine::input_schema`]), so most of a record is skipped here. Values are
//! read by kin's own rules, the ones the producers' typed check applies: an integer column
//! takes a JSON integer, a float column any number, a timestamp an RFC 3339 string or epoch
//! milliseconds ([`crate::records::Timestamp`]); `null` or a missing field is null where the
//! column is nullable and an error where not; a field given twice is an error.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Float64Builder, Int64Builder, StringBuilder,
    TimestampMillisecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::{RecordBatch, RecordBatchOptions};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;

use crate::records::Timestamp;

/// One column being built.
enum Builder {
    Utf8(StringBuilder),
    Int64(Int64Builder),
    Float64(Float64Builder),
    Boolean(BooleanBuilder),
    Timestamp(TimestampMillisecondBuilder),
}

struct Column {
    name: String,
    nullable: bool,
    builder: Builder,
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
    let mut columns = columns(schema, records.len())?;
    for (index, record) in records.iter().enumerate() {
        // One UTF-8 check of the whole record is cheaper than serde_json's check of each
        // string it reads from bytes.
        let read = std::str::from_utf8(record)
            .map_err(|e| e.to_string())
            .and_then(|text| {
                let mut reader = serde_json::Deserializer::from_str(text);
                Row {
                    columns: &mut columns,
                }
                .deserialize(&mut reader)
                .and_then(|()| reader.end())
                .map_err(|e| e.to_string())
            });
        if let Err(message) = read {
            return Some(Err(RecordError {
                record: Some(index),
                message,
            }));
        }
    }
    Some(
        finish(schema, columns, records.len()).map_err(|e| RecordError {
            record: None,
            message: e.to_string(),
        }),
    )
}

/// Builders for `schema`'s columns, when every one is of a type this path reads.
fn columns(schema: &SchemaRef, rows: usize) -> Option<Vec<Column>> {
    if schema.fields().len() > 64 {
        return None;
    }
    schema
        .fields()
        .iter()
        .map(|field| {
            let builder = match field.data_type() {
                DataType::Utf8 => Builder::Utf8(StringBuilder::with_capacity(rows, rows * 16)),
                DataType::Int64 => Builder::Int64(Int64Builder::with_capacity(rows)),
                DataType::Float64 => Builder::Float64(Float64Builder::with_capacity(rows)),
                DataType::Boolean => Builder::Boolean(BooleanBuilder::with_capacity(rows)),
                DataType::Timestamp(TimeUnit::Millisecond, None) => {
                    Builder::Timestamp(TimestampMillisecondBuilder::with_capacity(rows))
                }
                _ => return None,
            };
            Some(Column {
                name: field.name().clone(),
                nullable: field.is_nullable(),
                builder,
            })
        })
        .collect()
}

fn finish(
    schema: &SchemaRef,
    columns: Vec<Column>,
    rows: usize,
) -> Result<RecordBatch, ArrowError> {
    let arrays: Vec<ArrayRef> = columns
        .into_iter()
        .map(|column| -> ArrayRef {
            match column.builder {
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

impl Column {
    fn append_null<E: de::Error>(&mut self) -> Result<(), E> {
        if !self.nullable {
            return Err(E::custom(format_args!(
                "field `{}` is null but not nullable",
                self.name
            )));
        }
        match &mut self.builder {
            Builder::Utf8(b) => b.append_null(),
            Builder::Int64(b) => b.append_null(),
            Builder::Float64(b) => b.append_null(),
            Builder::Boolean(b) => b.append_null(),
            Builder::Timestamp(b) => b.append_null(),
        }
        Ok(())
    }
}

/// A string value, borrowed from the record unless it had escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(TextVisitor)
    }
}

/// Reads one field's value into its column.
impl<'de> DeserializeSeed<'de> for &mut Column {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        let name = &self.name;
        let in_field = |e: D::Error| de::Error::custom(format_args!("field `{name}`: {e}"));
        let appended = match &mut self.builder {
            Builder::Utf8(b) => Option::<Text>::deserialize(d)
                .map_err(in_field)?
                .map(|v| b.append_value(v.0)),
            Builder::Int64(b) => Option::<i64>::deserialize(d)
                .map_err(in_field)?
                .map(|v| b.append_value(v)),
            Builder::Float64(b) => Option::<f64>::deserialize(d)
                .map_err(in_field)?
                .map(|v| b.append_value(v)),
            Builder::Boolean(b) => Option::<bool>::deserialize(d)
                .map_err(in_field)?
                .map(|v| b.append_value(v)),
            Builder::Timestamp(b) => Option::<Timestamp>::deserialize(d)
                .map_err(in_field)?
                .map(|v| b.append_value(v.0)),
        };
        match appended {
            Some(()) => Ok(()),
            None => self.append_null(),
        }
    }
}

/// A field name: the index of its column, `None` for a field the schema does not name.
struct Key<'a>(&'a [Column]);

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<usize>, E> {
        Ok(self.0.iter().position(|c| c.name == v))
    }
}

/// One record: a JSON object whose fields fill one row of the columns.
struct Row<'a> {
    columns: &'a mut [Column],
}

impl<'de> DeserializeSeed<'de> for Row<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Row<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen: u64 = 0;
        while let Some(key) = map.next_key_seed(Key(self.columns))? {
            let Some(index) = key else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            let column = &mut self.columns[index];
            if seen & (1 << index) != 0 {
                return Err(de::Error::custom(format_args!(
                    "duplicate field `{}`",
                    column.name
                )));
            }
            seen |= 1 << index;
            map.next_value_seed(column)?;
        }
        for (index, column) in self.columns.iter_mut().enumerate() {
            if seen & (1 << index) == 0 {
                if !column.nullable {
                    return Err(de::Error::custom(format_args!(
                        "missing field `{}`",
                        column.name
                    )));
                }
                column.append_null()?;
            }
        }
        Ok(())
    }
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
