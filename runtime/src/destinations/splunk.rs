//! Splunk, as Firehose delivers to it: the HTTP Event Collector (HEC), one request per attempt
//! with `Authorization: Splunk TOKEN` and a request channel, then indexer acknowledgement.
//!
//! - `Raw` endpoint: `POST ENDPOINT/services/collector/raw?channel=CH`, the records concatenated
//!   as they are (kin's records end with a newline, so Splunk sees one event per line).
//! - `Event` endpoint: `POST ENDPOINT/services/collector/event?channel=CH`, one HEC event object
//!   per record: `{"time":<arrival, epoch seconds>,"event":<the record>}` — the record as JSON
//!   when it is JSON, else as a string. (Firehose sends records to the event endpoint as they
//!   are and expects them to be HEC events already; kin's records are plain records, so kin
//!   wraps them.)
//! - A 200 answer with `{"code":0}` accepts the batch. When it carries an `ackId`, kin polls
//!   `POST ENDPOINT/services/collector/ack?channel=CH` with `{"acks":[ID]}` until the answer says
//!   `{"acks":{"ID":true}}`, for at most `ack_timeout` (then `Splunk.AckTimeout`), as Firehose
//!   waits for indexer acknowledgement.
//! - Anything else fails the whole batch, which is retried; the HEC status code gives the error
//!   code (`Splunk.InvalidToken`, `Splunk.DisabledToken`, `Splunk.InvalidDataFormat`,
//!   `Splunk.InvalidIndex`, `Splunk.ServerError`, `Splunk.DisabledAck`,
//!   `Splunk.ConnectionTimeout`…). Events still failing go to `splunk-failed`.

use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::opensearch::truncate;
use super::{Attempt, Batch, Destination, ErrorOutput, Failure};

/// `hec_endpoint_type`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HecEndpoint {
    #[default]
    Raw,
    Event,
}

/// A Splunk destination, every `${…}` resolved.
#[derive(Clone, Debug)]
pub struct SplunkConfig {
    /// The HEC URL (`https://` is added when there is no scheme).
    pub endpoint: String,
    pub token: String,
    pub endpoint_type: HecEndpoint,
    /// How long to wait for indexer acknowledgement (Firehose: 180–600 s, default 180 s).
    pub ack_timeout: Duration,
}

/// The Splunk destination. See the module documentation.
pub struct Splunk {
    config: SplunkConfig,
    base: String,
    channel: String,
    client: reqwest::blocking::Client,
}

impl Splunk {
    pub fn new(config: SplunkConfig) -> Result<Splunk, String> {
        if config.token.is_empty() {
            return Err("the Splunk HEC token is empty".into());
        }
        Ok(Splunk {
            base: super::with_scheme(&config.endpoint),
            channel: uuid::Uuid::new_v4().hyphenated().to_string(),
            client: super::http_client(Duration::from_secs(60))?,
            config,
        })
    }

    fn body(&self, batch: &Batch, pending: &[usize]) -> Vec<u8> {
        let mut body = Vec::new();
        for &index in pending {
            let data = batch.data(index);
            match self.config.endpoint_type {
                HecEndpoint::Raw => body.extend_from_slice(data),
                HecEndpoint::Event => {
                    let event = serde_json::from_slice::<Value>(data)
                        .unwrap_or_else(|_| Value::from(String::from_utf8_lossy(data).trim_end()));
                    let arrival = batch.records.get(index).map_or(0, |r| r.arrival_ms);
                    let wrapped = serde_json::json!({
                        "time": arrival as f64 / 1000.0,
                        "event": event,
                    });
                    body.extend_from_slice(wrapped.to_string().as_bytes());
                    body.push(b'\n');
                }
            }
        }
        body
    }

    /// `POST ENDPOINT/services/collector/PATH?channel=CH` with the token and channel headers.
    fn request(&self, path: &str, body: Vec<u8>) -> reqwest::blocking::RequestBuilder {
        self.client
            .post(format!("{}/services/collector/{path}", self.base))
            .query(&[("channel", &self.channel)])
            .header("Authorization", format!("Splunk {}", self.config.token))
            .header("X-Splunk-Request-Channel", &self.channel)
            .body(body)
    }

    fn post(&self, path: &str, body: Vec<u8>) -> Result<(u16, Value), Failure> {
        let response = self.request(path, body).send().map_err(|e| {
            let code = if e.is_timeout() {
                "Splunk.ConnectionTimeout"
            } else {
                "Splunk.InvalidEndpoint"
            };
            Failure::new(code, super::error_chain(&e))
        })?;
        let status = response.status().as_u16();
        let text = response.text().unwrap_or_default();
        let value = serde_json::from_str::<Value>(&text).unwrap_or(Value::Null);
        if status != 200 || value.get("code").and_then(Value::as_i64) != Some(0) {
            return Err(hec_failure(status, &value, &text));
        }
        Ok((status, value))
    }

    /// Polls for the acknowledgement of `ack_id` until it is true or the ack timeout passes.
    fn wait_for_ack(&self, ack_id: u64) -> Result<(), Failure> {
        let started = Instant::now();
        let mut wait = Duration::from_millis(50);
        loop {
            let body = serde_json::json!({ "acks": [ack_id] })
                .to_string()
                .into_bytes();
            let acked = self
                .request("ack", body)
                .send()
                .ok()
                .filter(|r| r.status().as_u16() == 200)
                .and_then(|r| r.bytes().ok())
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                .and_then(|v| v.get("acks")?.get(ack_id.to_string())?.as_bool())
                .unwrap_or(false);
            if acked {
                return Ok(());
            }
            if started.elapsed() + wait > self.config.ack_timeout {
                return Err(Failure::new(
                    "Splunk.AckTimeout",
                    format!(
                        "no indexer acknowledgement for ackId {ack_id} within {} s",
                        self.config.ack_timeout.as_secs()
                    ),
                ));
            }
            thread::sleep(wait);
            wait = (wait * 2).min(Duration::from_secs(2));
        }
    }
}

/// The Firehose error code for a HEC error answer.
fn hec_failure(status: u16, value: &Value, text: &str) -> Failure {
    let hec_code = value.get("code").and_then(Value::as_i64);
    let code = match (hec_code, status) {
        (Some(1), _) => "Splunk.DisabledToken",
        (Some(2..=4), _) | (None, 401 | 403) => "Splunk.InvalidToken",
        (Some(5 | 6 | 12 | 13), _) => "Splunk.InvalidDataFormat",
        (Some(7), _) => "Splunk.InvalidIndex",
        (Some(14), _) => "Splunk.DisabledAck",
        _ => "Splunk.ServerError",
    };
    let message = value
        .get("text")
        .and_then(Value::as_str)
        .map_or_else(|| truncate(text), str::to_string);
    Failure::new(code, format!("HEC answered {status}: {message}"))
}

impl Destination for Splunk {
    fn kind(&self) -> &'static str {
        "splunk"
    }

    fn error_output(&self) -> ErrorOutput {
        ErrorOutput::Records {
            output_type: "splunk-failed",
        }
    }

    fn attempt(&mut self, batch: &Batch, pending: &[usize]) -> Attempt {
        let path = match self.config.endpoint_type {
            HecEndpoint::Raw => "raw",
            HecEndpoint::Event => "event",
        };
        let result = self
            .post(path, self.body(batch, pending))
            .and_then(|(_, v)| match v.get("ackId").and_then(Value::as_u64) {
                Some(ack_id) => self.wait_for_ack(ack_id),
                None => Ok(()),
            });
        match result {
            Ok(()) => Attempt::Delivered,
            Err(failure) => Attempt::Failed(failure),
        }
    }
}
