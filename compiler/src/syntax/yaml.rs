//! YAML text → a spanned node tree, through serde-saphyr.
//!
//! The tree keeps every key and value with its byte span and keeps mapping entries in order,
//! duplicates included, so that lowering can report *all* problems (unknown keys, duplicates,
//! wrong kinds) instead of stopping at the first one as a derived `Deserialize` would.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{DuplicateKeyPolicy, Spanned as YSpanned};

use crate::diagnostic::{codes, Diagnostic};
use crate::source::{SourceFile, Span};

/// One YAML node with the span of its text.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub span: Span,
    pub kind: NodeKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum NodeKind {
    Map(Vec<(Key, Node)>),
    Seq(Vec<Node>),
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Null,
}

/// A mapping key; non-string scalar keys are kept as their text.
#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    pub name: String,
    pub span: Span,
}

impl NodeKind {
    /// What a user would call this kind of value, for "expected X, found Y" messages.
    pub fn describe(&self) -> &'static str {
        match self {
            NodeKind::Map(_) => "a mapping",
            NodeKind::Seq(_) => "a list",
            NodeKind::Str(_) => "a string",
            NodeKind::Int(_) => "a number",
            NodeKind::Float(_) => "a number",
            NodeKind::Bool(_) => "a boolean",
            NodeKind::Null => "nothing (null)",
        }
    }
}

/// Parses one YAML document. An empty document is an empty mapping.
pub fn parse(file: &SourceFile) -> Result<Node, Box<Diagnostic>> {
    if file.text.trim().is_empty() {
        return Ok(Node {
            span: Span::new(0, 0),
            kind: NodeKind::Map(Vec::new()),
        });
    }
    let options = serde_saphyr::options!(
        duplicate_keys: DuplicateKeyPolicy::PassThrough,
        strict_booleans: true,
    );
    match serde_saphyr::from_str_with_options::<RawNode>(&file.text, options) {
        Ok(raw) => Ok(raw.into_node(file)),
        Err(err) => Err(Box::new(syntax_error(file, &err))),
    }
}

fn syntax_error(file: &SourceFile, err: &serde_saphyr::Error) -> Diagnostic {
    let span = err
        .location()
        .map(|loc| location_span(file, &loc, 1))
        .unwrap_or_default();
    let message = first_line(&err.to_string());
    let help = if message.contains("tab") {
        "YAML does not allow tabs for indentation: indent with spaces"
    } else {
        "check the indentation and that every `key: value` pair is on its own line"
    };
    Diagnostic::error(
        codes::YAML_SYNTAX,
        span,
        format!("this is not valid YAML: {message}"),
    )
    .with_help(help)
}

/// The parser's message without the position it carries: the report shows the position.
fn first_line(text: &str) -> String {
    let mut line = text.lines().next().unwrap_or(text).trim();
    line = line.strip_prefix("error:").unwrap_or(line).trim_start();
    if let Some(rest) = line.strip_prefix("line ") {
        // "line 4 column 8: while parsing …"
        if let Some((position, message)) = rest.split_once(": ") {
            if position
                .split(' ')
                .all(|w| w == "column" || w.chars().all(|c| c.is_ascii_digit()))
            {
                line = message;
            }
        }
    }
    match line.find(" at line ") {
        Some(i) => line[..i].to_string(),
        None => line.to_string(),
    }
}

fn location_span(file: &SourceFile, loc: &serde_saphyr::Location, min_len: usize) -> Span {
    let span = loc.span();
    let start = match span.byte_offset() {
        Some(offset) => file.clamp(offset as usize),
        None => file.offset(loc.line() as usize, loc.column() as usize),
    };
    let len = span
        .byte_len()
        .map_or(min_len, |l| (l as usize).max(min_len));
    Span::new(start, file.clamp(start + len))
}

/// What serde-saphyr hands us: a kind with its location, before byte spans are fixed up.
struct RawNode(YSpanned<RawKind>);

enum RawKind {
    Map(Vec<(YSpanned<KeyText>, RawNode)>),
    Seq(Vec<RawNode>),
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Null,
}

impl RawNode {
    fn into_node(self, file: &SourceFile) -> Node {
        let located = self.0;
        let mut span = location_span(file, &located.referenced, 0);
        let kind = match located.value {
            RawKind::Map(entries) => NodeKind::Map(
                entries
                    .into_iter()
                    .map(|(key, value)| {
                        let key_span = location_span(file, &key.referenced, key.value.0.len());
                        (
                            Key {
                                name: key.value.0,
                                span: key_span,
                            },
                            value.into_node(file),
                        )
                    })
                    .collect(),
            ),
            RawKind::Seq(items) => {
                NodeKind::Seq(items.into_iter().map(|n| n.into_node(file)).collect())
            }
            RawKind::Str(s) => NodeKind::Str(s),
            RawKind::Int(i) => NodeKind::Int(i),
            RawKind::Float(f) => NodeKind::Float(f),
            RawKind::Bool(b) => NodeKind::Bool(b),
            RawKind::Null => NodeKind::Null,
        };
        // Collections: span from the first to the end of the last child, for a useful underline.
        match &kind {
            NodeKind::Map(entries) => {
                if let (Some((first, _)), Some((_, last))) = (entries.first(), entries.last()) {
                    span = Span::new(first.span.start, last.span.end.max(first.span.end));
                }
            }
            NodeKind::Seq(items) => {
                if let Some(last) = items.last() {
                    span.end = span.end.max(last.span.end);
                }
            }
            _ => {
                if span.is_empty() {
                    span.end = file.clamp(span.start + 1);
                }
            }
        }
        Node { span, kind }
    }
}

