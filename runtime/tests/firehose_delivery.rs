//! A Firehose delivery stream driven with explicit times: size and interval thresholds at their
//! edges, per-partition buffers, the error output, retries after a failed write, and objects
//! decoded back (gzip, zip, encryption) to exactly the records put.

use std::io::Read as _;

use base64::Engine as _;
use kin_runtime::compress::Compression;
use kin_runtime::encrypt::{decrypt, LocalKey};
use kin_runtime::firehose::{
    DeliveryError, Firehose, FirehoseConfig, FirehoseCounters, ACTIVE_PARTITIONS_LIMIT_EXCEEDED,
    MAX_ACTIVE_PARTITIONS, MAX_RECORD_BYTES, METADATA_EXTRACTION_FAILED, RECORD_TOO_LARGE,
};
use kin_runtime::s3::{LocalDirSink, MemorySink, ObjectSink, StoredObject};

/// 2019-08-09T20:55:09Z.
const T0: i64 = 1_565_384_109_000;
const MINUTE: i64 = 60_000;

fn config(buffer_bytes: u64, interval_ms: u64) -> FirehoseConfig {
    FirehoseConfig {
        name: "archive".into(),
        buffer_bytes,
        buffer_interval_ms: interval_ms,
        compression: Compression::None,
        encryption: None,
        bucket: "acme-archive".into(),
        prefix: Some("raw/".into()),
        error_prefix: Some("errors/!{firehose:error-output-type}/".into()),
        partition_keys: Vec::new(),
    }
}

fn firehose(config: FirehoseConfig) -> (Firehose, MemorySink) {
    let sink = MemorySink::new();
    let firehose = Firehose::new(config, Box::new(sink.clone())).expect("valid config");
    (firehose, sink)
}

fn record(i: usize, len: usize) -> Vec<u8> {
    let mut r = format!("{{\"id\":{i}").into_bytes();
    r.resize(len - 2, b' ');
    r.extend_from_slice(b"}\n");
    r
}

fn values(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Records + buffered + errors always account for every record put.
fn assert_balanced(c: FirehoseCounters) {
    assert_eq!(
        c.records_in,
        c.records_delivered + c.records_buffered + c.errors,
        "{c:?}"
    );
}

fn error_lines(object: &StoredObject) -> Vec<serde_json::Value> {
    object
        .body
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).expect("json line"))
        .collect()
}

#[test]
fn size_threshold_delivers_at_the_size_not_below() {
    let (mut f, sink) = firehose(config(100, 3_600_000));
    for i in 0..9 {
        f.put(&record(i, 10), None, T0).expect("put");
    }
    f.put(&record(9, 9), None, T0).expect("put");
    assert!(sink.objects().is_empty(), "99 bytes stay buffered");
    assert_eq!(f.counters().bytes_buffered, 99);
    f.put(b"\n", None, T0).expect("put");
    assert_eq!(sink.objects().len(), 1, "100 bytes deliver");
    assert_eq!(sink.objects()[0].body.len(), 100);
    for i in 0..9 {
        f.put(&record(i, 10), None, T0).expect("put");
    }
    f.put(&record(9, 15), None, T0).expect("put");
    let objects = sink.objects();
    assert_eq!(
        objects.len(),
        2,
        "a record crossing the size is delivered with its buffer"
    );
    assert_eq!(objects[1].body.len(), 105);
    assert_eq!(f.counters().bytes_buffered, 0);
    assert_balanced(f.counters());
}

#[test]
fn interval_runs_from_the_first_record() {
    let (mut f, sink) = firehose(config(1 << 20, 60_000));
    f.put(&record(1, 20), None, T0).expect("put");
    f.put(&record(2, 20), None, T0 + 30_000).expect("put");
    f.tick(T0 + 59_999).expect("tick");
    assert!(sink.objects().is_empty(), "not yet");
    f.tick(T0 + 60_000).expect("tick");
    let objects = sink.objects();
    assert_eq!(objects.len(), 1);
    assert!(
        objects[0]
            .key
            .starts_with("raw/2019/08/09/20/archive-1-2019-08-09-20-55-09-"),
        "{}",
        objects[0].key
    );
    assert_eq!(objects[0].bucket, "acme-archive");
    f.tick(T0 + 10 * MINUTE).expect("tick");
    assert_eq!(sink.objects().len(), 1, "an empty stream delivers nothing");
}

