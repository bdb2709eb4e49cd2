//! Firehose's S3 object names: prefix expressions, AWS's default-prefix rules and examples
//! (s3-prefixes.html, dynamic-partitioning.html), the key suffix, and the local sink.

use kin_runtime::s3::{
    unsafe_partition_value, LocalDirSink, ObjectNamer, ObjectSink as _, Prefix, PrefixKind,
    MAX_PREFIX_CHARS, RANDOM_STRING_LEN,
};

/// 2018-08-27T10:30:00Z, the instant of AWS's prefix examples.
const AUG_27_2018: i64 = 1_535_365_800_000;
/// 2019-08-09T20:55:09.123Z.
const AUG_9_2019: i64 = 1_565_384_109_123;

fn keys(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn namer(prefix: Option<&str>, error_prefix: Option<&str>) -> ObjectNamer {
    ObjectNamer::new("my-delivery-stream", prefix, error_prefix, &[], "").expect("valid prefixes")
}

/// Splits `<prefix><stream>-1-<yyyy-MM-dd-HH-mm-ss>-<uuid><ext>`, checking the uuid is v4.
fn split_key<'k>(key: &'k str, stream: &str, extension: &str) -> (&'k str, &'k str) {
    let rest = key.strip_suffix(extension).expect("extension");
    let (rest, id) = rest.split_at(rest.len() - 36);
    let id = uuid::Uuid::parse_str(id).expect("uuid");
    assert_eq!(id.get_version_num(), 4);
    let rest = rest.strip_suffix('-').expect("- before uuid");
    let (rest, time) = rest.split_at(rest.len() - 19);
    let prefix = rest
        .strip_suffix(&format!("{stream}-1-"))
        .expect("stream name and version 1");
    (prefix, time)
}

fn evaluate(text: &str, at: i64) -> Result<String, String> {
    Prefix::parse(text, PrefixKind::Data, &[])
        .and_then(|p| p.evaluate(at, &[], ""))
        .map_err(|e| e.message)
}

#[test]
fn no_prefix_gives_the_default_time_prefix_and_suffix() {
    let key = namer(None, None).data_key(AUG_27_2018, &[]).expect("key");
    let (prefix, time) = split_key(&key, "my-delivery-stream", "");
    assert_eq!(prefix, "2018/08/27/10/");
    assert_eq!(time, "2018-08-27-10-30-00");
}

#[test]
fn the_dynamic_partitioning_example_key() {
    let prefix = "customer_id=!{partitionKeyFromQuery:customer_id}/device=!{partitionKeyFromQuery:device}/\
                  year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/";
    let names = keys(&["customer_id", "device"]);
    let namer = ObjectNamer::new(
        "my-delivery-stream",
        Some(prefix),
        Some("errors/!{firehose:error-output-type}/"),
        &names,
        ".gz",
    )
    .expect("valid");
    let key = namer
        .data_key(AUG_9_2019, &keys(&["1234567890", "mobile"]))
        .expect("key");
    let (prefix, time) = split_key(&key, "my-delivery-stream", ".gz");
    assert_eq!(
        prefix,
        "customer_id=1234567890/device=mobile/year=2019/month=08/day=09/hour=20/"
    );
    assert_eq!(time, "2019-08-09-20-55-09");
}

#[test]
fn aws_prefix_examples() {
    // Prefix unspecified, ErrorOutputPrefix `myFirehoseFailures/!{firehose:error-output-type}/`.
    let n = namer(
        None,
        Some("myFirehoseFailures/!{firehose:error-output-type}/"),
    );
    let error_key = n.error_key(AUG_27_2018, "processing-failed").expect("key");
    assert_eq!(
        split_key(&error_key, "my-delivery-stream", "").0,
        "myFirehoseFailures/processing-failed/"
    );
    // Every timestamp evaluates the same instant; random-string is 11 characters.
    let n = namer(
        Some("myFirehose/DeliveredYear=!{timestamp:yyyy}/anyMonth/rand=!{firehose:random-string}"),
        Some("myFirehoseFailures/!{firehose:error-output-type}/!{timestamp:yyyy}/anyMonth/!{timestamp:dd}"),
    );
    let data = n.data_key(AUG_27_2018, &[]).expect("key");
    let (prefix, _) = split_key(&data, "my-delivery-stream", "");
    let random = prefix
        .strip_prefix("myFirehose/DeliveredYear=2018/anyMonth/rand=")
        .expect("shape");
    assert_eq!(random.len(), RANDOM_STRING_LEN);
    let error_key = n.error_key(AUG_27_2018, "processing-failed").expect("key");
    assert_eq!(
        split_key(&error_key, "my-delivery-stream", "").0,
        "myFirehoseFailures/processing-failed/2018/anyMonth/27"
    );
    // Hive-style partitions in both prefixes (2018-07-06T23:00Z).
    let n = namer(
        Some("myPrefix/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/"),
        Some("myErrorPrefix/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/!{firehose:error-output-type}"),
    );
    let at = 1_530_918_000_000;
    assert_eq!(
        split_key(&n.data_key(at, &[]).expect("key"), "my-delivery-stream", "").0,
        "myPrefix/year=2018/month=07/day=06/hour=23/"
    );
    let error_key = n.error_key(at, "processing-failed").expect("key");
    assert_eq!(
        split_key(&error_key, "my-delivery-stream", "").0,
        "myErrorPrefix/year=2018/month=07/day=06/hour=23/processing-failed"
    );
}

