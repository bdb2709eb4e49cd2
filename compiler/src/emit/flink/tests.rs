//! Unit tests of the Flink SQL emitter, on small specs compiled from YAML.

use std::collections::BTreeSet;

use super::ddl::{aws_name, stream_arn};
use super::query::flink_query;
use super::{flink_sql, insert, quote};
use crate::ir::graph::{Pipeline, Record};
use crate::ir::types::{Field, FieldType, RecordType, Type};
use crate::source::SourceFile;

fn pipeline(yaml: &str) -> Pipeline {
    let compiled = crate::compile(&SourceFile::new("pipeline.yaml", yaml.to_string()));
    let errors: Vec<String> = compiled
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.message.clone())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    compiled.pipeline
}

/// The one file of a spec with one analytics node.
fn only_file(pipeline: &Pipeline) -> (String, String) {
    let mut files = flink_sql(pipeline);
    assert_eq!(files.len(), 1, "{files:?}");
    files.remove(0)
}

fn set_record(pipeline: &mut Pipeline, node: &str, fields: &[(&str, Type, bool)]) {
    let record = RecordType {
        fields: fields
            .iter()
            .map(|(name, ty, nullable)| Field {
                name: name.to_string(),
                ty: FieldType {
                    ty: ty.clone(),
                    nullable: *nullable,
                },
            })
            .collect(),
    };
    let index = pipeline.graph.by_name[node];
    pipeline.graph.graph[index].record = Record::Known(record);
}

/// Forgets a node's type, as before the SQL typing stage.
fn set_unknown(pipeline: &mut Pipeline, node: &str) {
    let index = pipeline.graph.by_name[node];
    pipeline.graph.graph[index].record = Record::Unknown;
}

const CLICKS: &str = "\
pipeline: shop
region: eu-west-1
schemas:
  Click:
    fields:
      user: string
      views: int
      price: decimal(10,2)?
      score: float
      ok: bool
      day: date
      raw: bytes?
      tags: list<string?>
      device: { os: string, version: string? }
      ts: timestamp
    event_time: ts
    watermark: 10s
producers:
  web: { schema: Click, to: clicks, rate: 10/s }
streams:
  clicks: { schema: Click, shards: 1, partition_key: user }
  per_user: { shards: 1, partition_key: user }
analytics:
  counts:
    from: clicks
    to: per_user
    sql: |
      SELECT `user`, window_start, COUNT(*) AS `views`
      FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
      GROUP BY `user`, window_start, window_end;
firehoses:
  archive:
    from: per_user
    to: { s3: { bucket: shop-archive } }
";

#[test]
fn one_file_per_analytics_with_every_type_mapped_and_quoted() {
    let (path, sql) = only_file(&pipeline(CLICKS));
    assert_eq!(path, "counts.sql");
    for column in [
        "`user` STRING NOT NULL,",
        "`views` BIGINT NOT NULL,",
        "`price` DECIMAL(10, 2),",
        "`score` DOUBLE NOT NULL,",
        "`ok` BOOLEAN NOT NULL,",
        "`day` DATE NOT NULL,",
        "`raw` BYTES,",
        "`tags` ARRAY<STRING> NOT NULL,",
        "`device` ROW<`os` STRING NOT NULL, `version` STRING> NOT NULL,",
        "`ts` TIMESTAMP_LTZ(3) NOT NULL,",
        "WATERMARK FOR `ts` AS `ts` - INTERVAL '10' SECOND\n)",
    ] {
        assert!(sql.contains(&format!("\n  {column}")), "{column} in\n{sql}");
    }
    assert!(sql.contains("CREATE TABLE `clicks` (\n"), "{sql}");
    assert!(sql.contains(
        "  'stream.arn' = 'arn:${kin:partition}:kinesis:${kin:region}:${kin:account_id}:stream/shop-clicks',\n"
    ));
    assert!(sql.contains("  'aws.region' = '${kin:region}',\n"));
    assert!(sql.contains("  'source.init.position' = 'LATEST',\n"));
    assert!(sql.contains("  'json.timestamp-format.standard' = 'ISO-8601'\n);\n"));
}

#[test]
fn unknown_output_type_is_a_comment_and_the_insert_still_follows() {
    let mut p = pipeline(CLICKS);
    set_unknown(&mut p, "counts");
    set_unknown(&mut p, "per_user");
    let (_, sql) = only_file(&p);
    assert!(!sql.contains("CREATE TABLE `per_user`"), "{sql}");
    assert!(sql.contains("-- Output: stream \"per_user\" = Kinesis stream \"shop-per_user\""));
    assert!(
        sql.replace("\n-- ", " ")
            .contains("Its record type is unknown"),
        "{sql}"
    );
    assert!(
        sql.ends_with(
            "INSERT INTO `per_user`\nSELECT `user`, `window_start`, COUNT(*) AS `views`\n\
             FROM TABLE(TUMBLE(TABLE `clicks`, DESCRIPTOR(`ts`), INTERVAL '1' MINUTE))\n\
             GROUP BY `user`, `window_start`, `window_end`;\n"
        ),
        "{sql}"
    );
}

