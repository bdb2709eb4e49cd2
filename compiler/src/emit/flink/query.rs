//! The analytics' SQL as Flink gets it: the user's query re-rendered token by token, with every
//! identifier kin knows quoted in backticks and `APPROX_COUNT_DISTINCT(x)` written
//! `COUNT(DISTINCT x)`. Whitespace, comments, literals and everything else stay as written.
//!
//! Flink's parser rejects reserved words used as bare names (`views`, `user`, `value`, `at`,
//! `method`, …) which kin's SQL dialect accepts, so the emitter quotes the names it knows: the
//! fields of the inputs and of the output (nested struct fields too), the `from` tables, the
//! aliases the query introduces with `AS`, and the window columns. A word is only quoted where it
//! stands for a name: never before `(` (a function call), never as a keyword (`SELECT`,
//! `TABLE`, an interval unit, a type in `CAST`, a typed literal's type, a window frame's words).
//! Identifiers quoted with backticks stay as written; those in double quotes, which Flink does not
//! read, get backticks.

use std::collections::BTreeSet;

use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer, Whitespace, Word};

use super::quote;

/// The window columns of Flink's window table functions.
pub(super) const WINDOW_COLUMNS: [&str; 3] = ["window_start", "window_end", "window_time"];

/// Words that are keywords wherever they stand, unless after `.` or `AS`, or before `.`.
const KEYWORDS: &[&str] = &[
    "ALL",
    "AND",
    "ANY",
    "AS",
    "ASC",
    "ASYMMETRIC",
    "BETWEEN",
    "BOTH",
    "BY",
    "CASE",
    "CROSS",
    "DEFAULT",
    "DESC",
    "DESCRIPTOR",
    "DISTINCT",
    "ELSE",
    "END",
    "ESCAPE",
    "EXCEPT",
    "EXISTS",
    "FALSE",
    "FETCH",
    "FILTER",
    "FOR",
    "FROM",
    "FULL",
    "GROUP",
    "HAVING",
    "ILIKE",
    "IN",
    "INNER",
    "INTERSECT",
    "INTERVAL",
    "IS",
    "JOIN",
    "LATERAL",
    "LEADING",
    "LEFT",
    "LIKE",
    "LIMIT",
    "MINUS",
    "NATURAL",
    "NOT",
    "NULL",
    "NULLS",
    "OF",
    "OFFSET",
    "ON",
    "OR",
    "ORDER",
    "OUTER",
    "OVER",
    "PARTITION",
    "PLACING",
    "RIGHT",
    "SELECT",
    "SIMILAR",
    "SOME",
    "SYMMETRIC",
    "SYSTEM_TIME",
    "TABLE",
    "THEN",
    "TO",
    "TRAILING",
    "TRUE",
    "UNION",
    "UNKNOWN",
    "UNNEST",
    "USING",
    "VALUES",
    "WHEN",
    "WHERE",
    "WINDOW",
    "WITH",
    "WITHIN",
];

/// Time units: keywords after an interval's value (`INTERVAL '1' HOUR`), after `TO`
/// (`DAY TO SECOND`, `CEIL(ts TO HOUR)`) and as the first argument of `EXTRACT`,
/// `TIMESTAMPADD` and `TIMESTAMPDIFF`; names elsewhere.
const UNITS: &[&str] = &[
    "CENTURY",
    "DAY",
    "DAYS",
    "DECADE",
    "DOW",
    "DOY",
    "EPOCH",
    "HOUR",
    "HOURS",
    "ISODOW",
    "ISOYEAR",
    "MICROSECOND",
    "MICROSECONDS",
    "MILLENNIUM",
    "MILLISECOND",
    "MILLISECONDS",
    "MINUTE",
    "MINUTES",
    "MONTH",
    "MONTHS",
    "NANOSECOND",
    "NANOSECONDS",
    "QUARTER",
    "SECOND",
    "SECONDS",
    "WEEK",
    "WEEKS",
    "YEAR",
    "YEARS",
];

