//! The value types generated record structs use, with the wire rules of kin's spec: timestamps
//! as RFC 3339 strings or epoch milliseconds, dates as `YYYY-MM-DD`, decimals checked against
//! their precision and scale, bytes as base64 — and CSV line splitting and field parsing.

use std::borrow::Cow;
use std::fmt;

use base64::Engine as _;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// Epoch milliseconds, UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(pub i64);

/// Days since 1970-01-01.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date(pub i32);

/// A decimal number with at most `P` digits, `S` of them after the point.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decimal<const P: u8, const S: u8>(pub String);

/// Bytes, written as base64 in JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bytes(pub Vec<u8>);

pub fn parse_timestamp(text: &str) -> Result<Timestamp, String> {
    if let Some(ms) = utc_millis(text.as_bytes()) {
        return Ok(Timestamp(ms));
    }
    let text = text.trim();
    if let Some(ms) = utc_millis(text.as_bytes()) {
        return Ok(Timestamp(ms));
    }
    if let Ok(ms) = text.parse::<i64>() {
        return Ok(Timestamp(ms));
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| Timestamp(t.timestamp_millis()))
        .map_err(|e| format!("`{text}` is not an RFC 3339 timestamp or epoch milliseconds ({e})"))
}

/// Epoch milliseconds of `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, the form kin writes and most
/// producers send, read without chrono (whose general RFC 3339 parser is a tenth of a
/// producer's work per record); `None` for any other text or an impossible date, which
/// [`parse_timestamp`] then leaves to chrono. Fractions are truncated to milliseconds, as
/// chrono's `timestamp_millis` does.
fn utc_millis(text: &[u8]) -> Option<i64> {
    let head: &[u8; 20] = text.first_chunk()?;
    // Two digits from `i` on (every index below is a constant, so no bounds are checked).
    let two = |i: usize| -> Option<i64> {
        let (high, low) = (head[i].wrapping_sub(b'0'), head[i + 1].wrapping_sub(b'0'));
        (high < 10 && low < 10).then(|| i64::from(high * 10 + low))
    };
    let separators = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if separators.iter().any(|&(i, c)| head[i] != c) {
        return None;
    }
    let (year, month, day) = (two(0)? * 100 + two(2)?, two(5)?, two(8)?);
    let (hour, minute, second) = (two(11)?, two(14)?, two(17)?);
    let fraction_ms = match (head[19], text.len()) {
        (b'Z', 20) => 0,
        (b'.', 22..=30) if text[text.len() - 1] == b'Z' => {
            let digits = &text[20..text.len() - 1];
            if !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let ms = digits
                .iter()
                .take(3)
                .fold(0, |n, &c| n * 10 + i64::from(c - b'0'));
            ms * 10i64.pow(3 - digits.len().min(3) as u32)
        }
        _ => return None,
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let valid = year >= 1
        && (1..=12).contains(&month)
        && day >= 1
        && day <= month_days[(month - 1) as usize]
        && hour < 24
        && minute < 60
        && second < 60;
    if !valid {
        return None;
    }
    // Days from 1970-01-01 to the date (Howard Hinnant's days_from_civil).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    Some(days * 86_400_000 + ((hour * 60 + minute) * 60 + second) * 1000 + fraction_ms)
}

pub fn format_timestamp(ms: i64) -> String {
    match DateTime::<Utc>::from_timestamp_millis(ms) {
        Some(t) => t.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        None => ms.to_string(),
    }
}

/// The UTC date of epoch milliseconds, `YYYY-MM-DD`.
pub fn format_date(ms: i64) -> String {
    match DateTime::<Utc>::from_timestamp_millis(ms) {
        Some(t) => t.format("%Y-%m-%d").to_string(),
        None => String::new(),
    }
}

/// A JSON value as one CSV column: strings quoted when they hold the delimiter, a quote or a
/// line break; null as an empty column.
pub fn csv_column(value: &serde_json::Value, delimiter: &str) -> String {
    let text = match value {
        serde_json::Value::Null => return String::new(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.contains(delimiter) || text.contains(['"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

pub fn parse_date(text: &str) -> Result<Date, String> {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map(|d| Date((d - epoch).num_days() as i32))
        .map_err(|_| format!("`{text}` is not a date (YYYY-MM-DD)"))
}

/// Checks a decimal's text against `precision` and `scale`.
pub fn check_decimal(text: &str, precision: u8, scale: u8) -> Result<(), String> {
    let digits = text.trim().trim_start_matches(['-', '+']);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let valid = !digits.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit());
    if !valid {
        return Err(format!("`{text}` is not a decimal number"));
    }
    let fraction = fraction.trim_end_matches('0');
    let whole = whole.trim_start_matches('0');
    if fraction.len() > scale as usize {
        return Err(format!(
            "`{text}` has {} digits after the point; decimal({precision},{scale}) allows {scale}",
            fraction.len()
        ));
    }
    if whole.len() > (precision - scale) as usize {
        return Err(format!(
            "`{text}` has {} digits before the point; decimal({precision},{scale}) allows {}",
            whole.len(),
            precision - scale
        ));
    }
    Ok(())
}

pub fn parse_bytes(text: &str) -> Result<Bytes, String> {
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map(Bytes)
        .map_err(|e| format!("`{text}` is not base64 ({e})"))
}

pub fn parse_int(text: &str) -> Result<i64, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("`{text}` is not an integer"))
}

pub fn parse_float(text: &str) -> Result<f64, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number"))
}

pub fn parse_bool(text: &str) -> Result<bool, String> {
    match text.trim() {
        "true" | "TRUE" | "True" => Ok(true),
        "false" | "FALSE" | "False" => Ok(false),
        _ => Err(format!("`{text}` is not true or false")),
    }
}

/// Splits one CSV line (RFC 4180 quoting: `"a,b"`, `""` for a quote) at `delimiter`.
pub fn split_csv(line: &str, delimiter: char) -> Result<Vec<Cow<'_, str>>, String> {
    let line = line.strip_suffix('\n').unwrap_or(line);
    let line = line.strip_suffix('\r').unwrap_or(line);
    let mut fields = Vec::new();
    let mut rest = line;
    loop {
        if let Some(quoted) = rest.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                if c == '"' {
                    if quoted[i + 1..].starts_with('"') {
                        value.push('"');
                        chars.next();
                    } else {
                        end = Some(i + 1);
                        break;
                    }
                } else {
                    value.push(c);
                }
            }
            let end = end.ok_or("a quoted field is never closed")?;
            fields.push(Cow::Owned(value));
            let after = &quoted[end..];
            if after.is_empty() {
                return Ok(fields);
            }
            rest = after
                .strip_prefix(delimiter)
                .ok_or_else(|| format!("text after a closing quote in field {}", fields.len()))?;
        } else {
            match rest.find(delimiter) {
                Some(at) => {
                    fields.push(Cow::Borrowed(&rest[..at]));
                    rest = &rest[at + delimiter.len_utf8()..];
                }
                None => {
                    fields.push(Cow::Borrowed(rest));
                    return Ok(fields);
                }
            }
        }
    }
}

