use std::borrow::Cow;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;
use crate::records::{Date, Timestamp};

const FIELDS: [Field<'static>; 8] = [
    Field::new("page", Kind::String, false),
    Field::new("user", Kind::String, true),
    Field::new("n", Kind::Int, true),
    Field::new("score", Kind::Float, false),
    Field::new("ok", Kind::Bool, true),
    Field::new("ts", Kind::Timestamp, false),
    Field::new("day", Kind::Date, true),
    Field::new("blob", Kind::Bytes, true),
];

/// [`FIELDS`] at one address, as a producer's check names its table.
static TABLE: [Field<'static>; 8] = FIELDS;

/// The same schema as serde reads it: what kin generates for schemas that are not flat, and
/// what producers used before this reader. The independent reading the tests compare with.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Serde<'a> {
    #[serde(borrow)]
    page: Cow<'a, str>,
    #[serde(borrow)]
    user: Option<Cow<'a, str>>,
    n: Option<i64>,
    score: f64,
    ok: Option<bool>,
    ts: Timestamp,
    day: Option<Date>,
    #[serde(borrow)]
    blob: Option<Cow<'a, str>>,
}

/// [`Serde`] that skips fields it does not name, as analytics does.
#[derive(Debug, serde::Deserialize)]
struct SerdeSkipping<'a> {
    #[serde(borrow)]
    page: Cow<'a, str>,
    #[serde(borrow)]
    user: Option<Cow<'a, str>>,
    n: Option<i64>,
    score: f64,
    ok: Option<bool>,
    ts: Timestamp,
    day: Option<Date>,
    #[serde(borrow)]
    blob: Option<Cow<'a, str>>,
}

impl<'a> From<SerdeSkipping<'a>> for Serde<'a> {
    fn from(r: SerdeSkipping<'a>) -> Self {
        let SerdeSkipping {
            page,
            user,
            n,
            score,
            ok,
            ts,
            day,
            blob,
        } = r;
        Serde {
            page,
            user,
            n,
            score,
            ok,
            ts,
            day,
            blob,
        }
    }
}

impl<'a> Serde<'a> {
    fn values(self) -> Vec<Value<'a>> {
        vec![
            Value::Str(self.page),
            self.user.map_or(Value::Null, Value::Str),
            self.n.map_or(Value::Null, Value::Int),
            Value::Float(self.score),
            self.ok.map_or(Value::Null, Value::Bool),
            Value::Timestamp(self.ts.0),
            self.day.map_or(Value::Null, |d| Value::Date(d.0)),
            self.blob.map_or(Value::Null, Value::Str),
        ]
    }
}

fn serde_read(data: &[u8], unknown: Unknown) -> Result<Vec<Value<'_>>, String> {
    let text = std::str::from_utf8(data).map_err(|e| e.to_string())?;
    let record: Serde = match unknown {
        Unknown::Deny => serde_json::from_str(text).map_err(|e| e.to_string())?,
        Unknown::Skip => serde_json::from_str::<SerdeSkipping>(text)
            .map_err(|e| e.to_string())?
            .into(),
    };
    if record
        .blob
        .as_deref()
        .is_some_and(|b| parse_bytes(b).is_err())
    {
        return Err("not base64".to_string());
    }
    Ok(record.values())
}

fn flat_read(data: &[u8], unknown: Unknown) -> Result<Vec<Value<'_>>, String> {
    let mut values = vec![None; FIELDS.len()];
    read(data, &FIELDS, unknown, |index, value| {
        assert!(values[index].is_none(), "field {index} visited twice");
        values[index] = Some(value);
        Ok(())
    })?;
    Ok(values
        .into_iter()
        .map(|v| v.unwrap_or_else(|| panic!("a field was not visited")))
        .collect())
}

const GOOD: &[&str] = &[
    r#"{"page":"/a","user":"u1","n":1,"score":0.5,"ok":true,"ts":"2024-05-01T10:00:00Z","day":"2024-05-01","blob":"a2lu"}"#,
    r#" {"ts":1714557600123,"score":2,"page":"/\u00e9t\u00e9 \"q\"\n\ud83d\ude00","user":"ü","n":-9223372036854775808} "#,
    r#"{"page":"","user":null,"n":null,"score":-1.25e3,"ok":null,"ts":"2024-05-01T10:00:00.5+02:00","day":null,"blob":null}"#,
    "{\n\t\"page\" : \"x\\/y\\\\z\\b\\f\\r\\t\" ,\r\n \"score\" : 1.7976931348623157e308 , \"ts\" : -1 , \"n\" : 9223372036854775807 }\n",
    r#"{"page":"long string that is longer than eight bytes, with \"quotes\" inside","score":0,"ts":0,"ok":false}"#,
];

