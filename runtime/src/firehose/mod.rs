//! One Firehose delivery stream to S3: records are buffered per partition, each buffer is
//! delivered when it reaches the size hint (measured before compression) or when the interval
//! has passed since its first record, whichever comes first, then compressed, encrypted and
//! written as one object named as Firehose names it. Records it cannot deliver become error
//! objects (JSON lines of [`ErrorRecord`]). Nothing is dropped.
//!
//! It is a pure state machine: every call takes the time it happens at, and nothing here reads a
//! clock, so tests are exact. Records are concatenated as they are: Firehose adds no delimiter.
//!
//! Error objects go under the error prefix with one of these error output types:
//! - `processing-failed`: records over Firehose's 1,000 KiB limit (code `RecordTooLarge`, kin's
//!   own: AWS rejects them at `PutRecord`), and records a caller reports with [`Firehose::put_failed`]
//!   under any code not starting with `DynamicPartitioning.`;
//! - `partitioning-failed` (what AWS writes for dynamic partitioning failures): records whose
//!   partition values are missing or unusable (`DynamicPartitioning.MetadataExtractionFailed`),
//!   and records for a new partition while 500 are active
//!   (`DynamicPartitioning.ActivePartitionsLimitExceeded`).
//!
//! Error objects are JSON lines, uncompressed (so they have no extension) and encrypted like
//! data objects when the stream is.

mod writer;

use std::collections::HashMap;
use std::fmt;
use std::io;

use crate::compress::{CompressError, Compression};
use crate::encrypt::{EncryptError, LocalKey};
use crate::errors::ErrorRecord;
use crate::s3::{unsafe_partition_value, ObjectNamer, ObjectSink};

use writer::{Background, Job, Sealer, Writer};

/// Firehose's record size limit: 1,000 KiB.
pub const MAX_RECORD_BYTES: usize = 1000 * 1024;
/// Firehose's limit of active partitions per delivery stream.
pub const MAX_ACTIVE_PARTITIONS: usize = 500;
/// Firehose's limit of partition keys.
pub const MAX_PARTITION_KEYS: usize = 50;
/// Error code for a record over [`MAX_RECORD_BYTES`].
pub const RECORD_TOO_LARGE: &str = "RecordTooLarge";
/// Error code for a record whose partition values are missing or unusable.
pub const METADATA_EXTRACTION_FAILED: &str = "DynamicPartitioning.MetadataExtractionFailed";
/// Error code for a record that would open partition number 501.
pub const ACTIVE_PARTITIONS_LIMIT_EXCEEDED: &str =
    "DynamicPartitioning.ActivePartitionsLimitExceeded";
/// Latest arrival time kin can name an object after: the end of year 9999, UTC.
pub const MAX_ARRIVAL_MS: i64 = 253_402_300_799_999;

/// A delivery stream's settings (S3 destination).
#[derive(Clone, Debug)]
pub struct FirehoseConfig {
    /// The delivery stream name, the start of every object name.
    pub name: String,
    /// Deliver a buffer once it holds this many record bytes (before compression).
    pub buffer_bytes: u64,
    /// Deliver a buffer this long after its first record arrived.
    pub buffer_interval_ms: u64,
    pub compression: Compression,
    /// Encrypt objects at rest with this master key (SSE-KMS stand-in).
    pub encryption: Option<LocalKey>,
    pub bucket: String,
    pub prefix: Option<String>,
    pub error_prefix: Option<String>,
    /// Partition key names (`partition_by` paths with `_` for `.`), in the order
    /// [`Firehose::put`] receives their values. Empty: no dynamic partitioning.
    pub partition_keys: Vec<String>,
}

/// Where failed records go, as `!{firehose:error-output-type}` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorOutputType {
    ProcessingFailed,
    PartitioningFailed,
    FormatConversionFailed,
}

impl ErrorOutputType {
    pub fn as_str(&self) -> &'static str {
        match self {
            ErrorOutputType::ProcessingFailed => "processing-failed",
            ErrorOutputType::PartitioningFailed => "partitioning-failed",
            ErrorOutputType::FormatConversionFailed => "format-conversion-failed",
        }
    }

    /// `partitioning-failed` for `DynamicPartitioning.*` codes, `processing-failed` otherwise.
    pub fn for_code(error_code: &str) -> ErrorOutputType {
        if error_code.starts_with("DynamicPartitioning.") {
            ErrorOutputType::PartitioningFailed
        } else {
            ErrorOutputType::ProcessingFailed
        }
    }
}

