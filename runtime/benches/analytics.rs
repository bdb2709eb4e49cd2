//! The analytics engine against a plain DataFusion query: a 1-minute TUMBLE count/avg by page
//! over generated clickstream rows (1,000,000 by default; `KIN_BENCH_ROWS` to change), fed in
//! batches of 8,192, versus the same query run once over all rows in a `MemTable`.
//!
//! `cargo bench -p kin-runtime --bench analytics`; after criterion's report, a summary line
//! gives the median of a few timed runs of each and their ratio.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion};
use datafusion::arrow::array::{ArrayRef, Int64Array, StringArray, TimestampMillisecondArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::MemTable;
use datafusion::prelude::{SessionConfig, SessionContext};
use kin::ir::types::{Field as KinField, FieldType, RecordType, Type};
use kin::sql::{analyze, TableInput};
use kin_runtime::analytics::{AnalyticsConfig, AnalyticsEngine, InputSpec, WindowKind, WindowSpec};
use rand::{Rng, SeedableRng};

const SQL: &str = "SELECT page, window_start, window_end, COUNT(*) AS views, AVG(duration_ms) AS avg_duration_ms FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '1' MINUTE)) GROUP BY page, window_start, window_end";
const BATCH_ROWS: usize = 8_192;
/// 2024-05-01T00:00:00Z.
const START_MS: i64 = 1_714_521_600_000;
const THREE_HOURS_MS: i64 = 3 * 3_600_000;
const WATERMARK_MS: i64 = 5_000;

fn rows() -> usize {
    std::env::var("KIN_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("page", DataType::Utf8, false),
        Field::new("event_type", DataType::Utf8, false),
        Field::new("duration_ms", DataType::Int64, false),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Millisecond, None),
            false,
        ),
    ]))
}

/// `n` clicks over three hours, ~100 pages, out of order by up to 2 s, in batches of 8,192.
fn clicks(n: usize) -> Vec<RecordBatch> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let pages: Vec<String> = (0..100).map(|i| format!("/page/{i}")).collect();
    let types = ["view", "click", "scroll"];
    let step = THREE_HOURS_MS as f64 / n.max(1) as f64;
    let mut batches = Vec::new();
    for chunk_start in (0..n).step_by(BATCH_ROWS) {
        let chunk = chunk_start..(chunk_start + BATCH_ROWS).min(n);
        let mut page = Vec::with_capacity(chunk.len());
        let mut event_type = Vec::with_capacity(chunk.len());
        let mut duration = Vec::with_capacity(chunk.len());
        let mut ts = Vec::with_capacity(chunk.len());
        for i in chunk {
            page.push(pages[rng.random_range(0..pages.len())].as_str());
            event_type.push(types[rng.random_range(0..types.len())]);
            duration.push(rng.random_range(10..60_000_i64));
            ts.push(START_MS + (i as f64 * step) as i64 - rng.random_range(0..2_000));
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(page)),
            Arc::new(StringArray::from(event_type)),
            Arc::new(Int64Array::from(duration)),
            Arc::new(TimestampMillisecondArray::from(ts)),
        ];
        match RecordBatch::try_new(schema(), columns) {
            Ok(batch) => batches.push(batch),
            Err(e) => panic!("generating clicks: {e}"),
        }
    }
    batches
}

