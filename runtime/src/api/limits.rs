//! `--enforce-limits`: Kinesis's per-shard quotas as token buckets. Writes: 1 MiB/s and 1,000
//! records/s per shard (a record counts its partition key + data). Reads: 5 GetRecords calls/s
//! and 2 MiB/s per shard; a read may overdraw the byte budget (one call returns up to 10 MiB),
//! and the shard's next reads are refused until the debt is repaid, as AWS throttles them.

use std::sync::{Mutex, PoisonError};

pub const WRITE_BYTES_PER_SEC: f64 = 1024.0 * 1024.0;
pub const WRITE_RECORDS_PER_SEC: f64 = 1000.0;
pub const READ_CALLS_PER_SEC: f64 = 5.0;
pub const READ_BYTES_PER_SEC: f64 = 2.0 * 1024.0 * 1024.0;

/// A bucket that holds at most one second's worth and refills continuously.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    per_sec: f64,
}

impl Bucket {
    fn full(per_sec: f64) -> Bucket {
        Bucket {
            tokens: per_sec,
            per_sec,
        }
    }

    fn refill(&mut self, elapsed_ms: f64) {
        self.tokens = (self.tokens + self.per_sec * elapsed_ms / 1000.0).min(self.per_sec);
    }
}

/// One shard's write and read budgets.
#[derive(Debug)]
struct ShardBudget {
    last_ms: f64,
    write_bytes: Bucket,
    write_records: Bucket,
    read_calls: Bucket,
    read_bytes: Bucket,
}

impl ShardBudget {
    fn new(now_ms: f64) -> ShardBudget {
        ShardBudget {
            last_ms: now_ms,
            write_bytes: Bucket::full(WRITE_BYTES_PER_SEC),
            write_records: Bucket::full(WRITE_RECORDS_PER_SEC),
            read_calls: Bucket::full(READ_CALLS_PER_SEC),
            read_bytes: Bucket::full(READ_BYTES_PER_SEC),
        }
    }

    fn refill(&mut self, now_ms: f64) {
        let elapsed = (now_ms - self.last_ms).max(0.0);
        self.last_ms = self.last_ms.max(now_ms);
        for bucket in [
            &mut self.write_bytes,
            &mut self.write_records,
            &mut self.read_calls,
            &mut self.read_bytes,
        ] {
            bucket.refill(elapsed);
        }
    }
}

/// The budgets of one stream's shards.
#[derive(Debug)]
pub struct StreamLimits {
    shards: Vec<Mutex<ShardBudget>>,
}

impl StreamLimits {
    pub fn new(shards: usize, now_ms: f64) -> StreamLimits {
        StreamLimits {
            shards: (0..shards)
                .map(|_| Mutex::new(ShardBudget::new(now_ms)))
                .collect(),
        }
    }

    fn with<T>(
        &self,
        shard: usize,
        now_ms: f64,
        f: impl FnOnce(&mut ShardBudget) -> T,
    ) -> Option<T> {
        let budget = self.shards.get(shard)?;
        let mut budget = budget.lock().unwrap_or_else(PoisonError::into_inner);
        budget.refill(now_ms);
        Some(f(&mut budget))
    }

    /// Takes one record of `bytes` from the shard's write budget; false if it is exceeded.
    pub fn try_write(&self, shard: usize, bytes: usize, now_ms: f64) -> bool {
        self.with(shard, now_ms, |b| {
            let fits = b.write_records.tokens >= 1.0 && b.write_bytes.tokens >= bytes as f64;
            if fits {
                b.write_records.tokens -= 1.0;
                b.write_bytes.tokens -= bytes as f64;
            }
            fits
        })
        .unwrap_or(true)
    }

    /// Takes one GetRecords call from the shard's read budget; false if calls or bytes are
    /// exhausted.
    pub fn try_read(&self, shard: usize, now_ms: f64) -> bool {
        self.with(shard, now_ms, |b| {
            let fits = b.read_calls.tokens >= 1.0 && b.read_bytes.tokens >= 0.0;
            if fits {
                b.read_calls.tokens -= 1.0;
            }
            fits
        })
        .unwrap_or(true)
    }

    /// Charges the bytes a read returned (partition keys + data).
    pub fn charge_read(&self, shard: usize, bytes: usize, now_ms: f64) {
        self.with(shard, now_ms, |b| b.read_bytes.tokens -= bytes as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: usize = 1024 * 1024;

    #[test]
    fn writes_allow_a_second_of_records_or_bytes_per_shard() {
        let limits = StreamLimits::new(2, 0.0);
        assert_eq!(
            (0..1200).filter(|_| limits.try_write(0, 10, 0.0)).count(),
            1000
        );
        // Another shard has its own budget.
        assert!(limits.try_write(1, 10, 0.0));
        // Half a second later, half the records are back.
        assert_eq!(
            (0..1000).filter(|_| limits.try_write(0, 10, 500.0)).count(),
            500
        );
        let bytes = StreamLimits::new(1, 0.0);
        assert!(bytes.try_write(0, 600 * 1024, 0.0));
        assert!(!bytes.try_write(0, 600 * 1024, 0.0));
        assert!(bytes.try_write(0, 400 * 1024, 0.0));
        assert!(bytes.try_write(0, 600 * 1024, 1000.0));
        // Never more than one second's worth accumulates.
        assert!(bytes.try_write(0, MIB, 60_000.0));
        assert!(!bytes.try_write(0, 1, 60_000.0));
    }

    #[test]
    fn reads_allow_five_calls_per_second_and_repay_big_reads() {
        let limits = StreamLimits::new(1, 0.0);
        assert_eq!((0..8).filter(|_| limits.try_read(0, 0.0)).count(), 5);
        assert!(limits.try_read(0, 200.0));
        limits.charge_read(0, 10 * MIB, 200.0);
        // 10 MiB against 2 MiB/s: refused until about 4 s later.
        assert!(!limits.try_read(0, 3_000.0));
        assert!(limits.try_read(0, 4_300.0));
        // Unknown shards are not limited (the caller reports them).
        assert!(limits.try_read(5, 0.0));
    }
}