/// A delivery stream's counts since it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FirehoseCounters {
    /// Every record handed to `put` or `put_failed`.
    pub records_in: u64,
    pub bytes_in: u64,
    /// Records written in data objects, and their bytes before compression.
    pub records_delivered: u64,
    pub bytes_delivered: u64,
    /// Data objects written, and their bytes as stored (compressed, encrypted).
    pub objects_written: u64,
    pub object_bytes_written: u64,
    /// Records sent to the error output (buffered or written).
    pub errors: u64,
    pub error_objects_written: u64,
    /// Records and record bytes waiting in data buffers.
    pub records_buffered: u64,
    pub bytes_buffered: u64,
    /// Error-record bytes (JSON lines) waiting in error buffers.
    pub error_bytes_buffered: u64,
    /// Data buffers currently open (partitions, or 1 without partitioning).
    pub active_partitions: u64,
}

/// A configuration the stream cannot run with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

/// An object could not be made or written. Its records stay buffered; the next `tick` or
/// `flush` tries again (as Firehose retries S3).
#[derive(Debug)]
pub enum DeliveryError {
    Sink {
        bucket: String,
        key: String,
        source: io::Error,
    },
    Compress(CompressError),
    Encrypt(EncryptError),
    /// The caller passed an arrival time outside 1970..=9999.
    ArrivalOutOfRange(i64),
}

impl fmt::Display for DeliveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeliveryError::Sink {
                bucket,
                key,
                source,
            } => {
                write!(f, "cannot write s3://{bucket}/{key}: {source}")
            }
            DeliveryError::Compress(e) => e.fmt(f),
            DeliveryError::Encrypt(e) => e.fmt(f),
            DeliveryError::ArrivalOutOfRange(ms) => {
                write!(f, "arrival time {ms} ms is outside 1970-01-01..=9999-12-31")
            }
        }
    }
}

impl std::error::Error for DeliveryError {}

impl From<CompressError> for DeliveryError {
    fn from(e: CompressError) -> Self {
        DeliveryError::Compress(e)
    }
}

impl From<EncryptError> for DeliveryError {
    fn from(e: EncryptError) -> Self {
        DeliveryError::Encrypt(e)
    }
}

/// Records waiting for one object.
#[derive(Debug)]
struct Buffer {
    data: Vec<u8>,
    records: u64,
    /// Arrival of the first record put: the interval runs from here.
    first_ms: i64,
    /// Earliest arrival in the buffer: the object's name uses it.
    oldest_ms: i64,
}

impl Buffer {
    fn new(arrival_ms: i64) -> Buffer {
        Buffer::reusing(Vec::new(), arrival_ms)
    }

    /// A buffer whose bytes go into `data` (empty), the allocation of a delivered buffer.
    fn reusing(data: Vec<u8>, arrival_ms: i64) -> Buffer {
        Buffer {
            data,
            records: 0,
            first_ms: arrival_ms,
            oldest_ms: arrival_ms,
        }
    }

    fn push(&mut self, data: &[u8], arrival_ms: i64) {
        self.data.extend_from_slice(data);
        self.records += 1;
        self.oldest_ms = self.oldest_ms.min(arrival_ms);
    }

    /// This buffer (one that could not be delivered) with the records of `newer` after it.
    fn followed_by(mut self, newer: Option<Buffer>) -> Buffer {
        if let Some(newer) = newer {
            self.data.extend_from_slice(&newer.data);
            self.records += newer.records;
            self.first_ms = self.first_ms.min(newer.first_ms);
            self.oldest_ms = self.oldest_ms.min(newer.oldest_ms);
        }
        self
    }
}

/// The buffer a job was made from, to account for it when it is done.
struct Origin {
    buffer: BufferKey,
    records: u64,
    first_ms: i64,
    oldest_ms: i64,
}

/// A data buffer (by partition) or an error buffer (by error output type).
enum BufferKey {
    Data(Vec<String>),
    Errors(ErrorOutputType),
}

impl Origin {
    fn of(buffer: BufferKey, from: &Buffer) -> Origin {
        Origin {
            buffer,
            records: from.records,
            first_ms: from.first_ms,
            oldest_ms: from.oldest_ms,
        }
    }
}

/// Where objects are written: here, or by a writer thread.
enum Output {
    Here(Writer),
    Background(Background<Origin>),
}

