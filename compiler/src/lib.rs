//! kin: a declarative pipeline compiler for Kinesis Data Streams, Firehose and streaming SQL.
//!
//! The compiler is pure: text in, `(outputs, diagnostics)` out. Only `main.rs` touches files.
//!
//! | stage  | function                 | from → to                                   |
//! |--------|--------------------------|---------------------------------------------|
//! | parse  | [`syntax::parse`]        | YAML or `.kin` text → [`ast::Spec`]         |
//! | check  | [`check::check`]         | [`ast::Spec`] → [`ir::graph::Pipeline`]     |
//! | emit   | [`emit`]                 | [`ir::graph::Pipeline`] → text (graph, …)   |

pub mod ast;
pub mod check;
pub mod diagnostic;
pub mod emit;
pub mod ir;
pub mod json_schema;
pub mod source;
pub mod sql;
pub mod syntax;

use diagnostic::Diagnostic;
use ir::graph::Pipeline;
use source::SourceFile;

/// The outcome of compiling one file up to the typed graph.
pub struct Compiled {
    pub pipeline: Pipeline,
    /// Every diagnostic, sorted by position.
    pub diagnostics: Vec<Diagnostic>,
}

impl Compiled {
    pub fn errors(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    pub fn warnings(&self) -> usize {
        self.diagnostics.len() - self.errors()
    }
}

/// Parses and checks one spec file: every stage up to the typed graph. The file's name picks
/// the syntax: `.kin` is the DSL, anything else YAML.
pub fn compile(file: &SourceFile) -> Compiled {
    let (spec, mut diagnostics) = syntax::parse(file);
    let checked = check::check(spec);
    diagnostics.extend(checked.diagnostics);
    diagnostic::sort(&mut diagnostics);
    Compiled {
        pipeline: checked.pipeline,
        diagnostics,
    }
}
