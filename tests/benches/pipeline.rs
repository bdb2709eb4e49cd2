//! The local runtime's throughput, against a plain batch DataFusion query in the same run.
//!
//! `cargo bench -p kin-tests --bench pipeline` (release; the first run compiles DataFusion in
//! release, which takes long) writes a 1,000,000-record clickstream JSON-lines file, builds the
//! Rust projects of `tests/bench/firehose.yaml` and `tests/bench/tumble.yaml` in release into the
//! shared target directory, and times:
//! - (a) the file through a 4-shard stream into a gzip S3 firehose (`firehose.yaml`),
//! - (b) the file through a 4-shard stream into a 1-minute TUMBLE count/avg by page (`tumble.yaml`),
//! - the baseline: the same aggregation as one batch DataFusion query over the same file.
//!
//! Each is the whole process (or query) from start to end, best of `KIN_BENCH_RUNS` (default 3),
//! the three taken in turn in each round.
//! `KIN_BENCH_RECORDS` changes the record count.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::prelude::{JsonReadOptions, SessionConfig, SessionContext};
use kin_tests::root;

const T0: i64 = 1_714_557_600_000;

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Writes `records` clickstream records (about 3 hours of event time, disorder within the
/// 10 s watermark) unless the file is there already.
fn input(records: usize) -> PathBuf {
    let dir = target_dir().join("kin-bench");
    let path = dir.join(format!("clicks-{records}.jsonl"));
    if path.exists() {
        return path;
    }
    std::fs::create_dir_all(&dir).expect("bench dir");
    let mut text = String::with_capacity(records * 330);
    let mut state: u64 = 42;
    let mut next = |n: u64| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) % n
    };
    let step = 3 * 3_600_000 / records.max(1) as i64;
    for i in 0..records {
        let ts = T0 + i as i64 * step.max(1) - next(5000) as i64;
        let kind = ["view", "view", "click", "scroll"][next(4) as usize];
        let _ = writeln!(
            text,
            "{{\"event_id\":\"e-{i:08}\",\"event_type\":\"{kind}\",\"session_id\":\"s-{}\",\"user_id\":{},\"page\":\"/products/{}\",\"referrer\":null,\"user_agent\":\"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36\",\"country\":\"DE\",\"duration_ms\":{},\"ts\":\"{}\"}}",
            next(50_000),
            if next(3) == 0 { "null".to_string() } else { format!("\"u-{}\"", next(10_000)) },
            next(100),
            next(30_000),
            kin_runtime::records::format_timestamp(ts),
        );
    }
    std::fs::write(&path, text).expect("write the input");
    path
}

/// Builds the spec's Rust project in release; returns the binary.
fn build(spec: &str) -> PathBuf {
    let path = root().join("tests/bench").join(spec);
    let text = std::fs::read_to_string(&path).expect("bench spec");
    let compiled = kin::compile(&kin::source::SourceFile::new(
        path.display().to_string(),
        text,
    ));
    assert_eq!(compiled.errors(), 0, "{:?}", compiled.diagnostics);
    let project = target_dir().join("kin-bench").join(&compiled.pipeline.name);
    let location = project.display().to_string();
    kin_tests::write_project(
        &project,
        &kin::emit::rust::rust_project(&compiled.pipeline, &location),
    );
    eprintln!("building {} (release)…", project.display());
    let status = kin::emit::rust::cargo_build(&project, &target_dir())
        .arg("--release")
        .status()
        .expect("cargo runs");
    assert!(status.success(), "cargo build failed");
    target_dir()
        .join("release")
        .join(kin::emit::rust::binary_name(&compiled.pipeline, &location))
}

fn run_pipeline(binary: &Path, input: &Path) -> Duration {
    let data = target_dir().join("kin-bench").join("data");
    let _ = std::fs::remove_dir_all(&data);
    let started = Instant::now();
    let output = Command::new(binary)
        .arg("--data-dir")
        .arg(&data)
        .arg("--input")
        .arg(format!("web={}", input.display()))
        .output()
        .expect("the pipeline runs");
    let elapsed = started.elapsed();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    eprint!("{}", String::from_utf8_lossy(&output.stdout));
    elapsed
}

fn baseline(input: &Path) -> Duration {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio");
    let schema = Schema::new(vec![
        Field::new("event_id", DataType::Utf8, false),
        Field::new("event_type", DataType::Utf8, false),
        Field::new("session_id", DataType::Utf8, false),
        Field::new("user_id", DataType::Utf8, true),
        Field::new("page", DataType::Utf8, false),
        Field::new("referrer", DataType::Utf8, true),
        Field::new("user_agent", DataType::Utf8, false),
        Field::new("country", DataType::Utf8, true),
        Field::new("duration_ms", DataType::Int64, false),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Millisecond, None),
            false,
        ),
    ]);
    let path = input.display().to_string();
    runtime.block_on(async move {
        let started = Instant::now();
        let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(2));
        let options = JsonReadOptions::default().schema(&schema).file_extension(".jsonl");
        ctx.register_json("clicks", &path, options).await.expect("register");
        let batches = ctx
            .sql(
                "SELECT page, date_bin(INTERVAL '1 minute', ts) AS window_start, COUNT(*) AS views, \
                 AVG(duration_ms) AS avg_duration_ms FROM clicks GROUP BY 1, 2",
            )
            .await
            .expect("plans")
            .collect()
            .await
            .expect("runs");
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        assert!(rows > 0);
        started.elapsed()
    })
}

fn main() {
    // `cargo test --benches` runs this with `--bench`-less arguments: do nothing then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let records = env_number("KIN_BENCH_RECORDS", 1_000_000);
    let runs = env_number("KIN_BENCH_RUNS", 3);
    let input = input(records);
    let firehose = build("firehose.yaml");
    let tumble = build("tumble.yaml");
    // Interleaved (baseline, a, b, baseline, …): this VM's speed drifts within minutes, and
    // the ratios should compare runs made under the same conditions.
    let (mut base, mut a, mut b) = (Duration::MAX, Duration::MAX, Duration::MAX);
    for _ in 0..runs.max(1) {
        base = base.min(baseline(&input));
        a = a.min(run_pipeline(&firehose, &input));
        b = b.min(run_pipeline(&tumble, &input));
    }
    let rate = |d: Duration| records as f64 / d.as_secs_f64();
    println!("records: {records}, best of {runs} runs each");
    println!(
        "baseline  batch DataFusion query       {:>8.3}s  {:>12.0} records/s",
        base.as_secs_f64(),
        rate(base)
    );
    println!(
        "(a)       stream → gzip S3 firehose     {:>8.3}s  {:>12.0} records/s",
        a.as_secs_f64(),
        rate(a)
    );
    println!(
        "(b)       stream → 1-minute TUMBLE      {:>8.3}s  {:>12.0} records/s  = {:.2}× the baseline",
        b.as_secs_f64(),
        rate(b),
        b.as_secs_f64() / base.as_secs_f64()
    );
}