impl<'de> Deserialize<'de> for RawNode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        YSpanned::<RawKind>::deserialize(deserializer).map(RawNode)
    }
}

impl<'de> Deserialize<'de> for RawKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawKindVisitor)
    }
}

struct RawKindVisitor;

impl<'de> Visitor<'de> for RawKindVisitor {
    type Value = RawKind;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<RawKind, E> {
        Ok(RawKind::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<RawKind, E> {
        Ok(RawKind::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawKind, E> {
        i64::try_from(v)
            .map(RawKind::Int)
            .map_err(|_| E::custom("integer is too large"))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<RawKind, E> {
        i64::try_from(v)
            .map(RawKind::Int)
            .map_err(|_| E::custom("integer is too large"))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<RawKind, E> {
        i64::try_from(v)
            .map(RawKind::Int)
            .map_err(|_| E::custom("integer is too large"))
    }
    fn visit_f64<E>(self, v: f64) -> Result<RawKind, E> {
        Ok(RawKind::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<RawKind, E> {
        Ok(RawKind::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<RawKind, E> {
        Ok(RawKind::Str(v))
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<RawKind, E> {
        Ok(RawKind::Str(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_unit<E>(self) -> Result<RawKind, E> {
        Ok(RawKind::Null)
    }
    fn visit_none<E>(self) -> Result<RawKind, E> {
        Ok(RawKind::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<RawKind, D::Error> {
        RawKind::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawKind, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<RawNode>()? {
            items.push(item);
        }
        Ok(RawKind::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawKind, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<YSpanned<KeyText>>()? {
            let value = map.next_value::<RawNode>()?;
            entries.push((key, value));
        }
        Ok(RawKind::Map(entries))
    }
}

/// A mapping key: any scalar, kept as text.
struct KeyText(String);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = KeyText;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a plain key such as `name:`")
            }
            fn visit_str<E>(self, v: &str) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_bool<E>(self, v: bool) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_unit<E>(self) -> Result<KeyText, E> {
                Ok(KeyText("null".to_string()))
            }
        }
        deserializer.deserialize_any(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> (SourceFile, Node) {
        let file = SourceFile::new("t.yaml", text);
        let node = parse(&file).expect("valid yaml");
        (file, node)
    }

    #[test]
    fn keeps_spans_of_keys_and_values() {
        let (file, node) = parse_str("pipeline: demo\nstreams:\n  clicks:\n    shards: 4\n");
        let NodeKind::Map(entries) = &node.kind else {
            panic!("map")
        };
        assert_eq!(file.slice(entries[0].0.span), "pipeline");
        assert_eq!(file.slice(entries[0].1.span), "demo");
        let NodeKind::Map(streams) = &entries[1].1.kind else {
            panic!("map")
        };
        assert_eq!(file.slice(streams[0].0.span), "clicks");
        let NodeKind::Map(clicks) = &streams[0].1.kind else {
            panic!("map")
        };
        assert_eq!(clicks[0].1.kind, NodeKind::Int(4));
        assert_eq!(file.line_col(clicks[0].1.span.start).line, 4);
        assert_eq!(file.slice(clicks[0].1.span), "4");
    }

    #[test]
    fn only_true_and_false_are_booleans_as_in_yaml_1_2() {
        // YAML 1.1 read `y`, `n`, `on`, `off`, `yes` and `no` as booleans: a field named `y`
        // became "true". kin reads YAML 1.2's core schema.
        let (_, node) = parse_str("y: n\non: off\nyes: no\nflag: true\nother: False\n");
        let NodeKind::Map(entries) = &node.kind else {
            panic!("map")
        };
        let names: Vec<&str> = entries.iter().map(|(k, _)| k.name.as_str()).collect();
        assert_eq!(names, ["y", "on", "yes", "flag", "other"]);
        let kinds: Vec<&NodeKind> = entries.iter().map(|(_, v)| &v.kind).collect();
        assert_eq!(
            kinds,
            [
                &NodeKind::Str("n".into()),
                &NodeKind::Str("off".into()),
                &NodeKind::Str("no".into()),
                &NodeKind::Bool(true),
                &NodeKind::Bool(false),
            ]
        );
    }

    #[test]
    fn keeps_duplicate_keys() {
        let (_, node) = parse_str("a: 1\na: 2\n");
        let NodeKind::Map(entries) = &node.kind else {
            panic!("map")
        };
        assert_eq!(entries.len(), 2);
    }

    #[test]
    fn syntax_errors_have_positions() {
        let file = SourceFile::new("t.yaml", "a: [1, 2\nb: 3\n");
        let err = parse(&file).expect_err("invalid");
        assert_eq!(err.code, codes::YAML_SYNTAX);
        assert!(err.span.start > 0);
    }
}
