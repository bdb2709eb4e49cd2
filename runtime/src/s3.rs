//! Firehose's S3 object naming and the sink objects go to.
//!
//! A key is `<evaluated prefix><stream>-1-<yyyy>-<MM>-<dd>-<HH>-<mm>-<ss>-<uuid v4><extension>`,
//! every time taken from the arrival of the oldest record in the object, in UTC. Prefixes use
//! Firehose's expressions: `!{timestamp:PATTERN}`, `!{firehose:random-string}`,
//! `!{firehose:error-output-type}` and `!{partitionKeyFromQuery:KEY}`.
//!
//! Default prefixes, following AWS's prefix rules (s3-prefixes.html, "Semantic rules"):
//! - a prefix with no timestamp expression gets `!{timestamp:yyyy/MM/dd/HH/}` appended, as
//!   written, with no `/` added in between (no prefix at all gives `2018/08/27/10/`);
//! - an absent error prefix is allowed only when the prefix has no expressions; it is then
//!   `<prefix>!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH/}`. AWS's example shows
//!   `myFirehosePrefix/processing-failed/2018/08/27/`; kin reads its missing hour as a typo (its
//!   rule text and the data prefix both have `HH`) and the `/` after the prefix as the prefix's
//!   own, so `myFirehosePrefix/` gives `myFirehosePrefix/processing-failed/2018/08/27/10/`;
//! - an error prefix that is given is used as written, with no timestamp appended; if it has any
//!   expression it must contain `!{firehose:error-output-type}`.
//!
//! As kin's compiler does for Terraform, every partition key the prefix does not mention is
//! appended as `KEY=!{partitionKeyFromQuery:KEY}/` (before the default timestamp, if any).

use std::fmt::{self, Write as _};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rand::Rng as _;

use pattern::{TimeFields, TimePattern};

/// Longest evaluated prefix Firehose accepts, in characters.
pub const MAX_PREFIX_CHARS: usize = 512;
/// Length of `!{firehose:random-string}`: lowercase hex digits, like AWS's example `5abf82daaa5`.
pub const RANDOM_STRING_LEN: usize = 11;
/// The delivery stream version in every key: kin never updates a stream in place.
pub const STREAM_VERSION: u32 = 1;
/// The timestamp pattern Firehose appends to a prefix that has none.
pub const DEFAULT_TIME_PATTERN: &str = "yyyy/MM/dd/HH/";

/// A prefix that cannot be parsed or evaluated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrefixError {
    pub message: String,
}

impl PrefixError {
    fn new(message: impl Into<String>) -> PrefixError {
        PrefixError {
            message: message.into(),
        }
    }
}

impl fmt::Display for PrefixError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PrefixError {}

/// Which field a prefix is written in: they allow different expressions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrefixKind {
    /// `Prefix`: may use partition keys, not `error-output-type`.
    Data,
    /// `ErrorOutputPrefix`: may use `error-output-type`, not partition keys.
    Error,
}

#[derive(Clone, Debug)]
enum Part {
    Literal(String),
    Timestamp(TimePattern),
    RandomString,
    ErrorOutputType,
    /// Index into the stream's partition keys, and the key's name.
    PartitionKey(usize, String),
}

/// A parsed prefix, ready to evaluate.
#[derive(Clone, Debug)]
pub struct Prefix {
    parts: Vec<Part>,
}

