//! S3 objects through an S3-compatible endpoint (`--s3-endpoint`): data objects, error objects,
//! backups and staged batches are written with object_store, then every object is read back.
//!
//! Needs `KIN_S3_ENDPOINT`, e.g. moto's server (`moto_server -H 127.0.0.1 -p 55500`, then
//! `KIN_S3_ENDPOINT=http://127.0.0.1:55500`); without it each test prints SKIPPED, unless
//! `CI=true`, where it fails. Buckets are created by the test (moto accepts any credentials).

use std::io::Read as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use kin_runtime::compress::Compression;
use kin_runtime::destinations::http::HttpConfig;
use kin_runtime::destinations::receivers::{Receiver, ReceiverKind};
use kin_runtime::destinations::s3_endpoint::S3Endpoint;
use kin_runtime::destinations::{
    BackupMode, DeliverySettings, DestinationConfig, DestinationFirehose, RetryPolicy,
};
use kin_runtime::encrypt::{decrypt, LocalKey};
use kin_runtime::firehose::{Firehose, FirehoseConfig};

/// 2024-05-01T10:00:00Z.
const T0: i64 = 1_714_557_600_000;

/// The endpoint and a new bucket on it, or `None` (SKIPPED) without one.
fn endpoint(test: &str) -> Option<(S3Endpoint, String)> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let Ok(url) = std::env::var("KIN_S3_ENDPOINT") else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "KIN_S3_ENDPOINT is not set: CI must start an S3-compatible server (see .ci/run)"
        );
        println!("SKIPPED {test}: set KIN_S3_ENDPOINT to an S3-compatible server to run it");
        return None;
    };
    let bucket = format!(
        "kin-{test}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    create_bucket(&url, &bucket);
    let endpoint = S3Endpoint::with_credentials(&url, "kin-test", "kin-test-secret", "us-east-1")
        .expect("a valid endpoint");
    Some((endpoint, bucket))
}

/// Creates `bucket` (moto takes unsigned requests); an existing one is kept.
fn create_bucket(url: &str, bucket: &str) {
    let created = reqwest::blocking::Client::new()
        .put(format!("{}/{bucket}", url.trim_end_matches('/')))
        .send()
        .expect("the endpoint answers");
    assert!(
        created.status().is_success() || created.status().as_u16() == 409,
        "create bucket {bucket}: {created:?}"
    );
}

fn gunzip(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(body)
        .read_to_end(&mut out)
        .expect("gzip");
    out
}

#[test]
fn s3_firehose_objects_are_written_to_the_endpoint_and_read_back() {
    let Some((endpoint, bucket)) = endpoint("data") else {
        return;
    };
    let key = LocalKey::generate().expect("a key");
    let config = FirehoseConfig {
        name: "clicks".into(),
        buffer_bytes: 10_000,
        buffer_interval_ms: 60_000,
        compression: Compression::Gzip,
        encryption: Some(key.clone()),
        bucket: bucket.clone(),
        prefix: Some("raw/type=!{partitionKeyFromQuery:type}/".into()),
        error_prefix: Some("errors/!{firehose:error-output-type}/".into()),
        partition_keys: vec!["type".into()],
    };
    let mut firehose = Firehose::new(config, Box::new(endpoint.sink())).expect("valid");
    let mut records = Vec::new();
    for i in 0..2000 {
        let kind = ["view", "click"][i % 2];
        let record = format!("{{\"i\":{i},\"type\":\"{kind}\"}}\n");
        firehose
            .put(record.as_bytes(), Some(&[kind.to_string()]), T0 + i as i64)
            .expect("put");
        records.push(record);
    }
    firehose
        .put_failed(
            b"{}\n",
            "DynamicPartitioning.MetadataExtractionFailed",
            "no type",
            T0,
        )
        .expect("put");
    firehose.flush(T0 + 5000).expect("flush");
    let keys = endpoint.list(&bucket, "").expect("list");
    let counters = firehose.counters();
    assert_eq!(
        keys.len() as u64,
        counters.objects_written + counters.error_objects_written
    );
    let mut read_back = Vec::new();
    for k in keys.iter().filter(|k| k.starts_with("raw/")) {
        assert!(
            k.starts_with("raw/type=view/2024/05/01/10/clicks-1-2024-05-01-10-00-")
                || k.starts_with("raw/type=click/2024/05/01/10/clicks-1-2024-05-01-10-00-"),
            "{k}"
        );
        let sealed = endpoint.get(&bucket, k).expect("get");
        let text =
            String::from_utf8(gunzip(&decrypt(&key, &sealed).expect("decrypt"))).expect("UTF-8");
        read_back.extend(text.lines().map(|l| format!("{l}\n")));
    }
    read_back.sort();
    records.sort();
    assert_eq!(read_back, records, "every record, once");
    let errors: Vec<&String> = keys.iter().filter(|k| k.starts_with("errors/")).collect();
    assert_eq!(errors.len(), 1);
    assert!(errors[0].starts_with("errors/partitioning-failed/clicks-1-"));
}

#[test]
fn backups_and_error_records_of_a_destination_go_to_the_endpoint() {
    let Some((endpoint, _)) = endpoint("backup") else {
        return;
    };
    let name = format!("pager-{}", std::process::id());
    let receiver =
        Receiver::start(ReceiverKind::HttpEndpoint { access_key: None }).expect("receiver");
    receiver.fail_until(Instant::now() + Duration::from_secs(3600));
    let mut settings = DeliverySettings::new(&name, 1 << 20, 60_000);
    settings.retry = RetryPolicy {
        duration: Duration::from_millis(300),
        first_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(100),
    };
    settings.backup = BackupMode::All;
    // Backups go to kin's bucket.
    create_bucket(endpoint.url(), "kin-firehose");
    let config = DestinationConfig::Http(HttpConfig {
        url: receiver.url(),
        name: None,
        access_key: None,
    });
    let mut firehose =
        DestinationFirehose::new(settings, &config, Box::new(endpoint.sink())).expect("valid");
    let records: Vec<String> = (0..100).map(|i| format!("{{\"alert\":{i}}}\n")).collect();
    for r in &records {
        firehose.put(r.as_bytes(), T0).expect("put");
    }
    firehose.flush(T0).expect("flush");
    let (_, c) = firehose.counters();
    assert_eq!((c.records_failed, c.records_backed_up), (100, 100));
    let keys = endpoint
        .list("kin-firehose", &format!("{name}/"))
        .expect("list");
    let copies: Vec<&String> = keys
        .iter()
        .filter(|k| k.starts_with(&format!("{name}/2024/05/01/10/{name}-1-")) && k.ends_with(".gz"))
        .collect();
    assert_eq!(copies.len(), 1, "{keys:?}");
    let copy = gunzip(&endpoint.get("kin-firehose", copies[0]).expect("get"));
    assert_eq!(copy, records.concat().into_bytes());
    let failed: Vec<&String> = keys
        .iter()
        .filter(|k| k.starts_with(&format!("{name}/http-endpoint-failed/2024/05/01/{name}-1-")))
        .collect();
    assert_eq!(failed.len(), 1, "{keys:?}");
    let lines = endpoint.get("kin-firehose", failed[0]).expect("get");
    assert_eq!(String::from_utf8_lossy(&lines).lines().count(), 100);
}
