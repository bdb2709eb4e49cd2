//! Helpers shared by kin's integration tests and benchmarks: paths, generated specs and
//! generated Rust projects.

use std::fmt::Write;
use std::path::{Path, PathBuf};

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A valid spec with `groups × 5` nodes: per group a producer, its stream, an analytics node,
/// the analytics' output stream and a firehose delivering that stream to S3.
pub fn generated_spec(groups: usize) -> String {
    let mut s = String::from("pipeline: generated\nregion: us-east-1\nschemas:\n");
    for k in 0..10 {
        let _ = write!(
            s,
            "  Event{k}:\n    fields:\n      id: string\n      user_id: string\n      amount: decimal(12,2)\n      tags: list<string>\n      device: {{ os: string, version: string? }}\n      ts: timestamp\n    event_time: ts\n    watermark: 5s\n"
        );
    }
    s.push_str("producers:\n");
    for i in 0..groups {
        let _ = writeln!(
            s,
            "  p{i}: {{ schema: Event{}, to: s{i}, rate: 500/s }}",
            i % 10
        );
    }
    s.push_str("streams:\n");
    for i in 0..groups {
        let _ = writeln!(
            s,
            "  s{i}: {{ schema: Event{}, shards: 2, partition_key: user_id, retention: 48h }}",
            i % 10
        );
        let _ = writeln!(s, "  o{i}: {{ mode: on_demand }}");
    }
    s.push_str("analytics:\n");
    for i in 0..groups {
        let _ = write!(
            s,
            "  a{i}:\n    from: s{i}\n    to: o{i}\n    sql: |\n      SELECT user_id, window_start, window_end, COUNT(*) AS n\n      FROM TABLE(TUMBLE(TABLE s{i}, DESCRIPTOR(ts), INTERVAL '1' MINUTE))\n      GROUP BY user_id, window_start, window_end\n"
        );
    }
    s.push_str("firehoses:\n");
    for i in 0..groups {
        let _ = write!(
            s,
            "  f{i}:\n    from: o{i}\n    buffer: {{ size: 64MiB, interval: 60s }}\n    compression: gzip\n    to:\n      s3:\n        bucket: generated-bucket-{i}\n        prefix: \"data/!{{timestamp:yyyy/MM/dd}}/\"\n        error_prefix: \"errors/!{{firehose:error-output-type}}/\"\n"
        );
    }
    s
}

/// The valid fixtures (`tests/fixtures/valid/*.yaml`), sorted.
pub fn valid_fixtures() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("tests/fixtures/valid"))
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|f| f.extension().is_some_and(|e| e == "yaml"));
    files.sort();
    files
}

/// Compiles a spec file that must have no errors (warnings are allowed) and returns its pipeline.
pub fn compile_clean(path: &std::path::Path) -> kin::ir::graph::Pipeline {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let compiled = kin::compile(&kin::source::SourceFile::new(
        path.display().to_string(),
        text,
    ));
    let errors: Vec<&str> = compiled
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.message.as_str())
        .collect();
    assert!(errors.is_empty(), "{}: {errors:?}", path.display());
    compiled.pipeline
}

/// Reads a spec file as a source named by its path relative to the workspace root.
pub fn load(path: &std::path::Path) -> kin::source::SourceFile {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let name = path
        .strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string();
    kin::source::SourceFile::new(name.trim_start_matches("../").to_string(), text)
}

/// Writes a generated Rust project (from `kin::emit::rust::rust_project`) into `project`:
/// changed files only (so cargo rebuilds only what changed), and without the files an older
/// kin vendored under `kin-runtime/`, as `kin run` writes it.
pub fn write_project(project: &Path, files: &[(String, String)]) {
    for (path, text) in files {
        let file = project.join(path);
        std::fs::create_dir_all(file.parent().expect("has a parent")).expect("dir");
        if std::fs::read(&file).ok().as_deref() != Some(text.as_bytes()) {
            std::fs::write(&file, text).expect("write");
        }
    }
    for stale in kin::emit::rust::stale_runtime_files(project, files) {
        std::fs::remove_file(stale).expect("remove a stale file");
    }
}

/// Every file under `dir`, at any depth (none when it does not exist).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}
