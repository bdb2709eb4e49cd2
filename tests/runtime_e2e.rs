//! End to end, for every example: `kin build --target rust`, build the project with cargo into
//! the workspace's target directory (it must not compile DataFusion again), run it with file
//! inputs the test writes, then check that every input record is found exactly once — at the
//! destination of every firehose it reaches, or in an error output — and that each analytics
//! node's results equal a table this test computes itself from the same records.
//!
//! Destinations other than S3 are real or strict stand-ins, which the pipeline finds through the
//! `KIN_VAR_*` / `KIN_SECRET_*` variables of its spec's `${var.…}` / `${secret:…}`: Redshift is a
//! fresh database on the PostgreSQL server at `KIN_PG_URL` (a user that may create databases and
//! roles; without it the Redshift example prints SKIPPED, and fails when `CI=true`); OpenSearch,
//! Splunk and HTTP endpoints are `kin_runtime::destinations::receivers`, which refuse malformed
//! requests.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use kin::ast::{DestinationKind, RecordFormat};
use kin::ir::graph::Pipeline;
use kin::ir::types::{Field, FieldType, Type};
use kin_runtime::destinations::receivers::{Receiver, ReceiverKind};
use kin_runtime::destinations::redshift::postgres;
use kin_runtime::destinations::s3_endpoint::S3Endpoint;
use kin_runtime::destinations::vars::references;
use kin_tests::root;
use serde_json::{json, Value};

/// 2024-05-01T10:00:00Z: the first event time of every input.
const T0: i64 = 1_714_557_600_000;

/// Builds never run two at a time (they share one target directory anyway).
static BUILD: Mutex<()> = Mutex::new(());

struct Case {
    example: &'static str,
    /// Records per producer.
    records: usize,
    /// Event time between consecutive records.
    step_ms: i64,
    /// Values to draw from, per field name (others are random).
    choices: &'static [(&'static str, &'static [&'static str])],
    /// Per analytics node: the expected output rows, from the valid input records.
    expected: &'static [(&'static str, Expect)],
    /// SQL creating the Redshift tables (run in a fresh PostgreSQL database).
    tables: &'static str,
}

type Expect = fn(&[Value]) -> Vec<Value>;

fn compile(example: &str) -> Pipeline {
    let path = root().join("examples").join(example).join("pipeline.yaml");
    let text = std::fs::read_to_string(&path).expect("example exists");
    let compiled = kin::compile(&kin::source::SourceFile::new(
        path.display().to_string(),
        text,
    ));
    assert_eq!(compiled.errors(), 0, "{:?}", compiled.diagnostics);
    compiled.pipeline
}

fn work_dir(example: &str) -> PathBuf {
    let dir = target_dir().join("kin-e2e").join(example);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("work dir");
    dir
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// Writes the generated project and builds it; returns the binary. Fails when cargo compiles
/// DataFusion: the generated project's features then differ from the workspace's (see the
/// feature pins in runtime/Cargo.toml).
fn build(pipeline: &Pipeline, dir: &Path) -> PathBuf {
    let project = dir.join("project");
    let location = project.display().to_string();
    kin_tests::write_project(
        &project,
        &kin::emit::rust::rust_project(pipeline, &location),
    );
    let _guard = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    let mut cargo = kin::emit::rust::cargo_build(&project, &target_dir());
    cargo.arg("--message-format=json");
    let output = cargo.output().expect("cargo runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "cargo build failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stderr),
        stdout
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter_map(|m| m["message"]["rendered"].as_str().map(str::to_string))
            .collect::<String>()
    );
    let rebuilt: Vec<String> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["fresh"] == false)
        .filter_map(|m| m["target"]["name"].as_str().map(str::to_string))
        .filter(|name| name.starts_with("datafusion") || name.starts_with("arrow"))
        .collect();
    assert!(
        rebuilt.is_empty(),
        "building the generated project compiled {rebuilt:?} again: its dependency features \
         differ from the workspace's; update the feature pins in runtime/Cargo.toml"
    );
    target_dir()
        .join("debug")
        .join(kin::emit::rust::binary_name(pipeline, &location))
}

/// A small deterministic generator (no dependency on the runtime's).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn timestamp(ms: i64) -> String {
    kin_runtime::records::format_timestamp(ms)
}

fn value(
    rng: &mut Rng,
    case: &Case,
    field: &Field,
    ty: &FieldType,
    event: Option<i64>,
    i: usize,
) -> Value {
    if ty.nullable && rng.below(5) == 0 {
        return Value::Null;
    }
    if let Some((_, values)) = case.choices.iter().find(|(name, _)| *name == field.name) {
        let pick = values[rng.below(values.len() as u64) as usize];
        return match ty.ty {
            Type::Int => json!(pick.parse::<i64>().unwrap_or(0)),
            Type::Float => json!(pick.parse::<f64>().unwrap_or(0.0)),
            _ => json!(pick),
        };
    }
    match &ty.ty {
        Type::String => json!(format!("{}-{}", field.name, rng.below(20))),
        Type::Int => json!(rng.below(1000) as i64),
        Type::Float => json!(rng.below(10_000) as f64 / 100.0),
        Type::Bool => json!(rng.below(2) == 1),
        Type::Timestamp => json!(timestamp(event.unwrap_or(T0 + i as i64 * 1000))),
        Type::Date => json!("2024-05-01"),
        Type::Decimal { scale, .. } => {
            let whole = rng.below(10_000);
            json!(format!(
                "{whole}.{:0width$}",
                rng.below(10u64.pow(*scale as u32)),
                width = *scale as usize
            ))
            .as_str()
            .and_then(|s| s.parse::<f64>().ok())
            .map_or(Value::Null, |f| json!(f))
        }
        Type::Bytes => json!("aGVsbG8="),
        Type::List(item) => json!([value(rng, case, field, item, None, i)]),
        Type::Struct(fields) => {
            let mut object = serde_json::Map::new();
            for f in fields {
                object.insert(f.name.clone(), value(rng, case, f, &f.ty, None, i));
            }
            Value::Object(object)
        }
    }
}

