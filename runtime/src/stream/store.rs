//! Where a stream keeps its records and its consumers' positions: the [`StreamStore`] trait and
//! the in-memory [`MemoryStore`].

use super::*;

/// A record handed to a store, which assigns its offset.
#[derive(Clone, Debug)]
pub struct NewRecord {
    pub partition_key: PartitionKey,
    pub data: Bytes,
    pub fields: Option<FieldMap>,
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
    /// consecutively. `arrival_ms` is raised to the shard's last arrival if it is older. A store
    /// that cannot append gives the records back with the error, so nothing is lost.
    fn append(
        &self,
        shard: usize,
        arrival_ms: i64,
        records: Vec<NewRecord>,
    ) -> Result<u64, (StoreError, Vec<NewRecord>)>;
    /// Lends up to `max_records` records of `shard`, starting at `from_offset` (or the earliest
    /// retained one if that was trimmed), to `visit`, in order. A reader that only copies what
    /// it needs out of each record pays for no clone of it.
    fn read_with(
        &self,
        shard: usize,
        from_offset: u64,
        max_records: usize,
        visit: &mut dyn FnMut(&StoredRecord),
    ) -> Result<ReadProgress, StoreError>;
    /// [`StreamStore::read_with`], appending clones of the records to `out`.
    fn read_into(
        &self,
        shard: usize,
        from_offset: u64,
        max_records: usize,
        out: &mut Vec<StoredRecord>,
    ) -> Result<ReadProgress, StoreError> {
        self.read_with(shard, from_offset, max_records, &mut |record| {
            out.push(record.clone())
        })
    }
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
    ) -> Result<u64, (StoreError, Vec<NewRecord>)> {
        match self.shard(shard) {
            Ok(mut log) => Ok(log.append(shard, arrival_ms, records)),
            Err(e) => Err((e, records)),
        }
    }

    fn read_with(
        &self,
        shard: usize,
        from_offset: u64,
        max_records: usize,
        visit: &mut dyn FnMut(&StoredRecord),
    ) -> Result<ReadProgress, StoreError> {
        Ok(self
            .shard(shard)?
            .read_with(from_offset, max_records, visit))
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
                        fields: record.fields,
                        arrival_ms,
                    }),
            );
        first
    }

    fn read_with(
        &self,
        from_offset: u64,
        max_records: usize,
        visit: &mut dyn FnMut(&StoredRecord),
    ) -> ReadProgress {
        let start = from_offset.max(self.first_offset);
        let skip = usize::try_from(start - self.first_offset)
            .unwrap_or(usize::MAX)
            .min(self.records.len());
        let take = max_records.min(self.records.len() - skip);
        self.records.range(skip..skip + take).for_each(visit);
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
