//! pest's parse tree of a `.kin` file → the spanned node tree the lowering reads (the same
//! shape YAML gives): `pipeline NAME { region = … }` becomes the top-level `pipeline`, `region`
//! and `tags` keys; `stream NAME { … }` becomes an entry `NAME` of the `streams` mapping; a block
//! `key { … }` is the mapping `key: { … }` and `to s3 { … }` is `to: { s3: { … } }`.
//!
//! Every key and value keeps the span of its token, so every diagnostic of the lowering and of
//! the checks points into the `.kin` file.

use std::collections::HashMap;

use pest::iterators::Pair;

use super::text::{raw_block, unescape};
use super::Rule;
use crate::diagnostic::{codes, did_you_mean, nearest, Diagnostic};
use crate::source::{SourceFile, Span};
use crate::syntax::print::Comment;
use crate::syntax::yaml::{Key, Node, NodeKind};

/// A parsed `.kin` file: the node tree, and what `kin fmt` needs to keep the layout.
#[derive(Clone, Debug)]
pub struct KinTree {
    pub root: Node,
    pub comments: Vec<Comment>,
    /// The offset of the closing `}` of each block, by the block's key path
    /// (`streams/clicks`, `firehoses/archive/to/s3`).
    pub ends: HashMap<String, usize>,
    /// Problems found while building the tree (unknown declarations, misplaced keys).
    pub diagnostics: Vec<Diagnostic>,
    /// The file offset of each line of each `"""` block, by the start of the block's node
    /// (for the line mapping of SQL).
    pub raw_lines: HashMap<usize, Vec<Option<usize>>>,
}

impl KinTree {
    pub fn empty() -> KinTree {
        KinTree {
            root: Node {
                span: Span::new(0, 0),
                kind: NodeKind::Map(Vec::new()),
            },
            comments: Vec::new(),
            ends: HashMap::new(),
            diagnostics: Vec::new(),
            raw_lines: HashMap::new(),
        }
    }
}

/// The declaration kinds and the YAML section each fills.
pub const KINDS: &[(&str, &str)] = &[
    ("schema", "schemas"),
    ("producer", "producers"),
    ("stream", "streams"),
    ("analytics", "analytics"),
    ("firehose", "firehoses"),
];

/// The keys a `pipeline NAME { … }` block holds.
const PIPELINE_KEYS: &[&str] = &["region", "tags"];

pub fn build(file: &SourceFile, root: Pair<Rule>) -> Result<KinTree, Box<Diagnostic>> {
    let comments = root
        .clone()
        .into_inner()
        .flatten()
        .filter(|p| p.as_rule() == Rule::COMMENT)
        .map(|p| Comment::new(file, p.as_span().start(), p.as_str()))
        .collect();
    let mut builder = Builder {
        diagnostics: Vec::new(),
        ends: HashMap::new(),
        fatal: None,
        raw_lines: HashMap::new(),
    };
    let root = builder.file(root);
    if let Some(fatal) = builder.fatal {
        return Err(Box::new(fatal));
    }
    Ok(KinTree {
        root,
        comments,
        ends: builder.ends,
        diagnostics: builder.diagnostics,
        raw_lines: builder.raw_lines,
    })
}

struct Builder {
    diagnostics: Vec<Diagnostic>,
    ends: HashMap<String, usize>,
    /// A problem that makes the file unreadable, like a syntax error (a number too large).
    fatal: Option<Diagnostic>,
    raw_lines: HashMap<usize, Vec<Option<usize>>>,
}

fn span_of(pair: &Pair<Rule>) -> Span {
    Span::new(pair.as_span().start(), pair.as_span().end())
}

/// The children of a pair, without comments.
fn inner(pair: Pair<Rule>) -> impl Iterator<Item = Pair<Rule>> {
    pair.into_inner().filter(|p| p.as_rule() != Rule::COMMENT)
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}/{key}")
    }
}

/// One top-level section (`streams`) being collected from its declarations.
struct Section {
    key: Key,
    entries: Vec<(Key, Node)>,
}

