//! The analytics engine on queries without windows: projections and filters stream through,
//! joins of streams wait for the end of their inputs, and bad input is an error, not a panic.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, AsArray, Int64Array, StringArray, TimestampMillisecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema, SchemaRef, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;
use kin_runtime::analytics::{
    decode_json, encode_json, AnalyticsConfig, AnalyticsEngine, AnalyticsError, InputSpec,
};

fn clicks_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("page", DataType::Utf8, false),
        Field::new("duration_ms", DataType::Int64, false),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Millisecond, None),
            false,
        ),
    ]))
}

fn input(table: &str) -> InputSpec {
    InputSpec {
        table: table.into(),
        schema: clicks_schema(),
        event_time: Some("ts".into()),
        watermark_ms: 0,
    }
}

fn batch(rows: &[(&str, i64, i64)]) -> RecordBatch {
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.0))),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.1))),
        Arc::new(TimestampMillisecondArray::from_iter_values(
            rows.iter().map(|r| r.2),
        )),
    ];
    RecordBatch::try_new(clicks_schema(), columns).unwrap_or_else(|e| panic!("{e}"))
}

fn strings(batches: &[RecordBatch], column: usize) -> Vec<String> {
    let mut out: Vec<String> = batches
        .iter()
        .flat_map(|b| {
            b.column(column)
                .as_string::<i32>()
                .iter()
                .flatten()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    out.sort();
    out
}

#[test]
fn a_filter_streams_each_batch_through() {
    let output = Arc::new(Schema::new(vec![
        Field::new("page", DataType::Utf8, false),
        Field::new("seconds", DataType::Int64, false),
    ]));
    let config = AnalyticsConfig {
        name: "slow_pages".into(),
        sql: "SELECT page, duration_ms / 1000 AS seconds FROM clicks WHERE duration_ms > 1000"
            .into(),
        inputs: vec![input("clicks")],
        windows: Vec::new(),
        output_schema: Arc::clone(&output),
    };
    let mut engine = AnalyticsEngine::new(config).unwrap_or_else(|e| panic!("{e}"));
    let step = engine
        .push("clicks", batch(&[("/a", 500, 0), ("/b", 2_500, 10)]))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(strings(&step.output, 0), ["/b"]);
    assert_eq!(step.output[0].schema(), output);
    assert_eq!(
        step.output[0]
            .column(1)
            .as_primitive::<Int64Type>()
            .value(0),
        2
    );
    // Rows out of order are no matter: nothing here waits for the watermark.
    let step = engine
        .push("clicks", batch(&[("/c", 9_000, 0)]))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(strings(&step.output, 0), ["/c"]);
    assert!(step.late.is_empty());
    assert!(engine
        .finish()
        .unwrap_or_else(|e| panic!("{e}"))
        .output
        .is_empty());
}

#[test]
fn an_interval_join_runs_once_its_inputs_end() {
    let output = Arc::new(Schema::new(vec![
        Field::new("page", DataType::Utf8, false),
        Field::new("bought", DataType::Int64, false),
    ]));
    let config = AnalyticsConfig {
        name: "conversions".into(),
        sql: "SELECT v.page, b.duration_ms AS bought FROM views v JOIN buys b ON v.page = b.page AND b.ts BETWEEN v.ts AND v.ts + INTERVAL '1' MINUTE".into(),
        inputs: vec![input("views"), input("buys")],
        windows: Vec::new(),
        output_schema: output,
    };
    let mut engine = AnalyticsEngine::new(config).unwrap_or_else(|e| panic!("{e}"));
    let pushed = [
        ("views", batch(&[("/a", 0, 0), ("/b", 0, 0)])),
        ("buys", batch(&[("/a", 1, 30_000), ("/b", 2, 90_000)])),
        ("views", batch(&[("/b", 0, 60_000)])),
    ];
    for (table, rows) in pushed {
        let step = engine.push(table, rows).unwrap_or_else(|e| panic!("{e}"));
        assert!(step.output.is_empty() && step.late.is_empty());
    }
    let step = engine.finish().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(strings(&step.output, 0), ["/a", "/b"]);
    assert_eq!(engine.buffered_rows(), 0);
}

#[test]
fn bad_configurations_and_batches_are_errors() {
    let output = Arc::new(Schema::new(vec![Field::new("page", DataType::Utf8, false)]));
    let config = AnalyticsConfig {
        name: "pages".into(),
        sql: "SELECT page FROM clicks".into(),
        inputs: vec![input("clicks")],
        windows: Vec::new(),
        output_schema: Arc::clone(&output),
    };
    let mut engine = AnalyticsEngine::new(config.clone()).unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        engine.push("clickz", batch(&[])),
        Err(AnalyticsError::UnknownTable { .. })
    ));
    let other = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new("url", DataType::Utf8, false)])),
        vec![Arc::new(StringArray::from(vec!["/x"])) as ArrayRef],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let error = engine
        .push("clicks", other)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(error.contains("no column \"page\""), "{error}");
    let misnamed = AnalyticsConfig {
        output_schema: Arc::new(Schema::new(vec![Field::new("url", DataType::Utf8, false)])),
        ..config.clone()
    };
    let error = AnalyticsEngine::new(misnamed)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        error.contains("\"url\" is not a column of the query"),
        "{error}"
    );
    let broken = AnalyticsConfig {
        sql: "SELECT pag FROM clicks".into(),
        ..config
    };
    assert!(matches!(
        AnalyticsEngine::new(broken),
        Err(AnalyticsError::Query { .. })
    ));
}

