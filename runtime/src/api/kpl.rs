//! KPL aggregated records (the KPL's `aggregation-format.md`): `F3 89 9A C2`, a protobuf
//! `AggregatedRecord`, then the MD5 of the protobuf bytes. Decoded by hand — the message is tiny:
//!
//! ```text
//! AggregatedRecord { repeated string partition_key_table = 1; repeated string explicit_hash_key_table = 2;
//!                    repeated Record records = 3; }
//! Record { required uint64 partition_key_index = 1; optional uint64 explicit_hash_key_index = 2;
//!          required bytes data = 3; repeated Tag tags = 4; }
//! ```
//!
//! Anything that is not a well-formed aggregate (wrong magic, bad checksum, bad protobuf, an
//! index out of its table) is an ordinary record, as the KCL treats it.

use md5::{Digest, Md5};

/// The four bytes every aggregated record starts with.
pub const MAGIC: [u8; 4] = [0xF3, 0x89, 0x9A, 0xC2];
const DIGEST_LEN: usize = 16;

/// One user record of an aggregate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubRecord {
    pub partition_key: String,
    pub explicit_hash_key: Option<String>,
    pub data: Vec<u8>,
}

/// The user records of `data` if it is a well-formed, non-empty aggregate; `None` otherwise.
pub fn deaggregate(data: &[u8]) -> Option<Vec<SubRecord>> {
    let body = data.strip_prefix(&MAGIC)?;
    let split = body.len().checked_sub(DIGEST_LEN)?;
    let (message, digest) = body.split_at(split);
    if Md5::digest(message).as_slice() != digest {
        return None;
    }
    let records = decode_aggregate(message)?;
    (!records.is_empty()).then_some(records)
}

#[derive(Default)]
struct RawRecord {
    partition_key_index: Option<u64>,
    explicit_hash_key_index: Option<u64>,
    data: Option<Vec<u8>>,
}

fn decode_aggregate(message: &[u8]) -> Option<Vec<SubRecord>> {
    let mut keys = Vec::new();
    let mut hash_keys = Vec::new();
    let mut raw = Vec::new();
    let mut reader = Reader(message);
    while let Some((field, value)) = reader.field()? {
        match (field, value) {
            (1, Value::Bytes(b)) => keys.push(String::from_utf8(b.to_vec()).ok()?),
            (2, Value::Bytes(b)) => hash_keys.push(String::from_utf8(b.to_vec()).ok()?),
            (3, Value::Bytes(b)) => raw.push(decode_record(b)?),
            (1..=3, _) => return None,
            _ => {}
        }
    }
    raw.into_iter()
        .map(|r| {
            let key = keys.get(usize::try_from(r.partition_key_index?).ok()?)?;
            let hash_key = match r.explicit_hash_key_index {
                Some(i) => Some(hash_keys.get(usize::try_from(i).ok()?)?.clone()),
                None => None,
            };
            Some(SubRecord {
                partition_key: key.clone(),
                explicit_hash_key: hash_key,
                data: r.data?,
            })
        })
        .collect()
}

fn decode_record(message: &[u8]) -> Option<RawRecord> {
    let mut record = RawRecord::default();
    let mut reader = Reader(message);
    while let Some((field, value)) = reader.field()? {
        match (field, value) {
            (1, Value::Varint(v)) => record.partition_key_index = Some(v),
            (2, Value::Varint(v)) => record.explicit_hash_key_index = Some(v),
            (3, Value::Bytes(b)) => record.data = Some(b.to_vec()),
            (1..=3, _) => return None,
            // Tags (4) and unknown fields are skipped: the KCL ignores tags too.
            _ => {}
        }
    }
    Some(record)
}

/// A protobuf field's value.
enum Value<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    /// Fixed 32- or 64-bit values, skipped.
    Fixed,
}

/// Reads protobuf fields from a byte slice.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    /// The next field, `Some(None)` at the end, `None` when malformed.
    fn field(&mut self) -> Option<Option<(u64, Value<'a>)>> {
        if self.0.is_empty() {
            return Some(None);
        }
        let tag = self.varint()?;
        let value = match tag & 7 {
            0 => Value::Varint(self.varint()?),
            1 => self.take(8).map(|_| Value::Fixed)?,
            2 => {
                let len = usize::try_from(self.varint()?).ok()?;
                Value::Bytes(self.take(len)?)
            }
            5 => self.take(4).map(|_| Value::Fixed)?,
            _ => return None,
        };
        Some(Some((tag >> 3, value)))
    }

    fn take(&mut self, len: usize) -> Option<&'a [u8]> {
        if len > self.0.len() {
            return None;
        }
        let (head, rest) = self.0.split_at(len);
        self.0 = rest;
        Some(head)
    }

    fn varint(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = self.0.split_first()?;
            self.0 = rest;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }
}

#[cfg(test)]
#[path = "kpl_tests.rs"]
mod tests;