#[test]
fn zero_interval_delivers_at_the_next_tick_and_flush_ignores_the_interval() {
    let (mut f, sink) = firehose(config(1 << 20, 0));
    f.put(b"a\n", None, T0).expect("put");
    f.tick(T0).expect("tick");
    assert_eq!(sink.objects().len(), 1, "zero buffering");
    let (mut f, sink) = firehose(config(u64::MAX, u64::MAX));
    f.put(b"a\n", None, T0).expect("put");
    f.tick(i64::MAX).expect("tick");
    assert!(sink.objects().is_empty());
    f.flush(T0).expect("flush");
    assert_eq!(sink.objects().len(), 1);
}

#[test]
fn whichever_threshold_comes_first() {
    let (mut f, sink) = firehose(config(100, 60_000));
    f.put(&record(1, 60), None, T0).expect("put");
    f.put(&record(2, 60), None, T0 + 1_000).expect("put");
    assert_eq!(sink.objects().len(), 1, "size first");
    f.put(&record(3, 60), None, T0 + 2_000).expect("put");
    f.tick(T0 + 62_000).expect("tick");
    assert_eq!(sink.objects().len(), 2, "interval first");
    assert_eq!(sink.objects()[1].body, record(3, 60));
}

#[test]
fn a_record_after_the_interval_starts_a_new_object() {
    let (mut f, sink) = firehose(config(1 << 20, 60_000));
    f.put(b"a\n", None, T0).expect("put");
    f.put(b"b\n", None, T0 + MINUTE).expect("put");
    let objects = sink.objects();
    assert_eq!(objects.len(), 1);
    assert_eq!(objects[0].body, b"a\n");
    f.flush(T0 + MINUTE).expect("flush");
    assert_eq!(sink.objects()[1].body, b"b\n");
    assert!(sink.objects()[1]
        .key
        .contains("archive-1-2019-08-09-20-56-09-"));
}

#[test]
fn each_partition_has_its_own_buffer_and_prefix() {
    let mut c = config(1 << 20, 60_000);
    c.prefix = Some("events/".into());
    c.partition_keys = values(&["device", "country"]);
    let (mut f, sink) = firehose(c);
    f.put(b"m1\n", Some(&values(&["mobile", "us"])), T0)
        .expect("put");
    f.put(b"d1\n", Some(&values(&["desktop", "us"])), T0 + 10_000)
        .expect("put");
    f.put(b"m2\n", Some(&values(&["mobile", "us"])), T0 + 20_000)
        .expect("put");
    assert_eq!(f.counters().active_partitions, 2);
    f.tick(T0 + MINUTE).expect("tick");
    let objects = sink.objects();
    assert_eq!(objects.len(), 1, "only the mobile buffer is due");
    assert!(
        objects[0]
            .key
            .starts_with("events/device=mobile/country=us/2019/08/09/20/archive-1-"),
        "{}",
        objects[0].key
    );
    assert_eq!(objects[0].body, b"m1\nm2\n");
    f.flush(T0 + MINUTE).expect("flush");
    let objects = sink.objects();
    assert!(objects[1].key.starts_with(
        "events/device=desktop/country=us/2019/08/09/20/archive-1-2019-08-09-20-55-19-"
    ));
    assert_eq!(objects[1].body, b"d1\n");
    assert_eq!(f.counters().active_partitions, 0);
}