/// The functions whose first argument is a time unit.
const UNIT_FUNCTIONS: &[&str] = &["EXTRACT", "TIMESTAMPADD", "TIMESTAMPDIFF"];

/// Words of a window frame (`OVER (… ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)`):
/// keywords inside `OVER (…)` (`FIRST` and `LAST` also after `NULLS`), names elsewhere.
const FRAME_WORDS: &[&str] = &[
    "CURRENT",
    "FIRST",
    "FOLLOWING",
    "LAST",
    "PRECEDING",
    "RANGE",
    "ROW",
    "ROWS",
    "UNBOUNDED",
];

/// The query as Flink runs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Query {
    pub sql: String,
    /// Whether `APPROX_COUNT_DISTINCT` was rewritten into `COUNT(DISTINCT …)`.
    pub approx_count_distinct: bool,
    /// Whether the query ends with a `--` comment (a `;` after it would be part of it).
    pub ends_with_line_comment: bool,
}

/// A significant token (not whitespace or a comment) and its byte range in the SQL.
struct Tok {
    token: Token,
    start: usize,
    end: usize,
}

/// What a word stands for where it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// A keyword, a type, a unit: never quoted.
    Keyword,
    /// A function name (the word before `(`): never quoted.
    Function,
    /// Introduced by `AS` (a column, table or CTE alias): always quoted.
    Alias,
    /// A name: quoted when kin knows it.
    Name,
}

/// An open parenthesis and what it belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Frame {
    /// `CAST(` / `TRY_CAST(`; `typed` once its `AS` is passed (the rest is a type).
    Cast {
        typed: bool,
    },
    /// `OVER (`: a window specification.
    Over,
    /// `EXTRACT(`, `TIMESTAMPADD(`, `TIMESTAMPDIFF(`: the first argument is a unit.
    Unit,
    Other,
}

/// Re-renders `sql`, quoting the unquoted words in `known` (exact case, as Flink matches names)
/// and the aliases introduced with `AS`, where they stand for names. A SQL the tokenizer cannot
/// read (the checker has reported it) is returned as written.
pub(super) fn flink_query(sql: &str, known: &BTreeSet<String>) -> Query {
    let as_written = Query {
        sql: sql.to_string(),
        approx_count_distinct: false,
        ends_with_line_comment: sql
            .rsplit('\n')
            .next()
            .is_some_and(|line| line.contains("--")),
    };
    let Ok(raw) = Tokenizer::new(&GenericDialect {}, sql).tokenize_with_location() else {
        return as_written;
    };
    let ends_with_line_comment = raw
        .iter()
        .rev()
        .find(|t| !matches!(t.token, Token::Whitespace(ref w) if is_blank(w)))
        .is_some_and(|t| {
            matches!(
                t.token,
                Token::Whitespace(Whitespace::SingleLineComment { .. })
            )
        });
    let toks = significant(sql, raw);
    let roles = roles(&toks);
    let aliases: BTreeSet<&str> = toks
        .iter()
        .zip(&roles)
        .filter(|(_, role)| **role == Some(Role::Alias))
        .filter_map(|(t, _)| bare_word(t).map(|w| w.value.as_str()))
        .collect();
    let mut replacements: Vec<(usize, usize, String)> = Vec::new();
    let mut approx = false;
    for (i, (tok, role)) in toks.iter().zip(&roles).enumerate() {
        // A double-quoted identifier (kin's dialect) is a parse error in Flink: backticks instead.
        if let Token::Word(Word {
            value,
            quote_style: Some('"'),
            ..
        }) = &tok.token
        {
            let text = sql.get(tok.start..tok.end).unwrap_or_default();
            if text.len() >= 2 && text.starts_with('"') && text.ends_with('"') {
                replacements.push((tok.start, tok.end, quote(value)));
            }
            continue;
        }
        let (Some(word), Some(role)) = (bare_word(tok), role) else {
            continue;
        };
        // Only replace a word whose range holds exactly the word (the tokenizer's positions).
        if sql.get(tok.start..tok.end) != Some(word.value.as_str()) {
            continue;
        }
        let name = word.value.as_str();
        let quoted = match role {
            Role::Alias => true,
            Role::Name => known.contains(name) || aliases.contains(name),
            Role::Keyword => false,
            Role::Function => {
                if name.eq_ignore_ascii_case("APPROX_COUNT_DISTINCT") {
                    approx |= approx_count_distinct(sql, &toks, i, &mut replacements);
                }
                false
            }
        };
        if quoted {
            replacements.push((tok.start, tok.end, quote(name)));
        }
    }
    replacements.sort_by_key(|r| r.0);
    let mut out = String::with_capacity(sql.len() + 8 * replacements.len());
    let mut at = 0;
    for (start, end, text) in replacements {
        if start < at {
            continue;
        }
        out.push_str(&sql[at..start]);
        out.push_str(&text);
        at = end;
    }
    out.push_str(&sql[at..]);
    Query {
        sql: out,
        approx_count_distinct: approx,
        ends_with_line_comment,
    }
}