/// One producer's input: valid records (as JSON values and as the lines written) and invalid lines.
struct Input {
    valid: Vec<(Value, String)>,
    invalid: Vec<String>,
}

fn generate(case: &Case, pipeline: &Pipeline, producer: &str, seed: u64) -> Input {
    let p = pipeline
        .spec
        .producers
        .iter()
        .find(|p| p.name.value == producer)
        .expect("producer");
    let schema_name = &p.schema.as_ref().expect("schema").value;
    let schema = pipeline
        .spec
        .schemas
        .iter()
        .find(|s| s.name.value == *schema_name)
        .expect("schema");
    let record = &pipeline.schemas[schema_name];
    let csv = schema
        .format
        .as_ref()
        .is_some_and(|f| f.value == RecordFormat::Csv);
    let delimiter = schema
        .delimiter
        .as_ref()
        .map_or(",".to_string(), |d| d.value.clone());
    let event_time = schema.event_time.as_ref().map(|e| e.value.clone());
    // Disorder stays within half the watermark: no record is late.
    let disorder = schema
        .watermark
        .as_ref()
        .map_or(0, |w| w.value.0 as i64 / 2);
    let mut rng = Rng(seed);
    let mut input = Input {
        valid: Vec::new(),
        invalid: Vec::new(),
    };
    for i in 0..case.records {
        let event = T0 + i as i64 * case.step_ms - rng.below(disorder as u64 + 1) as i64;
        let mut object = serde_json::Map::new();
        for field in &record.fields {
            let at = (event_time.as_deref() == Some(field.name.as_str())).then_some(event);
            object.insert(
                field.name.clone(),
                value(&mut rng, case, field, &field.ty, at, i),
            );
        }
        let object = Value::Object(object);
        let line = if csv {
            record
                .fields
                .iter()
                .map(|f| match &object[&f.name] {
                    Value::Null => String::new(),
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(&delimiter)
        } else {
            object.to_string()
        };
        input.valid.push((object, line));
    }
    input.invalid = if csv {
        vec![
            "only,three,columns".to_string(),
            String::from("not a record at all"),
        ]
    } else {
        let first = &record
            .fields
            .iter()
            .find(|f| !f.ty.nullable)
            .expect("a required field")
            .name;
        let mut missing = input.valid[0].0.clone();
        missing.as_object_mut().expect("object").remove(first);
        let mut extra = input.valid[0].0.clone();
        extra
            .as_object_mut()
            .expect("object")
            .insert("no_such_field".into(), json!(1));
        vec![
            missing.to_string(),
            extra.to_string(),
            "{\"truncated\":".to_string(),
            "not json".to_string(),
        ]
    };
    input
}

fn write_input(path: &Path, input: &Input) {
    let mut text = String::new();
    for (i, (_, line)) in input.valid.iter().enumerate() {
        if i % 97 == 13 {
            if let Some(bad) = input.invalid.get(i / 97) {
                let _ = writeln!(text, "{bad}");
            }
        }
        let _ = writeln!(text, "{line}");
    }
    for bad in input.invalid.iter().skip(input.valid.len() / 97 + 1) {
        let _ = writeln!(text, "{bad}");
    }
    std::fs::write(path, text).expect("write input");
}

/// Runs the binary with a timeout; returns its stdout.
fn run(binary: &Path, args: &[String], env: &[(String, String)]) -> String {
    let mut child = Command::new(binary)
        .args(args)
        .envs(env.iter().cloned())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the pipeline starts");
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let mut out = String::new();
            let mut err = String::new();
            let _ = child.stdout.take().map(|mut s| s.read_to_string(&mut out));
            let _ = child.stderr.take().map(|mut s| s.read_to_string(&mut err));
            assert!(
                status.success(),
                "the pipeline failed ({status}):\n{out}\n{err}"
            );
            return out;
        }
        if started.elapsed() > Duration::from_secs(180) {
            let _ = child.kill();
            panic!("the pipeline did not finish in 180 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Every object under `DATA_DIR/s3/BUCKET/`, decrypted and decompressed: (key, content).
/// Creates a bucket on an S3-compatible server that takes unsigned requests (moto), keeping an
/// existing one.
fn create_bucket(url: &str, bucket: &str) {
    use std::io::Write as _;
    let host = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let mut stream = std::net::TcpStream::connect(&host).expect("the S3 endpoint accepts");
    write!(
        stream,
        "PUT /{bucket} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    let status = answer.split_whitespace().nth(1).unwrap_or_default();
    assert!(
        status == "200" || status == "409",
        "create bucket {bucket}: {answer}"
    );
}

/// Every object of `bucket`, from `DATA_DIR/s3/BUCKET/` or the S3 endpoint: (key, bytes).
fn stored_objects(
    data_dir: &Path,
    bucket: &str,
    s3: Option<&S3Endpoint>,
) -> Vec<(String, Vec<u8>)> {
    if let Some(endpoint) = s3 {
        return endpoint
            .list(bucket, "")
            .expect("the bucket lists")
            .into_iter()
            .map(|key| {
                let bytes = endpoint.get(bucket, &key).expect("the object reads back");
                (key, bytes)
            })
            .collect();
    }
    let base = data_dir.join("s3").join(bucket);
    kin_tests::files_under(&base)
        .into_iter()
        .map(|path| {
            let bytes = std::fs::read(&path).expect("read object");
            let name = path
                .strip_prefix(&base)
                .expect("under the bucket")
                .display()
                .to_string();
            (name, bytes)
        })
        .collect()
}

/// Every object of `bucket`, decrypted and decompressed: (key, content).
fn objects(data_dir: &Path, bucket: &str, s3: Option<&S3Endpoint>) -> Vec<(String, Vec<u8>)> {
    let key = kin_runtime::encrypt::LocalKey::load(&data_dir.join("kms/master.key")).ok();
    let mut out = Vec::new();
    for (name, mut bytes) in stored_objects(data_dir, bucket, s3) {
        {
            if bytes.starts_with(kin_runtime::encrypt::MAGIC) {
                let key = key
                    .as_ref()
                    .expect("an encrypted object needs the local key");
                bytes = kin_runtime::encrypt::decrypt(key, &bytes).expect("decrypts");
            }
            let content = if name.ends_with(".gz") {
                let mut out = Vec::new();
                flate2::read::MultiGzDecoder::new(&bytes[..])
                    .read_to_end(&mut out)
                    .expect("gunzip");
                out
            } else if name.ends_with(".snappy") {
                let mut out = Vec::new();
                snap::read::FrameDecoder::new(&bytes[..])
                    .read_to_end(&mut out)
                    .expect("unsnappy");
                out
            } else {
                bytes
            };
            out.push((name, content));
        }
    }
    out
}

fn lines(content: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(content)
        .lines()
        .map(str::to_string)
        .collect()
}

/// The `rawData` of every error record under `DATA_DIR/errors/NODE/`, with its error code.
fn error_records(data_dir: &Path, node: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(data_dir.join("errors").join(node))
        .into_iter()
        .flatten()
        .flatten()
    {
        for line in lines(&std::fs::read(entry.path()).expect("read errors")) {
            let record: Value = serde_json::from_str(&line).expect("an error record is JSON");
            for field in [
                "attemptsMade",
                "arrivalTimestamp",
                "errorCode",
                "errorMessage",
                "rawData",
            ] {
                assert!(
                    record.get(field).is_some(),
                    "error record without {field}: {line}"
                );
            }
            let raw = base64::engine::general_purpose::STANDARD
                .decode(record["rawData"].as_str().unwrap_or(""))
                .expect("rawData is base64");
            let raw = String::from_utf8_lossy(&raw).trim_end().to_string();
            out.push((raw, record["errorCode"].as_str().unwrap_or("").to_string()));
        }
    }
    out
}

fn counts<T: Ord + Clone>(items: &[T]) -> BTreeMap<T, usize> {
    let mut map = BTreeMap::new();
    for item in items {
        *map.entry(item.clone()).or_insert(0) += 1;
    }
    map
}

/// Where a firehose's records land.
enum Landing {
    /// Objects in this bucket under this prefix.
    S3 { bucket: String, prefix: String },
    /// What the receiver for this endpoint variable accepted, in `group` (an index prefix, a HEC
    /// token) when given.
    Receiver {
        endpoint: String,
        group: Option<String>,
    },
    /// Rows of this table, these columns.
    Table { table: String, columns: Vec<String> },
}

/// The destinations of an example's firehoses, and the environment that points the pipeline at
/// them.
struct Services {
    env: Vec<(String, String)>,
    receivers: HashMap<String, Receiver>,
    landings: HashMap<String, Landing>,
    warehouse: Option<Warehouse>,
    /// `--s3-endpoint`: where S3 objects go instead of `DATA_DIR/s3`.
    s3: Option<S3Endpoint>,
}

/// A fresh PostgreSQL database standing in for Redshift.
struct Warehouse {
    client: postgres::Client,
    admin: postgres::Client,
    database: String,
}

impl Drop for Warehouse {
    fn drop(&mut self) {
        let _ = self.admin.batch_execute(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.database
        ));
    }
}

/// The environment variable a setting's one reference names.
fn env_name(text: &Option<kin::source::Spanned<String>>) -> Option<String> {
    text.as_ref()
        .and_then(|t| references(&t.value).into_iter().next())
        .map(|r| r.env_name())
}

fn literal(text: &Option<kin::source::Spanned<String>>) -> String {
    text.as_ref().map(|t| t.value.clone()).unwrap_or_default()
}

impl Services {
    /// Starts what the example needs; `None` (SKIPPED) when it needs PostgreSQL and none is set.
    fn start(case: &Case, pipeline: &Pipeline) -> Option<Services> {
        let mut services = Services {
            env: Vec::new(),
            receivers: HashMap::new(),
            landings: HashMap::new(),
            warehouse: None,
            s3: None,
        };
        let mut hec_tokens: HashMap<String, Vec<String>> = HashMap::new();
        for f in &pipeline.spec.firehoses {
            let name = f.name.value.clone();
            let landing = match f.to.as_ref().map(|d| &d.kind) {
                Some(DestinationKind::S3(s3)) => Landing::S3 {
                    bucket: literal(&s3.bucket),
                    prefix: String::new(),
                },
                Some(DestinationKind::OpenSearch(o)) => {
                    let endpoint = env_name(&o.endpoint).expect("${var.…} endpoint");
                    services.receiver(&endpoint, ReceiverKind::Bulk);
                    Landing::Receiver {
                        endpoint,
                        group: Some(literal(&o.index)),
                    }
                }
                Some(DestinationKind::Splunk(sp)) => {
                    let endpoint = env_name(&sp.endpoint).expect("${var.…} endpoint");
                    let secret = env_name(&sp.token).expect("${secret:…} token");
                    let token = format!("token-{name}");
                    services.env.push((secret, token.clone()));
                    hec_tokens
                        .entry(endpoint.clone())
                        .or_default()
                        .push(token.clone());
                    Landing::Receiver {
                        endpoint,
                        group: Some(token),
                    }
                }
                Some(DestinationKind::Http(h)) => {
                    let endpoint = env_name(&h.url).expect("${var.…} url");
                    let key = env_name(&h.access_key).map(|secret| {
                        let key = format!("key-{name}");
                        services.env.push((secret, key.clone()));
                        key
                    });
                    services.receiver(&endpoint, ReceiverKind::HttpEndpoint { access_key: key });
                    Landing::Receiver {
                        endpoint,
                        group: None,
                    }
                }
                Some(DestinationKind::Redshift(r)) => {
                    if services.warehouse.is_none() {
                        services.warehouse = Some(Warehouse::create(case)?);
                    }
                    let warehouse = services.warehouse.as_mut().expect("created");
                    let jdbc = env_name(&r.jdbc_url).expect("${var.…} jdbc_url");
                    let secret = env_name(&r.password).expect("${secret:…} password");
                    let user = literal(&r.user);
                    let password = format!("pw-{user}");
                    warehouse.grant(&user, &password);
                    services.env.push((jdbc, warehouse.jdbc_url()));
                    services.env.push((secret, password));
                    Landing::Table {
                        table: literal(&r.table),
                        columns: r.columns.iter().map(|c| c.value.clone()).collect(),
                    }
                }
                None => panic!("firehose {name} has no destination"),
            };
            services.landings.insert(name, landing);
        }
        for (endpoint, tokens) in hec_tokens {
            services.receiver(
                &endpoint,
                ReceiverKind::Hec {
                    tokens,
                    event: false,
                },
            );
        }
        Some(services)
    }

    /// Sends S3 objects to the server at `url`: its buckets are emptied (or created) first,
    /// and the pipeline gets credentials (moto takes any).
    fn use_s3_endpoint(&mut self, url: &str) {
        let endpoint = S3Endpoint::with_credentials(url, "kin-e2e", "kin-e2e-secret", "us-east-1")
            .expect("a valid endpoint");
        let mut buckets: Vec<&str> = self
            .landings
            .values()
            .filter_map(|l| match l {
                Landing::S3 { bucket, .. } => Some(bucket.as_str()),
                _ => None,
            })
            .collect();
        buckets.push("kin-firehose");
        for bucket in buckets {
            create_bucket(url, bucket);
            for key in endpoint.list(bucket, "").expect("the bucket lists") {
                endpoint.delete(bucket, &key).expect("delete");
            }
        }
        for (name, value) in [
            ("AWS_ACCESS_KEY_ID", "kin-e2e"),
            ("AWS_SECRET_ACCESS_KEY", "kin-e2e-secret"),
            ("AWS_REGION", "us-east-1"),
        ] {
            self.env.push((name.to_string(), value.to_string()));
        }
        self.s3 = Some(endpoint);
    }

    fn receiver(&mut self, endpoint: &str, kind: ReceiverKind) {
        if !self.receivers.contains_key(endpoint) {
            let receiver = Receiver::start(kind).expect("a receiver starts");
            self.env.push((endpoint.to_string(), receiver.url()));
            self.receivers.insert(endpoint.to_string(), receiver);
        }
    }

    /// What `firehose` delivered, one record per line: (where, record).
    fn delivered(&mut self, data_dir: &Path, firehose: &str) -> Vec<(String, String)> {
        match &self.landings[firehose] {
            Landing::S3 { bucket, prefix } => objects(data_dir, bucket, self.s3.as_ref())
                .into_iter()
                .filter(|(key, _)| key.starts_with(prefix.as_str()) && !key.contains("failed"))
                .flat_map(|(key, content)| {
                    lines(&content).into_iter().map(move |l| (key.clone(), l))
                })
                .collect(),
            Landing::Receiver { endpoint, group } => self.receivers[endpoint]
                .received()
                .into_iter()
                .filter(|r| {
                    group
                        .as_ref()
                        .is_none_or(|g| r.group.starts_with(g.as_str()))
                })
                .flat_map(|r| {
                    lines(&r.data)
                        .into_iter()
                        .map(move |l| (r.group.clone(), l))
                })
                .collect(),
            Landing::Table { table, columns } => {
                let warehouse = self.warehouse.as_mut().expect("a warehouse");
                let sql = format!(
                    "SELECT row_to_json(t)::text FROM (SELECT {} FROM {table}) t",
                    if columns.is_empty() {
                        "*".to_string()
                    } else {
                        columns.join(", ")
                    }
                );
                warehouse
                    .client
                    .query(&sql, &[])
                    .expect("the table is readable")
                    .iter()
                    .map(|row| (table.clone(), row.get::<_, String>(0)))
                    .collect()
            }
        }
    }

    /// Records as the destination keeps them: loaded rows compare by value, column by column.
    fn comparable(&self, firehose: &str, records: &[String]) -> Vec<String> {
        let Landing::Table { columns, .. } = &self.landings[firehose] else {
            return records.to_vec();
        };
        records
            .iter()
            .map(|line| {
                let record: Value = serde_json::from_str(line).expect("a JSON record");
                columns
                    .iter()
                    .map(|c| format!("{c}={}", canonical(&record[c.as_str()])))
                    .collect::<Vec<_>>()
                    .join(";")
            })
            .collect()
    }

    fn check_receivers(&self) {
        for (endpoint, receiver) in &self.receivers {
            assert_eq!(
                receiver.violations(),
                Vec::<String>::new(),
                "the receiver of {endpoint} refused requests"
            );
        }
    }
}

/// A value as a warehouse column compares: numbers to 6 decimals, timestamps as instants.
fn canonical(value: &Value) -> String {
    match value {
        Value::Number(n) => format!("{:.6}", n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => match kin_runtime::records::parse_timestamp(s) {
            Ok(t) if s.contains('T') => t.0.to_string(),
            _ => s.clone(),
        },
        other => other.to_string(),
    }
}

impl Warehouse {
    fn create(case: &Case) -> Option<Warehouse> {
        let Ok(url) = std::env::var("KIN_PG_URL") else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "KIN_PG_URL is not set: CI must start PostgreSQL (see .ci/run)"
            );
            println!(
                "SKIPPED {}: set KIN_PG_URL to a PostgreSQL server to run it",
                case.example
            );
            return None;
        };
        let config: postgres::Config = url.parse().expect("KIN_PG_URL is a PostgreSQL URL");
        let mut admin = config
            .connect(postgres::NoTls)
            .expect("KIN_PG_URL accepts connections");
        let database = format!(
            "kin_e2e_{}_{}",
            case.example.replace('-', "_"),
            std::process::id()
        );
        for statement in [
            format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"),
            format!("CREATE DATABASE {database}"),
        ] {
            admin.batch_execute(&statement).expect("a fresh database");
        }
        let mut client = config
            .clone()
            .dbname(&database)
            .connect(postgres::NoTls)
            .expect("the new database accepts connections");
        client
            .batch_execute(case.tables)
            .expect("the tables are created");
        Some(Warehouse {
            client,
            admin,
            database,
        })
    }

    fn jdbc_url(&self) -> String {
        let url = std::env::var("KIN_PG_URL").unwrap_or_default();
        let config: postgres::Config = url.parse().expect("a PostgreSQL URL");
        let host = match config.get_hosts().first() {
            Some(postgres::config::Host::Tcp(host)) => host.clone(),
            _ => "127.0.0.1".to_string(),
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        format!("jdbc:postgresql://{host}:{port}/{}", self.database)
    }

    /// Creates (or resets) the login role the spec names, allowed to load every table.
    fn grant(&mut self, user: &str, password: &str) {
        self.admin
            .batch_execute(&format!(
                "DO $$ BEGIN CREATE ROLE {user} LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$; \
                 ALTER ROLE {user} LOGIN PASSWORD '{password}'"
            ))
            .expect("the role");
        let schemas: Vec<String> = self
            .client
            .query(
                "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg_%' \
                 AND nspname <> 'information_schema'",
                &[],
            )
            .expect("schemas")
            .iter()
            .map(|r| r.get(0))
            .collect();
        for schema in schemas {
            self.client
                .batch_execute(&format!(
                    "GRANT USAGE ON SCHEMA {schema} TO {user}; \
                     GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA {schema} TO {user}"
                ))
                .expect("grants");
        }
    }
}

/// The firehoses that see what `node` writes: itself, or those reading it.
fn readers_of(pipeline: &Pipeline, node: &str) -> Vec<String> {
    pipeline
        .spec
        .firehoses
        .iter()
        .filter(|f| f.name.value == node || f.from.as_ref().is_some_and(|s| s.value == node))
        .map(|f| f.name.value.clone())
        .collect()
}

fn check_example(case: &Case) {
    check_example_with(case, None);
}

/// Runs `case`, its S3 objects going to the S3-compatible server at `s3_endpoint` when given.
fn check_example_with(case: &Case, s3_endpoint: Option<&str>) {
    let pipeline = compile(case.example);
    let Some(mut services) = Services::start(case, &pipeline) else {
        return;
    };
    if let Some(url) = s3_endpoint {
        services.use_s3_endpoint(url);
    }
    let dir = match s3_endpoint {
        Some(_) => work_dir(&format!("{}-s3-endpoint", case.example)),
        None => work_dir(case.example),
    };
    let binary = build(&pipeline, &dir);
    let data_dir = dir.join("data");
    let mut args = vec!["--data-dir".to_string(), data_dir.display().to_string()];
    if let Some(url) = s3_endpoint {
        args.extend(["--s3-endpoint".to_string(), url.to_string()]);
    }
    let mut inputs = HashMap::new();
    for (seed, p) in pipeline.spec.producers.iter().enumerate() {
        let name = &p.name.value;
        let input = generate(case, &pipeline, name, seed as u64 + 1);
        let path = dir.join(format!("{name}.input"));
        write_input(&path, &input);
        args.push("--input".into());
        args.push(format!("{name}={}", path.display()));
        inputs.insert(name.clone(), input);
    }
    let summary = run(&binary, &args, &services.env);
    services.check_receivers();
    if s3_endpoint.is_some() {
        assert!(
            !data_dir.join("s3").exists(),
            "with --s3-endpoint no object is written locally"
        );
    }

    for p in &pipeline.spec.producers {
        let input = &inputs[&p.name.value];
        // Rejected: exactly the invalid lines, each once, as schema mismatches.
        let errors = error_records(&data_dir, &p.name.value);
        let rejected: Vec<String> = errors.iter().map(|(raw, _)| raw.clone()).collect();
        assert_eq!(
            counts(&rejected),
            counts(&input.invalid),
            "{}: rejected records",
            p.name.value
        );
        assert!(
            errors.iter().all(|(_, code)| code == "SchemaMismatch"),
            "{errors:?}"
        );
        // Accepted: every valid line exactly once in each firehose that reads it.
        let target = &p.to.as_ref().expect("to").value;
        let expected: Vec<String> = input.valid.iter().map(|(_, l)| l.clone()).collect();
        for firehose in readers_of(&pipeline, target) {
            let got = services.delivered(&data_dir, &firehose);
            let got_lines: Vec<String> = got.iter().map(|(_, l)| l.clone()).collect();
            assert_eq!(
                counts(&services.comparable(&firehose, &got_lines)),
                counts(&services.comparable(&firehose, &expected)),
                "firehose {firehose}: the delivered records differ from producer {}'s valid input\n{summary}",
                p.name.value
            );
            check_partitions(&pipeline, &firehose, &got);
        }
    }
    for (analytics, expect) in case.expected {
        let a = pipeline
            .spec
            .analytics
            .iter()
            .find(|a| a.name.value == *analytics)
            .expect("analytics");
        let source = &a.from[0].value;
        let producer = pipeline
            .spec
            .producers
            .iter()
            .find(|p| p.to.as_ref().is_some_and(|t| t.value == *source))
            .expect("a producer");
        let records: Vec<Value> = inputs[&producer.name.value]
            .valid
            .iter()
            .map(|(v, _)| v.clone())
            .collect();
        let expected = expect(&records);
        assert!(
            !expected.is_empty(),
            "{analytics}: the test data should produce results"
        );
        let late = error_records(&data_dir, analytics);
        assert!(
            late.is_empty(),
            "{analytics}: no input record is late, but {} were reported",
            late.len()
        );
        let target = &a.to.as_ref().expect("to").value;
        for firehose in readers_of(&pipeline, target) {
            let rows: Vec<Value> = services
                .delivered(&data_dir, &firehose)
                .iter()
                .map(|(_, l)| serde_json::from_str(l).expect("an output row is JSON"))
                .collect();
            assert_rows_equal(analytics, &rows, &expected);
        }
    }
}

/// Every record in an object under `KEY=VALUE/` has that value.
fn check_partitions(pipeline: &Pipeline, firehose: &str, got: &[(String, String)]) {
    let f = pipeline
        .spec
        .firehoses
        .iter()
        .find(|f| f.name.value == firehose)
        .expect("firehose");
    let Some(DestinationKind::S3(s3)) = f.to.as_ref().map(|d| &d.kind) else {
        return;
    };
    for path in &s3.partition_by {
        let key = path.value.replace('.', "_");
        for (object, line) in got {
            let record: Value = serde_json::from_str(line).expect("JSON record");
            let value = record[&path.value]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| record[&path.value].to_string());
            assert!(
                object.contains(&format!("{key}={value}/")),
                "{line} is in {object}"
            );
        }
    }
}

/// Rows are compared as sets keyed by their non-numeric columns; numbers within 1e-6.
fn assert_rows_equal(node: &str, got: &[Value], expected: &[Value]) {
    let key = |row: &Value| -> String {
        let mut parts: Vec<String> = row
            .as_object()
            .expect("row")
            .iter()
            .filter(|(_, v)| !v.is_number())
            .map(|(k, v)| format!("{k}={}", normalize(v)))
            .collect();
        parts.sort();
        parts.join(",")
    };
    let got_by_key: BTreeMap<String, &Value> = got.iter().map(|r| (key(r), r)).collect();
    assert_eq!(got.len(), got_by_key.len(), "{node}: duplicate result rows");
    let expected_by_key: BTreeMap<String, &Value> = expected.iter().map(|r| (key(r), r)).collect();
    let missing: Vec<&String> = expected_by_key
        .keys()
        .filter(|k| !got_by_key.contains_key(*k))
        .collect();
    let extra: Vec<&String> = got_by_key
        .keys()
        .filter(|k| !expected_by_key.contains_key(*k))
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{node}: missing rows {missing:?}, unexpected rows {extra:?}"
    );
    for (k, want) in expected_by_key {
        let have = got_by_key[&k];
        for (column, want_value) in want.as_object().expect("row") {
            let have_value = &have[column];
            match (want_value.as_f64(), have_value.as_f64()) {
                (Some(w), Some(h)) => assert!(
                    (w - h).abs() < 1e-6 * w.abs().max(1.0),
                    "{node} {k}: {column} = {h}, expected {w}"
                ),
                _ => assert_eq!(
                    normalize(have_value),
                    normalize(want_value),
                    "{node} {k}: {column}"
                ),
            }
        }
        assert_eq!(
            have.as_object().map(|o| o.len()),
            want.as_object().map(|o| o.len()),
            "{node} {k}: columns of {have}"
        );
    }
}

/// Timestamps compare as instants.
fn normalize(v: &Value) -> String {
    match v.as_str().map(kin_runtime::records::parse_timestamp) {
        Some(Ok(t)) => t.0.to_string(),
        _ => v.to_string(),
    }
}

fn ms(record: &Value, field: &str) -> i64 {
    kin_runtime::records::parse_timestamp(record[field].as_str().expect("timestamp"))
        .expect("valid")
        .0
}

fn text(record: &Value, field: &str) -> String {
    record[field]
        .as_str()
        .map(str::to_string)
        .unwrap_or_default()
}

/// Window starts of a row at `ts` for HOP(slide, size).
fn hops(ts: i64, slide: i64, size: i64) -> Vec<i64> {
    let last = ts - ts.rem_euclid(slide);
    (0..size / slide).map(|k| last - k * slide).collect()
}

#[derive(Default)]
struct Agg {
    count: i64,
    sum: f64,
    sums: Vec<f64>,
    max: Option<f64>,
    min: Option<f64>,
    nonnull: i64,
    distinct: Vec<std::collections::BTreeSet<String>>,
}

fn clickstream_views(records: &[Value]) -> Vec<Value> {
    let mut groups: BTreeMap<(String, i64), Agg> = BTreeMap::new();
    for r in records.iter().filter(|r| r["event_type"] == "view") {
        let ts = ms(r, "ts");
        let agg = groups
            .entry((text(r, "page"), ts - ts.rem_euclid(60_000)))
            .or_default();
        agg.count += 1;
        agg.sum += r["duration_ms"].as_f64().unwrap_or(0.0);
        agg.distinct.resize(1, Default::default());
        agg.distinct[0].insert(text(r, "session_id"));
    }
    groups
        .into_iter()
        .map(|((page, start), a)| {
            json!({
                "page": page, "window_start": timestamp(start), "window_end": timestamp(start + 60_000),
                "views": a.count, "sessions": a.distinct[0].len(),
                // AVG of a BIGINT is a BIGINT in Flink: the quotient, truncated.
                "avg_duration_ms": (a.sum as i64) / a.count,
            })
        })
        .collect()
}

fn hourly_revenue(records: &[Value]) -> Vec<Value> {
    let mut groups: BTreeMap<(String, i64), Agg> = BTreeMap::new();
    for r in records.iter().filter(|r| r["op"] == "insert") {
        let ts = ms(r, "updated_at");
        let agg = groups
            .entry((text(r, "currency"), ts - ts.rem_euclid(3_600_000)))
            .or_default();
        agg.count += 1;
        agg.sums.resize(3, 0.0);
        agg.sums[0] += r["subtotal"].as_f64().unwrap_or(0.0);
        agg.sums[1] += r["discount"].as_f64().unwrap_or(0.0);
        agg.sums[2] += r["total"].as_f64().unwrap_or(0.0);
    }
    groups
        .into_iter()
        .map(|((currency, start), a)| {
            json!({
                "window_start": timestamp(start), "window_end": timestamp(start + 3_600_000),
                "currency": currency, "orders_created": a.count,
                "subtotal": a.sums[0], "discounts": a.sums[1], "gross_revenue": a.sums[2],
            })
        })
        .collect()
}

fn device_averages(records: &[Value]) -> Vec<Value> {
    type Key = (String, String, i64);
    let mut groups: BTreeMap<Key, (Agg, Agg, Agg, Agg)> = BTreeMap::new();
    for r in records {
        for start in hops(ms(r, "ts"), 60_000, 300_000) {
            let (temp, hum, bat, rssi) = groups
                .entry((text(r, "device_id"), text(r, "device_type"), start))
                .or_default();
            let t = r["temperature_c"].as_f64().unwrap_or(0.0);
            temp.count += 1;
            temp.sum += t;
            temp.max = Some(temp.max.map_or(t, |m| m.max(t)));
            if let Some(h) = r["humidity_pct"].as_f64() {
                hum.nonnull += 1;
                hum.sum += h;
            }
            let b = r["battery_v"].as_f64().unwrap_or(0.0);
            bat.min = Some(bat.min.map_or(b, |m| m.min(b)));
            rssi.sum += r["rssi_dbm"].as_f64().unwrap_or(0.0);
        }
    }
    groups
        .into_iter()
        .map(|((device, kind, start), (temp, hum, bat, rssi))| {
            json!({
                "device_id": device, "device_type": kind,
                "window_start": timestamp(start), "window_end": timestamp(start + 300_000),
                "readings": temp.count, "avg_temperature_c": temp.sum / temp.count as f64,
                "max_temperature_c": temp.max, "min_battery_v": bat.min,
                "avg_humidity_pct": if hum.nonnull == 0 { Value::Null } else { json!(hum.sum / hum.nonnull as f64) },
                "avg_rssi_dbm": rssi.sum / temp.count as f64,
            })
        })
        .collect()
}

fn failed_login_bursts(records: &[Value]) -> Vec<Value> {
    let mut groups: BTreeMap<(String, i64), Agg> = BTreeMap::new();
    for r in records.iter().filter(|r| r["outcome"] == "failure") {
        for start in hops(ms(r, "occurred_at"), 60_000, 300_000) {
            let agg = groups.entry((text(r, "user_name"), start)).or_default();
            agg.count += 1;
            agg.distinct.resize(2, Default::default());
            agg.distinct[0].insert(text(r, "src_ip"));
            agg.distinct[1].insert(text(r, "app"));
        }
    }
    groups
        .into_iter()
        .filter(|(_, a)| a.count >= 10)
        .map(|((user, start), a)| {
            json!({
                "alert_type": "failed_login_burst", "user_name": user,
                "window_start": timestamp(start), "window_end": timestamp(start + 300_000),
                "failed_attempts": a.count, "distinct_source_ips": a.distinct[0].len(),
                "distinct_apps": a.distinct[1].len(),
            })
        })
        .collect()
}

#[test]
fn clickstream_runs_end_to_end() {
    check_example(&Case {
        example: "clickstream",
        records: 3000,
        step_ms: 100,
        choices: &[
            ("event_type", &["view", "view", "click", "scroll"]),
            (
                "page",
                &["/", "/products/1", "/products/2", "/cart", "/checkout"],
            ),
        ],
        expected: &[("views_per_page", clickstream_views)],
        tables: "",
    });
}

#[test]
fn db_to_redshift_runs_end_to_end() {
    check_example(&Case {
        example: "db-to-redshift",
        records: 2000,
        step_ms: 10_000,
        choices: &[
            ("op", &["insert", "insert", "update", "delete"]),
            ("currency", &["EUR", "USD", "GBP"]),
        ],
        expected: &[("hourly_revenue", hourly_revenue)],
        // The staging table has one more column than the spec loads (`loaded_at`).
        tables: "CREATE SCHEMA staging; CREATE SCHEMA sales;
            CREATE TABLE staging.order_changes (change_id text, op text, order_id bigint,
                customer_id bigint, status text, currency text, subtotal numeric(12,2),
                tax numeric(12,2), discount numeric(12,2), total numeric(12,2), coupon_code text,
                shipped_at timestamptz, updated_at timestamptz,
                loaded_at timestamptz DEFAULT now());
            CREATE TABLE sales.hourly_revenue (window_start timestamptz, window_end timestamptz,
                currency text, orders_created bigint, subtotal numeric(14,2),
                discounts numeric(14,2), gross_revenue numeric(14,2));",
    });
}

#[test]
fn iot_events_runs_end_to_end() {
    check_example(&Case {
        example: "iot-events",
        records: 3000,
        step_ms: 200,
        choices: &[
            ("device_id", &["th-1", "th-2", "co2-1", "em-1"]),
            ("device_type", &["th-sensor", "co2-sensor"]),
        ],
        expected: &[("device_averages", device_averages)],
        tables: "",
    });
}

#[test]
fn security_splunk_runs_end_to_end() {
    check_example(&Case {
        example: "security-splunk",
        records: 3000,
        step_ms: 300,
        choices: &[
            ("outcome", &["failure", "failure", "failure", "success"]),
            ("user_name", &["alice", "bob", "carol"]),
            ("app", &["mail", "wiki", "vpn"]),
            ("src_ip", &["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"]),
        ],
        expected: &[("failed_login_bursts", failed_login_bursts)],
        tables: "",
    });
}

/// The s3-archive example over `records` access-log records.
fn s3_archive(records: usize) -> Case {
    Case {
        example: "s3-archive",
        records,
        step_ms: 50,
        choices: &[
            ("method", &["GET", "POST"]),
            ("product", &["compute", "storage"]),
        ],
        expected: &[],
        tables: "",
    }
}

#[test]
fn s3_archive_runs_end_to_end() {
    check_example(&s3_archive(2000));
}

#[test]
fn s3_archive_runs_through_an_s3_endpoint() {
    let Ok(url) = std::env::var("KIN_S3_ENDPOINT") else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "KIN_S3_ENDPOINT is not set: CI must start an S3-compatible server (see .ci/run)"
        );
        println!("SKIPPED s3_archive_runs_through_an_s3_endpoint: set KIN_S3_ENDPOINT");
        return;
    };
    check_example_with(&s3_archive(1000), Some(&url));
}

