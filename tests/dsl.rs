//! The `.kin` DSL against the YAML it must equal.
//!
//! - `tests/fixtures/dsl_invalid/NAME.kin` starts with `# expect: CODES` like the YAML invalid
//!   fixtures; the report is snapshotted under `tests/snapshots/dsl_invalid/`.
//! - `tests/fixtures/dsl_valid/NAME.kin` are written by hand in a loose style: they check
//!   clean, `kin fmt` output is snapshotted under `tests/snapshots/dsl_fmt/`, and formatting does
//!   not change their graph.
//! - Every example is committed in both syntaxes (`pipeline.kin` is `kin convert` of
//!   `pipeline.yaml`), and both give the same graph, the same Flink SQL and the same Terraform.
//! - The examples of `spec/dsl.md` parse, and each YAML example there followed by a kin example
//!   gives the same graph and diagnostics.
//! - Every valid fixture and example, and generated specs with comments put anywhere, convert
//!   YAML → kin → YAML → kin stably after one step with the same AST (positions aside), graph
//!   and diagnostics, keeping every comment; `kin fmt` is idempotent.
//! - Every invalid YAML fixture that converts reports the same diagnostics, at the same tokens,
//!   from its `.kin` version.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use kin::diagnostic::{render, Diagnostic, Format, RenderedFile};
use kin::source::SourceFile;
use kin::syntax::print::{convert, format_kin, read};
use kin::syntax::Syntax;
use kin_tests::{load, root};

fn files(dir: &str, extension: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(root().join(dir))
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == extension));
    files.sort();
    files
}

fn examples() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(root().join("examples"))
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    dirs.retain(|d| d.join("pipeline.yaml").exists());
    dirs.sort();
    dirs
}

fn report(file: &SourceFile, diagnostics: &[Diagnostic]) -> String {
    render(
        Format::Human { color: false },
        &[RenderedFile { file, diagnostics }],
    )
}

/// Converts, or fails the test with the diagnostics.
fn must_convert(file: &SourceFile, to: Syntax) -> String {
    convert(file, to)
        .unwrap_or_else(|d| panic!("{} does not convert:\n{}", file.name, report(file, &d)))
}

fn graph(file: &SourceFile) -> String {
    let compiled = kin::compile(file);
    serde_json::to_string_pretty(&kin::emit::graph::to_json(&compiled.pipeline)).unwrap_or_default()
}

/// The codes and messages of a file's diagnostics, in order.
fn messages(file: &SourceFile) -> Vec<(String, String)> {
    kin::compile(file)
        .diagnostics
        .iter()
        .map(|d| (d.code.id.to_string(), d.message.clone()))
        .collect()
}

/// The AST of a file without its positions (spans and SQL line offsets), as text.
fn ast_without_positions(file: &SourceFile) -> String {
    let (spec, _) = kin::syntax::parse(file);
    let mut text = format!("{spec:?}");
    for (open, close) in [("Span { start: ", " }"), ("line_offsets: [", "]")] {
        while let Some(start) = text.find(open) {
            let end = text[start..]
                .find(close)
                .map_or(text.len(), |e| start + e + close.len());
            text.replace_range(start..end, "_");
        }
    }
    text
}

fn comment_count(file: &SourceFile) -> usize {
    read(file).map(|doc| doc.layout.comments.len()).unwrap_or(0)
}

fn snapshot_settings(dir: &str) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(root().join("tests/snapshots").join(dir));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// YAML → kin → YAML → kin: the second kin and YAML equal the first, every step has the same
/// graph and diagnostics, comments are all carried, and `kin fmt` leaves the kin as it is.
fn assert_round_trip(yaml: &SourceFile) -> Result<(), String> {
    let base = yaml.name.trim_end_matches(".yaml");
    let kin1 = SourceFile::new(format!("{base}.kin"), must_convert(yaml, Syntax::Kin));
    let yaml1 = SourceFile::new(format!("{base}.1.yaml"), must_convert(&kin1, Syntax::Yaml));
    let kin2 = SourceFile::new(format!("{base}.2.kin"), must_convert(&yaml1, Syntax::Kin));
    let yaml2 = must_convert(&kin2, Syntax::Yaml);
    let fail = |what: &str, a: &str, b: &str| {
        Err(format!(
            "{}: {what}\n--- first\n{a}\n--- second\n{b}",
            yaml.name
        ))
    };
    if kin2.text != kin1.text {
        return fail(
            "kin is not stable after one round trip",
            &kin1.text,
            &kin2.text,
        );
    }
    if yaml2 != *yaml1.text {
        return fail(
            "YAML is not stable after one round trip",
            &yaml1.text,
            &yaml2,
        );
    }
    let g0 = graph(yaml);
    let ast = ast_without_positions(yaml);
    for other in [&kin1, &yaml1] {
        if ast_without_positions(other) != ast {
            return fail("the AST changed", &ast, &ast_without_positions(other));
        }
        if graph(other) != g0 {
            return fail("the graph changed", &g0, &graph(other));
        }
        if messages(other) != messages(yaml) {
            return fail(
                "the diagnostics changed",
                &format!("{:?}", messages(yaml)),
                &format!("{:?}", messages(other)),
            );
        }
    }
    let comments = comment_count(yaml);
    if comment_count(&kin1) != comments || comment_count(&yaml1) != comments {
        return fail(
            "comments were lost",
            &format!("{comments} comments\n{}", yaml.text),
            &format!("{} comments\n{}", comment_count(&kin1), kin1.text),
        );
    }
    let formatted = format_kin(&kin1).map_err(|d| report(&kin1, &d))?;
    if formatted != *kin1.text {
        return fail("kin fmt changes converted kin", &kin1.text, &formatted);
    }
    Ok(())
}

