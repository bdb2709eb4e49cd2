//! The analytics engine on real Flink SQL, rewritten by kin's compiler: windows close at the
//! watermark, late rows come back apart, and every result equals a count made here in plain Rust.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int64Array, StringArray, TimestampMillisecondArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field as ArrowField, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::array_value_to_string;
use kin::ir::types::{Field, FieldType, RecordType, Type};
use kin::sql::{analyze, arrow_type, windows, TableInput};
use kin_runtime::analytics::{
    AnalyticsConfig, AnalyticsEngine, InputSpec, Step, WindowKind, WindowSpec,
};
use rand::{Rng, SeedableRng};

const MINUTE: i64 = 60_000;

/// An input: its name, fields (name, type, nullable), event time and watermark delay.
struct Input {
    name: &'static str,
    fields: Vec<(&'static str, Type, bool)>,
    watermark_ms: i64,
}

fn clicks(watermark_ms: i64) -> Input {
    Input {
        name: "clicks",
        fields: vec![
            ("page", Type::String, false),
            ("duration_ms", Type::Int, false),
            ("ts", Type::Timestamp, false),
        ],
        watermark_ms,
    }
}

fn record(input: &Input) -> RecordType {
    RecordType {
        fields: input
            .fields
            .iter()
            .map(|(name, ty, nullable)| Field {
                name: (*name).into(),
                ty: FieldType {
                    ty: ty.clone(),
                    nullable: *nullable,
                },
            })
            .collect(),
    }
}

fn schema_of(record: &RecordType) -> SchemaRef {
    Arc::new(Schema::new(
        record
            .fields
            .iter()
            .map(|f| ArrowField::new(&f.name, arrow_type(&f.ty.ty), f.ty.nullable))
            .collect::<Vec<_>>(),
    ))
}

fn kind(kind: windows::WindowKind) -> WindowKind {
    match kind {
        windows::WindowKind::Tumble => WindowKind::Tumble,
        windows::WindowKind::Hop => WindowKind::Hop,
        windows::WindowKind::Cumulate => WindowKind::Cumulate,
        windows::WindowKind::Session => WindowKind::Session,
    }
}

/// The configuration the generated code would write for `sql` over `inputs`.
fn config(sql: &str, inputs: &[Input]) -> AnalyticsConfig {
    let tables: Vec<TableInput> = inputs
        .iter()
        .map(|i| TableInput {
            name: i.name.into(),
            record: record(i),
            event_time: Some("ts".into()),
        })
        .collect();
    let analysis = analyze(sql, &tables);
    assert!(analysis.problems.is_empty(), "{:?}", analysis.problems);
    let output = analysis
        .output
        .unwrap_or_else(|| panic!("no output type: {sql}"));
    AnalyticsConfig {
        name: "test".into(),
        sql: analysis.runtime_sql.clone(),
        inputs: inputs
            .iter()
            .map(|i| InputSpec {
                table: i.name.into(),
                schema: schema_of(&record(i)),
                event_time: Some("ts".into()),
                watermark_ms: i.watermark_ms,
            })
            .collect(),
        windows: analysis
            .windows
            .iter()
            .map(|w| WindowSpec {
                kind: kind(w.kind),
                table: w.table.clone(),
                time_column: w.time_column.clone(),
                intervals_ms: w.intervals_ms.clone(),
                partition_by: w.partition_by.clone(),
                session_table: w.session_table.clone(),
            })
            .collect(),
        output_schema: schema_of(&output),
    }
}

fn engine(sql: &str, inputs: &[Input]) -> AnalyticsEngine {
    AnalyticsEngine::new(config(sql, inputs)).unwrap_or_else(|e| panic!("{e}"))
}

/// A batch of clicks: (page, duration_ms, ts).
fn batch(rows: &[(&str, i64, i64)]) -> RecordBatch {
    let schema = schema_of(&record(&clicks(0)));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.0))),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.1))),
        Arc::new(TimestampMillisecondArray::from_iter_values(
            rows.iter().map(|r| r.2),
        )),
    ];
    RecordBatch::try_new(schema, columns).unwrap_or_else(|e| panic!("{e}"))
}

fn push(engine: &mut AnalyticsEngine, table: &str, rows: &[(&str, i64, i64)]) -> Step {
    engine
        .push(table, batch(rows))
        .unwrap_or_else(|e| panic!("{e}"))
}

