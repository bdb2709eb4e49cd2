//! A Kinesis data stream on one machine: shards chosen by MD5 hash ranges, batch puts with AWS's
//! per-record errors, sequence numbers, retention, the five shard-iterator starts, and named
//! consumers that each read every record. Storage sits behind [`StreamStore`] so that a durable
//! store can replace the in-memory [`MemoryStore`].
//!
//! Everything is done per batch, never per record: a put takes one lock per shard it touches, a
//! read takes one lock per shard, and a consumer saves its positions once per poll.

mod consumer;
mod sequence;
mod store;
#[cfg(test)]
mod tests;

pub use consumer::Consumer;
pub use sequence::SequenceNumber;
pub use store::{
    MemoryStore, NewRecord, ReadProgress, ShardBounds, StoreError, StreamStore, TrimBound,
};

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Duration;

use bytes::Bytes;

/// A record's partition key: up to 23 bytes kept inline (most keys: no allocation per
/// record), longer ones shared.
pub type PartitionKey = smol_str::SmolStr;

use crate::flat_json::FieldMap;
use crate::hash::{hash_key, shard_id, ShardRanges};

/// AWS's default retention: 24 hours.
pub const DEFAULT_RETENTION_MS: i64 = 24 * 60 * 60 * 1000;
/// AWS's default maximum record size (partition key + data): 1 MiB.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 1024 * 1024;
/// A partition key is 1–256 Unicode characters.
pub const MAX_PARTITION_KEY_CHARS: usize = 256;
/// The most shards kin's local runtime runs in one stream.
pub const MAX_SHARDS: usize = 100_000;

// ---------------------------------------------------------------------------------------------
// Records, configuration, errors

/// One record of a put, as a `PutRecordsRequestEntry`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PutEntry {
    pub partition_key: PartitionKey,
    /// Overrides the MD5 of the partition key when choosing the shard.
    pub explicit_hash_key: Option<u128>,
    pub data: Bytes,
    /// Where the record's fields are, when a producer of the local runtime checked it (not
    /// part of the Kinesis record: see [`crate::flat_json::FieldMap`]).
    pub fields: Option<FieldMap>,
}

impl PutEntry {
    /// An entry routed by the MD5 of its partition key.
    pub fn new(partition_key: impl Into<PartitionKey>, data: impl Into<Bytes>) -> PutEntry {
        PutEntry {
            partition_key: partition_key.into(),
            explicit_hash_key: None,
            data: data.into(),
            fields: None,
        }
    }

    /// The size AWS limits: partition key bytes + data bytes.
    fn size(&self) -> usize {
        self.partition_key.len() + self.data.len()
    }
}

/// `(shard, entry index)` pairs grouped by shard, in entry order within each: a counting sort,
/// since there are few shards and many records.
fn by_shard(routed: &[(usize, usize)], shards: usize) -> Vec<(usize, usize)> {
    let mut starts = vec![0usize; shards + 1];
    for &(shard, _) in routed {
        if let Some(count) = starts.get_mut(shard + 1) {
            *count += 1;
        }
    }
    for shard in 1..starts.len() {
        starts[shard] += starts[shard - 1];
    }
    let mut grouped = vec![(0, 0); routed.len()];
    for &pair in routed {
        if let Some(slot) = starts.get_mut(pair.0) {
            grouped[*slot] = pair;
            *slot += 1;
        }
    }
    grouped
}

/// Where a put record went (shard, sequence number), or why it was refused.
pub type PutResult = Result<(usize, SequenceNumber), PutError>;

/// A record as a shard holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRecord {
    pub sequence_number: SequenceNumber,
    pub partition_key: PartitionKey,
    pub data: Bytes,
    /// Where the record's fields are, when a producer of the local runtime checked it.
    pub fields: Option<FieldMap>,
    /// Epoch milliseconds when the stream accepted it (`ApproximateArrivalTimestamp`); never
    /// decreases within a shard.
    pub arrival_ms: i64,
}

/// What a stream is: its name, shard count, retention and maximum record size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamConfig {
    pub name: String,
    pub shards: usize,
    /// Records older than this are trimmed by [`Stream::trim_expired`].
    pub retention_ms: i64,
    /// Maximum partition key + data bytes of one record.
    pub max_record_bytes: usize,
}