impl Builder {
    fn file(&mut self, pair: Pair<Rule>) -> Node {
        let mut top: Vec<(Key, Node)> = Vec::new();
        let mut sections: Vec<Section> = Vec::new();
        for decl in inner(pair) {
            match decl.as_rule() {
                Rule::pipeline_decl => self.pipeline(decl, &mut top),
                Rule::node_decl => self.node_decl(decl, &mut sections),
                _ => {}
            }
        }
        for section in sections {
            let span = match (section.entries.first(), section.entries.last()) {
                (Some((first, _)), Some((_, last))) => Span::new(first.span.start, last.span.end),
                _ => section.key.span,
            };
            top.push((
                section.key,
                Node {
                    span,
                    kind: NodeKind::Map(section.entries),
                },
            ));
        }
        // The first key is where a missing `pipeline` is reported: keep the file's order.
        top.sort_by_key(|(k, _)| k.span.start);
        let span = match (top.first(), top.last()) {
            (Some((first, _)), Some((_, last))) => Span::new(first.span.start, last.span.end),
            _ => Span::new(0, 0),
        };
        Node {
            span,
            kind: NodeKind::Map(top),
        }
    }

    /// `pipeline NAME { region = … tags { … } }` → the top-level `pipeline`, `region`, `tags`.
    fn pipeline(&mut self, decl: Pair<Rule>, top: &mut Vec<(Key, Node)>) {
        let mut keyword = Span::default();
        for part in inner(decl) {
            match part.as_rule() {
                Rule::kw_pipeline => keyword = span_of(&part),
                Rule::name => {
                    let name = self.key(part);
                    top.push((
                        Key {
                            name: "pipeline".to_string(),
                            span: keyword,
                        },
                        Node {
                            span: name.span,
                            kind: NodeKind::Str(name.name),
                        },
                    ));
                }
                Rule::body => {
                    // Its keys are top-level keys (`region`, `tags/…`); its end is the pipeline's.
                    let body = self.body(part, "");
                    if let Some(end) = self.ends.remove("") {
                        self.ends.insert("pipeline".to_string(), end);
                    }
                    let NodeKind::Map(entries) = body.kind else {
                        continue;
                    };
                    let written: Vec<String> =
                        entries.iter().map(|(k, _)| k.name.clone()).collect();
                    for (mut key, value) in entries {
                        if !PIPELINE_KEYS.contains(&key.name.as_str()) {
                            let near = self.misplaced_pipeline_key(&key);
                            match near.filter(|n| !written.iter().any(|w| w == n)) {
                                Some(near) => key.name = near.to_string(),
                                None => continue,
                            }
                        }
                        top.push((key, value));
                    }
                }
                _ => {}
            }
        }
    }

