//! Naming rules: the pipeline name, node names (unique across sections), schema and field
//! names, the region, tags, and the AWS names kin derives from them.

use super::Context;
use crate::ast::FieldDecl;
use crate::diagnostic::{codes, Diagnostic};
use crate::source::Spanned;

/// Firehose delivery stream names are at most 64 characters (`<pipeline>-<firehose>`).
const FIREHOSE_NAME_MAX: usize = 64;

pub(super) fn check(cx: &mut Context) {
    pipeline_name(cx);
    node_names(cx);
    schema_names(cx);
    region_and_tags(cx);
}

fn pipeline_name(cx: &mut Context) {
    let Some(name) = &cx.spec.pipeline else {
        return;
    };
    if !matches_pattern(&name.value, 40, |c| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
    }) {
        cx.push(
            Diagnostic::new(codes::INVALID_NAME, name.span, format!("pipeline name \"{}\" is not valid", name.value))
                .with_label("invalid name")
                .with_help(format!(
                    "a pipeline name is a lowercase letter followed by up to 39 lowercase letters, digits or `-` (it prefixes every AWS resource name){}",
                    suggestion(&name.value, '-', 40)
                )),
        );
    }
}

/// `[a-z]` then up to `max - 1` characters accepted by `rest`.
fn matches_pattern(name: &str, max: usize, rest: impl Fn(char) -> bool) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && name.chars().count() <= max
        && chars.all(rest)
}

/// A suggestion that follows the rule, when one can be derived.
fn suggestion(name: &str, separator: char, max: usize) -> String {
    let fixed: String = name
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c
            } else {
                separator
            }
        })
        .skip_while(|c| !c.is_ascii_lowercase())
        .take(max)
        .collect();
    if fixed.is_empty() || fixed == name {
        String::new()
    } else {
        format!("; for example `{fixed}`")
    }
}

fn node_names(cx: &mut Context) {
    let spec = cx.spec;
    let all: Vec<(&Spanned<String>, &str)> = spec
        .producers
        .iter()
        .map(|n| (&n.name, "producer"))
        .chain(spec.streams.iter().map(|n| (&n.name, "stream")))
        .chain(spec.analytics.iter().map(|n| (&n.name, "analytics")))
        .chain(spec.firehoses.iter().map(|n| (&n.name, "firehose")))
        .collect();
    for (i, (name, kind)) in all.iter().enumerate() {
        if !matches_pattern(&name.value, 64, |c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'
        }) {
            cx.push(
                Diagnostic::new(codes::INVALID_NAME, name.span, format!("{kind} name \"{}\" is not valid", name.value))
                    .with_label("invalid name")
                    .with_help(format!(
                        "node names are a lowercase letter followed by up to 63 lowercase letters, digits or `_`{}",
                        suggestion(&name.value, '_', 64)
                    )),
            );
        }
        if let Some((first, first_kind)) = all[..i].iter().find(|(n, _)| n.value == name.value) {
            cx.push(
                Diagnostic::new(
                    codes::DUPLICATE_NAME,
                    name.span,
                    format!("{kind} \"{}\" has the same name as {first_kind} \"{}\"", name.value, first.value),
                )
                .with_label("second declaration")
                .with_secondary(first.span, "first declared here")
                .with_help("node names are unique across producers, streams, analytics and firehoses: rename one"),
            );
        }
    }
    if let Some(pipeline) = &spec.pipeline {
        for firehose in &spec.firehoses {
            let full = format!("{}-{}", pipeline.value, firehose.name.value);
            if full.len() > FIREHOSE_NAME_MAX {
                cx.push(
                    Diagnostic::new(
                        codes::OUT_OF_RANGE,
                        firehose.name.span,
                        format!("firehose \"{}\" becomes the delivery stream \"{full}\", which is {} characters long", firehose.name.value, full.len()),
                    )
                    .with_label("name too long for AWS")
                    .with_help(format!("Firehose names are at most {FIREHOSE_NAME_MAX} characters: shorten the pipeline or firehose name by {}", full.len() - FIREHOSE_NAME_MAX)),
                );
            }
        }
    }
}

fn schema_names(cx: &mut Context) {
    let spec = cx.spec;
    for (i, schema) in spec.schemas.iter().enumerate() {
        let name = &schema.name;
        let valid = name
            .value
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
            && name.value.len() <= 64
            && name
                .value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            cx.push(
                Diagnostic::new(codes::INVALID_NAME, name.span, format!("schema name \"{}\" is not valid", name.value))
                    .with_label("invalid name")
                    .with_help("schema names are a letter followed by up to 63 letters, digits or `_`, e.g. `Click`"),
            );
        }
        if let Some(first) = spec.schemas[..i]
            .iter()
            .find(|s| s.name.value == name.value)
        {
            cx.push(
                Diagnostic::new(
                    codes::DUPLICATE_NAME,
                    name.span,
                    format!("schema \"{}\" is declared twice", name.value),
                )
                .with_label("second declaration")
                .with_secondary(first.name.span, "first declared here"),
            );
        }
        field_names(cx, &schema.fields, &format!("schema \"{}\"", name.value));
    }
}

fn field_names(cx: &mut Context, fields: &[FieldDecl], owner: &str) {
    for field in fields {
        let name = &field.name.value;
        let valid = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.len() <= 128
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            cx.push(
                Diagnostic::new(codes::INVALID_NAME, field.name.span, format!("field name \"{name}\" in {owner} is not valid"))
                    .with_label("invalid field name")
                    .with_help("field names are a letter or `_` followed by letters, digits or `_`, so that SQL can name them unquoted"),
            );
        }
        field_names(cx, &field.nested, owner);
    }
}

fn region_and_tags(cx: &mut Context) {
    let spec = cx.spec;
    if let Some(region) = &spec.region {
        if !is_region(&region.value) {
            cx.push(
                Diagnostic::new(
                    codes::INVALID_VALUE,
                    region.span,
                    format!("region \"{}\" is not an AWS region name", region.value),
                )
                .with_label("not a region")
                .with_help("write a region code such as `us-east-1` or `eu-west-1`"),
            );
        }
    }
    if spec.tags.len() > 50 {
        if let Some((key, _)) = spec.tags.get(50) {
            cx.push(
                Diagnostic::new(
                    codes::OUT_OF_RANGE,
                    key.span,
                    format!("the pipeline has {} tags", spec.tags.len()),
                )
                .with_help("AWS resources take at most 50 tags"),
            );
        }
    }
    for (key, value) in &spec.tags {
        let key_len = key.value.chars().count();
        if key_len == 0 || key_len > 128 || key.value.starts_with("aws:") {
            cx.push(
                Diagnostic::new(
                    codes::OUT_OF_RANGE,
                    key.span,
                    format!("tag key \"{}\" is not valid", key.value),
                )
                .with_help("tag keys are 1 to 128 characters and cannot start with `aws:`"),
            );
        }
        if value.value.chars().count() > 256 {
            cx.push(
                Diagnostic::new(
                    codes::OUT_OF_RANGE,
                    value.span,
                    format!(
                        "the value of tag \"{}\" is longer than 256 characters",
                        key.value
                    ),
                )
                .with_help("tag values are at most 256 characters"),
            );
        }
    }
}

/// `us-east-1`, `eu-central-2`, `us-gov-west-1`, `ap-southeast-5`, …
fn is_region(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()))
}