#[test]
fn records_without_usable_partition_values_go_to_partitioning_failed() {
    let mut c = config(1 << 20, 60_000);
    c.partition_keys = values(&["device"]);
    let (mut f, sink) = firehose(c);
    f.put(b"no values\n", None, T0).expect("put");
    f.put(b"two values\n", Some(&values(&["a", "b"])), T0)
        .expect("put");
    f.put(b"dot dot\n", Some(&values(&[".."])), T0)
        .expect("put");
    f.put_failed(
        b"{\"x\":1}\n",
        METADATA_EXTRACTION_FAILED,
        "no field `device`",
        T0 + 5,
    )
    .expect("put_failed");
    f.put_failed(b"bad json", "SchemaMismatch", "not JSON", T0)
        .expect("put_failed");
    f.flush(T0).expect("flush");
    let objects = sink.objects();
    assert_eq!(objects.len(), 2);
    let under = |prefix: &str| {
        objects
            .iter()
            .find(|o| o.key.starts_with(prefix))
            .expect(prefix)
    };
    let partitioning = under("errors/partitioning-failed/archive-1-2019-08-09-20-55-09-");
    let lines = error_lines(partitioning);
    assert_eq!(lines.len(), 4);
    assert!(lines
        .iter()
        .all(|l| l["errorCode"] == METADATA_EXTRACTION_FAILED));
    assert_eq!(lines[3]["errorMessage"], "no field `device`");
    assert_eq!(lines[3]["arrivalTimestamp"], T0 + 5);
    assert_eq!(
        error_lines(under("errors/processing-failed/"))[0]["errorCode"],
        "SchemaMismatch"
    );
    assert_eq!(f.counters().errors, 5);
    assert_eq!(f.counters().error_objects_written, 2);
    assert_balanced(f.counters());
}

#[test]
fn the_501st_active_partition_goes_to_the_error_output() {
    let mut c = config(1 << 20, 60_000);
    c.partition_keys = values(&["user"]);
    let (mut f, sink) = firehose(c);
    for i in 0..MAX_ACTIVE_PARTITIONS {
        f.put(b"r\n", Some(&values(&[&format!("u{i}")])), T0)
            .expect("put");
    }
    f.put(b"late\n", Some(&values(&["u-new"])), T0)
        .expect("put");
    f.put(b"r\n", Some(&values(&["u0"])), T0)
        .expect("an active partition still accepts");
    assert_eq!(f.counters().errors, 1);
    f.flush(T0).expect("flush");
    let objects = sink.objects();
    assert_eq!(objects.len(), MAX_ACTIVE_PARTITIONS + 1);
    let error = objects
        .iter()
        .find(|o| o.key.starts_with("errors/"))
        .expect("error object");
    assert!(error.key.starts_with("errors/partitioning-failed/"));
    assert_eq!(
        error_lines(error)[0]["errorCode"],
        ACTIVE_PARTITIONS_LIMIT_EXCEEDED
    );
    f.put(b"after\n", Some(&values(&["u-new"])), T0 + 1)
        .expect("room again after delivery");
    assert_eq!(f.counters().errors, 1);
}

#[test]
fn a_record_over_1000_kib_becomes_an_error_record_with_its_bytes() {
    let (mut f, sink) = firehose(config(5 << 20, 60_000));
    let limit: Vec<u8> = (0..MAX_RECORD_BYTES).map(|i| (i % 256) as u8).collect();
    f.put(&limit, None, T0)
        .expect("exactly 1,000 KiB is accepted");
    let mut big = limit.clone();
    big.push(0xFF);
    f.put(&big, None, T0 + 1).expect("put");
    assert_eq!(f.counters().errors, 1);
    f.flush(T0 + 1).expect("flush");
    let objects = sink.objects();
    assert_eq!(objects.len(), 2);
    assert_eq!(objects[0].body, limit);
    assert!(objects[1]
        .key
        .starts_with("errors/processing-failed/archive-1-"));
    let lines = error_lines(&objects[1]);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["errorCode"], RECORD_TOO_LARGE);
    assert_eq!(lines[0]["attemptsMade"], 1);
    let raw = base64::engine::general_purpose::STANDARD
        .decode(lines[0]["rawData"].as_str().expect("rawData"))
        .expect("base64");
    assert_eq!(raw, big);
}

/// A tiny deterministic generator, so the test needs no seedable RNG crate.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

/// Puts `count` records of random sizes a few milliseconds apart, ticking now and then and
/// checking the counters balance after each; returns the bytes put and the time reached.
fn put_random(f: &mut Firehose, count: usize, seed: u64) -> (Vec<u8>, i64) {
    let mut rng = Lcg(seed);
    let mut input = Vec::new();
    let mut now = T0;
    for i in 0..count {
        let r = record(i, 12 + rng.below(300) as usize);
        f.put(&r, None, now).expect("put");
        input.extend_from_slice(&r);
        now += rng.below(20) as i64;
        if rng.below(50) == 0 {
            f.tick(now).expect("tick");
        }
        assert_balanced(f.counters());
    }
    (input, now)
}