/// The compiler's rewrite of the query, its output schema and its window.
fn compiled() -> (String, SchemaRef, Vec<WindowSpec>) {
    let field = |name: &str, ty: Type| KinField {
        name: name.into(),
        ty: FieldType {
            ty,
            nullable: false,
        },
    };
    let input = TableInput {
        name: "clicks".into(),
        record: RecordType {
            fields: vec![
                field("page", Type::String),
                field("event_type", Type::String),
                field("duration_ms", Type::Int),
                field("ts", Type::Timestamp),
            ],
        },
        event_time: Some("ts".into()),
    };
    let analysis = analyze(SQL, &[input]);
    let Some(output) = analysis.output else {
        panic!("the query does not compile: {:?}", analysis.problems)
    };
    let output_schema = Arc::new(Schema::new(
        output
            .fields
            .iter()
            .map(|f| Field::new(&f.name, kin::sql::arrow_type(&f.ty.ty), f.ty.nullable))
            .collect::<Vec<_>>(),
    ));
    let windows = analysis
        .windows
        .iter()
        .map(|w| WindowSpec {
            kind: WindowKind::Tumble,
            table: w.table.clone(),
            time_column: w.time_column.clone(),
            intervals_ms: w.intervals_ms.clone(),
            partition_by: w.partition_by.clone(),
            session_table: None,
        })
        .collect();
    (analysis.runtime_sql, output_schema, windows)
}

/// The engine over every batch; returns the number of output rows.
fn incremental(config: &AnalyticsConfig, batches: &[RecordBatch]) -> usize {
    let mut engine = match AnalyticsEngine::new(config.clone()) {
        Ok(engine) => engine,
        Err(e) => panic!("{e}"),
    };
    let mut out = 0;
    for batch in batches {
        match engine.push("clicks", batch.clone()) {
            Ok(step) => out += step.output.iter().map(|b| b.num_rows()).sum::<usize>(),
            Err(e) => panic!("{e}"),
        }
    }
    match engine.finish() {
        Ok(step) => out + step.output.iter().map(|b| b.num_rows()).sum::<usize>(),
        Err(e) => panic!("{e}"),
    }
}

/// The query once over all rows in a `MemTable`, as DataFusion runs it by default.
fn batch_query(runtime: &tokio::runtime::Runtime, sql: &str, batches: &[RecordBatch]) -> usize {
    let mut config = SessionConfig::new();
    config.options_mut().sql_parser.enable_ident_normalization = false;
    config.options_mut().sql_parser.map_string_types_to_utf8view = false;
    let ctx = SessionContext::new_with_config(config);
    let run = async {
        let table = MemTable::try_new(schema(), vec![batches.to_vec()])?;
        ctx.register_table("clicks", Arc::new(table))?;
        ctx.sql(sql).await?.collect().await
    };
    match runtime.block_on(run) {
        Ok(out) => out.iter().map(|b| b.num_rows()).sum(),
        Err(e) => panic!("{e}"),
    }
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn bench(c: &mut Criterion) {
    let batches = clicks(rows());
    let (sql, output_schema, windows) = compiled();
    let config = AnalyticsConfig {
        name: "views_per_page".into(),
        sql: sql.clone(),
        inputs: vec![InputSpec {
            table: "clicks".into(),
            schema: schema(),
            event_time: Some("ts".into()),
            watermark_ms: WATERMARK_MS,
        }],
        windows,
        output_schema,
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(
        incremental(&config, &batches),
        batch_query(&runtime, &sql, &batches),
        "the engine and the batch query disagree on the number of windows"
    );
    let mut group = c.benchmark_group("tumble_1m_count_avg_by_page");
    group.sample_size(10);
    group.bench_function("engine_batches_of_8192", |b| {
        b.iter(|| incremental(&config, &batches))
    });
    group.bench_function("datafusion_one_batch_query", |b| {
        b.iter(|| batch_query(&runtime, &sql, &batches))
    });
    group.finish();

    let timed = |f: &dyn Fn() -> usize| {
        median(
            (0..5)
                .map(|_| {
                    let at = Instant::now();
                    f();
                    at.elapsed()
                })
                .collect(),
        )
    };
    let engine = timed(&|| incremental(&config, &batches));
    let baseline = timed(&|| batch_query(&runtime, &sql, &batches));
    println!(
        "summary: {} rows; engine {:.1} ms, one batch query {:.1} ms, ratio {:.2}",
        rows(),
        engine.as_secs_f64() * 1e3,
        baseline.as_secs_f64() * 1e3,
        engine.as_secs_f64() / baseline.as_secs_f64()
    );
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
