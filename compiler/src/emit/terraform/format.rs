//! The layout `terraform fmt` gives HCL: two spaces of indentation per open bracket level and the
//! `=` of consecutive one-line attributes aligned. It follows hclwrite's own rules (`format.go`):
//! a line opening N brackets indents the following lines once; an attribute line takes part in
//! alignment only when its value closes every bracket it opens; a blank line, a comment, a block
//! line or a multi-line value ends the run of aligned lines.
//!
//! The templates write one construct per line and no heredocs, so strings never span lines.

/// One line split for formatting.
struct Line {
    /// The text without surrounding whitespace.
    text: String,
    /// For an attribute line: the byte offset of its `=`.
    assign: Option<usize>,
    /// Brackets opened minus closed on the line.
    net: i32,
}

/// Formats HCL text: indentation, `=` alignment, no trailing spaces, no runs of blank lines,
/// no blank line just inside a block, one final newline.
pub fn format(text: &str) -> String {
    let lines: Vec<Line> = text.lines().map(|l| scan(l.trim())).collect();
    let indents = indentation(&lines);
    let widths = alignment(&lines);
    let mut out: Vec<String> = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        if line.text.is_empty() {
            let after_open = out.last().is_none_or(|l| opens(l));
            let repeated = out.last().is_some_and(String::is_empty);
            if !after_open && !repeated {
                out.push(String::new());
            }
            continue;
        }
        if closes(&line.text) && out.last().is_some_and(String::is_empty) {
            out.pop();
        }
        let indent = " ".repeat(2 * indents[i]);
        let formatted = match (line.assign, widths[i]) {
            (Some(at), Some(width)) => {
                let key = line.text[..at].trim_end();
                let value = line.text[at + 1..].trim_start();
                let pad = width.saturating_sub(key.chars().count());
                format!("{indent}{key}{} = {value}", " ".repeat(pad))
            }
            _ => format!("{indent}{}", line.text),
        };
        out.push(formatted.trim_end().to_string());
    }
    while out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}

fn opens(line: &str) -> bool {
    line.ends_with('{') || line.ends_with('[') || line.ends_with('(')
}

fn closes(line: &str) -> bool {
    line.starts_with('}') || line.starts_with(']') || line.starts_with(')')
}

/// Indentation levels, with hclwrite's stack of bracket counts (a line opening two brackets,
/// `[{`, indents once and is closed by a line closing both).
fn indentation(lines: &[Line]) -> Vec<usize> {
    let mut stack: Vec<i32> = Vec::new();
    let mut levels = Vec::with_capacity(lines.len());
    for line in lines {
        if line.net < 0 {
            let mut closed = -line.net;
            while closed > 0 {
                let Some(top) = stack.last_mut() else { break };
                if closed >= *top {
                    closed -= *top;
                    stack.pop();
                } else {
                    *top -= closed;
                    closed = 0;
                }
            }
        }
        levels.push(stack.len());
        if line.net > 0 {
            stack.push(line.net);
        }
    }
    levels
}

/// For each attribute line, the key width of its run of consecutive attribute lines.
fn alignment(lines: &[Line]) -> Vec<Option<usize>> {
    let mut widths = vec![None; lines.len()];
    let mut start = 0;
    while start < lines.len() {
        if lines[start].assign.is_none() {
            start += 1;
            continue;
        }
        let mut end = start;
        while end < lines.len() && lines[end].assign.is_some() {
            end += 1;
        }
        let width = lines[start..end]
            .iter()
            .filter_map(|l| l.assign.map(|at| l.text[..at].trim_end().chars().count()))
            .max();
        for w in &mut widths[start..end] {
            *w = width;
        }
        start = end;
    }
    widths
}

