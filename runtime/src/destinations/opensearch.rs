//! OpenSearch, as Firehose delivers to it: one `_bulk` request per attempt, an `index` action
//! and the document for each record (`application/x-ndjson`).
//!
//! - The index is the spec's `index` with the rotation suffix of the record's arrival time (UTC):
//!   `NoRotation` none, `OneHour` `-yyyy-MM-dd-HH`, `OneDay` `-yyyy-MM-dd`, `OneWeek`
//!   `-yyyy-w<ISO week, 2 digits>` (`-2016-w08`), `OneMonth` `-yyyy-MM`.
//! - Each document gets an `_id` generated once per record (Firehose's `FIREHOSE_DEFAULT`
//!   document IDs), so a retried document overwrites itself instead of being indexed twice.
//! - A record must be one JSON document; line breaks between its tokens are replaced by spaces
//!   so that it stays on one NDJSON line. A record that is not JSON is not sent: it fails at once
//!   (`mapper_parsing_exception`, what OpenSearch answers).
//! - A request that fails as a whole (connection, non-200 status, a response that is not a bulk
//!   response) is retried. Per document, the response's `items` decide: a 2xx status is
//!   delivered; 429 and 5xx are retried; any other status fails that document at once. Failed
//!   documents become `elasticsearch-failed` error records with `esDocumentId`, `esIndexName` and
//!   `esTypeName`.
//!
//! There is no request signing (Amazon OpenSearch Service domains need SigV4): kin talks to a
//! local or self-managed cluster.

use std::time::Duration;

use chrono::{Datelike as _, Timelike as _};
use serde_json::{Map, Value};

use super::{Attempt, Batch, Destination, ErrorOutput, Failure, Outcomes};

/// `IndexRotationPeriod`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IndexRotation {
    NoRotation,
    OneHour,
    /// Firehose's default.
    #[default]
    OneDay,
    OneWeek,
    OneMonth,
}

impl IndexRotation {
    /// `index` with the suffix for a record that arrived at `arrival_ms`.
    pub fn index_name(&self, index: &str, arrival_ms: i64) -> String {
        let Some(t) = chrono::DateTime::from_timestamp_millis(arrival_ms) else {
            return index.to_string();
        };
        match self {
            IndexRotation::NoRotation => index.to_string(),
            IndexRotation::OneHour => format!(
                "{index}-{:04}-{:02}-{:02}-{:02}",
                t.year(),
                t.month(),
                t.day(),
                t.hour()
            ),
            IndexRotation::OneDay => {
                format!("{index}-{:04}-{:02}-{:02}", t.year(), t.month(), t.day())
            }
            IndexRotation::OneWeek => {
                let week = t.iso_week();
                format!("{index}-{:04}-w{:02}", week.year(), week.week())
            }
            IndexRotation::OneMonth => format!("{index}-{:04}-{:02}", t.year(), t.month()),
        }
    }
}

/// An OpenSearch destination, every `${…}` resolved.
#[derive(Clone, Debug)]
pub struct OpenSearchConfig {
    /// The cluster URL (`https://` is added when there is no scheme).
    pub endpoint: String,
    pub index: String,
    pub rotation: IndexRotation,
}

/// The OpenSearch destination. See the module documentation.
pub struct OpenSearch {
    config: OpenSearchConfig,
    url: String,
    client: reqwest::blocking::Client,
    /// Document IDs of the batch being delivered (by record), made on its first attempt.
    ids: Vec<String>,
    batch_key: String,
}

impl OpenSearch {
    pub fn new(config: OpenSearchConfig) -> Result<OpenSearch, String> {
        if config.index.is_empty() {
            return Err("the OpenSearch index name is empty".into());
        }
        let url = format!("{}/_bulk", super::with_scheme(&config.endpoint));
        Ok(OpenSearch {
            url,
            config,
            client: super::http_client(Duration::from_secs(60))?,
            ids: Vec::new(),
            batch_key: String::new(),
        })
    }

    fn ids_for(&mut self, batch: &Batch) {
        if self.batch_key != batch.key || self.ids.len() != batch.len() {
            self.batch_key = batch.key.clone();
            self.ids = (0..batch.len())
                .map(|_| uuid::Uuid::new_v4().simple().to_string())
                .collect();
        }
    }

    fn index_of(&self, batch: &Batch, index: usize) -> String {
        let arrival = batch.records.get(index).map_or(0, |r| r.arrival_ms);
        self.config.rotation.index_name(&self.config.index, arrival)
    }

    /// The bulk body for the sendable records, and the outcome of those that cannot be sent.
    fn bulk_body(&self, batch: &Batch, pending: &[usize]) -> (Vec<u8>, Vec<usize>, Outcomes) {
        let mut body = Vec::new();
        let mut sent = Vec::new();
        let mut outcomes = vec![None; pending.len()];
        for (slot, &index) in pending.iter().enumerate() {
            let data = batch.data(index);
            if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(data) {
                outcomes[slot] = Some((
                    Failure::new(
                        "mapper_parsing_exception",
                        format!("failed to parse: the record is not one JSON document ({e})"),
                    ),
                    false,
                ));
                continue;
            }
            let action = serde_json::json!({"index": {
                "_index": self.index_of(batch, index),
                "_id": self.ids.get(index).cloned().unwrap_or_default(),
            }});
            body.extend_from_slice(action.to_string().as_bytes());
            body.push(b'\n');
            let document = String::from_utf8_lossy(data);
            body.extend(document.trim().bytes().map(|b| {
                if b == b'\n' || b == b'\r' {
                    b' '
                } else {
                    b
                }
            }));
            body.push(b'\n');
            sent.push(slot);
        }
        (body, sent, outcomes)
    }
}

