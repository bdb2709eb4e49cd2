//! JSON records ↔ Arrow batches, as Flink's JSON format reads and writes them: timestamps as
//! RFC 3339 UTC strings with a `Z` (epoch milliseconds are read too), decimals as plain numbers,
//! nulls written as `null`, `bytes` as base64 strings (top-level columns).

use std::sync::Arc;

use base64::Engine as _;
use datafusion::arrow::array::{make_array, Array, ArrayRef, AsArray, BinaryArray, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::json::{LineDelimitedWriter, ReaderBuilder, WriterBuilder};
use datafusion::arrow::record_batch::{RecordBatch, RecordBatchOptions};

use super::error::AnalyticsError;
use super::json_flat;
use crate::flat_json::FieldMap;

const BASE64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn json_error(record: Option<usize>, e: impl ToString) -> AnalyticsError {
    AnalyticsError::Json {
        record,
        message: e.to_string(),
    }
}

/// Decodes JSON objects (each may end in `\n`) into one batch of `schema`. On a bad record the
/// error names its index.
pub fn decode_json(schema: &SchemaRef, records: &[&[u8]]) -> Result<RecordBatch, AnalyticsError> {
    decode_json_mapped(schema, records, &[])
}

/// [`decode_json`] of records that may carry the field maps of their producers' checks
/// (`maps[i]` for `records[i]`; missing entries are `None`): mapped records have the values
/// the schema needs read where their maps say, not the whole record.
pub fn decode_json_mapped(
    schema: &SchemaRef,
    records: &[&[u8]],
    maps: &[Option<&FieldMap>],
) -> Result<RecordBatch, AnalyticsError> {
    let read_schema = binary_as_text(schema);
    let batch = match decode(&read_schema, records, maps) {
        Ok(batch) => batch,
        Err(
            e @ AnalyticsError::Json {
                record: Some(_), ..
            },
        ) => return Err(e),
        Err(e) => return Err(locate(&read_schema, records).unwrap_or(e)),
    };
    binary_from_base64(batch, schema)
}

/// The schema with top-level binary columns read as text (base64).
fn binary_as_text(schema: &SchemaRef) -> SchemaRef {
    if !schema.fields().iter().any(|f| is_binary(f.data_type())) {
        return Arc::clone(schema);
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match is_binary(f.data_type()) {
            true => f.as_ref().clone().with_data_type(DataType::Utf8),
            false => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

fn is_binary(ty: &DataType) -> bool {
    matches!(ty, DataType::Binary)
}

fn decode(
    schema: &SchemaRef,
    records: &[&[u8]],
    maps: &[Option<&FieldMap>],
) -> Result<RecordBatch, AnalyticsError> {
    if let Some(decoded) = json_flat::decode(schema, records, maps) {
        return decoded.map_err(|e| json_error(e.record, e.message));
    }
    let mut decoder = ReaderBuilder::new(Arc::clone(schema))
        .with_batch_size(records.len().max(1))
        .build_decoder()
        .map_err(|e| json_error(None, e))?;
    for (i, record) in records.iter().enumerate() {
        let mut rest = *record;
        while !rest.is_empty() {
            let read = decoder.decode(rest).map_err(|e| json_error(Some(i), e))?;
            if read == 0 {
                break;
            }
            rest = &rest[read..];
        }
        if !rest.is_empty() {
            return Err(json_error(Some(i), "the record holds more than one object"));
        }
    }
    let batch = decoder
        .flush()
        .map_err(|e| json_error(None, e))?
        .unwrap_or_else(|| RecordBatch::new_empty(Arc::clone(schema)));
    if batch.num_rows() != records.len() {
        return Err(json_error(
            None,
            format!(
                "{} records held {} JSON objects",
                records.len(),
                batch.num_rows()
            ),
        ));
    }
    Ok(batch)
}

/// The error of the first record that does not decode on its own.
fn locate(schema: &SchemaRef, records: &[&[u8]]) -> Option<AnalyticsError> {
    records.iter().enumerate().find_map(|(i, record)| {
        decode(schema, &[record], &[]).err().map(|e| match e {
            AnalyticsError::Json { message, .. } => json_error(Some(i), message),
            other => other,
        })
    })
}

fn binary_from_base64(
    batch: RecordBatch,
    schema: &SchemaRef,
) -> Result<RecordBatch, AnalyticsError> {
    if batch.schema().fields() == schema.fields() {
        return Ok(batch);
    }
    let mut columns = Vec::with_capacity(batch.num_columns());
    for (column, field) in batch.columns().iter().zip(schema.fields()) {
        if !is_binary(field.data_type()) {
            columns.push(Arc::clone(column));
            continue;
        }
        let text = column.as_string::<i32>();
        let mut bytes = Vec::with_capacity(text.len());
        for (row, value) in text.iter().enumerate() {
            bytes.push(value.map(|v| BASE64.decode(v)).transpose().map_err(|e| {
                json_error(
                    Some(row),
                    format!("field \"{}\" is not base64: {e}", field.name()),
                )
            })?);
        }
        columns.push(Arc::new(BinaryArray::from_iter(bytes)) as ArrayRef);
    }
    let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    RecordBatch::try_new_with_options(Arc::clone(schema), columns, &options)
        .map_err(|e| json_error(None, e))
}

/// One JSON object per row, each ending in `\n`.
pub fn encode_json(batch: &RecordBatch) -> Result<Vec<Vec<u8>>, AnalyticsError> {
    let batch = for_json(batch).map_err(|e| json_error(None, e))?;
    let mut buffer = Vec::with_capacity(batch.num_rows() * 64);
    let mut writer: LineDelimitedWriter<&mut Vec<u8>> = WriterBuilder::new()
        .with_explicit_nulls(true)
        .with_timestamp_format("%Y-%m-%dT%H:%M:%S%.fZ".into())
        .build(&mut buffer);
    writer.write(&batch).map_err(|e| json_error(None, e))?;
    writer.finish().map_err(|e| json_error(None, e))?;
    drop(writer);
    Ok(buffer
        .split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect())
}

/// Top-level binary columns as base64 text, and zoned timestamps as the UTC instants they hold.
fn for_json(batch: &RecordBatch) -> Result<RecordBatch, ArrowError> {
    let needs = |ty: &DataType| is_binary(ty) || matches!(ty, DataType::Timestamp(_, Some(_)));
    if !batch.schema().fields().iter().any(|f| needs(f.data_type())) {
        return Ok(batch.clone());
    }
    let mut fields = Vec::with_capacity(batch.num_columns());
    let mut columns = Vec::with_capacity(batch.num_columns());
    for (column, field) in batch.columns().iter().zip(batch.schema().fields()) {
        let (column, ty): (ArrayRef, DataType) = match field.data_type() {
            DataType::Binary => {
                let text: StringArray = column
                    .as_binary::<i32>()
                    .iter()
                    .map(|v| v.map(|b| BASE64.encode(b)))
                    .collect();
                (Arc::new(text), DataType::Utf8)
            }
            DataType::Timestamp(unit, Some(_)) => {
                let utc = DataType::Timestamp(*unit, None);
                let data = column
                    .to_data()
                    .into_builder()
                    .data_type(utc.clone())
                    .build()?;
                (make_array(data), utc)
            }
            other => (Arc::clone(column), other.clone()),
        };
        fields.push(field.as_ref().clone().with_data_type(ty));
        columns.push(column);
    }
    let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    RecordBatch::try_new_with_options(Arc::new(Schema::new(fields)), columns, &options)
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Decimal128Array, Int64Array, TimestampMillisecondArray};
    use datafusion::arrow::datatypes::TimeUnit;

    use super::*;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("page", DataType::Utf8, false),
            Field::new("n", DataType::Int64, true),
            Field::new(
                "ts",
                DataType::Timestamp(TimeUnit::Millisecond, None),
                false,
            ),
            Field::new("price", DataType::Decimal128(10, 2), true),
            Field::new("raw", DataType::Binary, true),
        ]))
    }

    #[test]
    fn decodes_rfc3339_and_epoch_millis_and_encodes_flinks_form() -> Result<(), AnalyticsError> {
        let records: [&[u8]; 3] = [
            b"{\"page\":\"/a\",\"n\":1,\"ts\":\"2024-05-01T10:00:00Z\",\"price\":12.5,\"raw\":\"aGk=\"}\n",
            b"{\"page\":\"/b\",\"ts\":1714557600123}",
            b"{\"page\":\"/c\",\"n\":null,\"ts\":\"2024-05-01T10:00:00.5+02:00\"}\n",
        ];
        let batch = decode_json(&schema(), &records)?;
        assert_eq!(batch.num_rows(), 3);
        let ts = batch
            .column(2)
            .as_primitive::<datafusion::arrow::datatypes::TimestampMillisecondType>();
        assert_eq!(
            ts.values().to_vec(),
            [1714557600000, 1714557600123, 1714550400500]
        );
        let lines = encode_json(&batch)?;
        let text: Vec<&str> = lines
            .iter()
            .map(|l| std::str::from_utf8(l).unwrap_or(""))
            .collect();
        assert_eq!(
            text,
            [
                "{\"page\":\"/a\",\"n\":1,\"ts\":\"2024-05-01T10:00:00Z\",\"price\":12.50,\"raw\":\"aGk=\"}\n",
                "{\"page\":\"/b\",\"n\":null,\"ts\":\"2024-05-01T10:00:00.123Z\",\"price\":null,\"raw\":null}\n",
                "{\"page\":\"/c\",\"n\":null,\"ts\":\"2024-05-01T08:00:00.500Z\",\"price\":null,\"raw\":null}\n",
            ]
        );
        Ok(())
    }

    #[test]
    fn a_bad_record_is_named_by_its_index() {
        let records: [&[u8]; 3] = [
            b"{\"page\":\"/a\",\"ts\":0}",
            b"{\"page\":\"/b\",\"ts\":\"yesterday\"}",
            b"{\"page\":\"/c\",\"ts\":0}",
        ];
        match decode_json(&schema(), &records) {
            Err(AnalyticsError::Json { record, .. }) => assert_eq!(record, Some(1)),
            other => panic!("{other:?}"),
        }
        let missing: [&[u8]; 1] = [b"{\"ts\":0}"];
        assert!(matches!(
            decode_json(&schema(), &missing),
            Err(AnalyticsError::Json {
                record: Some(0),
                ..
            })
        ));
    }

    #[test]
    fn zoned_timestamps_are_written_as_utc() -> Result<(), AnalyticsError> {
        let ts = TimestampMillisecondArray::from(vec![0]).with_timezone("+02:00");
        let schema = Schema::new(vec![
            Field::new("ts", ts.data_type().clone(), false),
            Field::new("d", DataType::Decimal128(5, 1), false),
            Field::new("i", DataType::Int64, false),
        ]);
        let columns: Vec<ArrayRef> = vec![
            Arc::new(ts),
            Arc::new(
                Decimal128Array::from(vec![-15])
                    .with_precision_and_scale(5, 1)
                    .map_err(|e| json_error(None, e))?,
            ),
            Arc::new(Int64Array::from(vec![7])),
        ];
        let batch =
            RecordBatch::try_new(Arc::new(schema), columns).map_err(|e| json_error(None, e))?;
        assert_eq!(
            encode_json(&batch)?,
            [b"{\"ts\":\"1970-01-01T00:00:00Z\",\"d\":-1.5,\"i\":7}\n".to_vec()]
        );
        Ok(())
    }
}
