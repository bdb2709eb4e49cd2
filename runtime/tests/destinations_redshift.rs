//! Redshift delivery against a real PostgreSQL (Redshift speaks its wire protocol): batches are
//! staged in the intermediate bucket, then loaded with COPY … FROM STDIN, honouring `columns`
//! and the JSON/CSV format; a COPY that keeps failing leaves a manifest of the skipped object.
//!
//! Needs `KIN_PG_URL` (e.g. `postgres://kin:kin@127.0.0.1:55432/postgres`, a user that may
//! create schemas); without it each test prints SKIPPED, unless `CI=true`, where it fails.

use std::io::Read as _;
use std::str::FromStr as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use kin_runtime::compress::Compression;
use kin_runtime::destinations::redshift::{CopyFormat, RedshiftConfig};
use kin_runtime::destinations::{
    DeliverySettings, DestinationConfig, DestinationFirehose, RetryPolicy,
};
use kin_runtime::s3::{MemorySink, StoredObject};
use serde_json::Value;

/// 2024-05-01T10:00:00Z.
const T0: i64 = 1_714_557_600_000;

struct Pg {
    admin: postgres::Client,
    jdbc_url: String,
    user: String,
    password: String,
    schema: String,
}

impl Drop for Pg {
    fn drop(&mut self) {
        let _ = self
            .admin
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema));
    }
}

/// A connection to the test server and a fresh schema, or `None` (SKIPPED) without one.
fn pg(test: &str) -> Option<Pg> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let Ok(url) = std::env::var("KIN_PG_URL") else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "KIN_PG_URL is not set: CI must start PostgreSQL (see .ci/run)"
        );
        println!("SKIPPED {test}: set KIN_PG_URL to a PostgreSQL server to run it");
        return None;
    };
    let config = postgres::Config::from_str(&url).expect("KIN_PG_URL is a PostgreSQL URL");
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(host)) => host.clone(),
        _ => panic!("KIN_PG_URL must name a TCP host"),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let database = config.get_dbname().unwrap_or("postgres").to_string();
    let user = config.get_user().unwrap_or("postgres").to_string();
    let password = config
        .get_password()
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .unwrap_or_default();
    let mut admin = config
        .connect(postgres::NoTls)
        .expect("KIN_PG_URL accepts connections");
    let schema = format!(
        "kin_{}_{}_{}",
        test,
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    admin
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .expect("create schema");
    Some(Pg {
        admin,
        jdbc_url: format!("jdbc:postgresql://{host}:{port}/{database}"),
        user,
        password,
        schema,
    })
}

fn config(pg: &Pg, table: &str, columns: &[&str], format: CopyFormat) -> RedshiftConfig {
    RedshiftConfig {
        jdbc_url: pg.jdbc_url.clone(),
        table: format!("{}.{table}", pg.schema),
        columns: columns.iter().map(|c| c.to_string()).collect(),
        user: pg.user.clone(),
        password: pg.password.clone(),
        format,
        copy_options: None,
        bucket: "staging".into(),
    }
}

fn firehose(
    config: RedshiftConfig,
    retry: Duration,
    compression: Compression,
) -> (DestinationFirehose, MemorySink) {
    let mut settings = DeliverySettings::new("orders", 1 << 20, 60_000);
    settings.retry = RetryPolicy {
        duration: retry,
        first_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_millis(300),
    };
    settings.compression = compression;
    let sink = MemorySink::new();
    let firehose = DestinationFirehose::new(
        settings,
        &DestinationConfig::Redshift(config),
        Box::new(sink.clone()),
    )
    .expect("valid settings");
    (firehose, sink)
}

fn order(i: usize) -> String {
    format!(
        "{{\"id\":{i},\"name\":\"n{i} \\\"q\\\", x\",\"amount\":{}.5,\"ts\":\"2024-05-01T10:00:{:02}Z\",\"extra\":true}}\n",
        i * 3,
        i % 60
    )
}

