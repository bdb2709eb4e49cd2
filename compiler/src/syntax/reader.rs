//! Reading typed values out of the YAML node tree, reporting every problem as a diagnostic.

use super::yaml::{Key, Node, NodeKind};
use super::Syntax;
use crate::diagnostic::{codes, did_you_mean, nearest, Diagnostic};
use crate::ir::units::{Duration, Rate, Size};
use crate::source::{Span, Spanned};

/// Collects diagnostics while values are read.
#[derive(Default)]
pub struct Reader {
    pub diagnostics: Vec<Diagnostic>,
    /// The syntax the spec is written in, for the examples in help lines.
    pub syntax: Syntax,
}

/// Whether a string may hold `${var.X}` / `${secret:X}` references.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Interp {
    Allowed,
    Forbidden,
}

/// The entries of one mapping after unknown and duplicate keys were reported.
pub struct Fields<'n> {
    /// What the mapping is, for messages: `stream "clicks"`.
    pub what: String,
    /// The span to point at when a required key is missing (the mapping's own key).
    pub anchor: Span,
    entries: Vec<(&'n Key, &'n Node)>,
    /// Misspelt keys, read as the known key they are closest to.
    recovered: Vec<(&'static str, &'n Key, &'n Node)>,
}

impl<'n> Fields<'n> {
    fn entry(&self, key: &str) -> Option<(&'n Key, &'n Node)> {
        let written = self.entries.iter().find(|(k, _)| k.name == key).copied();
        written.or_else(|| {
            self.recovered
                .iter()
                .find(|(k, _, _)| *k == key)
                .map(|(_, k, n)| (*k, *n))
        })
    }

    pub fn get(&self, key: &str) -> Option<&'n Node> {
        self.entry(key).map(|(_, n)| n)
    }

    pub fn key(&self, key: &str) -> Option<&'n Key> {
        self.entry(key).map(|(k, _)| k)
    }

    /// Whether the key was written (even with a value that could not be read).
    pub fn has(&self, key: &str) -> bool {
        self.entry(key).is_some()
    }
}

impl Reader {
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    /// Text for a help line: the YAML wording or the `.kin` wording.
    pub fn say(&self, yaml: impl Into<String>, kin: impl Into<String>) -> String {
        match self.syntax {
            Syntax::Yaml => yaml.into(),
            Syntax::Kin => kin.into(),
        }
    }

    pub fn wrong_kind(&mut self, node: &Node, expected: &str, what: &str) {
        let (expected, found) = match self.syntax {
            Syntax::Yaml => (expected.to_string(), node.kind.describe()),
            Syntax::Kin => (
                super::dsl::hints::kind_words(expected),
                super::dsl::hints::describe(&node.kind),
            ),
        };
        self.push(
            Diagnostic::new(
                codes::WRONG_KIND,
                node.span,
                format!("{what} must be {expected}, found {found}"),
            )
            .with_label(format!("expected {expected}")),
        );
    }

