//! Wires a generated pipeline onto the runtime and runs it: one thread per producer, firehose
//! and analytics node; streams shared between them. A stream closes when every node writing to
//! it has finished, and its readers then drain it, flush and finish in turn, so a run over
//! files ends by itself with every buffer and window flushed.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::analytics::{self, AnalyticsConfig, AnalyticsEngine};
use crate::compress::Compression;
use crate::destinations::s3_endpoint::S3Endpoint;
use crate::destinations::vars::Resolver;
use crate::destinations::{DeliverySettings, DestinationFirehose, RetryPolicy};
use crate::encrypt::LocalKey;
use crate::firehose::{Firehose, FirehoseConfig};
use crate::metrics::{Counters, Registry};
use crate::producer::{self, Accepted, ErrorWriter, Input, Producer, ProducerSpec, RecordSink};
use crate::s3::{LocalDirSink, ObjectSink};
use crate::stream::{PartitionKey, PutEntry, StoredRecord, Stream, StreamConfig};

/// A pipeline as the generated code describes it.
pub struct PipelineDef {
    pub name: &'static str,
    pub producers: Vec<ProducerDef>,
    pub streams: Vec<StreamDef>,
    pub analytics: Vec<AnalyticsDef>,
    pub firehoses: Vec<FirehoseDef>,
}

pub struct ProducerDef {
    pub spec: ProducerSpec,
    /// A stream or a firehose (Direct PUT).
    pub to: &'static str,
}

pub struct StreamDef {
    pub name: &'static str,
    pub shards: usize,
    pub retention_ms: i64,
    pub max_record_bytes: usize,
    /// The field whose value is the partition key of records analytics writes; `None`: random.
    pub partition_key: Option<&'static str>,
}

pub struct AnalyticsDef {
    pub config: AnalyticsConfig,
    pub from: Vec<&'static str>,
    /// A stream or a firehose.
    pub to: &'static str,
}

pub struct FirehoseDef {
    pub name: &'static str,
    /// The stream it reads; `None` for Direct PUT (producers or analytics write to it).
    pub from: Option<&'static str>,
    pub buffer_bytes: u64,
    pub buffer_interval_ms: u64,
    pub compression: Compression,
    pub encrypted: bool,
    pub destination: DestinationDef,
}

pub enum DestinationDef {
    S3 {
        bucket: &'static str,
        prefix: Option<&'static str>,
        error_prefix: Option<&'static str>,
        /// `!{partitionKeyFromQuery:KEY}` names, and the record paths they are read from.
        partition_keys: Vec<&'static str>,
        partition_paths: Vec<&'static str>,
    },
    Redshift(crate::destinations::defs::RedshiftDef),
    OpenSearch(crate::destinations::defs::OpenSearchDef),
    Splunk(crate::destinations::defs::SplunkDef),
    Http(crate::destinations::defs::HttpDef),
    /// A firehose without a destination (the compiler rejects one): records are kept in local
    /// S3, in [`NOT_EMULATED_BUCKET`].
    NotEmulated {
        kind: &'static str,
    },
}

impl DestinationDef {
    /// The destination when it is not S3.
    fn other(&self) -> Option<crate::destinations::defs::Def<'_>> {
        use crate::destinations::defs::Def;
        match self {
            DestinationDef::Redshift(d) => Some(Def::Redshift(d)),
            DestinationDef::OpenSearch(d) => Some(Def::OpenSearch(d)),
            DestinationDef::Splunk(d) => Some(Def::Splunk(d)),
            DestinationDef::Http(d) => Some(Def::Http(d)),
            DestinationDef::S3 { .. } | DestinationDef::NotEmulated { .. } => None,
        }
    }
}

/// The bucket that keeps the records of a firehose without a destination.
pub const NOT_EMULATED_BUCKET: &str = "kin-not-emulated";

/// How to run.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Producer name → file to replay; producers not named here are synthetic.
    pub inputs: HashMap<String, PathBuf>,
    pub data_dir: PathBuf,
    /// Stop after this long (synthetic producers only run until told to stop).
    pub duration: Option<Duration>,
    pub seed: u64,
    pub metrics: Option<std::net::SocketAddr>,
    /// Serve the Kinesis and Firehose APIs (`--api`); the run then lasts until `duration` or stop.
    pub api: Option<crate::api::ApiOptions>,
    /// Write S3 objects to this S3-compatible endpoint instead of `DATA_DIR/s3` (`--s3-endpoint`).
    pub s3_endpoint: Option<String>,
}

