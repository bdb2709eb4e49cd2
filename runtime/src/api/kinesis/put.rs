//! `PutRecord` and `PutRecords`: the request is validated as AWS validates it (a bad member
//! fails the whole request), then each record is routed to its shard, checked against the
//! shard's write quota (`--enforce-limits`), de-aggregated if the KPL made it, and appended.
//! Per-record failures of `PutRecords` are reported in its `Records`, as AWS reports them.

use serde_json::{json, Value};

use super::{from_stream_error, stream};
use crate::api::error::{ApiError, ACCOUNT};
use crate::api::json::Input;
use crate::api::kpl;
use crate::api::state::StreamApi;
use crate::api::Ctx;
use crate::hash::{hash_key, parse_explicit_hash_key, shard_id};
use crate::stream::{PutEntry, SequenceNumber, MAX_PARTITION_KEY_CHARS};

/// At most this many records per `PutRecords`.
const MAX_BATCH_RECORDS: usize = 500;
const MIB: usize = 1024 * 1024;

/// One record of a request, checked and routed.
struct Prepared {
    shard: usize,
    /// Partition key + data bytes of the record as sent (what the quotas count).
    size: usize,
    /// The records to append: one, or the user records of a KPL aggregate.
    entries: Vec<PutEntry>,
}

pub fn put_record(ctx: &Ctx<'_>, input: &Input<'_>) -> Result<Value, ApiError> {
    let api = stream(ctx.state, input)?;
    let key = input.required_str("PartitionKey", "partitionKey")?;
    let data = input.required_blob("Data", "data")?;
    let hash_key = input.str("ExplicitHashKey")?;
    let prepared = prepare(api, "", key, data, hash_key)?;
    if !within_write_quota(api, &prepared, ctx.now_ms) {
        return Err(throughput_exceeded(api, prepared.shard));
    }
    let shard = prepared.shard;
    let result = write(api, vec![prepared], ctx.now_ms).pop();
    match result {
        Some(Ok(sequence_number)) => Ok(json!({
            "ShardId": shard_id(shard),
            "SequenceNumber": sequence_number.to_string(),
        })),
        Some(Err(error)) => Err(error),
        None => Err(ApiError::unavailable("the record was not written")),
    }
}

pub fn put_records(ctx: &Ctx<'_>, input: &Input<'_>) -> Result<Value, ApiError> {
    let api = stream(ctx.state, input)?;
    let records = input
        .array("Records")?
        .ok_or_else(|| ApiError::missing("records"))?;
    if records.is_empty() || records.len() > MAX_BATCH_RECORDS {
        let constraint = if records.is_empty() {
            "greater than or equal to 1".to_string()
        } else {
            format!("less than or equal to {MAX_BATCH_RECORDS}")
        };
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value at 'records' failed to satisfy constraint: \
             Member must have length {constraint}"
        )));
    }
    let mut prepared = Vec::with_capacity(records.len());
    for (index, record) in records.iter().enumerate() {
        let record = Input::new(record, "Records")?;
        let path = format!("records.{}.member.", index + 1);
        let key = record.required_str("PartitionKey", &format!("{path}partitionKey"))?;
        let data = record.required_blob("Data", &format!("{path}data"))?;
        let hash_key = record.str("ExplicitHashKey")?;
        prepared.push(prepare(api, &path, key, data, hash_key)?);
    }
    let total: usize = prepared.iter().map(|p| p.size).sum();
    let limit = if api.stream.config().max_record_bytes > MIB {
        10 * MIB
    } else {
        5 * MIB
    };
    if total > limit {
        return Err(ApiError::invalid_argument(format!(
            "Records size exceeds {} MB limit (this request has {total} bytes of partition keys and data)",
            limit / MIB
        )));
    }
    // Quotas first, in request order; refused records are not written.
    let mut answers: Vec<Option<Result<SequenceNumber, ApiError>>> = Vec::new();
    let mut to_write = Vec::new();
    let mut shards = Vec::new();
    for record in prepared {
        shards.push(record.shard);
        if within_write_quota(api, &record, ctx.now_ms) {
            answers.push(None);
            to_write.push(record);
        } else {
            answers.push(Some(Err(throughput_exceeded(api, record.shard))));
        }
    }
    let mut written = write(api, to_write, ctx.now_ms).into_iter();
    let mut failed = 0;
    let results: Vec<Value> = answers
        .into_iter()
        .zip(shards)
        .map(|(answer, shard)| {
            let result = answer
                .or_else(|| written.next())
                .unwrap_or_else(|| Err(ApiError::unavailable("the record was not written")));
            match result {
                Ok(sequence_number) => json!({
                    "SequenceNumber": sequence_number.to_string(),
                    "ShardId": shard_id(shard),
                }),
                Err(error) => {
                    failed += 1;
                    // Per-record codes are ProvisionedThroughputExceededException or InternalFailure.
                    let code = if error.code == "ProvisionedThroughputExceededException" {
                        error.code
                    } else {
                        "InternalFailure"
                    };
                    json!({ "ErrorCode": code, "ErrorMessage": error.message })
                }
            }
        })
        .collect();
    Ok(json!({ "FailedRecordCount": failed, "Records": results }))
}

