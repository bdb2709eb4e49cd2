//! Strings in `.kin` files: `"…"` with escapes, and `"""` blocks, which are dedented and keep
//! the file offset of every line (so that SQL diagnostics point into the file).

/// The text of a `"""` block and the file offset of the first character of each of its lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawText {
    pub text: String,
    pub line_offsets: Vec<Option<usize>>,
}

/// Reads the content of a `"""` block (between the delimiters), which starts at file offset
/// `start`.
///
/// - Content on one line is taken as written: `"""SELECT 1"""` is `SELECT 1`.
/// - Otherwise a first line holding only white space (the rest of the opening line) is
///   dropped, and a last line holding only white space (before the closing `"""`) is dropped
///   and the text then ends with a newline. The indentation common to the remaining non-blank
///   lines (not counting text on the opening line) is removed; blank lines become empty.
pub fn raw_block(content: &str, start: usize) -> RawText {
    if !content.contains('\n') {
        return RawText {
            text: content.to_string(),
            line_offsets: vec![Some(start)],
        };
    }
    let mut lines: Vec<(usize, &str)> = Vec::new();
    let mut offset = start;
    for line in content.split('\n') {
        lines.push((offset, line.strip_suffix('\r').unwrap_or(line)));
        offset += line.len() + 1;
    }
    let blank = |l: &str| l.chars().all(char::is_whitespace);
    let mut first_on_opening_line = true;
    if lines.first().is_some_and(|(_, l)| blank(l)) {
        lines.remove(0);
        first_on_opening_line = false;
    }
    let skip = usize::from(first_on_opening_line);
    let mut closed_on_own_line = false;
    if lines.len() > skip && lines.last().is_some_and(|(_, l)| blank(l)) {
        lines.pop();
        closed_on_own_line = true;
    }
    let trailing_newline = closed_on_own_line && !lines.is_empty();
    let indent = common_indent(lines.iter().skip(skip).map(|(_, l)| *l));
    let mut text = String::new();
    let mut line_offsets = Vec::new();
    for (i, (at, line)) in lines.iter().enumerate() {
        if i > 0 {
            text.push('\n');
        }
        if i < skip {
            text.push_str(line);
            line_offsets.push(Some(*at));
        } else if blank(line) && line.len() <= indent.len() {
            line_offsets.push(Some(*at));
        } else {
            let cut = if line.starts_with(indent) {
                indent.len()
            } else {
                0
            };
            text.push_str(&line[cut..]);
            line_offsets.push(Some(at + cut));
        }
    }
    if trailing_newline {
        text.push('\n');
    }
    RawText { text, line_offsets }
}

/// The leading white space shared by every non-blank line.
fn common_indent<'a>(lines: impl Iterator<Item = &'a str>) -> &'a str {
    let mut common: Option<&str> = None;
    for line in lines {
        if line.chars().all(char::is_whitespace) {
            continue;
        }
        let indent = &line[..line.len() - line.trim_start().len()];
        common = Some(match common {
            None => indent,
            Some(c) => {
                let shared = c
                    .char_indices()
                    .zip(indent.chars())
                    .find(|((_, a), b)| a != b)
                    .map_or(c.len().min(indent.len()), |((i, _), _)| i);
                &c[..shared]
            }
        });
    }
    common.unwrap_or("")
}

/// Reads the content of a `"…"` string: `\"`, `\\`, `\n`, `\t`, `\r` and `\u{HEX}` (the grammar
/// admits no other escape).
pub fn unescape(content: &str) -> String {
    let mut out = String::with_capacity(content.len());
    let mut chars = content.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('u') => {
                let hex: String = chars
                    .by_ref()
                    .skip_while(|c| *c == '{')
                    .take_while(|c| *c != '}')
                    .collect();
                let code = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32);
                out.push(code.unwrap_or(char::REPLACEMENT_CHARACTER));
            }
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// Writes a string as a `"…"` literal that [`unescape`] reads back.
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Whether a text can be written as a bare word: `[A-Za-z_][A-Za-z0-9_.-]*`, not `true` or
/// `false`.
pub fn is_word(text: &str) -> bool {
    let mut chars = text.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        && text != "true"
        && text != "false"
}

/// Whether a text can be written as a bare key or name: `[A-Za-z_][A-Za-z0-9_-]*`.
pub fn is_ident(text: &str) -> bool {
    let mut chars = text.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || "_-".contains(c))
}