#[test]
fn every_record_is_delivered_exactly_once_in_order() {
    let (mut f, sink) = firehose(config(4096, 30_000));
    let (input, now) = put_random(&mut f, 20_000, 7);
    f.flush(now).expect("flush");
    let objects = sink.objects();
    assert!(objects.len() > 100, "{} objects", objects.len());
    let output: Vec<u8> = objects.iter().flat_map(|o| o.body.clone()).collect();
    assert_eq!(output, input);
    let c = f.counters();
    assert_eq!(
        (c.records_delivered, c.bytes_delivered, c.objects_written),
        (20_000, input.len() as u64, objects.len() as u64)
    );
    assert_eq!((c.records_buffered, c.bytes_buffered, c.errors), (0, 0, 0));
    let mut keys: Vec<_> = objects.iter().map(|o| o.key.clone()).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), objects.len(), "keys are unique");
}

fn gunzip(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(body)
        .read_to_end(&mut out)
        .expect("gunzip");
    out
}

#[test]
fn gzip_objects_decode_to_the_input() {
    let mut c = config(64 * 1024, 60_000);
    c.compression = Compression::Gzip;
    let (mut f, sink) = firehose(c);
    let mut input = Vec::new();
    for i in 0..5_000 {
        let r = record(i, 100);
        f.put(&r, None, T0 + i as i64).expect("put");
        input.extend_from_slice(&r);
    }
    f.flush(T0 + 5_000).expect("flush");
    let objects = sink.objects();
    assert!(objects.len() > 5);
    assert!(objects.iter().all(|o| o.key.ends_with(".gz")));
    let output: Vec<u8> = objects.iter().flat_map(|o| gunzip(&o.body)).collect();
    assert_eq!(output, input);
    let c = f.counters();
    assert_eq!(
        c.object_bytes_written,
        objects.iter().map(|o| o.body.len() as u64).sum::<u64>()
    );
    assert!(c.object_bytes_written < c.bytes_delivered / 3);
}

#[test]
fn a_zip_entry_is_named_after_its_object() {
    let mut c = config(1 << 20, 60_000);
    c.compression = Compression::Zip;
    let (mut f, sink) = firehose(c);
    f.put(b"{\"a\":1}\n", None, T0).expect("put");
    f.flush(T0).expect("flush");
    let object = &sink.objects()[0];
    let base = object
        .key
        .rsplit('/')
        .next()
        .expect("base")
        .strip_suffix(".zip")
        .expect(".zip");
    let name_len = u16::from_le_bytes([object.body[26], object.body[27]]) as usize;
    assert_eq!(&object.body[30..30 + name_len], base.as_bytes());
}

#[test]
fn encrypted_objects_decrypt_to_the_input() {
    let key = LocalKey::from_bytes([42; 32]);
    let mut c = config(1000, 60_000);
    c.compression = Compression::Gzip;
    c.encryption = Some(key.clone());
    let (mut f, sink) = firehose(c);
    let mut input = Vec::new();
    for i in 0..100 {
        let r = record(i, 50);
        f.put(&r, None, T0).expect("put");
        input.extend_from_slice(&r);
    }
    f.put(&vec![b'x'; MAX_RECORD_BYTES + 1], None, T0)
        .expect("put");
    f.flush(T0).expect("flush");
    let objects = sink.objects();
    let (errors, data): (Vec<_>, Vec<_>) =
        objects.iter().partition(|o| o.key.starts_with("errors/"));
    let output: Vec<u8> = data
        .iter()
        .flat_map(|o| gunzip(&decrypt(&key, &o.body).expect("decrypt")))
        .collect();
    assert_eq!(output, input);
    assert!(data.iter().all(|o| o.body.starts_with(b"KINENC")));
    let error_body = decrypt(&key, &errors[0].body).expect("error objects are encrypted too");
    assert!(error_body.starts_with(b"{\"attemptsMade\":1"));
    assert!(decrypt(&LocalKey::from_bytes([1; 32]), &data[0].body).is_err());
}

