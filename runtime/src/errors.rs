//! Firehose's error-record shape: what kin writes, one JSON object per line, for every record it
//! cannot deliver or accept (a record that does not match its schema, a late record, a record
//! over Firehose's size limit). Nothing is dropped without one of these.

use base64::Engine as _;
use serde::Serialize;

/// One failed record, serialized as Firehose writes it under the error prefix:
/// `{"attemptsMade":1,"arrivalTimestamp":1700000000000,"errorCode":"…","errorMessage":"…","rawData":"base64"}`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorRecord {
    pub attempts_made: u32,
    /// Epoch milliseconds when the record arrived.
    pub arrival_timestamp: i64,
    pub error_code: String,
    pub error_message: String,
    /// The record's bytes, base64.
    pub raw_data: String,
}

impl ErrorRecord {
    pub fn new(
        raw: &[u8],
        error_code: impl Into<String>,
        error_message: impl Into<String>,
        arrival_ms: i64,
    ) -> Self {
        ErrorRecord {
            attempts_made: 1,
            arrival_timestamp: arrival_ms,
            error_code: error_code.into(),
            error_message: error_message.into(),
            raw_data: base64::engine::general_purpose::STANDARD.encode(raw),
        }
    }

    /// The record as one JSON line, newline included.
    pub fn to_json_line(&self) -> Vec<u8> {
        let mut line = serde_json::to_vec(self).unwrap_or_default();
        line.push(b'\n');
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_record_has_firehose_field_names_and_base64_data() {
        let line =
            ErrorRecord::new(b"{\"a\":1", "SchemaMismatch", "missing field `b`", 5).to_json_line();
        let value: serde_json::Value = serde_json::from_slice(&line).expect("json");
        assert_eq!(value["rawData"], "eyJhIjox");
        assert_eq!(value["errorCode"], "SchemaMismatch");
        assert_eq!(value["errorMessage"], "missing field `b`");
        assert_eq!(value["attemptsMade"], 1);
        assert_eq!(value["arrivalTimestamp"], 5);
        assert!(line.ends_with(b"\n"));
    }
}