/// What a run did.
pub struct Summary {
    pub registry: Arc<Registry>,
    pub elapsed: Duration,
    pub notes: Vec<String>,
}

/// The text of a partition key value: strings as they are, numbers and others as written.
pub fn key_text<T: KeyText + ?Sized>(value: &T) -> PartitionKey {
    value.key_text()
}

pub trait KeyText {
    fn key_text(&self) -> PartitionKey;
}

impl KeyText for std::borrow::Cow<'_, str> {
    fn key_text(&self) -> PartitionKey {
        PartitionKey::new(&**self)
    }
}

impl KeyText for i64 {
    fn key_text(&self) -> PartitionKey {
        self.to_string().into()
    }
}

impl KeyText for f64 {
    fn key_text(&self) -> PartitionKey {
        self.to_string().into()
    }
}

impl KeyText for bool {
    fn key_text(&self) -> PartitionKey {
        self.to_string().into()
    }
}

impl KeyText for crate::records::Timestamp {
    fn key_text(&self) -> PartitionKey {
        crate::records::format_timestamp(self.0).into()
    }
}

impl KeyText for crate::records::Date {
    fn key_text(&self) -> PartitionKey {
        crate::records::format_date(self.0 as i64 * 86_400_000).into()
    }
}

impl<const P: u8, const S: u8> KeyText for crate::records::Decimal<P, S> {
    fn key_text(&self) -> PartitionKey {
        self.0.as_str().into()
    }
}

/// Reads dotted `paths` out of a JSON record, as partition key texts.
pub fn json_keys(data: &[u8], paths: &[&str]) -> Result<Vec<String>, String> {
    let value: serde_json::Value = serde_json::from_slice(data).map_err(|e| e.to_string())?;
    paths
        .iter()
        .map(|path| {
            let mut current = &value;
            for part in path.split('.') {
                current = current
                    .get(part)
                    .ok_or_else(|| format!("the record has no field `{path}`"))?;
            }
            match current {
                serde_json::Value::String(s) => Ok(s.clone()),
                serde_json::Value::Null => Err(format!("the field `{path}` is null")),
                other => Ok(other.to_string()),
            }
        })
        .collect()
}

/// Records handed to a firehose by its Direct PUT writers.
type Batch = Vec<(Bytes, i64)>;

/// Where a node writes: a stream, or a firehose's Direct PUT channel.
enum Target {
    Stream {
        stream: Arc<Stream>,
        key: Option<&'static str>,
        counters: Arc<Counters>,
        /// Held until the writer is done.
        _writer: WriterGuard,
    },
    Firehose(SyncSender<Batch>),
}

/// Closes a stream when the last of its writers is done.
struct WriterGuard {
    stream: Arc<Stream>,
    writers: Arc<AtomicUsize>,
}

impl Drop for WriterGuard {
    fn drop(&mut self) {
        if self.writers.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.stream.close();
        }
    }
}

impl Target {
    /// Puts records; returns the refused ones with the reason.
    fn put(&self, records: Vec<Accepted>, arrival_ms: i64) -> Vec<(Accepted, String)> {
        match self {
            Target::Stream {
                stream, counters, ..
            } => {
                let total: u64 = records.iter().map(|r| r.data.len() as u64).sum();
                let entries: Vec<PutEntry> = records
                    .into_iter()
                    .map(|r| {
                        let key = r.partition_key.unwrap_or_else(producer::random_key);
                        PutEntry {
                            fields: r.fields,
                            ..PutEntry::new(key, r.data)
                        }
                    })
                    .collect();
                let (results, entries) = stream.put_returning(entries, arrival_ms);
                let mut refused = Vec::new();
                let (mut count, mut bytes) = (entries.len() as u64, total);
                for (entry, result) in entries.into_iter().zip(results) {
                    if let Err(e) = result {
                        count -= 1;
                        bytes -= entry.data.len() as u64;
                        refused.push((
                            Accepted {
                                partition_key: None,
                                data: entry.data,
                                fields: None,
                            },
                            e.to_string(),
                        ));
                    }
                }
                counters.add_in(count, bytes);
                refused
            }
            Target::Firehose(sender) => {
                let batch: Batch = records
                    .iter()
                    .map(|r| (r.data.clone(), arrival_ms))
                    .collect();
                match sender.send(batch) {
                    Ok(()) => Vec::new(),
                    Err(_) => records
                        .into_iter()
                        .map(|r| (r, "the firehose has stopped".to_string()))
                        .collect(),
                }
            }
        }
    }