/// Fails the first `failures` writes, then writes to the inner sink.
struct Flaky {
    failures: usize,
    inner: MemorySink,
}

impl ObjectSink for Flaky {
    fn put_object(&mut self, bucket: &str, key: &str, body: &[u8]) -> std::io::Result<()> {
        if self.failures > 0 {
            self.failures -= 1;
            return Err(std::io::Error::other("S3 is unreachable"));
        }
        self.inner.put_object(bucket, key, body)
    }
}

#[test]
fn a_failed_write_keeps_the_records_for_the_next_attempt() {
    let inner = MemorySink::new();
    let sink = Flaky {
        failures: 2,
        inner: inner.clone(),
    };
    let mut f = Firehose::new(config(30, 60_000), Box::new(sink)).expect("config");
    let error = f
        .put(&record(1, 40), None, T0)
        .expect_err("the size-triggered write fails");
    assert!(matches!(error, DeliveryError::Sink { .. }));
    assert!(
        error
            .to_string()
            .contains("s3://acme-archive/raw/2019/08/09/20/archive-1-"),
        "{error}"
    );
    assert_eq!(f.counters().records_buffered, 1);
    f.put(&record(2, 40), None, T0 + 1)
        .expect_err("still failing, record kept");
    assert_eq!(f.counters().records_buffered, 2);
    assert_balanced(f.counters());
    f.tick(T0 + MINUTE).expect("the retry succeeds");
    let objects = inner.objects();
    assert_eq!(objects.len(), 1);
    assert_eq!(objects[0].body, [record(1, 40), record(2, 40)].concat());
    assert_balanced(f.counters());
}

/// A change that makes a valid configuration invalid.
type Breakage = fn(&mut FirehoseConfig);

#[test]
fn bad_configurations_and_times_are_errors() {
    let cases: [(&str, Breakage); 5] = [
        ("name", |c| c.name = "has space".into()),
        ("buffer", |c| c.buffer_bytes = 0),
        ("repeated", |c| c.partition_keys = values(&["k", "k"])),
        ("error prefix is required", |c| {
            c.prefix = Some("raw/!{timestamp:yyyy}/".into());
            c.error_prefix = None;
        }),
        ("error prefix is required", |c| {
            c.partition_keys = values(&["k"]);
            c.error_prefix = None;
        }),
    ];
    for (expected, breakage) in cases {
        let mut c = config(10, 10);
        breakage(&mut c);
        let message = Firehose::new(c, Box::new(MemorySink::new()))
            .expect_err(expected)
            .message;
        assert!(message.contains(expected), "{expected}: {message}");
    }
    let (mut f, _) = firehose(config(10, 10));
    assert!(matches!(
        f.put(b"x", None, -1),
        Err(DeliveryError::ArrivalOutOfRange(-1))
    ));
    assert_eq!(f.counters().records_in, 0);
}

#[test]
fn a_local_directory_receives_the_objects() {
    let root = std::env::temp_dir().join(format!("kin-firehose-{}", uuid::Uuid::new_v4().simple()));
    let mut c = config(1 << 20, 60_000);
    c.compression = Compression::Gzip;
    let mut f = Firehose::new(c, Box::new(LocalDirSink::new(&root))).expect("config");
    f.put(b"{\"a\":1}\n", None, T0).expect("put");
    f.put(b"{\"a\":2}\n", None, T0).expect("put");
    f.flush(T0).expect("flush");
    let dir = root.join("acme-archive/raw/2019/08/09/20");
    let files: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(files.len(), 1);
    assert_eq!(
        gunzip(&std::fs::read(&files[0]).expect("read")),
        b"{\"a\":1}\n{\"a\":2}\n"
    );
    let _ = std::fs::remove_dir_all(&root);
}

/// `cargo test --release -p kin-runtime --test firehose_delivery -- --ignored --nocapture`
#[test]
#[ignore = "a measurement, not a check"]
fn gzip_throughput() {
    for compression in [Compression::None, Compression::Gzip] {
        throughput(compression);
    }
}

