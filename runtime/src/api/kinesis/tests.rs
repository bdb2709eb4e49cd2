//! Kinesis operations through the request path: puts, the five iterator types, reads, paging,
//! KPL de-aggregation, quotas and AWS's error shapes.

use base64::Engine as _;
use serde_json::{json, Value};

use crate::api::testing::{
    call_raw, hex_bytes, kinesis, kinesis_error, now, state, PYTHON_AGGREGATE,
};

fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

fn unb64(value: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(value.as_str().expect("a string"))
        .expect("base64")
}

fn iterator(state: &crate::api::ApiState, shard: &str, kind: &str, extra: Value) -> String {
    let mut body = json!({"StreamName": "clicks", "ShardId": shard, "ShardIteratorType": kind});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    kinesis(state, "GetShardIterator", body)["ShardIterator"]
        .as_str()
        .expect("iterator")
        .to_string()
}

fn read(state: &crate::api::ApiState, iterator: &str) -> (Vec<String>, String, Value) {
    let answer = kinesis(state, "GetRecords", json!({"ShardIterator": iterator}));
    let data = answer["Records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| String::from_utf8(unb64(&r["Data"])).expect("utf-8"))
        .collect();
    let next = answer["NextShardIterator"]
        .as_str()
        .expect("next")
        .to_string();
    (data, next, answer)
}

#[test]
fn put_record_then_read_it_back_with_every_iterator_type() {
    let (state, _, counters) = state(&[("clicks", 1)], false);
    let before = now();
    let mut numbers = Vec::new();
    for i in 0..3 {
        let answer = kinesis(
            &state,
            "PutRecord",
            json!({"StreamName": "clicks", "PartitionKey": format!("k{i}"), "Data": b64(format!("r{i}").as_bytes())}),
        );
        assert_eq!(answer["ShardId"], "shardId-000000000000");
        numbers.push(answer["SequenceNumber"].as_str().expect("seq").to_string());
    }
    assert!(numbers.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(
        counters[0]
            .records_in
            .load(std::sync::atomic::Ordering::Relaxed),
        3
    );

    let (data, next, answer) = read(
        &state,
        &iterator(&state, "shardId-000000000000", "TRIM_HORIZON", json!({})),
    );
    assert_eq!(data, ["r0", "r1", "r2"]);
    let record = &answer["Records"][0];
    assert_eq!(record["PartitionKey"], "k0");
    assert_eq!(record["SequenceNumber"], numbers[0].as_str());
    let arrival = record["ApproximateArrivalTimestamp"]
        .as_f64()
        .expect("seconds");
    assert!(
        arrival * 1000.0 >= before as f64 - 1.0 && arrival < 1e11,
        "{arrival}"
    );
    assert_eq!(answer["MillisBehindLatest"], 0);
    assert!(read(&state, &next).0.is_empty());

    let at = iterator(
        &state,
        "shardId-000000000000",
        "AT_SEQUENCE_NUMBER",
        json!({"StartingSequenceNumber": numbers[1]}),
    );
    assert_eq!(read(&state, &at).0, ["r1", "r2"]);
    let after = iterator(
        &state,
        "shardId-000000000000",
        "AFTER_SEQUENCE_NUMBER",
        json!({"StartingSequenceNumber": numbers[1]}),
    );
    assert_eq!(read(&state, &after).0, ["r2"]);
    let timestamp = iterator(
        &state,
        "shardId-000000000000",
        "AT_TIMESTAMP",
        json!({"Timestamp": before as f64 / 1000.0}),
    );
    assert_eq!(read(&state, &timestamp).0.len(), 3);
    let future = iterator(
        &state,
        "shardId-000000000000",
        "AT_TIMESTAMP",
        json!({"Timestamp": (now() + 60_000) / 1000}),
    );
    assert!(read(&state, &future).0.is_empty());

    let latest = iterator(&state, "shardId-000000000000", "LATEST", json!({}));
    kinesis(
        &state,
        "PutRecord",
        json!({"StreamName": "clicks", "PartitionKey": "k", "Data": b64(b"new")}),
    );
    let (data, next, _) = read(&state, &latest);
    assert_eq!(data, ["new"]);
    // Limit, and the next iterator continuing.
    let limited = kinesis(
        &state,
        "GetRecords",
        json!({"ShardIterator": iterator(&state, "shardId-000000000000", "TRIM_HORIZON", json!({})), "Limit": 2}),
    );
    assert_eq!(limited["Records"].as_array().map(Vec::len), Some(2));
    assert!(limited["MillisBehindLatest"].as_i64().is_some());
    assert!(read(&state, &next).0.is_empty());
}

#[test]
fn put_records_routes_by_key_and_explicit_hash_key() {
    let (state, _, _) = state(&[("clicks", 4)], false);
    let answer = kinesis(
        &state,
        "PutRecords",
        json!({"StreamARN": "arn:aws:kinesis:eu-west-1:123456789012:stream/clicks", "Records": [
            {"PartitionKey": "a", "Data": b64(b"1")},
            {"PartitionKey": "a", "Data": b64(b"2"), "ExplicitHashKey": "0"},
            {"PartitionKey": "a", "Data": b64(b"3"), "ExplicitHashKey": "340282366920938463463374607431768211455"},
        ]}),
    );
    assert_eq!(answer["FailedRecordCount"], 0);
    let shards: Vec<&str> = answer["Records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["ShardId"].as_str().expect("shard"))
        .collect();
    let expected = crate::hash::shard_id(
        crate::hash::ShardRanges::uniform(4).shard_for(crate::hash::hash_key("a")),
    );
    assert_eq!(
        shards,
        [
            expected.as_str(),
            "shardId-000000000000",
            "shardId-000000000003"
        ]
    );
}

#[test]
fn enforced_write_limits_fail_records_one_by_one() {
    let (state, _, _) = state(&[("clicks", 2)], true);
    let big = b64(&vec![b'x'; 300 * 1024]);
    let mut records = Vec::new();
    for i in 0..6 {
        records.push(json!({"PartitionKey": "hot", "Data": big}));
        records.push(json!({"PartitionKey": "hot", "Data": b64(b"small"), "ExplicitHashKey": if i % 2 == 0 { "0" } else { "340282366920938463463374607431768211455" }}));
    }
    let answer = kinesis(
        &state,
        "PutRecords",
        json!({"StreamName": "clicks", "Records": records}),
    );
    let results = answer["Records"].as_array().expect("records");
    let failed: Vec<usize> = (0..results.len())
        .filter(|&i| results[i].get("ErrorCode").is_some())
        .collect();
    assert_eq!(answer["FailedRecordCount"], failed.len());
    assert!(
        !failed.is_empty() && failed.len() < results.len(),
        "{answer}"
    );
    for &i in &failed {
        assert_eq!(
            results[i]["ErrorCode"],
            "ProvisionedThroughputExceededException"
        );
        assert!(results[i]["ErrorMessage"]
            .as_str()
            .is_some_and(|m| m.starts_with("Rate exceeded for shard")));
        assert!(results[i].get("SequenceNumber").is_none());
    }
    // Small records to the other shard all went through.
    for i in (1..results.len()).step_by(2) {
        if results[i]["ShardId"] != results[0]["ShardId"] {
            assert!(results[i].get("SequenceNumber").is_some(), "{}", results[i]);
        }
    }
    // A single PutRecord over the quota fails as a whole.
    let (status, code, _) = kinesis_error(
        &state,
        "PutRecord",
        json!({"StreamName": "clicks", "PartitionKey": "hot", "Data": big}),
    );
    assert_eq!(
        (status, code.as_str()),
        (400, "ProvisionedThroughputExceededException")
    );
}

#[test]
fn enforced_read_limits_allow_five_calls_per_second() {
    let (state, _, _) = state(&[("clicks", 1)], true);
    let it = iterator(&state, "shardId-000000000000", "TRIM_HORIZON", json!({}));
    let mut refused = 0;
    for _ in 0..7 {
        let (status, answer) = call_raw(
            &state,
            "Kinesis_20131202.GetRecords",
            json!({"ShardIterator": it}).to_string().as_bytes(),
        );
        if status != 200 {
            assert_eq!(answer["__type"], "ProvisionedThroughputExceededException");
            refused += 1;
        }
    }
    assert!(
        refused >= 1,
        "7 reads in well under a second: some must be refused"
    );
}

#[test]
fn kpl_aggregates_are_deaggregated_onto_the_aggregates_shard() {
    let (state, _, counters) = state(&[("clicks", 4)], false);
    // aws-kinesis-agg: ("pk1", "hello"), ("pk2", "world", ehk 123), ("pk1", "!").
    let aggregate = hex_bytes(PYTHON_AGGREGATE);
    let answer = kinesis(
        &state,
        "PutRecord",
        json!({"StreamName": "clicks", "PartitionKey": "pk1", "Data": b64(&aggregate)}),
    );
    let shard = answer["ShardId"].as_str().expect("shard").to_string();
    let (data, _, answer) = read(&state, &iterator(&state, &shard, "TRIM_HORIZON", json!({})));
    assert_eq!(data, ["hello", "world", "!"]);
    let keys: Vec<&str> = answer["Records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["PartitionKey"].as_str().expect("key"))
        .collect();
    assert_eq!(keys, ["pk1", "pk2", "pk1"]);
    assert_eq!(
        answer["Records"][0]["SequenceNumber"],
        answer_sequence(&answer, 0)
    );
    assert_eq!(
        counters[0]
            .records_in
            .load(std::sync::atomic::Ordering::Relaxed),
        3
    );
    // A damaged checksum: stored as it came.
    let mut damaged = aggregate.clone();
    let last = damaged.len() - 1;
    damaged[last] ^= 0xff;
    let answer = kinesis(
        &state,
        "PutRecords",
        json!({"StreamName": "clicks", "Records": [{"PartitionKey": "pk1", "Data": b64(&damaged)}]}),
    );
    let shard = answer["Records"][0]["ShardId"]
        .as_str()
        .expect("shard")
        .to_string();
    let records = kinesis(
        &state,
        "GetRecords",
        json!({"ShardIterator": iterator(&state, &shard, "TRIM_HORIZON", json!({}))}),
    );
    assert_eq!(unb64(&records["Records"][3]["Data"]), damaged);
}

fn answer_sequence(answer: &Value, index: usize) -> Value {
    answer["Records"][index]["SequenceNumber"].clone()
}

#[test]
fn describe_list_and_page() {
    let (state, _, _) = state(&[("clicks", 3), ("views", 1), ("zeta", 1)], false);
    let described = kinesis(
        &state,
        "DescribeStream",
        json!({"StreamName": "clicks", "Limit": 2}),
    );
    let description = &described["StreamDescription"];
    assert_eq!(description["StreamStatus"], "ACTIVE");
    assert_eq!(
        description["StreamARN"],
        "arn:aws:kinesis:us-east-1:000000000000:stream/clicks"
    );
    assert_eq!(description["HasMoreShards"], true);
    assert_eq!(
        description["Shards"][1]["HashKeyRange"]["StartingHashKey"],
        "113427455640312821154458202477256070485"
    );
    assert_eq!(description["RetentionPeriodHours"], 24);
    let rest = kinesis(
        &state,
        "DescribeStream",
        json!({"StreamName": "clicks", "ExclusiveStartShardId": "shardId-000000000001"}),
    );
    assert_eq!(
        rest["StreamDescription"]["Shards"][0]["ShardId"],
        "shardId-000000000002"
    );
    assert_eq!(rest["StreamDescription"]["HasMoreShards"], false);
    let summary = kinesis(
        &state,
        "DescribeStreamSummary",
        json!({"StreamName": "clicks"}),
    );
    assert_eq!(summary["StreamDescriptionSummary"]["OpenShardCount"], 3);

    let page = kinesis(
        &state,
        "ListShards",
        json!({"StreamName": "clicks", "MaxResults": 2}),
    );
    assert_eq!(page["Shards"].as_array().map(Vec::len), Some(2));
    let token = page["NextToken"].clone();
    let page = kinesis(
        &state,
        "ListShards",
        json!({"NextToken": token, "MaxResults": 2}),
    );
    assert_eq!(page["Shards"][0]["ShardId"], "shardId-000000000002");
    assert!(page.get("NextToken").is_none());
    let (_, code, _) = kinesis_error(
        &state,
        "ListShards",
        json!({"NextToken": token, "StreamName": "clicks"}),
    );
    assert_eq!(code, "InvalidArgumentException");
    let filtered = kinesis(
        &state,
        "ListShards",
        json!({"StreamName": "clicks", "ShardFilter": {"Type": "AFTER_SHARD_ID", "ShardId": "shardId-000000000000"}}),
    );
    assert_eq!(filtered["Shards"].as_array().map(Vec::len), Some(2));

    let streams = kinesis(&state, "ListStreams", json!({"Limit": 2}));
    assert_eq!(streams["StreamNames"], json!(["clicks", "views"]));
    assert_eq!(streams["HasMoreStreams"], true);
    let more = kinesis(
        &state,
        "ListStreams",
        json!({"NextToken": streams["NextToken"]}),
    );
    assert_eq!(more["StreamNames"], json!(["zeta"]));
    assert_eq!(more["StreamSummaries"][0]["StreamStatus"], "ACTIVE");
}

#[test]
fn errors_have_aws_codes_and_shape() {
    let (state, _, _) = state(&[("clicks", 2)], false);
    let cases = [
        (
            "DescribeStream",
            json!({"StreamName": "nope"}),
            "ResourceNotFoundException",
        ),
        ("DescribeStream", json!({}), "InvalidArgumentException"),
        (
            "DescribeStream",
            json!({"StreamARN": "arn:aws:s3:::bucket"}),
            "ValidationException",
        ),
        (
            "DescribeStream",
            json!({"StreamName": "clicks", "StreamARN": "arn:aws:kinesis:us-east-1:000000000000:stream/other"}),
            "InvalidArgumentException",
        ),
        (
            "DescribeStream",
            json!({"StreamName": "clicks", "Limit": 0}),
            "ValidationException",
        ),
        (
            "DescribeStream",
            json!({"StreamName": 5}),
            "SerializationException",
        ),
        (
            "PutRecord",
            json!({"StreamName": "clicks", "Data": "aGk="}),
            "ValidationException",
        ),
        (
            "PutRecord",
            json!({"StreamName": "clicks", "PartitionKey": "", "Data": "aGk="}),
            "ValidationException",
        ),
        (
            "PutRecord",
            json!({"StreamName": "clicks", "PartitionKey": "k".repeat(257), "Data": "aGk="}),
            "ValidationException",
        ),
        (
            "PutRecord",
            json!({"StreamName": "clicks", "PartitionKey": "k", "Data": "not base64!"}),
            "SerializationException",
        ),
        (
            "PutRecord",
            json!({"StreamName": "clicks", "PartitionKey": "k", "Data": "aGk=", "ExplicitHashKey": "01"}),
            "ValidationException",
        ),
        (
            "PutRecord",
            json!({"StreamName": "clicks", "PartitionKey": "k", "Data": "aGk=", "ExplicitHashKey": "340282366920938463463374607431768211456"}),
            "InvalidArgumentException",
        ),
        (
            "PutRecord",
            json!({"StreamName": "clicks", "PartitionKey": "k", "Data": b64(&vec![0; 1024 * 1024])}),
            "ValidationException",
        ),
        (
            "PutRecords",
            json!({"StreamName": "clicks", "Records": []}),
            "ValidationException",
        ),
        (
            "PutRecords",
            json!({"StreamName": "clicks", "Records": vec![json!({"PartitionKey": "k", "Data": "aGk="}); 501]}),
            "ValidationException",
        ),
        (
            "PutRecords",
            json!({"StreamName": "clicks", "Records": vec![json!({"PartitionKey": "k", "Data": b64(&vec![0; 1000 * 1024])}); 6]}),
            "InvalidArgumentException",
        ),
        (
            "PutRecords",
            json!({"StreamName": "clicks", "Records": [{"Data": "aGk="}]}),
            "ValidationException",
        ),
        (
            "GetShardIterator",
            json!({"StreamName": "clicks", "ShardId": "shardId-000000000002", "ShardIteratorType": "LATEST"}),
            "ResourceNotFoundException",
        ),
        (
            "GetShardIterator",
            json!({"StreamName": "clicks", "ShardId": "bogus", "ShardIteratorType": "LATEST"}),
            "ResourceNotFoundException",
        ),
        (
            "GetShardIterator",
            json!({"StreamName": "clicks", "ShardId": "shardId-000000000000", "ShardIteratorType": "SOMETIME"}),
            "ValidationException",
        ),
        (
            "GetShardIterator",
            json!({"StreamName": "clicks", "ShardId": "shardId-000000000000", "ShardIteratorType": "AT_SEQUENCE_NUMBER"}),
            "InvalidArgumentException",
        ),
        (
            "GetShardIterator",
            json!({"StreamName": "clicks", "ShardId": "shardId-000000000000", "ShardIteratorType": "AT_SEQUENCE_NUMBER", "StartingSequenceNumber": "123"}),
            "InvalidArgumentException",
        ),
        (
            "GetShardIterator",
            json!({"StreamName": "clicks", "ShardId": "shardId-000000000000", "ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "StartingSequenceNumber": crate::stream::SequenceNumber::new(0, 5).to_string()}),
            "InvalidArgumentException",
        ),
        (
            "GetShardIterator",
            json!({"StreamName": "clicks", "ShardId": "shardId-000000000000", "ShardIteratorType": "AT_TIMESTAMP"}),
            "InvalidArgumentException",
        ),
        (
            "GetRecords",
            json!({"ShardIterator": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}),
            "InvalidArgumentException",
        ),
        ("GetRecords", json!({}), "ValidationException"),
        (
            "CreateStream",
            json!({"StreamName": "clicks", "ShardCount": 1}),
            "ResourceInUseException",
        ),
        (
            "CreateStream",
            json!({"StreamName": "new", "ShardCount": 1}),
            "AccessDeniedException",
        ),
        (
            "DeleteStream",
            json!({"StreamName": "clicks"}),
            "AccessDeniedException",
        ),
        ("FlyToTheMoon", json!({}), "UnknownOperationException"),
    ];
    for (operation, body, expected) in cases {
        let (status, code, message) = kinesis_error(&state, operation, body.clone());
        assert_eq!(status, 400, "{operation} {body}");
        assert_eq!(code, expected, "{operation} {body}: {message}");
        assert!(!message.is_empty());
    }
    let (status, answer) = call_raw(&state, "Kinesis_20131202.ListStreams", b"{not json");
    assert_eq!(
        (status, answer["__type"].as_str()),
        (400, Some("SerializationException"))
    );
    let (status, answer) = call_raw(&state, "DynamoDB_20120810.ListTables", b"{}");
    assert_eq!(
        (status, answer["__type"].as_str()),
        (400, Some("UnknownOperationException"))
    );
}

#[test]
fn a_stopping_run_refuses_puts_and_reports_its_streams_deleting() {
    let (state, _, _) = state(&[("clicks", 1)], false);
    state.release();
    let (status, code, _) = kinesis_error(
        &state,
        "PutRecord",
        json!({"StreamName": "clicks", "PartitionKey": "k", "Data": "aGk="}),
    );
    assert_eq!(
        (status, code.as_str()),
        (503, "ServiceUnavailableException")
    );
    let answer = kinesis(
        &state,
        "PutRecords",
        json!({"StreamName": "clicks", "Records": [{"PartitionKey": "k", "Data": "aGk="}]}),
    );
    assert_eq!(answer["FailedRecordCount"], 1);
    assert_eq!(answer["Records"][0]["ErrorCode"], "InternalFailure");
    let summary = kinesis(
        &state,
        "DescribeStreamSummary",
        json!({"StreamName": "clicks"}),
    );
    assert_eq!(
        summary["StreamDescriptionSummary"]["StreamStatus"],
        "DELETING"
    );
}