/// One delivery stream. See the module documentation.
pub struct Firehose {
    config: FirehoseConfig,
    interval_ms: i64,
    namer: ObjectNamer,
    output: Output,
    buffers: HashMap<Vec<String>, Buffer, ahash::RandomState>,
    error_buffers: HashMap<ErrorOutputType, Buffer>,
    counters: FirehoseCounters,
    /// Emptied allocations of data buffers delivered, for the next ones: a buffer of up to
    /// 128 MiB then fills memory that is already mapped. As many are kept as the writer
    /// threads can hold buffers at once.
    spares: Vec<Vec<u8>>,
}

/// The most emptied buffers a firehose keeps (see [`Firehose::spares`]).
const SPARES: usize = 4;

impl fmt::Debug for Firehose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Firehose")
            .field("name", &self.config.name)
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

fn check_config(config: &FirehoseConfig) -> Result<(), String> {
    let name_ok = config
        .name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if config.name.is_empty() || config.name.len() > 64 || !name_ok {
        return Err(format!(
            "delivery stream name {:?} must be 1 to 64 characters of a-z A-Z 0-9 _ . -",
            config.name
        ));
    }
    if config.buffer_bytes == 0 {
        return Err("the buffer size must be at least 1 byte".into());
    }
    if config.bucket.is_empty() {
        return Err("the S3 bucket name is empty".into());
    }
    let keys = &config.partition_keys;
    if keys.len() > MAX_PARTITION_KEYS {
        return Err(format!(
            "{} partition keys; Firehose allows {MAX_PARTITION_KEYS}",
            keys.len()
        ));
    }
    for (i, key) in keys.iter().enumerate() {
        if key.is_empty() || keys[..i].contains(key) {
            return Err(format!("partition key {key:?} is empty or repeated"));
        }
    }
    Ok(())
}

impl Firehose {
    /// A delivery stream that makes and writes each object in the call that delivers it.
    pub fn new(config: FirehoseConfig, sink: Box<dyn ObjectSink>) -> Result<Firehose, ConfigError> {
        Firehose::build(config, sink, false)
    }

    /// A delivery stream whose objects are compressed, encrypted and written on a thread of
    /// their own, in order, while the next buffer fills (what `kin run` uses). Counters and
    /// write errors of an object show in the calls after it is written; [`Firehose::flush`]
    /// waits for every object. A buffer that fails to write is kept, ahead of the records
    /// buffered since.
    pub fn in_background(
        config: FirehoseConfig,
        sink: Box<dyn ObjectSink>,
    ) -> Result<Firehose, ConfigError> {
        Firehose::build(config, sink, true)
    }

    fn build(
        config: FirehoseConfig,
        sink: Box<dyn ObjectSink>,
        background: bool,
    ) -> Result<Firehose, ConfigError> {
        let error = |message: String| ConfigError { message };
        check_config(&config).map_err(error)?;
        let namer = ObjectNamer::new(
            &config.name,
            config.prefix.as_deref(),
            config.error_prefix.as_deref(),
            &config.partition_keys,
            config.compression.extension(),
        )
        .map_err(|e| error(e.message))?;
        let writer = Writer {
            sealer: Sealer {
                compression: config.compression,
                encryption: config.encryption.clone(),
            },
            bucket: config.bucket.clone(),
            sink,
            scratch: Vec::new(),
        };
        let output = match background {
            false => Output::Here(writer),
            true => Output::Background(Background::spawn(writer, &config.name).map_err(|e| {
                error(format!(
                    "cannot start the writer thread of {}: {e}",
                    config.name
                ))
            })?),
        };
        Ok(Firehose {
            interval_ms: i64::try_from(config.buffer_interval_ms).unwrap_or(i64::MAX),
            config,
            namer,
            output,
            buffers: HashMap::default(),
            error_buffers: HashMap::new(),
            counters: FirehoseCounters::default(),
            spares: Vec::new(),
        })
    }

    pub fn config(&self) -> &FirehoseConfig {
        &self.config
    }

    pub fn counters(&self) -> FirehoseCounters {
        FirehoseCounters {
            active_partitions: self.buffers.len() as u64,
            ..self.counters
        }
    }

    fn partitioned(&self) -> bool {
        !self.config.partition_keys.is_empty()
    }

    fn due(&self, buffer: &Buffer, now_ms: i64) -> bool {
        now_ms.saturating_sub(buffer.first_ms) >= self.interval_ms
    }