#[test]
fn known_output_stream_is_partitioned_by_its_key() {
    let mut p = pipeline(CLICKS);
    set_unknown(&mut p, "per_user");
    let fields = [
        ("user", Type::String, false),
        ("window_start", Type::Timestamp, false),
        ("views", Type::Int, false),
    ];
    set_record(&mut p, "counts", &fields);
    let (_, sql) = only_file(&p);
    let expected = "CREATE TABLE `per_user` (\n  `user` STRING NOT NULL,\n  \
        `window_start` TIMESTAMP_LTZ(3) NOT NULL,\n  `views` BIGINT NOT NULL\n)\n\
        PARTITIONED BY (`user`)\nWITH (\n  'connector' = 'kinesis',\n  \
        'stream.arn' = 'arn:${kin:partition}:kinesis:${kin:region}:${kin:account_id}:stream/shop-per_user',\n  \
        'aws.region' = '${kin:region}',\n  'format' = 'json',\n  \
        'json.timestamp-format.standard' = 'ISO-8601',\n  \
        'json.encode.decimal-as-plain-number' = 'true'\n);\n";
    assert!(sql.contains(expected), "{sql}");
    // The type of the target itself wins over the analytics' (a declared schema).
    set_record(&mut p, "per_user", &fields[..1]);
    let (_, sql) = only_file(&p);
    assert!(sql.contains("CREATE TABLE `per_user` (\n  `user` STRING NOT NULL\n)\n"));
}

const CSV_TO_FIREHOSE: &str = "\
pipeline: logs
schemas:
  Line:
    format: csv
    delimiter: '|'
    fields: { ts: timestamp, path: string, meta: string? }
    event_time: ts
    watermark: 300s
producers:
  app: { schema: Line, to: lines, rate: 10/s }
streams:
  lines: { schema: Line, shards: 1, partition_key: random }
analytics:
  per_path:
    from: lines
    to: to_s3
    sql: \"SELECT path FROM lines -- the paths;\"
firehoses:
  to_s3:
    to: { s3: { bucket: logs-paths } }
";

#[test]
fn csv_source_and_firehose_sink() {
    let mut p = pipeline(CSV_TO_FIREHOSE);
    // An input listed twice gets one CREATE TABLE.
    let input = p.spec.analytics[0].from[0].clone();
    p.spec.analytics[0].from.push(input);
    let (_, sql) = only_file(&p);
    assert_eq!(sql.matches("CREATE TABLE `lines`").count(), 1, "{sql}");
    assert!(sql.contains("  `ts` TIMESTAMP(3) NOT NULL,\n"), "{sql}");
    assert!(sql.contains("WATERMARK FOR `ts` AS `ts` - INTERVAL '300' SECOND(3)\n"));
    assert!(sql.contains("  'format' = 'csv',\n  'csv.field-delimiter' = '|'\n);\n"));
    // A `;` after a trailing line comment goes on its own line.
    assert!(sql.ends_with("INSERT INTO `to_s3`\nSELECT `path` FROM `lines` -- the paths\n;\n"));
    set_unknown(&mut p, "to_s3");
    set_record(&mut p, "per_path", &[("path", Type::String, false)]);
    let (_, sql) = only_file(&p);
    assert!(
        sql.contains(
            "CREATE TABLE `to_s3` (\n  `path` STRING NOT NULL\n)\nWITH (\n  \
             'connector' = 'firehose',\n  'delivery-stream' = 'logs-to_s3',\n  \
             'aws.region' = '${kin:region}',\n  'format' = 'json',\n"
        ),
        "{sql}"
    );
}

#[test]
fn nested_event_time_gets_no_watermark_but_a_note() {
    let yaml = CLICKS
        .replace(
            "ts: timestamp\n    event_time: ts",
            "at: { ts: timestamp }\n    event_time: at.ts",
        )
        .replace(
            "FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '1' MINUTE))\n      \
             GROUP BY `user`, window_start, window_end",
            "FROM clicks",
        )
        .replace(", window_start, COUNT(*) AS `views`", ", `views`");
    let (_, sql) = only_file(&pipeline(&yaml));
    assert!(!sql.contains("WATERMARK FOR"), "{sql}");
    assert!(
        sql.contains("-- The event_time \"at.ts\" is a nested field"),
        "{sql}"
    );
    assert!(sql.contains("  `at` ROW<`ts` TIMESTAMP_LTZ(3) NOT NULL> NOT NULL\n)"));
}

