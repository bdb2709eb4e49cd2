//! Firehose's rules for S3 `prefix` and `error_prefix` expressions.

use super::Context;
use crate::ast::S3;
use crate::diagnostic::{codes, Diagnostic};
use crate::ir::prefix::{parse_pieces, parse_prefix, Piece, PrefixPart};
use crate::source::Spanned;

/// Prefix and ErrorOutputPrefix are at most 512 characters after evaluation.
const MAX_PREFIX: usize = 512;

pub(super) fn check(cx: &mut Context, s3: &S3, what: &str) {
    let prefix = s3.prefix.as_ref().map(|p| (p, parts(cx, p, what)));
    let error_prefix = s3.error_prefix.as_ref().map(|p| (p, parts(cx, p, what)));
    let partition_keys: Vec<String> = s3
        .partition_by
        .iter()
        .map(|f| partition_key_name(&f.value))
        .collect();

    if let Some((p, parts)) = &prefix {
        for Piece { start, end, part } in parts {
            let at = p.inner_span(*start, *end);
            match part {
                PrefixPart::Firehose(v) if v == "error-output-type" => cx.push(
                    Diagnostic::new(codes::ERROR_OUTPUT_TYPE_MISPLACED, at, format!("the prefix of {what} uses `!{{firehose:error-output-type}}`"))
                        .with_label("only allowed in error_prefix")
                        .with_help("Firehose allows `!{firehose:error-output-type}` only in the error prefix; move it to `error_prefix`"),
                ),
                PrefixPart::PartitionKey(key) if !partition_keys.contains(key) => cx.push(
                    Diagnostic::new(
                        codes::BAD_PREFIX_EXPRESSION,
                        at,
                        if partition_keys.contains(&partition_key_name(key)) {
                            format!("the prefix of {what} names partition key \"{key}\", but Firehose partition keys cannot contain `.`")
                        } else {
                            format!("the prefix of {what} uses partition key \"{key}\", which is not in partition_by")
                        },
                    )
                    .with_label("not a partition key of this firehose")
                        .with_help(if partition_keys.contains(&partition_key_name(key)) {
                            format!("a nested field's key is named with `_` for `.`: write `!{{partitionKeyFromQuery:{}}}`", partition_key_name(key))
                        } else {
                            format!("add `{key}` to `partition_by`, or remove the expression")
                        }),
                ),
                PrefixPart::LambdaKey(key) => cx.push(
                    Diagnostic::new(codes::BAD_PREFIX_EXPRESSION, at, format!("the prefix of {what} uses `!{{partitionKeyFromLambda:{key}}}`, but kin generates no Lambda processor"))
                        .with_label("no Lambda partitioning")
                        .with_help("partition with `partition_by: [FIELD]`, which kin turns into `!{partitionKeyFromQuery:FIELD}`"),
                ),
                _ => {}
            }
        }
        let has_expressions = parts
            .iter()
            .any(|p| !matches!(p.part, PrefixPart::Literal(_)))
            || !partition_keys.is_empty();
        if has_expressions && error_prefix.is_none() {
            cx.push(
                Diagnostic::new(codes::PREFIX_WITHOUT_ERROR_PREFIX, p.span, format!("the prefix of {what} has expressions but there is no error_prefix"))
                    .with_label("prefix with expressions")
                    .with_help("Firehose requires an error prefix here: add `error_prefix: \"errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/\"`"),
            );
        }
        length(cx, p, what, "prefix");
    } else if !partition_keys.is_empty() && error_prefix.is_none() {
        cx.push(
            Diagnostic::new(codes::PREFIX_WITHOUT_ERROR_PREFIX, s3.partition_by[0].span, format!("{what} partitions its records but has no error_prefix"))
                .with_help("dynamic partitioning needs an error prefix: add `error_prefix: \"errors/!{firehose:error-output-type}/\"`"),
        );
    }

    if let Some((p, parts)) = &error_prefix {
        let has_expressions = parts
            .iter()
            .any(|p| !matches!(p.part, PrefixPart::Literal(_)));
        let has_type = parts
            .iter()
            .any(|p| matches!(&p.part, PrefixPart::Firehose(v) if v == "error-output-type"));
        if has_expressions && !has_type {
            cx.push(
                Diagnostic::new(codes::ERROR_OUTPUT_TYPE_MISPLACED, p.span, format!("the error_prefix of {what} has expressions but no `!{{firehose:error-output-type}}`"))
                    .with_label("missing the error output type")
                    .with_help("Firehose requires `!{firehose:error-output-type}` in an error prefix with expressions, e.g. `errors/!{firehose:error-output-type}/`"),
            );
        }
        for Piece { start, end, part } in parts {
            if let PrefixPart::PartitionKey(key) | PrefixPart::LambdaKey(key) = part {
                cx.push(
                    Diagnostic::new(codes::BAD_PREFIX_EXPRESSION, p.inner_span(*start, *end), format!("the error_prefix of {what} uses partition key \"{key}\""))
                        .with_label("not allowed in error_prefix")
                        .with_help("failed records have no partition keys: partition keys are allowed only in `prefix`"),
                );
            }
        }
        length(cx, p, what, "error_prefix");
    }
}

/// Parses a prefix, reporting malformed expressions at their position inside the value.
fn parts(cx: &mut Context, prefix: &Spanned<String>, what: &str) -> Vec<Piece> {
    let (parts, errors) = parse_pieces(&prefix.value);
    for e in errors {
        cx.push(
            Diagnostic::new(
                codes::BAD_PREFIX_EXPRESSION,
                prefix.inner_span(e.start, e.end),
                format!("{} in the prefix of {what}", e.message),
            )
            .with_label("invalid expression")
            .with_help_opt(e.help),
        );
    }
    parts
}

fn length(cx: &mut Context, prefix: &Spanned<String>, what: &str, key: &str) {
    // Expressions evaluate to at least one character; literal text counts as written.
    let (parts, _) = parse_prefix(&prefix.value);
    let literal: usize = parts
        .iter()
        .map(|p| match p {
            PrefixPart::Literal(s) => s.chars().count(),
            PrefixPart::Timestamp(pattern) => pattern.chars().filter(|c| *c != '\'').count(),
            PrefixPart::Firehose(v) if v == "random-string" => 11,
            _ => 1,
        })
        .sum();
    if literal > MAX_PREFIX {
        cx.push(
            Diagnostic::new(
                codes::OUT_OF_RANGE,
                prefix.span,
                format!("the {key} of {what} is at least {literal} characters long"),
            )
            .with_help(format!(
                "Firehose prefixes are at most {MAX_PREFIX} characters after evaluation"
            )),
        );
    }
}

/// The Firehose partition key a `partition_by` field becomes: `device.os` → `device_os`.
pub(crate) fn partition_key_name(field: &str) -> String {
    field.replace('.', "_")
}