fn finish(engine: &mut AnalyticsEngine) -> Step {
    engine.finish().unwrap_or_else(|e| panic!("{e}"))
}

/// The rows of `batches`, one string each (`a|0|60000|2`), timestamps as epoch ms, sorted.
fn rows(batches: &[RecordBatch]) -> Vec<String> {
    let mut out = Vec::new();
    for batch in batches {
        let columns: Vec<ArrayRef> = batch
            .columns()
            .iter()
            .map(|c| match c.data_type() {
                DataType::Timestamp(_, _) => {
                    cast(c, &DataType::Int64).unwrap_or_else(|e| panic!("{e}"))
                }
                _ => Arc::clone(c),
            })
            .collect();
        for row in 0..batch.num_rows() {
            let cells: Vec<String> = columns
                .iter()
                .map(|c| array_value_to_string(c, row).unwrap_or_else(|e| panic!("{e}")))
                .collect();
            out.push(cells.join("|"));
        }
    }
    out.sort();
    out
}

fn late_rows(step: &Step) -> Vec<String> {
    let batches: Vec<RecordBatch> = step.late.iter().map(|l| l.rows.clone()).collect();
    rows(&batches)
}

const TUMBLE: &str = "SELECT page, window_start, window_end, COUNT(*) AS views, AVG(duration_ms) AS avg_ms FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '1' MINUTE)) GROUP BY page, window_start, window_end";

#[test]
fn a_tumbling_window_closes_when_the_watermark_reaches_its_end() {
    let mut engine = engine(TUMBLE, &[clicks(0)]);
    assert!(push(
        &mut engine,
        "clicks",
        &[("a", 100, 1_000), ("b", 7, 30_000)]
    )
    .output
    .is_empty());
    // The watermark is the window's end − 1 ms: nothing closes.
    let step = push(&mut engine, "clicks", &[("a", 101, MINUTE - 1)]);
    assert!(step.output.is_empty());
    assert_eq!(engine.watermark(), Some(MINUTE - 1));
    // The watermark reaches the end: the window is emitted, once.
    let step = push(&mut engine, "clicks", &[("a", 5, MINUTE)]);
    // AVG of a BIGINT is a BIGINT, truncated as Flink's: (100 + 101) / 2 = 100.
    assert_eq!(rows(&step.output), ["a|0|60000|2|100", "b|0|60000|1|7"]);
    let output_schema = config(TUMBLE, &[clicks(0)]).output_schema;
    assert!(step.output.iter().all(|b| b.schema() == output_schema));
    assert_eq!(output_schema.field(4).data_type(), &DataType::Int64);
    assert!(push(&mut engine, "clicks", &[("a", 1, MINUTE + 10)])
        .output
        .is_empty());
    // The end of the input closes the open window.
    assert_eq!(rows(&finish(&mut engine).output), ["a|60000|120000|2|3"]);
    assert!(finish(&mut engine).output.is_empty());
}

#[test]
fn out_of_order_rows_within_the_watermark_count_and_late_rows_come_back_apart() {
    let mut engine = engine(TUMBLE, &[clicks(10_000)]);
    push(&mut engine, "clicks", &[("a", 1, 50_000), ("a", 1, 65_000)]);
    // 52 s is behind 65 s, but the watermark (55 s) has not closed [0, 60 s).
    let step = push(&mut engine, "clicks", &[("a", 2, 52_000)]);
    assert!(step.output.is_empty() && step.late.is_empty());
    let step = push(&mut engine, "clicks", &[("a", 3, 71_000)]);
    assert_eq!(rows(&step.output), ["a|0|60000|2|1"]);
    // [0, 60 s) was emitted at watermark 61 s: a row at 58 s is late, 62 s is not.
    let step = push(&mut engine, "clicks", &[("a", 9, 58_000), ("b", 4, 62_000)]);
    assert!(step.output.is_empty());
    assert_eq!(late_rows(&step), ["a|9|58000"]);
    assert_eq!(step.late[0].table, "clicks");
    assert_eq!(step.late[0].positions, [0], "the first row pushed");
    assert_eq!(engine.late_rows(), 1);
    assert_eq!(
        rows(&finish(&mut engine).output),
        ["a|60000|120000|2|2", "b|60000|120000|1|4"]
    );
}

