//! The command line of a generated pipeline binary (what `kin run` starts):
//! `[--input PRODUCER=PATH]... [--data-dir DIR] [--duration D] [--seed N] [--metrics ADDR]
//! [--api ADDR [--api-credentials KEY:SECRET] [--enforce-limits]]`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::api::ApiOptions;
use crate::pipeline::{run, PipelineDef, RunOptions};

const HELP: &str = "\
Runs the pipeline locally with AWS's semantics.

Options:
  --input PRODUCER=PATH  Replay a JSON-lines or CSV file as PRODUCER's records (repeatable).
                         Producers without an input make synthetic records at their rate.
  --data-dir DIR         Where local S3 objects (DIR/s3/BUCKET/KEY) and error records
                         (DIR/errors/NODE/) go [default: .kin]
  --duration D           Stop after D (e.g. 30s, 5m); without it, a run with only file inputs
                         ends when they are consumed, otherwise at Ctrl-C.
  --seed N               Seed of the synthetic producers [default: 0]
  --metrics ADDR         Serve Prometheus metrics on http://ADDR/metrics (e.g. 127.0.0.1:9464)
  --s3-endpoint URL      Write S3 objects to this S3-compatible endpoint instead of DIR/s3
                         (credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION)
  --api ADDR             Serve the Kinesis Data Streams and Firehose APIs for the spec's streams
                         and delivery streams on http://ADDR (PORT alone: 127.0.0.1:PORT); the
                         run then lasts until --duration or Ctrl-C
  --api-credentials KEY:SECRET
                         Require requests signed (AWS SigV4) with this access key; needed to
                         bind an address other than loopback
  --enforce-limits       Refuse API requests over the per-shard quotas, as Kinesis does
                         (writes: 1 MiB/s or 1,000 records/s; reads: 5 calls/s and 2 MiB/s)
  -h, --help             Print this help

Environment: a spec's ${var.NAME} and ${secret:NAME} are read from KIN_VAR_NAME and
KIN_SECRET_NAME (NAME upper-cased, other characters than A-Z 0-9 _ as _).

Exit status: 0 when the run ended and every buffer was flushed, 1 when a node failed,
2 when the command line is wrong.";

/// Parses the command line, runs the pipeline and prints the summary.
pub fn main(def: PipelineDef) -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{} — {HELP}", def.name);
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: {message}\n\n{HELP}");
            return ExitCode::from(2);
        }
    };
    let synthetic: Vec<&str> = def
        .producers
        .iter()
        .map(|p| p.spec.name)
        .filter(|name| !options.inputs.contains_key(*name))
        .collect();
    for name in options.inputs.keys() {
        if !def.producers.iter().any(|p| p.spec.name == name) {
            let known: Vec<&str> = def.producers.iter().map(|p| p.spec.name).collect();
            eprintln!(
                "error: --input names producer {name:?}, which does not exist (producers: {})",
                known.join(", ")
            );
            return ExitCode::from(2);
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    if !synthetic.is_empty() || options.api.is_some() {
        let handler_stop = stop.clone();
        if let Err(e) = ctrlc::set_handler(move || handler_stop.store(true, Ordering::Relaxed)) {
            eprintln!("warning: Ctrl-C will not stop the run cleanly: {e}");
        }
        let until = match options.duration {
            Some(d) => format!("for {}", format_duration(d)),
            None => "until Ctrl-C".to_string(),
        };
        if !synthetic.is_empty() {
            eprintln!(
                "pipeline {}: synthetic producers {} run {until}",
                def.name,
                synthetic.join(", ")
            );
        }
        if let Some(api) = &options.api {
            let signed = match &api.credentials {
                Some(c) => format!("requests signed with key {}", c.access_key),
                None => "unsigned requests".to_string(),
            };
            eprintln!(
                "pipeline {}: the Kinesis and Firehose APIs on http://{} ({signed}) run {until}",
                def.name, api.addr
            );
        }
    }
    let name = def.name;
    match run(def, &options, stop) {
        Ok(summary) => {
            println!(
                "pipeline {name}: done in {:.2}s; data in {}\n",
                summary.elapsed.as_secs_f64(),
                options.data_dir.display()
            );
            print!("{}", summary.registry.summary());
            for note in &summary.notes {
                println!("note: {note}");
            }
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(1)
        }
    }
}

fn parse(args: impl Iterator<Item = String>) -> Result<Option<RunOptions>, String> {
    let mut options = RunOptions {
        data_dir: PathBuf::from(".kin"),
        ..RunOptions::default()
    };
    let (mut api, mut api_credentials, mut enforce_limits) = (None, None, false);
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_string(), Some(value.to_string()))
            }
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--input" => {
                let spec = value("--input")?;
                let (producer, path) = spec
                    .split_once('=')
                    .ok_or_else(|| format!("--input {spec}: write PRODUCER=PATH"))?;
                options
                    .inputs
                    .insert(producer.to_string(), PathBuf::from(path));
            }
            "--data-dir" => options.data_dir = PathBuf::from(value("--data-dir")?),
            "--duration" => options.duration = Some(parse_duration(&value("--duration")?)?),
            "--seed" => {
                let text = value("--seed")?;
                options.seed = text
                    .parse()
                    .map_err(|_| format!("--seed {text}: not a whole number"))?;
            }
            "--metrics" => {
                let text = value("--metrics")?;
                options.metrics = Some(text.parse().map_err(|_| {
                    format!("--metrics {text}: write HOST:PORT, e.g. 127.0.0.1:9464")
                })?);
            }
            "--s3-endpoint" => options.s3_endpoint = Some(value("--s3-endpoint")?),
            "--api" => api = Some(value("--api")?),
            "--api-credentials" => api_credentials = Some(value("--api-credentials")?),
            "--enforce-limits" => enforce_limits = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    options.api = match api {
        Some(addr) => Some(ApiOptions::new(
            &addr,
            api_credentials.as_deref(),
            enforce_limits,
        )?),
        None if api_credentials.is_some() || enforce_limits => {
            return Err("--api-credentials and --enforce-limits need --api ADDR".to_string())
        }
        None => None,
    };
    Ok(Some(options))
}

