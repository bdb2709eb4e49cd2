//! pest's syntax errors → K0028 diagnostics with "expected …" messages for people. pest says
//! which grammar rules it tried at the furthest position it reached; this module says what
//! that means in words (`expected \`=\` after \`shards\``), points at what was found instead and
//! adds a help line for the usual mistakes (YAML habits, a space before a unit, an unclosed
//! block or string).

use pest::error::{Error, ErrorVariant, InputLocation};

use super::mistakes::{spaced_unit, unclosed_brace, unquoted_sql};
use super::tree::KINDS;
use super::Rule;
use crate::diagnostic::{codes, Diagnostic};
use crate::source::{SourceFile, Span};

const VALUE_FORMS: &str = "a value is a number with a unit (`5s`, `5MiB`, `2000/s`), a number, a word (`gzip`), a \"string\", a `\"\"\"` block, `${var.NAME}`, a list `[a, b]` or a block `{ … }`";
const DECLARATIONS: &str = "a `.kin` file is a list of declarations: `pipeline NAME { … }`, `schema NAME { … }`, `producer NAME { … }`, `stream NAME { … }`, `analytics NAME { … }` and `firehose NAME { … }`";

pub fn syntax_error(file: &SourceFile, err: &Error<Rule>) -> Diagnostic {
    let pos = match err.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((start, _)) => start,
    };
    let pos = file.clamp(pos);
    let positives: Vec<Rule> = match &err.variant {
        ErrorVariant::ParsingError { positives, .. } => positives.clone(),
        ErrorVariant::CustomError { .. } => Vec::new(),
    };
    let text = &*file.text;
    let found = Found::at(text, pos);
    explain(text, pos, &positives, &found)
}

/// What stands where pest stopped.
struct Found {
    span: Span,
    words: String,
    first: Option<char>,
}

impl Found {
    fn at(text: &str, pos: usize) -> Found {
        let rest = &text[pos..];
        let Some(first) = rest.chars().next() else {
            return Found {
                span: Span::new(pos, pos),
                words: "the end of the file".to_string(),
                first: None,
            };
        };
        let (len, words) = if first == '\n' || first == '\r' {
            (first.len_utf8(), "the end of the line".to_string())
        } else if first.is_alphanumeric() || first == '_' {
            let len = rest
                .find(|c: char| !(c.is_alphanumeric() || "_-./".contains(c)))
                .unwrap_or(rest.len());
            (len, format!("`{}`", &rest[..len]))
        } else if rest.starts_with("\"\"\"") {
            (3, "`\"\"\"`".to_string())
        } else if first == '"' {
            let len = rest[1..]
                .find(['"', '\n'])
                .map_or(rest.len(), |i| i + 2)
                .min(rest.len());
            (len, "a string".to_string())
        } else {
            (first.len_utf8(), format!("`{first}`"))
        };
        Found {
            span: Span::new(pos, pos + len),
            words,
            first: Some(first),
        }
    }
}

/// The token that ends just before `pos` (skipping white space): a word or a quoted string.
fn previous_token(text: &str, pos: usize) -> (&str, usize) {
    let before = text[..pos].trim_end();
    if let Some(stripped) = before.strip_suffix('"') {
        let start = stripped.rfind('"').unwrap_or(0);
        return (&before[start..], start);
    }
    let word = |c: char| c.is_alphanumeric() || "_-.".contains(c);
    match before.chars().next_back() {
        Some(last) if !word(last) => {
            let start = before.len() - last.len_utf8();
            (&before[start..], start)
        }
        _ => {
            let start = before.rfind(|c: char| !word(c)).map_or(0, |i| {
                i + before[i..].chars().next().map_or(1, char::len_utf8)
            });
            (&before[start..], start)
        }
    }
}

fn has(positives: &[Rule], rule: Rule) -> bool {
    positives.contains(&rule)
}

