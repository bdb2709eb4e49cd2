//! OpenSearch `_bulk`, Splunk HEC and Firehose HTTP endpoint delivery, against the strict
//! receivers of `kin_runtime::destinations::receivers` (OpenSearch and Splunk cannot run here):
//! request formats, per-document failures, index rotation, tokens and acknowledgements, the HTTP
//! endpoint protocol's headers, body and response contract, and destinations that are down for
//! less or longer than the retry duration — every record delivered or in the error output.

use std::collections::BTreeSet;
use std::io::Read as _;
use std::time::{Duration, Instant};

use base64::Engine as _;
use kin_runtime::compress::Compression;
use kin_runtime::destinations::http::HttpConfig;
use kin_runtime::destinations::opensearch::{IndexRotation, OpenSearchConfig};
use kin_runtime::destinations::receivers::{Receiver, ReceiverKind};
use kin_runtime::destinations::splunk::{HecEndpoint, SplunkConfig};
use kin_runtime::destinations::{
    BackupMode, DeliverySettings, DestinationConfig, DestinationCounters, DestinationFirehose,
    RetryPolicy,
};
use kin_runtime::s3::{MemorySink, StoredObject};
use serde_json::{json, Value};

/// 2016-02-25T13:00:00Z.
const T0: i64 = 1_456_405_200_000;

fn firehose(
    config: DestinationConfig,
    retry: Duration,
    backup: BackupMode,
    compression: Compression,
) -> (DestinationFirehose, MemorySink) {
    let mut settings = DeliverySettings::new("alerts", 4096, 60_000);
    settings.retry = RetryPolicy {
        duration: retry,
        first_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
    };
    settings.backup = backup;
    settings.compression = compression;
    let sink = MemorySink::new();
    let firehose =
        DestinationFirehose::new(settings, &config, Box::new(sink.clone())).expect("valid");
    (firehose, sink)
}

fn record(i: usize) -> String {
    format!(
        "{{\"n\":{i},\"user\":\"u{}\",\"text\":\"line\\nbreak\"}}\n",
        i % 7
    )
}

/// Puts `n` records one second apart, then flushes; returns them.
fn deliver(firehose: &mut DestinationFirehose, n: usize) -> Vec<String> {
    let records: Vec<String> = (0..n).map(record).collect();
    for (i, r) in records.iter().enumerate() {
        firehose
            .put(r.as_bytes(), T0 + i as i64 * 1000)
            .expect("put");
    }
    firehose.flush(T0 + n as i64 * 1000).expect("flush");
    records
}

