//! The usual mistakes behind a syntax error, recognised around the position where pest
//! stopped (a space before a unit, SQL without quotes), and the scans over the text that do not
//! need the grammar: the nesting depth (checked before parsing) and the block that lost its `}`.

use crate::diagnostic::{codes, Diagnostic};
use crate::source::Span;

const UNITS: &[&str] = &[
    "B", "KiB", "MiB", "GiB", "KB", "MB", "GB", "ms", "s", "m", "h", "d",
];

/// `size = 5 MiB` or `rate = 100 /s`: a space between a number and its unit, whichever way
/// pest stumbled on it (at the unit read as a key, or at the `/`).
pub fn spaced_unit(text: &str, pos: usize, prev: &str, prev_start: usize) -> Option<Diagnostic> {
    let is_number = |t: &str| {
        !t.is_empty()
            && t.chars()
                .all(|c| c.is_ascii_digit() || c == '_' || c == '.')
    };
    let (number, number_start, unit) = if UNITS.contains(&prev) {
        let before = text[..prev_start].trim_end();
        let start = before
            .rfind(|c: char| !(c.is_ascii_digit() || c == '_' || c == '.'))
            .map_or(0, |i| i + 1);
        (&before[start..], start, prev.to_string())
    } else if is_number(prev) && text[pos..].starts_with('/') {
        let unit: String = text[pos..]
            .chars()
            .enumerate()
            .take_while(|(i, c)| *i == 0 || c.is_ascii_alphabetic())
            .map(|(_, c)| c)
            .collect();
        (prev, prev_start, unit)
    } else {
        return spaced_unit_on_line(text, pos);
    };
    if !is_number(number) {
        return None;
    }
    let end = text[number_start..]
        .find(&unit)
        .map_or(pos, |i| number_start + i + unit.len());
    Some(
        Diagnostic::new(
            codes::KIN_SYNTAX,
            Span::new(number_start, end),
            format!(
                "a unit is written right after its number: `{number} {unit}` reads as two values"
            ),
        )
        .with_label("space between the number and the unit")
        .with_help(format!("write `{number}{unit}`")),
    )
}

/// A `NUMBER UNIT` with a space, earlier on the line where pest stopped.
fn spaced_unit_on_line(text: &str, pos: usize) -> Option<Diagnostic> {
    let line_start = text[..pos].rfind('\n').map_or(0, |i| i + 1);
    let line = &text[line_start..pos];
    let words: Vec<(usize, &str)> = line
        .split_whitespace()
        .map(|w| (w.as_ptr() as usize - line.as_ptr() as usize, w))
        .collect();
    words.windows(2).find_map(|pair| {
        let [(at, number), (unit_at, unit)] = pair else {
            return None;
        };
        let numeric = number.chars().all(|c| c.is_ascii_digit() || c == '_' || c == '.')
            && number.starts_with(|c: char| c.is_ascii_digit());
        let is_unit = UNITS.contains(unit)
            || unit.strip_prefix('/').is_some_and(|u| !u.is_empty() && u.chars().all(|c| c.is_ascii_alphabetic()));
        (numeric && is_unit).then(|| {
            Diagnostic::new(
                codes::KIN_SYNTAX,
                Span::new(line_start + at, line_start + unit_at + unit.len()),
                format!("a unit is written right after its number: `{number} {unit}` reads as two values"),
            )
            .with_label("space between the number and the unit")
            .with_help(format!("write `{number}{unit}`"))
        })
    })
}

/// `sql = SELECT …`: SQL written without quotes.
pub fn unquoted_sql(text: &str, pos: usize) -> Option<Diagnostic> {
    let line_start = text[..pos].rfind('\n').map_or(0, |i| i + 1);
    let line = &text[line_start..];
    let line = &line[..line.find('\n').unwrap_or(line.len())];
    let (key, value) = line.split_once('=')?;
    let value_trimmed = value.trim_start();
    if key.trim() != "sql" || value_trimmed.is_empty() || value_trimmed.starts_with('"') {
        return None;
    }
    let start = line_start + key.len() + 1 + (value.len() - value_trimmed.len());
    Some(
        Diagnostic::new(
            codes::KIN_SYNTAX,
            Span::new(start, line_start + line.trim_end().len()),
            "the SQL is not quoted".to_string(),
        )
        .with_label("read as a word, then unexpected text")
        .with_help("write the SQL in a block: `sql = \"\"\"` on one line, the query on the next lines, `\"\"\"` to close it"),
    )
}

/// The deepest nesting of brackets a `.kin` file may have (a spec needs fewer than ten): the
/// parser and the tree are recursive, and no input may exhaust the stack.
const MAX_DEPTH: usize = 64;

/// A K0028 diagnostic at the first bracket nested deeper than [`MAX_DEPTH`].
pub fn too_deep(text: &str) -> Option<Diagnostic> {
    let mut depth = 0usize;
    let mut found = None;
    scan_code(text, |i, b| match b {
        b'{' | b'[' | b'(' | b'<' => {
            depth += 1;
            if depth > MAX_DEPTH && found.is_none() {
                found = Some(i);
            }
        }
        b'}' | b']' | b')' | b'>' => depth = depth.saturating_sub(1),
        _ => {}
    });
    let at = found?;
    Some(
        Diagnostic::new(
            codes::KIN_SYNTAX,
            Span::new(at, at + 1),
            format!("this is nested more than {MAX_DEPTH} levels deep"),
        )
        .with_label("too deep")
        .with_help("a spec nests blocks, lists and types a few levels deep; close the brackets opened before"),
    )
}

/// Calls `visit` with each byte of the text outside strings, `"""` blocks and comments.
fn scan_code(text: &str, mut visit: impl FnMut(usize, u8)) {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' if text[i..].starts_with("\"\"\"") => {
                i = text[i + 3..]
                    .find("\"\"\"")
                    .map_or(bytes.len(), |j| i + 3 + j + 3);
                continue;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'#' => i = text[i..].find('\n').map_or(bytes.len(), |j| i + j),
            b'/' if text[i..].starts_with("//") => {
                i = text[i..].find('\n').map_or(bytes.len(), |j| i + j)
            }
            b => visit(i, b),
        }
        i += 1;
    }
}

/// The last `{` that no `}` closes (outside strings and comments).
pub fn unclosed_brace(text: &str) -> Option<usize> {
    let mut open = Vec::new();
    let mut mismatched = None;
    scan_code(text, |i, b| match b {
        b'{' => open.push(i),
        b'}' => {
            // A block whose `}` is indented unlike its opening line probably lost its own `}`:
            // the one found closes an outer block.
            if let Some(start) = open.pop() {
                if mismatched.is_none() && indent_of(text, start) != indent_of(text, i) {
                    mismatched = Some(start);
                }
            }
        }
        _ => {}
    });
    mismatched.or(open.pop())
}

/// The indentation of the line holding an offset.
fn indent_of(text: &str, offset: usize) -> usize {
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    text[start..].len() - text[start..].trim_start_matches([' ', '\t']).len()
}
