//! Renders diagnostics: miette's graphical report for people; JSON, GitHub Actions annotations
//! and SARIF 2.1.0 for machines. Positions are 1-based lines and columns (columns in characters).

use std::fmt;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents,
};
use serde_json::{json, Value};

use super::{codes, Diagnostic, Severity};
use crate::source::SourceFile;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// miette's report with the source snippet; `color` for terminals.
    Human {
        color: bool,
    },
    Json,
    Github,
    Sarif,
}

/// One file and the diagnostics found in it.
pub struct RenderedFile<'a> {
    pub file: &'a SourceFile,
    pub diagnostics: &'a [Diagnostic],
}

pub fn render(format: Format, files: &[RenderedFile]) -> String {
    match format {
        Format::Human { color } => human(files, color),
        Format::Json => pretty(&json_report(files)),
        Format::Github => github(files),
        Format::Sarif => pretty(&sarif(files)),
    }
}

fn pretty(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

/// A diagnostic bound to its source, in the shape miette renders.
struct Report<'a> {
    diagnostic: &'a Diagnostic,
    source: CharColumns<'a>,
    file: &'a SourceFile,
}

/// The file as miette's source, with the snippet header's column counted in characters (miette
/// counts bytes), so that `file:line:column` agrees with the JSON, GitHub and SARIF positions.
struct CharColumns<'a> {
    file: &'a SourceFile,
}

impl SourceCode for CharColumns<'_> {
    fn read_span<'b>(
        &'b self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'b> + 'b>, MietteError> {
        let text: &'b str = &self.file.text;
        let inner = text.read_span(span, context_lines_before, context_lines_after)?;
        let column = if context_lines_before == 0 {
            self.file.line_col(span.offset()).column - 1
        } else {
            inner.column()
        };
        Ok(Box::new(MietteSpanContents::new_named(
            self.file.name.clone(),
            inner.data(),
            *inner.span(),
            inner.line(),
            column,
            inner.line_count(),
        )))
    }
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(self.diagnostic.code.id))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diagnostic.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.diagnostic
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let d = self.diagnostic;
        let primary = LabeledSpan::new_primary_with_span(d.label.clone(), self.source_span(d.span));
        let secondary = d
            .labels
            .iter()
            .map(|l| LabeledSpan::new_with_span(Some(l.message.clone()), self.source_span(l.span)));
        Some(Box::new(std::iter::once(primary).chain(secondary)))
    }
}

impl Report<'_> {
    fn source_span(&self, span: crate::source::Span) -> SourceSpan {
        let start = self.file.clamp(span.start);
        let end = self.file.clamp(span.end).max(start);
        SourceSpan::new(start.into(), end - start)
    }
}

fn human(files: &[RenderedFile], color: bool) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_links(false)
        .with_break_words(false)
        .with_word_separator(textwrap::WordSeparator::AsciiSpace)
        .with_word_splitter(textwrap::WordSplitter::NoHyphenation);
    let mut out = String::new();
    for rendered in files {
        for diagnostic in rendered.diagnostics {
            let report = Report {
                diagnostic,
                source: CharColumns {
                    file: rendered.file,
                },
                file: rendered.file,
            };
            // Writing into a String cannot fail.
            let _ = handler.render_report(&mut out, &report);
        }
    }
    out
}

/// The primary span as 1-based (line, column, end_line, end_column).
fn position(file: &SourceFile, d: &Diagnostic) -> (usize, usize, usize, usize) {
    let start = file.line_col(d.span.start);
    let end = file.line_col(d.span.end.max(d.span.start));
    (start.line, start.column, end.line, end.column)
}

fn json_report(files: &[RenderedFile]) -> Value {
    let mut diagnostics = Vec::new();
    let (mut errors, mut warnings) = (0, 0);
    for rendered in files {
        for d in rendered.diagnostics {
            let (line, column, end_line, end_column) = position(rendered.file, d);
            match d.severity {
                Severity::Error => errors += 1,
                Severity::Warning => warnings += 1,
            }
            diagnostics.push(json!({
                "code": d.code.id,
                "severity": d.severity.as_str(),
                "message": d.message,
                "file": rendered.file.name,
                "line": line,
                "column": column,
                "end_line": end_line,
                "end_column": end_column,
                "help": d.help,
            }));
        }
    }
    json!({ "diagnostics": diagnostics, "errors": errors, "warnings": warnings })
}

/// GitHub's workflow-command escaping: data escapes `%`, CR and LF; properties also `:` and `,`.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

fn github(files: &[RenderedFile]) -> String {
    let mut out = String::new();
    for rendered in files {
        for d in rendered.diagnostics {
            let (line, column, end_line, end_column) = position(rendered.file, d);
            let mut message = d.message.clone();
            if let Some(help) = &d.help {
                message.push_str("\nhelp: ");
                message.push_str(help);
            }
            out.push_str(&format!(
                "::{} file={},line={},col={},endLine={},endColumn={},title={}::{}\n",
                d.severity.as_str(),
                escape_property(&rendered.file.name),
                line,
                column,
                end_line,
                end_column,
                escape_property(&format!("{} {}", d.code.id, d.code.title)),
                escape_data(&message),
            ));
        }
    }
    out
}

fn sarif(files: &[RenderedFile]) -> Value {
    let rules: Vec<Value> = codes::ALL
        .iter()
        .map(|c| {
            json!({
                "id": c.id,
                "shortDescription": { "text": c.title },
                "fullDescription": { "text": format!("see spec/diagnostics/{}.md", c.id) },
                "defaultConfiguration": { "level": c.severity.as_str() },
            })
        })
        .collect();
    let mut results = Vec::new();
    for rendered in files {
        for d in rendered.diagnostics {
            let (line, column, end_line, end_column) = position(rendered.file, d);
            let mut text = d.message.clone();
            if let Some(help) = &d.help {
                text.push_str(&format!(" (help: {help})"));
            }
            results.push(json!({
                "ruleId": d.code.id,
                "ruleIndex": codes::ALL.iter().position(|c| c.id == d.code.id),
                "level": d.severity.as_str(),
                "message": { "text": text },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": rendered.file.name },
                        "region": {
                            "startLine": line,
                            "startColumn": column,
                            "endLine": end_line,
                            "endColumn": end_column,
                        }
                    }
                }]
            }));
        }
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "kin",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                }
            },
            "results": results,
        }]
    })
}
