//! The printers' output: lines tagged with the offsets (in the file being printed from) of the
//! keys they print. Rendering places each comment of the file before the line of the next key
//! written after it, or after the line of its own key when it trailed one; keeps a blank line
//! where the file had one before a key; and aligns runs of `key = value` lines.

use super::layout::{previous_line_blank, Comment};
use super::Document;
use crate::syntax::Syntax;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Kin,
    Yaml,
}

#[derive(Clone, Debug)]
enum Text {
    Plain(String),
    /// `key` padded to the width of its run of aligned lines, then `rest`.
    Align {
        key: String,
        rest: String,
    },
    /// Written as is, without indentation or comments (the lines of a `"""` or `|` block).
    Verbatim(String),
}

#[derive(Clone, Debug)]
struct Line {
    indent: usize,
    text: Text,
    anchors: Vec<usize>,
    trailing_ok: bool,
    /// A blank line is wanted before this one (the printer's layout).
    blank: bool,
    opens: bool,
    closes: bool,
}

pub struct Lines<'a> {
    doc: &'a Document<'a>,
    target: Target,
    lines: Vec<Line>,
    indent: usize,
    pending_blank: bool,
}

/// Where a blank line may be written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Start,
    Opened,
    Blank,
    Content,
}

impl<'a> Lines<'a> {
    pub fn new(doc: &'a Document<'a>, target: Target) -> Lines<'a> {
        Lines {
            doc,
            target,
            lines: Vec::new(),
            indent: 0,
            pending_blank: false,
        }
    }

    /// The indentation of the current level.
    pub fn indent_text(&self) -> String {
        "  ".repeat(self.indent)
    }

    /// Asks for a blank line before the next line (dropped at the start of a block).
    pub fn separate(&mut self) {
        self.pending_blank = true;
    }

    fn push(&mut self, text: Text, anchors: &[Option<usize>]) {
        let blank = std::mem::take(&mut self.pending_blank);
        self.lines.push(Line {
            indent: self.indent,
            text,
            anchors: anchors.iter().flatten().copied().collect(),
            trailing_ok: true,
            blank,
            opens: false,
            closes: false,
        });
    }

    pub fn line(&mut self, text: impl Into<String>, anchors: &[Option<usize>]) {
        self.push(Text::Plain(text.into()), anchors);
    }

    /// A line whose `key` is aligned with the keys of the lines around it.
    pub fn align(
        &mut self,
        key: impl Into<String>,
        rest: impl Into<String>,
        anchor: Option<usize>,
    ) {
        let (key, rest) = (key.into(), rest.into());
        self.push(Text::Align { key, rest }, &[anchor]);
    }

    /// A line that opens a block: the lines after it are indented one more level.
    pub fn open(&mut self, text: impl Into<String>, anchors: &[Option<usize>]) {
        self.push(Text::Plain(text.into()), anchors);
        if let Some(line) = self.lines.last_mut() {
            line.opens = true;
        }
        self.indent += 1;
    }

    /// Ends a block. With `text` (kin's `}`), a closing line; an empty block is closed on its
    /// opening line (`name {}`; in YAML `name: {}`).
    pub fn close(&mut self, text: Option<&str>, anchor: Option<usize>) {
        self.indent = self.indent.saturating_sub(1);
        self.pending_blank = false;
        if let Some(last) = self.lines.last_mut() {
            if last.opens && last.indent == self.indent {
                if let Text::Plain(t) = &mut last.text {
                    t.push_str(if text.is_some() { "}" } else { " {}" });
                }
                last.opens = false;
                return;
            }
        }
        if let Some(text) = text {
            self.push(Text::Plain(text.to_string()), &[anchor]);
            if let Some(line) = self.lines.last_mut() {
                line.closes = true;
            }
        }
    }

    /// A line written exactly as given.
    pub fn verbatim(&mut self, text: impl Into<String>) {
        self.push(Text::Verbatim(text.into()), &[]);
        if let Some(line) = self.lines.last_mut() {
            line.trailing_ok = false;
        }
    }

    /// No comment may follow the last line on its line (the opening of a block of text).
    pub fn no_trailing(&mut self) {
        if let Some(line) = self.lines.last_mut() {
            line.trailing_ok = false;
        }
    }

    pub fn render(self) -> String {
        let text = &*self.doc.file.text;
        let lines = &self.lines;
        // Blank lines the file had before a key are kept when it is written in its own syntax
        // (`kin fmt`); a conversion uses the layout of the target syntax.
        let same_syntax = match self.target {
            Target::Kin => Syntax::of(&self.doc.file.name) == Syntax::Kin,
            Target::Yaml => Syntax::of(&self.doc.file.name) == Syntax::Yaml,
        };
        let preserved: Vec<bool> = lines
            .iter()
            .map(|l| {
                same_syntax
                    && !l.closes
                    && l.anchors.first().is_some_and(|&a| {
                        // Only a key that starts its line: one of several keys written on
                        // one line keeps no blank line of its own.
                        let a = a.min(text.len());
                        let start = text[..a].rfind('\n').map_or(0, |i| i + 1);
                        text[start..a].trim().is_empty() && previous_line_blank(text, start)
                    })
            })
            .collect();
        let widths = self.align_widths(&preserved);
        let (leading, trailing, tail) = self.place_comments();
        let codes: Vec<String> = lines
            .iter()
            .zip(&widths)
            .map(|(line, width)| code_text(line, *width))
            .collect();
        let comment_columns = comment_columns(&codes, &leading, &trailing, &preserved, lines);

        let mut out = String::new();
        let mut state = State::Start;
        let blank = |out: &mut String, state: &mut State| {
            if *state == State::Content {
                out.push('\n');
                *state = State::Blank;
            }
        };
        for (i, line) in lines.iter().enumerate() {
            let comment_indent = "  ".repeat(line.indent + usize::from(line.closes));
            for (k, comment) in leading[i].iter().enumerate() {
                if (k == 0 && line.blank) || (same_syntax && comment.blank_before) {
                    blank(&mut out, &mut state);
                }
                out.push_str(&comment_indent);
                out.push_str(&self.comment_text(comment));
                out.push('\n');
                state = State::Content;
            }
            let first = leading[i].is_empty();
            if ((first && line.blank) || preserved[i]) && !line.closes {
                blank(&mut out, &mut state);
            }
            out.push_str(&codes[i]);
            if let Some(comment) = trailing[i] {
                let pad = comment_columns[i].saturating_sub(codes[i].chars().count());
                out.push_str(&" ".repeat(pad.max(2)));
                out.push_str(&self.comment_text(comment));
            }
            out.push('\n');
            state = if line.opens {
                State::Opened
            } else {
                State::Content
            };
        }
        for comment in tail {
            if same_syntax && comment.blank_before {
                blank(&mut out, &mut state);
            }
            out.push_str(&self.comment_text(comment));
            out.push('\n');
            state = State::Content;
        }
        out
    }

    fn comment_text(&self, comment: &Comment) -> String {
        let marker = match self.target {
            Target::Kin => comment.marker,
            Target::Yaml => "#",
        };
        format!("{marker}{}", comment.body)
    }

    /// The key width of each aligned line: the widest key of its run (consecutive aligned
    /// lines at one level with no blank line between them).
    fn align_widths(&self, preserved: &[bool]) -> Vec<usize> {
        let lines = &self.lines;
        let mut widths = vec![0; lines.len()];
        let mut i = 0;
        while i < lines.len() {
            if !matches!(lines[i].text, Text::Align { .. }) {
                i += 1;
                continue;
            }
            let mut j = i + 1;
            while j < lines.len()
                && matches!(lines[j].text, Text::Align { .. })
                && lines[j].indent == lines[i].indent
                && !lines[j].blank
                && !preserved[j]
            {
                j += 1;
            }
            let width = lines[i..j]
                .iter()
                .map(|l| match &l.text {
                    Text::Align { key, .. } => key.chars().count(),
                    _ => 0,
                })
                .max()
                .unwrap_or(0);
            widths[i..j].iter_mut().for_each(|w| *w = width);
            i = j;
        }
        widths
    }

    /// Each comment goes after the line of the key it trailed, or before the line of the first
    /// key written after it; what follows every key goes at the end.
    #[allow(clippy::type_complexity)]
    fn place_comments(
        &self,
    ) -> (
        Vec<Vec<&'a Comment>>,
        Vec<Option<&'a Comment>>,
        Vec<&'a Comment>,
    ) {
        let file = self.doc.file;
        let lines = &self.lines;
        let mut leading: Vec<Vec<&Comment>> = vec![Vec::new(); lines.len()];
        let mut trailing: Vec<Option<&Comment>> = vec![None; lines.len()];
        let mut tail = Vec::new();
        // Every (anchor, line) in order of the anchor's offset, then of the line.
        let mut anchors: Vec<(usize, usize)> = lines
            .iter()
            .enumerate()
            .flat_map(|(i, l)| l.anchors.iter().map(move |&a| (a, i)))
            .collect();
        anchors.sort_unstable();
        let source_line = |offset: usize| file.line_col(offset).line;
        for comment in &self.doc.layout.comments {
            let after = anchors.partition_point(|&(a, _)| a <= comment.offset);
            if !comment.own_line {
                // The last key written before it on its line (the first line printing it).
                let line_no = source_line(comment.offset);
                let same_line = anchors[..after]
                    .last()
                    .filter(|&&(a, _)| source_line(a) == line_no)
                    .map(|&(a, _)| anchors[..after].partition_point(|&(b, _)| b < a))
                    .map(|first| anchors[first].1);
                if let Some(i) = same_line {
                    // After its key; before it when nothing may follow on that line.
                    if lines[i].trailing_ok && trailing[i].is_none() {
                        trailing[i] = Some(comment);
                    } else {
                        leading[i].push(comment);
                    }
                    continue;
                }
            }
            match anchors.get(after) {
                Some(&(_, i)) => leading[i].push(comment),
                None => tail.push(comment),
            }
        }
        (leading, trailing, tail)
    }
}