impl Prefix {
    /// Parses `text`; `partition_keys` are the names `!{partitionKeyFromQuery:KEY}` may use.
    pub fn parse(
        text: &str,
        kind: PrefixKind,
        partition_keys: &[String],
    ) -> Result<Prefix, PrefixError> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find("!{") {
            if open > 0 {
                parts.push(Part::Literal(rest[..open].to_string()));
            }
            let Some(close) = rest[open..].find('}') else {
                return Err(PrefixError::new(format!(
                    "`!{{` in prefix {text:?} starts an expression that is never closed"
                )));
            };
            let inner = &rest[open + 2..open + close];
            parts.push(expression(inner, kind, partition_keys)?);
            rest = &rest[open + close + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_string()));
        }
        Ok(Prefix { parts })
    }

    pub fn has_expressions(&self) -> bool {
        self.parts.iter().any(|p| !matches!(p, Part::Literal(_)))
    }

    pub fn has_timestamp(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Timestamp(_)))
    }

    fn has_error_output_type(&self) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, Part::ErrorOutputType))
    }

    /// Evaluates the prefix for an object whose oldest record arrived at `oldest_arrival_ms`
    /// (epoch milliseconds, UTC).
    pub fn evaluate(
        &self,
        oldest_arrival_ms: i64,
        partition_values: &[String],
        error_output_type: &str,
    ) -> Result<String, PrefixError> {
        let time = TimeFields::at(oldest_arrival_ms)?;
        self.render(&time, partition_values, error_output_type)
    }

    fn render(
        &self,
        time: &TimeFields,
        values: &[String],
        error_type: &str,
    ) -> Result<String, PrefixError> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Timestamp(pattern) => pattern.render(time, &mut out),
                Part::RandomString => out.push_str(&random_string()),
                Part::ErrorOutputType => out.push_str(error_type),
                Part::PartitionKey(index, name) => match values.get(*index) {
                    Some(value) => out.push_str(value),
                    None => {
                        return Err(PrefixError::new(format!(
                            "no value for partition key {name}"
                        )))
                    }
                },
            }
        }
        let chars = out.chars().count();
        if chars > MAX_PREFIX_CHARS {
            return Err(PrefixError::new(format!(
                "the evaluated prefix has {chars} characters; Firehose allows at most {MAX_PREFIX_CHARS}"
            )));
        }
        Ok(out)
    }
}

fn expression(inner: &str, kind: PrefixKind, keys: &[String]) -> Result<Part, PrefixError> {
    let Some((namespace, value)) = inner.split_once(':') else {
        return Err(PrefixError::new(format!(
            "`!{{{inner}}}` has no namespace: write `!{{namespace:value}}`"
        )));
    };
    match (namespace, value) {
        ("timestamp", pattern) => Ok(Part::Timestamp(TimePattern::parse(pattern)?)),
        ("firehose", "random-string") => Ok(Part::RandomString),
        ("firehose", "error-output-type") if kind == PrefixKind::Error => Ok(Part::ErrorOutputType),
        ("firehose", "error-output-type") => Err(PrefixError::new(
            "`!{firehose:error-output-type}` is allowed only in the error prefix",
        )),
        ("partitionKeyFromQuery", key) if kind == PrefixKind::Data => keys
            .iter()
            .position(|k| k == key)
            .map(|index| Part::PartitionKey(index, key.to_string()))
            .ok_or_else(|| {
                PrefixError::new(format!(
                    "`!{{partitionKeyFromQuery:{key}}}` names no partition key of this stream"
                ))
            }),
        ("partitionKeyFromQuery", _) => Err(PrefixError::new(
            "partition keys are not allowed in the error prefix",
        )),
        _ => Err(PrefixError::new(format!(
            "`!{{{inner}}}` is not an expression kin evaluates (timestamp, firehose:random-string, \
             firehose:error-output-type, partitionKeyFromQuery)"
        ))),
    }
}

/// 11 random lowercase hex digits, new for every occurrence.
fn random_string() -> String {
    let bits: u64 = rand::rng().random::<u64>() >> (64 - 4 * RANDOM_STRING_LEN);
    format!("{bits:0width$x}", width = RANDOM_STRING_LEN)
}

/// The keys of one delivery stream's objects and error objects.
#[derive(Clone, Debug)]
pub struct ObjectNamer {
    stream_name: String,
    data: Prefix,
    error: Prefix,
    extension: String,
}

impl ObjectNamer {
    /// Applies Firehose's default-prefix rules (see the module documentation) to the configured
    /// `prefix` and `error_prefix`.
    pub fn new(
        stream_name: &str,
        prefix: Option<&str>,
        error_prefix: Option<&str>,
        partition_keys: &[String],
        extension: &str,
    ) -> Result<ObjectNamer, PrefixError> {
        let data_text = with_partition_keys(prefix.unwrap_or(""), partition_keys);
        let mut data = Prefix::parse(&data_text, PrefixKind::Data, partition_keys)?;
        let error = match error_prefix {
            Some(text) => given_error_prefix(text)?,
            None => default_error_prefix(&data, &data_text)?,
        };
        if !data.has_timestamp() {
            data.parts
                .push(Part::Timestamp(TimePattern::parse(DEFAULT_TIME_PATTERN)?));
        }
        let namer = ObjectNamer {
            stream_name: stream_name.to_string(),
            data,
            error,
            extension: extension.to_string(),
        };
        namer.check_lengths(partition_keys.len())?;
        Ok(namer)
    }

