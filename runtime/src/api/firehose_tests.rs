//! Firehose operations through the request path.

use serde_json::{json, Value};

use crate::api::testing::{call, error_parts, state};

fn firehose(state: &crate::api::ApiState, operation: &str, body: Value) -> (u16, Value) {
    call(state, &format!("Firehose_20150804.{operation}"), &body)
}

#[test]
fn puts_reach_the_direct_put_channel() {
    let (state, receiver, _) = state(&[("clicks", 1)], false);
    let (status, answer) = firehose(
        &state,
        "PutRecord",
        json!({"DeliveryStreamName": "direct", "Record": {"Data": "aGk="}}),
    );
    assert_eq!(status, 200, "{answer}");
    assert!(answer["RecordId"].as_str().is_some_and(|id| id.len() >= 32));
    assert_eq!(answer["Encrypted"], false);
    let batch = receiver.try_recv().expect("a batch");
    assert_eq!(batch.len(), 1);
    assert_eq!(&batch[0].0[..], b"hi");

    let records: Vec<Value> = (0..3).map(|_| json!({"Data": "eA=="})).collect();
    let (status, answer) = firehose(
        &state,
        "PutRecordBatch",
        json!({"DeliveryStreamName": "direct", "Records": records}),
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["FailedPutCount"], 0);
    assert_eq!(answer["RequestResponses"].as_array().map(Vec::len), Some(3));
    assert_eq!(receiver.try_recv().expect("a batch").len(), 3);

    state.release();
    let (status, answer) = firehose(
        &state,
        "PutRecordBatch",
        json!({"DeliveryStreamName": "direct", "Records": [{"Data": "eA=="}]}),
    );
    assert_eq!(status, 200);
    assert_eq!(answer["FailedPutCount"], 1);
    assert_eq!(
        answer["RequestResponses"][0]["ErrorCode"],
        "ServiceUnavailableException"
    );
}

#[test]
fn describe_and_list() {
    let (state, _, _) = state(&[("clicks", 1)], false);
    let (_, answer) = firehose(
        &state,
        "DescribeDeliveryStream",
        json!({"DeliveryStreamName": "archive"}),
    );
    let description = &answer["DeliveryStreamDescription"];
    assert_eq!(description["DeliveryStreamType"], "KinesisStreamAsSource");
    assert_eq!(
        description["Source"]["KinesisStreamSourceDescription"]["KinesisStreamARN"],
        "arn:aws:kinesis:us-east-1:000000000000:stream/clicks"
    );
    assert_eq!(
        description["DeliveryStreamARN"],
        "arn:aws:firehose:us-east-1:000000000000:deliverystream/archive"
    );
    let (_, answer) = firehose(&state, "ListDeliveryStreams", json!({}));
    assert_eq!(answer["DeliveryStreamNames"], json!(["archive", "direct"]));
    let (_, answer) = firehose(
        &state,
        "ListDeliveryStreams",
        json!({"DeliveryStreamType": "DirectPut"}),
    );
    assert_eq!(answer["DeliveryStreamNames"], json!(["direct"]));
    assert_eq!(answer["HasMoreDeliveryStreams"], false);
}

#[test]
fn errors_have_aws_codes() {
    let (state, _, _) = state(&[("clicks", 1)], false);
    let big = "A".repeat(1_400_000);
    let cases = [
        (
            "PutRecord",
            json!({"DeliveryStreamName": "archive", "Record": {"Data": "aGk="}}),
            "InvalidArgumentException",
        ),
        (
            "PutRecord",
            json!({"DeliveryStreamName": "nope", "Record": {"Data": "aGk="}}),
            "ResourceNotFoundException",
        ),
        (
            "PutRecord",
            json!({"DeliveryStreamName": "direct"}),
            "ValidationException",
        ),
        (
            "PutRecord",
            json!({"DeliveryStreamName": "direct", "Record": {"Data": big}}),
            "ValidationException",
        ),
        (
            "PutRecordBatch",
            json!({"DeliveryStreamName": "direct", "Records": []}),
            "ValidationException",
        ),
        (
            "PutRecordBatch",
            json!({"DeliveryStreamName": "direct", "Records": vec![json!({"Data": "A".repeat(1_000_000)}); 6]}),
            "InvalidArgumentException",
        ),
        (
            "DescribeDeliveryStream",
            json!({"DeliveryStreamName": "nope"}),
            "ResourceNotFoundException",
        ),
        (
            "CreateDeliveryStream",
            json!({"DeliveryStreamName": "direct"}),
            "ResourceInUseException",
        ),
        (
            "DeleteDeliveryStream",
            json!({"DeliveryStreamName": "direct"}),
            "AccessDeniedException",
        ),
        ("Nonsense", json!({}), "UnknownOperationException"),
    ];
    for (operation, body, expected) in cases {
        let (status, answer) = firehose(&state, operation, body);
        let (status, code, message) = error_parts(status, &answer);
        assert_eq!(
            (status, code.as_str()),
            (400, expected),
            "{operation}: {message}"
        );
    }
    let (_, answer) = firehose(
        &state,
        "PutRecord",
        json!({"DeliveryStreamName": "archive", "Record": {"Data": "aGk="}}),
    );
    assert_eq!(
        answer["message"],
        "This operation is not permitted on KinesisStreamAsSource delivery stream type."
    );
}
