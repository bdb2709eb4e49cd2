//! Firehose (`X-Amz-Target: Firehose_20150804.<Op>`): `PutRecord` and `PutRecordBatch` into
//! Direct PUT delivery streams (refused, as AWS refuses them, for one that reads a Kinesis
//! stream), `DescribeDeliveryStream` and `ListDeliveryStreams`.

use serde_json::{json, Value};

use super::error::{ApiError, ACCOUNT};
use super::json::{epoch_seconds, Input};
use super::kinesis::{not_served, stream_arn, unknown_operation};
use super::state::{Destination, FirehoseEndpoint};
use super::Ctx;
use crate::compress::Compression;

/// The `X-Amz-Target` prefix of Firehose operations.
pub const TARGET_PREFIX: &str = "Firehose_20150804";
/// Firehose's maximum record size, before base64: 1,000 KiB.
const MAX_RECORD_BYTES: usize = 1_024_000;
const MAX_BATCH_RECORDS: usize = 500;
const MAX_BATCH_BYTES: usize = 4 * 1024 * 1024;

const NOT_SERVED: &[&str] = &[
    "CreateDeliveryStream",
    "DeleteDeliveryStream",
    "ListTagsForDeliveryStream",
    "StartDeliveryStreamEncryption",
    "StopDeliveryStreamEncryption",
    "TagDeliveryStream",
    "UntagDeliveryStream",
    "UpdateDestination",
];

pub fn call(ctx: &Ctx<'_>, operation: &str, input: &Input<'_>) -> Result<Value, ApiError> {
    match operation {
        "PutRecord" => put_record(ctx, input),
        "PutRecordBatch" => put_record_batch(ctx, input),
        "DescribeDeliveryStream" => describe(ctx, input),
        "ListDeliveryStreams" => list(ctx, input),
        "CreateDeliveryStream" => {
            let name = input.required_str("DeliveryStreamName", "deliveryStreamName")?;
            if ctx.state.firehoses.contains_key(name) {
                return Err(ApiError::new(
                    "ResourceInUseException",
                    format!("Firehose {name} under accountId {ACCOUNT} already exists"),
                ));
            }
            Err(not_served(operation))
        }
        op if NOT_SERVED.contains(&op) => Err(not_served(op)),
        op => Err(unknown_operation(TARGET_PREFIX, op)),
    }
}

fn delivery_stream<'s>(ctx: &Ctx<'s>, input: &Input<'_>) -> Result<&'s FirehoseEndpoint, ApiError> {
    let name = input.required_str("DeliveryStreamName", "deliveryStreamName")?;
    ctx.state
        .firehoses
        .get(name)
        .ok_or_else(|| ApiError::delivery_stream_not_found(name))
}

/// The firehose a put may write to: Direct PUT only.
fn direct_put<'s>(ctx: &Ctx<'s>, input: &Input<'_>) -> Result<&'s FirehoseEndpoint, ApiError> {
    let firehose = delivery_stream(ctx, input)?;
    if firehose.source.is_some() {
        return Err(ApiError::invalid_argument(
            "This operation is not permitted on KinesisStreamAsSource delivery stream type.",
        ));
    }
    Ok(firehose)
}

fn record_data(record: &Input<'_>, path: &str) -> Result<Vec<u8>, ApiError> {
    let data = record.required_blob("Data", &format!("{path}.data"))?;
    if data.len() > MAX_RECORD_BYTES {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value at '{path}.data' failed to satisfy constraint: \
             Member must have length less than or equal to {MAX_RECORD_BYTES}"
        )));
    }
    Ok(data)
}

/// Hands records to the firehose; `Err` when the run no longer accepts them.
fn send(ctx: &Ctx<'_>, firehose: &FirehoseEndpoint, records: Vec<Vec<u8>>) -> Result<(), ApiError> {
    let stopped = || {
        ApiError::unavailable(format!(
            "Firehose {} is stopping: the run is ending.",
            firehose.name
        ))
    };
    let sender = ctx.state.sender(&firehose.name).ok_or_else(stopped)?;
    let batch = records
        .into_iter()
        .map(|data| (bytes::Bytes::from(data), ctx.now_ms))
        .collect();
    sender.send(batch).map_err(|_| stopped())
}

/// An opaque id for an accepted record (AWS's are long random strings too).
fn record_id() -> String {
    format!(
        "{:032x}{:032x}",
        rand::random::<u128>(),
        rand::random::<u128>()
    )
}

fn put_record(ctx: &Ctx<'_>, input: &Input<'_>) -> Result<Value, ApiError> {
    let firehose = direct_put(ctx, input)?;
    let record = input
        .object("Record")?
        .ok_or_else(|| ApiError::missing("record"))?;
    let data = record_data(&record, "record")?;
    send(ctx, firehose, vec![data])?;
    Ok(json!({ "RecordId": record_id(), "Encrypted": firehose.encrypted }))
}

