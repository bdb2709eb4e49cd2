//! `GetShardIterator` and `GetRecords`: iterators of the five types, records with their
//! sequence numbers and arrival times, the next iterator, `MillisBehindLatest`, the 10,000
//! records / 10 MiB per call caps and (`--enforce-limits`) the per-shard read quotas.

use base64::Engine as _;
use serde_json::{json, Value};

use super::{from_stream_error, shard_index, stream};
use crate::api::error::{ApiError, ACCOUNT};
use crate::api::iterator::ShardPosition;
use crate::api::json::{epoch_seconds, Input};
use crate::api::Ctx;
use crate::hash::shard_id;
use crate::stream::{SequenceNumber, ShardIteratorStart};

/// GetRecords returns at most this many records and bytes.
const MAX_RECORDS: i64 = 10_000;
const MAX_BYTES: usize = 10 * 1024 * 1024;

const ITERATOR_TYPES: &str =
    "[AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER, TRIM_HORIZON, LATEST, AT_TIMESTAMP]";

pub fn get_shard_iterator(ctx: &Ctx<'_>, input: &Input<'_>) -> Result<Value, ApiError> {
    let api = stream(ctx.state, input)?;
    let id = input.required_str("ShardId", "shardId")?;
    let kind = input.required_str("ShardIteratorType", "shardIteratorType")?;
    let start = iterator_start(kind, input)?;
    let shard = shard_index(api, id)?;
    let offset = api
        .stream
        .iterator_offset(shard, start)
        .map_err(from_stream_error)?;
    let iterator = ctx.state.iterators.encode(&ShardPosition {
        stream: api.stream.name().to_string(),
        shard,
        offset,
        issued_ms: ctx.now_ms,
    });
    Ok(json!({ "ShardIterator": iterator }))
}

fn iterator_start(kind: &str, input: &Input<'_>) -> Result<ShardIteratorStart, ApiError> {
    let sequence_number = || -> Result<SequenceNumber, ApiError> {
        let text = input.str("StartingSequenceNumber")?.ok_or_else(|| {
            ApiError::invalid_argument(format!(
                "Must specify a StartingSequenceNumber for iterator of type {kind}."
            ))
        })?;
        text.parse::<SequenceNumber>().map_err(|e| {
            ApiError::invalid_argument(format!("StartingSequenceNumber {text:.64} is invalid: {e}"))
        })
    };
    match kind {
        "TRIM_HORIZON" => Ok(ShardIteratorStart::TrimHorizon),
        "LATEST" => Ok(ShardIteratorStart::Latest),
        "AT_SEQUENCE_NUMBER" => Ok(ShardIteratorStart::AtSequenceNumber(sequence_number()?)),
        "AFTER_SEQUENCE_NUMBER" => Ok(ShardIteratorStart::AfterSequenceNumber(sequence_number()?)),
        "AT_TIMESTAMP" => {
            let ms = input.timestamp_ms("Timestamp")?.ok_or_else(|| {
                ApiError::invalid_argument(
                    "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. \
                     Current request has no timestamp parameter.",
                )
            })?;
            Ok(ShardIteratorStart::AtTimestamp(ms))
        }
        other => Err(ApiError::validation(format!(
            "1 validation error detected: Value '{other:.64}' at 'shardIteratorType' failed to \
             satisfy constraint: Member must satisfy enum value set: {ITERATOR_TYPES}"
        ))),
    }
}

pub fn get_records(ctx: &Ctx<'_>, input: &Input<'_>) -> Result<Value, ApiError> {
    let text = input.required_str("ShardIterator", "shardIterator")?;
    let limit = input
        .int_in("Limit", "limit", 1, MAX_RECORDS)?
        .unwrap_or(MAX_RECORDS) as usize;
    let position = ctx.state.iterators.decode(text, ctx.now_ms)?;
    if let Some(arn) = input.str("StreamARN")? {
        if super::name_from_arn(arn)? != position.stream {
            return Err(ApiError::invalid_argument(format!(
                "The shard iterator belongs to stream {}, not to {arn}.",
                position.stream
            )));
        }
    }
    let api = ctx
        .state
        .streams
        .get(&position.stream)
        .ok_or_else(|| ApiError::stream_not_found(&position.stream))?;
    if let Some(limits) = &api.limits {
        if !limits.try_read(position.shard, ctx.now_ms as f64) {
            return Err(ApiError::new(
                "ProvisionedThroughputExceededException",
                format!(
                    "Rate exceeded for Shard - {ACCOUNT}/{}/{}",
                    position.stream,
                    shard_id(position.shard)
                ),
            ));
        }
    }
    let batch = api
        .stream
        .read(position.shard, position.offset, limit)
        .map_err(from_stream_error)?;
    let mut next_offset = batch.next_offset;
    let mut bytes = 0;
    let mut records = Vec::with_capacity(batch.records.len());
    for record in &batch.records {
        let size = record.partition_key.len() + record.data.len();
        if bytes + size > MAX_BYTES && !records.is_empty() {
            next_offset = record
                .sequence_number
                .shard_and_offset()
                .map_or(next_offset, |(_, offset)| offset);
            break;
        }
        bytes += size;
        records.push(json!({
            "SequenceNumber": record.sequence_number.to_string(),
            "ApproximateArrivalTimestamp": epoch_seconds(record.arrival_ms),
            "Data": base64::engine::general_purpose::STANDARD.encode(&record.data),
            "PartitionKey": &*record.partition_key,
        }));
    }
    if let Some(limits) = &api.limits {
        limits.charge_read(position.shard, bytes, ctx.now_ms as f64);
    }
    let next = ctx.state.iterators.encode(&ShardPosition {
        offset: next_offset,
        issued_ms: ctx.now_ms,
        ..position
    });
    Ok(json!({
        "Records": records,
        "NextShardIterator": next,
        "MillisBehindLatest": batch.millis_behind_latest,
    }))
}
