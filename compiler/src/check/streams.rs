//! Stream and analytics settings against AWS's limits: shards or on-demand, retention,
//! max record size, partition key, and analytics parallelism.

use super::Context;
use crate::ast::{Encryption, PartitionKey, Stream, StreamMode};
use crate::diagnostic::{codes, did_you_mean, Diagnostic};
use crate::ir::types::FieldType;
use crate::ir::units::{Duration, MIB};
use crate::source::Spanned;

/// Shards per stream: UpdateShardCount's default per-stream ceiling.
pub(crate) const MAX_SHARDS: i64 = 10_000;
const HOUR_MS: u64 = 3_600_000;

pub(super) fn check(cx: &mut Context) {
    let spec = cx.spec;
    for stream in &spec.streams {
        let what = format!("stream \"{}\"", stream.name.value);
        capacity_mode(cx, stream, &what);
        retention(cx, stream, &what);
        if let Some(size) = &stream.max_record_size {
            let kib = size.value.0 / 1024;
            if size.value.0 % 1024 != 0 || !(1024..=10240).contains(&kib) {
                cx.push(
                    Diagnostic::new(
                        codes::OUT_OF_RANGE,
                        size.span,
                        format!("the max record size of {what} is {}", size.value),
                    )
                    .with_label(if size.value.0 % 1024 != 0 {
                        "not a whole number of KiB"
                    } else {
                        "outside 1MiB..10MiB"
                    })
                    .with_help(
                        "Kinesis accepts a max record size from 1MiB to 10MiB, in whole KiB",
                    ),
                );
            }
        }
        partition_key(cx, stream, &what);
    }
    record_sizes(cx);
    kms_keys(cx);
    for a in &spec.analytics {
        if let Some(p) = &a.parallelism {
            if !(1..=1024).contains(&p.value) {
                cx.push(
                    Diagnostic::new(
                        codes::OUT_OF_RANGE,
                        p.span,
                        format!(
                            "the parallelism of analytics \"{}\" is {}",
                            a.name.value, p.value
                        ),
                    )
                    .with_help("parallelism is from 1 to 1024"),
                );
            }
        }
        if let Some(c) = &a.checkpoint_interval {
            if c.value.0 < 1000 {
                cx.push(
                    Diagnostic::new(
                        codes::OUT_OF_RANGE,
                        c.span,
                        format!(
                            "the checkpoint interval of analytics \"{}\" is {}",
                            a.name.value, c.value
                        ),
                    )
                    .with_help(
                        "checkpoint at most once a second: the default on Managed Flink is 60s",
                    ),
                );
            }
        }
    }
}

fn capacity_mode(cx: &mut Context, stream: &Stream, what: &str) {
    let on_demand = stream
        .mode
        .as_ref()
        .is_some_and(|m| m.value == StreamMode::OnDemand);
    match (&stream.shards, on_demand) {
        (Some(shards), true) => cx.push(
            Diagnostic::new(codes::CONFLICTING_SETTINGS, shards.span, format!("{what} is on-demand but also sets a shard count"))
                .with_label("shards of an on-demand stream")
                .with_help("AWS sizes on-demand streams itself: remove `shards`, or remove `mode: on_demand` to keep a fixed count"),
        ),
        (Some(shards), false) if shards.value < 1 => cx.push(
            Diagnostic::new(codes::OUT_OF_RANGE, shards.span, format!("{what} has {} shards", shards.value))
                .with_label("a stream needs at least one shard")
                .with_help("write `shards: 1` or more (each takes 1 MiB/s and 1,000 records/s), or `mode: on_demand`"),
        ),
        (Some(shards), false) if shards.value > MAX_SHARDS => cx.push(
            Diagnostic::new(codes::OUT_OF_RANGE, shards.span, format!("{what} has {} shards", shards.value))
                .with_label(format!("outside 1..{MAX_SHARDS}"))
                .with_help(format!("a provisioned stream has 1 to {MAX_SHARDS} shards; for more, ask AWS for a higher limit or use `mode: on_demand`")),
        ),
        (None, false) if !capacity_written(stream) => cx.push(
            Diagnostic::new(codes::MISSING_KEY, stream.name.span, format!("{what} has neither a shard count nor `mode: on_demand`"))
                .with_label("capacity not set")
                .with_help("add `shards: N` for a provisioned stream (1 MiB/s and 1,000 records/s each) or `mode: on_demand`"),
        ),
        _ => {}
    }
}

fn retention(cx: &mut Context, stream: &Stream, what: &str) {
    let Some(r) = &stream.retention else { return };
    let Duration(ms) = r.value;
    if ms % HOUR_MS != 0 || !(24 * HOUR_MS..=8760 * HOUR_MS).contains(&ms) {
        cx.push(
            Diagnostic::new(
                codes::OUT_OF_RANGE,
                r.span,
                format!("the retention of {what} is {}", r.value),
            )
            .with_label("outside 24h..8760h")
            .with_help("Kinesis keeps records from 24h to 8760h (365d), in whole hours"),
        );
    }
}