/// Clicks over `minutes`, a few per second, out of order by up to `disorder_ms`.
fn random_clicks(seed: u64, minutes: i64, disorder_ms: i64) -> Vec<(&'static str, i64, i64)> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let pages = ["/", "/cart", "/docs", "/pricing"];
    let mut out = Vec::new();
    let mut ts = 0;
    while ts < minutes * MINUTE {
        ts += rng.random_range(0..400);
        let jitter = rng.random_range(0..=disorder_ms);
        let page = pages[rng.random_range(0..pages.len())];
        out.push((page, rng.random_range(1..5_000), (ts - jitter).max(0)));
    }
    out
}

/// Pushes `rows` in batches of varied sizes; checks that each window is emitted once, after
/// the watermark passed its end and before the next; returns every output batch.
fn run_all(
    engine: &mut AnalyticsEngine,
    rows: &[(&str, i64, i64)],
    end_column: usize,
) -> Vec<RecordBatch> {
    let mut out = Vec::new();
    let mut at = 0;
    let mut size = 1;
    let mut previous = i64::MIN;
    while at < rows.len() {
        let next = (at + size).min(rows.len());
        let step = push(engine, "clicks", &rows[at..next]);
        assert!(
            step.late.is_empty(),
            "no row is later than the watermark delay"
        );
        let watermark = engine.watermark().unwrap_or(i64::MIN);
        for batch in &step.output {
            let ends =
                cast(batch.column(end_column), &DataType::Int64).unwrap_or_else(|e| panic!("{e}"));
            let ends = ends
                .as_any()
                .downcast_ref::<Int64Array>()
                .unwrap_or_else(|| panic!("ends"));
            assert!(ends
                .values()
                .iter()
                .all(|&e| previous < e && e <= watermark));
        }
        previous = watermark;
        out.extend(step.output);
        at = next;
        size = size * 3 % 1_000 + 1;
    }
    out.extend(finish(engine).output);
    out
}

