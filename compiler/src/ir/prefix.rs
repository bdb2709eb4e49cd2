//! Firehose S3 prefix expressions (`raw/!{timestamp:yyyy/MM/dd}/`), parsed into parts.

/// One piece of a prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrefixPart {
    Literal(String),
    /// `!{timestamp:PATTERN}`: a Java DateTimeFormatter pattern.
    Timestamp(String),
    /// `!{firehose:error-output-type}` or `!{firehose:random-string}`.
    Firehose(String),
    /// `!{partitionKeyFromQuery:KEY}`.
    PartitionKey(String),
    /// `!{partitionKeyFromLambda:KEY}`.
    LambdaKey(String),
}

/// A malformed or unknown expression, at a byte range of the prefix text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrefixError {
    pub start: usize,
    pub end: usize,
    pub message: String,
    pub help: Option<String>,
}

pub const NAMESPACES: &[&str] = &[
    "timestamp",
    "firehose",
    "partitionKeyFromQuery",
    "partitionKeyFromLambda",
];
pub const FIREHOSE_VALUES: &[&str] = &["error-output-type", "random-string"];
/// Java DateTimeFormatter letters Firehose users write in prefixes.
const PATTERN_LETTERS: &str = "GuyDMLdQqYwWEecFahKkHmsSAnNVzOXxZp";

/// A part of a prefix with its byte range in the prefix text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Piece {
    pub start: usize,
    pub end: usize,
    pub part: PrefixPart,
}

/// Splits a prefix into literal text and expressions; collects every error.
pub fn parse_prefix(text: &str) -> (Vec<PrefixPart>, Vec<PrefixError>) {
    let (pieces, errors) = parse_pieces(text);
    (pieces.into_iter().map(|p| p.part).collect(), errors)
}

/// Like [`parse_prefix`], keeping where each part is written.
pub fn parse_pieces(text: &str) -> (Vec<Piece>, Vec<PrefixError>) {
    let mut parts = Vec::new();
    let mut errors = Vec::new();
    let mut literal = String::new();
    let mut literal_start = 0;
    let mut pos = 0;
    while pos < text.len() {
        let rest = &text[pos..];
        if !rest.starts_with("!{") {
            let c = rest.chars().next().unwrap_or(' ');
            if literal.is_empty() {
                literal_start = pos;
            }
            literal.push(c);
            pos += c.len_utf8();
            continue;
        }
        let Some(close) = rest.find('}') else {
            errors.push(PrefixError {
                start: pos,
                end: text.len(),
                message: "`!{` starts an expression that is never closed".into(),
                help: Some("close it with `}`: `!{namespace:value}`".into()),
            });
            break;
        };
        if !literal.is_empty() {
            parts.push(Piece {
                start: literal_start,
                end: pos,
                part: PrefixPart::Literal(std::mem::take(&mut literal)),
            });
        }
        let inner = &rest[2..close];
        let (start, end) = (pos, pos + close + 1);
        match expression(inner) {
            Ok(part) => parts.push(Piece { start, end, part }),
            Err((message, help)) => errors.push(PrefixError {
                start,
                end,
                message,
                help,
            }),
        }
        pos = end;
    }
    if !literal.is_empty() {
        parts.push(Piece {
            start: literal_start,
            end: text.len(),
            part: PrefixPart::Literal(literal),
        });
    }
    (parts, errors)
}