/// The records of the error objects under `alerts/TYPE/` with their codes.
fn failed(objects: &[StoredObject], output_type: &str) -> Vec<(String, Value)> {
    let prefix = format!("alerts/{output_type}/");
    objects
        .iter()
        .filter(|o| o.bucket == "kin-firehose" && o.key.starts_with(&prefix))
        .flat_map(|o| {
            String::from_utf8_lossy(&o.body)
                .into_owned()
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .map(|line| {
            let value: Value = serde_json::from_str(&line).expect("an error record is JSON");
            let raw = base64::engine::general_purpose::STANDARD
                .decode(value["rawData"].as_str().expect("rawData"))
                .expect("base64");
            (String::from_utf8_lossy(&raw).into_owned(), value)
        })
        .collect()
}

fn accounted(c: &DestinationCounters, n: u64) {
    assert_eq!(c.records_delivered + c.records_failed, n, "{c:?}");
}

fn trimmed(records: &[String]) -> BTreeSet<String> {
    records.iter().map(|r| r.trim_end().to_string()).collect()
}

// ---------------------------------------------------------------- OpenSearch

fn opensearch(receiver: &Receiver, rotation: IndexRotation) -> DestinationConfig {
    DestinationConfig::OpenSearch(OpenSearchConfig {
        endpoint: receiver.url(),
        index: "alerts".into(),
        rotation,
    })
}

#[test]
fn opensearch_indexes_every_document_into_its_rotated_index() {
    let receiver = Receiver::start(ReceiverKind::Bulk).expect("receiver");
    let config = opensearch(&receiver, IndexRotation::OneHour);
    let (mut firehose, sink) = firehose(
        config,
        Duration::from_secs(5),
        BackupMode::Failed,
        Compression::None,
    );
    // 2 hours of records, one a second, so two indexes.
    let records = deliver(&mut firehose, 7200);
    assert_eq!(receiver.violations(), Vec::<String>::new());
    let received = receiver.received();
    assert_eq!(received.len(), 7200);
    let indexes: BTreeSet<&str> = received.iter().map(|r| r.group.as_str()).collect();
    assert_eq!(
        indexes,
        BTreeSet::from(["alerts-2016-02-25-13", "alerts-2016-02-25-14"])
    );
    let ids: BTreeSet<&str> = received.iter().filter_map(|r| r.id.as_deref()).collect();
    assert_eq!(ids.len(), 7200, "one generated _id per document");
    for (got, want) in received.iter().zip(&records) {
        let got: Value = serde_json::from_slice(&got.data).expect("JSON");
        let want: Value = serde_json::from_str(want).expect("JSON");
        assert_eq!(got, want);
    }
    assert!(
        receiver.requests() > 50,
        "4 KiB buffers: many bulk requests"
    );
    let (_, c) = firehose.counters();
    assert_eq!(
        (c.records_delivered, c.records_failed, c.retries),
        (7200, 0, 0)
    );
    assert!(sink.objects().is_empty());
}

#[test]
fn opensearch_sends_failed_documents_only_to_the_backup() {
    let receiver = Receiver::start(ReceiverKind::Bulk).expect("receiver");
    receiver.reject_containing("\"u3\"");
    let (mut firehose, sink) = firehose(
        opensearch(&receiver, IndexRotation::OneDay),
        Duration::from_secs(5),
        BackupMode::Failed,
        Compression::None,
    );
    firehose.put(b"not json\n", T0).expect("put");
    let records = deliver(&mut firehose, 70);
    let (_, c) = firehose.counters();
    assert_eq!((c.records_delivered, c.records_failed), (60, 11));
    assert_eq!(c.retries, 0, "mapping errors are not retried");
    let failed = failed(&sink.objects(), "elasticsearch-failed");
    assert_eq!(failed.len(), 11);
    let rejected: Vec<&(String, Value)> = failed
        .iter()
        .filter(|(raw, _)| raw.contains("\"u3\""))
        .collect();
    assert_eq!(rejected.len(), 10);
    for (_, value) in &rejected {
        assert_eq!(value["errorCode"], "mapper_parsing_exception");
        assert_eq!(value["esIndexName"], "alerts-2016-02-25");
        assert_eq!(value["esDocumentId"].as_str().map(str::len), Some(32));
        assert_eq!(value["attemptsMade"], 1);
    }
    assert!(failed.iter().any(|(raw, _)| raw == "not json\n"));
    let delivered: Vec<String> = receiver
        .received()
        .iter()
        .map(|r| String::from_utf8_lossy(&r.data).into_owned())
        .collect();
    let wanted: Vec<String> = records
        .into_iter()
        .filter(|r| !r.contains("\"u3\""))
        .collect();
    assert_eq!(trimmed(&delivered).len(), 60);
    assert_eq!(delivered.len(), wanted.len());
}

#[test]
fn opensearch_down_for_less_than_the_retry_duration_loses_nothing() {
    let receiver = Receiver::start(ReceiverKind::Bulk).expect("receiver");
    receiver.fail_until(Instant::now() + Duration::from_millis(500));
    let (mut firehose, sink) = firehose(
        opensearch(&receiver, IndexRotation::NoRotation),
        Duration::from_secs(10),
        BackupMode::All,
        Compression::None,
    );
    let records = deliver(&mut firehose, 300);
    let (_, c) = firehose.counters();
    assert_eq!((c.records_delivered, c.records_failed), (300, 0));
    assert!(c.retries >= 2, "{c:?}");
    assert_eq!(c.records_backed_up, 300, "backup: all copies every batch");
    let received = receiver.received();
    assert_eq!(
        received.len(),
        300,
        "retried documents keep their _id: no duplicates"
    );
    assert!(received.iter().all(|r| r.group == "alerts"));
    let copies: Vec<u8> = sink
        .objects()
        .iter()
        .filter(|o| o.key.starts_with("alerts/2016/02/25/13/alerts-1-") && o.key.ends_with(".gz"))
        .flat_map(|o| {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&o.body[..])
                .read_to_end(&mut out)
                .expect("gzip");
            out
        })
        .collect();
    assert_eq!(copies, records.concat().into_bytes());
}

#[test]
fn opensearch_down_for_longer_sends_every_document_to_the_error_output() {
    let receiver = Receiver::start(ReceiverKind::Bulk).expect("receiver");
    receiver.fail_until(Instant::now() + Duration::from_secs(3600));
    let (mut firehose, sink) = firehose(
        opensearch(&receiver, IndexRotation::OneDay),
        Duration::from_millis(300),
        BackupMode::Failed,
        Compression::None,
    );
    let records = deliver(&mut firehose, 200);
    let (_, c) = firehose.counters();
    accounted(&c, 200);
    assert_eq!(c.records_failed, 200);
    let failed = failed(&sink.objects(), "elasticsearch-failed");
    let raws: Vec<String> = failed.iter().map(|(raw, _)| raw.clone()).collect();
    assert_eq!(raws, records);
    assert!(failed
        .iter()
        .all(|(_, v)| v["errorCode"] == "OS.503"
            && v["attemptsMade"].as_u64().is_some_and(|a| a >= 3)));
}

// ---------------------------------------------------------------- Splunk

fn splunk(receiver: &Receiver, token: &str, endpoint_type: HecEndpoint) -> DestinationConfig {
    DestinationConfig::Splunk(SplunkConfig {
        endpoint: receiver.url(),
        token: token.into(),
        endpoint_type,
        ack_timeout: Duration::from_secs(5),
    })
}

fn hec(event: bool) -> Receiver {
    Receiver::start(ReceiverKind::Hec {
        tokens: vec!["tok-1".into(), "tok-2".into()],
        event,
    })
    .expect("receiver")
}

#[test]
fn splunk_raw_events_arrive_as_lines_with_the_token() {
    let receiver = hec(false);
    let (mut firehose, _) = firehose(
        splunk(&receiver, "tok-2", HecEndpoint::Raw),
        Duration::from_secs(5),
        BackupMode::Failed,
        Compression::None,
    );
    let records = deliver(&mut firehose, 500);
    assert_eq!(receiver.violations(), Vec::<String>::new());
    let received = receiver.received();
    let lines: Vec<String> = received
        .iter()
        .map(|r| String::from_utf8_lossy(&r.data).into_owned())
        .collect();
    assert_eq!(
        lines,
        records
            .iter()
            .map(|r| r.trim_end().to_string())
            .collect::<Vec<_>>()
    );
    assert!(received.iter().all(|r| r.group == "tok-2"));
    accounted(&firehose.counters().1, 500);
}

#[test]
fn splunk_event_endpoint_gets_hec_event_objects() {
    let receiver = hec(true);
    let (mut firehose, _) = firehose(
        splunk(&receiver, "tok-1", HecEndpoint::Event),
        Duration::from_secs(5),
        BackupMode::Failed,
        Compression::None,
    );
    let records = deliver(&mut firehose, 50);
    assert_eq!(receiver.violations(), Vec::<String>::new());
    let events: Vec<Value> = receiver
        .received()
        .iter()
        .map(|r| serde_json::from_slice(&r.data).expect("an event object"))
        .collect();
    assert_eq!(events.len(), 50);
    for (i, (event, record)) in events.iter().zip(&records).enumerate() {
        let record: Value = serde_json::from_str(record).expect("JSON");
        assert_eq!(event["event"], record);
        assert_eq!(event["time"], json!((T0 + i as i64 * 1000) as f64 / 1000.0));
    }
}

#[test]
fn splunk_with_a_wrong_token_puts_every_event_in_splunk_failed() {
    let receiver = hec(false);
    let (mut firehose, sink) = firehose(
        splunk(&receiver, "stolen", HecEndpoint::Raw),
        Duration::from_millis(300),
        BackupMode::Failed,
        Compression::None,
    );
    let records = deliver(&mut firehose, 20);
    assert!(receiver.received().is_empty());
    let failed = failed(&sink.objects(), "splunk-failed");
    assert_eq!(
        failed
            .iter()
            .map(|(raw, _)| raw.clone())
            .collect::<Vec<_>>(),
        records
    );
    assert!(failed
        .iter()
        .all(|(_, v)| v["errorCode"] == "Splunk.InvalidToken"
            && v["errorMessage"]
                .as_str()
                .is_some_and(|m| m.contains("Invalid token"))));
}

#[test]
fn splunk_busy_for_less_than_the_retry_duration_loses_nothing() {
    let receiver = hec(false);
    receiver.fail_until(Instant::now() + Duration::from_millis(400));
    let (mut firehose, sink) = firehose(
        splunk(&receiver, "tok-1", HecEndpoint::Raw),
        Duration::from_secs(10),
        BackupMode::Failed,
        Compression::None,
    );
    deliver(&mut firehose, 300);
    let (_, c) = firehose.counters();
    assert_eq!((c.records_delivered, c.records_failed), (300, 0));
    assert!(c.retries >= 1);
    assert_eq!(receiver.received().len(), 300);
    assert!(sink.objects().is_empty());
}

// ---------------------------------------------------------------- HTTP endpoint

fn http(receiver: &Receiver, access_key: Option<&str>) -> DestinationConfig {
    DestinationConfig::Http(HttpConfig {
        url: receiver.url(),
        name: Some("pager".into()),
        access_key: access_key.map(str::to_string),
    })
}

fn endpoint(access_key: &str) -> Receiver {
    Receiver::start(ReceiverKind::HttpEndpoint {
        access_key: Some(access_key.into()),
    })
    .expect("receiver")
}

#[test]
fn http_endpoint_gets_base64_records_gzipped_with_the_access_key() {
    let receiver = endpoint("k3y");
    let (mut firehose, _) = firehose(
        http(&receiver, Some("k3y")),
        Duration::from_secs(5),
        BackupMode::Failed,
        Compression::Gzip,
    );
    let records = deliver(&mut firehose, 400);
    assert_eq!(receiver.violations(), Vec::<String>::new());
    let received: Vec<String> = receiver
        .received()
        .iter()
        .map(|r| String::from_utf8_lossy(&r.data).into_owned())
        .collect();
    assert_eq!(received, records);
    let requests: BTreeSet<String> = receiver.received().into_iter().map(|r| r.group).collect();
    assert_eq!(requests.len() as u64, firehose.counters().1.batches);
}

#[test]
fn http_endpoint_refusing_the_key_fails_into_http_endpoint_failed() {
    let receiver = endpoint("k3y");
    let (mut firehose, sink) = firehose(
        http(&receiver, Some("wrong")),
        Duration::from_millis(200),
        BackupMode::Failed,
        Compression::None,
    );
    let records = deliver(&mut firehose, 10);
    let failed = failed(&sink.objects(), "http-endpoint-failed");
    assert_eq!(
        failed.iter().map(|(r, _)| r.clone()).collect::<Vec<_>>(),
        records
    );
    assert!(failed
        .iter()
        .all(|(_, v)| v["errorCode"] == "HttpEndpoint.DestinationException"));
}

#[test]
fn http_endpoint_coming_up_late_gets_each_batch_under_one_request_id() {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let config = DestinationConfig::Http(HttpConfig {
        url: format!("http://{addr}"),
        name: None,
        access_key: None,
    });
    let (mut firehose, sink) = firehose(
        config,
        Duration::from_secs(10),
        BackupMode::Failed,
        Compression::None,
    );
    let starter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(500));
        Receiver::start_at(ReceiverKind::HttpEndpoint { access_key: None }, addr)
            .expect("the port is still free")
    });
    let records = deliver(&mut firehose, 50);
    let receiver = starter.join().expect("starter");
    let (_, c) = firehose.counters();
    assert_eq!((c.records_delivered, c.records_failed), (50, 0));
    assert!(c.retries >= 1, "connection refused at first: {c:?}");
    let received = receiver.received();
    assert_eq!(
        received
            .iter()
            .map(|r| String::from_utf8_lossy(&r.data).into_owned())
            .collect::<Vec<_>>(),
        records
    );
    assert!(sink.objects().is_empty());
}