impl StreamConfig {
    /// A stream with AWS's default retention (24 h) and maximum record size (1 MiB).
    pub fn new(name: impl Into<String>, shards: usize) -> StreamConfig {
        StreamConfig {
            name: name.into(),
            shards,
            retention_ms: DEFAULT_RETENTION_MS,
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
        }
    }

    fn validate(&self) -> Result<(), StreamError> {
        let name_ok = (1..=128).contains(&self.name.len())
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
        if !name_ok {
            return Err(StreamError::validation(format!(
                "stream name \"{}\" must be 1-128 characters matching [a-zA-Z0-9_.-]+",
                self.name
            )));
        }
        if !(1..=MAX_SHARDS).contains(&self.shards) {
            return Err(StreamError::validation(format!(
                "stream \"{}\" has {} shards; it needs between 1 and {MAX_SHARDS}",
                self.name, self.shards
            )));
        }
        if self.retention_ms <= 0 || self.max_record_bytes == 0 {
            return Err(StreamError::validation(format!(
                "stream \"{}\" needs a positive retention and maximum record size",
                self.name
            )));
        }
        Ok(())
    }
}

/// An error shaped like AWS's: a code (`ValidationException`, `InvalidArgumentException`,
/// `ResourceNotFoundException`, `InternalFailure`, or kin's `StreamClosed`) and a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamError {
    pub code: &'static str,
    pub message: String,
}

/// Why one record of a put was refused (`ErrorCode` / `ErrorMessage` of a PutRecords result).
pub type PutError = StreamError;

impl StreamError {
    fn validation(message: String) -> StreamError {
        StreamError {
            code: "ValidationException",
            message,
        }
    }

    fn invalid_argument(message: String) -> StreamError {
        StreamError {
            code: "InvalidArgumentException",
            message,
        }
    }

    fn internal(error: StoreError) -> StreamError {
        StreamError {
            code: "InternalFailure",
            message: error.0,
        }
    }
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for StreamError {}

impl From<StoreError> for StreamError {
    fn from(error: StoreError) -> StreamError {
        StreamError::internal(error)
    }
}

// ---------------------------------------------------------------------------------------------
// The stream

/// Where a shard iterator starts (`ShardIteratorType` plus its argument).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShardIteratorStart {
    TrimHorizon,
    Latest,
    AtSequenceNumber(SequenceNumber),
    AfterSequenceNumber(SequenceNumber),
    /// Epoch milliseconds.
    AtTimestamp(i64),
}

impl ShardIteratorStart {
    /// The `ShardIteratorType` AWS spells for this start.
    pub fn type_name(&self) -> &'static str {
        match self {
            ShardIteratorStart::TrimHorizon => "TRIM_HORIZON",
            ShardIteratorStart::Latest => "LATEST",
            ShardIteratorStart::AtSequenceNumber(_) => "AT_SEQUENCE_NUMBER",
            ShardIteratorStart::AfterSequenceNumber(_) => "AFTER_SEQUENCE_NUMBER",
            ShardIteratorStart::AtTimestamp(_) => "AT_TIMESTAMP",
        }
    }
}

/// Records read from one shard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadBatch {
    pub records: Vec<StoredRecord>,
    pub next_offset: u64,
    pub millis_behind_latest: i64,
}

/// Records and bytes (partition key + data) accepted by one shard.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ShardCounters {
    pub records_in: u64,
    pub bytes_in: u64,
}

/// A snapshot of a stream's counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamCounters {
    /// Indexed by shard.
    pub shards: Vec<ShardCounters>,
    /// Records refused by puts (validation, closed stream, store failure).
    pub records_rejected: u64,
}

impl StreamCounters {
    pub fn records_in(&self) -> u64 {
        self.shards.iter().map(|shard| shard.records_in).sum()
    }

    pub fn bytes_in(&self) -> u64 {
        self.shards.iter().map(|shard| shard.bytes_in).sum()
    }
}

#[derive(Default)]
struct ShardCounterCells {
    records_in: AtomicU64,
    bytes_in: AtomicU64,
}

