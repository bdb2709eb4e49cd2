//! A Kinesis data stream on one machine: shards chosen by MD5 hash ranges, batch puts with AWS's
//! per-record errors, sequence numbers, retention, the five shard-iterator starts, and named
//! consumers that each read every record. Storage sits behind [`StreamStore`] so that a durable
//! store can replace the in-memory [`MemoryStore`].
//!
//! Everything is done per batch, never per record: a put takes one lock per shard it touches, a
//! read takes one lock per shard, and a consumer saves its positions once per poll.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Duration;

use bytes::Bytes;

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
// Sequence numbers

/// The fixed 17 digits every kin sequence number starts with (AWS's start with `49` too).
const SEQUENCE_PREFIX: &str = "49000000000000000";
/// Offsets per shard in the numeric value: 10^20, more than `u64::MAX`.
const OFFSETS_PER_SHARD: u128 = 100_000_000_000_000_000_000;
/// Digits of the numeric value as printed (zero-padded): `u128::MAX` has 39.
const SEQUENCE_VALUE_DIGITS: usize = 39;

/// A record's sequence number, unique and strictly increasing within its shard.
///
/// Layout: the value is `shard · 10^20 + offset`, where `offset` counts the shard's records
/// from 0. It prints as 56 decimal digits, like AWS's: the prefix `49000000000000000`, then the
/// value zero-padded to 39 digits — so the last 20 digits are the offset and the 19 before them
/// the shard index, and string order, numeric order and (shard, offset) order all agree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SequenceNumber(pub u128);

impl SequenceNumber {
    /// The sequence number of the record at `offset` in shard `shard` (below [`MAX_SHARDS`]).
    pub fn new(shard: usize, offset: u64) -> SequenceNumber {
        SequenceNumber(shard as u128 * OFFSETS_PER_SHARD + u128::from(offset))
    }

    /// The (shard, offset) this number was made from; `None` if kin cannot have issued it.
    pub fn shard_and_offset(self) -> Option<(usize, u64)> {
        let shard = usize::try_from(self.0 / OFFSETS_PER_SHARD).ok()?;
        let offset = u64::try_from(self.0 % OFFSETS_PER_SHARD).ok()?;
        Some((shard, offset))
    }
}

impl fmt::Display for SequenceNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{SEQUENCE_PREFIX}{:0width$}",
            self.0,
            width = SEQUENCE_VALUE_DIGITS
        )
    }
}

impl FromStr for SequenceNumber {
    type Err = String;

    fn from_str(text: &str) -> Result<SequenceNumber, String> {
        let value_digits = text.strip_prefix(SEQUENCE_PREFIX).filter(|rest| {
            rest.len() == SEQUENCE_VALUE_DIGITS && rest.bytes().all(|b| b.is_ascii_digit())
        });
        let Some(value_digits) = value_digits else {
            return Err(format!(
                "sequence number \"{text}\" was not issued by this stream: kin's sequence numbers are \
                 {} decimal digits starting with {SEQUENCE_PREFIX}",
                SEQUENCE_PREFIX.len() + SEQUENCE_VALUE_DIGITS
            ));
        };
        value_digits
            .parse::<u128>()
            .map(SequenceNumber)
            .map_err(|_| format!("sequence number \"{text}\" is out of range"))
    }
}

// ---------------------------------------------------------------------------------------------
// Records, configuration, errors

/// One record of a put, as a `PutRecordsRequestEntry`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PutEntry {
    pub partition_key: String,
    /// Overrides the MD5 of the partition key when choosing the shard.
    pub explicit_hash_key: Option<u128>,
    pub data: Bytes,
}

impl PutEntry {
    /// An entry routed by the MD5 of its partition key.
    pub fn new(partition_key: impl Into<String>, data: impl Into<Bytes>) -> PutEntry {
        PutEntry {
            partition_key: partition_key.into(),
            explicit_hash_key: None,
            data: data.into(),
        }
    }

    /// The size AWS limits: partition key bytes + data bytes.
    fn size(&self) -> usize {
        self.partition_key.len() + self.data.len()
    }
}

/// A record as a shard holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRecord {
    pub sequence_number: SequenceNumber,
    pub partition_key: Arc<str>,
    pub data: Bytes,
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
// Storage

/// A record handed to a store, which assigns its offset.
#[derive(Clone, Debug)]
pub struct NewRecord {
    pub partition_key: Arc<str>,
    pub data: Bytes,
}

/// A shard's retained offsets: `earliest..next` (empty when equal).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShardBounds {
    /// The oldest record still held (`TRIM_HORIZON`).
    pub earliest: u64,
    /// The offset the next appended record gets (`LATEST`).
    pub next: u64,
}

