//! Stage 1, parse: source text → the spec AST ([`crate::ast`]), with syntax diagnostics.
//! Parsing never fails: a file that is not YAML gives an empty spec and a K0001 diagnostic.

mod lower;
mod reader;
pub mod types;
pub mod yaml;

pub use lower::KEYS;
pub use reader::{interpolations_ok, is_secret_reference};

use crate::ast::Spec;
use crate::diagnostic::Diagnostic;
use crate::source::SourceFile;

/// Parses a YAML spec into the AST, collecting every syntax-level diagnostic.
pub fn parse_yaml(file: &SourceFile) -> (Spec, Vec<Diagnostic>) {
    match yaml::parse(file) {
        Ok(root) => lower::lower(&root),
        Err(diagnostic) => (Spec::default(), vec![*diagnostic]),
    }
}
