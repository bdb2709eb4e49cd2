//! Named consumers: each reads every record of its stream, shard by shard, from its own saved
//! positions.

use super::*;

/// A named reader of every shard; two consumers of one stream each get every record.
pub struct Consumer {
    pub(super) stream: Arc<Stream>,
    pub(super) name: String,
    /// The next offset to read in each shard.
    pub(super) positions: Vec<u64>,
    /// The shard the next poll starts with, so no shard always goes first.
    pub(super) next_shard: usize,
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
        let mut records = Vec::new();
        self.poll_with(max_records, &mut |record| records.push(record.clone()))?;
        Ok(records)
    }

    /// [`Consumer::poll`], lending each record to `visit` (in the order `poll` returns them)
    /// instead of cloning it; returns how many it visited.
    pub fn poll_with(
        &mut self,
        max_records: usize,
        visit: &mut dyn FnMut(&StoredRecord),
    ) -> Result<usize, StreamError> {
        let shards = self.positions.len();
        let mut read = 0;
        if max_records == 0 || shards == 0 {
            return Ok(read);
        }
        let mut positions = self.positions.clone();
        let share = max_records.div_ceil(shards);
        for pass_share in [share, max_records] {
            let mut some_shard_filled_its_share = false;
            for step in 0..shards {
                let remaining = max_records - read;
                if remaining == 0 {
                    break;
                }
                let shard = (self.next_shard + step) % shards;
                let wanted = pass_share.min(remaining);
                let mut visited = 0;
                positions[shard] = self
                    .stream
                    .store
                    .read_with(shard, positions[shard], wanted, &mut |record| {
                        visited += 1;
                        visit(record)
                    })?
                    .next_offset;
                read += visited;
                some_shard_filled_its_share |= visited == wanted;
            }
            if !some_shard_filled_its_share || read == max_records {
                break;
            }
        }
        self.next_shard = (self.next_shard + 1) % shards;
        if positions != self.positions {
            self.stream.store.save_positions(&self.name, &positions)?;
            self.positions = positions;
        }
        Ok(read)
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