#[test]
fn json_records_round_trip_through_the_engine() {
    let records: [&[u8]; 2] = [
        b"{\"page\":\"/a\",\"duration_ms\":1500,\"ts\":\"2024-05-01T10:00:00Z\"}\n",
        b"{\"page\":\"/b\",\"duration_ms\":20,\"ts\":1714557600250}\n",
    ];
    let batch = decode_json(&clicks_schema(), &records).unwrap_or_else(|e| panic!("{e}"));
    let config = AnalyticsConfig {
        name: "copy".into(),
        sql: "SELECT page, ts FROM clicks".into(),
        inputs: vec![input("clicks")],
        windows: Vec::new(),
        output_schema: Arc::new(Schema::new(vec![
            Field::new("page", DataType::Utf8, false),
            Field::new(
                "ts",
                DataType::Timestamp(TimeUnit::Millisecond, None),
                false,
            ),
        ])),
    };
    let mut engine = AnalyticsEngine::new(config).unwrap_or_else(|e| panic!("{e}"));
    let step = engine
        .push("clicks", batch)
        .unwrap_or_else(|e| panic!("{e}"));
    let lines: Vec<Vec<u8>> = step
        .output
        .iter()
        .flat_map(|b| encode_json(b).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    assert_eq!(
        lines,
        [
            b"{\"page\":\"/a\",\"ts\":\"2024-05-01T10:00:00Z\"}\n".to_vec(),
            b"{\"page\":\"/b\",\"ts\":\"2024-05-01T10:00:00.250Z\"}\n".to_vec(),
        ]
    );
}

#[test]
fn output_columns_are_matched_by_name_and_cast() {
    let output = Arc::new(Schema::new(vec![
        Field::new("seconds", DataType::Float64, false),
        Field::new("page", DataType::Utf8, false),
    ]));
    let config = AnalyticsConfig {
        name: "reordered".into(),
        sql: "SELECT page, duration_ms / 1000 AS seconds FROM clicks".into(),
        inputs: vec![input("clicks")],
        windows: Vec::new(),
        output_schema: Arc::clone(&output),
    };
    let mut engine = AnalyticsEngine::new(config).unwrap_or_else(|e| panic!("{e}"));
    let step = engine
        .push("clicks", batch(&[("/a", 2_500, 0)]))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(step.output[0].schema(), output);
    assert_eq!(strings(&step.output, 1), ["/a"]);
}

#[test]
fn an_engine_can_move_to_the_thread_of_its_node() {
    fn send<T: Send>() {}
    send::<AnalyticsEngine>();
}
