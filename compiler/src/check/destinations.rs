//! Firehose settings per destination: buffer ranges, compression, retry, names, secrets, and
//! dynamic partitioning fields (the S3 prefix rules are in `prefix`).

use super::{prefix, Context};
use crate::ast::{Compression, DestinationKind, Firehose};
use crate::diagnostic::{codes, did_you_mean, Diagnostic};
use crate::ir::types::RecordType;
use crate::ir::units::{Duration, Size, MIB};
use crate::source::Spanned;
use crate::syntax::is_secret_reference;

/// Firehose's accepted buffering hints for one destination kind.
pub(crate) struct Limits {
    pub size_mib: (u64, u64),
    pub interval_s: (u64, u64),
    pub compressions: &'static [Compression],
}

pub(crate) fn limits(kind: &DestinationKind) -> Limits {
    use Compression::*;
    match kind {
        DestinationKind::S3(_) => Limits {
            size_mib: (1, 128),
            interval_s: (0, 900),
            compressions: &[None, Gzip, Zip, Snappy, HadoopSnappy],
        },
        DestinationKind::Redshift(_) => Limits {
            size_mib: (1, 128),
            interval_s: (0, 900),
            compressions: &[None, Gzip],
        },
        DestinationKind::OpenSearch(_) => Limits {
            size_mib: (1, 100),
            interval_s: (0, 900),
            compressions: &[None],
        },
        DestinationKind::Splunk(_) => Limits {
            size_mib: (1, 5),
            interval_s: (0, 60),
            compressions: &[None],
        },
        DestinationKind::Http(_) => Limits {
            size_mib: (1, 64),
            interval_s: (0, 900),
            compressions: &[None, Gzip],
        },
    }
}

pub(super) fn check(cx: &mut Context) {
    let spec = cx.spec;
    for firehose in &spec.firehoses {
        let what = format!("firehose \"{}\"", firehose.name.value);
        let Some(dest) = &firehose.to else { continue };
        buffer_and_compression(cx, firehose, &dest.kind, &what);
        if let Some(retry) = dest.kind.retry_duration() {
            if retry.value.0 % 1000 != 0 || retry.value.0 > 7_200_000 {
                cx.push(
                    Diagnostic::new(
                        codes::OUT_OF_RANGE,
                        retry.span,
                        format!("the retry duration of {what} is {}", retry.value),
                    )
                    .with_label("outside 0s..7200s")
                    .with_help("Firehose retries for 0 to 7200 seconds, in whole seconds"),
                );
            }
        }
        let record = firehose_record(cx, firehose);
        match &dest.kind {
            DestinationKind::S3(s3) => {
                if let Some(bucket) = &s3.bucket {
                    bucket_name(cx, bucket);
                }
                partition_by(cx, &s3.partition_by, record.as_ref(), &what);
                prefix::check(cx, s3, &what);
            }
            DestinationKind::Redshift(r) => {
                secret(cx, r.password.as_ref(), "the Redshift password", &what);
                if let Some(url) = &r.jdbc_url {
                    if let Some(at) = url.value.to_ascii_lowercase().find("password=") {
                        let end = url.value[at..]
                            .find(['&', ';'])
                            .map_or(url.value.len(), |e| at + e);
                        cx.push(
                            Diagnostic::new(codes::LITERAL_SECRET, url.inner_span(at, end), format!("the JDBC URL of {what} carries a password"))
                                .with_label("password in clear text")
                                .with_help("put the password in `password: ${secret:NAME}` and keep it out of the URL"),
                        );
                    }
                }
                if let Some(bucket) = &r.bucket {
                    bucket_name(cx, bucket);
                }
                if let Some(record) = &record {
                    for column in &r.columns {
                        if record.field(&column.value).is_none() {
                            let names: Vec<&str> =
                                record.fields.iter().map(|f| f.name.as_str()).collect();
                            cx.push(
                                Diagnostic::new(
                                    codes::BAD_PARTITION_BY,
                                    column.span,
                                    format!(
                                        "column \"{}\" of {what} is not a field of its records",
                                        column.value
                                    ),
                                )
                                .with_label("no such field")
                                .with_help_opt(did_you_mean(&column.value, names.iter().copied())),
                            );
                        }
                    }
                }
            }
            DestinationKind::OpenSearch(o) => {
                if let Some(index) = &o.index {
                    index_name(cx, index, &what);
                }
            }
            DestinationKind::Splunk(s) => {
                secret(cx, s.token.as_ref(), "the Splunk HEC token", &what);
                if let Some(ack) = &s.ack_timeout {
                    if !(180_000..=600_000).contains(&ack.value.0) {
                        cx.push(
                            Diagnostic::new(
                                codes::OUT_OF_RANGE,
                                ack.span,
                                format!("the acknowledgment timeout of {what} is {}", ack.value),
                            )
                            .with_help("Splunk HEC acknowledgment timeouts are 180s to 600s"),
                        );
                    }
                }
            }
            DestinationKind::Http(h) => {
                secret(
                    cx,
                    h.access_key.as_ref(),
                    "the HTTP endpoint access key",
                    &what,
                );
                if let Some(url) = &h.url {
                    if !url.value.starts_with("${") && !url.value.starts_with("https://") {
                        cx.push(
                            Diagnostic::new(
                                codes::INVALID_VALUE,
                                url.span,
                                format!("the URL of {what} is not an https:// URL"),
                            )
                            .with_help("Firehose delivers to HTTP endpoints over HTTPS only"),
                        );
                    }
                }
            }
        }
    }
}