    /// The entries of a mapping, in order, with duplicates reported.
    pub fn entries<'n>(&mut self, node: &'n Node, what: &str) -> Vec<(&'n Key, &'n Node)> {
        match &node.kind {
            NodeKind::Map(entries) => {
                let mut seen: Vec<&Key> = Vec::new();
                let mut out = Vec::new();
                for (key, value) in entries {
                    if let Some(first) = seen.iter().find(|k| k.name == key.name) {
                        self.push(
                            Diagnostic::new(
                                codes::DUPLICATE_NAME,
                                key.span,
                                format!("key \"{}\" appears twice in {what}", key.name),
                            )
                            .with_label("repeated here")
                            .with_secondary(first.span, "first written here")
                            .with_help(self.say(
                                "remove one of them: YAML keeps only one value per key",
                                "remove one of them: only the first one is read",
                            )),
                        );
                        continue;
                    }
                    seen.push(key);
                    out.push((key, value));
                }
                out
            }
            NodeKind::Null => Vec::new(),
            _ => {
                self.wrong_kind(node, "a mapping", what);
                Vec::new()
            }
        }
    }

    /// A mapping with a fixed set of keys: unknown keys are reported with a "did you mean".
    pub fn fields<'n>(
        &mut self,
        node: &'n Node,
        what: impl Into<String>,
        anchor: Span,
        known: &[&'static str],
    ) -> Fields<'n> {
        let what = what.into();
        let entries = self.entries(node, &what);
        let present: Vec<&str> = entries.iter().map(|(k, _)| k.name.as_str()).collect();
        let mut kept = Vec::new();
        let mut recovered = Vec::new();
        for &(key, value) in &entries {
            if known.contains(&key.name.as_str()) {
                kept.push((key, value));
                continue;
            }
            self.push(
                Diagnostic::new(
                    codes::UNKNOWN_KEY,
                    key.span,
                    format!("unknown key \"{}\" in {what}", key.name),
                )
                .with_label("not a key here")
                .with_help_opt(did_you_mean(&key.name, known.iter().copied())),
            );
            // Recovery: read a misspelt key as the key it is closest to, so that its absence
            // does not cascade into "missing key" errors.
            if let Some(near) = nearest(&key.name, known.iter().copied()) {
                if !present.contains(&near) && !recovered.iter().any(|(n, _, _)| *n == near) {
                    recovered.push((near, key, value));
                }
            }
        }
        Fields {
            what,
            anchor,
            entries: kept,
            recovered,
        }
    }

    /// A required key: reports it at the mapping's anchor when absent.
    pub fn require<'n>(
        &mut self,
        fields: &Fields<'n>,
        key: &str,
        example: &str,
    ) -> Option<&'n Node> {
        let node = fields.get(key);
        if node.is_none() {
            let (label, help) = match self.syntax {
                Syntax::Yaml => (
                    format!("add `{key}:` here"),
                    format!("for example `{key}: {example}`"),
                ),
                Syntax::Kin => super::dsl::hints::missing_key(key, example),
            };
            self.push(
                Diagnostic::new(
                    codes::MISSING_KEY,
                    fields.anchor,
                    format!("{} has no \"{key}\", which is required", fields.what),
                )
                .with_label(label)
                .with_help(help),
            );
        }
        node
    }

    pub fn string(&mut self, node: &Node, what: &str, interp: Interp) -> Option<Spanned<String>> {
        let NodeKind::Str(text) = &node.kind else {
            self.wrong_kind(node, "a string", what);
            return None;
        };
        self.check_interpolation(text, node.span, what, interp);
        Some(Spanned::new(text.clone(), node.span))
    }

    /// Any scalar, as text (tag values such as `2024` are fine).
    pub fn scalar_text(&mut self, node: &Node, what: &str) -> Option<Spanned<String>> {
        let text = match &node.kind {
            NodeKind::Str(s) => s.clone(),
            NodeKind::Int(i) => i.to_string(),
            NodeKind::Float(f) => f.to_string(),
            NodeKind::Bool(b) => b.to_string(),
            _ => {
                self.wrong_kind(node, "a string", what);
                return None;
            }
        };
        Some(Spanned::new(text, node.span))
    }

    /// One string or a list of strings.
    pub fn string_list(&mut self, node: &Node, what: &str) -> Vec<Spanned<String>> {
        match &node.kind {
            NodeKind::Seq(items) => items
                .iter()
                .filter_map(|i| self.string(i, what, Interp::Forbidden))
                .collect(),
            _ => self
                .string(node, what, Interp::Forbidden)
                .into_iter()
                .collect(),
        }
    }

    pub fn int(&mut self, node: &Node, what: &str) -> Option<Spanned<i64>> {
        match &node.kind {
            NodeKind::Int(i) => Some(Spanned::new(*i, node.span)),
            _ => {
                self.wrong_kind(node, "a whole number", what);
                None
            }
        }
    }

    pub fn bool(&mut self, node: &Node, what: &str) -> Option<Spanned<bool>> {
        match &node.kind {
            NodeKind::Bool(b) => Some(Spanned::new(*b, node.span)),
            _ => {
                self.wrong_kind(node, "`true` or `false`", what);
                None
            }
        }
    }

    fn unit<T>(
        &mut self,
        node: &Node,
        what: &str,
        parse: fn(&str) -> Result<T, String>,
    ) -> Option<Spanned<T>> {
        let text = match &node.kind {
            NodeKind::Str(s) => s.clone(),
            NodeKind::Int(i) => i.to_string(),
            NodeKind::Float(f) => f.to_string(),
            _ => {
                self.wrong_kind(node, "a value with a unit", what);
                return None;
            }
        };
        match parse(&text) {
            Ok(value) => Some(Spanned::new(value, node.span)),
            Err(reason) => {
                self.push(
                    Diagnostic::new(
                        codes::INVALID_UNIT,
                        node.span,
                        format!("{what} `{text}` is not valid: {reason}"),
                    )
                    .with_label("invalid value"),
                );
                None
            }
        }
    }

    pub fn size(&mut self, node: &Node, what: &str) -> Option<Spanned<Size>> {
        self.unit(node, what, Size::parse)
    }

    pub fn duration(&mut self, node: &Node, what: &str) -> Option<Spanned<Duration>> {
        self.unit(node, what, Duration::parse)
    }

    pub fn rate(&mut self, node: &Node, what: &str) -> Option<Spanned<Rate>> {
        self.unit(node, what, Rate::parse)
    }

    /// One of a fixed set of words.
    pub fn choice<T: Copy>(
        &mut self,
        node: &Node,
        what: &str,
        choices: &[(&str, T)],
    ) -> Option<Spanned<T>> {
        let text = self.string(node, what, Interp::Forbidden)?;
        if let Some((_, value)) = choices.iter().find(|(name, _)| *name == text.value) {
            return Some(Spanned::new(*value, text.span));
        }
        let names = choices.iter().map(|(n, _)| *n);
        self.push(
            Diagnostic::new(
                codes::INVALID_VALUE,
                text.span,
                format!("{what} cannot be `{}`", text.value),
            )
            .with_label("not an allowed value")
            .with_help_opt(did_you_mean(&text.value, names)),
        );
        None
    }

    /// Checks every `${…}` in a string: `${var.NAME}` and `${secret:NAME}` only, and only where allowed.
    pub fn check_interpolation(&mut self, text: &str, span: Span, what: &str, interp: Interp) {
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                self.push(
                    Diagnostic::new(
                        codes::INVALID_INTERPOLATION,
                        span,
                        format!("{what} has a `${{` that is never closed"),
                    )
                    .with_help("write `${var.NAME}` or `${secret:NAME}`"),
                );
                return;
            };
            let inner = &after[..end];
            if interp == Interp::Forbidden {
                self.push(
                    Diagnostic::new(
                        codes::INVALID_INTERPOLATION,
                        span,
                        format!("{what} cannot use `${{{inner}}}`: it must be written literally"),
                    )
                    .with_help("variables and secrets are for endpoints, credentials and other deployment values"),
                );
            } else if let Err(reason) = interpolation_ok(inner) {
                self.push(
                    Diagnostic::new(codes::INVALID_INTERPOLATION, span, format!("`${{{inner}}}` in {what} {reason}"))
                        .with_help("write `${var.NAME}` for a deployment variable or `${secret:NAME}` for a secret"),
                );
            }
            rest = &after[end + 1..];
        }
    }
}

fn is_ident(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn interpolation_ok(inner: &str) -> Result<(), &'static str> {
    if let Some(name) = inner.strip_prefix("var.") {
        return if is_ident(name) {
            Ok(())
        } else {
            Err("has an invalid variable name")
        };
    }
    if let Some(name) = inner.strip_prefix("secret:") {
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-/.".contains(c));
        return if valid {
            Ok(())
        } else {
            Err("has an invalid secret name")
        };
    }
    Err("is neither `${var.NAME}` nor `${secret:NAME}`")
}

/// Whether a value is exactly one `${secret:NAME}` reference.
pub fn is_secret_reference(text: &str) -> bool {
    text.strip_prefix("${secret:")
        .and_then(|r| r.strip_suffix('}'))
        .is_some_and(|name| {
            interpolation_ok(&format!("secret:{name}")).is_ok() && !name.contains('}')
        })
}

/// Whether every `${…}` in a text is a well-formed `${var.NAME}` or `${secret:NAME}`.
pub fn interpolations_ok(text: &str) -> bool {
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return false;
        };
        if interpolation_ok(&after[..end]).is_err() {
            return false;
        }
        rest = &after[end + 1..];
    }
    true
}