    /// Rejects prefixes whose fixed text alone is over the limit (evaluated once, in 2000, with
    /// one-character partition values and the longest error output type).
    fn check_lengths(&self, keys: usize) -> Result<(), PrefixError> {
        let time = TimeFields::at(946_684_800_000)?;
        let values = vec!["x".to_string(); keys];
        self.data.render(&time, &values, "")?;
        self.error.render(&time, &[], "format-conversion-failed")?;
        Ok(())
    }

    /// The evaluated data prefix, for checking a new partition before buffering it.
    pub fn data_prefix(
        &self,
        oldest_arrival_ms: i64,
        partition_values: &[String],
    ) -> Result<String, PrefixError> {
        self.data.evaluate(oldest_arrival_ms, partition_values, "")
    }

    /// A new key for a data object.
    pub fn data_key(
        &self,
        oldest_arrival_ms: i64,
        partition_values: &[String],
    ) -> Result<String, PrefixError> {
        let time = TimeFields::at(oldest_arrival_ms)?;
        let mut key = self.data.render(&time, partition_values, "")?;
        push_suffix(&mut key, &self.stream_name, &time, &self.extension);
        Ok(key)
    }

    /// A new key for an error object (JSON lines, uncompressed, so no extension).
    pub fn error_key(
        &self,
        oldest_arrival_ms: i64,
        error_output_type: &str,
    ) -> Result<String, PrefixError> {
        let time = TimeFields::at(oldest_arrival_ms)?;
        let mut key = self.error.render(&time, &[], error_output_type)?;
        push_suffix(&mut key, &self.stream_name, &time, "");
        Ok(key)
    }
}

fn with_partition_keys(prefix: &str, keys: &[String]) -> String {
    let mut text = prefix.to_string();
    for key in keys {
        let expression = format!("!{{partitionKeyFromQuery:{key}}}");
        if !text.contains(&expression) {
            text.push_str(&format!("{key}={expression}/"));
        }
    }
    text
}

fn given_error_prefix(text: &str) -> Result<Prefix, PrefixError> {
    let prefix = Prefix::parse(text, PrefixKind::Error, &[])?;
    if prefix.has_expressions() && !prefix.has_error_output_type() {
        return Err(PrefixError::new(format!(
            "error prefix {text:?} has expressions, so it must contain `!{{firehose:error-output-type}}`"
        )));
    }
    Ok(prefix)
}

fn default_error_prefix(data: &Prefix, data_text: &str) -> Result<Prefix, PrefixError> {
    if data.has_expressions() {
        return Err(PrefixError::new(format!(
            "prefix {data_text:?} has expressions (or partition keys), so an error prefix is required"
        )));
    }
    let mut parts = Vec::new();
    if !data_text.is_empty() {
        parts.push(Part::Literal(data_text.to_string()));
    }
    parts.push(Part::ErrorOutputType);
    parts.push(Part::Literal("/".into()));
    parts.push(Part::Timestamp(TimePattern::parse(DEFAULT_TIME_PATTERN)?));
    Ok(Prefix { parts })
}

/// `<stream>-1-yyyy-MM-dd-HH-mm-ss-<uuid v4><extension>`.
fn push_suffix(key: &mut String, stream_name: &str, t: &TimeFields, extension: &str) {
    let _ = write!(
        key,
        "{stream_name}-{STREAM_VERSION}-{:04}-{:02}-{:02}-{:02}-{:02}-{:02}-{}{extension}",
        t.year,
        t.month,
        t.day,
        t.hour,
        t.minute,
        t.second,
        uuid::Uuid::new_v4().hyphenated()
    );
}

/// Why a partition value cannot become part of a key on a local disk, if it cannot: it is empty,
/// contains NUL, or has a `.` or `..` path component.
pub fn unsafe_partition_value(value: &str) -> Option<&'static str> {
    if value.is_empty() {
        Some("the partition value is empty")
    } else if value.contains('\0') {
        Some("the partition value contains a NUL character")
    } else if value.split('/').any(|c| c == "." || c == "..") {
        Some("the partition value has a `.` or `..` path component")
    } else {
        None
    }
}

/// Where delivered objects go: a local directory now, real S3 later.
pub trait ObjectSink: Send {
    fn put_object(&mut self, bucket: &str, key: &str, body: &[u8]) -> io::Result<()>;
}

/// Writes `ROOT/BUCKET/KEY`, creating directories. Each object is written to a temporary name
/// in its directory and renamed, so readers never see part of one. (No fsync: a crash may lose
/// recent objects, never expose half of one.)
#[derive(Clone, Debug)]
pub struct LocalDirSink {
    root: PathBuf,
}

