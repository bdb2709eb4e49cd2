//! HCL values: quoted strings with Terraform's escapes, and spec strings whose `${var.X}` and
//! `${secret:X}` references become Terraform variable references.

use std::collections::BTreeMap;

/// A quoted HCL string holding `text` literally: quotes, backslashes and control characters
/// escaped, and `${` / `%{` doubled so Terraform does not read them as a template.
pub fn string(text: &str) -> String {
    format!("\"{}\"", escape(text))
}

/// The inside of a quoted HCL string holding `text` literally.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' | '%' if chars.peek() == Some(&'{') => {
                out.push(c);
                out.push(c);
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// A list of HCL expressions on one line: `["a", "b"]`.
pub fn list<I, S>(items: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let items: Vec<String> = items.into_iter().map(|s| s.as_ref().to_string()).collect();
    format!("[{}]", items.join(", "))
}

/// A reference written in a spec string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reference {
    /// `${var.NAME}`
    Var(String),
    /// `${secret:NAME}`
    Secret(String),
}

/// A piece of a spec string: literal text or a reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    Ref(Reference),
}

/// Splits a spec string into text and `${var.X}` / `${secret:X}` references. Anything else
/// (the checker reports it) stays literal text.
pub fn pieces(text: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut literal = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("${") {
        let after = &rest[at + 2..];
        let reference = after.find('}').and_then(|end| {
            let inner = &after[..end];
            let parsed = if let Some(name) = inner.strip_prefix("var.") {
                valid_var(name).then(|| Reference::Var(name.to_string()))
            } else if let Some(name) = inner.strip_prefix("secret:") {
                valid_secret(name).then(|| Reference::Secret(name.to_string()))
            } else {
                None
            };
            parsed.map(|r| (r, end))
        });
        match reference {
            Some((reference, end)) => {
                literal.push_str(&rest[..at]);
                if !literal.is_empty() {
                    out.push(Piece::Text(std::mem::take(&mut literal)));
                }
                out.push(Piece::Ref(reference));
                rest = &after[end + 1..];
            }
            None => {
                literal.push_str(&rest[..at + 2]);
                rest = after;
            }
        }
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        out.push(Piece::Text(literal));
    }
    out
}

fn valid_var(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn valid_secret(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '/' | '.'))
}

/// The Terraform variables that stand for the spec's references: `${var.X}` is variable `X`;
/// `${secret:X}` is a sensitive variable named after `X` (see [`secret_variable`]).
#[derive(Clone, Debug, Default)]
pub struct Variables {
    /// Terraform variable name → (is a secret, the name in the spec).
    pub names: BTreeMap<String, (bool, String)>,
    secrets: BTreeMap<String, String>,
}

/// kin's own variables, which a spec reference cannot shadow as a secret.
pub const RESERVED: &[&str] = &["region", "name_prefix"];

impl Variables {
    /// Collects the references of `text`.
    pub fn collect(&mut self, text: &str) {
        for piece in pieces(text) {
            match piece {
                Piece::Ref(Reference::Var(name)) => {
                    self.names.entry(name.clone()).or_insert((false, name));
                }
                Piece::Ref(Reference::Secret(name)) => {
                    if !self.secrets.contains_key(&name) {
                        let variable = secret_variable(&name);
                        self.secrets.insert(name.clone(), variable);
                    }
                }
                Piece::Text(_) => {}
            }
        }
    }

    /// Resolves the secret names once every reference is collected: a secret whose variable
    /// name is taken by a `${var.X}` (or by kin) gets `_secret` appended.
    pub fn finish(&mut self) {
        let secrets = std::mem::take(&mut self.secrets);
        for (secret, mut variable) in secrets {
            while self.names.contains_key(&variable) || RESERVED.contains(&variable.as_str()) {
                variable.push_str("_secret");
            }
            self.names.insert(variable.clone(), (true, secret.clone()));
            self.secrets.insert(secret, variable);
        }
    }

    /// `text` as an HCL expression: `var.X` when it is one reference, a quoted template with
    /// interpolations when references sit inside text, a plain string otherwise.
    pub fn expression(&self, text: &str) -> String {
        let pieces = pieces(text);
        if let [Piece::Ref(reference)] = pieces.as_slice() {
            return format!("var.{}", self.variable(reference));
        }
        let mut out = String::from("\"");
        for piece in &pieces {
            match piece {
                Piece::Text(text) => out.push_str(&escape(text)),
                Piece::Ref(reference) => {
                    out.push_str(&format!("${{var.{}}}", self.variable(reference)));
                }
            }
        }
        out.push('"');
        out
    }

    fn variable(&self, reference: &Reference) -> String {
        match reference {
            Reference::Var(name) => name.clone(),
            Reference::Secret(name) => self
                .secrets
                .get(name)
                .cloned()
                .unwrap_or_else(|| secret_variable(name)),
        }
    }
}

/// A Terraform variable name for a secret name (`db/password` → `db_password`).
pub fn secret_variable(secret: &str) -> String {
    let mut name: String = secret
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if !name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        name.insert_str(0, "secret_");
    }
    name
}

/// Whether a spec string holds a `${…}` reference (its value is only known at deploy time).
pub fn has_reference(text: &str) -> bool {
    pieces(text).iter().any(|p| matches!(p, Piece::Ref(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped() {
        assert_eq!(string("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(string("${x} %{y} $z"), r#""$${x} %%{y} $z""#);
        assert_eq!(string("line\nnext"), r#""line\nnext""#);
        assert_eq!(
            string("raw/!{timestamp:yyyy}/"),
            r#""raw/!{timestamp:yyyy}/""#
        );
    }

    #[test]
    fn references_become_variables() {
        let mut vars = Variables::default();
        for text in [
            "${var.host}/ingest",
            "${secret:db/pw}",
            "${var.region}",
            "${secret:host}",
        ] {
            vars.collect(text);
        }
        vars.finish();
        assert_eq!(vars.expression("${var.host}"), "var.host");
        assert_eq!(
            vars.expression("${var.host}/ingest"),
            "\"${var.host}/ingest\""
        );
        assert_eq!(vars.expression("${secret:db/pw}"), "var.db_pw");
        assert_eq!(vars.expression("${secret:host}"), "var.host_secret");
        assert_eq!(vars.expression("plain \"x\""), "\"plain \\\"x\\\"\"");
        assert_eq!(vars.names.get("db_pw"), Some(&(true, "db/pw".into())));
        assert_eq!(vars.names.get("host").map(|v| v.0), Some(false));
    }

    #[test]
    fn malformed_references_stay_literal() {
        assert_eq!(pieces("${nope}"), vec![Piece::Text("${nope}".into())]);
        assert_eq!(pieces("a${var.x"), vec![Piece::Text("a${var.x".into())]);
        let vars = Variables::default();
        assert_eq!(vars.expression("${nope}"), "\"$${nope}\"");
        assert_eq!(secret_variable("9lives"), "secret_9lives");
    }
}