/// Where a read stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadProgress {
    /// The offset to read from next.
    pub next_offset: u64,
    /// Newest arrival in the shard minus the arrival of the record at `next_offset`; 0 when caught up.
    pub millis_behind_latest: i64,
}

/// Which records a trim removes from the front of a shard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrimBound {
    /// Records that arrived strictly before this time (epoch ms).
    ArrivedBefore(i64),
    /// Records whose offset is below this one.
    OffsetBelow(u64),
}

/// A storage failure (only a durable store has them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreError(pub String);

/// Where a stream keeps its shards' records and its consumers' positions.
///
/// Offsets count a shard's records from 0 and are never reused; trimming only moves a shard's
/// earliest offset forward. Every call works on a batch, so a durable store can write one log
/// entry per call.
pub trait StreamStore: Send + Sync {
    /// How many shards the store holds.
    fn shard_count(&self) -> usize;
    /// Appends `records` to `shard` in order and returns the first one's offset; the others follow
    /// consecutively. `arrival_ms` is raised to the shard's last arrival if it is older.
    fn append(
        &self,
        shard: usize,
        arrival_ms: i64,
        records: Vec<NewRecord>,
    ) -> Result<u64, StoreError>;
    /// Appends up to `max_records` records of `shard`, starting at `from_offset` (or the earliest
    /// retained one if that was trimmed), to `out`.
    fn read_into(
        &self,
        shard: usize,
        from_offset: u64,
        max_records: usize,
        out: &mut Vec<StoredRecord>,
    ) -> Result<ReadProgress, StoreError>;
    /// The shard's retained offsets.
    fn bounds(&self, shard: usize) -> Result<ShardBounds, StoreError>;
    /// The offset of the shard's first retained record that arrived at or after `timestamp_ms`
    /// (its next offset if there is none).
    fn offset_at_or_after(&self, shard: usize, timestamp_ms: i64) -> Result<u64, StoreError>;
    /// Removes records from the front of `shard`; returns how many. O(removed).
    fn trim(&self, shard: usize, bound: TrimBound) -> Result<u64, StoreError>;
    /// The saved position (next offset to read) of consumer `name` in each shard, if it has any.
    fn load_positions(&self, name: &str) -> Result<Option<Vec<u64>>, StoreError>;
    /// Saves consumer `name`'s position in every shard (indexed by shard).
    fn save_positions(&self, name: &str, positions: &[u64]) -> Result<(), StoreError>;
    /// The names of every consumer with saved positions.
    fn consumer_names(&self) -> Result<Vec<String>, StoreError>;
}

/// The default store: each shard a `VecDeque` behind its own mutex.
pub struct MemoryStore {
    shards: Vec<Mutex<ShardLog>>,
    positions: Mutex<HashMap<String, Vec<u64>>>,
}

impl MemoryStore {
    pub fn new(shards: usize) -> MemoryStore {
        MemoryStore {
            shards: (0..shards)
                .map(|_| Mutex::new(ShardLog::default()))
                .collect(),
            positions: Mutex::new(HashMap::new()),
        }
    }

    fn shard(&self, shard: usize) -> Result<MutexGuard<'_, ShardLog>, StoreError> {
        let log = self
            .shards
            .get(shard)
            .ok_or_else(|| StoreError(format!("no shard {shard} in this store")))?;
        Ok(lock(log))
    }
}

impl StreamStore for MemoryStore {
    fn shard_count(&self) -> usize {
        self.shards.len()
    }

    fn append(
        &self,
        shard: usize,
        arrival_ms: i64,
        records: Vec<NewRecord>,
    ) -> Result<u64, StoreError> {
        Ok(self.shard(shard)?.append(shard, arrival_ms, records))
    }

    fn read_into(
        &self,
        shard: usize,
        from_offset: u64,
        max_records: usize,
        out: &mut Vec<StoredRecord>,
    ) -> Result<ReadProgress, StoreError> {
        Ok(self.shard(shard)?.read_into(from_offset, max_records, out))
    }

    fn bounds(&self, shard: usize) -> Result<ShardBounds, StoreError> {
        Ok(self.shard(shard)?.bounds())
    }

    fn offset_at_or_after(&self, shard: usize, timestamp_ms: i64) -> Result<u64, StoreError> {
        Ok(self.shard(shard)?.offset_at_or_after(timestamp_ms))
    }

    fn trim(&self, shard: usize, bound: TrimBound) -> Result<u64, StoreError> {
        Ok(self.shard(shard)?.trim(bound))
    }

    fn load_positions(&self, name: &str) -> Result<Option<Vec<u64>>, StoreError> {
        Ok(lock(&self.positions).get(name).cloned())
    }