/// Scans one trimmed line: its bracket balance and its attribute `=`, outside strings and
/// comments.
fn scan(text: &str) -> Line {
    let bytes = text.as_bytes();
    let mut net = 0;
    let mut assign = None;
    let mut net_at_assign = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => i = skip_string(bytes, i),
            b'#' => break,
            b'/' if bytes.get(i + 1) == Some(&b'/') || bytes.get(i + 1) == Some(&b'*') => break,
            b'{' | b'[' | b'(' => net += 1,
            b'}' | b']' | b')' => net -= 1,
            b'=' => {
                let before = if i > 0 { bytes[i - 1] } else { b' ' };
                let after = bytes.get(i + 1).copied().unwrap_or(b' ');
                let operator =
                    matches!(before, b'=' | b'!' | b'<' | b'>') || matches!(after, b'=' | b'>');
                if assign.is_none() && !operator && i > 0 {
                    assign = Some(i);
                    net_at_assign = net;
                }
            }
            _ => {}
        }
        i += 1;
    }
    // Only an attribute whose value is complete on this line is aligned.
    let assign = assign.filter(|_| net == net_at_assign);
    Line {
        text: text.to_string(),
        assign,
        net,
    }
}

/// The index of the closing quote of the string starting at `start` (or the end of the line),
/// skipping escapes and `${…}` interpolations with nested strings.
fn skip_string(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i,
            b'$' | b'%' if bytes.get(i + 1) == Some(&b'{') => {
                if i > start + 1 && bytes[i - 1] == bytes[i] {
                    // `$${` and `%%{` are escapes, not interpolations.
                    i += 2;
                    continue;
                }
                i = skip_interpolation(bytes, i + 2);
            }
            _ => i += 1,
        }
    }
    bytes.len()
}

fn skip_interpolation(bytes: &[u8], start: usize) -> usize {
    let mut depth = 1;
    let mut i = start;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => i = skip_string(bytes, i),
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::format;

    #[test]
    fn indents_and_aligns_like_terraform_fmt() {
        let input = "resource \"a\" \"b\" {\nname = \"x\"\nretention_period = 24\n\ntags = local.tags\nblock {\nk = 1\n}\n}\n";
        let expected = "resource \"a\" \"b\" {\n  name             = \"x\"\n  retention_period = 24\n\n  tags = local.tags\n  block {\n    k = 1\n  }\n}\n";
        assert_eq!(format(input), expected);
    }

    #[test]
    fn multi_line_values_break_alignment() {
        let input = "x {\na = 1\npolicy = jsonencode({\nVersion = \"2012-10-17\"\nStatement = [{\nEffect = \"Allow\"\n\"kms:ViaService\" = \"s3\"\n}]\n})\nlonger_name = 2\n}\n";
        let expected = "x {\n  a = 1\n  policy = jsonencode({\n    Version = \"2012-10-17\"\n    Statement = [{\n      Effect           = \"Allow\"\n      \"kms:ViaService\" = \"s3\"\n    }]\n  })\n  longer_name = 2\n}\n";
        assert_eq!(format(input), expected);
    }

    #[test]
    fn strings_and_comments_hide_brackets_and_equals() {
        let input = "x {\n#checkov:skip=CKV_AWS_1:reason {\nprefix = \"a/!{timestamp:yyyy}/\"\nq = \"{a:.b}\"\nname = \"${var.p}-x\"\n}\n";
        let expected = "x {\n  #checkov:skip=CKV_AWS_1:reason {\n  prefix = \"a/!{timestamp:yyyy}/\"\n  q      = \"{a:.b}\"\n  name   = \"${var.p}-x\"\n}\n";
        assert_eq!(format(input), expected);
    }

    #[test]
    fn blank_lines_are_tidied() {
        let input = "a {\n\n\nb = 1\n\n\n\nc = 2\n\n}\n\n\n";
        assert_eq!(format(input), "a {\n  b = 1\n\n  c = 2\n}\n");
    }

    #[test]
    fn comparison_operators_are_not_assignments() {
        let input = "v {\ncondition = length(var.x) <= 40\nerror_message = \"a == b\"\n}\n";
        let expected =
            "v {\n  condition     = length(var.x) <= 40\n  error_message = \"a == b\"\n}\n";
        assert_eq!(format(input), expected);
    }
}
