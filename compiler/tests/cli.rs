//! The `kin` binary end to end: exit codes, output formats and the committed JSON Schema.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn kin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kin"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run kin")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Writes a spec into a fresh temporary directory and returns its path.
fn spec(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kin-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, text).expect("write spec");
    path
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

const CLEAN: &str = "\
pipeline: demo
schemas:
  Click:
    fields: { id: string, page: string, ts: timestamp }
producers:
  web: { schema: Click, to: clicks, rate: 100/s }
streams:
  clicks: { schema: Click, shards: 1, partition_key: id }
firehoses:
  archive:
    from: clicks
    to: { s3: { bucket: demo-archive } }
";

const BROKEN: &str = "\
pipeline: demo
schemas:
  Click:
    fields: { id: string, ts: timestamp }
streams:
  clicks: { schema: Click, shard: 1 }
firehoses:
  archive:
    from: clikcs
    to: { s3: { bucket: demo-archive } }
";

const WARNS: &str = "\
pipeline: demo
schemas:
  Click:
    fields: { id: string }
producers:
  web: { schema: Click, to: clicks }
streams:
  clicks: { schema: Click, shards: 1 }
";

#[test]
fn clean_spec_exits_zero() {
    let out = kin(&["check", p(&spec("clean", CLEAN))]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("no problems"));
}

#[test]
fn errors_exit_one_with_every_error_reported() {
    let out = kin(&["check", p(&spec("broken", BROKEN))]);
    assert_eq!(out.status.code(), Some(1));
    let text = stderr(&out);
    assert!(
        text.contains("K0002") && text.contains("did you mean `shards`?"),
        "{text}"
    );
    assert!(
        text.contains("K0007") && text.contains("did you mean `clicks`?"),
        "{text}"
    );
    assert!(
        text.contains("broken.yaml:9:11"),
        "position of `clikcs`: {text}"
    );
}

#[test]
fn warnings_pass_unless_denied() {
    let path = spec("warns", WARNS);
    let out = kin(&["check", p(&path)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("K1001"));
    let denied = kin(&["check", "--deny-warnings", p(&path)]);
    assert_eq!(denied.status.code(), Some(1));
}

#[test]
fn unreadable_file_and_bad_usage_exit_two() {
    let out = kin(&["check", "/nonexistent/pipeline.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot read /nonexistent/pipeline.yaml"));
    assert_eq!(kin(&["check"]).status.code(), Some(2));
    assert_eq!(
        kin(&["check", "--format", "xml", "x.yaml"]).status.code(),
        Some(2)
    );
}

#[test]
fn json_format_has_positions_and_counts() {
    let out = kin(&["check", "--format", "json", p(&spec("json", BROKEN))]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["errors"], 2);
    assert_eq!(v["warnings"], 0);
    let d = &v["diagnostics"];
    assert_eq!(d[0]["code"], "K0002");
    assert_eq!(
        (d[0]["line"].as_u64(), d[0]["column"].as_u64()),
        (Some(6), Some(28))
    );
    assert_eq!(
        (d[0]["end_line"].as_u64(), d[0]["end_column"].as_u64()),
        (Some(6), Some(33))
    );
    assert_eq!(d[1]["code"], "K0007");
    assert_eq!(
        (d[1]["line"].as_u64(), d[1]["column"].as_u64()),
        (Some(9), Some(11))
    );
    assert_eq!(d[1]["help"], "did you mean `clicks`?");
    assert_eq!(d[1]["severity"], "error");
    assert!(d[1]["file"]
        .as_str()
        .is_some_and(|f| f.ends_with("json.yaml")));
}

#[test]
fn github_format_prints_annotations() {
    let out = kin(&["check", "--format", "github", p(&spec("gh", BROKEN))]);
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[1].starts_with("::error file="), "{text}");
    assert!(lines[1].contains(",line=9,col=11,"), "{text}");
    assert!(
        lines[1].contains("%0Ahelp: did you mean `clicks`?"),
        "{text}"
    );
}