#[test]
fn intervals_fit_flinks_second_precision() {
    use super::ddl::interval;
    assert_eq!(interval(0), "INTERVAL '0' SECOND");
    assert_eq!(interval(10_000), "INTERVAL '10' SECOND");
    assert_eq!(interval(99_000), "INTERVAL '99' SECOND");
    assert_eq!(interval(100_000), "INTERVAL '100' SECOND(3)");
    assert_eq!(interval(500), "INTERVAL '0.500' SECOND");
    assert_eq!(interval(604_800_250), "INTERVAL '604800.250' SECOND(6, 3)");
}

#[test]
fn identifiers_and_statements() {
    assert_eq!(quote("user"), "`user`");
    assert_eq!(quote("a`b"), "`a``b`");
    let none = BTreeSet::new();
    let insert = |sql: &str| {
        let out = insert("t", sql, &none);
        out.split_once("INSERT INTO")
            .map(|(_, rest)| format!("INSERT INTO{rest}"))
            .unwrap_or(out)
    };
    assert_eq!(insert("  SELECT 1 ;\n\n"), "INSERT INTO `t`\nSELECT 1;\n");
    assert_eq!(insert("SELECT 1"), "INSERT INTO `t`\nSELECT 1;\n");
    // Only a real trailing comment moves the `;` to a line of its own.
    assert_eq!(
        insert("SELECT 1 -- one;"),
        "INSERT INTO `t`\nSELECT 1 -- one\n;\n"
    );
    assert_eq!(
        insert("SELECT '--' AS x"),
        "INSERT INTO `t`\nSELECT '--' AS `x`;\n"
    );
    let p = pipeline(CLICKS);
    assert_eq!(aws_name(&p, "clicks"), "shop-clicks");
    assert!(stream_arn(&p, "clicks").ends_with(":stream/shop-clicks"));
}

#[test]
fn no_analytics_no_files_and_output_is_deterministic() {
    let yaml = CLICKS
        .split("analytics:")
        .next()
        .unwrap_or_default()
        .to_string()
        + "firehoses:\n  archive:\n    from: clicks\n    to: { s3: { bucket: shop-archive } }\n";
    let yaml = yaml.replace("  per_user: { shards: 1, partition_key: user }\n", "");
    assert!(flink_sql(&pipeline(&yaml)).is_empty());
    let p = pipeline(CLICKS);
    assert_eq!(flink_sql(&p), flink_sql(&p));
}

#[test]
fn header_documents_the_placeholders() {
    let (_, sql) = only_file(&pipeline(CLICKS));
    assert!(sql.starts_with("-- Flink SQL of analytics \"counts\" in pipeline \"shop\""));
    for key in ["partition", "region", "account_id"] {
        assert!(
            sql.contains(&format!("--   ${{kin:{key}}} ")),
            "{key}: {sql}"
        );
    }
}

/// The query as Flink gets it, with `names` known.
fn flink(sql: &str, names: &[&str]) -> String {
    let known: BTreeSet<String> = names.iter().map(|n| n.to_string()).collect();
    flink_query(sql, &known).sql
}

#[test]
fn reserved_words_as_columns_and_aliases_are_quoted() {
    let names = ["clicks", "user", "value", "method", "at", "views", "page"];
    assert_eq!(
        flink(
            "SELECT user, value AS amount, COUNT(*) AS views\nFROM clicks\nWHERE method = 'GET'",
            &names
        ),
        "SELECT `user`, `value` AS `amount`, COUNT(*) AS `views`\nFROM `clicks`\nWHERE `method` = 'GET'"
    );
    // An alias is quoted wherever it is used, known or not; unknown names are left alone.
    assert_eq!(
        flink("SELECT page AS at, other FROM clicks", &names),
        "SELECT `page` AS `at`, other FROM `clicks`"
    );
    // Literals, comments and layout stay as written.
    let sql = "SELECT\n  user,   -- the user\n\t'user' AS who /* value */\nFROM clicks;";
    assert_eq!(
        flink(sql, &names),
        "SELECT\n  `user`,   -- the user\n\t'user' AS `who` /* value */\nFROM `clicks`;"
    );
}