#[test]
fn a_literal_prefix_without_error_prefix_gets_both_defaults() {
    let n = namer(Some("myFirehosePrefix/"), None);
    let data = n.data_key(AUG_27_2018, &[]).expect("key");
    assert_eq!(
        split_key(&data, "my-delivery-stream", "").0,
        "myFirehosePrefix/2018/08/27/10/"
    );
    let error_key = n.error_key(AUG_27_2018, "processing-failed").expect("key");
    assert_eq!(
        split_key(&error_key, "my-delivery-stream", "").0,
        "myFirehosePrefix/processing-failed/2018/08/27/10/"
    );
    // No `/` is added: the default is appended to the value as written.
    let n = namer(Some("logs"), None);
    assert_eq!(
        split_key(
            &n.data_key(AUG_27_2018, &[]).expect("key"),
            "my-delivery-stream",
            ""
        )
        .0,
        "logs2018/08/27/10/"
    );
    // No prefix, no error prefix.
    let error_key = namer(None, None)
        .error_key(AUG_27_2018, "partitioning-failed")
        .expect("key");
    assert_eq!(
        split_key(&error_key, "my-delivery-stream", "").0,
        "partitioning-failed/2018/08/27/10/"
    );
}

#[test]
fn a_literal_error_prefix_is_used_as_written() {
    let n = namer(Some("raw/"), Some("errors/"));
    let error_key = n.error_key(AUG_27_2018, "processing-failed").expect("key");
    assert_eq!(split_key(&error_key, "my-delivery-stream", "").0, "errors/");
}

#[test]
fn error_prefix_rules() {
    let needs_error_prefix = ObjectNamer::new("s", Some("!{timestamp:yyyy/MM/dd}"), None, &[], "");
    assert!(needs_error_prefix
        .expect_err("rule")
        .message
        .contains("error prefix is required"));
    let needs_type = ObjectNamer::new("s", None, Some("err/!{timestamp:yyyy}/"), &[], "");
    assert!(needs_type
        .expect_err("rule")
        .message
        .contains("error-output-type"));
    let type_in_data = ObjectNamer::new(
        "s",
        Some("x/!{firehose:error-output-type}/"),
        Some("e/"),
        &[],
        "",
    );
    assert!(type_in_data
        .expect_err("rule")
        .message
        .contains("only in the error prefix"));
    let key_in_error = ObjectNamer::new(
        "s",
        None,
        Some("e/!{firehose:error-output-type}/!{partitionKeyFromQuery:k}/"),
        &keys(&["k"]),
        "",
    );
    assert!(key_in_error
        .expect_err("rule")
        .message
        .contains("not allowed in the error prefix"));
    let partitions_need_error_prefix =
        ObjectNamer::new("s", Some("raw/"), None, &keys(&["page"]), "");
    assert!(partitions_need_error_prefix.is_err());
}

#[test]
fn partition_keys_not_in_the_prefix_are_appended() {
    let error = Some("e/!{firehose:error-output-type}/");
    let n = ObjectNamer::new(
        "s",
        Some("raw/!{timestamp:yyyy}/"),
        error,
        &keys(&["page", "device_os"]),
        "",
    )
    .expect("ok");
    let data = n
        .data_key(AUG_27_2018, &keys(&["home", "ios"]))
        .expect("key");
    assert_eq!(
        split_key(&data, "s", "").0,
        "raw/2018/page=home/device_os=ios/"
    );
    let n = ObjectNamer::new(
        "s",
        Some("p/!{partitionKeyFromQuery:page}/"),
        error,
        &keys(&["page"]),
        "",
    )
    .expect("ok");
    let data = n.data_key(AUG_27_2018, &keys(&["home"])).expect("key");
    assert_eq!(split_key(&data, "s", "").0, "p/home/2018/08/27/10/");
    let n = ObjectNamer::new("s", None, error, &keys(&["page"]), "").expect("ok");
    assert_eq!(
        split_key(
            &n.data_key(AUG_27_2018, &keys(&["a"])).expect("key"),
            "s",
            ""
        )
        .0,
        "page=a/2018/08/27/10/"
    );
}