    /// Accepts one record that arrived at `arrival_ms` (epoch milliseconds). With partition
    /// keys, `partition_values` holds one value per key, in [`FirehoseConfig::partition_keys`]
    /// order; without, it is ignored. Delivers the record's buffer if the record fills it.
    pub fn put(
        &mut self,
        data: &[u8],
        partition_values: Option<&[String]>,
        arrival_ms: i64,
    ) -> Result<(), DeliveryError> {
        self.count_in(data, arrival_ms)?;
        if data.len() > MAX_RECORD_BYTES {
            let message = format!(
                "the record has {} bytes; Firehose accepts at most {MAX_RECORD_BYTES} (1,000 KiB)",
                data.len()
            );
            return self.fail(
                data,
                ErrorOutputType::ProcessingFailed,
                RECORD_TOO_LARGE,
                &message,
                arrival_ms,
            );
        }
        let key = match self.partition_of(partition_values, arrival_ms) {
            Ok(key) => key,
            Err((code, message)) => {
                return self.fail(
                    data,
                    ErrorOutputType::PartitioningFailed,
                    code,
                    &message,
                    arrival_ms,
                )
            }
        };
        self.buffer(key, data, arrival_ms)
    }

    /// The buffer key for a record, or why it has none (error code, message).
    fn partition_of<'v>(
        &self,
        values: Option<&'v [String]>,
        arrival_ms: i64,
    ) -> Result<&'v [String], (&'static str, String)> {
        if !self.partitioned() {
            return Ok(&[]);
        }
        let keys = &self.config.partition_keys;
        let values = values.filter(|v| v.len() == keys.len()).ok_or_else(|| {
            let message = format!("expected values for the partition keys {}", keys.join(", "));
            (METADATA_EXTRACTION_FAILED, message)
        })?;
        if self.buffers.contains_key(values) {
            return Ok(values);
        }
        for (key, value) in keys.iter().zip(values) {
            if let Some(reason) = unsafe_partition_value(value) {
                return Err((
                    METADATA_EXTRACTION_FAILED,
                    format!("partition key {key}: {reason}"),
                ));
            }
        }
        if self.buffers.len() >= MAX_ACTIVE_PARTITIONS {
            let message =
                format!("{MAX_ACTIVE_PARTITIONS} partitions are active; Firehose allows no more");
            return Err((ACTIVE_PARTITIONS_LIMIT_EXCEEDED, message));
        }
        self.namer
            .data_prefix(arrival_ms, values)
            .map_err(|e| (METADATA_EXTRACTION_FAILED, e.message))?;
        Ok(values)
    }

    /// Appends a record to its buffer, first delivering that buffer if its interval has passed
    /// (as a tick at `arrival_ms` would have). If a delivery fails, the record is kept anyway.
    fn buffer(
        &mut self,
        key: &[String],
        data: &[u8],
        arrival_ms: i64,
    ) -> Result<(), DeliveryError> {
        let mut delivered = Ok(());
        if self
            .buffers
            .get(key)
            .is_some_and(|b| self.due(b, arrival_ms))
        {
            delivered = self.deliver(key);
        }
        let buffer = match self.buffers.get_mut(key) {
            Some(buffer) => buffer,
            None => {
                let data = self.spares.pop().unwrap_or_default();
                self.buffers
                    .entry(key.to_vec())
                    .or_insert_with(|| Buffer::reusing(data, arrival_ms))
            }
        };
        buffer.push(data, arrival_ms);
        let full = buffer.data.len() as u64 >= self.config.buffer_bytes;
        self.counters.records_buffered += 1;
        self.counters.bytes_buffered += data.len() as u64;
        delivered?;
        if full {
            self.deliver(key)?;
        }
        Ok(())
    }

    /// Sends a record the caller could not process (e.g. its partition values could not be
    /// extracted) to the error output; the output type follows [`ErrorOutputType::for_code`].
    pub fn put_failed(
        &mut self,
        data: &[u8],
        error_code: &str,
        message: &str,
        arrival_ms: i64,
    ) -> Result<(), DeliveryError> {
        self.put_failed_as(
            data,
            ErrorOutputType::for_code(error_code),
            error_code,
            message,
            arrival_ms,
        )
    }

    /// Like [`Firehose::put_failed`], with the error output type chosen by the caller.
    pub fn put_failed_as(
        &mut self,
        data: &[u8],
        output: ErrorOutputType,
        error_code: &str,
        message: &str,
        arrival_ms: i64,
    ) -> Result<(), DeliveryError> {
        self.count_in(data, arrival_ms)?;
        self.fail(data, output, error_code, message, arrival_ms)
    }

    /// Counts a record in, unless its arrival time is outside what object names can hold.
    fn count_in(&mut self, data: &[u8], arrival_ms: i64) -> Result<(), DeliveryError> {
        if !(0..=MAX_ARRIVAL_MS).contains(&arrival_ms) {
            return Err(DeliveryError::ArrivalOutOfRange(arrival_ms));
        }
        self.counters.records_in += 1;
        self.counters.bytes_in += data.len() as u64;
        Ok(())
    }

    fn fail(
        &mut self,
        data: &[u8],
        output: ErrorOutputType,
        code: &str,
        message: &str,
        arrival_ms: i64,
    ) -> Result<(), DeliveryError> {
        let line = ErrorRecord::new(data, code, message, arrival_ms).to_json_line();
        self.counters.errors += 1;
        self.buffer_error_line(output, &line, arrival_ms)
    }

    fn buffer_error_line(
        &mut self,
        output: ErrorOutputType,
        line: &[u8],
        arrival_ms: i64,
    ) -> Result<(), DeliveryError> {
        let buffer = self
            .error_buffers
            .entry(output)
            .or_insert_with(|| Buffer::new(arrival_ms));
        buffer.push(line, arrival_ms);
        let full = buffer.data.len() as u64 >= self.config.buffer_bytes;
        self.counters.error_bytes_buffered += line.len() as u64;
        if full {
            self.deliver_errors(output)?;
        }
        Ok(())
    }

    /// Delivers every buffer whose interval has passed by `now_ms`.
    pub fn tick(&mut self, now_ms: i64) -> Result<(), DeliveryError> {
        let collected = self.collect(false);
        self.deliver_due(Some(now_ms))?;
        collected
    }

    /// Delivers every buffer, whatever its age (at the end of input). `_now_ms` is the time of
    /// the flush; objects are named after their oldest record, so it does not change them.
    pub fn flush(&mut self, _now_ms: i64) -> Result<(), DeliveryError> {
        let collected = self.collect(false);
        self.deliver_due(None)?;
        self.collect(true)?;
        collected
    }

    /// Delivers the buffers due at `now_ms` (all of them for `None`), oldest first: data
    /// buffers, then error buffers (which a data delivery may have added to).
    fn deliver_due(&mut self, now_ms: Option<i64>) -> Result<(), DeliveryError> {
        let is_due = |b: &Buffer| now_ms.is_none_or(|now| self.due(b, now));
        let mut due: Vec<(i64, Vec<String>)> = self
            .buffers
            .iter()
            .filter(|(_, b)| is_due(b))
            .map(|(key, b)| (b.first_ms, key.clone()))
            .collect();
        due.sort();
        for (_, key) in due {
            self.deliver(&key)?;
        }
        let is_due = |b: &Buffer| now_ms.is_none_or(|now| self.due(b, now));
        let mut due_errors: Vec<(i64, ErrorOutputType)> = self
            .error_buffers
            .iter()
            .filter(|(_, b)| is_due(b))
            .map(|(output, b)| (b.first_ms, *output))
            .collect();
        due_errors.sort();
        for (_, output) in due_errors {
            self.deliver_errors(output)?;
        }
        Ok(())
    }

    /// Writes one partition's buffer as an object. If its prefix cannot be evaluated any more
    /// (it was checked when the partition opened), the whole buffer becomes one error record.
    fn deliver(&mut self, key: &[String]) -> Result<(), DeliveryError> {
        let Some(buffer) = self.buffers.remove(key) else {
            return Ok(());
        };
        let object_key = match self.namer.data_key(buffer.oldest_ms, key) {
            Ok(object_key) => object_key,
            Err(e) => {
                self.counters.records_buffered -= buffer.records;
                self.counters.bytes_buffered -= buffer.data.len() as u64;
                return self.fail_buffer(&buffer, &e.message);
            }
        };
        let origin = Origin::of(BufferKey::Data(key.to_vec()), &buffer);
        let job = Job {
            object_key,
            data: buffer.data,
            compress: true,
            modified_ms: buffer.oldest_ms,
        };
        self.dispatch(origin, job)
    }

    /// Writes a job here, or hands it to the writer thread; accounts for what is done.
    fn dispatch(&mut self, origin: Origin, job: Job) -> Result<(), DeliveryError> {
        match &mut self.output {
            Output::Here(writer) => {
                let written = writer.write(&job);
                self.complete(vec![(origin, job, written)])
            }
            Output::Background(background) => match background.send(origin, job) {
                Ok(()) => self.collect(false),
                Err((origin, job, e)) => self.complete(vec![(origin, job, Err(e))]),
            },
        }
    }

    /// Takes back the jobs the writer thread finished (with `wait`, all of them); returns the
    /// first error among them. After a failure every job sent is taken back (those after it
    /// come back unwritten), so all of them are kept, in order, before writing resumes.
    fn collect(&mut self, wait: bool) -> Result<(), DeliveryError> {
        let Output::Background(background) = &mut self.output else {
            return Ok(());
        };
        let mut finished = background.finished(wait)?;
        if finished.iter().any(|(_, _, written)| written.is_err()) {
            finished.extend(background.finished(true)?);
            background.resume();
        }
        self.complete(finished)
    }

    /// Accounts for written objects, in the order they were sent; puts the buffers that could
    /// not be written back, in that order, ahead of the records buffered since. Returns the
    /// first error.
    fn complete(&mut self, done: Vec<writer::Done<Origin>>) -> Result<(), DeliveryError> {
        let mut result = Ok(());
        let mut failed = Vec::new();
        for (origin, job, written) in done {
            let bytes = job.data.len() as u64;
            match (&origin.buffer, written) {
                (BufferKey::Data(_), Ok(written)) => {
                    self.counters.records_buffered -= origin.records;
                    self.counters.bytes_buffered -= bytes;
                    self.counters.records_delivered += origin.records;
                    self.counters.bytes_delivered += bytes;
                    self.counters.objects_written += 1;
                    self.counters.object_bytes_written += written;
                    if self.spares.len() < SPARES {
                        let mut data = job.data;
                        data.clear();
                        self.spares.push(data);
                    }
                }
                (BufferKey::Errors(_), Ok(_)) => {
                    self.counters.error_bytes_buffered -= bytes;
                    self.counters.error_objects_written += 1;
                }
                (_, Err(e)) => {
                    if result.is_ok() {
                        result = Err(e);
                    }
                    failed.push((origin, job.data));
                }
            }
        }
        // Last first: each goes ahead of what is buffered, so the first ends up first.
        for (origin, data) in failed.into_iter().rev() {
            let failed = Buffer {
                data,
                records: origin.records,
                first_ms: origin.first_ms,
                oldest_ms: origin.oldest_ms,
            };
            match origin.buffer {
                BufferKey::Data(key) => {
                    let kept = failed.followed_by(self.buffers.remove(&key));
                    self.buffers.insert(key, kept);
                }
                BufferKey::Errors(output) => {
                    let kept = failed.followed_by(self.error_buffers.remove(&output));
                    self.error_buffers.insert(output, kept);
                }
            }
        }
        result
    }

    fn fail_buffer(&mut self, buffer: &Buffer, reason: &str) -> Result<(), DeliveryError> {
        let message = format!("{} records could not be named: {reason}", buffer.records);
        let line = ErrorRecord::new(
            &buffer.data,
            METADATA_EXTRACTION_FAILED,
            message,
            buffer.oldest_ms,
        )
        .to_json_line();
        self.counters.errors += buffer.records;
        self.buffer_error_line(ErrorOutputType::PartitioningFailed, &line, buffer.oldest_ms)
    }

    fn deliver_errors(&mut self, output: ErrorOutputType) -> Result<(), DeliveryError> {
        let Some(buffer) = self.error_buffers.remove(&output) else {
            return Ok(());
        };
        let object_key = match self.namer.error_key(buffer.oldest_ms, output.as_str()) {
            Ok(object_key) => object_key,
            Err(e) => {
                self.error_buffers.insert(output, buffer);
                return Err(DeliveryError::Sink {
                    bucket: self.config.bucket.clone(),
                    key: String::new(),
                    source: io::Error::new(io::ErrorKind::InvalidInput, e.message),
                });
            }
        };
        let origin = Origin::of(BufferKey::Errors(output), &buffer);
        let job = Job {
            object_key,
            data: buffer.data,
            compress: false,
            modified_ms: buffer.oldest_ms,
        };
        self.dispatch(origin, job)
    }
}