/// COUNT(*) per (page, start, end) as `page|start|end|count`.
fn counts(windows: impl Iterator<Item = (&'static str, i64, i64)>) -> Vec<String> {
    let mut counts: BTreeMap<(&str, i64, i64), u64> = BTreeMap::new();
    for key in windows {
        *counts.entry(key).or_default() += 1;
    }
    let mut out: Vec<String> = counts
        .iter()
        .map(|((page, start, end), n)| format!("{page}|{start}|{end}|{n}"))
        .collect();
    out.sort();
    out
}

#[test]
fn tumbling_counts_and_averages_equal_a_plain_count() {
    let data = random_clicks(1, 30, 5_000);
    let mut engine = engine(TUMBLE, &[clicks(5_000)]);
    let got = rows(&run_all(&mut engine, &data, 2));
    let mut sums: BTreeMap<(&str, i64), (i64, i64)> = BTreeMap::new();
    for &(page, duration, ts) in &data {
        let entry = sums.entry((page, ts - ts % MINUTE)).or_default();
        entry.0 += 1;
        entry.1 += duration;
    }
    let mut expected: Vec<String> = sums
        .iter()
        .map(|((page, start), (n, sum))| {
            format!("{page}|{start}|{}|{n}|{}", start + MINUTE, sum / n)
        })
        .collect();
    expected.sort();
    assert_eq!(got, expected);
    assert_eq!(engine.buffered_rows(), 0);
}

#[test]
fn hopping_windows_overlap() {
    let sql = "SELECT page, window_start, window_end, COUNT(*) AS n FROM TABLE(HOP(TABLE clicks, DESCRIPTOR(ts), INTERVAL '1' MINUTE, INTERVAL '3' MINUTE)) GROUP BY page, window_start, window_end";
    let data = random_clicks(2, 20, 3_000);
    let mut engine = engine(sql, &[clicks(3_000)]);
    let got = rows(&run_all(&mut engine, &data, 2));
    let expected = counts(data.iter().flat_map(|&(page, _, ts)| {
        (0..3).map(move |k| {
            let start = ts - ts % MINUTE - k * MINUTE;
            (page, start, start + 3 * MINUTE)
        })
    }));
    assert_eq!(got, expected);
    assert_eq!(engine.buffered_rows(), 0);
}

#[test]
fn cumulating_windows_grow_by_steps() {
    let sql = "SELECT page, window_start, window_end, COUNT(*) AS n FROM TABLE(CUMULATE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '1' MINUTE, INTERVAL '4' MINUTE)) GROUP BY page, window_start, window_end";
    let data = random_clicks(3, 20, 2_000);
    let mut engine = engine(sql, &[clicks(2_000)]);
    let got = rows(&run_all(&mut engine, &data, 2));
    let expected = counts(data.iter().flat_map(|&(page, _, ts)| {
        let start = ts - ts % (4 * MINUTE);
        (1..=4)
            .map(move |k| (page, start, start + k * MINUTE))
            .filter(move |w| w.2 > ts)
    }));
    assert_eq!(got, expected);
}

#[test]
fn sessions_close_per_key_after_a_gap() {
    let sql = "SELECT page, window_start, window_end, COUNT(*) AS n, SUM(duration_ms) AS total FROM TABLE(SESSION(TABLE clicks PARTITION BY page, DESCRIPTOR(ts), INTERVAL '5' MINUTE)) GROUP BY page, window_start, window_end";
    let mut engine = engine(sql, &[clicks(3 * MINUTE)]);
    let step = push(
        &mut engine,
        "clicks",
        &[
            ("a", 1, 0),
            ("b", 10, MINUTE),
            ("a", 2, 2 * MINUTE),
            ("a", 3, 4 * MINUTE),
        ],
    );
    assert!(step.output.is_empty());
    // Watermark 6 min: b's session [1, 6) min closes; a's [0, 9) min is open.
    let step = push(&mut engine, "clicks", &[("c", 0, 9 * MINUTE)]);
    assert_eq!(rows(&step.output), ["b|60000|360000|1|10"]);
    // a at 10 and 18 min are two sessions until 14 min bridges them (all before they close).
    push(&mut engine, "clicks", &[("a", 4, 10 * MINUTE)]);
    let step = push(
        &mut engine,
        "clicks",
        &[("a", 5, 18 * MINUTE), ("a", 6, 14 * MINUTE)],
    );
    // Watermark 15 min: a's first session [0, 9) and c's [9, 14) closed; a's [10, 23) is open.
    assert_eq!(
        rows(&step.output),
        ["a|0|540000|3|6", "c|540000|840000|1|0"]
    );
    // A row whose session would have ended by the watermark is late.
    let step = push(&mut engine, "clicks", &[("d", 1, 9 * MINUTE)]);
    assert_eq!(late_rows(&step), ["d|1|540000"]);
    assert_eq!(rows(&finish(&mut engine).output), ["a|600000|1380000|3|15"]);
}

#[test]
fn a_session_without_a_key_spans_every_row() {
    let sql = "SELECT window_start, window_end, COUNT(*) AS n FROM TABLE(SESSION(TABLE clicks, DESCRIPTOR(ts), INTERVAL '1' MINUTE)) GROUP BY window_start, window_end";
    let mut engine = engine(sql, &[clicks(0)]);
    push(
        &mut engine,
        "clicks",
        &[("a", 1, 0), ("b", 1, 50_000), ("c", 1, 100_000)],
    );
    let step = push(&mut engine, "clicks", &[("a", 1, 200_000)]);
    assert_eq!(rows(&step.output), ["0|160000|3"]);
    assert_eq!(rows(&finish(&mut engine).output), ["200000|260000|1"]);
}

#[test]
fn the_watermark_of_several_inputs_is_their_smallest() {
    let sql = "SELECT v.page, v.window_start, v.window_end, COUNT(*) AS n FROM TABLE(TUMBLE(TABLE views, DESCRIPTOR(ts), INTERVAL '1' MINUTE)) v JOIN TABLE(TUMBLE(TABLE buys, DESCRIPTOR(ts), INTERVAL '1' MINUTE)) b ON v.page = b.page AND v.window_start = b.window_start AND v.window_end = b.window_end GROUP BY v.page, v.window_start, v.window_end";
    let input = |name| Input { name, ..clicks(0) };
    let mut engine = engine(sql, &[input("views"), input("buys")]);
    let step = push(
        &mut engine,
        "views",
        &[("a", 1, 1_000), ("a", 1, 2_000), ("a", 1, 3 * MINUTE)],
    );
    assert!(step.output.is_empty());
    assert_eq!(engine.watermark(), None, "buys has no watermark yet");
    let step = push(
        &mut engine,
        "buys",
        &[("a", 1, 5_000), ("b", 1, MINUTE + 5)],
    );
    assert_eq!(engine.watermark(), Some(MINUTE + 5));
    assert_eq!(rows(&step.output), ["a|0|60000|2"]);
    // views is at 3 min, buys at 1 min: a view at 2 min is not late.
    let step = push(
        &mut engine,
        "views",
        &[("b", 1, 2 * MINUTE - 1), ("b", 1, MINUTE + 1)],
    );
    assert!(step.late.is_empty() && step.output.is_empty());
    let step = push(&mut engine, "buys", &[("b", 1, 2 * MINUTE)]);
    assert_eq!(rows(&step.output), ["b|60000|120000|2"]);
    // The view at 3 min has no buy in its window.
    assert!(finish(&mut engine).output.is_empty());
}

#[test]
fn a_row_is_late_only_once_every_window_it_belongs_to_was_emitted() {
    let sql = "SELECT window_start, window_end, COUNT(*) AS n FROM TABLE(HOP(TABLE clicks, DESCRIPTOR(ts), INTERVAL '1' MINUTE, INTERVAL '2' MINUTE)) GROUP BY window_start, window_end";
    let mut engine = engine(sql, &[clicks(0)]);
    push(&mut engine, "clicks", &[("a", 1, 30_000)]);
    let step = push(&mut engine, "clicks", &[("b", 1, 90_000)]);
    assert_eq!(rows(&step.output), ["-60000|60000|1"]);
    // 42 s is behind the watermark (90 s): [-1, 1) min was emitted, [0, 2) min is open.
    let step = push(&mut engine, "clicks", &[("c", 1, 42_000)]);
    assert!(step.late.is_empty() && step.output.is_empty());
    assert_eq!(
        rows(&finish(&mut engine).output),
        ["0|120000|3", "60000|180000|1"]
    );
}

#[test]
fn a_row_without_an_event_time_is_late() {
    let mut input = clicks(0);
    input.fields[2].2 = true;
    let config = config(TUMBLE, &[input]);
    let schema = Arc::clone(&config.inputs[0].schema);
    let mut engine = AnalyticsEngine::new(config).unwrap_or_else(|e| panic!("{e}"));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec!["a", "b"])),
        Arc::new(Int64Array::from(vec![1, 2])),
        Arc::new(TimestampMillisecondArray::from(vec![Some(5), None])),
    ];
    let batch = RecordBatch::try_new(schema, columns).unwrap_or_else(|e| panic!("{e}"));
    let step = engine
        .push("clicks", batch)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(late_rows(&step), ["b|2|"]);
    assert_eq!(rows(&finish(&mut engine).output), ["a|0|60000|1|1"]);
}

