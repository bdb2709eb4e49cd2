//! Shard iterators: opaque base64 strings that carry the stream, the shard, the offset to read
//! next and when the iterator was issued, sealed with an HMAC under a key made at startup, so
//! a forged or damaged iterator is refused and an old one expires after 5 minutes, as AWS's do.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::error::ApiError;

/// AWS's shard iterators are valid for 5 minutes.
pub const ITERATOR_LIFETIME_MS: i64 = 5 * 60 * 1000;
const MAC_LEN: usize = 16;
const VERSION: &str = "k1";

/// Where an iterator points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardPosition {
    pub stream: String,
    pub shard: usize,
    /// The offset of the next record to read.
    pub offset: u64,
    /// Epoch ms when the iterator was issued.
    pub issued_ms: i64,
}

/// Seals and opens iterators with one key.
pub struct IteratorCodec {
    key: [u8; 32],
}

impl IteratorCodec {
    pub fn new(key: [u8; 32]) -> IteratorCodec {
        IteratorCodec { key }
    }

    /// A codec with a fresh random key: iterators of an earlier run are refused.
    pub fn random() -> IteratorCodec {
        IteratorCodec::new(rand::random())
    }

    pub fn encode(&self, position: &ShardPosition) -> String {
        let payload = format!(
            "{VERSION}/{}/{}/{}/{}",
            position.shard, position.offset, position.issued_ms, position.stream
        );
        let mut bytes = payload.into_bytes();
        let mac = self.mac(&bytes);
        bytes.extend_from_slice(&mac);
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// Opens an iterator: `InvalidArgumentException` if it was not issued by this server,
    /// `ExpiredIteratorException` if it is older than 5 minutes.
    pub fn decode(&self, text: &str, now_ms: i64) -> Result<ShardPosition, ApiError> {
        let invalid = || ApiError::invalid_argument(format!("Invalid ShardIterator: {text:.64}"));
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|_| invalid())?;
        let split = bytes.len().checked_sub(MAC_LEN).ok_or_else(invalid)?;
        let (payload, mac) = bytes.split_at(split);
        let expected = self.mac(payload);
        let matches = expected
            .iter()
            .zip(mac)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
        if !matches {
            return Err(invalid());
        }
        let payload = std::str::from_utf8(payload).map_err(|_| invalid())?;
        let mut parts = payload.splitn(5, '/');
        let (Some(VERSION), Some(shard), Some(offset), Some(issued), Some(stream)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(invalid());
        };
        let position = ShardPosition {
            stream: stream.to_string(),
            shard: shard.parse().map_err(|_| invalid())?,
            offset: offset.parse().map_err(|_| invalid())?,
            issued_ms: issued.parse().map_err(|_| invalid())?,
        };
        if now_ms.saturating_sub(position.issued_ms) > ITERATOR_LIFETIME_MS {
            return Err(ApiError::new(
                "ExpiredIteratorException",
                format!(
                    "Iterator expired. The iterator was created at time {} while right now it is \
                     {} which is further in the future than the tolerated delay of \
                     {ITERATOR_LIFETIME_MS} milliseconds.",
                    time_text(position.issued_ms),
                    time_text(now_ms)
                ),
            ));
        }
        Ok(position)
    }

    fn mac(&self, payload: &[u8]) -> [u8; MAC_LEN] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(payload);
        let full = mac.finalize().into_bytes();
        let mut out = [0; MAC_LEN];
        out.copy_from_slice(&full[..MAC_LEN]);
        out
    }
}

fn time_text(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339())
        .unwrap_or_else(|| ms.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position() -> ShardPosition {
        ShardPosition {
            stream: "click-stream_v1.2".to_string(),
            shard: 3,
            offset: 12_345_678_901,
            issued_ms: 1_700_000_000_000,
        }
    }

    #[test]
    fn round_trips_and_fits_aws_length() {
        let codec = IteratorCodec::new([7; 32]);
        let long = ShardPosition {
            stream: "s".repeat(128),
            shard: 99_999,
            offset: u64::MAX,
            issued_ms: i64::MAX,
        };
        for p in [position(), long] {
            let text = codec.encode(&p);
            assert!((1..=512).contains(&text.len()), "{}", text.len());
            assert_eq!(codec.decode(&text, p.issued_ms), Ok(p));
        }
    }

    #[test]
    fn forged_damaged_or_foreign_iterators_are_invalid() {
        let codec = IteratorCodec::new([7; 32]);
        let text = codec.encode(&position());
        let now = position().issued_ms;
        let mut damaged = base64::engine::general_purpose::STANDARD
            .decode(&text)
            .expect("base64");
        damaged[5] ^= 1;
        let damaged = base64::engine::general_purpose::STANDARD.encode(damaged);
        let forged = base64::engine::general_purpose::STANDARD
            .encode(b"k1/0/0/1700000000000/click-stream_v1.2AAAAAAAAAAAAAAAA");
        for bad in [
            damaged,
            forged,
            "not base64!".to_string(),
            String::new(),
            "AAAA".to_string(),
        ] {
            let error = codec.decode(&bad, now).expect_err("refused");
            assert_eq!(error.code, "InvalidArgumentException", "{bad}");
        }
        let other = IteratorCodec::new([8; 32]);
        assert!(other.decode(&text, now).is_err());
    }

    #[test]
    fn iterators_expire_after_five_minutes() {
        let codec = IteratorCodec::new([7; 32]);
        let text = codec.encode(&position());
        let issued = position().issued_ms;
        assert!(codec.decode(&text, issued + ITERATOR_LIFETIME_MS).is_ok());
        let error = codec
            .decode(&text, issued + ITERATOR_LIFETIME_MS + 1)
            .expect_err("expired");
        assert_eq!(error.code, "ExpiredIteratorException");
        assert_eq!(error.status, 400);
    }
}