#[test]
fn struct_fields_after_a_dot_are_quoted() {
    let names = [
        "events", "device", "os", "screen", "width", "location", "lat", "value",
    ];
    assert_eq!(
        flink(
            "SELECT device.os AS os, e.device.screen.width AS width, location.lat, location.value \
             FROM events AS e",
            &names
        ),
        "SELECT `device`.`os` AS `os`, `e`.`device`.`screen`.`width` AS `width`, \
         `location`.`lat`, `location`.`value` FROM `events` AS `e`"
    );
    // A keyword-like word after `.` is a name; `.*` has none.
    assert_eq!(
        flink("SELECT e.* , e.value FROM events e", &names),
        "SELECT e.* , e.`value` FROM `events` e"
    );
}

#[test]
fn a_column_named_like_a_function_or_keyword_is_quoted_only_as_a_name() {
    // Flink matches names with their case, so only lowercase keywords could clash here.
    let names = [
        "t",
        "x",
        "ts",
        "count",
        "year",
        "hour",
        "day",
        "date",
        "timestamp",
        "first",
        "rows",
        "row",
        "current",
        "unbounded",
        "preceding",
        "partition",
        "order",
        "by",
        "as",
        "cast",
        "interval",
        "to",
        "nulls",
        "over",
        "extract",
        "from",
    ];
    let sql = "select count, count(*) AS n, count (x) AS m, year, year(ts) AS y,\n\
               extract(hour from ts) AS hour, timestampadd(hour, 1, ts) AS later,\n\
               cast(x as date) AS date, cast(x as timestamp(3)) AS timestamp,\n\
               date '2026-01-01' AS d, timestamp '2026-01-01 00:00:00' AS t2,\n\
               ts + interval '1' hour AS h, interval '1' day to hour AS dh, ceil(ts to hour) AS c,\n\
               first, rows, row, current, x::date AS x2,\n\
               row_number() over (partition by year order by ts nulls first \
               rows between unbounded preceding and current row) AS r\n\
               from t where hour > 1";
    let expected = "select `count`, count(*) AS `n`, count (`x`) AS `m`, `year`, year(`ts`) AS `y`,\n\
               extract(hour from `ts`) AS `hour`, timestampadd(hour, 1, `ts`) AS `later`,\n\
               cast(`x` as date) AS `date`, cast(`x` as timestamp(3)) AS `timestamp`,\n\
               date '2026-01-01' AS `d`, timestamp '2026-01-01 00:00:00' AS `t2`,\n\
               `ts` + interval '1' hour AS `h`, interval '1' day to hour AS `dh`, ceil(`ts` to hour) AS `c`,\n\
               `first`, `rows`, `row`, `current`, `x`::date AS `x2`,\n\
               row_number() over (partition by `year` order by `ts` nulls first \
               rows between unbounded preceding and current row) AS `r`\n\
               from `t` where `hour` > 1";
    assert_eq!(flink(sql, &names), expected);
    // The window table functions' keywords stay keywords.
    let names = [
        "table",
        "select",
        "from",
        "clicks",
        "ts",
        "descriptor",
        "interval",
        "minute",
    ];
    assert_eq!(
        flink(
            "select window_start from table(tumble(table clicks, descriptor(ts), interval '1' minute))",
            &names
        ),
        "select window_start from table(tumble(table `clicks`, descriptor(`ts`), interval '1' minute))"
    );
}

#[test]
fn already_quoted_identifiers_are_left_alone() {
    let names = ["user", "clicks", "views", "a`b"];
    assert_eq!(
        flink("SELECT `user`, `a``b` AS `x`, user FROM `clicks`", &names),
        "SELECT `user`, `a``b` AS `x`, `user` FROM `clicks`"
    );
    // Flink reads no double-quoted identifier: those get backticks (a backtick in one doubled).
    assert_eq!(
        flink(
            "SELECT \"views\", \"a`b\" AS \"say \"\"hi\"\"\" FROM clicks",
            &names
        ),
        "SELECT `views`, `a``b` AS `say \"hi\"` FROM `clicks`"
    );
    // What kin writes for a name with a backtick.
    assert_eq!(quote("a`b"), "`a``b`");
}

