//! Helpers for the API's unit tests: a state with in-memory streams and firehose channels, and
//! calls through the same path a request takes (target, body, operation, answer).

use std::sync::atomic::AtomicUsize;
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;

use serde_json::Value;

use super::http::Request;
use super::server::respond;
use super::state::{FirehoseBatch, FirehoseEndpoint, StreamEndpoint};
use super::ApiState;
use crate::metrics::Counters;
use crate::stream::{Stream, StreamConfig};

/// A state serving `streams` (name, shards), a Direct PUT firehose `direct` and a firehose
/// `archive` reading the first stream; returns it with the direct firehose's receiver.
pub fn state(
    streams: &[(&str, usize)],
    enforce_limits: bool,
) -> (ApiState, Receiver<FirehoseBatch>, Vec<Arc<Counters>>) {
    let mut endpoints = Vec::new();
    let mut counters = Vec::new();
    for (name, shards) in streams {
        let stream = Stream::in_memory(StreamConfig::new(*name, *shards)).expect("valid stream");
        let c = Arc::new(Counters::default());
        counters.push(c.clone());
        endpoints.push(StreamEndpoint::new(
            Arc::new(stream),
            c,
            Arc::new(AtomicUsize::new(0)),
        ));
    }
    let (sender, receiver) = mpsc::sync_channel(16);
    let firehoses = vec![
        FirehoseEndpoint::new("direct", None, Some(sender)),
        FirehoseEndpoint::new("archive", streams.first().map(|s| s.0), None),
    ];
    let state = ApiState::new(endpoints, firehoses, None, enforce_limits, now());
    (state, receiver, counters)
}

pub fn now() -> i64 {
    crate::producer::now_ms()
}

/// Calls `target` (`Kinesis_20131202.PutRecord`) with `body`; returns the status and the answer.
pub fn call(state: &ApiState, target: &str, body: &Value) -> (u16, Value) {
    call_raw(state, target, body.to_string().as_bytes())
}

pub fn call_raw(state: &ApiState, target: &str, body: &[u8]) -> (u16, Value) {
    let request = Request {
        method: "POST".to_string(),
        target: "/".to_string(),
        headers: vec![
            ("X-Amz-Target".to_string(), target.to_string()),
            (
                "Content-Type".to_string(),
                "application/x-amz-json-1.1".to_string(),
            ),
        ],
        body: body.to_vec(),
        keep_alive: true,
    };
    let (status, body) = respond(state, &request);
    let value = serde_json::from_slice(&body).expect("every answer is JSON");
    (status, value)
}

/// Calls a Kinesis operation that must succeed.
pub fn kinesis(state: &ApiState, operation: &str, body: Value) -> Value {
    let (status, answer) = call(state, &format!("Kinesis_20131202.{operation}"), &body);
    assert_eq!(status, 200, "{operation}: {answer}");
    answer
}

/// Calls a Kinesis operation that must fail; returns (status, `__type`, message).
pub fn kinesis_error(state: &ApiState, operation: &str, body: Value) -> (u16, String, String) {
    let (status, answer) = call(state, &format!("Kinesis_20131202.{operation}"), &body);
    assert_ne!(status, 200, "{operation} succeeded: {answer}");
    error_parts(status, &answer)
}

pub fn error_parts(status: u16, answer: &Value) -> (u16, String, String) {
    let code = answer["__type"].as_str().expect("__type").to_string();
    let message = answer["message"].as_str().expect("message").to_string();
    (status, code, message)
}

/// Made by `aws_kinesis_agg.aggregator.RecordAggregator` with ("pk1", b"hello"),
/// ("pk2", b"world", explicit_hash_key="123"), ("pk1", b"!"); the outer key is "pk1".
pub const PYTHON_AGGREGATE: &str = "f3899ac20a03706b310a03706b3212033132331a0908001a0568656c6c6f1a0b080110001a05776f726c641a0508001a0121adb0e9722c84524d925abfbb4aee29c8";

pub fn hex_bytes(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}
