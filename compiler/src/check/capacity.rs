//! Capacity: the declared producer rates into each provisioned stream against its shards
//! (1 MiB/s and 1,000 records/s each), and into each Direct PUT firehose against its quota.

use super::Context;
use crate::ast::{Producer, StreamMode};
use crate::diagnostic::{codes, Diagnostic};
use crate::ir::graph::NodeKind;
use crate::ir::units::{format_number, MIB};
use crate::source::Span;

pub(crate) const SHARD_RECORDS_PER_S: f64 = 1000.0;
pub(crate) const SHARD_BYTES_PER_S: f64 = MIB as f64;
/// Below this share of free capacity, kin warns (K1002).
const HEADROOM: f64 = 0.2;
/// A partition key's share of a record's size, when the key is not known (a UUID).
const PARTITION_KEY_BYTES: u64 = 36;

/// The load of a set of producers: records/s, bytes/s and where each rate was declared.
struct Load {
    records: f64,
    bytes: f64,
    rate_spans: Vec<Span>,
}

fn load(cx: &Context, target: &str, key_bytes: u64) -> Option<Load> {
    let writers: Vec<&Producer> = cx.spec.producers_to(target).collect();
    let mut load = Load {
        records: 0.0,
        bytes: 0.0,
        rate_spans: Vec::new(),
    };
    for p in writers {
        let Some(rate) = &p.rate else { continue };
        let size = match (
            &p.record_size,
            p.schema.as_ref().and_then(|s| cx.schemas.get(&s.value)),
        ) {
            (Some(size), _) => size.value.0,
            (None, Some(record)) => record.estimated_json_size(),
            (None, None) => continue,
        };
        load.records += rate.value.0;
        load.bytes += rate.value.0 * (size + key_bytes) as f64;
        load.rate_spans.push(rate.span);
    }
    (!load.rate_spans.is_empty()).then_some(load)
}

pub(super) fn check(cx: &mut Context) {
    let spec = cx.spec;
    for stream in &spec.streams {
        let on_demand = stream
            .mode
            .as_ref()
            .is_some_and(|m| m.value == StreamMode::OnDemand);
        let Some(shards) = stream
            .shards
            .as_ref()
            .filter(|s| !on_demand && s.value >= 1)
        else {
            continue;
        };
        let Some(load) = load(cx, &stream.name.value, PARTITION_KEY_BYTES) else {
            continue;
        };
        let n = shards.value as f64;
        let needed = (load.records / SHARD_RECORDS_PER_S).max(load.bytes / SHARD_BYTES_PER_S);
        let minimum = needed.ceil().max(1.0);
        let comfortable = (needed / (1.0 - HEADROOM)).ceil().max(1.0);
        let usage = format!(
            "{} record{}/s and {} into {} shard{}",
            format_number(load.records),
            if load.records == 1.0 { "" } else { "s" },
            bytes_per_s(load.bytes),
            shards.value,
            if shards.value == 1 { "" } else { "s" }
        );
        let what = format!("stream \"{}\"", stream.name.value);
        let diagnostic = if needed > n {
            Diagnostic::new(codes::STREAM_OVER_CAPACITY, shards.span, format!("the producers of {what} write {usage}, more than those shards accept"))
                .with_label("too few shards")
                .with_help(format!(
                    "`shards: {}` would suffice ({} is the bare minimum; each shard takes 1 MiB/s and 1,000 records/s)",
                    comfortable, minimum
                ))
        } else if needed > n * (1.0 - HEADROOM) {
            Diagnostic::new(
                codes::LOW_HEADROOM,
                shards.span,
                format!(
                    "the producers of {what} write {usage}, {:.0}% of their capacity",
                    100.0 * needed / n
                ),
            )
            .with_label("less than 20% headroom")
            .with_help(format!(
                "`shards: {comfortable}` leaves 20% headroom for bursts"
            ))
        } else {
            continue;
        };
        cx.push(with_rates(diagnostic, &load));
    }
    for firehose in &spec.firehoses {
        if firehose.from.is_some()
            || !matches!(
                cx.nodes.get(firehose.name.value.as_str()),
                Some((NodeKind::Firehose, _))
            )
        {
            continue;
        }
        let Some(load) = load(cx, &firehose.name.value, 0) else {
            continue;
        };
        let (records, bytes) = direct_put_quota(cx.region());
        let what = format!("firehose \"{}\"", firehose.name.value);
        let needed = (load.records / records).max(load.bytes / bytes);
        let usage = format!(
            "{} records/s and {}",
            format_number(load.records),
            bytes_per_s(load.bytes)
        );
        let quota = format!(
            "{} records/s and {} in {}",
            format_number(records),
            bytes_per_s(bytes),
            cx.region()
        );
        let diagnostic = if needed > 1.0 {
            Diagnostic::new(codes::DIRECT_PUT_OVER_CAPACITY, firehose.name.span, format!("the producers of {what} write {usage}, above its Direct PUT quota of {quota}"))
                .with_label("over the Direct PUT quota")
                .with_help("write to a stream and let the firehose read from it (`from: STREAM`), or ask AWS to raise the quota")
        } else if needed > 1.0 - HEADROOM {
            Diagnostic::new(codes::LOW_HEADROOM, firehose.name.span, format!("the producers of {what} write {usage}, {:.0}% of its Direct PUT quota of {quota}", 100.0 * needed))
                .with_label("less than 20% headroom")
                .with_help("write to a stream and let the firehose read from it, or ask AWS to raise the quota")
        } else {
            continue;
        };
        cx.push(with_rates(diagnostic, &load));
    }
}

fn with_rates(mut diagnostic: Diagnostic, load: &Load) -> Diagnostic {
    for span in &load.rate_spans {
        diagnostic = diagnostic.with_secondary(*span, "declared rate");
    }
    diagnostic
}

/// Firehose Direct PUT quotas (records/s, bytes/s) by region, from AWS's current quota page:
/// 500,000 records/s and 5 MiB/s in us-east-1, us-west-2 and eu-west-1; 100,000 records/s
/// and 1 MiB/s elsewhere. (The fact sheet's 5,000/1,000 records/s come from the archived guide.)
pub(crate) fn direct_put_quota(region: &str) -> (f64, f64) {
    match region {
        "us-east-1" | "us-west-2" | "eu-west-1" => (500_000.0, 5.0 * MIB as f64),
        _ => (100_000.0, MIB as f64),
    }
}

fn bytes_per_s(bytes: f64) -> String {
    if bytes >= MIB as f64 {
        format!("{:.2} MiB/s", bytes / MIB as f64)
    } else {
        format!("{:.0} KiB/s", bytes / 1024.0)
    }
}