    fn save_positions(&self, name: &str, positions: &[u64]) -> Result<(), StoreError> {
        let mut saved = lock(&self.positions);
        match saved.get_mut(name) {
            Some(existing) => existing.clone_from_slice(positions),
            None => {
                saved.insert(name.to_string(), positions.to_vec());
            }
        }
        Ok(())
    }

    fn consumer_names(&self) -> Result<Vec<String>, StoreError> {
        Ok(lock(&self.positions).keys().cloned().collect())
    }
}

/// One shard's retained records; the front one has offset `first_offset`.
struct ShardLog {
    first_offset: u64,
    records: VecDeque<StoredRecord>,
    last_arrival_ms: i64,
}

impl Default for ShardLog {
    fn default() -> ShardLog {
        ShardLog {
            first_offset: 0,
            records: VecDeque::new(),
            last_arrival_ms: i64::MIN,
        }
    }
}

impl ShardLog {
    fn next_offset(&self) -> u64 {
        self.first_offset + self.records.len() as u64
    }

    fn bounds(&self) -> ShardBounds {
        ShardBounds {
            earliest: self.first_offset,
            next: self.next_offset(),
        }
    }

    fn append(&mut self, shard: usize, arrival_ms: i64, records: Vec<NewRecord>) -> u64 {
        let first = self.next_offset();
        let arrival_ms = arrival_ms.max(self.last_arrival_ms);
        self.last_arrival_ms = arrival_ms;
        self.records
            .extend(
                records
                    .into_iter()
                    .zip(first..)
                    .map(|(record, offset)| StoredRecord {
                        sequence_number: SequenceNumber::new(shard, offset),
                        partition_key: record.partition_key,
                        data: record.data,
                        arrival_ms,
                    }),
            );
        first
    }

    fn read_into(
        &self,
        from_offset: u64,
        max_records: usize,
        out: &mut Vec<StoredRecord>,
    ) -> ReadProgress {
        let start = from_offset.max(self.first_offset);
        let skip = usize::try_from(start - self.first_offset)
            .unwrap_or(usize::MAX)
            .min(self.records.len());
        let take = max_records.min(self.records.len() - skip);
        out.extend(self.records.range(skip..skip + take).cloned());
        let next_offset = start + take as u64;
        ReadProgress {
            next_offset,
            millis_behind_latest: self.millis_behind_latest(skip + take),
        }
    }

    /// How far the record at `index` arrived before the newest one; 0 past the end.
    fn millis_behind_latest(&self, index: usize) -> i64 {
        match self.records.get(index) {
            Some(record) => self.last_arrival_ms.saturating_sub(record.arrival_ms),
            None => 0,
        }
    }

    fn offset_at_or_after(&self, timestamp_ms: i64) -> u64 {
        self.first_offset
            + self
                .records
                .partition_point(|record| record.arrival_ms < timestamp_ms) as u64
    }

