//! The delivery loop every non-S3 destination shares: buffers become batches with their records
//! and arrival times, failing attempts are retried for the retry duration and no longer, what
//! is left goes to the error output, `backup: all` copies every batch, and every record is
//! counted once as delivered or failed.

use std::io::Read as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use kin_runtime::destinations::{
    Attempt, BackupMode, Batch, DeliverySettings, Destination, DestinationFirehose, ErrorOutput,
    Failure, RetryPolicy,
};
use kin_runtime::s3::{MemorySink, StoredObject};
use serde_json::Value;

/// 2024-05-01T10:00:00Z.
const T0: i64 = 1_714_557_600_000;

/// Records a destination accepted, with their arrival times.
type Accepted = Arc<Mutex<Vec<(Vec<u8>, i64)>>>;

/// A destination that is down until a time, refuses records containing "bad" for good, and
/// keeps what it accepts.
struct Flaky {
    down_until: Instant,
    accepted: Accepted,
    attempts: Arc<Mutex<Vec<Instant>>>,
}

impl Destination for Flaky {
    fn kind(&self) -> &'static str {
        "flaky"
    }

    fn error_output(&self) -> ErrorOutput {
        ErrorOutput::Records {
            output_type: "http-endpoint-failed",
        }
    }

    fn attempt(&mut self, batch: &Batch, pending: &[usize]) -> Attempt {
        self.attempts.lock().expect("lock").push(Instant::now());
        if Instant::now() < self.down_until {
            return Attempt::Failed(Failure::new("Flaky.Down", "connection refused"));
        }
        let mut outcomes = Vec::new();
        for &i in pending {
            let data = batch.data(i);
            if String::from_utf8_lossy(data).contains("bad") {
                outcomes.push(Some((Failure::new("Flaky.Rejected", "bad record"), false)));
            } else {
                let arrival = batch.records[i].arrival_ms;
                self.accepted
                    .lock()
                    .expect("lock")
                    .push((data.to_vec(), arrival));
                outcomes.push(None);
            }
        }
        Attempt::PerRecord(outcomes)
    }
}

struct Setup {
    firehose: DestinationFirehose,
    sink: MemorySink,
    accepted: Accepted,
    attempts: Arc<Mutex<Vec<Instant>>>,
}

fn setup(down_for: Duration, retry: Duration, backup: BackupMode, buffer_bytes: u64) -> Setup {
    let mut settings = DeliverySettings::new("orders", buffer_bytes, 60_000);
    settings.retry = RetryPolicy {
        duration: retry,
        first_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
    };
    settings.backup = backup;
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let attempts = Arc::new(Mutex::new(Vec::new()));
    let destination = Flaky {
        down_until: Instant::now() + down_for,
        accepted: accepted.clone(),
        attempts: attempts.clone(),
    };
    let sink = MemorySink::new();
    let firehose = DestinationFirehose::with_destination(
        settings,
        Box::new(destination),
        "kin-firehose",
        Box::new(sink.clone()),
    )
    .expect("valid");
    Setup {
        firehose,
        sink,
        accepted,
        attempts,
    }
}

fn record(i: usize) -> Vec<u8> {
    format!(
        "{{\"order\":{i},\"note\":\"{}\"}}\n",
        if i % 10 == 7 { "bad" } else { "ok" }
    )
    .into_bytes()
}

/// The error records of every object under `NAME/TYPE/`: (rawData, errorCode, attemptsMade).
fn error_records(objects: &[StoredObject], output_type: &str) -> Vec<(Vec<u8>, String, u64)> {
    let prefix = format!("orders/{output_type}/");
    let mut out = Vec::new();
    for object in objects.iter().filter(|o| o.key.starts_with(&prefix)) {
        assert_eq!(object.bucket, "kin-firehose");
        for line in String::from_utf8_lossy(&object.body).lines() {
            let value: Value = serde_json::from_str(line).expect("an error record is JSON");
            for field in [
                "attemptsMade",
                "arrivalTimestamp",
                "errorCode",
                "errorMessage",
                "attemptEndingTimestamp",
                "rawData",
            ] {
                assert!(value.get(field).is_some(), "{field} missing in {line}");
            }
            let raw = base64::engine::general_purpose::STANDARD
                .decode(value["rawData"].as_str().expect("string"))
                .expect("base64");
            out.push((
                raw,
                value["errorCode"].as_str().unwrap_or_default().to_string(),
                value["attemptsMade"].as_u64().unwrap_or_default(),
            ));
        }
    }
    out
}