    fn key_path(&self) -> Option<&'static str> {
        match self {
            Target::Stream { key, .. } => *key,
            Target::Firehose(_) => None,
        }
    }
}

impl RecordSink for Target {
    fn put(&mut self, records: Vec<Accepted>, arrival_ms: i64) -> Vec<(Accepted, String)> {
        Target::put(self, records, arrival_ms)
    }
}

/// How many records a reader takes from a stream at a time (GetRecords' maximum).
const READ_BATCH: usize = 10_000;
const IDLE_WAIT: Duration = Duration::from_millis(50);

/// A stream with its count of running writers, its counters and its partition key field.
struct StreamEntry {
    stream: Arc<Stream>,
    writers: Arc<AtomicUsize>,
    counters: Arc<Counters>,
    key: Option<&'static str>,
}

struct Wiring {
    streams: HashMap<&'static str, StreamEntry>,
    firehose_inputs: HashMap<&'static str, SyncSender<Batch>>,
}

impl Wiring {
    fn target(&self, name: &str) -> Option<Target> {
        if let Some(entry) = self.streams.get(name) {
            entry.writers.fetch_add(1, Ordering::AcqRel);
            return Some(Target::Stream {
                stream: entry.stream.clone(),
                key: entry.key,
                counters: entry.counters.clone(),
                _writer: WriterGuard {
                    stream: entry.stream.clone(),
                    writers: entry.writers.clone(),
                },
            });
        }
        self.firehose_inputs
            .get(name)
            .cloned()
            .map(Target::Firehose)
    }
}