fn explain(text: &str, pos: usize, positives: &[Rule], found: &Found) -> Diagnostic {
    let (prev, prev_start) = previous_token(text, pos);
    let error = |span: Span, message: String| Diagnostic::new(codes::KIN_SYNTAX, span, message);
    if has(positives, Rule::raw_close) {
        let open = text[..pos].rfind("\"\"\"").unwrap_or(pos);
        return error(
            Span::new(open, open + 3),
            "this `\"\"\"` block is never closed".to_string(),
        )
        .with_label("opened here")
        .with_help("a `\"\"\"` block runs to the next `\"\"\"`: close it with `\"\"\"`");
    }
    if has(positives, Rule::string_close) && found.first != Some('\\') {
        let line_start = text[..pos].rfind('\n').map_or(0, |i| i + 1);
        let open = text[line_start..pos]
            .find('"')
            .map_or(pos, |i| line_start + i);
        return error(
            Span::new(open, pos.max(open + 1)),
            "this string is never closed".to_string(),
        )
        .with_label("no closing `\"` on this line")
        .with_help("a \"…\" string ends on the line it starts on: close it with `\"`, or write text over several lines as a `\"\"\"` block");
    }
    if found.first == Some('\\')
        && (has(positives, Rule::escape) || has(positives, Rule::string_close))
    {
        let escape: String = text[pos..].chars().take(2).collect();
        return error(
            Span::new(pos, pos + escape.len()),
            format!("unknown escape `{escape}` in a string"),
        )
        .with_label("not an escape")
        .with_help("the escapes are `\\\"`, `\\\\`, `\\n`, `\\t`, `\\r` and `\\u{…}`; a backslash itself is written `\\\\`");
    }
    // `clïcks`: a bare name stops at the first character that is not ASCII.
    if found
        .first
        .is_some_and(|c| !c.is_ascii() && c.is_alphanumeric())
        && text[..pos].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        let word = format!("{prev}{}", found.words.trim_matches('`'));
        return error(
            Span::new(prev_start, found.span.end),
            format!(
                "`{word}` is not a bare name: bare names are ASCII letters, digits, `_` and `-`"
            ),
        )
        .with_label("not a bare name")
        .with_help(format!("quote it: `\"{word}\"`"));
    }
    if let Some(diagnostic) = spaced_unit(text, pos, prev, prev_start) {
        return diagnostic;
    }
    if let Some(diagnostic) = unquoted_sql(text, pos) {
        return diagnostic;
    }
    if has(positives, Rule::eq) {
        return expected_equals(prev, found);
    }
    if matches!(found.first, Some('(' | '<'))
        && !prev.is_empty()
        && prev.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        let line_end = text[pos..].find('\n').map_or(text.len(), |i| pos + i);
        return error(
            Span::new(prev_start, line_end),
            format!("the type `{}` is not closed", text[prev_start..line_end].trim_end()),
        )
        .with_label("not a type")
        .with_help("a type is written on one line, its brackets closed: `decimal(10,2)`, `list<string>`, `struct<a:int,b:string?>`");
    }
    if has(positives, Rule::value) {
        let key = previous_token(text, prev_start).0;
        let missing = matches!(found.first, None | Some('\n' | '\r' | '}' | ','));
        let message = if missing {
            format!("the value of `{key}` is missing")
        } else {
            format!("expected a value after `{key} =`, found {}", found.words)
        };
        let help = if found.first == Some('\'') {
            "strings are written in double quotes: `\"…\"`".to_string()
        } else if found.first == Some('-') && text[pos..].starts_with("- ") {
            "a list is written `[a, b]`, not as YAML's `- item` lines".to_string()
        } else {
            VALUE_FORMS.to_string()
        };
        if missing {
            // Point at the `=` that has nothing after it, not at the next line.
            return error(Span::new(prev_start, prev_start + prev.len()), message)
                .with_label("nothing after `=`")
                .with_help(help);
        }
        return error(found.span, message)
            .with_label("expected a value")
            .with_help(help);
    }
    if has(positives, Rule::field_type) {
        return error(
            found.span,
            format!("expected a type after `{}`, found {}", field_name(text, prev_start), found.words),
        )
        .with_label("expected a type")
        .with_help("types are `string`, `int`, `float`, `bool`, `timestamp`, `date`, `decimal(p,s)`, `bytes`, `list<T>` and `struct<name:T,…>`, with a trailing `?` for nullable; a nested struct is `name { … }`");
    }
    if has(positives, Rule::colon) {
        let help = if found.first == Some('=') {
            "inside `fields { … }` a field is written `name: type`, not `name = …`"
        } else {
            "fields are written `name: type`, and a nested struct `name { … }`"
        };
        return error(
            found.span,
            format!(
                "expected `:` after the field name `{prev}`, found {}",
                found.words
            ),
        )
        .with_label("expected `:`")
        .with_help(help);
    }
    if has(positives, Rule::name) {
        return expected_name(prev, found);
    }
    if has(positives, Rule::kind) || has(positives, Rule::kw_pipeline) {
        return expected_declaration(text, found);
    }
    if has(positives, Rule::rbrace) && found.first.is_none() {
        let help = "close every block `{ … }` with `}`";
        return match unclosed_brace(text) {
            Some(open) => error(
                Span::new(open, open + 1),
                "this block is never closed: the file ends before its `}`".to_string(),
            )
            .with_label("opened here")
            .with_help(help),
            None => error(
                found.span,
                "expected `}`, found the end of the file".to_string(),
            )
            .with_help(help),
        };
    }
    if has(positives, Rule::lbrace) && !has(positives, Rule::rbrace) {
        let before = previous_token(text, prev_start).0;
        let declaration = before == "pipeline" || KINDS.iter().any(|(k, _)| *k == before);
        let help = if declaration {
            format!("a declaration's settings go in a block: `{before} {prev} {{ … }}`")
        } else if before == "to" {
            format!("a destination is written `to {prev} {{ key = value … }}`")
        } else {
            format!("a block is written `{prev} {{ key = value … }}`")
        };
        return error(
            found.span,
            format!("expected `{{` after `{prev}`, found {}", found.words),
        )
        .with_label("expected `{`")
        .with_help(help);
    }
    if has(positives, Rule::rbracket) {
        return error(
            found.span,
            format!("expected `,` or `]` in the list, found {}", found.words),
        )
        .with_label("expected `,` or `]`")
        .with_help("a list is written `[a, b, c]`");
    }
    if has(positives, Rule::rbrace) {
        let (message, help) = if has(positives, Rule::field) {
            (
                format!("expected a field or `}}`, found {}", found.words),
                "fields are written `name: type`, and a nested struct `name { … }`",
            )
        } else {
            (
                format!("expected a key or `}}`, found {}", found.words),
                "a block holds `key = value` entries and nested blocks `key { … }`",
            )
        };
        return error(found.span, message)
            .with_label("unexpected here")
            .with_help(help);
    }
    let expected = phrases(positives);
    let message = if expected.is_empty() {
        format!("unexpected {}", found.words)
    } else {
        format!("expected {expected}, found {}", found.words)
    };
    error(found.span, message).with_label("unexpected here")
}