fn output_rows(step: &Step) -> usize {
    step.output.iter().map(RecordBatch::num_rows).sum()
}

#[test]
fn each_split_holds_the_watermark_back_until_it_catches_up() {
    let sql = "SELECT page, window_start, window_end, COUNT(*) AS views \
               FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '1' MINUTE)) \
               GROUP BY page, window_start, window_end";
    let split = |engine: &mut AnalyticsEngine, split: usize, rows: &[(&str, i64, i64)]| {
        engine
            .push_split("clicks", split, batch(rows))
            .unwrap_or_else(|e| panic!("{e}"))
    };
    // Shard 0 is read up to minute 5 while shard 1 is still in minute 0.
    let mut sharded = engine(sql, &[clicks(0)]);
    sharded.set_splits("clicks", 3);
    let step = split(&mut sharded, 0, &[("/a", 1, 5 * MINUTE)]);
    assert_eq!(output_rows(&step), 0);
    let step = split(&mut sharded, 1, &[("/a", 1, 10)]);
    assert!(step.late.is_empty(), "shard 1's minute-0 row is on time");
    assert_eq!(
        output_rows(&step),
        0,
        "shard 1 holds the watermark at 10 ms"
    );
    // Shard 1 reaches minute 2, but shard 2 has delivered nothing: nothing closes until it is
    // declared idle; then minutes 0 and 1 close, and minute 0 holds its one row.
    let step = split(&mut sharded, 1, &[("/b", 1, 2 * MINUTE)]);
    assert!(step.late.is_empty());
    assert_eq!(output_rows(&step), 0);
    sharded.mark_idle("clicks", 2);
    let step = split(&mut sharded, 1, &[("/b", 1, 2 * MINUTE)]);
    assert_eq!(output_rows(&step), 1);
    // Read as one split, the same order makes the minute-0 row late.
    let mut single = engine(sql, &[clicks(0)]);
    push(&mut single, "clicks", &[("/a", 1, 5 * MINUTE)]);
    let step = push(&mut single, "clicks", &[("/a", 1, 10)]);
    assert_eq!(
        step.late.iter().map(|l| l.rows.num_rows()).sum::<usize>(),
        1
    );
}