#[test]
fn http_endpoint_down_for_longer_keeps_every_record_in_the_error_output() {
    let receiver = endpoint("k");
    receiver.fail_until(Instant::now() + Duration::from_secs(3600));
    let (mut firehose, sink) = firehose(
        http(&receiver, Some("k")),
        Duration::from_millis(400),
        BackupMode::All,
        Compression::None,
    );
    let records = deliver(&mut firehose, 250);
    let (_, c) = firehose.counters();
    assert_eq!(
        (c.records_delivered, c.records_failed, c.records_backed_up),
        (0, 250, 250)
    );
    let failed = failed(&sink.objects(), "http-endpoint-failed");
    assert_eq!(
        failed.iter().map(|(r, _)| r.clone()).collect::<Vec<_>>(),
        records
    );
}

// ---------------------------------------------------------------- the receivers themselves

fn post(url: &str, headers: &[(&str, &str)], body: &str) -> (u16, Value) {
    let client = reqwest::blocking::Client::new();
    let mut request = client.post(url).body(body.to_string());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().expect("the receiver answers");
    let status = response.status().as_u16();
    let text = response.text().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[test]
fn receivers_answer_malformed_requests_as_the_services_do() {
    let bulk = Receiver::start(ReceiverKind::Bulk).expect("receiver");
    let ndjson = [("Content-Type", "application/x-ndjson")];
    let url = format!("{}/_bulk", bulk.url());
    let (status, body) = post(&url, &ndjson, "{\"index\":{\"_index\":\"a\"}}\n");
    assert_eq!(
        (status, body["error"]["type"].as_str()),
        (400, Some("illegal_argument_exception"))
    );
    let (status, _) = post(&url, &ndjson, "{\"index\":{\"_index\":\"a\"}}\n{}");
    assert_eq!(status, 400, "no final newline");
    let (status, _) = post(&url, &[("Content-Type", "application/json")], "{}\n{}\n");
    assert_eq!(status, 400);
    let (status, body) = post(&url, &ndjson, "{\"index\":{\"_index\":\"a\"}}\n{\"x\":1}\n");
    assert_eq!((status, body["errors"].as_bool()), (200, Some(false)));
    assert_eq!(bulk.violations().len(), 3);

    let splunk = hec(true);
    let url = format!(
        "{}/services/collector/event?channel=0aeeac95-ac74-4aa9-b30d-6c4c0ac581ba",
        splunk.url()
    );
    let (status, body) = post(&url, &[("Authorization", "Splunk nope")], "{\"event\":1}");
    assert_eq!((status, body["code"].as_i64()), (403, Some(4)));
    let (status, body) = post(&url, &[], "{\"event\":1}");
    assert_eq!((status, body["code"].as_i64()), (401, Some(2)));
    let auth = [("Authorization", "Splunk tok-1")];
    let (status, body) = post(&url, &auth, "{\"time\":1}");
    assert_eq!((status, body["code"].as_i64()), (400, Some(12)));
    let no_channel = format!("{}/services/collector/event", splunk.url());
    let (status, body) = post(&no_channel, &auth, "{\"event\":1}");
    assert_eq!((status, body["code"].as_i64()), (400, Some(10)));
    let (status, body) = post(&url, &auth, "{\"event\":\"x\"}{\"event\":2}");
    assert_eq!(
        (status, body["code"].as_i64(), body["ackId"].as_u64()),
        (200, Some(0), Some(0))
    );

    let endpoint = endpoint("k");
    let headers = [
        ("Content-Type", "application/json"),
        ("X-Amz-Firehose-Protocol-Version", "1.0"),
        ("X-Amz-Firehose-Request-Id", "r-1"),
        (
            "X-Amz-Firehose-Source-Arn",
            "arn:aws:firehose:local:000000000000:deliverystream/x",
        ),
        ("X-Amz-Firehose-Access-Key", "k"),
    ];
    let good = r#"{"requestId":"r-1","timestamp":1,"records":[{"data":"aGk="}]}"#;
    let (status, body) = post(&endpoint.url(), &headers, good);
    assert_eq!((status, body["requestId"].as_str()), (200, Some("r-1")));
    let (status, body) = post(&endpoint.url(), &headers, &good.replace("r-1", "r-2"));
    assert_eq!((status, body["requestId"].as_str()), (400, Some("r-1")));
    assert!(body["errorMessage"].is_string());
    let (status, _) = post(&endpoint.url(), &headers[..4], good);
    assert_eq!(status, 401);
    let (status, _) = post(
        &endpoint.url(),
        &headers,
        &good.replace("{\"data\":\"aGk=\"}", "\"aGk=\""),
    );
    assert_eq!(status, 400);
    assert_eq!(endpoint.received().len(), 1);
}