/// `APPROX_COUNT_DISTINCT(x)` at `toks[i]` → `COUNT(DISTINCT x)`: Flink has no approximate
/// distinct count in streaming queries. Returns whether it was rewritten.
fn approx_count_distinct(
    sql: &str,
    toks: &[Tok],
    i: usize,
    replacements: &mut Vec<(usize, usize, String)>,
) -> bool {
    let (Some(open), Some(first)) = (toks.get(i + 1), toks.get(i + 2)) else {
        return false;
    };
    if open.token != Token::LParen || sql.get(open.start..open.end) != Some("(") {
        return false;
    }
    replacements.push((toks[i].start, toks[i].end, "COUNT".to_string()));
    if !is_keyword(first, "DISTINCT") {
        replacements.push((open.start, open.end, "(DISTINCT ".to_string()));
    }
    true
}

fn is_blank(w: &Whitespace) -> bool {
    matches!(w, Whitespace::Space | Whitespace::Newline | Whitespace::Tab)
}

/// The tokens that are not whitespace or comments, with byte ranges.
fn significant(sql: &str, raw: Vec<TokenWithSpan>) -> Vec<Tok> {
    let starts: Vec<usize> = std::iter::once(0)
        .chain(sql.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    // sqlparser's 1-based line and character column → a byte offset.
    let offset = |line: u64, column: u64| -> usize {
        let Some(&start) = starts.get((line as usize).saturating_sub(1)) else {
            return sql.len();
        };
        let rest = &sql[start..];
        let rest = &rest[..rest.find('\n').unwrap_or(rest.len())];
        start
            + rest
                .char_indices()
                .nth((column as usize).saturating_sub(1))
                .map_or(rest.len(), |(i, _)| i)
    };
    raw.into_iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_) | Token::EOF))
        .map(|t| Tok {
            start: offset(t.span.start.line, t.span.start.column),
            end: offset(t.span.end.line, t.span.end.column),
            token: t.token,
        })
        .collect()
}

fn bare_word(t: &Tok) -> Option<&Word> {
    match &t.token {
        Token::Word(w) if w.quote_style.is_none() => Some(w),
        _ => None,
    }
}

fn is_keyword(t: &Tok, keyword: &str) -> bool {
    bare_word(t).is_some_and(|w| w.value.eq_ignore_ascii_case(keyword))
}

fn is_string(t: &Tok) -> bool {
    matches!(
        t.token,
        Token::SingleQuotedString(_)
            | Token::NationalStringLiteral(_)
            | Token::EscapedStringLiteral(_)
            | Token::UnicodeStringLiteral(_)
            | Token::HexStringLiteral(_)
            | Token::SingleQuotedByteStringLiteral(_)
    )
}

