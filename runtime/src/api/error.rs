//! Errors as AWS's JSON 1.1 services return them: an HTTP status and the body
//! `{"__type":"ResourceNotFoundException","message":"..."}`, which the SDKs turn into the
//! exception of that name.

use std::fmt;

/// The account id in every ARN kin prints.
pub const ACCOUNT: &str = "000000000000";

/// An error answer: AWS's error code (`__type`), its message and the HTTP status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub code: &'static str,
    pub message: String,
    pub status: u16,
}

impl ApiError {
    /// A client error (HTTP 400), the status AWS gives every error below except the 5xx ones.
    pub fn new(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
            status: 400,
        }
    }

    pub fn validation(message: impl Into<String>) -> ApiError {
        ApiError::new("ValidationException", message)
    }

    pub fn invalid_argument(message: impl Into<String>) -> ApiError {
        ApiError::new("InvalidArgumentException", message)
    }

    /// A missing required member, worded as AWS words it.
    pub fn missing(member: &str) -> ApiError {
        ApiError::validation(format!(
            "1 validation error detected: Value null at '{member}' failed to satisfy constraint: \
             Member must not be null"
        ))
    }

    /// AWS's message for a stream that does not exist.
    pub fn stream_not_found(name: &str) -> ApiError {
        ApiError::new(
            "ResourceNotFoundException",
            format!("Stream {name} under account {ACCOUNT} not found."),
        )
    }

    /// AWS's message for a delivery stream that does not exist.
    pub fn delivery_stream_not_found(name: &str) -> ApiError {
        ApiError::new(
            "ResourceNotFoundException",
            format!("Firehose {name} under account {ACCOUNT} not found."),
        )
    }

    /// The run is stopping: its streams and firehoses take no more records.
    pub fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError {
            code: "ServiceUnavailableException",
            message: message.into(),
            status: 503,
        }
    }

    /// The body: `{"__type":CODE,"message":MESSAGE}`.
    pub fn body(&self) -> Vec<u8> {
        serde_json::json!({ "__type": self.code, "message": self.message })
            .to_string()
            .into_bytes()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.message)
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_aws_shape() {
        let error = ApiError::stream_not_found("clicks");
        assert_eq!(error.status, 400);
        let body: serde_json::Value = serde_json::from_slice(&error.body()).expect("json");
        assert_eq!(
            body,
            serde_json::json!({
                "__type": "ResourceNotFoundException",
                "message": "Stream clicks under account 000000000000 not found."
            })
        );
    }

    #[test]
    fn unavailable_is_a_server_error() {
        assert_eq!(ApiError::unavailable("stopping").status, 503);
        assert_eq!(ApiError::missing("streamName").code, "ValidationException");
    }
}
