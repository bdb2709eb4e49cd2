//! Stage 1, parse: source text → the spec AST ([`crate::ast`]), with syntax diagnostics.
//! Parsing never fails: a file that is not YAML gives an empty spec and a K0001 diagnostic.

mod lower;
mod reader;
pub mod types;
pub mod yaml;

pub use lower::KEYS;
pub use reader::{interpolations_ok, is_secret_reference};

use crate::ast::{Spec, Sql};
use crate::diagnostic::Diagnostic;
use crate::source::SourceFile;

/// Parses a YAML spec into the AST, collecting every syntax-level diagnostic.
pub fn parse_yaml(file: &SourceFile) -> (Spec, Vec<Diagnostic>) {
    match yaml::parse(file) {
        Ok(root) => {
            let (mut spec, diagnostics) = lower::lower(&root);
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