/// Checks a record's members and routes it; a KPL aggregate becomes its user records, all on
/// the shard the aggregate's own key chooses (as on AWS, where the aggregate is one record).
fn prepare(
    api: &StreamApi,
    path: &str,
    key: &str,
    data: Vec<u8>,
    explicit_hash_key: Option<&str>,
) -> Result<Prepared, ApiError> {
    check_partition_key(key, &format!("{path}partitionKey"))?;
    let hash = match explicit_hash_key {
        Some(text) => parse_hash_key(text, &format!("{path}explicitHashKey"))?,
        None => hash_key(key),
    };
    let size = key.len() + data.len();
    let max = api.stream.config().max_record_bytes;
    if size > max {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value at '{path}data' failed to satisfy constraint: \
             Member must have length less than or equal to {} (stream {} allows {max} bytes of \
             partition key + data per record; this one has {size})",
            max.saturating_sub(key.len()),
            api.stream.name()
        )));
    }
    let shard = api.stream.hash_ranges().shard_for(hash);
    let user_records = kpl::deaggregate(&data).filter(|records| {
        records
            .iter()
            .all(|r| check_partition_key(&r.partition_key, "").is_ok())
    });
    let entries = match user_records {
        Some(records) => records
            .into_iter()
            .map(|r| PutEntry {
                partition_key: r.partition_key.into(),
                explicit_hash_key: Some(hash),
                data: r.data.into(),
                fields: None,
            })
            .collect(),
        None => vec![PutEntry {
            partition_key: key.into(),
            explicit_hash_key: Some(hash),
            data: data.into(),
            fields: None,
        }],
    };
    Ok(Prepared {
        shard,
        size,
        entries,
    })
}

fn check_partition_key(key: &str, path: &str) -> Result<(), ApiError> {
    let chars = key.chars().count();
    let constraint = if chars == 0 {
        "greater than or equal to 1"
    } else if chars > MAX_PARTITION_KEY_CHARS {
        "less than or equal to 256"
    } else {
        return Ok(());
    };
    Err(ApiError::validation(format!(
        "1 validation error detected: Value '{key:.300}' at '{path}' failed to satisfy \
         constraint: Member must have length {constraint}"
    )))
}

fn parse_hash_key(text: &str, path: &str) -> Result<u128, ApiError> {
    let well_formed = !text.is_empty()
        && text.len() <= 39
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if !well_formed {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value '{text:.64}' at '{path}' failed to satisfy \
             constraint: Member must satisfy regular expression pattern: 0|([1-9]\\d{{0,38}})"
        )));
    }
    parse_explicit_hash_key(text).map_err(|_| {
        ApiError::invalid_argument(format!(
            "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. \
             Specified value was {text}"
        ))
    })
}

fn within_write_quota(api: &StreamApi, record: &Prepared, now_ms: i64) -> bool {
    api.limits
        .as_ref()
        .is_none_or(|limits| limits.try_write(record.shard, record.size, now_ms as f64))
}

fn throughput_exceeded(api: &StreamApi, shard: usize) -> ApiError {
    ApiError::new(
        "ProvisionedThroughputExceededException",
        format!(
            "Rate exceeded for shard {} in stream {} under account {ACCOUNT}.",
            shard_id(shard),
            api.stream.name()
        ),
    )
}

/// Appends the records in one stream put; each record's result is its first user record's
/// sequence number, or the first error among its user records. Counts what was accepted.
fn write(
    api: &StreamApi,
    records: Vec<Prepared>,
    now_ms: i64,
) -> Vec<Result<SequenceNumber, ApiError>> {
    let counts: Vec<usize> = records.iter().map(|r| r.entries.len()).collect();
    let entries: Vec<PutEntry> = records.into_iter().flat_map(|r| r.entries).collect();
    let sizes: Vec<u64> = entries.iter().map(|e| e.data.len() as u64).collect();
    let results = api.stream.put(entries, now_ms);
    let (mut accepted, mut bytes) = (0, 0);
    for (result, size) in results.iter().zip(&sizes) {
        if result.is_ok() {
            accepted += 1;
            bytes += size;
        }
    }
    api.counters.add_in(accepted, bytes);
    let mut results = results.into_iter();
    counts
        .into_iter()
        .map(|count| {
            let mut first: Option<Result<SequenceNumber, ApiError>> = None;
            for result in results.by_ref().take(count) {
                match (result, &first) {
                    (Err(e), None | Some(Ok(_))) => first = Some(Err(from_stream_error(e))),
                    (Ok((_, number)), None) => first = Some(Ok(number)),
                    _ => {}
                }
            }
            first.unwrap_or_else(|| Err(ApiError::unavailable("the record was not written")))
        })
        .collect()
}
