//! Property test: mutated valid specs (lines deleted, duplicated or swapped, keys retyped, values
//! replaced, random bytes inserted) never make `kin check` panic, and every diagnostic it
//! returns has a valid position inside the file.

use std::fs;
use std::path::PathBuf;

use kin::diagnostic::{render, Format, RenderedFile};
use kin::source::SourceFile;
use kin_tests::root;
use proptest::prelude::*;

/// Valid specs to mutate: every example and every valid fixture.
fn seeds() -> Vec<String> {
    let mut paths: Vec<PathBuf> = Vec::new();
    for dir in ["examples", "tests/fixtures/valid"] {
        let Ok(entries) = fs::read_dir(root().join(dir)) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            if path.is_dir() {
                paths.push(path.join("pipeline.yaml"));
            } else if path.extension().is_some_and(|e| e == "yaml") {
                paths.push(path);
            }
        }
    }
    paths.sort();
    let seeds: Vec<String> = paths
        .iter()
        .filter_map(|p| fs::read_to_string(p).ok())
        .collect();
    assert!(!seeds.is_empty(), "no valid specs to mutate");
    seeds
}

#[derive(Clone, Debug)]
enum Mutation {
    DeleteLine(usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    /// Replace the value after the first `:` of a line.
    ReplaceValue(usize, String),
    /// Rename the key of a line.
    RenameKey(usize, String),
    InsertBytes(usize, Vec<u8>),
    Truncate(usize),
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("[]".to_string()),
        Just("{}".to_string()),
        Just("null".to_string()),
        Just("- a".to_string()),
        Just("\"${secret:x}\"".to_string()),
        Just("${var.".to_string()),
        Just("!{timestamp:".to_string()),
        Just("-1".to_string()),
        Just("99999999999999999999".to_string()),
        Just("1e308".to_string()),
        Just("&a x".to_string()),
        Just("*a".to_string()),
        Just("|\n  SELECT".to_string()),
        "[a-z0-9_?<>(),.:/!{}$ -]{0,12}",
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::DeleteLine),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (any::<usize>(), value()).prop_map(|(l, v)| Mutation::ReplaceValue(l, v)),
        (any::<usize>(), "[a-z_]{1,10}").prop_map(|(l, k)| Mutation::RenameKey(l, k)),
        (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..6))
            .prop_map(|(at, b)| Mutation::InsertBytes(at, b)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(text: &str, m: &Mutation) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    if lines.is_empty() {
        return text.to_string();
    }
    let n = lines.len();
    match m {
        Mutation::DeleteLine(i) => {
            lines.remove(i % n);
        }
        Mutation::DuplicateLine(i) => {
            let line = lines[i % n].clone();
            lines.insert(i % n, line);
        }
        Mutation::SwapLines(a, b) => lines.swap(a % n, b % n),
        Mutation::ReplaceValue(i, v) => {
            let line = &mut lines[i % n];
            if let Some(colon) = line.find(':') {
                line.truncate(colon + 1);
                line.push(' ');
                line.push_str(v);
            }
        }
        Mutation::RenameKey(i, k) => {
            let line = &mut lines[i % n];
            if let Some(colon) = line.find(':') {
                let indent = line.len() - line.trim_start().len();
                line.replace_range(indent..colon, k);
            }
        }
        Mutation::InsertBytes(at, bytes) => {
            let mut raw = text.as_bytes().to_vec();
            let at = at % (raw.len() + 1);
            raw.splice(at..at, bytes.iter().copied());
            return String::from_utf8_lossy(&raw).into_owned();
        }
        Mutation::Truncate(at) => {
            let at = at % (text.len() + 1);
            let mut at = at;
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            return text[..at].to_string();
        }
    }
    lines.join("\n") + "\n"
}

fn assert_positions_valid(file: &SourceFile) {
    let compiled = kin::compile(file);
    let len = file.text.len();
    for d in &compiled.diagnostics {
        assert!(
            d.span.start <= d.span.end && d.span.end <= len,
            "{} span {:?} outside 0..{len}",
            d.code,
            d.span
        );
        assert!(
            file.text.is_char_boundary(d.span.start) && file.text.is_char_boundary(d.span.end),
            "{} span {:?} splits a character",
            d.code,
            d.span
        );
        for label in &d.labels {
            assert!(
                label.span.start <= label.span.end && label.span.end <= len,
                "{} label {:?} outside the file",
                d.code,
                label.span
            );
        }
        let start = file.line_col(d.span.start);
        assert!(start.line >= 1 && start.line <= file.line_count() && start.column >= 1);
        assert!(!d.message.is_empty());
    }
    // Every format renders without panicking.
    let files = [RenderedFile {
        file,
        diagnostics: &compiled.diagnostics,
    }];
    for format in [
        Format::Human { color: false },
        Format::Json,
        Format::Github,
        Format::Sarif,
    ] {
        let _ = render(format, &files);
    }
    // The graph of whatever was understood can always be printed.
    let _ = kin::emit::graph::to_json(&compiled.pipeline);
    let _ = kin::emit::graph::to_dot(&compiled.pipeline);
    // So can its Flink SQL, errors or not.
    let _ = kin::emit::flink::flink_sql(&compiled.pipeline);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    #[test]
    fn mutated_specs_never_panic(seed in any::<usize>(), mutations in proptest::collection::vec(mutation(), 1..4)) {
        let seeds = seeds();
        let mut text = seeds[seed % seeds.len()].clone();
        for m in &mutations {
            text = apply(&text, m);
        }
        assert_positions_valid(&SourceFile::new("mutated.yaml", text));
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
        assert_positions_valid(&SourceFile::new("random.yaml", text));
    }
}

#[test]
fn seeds_are_clean() {
    for seed in seeds() {
        let compiled = kin::compile(&SourceFile::new("seed.yaml", seed));
        assert!(
            compiled.diagnostics.is_empty(),
            "a seed spec is not clean: {:?}",
            compiled.diagnostics.first().map(|d| &d.message)
        );
    }
}

#[test]
fn generated_spec_of_1000_nodes_is_clean() {
    let compiled = kin::compile(&SourceFile::new(
        "generated.yaml",
        kin_tests::generated_spec(200),
    ));
    let first = compiled.diagnostics.first().map(|d| d.message.clone());
    assert!(compiled.diagnostics.is_empty(), "{first:?}");
    let nodes = compiled
        .pipeline
        .graph
        .nodes()
        .filter(|n| n.kind != kin::ir::graph::NodeKind::Destination)
        .count();
    assert_eq!(nodes, 1000);
}
