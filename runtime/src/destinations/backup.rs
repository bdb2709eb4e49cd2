//! Writing a destination's objects to S3 — staged Redshift batches, `backup: all` copies, error
//! records and skipped-object manifests — with encryption when the firehose has it, and with
//! retries: Firehose keeps retrying S3 (up to 24 hours) and pauses the delivery stream
//! meanwhile; kin retries for [`S3Writer::retry_for`] (default 60 s), then reports the error,
//! which stops the firehose with every undelivered record still in its buffer.

use std::io;
use std::thread;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::encrypt::{encrypt, LocalKey};
use crate::s3::{ObjectNamer, ObjectSink};

use super::{Batch, DestinationStats};

/// Puts objects into S3 (a local directory or an S3-compatible endpoint).
pub struct S3Writer {
    sink: Box<dyn ObjectSink>,
    encryption: Option<LocalKey>,
    /// How long a failing put is retried before the error is returned.
    pub retry_for: Duration,
}

impl S3Writer {
    pub fn new(sink: Box<dyn ObjectSink>, encryption: Option<LocalKey>) -> S3Writer {
        S3Writer {
            sink,
            encryption,
            retry_for: Duration::from_secs(60),
        }
    }

    /// Encrypts (when configured) and writes one object, retrying with backoff; returns the
    /// bytes stored.
    pub fn put(&mut self, bucket: &str, key: &str, body: &[u8]) -> io::Result<u64> {
        let sealed;
        let body = match &self.encryption {
            Some(master) => {
                sealed = encrypt(master, body).map_err(|e| io::Error::other(e.to_string()))?;
                &sealed[..]
            }
            None => body,
        };
        self.put_sealed(bucket, key, body)?;
        Ok(body.len() as u64)
    }

    /// Writes bytes as they are (already encrypted, or never to be).
    pub fn put_sealed(&mut self, bucket: &str, key: &str, body: &[u8]) -> io::Result<()> {
        let started = Instant::now();
        let mut wait = Duration::from_millis(100);
        loop {
            match self.sink.put_object(bucket, key, body) {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::InvalidInput => return Err(e),
                Err(e) if started.elapsed() + wait > self.retry_for => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!("cannot write s3://{bucket}/{key}: {e}"),
                    ))
                }
                Err(_) => {
                    thread::sleep(wait);
                    wait = (wait * 2).min(Duration::from_secs(5));
                }
            }
        }
    }
}

/// Firehose's record of a failed delivery, as it writes them under the error prefix:
/// `attemptsMade`, `arrivalTimestamp`, `errorCode`, `errorMessage`, `attemptEndingTimestamp`,
/// `rawData` (base64), then the destination's own fields.
pub(crate) fn error_line(
    data: &[u8],
    arrival_ms: i64,
    attempts: u32,
    code: &str,
    message: &str,
    ended_ms: i64,
    extra: Map<String, Value>,
) -> Vec<u8> {
    let mut record = Map::new();
    record.insert("attemptsMade".into(), Value::from(attempts));
    record.insert("arrivalTimestamp".into(), Value::from(arrival_ms));
    record.insert("errorCode".into(), Value::from(code));
    record.insert("errorMessage".into(), Value::from(message));
    record.insert("attemptEndingTimestamp".into(), Value::from(ended_ms));
    record.insert(
        "rawData".into(),
        Value::from(base64::engine::general_purpose::STANDARD.encode(data)),
    );
    record.extend(extra);
    let mut line = serde_json::to_vec(&Value::Object(record)).unwrap_or_default();
    line.push(b'\n');
    line
}

/// The backup bucket of one delivery stream: `backup: all` copies of batches (GZIP, as kin's
/// Terraform configures the backup) and error objects, named as Firehose names them.
pub(crate) struct Backup {
    pub bucket: String,
    pub namer: ObjectNamer,
    /// Names error objects that have no error-output type of their own (Redshift manifests).
    pub manifest_namer: ObjectNamer,
}

impl Backup {
    /// Writes every record of `batch` as one GZIP object under the backup prefix.
    pub fn write_all(
        &self,
        s3: &mut S3Writer,
        batch: &Batch,
        stats: &DestinationStats,
    ) -> io::Result<()> {
        let key = self
            .namer
            .data_key(batch.oldest_ms(), &[])
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.message))?;
        let body = crate::compress::Compression::Gzip
            .compress(&batch.body)
            .map_err(|e| io::Error::other(e.to_string()))?;
        s3.put(&self.bucket, &key, &body)?;
        DestinationStats::add(&stats.records_backed_up, batch.len() as u64);
        Ok(())
    }

    /// Writes error records (JSON lines) as one object of `output_type`.
    pub fn write_errors(
        &self,
        s3: &mut S3Writer,
        output_type: &str,
        oldest_ms: i64,
        lines: &[u8],
    ) -> io::Result<String> {
        let key = self
            .namer
            .error_key(oldest_ms, output_type)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.message))?;
        s3.put(&self.bucket, &key, lines)?;
        Ok(key)
    }

    /// Writes a Redshift COPY manifest listing `objects` (bucket, key) under
    /// `<prefix>errors/manifests/yyyy/MM/dd/HH/`.
    pub fn write_manifest(
        &self,
        s3: &mut S3Writer,
        oldest_ms: i64,
        objects: &[(String, String)],
    ) -> io::Result<String> {
        let entries: Vec<Value> = objects
            .iter()
            .map(|(bucket, key)| {
                serde_json::json!({"url": format!("s3://{bucket}/{key}"), "mandatory": true})
            })
            .collect();
        let body = serde_json::to_vec(&serde_json::json!({ "entries": entries }))
            .map_err(|e| io::Error::other(e.to_string()))?;
        let key = self
            .manifest_namer
            .error_key(oldest_ms, "manifests")
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.message))?;
        s3.put(&self.bucket, &key, &body)?;
        Ok(key)
    }
}