#[test]
fn dsl_invalid_fixtures_report_their_codes() {
    let paths = files("tests/fixtures/dsl_invalid", "kin");
    let mut failures = Vec::new();
    let mut syntax_errors = 0;
    for path in &paths {
        let file = load(path);
        let first = file.text.lines().next().unwrap_or_default();
        let expected: BTreeSet<String> = first
            .strip_prefix("# expect:")
            .unwrap_or_else(|| panic!("{}: first line must be `# expect: CODES`", file.name))
            .split_whitespace()
            .map(str::to_string)
            .collect();
        if expected.contains("K0028") {
            syntax_errors += 1;
        }
        let compiled = kin::compile(&file);
        let reported: BTreeSet<String> = compiled
            .diagnostics
            .iter()
            .map(|d| d.code.id.to_string())
            .collect();
        if expected != reported {
            failures.push(format!(
                "{}: expected {expected:?}, reported {reported:?}",
                file.name
            ));
        }
        let text = report(&file, &compiled.diagnostics);
        if let Some(d) = compiled.diagnostics.first() {
            let at = file.line_col(d.span.start);
            let header = format!("{}:{}:{}]", file.name, at.line, at.column);
            if !text
                .lines()
                .any(|l| l.contains("─[") && l.ends_with(&header))
            {
                failures.push(format!(
                    "{}: the report header is not at {header}",
                    file.name
                ));
            }
            // Syntax errors name what was expected in words, never a grammar rule.
            for rule in [
                "kw_",
                "lbrace",
                "rbrace",
                "field_type",
                "raw_close",
                "EOI",
                "node_decl",
            ] {
                if d.message.contains(rule) || d.help.as_deref().unwrap_or("").contains(rule) {
                    failures.push(format!(
                        "{}: the message names the rule `{rule}`",
                        file.name
                    ));
                }
            }
        }
        snapshot_settings("dsl_invalid").bind(|| insta::assert_snapshot!(stem(path), text));
    }
    assert!(
        syntax_errors >= 20,
        "expected at least 20 syntax error fixtures, found {syntax_errors}"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn dsl_valid_fixtures_check_clean_and_format_canonically() {
    let paths = files("tests/fixtures/dsl_valid", "kin");
    assert!(paths.len() >= 2);
    for path in &paths {
        let file = load(path);
        let compiled = kin::compile(&file);
        assert!(
            compiled.diagnostics.is_empty(),
            "{} should check clean:\n{}",
            file.name,
            report(&file, &compiled.diagnostics)
        );
        let formatted = format_kin(&file).unwrap_or_else(|d| panic!("{}", report(&file, &d)));
        let again = SourceFile::new(file.name.clone(), formatted.clone());
        assert_eq!(
            graph(&again),
            graph(&file),
            "{}: formatting changed the graph",
            file.name
        );
        assert_eq!(
            format_kin(&again).as_deref().ok(),
            Some(formatted.as_str()),
            "{}: kin fmt is not idempotent",
            file.name
        );
        assert_eq!(
            comment_count(&again),
            comment_count(&file),
            "{}: comments lost",
            file.name
        );
        snapshot_settings("dsl_fmt").bind(|| insta::assert_snapshot!(stem(path), formatted));
    }
    // The hand-written pipeline-v1 example is the YAML fixture, to the graph.
    let kin = load(&root().join("tests/fixtures/dsl_valid/spec_v1_examples.kin"));
    let yaml = load(&root().join("tests/fixtures/valid/spec_v1_examples.yaml"));
    assert_eq!(graph(&kin), graph(&yaml));
}

#[test]
fn every_example_is_committed_in_both_syntaxes() {
    let dirs = examples();
    assert!(dirs.len() >= 5, "expected at least five examples");
    for dir in dirs {
        let yaml = load(&dir.join("pipeline.yaml"));
        let kin_path = dir.join("pipeline.kin");
        let expected = must_convert(&yaml, Syntax::Kin);
        let committed = fs::read_to_string(&kin_path).unwrap_or_default();
        assert!(
            committed == expected,
            "{} is missing or stale: run `kin convert {} --to kin -o {}`",
            kin_path.display(),
            yaml.name,
            kin_path.display()
        );
        let kin = load(&kin_path);
        let compiled = kin::compile(&kin);
        assert!(
            compiled.diagnostics.is_empty(),
            "{} should check clean:\n{}",
            kin.name,
            report(&kin, &compiled.diagnostics)
        );
        let from_yaml = kin::compile(&yaml);
        assert_eq!(graph(&kin), graph(&yaml), "{}: the graphs differ", kin.name);
        assert_eq!(
            kin::emit::flink::flink_sql(&compiled.pipeline),
            kin::emit::flink::flink_sql(&from_yaml.pipeline),
            "{}: the Flink SQL differs",
            kin.name
        );
        assert_eq!(
            kin::emit::terraform::terraform(&compiled.pipeline),
            kin::emit::terraform::terraform(&from_yaml.pipeline),
            "{}: the Terraform differs",
            kin.name
        );
    }
}

/// The fenced blocks of a Markdown page with their language.
fn code_blocks(page: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut rest = page;
    while let Some(start) = rest.find("```") {
        let after = &rest[start + 3..];
        let Some(line_end) = after.find('\n') else {
            break;
        };
        let language = after[..line_end].trim().to_string();
        let body = &after[line_end + 1..];
        let Some(end) = body.find("```") else {
            break;
        };
        blocks.push((language, body[..end].to_string()));
        rest = &body[end + 3..];
    }
    blocks
}

#[test]
fn the_dsl_page_examples_parse_and_match_their_yaml() {
    let page = fs::read_to_string(root().join("spec/dsl.md")).unwrap_or_default();
    let blocks = code_blocks(&page);
    let mut pairs = 0;
    for (i, (language, text)) in blocks.iter().enumerate() {
        if language != "kin" {
            continue;
        }
        let kin = SourceFile::new("spec/dsl.md.kin", text.clone());
        let syntax_errors: Vec<Diagnostic> = kin::compile(&kin)
            .diagnostics
            .into_iter()
            .filter(|d| d.code.id == "K0028")
            .collect();
        assert!(
            syntax_errors.is_empty(),
            "a kin example of spec/dsl.md:\n{}",
            report(&kin, &syntax_errors)
        );
        if let Some((previous, yaml_text)) = i.checked_sub(1).and_then(|p| blocks.get(p)) {
            if previous == "yaml" {
                let yaml = SourceFile::new("spec/dsl.md.yaml", yaml_text.clone());
                assert_eq!(graph(&kin), graph(&yaml), "spec/dsl.md:\n{text}");
                assert_eq!(messages(&kin), messages(&yaml), "spec/dsl.md:\n{text}");
                pairs += 1;
            }
        }
    }
    assert!(pairs >= 7, "only {pairs} YAML/kin pairs in spec/dsl.md");
}

#[test]
fn valid_fixtures_and_examples_round_trip() {
    let mut paths = files("tests/fixtures/valid", "yaml");
    paths.extend(examples().into_iter().map(|d| d.join("pipeline.yaml")));
    let failures: Vec<String> = paths
        .iter()
        .filter_map(|p| assert_round_trip(&load(p)).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The first word of the text a span covers, without quotes: what a diagnostic points at.
fn token(file: &SourceFile, d: &Diagnostic) -> String {
    let slice = file.slice(d.span).trim_start_matches(['"', '\'']);
    slice
        .split(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == ',')
        .next()
        .unwrap_or_default()
        .trim_end_matches(':')
        .to_string()
}

#[test]
fn semantic_diagnostics_point_at_the_same_tokens_in_kin() {
    let mut compared = 0;
    let mut failures = Vec::new();
    for path in files("tests/fixtures/invalid", "yaml") {
        let yaml = load(&path);
        let Ok(text) = convert(&yaml, Syntax::Kin) else {
            continue; // a parse-stage error: the AST cannot hold the file
        };
        let kin = SourceFile::new(yaml.name.replace(".yaml", ".kin"), text);
        let (from_yaml, from_kin) = (kin::compile(&yaml), kin::compile(&kin));
        compared += 1;
        let describe = |file: &SourceFile, ds: &[Diagnostic]| -> Vec<String> {
            ds.iter()
                .map(|d| format!("{} {} @ `{}`", d.code.id, d.message, token(file, d)))
                .collect()
        };
        let mut a = describe(&yaml, &from_yaml.diagnostics);
        let mut b = describe(&kin, &from_kin.diagnostics);
        // Where YAML cannot map a position into its text (a single-quoted scalar with `''`
        // escapes), kin's `"""` block can: accept the more precise position.
        for (x, y) in a.iter_mut().zip(b.iter_mut()) {
            if x.ends_with("@ ``") && x.split(" @ ").next() == y.split(" @ ").next() {
                *y = x.clone();
            }
        }
        a.sort();
        b.sort();
        if a != b {
            failures.push(format!("{}:\n  yaml: {a:#?}\n  kin:  {b:#?}", yaml.name));
        }
    }
    assert!(compared >= 100, "only {compared} invalid fixtures convert");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn kin_versions_of_invalid_fixtures_point_into_the_kin_file() {
    // Semantic fixtures kept as `.kin` files (their snapshots show the positions); each is the
    // `kin convert` of the YAML fixture of the same name, which must report the same codes.
    for path in files("tests/fixtures/dsl_invalid", "kin") {
        let yaml_path = root()
            .join("tests/fixtures/invalid")
            .join(format!("{}.yaml", stem(&path)));
        if !yaml_path.exists() {
            continue;
        }
        let (kin, yaml) = (load(&path), load(&yaml_path));
        let codes = |f: &SourceFile| -> Vec<String> {
            kin::compile(f)
                .diagnostics
                .iter()
                .map(|d| d.code.id.to_string())
                .collect()
        };
        assert_eq!(codes(&kin), codes(&yaml), "{}", kin.name);
    }
}

#[test]
fn fmt_is_idempotent_on_every_fixture() {
    let mut paths = files("tests/fixtures/valid", "yaml");
    paths.extend(files("tests/fixtures/invalid", "yaml"));
    let mut formatted = 0;
    for path in &paths {
        let yaml = load(path);
        let Ok(text) = convert(&yaml, Syntax::Kin) else {
            continue;
        };
        let kin = SourceFile::new(yaml.name.replace(".yaml", ".kin"), text);
        let once = format_kin(&kin).unwrap_or_else(|d| panic!("{}", report(&kin, &d)));
        assert_eq!(
            once, *kin.text,
            "{}: converted kin is not in the canonical layout",
            kin.name
        );
        formatted += 1;
    }
    for path in files("tests/fixtures/dsl_invalid", "kin")
        .iter()
        .chain(&files("tests/fixtures/dsl_valid", "kin"))
    {
        let file = load(path);
        let Ok(once) = format_kin(&file) else {
            continue; // a syntax error: nothing to format
        };
        let twice = format_kin(&SourceFile::new(file.name.clone(), once.clone()));
        assert_eq!(twice.as_deref().ok(), Some(once.as_str()), "{}", file.name);
        formatted += 1;
    }
    assert!(formatted >= 100, "only {formatted} fixtures formatted");
}

mod generated {
    //! Generated specs: random settings in every section, values that need quoting, units
    //! written in several ways, SQL in several YAML styles, and comments anywhere.

    use std::fmt::Write;

    use proptest::prelude::*;
    use proptest::sample::select;

    use super::*;

    const TYPES: &[&str] = &[
        "string",
        "int?",
        "float",
        "bool",
        "timestamp",
        "date",
        "decimal(10,2)",
        "decimal(38, 0)?",
        "bytes",
        "list<string>",
        "list<list<int?>>?",
        "struct<a:int,b:string?>",
    ];
    const FIELD_NAMES: &[&str] = &[
        "id", "user_id", "page", "amount", "labels", "raw", "x1", "_hidden",
    ];
    const TAG_KEYS: &[&str] = &["team", "cost-center", "a b", "2024", "true", "owner:email"];
    const TAG_VALUES: &[&str] = &[
        "web",
        "a \"quoted\" value",
        "x: y",
        "#hash",
        "ünïcödé",
        "123",
        "yes",
        "",
        "back\\slash",
        "tab\there",
    ];
    const SIZES: &[&str] = &[
        "300B", "1KiB", "1.5MiB", "1000KB", "2 MiB", "64MiB", "1_024B",
    ];
    const DURATIONS: &[&str] = &[
        "24h", "1d", "48h", "60s", "300s", "5m", "1_000ms", "90s", "7d",
    ];
    const RATES: &[&str] = &[
        "2000/s", "120000/m", "1.5/s", "100/m", "7/h", "1_000/s", "0.25/s",
    ];
    const SQL: &[&str] = &[
        "SELECT user_id, window_start, window_end, COUNT(*) AS n\nFROM TABLE(TUMBLE(TABLE s0, DESCRIPTOR(ts), INTERVAL '1' MINUTE))\nGROUP BY user_id, window_start, window_end\n",
        "SELECT user_id FROM s0",
        "SELECT user_id -- \"\"\" in a comment\nFROM s0\n",
        "SELECT '#' AS hash, user_id\n\n  FROM s0\n\n\n",
        "  SELECT user_id\n  FROM s0\n",
        "SELECT user_id FROM s0 WHERE page = 'a \"b\"'",
    ];
    const BUCKETS: &[&str] = &["acme-bucket", "${var.bucket}", "Bad_Bucket"];
    const PREFIXES: &[&str] = &[
        "raw/!{timestamp:yyyy/MM/dd}/",
        "plain/",
        "data/!{partitionKeyFromQuery:user_id}/",
    ];

    #[derive(Clone, Debug)]
    enum Ty {
        Text(&'static str),
        Nested(Vec<(&'static str, &'static str)>),
    }

    #[derive(Clone, Debug)]
    struct Gen {
        name: &'static str,
        region: Option<&'static str>,
        tags: Vec<(&'static str, &'static str)>,
        fields: Vec<(&'static str, Ty)>,
        event_time: bool,
        watermark: Option<&'static str>,
        rate: Option<&'static str>,
        record_size: Option<&'static str>,
        shards: Option<i64>,
        on_demand: bool,
        retention: Option<&'static str>,
        encryption: u8,
        sql: &'static str,
        sql_style: u8,
        from_list: bool,
        parallelism: Option<i64>,
        buffer: (Option<&'static str>, Option<&'static str>),
        destination: u8,
        bucket: &'static str,
        prefix: &'static str,
        comments: Vec<(usize, bool)>,
    }

    fn ty() -> impl Strategy<Value = Ty> {
        prop_oneof![
            3 => select(TYPES).prop_map(Ty::Text),
            1 => prop::collection::vec((select(FIELD_NAMES), select(TYPES)), 0..3).prop_map(Ty::Nested),
        ]
    }

    fn gen() -> impl Strategy<Value = Gen> {
        let head = (
            select(&["demo", "my-pipe", "p1"][..]),
            prop::option::of(select(&["us-east-1", "eu-west-1", "ap-south-1"][..])),
            prop::collection::vec((select(TAG_KEYS), select(TAG_VALUES)), 0..4),
            prop::collection::vec((select(FIELD_NAMES), ty()), 1..6),
            any::<bool>(),
            prop::option::of(select(DURATIONS)),
            prop::option::of(select(RATES)),
            prop::option::of(select(SIZES)),
        );
        let body = (
            prop::option::of(1i64..20),
            any::<bool>(),
            prop::option::of(select(DURATIONS)),
            0u8..4,
            select(SQL),
            0u8..3,
            any::<bool>(),
            prop::option::of(1i64..8),
        );
        let tail = (
            (
                prop::option::of(select(SIZES)),
                prop::option::of(select(DURATIONS)),
            ),
            0u8..5,
            select(BUCKETS),
            select(PREFIXES),
            prop::collection::vec((0usize..200, any::<bool>()), 0..12),
        );
        (head, body, tail).prop_map(|(h, b, t)| Gen {
            name: h.0,
            region: h.1,
            tags: h.2,
            fields: h.3,
            event_time: h.4,
            watermark: h.5,
            rate: h.6,
            record_size: h.7,
            shards: b.0,
            on_demand: b.1,
            retention: b.2,
            encryption: b.3,
            sql: b.4,
            sql_style: b.5,
            from_list: b.6,
            parallelism: b.7,
            buffer: t.0,
            destination: t.1,
            bucket: t.2,
            prefix: t.3,
            comments: t.4,
        })
    }

    fn q(text: &str) -> String {
        serde_json::to_string(text).unwrap_or_default()
    }

    /// The YAML of a generated spec, one line per entry, with a flag on block-scalar lines.
    fn yaml_lines(g: &Gen) -> Vec<(String, bool)> {
        let mut lines: Vec<(String, bool)> = Vec::new();
        let mut push = |text: String| lines.push((text, false));
        push(format!("pipeline: {}", g.name));
        if let Some(region) = g.region {
            push(format!("region: {region}"));
        }
        let mut seen = Vec::new();
        if !g.tags.is_empty() {
            push("tags:".into());
            for (k, v) in &g.tags {
                if !seen.contains(k) {
                    seen.push(*k);
                    push(format!("  {}: {}", q(k), q(v)));
                }
            }
        }
        push("schemas:".into());
        push("  Event:".into());
        push("    fields:".into());
        let mut names = Vec::new();
        for (name, ty) in &g.fields {
            if names.contains(name) || *name == "ts" {
                continue;
            }
            names.push(*name);
            match ty {
                Ty::Text(t) => push(format!("      {name}: {}", q(t))),
                Ty::Nested(inner) => {
                    push(format!(
                        "      {name}:{}",
                        if inner.is_empty() { " {}" } else { "" }
                    ));
                    let mut inner_names = Vec::new();
                    for (n, t) in inner {
                        if !inner_names.contains(n) {
                            inner_names.push(*n);
                            push(format!("        {n}: {t}"));
                        }
                    }
                }
            }
        }
        push("      ts: timestamp".into());
        if g.event_time {
            push("    event_time: ts".into());
            if let Some(w) = g.watermark {
                push(format!("    watermark: {w}"));
            }
        }
        push("producers:".into());
        push("  p0:".into());
        push("    schema: Event".into());
        push("    to: s0".into());
        if let Some(rate) = g.rate {
            push(format!("    rate: {}", q(rate)));
        }
        if let Some(size) = g.record_size {
            push(format!("    record_size: {size}"));
        }
        push("streams:".into());
        push("  s0:".into());
        push("    schema: Event".into());
        if g.on_demand {
            push("    mode: on_demand".into());
        } else if let Some(shards) = g.shards {
            push(format!("    shards: {shards}"));
        }
        if let Some(r) = g.retention {
            push(format!("    retention: {r}"));
        }
        match g.encryption {
            1 => push("    encryption: none".into()),
            2 => push("    encryption: { kms_key: \"alias/my-key\" }".into()),
            3 => {
                push("    encryption:".into());
                push("      kms_key: ${var.key}".into());
            }
            _ => {}
        }
        push("  o0: { mode: on_demand }".into());
        push("analytics:".into());
        push("  a0:".into());
        push(if g.from_list {
            "    from: [s0]".into()
        } else {
            "    from: s0".into()
        });
        push("    to: o0".into());
        if let Some(p) = g.parallelism {
            push(format!("    parallelism: {p}"));
        }
        match g.sql_style {
            0 => lines.push(("    sql: ".to_string() + &q(g.sql), false)),
            style => {
                let chomp = if style == 1 { "|" } else { "|+" };
                let trimmed = g.sql.trim_end_matches('\n');
                lines.push((format!("    sql: {chomp}"), true));
                for l in trimmed.split('\n') {
                    lines.push((
                        if l.is_empty() {
                            String::new()
                        } else {
                            format!("      {l}")
                        },
                        true,
                    ));
                }
            }
        }
        let mut push = |text: String| lines.push((text, false));
        push("firehoses:".into());
        push("  f0:".into());
        push("    from: o0".into());
        if g.buffer.0.is_some() || g.buffer.1.is_some() {
            push("    buffer:".into());
            if let Some(size) = g.buffer.0 {
                push(format!("      size: {size}"));
            }
            if let Some(interval) = g.buffer.1 {
                push(format!("      interval: {interval}"));
            }
        }
        push("    to:".into());
        match g.destination {
            0 => {
                push("      s3:".into());
                push(format!("        bucket: {}", q(g.bucket)));
                push(format!("        prefix: {}", q(g.prefix)));
                push("        error_prefix: \"errors/!{firehose:error-output-type}/\"".into());
                push("        partition_by: [user_id]".into());
            }
            1 => {
                push("      redshift:".into());
                push("        jdbc_url: ${var.jdbc}".into());
                push("        table: t".into());
                push("        columns: [user_id]".into());
                push("        user: u".into());
                push("        password: ${secret:pw}".into());
                push("        format: csv".into());
                push("        copy_options: \"TIMEFORMAT 'auto'\"".into());
            }
            2 => {
                push("      opensearch: { endpoint: \"${var.es}\", index: idx, rotation: hour, backup: all }".into());
            }
            3 => {
                push("      splunk:".into());
                push("        endpoint: ${var.hec}".into());
                push("        token: ${secret:hec}".into());
                push("        endpoint_type: raw".into());
                push("        ack_timeout: 60s".into());
            }
            _ => {
                push("      http:".into());
                push("        url: ${var.url}".into());
                push("        name: \"A name: with colon\"".into());
                push("        access_key: ${secret:key}".into());
                push("        retry_duration: 2h".into());
            }
        }
        lines
    }

    /// The YAML text with comments at the generated places (never inside a block scalar).
    fn yaml_text(g: &Gen) -> String {
        let mut lines = yaml_lines(g);
        for (k, (at, own_line)) in g.comments.iter().enumerate() {
            let i = at % lines.len();
            if lines[i].1 || lines.get(i.wrapping_sub(1)).is_some_and(|l| l.1) && *own_line {
                continue;
            }
            if *own_line {
                let indent: String = lines[i].0.chars().take_while(|c| *c == ' ').collect();
                lines.insert(
                    i,
                    (format!("{indent}# comment {k}: \"quoted\" # inner"), false),
                );
            } else if !lines[i].0.trim_end().ends_with('|') && !lines[i].0.ends_with("|+") {
                let _ = write!(lines[i].0, "  # note {k}");
            }
        }
        let mut text: String = lines.into_iter().map(|(l, _)| l + "\n").collect();
        text.push_str("# the end\n");
        text
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

        #[test]
        fn generated_specs_round_trip(g in gen()) {
            let yaml = SourceFile::new("generated.yaml", yaml_text(&g));
            prop_assert!(read(&yaml).is_ok(), "generated YAML does not read:\n{}", yaml.text);
            if let Err(message) = assert_round_trip(&yaml) {
                prop_assert!(false, "{}", message);
            }
        }

        #[test]
        fn valid_fixtures_round_trip_with_comments_anywhere(
            index in 0usize..1000,
            comments in prop::collection::vec((0usize..400, any::<bool>()), 1..10),
        ) {
            let mut paths = files("tests/fixtures/valid", "yaml");
            paths.extend(examples().into_iter().map(|d| d.join("pipeline.yaml")));
            let file = load(&paths[index % paths.len()]);
            let text = with_comments(&file, &comments);
            let yaml = SourceFile::new(file.name.clone(), text);
            if read(&yaml).is_ok() {
                if let Err(message) = assert_round_trip(&yaml) {
                    prop_assert!(false, "{}", message);
                }
            }
        }
    }

    /// Inserts comments into a YAML file: own-line comments before a line, trailing comments
    /// after one, never inside or after the header of a scalar written over several lines.
    fn with_comments(file: &SourceFile, comments: &[(usize, bool)]) -> String {
        let multi_line = multi_line_scalars(file);
        let lines: Vec<&str> = file.text.lines().collect();
        let mut before: Vec<Vec<String>> = vec![Vec::new(); lines.len()];
        let mut after: Vec<Option<String>> = vec![None; lines.len()];
        for (k, (at, own_line)) in comments.iter().enumerate() {
            let i = at % lines.len().max(1);
            if lines.is_empty() || multi_line.iter().any(|(a, b)| i >= *a && i <= *b) {
                continue;
            }
            if *own_line {
                let indent: String = lines[i].chars().take_while(|c| *c == ' ').collect();
                before[i].push(format!("{indent}# inserted {k}"));
            } else if !lines[i].contains('#') && !lines[i].trim().is_empty() {
                after[i] = Some(format!("  # trailing {k}"));
            }
        }
        let mut out = String::new();
        for (i, line) in lines.iter().enumerate() {
            for comment in &before[i] {
                out.push_str(comment);
                out.push('\n');
            }
            out.push_str(line);
            if let Some(comment) = &after[i] {
                out.push_str(comment);
            }
            out.push('\n');
        }
        out
    }

    /// The first and last (0-based) lines of every scalar written over several lines.
    fn multi_line_scalars(file: &SourceFile) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        if let Ok(root) = kin::syntax::yaml::parse(file) {
            walk(file, &root, &mut out);
        }
        out
    }

    fn walk(file: &SourceFile, node: &kin::syntax::yaml::Node, out: &mut Vec<(usize, usize)>) {
        use kin::syntax::yaml::NodeKind;
        match &node.kind {
            NodeKind::Map(entries) => entries.iter().for_each(|(_, v)| walk(file, v, out)),
            NodeKind::Seq(items) => items.iter().for_each(|v| walk(file, v, out)),
            _ => {
                let (a, b) = (
                    file.line_col(node.span.start).line,
                    file.line_col(node.span.end).line,
                );
                if b > a {
                    out.push((a - 1, b - 1));
                }
            }
        }
    }
}

mod mutated {
    //! Mutated `.kin` files never make any stage panic; every diagnostic lies inside the file;
    //! what `kin fmt` writes reads back to the same graph and formats to itself.

    use proptest::prelude::*;

    use super::*;

    const TOKENS: &[&str] = &[
        "{",
        "}",
        "=",
        ":",
        "\"",
        "\"\"\"",
        "#",
        "//",
        "[",
        "]",
        ",",
        "5s",
        "5 MiB",
        "\n",
        "${",
        "\\",
        "é",
        "?",
        "<",
        "(",
        "fields {",
        "to s3 {",
        "stream x {",
        "-1",
        "99999999999999999999",
        "\t",
        "\r\n",
        "true",
    ];

    #[derive(Clone, Debug)]
    enum Mutation {
        Insert(usize, &'static str),
        Delete(usize, usize),
        DuplicateLine(usize),
        Truncate(usize),
    }

    fn mutation() -> impl Strategy<Value = Mutation> {
        prop_oneof![
            (any::<usize>(), proptest::sample::select(TOKENS))
                .prop_map(|(a, t)| Mutation::Insert(a, t)),
            (any::<usize>(), 1usize..40).prop_map(|(a, n)| Mutation::Delete(a, n)),
            any::<usize>().prop_map(Mutation::DuplicateLine),
            any::<usize>().prop_map(Mutation::Truncate),
        ]
    }

    fn boundary(text: &str, at: usize) -> usize {
        let mut at = at % (text.len() + 1);
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        at
    }

    fn apply(text: &str, mutation: &Mutation) -> String {
        let mut text = text.to_string();
        match mutation {
            Mutation::Insert(at, token) => {
                let at = boundary(&text, *at);
                text.insert_str(at, token);
            }
            Mutation::Delete(at, n) => {
                let a = boundary(&text, *at);
                let b = boundary(&text, (a + n).min(text.len()));
                text.replace_range(a..b.max(a), "");
            }
            Mutation::DuplicateLine(at) => {
                let lines: Vec<&str> = text.lines().collect();
                if !lines.is_empty() {
                    let i = at % lines.len();
                    let mut out: Vec<&str> = lines.clone();
                    out.insert(i, lines[i]);
                    text = out.join("\n");
                }
            }
            Mutation::Truncate(at) => {
                let at = boundary(&text, *at);
                text.truncate(at);
            }
        }
        text
    }

    fn seeds() -> Vec<String> {
        let mut seeds: Vec<String> = examples()
            .iter()
            .filter_map(|d| fs::read_to_string(d.join("pipeline.kin")).ok())
            .collect();
        seeds.extend(
            files("tests/fixtures/dsl_valid", "kin")
                .iter()
                .filter_map(|p| fs::read_to_string(p).ok()),
        );
        seeds
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn mutated_kin_never_panics(seed in 0usize..100, mutations in prop::collection::vec(mutation(), 1..4)) {
            let seeds = seeds();
            prop_assume!(!seeds.is_empty());
            let mut text = seeds[seed % seeds.len()].clone();
            for m in &mutations {
                text = apply(&text, m);
            }
            let file = SourceFile::new("mutated.kin", text);
            let compiled = kin::compile(&file);
            for d in &compiled.diagnostics {
                prop_assert!(d.span.start <= d.span.end && d.span.end <= file.text.len(), "{d:?}");
            }
            let _ = render(Format::Json, &[RenderedFile { file: &file, diagnostics: &compiled.diagnostics }]);
            let _ = report(&file, &compiled.diagnostics);
            if let Ok(formatted) = format_kin(&file) {
                let again = SourceFile::new("mutated.kin", formatted.clone());
                prop_assert_eq!(graph(&again), graph(&file));
                prop_assert_eq!(ast_without_positions(&again), ast_without_positions(&file));
                let twice = format_kin(&again);
                prop_assert_eq!(twice.as_deref().ok(), Some(formatted.as_str()));
                let yaml = convert(&file, Syntax::Yaml);
                prop_assert!(yaml.is_ok());
                let yaml = SourceFile::new("mutated.yaml", yaml.unwrap_or_default());
                prop_assert!(read(&yaml).is_ok(), "the YAML does not read:\n{}", yaml.text);
                prop_assert_eq!(graph(&yaml), graph(&file));
                prop_assert_eq!(ast_without_positions(&yaml), ast_without_positions(&file));
            }
        }
    }
}
