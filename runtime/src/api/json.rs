//! Reading request members from a JSON 1.1 body, with AWS's errors for members of the wrong
//! type (`SerializationException`) and for missing required ones (`ValidationException`).

use base64::Engine as _;
use serde_json::{Map, Value};

use super::error::ApiError;

/// A request body: a JSON object.
pub struct Input<'a>(&'a Map<String, Value>);

/// Parses a body; an empty body is an empty object, as AWS accepts it.
pub fn parse_body(body: &[u8]) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            "SerializationException",
            format!("the body is not JSON: {e}"),
        )
    })?;
    if !value.is_object() {
        return Err(ApiError::new(
            "SerializationException",
            "the body must be a JSON object",
        ));
    }
    Ok(value)
}

fn wrong_type(member: &str, expected: &str) -> ApiError {
    ApiError::new(
        "SerializationException",
        format!("member {member} must be {expected}"),
    )
}

impl<'a> Input<'a> {
    /// The members of `value`, which must be an object.
    pub fn new(value: &'a Value, member: &str) -> Result<Input<'a>, ApiError> {
        value
            .as_object()
            .map(Input)
            .ok_or_else(|| wrong_type(member, "an object"))
    }

    fn get(&self, member: &str) -> Option<&'a Value> {
        self.0.get(member).filter(|v| !v.is_null())
    }

    pub fn str(&self, member: &str) -> Result<Option<&'a str>, ApiError> {
        match self.get(member) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(wrong_type(member, "a string")),
        }
    }

    /// A required string; `path` names it in the error as AWS does (`streamName`).
    pub fn required_str(&self, member: &str, path: &str) -> Result<&'a str, ApiError> {
        self.str(member)?.ok_or_else(|| ApiError::missing(path))
    }

    /// A base64 blob.
    pub fn blob(&self, member: &str) -> Result<Option<Vec<u8>>, ApiError> {
        match self.str(member)? {
            None => Ok(None),
            Some(text) => base64::engine::general_purpose::STANDARD
                .decode(text)
                .map(Some)
                .map_err(|_| wrong_type(member, "base64-encoded data")),
        }
    }

    pub fn required_blob(&self, member: &str, path: &str) -> Result<Vec<u8>, ApiError> {
        self.blob(member)?.ok_or_else(|| ApiError::missing(path))
    }

    /// A whole number member.
    pub fn int(&self, member: &str) -> Result<Option<i64>, ApiError> {
        match self.get(member) {
            None => Ok(None),
            Some(v) => v
                .as_i64()
                .map(Some)
                .ok_or_else(|| wrong_type(member, "a whole number")),
        }
    }

    /// A whole number in `min..=max`, with AWS's validation message if it is outside.
    pub fn int_in(
        &self,
        member: &str,
        path: &str,
        min: i64,
        max: i64,
    ) -> Result<Option<i64>, ApiError> {
        let Some(value) = self.int(member)? else {
            return Ok(None);
        };
        let constraint = if value < min {
            format!("greater than or equal to {min}")
        } else if value > max {
            format!("less than or equal to {max}")
        } else {
            return Ok(Some(value));
        };
        Err(ApiError::validation(format!(
            "1 validation error detected: Value '{value}' at '{path}' failed to satisfy \
             constraint: Member must have value {constraint}"
        )))
    }

    /// A timestamp: epoch seconds (a number or a numeric string), as epoch milliseconds.
    pub fn timestamp_ms(&self, member: &str) -> Result<Option<i64>, ApiError> {
        let seconds = match self.get(member) {
            None => return Ok(None),
            Some(Value::Number(n)) => n.as_f64(),
            Some(Value::String(s)) => s.parse::<f64>().ok(),
            Some(_) => None,
        };
        match seconds {
            Some(s) if s.is_finite() => Ok(Some((s * 1000.0).floor() as i64)),
            _ => Err(wrong_type(member, "a timestamp in epoch seconds")),
        }
    }

    /// An array member (absent: `None`).
    pub fn array(&self, member: &str) -> Result<Option<&'a Vec<Value>>, ApiError> {
        match self.get(member) {
            None => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items)),
            Some(_) => Err(wrong_type(member, "a list")),
        }
    }

    /// An object member (absent: `None`).
    pub fn object(&self, member: &str) -> Result<Option<Input<'a>>, ApiError> {
        match self.get(member) {
            None => Ok(None),
            Some(v) => Input::new(v, member).map(Some),
        }
    }
}

/// Epoch milliseconds as AWS's JSON timestamps: epoch seconds with a fraction.
pub fn epoch_seconds(ms: i64) -> Value {
    serde_json::json!(ms as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn members_are_read_with_type_checks() {
        let value =
            json!({"S": "x", "N": 5, "B": "aGk=", "T": 1.5, "Ts": "2", "A": [1], "Null": null});
        let input = Input::new(&value, "body").expect("object");
        assert_eq!(input.str("S"), Ok(Some("x")));
        assert_eq!(input.str("Null"), Ok(None));
        assert_eq!(input.blob("B"), Ok(Some(b"hi".to_vec())));
        assert_eq!(input.timestamp_ms("T"), Ok(Some(1500)));
        assert_eq!(input.timestamp_ms("Ts"), Ok(Some(2000)));
        assert_eq!(input.int_in("N", "limit", 1, 10), Ok(Some(5)));
        assert_eq!(input.array("A").map(|a| a.map(Vec::len)), Ok(Some(1)));
        assert_eq!(
            input.str("N").map_err(|e| e.code),
            Err("SerializationException")
        );
        assert_eq!(
            input.blob("S").map_err(|e| e.code),
            Err("SerializationException")
        );
        assert_eq!(
            input.int("T").map_err(|e| e.code),
            Err("SerializationException")
        );
        assert_eq!(
            input.array("S").map_err(|e| e.code),
            Err("SerializationException")
        );
        assert_eq!(
            input.int_in("N", "limit", 6, 10).map_err(|e| e.code),
            Err("ValidationException")
        );
        assert_eq!(
            input
                .required_str("Missing", "streamName")
                .map_err(|e| e.code),
            Err("ValidationException")
        );
    }

    #[test]
    fn bodies_must_be_json_objects() {
        assert_eq!(parse_body(b""), Ok(json!({})));
        assert!(parse_body(b"[1]").is_err());
        assert!(parse_body(b"{").is_err());
        assert_eq!(epoch_seconds(1500), json!(1.5));
    }
}
