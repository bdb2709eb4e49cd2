//! The `kin` binary on `.kin` files: every command accepts them; `kin fmt` and `kin convert`.

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

/// Writes a file into a fresh temporary directory and returns its path.
fn write(test: &str, name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kin-dsl-cli-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write spec");
    path
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

const MESSY: &str = "\
pipeline demo   // the demo
schema Click { fields { id: string, page: string, ts: timestamp }  event_time = ts }
producer web { schema = Click, to = clicks, rate = 100/s }
stream clicks { schema = Click  shards = 1 }
firehose archive { from = clicks  to s3 { bucket = \"demo-archive\" } }
";

const CANONICAL: &str = "\
pipeline demo  // the demo

schema Click {
  event_time = ts

  fields {
    id:   string
    page: string
    ts:   timestamp
  }
}

producer web {
  schema = Click
  to     = clicks
  rate   = 100/s
}

stream clicks {
  schema = Click
  shards = 1
}

firehose archive {
  from = clicks

  to s3 {
    bucket = \"demo-archive\"
  }
}
";

#[test]
fn every_command_reads_kin_files() {
    let path = write("commands", "pipeline.kin", MESSY);
    let check = kin(&["check", p(&path)]);
    assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));
    let graph = kin(&["graph", p(&path), "--format", "json"]);
    assert_eq!(graph.status.code(), Some(0), "{}", stderr(&graph));
    assert!(stdout(&graph).contains("\"name\": \"archive\""));
    let explain = kin(&["explain", p(&path), "clicks"]);
    assert_eq!(explain.status.code(), Some(0), "{}", stderr(&explain));
    let out = path.with_file_name("build");
    let build = kin(&["build", p(&path), "--target", "terraform", "-o", p(&out)]);
    assert_eq!(build.status.code(), Some(0), "{}", stderr(&build));
}

#[test]
fn check_reports_syntax_errors_with_positions() {
    let path = write(
        "syntax",
        "pipeline.kin",
        "pipeline demo\nstream clicks {\n  shards: 1\n}\n",
    );
    let out = kin(&["check", p(&path), "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    let d = &json["diagnostics"][0];
    assert_eq!(d["code"], "K0028");
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(3), Some(9))
    );
    assert_eq!(d["message"], "expected `=` after `shards`, found `:`");
}

#[test]
fn fmt_rewrites_and_check_reports() {
    let path = write("fmt", "pipeline.kin", MESSY);
    let check = kin(&["fmt", "--check", p(&path)]);
    assert_eq!(check.status.code(), Some(1));
    assert!(
        stdout(&check).contains("not formatted"),
        "{}",
        stdout(&check)
    );
    assert_eq!(std::fs::read_to_string(&path).ok().as_deref(), Some(MESSY));

    let fmt = kin(&["fmt", p(&path)]);
    assert_eq!(fmt.status.code(), Some(0), "{}", stderr(&fmt));
    assert_eq!(
        std::fs::read_to_string(&path).ok().as_deref(),
        Some(CANONICAL)
    );
    let again = kin(&["fmt", "--check", p(&path)]);
    assert_eq!(again.status.code(), Some(0), "{}", stdout(&again));
}

#[test]
fn fmt_refuses_yaml_and_files_with_errors() {
    let yaml = write("fmt-yaml", "pipeline.yaml", "pipeline: demo\n");
    let out = kin(&["fmt", p(&yaml)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not a .kin file"));

    let broken = "pipeline demo\nstream clicks { shard = 1 }\n";
    let path = write("fmt-broken", "pipeline.kin", broken);
    let out = kin(&["fmt", p(&path)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("K0002"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(&path).ok().as_deref(),
        Some(broken),
        "a file with errors is left as it is"
    );
}

#[test]
fn convert_both_ways_keeps_the_graph_and_comments() {
    let kin_path = write("convert", "pipeline.kin", MESSY);
    let yaml_path = kin_path.with_file_name("pipeline.yaml");
    let out = kin(&["convert", p(&kin_path), "--to", "yaml", "-o", p(&yaml_path)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let yaml = std::fs::read_to_string(&yaml_path).unwrap_or_default();
    assert!(yaml.starts_with("pipeline: demo  # the demo\n"), "{yaml}");
    let graph = |path: &Path| stdout(&kin(&["graph", p(path), "--format", "json"]));
    assert_eq!(graph(&yaml_path), graph(&kin_path));

    let back = kin(&["convert", p(&yaml_path), "--to", "kin"]);
    assert_eq!(back.status.code(), Some(0), "{}", stderr(&back));
    assert_eq!(stdout(&back), CANONICAL.replace("//", "#"));
}

#[test]
fn convert_refuses_a_spec_the_ast_cannot_hold() {
    let path = write(
        "convert-broken",
        "pipeline.yaml",
        "pipeline: demo\nstreams:\n  clicks: { shard: 1 }\n",
    );
    let out = kin(&["convert", p(&path), "--to", "kin"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).is_empty());
    assert!(stderr(&out).contains("has errors"), "{}", stderr(&out));
    let missing = kin(&["convert", "no-such-file.yaml", "--to", "kin"]);
    assert_eq!(missing.status.code(), Some(2));
}