impl LocalDirSink {
    pub fn new(root: impl Into<PathBuf>) -> LocalDirSink {
        LocalDirSink { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file an object is written to; an error for a bucket or key that would leave `ROOT`.
    pub fn path_of(&self, bucket: &str, key: &str) -> io::Result<PathBuf> {
        let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidInput, what.to_string());
        if bucket.is_empty()
            || bucket.contains(['/', '\\', '\0'])
            || bucket == "."
            || bucket == ".."
        {
            return Err(bad(&format!(
                "bucket name {bucket:?} cannot be a directory name"
            )));
        }
        let dot_component = key.split('/').any(|c| c == "." || c == "..");
        if key.is_empty()
            || key.starts_with('/')
            || key.ends_with('/')
            || key.contains('\0')
            || dot_component
        {
            return Err(bad(&format!(
                "object key {key:?} cannot be stored under a local directory"
            )));
        }
        Ok(self.root.join(bucket).join(key))
    }
}

impl ObjectSink for LocalDirSink {
    fn put_object(&mut self, bucket: &str, key: &str, body: &[u8]) -> io::Result<()> {
        let path = self.path_of(bucket, key)?;
        let dir = path.parent().unwrap_or(&self.root);
        fs::create_dir_all(dir)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temp = dir.join(format!(".{name}.{}.kin-tmp", uuid::Uuid::new_v4().simple()));
        let written = fs::write(&temp, body).and_then(|()| fs::rename(&temp, &path));
        if written.is_err() {
            let _ = fs::remove_file(&temp);
        }
        written
    }
}

/// One object a [`MemorySink`] received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredObject {
    pub bucket: String,
    pub key: String,
    pub body: Vec<u8>,
}

/// Keeps objects in memory; clones share them. For tests.
#[derive(Clone, Debug, Default)]
pub struct MemorySink {
    objects: Arc<Mutex<Vec<StoredObject>>>,
}

impl MemorySink {
    pub fn new() -> MemorySink {
        MemorySink::default()
    }

