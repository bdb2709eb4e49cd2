//! `kin run --api` with real AWS clients: builds the generated project of `tests/api/pipeline.yaml`,
//! runs it with `--api 127.0.0.1:PORT --api-credentials AKID:SECRET --enforce-limits`, runs the
//! Python scripts in `tests/api/` (boto3, the AWS CLI, aws-kinesis-agg, wrongly signed requests)
//! against it, stops it with Ctrl-C (SIGINT), and checks that the firehoses' S3 objects hold every
//! record the scripts put, exactly once, besides the records the file producer replayed.
//!
//! The Python interpreter is `$KIN_AWS_PYTHON` (a venv with boto3, awscli and aws-kinesis-agg).
//! Without it the test prints SKIPPED and passes, except under `CI=true`, where it fails.

use std::collections::BTreeMap;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kin_tests::root;

const ACCESS_KEY: &str = "AKIDKINTEST";
const SECRET: &str = "kin/test+secret";
const SCRIPTS: &[&str] = &[
    "kinesis_boto3.py",
    "firehose_boto3.py",
    "kpl_agg.py",
    "aws_cli.py",
    "signatures.py",
];

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// The interpreter, or `None` when the test is skipped.
fn python() -> Option<PathBuf> {
    match std::env::var_os("KIN_AWS_PYTHON") {
        Some(path) => Some(PathBuf::from(path)),
        None => {
            assert_ne!(
                std::env::var("CI").as_deref(),
                Ok("true"),
                "KIN_AWS_PYTHON must name a Python with boto3, awscli and aws-kinesis-agg in CI"
            );
            eprintln!(
                "SKIPPED: set KIN_AWS_PYTHON to a Python with boto3, awscli and aws-kinesis-agg"
            );
            None
        }
    }
}

/// Writes and builds the generated project; returns the binary.
fn build(dir: &Path) -> PathBuf {
    let pipeline = kin_tests::compile_clean(&root().join("tests/api/pipeline.yaml"));
    let project = dir.join("project");
    let location = project.display().to_string();
    kin_tests::write_project(
        &project,
        &kin::emit::rust::rust_project(&pipeline, &location),
    );
    let output = kin::emit::rust::cargo_build(&project, &target_dir())
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo build failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    target_dir()
        .join("debug")
        .join(kin::emit::rust::binary_name(&pipeline, &location))
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("addr").port()
}