fn put_record_batch(ctx: &Ctx<'_>, input: &Input<'_>) -> Result<Value, ApiError> {
    let firehose = direct_put(ctx, input)?;
    let records = input
        .array("Records")?
        .ok_or_else(|| ApiError::missing("records"))?;
    if records.is_empty() || records.len() > MAX_BATCH_RECORDS {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value at 'records' failed to satisfy constraint: \
             Member must have length between 1 and {MAX_BATCH_RECORDS}"
        )));
    }
    let mut batch = Vec::with_capacity(records.len());
    for (index, record) in records.iter().enumerate() {
        let record = Input::new(record, "Records")?;
        batch.push(record_data(
            &record,
            &format!("records.{}.member", index + 1),
        )?);
    }
    let total: usize = batch.iter().map(Vec::len).sum();
    if total > MAX_BATCH_BYTES {
        return Err(ApiError::invalid_argument(format!(
            "Records size exceeds 4 MiB limit: this batch has {total} bytes"
        )));
    }
    let count = batch.len();
    let responses: Vec<Value> = match send(ctx, firehose, batch) {
        Ok(()) => (0..count)
            .map(|_| json!({ "RecordId": record_id() }))
            .collect(),
        Err(error) => (0..count)
            .map(|_| json!({ "ErrorCode": error.code, "ErrorMessage": error.message }))
            .collect(),
    };
    let failed = responses
        .iter()
        .filter(|r| r.get("ErrorCode").is_some())
        .count();
    Ok(json!({
        "FailedPutCount": failed,
        "Encrypted": firehose.encrypted,
        "RequestResponses": responses,
    }))
}

fn compression_name(compression: Compression) -> &'static str {
    match compression {
        Compression::None => "UNCOMPRESSED",
        Compression::Gzip => "GZIP",
        Compression::Zip => "ZIP",
        Compression::Snappy => "Snappy",
        Compression::HadoopSnappy => "HADOOP_SNAPPY",
    }
}

fn firehose_arn(region: &str, name: &str) -> String {
    format!("arn:aws:firehose:{region}:{ACCOUNT}:deliverystream/{name}")
}

fn destination_json(ctx: &Ctx<'_>, firehose: &FirehoseEndpoint) -> Value {
    let mut destination = json!({ "DestinationId": "destinationId-000000000001" });
    if let Destination::S3 {
        bucket,
        prefix,
        error_prefix,
    } = &firehose.destination
    {
        let encryption = if firehose.encrypted {
            json!({ "KMSEncryptionConfig": {
                "AWSKMSKeyARN": format!("arn:aws:kms:{}:{ACCOUNT}:alias/kin-local", ctx.region)
            } })
        } else {
            json!({ "NoEncryptionConfig": "NoEncryption" })
        };
        let s3 = json!({
            "RoleARN": format!("arn:aws:iam::{ACCOUNT}:role/kin-local"),
            "BucketARN": format!("arn:aws:s3:::{bucket}"),
            "Prefix": prefix,
            "ErrorOutputPrefix": error_prefix,
            "BufferingHints": {
                "SizeInMBs": firehose.buffer_bytes / (1024 * 1024),
                "IntervalInSeconds": firehose.buffer_interval_ms / 1000,
            },
            "CompressionFormat": compression_name(firehose.compression),
            "EncryptionConfiguration": encryption,
        });
        destination["S3DestinationDescription"] = s3.clone();
        destination["ExtendedS3DestinationDescription"] = s3;
    }
    destination
}

fn describe(ctx: &Ctx<'_>, input: &Input<'_>) -> Result<Value, ApiError> {
    let firehose = delivery_stream(ctx, input)?;
    let mut description = json!({
        "DeliveryStreamName": firehose.name,
        "DeliveryStreamARN": firehose_arn(ctx.region, &firehose.name),
        "DeliveryStreamStatus": if ctx.state.is_stopping() { "DELETING" } else { "ACTIVE" },
        "DeliveryStreamType": if firehose.source.is_some() { "KinesisStreamAsSource" } else { "DirectPut" },
        "VersionId": "1",
        "CreateTimestamp": epoch_seconds(ctx.state.started_ms),
        "Destinations": [destination_json(ctx, firehose)],
        "HasMoreDestinations": false,
    });
    if let Some(stream) = &firehose.source {
        description["Source"] = json!({ "KinesisStreamSourceDescription": {
            "KinesisStreamARN": stream_arn(ctx.region, stream),
            "RoleARN": format!("arn:aws:iam::{ACCOUNT}:role/kin-local"),
            "DeliveryStartTimestamp": epoch_seconds(ctx.state.started_ms),
        } });
    }
    Ok(json!({ "DeliveryStreamDescription": description }))
}

fn list(ctx: &Ctx<'_>, input: &Input<'_>) -> Result<Value, ApiError> {
    let limit = input.int_in("Limit", "limit", 1, 10_000)?.unwrap_or(10) as usize;
    let kind = input.str("DeliveryStreamType")?;
    let after = input.str("ExclusiveStartDeliveryStreamName")?;
    let names: Vec<&String> = ctx
        .state
        .firehoses
        .values()
        .filter(|f| match kind {
            Some("DirectPut") => f.source.is_none(),
            Some("KinesisStreamAsSource") => f.source.is_some(),
            _ => true,
        })
        .map(|f| &f.name)
        .filter(|name| after.is_none_or(|after| name.as_str() > after))
        .collect();
    let page = &names[..names.len().min(limit)];
    Ok(json!({
        "DeliveryStreamNames": page,
        "HasMoreDeliveryStreams": names.len() > page.len(),
    }))
}

#[cfg(test)]
#[path = "firehose_tests.rs"]
mod tests;