/// Runs the pipeline to the end of its inputs (or `duration`, or `stop`), returning the summary.
pub fn run(
    def: PipelineDef,
    options: &RunOptions,
    stop: Arc<AtomicBool>,
) -> Result<Summary, String> {
    let started = Instant::now();
    let mut registry = Registry::default();
    let mut notes = Vec::new();
    let producer_counters: Vec<_> = def
        .producers
        .iter()
        .map(|p| registry.node("producer", p.spec.name))
        .collect();
    let mut wiring = Wiring {
        streams: HashMap::new(),
        firehose_inputs: HashMap::new(),
    };
    for s in &def.streams {
        let config = StreamConfig {
            name: s.name.to_string(),
            shards: s.shards,
            retention_ms: s.retention_ms,
            max_record_bytes: s.max_record_bytes,
        };
        let stream =
            Arc::new(Stream::in_memory(config).map_err(|e| format!("stream {}: {e}", s.name))?);
        let counters = registry.node("stream", s.name);
        let entry = StreamEntry {
            stream,
            writers: Arc::new(AtomicUsize::new(0)),
            counters,
            key: s.partition_key,
        };
        wiring.streams.insert(s.name, entry);
    }
    let analytics_counters: Vec<_> = def
        .analytics
        .iter()
        .map(|a| registry.node("analytics", &a.config.name))
        .collect();
    let firehose_counters: Vec<_> = def
        .firehoses
        .iter()
        .map(|f| registry.node("firehose", f.name))
        .collect();

    // Firehoses first: their Direct PUT channels must exist before their writers start.
    let mut firehose_receivers = Vec::new();
    for f in &def.firehoses {
        if f.from.is_none() {
            let (sender, receiver) = mpsc::sync_channel::<Batch>(64);
            wiring.firehose_inputs.insert(f.name, sender);
            firehose_receivers.push(Some(receiver));
        } else {
            firehose_receivers.push(None);
        }
    }
    let api_firehoses = options
        .api
        .as_ref()
        .map(|_| crate::api::firehose_endpoints(&def.firehoses, &wiring.firehose_inputs));
    // Every reader's consumer is created before any writer starts, so none misses a record.
    let mut handles: Vec<(String, JoinHandle<Result<(), String>>)> = Vec::new();
    let key = if def.firehoses.iter().any(|f| f.encrypted) {
        Some(
            LocalKey::load_or_create(&options.data_dir.join("kms/master.key"))
                .map_err(|e| format!("the local KMS key: {e}"))?,
        )
    } else {
        None
    };
    let mut deliveries = plan_deliveries(&def.firehoses, options, key.as_ref(), &mut notes)?;
    for ((f, receiver), counters) in def
        .firehoses
        .into_iter()
        .zip(firehose_receivers)
        .zip(firehose_counters)
    {
        let source = match (f.from, receiver) {
            (Some(stream), _) => {
                let entry = wiring.streams.get(stream).ok_or_else(|| {
                    format!(
                        "firehose {} reads stream {stream}, which is not defined",
                        f.name
                    )
                })?;
                let consumer = entry.stream.consumer(f.name).map_err(|e| e.to_string())?;
                Source::Stream(consumer, entry.counters.clone())
            }
            (None, Some(receiver)) => Source::Channel(receiver),
            (None, None) => continue,
        };
        let Some(delivery) = deliveries.remove(f.name) else {
            continue;
        };
        let node = FirehoseNode {
            delivery,
            partition_paths: match &f.destination {
                DestinationDef::S3 {
                    partition_paths, ..
                } => partition_paths.clone(),
                _ => Vec::new(),
            },
            counters,
        };
        let name = f.name.to_string();
        handles.push((name.clone(), spawn(&name, move || node.run(source))?));
    }
    // Producers note their records' field maps only for streams some analytics reads.
    let analysed: HashSet<&str> = def.analytics.iter().flat_map(|a| a.from.clone()).collect();
    for (a, counters) in def.analytics.into_iter().zip(analytics_counters) {
        let mut inputs = Vec::new();
        for from in &a.from {
            let entry = wiring.streams.get(from).ok_or_else(|| {
                format!(
                    "analytics {} reads stream {from}, which is not defined",
                    a.config.name
                )
            })?;
            let consumer = entry
                .stream
                .consumer(&a.config.name)
                .map_err(|e| e.to_string())?;
            inputs.push((
                from.to_string(),
                entry.stream.clone(),
                consumer,
                entry.counters.clone(),
            ));
        }
        let target = wiring.target(a.to).ok_or_else(|| {
            format!(
                "analytics {} writes {}, which is not defined",
                a.config.name, a.to
            )
        })?;
        let errors = ErrorWriter::new(options.data_dir.join("errors").join(&a.config.name));
        let name = a.config.name.clone();
        let node = AnalyticsNode {
            config: a.config,
            inputs,
            target,
            counters,
            errors,
        };
        handles.push((name.clone(), spawn(&name, move || node.run())?));
    }
    // With --api, the API is one more writer of every stream, until the run stops. It registers
    // before the producers start: a producer that finished first would otherwise close a
    // stream the API still has to serve.
    let api = match (&options.api, api_firehoses) {
        (Some(api), Some(firehoses)) => {
            let streams = wiring.streams.values().map(|e| {
                crate::api::StreamEndpoint::new(
                    e.stream.clone(),
                    e.counters.clone(),
                    e.writers.clone(),
                )
            });
            let server = crate::api::serve(api, streams.collect(), firehoses, stop.clone())
                .map_err(|e| format!("--api {}: {e}", api.addr))?;
            notes.push(format!(
                "the Kinesis and Firehose APIs were served on http://{}",
                server.addr()
            ));
            Some(server)
        }
        _ => None,
    };
    for (p, counters) in def.producers.into_iter().zip(producer_counters) {
        let mut target = wiring.target(p.to).ok_or_else(|| {
            format!(
                "producer {} writes {}, which is not defined",
                p.spec.name, p.to
            )
        })?;
        let input = match options.inputs.get(p.spec.name) {
            Some(path) => Input::File(path.clone()),
            None => Input::Synthetic,
        };
        let errors = ErrorWriter::new(options.data_dir.join("errors").join(p.spec.name));
        let stop = stop.clone();
        let seed = options.seed;
        let map_fields = analysed.contains(p.to);
        let name = p.spec.name.to_string();
        handles.push((
            name.clone(),
            spawn(&name, move || {
                let mut producer = Producer {
                    spec: &p.spec,
                    counters,
                    errors,
                    stop,
                    map_fields,
                };
                producer
                    .run(&input, seed, &mut target)
                    .map_err(|e| e.to_string())
            })?,
        ));
    }
    // Streams nobody writes to close now; the others close when their last writer finishes.
    let streams: Vec<Arc<Stream>> = wiring.streams.values().map(|e| e.stream.clone()).collect();
    for entry in wiring.streams.values() {
        if entry.writers.load(Ordering::Acquire) == 0 {
            entry.stream.close();
        }
    }
    drop(wiring);
    let registry = Arc::new(registry);
    if let Some(addr) = options.metrics {
        let bound = crate::metrics::serve(addr, registry.clone())
            .map_err(|e| format!("--metrics {addr}: {e}"))?;
        notes.push(format!("metrics were served on http://{bound}/metrics"));
    }
    let mut failures = Vec::new();
    while handles.iter().any(|(_, h)| !h.is_finished())
        || api.as_ref().is_some_and(|a| a.is_running())
    {
        if options.duration.is_some_and(|d| started.elapsed() >= d) {
            stop.store(true, Ordering::Relaxed);
        }
        for stream in &streams {
            let _ = stream.trim_expired(producer::now_ms());
            // API clients may read from TRIM_HORIZON: keep records for the retention period.
            if api.is_none() {
                let _ = stream.trim_read_by_all_consumers();
            }
        }
        thread::sleep(Duration::from_millis(20));
    }
    for (name, handle) in handles {
        match handle.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failures.push(format!("{name}: {e}")),
            Err(_) => failures.push(format!("{name}: the thread panicked")),
        }
    }
    if !failures.is_empty() {
        return Err(failures.join("\n"));
    }
    Ok(Summary {
        registry,
        elapsed: started.elapsed(),
        notes,
    })
}