/// `500ms`, `30s`, `5m`, `2h`, or seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &text[digits.len()..];
    let number: f64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (e.g. 30s, 5m)"))?;
    let seconds = match unit {
        "ms" => number / 1000.0,
        "" | "s" => number,
        "m" | "min" => number * 60.0,
        "h" => number * 3600.0,
        _ => return Err(format!("{text:?}: unknown unit {unit:?} (ms, s, m or h)")),
    };
    if !(seconds.is_finite() && seconds >= 0.0) {
        return Err(format!("{text:?} is not a duration"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

fn format_duration(d: Duration) -> String {
    format!("{}s", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> impl Iterator<Item = String> + '_ {
        text.split_whitespace().map(str::to_string)
    }

    #[test]
    fn options_parse() {
        let options = parse(args("--input web=a.jsonl --input=db=b.csv --data-dir /tmp/x --duration 2m --seed 7 --metrics 127.0.0.1:9000"))
            .expect("parses")
            .expect("not help");
        assert_eq!(options.inputs["web"], PathBuf::from("a.jsonl"));
        assert_eq!(options.inputs["db"], PathBuf::from("b.csv"));
        assert_eq!(options.data_dir, PathBuf::from("/tmp/x"));
        assert_eq!(options.duration, Some(Duration::from_secs(120)));
        assert_eq!(options.seed, 7);
        assert!(options.metrics.is_some());
        assert!(parse(args("--help")).expect("parses").is_none());
    }

    #[test]
    fn api_options_parse() {
        let options = parse(args(
            "--api 4567 --api-credentials AKID:SECRET --enforce-limits",
        ))
        .expect("parses")
        .expect("not help")
        .api
        .expect("api");
        assert_eq!(options.addr.to_string(), "127.0.0.1:4567");
        assert!(options.enforce_limits);
        assert!(options.credentials.is_some());
        let error = parse(args("--api 0.0.0.0:4567")).expect_err("refused");
        assert!(error.contains("--api-credentials"), "{error}");
        assert!(parse(args("--enforce-limits")).is_err());
        assert!(parse(args("--api-credentials A:B")).is_err());
    }

    #[test]
    fn bad_options_are_errors() {
        assert!(parse(args("--input web")).is_err());
        assert!(parse(args("--duration soon")).is_err());
        assert!(parse(args("--seed -1")).is_err());
        assert!(parse(args("--frobnicate")).is_err());
        assert!(parse(args("--data-dir")).is_err());
        assert_eq!(parse_duration("1500ms"), Ok(Duration::from_millis(1500)));
    }
}