#[test]
fn window_join_with_table_aliases() {
    let names = [
        "orders",
        "payments",
        "order_id",
        "user_id",
        "amount",
        "ts",
        "payment_id",
        "method",
        "paid_ts",
        "window_start",
        "window_end",
        "window_time",
    ];
    let sql = "SELECT o.order_id, o.user_id, o.amount, p.`method`, o.window_start, o.window_end\n\
               FROM TABLE(TUMBLE(TABLE orders, DESCRIPTOR(ts), INTERVAL '5' MINUTE)) AS o\n\
               JOIN TABLE(TUMBLE(TABLE payments, DESCRIPTOR(paid_ts), INTERVAL '5' MINUTE)) AS p\n  \
               ON o.order_id = p.order_id\n  \
               AND o.window_start = p.window_start\n  \
               AND o.window_end = p.window_end";
    let expected = "SELECT `o`.`order_id`, `o`.`user_id`, `o`.`amount`, `p`.`method`, \
               `o`.`window_start`, `o`.`window_end`\n\
               FROM TABLE(TUMBLE(TABLE `orders`, DESCRIPTOR(`ts`), INTERVAL '5' MINUTE)) AS `o`\n\
               JOIN TABLE(TUMBLE(TABLE `payments`, DESCRIPTOR(`paid_ts`), INTERVAL '5' MINUTE)) AS `p`\n  \
               ON `o`.`order_id` = `p`.`order_id`\n  \
               AND `o`.`window_start` = `p`.`window_start`\n  \
               AND `o`.`window_end` = `p`.`window_end`";
    assert_eq!(flink(sql, &names), expected);
}

#[test]
fn common_table_expressions_and_session_partitions() {
    let names = ["clicks", "user_id", "ts"];
    assert_eq!(
        flink(
            "WITH views AS (SELECT user_id FROM clicks) SELECT user_id FROM views",
            &names
        ),
        "WITH `views` AS (SELECT `user_id` FROM `clicks`) SELECT `user_id` FROM `views`"
    );
    assert_eq!(
        flink(
            "SELECT user_id FROM TABLE(SESSION(TABLE clicks PARTITION BY user_id, DESCRIPTOR(ts), INTERVAL '10' MINUTE))",
            &names
        ),
        "SELECT `user_id` FROM TABLE(SESSION(TABLE `clicks` PARTITION BY `user_id`, DESCRIPTOR(`ts`), INTERVAL '10' MINUTE))"
    );
}

#[test]
fn approx_count_distinct_becomes_an_exact_count() {
    let known: BTreeSet<String> = ["user_id", "clicks"]
        .iter()
        .map(|n| n.to_string())
        .collect();
    let query = flink_query(
        "SELECT APPROX_COUNT_DISTINCT(user_id) AS a, approx_count_distinct ( DISTINCT user_id ) AS b FROM clicks",
        &known,
    );
    assert!(query.approx_count_distinct);
    assert_eq!(
        query.sql,
        "SELECT COUNT(DISTINCT `user_id`) AS `a`, COUNT ( DISTINCT `user_id` ) AS `b` FROM `clicks`"
    );
    assert!(
        !flink_query("SELECT COUNT(DISTINCT user_id) AS a FROM clicks", &known)
            .approx_count_distinct
    );
    // The file says why.
    let yaml = CLICKS.replace(
        "COUNT(*) AS `views`",
        "APPROX_COUNT_DISTINCT(`user`) AS `views`",
    );
    let (_, sql) = only_file(&pipeline(&yaml));
    assert!(sql.contains("COUNT(DISTINCT `user`) AS `views`"), "{sql}");
    assert!(
        sql.replace("\n-- ", " ")
            .contains("Flink has no approximate distinct count in streaming queries"),
        "{sql}"
    );
}

#[test]
fn bare_reserved_words_in_a_spec_are_quoted_in_the_insert() {
    let yaml = CLICKS.replace(
        "      SELECT `user`, window_start, COUNT(*) AS `views`\n      \
         FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '1' MINUTE))\n      \
         GROUP BY `user`, window_start, window_end;",
        "      SELECT `user`, window_start, COUNT(*) AS views, SUM(price) AS value, MAX(device.os) AS os\n      \
         FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '1' MINUTE))\n      \
         GROUP BY `user`, window_start, window_end;",
    );
    assert_ne!(yaml, CLICKS);
    let (_, sql) = only_file(&pipeline(&yaml));
    assert!(
        sql.ends_with(
            "INSERT INTO `per_user`\n\
             SELECT `user`, `window_start`, COUNT(*) AS `views`, SUM(`price`) AS `value`, \
             MAX(`device`.`os`) AS `os`\n\
             FROM TABLE(TUMBLE(TABLE `clicks`, DESCRIPTOR(`ts`), INTERVAL '1' MINUTE))\n\
             GROUP BY `user`, `window_start`, `window_end`;\n"
        ),
        "{sql}"
    );
}

#[test]
fn sql_the_tokenizer_cannot_read_is_kept_as_written() {
    let known: BTreeSet<String> = ["user"].iter().map(|n| n.to_string()).collect();
    let query = flink_query("SELECT user FROM t WHERE x = 'unterminated", &known);
    assert_eq!(query.sql, "SELECT user FROM t WHERE x = 'unterminated");
}