    /// Every object received so far, in order.
    pub fn objects(&self) -> Vec<StoredObject> {
        self.objects
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl ObjectSink for MemorySink {
    fn put_object(&mut self, bucket: &str, key: &str, body: &[u8]) -> io::Result<()> {
        self.objects
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(StoredObject {
                bucket: bucket.to_string(),
                key: key.to_string(),
                body: body.to_vec(),
            });
        Ok(())
    }
}

/// Java `DateTimeFormatter` patterns, the subset kin evaluates: `y`/`u` (year; `yy` its last two
/// digits), `M`, `d`, `D` (day of year), `H`, `m`, `s` (one letter unpadded, two zero-padded),
/// `S` (fraction of a second), `'quoted text'` (`''` is a quote) and any other non-letter as
/// itself. Any other letter, month names (`MMM`), optional sections (`[ ]`) and the reserved
/// `{ } #` are errors when the prefix is parsed.
mod pattern {
    use std::fmt::Write as _;

    use chrono::{Datelike as _, Timelike as _};

    use super::PrefixError;

    /// The calendar fields of one instant, UTC.
    pub(super) struct TimeFields {
        pub year: i32,
        pub month: u32,
        pub day: u32,
        pub hour: u32,
        pub minute: u32,
        pub second: u32,
        pub milli: u32,
        pub day_of_year: u32,
    }

    impl TimeFields {
        pub fn at(epoch_ms: i64) -> Result<TimeFields, PrefixError> {
            let t = chrono::DateTime::from_timestamp_millis(epoch_ms).ok_or_else(|| {
                PrefixError::new(format!(
                    "epoch {epoch_ms} ms is outside the dates kin can name"
                ))
            })?;
            Ok(TimeFields {
                year: t.year(),
                month: t.month(),
                day: t.day(),
                hour: t.hour(),
                minute: t.minute(),
                second: t.second(),
                milli: t.timestamp_subsec_millis(),
                day_of_year: t.ordinal(),
            })
        }
    }

    #[derive(Clone, Copy, Debug)]
    enum Field {
        Year,
        Month,
        Day,
        DayOfYear,
        Hour,
        Minute,
        Second,
        Fraction,
    }

    #[derive(Clone, Debug)]
    enum Item {
        Text(String),
        /// A field and how many pattern letters asked for it.
        Field(Field, usize),
    }

    #[derive(Clone, Debug)]
    pub(super) struct TimePattern {
        items: Vec<Item>,
    }

    impl TimePattern {
        pub fn parse(pattern: &str) -> Result<TimePattern, PrefixError> {
            if pattern.is_empty() {
                return Err(PrefixError::new(
                    "`!{timestamp:}` has an empty pattern; for example `!{timestamp:yyyy/MM/dd}`",
                ));
            }
            let chars: Vec<char> = pattern.chars().collect();
            let mut items = Vec::new();
            let mut text = String::new();
            let mut i = 0;
            while i < chars.len() {
                let c = chars[i];
                if c == '\'' {
                    i = quoted(&chars, i, &mut text, pattern)?;
                } else if c.is_ascii_alphabetic() {
                    let run = chars[i..].iter().take_while(|&&d| d == c).count();
                    if !text.is_empty() {
                        items.push(Item::Text(std::mem::take(&mut text)));
                    }
                    items.push(Item::Field(field(c, run, pattern)?, run));
                    i += run;
                } else if "[]{}#".contains(c) {
                    return Err(PrefixError::new(format!(
                        "`{c}` in timestamp pattern {pattern:?} is reserved or starts an optional \
                         section, which kin does not support; quote it as '{c}'"
                    )));
                } else {
                    text.push(c);
                    i += 1;
                }
            }
            if !text.is_empty() {
                items.push(Item::Text(text));
            }
            Ok(TimePattern { items })
        }

        pub fn render(&self, t: &TimeFields, out: &mut String) {
            for item in &self.items {
                let _ = match *item {
                    Item::Text(ref text) => out.write_str(text),
                    Item::Field(Field::Year, 2) => write!(out, "{:02}", t.year.rem_euclid(100)),
                    Item::Field(Field::Year, width) => write!(out, "{:0width$}", t.year),
                    Item::Field(Field::Fraction, digits) => fraction(t.milli, digits, out),
                    Item::Field(field, width) => write!(out, "{:0width$}", value(field, t)),
                };
            }
        }
    }

    /// Reads `'…'` starting at `chars[start]`; returns the index after it.
    fn quoted(
        chars: &[char],
        start: usize,
        text: &mut String,
        pattern: &str,
    ) -> Result<usize, PrefixError> {
        if chars.get(start + 1) == Some(&'\'') {
            text.push('\'');
            return Ok(start + 2);
        }
        let mut i = start + 1;
        loop {
            match chars.get(i) {
                None => {
                    return Err(PrefixError::new(format!(
                        "timestamp pattern {pattern:?} has an unclosed quote; close literal text with '"
                    )))
                }
                Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                    text.push('\'');
                    i += 2;
                }
                Some('\'') => return Ok(i + 1),
                Some(&c) => {
                    text.push(c);
                    i += 1;
                }
            }
        }
    }

    fn field(letter: char, run: usize, pattern: &str) -> Result<Field, PrefixError> {
        let (field, most) = match letter {
            'y' | 'u' => (Field::Year, 9),
            'M' => (Field::Month, 2),
            'd' => (Field::Day, 2),
            'D' => (Field::DayOfYear, 3),
            'H' => (Field::Hour, 2),
            'm' => (Field::Minute, 2),
            's' => (Field::Second, 2),
            'S' => (Field::Fraction, 9),
            _ => {
                return Err(PrefixError::new(format!(
                    "pattern letter `{letter}` in timestamp pattern {pattern:?} is not supported: \
                     kin evaluates y, u, M, d, D, H, m, s and S; quote literal text as 'text'"
                )))
            }
        };
        if run > most {
            return Err(PrefixError::new(format!(
                "`{}` in timestamp pattern {pattern:?} has too many `{letter}` letters (at most {most}{})",
                letter.to_string().repeat(run),
                if letter == 'M' { "; month names are not supported" } else { "" }
            )));
        }
        Ok(field)
    }

    fn value(field: Field, t: &TimeFields) -> u32 {
        match field {
            Field::Month => t.month,
            Field::Day => t.day,
            Field::DayOfYear => t.day_of_year,
            Field::Hour => t.hour,
            Field::Minute => t.minute,
            Field::Second => t.second,
            Field::Year | Field::Fraction => 0,
        }
    }

    /// The first `digits` digits of the fraction of a second (milliseconds, then zeros).
    fn fraction(milli: u32, digits: usize, out: &mut String) -> std::fmt::Result {
        let ms = format!("{milli:03}");
        out.push_str(&ms[..digits.min(3)]);
        for _ in 3..digits {
            out.push('0');
        }
        Ok(())
    }
}