fn spawn(
    name: &str,
    body: impl FnOnce() -> Result<(), String> + Send + 'static,
) -> Result<JoinHandle<Result<(), String>>, String> {
    thread::Builder::new()
        .name(name.to_string())
        .spawn(body)
        .map_err(|e| format!("cannot start a thread for {name}: {e}"))
}

/// How a firehose delivers: to S3 itself, or to another destination.
enum Delivery {
    S3(Firehose),
    Other(DestinationFirehose),
}

/// Builds every firehose's delivery with each `${…}` resolved from the environment (see
/// [`crate::destinations::vars`]); every missing variable and bad setting is reported at once.
fn plan_deliveries(
    firehoses: &[FirehoseDef],
    options: &RunOptions,
    key: Option<&LocalKey>,
    notes: &mut Vec<String>,
) -> Result<HashMap<&'static str, Delivery>, String> {
    let endpoint = match &options.s3_endpoint {
        Some(url) => {
            notes.push(format!("S3 objects were written to {url}"));
            Some(S3Endpoint::from_env(url)?)
        }
        None => None,
    };
    let sink = || -> Box<dyn ObjectSink> {
        match &endpoint {
            Some(endpoint) => Box::new(endpoint.sink()),
            None => Box::new(LocalDirSink::new(s3_root(&options.data_dir))),
        }
    };
    let lookup = |name: &str| std::env::var(name).ok();
    let mut errors = Vec::new();
    let mut deliveries = HashMap::new();
    for f in firehoses {
        let mut resolver = Resolver::new(format!("firehose {:?}", f.name), &lookup);
        let encryption = if f.encrypted { key.cloned() } else { None };
        let delivery = match f.destination.other() {
            None => {
                let config = firehose_config(f, &mut resolver, encryption);
                if let DestinationDef::NotEmulated { kind } = f.destination {
                    notes.push(format!(
                        "firehose {}: {kind} is not a destination kin delivers to; its records are kept in s3://{NOT_EMULATED_BUCKET}/{}/",
                        f.name, f.name
                    ));
                }
                resolver
                    .errors
                    .is_empty()
                    .then(|| Firehose::in_background(config, sink()).map(Delivery::S3))
            }
            Some(def) => {
                let resolved = def.resolve(&mut resolver);
                let settings = DeliverySettings {
                    name: f.name.to_string(),
                    buffer_bytes: f.buffer_bytes,
                    buffer_interval_ms: f.buffer_interval_ms,
                    compression: f.compression,
                    encryption,
                    retry: RetryPolicy::new(resolved.retry),
                    backup: resolved.backup,
                };
                notes.push(format!(
                    "firehose {}: delivered to {}",
                    f.name,
                    resolved.config.describe()
                ));
                resolver.errors.is_empty().then(|| {
                    DestinationFirehose::new(settings, &resolved.config, sink())
                        .map(Delivery::Other)
                })
            }
        };
        errors.append(&mut resolver.errors);
        match delivery {
            Some(Ok(delivery)) => {
                deliveries.insert(f.name, delivery);
            }
            Some(Err(e)) => errors.push(format!("firehose {:?}: {e}", f.name)),
            None => {}
        }
    }
    if errors.is_empty() {
        Ok(deliveries)
    } else {
        Err(errors.join("\n"))
    }
}