#[test]
fn sarif_format_is_sarif_2_1_0() {
    let out = kin(&["check", "--format", "sarif", p(&spec("sarif", BROKEN))]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["version"], "2.1.0");
    let results = &v["runs"][0]["results"];
    assert_eq!(results.as_array().map(Vec::len), Some(2));
    assert_eq!(results[1]["ruleId"], "K0007");
    assert_eq!(results[1]["level"], "error");
    let region = &results[1]["locations"][0]["physicalLocation"]["region"];
    assert_eq!(
        (region["startLine"].as_u64(), region["startColumn"].as_u64()),
        (Some(9), Some(11))
    );
    let rules = v["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .map(Vec::len)
        .unwrap_or(0);
    let index = results[1]["ruleIndex"].as_u64().unwrap_or(u64::MAX) as usize;
    assert!(index < rules);
    assert_eq!(
        v["runs"][0]["tool"]["driver"]["rules"][index]["id"],
        "K0007"
    );
}

#[test]
fn several_files_are_checked_together() {
    let out = kin(&[
        "check",
        "--format",
        "json",
        p(&spec("one", CLEAN)),
        p(&spec("two", BROKEN)),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["errors"], 2);
    assert!(v["diagnostics"][0]["file"]
        .as_str()
        .is_some_and(|f| f.ends_with("two.yaml")));
}

#[test]
fn graph_formats() {
    let path = spec("graph", CLEAN);
    let json = kin(&["graph", p(&path), "--format", "json"]);
    assert_eq!(json.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(v["pipeline"], "demo");
    let kinds: Vec<&str> = v["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["producer", "stream", "firehose", "destination"]);
    assert_eq!(
        v["nodes"][1]["schema"][2],
        serde_json::json!({"name": "ts", "type": "timestamp", "nullable": false})
    );
    assert_eq!(
        v["edges"][0],
        serde_json::json!({"from": "web", "to": "clicks"})
    );
    assert_eq!(v["edges"].as_array().map(Vec::len), Some(3));

    let dot = stdout(&kin(&["graph", p(&path), "--format", "dot"]));
    assert!(
        dot.starts_with("digraph \"demo\"") && dot.contains("\"web\" -> \"clicks\";"),
        "{dot}"
    );
    let mermaid = stdout(&kin(&["graph", p(&path), "--format", "mermaid"]));
    assert!(
        mermaid.starts_with("flowchart LR") && mermaid.contains("n0 --> n1"),
        "{mermaid}"
    );

    let broken = kin(&["graph", p(&spec("graph-broken", BROKEN))]);
    assert_eq!(broken.status.code(), Some(1));
    assert!(stderr(&broken).contains("K0007"));
}

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(name)
        .join("pipeline.yaml")
}

/// A fresh empty directory.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kin-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn build_flink_sql_writes_one_file_per_analytics() {
    let out_dir = temp_dir("build-out");
    let spec = example("clickstream");
    let out = kin(&[
        "build",
        p(&spec),
        "--target",
        "flink-sql",
        "-o",
        p(&out_dir),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let written = out_dir.join("views_per_page.sql");
    assert_eq!(stdout(&out), format!("{}\n", written.display()));
    let sql = std::fs::read_to_string(&written).expect("views_per_page.sql");
    assert!(sql.starts_with("-- Flink SQL of analytics \"views_per_page\""));
    assert!(sql.contains("CREATE TABLE `clicks` ("), "{sql}");
    assert!(sql.contains("INSERT INTO `page_views`\nSELECT"), "{sql}");
    let entries = std::fs::read_dir(&out_dir).map_or(0, |d| d.count());
    assert_eq!(entries, 1);
}

#[test]
fn build_defaults_to_build_pipeline_target() {
    let cwd = temp_dir("build-default");
    let spec = example("iot-events");
    let out = Command::new(env!("CARGO_BIN_EXE_kin"))
        .args(["build", p(&spec), "--target", "flink-sql"])
        .current_dir(&cwd)
        .output()
        .expect("run kin");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "build/iot-telemetry/flink-sql/device_averages.sql\n"
    );
    assert!(cwd
        .join("build/iot-telemetry/flink-sql/device_averages.sql")
        .is_file());
}

#[test]
fn build_refuses_a_spec_with_errors() {
    let out_dir = temp_dir("build-broken");
    let out = kin(&[
        "build",
        p(&spec("build-broken", BROKEN)),
        "--target",
        "flink-sql",
        "-o",
        p(&out_dir.join("sql")),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = stderr(&out);
    assert!(
        text.contains("K0007") && text.contains("did you mean `clicks`?"),
        "{text}"
    );
    assert!(text.contains("kin build: ") && text.contains("has errors; run `kin check "));
    assert!(stdout(&out).is_empty());
    assert!(!out_dir.join("sql").exists(), "nothing is written");
}

#[test]
fn build_without_analytics_writes_nothing() {
    let out_dir = temp_dir("build-none");
    let out = kin(&[
        "build",
        p(&spec("build-none", CLEAN)),
        "--target=flink-sql",
        "--out",
        p(&out_dir),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
    assert!(
        stderr(&out).contains("has no analytics"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn build_terraform_writes_a_module() {
    let out_dir = temp_dir("build-terraform");
    let spec = example("clickstream");
    let out = kin(&[
        "build",
        p(&spec),
        "--target",
        "terraform",
        "-o",
        p(&out_dir),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for file in [
        "versions.tf",
        "variables.tf",
        "main.tf",
        "streams.tf",
        "firehoses.tf",
        "buckets.tf",
        "analytics.tf",
        "outputs.tf",
        "README.md",
        "flink/views_per_page/main.py",
        "flink/views_per_page/statements.sql",
    ] {
        let written = out_dir.join(file);
        assert!(written.is_file(), "{file}");
        assert!(
            stdout(&out).contains(&format!("{}\n", written.display())),
            "{file}"
        );
    }
    let versions = std::fs::read_to_string(out_dir.join("versions.tf")).unwrap_or_default();
    assert!(versions.contains("version = \"~> 6.0\""), "{versions}");
}

#[test]
fn build_without_target_writes_every_target() {
    let cwd = temp_dir("build-all");
    let spec = example("iot-events");
    let out = Command::new(env!("CARGO_BIN_EXE_kin"))
        .args(["build", p(&spec)])
        .current_dir(&cwd)
        .output()
        .expect("run kin");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let root = cwd.join("build/iot-telemetry");
    assert!(root.join("terraform/main.tf").is_file());
    assert!(root
        .join("terraform/flink/device_averages/main.py")
        .is_file());
    assert!(root.join("flink-sql/device_averages.sql").is_file());
    let text = stdout(&out);
    assert!(
        text.starts_with("build/iot-telemetry/terraform/versions.tf\n"),
        "{text}"
    );
    assert!(
        text.ends_with("build/iot-telemetry/flink-sql/device_averages.sql\n"),
        "{text}"
    );
    // With -o, each target goes to its own directory under DIR.
    let out_dir = temp_dir("build-all-out");
    let out = kin(&["build", p(&spec), "-o", p(&out_dir)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out_dir.join("terraform/versions.tf").is_file());
    assert!(out_dir.join("flink-sql/device_averages.sql").is_file());
}

#[test]
fn build_usage_errors_exit_two() {
    let clickstream = example("clickstream");
    let unknown = kin(&["build", p(&clickstream), "--target", "cloudformation"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stderr(&unknown).contains("terraform") && stderr(&unknown).contains("flink-sql"),
        "{}",
        stderr(&unknown)
    );
    let missing = kin(&[
        "build",
        "/nonexistent/pipeline.yaml",
        "--target",
        "flink-sql",
    ]);
    assert_eq!(missing.status.code(), Some(2));
    // An output directory that cannot be created (its parent is a file).
    let file = spec("build-parent-file", CLEAN);
    let blocked = kin(&[
        "build",
        p(&clickstream),
        "--target",
        "flink-sql",
        "-o",
        p(&file.join("sql")),
    ]);
    assert_eq!(blocked.status.code(), Some(2));
    assert!(
        stderr(&blocked).contains("cannot create"),
        "{}",
        stderr(&blocked)
    );
}

#[test]
fn help_lists_the_commands() {
    let out = kin(&["--help"]);
    let text = stdout(&out);
    for command in ["check", "graph", "build", "schema"] {
        assert!(text.contains(command), "{text}");
    }
}

#[test]
fn committed_json_schema_is_current() {
    let out = kin(&["schema"]);
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/pipeline.schema.json");
    let committed = std::fs::read_to_string(&committed).unwrap_or_default();
    assert!(
        committed == stdout(&out),
        "spec/pipeline.schema.json is stale: run `cargo run -p kin-compiler -- schema > spec/pipeline.schema.json`"
    );
}

const WINDOWED: &str = "\
pipeline: demo
schemas:
  Click:
    fields: { page: string, ms: int, ts: timestamp }
    event_time: ts
producers:
  web: { schema: Click, to: clicks, rate: 100/s }
streams:
  clicks: { schema: Click, shards: 1 }
  views: { mode: on_demand }
analytics:
  per_page:
    from: clicks
    to: views
    sql: |
      SELECT page, window_start, window_end, COUNT(*) AS n
      FROM TABLE(HOP(TABLE clicks, DESCRIPTOR(ts), INTERVAL '1' MINUTE, INTERVAL '5' MINUTE))
      GROUP BY page, window_start, window_end
firehoses:
  archive:
    from: views
    to: { s3: { bucket: demo-archive } }
";

#[test]
fn explain_prints_types_windows_and_plans() {
    let path = spec("explain", WINDOWED);
    let out = kin(&["explain", p(&path)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with("analytics per_page\n  reads clicks → writes views\n"),
        "{text}"
    );
    assert!(text.contains("    n             int\n"), "{text}");
    assert!(
        text.contains("  window: HOP over clicks on ts (1m, 5m)"),
        "{text}"
    );
    assert!(text.contains("Aggregate: groupBy="), "{text}");
    let stream = stdout(&kin(&["explain", p(&path), "views"]));
    assert!(
        stream.starts_with("stream views\n  record type:\n    page "),
        "{stream}"
    );
    let missing = kin(&["explain", p(&path), "veiws"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("did you mean `views`?"));
}

/// The workspace's target directory, so `kin run` reuses what the workspace compiled.
fn workspace_target() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

#[test]
fn build_target_rust_writes_a_cargo_project() {
    let path = spec("rust", CLEAN);
    let out = path.with_file_name("rust-project");
    let o = kin(&["build", p(&path), "--target", "rust", "-o", p(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
    for file in [
        "Cargo.toml",
        "Cargo.lock",
        "src/main.rs",
        "kin-runtime/Cargo.toml",
        "kin-runtime/src/lib.rs",
    ] {
        assert!(
            out.join(file).exists(),
            "{file} missing; wrote:\n{}",
            stdout(&o)
        );
    }
    let main = std::fs::read_to_string(out.join("src/main.rs")).expect("main.rs");
    assert!(main.starts_with("//! Generated by kin"), "{main}");
    // What an older kin vendored is removed on the next build; the user's files are not.
    let stale = out.join("kin-runtime/src/stream.rs");
    let own = out.join("notes.txt");
    std::fs::write(&stale, "// an older layout").expect("stale file");
    std::fs::write(&own, "mine").expect("own file");
    let o = kin(&["build", p(&path), "--target", "rust", "-o", p(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stale.exists(), "a stale runtime file was left");
    assert!(own.exists(), "a file outside kin-runtime/ was removed");
    assert!(out.join("kin-runtime/src/stream/mod.rs").exists());
}

#[test]
fn kin_run_replays_a_file_and_reports_rejected_records() {
    let path = spec("run", CLEAN);
    let dir = path.parent().expect("dir").to_path_buf();
    let input = dir.join("clicks.jsonl");
    std::fs::write(
        &input,
        "{\"id\":\"a\",\"page\":\"/\",\"ts\":\"2024-05-01T10:00:00Z\"}\n\
         {\"id\":\"b\",\"page\":\"/x\",\"ts\":1714557601000}\n\
         {\"id\":\"c\",\"ts\":\"2024-05-01T10:00:02Z\"}\n",
    )
    .expect("input");
    let data = dir.join("data");
    let o = Command::new(env!("CARGO_BIN_EXE_kin"))
        .args([
            "run",
            p(&path),
            "--input",
            &format!("web={}", p(&input)),
            "--data-dir",
            p(&data),
        ])
        .env("CARGO_TARGET_DIR", workspace_target())
        .output()
        .expect("run kin");
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let summary = stdout(&o);
    let producer = summary
        .lines()
        .find(|l| l.starts_with("producer"))
        .expect("producer line");
    let numbers: Vec<&str> = producer.split_whitespace().collect();
    // kind, node, records in, bytes in, records out, bytes out, errors, late
    assert_eq!(
        (numbers[2], numbers[4], numbers[6]),
        ("3", "2", "1"),
        "{summary}"
    );
    let mut objects = Vec::new();
    let mut pending = vec![data.join("s3/demo-archive")];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if entry.path().is_dir() {
                pending.push(entry.path());
            } else {
                objects.push(std::fs::read_to_string(entry.path()).expect("object"));
            }
        }
    }
    assert_eq!(objects.concat().lines().count(), 2, "{objects:?}");
    let errors = std::fs::read_dir(data.join("errors/web"))
        .expect("errors")
        .count();
    assert_eq!(errors, 1);
    let o = Command::new(env!("CARGO_BIN_EXE_kin"))
        .args([
            "run",
            p(&path),
            "--input",
            "nobody=x.jsonl",
            "--data-dir",
            p(&data),
        ])
        .env("CARGO_TARGET_DIR", workspace_target())
        .output()
        .expect("run kin");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("producer \"nobody\", which does not exist"),
        "{}",
        stderr(&o)
    );
}
