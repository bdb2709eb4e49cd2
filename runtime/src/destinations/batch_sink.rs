//! A delivery stream to a destination other than S3. It reuses the S3 delivery stream's state
//! machine ([`Firehose`]) for buffering: its buffers are named under `FIREHOSE/` in the
//! destination's bucket, uncompressed and unencrypted, and handed to a [`BatchSink`] instead of
//! S3. The sink splits each buffer back into its records — a queue holds the length and arrival
//! time of every record put, in order, and a buffer is always the next records of the queue
//! concatenated — and gives them to the [`Deliverer`] as one [`Batch`]. Error objects of the
//! state machine itself (records over 1,000 KiB) pass through to S3 unchanged.

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Mutex};

use crate::firehose::{
    ConfigError, DeliveryError, ErrorOutputType, Firehose, FirehoseConfig, FirehoseCounters,
    MAX_ARRIVAL_MS, MAX_RECORD_BYTES,
};
use crate::s3::{ObjectNamer, ObjectSink};

use super::backup::{Backup, S3Writer};
use super::retry::Deliverer;
use super::{
    Batch, BatchRecord, DeliverySettings, Destination, DestinationConfig, DestinationCounters,
    DestinationStats, ErrorOutput,
};

/// Length and arrival time of every record buffered and not yet delivered, oldest first.
type RecordQueue = Arc<Mutex<VecDeque<(usize, i64)>>>;

/// See the module documentation.
pub struct DestinationFirehose {
    firehose: Firehose,
    queue: RecordQueue,
    stats: Arc<DestinationStats>,
}

impl std::fmt::Debug for DestinationFirehose {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DestinationFirehose")
            .field("firehose", &self.firehose)
            .field("delivery", &self.stats.snapshot())
            .finish()
    }
}

impl DestinationFirehose {
    /// A delivery stream to the destination `config` describes; S3 objects (staging, backups,
    /// errors) go to `sink`.
    pub fn new(
        settings: DeliverySettings,
        config: &DestinationConfig,
        sink: Box<dyn ObjectSink>,
    ) -> Result<DestinationFirehose, ConfigError> {
        let destination = config.build(&settings)?;
        DestinationFirehose::with_destination(settings, destination, config.bucket(), sink)
    }

    /// A delivery stream to any [`Destination`], its own objects in `bucket`.
    pub fn with_destination(
        settings: DeliverySettings,
        destination: Box<dyn Destination>,
        bucket: &str,
        sink: Box<dyn ObjectSink>,
    ) -> Result<DestinationFirehose, ConfigError> {
        let error = |message: String| ConfigError { message };
        let name = &settings.name;
        let prefix = format!("{name}/");
        let error_prefix = match destination.error_output() {
            // Redshift: Firehose allows no error prefix; the default applies.
            ErrorOutput::Manifest => None,
            ErrorOutput::Records { .. } => Some(format!(
                "{name}/!{{firehose:error-output-type}}/!{{timestamp:yyyy/MM/dd}}/"
            )),
        };
        let inner = FirehoseConfig {
            name: name.clone(),
            buffer_bytes: settings.buffer_bytes,
            buffer_interval_ms: settings.buffer_interval_ms,
            compression: crate::compress::Compression::None,
            encryption: None,
            bucket: bucket.to_string(),
            prefix: Some(prefix.clone()),
            error_prefix: error_prefix.clone(),
            partition_keys: Vec::new(),
        };
        let namer = ObjectNamer::new(name, Some(&prefix), error_prefix.as_deref(), &[], ".gz")
            .map_err(|e| error(e.message))?;
        let manifest_prefix =
            format!("{name}/errors/!{{firehose:error-output-type}}/!{{timestamp:yyyy/MM/dd/HH}}/");
        let manifest_namer = ObjectNamer::new(name, Some(&prefix), Some(&manifest_prefix), &[], "")
            .map_err(|e| error(e.message))?;
        let stats = Arc::new(DestinationStats::default());
        let queue = RecordQueue::default();
        let sink = BatchSink {
            prefix,
            queue: queue.clone(),
            deliverer: Deliverer {
                destination,
                retry: settings.retry,
                backup_mode: settings.backup,
                backup: Backup {
                    bucket: bucket.to_string(),
                    namer,
                    manifest_namer,
                },
                s3: S3Writer::new(sink, settings.encryption.clone()),
                stats: stats.clone(),
            },
        };
        let firehose = Firehose::new(inner, Box::new(sink))?;
        Ok(DestinationFirehose {
            firehose,
            queue,
            stats,
        })
    }