#[test]
fn random_strings_are_11_hex_digits_new_per_occurrence() {
    let p = Prefix::parse(
        "!{firehose:random-string}/!{firehose:random-string}",
        PrefixKind::Data,
        &[],
    )
    .expect("ok");
    let mut seen = std::collections::HashSet::new();
    for _ in 0..200 {
        let text = p.evaluate(AUG_27_2018, &[], "").expect("evaluate");
        let (a, b) = text.split_once('/').expect("two");
        for s in [a, b] {
            assert_eq!(s.len(), RANDOM_STRING_LEN);
            assert!(
                s.chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
                "{s}"
            );
            seen.insert(s.to_string());
        }
    }
    assert!(
        seen.len() > 390,
        "random strings repeat: {} distinct of 400",
        seen.len()
    );
}

#[test]
fn timestamp_patterns() {
    assert_eq!(
        evaluate("!{timestamp:'year='yyyy'/month='MM}/", AUG_9_2019).as_deref(),
        Ok("year=2019/month=08/")
    );
    assert_eq!(
        evaluate("!{timestamp:yyyy-MM-dd'T'HH:mm:ss.SSS}", AUG_9_2019).as_deref(),
        Ok("2019-08-09T20:55:09.123")
    );
    assert_eq!(
        evaluate("!{timestamp:yy/M/d/H}", AUG_9_2019).as_deref(),
        Ok("19/8/9/20")
    );
    assert_eq!(
        evaluate("!{timestamp:uuuu/DDD/S/SSSSS}", AUG_9_2019).as_deref(),
        Ok("2019/221/1/12300")
    );
    assert_eq!(
        evaluate("!{timestamp:'it''s' HH''mm}", AUG_9_2019).as_deref(),
        Ok("it's 20'55")
    );
    assert_eq!(
        evaluate("a!{timestamp:HH}b!{timestamp:mm}c", AUG_9_2019).as_deref(),
        Ok("a20b55c")
    );
}

#[test]
fn bad_prefixes_are_clear_errors() {
    let cases = [
        ("!{timestamp:yyyy/TT}", "`T`"),
        ("!{timestamp:EEE}", "`E`"),
        ("!{timestamp:MMM}", "month names"),
        ("!{timestamp:yyyy'/MM}", "unclosed quote"),
        ("!{timestamp:[yyyy]}", "optional"),
        ("!{timestamp:}", "empty pattern"),
        ("a/!{timestamp:yyyy", "never closed"),
        ("!{timestmp:yyyy}", "not an expression"),
        ("!{firehose:name}", "not an expression"),
        ("!{partitionKeyFromLambda:k}", "not an expression"),
        ("!{partitionKeyFromQuery:nope}", "names no partition key"),
        ("!{yyyy}", "no namespace"),
    ];
    for (text, expected) in cases {
        let message = Prefix::parse(text, PrefixKind::Data, &keys(&["k"]))
            .expect_err(text)
            .message;
        assert!(message.contains(expected), "{text}: {message}");
    }
}

#[test]
fn prefixes_over_512_characters_are_errors() {
    let long = "a".repeat(MAX_PREFIX_CHARS + 1);
    assert!(ObjectNamer::new("s", Some(&long), None, &[], "").is_err());
    let fits = "a".repeat(MAX_PREFIX_CHARS - "2018/08/27/10/".len());
    assert!(ObjectNamer::new("s", Some(&fits), Some("e/"), &[], "").is_ok());
    let n = ObjectNamer::new(
        "s",
        Some("k=!{partitionKeyFromQuery:k}/"),
        Some("e/!{firehose:error-output-type}/"),
        &keys(&["k"]),
        "",
    )
    .expect("ok");
    let message = n
        .data_key(AUG_27_2018, &keys(&[&"v".repeat(600)]))
        .expect_err("too long")
        .message;
    assert!(message.contains("at most 512"), "{message}");
}

#[test]
fn unsafe_partition_values_are_named() {
    for bad in ["", ".", "..", "a/../b", "x\0"] {
        assert!(unsafe_partition_value(bad).is_some(), "{bad:?}");
    }
    for good in ["mobile", "a/b", "a..b", ".hidden"] {
        assert_eq!(unsafe_partition_value(good), None, "{good:?}");
    }
}

#[test]
fn the_local_sink_writes_whole_objects_under_root_bucket_key() {
    let root = std::env::temp_dir().join(format!("kin-sink-{}", uuid::Uuid::new_v4().simple()));
    let mut sink = LocalDirSink::new(&root);
    sink.put_object("bucket", "a/b/c.gz", b"first")
        .expect("put");
    sink.put_object("bucket", "a/b/c.gz", b"second")
        .expect("overwrite");
    let path = root.join("bucket/a/b/c.gz");
    assert_eq!(std::fs::read(&path).expect("read"), b"second");
    let names: Vec<_> = std::fs::read_dir(root.join("bucket/a/b"))
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names, ["c.gz"], "no temporary files left");
    for (bucket, key) in [
        ("bucket", "../x"),
        ("bucket", "a/./b"),
        ("bucket", "/abs"),
        ("bucket", ""),
        ("bucket", "dir/"),
        ("a/b", "k"),
        ("..", "k"),
    ] {
        let err = sink.put_object(bucket, key, b"x").expect_err(key);
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    }
    let _ = std::fs::remove_dir_all(&root);
}
