//! Writing a spec back out: `.kin` (`kin fmt`, `kin convert --to kin`) or YAML
//! (`kin convert --to yaml`). Both printers walk the AST, so a spec converts to exactly the same
//! AST in the other syntax; the file's layout (comments, and where each key was written) is
//! collected beside it so that comments follow the keys they were written next to.
//!
//! - `layout.rs`: the comments of a file and the position of each key, by key path.
//! - `lines.rs`: lines with the source position of what they print, comment placement, blank
//!   lines and alignment.
//! - `kin.rs` and `yaml.rs`: the two printers.

mod kin;
mod layout;
mod lines;
mod yaml;

pub use layout::{Comment, Layout};

use super::{dsl, lower, yaml as yaml_syntax, Syntax};
use crate::ast::Spec;
use crate::diagnostic::Diagnostic;
use crate::ir::units::{Duration, Rate, Size};
use crate::source::{SourceFile, Spanned};

/// A spec read for printing: its AST, and its file with the layout of that file.
pub struct Document<'a> {
    pub spec: Spec,
    pub file: &'a SourceFile,
    pub layout: Layout,
}

/// Reads a file (in the syntax its name says) for printing. A file with a syntax error or with
/// a value the AST could not hold (an unknown key, an unreadable value: any error of the parse
/// stage) is refused with those diagnostics, since printing it would lose text.
pub fn read(file: &SourceFile) -> Result<Document<'_>, Vec<Diagnostic>> {
    let (root, comments, ends, mut diagnostics) = match Syntax::of(&file.name) {
        Syntax::Yaml => {
            let root = yaml_syntax::parse(file).map_err(|d| vec![*d])?;
            let comments = layout::yaml_comments(file, &root);
            (root, comments, Default::default(), Vec::new())
        }
        Syntax::Kin => {
            let tree = dsl::parse(file).map_err(|d| vec![*d])?;
            (tree.root, tree.comments, tree.ends, tree.diagnostics)
        }
    };
    let (spec, lowered) = lower::lower(&root, Syntax::of(&file.name));
    diagnostics.extend(lowered);
    if diagnostics.iter().any(Diagnostic::is_error) {
        crate::diagnostic::sort(&mut diagnostics);
        return Err(diagnostics);
    }
    Ok(Document {
        spec,
        file,
        layout: Layout::new(&root, comments, ends),
    })
}

/// The document written in the given syntax.
pub fn print(doc: &Document, to: Syntax) -> String {
    match to {
        Syntax::Kin => kin::print(doc),
        Syntax::Yaml => yaml::print(doc),
    }
}

/// Converts a file to the given syntax (to its own syntax: formats it).
pub fn convert(file: &SourceFile, to: Syntax) -> Result<String, Vec<Diagnostic>> {
    read(file).map(|doc| print(&doc, to))
}

/// `kin fmt`: a `.kin` file in the canonical layout.
pub fn format_kin(file: &SourceFile) -> Result<String, Vec<Diagnostic>> {
    convert(file, Syntax::Kin)
}

impl Document<'_> {
    /// A unit value as written in the file when that is a bare unit token (`300s`, `1_000/s`)
    /// that reads back as the same value; otherwise its exact canonical text.
    fn unit<T: PartialEq>(
        &self,
        value: &Spanned<T>,
        parse: fn(&str) -> Result<T, String>,
        canonical: impl FnOnce(&T) -> String,
    ) -> String {
        let written = self.file.slice(value.span).trim();
        let written = ["\"", "'"]
            .iter()
            .find_map(|q| written.strip_prefix(q).and_then(|w| w.strip_suffix(q)))
            .unwrap_or(written);
        if dsl::text::is_unit_token(written) && parse(written).is_ok_and(|v| v == value.value) {
            written.to_string()
        } else {
            canonical(&value.value)
        }
    }

    fn size(&self, value: &Spanned<Size>) -> String {
        self.unit(value, Size::parse, Size::to_string)
    }

    fn duration(&self, value: &Spanned<Duration>) -> String {
        self.unit(value, Duration::parse, Duration::to_string)
    }

    fn rate(&self, value: &Spanned<Rate>) -> String {
        self.unit(value, Rate::parse, |r| rate_text(*r))
    }

    fn anchor(&self, path: &str) -> Option<usize> {
        self.layout.keys.get(path).copied()
    }

    fn end(&self, path: &str) -> Option<usize> {
        self.layout.ends.get(path).copied()
    }
}

/// A rate written so that it reads back exactly: per second, minute or hour, whichever is a
/// short number.
fn rate_text(rate: Rate) -> String {
    let candidates = [(1.0, "/s"), (60.0, "/m"), (3600.0, "/h")].map(|(factor, unit)| {
        let n = rate.0 * factor;
        let rounded = n.round();
        if (n - rounded).abs() < 1e-6 && rounded.abs() < 1e15 {
            (format!("{}{unit}", rounded as i64), true)
        } else {
            (format!("{n}{unit}"), false)
        }
    });
    let reads_back = |text: &str| Rate::parse(text).is_ok_and(|r| r == rate);
    let whole = candidates.iter().find(|(t, whole)| *whole && reads_back(t));
    let any = || candidates.iter().find(|(t, _)| reads_back(t));
    whole
        .or_else(any)
        .map(|(t, _)| t.clone())
        .unwrap_or_else(|| format!("{}/s", rate.0))
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}/{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_read_back_exactly() {
        for text in ["2000/s", "100/m", "7/h", "1.5/s", "120000/m"] {
            let rate = Rate::parse(text).expect("rate");
            let printed = rate_text(rate);
            assert_eq!(Rate::parse(&printed), Ok(rate), "{text} → {printed}");
        }
        assert_eq!(rate_text(Rate::parse("100/m").expect("rate")), "100/m");
    }
}