/// The record type a firehose delivers: its source stream's, or its Direct PUT writers'.
fn firehose_record(cx: &Context, firehose: &Firehose) -> Option<RecordType> {
    let name = firehose.name.value.as_str();
    match &firehose.from {
        Some(from) => cx.stream_types.get(&from.value).cloned(),
        None => cx
            .spec
            .producers_to(name)
            .find_map(|p| {
                p.schema
                    .as_ref()
                    .and_then(|s| cx.schemas.get(&s.value).cloned())
            })
            .or_else(|| {
                cx.spec
                    .analytics_to(name)
                    .find_map(|a| cx.analytics_types.get(&a.name.value).cloned())
            }),
    }
}

fn buffer_and_compression(
    cx: &mut Context,
    firehose: &Firehose,
    kind: &DestinationKind,
    what: &str,
) {
    let l = limits(kind);
    let dest = kind.name();
    if let Some(size) = &firehose.buffer.size {
        let Size(bytes) = size.value;
        if bytes % MIB != 0 || !(l.size_mib.0..=l.size_mib.1).contains(&(bytes / MIB)) {
            cx.push(
                Diagnostic::new(
                    codes::OUT_OF_RANGE,
                    size.span,
                    format!("the buffer size of {what} is {}", size.value),
                )
                .with_label(if bytes % MIB != 0 {
                    format!(
                        "not a whole number of MiB (write `{}MiB`?)",
                        (bytes as f64 / MIB as f64).round().max(1.0)
                    )
                } else {
                    format!("outside {}MiB..{}MiB", l.size_mib.0, l.size_mib.1)
                })
                .with_help(format!(
                    "Firehose buffers {} to {} MiB, in whole MiB, for the {dest} destination",
                    l.size_mib.0, l.size_mib.1
                )),
            );
        }
    }
    if let Some(interval) = &firehose.buffer.interval {
        let Duration(ms) = interval.value;
        if ms % 1000 != 0 || !(l.interval_s.0..=l.interval_s.1).contains(&(ms / 1000)) {
            cx.push(
                Diagnostic::new(codes::OUT_OF_RANGE, interval.span, format!("the buffer interval of {what} is {}", interval.value))
                    .with_label(if ms % 1000 != 0 { "not a whole number of seconds".to_string() } else { format!("outside {}s..{}s", l.interval_s.0, l.interval_s.1) })
                    .with_help(format!("Firehose buffers {} to {} seconds, in whole seconds, for the {dest} destination", l.interval_s.0, l.interval_s.1)),
            );
        }
    }
    if let Some(c) = &firehose.compression {
        if !l.compressions.contains(&c.value) {
            let allowed: Vec<&str> = l.compressions.iter().map(|c| c.name()).collect();
            cx.push(
                Diagnostic::new(
                    codes::COMPRESSION_NOT_ACCEPTED,
                    c.span,
                    format!(
                        "{what} delivers to {dest}, which does not accept `{}` compression",
                        c.value.name()
                    ),
                )
                .with_label("not accepted here")
                .with_help(format!("{dest} accepts: {}", allowed.join(", "))),
            );
        }
    }
}