/// Kills the pipeline if the test fails before stopping it.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for_port(port: u16, child: &mut Child) {
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the pipeline exited ({status}) before serving the API");
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the API did not come up in 60 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn run_script(python: &Path, script: &str, port: u16, out: &Path) {
    let started = Instant::now();
    let output = Command::new(python)
        .arg(root().join("tests/api").join(script))
        .current_dir(root().join("tests/api"))
        .env("KIN_API_ENDPOINT", format!("http://127.0.0.1:{port}"))
        .env("KIN_API_OUT", out)
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_DEFAULT_REGION", "eu-west-1")
        .env("AWS_CONFIG_FILE", out.join("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            out.join("no-aws-credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .output()
        .expect("python runs");
    eprintln!(
        "{script}: {:.1}s\n{}{}",
        started.elapsed().as_secs_f64(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{script} failed");
}

/// Stops the pipeline as Ctrl-C does and returns its stdout.
fn interrupt(mut running: Running) -> String {
    assert!(
        running.0.try_wait().expect("wait").is_none(),
        "the pipeline ended on its own although --api keeps it running"
    );
    let status = Command::new("kill")
        .args(["-INT", &running.0.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let started = Instant::now();
    loop {
        if let Some(status) = running.0.try_wait().expect("wait") {
            let mut out = String::new();
            let mut err = String::new();
            let _ = running
                .0
                .stdout
                .take()
                .map(|mut s| s.read_to_string(&mut out));
            let _ = running
                .0
                .stderr
                .take()
                .map(|mut s| s.read_to_string(&mut err));
            assert!(
                status.success(),
                "the pipeline failed ({status}):\n{out}\n{err}"
            );
            return out;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the pipeline did not stop within 60 s of Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Every line of every object under `DATA_DIR/s3/BUCKET/PREFIX`, counted.
fn delivered(data_dir: &Path, bucket: &str, prefix: &str) -> BTreeMap<String, usize> {
    let mut lines = BTreeMap::new();
    for path in kin_tests::files_under(&data_dir.join("s3").join(bucket).join(prefix)) {
        let text = std::fs::read_to_string(&path).expect("a text object");
        for line in text.lines() {
            *lines.entry(line.to_string()).or_insert(0) += 1;
        }
    }
    lines
}

fn expected(out: &Path, name: &str) -> BTreeMap<String, usize> {
    let text =
        std::fs::read_to_string(out.join(format!("expected-{name}.jsonl"))).unwrap_or_default();
    let mut lines = BTreeMap::new();
    for line in text.lines() {
        *lines.entry(line.to_string()).or_insert(0) += 1;
    }
    lines
}

#[test]
fn aws_clients_put_and_read_through_kin_run_api() {
    let Some(python) = python() else {
        return;
    };
    let dir = target_dir().join("kin-api-test");
    let _ = std::fs::remove_dir_all(&dir);
    let out = dir.join("out");
    std::fs::create_dir_all(&out).expect("out dir");
    let binary = build(&dir);
    let seed: Vec<String> = (0..3)
        .map(|i| format!(r#"{{"id":"seed-{i}","user":"u{i}","count":{i}}}"#))
        .collect();
    let seed_file = dir.join("seed.jsonl");
    std::fs::write(&seed_file, seed.join("\n") + "\n").expect("seed file");
    let data_dir = dir.join("data");
    let port = free_port();
    let mut child = Command::new(&binary)
        .arg("--input")
        .arg(format!("seed={}", seed_file.display()))
        .arg("--data-dir")
        .arg(&data_dir)
        .args(["--api", &format!("127.0.0.1:{port}")])
        .args(["--api-credentials", &format!("{ACCESS_KEY}:{SECRET}")])
        .args(["--enforce-limits", "--duration", "300s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the pipeline starts");
    wait_for_port(port, &mut child);
    let running = Running(child);
    for script in SCRIPTS {
        run_script(&python, script, port, &out);
    }
    let summary = interrupt(running);
    eprintln!("{summary}");

    let mut want_events = expected(&out, "events");
    for line in &seed {
        *want_events.entry(line.clone()).or_insert(0) += 1;
    }
    let got_events = delivered(&data_dir, "api-test-events", "events");
    assert_eq!(
        got_events.len(),
        want_events.len(),
        "distinct records delivered by events_archive"
    );
    assert_eq!(got_events, want_events, "events_archive's S3 objects");
    let want_direct = expected(&out, "direct");
    assert!(
        want_direct.len() > 300,
        "the scripts put into the Direct PUT firehose"
    );
    assert_eq!(
        delivered(&data_dir, "api-test-direct", "direct"),
        want_direct,
        "direct's S3 objects"
    );
    // Nothing forged was stored, and the counters saw the API's records.
    assert!(!got_events.keys().any(|l| l.contains("forged")));
    let total: u64 = want_events.values().sum::<usize>() as u64;
    assert_eq!(
        records_in(&summary, "stream", "events"),
        Some(total),
        "{summary}"
    );
    assert_eq!(
        records_in(&summary, "firehose", "events_archive"),
        Some(total),
        "{summary}"
    );
    let direct_total = want_direct.values().sum::<usize>() as u64;
    assert_eq!(
        records_in(&summary, "firehose", "direct"),
        Some(direct_total),
        "{summary}"
    );
}

/// The "records in" column of the summary line of node `name`.
fn records_in(summary: &str, kind: &str, name: &str) -> Option<u64> {
    summary.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields[..] {
            [k, n, records, ..] if k == kind && n == name => records.parse().ok(),
            _ => None,
        }
    })
}
