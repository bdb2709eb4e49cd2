//! A producer's check of clickstream records: kin's one-pass reader (`flat_json::check`)
//! against the same schema read through a serde struct (what kin generates for schemas that
//! are not flat, and what every schema used before), measured in the same run.
//!
//! `cargo bench -p kin-runtime --bench flat_json`

use std::borrow::Cow;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kin_runtime::flat_json::{check, read, Field, Kind, Unknown};
use kin_runtime::records::Timestamp;
use rand::{Rng, SeedableRng};

const FIELDS: [Field<'static>; 10] = [
    Field::new("event_id", Kind::String, false),
    Field::new("event_type", Kind::String, false),
    Field::new("session_id", Kind::String, false),
    Field::new("user_id", Kind::String, true),
    Field::new("page", Kind::String, false),
    Field::new("referrer", Kind::String, true),
    Field::new("user_agent", Kind::String, false),
    Field::new("country", Kind::String, true),
    Field::new("duration_ms", Kind::Int, false),
    Field::new("ts", Kind::Timestamp, false),
];

#[allow(dead_code)]
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Click<'a> {
    #[serde(borrow)]
    event_id: Cow<'a, str>,
    #[serde(borrow)]
    event_type: Cow<'a, str>,
    #[serde(borrow)]
    session_id: Cow<'a, str>,
    #[serde(borrow)]
    user_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    page: Cow<'a, str>,
    #[serde(borrow)]
    referrer: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user_agent: Cow<'a, str>,
    #[serde(borrow)]
    country: Option<Cow<'a, str>>,
    duration_ms: i64,
    ts: Timestamp,
}

/// Records shaped like the pipeline benchmark's (tests/benches/pipeline.rs).
fn records(n: usize) -> Vec<Vec<u8>> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    (0..n)
        .map(|i| {
            let user = match rng.random_bool(0.3) {
                true => "null".to_string(),
                false => format!("\"u-{}\"", rng.random_range(0..10_000)),
            };
            format!(
                "{{\"event_id\":\"e-{i:08}\",\"event_type\":\"click\",\"session_id\":\"s-{}\",\
                 \"user_id\":{user},\"page\":\"/products/{}\",\"referrer\":null,\
                 \"user_agent\":\"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like \
                 Gecko) Chrome/120.0 Safari/537.36\",\"country\":\"DE\",\"duration_ms\":{},\
                 \"ts\":\"2024-05-01T09:{:02}:{:02}.{:03}Z\"}}\n",
                rng.random_range(0..50_000),
                rng.random_range(0..100),
                rng.random_range(0..30_000),
                rng.random_range(0..60),
                rng.random_range(0..60),
                rng.random_range(0..1000),
            )
            .into_bytes()
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let records = records(10_000);
    let bytes: usize = records.iter().map(Vec::len).sum();
    let mut group = c.benchmark_group("producer check, 10,000 clickstream records");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("serde struct (baseline)", |b| {
        b.iter(|| {
            records
                .iter()
                .filter(|r| {
                    std::str::from_utf8(r)
                        .ok()
                        .and_then(|text| serde_json::from_str::<Click>(text).ok())
                        .is_some()
                })
                .count()
        })
    });
    group.bench_function("flat_json::check", |b| {
        b.iter(|| {
            records
                .iter()
                .filter(|r| check(r, &FIELDS, Some(2)).is_ok())
                .count()
        })
    });
    group.finish();
    // Analytics reads the three fields a query needs and skips the rest.
    let read_fields = [FIELDS[4], FIELDS[8], FIELDS[9]];
    let mut group = c.benchmark_group("analytics read, 3 of 10 fields, 10,000 records");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("flat_json::read", |b| {
        b.iter(|| {
            records
                .iter()
                .filter(|r| read(r, &read_fields, Unknown::Skip, |_, _| Ok(())).is_ok())
                .count()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