fn rows(pg: &mut Pg, sql: &str) -> Vec<String> {
    let sql = sql.replace("SCHEMA", &pg.schema);
    pg.admin
        .query(&sql, &[])
        .expect("query")
        .iter()
        .map(|row| row.get::<_, String>(0))
        .collect()
}

fn staged(objects: &[StoredObject]) -> Vec<&StoredObject> {
    objects
        .iter()
        .filter(|o| o.bucket == "staging" && o.key.starts_with("orders/2024/05/01/10/orders-1-"))
        .collect()
}

#[test]
fn json_records_are_staged_then_copied_into_the_listed_columns() {
    let Some(mut pg) = pg("json") else { return };
    pg.admin
        .batch_execute(&format!(
            "CREATE TABLE {}.orders (id int, name text, amount numeric(10,2), ts timestamptz, \
             note text, loaded_at timestamptz DEFAULT now())",
            pg.schema
        ))
        .expect("table");
    let c = config(
        &pg,
        "orders",
        &["id", "name", "amount", "ts", "note"],
        CopyFormat::Json,
    );
    let (mut firehose, sink) = firehose(c, Duration::from_secs(5), Compression::Gzip);
    let records: Vec<String> = (0..500).map(order).collect();
    for (i, r) in records.iter().enumerate() {
        firehose.put(r.as_bytes(), T0 + i as i64).expect("put");
    }
    firehose.flush(T0 + 1000).expect("flush");
    let loaded = rows(
        &mut pg,
        "SELECT concat_ws('|', id, name, amount, extract(epoch from ts)::bigint, coalesce(note, 'NULL')) \
         FROM SCHEMA.orders ORDER BY id",
    );
    assert_eq!(loaded.len(), 500);
    assert_eq!(
        loaded[7],
        format!("7|n7 \"q\", x|21.50|{}|NULL", T0 / 1000 + 7)
    );
    let (_, delivery) = firehose.counters();
    assert_eq!(
        (delivery.records_delivered, delivery.records_failed),
        (500, 0)
    );
    let objects = sink.objects();
    let staged = staged(&objects);
    assert_eq!(staged.len(), 1, "{objects:?}");
    assert!(staged[0].key.ends_with(".gz"));
    let mut text = String::new();
    flate2::read::GzDecoder::new(&staged[0].body[..])
        .read_to_string(&mut text)
        .expect("gzip");
    assert_eq!(text, records.concat(), "the staged object holds the batch");
}

#[test]
fn without_columns_json_keys_map_to_the_table_columns() {
    let Some(mut pg) = pg("cols") else { return };
    pg.admin
        .batch_execute(&format!(
            "CREATE TABLE {}.orders (amount numeric, id bigint, extra boolean, missing text)",
            pg.schema
        ))
        .expect("table");
    let c = config(&pg, "orders", &[], CopyFormat::Json);
    let (mut firehose, _) = firehose(c, Duration::from_secs(5), Compression::None);
    for i in 0..10 {
        firehose.put(order(i).as_bytes(), T0).expect("put");
    }
    firehose.flush(T0).expect("flush");
    let loaded = rows(
        &mut pg,
        "SELECT concat_ws('|', amount, id, extra, coalesce(missing, 'NULL')) FROM SCHEMA.orders ORDER BY id",
    );
    assert_eq!(loaded.len(), 10);
    assert_eq!(loaded[2], "6.5|2|t|NULL");
}

#[test]
fn csv_records_are_copied_with_the_copy_options_delimiter() {
    let Some(mut pg) = pg("csv") else { return };
    pg.admin
        .batch_execute(&format!(
            "CREATE TABLE {}.events (id int, kind text, at timestamptz)",
            pg.schema
        ))
        .expect("table");
    let mut c = config(&pg, "events", &["id", "kind", "at"], CopyFormat::Csv);
    c.copy_options = Some("DELIMITER '|' TIMEFORMAT 'auto'".into());
    let (mut firehose, _) = firehose(c, Duration::from_secs(5), Compression::None);
    for i in 0..20 {
        let line = format!("{i}|\"a|{i}\"|2024-05-01T10:00:00Z\n");
        firehose.put(line.as_bytes(), T0).expect("put");
    }
    firehose.flush(T0).expect("flush");
    let loaded = rows(
        &mut pg,
        "SELECT concat_ws(',', id, kind) FROM SCHEMA.events ORDER BY id",
    );
    assert_eq!(loaded.len(), 20);
    assert_eq!(loaded[3], "3,a|3");
}

