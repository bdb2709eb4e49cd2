//! Help lines worded for `.kin` files: the shared lowering reports the same problems for both
//! syntaxes and asks here how to say them the kin way (`key = value`, `name { … }`).

use super::text::{is_bare_interpolation, is_word, quote};
use crate::syntax::yaml::NodeKind;

/// What a value is, in kin's words.
pub fn describe(kind: &NodeKind) -> &'static str {
    match kind {
        NodeKind::Map(_) => "a block `{ … }`",
        NodeKind::Seq(_) => "a list `[…]`",
        NodeKind::Str(_) => "a word or a string",
        NodeKind::Int(_) | NodeKind::Float(_) => "a number",
        NodeKind::Bool(_) => "`true` or `false`",
        NodeKind::Null => "nothing",
    }
}

/// An "expected …" phrase of the lowering, in kin's words.
pub fn kind_words(expected: &str) -> String {
    expected
        .replace("a nested mapping", "a nested block `name { … }`")
        .replace("a mapping", "a block `{ … }`")
}

/// How a section's declarations are named in messages: `the stream declarations`.
pub fn section_words(section: &str) -> String {
    let kind = match section {
        "schemas" => "schema",
        "producers" => "producer",
        "streams" => "stream",
        "firehoses" => "firehose",
        other => other,
    };
    format!("the `{kind}` declarations")
}

/// The label and help of a missing required key, from the YAML example value of the lowering.
pub fn missing_key(key: &str, example: &str) -> (String, String) {
    match key {
        "pipeline" => (
            "add a `pipeline NAME` declaration".to_string(),
            format!("for example `pipeline {example}` at the top of the file"),
        ),
        "fields" => (
            "add `fields { … }` here".to_string(),
            "for example `fields { id: string, ts: timestamp }`".to_string(),
        ),
        "to" if example.starts_with('{') => (
            "add `to s3 { … }` (or another destination) here".to_string(),
            "for example `to s3 { bucket = \"my-bucket\" }`".to_string(),
        ),
        _ => (
            format!("add `{key} = …` here"),
            format!("for example `{key} = {}`", value_example(key, example)),
        ),
    }
}

/// A YAML example value written as a kin value: references bare, free text quoted.
fn value_example(key: &str, example: &str) -> String {
    let reference = matches!(key, "schema" | "to" | "from");
    if (reference && is_word(example)) || is_bare_interpolation(example) {
        example.to_string()
    } else if example.starts_with("SELECT") {
        format!("\"\"\"{example}\"\"\"")
    } else {
        quote(example)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples_are_kin() {
        assert_eq!(
            missing_key("schema", "Click").1,
            "for example `schema = Click`"
        );
        assert_eq!(
            missing_key("bucket", "my-bucket").1,
            "for example `bucket = \"my-bucket\"`"
        );
        assert_eq!(
            missing_key("kms_key", "alias/my-key").1,
            "for example `kms_key = \"alias/my-key\"`"
        );
        assert_eq!(
            missing_key("password", "${secret:redshift_password}").1,
            "for example `password = ${secret:redshift_password}`"
        );
        assert!(missing_key("sql", "SELECT ... FROM clicks")
            .1
            .contains("\"\"\"SELECT"));
    }
}