fn expression(inner: &str) -> Result<PrefixPart, (String, Option<String>)> {
    let Some((namespace, value)) = inner.split_once(':') else {
        return Err((
            format!("`!{{{inner}}}` has no namespace"),
            Some("write `!{namespace:value}`, e.g. `!{timestamp:yyyy/MM/dd}`".into()),
        ));
    };
    let value = value.to_string();
    match namespace {
        "timestamp" => timestamp_pattern(&value).map(|_| PrefixPart::Timestamp(value)),
        "firehose" if FIREHOSE_VALUES.contains(&value.as_str()) => Ok(PrefixPart::Firehose(value)),
        "firehose" => Err((
            format!("`!{{firehose:{value}}}` is not a Firehose expression"),
            Some("the firehose namespace has `error-output-type` and `random-string`".into()),
        )),
        "partitionKeyFromQuery" | "partitionKeyFromLambda" if value.is_empty() => Err((
            format!("`!{{{namespace}:}}` names no partition key"),
            Some(
                "write the key after the colon, e.g. `!{partitionKeyFromQuery:customer_id}`".into(),
            ),
        )),
        "partitionKeyFromQuery" => Ok(PrefixPart::PartitionKey(value)),
        "partitionKeyFromLambda" => Ok(PrefixPart::LambdaKey(value)),
        _ => Err((
            format!("`{namespace}` is not a prefix expression namespace"),
            Some(
                match crate::diagnostic::nearest(namespace, NAMESPACES.iter().copied()) {
                    Some(n) => format!("did you mean `{n}`?"),
                    None => format!("namespaces are: {}", NAMESPACES.join(", ")),
                },
            ),
        )),
    }
}

/// Checks a DateTimeFormatter pattern: letters outside quotes must be pattern letters.
fn timestamp_pattern(pattern: &str) -> Result<(), (String, Option<String>)> {
    if pattern.is_empty() {
        return Err((
            "`!{timestamp:}` has an empty pattern".into(),
            Some("for example `!{timestamp:yyyy/MM/dd}`".into()),
        ));
    }
    let mut quoted = false;
    for c in pattern.chars() {
        if c == '\'' {
            quoted = !quoted;
        } else if !quoted && c.is_ascii_alphabetic() && !PATTERN_LETTERS.contains(c) {
            return Err((
                format!("`{c}` is not a date-time pattern letter in `{pattern}`"),
                Some("use yyyy, MM, dd, HH, mm, ss (Java DateTimeFormatter); quote literal text as 'text'".into()),
            ));
        }
    }
    if quoted {
        return Err((
            format!("`{pattern}` has an unclosed quote"),
            Some("close literal text with `'`".into()),
        ));
    }
    Ok(())
}

/// The prefix a firehose delivers with: `prefix`, plus `KEY=!{partitionKeyFromQuery:KEY}/` for
/// each `partition_by` key it does not mention, with the keys (`a.b` → key `a_b`) and their
/// record paths.
pub fn effective_prefix(prefix: &str, partition_by: &[String]) -> (String, Vec<(String, String)>) {
    let keys: Vec<(String, String)> = partition_by
        .iter()
        .map(|path| (path.replace('.', "_"), path.clone()))
        .collect();
    let mut prefix = prefix.to_string();
    for (key, _) in &keys {
        let expression = format!("!{{partitionKeyFromQuery:{key}}}");
        if !prefix.contains(&expression) {
            prefix.push_str(&format!("{key}={expression}/"));
        }
    }
    (prefix, keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_fact_sheet_examples() {
        let (parts, errors) = parse_prefix("raw/!{timestamp:yyyy/MM/dd/HH}/");
        assert!(errors.is_empty());
        assert_eq!(
            parts,
            vec![
                PrefixPart::Literal("raw/".into()),
                PrefixPart::Timestamp("yyyy/MM/dd/HH".into()),
                PrefixPart::Literal("/".into()),
            ]
        );
        let (parts, errors) =
            parse_prefix("errors/!{firehose:error-output-type}/!{timestamp:yyyy}/");
        assert!(errors.is_empty());
        assert_eq!(parts[1], PrefixPart::Firehose("error-output-type".into()));
    }

    #[test]
    fn reports_bad_expressions() {
        assert_eq!(parse_prefix("a/!{timestmp:yyyy}/").1.len(), 1);
        assert_eq!(parse_prefix("a/!{timestamp:yyyy").1.len(), 1);
        assert_eq!(parse_prefix("a/!{timestamp:yyyy/TT}").1.len(), 1);
        assert_eq!(parse_prefix("!{firehose:name}").1.len(), 1);
        assert!(parse_prefix("x/!{timestamp:'year='yyyy}").1.is_empty());
    }
}