fn throughput(compression: Compression) {
    let mut c = config(5 << 20, 300_000);
    c.compression = compression;
    let (mut f, sink) = firehose(c);
    let records: Vec<Vec<u8>> = (0..1000)
        .map(|i| {
            let mut r = format!(
                "{{\"event_id\":\"{:016x}\",\"user\":\"user-{:05}\",\"page\":\"/products/{}/details\",\"device\":\"{}\",\"ms\":{}",
                (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
                i % 977,
                i % 131,
                ["mobile", "desktop", "tablet"][i % 3],
                T0 + i as i64
            )
            .into_bytes();
            r.resize(298, b' ');
            r.extend_from_slice(b"}\n");
            r
        })
        .collect();
    let n = 2_000_000;
    let start = std::time::Instant::now();
    for i in 0..n {
        f.put(&records[i % records.len()], None, T0 + (i / 1000) as i64)
            .expect("put");
    }
    f.flush(T0).expect("flush");
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "{n} records of 300 B through one {compression:?} firehose: {:.2} M records/s, {} objects",
        n as f64 / seconds / 1e6,
        sink.objects().len()
    );
}

#[test]
fn a_background_writer_writes_what_the_caller_would() {
    let run = |background: bool| {
        let sink = MemorySink::new();
        let mut config = config(4096, 30_000);
        config.compression = Compression::Gzip;
        let mut f = match background {
            true => Firehose::in_background(config, Box::new(sink.clone())),
            false => Firehose::new(config, Box::new(sink.clone())),
        }
        .expect("config");
        let (input, now) = put_random(&mut f, 5_000, 11);
        f.put(&vec![b'x'; MAX_RECORD_BYTES + 1], None, now)
            .expect("an error record");
        f.flush(now).expect("flush");
        let objects = sink.objects();
        let data: Vec<u8> = objects
            .iter()
            .filter(|o| o.key.starts_with("raw/"))
            .flat_map(|o| gunzip(&o.body))
            .collect();
        assert_eq!(data, input);
        let c = f.counters();
        assert_eq!((c.records_buffered, c.bytes_buffered, c.errors), (0, 0, 1));
        assert_eq!(c.error_objects_written, 1);
        (c, objects.len())
    };
    let (here, objects_here) = run(false);
    let (background, objects_background) = run(true);
    assert_eq!(objects_here, objects_background);
    assert_eq!(
        FirehoseCounters {
            object_bytes_written: 0,
            ..here
        },
        FirehoseCounters {
            object_bytes_written: 0,
            ..background
        }
    );
}

/// Takes 5 ms per write.
struct Slow<S>(S);

impl<S: ObjectSink> ObjectSink for Slow<S> {
    fn put_object(&mut self, bucket: &str, key: &str, body: &[u8]) -> std::io::Result<()> {
        std::thread::sleep(std::time::Duration::from_millis(5));
        self.0.put_object(bucket, key, body)
    }
}

#[test]
fn a_background_writer_keeps_failed_buffers_in_order_and_loses_nothing() {
    let inner = MemorySink::new();
    // Slow writes: the next buffers queue up behind the one whose write fails.
    let sink = Slow(Flaky {
        failures: 1,
        inner: inner.clone(),
    });
    // 30-byte buffers: every 40-byte record fills one and is written on its own.
    let mut f = Firehose::in_background(config(30, 60_000), Box::new(sink)).expect("config");
    let mut input = Vec::new();
    let mut errors = 0;
    for i in 0..40 {
        let r = record(i, 40);
        errors += usize::from(f.put(&r, None, T0 + i as i64).is_err());
        input.extend_from_slice(&r);
        assert_balanced(f.counters());
    }
    let mut flushes = 0;
    while f.flush(T0 + MINUTE).is_err() {
        errors += 1;
        flushes += 1;
        assert!(flushes < 5, "the sink works again after one failure");
    }
    assert!(errors > 0, "the failures are reported");
    let written: Vec<u8> = inner
        .objects()
        .iter()
        .flat_map(|o| o.body.clone())
        .collect();
    assert_eq!(written, input, "every record, once, in order");
    let c = f.counters();
    assert_eq!((c.records_delivered, c.records_buffered), (40, 0));
    assert_balanced(c);
}
