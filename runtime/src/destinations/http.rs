//! HTTP endpoints, with Firehose's HTTP endpoint delivery protocol (version 1.0):
//!
//! - `POST URL`, `Content-Type: application/json`, body
//!   `{"requestId":"<uuid>","timestamp":<epoch ms>,"records":[{"data":"<base64>"},…]}`;
//! - headers `X-Amz-Firehose-Protocol-Version: 1.0`, `X-Amz-Firehose-Request-Id` (the body's
//!   `requestId`), `X-Amz-Firehose-Source-Arn` (a local ARN:
//!   `arn:aws:firehose:local:000000000000:deliverystream/NAME`), and
//!   `X-Amz-Firehose-Access-Key` when the spec has an `access_key`;
//! - with `compression: gzip` the body is gzipped and sent with `Content-Encoding: gzip`;
//! - the endpoint must answer status 200 (another 2xx is a failure too) with a JSON body whose
//!   `requestId` equals the request's and which has a numeric `timestamp`; anything else is a
//!   failure (`HttpEndpoint.DestinationException` for the status,
//!   `HttpEndpoint.InvalidResponseFromDestination` for the body, `HttpEndpoint.RequestTimeout`,
//!   `HttpEndpoint.ConnectionFailed`), and the whole batch is retried. A retried batch keeps its
//!   `requestId`, so an endpoint can drop a duplicate. Records still failing go to
//!   `http-endpoint-failed`.
//!
//! URLs must be `https://` in a spec; a `${var.…}` may give `http://` for a local endpoint.

use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;

use crate::compress::Compression;

use super::opensearch::truncate;
use super::{Attempt, Batch, DeliverySettings, Destination, ErrorOutput, Failure};

/// An HTTP endpoint destination, every `${…}` resolved.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    pub url: String,
    /// A display name, for messages.
    pub name: Option<String>,
    pub access_key: Option<String>,
}

/// The HTTP endpoint destination. See the module documentation.
pub struct HttpEndpoint {
    config: HttpConfig,
    gzip: bool,
    source_arn: String,
    client: reqwest::blocking::Client,
    /// The request id of the batch being delivered, made on its first attempt.
    request: Option<(String, String)>,
}

impl HttpEndpoint {
    pub fn new(config: HttpConfig, settings: &DeliverySettings) -> Result<HttpEndpoint, String> {
        if !(config.url.starts_with("https://") || config.url.starts_with("http://")) {
            return Err(format!(
                "http endpoint URL {:?} must start with https:// (or http:// for a local endpoint)",
                config.url
            ));
        }
        let gzip = match settings.compression {
            Compression::None => false,
            Compression::Gzip => true,
            other => {
                return Err(format!(
                    "HTTP endpoints accept no compression or GZIP content encoding, not {other:?}"
                ))
            }
        };
        Ok(HttpEndpoint {
            config,
            gzip,
            source_arn: format!(
                "arn:aws:firehose:local:000000000000:deliverystream/{}",
                settings.name
            ),
            client: super::http_client(Duration::from_secs(180))?,
            request: None,
        })
    }

    fn request_id(&mut self, batch: &Batch) -> String {
        match &self.request {
            Some((key, id)) if *key == batch.key => id.clone(),
            _ => {
                let id = uuid::Uuid::new_v4().hyphenated().to_string();
                self.request = Some((batch.key.clone(), id.clone()));
                id
            }
        }
    }

    fn send(&mut self, batch: &Batch, pending: &[usize]) -> Result<(), Failure> {
        let request_id = self.request_id(batch);
        let timestamp = crate::producer::now_ms();
        let b64 = base64::engine::general_purpose::STANDARD;
        let records: Vec<Value> = pending
            .iter()
            .map(|&i| serde_json::json!({ "data": b64.encode(batch.data(i)) }))
            .collect();
        let body = serde_json::json!({
            "requestId": request_id,
            "timestamp": timestamp,
            "records": records,
        })
        .to_string()
        .into_bytes();
        let mut request = self
            .client
            .post(&self.config.url)
            .header("Content-Type", "application/json")
            .header("X-Amz-Firehose-Protocol-Version", "1.0")
            .header("X-Amz-Firehose-Request-Id", &request_id)
            .header("X-Amz-Firehose-Source-Arn", &self.source_arn);
        if let Some(key) = &self.config.access_key {
            request = request.header("X-Amz-Firehose-Access-Key", key);
        }
        let body = if self.gzip {
            request = request.header("Content-Encoding", "gzip");
            Compression::Gzip
                .compress(&body)
                .map_err(|e| Failure::new("HttpEndpoint.InternalError", e.to_string()))?
        } else {
            body
        };
        let response = request.body(body).send().map_err(|e| {
            let code = if e.is_timeout() {
                "HttpEndpoint.RequestTimeout"
            } else {
                "HttpEndpoint.ConnectionFailed"
            };
            Failure::new(code, super::error_chain(&e))
        })?;
        let status = response.status().as_u16();
        let text = response.text().unwrap_or_default();
        if status != 200 {
            return Err(Failure::new(
                "HttpEndpoint.DestinationException",
                format!("the endpoint answered {status}: {}", truncate(&text)),
            ));
        }
        check_response(&text, &request_id)
    }
}

/// Checks a 200 answer's body: JSON with the request's `requestId` and a numeric `timestamp`.
pub fn check_response(text: &str, request_id: &str) -> Result<(), Failure> {
    let invalid = |why: String| Failure::new("HttpEndpoint.InvalidResponseFromDestination", why);
    let value: Value = serde_json::from_str(text).map_err(|e| {
        invalid(format!(
            "the response body is not JSON ({e}): {}",
            truncate(text)
        ))
    })?;
    match value.get("requestId").and_then(Value::as_str) {
        Some(id) if id == request_id => {}
        Some(id) => {
            return Err(invalid(format!(
                "the response's requestId {id:?} is not the request's {request_id:?}"
            )))
        }
        None => return Err(invalid("the response has no requestId".into())),
    }
    if !value.get("timestamp").is_some_and(Value::is_number) {
        return Err(invalid("the response has no numeric timestamp".into()));
    }
    Ok(())
}

impl Destination for HttpEndpoint {
    fn kind(&self) -> &'static str {
        "http"
    }

    fn error_output(&self) -> ErrorOutput {
        ErrorOutput::Records {
            output_type: "http-endpoint-failed",
        }
    }

    fn attempt(&mut self, batch: &Batch, pending: &[usize]) -> Attempt {
        match self.send(batch, pending) {
            Ok(()) => Attempt::Delivered,
            Err(failure) => Attempt::Failed(failure),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_response_must_echo_the_request() {
        assert!(check_response(r#"{"requestId":"r1","timestamp":5}"#, "r1").is_ok());
        let bad = [
            r#"{"requestId":"r2","timestamp":5}"#,
            r#"{"timestamp":5}"#,
            r#"{"requestId":"r1"}"#,
            "ok",
        ];
        for text in bad {
            let failure = check_response(text, "r1").expect_err(text);
            assert_eq!(failure.code, "HttpEndpoint.InvalidResponseFromDestination");
        }
    }
}