/// A Kinesis data stream, shared between threads as `Arc<Stream>`.
pub struct Stream {
    config: StreamConfig,
    ranges: ShardRanges,
    store: Box<dyn StreamStore>,
    counters: Vec<ShardCounterCells>,
    records_rejected: AtomicU64,
    /// Puts hold the read lock while they run; `close` takes the write lock, so once it returns
    /// no put is half done.
    closed: RwLock<bool>,
    data_signal: DataSignal,
    /// The shard of each partition key seen so far (up to [`SHARD_CACHE_KEYS`] keys): an MD5
    /// per record is a sixth of a replay's work, and most streams see a bounded set of keys.
    shard_cache: Mutex<ShardCache>,
}

/// Short keys are stored in the table itself, so a hit reads no other memory.
type ShardCache = HashMap<PartitionKey, usize, ahash::RandomState>;

/// Keys [`Stream::shard_cache`] remembers; past them it is only read (random keys would
/// otherwise fill it for nothing).
const SHARD_CACHE_KEYS: usize = 1 << 16;

impl Stream {
    /// A stream over `store`, which must hold `config.shards` shards.
    pub fn new(config: StreamConfig, store: Box<dyn StreamStore>) -> Result<Stream, StreamError> {
        config.validate()?;
        if store.shard_count() != config.shards {
            return Err(StreamError::validation(format!(
                "stream \"{}\" has {} shards but its store holds {}",
                config.name,
                config.shards,
                store.shard_count()
            )));
        }
        Ok(Stream {
            ranges: ShardRanges::uniform(config.shards),
            counters: (0..config.shards)
                .map(|_| ShardCounterCells::default())
                .collect(),
            config,
            store,
            records_rejected: AtomicU64::new(0),
            closed: RwLock::new(false),
            data_signal: DataSignal::default(),
            shard_cache: Mutex::new(ShardCache::default()),
        })
    }