/// A pipeline whose HTTP endpoint is down, for less or longer than its 2 s retry duration.
const PAGER: &str = "pipeline: pager-outage
region: eu-west-1
schemas:
  Alert:
    format: json
    fields:
      id: int
      message: string
producers:
  detector:
    schema: Alert
    to: pager
firehoses:
  pager:
    buffer: { size: 1MiB, interval: 1s }
    to:
      http:
        url: ${var.pager_url}
        access_key: ${secret:pager_key}
        retry_duration: 2s
";

/// Runs [`PAGER`] over `n` alerts with its endpoint failing until `down_until`; returns what the
/// endpoint accepted, the records of the error output and the pipeline's summary.
fn run_pager(name: &str, n: usize, down_for: Duration) -> (Vec<String>, Vec<String>, String) {
    let compiled = kin::compile(&kin::source::SourceFile::new(
        format!("{name}.yaml"),
        PAGER.to_string(),
    ));
    assert_eq!(compiled.errors(), 0, "{:?}", compiled.diagnostics);
    let pipeline = compiled.pipeline;
    let dir = work_dir(name);
    let binary = build(&pipeline, &dir);
    let receiver = Receiver::start(ReceiverKind::HttpEndpoint {
        access_key: Some("pager-key".into()),
    })
    .expect("receiver");
    receiver.fail_until(Instant::now() + down_for);
    let input = dir.join("alerts.jsonl");
    let alerts: Vec<String> = (0..n)
        .map(|i| format!("{{\"id\":{i},\"message\":\"disk {i} full\"}}"))
        .collect();
    std::fs::write(&input, alerts.join("\n") + "\n").expect("input");
    let data_dir = dir.join("data");
    let args = [
        "--data-dir".to_string(),
        data_dir.display().to_string(),
        "--input".to_string(),
        format!("detector={}", input.display()),
    ];
    let env = [
        ("KIN_VAR_PAGER_URL".to_string(), receiver.url()),
        ("KIN_SECRET_PAGER_KEY".to_string(), "pager-key".to_string()),
    ];
    let summary = run(&binary, &args, &env);
    assert_eq!(receiver.violations(), Vec::<String>::new());
    let accepted = receiver
        .received()
        .iter()
        .flat_map(|r| lines(&r.data))
        .collect();
    let failed = objects(&data_dir, "kin-firehose", None)
        .into_iter()
        .filter(|(key, _)| key.starts_with("pager/http-endpoint-failed/"))
        .flat_map(|(_, content)| lines(&content))
        .map(|line| {
            let record: Value = serde_json::from_str(&line).expect("an error record");
            assert_eq!(record["errorCode"], "HttpEndpoint.DestinationException");
            let raw = base64::engine::general_purpose::STANDARD
                .decode(record["rawData"].as_str().unwrap_or(""))
                .expect("base64");
            String::from_utf8_lossy(&raw).trim_end().to_string()
        })
        .collect();
    (accepted, failed, summary)
}

