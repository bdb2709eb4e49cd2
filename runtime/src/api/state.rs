//! What the API serves: the pipeline's streams (each held open by the server as one of its
//! writers) and firehoses (Direct PUT ones with their channel), shared by every connection.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;

use super::iterator::IteratorCodec;
use super::limits::StreamLimits;
use super::sigv4::Credentials;
use crate::compress::Compression;
use crate::metrics::Counters;
use crate::pipeline::{DestinationDef, FirehoseDef};
use crate::stream::Stream;

/// Records handed to a Direct PUT firehose: (data, arrival epoch ms).
pub type FirehoseBatch = Vec<(Bytes, i64)>;

/// A stream as the API sees it; while this exists (or until the run stops) the stream stays
/// open, as if the API were one more producer writing to it.
pub struct StreamEndpoint {
    pub stream: Arc<Stream>,
    pub counters: Arc<Counters>,
    writer: StreamWriter,
}

impl StreamEndpoint {
    /// Registers the API as a writer of `stream` (`writers` counts its running writers; the
    /// last one to finish closes it).
    pub fn new(
        stream: Arc<Stream>,
        counters: Arc<Counters>,
        writers: Arc<AtomicUsize>,
    ) -> StreamEndpoint {
        writers.fetch_add(1, Ordering::AcqRel);
        StreamEndpoint {
            writer: StreamWriter {
                stream: stream.clone(),
                writers,
            },
            stream,
            counters,
        }
    }
}

/// Closes the stream when the last of its writers (this one included) is done.
struct StreamWriter {
    stream: Arc<Stream>,
    writers: Arc<AtomicUsize>,
}

impl Drop for StreamWriter {
    fn drop(&mut self) {
        if self.writers.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.stream.close();
        }
    }
}

/// Where a firehose delivers, as `DescribeDeliveryStream` shows it.
#[derive(Clone, Debug)]
pub enum Destination {
    S3 {
        bucket: String,
        prefix: Option<String>,
        error_prefix: Option<String>,
    },
    /// Redshift, OpenSearch, Splunk, HTTP: described by their id only.
    Other,
}

/// A firehose as the API sees it.
pub struct FirehoseEndpoint {
    pub name: String,
    /// The stream it reads (`KinesisStreamAsSource`); `None` for Direct PUT.
    pub source: Option<String>,
    pub buffer_bytes: u64,
    pub buffer_interval_ms: u64,
    pub compression: Compression,
    pub encrypted: bool,
    pub destination: Destination,
    sender: Option<SyncSender<FirehoseBatch>>,
}

impl FirehoseEndpoint {
    /// A firehose with AWS's default buffering and no described destination; `sender` is its
    /// Direct PUT channel (`None` when it reads `source`).
    pub fn new(
        name: &str,
        source: Option<&str>,
        sender: Option<SyncSender<FirehoseBatch>>,
    ) -> FirehoseEndpoint {
        FirehoseEndpoint {
            name: name.to_string(),
            source: source.map(str::to_string),
            buffer_bytes: 5 * 1024 * 1024,
            buffer_interval_ms: 300_000,
            compression: Compression::None,
            encrypted: false,
            destination: Destination::Other,
            sender,
        }
    }
}

/// The API's view of every firehose; Direct PUT ones get a sender from `inputs`.
pub fn firehose_endpoints(
    defs: &[FirehoseDef],
    inputs: &HashMap<&'static str, SyncSender<FirehoseBatch>>,
) -> Vec<FirehoseEndpoint> {
    defs.iter()
        .map(|f| FirehoseEndpoint {
            name: f.name.to_string(),
            source: f.from.map(str::to_string),
            buffer_bytes: f.buffer_bytes,
            buffer_interval_ms: f.buffer_interval_ms,
            compression: f.compression,
            encrypted: f.encrypted,
            destination: match &f.destination {
                DestinationDef::S3 {
                    bucket,
                    prefix,
                    error_prefix,
                    ..
                } => Destination::S3 {
                    bucket: bucket.to_string(),
                    prefix: prefix.map(str::to_string),
                    error_prefix: error_prefix.map(str::to_string),
                },
                #[allow(unreachable_patterns)]
                _ => Destination::Other,
            },
            sender: inputs.get(f.name).cloned(),
        })
        .collect()
}

/// A served stream with its quotas.
pub struct StreamApi {
    pub stream: Arc<Stream>,
    pub counters: Arc<Counters>,
    pub limits: Option<StreamLimits>,
}

/// Everything a request may touch.
pub struct ApiState {
    pub streams: BTreeMap<String, StreamApi>,
    pub firehoses: BTreeMap<String, FirehoseEndpoint>,
    pub credentials: Option<Credentials>,
    pub iterators: IteratorCodec,
    /// Epoch ms when the server started: the streams' creation time.
    pub started_ms: i64,
    writers: Mutex<Vec<StreamWriter>>,
    senders: Mutex<HashMap<String, SyncSender<FirehoseBatch>>>,
    stopping: AtomicBool,
}

impl ApiState {
    pub fn new(
        streams: Vec<StreamEndpoint>,
        mut firehoses: Vec<FirehoseEndpoint>,
        credentials: Option<Credentials>,
        enforce_limits: bool,
        now_ms: i64,
    ) -> ApiState {
        let mut writers = Vec::new();
        let mut served = BTreeMap::new();
        for endpoint in streams {
            let limits = enforce_limits
                .then(|| StreamLimits::new(endpoint.stream.shard_count(), now_ms as f64));
            served.insert(
                endpoint.stream.name().to_string(),
                StreamApi {
                    stream: endpoint.stream,
                    counters: endpoint.counters,
                    limits,
                },
            );
            writers.push(endpoint.writer);
        }
        let senders = firehoses
            .iter_mut()
            .filter_map(|f| Some((f.name.clone(), f.sender.take()?)))
            .collect();
        ApiState {
            streams: served,
            firehoses: firehoses.into_iter().map(|f| (f.name.clone(), f)).collect(),
            credentials,
            iterators: IteratorCodec::random(),
            started_ms: now_ms,
            writers: Mutex::new(writers),
            senders: Mutex::new(senders),
            stopping: AtomicBool::new(false),
        }
    }

    /// The channel of a Direct PUT firehose, while the run accepts records.
    pub fn sender(&self, firehose: &str) -> Option<SyncSender<FirehoseBatch>> {
        lock(&self.senders).get(firehose).cloned()
    }

    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }

    /// Lets go of every stream and firehose channel: the pipeline then drains and flushes.
    pub fn release(&self) {
        self.stopping.store(true, Ordering::Release);
        lock(&self.senders).clear();
        lock(&self.writers).clear();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One request's context: the shared state, the region its signature names (ARNs use it) and
/// the time it arrived.
pub struct Ctx<'a> {
    pub state: &'a ApiState,
    pub region: &'a str,
    pub now_ms: i64,
}