    /// Accepts one record that arrived at `arrival_ms`; delivers its buffer when full.
    pub fn put(&mut self, data: &[u8], arrival_ms: i64) -> Result<(), DeliveryError> {
        if data.len() <= MAX_RECORD_BYTES && (0..=MAX_ARRIVAL_MS).contains(&arrival_ms) {
            lock(&self.queue).push_back((data.len(), arrival_ms));
        }
        self.firehose.put(data, None, arrival_ms)
    }

    /// Sends a record the caller could not process to the error output.
    pub fn put_failed(
        &mut self,
        data: &[u8],
        error_code: &str,
        message: &str,
        arrival_ms: i64,
    ) -> Result<(), DeliveryError> {
        self.firehose
            .put_failed(data, error_code, message, arrival_ms)
    }

    /// Delivers every buffer whose interval has passed by `now_ms`.
    pub fn tick(&mut self, now_ms: i64) -> Result<(), DeliveryError> {
        self.firehose.tick(now_ms)
    }

    /// Delivers every buffer.
    pub fn flush(&mut self, now_ms: i64) -> Result<(), DeliveryError> {
        self.firehose.flush(now_ms)
    }

    /// The buffering counts (records in, buffered, too large) and the delivery counts.
    pub fn counters(&self) -> (FirehoseCounters, DestinationCounters) {
        (self.firehose.counters(), self.stats.snapshot())
    }

    /// The live delivery counts.
    pub fn stats(&self) -> Arc<DestinationStats> {
        self.stats.clone()
    }
}

fn lock(queue: &RecordQueue) -> std::sync::MutexGuard<'_, VecDeque<(usize, i64)>> {
    queue.lock().unwrap_or_else(|e| e.into_inner())
}

/// Receives the state machine's objects; see the module documentation.
struct BatchSink {
    /// `FIREHOSE/`: data keys continue with the time, error keys with an error-output type.
    prefix: String,
    queue: RecordQueue,
    deliverer: Deliverer,
}

impl BatchSink {
    fn is_error_object(&self, key: &str) -> bool {
        let Some(rest) = key.strip_prefix(&self.prefix) else {
            return false;
        };
        [
            ErrorOutputType::ProcessingFailed,
            ErrorOutputType::PartitioningFailed,
            ErrorOutputType::FormatConversionFailed,
        ]
        .iter()
        .any(|t| {
            rest.strip_prefix(t.as_str())
                .is_some_and(|r| r.starts_with('/'))
        })
    }

    /// The next records of the queue, which together make `len` bytes (and any empty records
    /// right after them).
    fn take(&self, len: usize) -> io::Result<Vec<(usize, i64)>> {
        let mut queue = lock(&self.queue);
        let mut taken = Vec::new();
        let mut total = 0usize;
        while let Some(&(size, arrival)) = queue.front() {
            if total >= len && size > 0 {
                break;
            }
            queue.pop_front();
            taken.push((size, arrival));
            total += size;
        }
        if total != len {
            for record in taken.into_iter().rev() {
                queue.push_front(record);
            }
            return Err(io::Error::other(format!(
                "kin internal error: a {len}-byte buffer does not match the buffered records"
            )));
        }
        Ok(taken)
    }

    fn give_back(&self, taken: Vec<(usize, i64)>) {
        let mut queue = lock(&self.queue);
        for record in taken.into_iter().rev() {
            queue.push_front(record);
        }
    }
}

impl ObjectSink for BatchSink {
    fn put_object(&mut self, bucket: &str, key: &str, body: &[u8]) -> io::Result<()> {
        if self.is_error_object(key) {
            return self.deliverer.s3.put(bucket, key, body).map(|_| ());
        }
        let taken = self.take(body.len())?;
        let mut records = Vec::with_capacity(taken.len());
        let mut start = 0;
        for &(size, arrival_ms) in &taken {
            records.push(BatchRecord {
                start,
                end: start + size,
                arrival_ms,
            });
            start += size;
        }
        let batch = Batch {
            body: body.to_vec(),
            records,
            key: key.to_string(),
        };
        let delivered = self.deliverer.deliver(&batch);
        if delivered.is_err() {
            // The state machine keeps the buffer and delivers it again later.
            self.give_back(taken);
        }
        delivered
    }
}