#[test]
fn a_copy_failing_past_the_retry_duration_leaves_a_manifest_of_the_skipped_object() {
    let Some(pg) = pg("manifest") else { return };
    // No table: every COPY fails.
    let c = config(&pg, "missing", &["id"], CopyFormat::Json);
    let retry = Duration::from_millis(700);
    let (mut firehose, sink) = firehose(c, retry, Compression::None);
    for i in 0..30 {
        firehose
            .put(order(i).as_bytes(), T0 + i as i64)
            .expect("put");
    }
    let started = Instant::now();
    firehose.flush(T0 + 100).expect("flush");
    assert!(started.elapsed() >= retry);
    let (_, delivery) = firehose.counters();
    assert_eq!(delivery.records_delivered, 0);
    assert_eq!(delivery.records_failed, 30);
    assert_eq!(delivery.manifests, 1);
    assert!(delivery.retries >= 2, "{delivery:?}");
    let objects = sink.objects();
    let staged = staged(&objects);
    assert_eq!(staged.len(), 1, "the records stay in the staged object");
    let manifests: Vec<&StoredObject> = objects
        .iter()
        .filter(|o| {
            o.key
                .starts_with("orders/errors/manifests/2024/05/01/10/orders-1-")
        })
        .collect();
    assert_eq!(manifests.len(), 1, "{objects:?}");
    assert_eq!(manifests[0].bucket, "staging");
    let manifest: Value = serde_json::from_slice(&manifests[0].body).expect("JSON");
    assert_eq!(
        manifest,
        serde_json::json!({"entries": [
            {"url": format!("s3://staging/{}", staged[0].key), "mandatory": true}
        ]})
    );
}

#[test]
fn a_warehouse_that_comes_back_within_the_retry_duration_gets_the_batch() {
    let Some(mut pg) = pg("late") else { return };
    let c = config(&pg, "late", &["id", "name"], CopyFormat::Json);
    let (mut firehose, sink) = firehose(c, Duration::from_secs(10), Compression::None);
    for i in 0..40 {
        firehose.put(order(i).as_bytes(), T0).expect("put");
    }
    let url = std::env::var("KIN_PG_URL").expect("set");
    let schema = pg.schema.clone();
    let creator = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(600));
        let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
        client
            .batch_execute(&format!("CREATE TABLE {schema}.late (id int, name text)"))
            .expect("table");
    });
    firehose.flush(T0).expect("flush");
    creator.join().expect("creator");
    let (_, delivery) = firehose.counters();
    assert_eq!(
        (delivery.records_delivered, delivery.records_failed),
        (40, 0)
    );
    assert!(delivery.retries >= 1);
    let count = rows(&mut pg, "SELECT count(*)::text FROM SCHEMA.late");
    assert_eq!(count, ["40"]);
    assert!(sink.objects().iter().all(|o| !o.key.contains("/errors/")));
}

#[test]
fn an_unreachable_cluster_is_retried_then_skipped() {
    let Some(pg) = pg("down") else { return };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut c = config(&pg, "orders", &["id"], CopyFormat::Json);
    c.jdbc_url = format!("jdbc:redshift://127.0.0.1:{port}/dev");
    let (mut firehose, sink) = firehose(c, Duration::from_millis(500), Compression::None);
    for i in 0..5 {
        firehose.put(order(i).as_bytes(), T0).expect("put");
    }
    firehose.flush(T0).expect("flush");
    let (_, delivery) = firehose.counters();
    assert_eq!((delivery.records_failed, delivery.manifests), (5, 1));
    assert_eq!(
        sink.objects()
            .iter()
            .filter(|o| o.key.contains("/errors/manifests/"))
            .count(),
        1
    );
}