fn listed(list: &[&str], word: &str) -> bool {
    list.iter().any(|k| k.eq_ignore_ascii_case(word))
}

/// The role of every bare word (`None` for other tokens), in one pass that follows parentheses.
fn roles(toks: &[Tok]) -> Vec<Option<Role>> {
    let mut frames: Vec<Frame> = Vec::new();
    let mut roles = Vec::with_capacity(toks.len());
    for (i, tok) in toks.iter().enumerate() {
        let prev = i.checked_sub(1).and_then(|p| toks.get(p));
        match &tok.token {
            Token::LParen => {
                let frame = match prev
                    .and_then(bare_word)
                    .map(|w| w.value.to_ascii_uppercase())
                {
                    Some(w) if w == "CAST" || w == "TRY_CAST" => Frame::Cast { typed: false },
                    Some(w) if w == "OVER" => Frame::Over,
                    Some(w) if listed(UNIT_FUNCTIONS, &w) => Frame::Unit,
                    _ => Frame::Other,
                };
                frames.push(frame);
                roles.push(None);
                continue;
            }
            Token::RParen => {
                frames.pop();
                roles.push(None);
                continue;
            }
            _ => {}
        }
        let Some(word) = bare_word(tok) else {
            roles.push(None);
            continue;
        };
        let role = role(word, toks, i, &frames);
        // The `AS` of a CAST: what follows, up to its `)`, is a type.
        if word.value.eq_ignore_ascii_case("AS") {
            if let Some(Frame::Cast { typed }) = frames.last_mut() {
                *typed = true;
            }
        }
        roles.push(Some(role));
    }
    roles
}

fn role(word: &Word, toks: &[Tok], i: usize, frames: &[Frame]) -> Role {
    let at = |j: Option<usize>| j.and_then(|j| toks.get(j));
    let prev = at(i.checked_sub(1));
    let next = at(Some(i + 1));
    let after_next = at(Some(i + 2));
    let upper = word.value.to_ascii_uppercase();
    let is = |t: Option<&Tok>, token: Token| t.is_some_and(|t| t.token == token);
    let is_word = |t: Option<&Tok>, w: &str| t.is_some_and(|t| is_keyword(t, w));

    if is(next, Token::LParen) {
        return Role::Function;
    }
    // A type: after the `AS` of a CAST, or after `::`.
    if frames.contains(&Frame::Cast { typed: true }) || is(prev, Token::DoubleColon) {
        return Role::Keyword;
    }
    if is(prev, Token::Period) || is(next, Token::Period) {
        return Role::Name;
    }
    if is_word(prev, "AS") && upper != "OF" {
        return Role::Alias;
    }
    // `WITH name AS (…)`: a common table expression.
    if is_word(next, "AS") && is(after_next, Token::LParen) {
        return Role::Alias;
    }
    if listed(KEYWORDS, &upper) {
        return Role::Keyword;
    }
    // A typed literal: `DATE '2026-01-01'`, `TIMESTAMP '…'`.
    if next.is_some_and(is_string) {
        return Role::Keyword;
    }
    if listed(UNITS, &upper) {
        let after_value =
            prev.is_some_and(|p| is_string(p) || matches!(p.token, Token::Number(..)));
        let first_of_unit_function = is(prev, Token::LParen) && frames.last() == Some(&Frame::Unit);
        if after_value || is_word(prev, "TO") || first_of_unit_function {
            return Role::Keyword;
        }
    }
    if listed(FRAME_WORDS, &upper) {
        let in_over = frames.last() == Some(&Frame::Over);
        let nulls = is_word(prev, "NULLS") && (upper == "FIRST" || upper == "LAST");
        if in_over || nulls {
            return Role::Keyword;
        }
    }
    // `ARRAY[…]`, `MAP[…]`: constructors.
    if (upper == "ARRAY" || upper == "MAP") && is(next, Token::LBracket) {
        return Role::Keyword;
    }
    Role::Name
}
