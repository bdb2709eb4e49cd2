//! `${var.NAME}` and `${secret:NAME}` in destination settings, resolved when the pipeline
//! starts from environment variables:
//!
//! - `${var.NAME}` → `KIN_VAR_NAME`
//! - `${secret:NAME}` → `KIN_SECRET_NAME`
//!
//! where NAME is upper-cased and every character other than `A-Z`, `0-9` and `_` becomes `_`
//! (`${var.redshift_jdbc_url}` → `KIN_VAR_REDSHIFT_JDBC_URL`, `${secret:hec/token}` →
//! `KIN_SECRET_HEC_TOKEN`). A reference whose variable is unset is an error that names the
//! variable; every missing one is reported at once. Text around references is kept
//! (`"${var.host}/ingest"`). Anything that is not one of the two forms is left as written (the
//! compiler has already rejected malformed references).

use std::fmt;

/// A reference in a spec string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reference {
    Var(String),
    Secret(String),
}

impl Reference {
    /// The environment variable that holds its value.
    pub fn env_name(&self) -> String {
        let (prefix, name) = match self {
            Reference::Var(name) => ("KIN_VAR_", name),
            Reference::Secret(name) => ("KIN_SECRET_", name),
        };
        let mut out = prefix.to_string();
        out.extend(name.chars().map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        }));
        out
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reference::Var(name) => write!(f, "${{var.{name}}}"),
            Reference::Secret(name) => write!(f, "${{secret:{name}}}"),
        }
    }
}

/// A reference whose environment variable is not set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Missing {
    pub reference: Reference,
    pub env_name: String,
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} is not set: set the environment variable {}",
            self.reference, self.env_name
        )
    }
}

/// Splits `text` into literal pieces and references.
fn pieces(text: &str) -> Vec<Result<&str, Reference>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("${") {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        let inner = &rest[open + 2..open + close];
        let reference = if let Some(name) = inner.strip_prefix("var.") {
            Some(Reference::Var(name.to_string()))
        } else {
            inner
                .strip_prefix("secret:")
                .map(|name| Reference::Secret(name.to_string()))
        };
        match reference {
            Some(reference) if !inner.ends_with('.') && !inner.ends_with(':') => {
                out.push(Ok(&rest[..open]));
                out.push(Err(reference));
            }
            _ => out.push(Ok(&rest[..open + close + 1])),
        }
        rest = &rest[open + close + 1..];
    }
    out.push(Ok(rest));
    out
}

/// The references `text` holds, in order.
pub fn references(text: &str) -> Vec<Reference> {
    pieces(text).into_iter().filter_map(Result::err).collect()
}

/// `text` with each reference replaced by `lookup(env name)`; the missing ones otherwise.
pub fn resolve_with(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, Vec<Missing>> {
    let mut out = String::new();
    let mut missing = Vec::new();
    for piece in pieces(text) {
        match piece {
            Ok(literal) => out.push_str(literal),
            Err(reference) => {
                let env_name = reference.env_name();
                match lookup(&env_name) {
                    Some(value) => out.push_str(&value),
                    None => missing.push(Missing {
                        reference,
                        env_name,
                    }),
                }
            }
        }
    }
    if missing.is_empty() {
        Ok(out)
    } else {
        Err(missing)
    }
}

/// Resolves from the process environment (a variable that is not valid Unicode is missing).
pub fn resolve(text: &str) -> Result<String, Vec<Missing>> {
    resolve_with(text, &|name| std::env::var(name).ok())
}

/// Resolves settings of one node, collecting every missing variable as
/// `NODE_KIND "NAME" (KEY): ${var.X} is not set: set the environment variable KIN_VAR_X`.
pub struct Resolver<'a> {
    node: String,
    lookup: &'a dyn Fn(&str) -> Option<String>,
    pub errors: Vec<String>,
}

impl<'a> Resolver<'a> {
    /// `node` names the node in messages, e.g. `firehose "orders"`.
    pub fn new(node: impl Into<String>, lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Resolver {
            node: node.into(),
            lookup,
            errors: Vec::new(),
        }
    }

    /// The resolved value of setting `key` (its text as written when something is missing).
    pub fn get(&mut self, key: &str, text: &str) -> String {
        match resolve_with(text, self.lookup) {
            Ok(value) => value,
            Err(missing) => {
                for m in missing {
                    self.errors.push(format!("{} ({key}): {m}", self.node));
                }
                text.to_string()
            }
        }
    }

    /// Like [`Resolver::get`] for an optional setting.
    pub fn get_opt(&mut self, key: &str, text: Option<&str>) -> Option<String> {
        text.map(|t| self.get(key, t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "KIN_VAR_HOST" => Some("db.local".into()),
            "KIN_SECRET_HEC_TOKEN" => Some("t0k".into()),
            _ => None,
        }
    }

    #[test]
    fn references_resolve_from_upper_cased_environment_names() {
        assert_eq!(
            resolve_with("jdbc:postgresql://${var.host}:5432/x", &env),
            Ok("jdbc:postgresql://db.local:5432/x".into())
        );
        assert_eq!(resolve_with("${secret:hec/token}", &env), Ok("t0k".into()));
        assert_eq!(
            resolve_with("plain $text {x}", &env),
            Ok("plain $text {x}".into())
        );
        assert_eq!(
            Reference::Secret("db.pw-1".into()).env_name(),
            "KIN_SECRET_DB_PW_1"
        );
    }

    #[test]
    fn every_missing_variable_is_named() {
        let missing = resolve_with("${var.a}/${secret:b}/${var.host}", &env).unwrap_err();
        let names: Vec<&str> = missing.iter().map(|m| m.env_name.as_str()).collect();
        assert_eq!(names, ["KIN_VAR_A", "KIN_SECRET_B"]);
        assert_eq!(
            missing[0].to_string(),
            "${var.a} is not set: set the environment variable KIN_VAR_A"
        );
        let mut resolver = Resolver::new("firehose \"f\"", &env);
        resolver.get("redshift.password", "${secret:pw}");
        assert_eq!(
            resolver.errors,
            ["firehose \"f\" (redshift.password): ${secret:pw} is not set: set the environment variable KIN_SECRET_PW"]
        );
    }
}