/// The settings of a firehose that delivers to S3 itself (its bucket resolved).
fn firehose_config(
    f: &FirehoseDef,
    resolver: &mut Resolver,
    encryption: Option<LocalKey>,
) -> FirehoseConfig {
    let (bucket, prefix, error_prefix, partition_keys) = match &f.destination {
        DestinationDef::S3 {
            bucket,
            prefix,
            error_prefix,
            partition_keys,
            ..
        } => (
            resolver.get("s3.bucket", bucket),
            prefix.map(str::to_string),
            error_prefix.map(str::to_string),
            partition_keys.iter().map(|k| k.to_string()).collect(),
        ),
        _ => (
            NOT_EMULATED_BUCKET.to_string(),
            Some(format!("{}/", f.name)),
            None,
            Vec::new(),
        ),
    };
    FirehoseConfig {
        name: f.name.to_string(),
        buffer_bytes: f.buffer_bytes,
        buffer_interval_ms: f.buffer_interval_ms,
        compression: f.compression,
        encryption,
        bucket,
        prefix,
        error_prefix,
        partition_keys,
    }
}

/// Where a firehose's records come from.
enum Source {
    Stream(crate::stream::Consumer, Arc<Counters>),
    Channel(Receiver<Batch>),
}

impl Source {
    /// Hands the next records to `put`, in order; false at the end of input. Records read from a
    /// stream are lent, not cloned: a firehose copies each into its buffer.
    fn next(
        &mut self,
        mut put: impl FnMut(&[u8], i64) -> Result<(), String>,
    ) -> Result<bool, String> {
        match self {
            Source::Stream(consumer, counters) => {
                let (mut bytes, mut failed) = (0u64, None);
                let read = consumer
                    .poll_with(READ_BATCH, &mut |record| {
                        bytes += record.data.len() as u64;
                        // The first failure ends the run; later records are not put.
                        if failed.is_none() {
                            failed = put(&record.data, record.arrival_ms).err();
                        }
                    })
                    .map_err(|e| e.to_string())?;
                if let Some(error) = failed {
                    return Err(error);
                }
                if read == 0 {
                    if consumer.is_drained() {
                        return Ok(false);
                    }
                    consumer.wait_for_data(IDLE_WAIT);
                }
                counters.add_out(read as u64, bytes);
                Ok(true)
            }
            Source::Channel(receiver) => match receiver.recv_timeout(IDLE_WAIT) {
                Ok(batch) => {
                    for (data, arrival) in batch {
                        put(&data, arrival)?;
                    }
                    Ok(true)
                }
                Err(RecvTimeoutError::Timeout) => Ok(true),
                Err(RecvTimeoutError::Disconnected) => Ok(false),
            },
        }
    }
}

fn count_read(counters: &Counters, records: &[StoredRecord]) {
    let bytes: u64 = records.iter().map(|r| r.data.len() as u64).sum();
    counters.add_out(records.len() as u64, bytes);
}

struct FirehoseNode {
    delivery: Delivery,
    partition_paths: Vec<&'static str>,
    counters: Arc<Counters>,
}

impl FirehoseNode {
    fn run(mut self, mut source: Source) -> Result<(), String> {
        loop {
            let (mut records, mut bytes) = (0u64, 0u64);
            let more = source.next(|data, arrival| {
                records += 1;
                bytes += data.len() as u64;
                self.put(data, arrival)
            })?;
            if !more {
                break;
            }
            self.counters.add_in(records, bytes);
            let now = producer::now_ms();
            match &mut self.delivery {
                Delivery::S3(firehose) => firehose.tick(now),
                Delivery::Other(firehose) => firehose.tick(now),
            }
            .map_err(|e| e.to_string())?;
            self.update_counters();
        }
        let now = producer::now_ms();
        match &mut self.delivery {
            Delivery::S3(firehose) => firehose.flush(now),
            Delivery::Other(firehose) => firehose.flush(now),
        }
        .map_err(|e| e.to_string())?;
        self.update_counters();
        Ok(())
    }

    fn put(&mut self, data: &[u8], arrival: i64) -> Result<(), String> {
        let firehose = match &mut self.delivery {
            Delivery::S3(firehose) => firehose,
            Delivery::Other(firehose) => {
                return firehose.put(data, arrival).map_err(|e| e.to_string())
            }
        };
        if self.partition_paths.is_empty() {
            return firehose.put(data, None, arrival).map_err(|e| e.to_string());
        }
        match json_keys(data, &self.partition_paths) {
            Ok(values) => firehose
                .put(data, Some(&values), arrival)
                .map_err(|e| e.to_string()),
            Err(reason) => firehose
                .put_failed(
                    data,
                    "DynamicPartitioning.MetadataExtractionFailed",
                    &reason,
                    arrival,
                )
                .map_err(|e| e.to_string()),
        }
    }