#[test]
fn a_destination_down_for_less_than_the_retry_duration_gets_every_record() {
    let mut s = setup(
        Duration::from_millis(400),
        Duration::from_secs(5),
        BackupMode::Failed,
        1000,
    );
    let records: Vec<Vec<u8>> = (0..100).map(record).collect();
    for (i, r) in records.iter().enumerate() {
        s.firehose.put(r, T0 + i as i64).expect("put");
    }
    s.firehose.flush(T0 + 1000).expect("flush");
    let (buffering, delivery) = s.firehose.counters();
    assert_eq!(buffering.records_in, 100);
    let good: Vec<&Vec<u8>> = records
        .iter()
        .filter(|r| !String::from_utf8_lossy(r).contains("bad"))
        .collect();
    let accepted = s.accepted.lock().expect("lock").clone();
    assert_eq!(accepted.len(), good.len());
    for ((data, arrival), want) in accepted.iter().zip(&good) {
        assert_eq!(data, *want);
        let i: usize = serde_json::from_slice::<Value>(data).expect("json")["order"]
            .as_u64()
            .expect("order") as usize;
        assert_eq!(*arrival, T0 + i as i64, "arrival times travel with records");
    }
    assert_eq!(delivery.records_delivered, 90);
    assert_eq!(delivery.records_failed, 10);
    assert!(delivery.retries >= 1, "{delivery:?}");
    assert_eq!(
        delivery.batches, 3,
        "1000-byte buffers of ~2,500 bytes: {delivery:?}"
    );
    let failed = error_records(&s.sink.objects(), "http-endpoint-failed");
    assert_eq!(failed.len(), 10);
    assert!(failed
        .iter()
        .all(|(raw, code, _)| code == "Flaky.Rejected"
            && String::from_utf8_lossy(raw).contains("bad")));
}

#[test]
fn a_destination_down_for_longer_sends_every_record_to_the_error_output() {
    let retry = Duration::from_millis(600);
    let mut s = setup(
        Duration::from_secs(3600),
        retry,
        BackupMode::Failed,
        1 << 20,
    );
    let records: Vec<Vec<u8>> = (0..50).map(record).collect();
    for (i, r) in records.iter().enumerate() {
        s.firehose.put(r, T0 + i as i64).expect("put");
    }
    let started = Instant::now();
    s.firehose.flush(T0 + 1000).expect("flush");
    let took = started.elapsed();
    assert!(
        took >= retry && took < retry + Duration::from_millis(400),
        "{took:?}"
    );
    let attempts = s.attempts.lock().expect("lock").clone();
    assert!(
        attempts.len() >= 3,
        "retried with backoff: {}",
        attempts.len()
    );
    let last = *attempts.last().expect("attempts");
    assert!(last - attempts[0] >= retry - Duration::from_millis(20));
    let (_, delivery) = s.firehose.counters();
    assert_eq!(delivery.records_delivered, 0);
    assert_eq!(delivery.records_failed, 50);
    let failed = error_records(&s.sink.objects(), "http-endpoint-failed");
    let raws: Vec<Vec<u8>> = failed.iter().map(|(r, _, _)| r.clone()).collect();
    assert_eq!(raws, records, "every record, in order, as error records");
    assert!(failed
        .iter()
        .all(|(_, code, attempts)| code == "Flaky.Down" && *attempts as usize == attempts_len(&s)));
}

fn attempts_len(s: &Setup) -> usize {
    s.attempts.lock().expect("lock").len()
}

#[test]
fn a_zero_retry_duration_makes_one_attempt() {
    let mut s = setup(
        Duration::from_secs(3600),
        Duration::ZERO,
        BackupMode::Failed,
        1 << 20,
    );
    s.firehose.put(&record(1), T0).expect("put");
    s.firehose.flush(T0).expect("flush");
    assert_eq!(attempts_len(&s), 1);
    assert_eq!(s.firehose.counters().1.records_failed, 1);
}

#[test]
fn backup_all_copies_every_batch_gzipped() {
    let mut s = setup(
        Duration::ZERO,
        Duration::from_secs(1),
        BackupMode::All,
        1 << 20,
    );
    let records: Vec<Vec<u8>> = (0..20).map(record).collect();
    for r in &records {
        s.firehose.put(r, T0).expect("put");
    }
    s.firehose.flush(T0).expect("flush");
    let objects = s.sink.objects();
    let copies: Vec<&StoredObject> = objects
        .iter()
        .filter(|o| {
            o.key
                .starts_with("orders/2024/05/01/10/orders-1-2024-05-01-10-00-00-")
        })
        .collect();
    assert_eq!(copies.len(), 1, "{objects:?}");
    assert!(copies[0].key.ends_with(".gz"));
    let mut text = Vec::new();
    flate2::read::GzDecoder::new(&copies[0].body[..])
        .read_to_end(&mut text)
        .expect("gzip");
    assert_eq!(text, records.concat());
    let (_, delivery) = s.firehose.counters();
    assert_eq!(delivery.records_backed_up, 20);
    assert_eq!(delivery.records_delivered + delivery.records_failed, 20);
    assert_eq!(error_records(&objects, "http-endpoint-failed").len(), 2);
}

#[test]
fn records_over_the_limit_and_failed_ones_are_counted_apart() {
    let mut s = setup(
        Duration::ZERO,
        Duration::from_secs(1),
        BackupMode::Failed,
        1 << 20,
    );
    let big = vec![b'x'; 1000 * 1024 + 1];
    s.firehose.put(&record(0), T0).expect("put");
    s.firehose.put(&big, T0 + 1).expect("put");
    s.firehose.put(&record(2), T0 + 2).expect("put");
    s.firehose.flush(T0 + 3).expect("flush");
    let (buffering, delivery) = s.firehose.counters();
    assert_eq!(buffering.records_in, 3);
    assert_eq!(buffering.errors, 1, "RecordTooLarge");
    assert_eq!(delivery.records_delivered, 2);
    let objects = s.sink.objects();
    let too_large = objects
        .iter()
        .filter(|o| o.key.starts_with("orders/processing-failed/2024/05/01/"))
        .count();
    assert_eq!(too_large, 1, "{objects:?}");
}
