//! The `.kin` DSL: `kin.pest` parses the text, `tree.rs` builds from the parse tree the same
//! spanned node tree that YAML gives, and `syntax::lower` reads that tree into `ast::Spec`, so
//! both syntaxes share every key table and every diagnostic. `errors.rs` turns pest's syntax
//! errors into K0028 diagnostics written for people (`mistakes.rs` recognises the usual
//! mistakes); `text.rs` reads strings and `"""` blocks (keeping each SQL line's position in the
//! file); `hints.rs` words help lines the kin way.

mod errors;
pub mod hints;
mod mistakes;
pub mod text;
mod tree;

use pest::Parser as _;
use pest_derive::Parser;

use super::yaml::Node;
use crate::ast::Sql;
use crate::diagnostic::Diagnostic;
use crate::source::SourceFile;

pub use tree::{KinTree, KINDS};

#[derive(Parser)]
#[grammar = "syntax/kin.pest"]
struct KinParser;

/// Parses a `.kin` file into the node tree, with its comments and block ends; a syntax error is
/// one K0028 diagnostic.
pub fn parse(file: &SourceFile) -> Result<KinTree, Box<Diagnostic>> {
    if let Some(diagnostic) = mistakes::too_deep(&file.text) {
        return Err(Box::new(diagnostic));
    }
    match KinParser::parse(Rule::file, &file.text) {
        Ok(mut pairs) => match pairs.next() {
            Some(root) => tree::build(file, root),
            None => Ok(KinTree::empty()),
        },
        Err(err) => Err(Box::new(errors::syntax_error(file, &err))),
    }
}

/// The file offset of each line of an analytics' SQL written in a `.kin` file: exact for a
/// `"""` block (recorded while parsing) and for a string without escapes, otherwise found by
/// searching.
pub fn sql_line_offsets(text: &str, tree: &KinTree, sql: &Sql) -> Vec<Option<usize>> {
    if let Some(lines) = tree.raw_lines.get(&sql.span.start) {
        return lines.clone();
    }
    if sql.span.len() == sql.text.len() + 2 && !sql.text.contains('\n') {
        return vec![Some(sql.span.start + 1)];
    }
    super::locate_lines(text, sql)
}

/// Whether a node is the empty node tree of an empty file.
pub fn is_empty(root: &Node) -> bool {
    matches!(&root.kind, super::yaml::NodeKind::Map(m) if m.is_empty())
}