    fn update_counters(&self) {
        let (records_out, bytes_out, errors, buffered) = match &self.delivery {
            Delivery::S3(firehose) => {
                let c = firehose.counters();
                (
                    c.records_delivered,
                    c.bytes_delivered,
                    c.errors,
                    c.bytes_buffered,
                )
            }
            // Delivered: what the destination accepted; errors: records over the size limit
            // and records sent to the error output after their retries.
            Delivery::Other(firehose) => {
                let (b, d) = firehose.counters();
                (
                    d.records_delivered,
                    d.bytes_delivered,
                    b.errors + d.records_failed,
                    b.bytes_buffered,
                )
            }
        };
        self.counters
            .records_out
            .store(records_out, Ordering::Relaxed);
        self.counters.bytes_out.store(bytes_out, Ordering::Relaxed);
        self.counters.errors.store(errors, Ordering::Relaxed);
        self.counters.set_buffered(buffered);
    }
}

struct AnalyticsNode {
    config: AnalyticsConfig,
    inputs: Vec<(String, Arc<Stream>, crate::stream::Consumer, Arc<Counters>)>,
    target: Target,
    counters: Arc<Counters>,
    errors: ErrorWriter,
}

impl AnalyticsNode {
    fn run(mut self) -> Result<(), String> {
        let mut engine = AnalyticsEngine::new(self.config.clone()).map_err(|e| e.to_string())?;
        // Records are decoded into the columns the engine reads, not every field.
        let schemas: HashMap<String, _> = self
            .config
            .inputs
            .iter()
            .filter_map(|i| Some((i.table.clone(), engine.input_schema(&i.table)?)))
            .collect();
        // Each shard is a split: the input's watermark follows its slowest shard, and a shard
        // that delivers nothing for SHARD_IDLE_AFTER stops holding it back.
        let mut heard: Vec<Vec<bool>> = Vec::new();
        for (table, stream, ..) in &self.inputs {
            engine.set_splits(table, stream.shard_count());
            heard.push(vec![false; stream.shard_count()]);
        }
        let started = Instant::now();
        let mut idle_marked = false;
        loop {
            let mut read_any = false;
            let mut drained = true;
            let mut polled = Vec::new();
            for (index, (table, _, consumer, counters)) in self.inputs.iter_mut().enumerate() {
                let records = consumer.poll(READ_BATCH).map_err(|e| e.to_string())?;
                drained &= records.is_empty() && consumer.is_drained();
                if !records.is_empty() {
                    count_read(counters, &records);
                    polled.push((index, table.clone(), records));
                }
            }
            for (index, table, records) in polled {
                read_any = true;
                let bytes: u64 = records.iter().map(|r| r.data.len() as u64).sum();
                self.counters.add_in(records.len() as u64, bytes);
                let Some(schema) = schemas.get(&table) else {
                    continue;
                };
                for (shard, records) in by_shard(records) {
                    if let Some(seen) = heard[index].get_mut(shard) {
                        *seen = true;
                    }
                    let (batch, rows) = self.decode(schema, &records)?;
                    let step = engine
                        .push_split(&table, shard, batch)
                        .map_err(|e| e.to_string())?;
                    self.write_late(&step.late, |position| {
                        rows.get(position).and_then(|&i| records.get(i))
                    })?;
                    self.emit(step)?;
                }
            }
            if drained {
                break;
            }
            if !idle_marked && started.elapsed() >= SHARD_IDLE_AFTER {
                idle_marked = true;
                for (index, (table, ..)) in self.inputs.iter().enumerate() {
                    for (shard, _) in heard[index].iter().enumerate().filter(|(_, h)| !**h) {
                        engine.mark_idle(table, shard);
                    }
                }
            }
            if !read_any {
                if let Some((_, _, consumer, _)) = self.inputs.first() {
                    consumer.wait_for_data(IDLE_WAIT);
                }
            }
        }
        let step = engine.finish().map_err(|e| e.to_string())?;
        // The engine sorts rows out as late only when they are pushed.
        self.write_late(&step.late, |_| None::<&StoredRecord>)?;
        self.emit(step)?;
        self.errors.flush().map_err(|e| e.to_string())
    }