#[test]
fn records_read_as_serde_reads_them() {
    for record in GOOD {
        let expected = serde_read(record.as_bytes(), Unknown::Deny)
            .unwrap_or_else(|e| panic!("{record}: {e}"));
        let flat =
            flat_read(record.as_bytes(), Unknown::Deny).unwrap_or_else(|e| panic!("{record}: {e}"));
        assert_eq!(flat, expected, "{record}");
    }
    let values = flat_read(GOOD[1].as_bytes(), Unknown::Deny).unwrap_or_default();
    assert_eq!(
        values[0],
        Value::Str(Cow::Owned("/été \"q\"\n😀".to_string()))
    );
    assert_eq!(values[5], Value::Timestamp(1_714_557_600_123));
    // Strings without escapes are borrowed from the record.
    let values = flat_read(GOOD[0].as_bytes(), Unknown::Deny).unwrap_or_default();
    assert!(matches!(values[0], Value::Str(Cow::Borrowed("/a"))));
}

#[test]
fn bad_records_say_what_is_wrong_and_where() {
    let cases: &[(&[u8], &str)] = &[
        (br#"{"score":1,"ts":0}"#, "missing field `page`"),
        (
            br#"{"page":null,"score":1,"ts":0}"#,
            "field `page` is null but not nullable at column 13",
        ),
        (
            br#"{"page":1,"score":1,"ts":0}"#,
            "field `page`: expected a string, found a number",
        ),
        (
            br#"{"page":"/","n":1.5,"score":1,"ts":0}"#,
            "field `n`: expected an integer in the 64-bit range, found 1.5",
        ),
        (
            br#"{"page":"/","n":9223372036854775808,"score":1,"ts":0}"#,
            "field `n`: expected an integer",
        ),
        (
            br#"{"page":"/","n":"1","score":1,"ts":0}"#,
            "field `n`: expected an integer, found a string",
        ),
        (
            br#"{"page":"/","score":1e400,"ts":0}"#,
            "field `score`: number out of range",
        ),
        (br#"{"page":"/","score":1,"ts":"yesterday"}"#, "field `ts`"),
        (
            br#"{"page":"/","score":1,"ts":1.5}"#,
            "field `ts`: expected an RFC 3339 timestamp",
        ),
        (
            br#"{"page":"/","score":1,"ts":0,"day":"May 1"}"#,
            "field `day`",
        ),
        (
            br#"{"page":"/","score":1,"ts":0,"blob":"!!"}"#,
            "field `blob`",
        ),
        (
            br#"{"page":"/","page":"/","score":1,"ts":0}"#,
            "duplicate field `page` at column",
        ),
        (
            br#"{"page":"/","score":1,"ts":0,"extra":1}"#,
            "unknown field `extra`",
        ),
        (
            br#"{"page":"/","score":1,"ts":0} {}"#,
            "trailing characters",
        ),
        (br#"["/",1,0]"#, "expected a JSON object, found an array"),
        (br#"{"page":"/","score":1,"ts":0"#, "EOF"),
        (
            br#"{"page":"/,"score":1,"ts":0}"#,
            "expected `,` or `}`, found an unexpected character at column 13",
        ),
        (
            br#"{"page" "/","score":1,"ts":0}"#,
            "expected `:`, found a string at column 9",
        ),
        (
            b"{\"page\":\"/\xff\",\"score\":1,\"ts\":0}",
            "invalid utf-8",
        ),
        (
            b"{\"page\":\"a\x01b\",\"score\":1,\"ts\":0}",
            "control character in a string at column 11",
        ),
        (br#"{"page":"\x","score":1,"ts":0}"#, "invalid escape"),
        (
            br#"{"page":"\ud800","score":1,"ts":0}"#,
            "lone leading surrogate",
        ),
        (
            br#"{"page":"\udc00","score":1,"ts":0}"#,
            "lone trailing surrogate",
        ),
        (
            br#"{"page":"\u12g4","score":1,"ts":0}"#,
            "invalid \\u escape",
        ),
        (br#"{"page":"/","score":01,"ts":0}"#, "expected `,` or `}`"),
        (br#"{"page":"/","score":-,"ts":0}"#, "invalid number"),
        (br#"{"page":"/","score":1.,"ts":0}"#, "invalid number"),
        (
            br#"{"page":"/","ok":tru,"score":1,"ts":0}"#,
            "expected `true`",
        ),
        (
            br#"{"page":"/","score":1,"ts":0,}"#,
            "expected a field name",
        ),
        (b"", "expected a JSON object, found the end of the record"),
    ];
    for (record, expected) in cases {
        let shown = String::from_utf8_lossy(record);
        match flat_read(record, Unknown::Deny) {
            Err(e) => assert!(e.contains(expected), "{shown}: {e}"),
            Ok(_) => panic!("accepted {shown}"),
        }
        assert!(
            serde_read(record, Unknown::Deny).is_err(),
            "serde accepts {shown}"
        );
    }
}

#[test]
fn unknown_fields_are_skipped_when_asked_and_checked_as_json() {
    let record = br#"{"x":{"a":[1,{"b":"}\"]"}],"c":null},"page":"/","y":[true,false,-1.5e-3,"\ud83d\ude00"],"score":1,"ts":0}"#;
    let values = flat_read(record, Unknown::Skip).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(values[0], Value::Str(Cow::Borrowed("/")));
    assert!(flat_read(record, Unknown::Deny).is_err());
    for bad in [
        &br#"{"x":[1,],"page":"/","score":1,"ts":0}"#[..],
        br#"{"x":{"a" 1},"page":"/","score":1,"ts":0}"#,
        br#"{"x":{1:2},"page":"/","score":1,"ts":0}"#,
        br#"{"x":"\q","page":"/","score":1,"ts":0}"#,
        br#"{"x":01,"page":"/","score":1,"ts":0}"#,
        br#"{"x":[1 2],"page":"/","score":1,"ts":0}"#,
        br#"{"x":nul,"page":"/","score":1,"ts":0}"#,
    ] {
        assert!(
            flat_read(bad, Unknown::Skip).is_err(),
            "accepted {}",
            String::from_utf8_lossy(bad)
        );
        assert!(serde_json::from_slice::<serde_json::Value>(bad).is_err());
    }
    let nested = |depth: usize| {
        format!(
            r#"{{"x":{}{},"page":"/","score":1,"ts":0}}"#,
            "[".repeat(depth),
            "]".repeat(depth)
        )
    };
    assert!(flat_read(nested(100).as_bytes(), Unknown::Skip).is_ok());
    let deep = nested(200);
    let read = flat_read(deep.as_bytes(), Unknown::Skip);
    assert!(read.is_err_and(|e| e.contains("recursion limit")));
}

/// Random edits of good records, each read both ways: the two accept exactly the same records
/// and read the same values from them.
#[test]
fn mutated_records_are_accepted_and_read_exactly_as_serde_does() {
    const ALPHABET: &[u8] =
        b"{}[]\":,\\ /nulltruefalse0123456789.eE+-uabcdefABCDEF\x01\x1f\x7f\xc3\xa9\xff";
    let mut rng = StdRng::seed_from_u64(7);
    let (mut accepted, mut total) = (0, 0);
    for _ in 0..60_000 {
        let mut record = GOOD[rng.random_range(0..GOOD.len())].as_bytes().to_vec();
        for _ in 0..rng.random_range(1..=3) {
            let at = rng.random_range(0..=record.len());
            let byte = ALPHABET[rng.random_range(0..ALPHABET.len())];
            match rng.random_range(0..4) {
                0 if at < record.len() => {
                    record.remove(at);
                }
                1 if at < record.len() => record[at] = byte,
                2 => record.insert(at, byte),
                _ => {
                    // Repeat a piece of the record somewhere else (fields twice, nesting).
                    let from = rng.random_range(0..record.len());
                    let to = (from + rng.random_range(1..12)).min(record.len());
                    let piece = record[from..to].to_vec();
                    let at = at.min(record.len());
                    record.splice(at..at, piece);
                }
            }
        }
        if record.trim_ascii_start().starts_with(b"[") {
            continue; // serde also reads a struct from an array of its fields; kin does not.
        }
        total += 1;
        let shown = String::from_utf8_lossy(&record);
        for unknown in [Unknown::Deny, Unknown::Skip] {
            match (serde_read(&record, unknown), flat_read(&record, unknown)) {
                (Ok(a), Ok(b)) => {
                    accepted += usize::from(unknown == Unknown::Deny);
                    assert_eq!(a, b, "{unknown:?}: {shown}");
                }
                (Err(_), Err(_)) => {}
                (Ok(_), Err(e)) => panic!("{unknown:?}: serde accepts, kin refuses ({e}): {shown}"),
                (Err(e), Ok(_)) => panic!("{unknown:?}: kin accepts, serde refuses ({e}): {shown}"),
            }
        }
        // A check with a straight pass written as kin generates them decides as the check
        // without one, gives the same key and notes the same spans.
        let (mut plain, mut generated) = (MapBuilder::default(), MapBuilder::default());
        assert_eq!(
            check_into_with(
                &record,
                &TABLE,
                Some(5),
                &mut generated,
                Some(ordered_table)
            ),
            check_into(&record, &TABLE, Some(5), &mut plain),
            "{shown}"
        );
        assert_eq!(generated.bounds, plain.bounds, "{shown}");
        // A producer's check accepts the same records, and where it notes each field, the
        // field reads as the whole record's reading gives it.
        let mut maps = MapBuilder::default();
        match (
            check_into(&record, &TABLE, None, &mut maps),
            flat_read(&record, Unknown::Deny),
        ) {
            (Ok(_), Ok(values)) => {
                let map = FieldMap::new(&maps.finish(), 0);
                for (index, value) in values.into_iter().enumerate() {
                    let field = &FIELDS[index];
                    assert_eq!(map.value(&record, index, field), Some(value), "{shown}");
                }
            }
            (Err(_), Err(_)) => assert!(maps.is_empty(), "{shown}"),
            (checked, read) => panic!("check {checked:?}, read {read:?}: {shown}"),
        }
    }
    // Enough of both kinds for the comparison to mean something.
    assert!(
        accepted > total / 20 && accepted < total / 2,
        "{accepted} of {total}"
    );
    // The straight pass took a good share of the accepted records, so it was compared.
    let straight = STRAIGHT.load(std::sync::atomic::Ordering::Relaxed);
    assert!(straight > accepted / 20, "{straight} of {accepted}");
}

/// How many records [`ordered_table`] accepted.
static STRAIGHT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// [`TABLE`]'s straight pass, as kin generates it for a producer whose key is `ts`.
fn ordered_table(s: &mut Straight<'_, '_>) -> Option<Option<PartitionKey>> {
    s.token(b"{\"page\":")?;
    s.value(0, &TABLE[0])?;
    s.token(b",\"user\":")?;
    s.value(1, &TABLE[1])?;
    s.token(b",\"n\":")?;
    s.value(2, &TABLE[2])?;
    s.token(b",\"score\":")?;
    s.value(3, &TABLE[3])?;
    s.token(b",\"ok\":")?;
    s.value(4, &TABLE[4])?;
    s.token(b",\"ts\":")?;
    let key = s.key(5, &TABLE[5])?;
    s.token(b",\"day\":")?;
    s.value(6, &TABLE[6])?;
    s.token(b",\"blob\":")?;
    s.value(7, &TABLE[7])?;
    s.token(b"}")?;
    STRAIGHT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Some(Some(key))
}

#[test]
fn the_partition_key_is_the_fields_text() {
    let record = GOOD[0].as_bytes();
    let key = |index| check(record, &FIELDS, Some(index));
    assert_eq!(key(0).ok().flatten().as_deref(), Some("/a"));
    assert_eq!(key(2).ok().flatten().as_deref(), Some("1"));
    assert_eq!(key(3).ok().flatten().as_deref(), Some("0.5"));
    assert_eq!(key(4).ok().flatten().as_deref(), Some("true"));
    assert_eq!(
        key(5).ok().flatten().as_deref(),
        Some("2024-05-01T10:00:00Z")
    );
    assert_eq!(key(6).ok().flatten().as_deref(), Some("2024-05-01"));
    assert_eq!(check(record, &FIELDS, None), Ok(None));
    let null_key = check(GOOD[2].as_bytes(), &FIELDS, Some(1));
    assert_eq!(
        null_key,
        Err("the partition key field `user` is null".to_string())
    );
}

#[test]
fn strings_are_scanned_to_the_first_quote_backslash_or_control_character() {
    let mut rng = StdRng::seed_from_u64(3);
    for _ in 0..20_000 {
        let bytes: Vec<u8> = (0..rng.random_range(0..40))
            .map(|_| match rng.random_range(0..10) {
                0 => b"\"\\\x00\x1f"[rng.random_range(0..4)],
                1 => rng.random_range(0x80..=0xff),
                _ => rng.random_range(0x20..0x7f),
            })
            .collect();
        let from = rng.random_range(0..=bytes.len());
        let naive = bytes[from..]
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
            .map_or(bytes.len(), |p| from + p);
        assert_eq!(special(&bytes, from), naive, "{bytes:?} from {from}");
    }
}

#[test]
fn names_that_need_escapes_are_matched_as_strings() {
    let fields = [
        Field::new("a\"b", Kind::Int, false),
        Field::new("tab\there", Kind::Int, true),
        Field::new("é", Kind::Int, true),
    ];
    let read = |record: &'static str| {
        let mut values = Vec::new();
        read(record.as_bytes(), &fields, Unknown::Deny, |index, value| {
            values.push((index, value));
            Ok(())
        })
        .map(|()| values)
    };
    let values = read(r#"{"a\"b":1,"tab\there":2,"\u00e9":3}"#).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        values,
        [(0, Value::Int(1)), (1, Value::Int(2)), (2, Value::Int(3))]
    );
    assert!(read(r#"{"a"b":1}"#).is_err());
    assert!(read("{\"a\\\"b\":1,\"tab\there\":2}").is_err_and(|e| e.contains("control character")));
}
