//! `DescribeStream`, `DescribeStreamSummary`, `ListStreams` and `ListShards`, with AWS's
//! paging (`Limit`/`ExclusiveStart…`, `NextToken`).

use base64::Engine as _;
use serde_json::{json, Value};

use super::{shard_index, shard_json, stream, stream_arn};
use crate::api::error::ApiError;
use crate::api::json::{epoch_seconds, Input};
use crate::api::state::StreamApi;
use crate::api::Ctx;

fn retention_hours(api: &StreamApi) -> i64 {
    api.stream.config().retention_ms / 3_600_000
}

fn status(ctx: &Ctx<'_>) -> &'static str {
    if ctx.state.is_stopping() {
        "DELETING"
    } else {
        "ACTIVE"
    }
}

/// Shards after `ExclusiveStartShardId` (all if absent), up to `limit`; and whether more remain.
fn shard_page(
    api: &StreamApi,
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<Value>, bool), ApiError> {
    let first = match after {
        Some(id) => shard_index(api, id)? + 1,
        None => 0,
    };
    let count = api.stream.shard_count();
    let end = count.min(first.saturating_add(limit));
    let shards = (first..end).map(|i| shard_json(api, i)).collect();
    Ok((shards, end < count))
}

pub fn describe_stream(ctx: &Ctx<'_>, input: &Input<'_>) -> Result<Value, ApiError> {
    let api = stream(ctx.state, input)?;
    let limit = input.int_in("Limit", "limit", 1, 10_000)?.unwrap_or(100) as usize;
    let (shards, more) = shard_page(api, input.str("ExclusiveStartShardId")?, limit)?;
    Ok(json!({
        "StreamDescription": {
            "StreamName": api.stream.name(),
            "StreamARN": stream_arn(ctx.region, api.stream.name()),
            "StreamStatus": status(ctx),
            "StreamModeDetails": { "StreamMode": "PROVISIONED" },
            "Shards": shards,
            "HasMoreShards": more,
            "RetentionPeriodHours": retention_hours(api),
            "StreamCreationTimestamp": epoch_seconds(ctx.state.started_ms),
            "EnhancedMonitoring": [{ "ShardLevelMetrics": [] }],
            "EncryptionType": "NONE",
        }
    }))
}

pub fn describe_stream_summary(ctx: &Ctx<'_>, input: &Input<'_>) -> Result<Value, ApiError> {
    let api = stream(ctx.state, input)?;
    Ok(json!({
        "StreamDescriptionSummary": {
            "StreamName": api.stream.name(),
            "StreamARN": stream_arn(ctx.region, api.stream.name()),
            "StreamStatus": status(ctx),
            "StreamModeDetails": { "StreamMode": "PROVISIONED" },
            "RetentionPeriodHours": retention_hours(api),
            "StreamCreationTimestamp": epoch_seconds(ctx.state.started_ms),
            "EnhancedMonitoring": [{ "ShardLevelMetrics": [] }],
            "EncryptionType": "NONE",
            "OpenShardCount": api.stream.shard_count(),
            "ConsumerCount": 0,
            "MaxRecordSizeInKiB": api.stream.config().max_record_bytes / 1024,
        }
    }))
}

pub fn list_streams(ctx: &Ctx<'_>, input: &Input<'_>) -> Result<Value, ApiError> {
    let limit = input.int_in("Limit", "limit", 1, 10_000)?.unwrap_or(100) as usize;
    let after = match input.str("NextToken")? {
        Some(token) => Some(decode_token(token)?),
        None => input.str("ExclusiveStartStreamName")?.map(str::to_string),
    };
    let names: Vec<&String> = ctx
        .state
        .streams
        .keys()
        .filter(|name| after.as_ref().is_none_or(|after| *name > after))
        .collect();
    let page = &names[..names.len().min(limit)];
    let more = names.len() > page.len();
    let summaries: Vec<Value> = page
        .iter()
        .map(|name| {
            json!({
                "StreamName": name,
                "StreamARN": stream_arn(ctx.region, name),
                "StreamStatus": status(ctx),
                "StreamModeDetails": { "StreamMode": "PROVISIONED" },
                "StreamCreationTimestamp": epoch_seconds(ctx.state.started_ms),
            })
        })
        .collect();
    let mut out =
        json!({ "StreamNames": page, "HasMoreStreams": more, "StreamSummaries": summaries });
    if let (true, Some(last)) = (more, page.last()) {
        out["NextToken"] = json!(encode_token(last));
    }
    Ok(out)
}

pub fn list_shards(ctx: &Ctx<'_>, input: &Input<'_>) -> Result<Value, ApiError> {
    let limit = input
        .int_in("MaxResults", "maxResults", 1, 10_000)?
        .unwrap_or(1000) as usize;
    let (api, after) = match input.str("NextToken")? {
        Some(token) => {
            if input.str("StreamName")?.is_some() || input.str("StreamARN")?.is_some() {
                return Err(ApiError::invalid_argument(
                    "NextToken and StreamName cannot be provided together.",
                ));
            }
            let token = decode_token(token)?;
            let (name, after) = token
                .split_once('/')
                .ok_or_else(|| ApiError::invalid_argument("Invalid NextToken."))?;
            let api = ctx
                .state
                .streams
                .get(name)
                .ok_or_else(|| ApiError::stream_not_found(name))?;
            (api, Some(after.to_string()))
        }
        None => {
            let api = stream(ctx.state, input)?;
            let filter = input.object("ShardFilter")?;
            let after = match &filter {
                Some(f) if f.required_str("Type", "shardFilter.type")? == "AFTER_SHARD_ID" => Some(
                    f.required_str("ShardId", "shardFilter.shardId")?
                        .to_string(),
                ),
                // Every shard is open and was there from the start: the other filters keep all.
                _ => input.str("ExclusiveStartShardId")?.map(str::to_string),
            };
            (api, after)
        }
    };
    let (shards, more) = shard_page(api, after.as_deref(), limit)?;
    let mut out = json!({ "Shards": shards });
    if more {
        let last = shards
            .last()
            .and_then(|s| s["ShardId"].as_str())
            .unwrap_or_default();
        out["NextToken"] = json!(encode_token(&format!("{}/{last}", api.stream.name())));
    }
    Ok(out)
}

fn encode_token(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn decode_token(token: &str) -> Result<String, ApiError> {
    base64::engine::general_purpose::STANDARD
        .decode(token)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| ApiError::invalid_argument("Invalid NextToken."))
}