/// The firehose's summary line: (records out, errors).
fn firehose_line(summary: &str, name: &str) -> (u64, u64) {
    let line = summary
        .lines()
        .find(|l| l.starts_with("firehose") && l.split_whitespace().nth(1) == Some(name))
        .unwrap_or_else(|| panic!("no summary line for {name}:\n{summary}"));
    let numbers: Vec<u64> = line
        .split_whitespace()
        .skip(2)
        .filter_map(|n| n.parse().ok())
        .collect();
    (numbers[2], numbers[4])
}

#[test]
fn an_endpoint_down_for_less_than_the_retry_duration_gets_every_record() {
    let (accepted, failed, summary) =
        run_pager("pager-short-outage", 300, Duration::from_millis(1200));
    let expected: Vec<String> = (0..300)
        .map(|i| format!("{{\"id\":{i},\"message\":\"disk {i} full\"}}"))
        .collect();
    assert_eq!(counts(&accepted), counts(&expected), "{summary}");
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(firehose_line(&summary, "pager"), (300, 0), "{summary}");
}

#[test]
fn an_endpoint_down_for_longer_than_the_retry_duration_leaves_every_record_in_the_error_output() {
    let (accepted, failed, summary) =
        run_pager("pager-long-outage", 300, Duration::from_secs(3600));
    let expected: Vec<String> = (0..300)
        .map(|i| format!("{{\"id\":{i},\"message\":\"disk {i} full\"}}"))
        .collect();
    assert!(accepted.is_empty());
    assert_eq!(counts(&failed), counts(&expected), "{summary}");
    assert_eq!(firehose_line(&summary, "pager"), (0, 300), "{summary}");
}
