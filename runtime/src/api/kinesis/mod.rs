//! Kinesis Data Streams (`X-Amz-Target: Kinesis_20131202.<Op>`): the operations kin serves for
//! the spec's streams, and AWS's errors for the others.

mod describe;
mod put;
mod read;

use serde_json::{json, Value};

use super::error::{ApiError, ACCOUNT};
use super::json::Input;
use super::{ApiState, Ctx};
use crate::hash::shard_id;
use crate::stream::{SequenceNumber, StreamError};

use super::state::StreamApi;

/// The `X-Amz-Target` prefix of Kinesis operations.
pub const TARGET_PREFIX: &str = "Kinesis_20131202";

/// Operations of the Kinesis API that kin does not serve: the streams are the spec's.
const NOT_SERVED: &[&str] = &[
    "AddTagsToStream",
    "CreateStream",
    "DecreaseStreamRetentionPeriod",
    "DeleteResourcePolicy",
    "DeleteStream",
    "DeregisterStreamConsumer",
    "DescribeAccountSettings",
    "DescribeLimits",
    "DescribeStreamConsumer",
    "DisableEnhancedMonitoring",
    "EnableEnhancedMonitoring",
    "GetResourcePolicy",
    "IncreaseStreamRetentionPeriod",
    "ListStreamConsumers",
    "ListTagsForResource",
    "ListTagsForStream",
    "MergeShards",
    "PutResourcePolicy",
    "RegisterStreamConsumer",
    "RemoveTagsFromStream",
    "SplitShard",
    "StartStreamEncryption",
    "StopStreamEncryption",
    "SubscribeToShard",
    "TagResource",
    "UntagResource",
    "UpdateAccountSettings",
    "UpdateMaxRecordSize",
    "UpdateShardCount",
    "UpdateStreamMode",
    "UpdateStreamWarmThroughput",
];

/// Runs one Kinesis operation.
pub fn call(ctx: &Ctx<'_>, operation: &str, input: &Input<'_>) -> Result<Value, ApiError> {
    match operation {
        "PutRecord" => put::put_record(ctx, input),
        "PutRecords" => put::put_records(ctx, input),
        "GetShardIterator" => read::get_shard_iterator(ctx, input),
        "GetRecords" => read::get_records(ctx, input),
        "DescribeStream" => describe::describe_stream(ctx, input),
        "DescribeStreamSummary" => describe::describe_stream_summary(ctx, input),
        "ListStreams" => describe::list_streams(ctx, input),
        "ListShards" => describe::list_shards(ctx, input),
        "CreateStream" => {
            let name = input.required_str("StreamName", "streamName")?;
            if ctx.state.streams.contains_key(name) {
                return Err(ApiError::new(
                    "ResourceInUseException",
                    format!("Stream {name} under account {ACCOUNT} already exists."),
                ));
            }
            Err(not_served(operation))
        }
        op if NOT_SERVED.contains(&op) => Err(not_served(op)),
        op => Err(unknown_operation(TARGET_PREFIX, op)),
    }
}

/// The error for an operation kin knows but does not serve.
pub fn not_served(operation: &str) -> ApiError {
    ApiError::new(
        "AccessDeniedException",
        format!(
            "kin run serves the streams and delivery streams of its spec and does not support \
             {operation}: change the spec (pipeline.yaml) and run it again"
        ),
    )
}

pub fn unknown_operation(prefix: &str, operation: &str) -> ApiError {
    ApiError::new(
        "UnknownOperationException",
        format!("{prefix}.{operation} is not an operation kin run serves"),
    )
}

pub fn stream_arn(region: &str, name: &str) -> String {
    format!("arn:aws:kinesis:{region}:{ACCOUNT}:stream/{name}")
}

/// The stream name in a stream ARN (`arn:aws:kinesis:REGION:ACCOUNT:stream/NAME`).
pub fn name_from_arn(arn: &str) -> Result<&str, ApiError> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let name = match parts[..] {
        ["arn", partition, "kinesis", _region, account, resource]
            if partition.starts_with("aws")
                && account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit()) =>
        {
            resource.strip_prefix("stream/").filter(|n| !n.is_empty())
        }
        _ => None,
    };
    name.ok_or_else(|| {
        ApiError::validation(format!(
            "1 validation error detected: Value '{arn}' at 'streamARN' failed to satisfy \
             constraint: Member must satisfy regular expression pattern: \
             arn:aws.*:kinesis:.*:\\d{{12}}:stream/\\S+"
        ))
    })
}

/// The stream a request names by `StreamName` or `StreamARN`.
pub fn stream<'s>(state: &'s ApiState, input: &Input<'_>) -> Result<&'s StreamApi, ApiError> {
    let name = match (input.str("StreamName")?, input.str("StreamARN")?) {
        (None, None) => {
            return Err(ApiError::invalid_argument(
                "Either StreamName or StreamARN should be provided.",
            ))
        }
        (Some(name), None) => name,
        (None, Some(arn)) => name_from_arn(arn)?,
        (Some(name), Some(arn)) => {
            if name_from_arn(arn)? != name {
                return Err(ApiError::invalid_argument(format!(
                    "StreamARN {arn} and StreamName {name} name different streams."
                )));
            }
            name
        }
    };
    state
        .streams
        .get(name)
        .ok_or_else(|| ApiError::stream_not_found(name))
}

/// The index of `shardId-000000000003` in `stream`, or AWS's not-found error.
pub fn shard_index(api: &StreamApi, id: &str) -> Result<usize, ApiError> {
    id.strip_prefix("shardId-")
        .filter(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|digits| digits.parse::<usize>().ok())
        .filter(|&index| index < api.stream.shard_count())
        .ok_or_else(|| {
            ApiError::new(
                "ResourceNotFoundException",
                format!(
                    "Shard {id} in stream {} under account {ACCOUNT} does not exist",
                    api.stream.name()
                ),
            )
        })
}

/// A shard as `DescribeStream` and `ListShards` show it.
pub fn shard_json(api: &StreamApi, index: usize) -> Value {
    let (start, end) = api.stream.hash_ranges().range(index);
    json!({
        "ShardId": shard_id(index),
        "HashKeyRange": { "StartingHashKey": start.to_string(), "EndingHashKey": end.to_string() },
        "SequenceNumberRange": { "StartingSequenceNumber": SequenceNumber::new(index, 0).to_string() },
    })
}

/// A stream's error as the API reports it (kin's `StreamClosed`: the run is stopping).
pub fn from_stream_error(error: StreamError) -> ApiError {
    match error.code {
        "StreamClosed" => ApiError::unavailable(error.message),
        "InternalFailure" => ApiError {
            code: "InternalFailure",
            message: error.message,
            status: 500,
        },
        code => ApiError::new(code, error.message),
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
