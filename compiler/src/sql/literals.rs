//! The string literals a query compares a column with (`event_type = 'view'`,
//! `op IN ('insert', 'update')`, `'failure' = outcome`): the synthetic producers of a generated
//! runtime draw from them, so that the query's filters match some of their records.

use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};

/// Every literal `sql` compares `column` with, in order of appearance, without repeats.
pub fn compared_literals(sql: &str, column: &str) -> Vec<String> {
    let Ok(tokens) = Tokenizer::new(&GenericDialect {}, sql).tokenize() else {
        return Vec::new();
    };
    let tokens: Vec<Token> = tokens
        .into_iter()
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .collect();
    let is_column = |t: &Token| matches!(t, Token::Word(w) if w.value == column);
    let is_comparison = |t: &Token| matches!(t, Token::Eq | Token::Neq | Token::DoubleEq);
    let literal = |t: Option<&Token>| match t {
        Some(Token::SingleQuotedString(s)) => Some(s.clone()),
        _ => None,
    };
    let mut found = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        if is_column(token) {
            let next = tokens.get(i + 1);
            if next.is_some_and(is_comparison) {
                found.extend(literal(tokens.get(i + 2)));
            } else if matches!(next, Some(Token::Word(w)) if w.value.eq_ignore_ascii_case("IN")) {
                let mut j = i + 3;
                while let Some(value) = literal(tokens.get(j)) {
                    found.push(value);
                    j += 2;
                }
            }
        } else if let Some(value) = literal(Some(token)) {
            let compared = tokens.get(i + 1).is_some_and(is_comparison)
                && tokens.get(i + 2).is_some_and(is_column);
            if compared {
                found.push(value);
            }
        }
    }
    let mut unique = Vec::new();
    for value in found {
        if !unique.contains(&value) {
            unique.push(value);
        }
    }
    unique
}

#[cfg(test)]
mod tests {
    use super::compared_literals;

    #[test]
    fn finds_equalities_in_lists_and_reversed_comparisons() {
        let sql = "SELECT * FROM t WHERE event_type = 'view' AND c.op IN ('insert', 'update') \
                   OR 'failure' = outcome OR page <> '/' OR event_type = 'view'";
        assert_eq!(compared_literals(sql, "event_type"), ["view"]);
        assert_eq!(compared_literals(sql, "op"), ["insert", "update"]);
        assert_eq!(compared_literals(sql, "outcome"), ["failure"]);
        assert_eq!(compared_literals(sql, "page"), ["/"]);
        assert!(compared_literals(sql, "user").is_empty());
        assert!(compared_literals("SELECT 'unclosed", "x").is_empty());
    }
}