/// Whether a text is one `${…}` reference that can stand bare as a value.
pub fn is_bare_interpolation(text: &str) -> bool {
    text.strip_prefix("${")
        .and_then(|t| t.strip_suffix('}'))
        .is_some_and(|inner| !inner.contains(['}', '"', '\n', '\r']))
}

/// Whether a text is a unit value as the grammar reads it bare: `5s`, `5MiB`, `2000/s`.
pub fn is_unit_token(text: &str) -> bool {
    let digits_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '_' || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits_end);
    let number_ok = number.starts_with(|c: char| c.is_ascii_digit())
        && !number.ends_with('.')
        && number.matches('.').count() <= 1
        && !number.contains("._");
    let unit = unit.strip_prefix('/').unwrap_or(unit);
    number_ok && !unit.is_empty() && unit.chars().all(|c| c.is_ascii_alphabetic())
}

/// Writes a text as a `"""` block at the given indentation, or `None` when the block would not
/// read back as the same text (then it is written as a `"…"` string).
pub fn raw_block_lines(text: &str, indent: &str) -> Option<Vec<String>> {
    if text.contains("\"\"\"") || text.contains('\r') || text.ends_with('"') {
        return None;
    }
    let lines: Vec<String> = if !text.contains('\n') {
        vec![format!("\"\"\"{text}\"\"\"")]
    } else {
        let body = text.strip_suffix('\n').unwrap_or(text);
        let mut lines = vec!["\"\"\"".to_string()];
        let body_lines: Vec<&str> = body.split('\n').collect();
        for (i, line) in body_lines.iter().enumerate() {
            let mut printed = if line.is_empty() {
                String::new()
            } else {
                format!("{indent}  {line}")
            };
            if i + 1 == body_lines.len() && !text.ends_with('\n') {
                printed.push_str("\"\"\"");
            }
            lines.push(printed);
        }
        if text.ends_with('\n') {
            lines.push(format!("{indent}\"\"\""));
        }
        lines
    };
    // Check that the block reads back as the same text.
    let joined = lines.join("\n");
    let content = joined
        .strip_prefix("\"\"\"")
        .and_then(|j| j.strip_suffix("\"\"\""))?;
    (raw_block(content, 0).text == text).then_some(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_blocks_are_dedented_with_offsets() {
        let content = "\n    SELECT a\n      FROM t\n\n    WHERE x\n  ";
        let block = raw_block(content, 100);
        assert_eq!(block.text, "SELECT a\n  FROM t\n\nWHERE x\n");
        assert_eq!(
            block.line_offsets,
            vec![Some(105), Some(118), Some(127), Some(132)]
        );
        assert_eq!(raw_block("SELECT 1", 7).text, "SELECT 1");
        assert_eq!(raw_block("\n  a\n  b", 0).text, "a\nb");
        assert_eq!(raw_block("a\n   b\n", 0).text, "a\nb\n");
    }

    #[test]
    fn raw_block_lines_read_back() {
        for text in [
            "SELECT 1",
            "SELECT a\n  FROM t\n\nWHERE x\n",
            "SELECT a\nFROM t",
            "a\n\n\n",
            "",
        ] {
            let lines = raw_block_lines(text, "  ").expect("representable");
            let joined = lines.join("\n");
            let content = &joined[3..joined.len() - 3];
            assert_eq!(raw_block(content, 0).text, text, "{lines:?}");
        }
        assert!(raw_block_lines("  indented\n  all\n", "").is_none());
        assert!(raw_block_lines("say \"\"\"", "").is_none());
    }

    #[test]
    fn strings_round_trip() {
        for text in [
            "plain",
            "a \"quoted\" \\ back\nslash\t\u{1}",
            "!{timestamp:yyyy}/",
        ] {
            let quoted = quote(text);
            assert_eq!(unescape(&quoted[1..quoted.len() - 1]), text);
        }
        assert!(is_word("device.os") && !is_word("true") && !is_word("a/b"));
        assert!(is_unit_token("5MiB") && is_unit_token("2000/s") && is_unit_token("1_000/s"));
        assert!(!is_unit_token("5 MiB") && !is_unit_token("5") && !is_unit_token("s"));
    }
}
