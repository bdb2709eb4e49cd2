//! Golden tests: every fixture under `tests/fixtures/` and every example, snapshotted with insta.
//!
//! - `tests/fixtures/invalid/NAME.yaml` starts with `# expect: K0007 K0002 ...`: the test fails
//!   unless each listed code is reported (and nothing else is an error that is not listed); the
//!   rendered report (source lines included) is snapshotted.
//! - `tests/fixtures/valid/NAME.yaml` and `examples/*/pipeline.yaml` must check with no
//!   diagnostic at all; their `kin graph --format json` is snapshotted.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use kin::diagnostic::{codes, render, Format, RenderedFile};
use kin::source::SourceFile;
use kin_tests::{load, root};

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    files_with_extension(dir, "yaml")
}

fn files_with_extension(dir: &Path, extension: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == extension));
    files.sort();
    files
}

/// The codes a fixture's first line promises: `# expect: K0007 K1001`.
fn expected_codes(file: &SourceFile) -> BTreeSet<String> {
    let first = file.text.lines().next().unwrap_or_default();
    let list = first
        .strip_prefix("# expect:")
        .unwrap_or_else(|| panic!("{}: first line must be `# expect: CODES`", file.name));
    list.split_whitespace().map(str::to_string).collect()
}

fn snapshot_settings(dir: &str) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(root().join("tests/snapshots").join(dir));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings
}

#[test]
fn invalid_fixtures_report_their_codes() {
    let files = yaml_files(&root().join("tests/fixtures/invalid"));
    assert!(
        files.len() >= 60,
        "expected at least 60 invalid fixtures, found {}",
        files.len()
    );
    let mut failures = Vec::new();
    for path in &files {
        let file = load(path);
        let expected = expected_codes(&file);
        let compiled = kin::compile(&file);
        let reported: BTreeSet<String> = compiled
            .diagnostics
            .iter()
            .map(|d| d.code.id.to_string())
            .collect();
        let missing: Vec<_> = expected.difference(&reported).collect();
        let unexpected: Vec<_> = reported.difference(&expected).collect();
        if !missing.is_empty() || !unexpected.is_empty() {
            failures.push(format!(
                "{}: missing {missing:?}, unexpected {unexpected:?}",
                file.name
            ));
        }
        let report = render(
            Format::Human { color: false },
            &[RenderedFile {
                file: &file,
                diagnostics: &compiled.diagnostics,
            }],
        );
        // The report's `file:line:column` header agrees with the machine formats' position.
        if let Some(first) = compiled.diagnostics.first() {
            let at = file.line_col(first.span.start);
            let header = format!("{}:{}:{}]", file.name, at.line, at.column);
            if !report
                .lines()
                .find(|l| l.contains("─["))
                .is_some_and(|l| l.ends_with(&header))
            {
                failures.push(format!(
                    "{}: the report header is not at {header}",
                    file.name
                ));
            }
        }
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        snapshot_settings("invalid").bind(|| insta::assert_snapshot!(stem, report));
    }
    assert!(
        failures.is_empty(),
        "fixtures whose codes differ:\n{}",
        failures.join("\n")
    );
}

#[test]
fn every_code_has_a_fixture_and_a_page() {
    let mut covered = BTreeSet::new();
    for path in yaml_files(&root().join("tests/fixtures/invalid")) {
        covered.extend(expected_codes(&load(&path)));
    }
    // `.kin` fixtures (tests/dsl.rs) cover the DSL's own codes.
    for path in files_with_extension(&root().join("tests/fixtures/dsl_invalid"), "kin") {
        covered.extend(expected_codes(&load(&path)));
    }
    for code in codes::ALL {
        assert!(
            covered.contains(code.id),
            "no invalid fixture expects {}",
            code.id
        );
        let page = root()
            .join("spec/diagnostics")
            .join(format!("{}.md", code.id));
        assert!(
            page.exists(),
            "{} has no page at {}",
            code.id,
            page.display()
        );
    }
}

fn valid_specs() -> Vec<PathBuf> {
    let mut files = yaml_files(&root().join("tests/fixtures/valid"));
    let examples = fs::read_dir(root().join("examples")).map(|d| {
        d.filter_map(Result::ok)
            .map(|e| e.path())
            .collect::<Vec<_>>()
    });
    let mut examples: Vec<PathBuf> = examples
        .unwrap_or_default()
        .into_iter()
        .map(|d| d.join("pipeline.yaml"))
        .filter(|p| p.exists())
        .collect();
    examples.sort();
    files.extend(examples);
    files
}

#[test]
fn valid_specs_check_clean_and_their_graphs_are_snapshotted() {
    let files = valid_specs();
    assert!(
        files
            .iter()
            .filter(|p| p.starts_with(root().join("examples")))
            .count()
            >= 5,
        "expected at least five examples"
    );
    for path in files {
        let file = load(&path);
        let compiled = kin::compile(&file);
        let report = render(
            Format::Human { color: false },
            &[RenderedFile {
                file: &file,
                diagnostics: &compiled.diagnostics,
            }],
        );
        assert!(
            compiled.diagnostics.is_empty(),
            "{} should check clean:\n{report}",
            file.name
        );
        let graph = serde_json::to_string_pretty(&kin::emit::graph::to_json(&compiled.pipeline))
            .unwrap_or_default();
        let name = file
            .name
            .trim_end_matches(".yaml")
            .replace(['/', '\\'], "__");
        snapshot_settings("graph").bind(|| insta::assert_snapshot!(name, graph));
    }
}

/// Each code's page shows an example that really produces that code.
#[test]
fn every_code_page_example_reports_its_code() {
    for code in codes::ALL {
        let page = fs::read_to_string(
            root()
                .join("spec/diagnostics")
                .join(format!("{}.md", code.id)),
        )
        .unwrap_or_default();
        // The first example, in YAML or in the `.kin` DSL.
        let (name, example) = ["yaml", "kin"]
            .iter()
            .filter_map(|syntax| {
                let at = page.find(&format!("```{syntax}\n"))?;
                let rest = &page[at + syntax.len() + 4..];
                Some((at, format!("pipeline.{syntax}"), rest.split("```").next()?))
            })
            .min_by_key(|(at, _, _)| *at)
            .map(|(_, name, example)| (name, example))
            .unwrap_or_else(|| panic!("spec/diagnostics/{}.md has no ```yaml example", code.id));
        let compiled = kin::compile(&SourceFile::new(name, example.to_string()));
        assert!(
            compiled.diagnostics.iter().any(|d| d.code == *code),
            "the example of spec/diagnostics/{}.md does not report {}",
            code.id,
            code.id
        );
    }
}