    /// The records as one Arrow batch, and for each of its rows the index of its record;
    /// records that do not decode go to the error output.
    fn decode(
        &mut self,
        schema: &datafusion::arrow::datatypes::SchemaRef,
        records: &[StoredRecord],
    ) -> Result<(datafusion::arrow::record_batch::RecordBatch, Vec<usize>), String> {
        let slices: Vec<&[u8]> = records.iter().map(|r| r.data.as_ref()).collect();
        let maps: Vec<_> = records.iter().map(|r| r.fields.as_ref()).collect();
        if let Ok(batch) = analytics::decode_json_mapped(schema, &slices, &maps) {
            return Ok((batch, (0..records.len()).collect()));
        }
        let mut good = Vec::new();
        let mut rows = Vec::new();
        for (i, record) in records.iter().enumerate() {
            match analytics::decode_json(schema, &[record.data.as_ref()]) {
                Ok(_) => {
                    good.push(record.data.as_ref());
                    rows.push(i);
                }
                Err(e) => {
                    self.errors
                        .write(
                            &record.data,
                            "SchemaMismatch",
                            &e.to_string(),
                            record.arrival_ms,
                        )
                        .map_err(|e| e.to_string())?;
                    self.counters.add_errors(1);
                }
            }
        }
        let batch = analytics::decode_json(schema, &good).map_err(|e| e.to_string())?;
        Ok((batch, rows))
    }

    /// Writes late rows to the error output as the records they were read from (`record`
    /// finds the record of a row's position in the batch pushed).
    fn write_late<'r>(
        &mut self,
        late: &[analytics::Late],
        record: impl Fn(usize) -> Option<&'r StoredRecord>,
    ) -> Result<(), String> {
        let now = producer::now_ms();
        for late in late {
            let message = format!(
                "the record arrived after the watermark passed its windows (input {})",
                late.table
            );
            for &position in &late.positions {
                let Some(raw) = record(position) else {
                    return Err(format!("late row {position} has no record"));
                };
                self.errors
                    .write(&raw.data, "LateRecord", &message, now)
                    .map_err(|e| e.to_string())?;
                self.counters.add_late(1);
            }
        }
        Ok(())
    }

    fn emit(&mut self, step: analytics::Step) -> Result<(), String> {
        let now = producer::now_ms();
        let mut records = Vec::new();
        for batch in &step.output {
            for row in analytics::encode_json(batch).map_err(|e| e.to_string())? {
                let partition_key = match self.target.key_path() {
                    Some(path) => match json_keys(&row, &[path]) {
                        Ok(mut keys) => keys.pop().map(PartitionKey::from),
                        Err(reason) => {
                            self.errors
                                .write(&row, "PartitionKeyMissing", &reason, now)
                                .map_err(|e| e.to_string())?;
                            self.counters.add_errors(1);
                            continue;
                        }
                    },
                    None => None,
                };
                records.push(Accepted {
                    partition_key,
                    data: Bytes::from(row),
                    fields: None,
                });
            }
        }
        if records.is_empty() {
            return Ok(());
        }
        let (count, bytes) = (
            records.len() as u64,
            records.iter().map(|r| r.data.len() as u64).sum::<u64>(),
        );
        let refused = self.target.put(records, now);
        let refused_bytes: u64 = refused.iter().map(|(r, _)| r.data.len() as u64).sum();
        self.counters
            .add_out(count - refused.len() as u64, bytes - refused_bytes);
        for (record, reason) in refused {
            self.errors
                .write(&record.data, "PutRejected", &reason, now)
                .map_err(|e| e.to_string())?;
            self.counters.add_errors(1);
        }
        Ok(())
    }
}

/// After this long, shards that have delivered nothing stop holding an analytics input's
/// watermark back.
const SHARD_IDLE_AFTER: Duration = Duration::from_secs(10);

/// Records grouped by the shard they were read from, in order within each shard.
fn by_shard(records: Vec<StoredRecord>) -> Vec<(usize, Vec<StoredRecord>)> {
    let mut groups: Vec<(usize, Vec<StoredRecord>)> = Vec::new();
    for record in records {
        let shard = record
            .sequence_number
            .shard_and_offset()
            .map_or(0, |(s, _)| s);
        match groups.iter_mut().find(|(s, _)| *s == shard) {
            Some((_, group)) => group.push(record),
            None => groups.push((shard, vec![record])),
        }
    }
    groups
}

/// `DATA_DIR/s3`, where local S3 objects are.
pub fn s3_root(data_dir: &Path) -> PathBuf {
    data_dir.join("s3")
}