/// Reads a bulk response's items into the outcomes of the `sent` slots.
fn read_items(
    response: &Value,
    sent: &[usize],
    outcomes: &mut [Option<(Failure, bool)>],
) -> Result<(), String> {
    let items = response
        .get("items")
        .and_then(Value::as_array)
        .ok_or("the response has no `items` array")?;
    if items.len() != sent.len() {
        return Err(format!(
            "the response has {} items for {} actions",
            items.len(),
            sent.len()
        ));
    }
    for (item, &slot) in items.iter().zip(sent) {
        let result = item
            .as_object()
            .and_then(|o| o.values().next())
            .ok_or("an item is not an object with one action")?;
        let status = result
            .get("status")
            .and_then(Value::as_u64)
            .ok_or("an item has no status")?;
        if (200..300).contains(&status) {
            continue;
        }
        let error = result.get("error");
        let code = error
            .and_then(|e| e.get("type"))
            .and_then(Value::as_str)
            .map_or_else(|| status.to_string(), str::to_string);
        let reason = error
            .and_then(|e| e.get("reason"))
            .and_then(Value::as_str)
            .map_or_else(|| format!("status {status}"), str::to_string);
        let retryable = status == 429 || status >= 500;
        if let Some(outcome) = outcomes.get_mut(slot) {
            *outcome = Some((Failure::new(code, reason), retryable));
        }
    }
    Ok(())
}

impl Destination for OpenSearch {
    fn kind(&self) -> &'static str {
        "opensearch"
    }

    fn error_output(&self) -> ErrorOutput {
        ErrorOutput::Records {
            output_type: "elasticsearch-failed",
        }
    }

    fn attempt(&mut self, batch: &Batch, pending: &[usize]) -> Attempt {
        self.ids_for(batch);
        let (body, sent, mut outcomes) = self.bulk_body(batch, pending);
        if sent.is_empty() {
            return Attempt::PerRecord(outcomes);
        }
        let whole = |failure: Failure, outcomes: &mut Outcomes| {
            for &slot in &sent {
                outcomes[slot] = Some((failure.clone(), true));
            }
        };
        let response = self
            .client
            .post(&self.url)
            .header("Content-Type", "application/x-ndjson")
            .body(body)
            .send();
        let response = match response {
            Ok(r) => r,
            Err(e) => {
                let failure = Failure::new("OS.ConnectionFailed", super::error_chain(&e));
                whole(failure, &mut outcomes);
                return Attempt::PerRecord(outcomes);
            }
        };
        let status = response.status().as_u16();
        let text = response.text().unwrap_or_default();
        if status != 200 {
            let failure = Failure::new(
                format!("OS.{status}"),
                format!("_bulk answered {status}: {}", truncate(&text)),
            );
            whole(failure, &mut outcomes);
            return Attempt::PerRecord(outcomes);
        }
        let read = serde_json::from_str::<Value>(&text)
            .map_err(|e| e.to_string())
            .and_then(|v| read_items(&v, &sent, &mut outcomes));
        if let Err(reason) = read {
            let failure = Failure::new(
                "OS.InvalidResponse",
                format!("the _bulk response is not valid: {reason}"),
            );
            whole(failure, &mut outcomes);
        }
        Attempt::PerRecord(outcomes)
    }

    fn error_fields(&self, batch: &Batch, index: usize) -> Map<String, Value> {
        let mut fields = Map::new();
        fields.insert("subsequenceNumber".into(), Value::from(0));
        fields.insert(
            "esDocumentId".into(),
            Value::from(self.ids.get(index).cloned().unwrap_or_default()),
        );
        fields.insert(
            "esIndexName".into(),
            Value::from(self.index_of(batch, index)),
        );
        fields.insert("esTypeName".into(), Value::from(""));
        fields
    }
}

/// At most 500 characters of a response, for messages.
pub(crate) fn truncate(text: &str) -> String {
    match text.char_indices().nth(500) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_appends_the_arrival_time() {
        // 2016-02-25T13:00:00Z
        let t = 1_456_405_200_000;
        let name = |r: IndexRotation| r.index_name("myindex", t);
        assert_eq!(name(IndexRotation::NoRotation), "myindex");
        assert_eq!(name(IndexRotation::OneHour), "myindex-2016-02-25-13");
        assert_eq!(name(IndexRotation::OneDay), "myindex-2016-02-25");
        assert_eq!(name(IndexRotation::OneWeek), "myindex-2016-w08");
        assert_eq!(name(IndexRotation::OneMonth), "myindex-2016-02");
    }

    #[test]
    fn bulk_items_decide_each_document() {
        let response = serde_json::json!({"errors": true, "items": [
            {"index": {"status": 201}},
            {"index": {"status": 400, "error": {"type": "mapper_parsing_exception", "reason": "bad"}}},
            {"index": {"status": 429, "error": {"type": "es_rejected_execution_exception", "reason": "busy"}}},
        ]});
        let mut outcomes = vec![None, None, None, None];
        read_items(&response, &[0, 1, 3], &mut outcomes).expect("reads");
        assert_eq!(outcomes[0], None);
        assert_eq!(
            outcomes[1],
            Some((Failure::new("mapper_parsing_exception", "bad"), false))
        );
        assert_eq!(outcomes[2], None);
        assert!(matches!(&outcomes[3], Some((_, true))));
        assert!(read_items(&response, &[0], &mut outcomes).is_err());
    }
}