/// A secret field must be exactly `${secret:NAME}`.
fn secret(cx: &mut Context, value: Option<&Spanned<String>>, what_value: &str, what: &str) {
    let Some(value) = value else { return };
    let malformed = !crate::syntax::interpolations_ok(&value.value);
    if !malformed && !is_secret_reference(&value.value) {
        let shown = if value.value.starts_with("${var.") {
            "a plain variable"
        } else {
            "written in clear text"
        };
        cx.push(
            Diagnostic::new(codes::LITERAL_SECRET, value.span, format!("{what_value} of {what} is {shown}"))
                .with_label(if value.value.starts_with("${var.") { "not a secret" } else { "secret in clear text" })
                .with_help("write `${secret:NAME}`: kin reads it from the environment locally and from a sensitive variable on AWS, never from the spec"),
        );
    }
}

/// S3 bucket names: 3–63 characters, lowercase letters, digits, `.` and `-`, starting and ending alphanumeric.
fn bucket_name(cx: &mut Context, bucket: &Spanned<String>) {
    let name = &bucket.value;
    if name.contains("${") {
        return;
    }
    let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let valid = (3..=63).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && edge_ok(name.chars().next())
        && edge_ok(name.chars().last())
        && !name.contains("..");
    if !valid {
        cx.push(
            Diagnostic::new(codes::INVALID_NAME, bucket.span, format!("\"{name}\" is not a valid S3 bucket name"))
                .with_label("invalid bucket name")
                .with_help("bucket names are 3 to 63 lowercase letters, digits, `.` and `-`, starting and ending with a letter or digit"),
        );
    }
}

/// OpenSearch index names: lowercase, no spaces or `\/*?"<>|,#:`, not starting with `-_+`.
fn index_name(cx: &mut Context, index: &Spanned<String>, what: &str) {
    let name = &index.value;
    if name.contains("${") {
        return;
    }
    let valid = !name.is_empty()
        && name.len() <= 255
        && !name.starts_with(['-', '_', '+'])
        && !name
            .chars()
            .any(|c| c.is_ascii_uppercase() || c.is_whitespace() || "\\/*?\"<>|,#:".contains(c));
    if !valid {
        cx.push(
            Diagnostic::new(codes::INVALID_NAME, index.span, format!("\"{name}\" is not a valid OpenSearch index name in {what}"))
                .with_label("invalid index name")
                .with_help("index names are lowercase, at most 255 bytes, without spaces or \\ / * ? \" < > | , # :, and do not start with - _ +"),
        );
    }
}

fn partition_by(
    cx: &mut Context,
    fields: &[Spanned<String>],
    record: Option<&RecordType>,
    what: &str,
) {
    if fields.len() > 50 {
        cx.push(
            Diagnostic::new(
                codes::OUT_OF_RANGE,
                fields[50].span,
                format!("{what} partitions by {} keys", fields.len()),
            )
            .with_help("dynamic partitioning takes at most 50 keys"),
        );
    }
    let Some(record) = record else { return };
    for field in fields {
        match record.path(&field.value) {
            None => {
                let names: Vec<&str> = record.fields.iter().map(|f| f.name.as_str()).collect();
                cx.push(
                    Diagnostic::new(
                        codes::BAD_PARTITION_BY,
                        field.span,
                        format!(
                            "{what} partitions by \"{}\", which is not a field of its records",
                            field.value
                        ),
                    )
                    .with_label("no such field")
                    .with_help_opt(did_you_mean(&field.value, names.iter().copied())),
                );
            }
            Some(ty) if !ty.ty.is_scalar() => cx.push(
                Diagnostic::new(
                    codes::BAD_PARTITION_BY,
                    field.span,
                    format!(
                        "{what} partitions by \"{}\", which is {}, not a scalar",
                        field.value, ty
                    ),
                )
                .with_help("partition by a scalar field: its value becomes part of the S3 key"),
            ),
            Some(_) => {}
        }
    }
}
