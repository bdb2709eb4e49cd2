//! Stage 1, parse: source text → the spec AST ([`crate::ast`]), with syntax diagnostics.
//! Two syntaxes, one AST: YAML (`yaml.rs`) and the `.kin` DSL (`dsl/`, grammar `kin.pest`) both
//! build the same spanned node tree, which `lower.rs` reads into `ast::Spec`; `print/` writes a
//! spec back out in either syntax (`kin fmt`, `kin convert`).
//! Parsing never fails: a file that is not YAML (or not kin) gives an empty spec and a K0001
//! (K0028) diagnostic.

pub mod dsl;
mod lower;
pub mod print;
mod reader;
pub mod types;
pub mod yaml;

pub use lower::KEYS;
pub use reader::{interpolations_ok, is_secret_reference};

use crate::ast::{Spec, Sql};
use crate::diagnostic::Diagnostic;
use crate::source::SourceFile;

/// The two ways to write a spec.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Syntax {
    #[default]
    Yaml,
    /// The `.kin` DSL.
    Kin,
}

impl Syntax {
    /// A file's syntax by its name: `.kin` is the DSL, anything else YAML.
    pub fn of(file_name: &str) -> Syntax {
        if file_name.ends_with(".kin") {
            Syntax::Kin
        } else {
            Syntax::Yaml
        }
    }
}

/// Parses a spec in the syntax its file name says (`.kin` → DSL, otherwise YAML).
pub fn parse(file: &SourceFile) -> (Spec, Vec<Diagnostic>) {
    match Syntax::of(&file.name) {
        Syntax::Yaml => parse_yaml(file),
        Syntax::Kin => parse_kin(file),
    }
}

/// Parses a `.kin` spec into the AST, collecting every syntax-level diagnostic.
pub fn parse_kin(file: &SourceFile) -> (Spec, Vec<Diagnostic>) {
    match dsl::parse(file) {
        Ok(tree) => {
            let (mut spec, mut diagnostics) = lower::lower(&tree.root, Syntax::Kin);
            for analytics in &mut spec.analytics {
                if let Some(sql) = &mut analytics.sql {
                    sql.line_offsets = dsl::sql_line_offsets(&file.text, &tree, sql);
                }
            }
            diagnostics.extend(tree.diagnostics);
            (spec, diagnostics)
        }
        Err(diagnostic) => (Spec::default(), vec![*diagnostic]),
    }
}

/// Parses a YAML spec into the AST, collecting every syntax-level diagnostic.
pub fn parse_yaml(file: &SourceFile) -> (Spec, Vec<Diagnostic>) {
    match yaml::parse(file) {
        Ok(root) => {
            let (mut spec, diagnostics) = lower::lower(&root, Syntax::Yaml);
            for analytics in &mut spec.analytics {
                if let Some(sql) = &mut analytics.sql {
                    sql.line_offsets = locate_lines(&file.text, sql);
                }
            }
            (spec, diagnostics)
        }
        Err(diagnostic) => (Spec::default(), vec![*diagnostic]),
    }
}

/// Finds each line of a SQL value in the file, in order, from the value's start: a block
/// scalar's lines appear verbatim (after the indentation), a one-line scalar as written.
fn locate_lines(text: &str, sql: &Sql) -> Vec<Option<usize>> {
    let mut cursor = sql.span.start.min(text.len());
    let end = text.len();
    sql.text
        .split('\n')
        .map(|line| {
            if line.is_empty() {
                return None;
            }
            let found = text
                .get(cursor..end)
                .and_then(|rest| rest.find(line))
                .map(|i| cursor + i);
            if let Some(at) = found {
                cursor = at + line.len();
            }
            found
        })
        .collect()
}