    fn trim(&mut self, bound: TrimBound) -> u64 {
        let count = match bound {
            TrimBound::ArrivedBefore(cutoff_ms) => self
                .records
                .partition_point(|record| record.arrival_ms < cutoff_ms),
            TrimBound::OffsetBelow(offset) => {
                usize::try_from(offset.saturating_sub(self.first_offset))
                    .unwrap_or(usize::MAX)
                    .min(self.records.len())
            }
        };
        self.records.drain(..count);
        self.first_offset += count as u64;
        count as u64
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
}

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
    pub fn put(
        &self,
        mut entries: Vec<PutEntry>,
        arrival_ms: i64,
    ) -> Vec<Result<(usize, SequenceNumber), PutError>> {
        let closed = read_lock(&self.closed);
        if *closed {
            self.records_rejected
                .fetch_add(entries.len() as u64, Ordering::Relaxed);
            return entries.iter().map(|_| Err(self.closed_error())).collect();
        }
        let mut results = Vec::with_capacity(entries.len());
        let mut routed: Vec<(usize, usize)> = Vec::with_capacity(entries.len());
        for (index, entry) in entries.iter().enumerate() {
            match self.route(index, entry) {
                Ok(shard) => {
                    routed.push((shard, index));
                    results.push(Ok((shard, SequenceNumber(0))));
                }
                Err(error) => results.push(Err(error)),
            }
        }
        let mut rejected = (entries.len() - routed.len()) as u64;
        // (shard, index) pairs are unique, so an unstable sort keeps entry order within a shard.
        routed.sort_unstable();
        for run in routed.chunk_by(|a, b| a.0 == b.0) {
            rejected += self.append_run(run, &mut entries, arrival_ms, &mut results);
        }
        drop(closed);
        self.records_rejected.fetch_add(rejected, Ordering::Relaxed);
        if !routed.is_empty() {
            self.data_signal.notify();
        }
        results
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
                    partition_key: Arc::from(std::mem::take(&mut entry.partition_key)),
                    data: std::mem::take(&mut entry.data),
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
            Err(error) => {
                let error = StreamError::internal(error);
                for &(_, index) in run {
                    results[index] = Err(error.clone());
                }
                run.len() as u64
            }
        }
    }

    /// The shard a put entry goes to, or why it is refused. `index` is its place in the batch.
    fn route(&self, index: usize, entry: &PutEntry) -> Result<usize, PutError> {
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
        let hash = entry
            .explicit_hash_key
            .unwrap_or_else(|| hash_key(&entry.partition_key));
        Ok(self.ranges.shard_for(hash))
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
// Consumers

/// A named reader of every shard; two consumers of one stream each get every record.
pub struct Consumer {
    stream: Arc<Stream>,
    name: String,
    /// The next offset to read in each shard.
    positions: Vec<u64>,
    /// The shard the next poll starts with, so no shard always goes first.
    next_shard: usize,
}

impl Consumer {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The next offset to read in each shard.
    pub fn positions(&self) -> &[u64] {
        &self.positions
    }

    /// Reads up to `max_records` records across all shards, in order within each shard, and saves
    /// the new positions. Each shard first gets an equal share; if some shards had fewer records,
    /// the others may fill the rest.
    pub fn poll(&mut self, max_records: usize) -> Result<Vec<StoredRecord>, StreamError> {
        let shards = self.positions.len();
        // Each shard's read reserves what it appends, so an idle poll allocates nothing.
        let mut records = Vec::new();
        if max_records == 0 || shards == 0 {
            return Ok(records);
        }
        let mut positions = self.positions.clone();
        let share = max_records.div_ceil(shards);
        for pass_share in [share, max_records] {
            let mut some_shard_filled_its_share = false;
            for step in 0..shards {
                let remaining = max_records - records.len();
                if remaining == 0 {
                    break;
                }
                let shard = (self.next_shard + step) % shards;
                let wanted = pass_share.min(remaining);
                let before = records.len();
                positions[shard] = self
                    .stream
                    .store
                    .read_into(shard, positions[shard], wanted, &mut records)?
                    .next_offset;
                some_shard_filled_its_share |= records.len() - before == wanted;
            }
            if !some_shard_filled_its_share || records.len() == max_records {
                break;
            }
        }
        self.next_shard = (self.next_shard + 1) % shards;
        if positions != self.positions {
            self.stream.store.save_positions(&self.name, &positions)?;
            self.positions = positions;
        }
        Ok(records)
    }

    /// True when some shard holds records this consumer has not read.
    pub fn has_pending(&self) -> bool {
        self.positions.iter().enumerate().any(|(shard, &position)| {
            // A store error counts as pending, so the caller polls and sees the error.
            self.stream
                .store
                .bounds(shard)
                .map_or(true, |bounds| position < bounds.next)
        })
    }

    /// True when the stream is closed and this consumer has read every record.
    pub fn is_drained(&self) -> bool {
        // Checked in this order: once closed, no put is still appending.
        self.stream.is_closed() && !self.has_pending()
    }

    /// Blocks until this consumer has records to read, the stream is closed, or `timeout` passes;
    /// true unless it timed out.
    pub fn wait_for_data(&self, timeout: Duration) -> bool {
        let signal = &self.stream.data_signal;
        // Read the version first: a put that lands after the check below also changes it.
        let seen = signal.version();
        self.stream.is_closed() || self.has_pending() || signal.wait_for_change(seen, timeout)
    }
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
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn read_lock(lock: &RwLock<bool>) -> std::sync::RwLockReadGuard<'_, bool> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write_lock(lock: &RwLock<bool>) -> std::sync::RwLockWriteGuard<'_, bool> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::thread;

    fn stream_with(config: StreamConfig) -> Arc<Stream> {
        Arc::new(Stream::in_memory(config).expect("valid config"))
    }

    fn stream(shards: usize) -> Arc<Stream> {
        stream_with(StreamConfig::new("clicks", shards))
    }

    fn entry(key: &str, data: &str) -> PutEntry {
        PutEntry::new(key, data.to_string())
    }

    fn accepted(
        results: Vec<Result<(usize, SequenceNumber), PutError>>,
    ) -> Vec<(usize, SequenceNumber)> {
        results
            .into_iter()
            .map(|result| result.expect("accepted"))
            .collect()
    }

    fn data_of(records: &[StoredRecord]) -> Vec<String> {
        records
            .iter()
            .map(|record| String::from_utf8_lossy(&record.data).into_owned())
            .collect()
    }

    #[test]
    fn same_partition_key_goes_to_the_same_shard_in_order() {
        let stream = stream(4);
        let entries = (0..50)
            .map(|i| entry(&format!("user-{}", i % 5), &i.to_string()))
            .collect();
        let placed = accepted(stream.put(entries, 0));
        for key in 0..5 {
            let shards: HashSet<usize> = placed
                .iter()
                .skip(key)
                .step_by(5)
                .map(|&(shard, _)| shard)
                .collect();
            assert_eq!(shards.len(), 1, "user-{key} went to {shards:?}");
            let expected_shard = stream
                .hash_ranges()
                .shard_for(hash_key(&format!("user-{key}")));
            assert!(shards.contains(&expected_shard));
        }
        let mut seen = 0;
        for shard in 0..4 {
            let records = stream.read(shard, 0, 100).expect("read").records;
            seen += records.len();
            for key in 0..5 {
                let values: Vec<u32> = records
                    .iter()
                    .filter(|record| *record.partition_key == *format!("user-{key}"))
                    .map(|record| {
                        String::from_utf8_lossy(&record.data)
                            .parse()
                            .expect("number")
                    })
                    .collect();
                assert!(
                    values.windows(2).all(|pair| pair[0] < pair[1]),
                    "{values:?}"
                );
            }
        }
        assert_eq!(seen, 50);
    }

    #[test]
    fn explicit_hash_key_overrides_the_md5_of_the_partition_key() {
        let stream = stream(2);
        let mut low = entry("same", "a");
        low.explicit_hash_key = Some(0);
        let mut high = entry("same", "b");
        high.explicit_hash_key = Some(1u128 << 127);
        let placed = accepted(stream.put(vec![low, high], 0));
        assert_eq!(placed[0].0, 0);
        assert_eq!(placed[1].0, 1);
    }

    #[test]
    fn sequence_numbers_increase_per_shard_and_parse_back() {
        let stream = stream(3);
        let entries = (0..60).map(|i| entry(&format!("k{i}"), "x")).collect();
        let placed = accepted(stream.put(entries, 0));
        let more = accepted(stream.put((0..60).map(|i| entry(&format!("k{i}"), "y")).collect(), 1));
        for shard in 0..3 {
            let numbers: Vec<SequenceNumber> = placed
                .iter()
                .chain(&more)
                .filter(|(s, _)| *s == shard)
                .map(|&(_, number)| number)
                .collect();
            assert!(numbers.windows(2).all(|pair| pair[0] < pair[1]));
            for (offset, number) in numbers.iter().enumerate() {
                assert_eq!(number.shard_and_offset(), Some((shard, offset as u64)));
                let text = number.to_string();
                assert_eq!(text.len(), 56);
                assert_eq!(text.parse::<SequenceNumber>(), Ok(*number));
            }
        }
    }

    #[test]
    fn sequence_number_text_shows_prefix_shard_and_offset() {
        let number = SequenceNumber::new(3, 42);
        assert_eq!(
            number.to_string(),
            "49000000000000000000000000000000000300000000000000000042"
        );
        assert!(SequenceNumber::new(0, 9) < SequenceNumber::new(0, 10));
        assert!(SequenceNumber::new(0, 9).to_string() < SequenceNumber::new(0, 10).to_string());
    }

    #[test]
    fn sequence_number_parse_rejects_what_kin_did_not_issue() {
        let too_large = format!("{SEQUENCE_PREFIX}{}", "9".repeat(39));
        let aws_issued = "49600871682957036442365024926191073437251060580128653314";
        for bad in [
            "",
            "49",
            "4900000000000000000000000000000000000000000000000000004x",
            aws_issued,
            &too_large,
        ] {
            assert!(bad.parse::<SequenceNumber>().is_err(), "{bad:?}");
        }
        let max = format!("{SEQUENCE_PREFIX}{}", u128::MAX);
        assert_eq!(max.parse::<SequenceNumber>(), Ok(SequenceNumber(u128::MAX)));
        assert_eq!(
            SequenceNumber(u128::MAX)
                .shard_and_offset()
                .map(|(_, offset)| offset),
            None
        );
    }

    #[test]
    fn every_consumer_sees_every_record_exactly_once_with_concurrent_producers() {
        const PRODUCERS: usize = 4;
        const PER_PRODUCER: usize = 2000;
        let stream = stream(4);
        let consumers: Vec<Consumer> = ["firehose", "analytics"]
            .iter()
            .map(|name| stream.consumer(name).expect("consumer"))
            .collect();
        let readers: Vec<_> = consumers
            .into_iter()
            .map(|mut consumer| {
                thread::spawn(move || {
                    let mut records = Vec::new();
                    while !consumer.is_drained() {
                        consumer.wait_for_data(Duration::from_secs(5));
                        records.extend(consumer.poll(97).expect("poll"));
                    }
                    records
                })
            })
            .collect();
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|producer| {
                let stream = Arc::clone(&stream);
                thread::spawn(move || {
                    for batch in 0..PER_PRODUCER / 100 {
                        let entries = (0..100)
                            .map(|i| {
                                let n = batch * 100 + i;
                                entry(
                                    &format!("p{producer}-k{}", n % 7),
                                    &format!("{producer}:{n}"),
                                )
                            })
                            .collect();
                        accepted(stream.put(entries, batch as i64));
                    }
                })
            })
            .collect();
        for producer in producers {
            producer.join().expect("producer");
        }
        stream.close();
        for reader in readers {
            let records = reader.join().expect("reader");
            let data = data_of(&records);
            assert_eq!(data.len(), PRODUCERS * PER_PRODUCER);
            assert_eq!(
                data.iter().collect::<HashSet<_>>().len(),
                data.len(),
                "duplicates"
            );
            // Within a shard, records come in sequence order.
            for shard in 0..4 {
                let numbers: Vec<SequenceNumber> = records
                    .iter()
                    .map(|record| record.sequence_number)
                    .filter(|number| number.shard_and_offset().map(|(s, _)| s) == Some(shard))
                    .collect();
                assert!(numbers.windows(2).all(|pair| pair[0] < pair[1]));
            }
        }
        assert_eq!(
            stream.counters().records_in(),
            (PRODUCERS * PER_PRODUCER) as u64
        );
    }

    #[test]
    fn retention_trims_old_records_and_consumers_skip_them() {
        let stream = stream_with(StreamConfig {
            retention_ms: 1000,
            ..StreamConfig::new("clicks", 1)
        });
        let mut consumer = stream.consumer("archive").expect("consumer");
        accepted(stream.put(vec![entry("k", "a"), entry("k", "b")], 0));
        accepted(stream.put(vec![entry("k", "c")], 500));
        accepted(stream.put(vec![entry("k", "d")], 2000));
        // An older arrival time is raised to the shard's last one.
        accepted(stream.put(vec![entry("k", "e")], 100));
        assert_eq!(stream.trim_expired(1500), Ok(2));
        assert_eq!(stream.trim_expired(1600), Ok(1));
        assert_eq!(stream.trim_expired(1600), Ok(0));
        assert_eq!(
            stream.bounds(0),
            Ok(ShardBounds {
                earliest: 3,
                next: 5
            })
        );
        let records = consumer.poll(10).expect("poll");
        assert_eq!(data_of(&records), ["d", "e"]);
        assert_eq!(records[1].arrival_ms, 2000);
        assert_eq!(stream.trim_expired(3001), Ok(2));
        assert_eq!(
            stream.bounds(0),
            Ok(ShardBounds {
                earliest: 5,
                next: 5
            })
        );
    }

    #[test]
    fn iterator_offsets_for_the_five_kinds() {
        let stream = stream(2);
        let mut placed = Vec::new();
        for (time, data) in [(10, "a"), (10, "b"), (10, "c"), (20, "d"), (20, "e")] {
            let mut put = entry("k", data);
            put.explicit_hash_key = Some(0);
            placed.extend(accepted(stream.put(vec![put], time)));
        }
        let offset = |start| stream.iterator_offset(0, start);
        assert_eq!(offset(ShardIteratorStart::TrimHorizon), Ok(0));
        assert_eq!(offset(ShardIteratorStart::Latest), Ok(5));
        assert_eq!(
            offset(ShardIteratorStart::AtSequenceNumber(placed[2].1)),
            Ok(2)
        );
        assert_eq!(
            offset(ShardIteratorStart::AfterSequenceNumber(placed[2].1)),
            Ok(3)
        );
        assert_eq!(
            offset(ShardIteratorStart::AfterSequenceNumber(placed[4].1)),
            Ok(5)
        );
        assert_eq!(offset(ShardIteratorStart::AtTimestamp(5)), Ok(0));
        assert_eq!(offset(ShardIteratorStart::AtTimestamp(15)), Ok(3));
        assert_eq!(offset(ShardIteratorStart::AtTimestamp(20)), Ok(3));
        assert_eq!(offset(ShardIteratorStart::AtTimestamp(99)), Ok(5));
        assert_eq!(stream.iterator_offset(1, ShardIteratorStart::Latest), Ok(0));

        let other_shard =
            stream.iterator_offset(1, ShardIteratorStart::AtSequenceNumber(placed[0].1));
        let error = other_shard.expect_err("wrong shard");
        assert_eq!(error.code, "InvalidArgumentException");
        assert!(
            error.message.contains("belongs to shardId-000000000000"),
            "{}",
            error.message
        );
        let future = offset(ShardIteratorStart::AtSequenceNumber(SequenceNumber::new(
            0, 5,
        )));
        assert!(future
            .expect_err("future")
            .message
            .contains("no record has it yet"));
        let missing = stream
            .iterator_offset(2, ShardIteratorStart::TrimHorizon)
            .expect_err("no shard 2");
        assert_eq!(missing.code, "ResourceNotFoundException");

        // A trimmed sequence number starts at the trim horizon.
        assert_eq!(stream.trim_expired(10 + DEFAULT_RETENTION_MS + 1), Ok(3));
        assert_eq!(
            offset(ShardIteratorStart::AtSequenceNumber(placed[0].1)),
            Ok(3)
        );
        assert_eq!(offset(ShardIteratorStart::TrimHorizon), Ok(3));
    }

    #[test]
    fn oversize_record_is_rejected_and_the_rest_of_the_batch_accepted() {
        let stream = stream_with(StreamConfig {
            max_record_bytes: 10,
            ..StreamConfig::new("clicks", 2)
        });
        let results = stream.put(
            vec![
                entry("k", "123456789"),
                entry("k", "1234567890"),
                entry("k", "x"),
            ],
            0,
        );
        assert!(results[0].is_ok());
        assert!(results[2].is_ok());
        let error = results[1].clone().expect_err("too large");
        assert_eq!(error.code, "ValidationException");
        assert!(
            error.message.contains("'records.2.member.data'"),
            "{}",
            error.message
        );
        assert!(
            error.message.contains("this one has 11"),
            "{}",
            error.message
        );
        assert_eq!(
            data_of(
                &stream
                    .read(results[0].clone().expect("ok").0, 0, 10)
                    .expect("read")
                    .records
            ),
            ["123456789", "x"]
        );
        assert_eq!(stream.counters().records_rejected, 1);
    }

    #[test]
    fn partition_keys_must_be_1_to_256_characters() {
        let stream = stream(1);
        let results = stream.put(
            vec![
                entry("", "a"),
                entry(&"k".repeat(257), "b"),
                entry(&"é".repeat(256), "c"),
                entry(&"k".repeat(256), "d"),
            ],
            0,
        );
        let empty = results[0].clone().expect_err("empty key");
        assert!(
            empty.message.contains("greater than or equal to 1"),
            "{}",
            empty.message
        );
        let long = results[1].clone().expect_err("long key");
        assert!(
            long.message.contains("less than or equal to 256"),
            "{}",
            long.message
        );
        assert!(results[2].is_ok(), "256 characters of 2 bytes each");
        assert!(results[3].is_ok());
    }

    #[test]
    fn close_refuses_puts_and_consumers_drain() {
        let stream = stream(2);
        let mut consumer = stream.consumer("archive").expect("consumer");
        accepted(stream.put((0..10).map(|i| entry(&format!("k{i}"), "x")).collect(), 0));
        assert_eq!(consumer.poll(100).expect("poll").len(), 10);
        assert!(!consumer.is_drained(), "the stream is still open");
        accepted(stream.put(vec![entry("k", "y")], 0));
        stream.close();
        assert!(stream.is_closed());
        let refused = stream.put(vec![entry("k", "z")], 0);
        assert_eq!(refused[0].clone().expect_err("closed").code, "StreamClosed");
        assert!(!consumer.is_drained(), "one record left");
        assert_eq!(data_of(&consumer.poll(100).expect("poll")), ["y"]);
        assert!(consumer.is_drained());
        assert!(
            consumer.wait_for_data(Duration::from_secs(30)),
            "a closed stream does not block"
        );
    }

    #[test]
    fn wait_for_data_wakes_on_put_and_on_close_and_times_out_otherwise() {
        let stream = stream(1);
        let consumer = stream.consumer("reader").expect("consumer");
        assert!(!consumer.wait_for_data(Duration::from_millis(10)));
        let waiter = thread::spawn(move || consumer.wait_for_data(Duration::from_secs(60)));
        thread::sleep(Duration::from_millis(20));
        accepted(stream.put(vec![entry("k", "x")], 0));
        assert!(waiter.join().expect("waiter"), "woken by the put");

        let waiting_stream = Arc::clone(&stream);
        let waiter = thread::spawn(move || waiting_stream.wait_for_data(Duration::from_secs(60)));
        thread::sleep(Duration::from_millis(20));
        stream.close();
        assert!(waiter.join().expect("waiter"), "woken by close");
    }

    #[test]
    fn counters_count_records_and_bytes_per_shard() {
        let stream = stream(2);
        let mut low = entry("ab", "123");
        low.explicit_hash_key = Some(0);
        let mut high = entry("c", "4567");
        high.explicit_hash_key = Some(u128::MAX);
        accepted(stream.put(vec![low.clone(), low, high], 0));
        let counters = stream.counters();
        assert_eq!(
            counters.shards,
            [
                ShardCounters {
                    records_in: 2,
                    bytes_in: 10
                },
                ShardCounters {
                    records_in: 1,
                    bytes_in: 5
                }
            ]
        );
        assert_eq!((counters.records_in(), counters.bytes_in()), (3, 15));
    }

    #[test]
    fn a_consumer_resumes_from_its_saved_positions() {
        let stream = stream(1);
        accepted(stream.put((0..5).map(|i| entry("k", &i.to_string())).collect(), 0));
        let mut first = stream.consumer("archive").expect("consumer");
        assert_eq!(data_of(&first.poll(2).expect("poll")), ["0", "1"]);
        drop(first);
        let mut again = stream.consumer("archive").expect("consumer");
        assert_eq!(again.positions(), [2]);
        assert_eq!(data_of(&again.poll(10).expect("poll")), ["2", "3", "4"]);
        let mut other = stream.consumer("analytics").expect("consumer");
        assert_eq!(other.poll(10).expect("poll").len(), 5);
    }

    #[test]
    fn consumer_polls_shards_fairly_and_fills_up_from_busy_shards() {
        let stream = stream(2);
        let put_to = |hash: u128, count: usize| {
            let entries = (0..count)
                .map(|i| PutEntry {
                    explicit_hash_key: Some(hash),
                    ..entry("k", &format!("{hash}-{i}"))
                })
                .collect();
            accepted(stream.put(entries, 0));
        };
        put_to(0, 10);
        put_to(u128::MAX, 2);
        let mut consumer = stream.consumer("reader").expect("consumer");
        let first = consumer.poll(8).expect("poll");
        let from_shard = |records: &[StoredRecord], shard| {
            records
                .iter()
                .filter(|r| r.sequence_number.shard_and_offset().map(|(s, _)| s) == Some(shard))
                .count()
        };
        assert_eq!((from_shard(&first, 0), from_shard(&first, 1)), (6, 2));
        assert_eq!(consumer.poll(8).expect("poll").len(), 4);
    }

    #[test]
    fn trimming_read_records_keeps_what_a_slow_consumer_still_needs() {
        let stream = stream(1);
        let mut fast = stream.consumer("fast").expect("consumer");
        let mut slow = stream.consumer("slow").expect("consumer");
        accepted(stream.put((0..5).map(|i| entry("k", &i.to_string())).collect(), 0));
        fast.poll(10).expect("poll");
        slow.poll(2).expect("poll");
        assert_eq!(stream.trim_read_by_all_consumers(), Ok(2));
        assert_eq!(data_of(&slow.poll(10).expect("poll")), ["2", "3", "4"]);
        assert_eq!(stream.trim_read_by_all_consumers(), Ok(3));
    }

    #[test]
    fn read_reports_how_far_behind_the_newest_record_it_is() {
        let stream = stream(1);
        accepted(stream.put(vec![entry("k", "a"), entry("k", "b")], 1000));
        accepted(stream.put(vec![entry("k", "c")], 1100));
        let first = stream.read(0, 0, 1).expect("read");
        assert_eq!((first.next_offset, first.millis_behind_latest), (1, 100));
        let rest = stream.read(0, first.next_offset, 10).expect("read");
        assert_eq!(
            (
                rest.records.len(),
                rest.next_offset,
                rest.millis_behind_latest
            ),
            (2, 3, 0)
        );
        assert_eq!(stream.read(0, 3, 10).expect("read").records.len(), 0);
    }

    #[test]
    fn new_rejects_bad_configs() {
        assert!(Stream::in_memory(StreamConfig::new("clicks", 0)).is_err());
        assert!(Stream::in_memory(StreamConfig::new("no spaces", 1)).is_err());
        assert!(Stream::in_memory(StreamConfig::new("", 1)).is_err());
        let error = Stream::new(
            StreamConfig::new("clicks", 2),
            Box::new(MemoryStore::new(3)),
        )
        .err()
        .expect("mismatch");
        assert!(
            error.message.contains("its store holds 3"),
            "{}",
            error.message
        );
        let stream = stream(3);
        assert_eq!(
            stream.shard_ids(),
            [
                "shardId-000000000000",
                "shardId-000000000001",
                "shardId-000000000002"
            ]
        );
        assert_eq!(stream.name(), "clicks");
    }
}