fn partition_key(cx: &mut Context, stream: &Stream, what: &str) {
    let Some(key) = &stream.partition_key else {
        return;
    };
    let PartitionKey::Field(field) = &key.value else {
        return;
    };
    let Some(record) = cx.stream_types.get(&stream.name.value) else {
        return;
    };
    let problem = match record.path(field) {
        None => {
            let names: Vec<&str> = record.fields.iter().map(|f| f.name.as_str()).collect();
            Some((format!("the partition key \"{field}\" of {what} is not a field of its records"), did_you_mean(field, names.iter().copied())))
        }
        Some(FieldType { nullable: true, .. }) => Some((
            format!("the partition key \"{field}\" of {what} is nullable"),
            Some("a record without a key cannot be placed on a shard: choose a non-null field, or `random`".to_string()),
        )),
        Some(FieldType { ty, .. }) if !ty.is_scalar() => Some((
            format!("the partition key \"{field}\" of {what} is {ty}, not a scalar"),
            Some("choose a field of a scalar type such as `string` or `int`, or `random`".to_string()),
        )),
        Some(_) => None,
    };
    if let Some((message, help)) = problem {
        cx.push(
            Diagnostic::new(codes::INVALID_PARTITION_KEY, key.span, message)
                .with_label("invalid partition key")
                .with_help_opt(help),
        );
    }
}

/// Firehose's per-record limit (before base64), for Direct PUT writers.
pub(crate) const FIREHOSE_MAX_RECORD: u64 = 1000 * 1024;

/// A producer's declared `record_size` must fit its target: the stream's max record size
/// (1 MiB unless raised) or Firehose's 1,000 KiB.
fn record_sizes(cx: &mut Context) {
    let spec = cx.spec;
    for p in &spec.producers {
        if let Some(rate) = p.rate.as_ref().filter(|r| r.value.0 <= 0.0) {
            cx.push(
                Diagnostic::new(
                    codes::OUT_OF_RANGE,
                    rate.span,
                    format!("the rate of producer \"{}\" is zero", p.name.value),
                )
                .with_help("declare the expected peak rate, e.g. `rate: 100/s`, or remove `rate`"),
            );
        }
        if let Some(size) = p.record_size.as_ref().filter(|s| s.value.0 == 0) {
            cx.push(
                Diagnostic::new(codes::OUT_OF_RANGE, size.span, format!("the record size of producer \"{}\" is zero", p.name.value))
                    .with_help("declare the typical record size, e.g. `record_size: 300B`, or remove it to estimate it from the schema"),
            );
        }
        let (Some(size), Some(to)) = (&p.record_size, &p.to) else {
            continue;
        };
        let (limit, target) =
            if let Some(stream) = spec.streams.iter().find(|s| s.name.value == to.value) {
                (
                    stream.max_record_size.as_ref().map_or(MIB, |m| m.value.0),
                    format!("stream \"{}\"", to.value),
                )
            } else if spec.firehoses.iter().any(|f| f.name.value == to.value) {
                (FIREHOSE_MAX_RECORD, format!("firehose \"{}\"", to.value))
            } else {
                continue;
            };
        if size.value.0 > limit {
            cx.push(
                Diagnostic::new(
                    codes::OUT_OF_RANGE,
                    size.span,
                    format!("producer \"{}\" writes {} records to {target}, which takes at most {}", p.name.value, size.value, crate::ir::units::Size(limit)),
                )
                .with_label("record too large")
                .with_help(if target.starts_with("stream") {
                    "raise the stream's `max_record_size` (up to 10MiB), or split the records".to_string()
                } else {
                    "Firehose records are at most 1000KiB: split the records, or write to a stream with a larger max_record_size".to_string()
                }),
            );
        }
    }
}

/// A named KMS key: a key id, a key or alias ARN, `alias/NAME` or `${var.X}`.
fn kms_keys(cx: &mut Context) {
    let spec = cx.spec;
    let keys = spec
        .streams
        .iter()
        .map(|s| (format!("stream \"{}\"", s.name.value), &s.encryption))
        .chain(
            spec.firehoses
                .iter()
                .map(|f| (format!("firehose \"{}\"", f.name.value), &f.encryption)),
        );
    let mut bad = Vec::new();
    for (what, encryption) in keys {
        if let Some(Spanned {
            value: Encryption::KmsKey(key),
            ..
        }) = encryption
        {
            if !is_kms_key(&key.value) {
                bad.push((what, key.clone()));
            }
        }
    }
    for (what, key) in bad {
        cx.push(
            Diagnostic::new(codes::INVALID_VALUE, key.span, format!("the KMS key of {what} is not a key id, key ARN or alias"))
                .with_label("not a KMS key")
                .with_help("write `alias/NAME`, a key ARN `arn:aws:kms:REGION:ACCOUNT:key/ID`, a key id, or `${var.NAME}`"),
        );
    }
}

fn is_kms_key(key: &str) -> bool {
    let uuid = |s: &str| s.len() == 36 && s.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    let alias = |s: &str| {
        s.strip_prefix("alias/").is_some_and(|n| {
            !n.is_empty()
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/_-".contains(c))
        })
    };
    let arn = |s: &str| {
        let parts: Vec<&str> = s.splitn(6, ':').collect();
        parts.len() == 6
            && parts[0] == "arn"
            && parts[1].starts_with("aws")
            && parts[2] == "kms"
            && parts[4].len() == 12
            && (parts[5].strip_prefix("key/").is_some_and(uuid)
                || parts[5]
                    .strip_prefix("key/")
                    .is_some_and(|k| k.starts_with("mrk-"))
                || alias(parts[5]))
    };
    (key.starts_with("${var.") && key.ends_with('}')) || uuid(key) || alias(key) || arn(key)
}

/// Whether the stream sets its capacity: `shards`, or a `mode` (even one that could not be read).
fn capacity_written(stream: &Stream) -> bool {
    let unreadable_mode = stream.written.contains(&"mode") && stream.mode.is_none();
    stream.written.contains(&"shards") || unreadable_mode
}
