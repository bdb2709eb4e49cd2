//! Warnings: what is legal but probably a mistake (errors under `--deny-warnings`).

use super::Context;
use crate::ast::Encryption;
use crate::diagnostic::{codes, nearest, Diagnostic};

/// Above this buffer interval, data sits in Firehose for more than five minutes.
const LONG_INTERVAL_MS: u64 = 300_000;

pub(super) fn check(cx: &mut Context) {
    let spec = cx.spec;
    for stream in &spec.streams {
        let name = &stream.name.value;
        let stream_names: Vec<&str> = spec.streams.iter().map(|s| s.name.value.as_str()).collect();
        // A misspelt `from` (already an error) that is closest to this stream counts as a reader.
        let reads = |s: &str| {
            s == name
                || (!stream_names.contains(&s)
                    && nearest(s, stream_names.iter().copied()) == Some(name))
        };
        let unreadable_from = spec
            .firehoses
            .iter()
            .any(|f| f.from.is_none() && f.written.contains(&"from"));
        let read = unreadable_from
            || spec
                .firehoses
                .iter()
                .any(|f| f.from.as_ref().is_some_and(|s| reads(&s.value)))
            || spec
                .analytics
                .iter()
                .any(|a| a.from.iter().any(|s| reads(&s.value)));
        if !read {
            cx.push(
                Diagnostic::new(
                    codes::UNREAD_STREAM,
                    stream.name.span,
                    format!("nothing reads from stream \"{name}\""),
                )
                .with_label("never read")
                .with_help(
                    "add a firehose or analytics with `from: ".to_string()
                        + name
                        + "`, or remove the stream",
                ),
            );
        }
        if let Some(e) = stream
            .encryption
            .as_ref()
            .filter(|e| e.value == Encryption::None)
        {
            cx.push(
                Diagnostic::new(
                    codes::ENCRYPTION_OFF,
                    e.span,
                    format!("stream \"{name}\" is not encrypted at rest"),
                )
                .with_help("remove `encryption: none` to encrypt with KMS (the default)"),
            );
        }
    }
    for firehose in &spec.firehoses {
        let name = &firehose.name.value;
        let max_ms = firehose.to.as_ref().map_or(900_000, |d| {
            super::destinations::limits(&d.kind).interval_s.1 * 1000
        });
        if let Some(i) = firehose
            .buffer
            .interval
            .as_ref()
            .filter(|i| i.value.0 > LONG_INTERVAL_MS && i.value.0 <= max_ms)
        {
            cx.push(
                Diagnostic::new(codes::LONG_BUFFER_INTERVAL, i.span, format!("firehose \"{name}\" holds records for up to {} before delivery", i.value))
                    .with_help("a buffer interval above 300s delays every delivery; lower it unless the delay is wanted"),
            );
        }
        if let Some(e) = firehose
            .encryption
            .as_ref()
            .filter(|e| e.value == Encryption::None)
        {
            cx.push(
                Diagnostic::new(
                    codes::ENCRYPTION_OFF,
                    e.span,
                    format!("firehose \"{name}\" does not encrypt at rest"),
                )
                .with_help("remove `encryption: none` to encrypt with KMS (the default)"),
            );
        }
        let fed = firehose.from.is_some()
            || firehose.written.contains(&"from")
            || spec.producers_to(name).next().is_some()
            || spec.analytics_to(name).next().is_some();
        if !fed {
            cx.push(
                Diagnostic::new(
                    codes::UNFED_FIREHOSE,
                    firehose.name.span,
                    format!("nothing writes to firehose \"{name}\""),
                )
                .with_label("no source")
                .with_help(
                    "give it `from: STREAM`, or point a producer or analytics at it with `to:`",
                ),
            );
        }
    }
    for schema in &spec.schemas {
        let name = &schema.name.value;
        let used = spec
            .producers
            .iter()
            .any(|p| p.schema.as_ref().is_some_and(|s| &s.value == name))
            || spec
                .streams
                .iter()
                .any(|s| s.schema.as_ref().is_some_and(|s| &s.value == name));
        if !used {
            cx.push(
                Diagnostic::new(
                    codes::UNUSED_SCHEMA,
                    schema.name.span,
                    format!("schema \"{name}\" is never used"),
                )
                .with_help("reference it from a producer or stream with `schema:`, or remove it"),
            );
        }
    }
}
