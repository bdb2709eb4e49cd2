//! `kin run`: writes the pipeline's Rust project (only files that changed), builds it with
//! cargo into a cached target directory, and runs it with the user's options.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// Options of `kin run`.
#[derive(clap::Args)]
pub struct RunArgs {
    /// The spec file (pipeline.yaml or .kin).
    #[arg(value_name = "FILE")]
    file: String,
    /// Replay a JSON-lines or CSV file as PRODUCER's records (repeatable).
    #[arg(long, value_name = "PRODUCER=PATH")]
    input: Vec<String>,
    /// Where local S3 objects, error records and the built project go.
    #[arg(long, value_name = "DIR", default_value = ".kin")]
    data_dir: PathBuf,
    /// Stop after this long (e.g. 30s, 5m) [default: when file inputs end, else at Ctrl-C].
    #[arg(long, value_name = "D")]
    duration: Option<String>,
    /// Seed of the synthetic producers.
    #[arg(long, value_name = "N", default_value_t = 0)]
    seed: u64,
    /// Serve Prometheus metrics on http://ADDR/metrics (e.g. 127.0.0.1:9464).
    #[arg(long, value_name = "ADDR")]
    metrics: Option<String>,
    /// Write S3 objects to this S3-compatible endpoint instead of DATA_DIR/s3 (credentials from
    /// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION).
    #[arg(long, value_name = "URL")]
    s3_endpoint: Option<String>,
    /// Serve the Kinesis and Firehose APIs for the spec's streams on http://ADDR (PORT alone:
    /// 127.0.0.1:PORT); the run then lasts until --duration or Ctrl-C.
    #[arg(long, value_name = "ADDR")]
    api: Option<String>,
    /// Require API requests signed (AWS SigV4) with this key; needed to bind a non-loopback ADDR.
    #[arg(long, value_name = "KEY:SECRET", requires = "api")]
    api_credentials: Option<String>,
    /// Refuse API requests over Kinesis's per-shard quotas (1 MiB/s or 1,000 records/s written,
    /// 5 reads/s and 2 MiB/s read).
    #[arg(long, requires = "api")]
    enforce_limits: bool,
    /// Build the runtime optimized (the first release build of DataFusion takes long).
    #[arg(long)]
    release: bool,
}

pub fn run(args: RunArgs) -> ExitCode {
    let compiled = match crate::compile_clean(&args.file, "run", true) {
        Ok(compiled) => compiled,
        Err(code) => return code,
    };
    let pipeline = &compiled.pipeline;
    let project = args.data_dir.join("project").join(&pipeline.name);
    let location = crate::location(&project);
    let files = kin::emit::rust::rust_project(pipeline, &location);
    if let Err(code) = crate::write_files(&project, &files, false) {
        return code;
    }
    let target_dir = target_dir();
    eprintln!(
        "kin run: building {} in {} (the first build compiles DataFusion: minutes; later ones: seconds)",
        project.display(),
        target_dir.display()
    );
    let mut cargo = kin::emit::rust::cargo_build(&project, &target_dir);
    if args.release {
        cargo.arg("--release");
    }
    match cargo.status() {
        Ok(status) if status.success() => {}
        Ok(status) => {
            eprintln!("kin run: cargo build failed ({status})");
            return ExitCode::from(2);
        }
        Err(err) => {
            eprintln!("kin run: cannot start cargo ({err}); kin run needs a Rust toolchain (https://rustup.rs)");
            return ExitCode::from(2);
        }
    }
    let binary = target_dir
        .join(if args.release { "release" } else { "debug" })
        .join(kin::emit::rust::binary_name(pipeline, &location));
    let mut command = Command::new(&binary);
    command
        .arg("--data-dir")
        .arg(&args.data_dir)
        .arg("--seed")
        .arg(args.seed.to_string());
    for input in &args.input {
        command.arg("--input").arg(input);
    }
    if let Some(duration) = &args.duration {
        command.arg("--duration").arg(duration);
    }
    if let Some(metrics) = &args.metrics {
        command.arg("--metrics").arg(metrics);
    }
    if let Some(endpoint) = &args.s3_endpoint {
        command.arg("--s3-endpoint").arg(endpoint);
    }
    if let Some(api) = &args.api {
        command.arg("--api").arg(api);
    }
    if let Some(credentials) = &args.api_credentials {
        command.arg("--api-credentials").arg(credentials);
    }
    if args.enforce_limits {
        command.arg("--enforce-limits");
    }
    // Ctrl-C reaches the pipeline too: it stops its producers, flushes and exits; kin waits.
    let _ = ctrlc::set_handler(|| {});
    match command.status() {
        Ok(status) => ExitCode::from(status.code().unwrap_or(1).clamp(0, 255) as u8),
        Err(err) => {
            eprintln!("kin run: cannot start {}: {err}", binary.display());
            ExitCode::from(2)
        }
    }
}

/// `$CARGO_TARGET_DIR`, else `$XDG_CACHE_HOME/kin/target`, else `~/.cache/kin/target`: one
/// directory for every pipeline, so DataFusion is compiled once per machine.
fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".kin"));
    cache.join("kin").join("target")
}