    /// Reports a key of the pipeline block other than `region` and `tags`; returns the key it
    /// is probably a misspelling of.
    fn misplaced_pipeline_key(&mut self, key: &Key) -> Option<&'static str> {
        let kind = KINDS
            .iter()
            .find(|(kind, section)| key.name == *kind || key.name == *section)
            .map(|(kind, _)| *kind);
        let help = match kind {
            Some(kind) => Some(format!(
                "declare each {kind} at the top level of the file: `{kind} NAME {{ … }}`"
            )),
            None => did_you_mean(&key.name, PIPELINE_KEYS.iter().copied()),
        };
        self.diagnostics.push(
            Diagnostic::new(
                codes::UNKNOWN_KEY,
                key.span,
                format!("unknown key \"{}\" in the pipeline block", key.name),
            )
            .with_label("not a key here")
            .with_help_opt(help),
        );
        if kind.is_some() {
            return None;
        }
        nearest(&key.name, PIPELINE_KEYS.iter().copied())
    }

    /// `KIND NAME { … }` → the entry `NAME: { … }` of the section of that kind.
    fn node_decl(&mut self, decl: Pair<Rule>, sections: &mut Vec<Section>) {
        let mut parts = inner(decl);
        let (Some(kind), Some(name), Some(body)) = (parts.next(), parts.next(), parts.next())
        else {
            return;
        };
        let kind_span = span_of(&kind);
        let Some(section) = self.section_of(kind.as_str(), kind_span) else {
            return;
        };
        let name = self.key(name);
        let body = self.body(body, &join(section, &name.name));
        let index = match sections.iter().position(|s| s.key.name == section) {
            Some(i) => i,
            None => {
                sections.push(Section {
                    key: Key {
                        name: section.to_string(),
                        span: kind_span,
                    },
                    entries: Vec::new(),
                });
                sections.len() - 1
            }
        };
        sections[index].entries.push((name, body));
    }

    /// The section a declaration kind fills; an unknown kind is reported (and read as the kind
    /// it is closest to, if any).
    fn section_of(&mut self, kind: &str, span: Span) -> Option<&'static str> {
        if let Some((_, section)) = KINDS.iter().find(|(k, _)| *k == kind) {
            return Some(section);
        }
        let names = std::iter::once("pipeline").chain(KINDS.iter().map(|(k, _)| *k));
        let help = match kind {
            "region" | "tags" => Some(format!(
                "`{kind}` is set inside the pipeline block: `pipeline NAME {{ {kind} = … }}`"
            )),
            _ => did_you_mean(kind, names.clone()),
        };
        self.diagnostics.push(
            Diagnostic::new(
                codes::UNKNOWN_KEY,
                span,
                format!("unknown declaration \"{kind}\""),
            )
            .with_label("not a kind of declaration")
            .with_help_opt(help),
        );
        let near = nearest(kind, names)?;
        KINDS
            .iter()
            .find(|(k, _)| *k == near)
            .map(|(_, section)| *section)
    }

    /// A key, name or label: a bare identifier or a quoted string.
    fn key(&mut self, pair: Pair<Rule>) -> Key {
        let span = span_of(&pair);
        let name = match inner(pair).next() {
            Some(part) if part.as_rule() == Rule::string => string_text(part),
            Some(part) => part.as_str().to_string(),
            None => String::new(),
        };
        Key { name, span }
    }

    /// A block body, an object value or a field list → a mapping node.
    fn body(&mut self, pair: Pair<Rule>, path: &str) -> Node {
        let mut entries: Vec<(Key, Node)> = Vec::new();
        let mut open = span_of(&pair);
        let mut close = None;
        for child in inner(pair) {
            match child.as_rule() {
                Rule::lbrace => open = span_of(&child),
                Rule::rbrace => close = Some(span_of(&child)),
                Rule::attribute => {
                    let mut parts = inner(child).filter(|p| p.as_rule() != Rule::eq);
                    let (Some(key), Some(value)) = (parts.next(), parts.next()) else {
                        continue;
                    };
                    let key = self.key(key);
                    let value = self.value(value, &join(path, &key.name));
                    entries.push((key, value));
                }
                Rule::block => entries.push(self.block(child, path)),
                Rule::fields_block => {
                    let mut parts = inner(child);
                    let (Some(keyword), Some(list)) = (parts.next(), parts.next()) else {
                        continue;
                    };
                    let key = Key {
                        name: "fields".to_string(),
                        span: span_of(&keyword),
                    };
                    let fields = self.body(list, &join(path, "fields"));
                    entries.push((key, fields));
                }
                Rule::field => entries.push(self.field(child, path)),
                _ => {}
            }
        }
        if let Some(close) = close {
            self.ends.insert(path.to_string(), close.start);
        }
        let span = match (entries.first(), entries.last()) {
            (Some((first, _)), Some((_, last))) => Span::new(first.span.start, last.span.end),
            _ => Span::new(open.start, close.map_or(open.end, |c| c.end)),
        };
        Node {
            span,
            kind: NodeKind::Map(entries),
        }
    }

    /// `key { … }` or `key label { … }` (read as `key: { label: { … } }`).
    fn block(&mut self, pair: Pair<Rule>, path: &str) -> (Key, Node) {
        let mut key = None;
        let mut label = None;
        let mut node = None;
        for part in inner(pair) {
            match part.as_rule() {
                Rule::key => key = Some(self.key(part)),
                Rule::label => label = Some(self.key(part)),
                Rule::body => {
                    let key_name = key.as_ref().map(|k| k.name.as_str()).unwrap_or_default();
                    let mut block_path = join(path, key_name);
                    if let Some(label) = &label {
                        block_path = join(&block_path, &label.name);
                    }
                    node = Some(self.body(part, &block_path));
                }
                _ => {}
            }
        }
        let key = key.unwrap_or(Key {
            name: String::new(),
            span: Span::default(),
        });
        let body = node.unwrap_or(Node {
            span: key.span,
            kind: NodeKind::Map(Vec::new()),
        });
        let node = match label {
            Some(label) => Node {
                span: Span::new(label.span.start, body.span.end.max(label.span.end)),
                kind: NodeKind::Map(vec![(label, body)]),
            },
            None => body,
        };
        (key, node)
    }

    /// `name: type` or `name { … }` inside `fields { … }`.
    fn field(&mut self, pair: Pair<Rule>, path: &str) -> (Key, Node) {
        let mut key = Key {
            name: String::new(),
            span: span_of(&pair),
        };
        let mut node = None;
        for part in inner(pair) {
            match part.as_rule() {
                Rule::key => key = self.key(part),
                Rule::field_list => node = Some(self.body(part, &join(path, &key.name))),
                Rule::field_type => {
                    node = Some(Node {
                        span: span_of(&part),
                        kind: NodeKind::Str(part.as_str().to_string()),
                    })
                }
                _ => {}
            }
        }
        let node = node.unwrap_or(Node {
            span: key.span,
            kind: NodeKind::Null,
        });
        (key, node)
    }

    fn value(&mut self, pair: Pair<Rule>, path: &str) -> Node {
        let span = span_of(&pair);
        let Some(value) = inner(pair).next() else {
            return Node {
                span,
                kind: NodeKind::Null,
            };
        };
        let kind = match value.as_rule() {
            Rule::raw_string => {
                let Some(content) = inner(value).find(|p| p.as_rule() == Rule::raw_content) else {
                    return Node {
                        span,
                        kind: NodeKind::Str(String::new()),
                    };
                };
                let block = raw_block(content.as_str(), content.as_span().start());
                // Like a YAML block scalar, the value spans its text, not the delimiters.
                let first = block.line_offsets.first().copied().flatten();
                let last = block.line_offsets.last().copied().flatten();
                let last_len = block.text.rsplit('\n').next().map_or(0, str::len);
                let span = match (first, last) {
                    (Some(first), Some(last)) if !block.text.is_empty() => {
                        Span::new(first, (last + last_len).max(first))
                    }
                    _ => span,
                };
                self.raw_lines.insert(span.start, block.line_offsets);
                return Node {
                    span,
                    kind: NodeKind::Str(block.text),
                };
            }
            Rule::string => NodeKind::Str(string_text(value)),
            Rule::number => self.number(value.as_str(), span),
            Rule::boolean => NodeKind::Bool(value.as_str() == "true"),
            Rule::list => NodeKind::Seq(
                inner(value)
                    .filter(|p| p.as_rule() == Rule::value)
                    .map(|p| self.value(p, path))
                    .collect(),
            ),
            Rule::object => return self.body(value, path),
            _ => NodeKind::Str(value.as_str().to_string()),
        };
        Node { span, kind }
    }

    fn number(&mut self, text: &str, span: Span) -> NodeKind {
        let digits = text.replace('_', "");
        if !digits.contains('.') {
            if let Ok(i) = digits.parse::<i64>() {
                return NodeKind::Int(i);
            }
            // Like YAML's "integer is too large": the file cannot be read.
            self.fatal.get_or_insert(
                Diagnostic::new(
                    codes::KIN_SYNTAX,
                    span,
                    format!("the number `{text}` is too large"),
                )
                .with_label("not a 64-bit whole number")
                .with_help("whole numbers go up to 9223372036854775807"),
            );
        }
        NodeKind::Float(digits.parse::<f64>().unwrap_or(f64::MAX))
    }
}

/// The text of a `string` pair, escapes resolved.
fn string_text(pair: Pair<Rule>) -> String {
    inner(pair)
        .find(|p| p.as_rule() == Rule::string_content)
        .map_or(String::new(), |c| unescape(c.as_str()))
}