/// Clicks with two columns no query below reads but `SELECT *`.
fn wide_clicks() -> Input {
    Input {
        name: "clicks",
        fields: vec![
            ("user_agent", Type::String, false),
            ("page", Type::String, false),
            ("country", Type::String, true),
            ("duration_ms", Type::Int, false),
            ("ts", Type::Timestamp, false),
        ],
        watermark_ms: 0,
    }
}

/// A batch of wide clicks: (page, duration_ms, ts), with a user agent and a country each.
fn wide_batch(rows: &[(&str, i64, i64)]) -> RecordBatch {
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|_| "Mozilla/5.0"),
        )),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.0))),
        Arc::new(StringArray::from_iter(
            rows.iter().map(|r| (r.1 % 2 == 0).then_some("DE")),
        )),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.1))),
        Arc::new(TimestampMillisecondArray::from_iter_values(
            rows.iter().map(|r| r.2),
        )),
    ];
    RecordBatch::try_new(schema_of(&record(&wide_clicks())), columns)
        .unwrap_or_else(|e| panic!("{e}"))
}

fn input_columns(engine: &AnalyticsEngine) -> Vec<String> {
    let schema = engine
        .input_schema("clicks")
        .unwrap_or_else(|| panic!("no input clicks"));
    schema.fields().iter().map(|f| f.name().clone()).collect()
}

#[test]
fn inputs_are_narrowed_to_the_columns_the_query_and_its_windows_read() {
    let wide = [wide_clicks()];
    assert_eq!(
        input_columns(&engine(TUMBLE, &wide)),
        ["page", "duration_ms", "ts"]
    );
    let count = "SELECT window_start, window_end, COUNT(*) AS n FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '1' MINUTE)) GROUP BY window_start, window_end";
    assert_eq!(input_columns(&engine(count, &wide)), ["ts"]);
    // A session's key is read even where the query does not name it again.
    let sessions = "SELECT window_start, window_end, COUNT(*) AS n FROM TABLE(SESSION(TABLE clicks PARTITION BY country, DESCRIPTOR(ts), INTERVAL '1' MINUTE)) GROUP BY country, window_start, window_end";
    assert_eq!(input_columns(&engine(sessions, &wide)), ["country", "ts"]);
    let all = "SELECT * FROM clicks WHERE duration_ms > 1";
    assert_eq!(
        input_columns(&engine(all, &wide)),
        ["user_agent", "page", "country", "duration_ms", "ts"]
    );
}

#[test]
fn a_narrowed_engine_takes_whole_batches_and_names_late_rows_by_position() {
    let data = random_clicks(11, 6, 20_000);
    let mut engine = engine(TUMBLE, &[wide_clicks()]);
    let mut output = Vec::new();
    for chunk in data.chunks(7) {
        let step = engine
            .push("clicks", wide_batch(chunk))
            .unwrap_or_else(|e| panic!("{e}"));
        for late in &step.late {
            assert_eq!(late.rows.num_columns(), 3, "the columns the engine reads");
            let named: Vec<(&str, i64, i64)> = late.positions.iter().map(|&p| chunk[p]).collect();
            assert_eq!(
                rows(std::slice::from_ref(&late.rows)),
                rows(&[batch(&named)])
            );
        }
        output.extend(step.output);
    }
    output.extend(finish(&mut engine).output);
    assert!(
        engine.late_rows() > 0,
        "20 s of disorder against a 0 s watermark"
    );
    // The same rows through an engine whose input has only those columns.
    let mut narrow = self::engine(TUMBLE, &[clicks(0)]);
    let mut expected = Vec::new();
    for chunk in data.chunks(7) {
        expected.extend(push(&mut narrow, "clicks", chunk).output);
    }
    expected.extend(finish(&mut narrow).output);
    assert!(!expected.is_empty());
    assert_eq!(rows(&output), rows(&expected));
    assert_eq!(engine.late_rows(), narrow.late_rows());
}