/// pest expected `=` after a key.
fn expected_equals(prev: &str, found: &Found) -> Diagnostic {
    let help = match found.first {
        Some(':') => format!("write `{prev} = value`: kin uses `=` where YAML uses `:` (`name: type` is only for fields inside `fields {{ … }}`)"),
        _ => format!("write `{prev} = value`, or `{prev} {{ … }}` for a block"),
    };
    Diagnostic::new(
        codes::KIN_SYNTAX,
        found.span,
        format!("expected `=` after `{prev}`, found {}", found.words),
    )
    .with_label("expected `=`")
    .with_help(help)
}

/// pest expected a name after a declaration's kind.
fn expected_name(kind: &str, found: &Found) -> Diagnostic {
    let error = |message: String| Diagnostic::new(codes::KIN_SYNTAX, found.span, message);
    let known = kind == "pipeline" || KINDS.iter().any(|(k, _)| *k == kind);
    if known {
        let help = if found.first == Some(':') {
            format!("this looks like YAML; in kin write `{kind} NAME {{ … }}` (a YAML spec is a `.yaml` file; `kin convert FILE --to kin` converts one)")
        } else {
            format!("write `{kind} NAME {{ … }}`")
        };
        return error(format!(
            "expected the {kind}'s name after `{kind}`, found {}",
            found.words
        ))
        .with_label("expected a name")
        .with_help(help);
    }
    let help = match kind {
        "region" | "tags" => {
            format!("`{kind}` is set inside the pipeline block: `pipeline NAME {{ {kind} = … }}`")
        }
        _ => DECLARATIONS.to_string(),
    };
    error(format!(
        "`{kind}` is not a declaration: expected a name after it, found {}",
        found.words
    ))
    .with_label("expected a name")
    .with_help(help)
}

/// pest expected a new declaration at the top level.
fn expected_declaration(text: &str, found: &Found) -> Diagnostic {
    let after = text[found.span.end..].trim_start_matches([' ', '\t']);
    let help = if found.first == Some('}') {
        "this `}` closes no block".to_string()
    } else if after.starts_with(':') {
        "this looks like YAML: a YAML spec is a `.yaml` file, and `kin convert FILE --to kin` converts one to kin".to_string()
    } else {
        DECLARATIONS.to_string()
    };
    Diagnostic::new(
        codes::KIN_SYNTAX,
        found.span,
        format!(
            "expected a declaration such as `stream NAME {{ … }}`, found {}",
            found.words
        ),
    )
    .with_label("expected a declaration")
    .with_help(help)
}

/// The name of the field whose `:` ends just before `colon_start`.
fn field_name(text: &str, colon_start: usize) -> String {
    let (name, _) = previous_token(text, colon_start);
    if text[colon_start..].starts_with(':') {
        format!("{name}:")
    } else {
        name.to_string()
    }
}

/// The rules pest tried, in words: "`=`, `{` or a value".
fn phrases(positives: &[Rule]) -> String {
    let mut words: Vec<&str> = Vec::new();
    for rule in positives {
        let word = match rule {
            Rule::EOI => "the end of the file",
            Rule::kind | Rule::kw_pipeline | Rule::node_decl | Rule::pipeline_decl => {
                "a declaration"
            }
            Rule::name | Rule::label => "a name",
            Rule::key | Rule::attribute | Rule::block | Rule::fields_block => "a key",
            Rule::value => "a value",
            Rule::field | Rule::field_list => "a field",
            Rule::field_type => "a type",
            Rule::lbrace | Rule::body | Rule::object => "`{`",
            Rule::rbrace => "`}`",
            Rule::lbracket | Rule::list => "`[`",
            Rule::rbracket => "`]`",
            Rule::eq => "`=`",
            Rule::colon => "`:`",
            Rule::comma => "`,`",
            _ => continue,
        };
        if !words.contains(&word) {
            words.push(word);
        }
    }
    match words.as_slice() {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}
