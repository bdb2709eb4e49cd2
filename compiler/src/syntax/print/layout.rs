//! The layout of a spec file beside its AST: its comments, the offset of every key by its path
//! (`streams/clicks/shards`) and, for `.kin` files, the offset of each block's closing `}`.
//! Printers tag each line with the offsets of the keys it prints; comments are then placed next
//! to the same keys, wherever the printer puts them.

use std::collections::HashMap;

use crate::source::{SourceFile, Span};
use crate::syntax::yaml::{Node, NodeKind};

/// One comment of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    /// Where the comment marker is.
    pub offset: usize,
    /// `#` or `//`.
    pub marker: &'static str,
    /// The text after the marker, without trailing white space.
    pub body: String,
    /// Nothing but white space before it on its line.
    pub own_line: bool,
    /// The line before it is blank.
    pub blank_before: bool,
}

impl Comment {
    /// A comment from its text (marker included) at an offset of the file.
    pub fn new(file: &SourceFile, offset: usize, text: &str) -> Comment {
        let (marker, body) = match text.strip_prefix("//") {
            Some(body) => ("//", body),
            None => ("#", text.strip_prefix('#').unwrap_or(text)),
        };
        let offset = file.clamp(offset);
        let line_start = file.text[..offset].rfind('\n').map_or(0, |i| i + 1);
        let own_line = file.text[line_start..offset].trim().is_empty();
        Comment {
            offset,
            marker,
            body: body.trim_end().to_string(),
            own_line,
            blank_before: own_line && previous_line_blank(&file.text, line_start),
        }
    }
}

/// Whether the line before the one starting at `line_start` holds only white space.
pub fn previous_line_blank(text: &str, line_start: usize) -> bool {
    if line_start == 0 {
        return false;
    }
    let end = line_start - 1;
    let start = text[..end].rfind('\n').map_or(0, |i| i + 1);
    text[start..end].trim().is_empty()
}

/// The layout of one file.
#[derive(Clone, Debug, Default)]
pub struct Layout {
    pub comments: Vec<Comment>,
    /// The offset of each key by its path; the first one written wins.
    pub keys: HashMap<String, usize>,
    /// The offset of each block's closing `}` by its path (`.kin` files only).
    pub ends: HashMap<String, usize>,
}

impl Layout {
    pub fn new(root: &Node, mut comments: Vec<Comment>, ends: HashMap<String, usize>) -> Layout {
        let mut keys = HashMap::new();
        collect_keys(root, "", &mut keys);
        comments.sort_by_key(|c| c.offset);
        Layout {
            comments,
            keys,
            ends,
        }
    }
}

fn collect_keys(node: &Node, path: &str, keys: &mut HashMap<String, usize>) {
    if let NodeKind::Map(entries) = &node.kind {
        for (key, value) in entries {
            let child = super::join(path, &key.name);
            keys.entry(child.clone()).or_insert(key.span.start);
            collect_keys(value, &child, keys);
        }
    }
}

/// The comments of a YAML file: a `#` at the start of a line or after white space, outside
/// every key and scalar (so not inside a quoted string or a block of SQL).
pub fn yaml_comments(file: &SourceFile, root: &Node) -> Vec<Comment> {
    let mut zones = Vec::new();
    scalar_spans(root, &mut zones);
    zones.sort_by_key(|s| s.start);
    let inside = |offset: usize| {
        let i = zones.partition_point(|s| s.start <= offset);
        // Keys and scalars do not overlap: only the last one starting before can hold it.
        zones[..i].last().is_some_and(|s| offset < s.end)
    };
    let text = &*file.text;
    let mut comments = Vec::new();
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        let bytes = line.as_bytes();
        for (i, &b) in bytes.iter().enumerate() {
            let after_space = i == 0 || bytes[i - 1] == b' ' || bytes[i - 1] == b'\t';
            if b == b'#' && after_space && !inside(line_start + i) {
                comments.push(Comment::new(file, line_start + i, line[i..].trim_end()));
                break;
            }
        }
        line_start += line.len();
    }
    comments
}

fn scalar_spans(node: &Node, zones: &mut Vec<Span>) {
    match &node.kind {
        NodeKind::Map(entries) => {
            for (key, value) in entries {
                zones.push(key.span);
                scalar_spans(value, zones);
            }
        }
        NodeKind::Seq(items) => items.iter().for_each(|i| scalar_spans(i, zones)),
        _ => zones.push(node.span),
    }
}
