//! KPL de-aggregation tests: a vector made by the `aws-kinesis-agg` Python package, and
//! aggregates built here field by field (a minimal protobuf encoder).

use super::*;
use crate::api::testing::{hex_bytes, PYTHON_AGGREGATE};

fn varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn bytes_field(field: u64, bytes: &[u8], out: &mut Vec<u8>) {
    varint(field << 3 | 2, out);
    varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

fn varint_field(field: u64, value: u64, out: &mut Vec<u8>) {
    varint(field << 3, out);
    varint(value, out);
}

/// MAGIC + message + MD5(message).
fn wrap(message: &[u8]) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(message);
    out.extend_from_slice(&Md5::digest(message));
    out
}

fn sub(key: &str, hash_key: Option<&str>, data: &[u8]) -> SubRecord {
    SubRecord {
        partition_key: key.to_string(),
        explicit_hash_key: hash_key.map(str::to_string),
        data: data.to_vec(),
    }
}

#[test]
fn decodes_what_aws_kinesis_agg_makes() {
    let records = deaggregate(&hex_bytes(PYTHON_AGGREGATE)).expect("an aggregate");
    assert_eq!(
        records,
        vec![
            sub("pk1", None, b"hello"),
            sub("pk2", Some("123"), b"world"),
            sub("pk1", None, b"!"),
        ]
    );
}

#[test]
fn decodes_built_aggregates_with_tags_and_unknown_fields() {
    let mut record = Vec::new();
    varint_field(1, 0, &mut record);
    bytes_field(3, &[0, 1, 2, 255], &mut record);
    let mut tag = Vec::new();
    bytes_field(1, b"k", &mut tag);
    bytes_field(4, &tag, &mut record);
    // An unknown fixed64 and fixed32 field.
    varint(9 << 3 | 1, &mut record);
    record.extend_from_slice(&[0; 8]);
    varint(10 << 3 | 5, &mut record);
    record.extend_from_slice(&[0; 4]);
    let mut message = Vec::new();
    bytes_field(1, "clé".as_bytes(), &mut message);
    for _ in 0..200 {
        bytes_field(3, &record, &mut message);
    }
    let records = deaggregate(&wrap(&message)).expect("an aggregate");
    assert_eq!(records.len(), 200);
    assert!(records
        .iter()
        .all(|r| *r == sub("clé", None, &[0, 1, 2, 255])));
}

#[test]
fn anything_else_is_an_ordinary_record() {
    let good = hex_bytes(PYTHON_AGGREGATE);
    // A bad checksum.
    let mut bad_digest = good.clone();
    let last = bad_digest.len() - 1;
    bad_digest[last] ^= 1;
    // Truncated, no magic, only the magic.
    let cases: Vec<Vec<u8>> = vec![
        bad_digest,
        good[..good.len() - 3].to_vec(),
        good[4..].to_vec(),
        MAGIC.to_vec(),
        b"{\"plain\":\"json\"}".to_vec(),
        Vec::new(),
    ];
    for case in cases {
        assert_eq!(deaggregate(&case), None, "{case:?}");
    }
}

#[test]
fn malformed_protobuf_with_a_good_checksum_is_an_ordinary_record() {
    let record_with = |index: u64| {
        let mut record = Vec::new();
        varint_field(1, index, &mut record);
        bytes_field(3, b"x", &mut record);
        let mut message = Vec::new();
        bytes_field(1, b"k", &mut message);
        bytes_field(3, &record, &mut message);
        message
    };
    assert!(deaggregate(&wrap(&record_with(0))).is_some());
    let mut no_data = Vec::new();
    bytes_field(1, b"k", &mut no_data);
    let mut record = Vec::new();
    varint_field(1, 0, &mut record);
    bytes_field(3, &record, &mut no_data);
    let mut bad_utf8 = Vec::new();
    bytes_field(1, &[0xff, 0xfe], &mut bad_utf8);
    let mut ehk_out_of_range = Vec::new();
    bytes_field(1, b"k", &mut ehk_out_of_range);
    let mut record = Vec::new();
    varint_field(1, 0, &mut record);
    varint_field(2, 3, &mut record);
    bytes_field(3, b"x", &mut record);
    bytes_field(3, &record, &mut ehk_out_of_range);
    let cases: Vec<Vec<u8>> = vec![
        record_with(1),         // partition key index out of the table
        record_with(u64::MAX),  // an index that does not fit
        no_data,                // a record without data
        bad_utf8,               // a key that is not UTF-8
        ehk_out_of_range,       // explicit hash key index out of range
        vec![0x0a, 0x05, b'a'], // a length past the end
        vec![0x0b],             // wire type 3 (groups)
        vec![0x08, 0x80],       // an unterminated varint
        vec![0x08; 1],          // a tag without its value
        vec![0x80; 11],         // a varint longer than 64 bits
        vec![0x0a, 0x00],       // a table but no records
        vec![0x08, 0x01],       // field 1 as a varint
    ];
    for message in cases {
        assert_eq!(deaggregate(&wrap(&message)), None, "{message:?}");
    }
}