/// A line's text with its indentation (and its key padded to `width`).
fn code_text(line: &Line, width: usize) -> String {
    let indent = "  ".repeat(line.indent);
    match &line.text {
        Text::Plain(t) => format!("{indent}{t}"),
        Text::Align { key, rest } => {
            let pad = width.saturating_sub(key.chars().count());
            format!("{indent}{key}{} {rest}", " ".repeat(pad))
        }
        Text::Verbatim(t) => t.clone(),
    }
}

/// The column of each trailing comment: in a run of consecutive lines at one level (no comment
/// line or blank line between them), trailing comments start in one column, two spaces after
/// the longest line that has one.
fn comment_columns(
    codes: &[String],
    leading: &[Vec<&Comment>],
    trailing: &[Option<&Comment>],
    preserved: &[bool],
    lines: &[Line],
) -> Vec<usize> {
    let mut columns = vec![0; codes.len()];
    let mut i = 0;
    while i < codes.len() {
        if trailing[i].is_none() {
            i += 1;
            continue;
        }
        let mut j = i + 1;
        while j < codes.len()
            && lines[j].indent == lines[i].indent
            && !matches!(lines[j].text, Text::Verbatim(_))
            && !lines[j].opens
            && !lines[j].closes
            && leading[j].is_empty()
            && !lines[j].blank
            && !preserved[j]
        {
            j += 1;
        }
        let width = (i..j)
            .filter(|&k| trailing[k].is_some())
            .map(|k| codes[k].chars().count())
            .max()
            .unwrap_or(0)
            + 2;
        columns[i..j].iter_mut().for_each(|c| *c = width);
        i = j;
    }
    columns
}