    /// A stream kept in a [`MemoryStore`].
    pub fn in_memory(config: StreamConfig) -> Result<Stream, StreamError> {
        let store = Box::new(MemoryStore::new(config.shards));
        Stream::new(config, store)
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    pub fn config(&self) -> &StreamConfig {
        &self.config
    }

    pub fn shard_count(&self) -> usize {
        self.config.shards
    }

    pub fn hash_ranges(&self) -> &ShardRanges {
        &self.ranges
    }

    /// `shardId-000000000000`, … in shard order.
    pub fn shard_ids(&self) -> Vec<String> {
        (0..self.shard_count()).map(shard_id).collect()
    }

    /// The shard's retained offsets.
    pub fn bounds(&self, shard: usize) -> Result<ShardBounds, StreamError> {
        self.check_shard(shard)?;
        Ok(self.store.bounds(shard)?)
    }

    /// Puts a batch (`PutRecords`). Each result is the record's shard and sequence number, or why
    /// it was refused; refusing one record does not refuse the others. Records of one shard keep
    /// their order in `entries`.
    pub fn put(&self, entries: Vec<PutEntry>, arrival_ms: i64) -> Vec<PutResult> {
        self.put_returning(entries, arrival_ms).0
    }

    /// [`Stream::put`], giving the entries back: those refused as they were, the others with
    /// their key and data taken (a caller reporting refused records needs no copy of them).
    pub fn put_returning(
        &self,
        mut entries: Vec<PutEntry>,
        arrival_ms: i64,
    ) -> (Vec<PutResult>, Vec<PutEntry>) {
        let closed = read_lock(&self.closed);
        if *closed {
            self.records_rejected
                .fetch_add(entries.len() as u64, Ordering::Relaxed);
            let refused = entries.iter().map(|_| Err(self.closed_error())).collect();
            return (refused, entries);
        }
        let mut results = Vec::with_capacity(entries.len());
        let mut routed: Vec<(usize, usize)> = Vec::with_capacity(entries.len());
        let mut cache = lock(&self.shard_cache);
        for (index, entry) in entries.iter().enumerate() {
            match self.route(index, entry, &mut cache) {
                Ok(shard) => {
                    routed.push((shard, index));
                    results.push(Ok((shard, SequenceNumber(0))));
                }
                Err(error) => results.push(Err(error)),
            }
        }
        drop(cache);
        let mut rejected = (entries.len() - routed.len()) as u64;
        let routed = by_shard(&routed, self.config.shards);
        for run in routed.chunk_by(|a, b| a.0 == b.0) {
            rejected += self.append_run(run, &mut entries, arrival_ms, &mut results);
        }
        drop(closed);
        self.records_rejected.fetch_add(rejected, Ordering::Relaxed);
        if !routed.is_empty() {
            self.data_signal.notify();
        }
        (results, entries)
    }

    /// Appends the entries of one shard (`run` holds (shard, entry index) pairs) and fills in
    /// their results. Returns how many were refused (all of them if the store fails).
    fn append_run(
        &self,
        run: &[(usize, usize)],
        entries: &mut [PutEntry],
        arrival_ms: i64,
        results: &mut [Result<(usize, SequenceNumber), PutError>],
    ) -> u64 {
        let Some(&(shard, _)) = run.first() else {
            return 0;
        };
        let mut bytes = 0u64;
        let records: Vec<NewRecord> = run
            .iter()
            .map(|&(_, index)| {
                let entry = &mut entries[index];
                bytes += entry.size() as u64;
                NewRecord {
                    partition_key: std::mem::take(&mut entry.partition_key),
                    data: std::mem::take(&mut entry.data),
                    fields: entry.fields.take(),
                }
            })
            .collect();
        match self.store.append(shard, arrival_ms, records) {
            Ok(first_offset) => {
                for (&(_, index), offset) in run.iter().zip(first_offset..) {
                    results[index] = Ok((shard, SequenceNumber::new(shard, offset)));
                }
                self.counters[shard]
                    .records_in
                    .fetch_add(run.len() as u64, Ordering::Relaxed);
                self.counters[shard]
                    .bytes_in
                    .fetch_add(bytes, Ordering::Relaxed);
                0
            }
            Err((error, records)) => {
                let error = StreamError::internal(error);
                for (&(_, index), record) in run.iter().zip(records) {
                    results[index] = Err(error.clone());
                    entries[index].partition_key = record.partition_key;
                    entries[index].data = record.data;
                    entries[index].fields = record.fields;
                }
                run.len() as u64
            }
        }
    }

    /// The shard a put entry goes to, or why it is refused. `index` is its place in the batch.
    fn route(
        &self,
        index: usize,
        entry: &PutEntry,
        cache: &mut ShardCache,
    ) -> Result<usize, PutError> {
        check_partition_key(index, &entry.partition_key)?;
        let size = entry.size();
        let max = self.config.max_record_bytes;
        if size > max {
            return Err(StreamError::validation(format!(
                "1 validation error detected: Value at 'records.{}.member.data' failed to satisfy \
                 constraint: Member must have length less than or equal to {} (stream \"{}\" allows \
                 {max} bytes of partition key + data per record; this one has {size})",
                index + 1,
                max.saturating_sub(entry.partition_key.len()),
                self.config.name
            )));
        }
        if let Some(hash) = entry.explicit_hash_key {
            return Ok(self.ranges.shard_for(hash));
        }
        if let Some(&shard) = cache.get(&*entry.partition_key) {
            return Ok(shard);
        }
        let shard = self.ranges.shard_for(hash_key(&entry.partition_key));
        if cache.len() < SHARD_CACHE_KEYS {
            cache.insert(entry.partition_key.clone(), shard);
        }
        Ok(shard)
    }

    fn closed_error(&self) -> PutError {
        StreamError {
            code: "StreamClosed",
            message: format!(
                "stream \"{}\" is closed: its producers have finished, so it accepts no more records",
                self.config.name
            ),
        }
    }

    /// Reads up to `max_records` records of `shard` from `from_offset` (`GetRecords`). An offset
    /// that was trimmed reads from the earliest retained record.
    pub fn read(
        &self,
        shard: usize,
        from_offset: u64,
        max_records: usize,
    ) -> Result<ReadBatch, StreamError> {
        self.check_shard(shard)?;
        let mut records = Vec::new();
        let progress = self
            .store
            .read_into(shard, from_offset, max_records, &mut records)?;
        Ok(ReadBatch {
            records,
            next_offset: progress.next_offset,
            millis_behind_latest: progress.millis_behind_latest,
        })
    }

    /// The offset a shard iterator of kind `start` begins at in `shard`.
    pub fn iterator_offset(
        &self,
        shard: usize,
        start: ShardIteratorStart,
    ) -> Result<u64, StreamError> {
        self.check_shard(shard)?;
        let bounds = self.store.bounds(shard)?;
        match start {
            ShardIteratorStart::TrimHorizon => Ok(bounds.earliest),
            ShardIteratorStart::Latest => Ok(bounds.next),
            ShardIteratorStart::AtSequenceNumber(number) => Ok(self
                .offset_of(shard, bounds, start, number)?
                .max(bounds.earliest)),
            ShardIteratorStart::AfterSequenceNumber(number) => {
                Ok((self.offset_of(shard, bounds, start, number)? + 1).max(bounds.earliest))
            }
            ShardIteratorStart::AtTimestamp(timestamp_ms) => {
                Ok(self.store.offset_at_or_after(shard, timestamp_ms)?)
            }
        }
    }

    /// The offset of a sequence number the stream has issued in `shard`.
    fn offset_of(
        &self,
        shard: usize,
        bounds: ShardBounds,
        start: ShardIteratorStart,
        number: SequenceNumber,
    ) -> Result<u64, StreamError> {
        let problem = match number.shard_and_offset() {
            Some((number_shard, offset)) if number_shard == shard && offset < bounds.next => {
                return Ok(offset)
            }
            Some((number_shard, _)) if number_shard != shard => {
                format!("it belongs to {}", shard_id(number_shard))
            }
            Some(_) => "no record has it yet".to_string(),
            None => "kin did not issue it".to_string(),
        };
        Err(StreamError::invalid_argument(format!(
            "StartingSequenceNumber {number} used with {} on shard {} in stream \"{}\" is invalid: {problem}",
            start.type_name(),
            shard_id(shard),
            self.config.name
        )))
    }

    /// Removes records older than the retention period; returns how many.
    pub fn trim_expired(&self, now_ms: i64) -> Result<u64, StreamError> {
        let cutoff_ms = now_ms.saturating_sub(self.config.retention_ms);
        self.trim_each_shard(|_| Ok(Some(TrimBound::ArrivedBefore(cutoff_ms))))
    }

    /// Removes records every consumer known to the store has read; returns how many. Not an AWS
    /// behaviour: it keeps memory bounded in long local runs. Consumers created later start after
    /// the trimmed records, so create every consumer before calling this.
    pub fn trim_read_by_all_consumers(&self) -> Result<u64, StreamError> {
        let mut lowest: Option<Vec<u64>> = None;
        for name in self.store.consumer_names()? {
            let Some(positions) = self.store.load_positions(&name)? else {
                continue;
            };
            match lowest.as_mut() {
                Some(lowest) => lowest
                    .iter_mut()
                    .zip(&positions)
                    .for_each(|(low, &p)| *low = (*low).min(p)),
                None => lowest = Some(positions),
            }
        }
        let Some(lowest) = lowest else {
            return Ok(0);
        };
        self.trim_each_shard(|shard| {
            Ok(lowest
                .get(shard)
                .map(|&offset| TrimBound::OffsetBelow(offset)))
        })
    }

    fn trim_each_shard(
        &self,
        bound_for: impl Fn(usize) -> Result<Option<TrimBound>, StreamError>,
    ) -> Result<u64, StreamError> {
        let mut trimmed = 0;
        for shard in 0..self.shard_count() {
            if let Some(bound) = bound_for(shard)? {
                trimmed += self.store.trim(shard, bound)?;
            }
        }
        Ok(trimmed)
    }

    /// Marks the end of input: producers are done, later puts are refused, and waiting consumers
    /// wake up. Returns once every put already running has finished.
    pub fn close(&self) {
        *write_lock(&self.closed) = true;
        self.data_signal.notify();
    }

    pub fn is_closed(&self) -> bool {
        *read_lock(&self.closed)
    }

    /// Blocks until a put or `close` happens or `timeout` passes; true unless it timed out.
    /// Returns at once on a closed stream. [`Consumer::wait_for_data`] also returns at once when
    /// the consumer has records left, so it misses nothing put just before the call.
    pub fn wait_for_data(&self, timeout: Duration) -> bool {
        let seen = self.data_signal.version();
        self.is_closed() || self.data_signal.wait_for_change(seen, timeout)
    }

    pub fn counters(&self) -> StreamCounters {
        StreamCounters {
            shards: self
                .counters
                .iter()
                .map(|cells| ShardCounters {
                    records_in: cells.records_in.load(Ordering::Relaxed),
                    bytes_in: cells.bytes_in.load(Ordering::Relaxed),
                })
                .collect(),
            records_rejected: self.records_rejected.load(Ordering::Relaxed),
        }
    }

    /// A consumer named `name` that reads every record: from its saved positions if the store has
    /// them, otherwise from the earliest retained records (`TRIM_HORIZON`). Use one `Consumer` per
    /// name at a time.
    pub fn consumer(self: &Arc<Self>, name: &str) -> Result<Consumer, StreamError> {
        let positions = match self.store.load_positions(name)? {
            Some(saved) if saved.len() == self.shard_count() => saved,
            _ => {
                let earliest = (0..self.shard_count())
                    .map(|shard| self.store.bounds(shard).map(|bounds| bounds.earliest))
                    .collect::<Result<Vec<u64>, StoreError>>()?;
                self.store.save_positions(name, &earliest)?;
                earliest
            }
        };
        Ok(Consumer {
            stream: Arc::clone(self),
            name: name.to_string(),
            positions,
            next_shard: 0,
        })
    }

    fn check_shard(&self, shard: usize) -> Result<(), StreamError> {
        if shard < self.shard_count() {
            return Ok(());
        }
        Err(StreamError {
            code: "ResourceNotFoundException",
            message: format!(
                "shard {} does not exist in stream \"{}\", which has {} shards",
                shard_id(shard),
                self.config.name,
                self.shard_count()
            ),
        })
    }
}

/// AWS's partition key rule: 1–256 Unicode characters.
fn check_partition_key(index: usize, key: &str) -> Result<(), PutError> {
    let (constraint, limit) = if key.is_empty() {
        ("greater than or equal to", 1)
    } else if key.len() > MAX_PARTITION_KEY_CHARS && key.chars().count() > MAX_PARTITION_KEY_CHARS {
        ("less than or equal to", MAX_PARTITION_KEY_CHARS)
    } else {
        return Ok(());
    };
    Err(StreamError::validation(format!(
        "1 validation error detected: Value '{key}' at 'records.{}.member.partitionKey' failed to \
         satisfy constraint: Member must have length {constraint} {limit}",
        index + 1
    )))
}

// ---------------------------------------------------------------------------------------------
// Waiting and locking

/// A counter bumped by every put and by `close`, with a condition variable to wait for a change.
#[derive(Default)]
struct DataSignal {
    version: Mutex<u64>,
    changed: Condvar,
}

impl DataSignal {
    fn version(&self) -> u64 {
        *lock(&self.version)
    }

    fn notify(&self) {
        let mut version = lock(&self.version);
        *version = version.wrapping_add(1);
        self.changed.notify_all();
    }

    /// Waits until the version differs from `seen`; false if `timeout` passed first.
    fn wait_for_change(&self, seen: u64, timeout: Duration) -> bool {
        let version = lock(&self.version);
        let (_version, result) = self
            .changed
            .wait_timeout_while(version, timeout, |version| *version == seen)
            .unwrap_or_else(PoisonError::into_inner);
        !result.timed_out()
    }
}

/// Locks a mutex; a thread that panicked while holding it left the data consistent (every
/// critical section here either completes or changes nothing), so poisoning is ignored.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn read_lock(lock: &RwLock<bool>) -> std::sync::RwLockReadGuard<'_, bool> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write_lock(lock: &RwLock<bool>) -> std::sync::RwLockWriteGuard<'_, bool> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}
