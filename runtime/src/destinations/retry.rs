//! The delivery loop Firehose runs for each batch: attempt, back off, retry the records still
//! failing until the retry duration has passed since the first attempt, then send what is left
//! to the error output. See the [module documentation](super) for the steps.

use std::io;
use std::thread;
use std::time::{Duration, Instant};

use super::backup::{error_line, Backup, S3Writer};
use super::{
    Attempt, BackupMode, Batch, Destination, DestinationStats, ErrorOutput, Failure, Outcomes,
};

/// How long and how often a failing batch is retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// `retry_duration`: retries stop this long after the first attempt (`0`: no retry). Each
    /// retry waits its backoff, but never past this point: the last one happens at it.
    pub duration: Duration,
    /// The wait before the first retry; doubled after each, up to `max_backoff`.
    pub first_backoff: Duration,
    pub max_backoff: Duration,
}

impl RetryPolicy {
    /// Backoff from 250 ms doubling up to 10 s.
    pub fn new(duration: Duration) -> RetryPolicy {
        RetryPolicy {
            duration,
            first_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(10),
        }
    }
}

/// A destination with its retry policy, backup bucket and counters. One batch at a time, as
/// Firehose starts a delivery when the previous one has finished.
pub struct Deliverer {
    pub(crate) destination: Box<dyn Destination>,
    pub(crate) retry: RetryPolicy,
    pub(crate) backup_mode: BackupMode,
    pub(crate) backup: Backup,
    pub(crate) s3: S3Writer,
    pub(crate) stats: std::sync::Arc<DestinationStats>,
}

/// A record that was not delivered: its index, why, and after how many attempts.
struct Undelivered {
    index: usize,
    failure: Failure,
    attempts: u32,
}

impl Deliverer {
    /// Delivers one batch; an error only when S3 (staging, backup or error output) could not be
    /// written, and then the batch has not been counted.
    pub fn deliver(&mut self, batch: &Batch) -> io::Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        self.destination.prepare(batch, &mut self.s3)?;
        if self.backup_mode == BackupMode::All {
            self.backup.write_all(&mut self.s3, batch, &self.stats)?;
        }
        DestinationStats::add(&self.stats.batches, 1);
        let (undelivered, ended_ms) = self.attempt_until_deadline(batch);
        if !undelivered.is_empty() {
            self.write_error_output(batch, &undelivered, ended_ms)?;
        }
        Ok(())
    }

    /// Attempts until every record is delivered or the retry duration has passed.
    fn attempt_until_deadline(&mut self, batch: &Batch) -> (Vec<Undelivered>, i64) {
        let started = Instant::now();
        let deadline = started + self.retry.duration;
        let mut pending: Vec<usize> = (0..batch.len()).collect();
        let mut failed: Vec<Undelivered> = Vec::new();
        let mut backoff = self.retry.first_backoff;
        let mut attempts = 0u32;
        let last = loop {
            attempts += 1;
            DestinationStats::add(&self.stats.attempts, 1);
            if attempts > 1 {
                DestinationStats::add(&self.stats.retries, 1);
            }
            let result = self.destination.attempt(batch, &pending);
            let (still, why) = self.sort_out(batch, &pending, result, attempts, &mut failed);
            pending = still;
            let now = Instant::now();
            if pending.is_empty() || now >= deadline {
                break why;
            }
            let wait = backoff.min(deadline - now);
            thread::sleep(wait);
            backoff = (backoff * 2).min(self.retry.max_backoff);
        };
        for (index, failure) in pending.into_iter().zip(last) {
            failed.push(Undelivered {
                index,
                failure,
                attempts,
            });
        }
        failed.sort_by_key(|u| u.index);
        (failed, crate::producer::now_ms())
    }

    /// Counts what an attempt delivered; returns the records to retry and why each failed.
    fn sort_out(
        &self,
        batch: &Batch,
        pending: &[usize],
        result: Attempt,
        attempts: u32,
        failed: &mut Vec<Undelivered>,
    ) -> (Vec<usize>, Vec<Failure>) {
        let outcomes: Outcomes = match result {
            Attempt::Delivered => vec![None; pending.len()],
            Attempt::Failed(failure) => vec![Some((failure, true)); pending.len()],
            Attempt::PerRecord(outcomes) if outcomes.len() == pending.len() => outcomes,
            Attempt::PerRecord(outcomes) => {
                let failure = Failure::new(
                    "kin.InternalError",
                    format!(
                        "{} answered for {} records, {} were sent",
                        self.destination.kind(),
                        outcomes.len(),
                        pending.len()
                    ),
                );
                vec![Some((failure, true)); pending.len()]
            }
        };
        let mut retry = Vec::new();
        let mut why = Vec::new();
        let (mut records, mut bytes) = (0u64, 0u64);
        for (&index, outcome) in pending.iter().zip(outcomes) {
            match outcome {
                None => {
                    records += 1;
                    bytes += batch.data(index).len() as u64;
                }
                Some((failure, true)) => {
                    retry.push(index);
                    why.push(failure);
                }
                Some((failure, false)) => failed.push(Undelivered {
                    index,
                    failure,
                    attempts,
                }),
            }
        }
        DestinationStats::add(&self.stats.records_delivered, records);
        DestinationStats::add(&self.stats.bytes_delivered, bytes);
        (retry, why)
    }

    fn write_error_output(
        &mut self,
        batch: &Batch,
        undelivered: &[Undelivered],
        ended_ms: i64,
    ) -> io::Result<()> {
        match self.destination.error_output() {
            ErrorOutput::Records { output_type } => {
                let mut lines = Vec::new();
                for u in undelivered {
                    let arrival_ms = batch.records.get(u.index).map_or(0, |r| r.arrival_ms);
                    lines.extend(error_line(
                        batch.data(u.index),
                        arrival_ms,
                        u.attempts,
                        &u.failure.code,
                        &u.failure.message,
                        ended_ms,
                        self.destination.error_fields(batch, u.index),
                    ));
                }
                let oldest = undelivered
                    .iter()
                    .filter_map(|u| batch.records.get(u.index))
                    .map(|r| r.arrival_ms)
                    .min()
                    .unwrap_or(ended_ms);
                self.backup
                    .write_errors(&mut self.s3, output_type, oldest, &lines)?;
            }
            ErrorOutput::Manifest => {
                let objects: Vec<(String, String)> =
                    self.destination.staged_object(batch).into_iter().collect();
                self.backup
                    .write_manifest(&mut self.s3, batch.oldest_ms(), &objects)?;
                DestinationStats::add(&self.stats.manifests, 1);
                if let Some(u) = undelivered.first() {
                    eprintln!(
                        "warning: {} skipped {} records after {} attempts ({}); {}",
                        self.destination.kind(),
                        undelivered.len(),
                        u.attempts,
                        u.failure,
                        objects
                            .iter()
                            .map(|(b, k)| format!("s3://{b}/{k}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                }
            }
        }
        DestinationStats::add(&self.stats.records_failed, undelivered.len() as u64);
        Ok(())
    }
}
