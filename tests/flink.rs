//! Flink SQL output (`kin build --target flink-sql`): the files of every example and of
//! `tests/flink/typed_outputs.yaml` are snapshotted with insta, and, when `KIN_PYFLINK` names a
//! Python with apache-flink installed, planned by Flink itself (`tests/flink/validate.py`), with
//! those of every valid fixture (`tests/fixtures/valid/`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use kin::ir::graph::{Pipeline, Record};
use kin::ir::types::{Field, RecordType};
use kin::syntax::types::parse_type;
use kin_tests::{compile_clean, root, valid_fixtures};

fn examples() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(root().join("examples"))
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|d| d.join("pipeline.yaml").exists());
    files.sort();
    files.into_iter().map(|d| d.join("pipeline.yaml")).collect()
}

/// Gives `analytics` and its target the output type the SQL typing stage infers, where it has
/// not (before that stage exists).
fn type_output(pipeline: &mut Pipeline, analytics: &str, target: &str, fields: &[(&str, &str)]) {
    let record = RecordType {
        fields: fields
            .iter()
            .map(|(name, ty)| Field {
                name: name.to_string(),
                ty: parse_type(ty).unwrap_or_else(|e| panic!("{ty}: {e}")),
            })
            .collect(),
    };
    for node in [analytics, target] {
        let index = pipeline.graph.by_name[node];
        let node = &mut pipeline.graph.graph[index];
        if node.record == Record::Unknown {
            node.record = Record::Known(record.clone());
        }
    }
}

/// The fixture with its analytics outputs typed by hand.
fn typed_fixture() -> Pipeline {
    let mut pipeline = compile_clean(&root().join("tests/flink/typed_outputs.yaml"));
    let fields = [
        ("user", "string"),
        ("window_start", "timestamp"),
        ("window_end", "timestamp"),
        ("views", "int"),
        ("total", "decimal(20,2)"),
        ("last_os", "string?"),
    ];
    type_output(&mut pipeline, "user_totals", "per_user", &fields);
    let fields = [
        ("window_start", "timestamp"),
        ("status", "int"),
        ("requests", "int"),
        ("bytes_sent", "int?"),
    ];
    type_output(
        &mut pipeline,
        "status_counts",
        "statuses_to_redshift",
        &fields,
    );
    let fields = [("who", "string"), ("at", "timestamp")];
    type_output(&mut pipeline, "both", "paths_to_s3", &fields);
    pipeline
}

/// Every spec whose Flink SQL is checked: (snapshot name, pipeline).
fn pipelines() -> Vec<(String, Pipeline)> {
    let mut all: Vec<(String, Pipeline)> = examples()
        .iter()
        .map(|path| {
            let dir = path.parent().and_then(Path::file_name);
            let name = dir.map(|d| d.to_string_lossy().into_owned());
            (name.unwrap_or_default(), compile_clean(path))
        })
        .collect();
    all.push(("typed_outputs".to_string(), typed_fixture()));
    all
}

/// All files of one pipeline as one text: `==> PATH <==` then the content.
fn listing(files: &[(String, String)]) -> String {
    if files.is_empty() {
        return "(no analytics: no files)\n".to_string();
    }
    files
        .iter()
        .map(|(path, content)| format!("==> {path} <==\n{content}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn flink_sql_is_snapshotted() {
    let examples = examples().len();
    assert!(
        examples >= 5,
        "expected at least five examples, found {examples}"
    );
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(root().join("tests/snapshots/flink"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    for (name, pipeline) in pipelines() {
        let text = listing(&kin::emit::flink::flink_sql(&pipeline));
        settings.bind(|| insta::assert_snapshot!(name, text));
    }
}

#[test]
fn flink_plans_the_generated_sql() {
    let Some(python) = std::env::var_os("KIN_PYFLINK") else {
        println!(
            "SKIPPED: KIN_PYFLINK is not set; set it to a Python with apache-flink==2.2.1 \
             (as .ci/run does) to have Flink plan the generated SQL"
        );
        return;
    };
    let dir = std::env::temp_dir().join(format!("kin-flink-sql-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    let mut all = pipelines();
    let fixtures = valid_fixtures();
    assert!(!fixtures.is_empty(), "no valid fixtures found");
    for path in &fixtures {
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        all.push((
            format!("fixtures/{}", stem.unwrap_or_default()),
            compile_clean(path),
        ));
    }
    let mut written = Vec::new();
    for (name, pipeline) in all {
        for (path, content) in kin::emit::flink::flink_sql(&pipeline) {
            let file = dir.join(&name).join(path);
            if let Some(parent) = file.parent() {
                fs::create_dir_all(parent).expect("create the output directory");
            }
            fs::write(&file, content).expect("write a Flink SQL file");
            written.push(file);
        }
    }
    let (ok, problems) = validate(&python, &written);
    assert!(ok, "Flink rejects generated SQL:\n{problems}");
    let _ = fs::remove_dir_all(&dir);
}

/// The validator itself fails on SQL Flink rejects (here a reserved word used bare).
#[test]
fn the_flink_validator_reports_rejected_sql() {
    let Some(python) = std::env::var_os("KIN_PYFLINK") else {
        println!("SKIPPED: KIN_PYFLINK is not set");
        return;
    };
    let file = std::env::temp_dir().join(format!("kin-flink-bad-{}.sql", std::process::id()));
    let sql = "CREATE TABLE `t` (\n  `x` BIGINT NOT NULL\n)\nWITH (\n  'connector' = 'kinesis'\n);\n\
               CREATE TABLE `o` (\n  `views` BIGINT NOT NULL\n)\nWITH (\n  'connector' = 'kinesis'\n);\n\
               INSERT INTO `o`\nSELECT x AS views FROM t;\n";
    fs::write(&file, sql).expect("write the bad file");
    let (ok, problems) = validate(&python, std::slice::from_ref(&file));
    let _ = fs::remove_file(&file);
    assert!(!ok, "validate.py accepted a bare reserved word");
    assert!(problems.contains("Encountered \"views\""), "{problems}");
}

/// Runs `tests/flink/validate.py` on files: (whether Flink accepts them all, the problems).
fn validate(python: &std::ffi::OsStr, files: &[PathBuf]) -> (bool, String) {
    let out = Command::new(python)
        .arg(root().join("tests/flink/validate.py"))
        .args(files)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", Path::new(python).display()));
    println!("{}", String::from_utf8_lossy(&out.stdout));
    // Flink's own logging (SLF4J, JVM warnings) is noise here.
    let problems: Vec<String> = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| !l.starts_with("WARNING") && !l.starts_with("SLF4J"))
        .map(str::to_string)
        .collect();
    (out.status.success(), problems.join("\n"))
}