struct TimestampVisitor;

impl Visitor<'_> for TimestampVisitor {
    type Value = Timestamp;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an RFC 3339 timestamp string or epoch milliseconds")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Timestamp, E> {
        Ok(Timestamp(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Timestamp, E> {
        i64::try_from(v)
            .map(Timestamp)
            .map_err(|_| E::custom("epoch milliseconds out of range"))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Timestamp, E> {
        parse_timestamp(v).map_err(E::custom)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TimestampVisitor)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_timestamp(self.0))
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = Cow::<str>::deserialize(d)?;
        parse_date(&text).map_err(de::Error::custom)
    }
}

impl<'de, const P: u8, const S: u8> Deserialize<'de> for Decimal<P, S> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        let text = match value {
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::String(s) => s,
            other => {
                return Err(de::Error::custom(format!(
                    "expected a decimal, found {other}"
                )))
            }
        };
        check_decimal(&text, P, S).map_err(de::Error::custom)?;
        Ok(Decimal(text))
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = Cow::<str>::deserialize(d)?;
        parse_bytes(&text).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_utc_fast_path_reads_timestamps_as_chrono_does() {
        let chrono_ms = |text: &str| {
            DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|t| t.timestamp_millis())
        };
        // Every day boundary and leap rule over four centuries, then a spread of times.
        let mut state: u64 = 7;
        let mut next = |n: u64| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) % n
        };
        for year in [
            1, 4, 99, 100, 400, 1600, 1900, 1969, 1970, 2000, 2023, 2024, 2100, 9999,
        ] {
            for month in 0..=13 {
                for day in [0, 1, 28, 29, 30, 31, 32] {
                    let text = format!("{year:04}-{month:02}-{day:02}T00:00:00Z");
                    assert_eq!(utc_millis(text.as_bytes()), chrono_ms(&text), "{text}");
                }
            }
        }
        for _ in 0..20_000 {
            let fraction = match next(4) {
                0 => String::new(),
                1 => format!(".{}", next(10)),
                2 => format!(".{:03}", next(1000)),
                _ => format!(".{:09}", next(1_000_000_000)),
            };
            let text = format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{fraction}Z",
                1 + next(9999),
                1 + next(12),
                1 + next(28),
                next(24),
                next(60),
                next(60)
            );
            assert_eq!(utc_millis(text.as_bytes()), chrono_ms(&text), "{text}");
        }
        // Not the fast path's form: chrono reads them (or rejects them).
        for text in [
            "2024-05-01T10:00:00+02:00",
            "2024-05-01t10:00:00z",
            "2024-05-01 10:00:00Z",
            "2024-05-01T10:00:60Z",
            "2024-05-01T24:00:00Z",
            "2024-05-01T10:00:00.Z",
            "2024-05-01T10:00:00.1234567890Z",
            "2024-05-01T10:00:00,5Z",
            "+2024-05-01T10:00:00Z",
            "2024-5-01T10:00:00Z",
        ] {
            assert_eq!(utc_millis(text.as_bytes()), None, "{text}");
            let parsed = parse_timestamp(text).ok().map(|t| t.0);
            assert_eq!(parsed, chrono_ms(text), "{text}");
        }
    }

    #[test]
    fn timestamps_are_rfc3339_or_epoch_millis() {
        assert_eq!(
            parse_timestamp("2024-05-01T10:00:00Z"),
            Ok(Timestamp(1_714_557_600_000))
        );
        assert_eq!(
            parse_timestamp("2024-05-01T12:00:00.5+02:00"),
            Ok(Timestamp(1_714_557_600_500))
        );
        assert_eq!(
            parse_timestamp("1714557600000"),
            Ok(Timestamp(1_714_557_600_000))
        );
        assert!(parse_timestamp("yesterday").is_err());
        assert_eq!(
            format_timestamp(1_714_557_600_500),
            "2024-05-01T10:00:00.500Z"
        );
        assert_eq!(format_timestamp(1_714_557_600_000), "2024-05-01T10:00:00Z");
    }

    #[test]
    fn decimals_respect_precision_and_scale() {
        assert!(check_decimal("1234567890.12", 12, 2).is_ok());
        assert!(check_decimal("-0.10", 3, 2).is_ok());
        assert!(check_decimal("12345678901.1", 12, 2).is_err());
        assert!(check_decimal("1.123", 12, 2).is_err());
        assert!(check_decimal("1e5", 12, 2).is_err());
    }

    #[test]
    fn csv_fields_split_with_quotes() {
        let fields = split_csv("a,\"b,c\",\"say \"\"hi\"\"\",\n", ',').expect("csv");
        assert_eq!(fields, vec!["a", "b,c", "say \"hi\"", ""]);
        assert_eq!(split_csv("x|y", '|').expect("csv"), vec!["x", "y"]);
        assert!(split_csv("\"open,", ',').is_err());
    }

    #[test]
    fn dates_and_bytes() {
        assert_eq!(parse_date("1970-01-02"), Ok(Date(1)));
        assert!(parse_date("2024-13-01").is_err());
        assert_eq!(parse_bytes("aGk="), Ok(Bytes(b"hi".to_vec())));
    }
}
