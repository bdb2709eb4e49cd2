//! One-pass reading of flat JSON records: objects whose fields are strings, numbers, booleans,
//! timestamps, dates or base64 bytes.
//!
//! Producers check every record against its schema and analytics decodes every record it reads,
//! so both parse each record of a pipeline. For flat schemas — most event schemas — kin reads
//! them here rather than through serde: a record's fields are matched against the schema's
//! field table (the next field in schema order is tried first), each value is checked by its
//! field's type as it is read, strings are scanned eight bytes at a time and borrowed from the
//! record unless they hold escapes, and UTF-8 is checked once per record. The JSON accepted is
//! RFC 8259's, as serde_json reads it (the tests compare the two on mutated records), with
//! kin's typing rules: an `int` takes a JSON integer in the 64-bit range, a `float` any number,
//! a `timestamp` an RFC 3339 string or integer epoch milliseconds, a `date` a `YYYY-MM-DD`
//! string, `bytes` a base64 string; `null` or a missing field is null where the field is
//! nullable and an error where not; a field given twice is an error.

use std::borrow::Cow;
use std::sync::Arc;

use crate::records::{format_date, format_timestamp, parse_bytes, parse_date, parse_timestamp};
use crate::stream::PartitionKey;

/// A field's type, as this reader checks it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    String,
    Int,
    Float,
    Bool,
    Timestamp,
    Date,
    Bytes,
}

/// One field of a flat schema.
#[derive(Clone, Copy, Debug)]
pub struct Field<'n> {
    pub name: &'n str,
    pub kind: Kind,
    pub nullable: bool,
    /// Whether the name is written in JSON as it is (no quote, backslash or control character
    /// to escape), so that it can be matched against a record's bytes directly.
    plain: bool,
}

impl<'n> Field<'n> {
    pub const fn new(name: &'n str, kind: Kind, nullable: bool) -> Self {
        let bytes = name.as_bytes();
        let mut plain = true;
        let mut i = 0;
        while i < bytes.len() {
            plain &= !is_special(bytes[i]);
            i += 1;
        }
        Field {
            name,
            kind,
            nullable,
            plain,
        }
    }
}

/// The most fields a flat schema may have (they are tracked in one `u64`).
pub const MAX_FIELDS: usize = 64;

/// A field's value as read. Strings (and base64 bytes, kept as their text) borrow from the
/// record unless they held escapes.
#[derive(Clone, Debug, PartialEq)]
pub enum Value<'a> {
    Null,
    Str(Cow<'a, str>),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// Epoch milliseconds.
    Timestamp(i64),
    /// Days since the epoch.
    Date(i32),
}

impl Value<'_> {
    /// The value as a partition key (the text kin's generated code uses for the same value).
    pub fn key_text(&self) -> Option<PartitionKey> {
        Some(match self {
            Value::Null => return None,
            Value::Str(text) => PartitionKey::new(&**text),
            Value::Int(v) => v.to_string().into(),
            Value::Float(v) => v.to_string().into(),
            Value::Bool(v) => v.to_string().into(),
            Value::Timestamp(ms) => format_timestamp(*ms).into(),
            Value::Date(days) => format_date(*days as i64 * 86_400_000).into(),
        })
    }
}

/// What to do with a field the schema does not name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unknown {
    /// It is an error (a producer's check: the record does not match its schema).
    Deny,
    /// It is checked as JSON and skipped (analytics reading the fields a query needs).
    Skip,
}

/// Reads one record, a JSON object, calling `visit(index, value)` once for every field of
/// `fields`: as each is read, then with [`Value::Null`] for each nullable field the record
/// leaves out. The error says what is wrong, naming the field and the byte column.
pub fn read<'a>(
    data: &'a [u8],
    fields: &[Field<'_>],
    unknown: Unknown,
    visit: impl FnMut(usize, Value<'a>) -> Result<(), String>,
) -> Result<(), String> {
    read_spans(utf8(data)?, fields, unknown, u64::MAX, None, visit)
}

/// The record as text: UTF-8 is checked once per record.
fn utf8(data: &[u8]) -> Result<&str, String> {
    match simdutf8::basic::from_utf8(data) {
        Ok(text) => Ok(text),
        // The slower check says where the bad byte is.
        Err(_) => std::str::from_utf8(data).map_err(|e| e.to_string()),
    }
}

/// [`read`], calling `visit` only for the fields whose bit is set in `wanted` (the others are
/// checked by their types, not read into values), and noting in `spans`, when given, where
/// each field's value is (start and end, two entries per field; a field the record leaves
/// out keeps what `spans` held).
#[inline(always)]
fn read_spans<'a>(
    text: &'a str,
    fields: &[Field<'_>],
    unknown: Unknown,
    wanted: u64,
    mut spans: Option<&mut [u32]>,
    mut visit: impl FnMut(usize, Value<'a>) -> Result<(), String>,
) -> Result<(), String> {
    if fields.len() > MAX_FIELDS {
        return Err(format!("a flat record has at most {MAX_FIELDS} fields"));
    }
    let mut s = Scanner { text, at: 0 };
    s.skip_space();
    if s.peek() != Some(b'{') {
        return Err(s.error(format!("expected a JSON object, found {}", s.found())));
    }
    s.at += 1;
    let mut seen: u64 = 0;
    let mut next = 0;
    // Bit n set when some field's name is n bytes long (63 for any longer), made when first
    // needed: most names a record has and the schema lacks are refused on their length alone.
    let mut lengths = 0u64;
    s.skip_space();
    if s.peek() == Some(b'}') {
        s.at += 1;
    } else {
        loop {
            if s.peek() != Some(b'"') {
                return Err(s.error(format!("expected a field name, found {}", s.found())));
            }
            s.at += 1;
            // Fields usually come in schema order: try the next one's name against the
            // record's bytes before reading the name as a string.
            let index = match fields.get(next) {
                Some(field) if field.plain && s.at_name(field.name) => Some(next),
                _ => {
                    let name = s.string()?;
                    if lengths == 0 {
                        lengths = fields
                            .iter()
                            .fold(0, |set, field| set | 1 << field.name.len().min(63));
                    }
                    let index = match lengths & 1 << name.len().min(63) {
                        0 => None,
                        _ => position(fields, &name),
                    };
                    match index {
                        Some(index) => Some(index),
                        None if unknown == Unknown::Skip => None,
                        None => return Err(s.error(format!("unknown field `{name}`"))),
                    }
                }
            };
            s.colon()?;
            match index {
                Some(index) => {
                    let field = &fields[index];
                    if seen & (1 << index) != 0 {
                        return Err(s.error(format!("duplicate field `{}`", field.name)));
                    }
                    seen |= 1 << index;
                    next = index + 1;
                    let start = s.at;
                    if wanted & 1 << index != 0 {
                        let value = s.value(field)?;
                        visit(index, value)?;
                    } else {
                        s.check_value(field)?;
                    }
                    note(spans.as_deref_mut(), index, start, s.at);
                }
                // Most skipped values are strings: read them here rather than through
                // the recursive `skip_value`.
                None if s.peek() == Some(b'"') => {
                    s.at += 1;
                    s.string()?;
                }
                None => s.skip_value(0)?,
            }
            s.skip_space();
            match s.peek() {
                Some(b',') => {
                    s.at += 1;
                    s.skip_space();
                }
                Some(b'}') => {
                    s.at += 1;
                    break;
                }
                _ => return Err(s.error(format!("expected `,` or `}}`, found {}", s.found()))),
            }
        }
    }
    s.skip_space();
    if s.at < s.text.len() {
        return Err(s.error("trailing characters after the object".to_string()));
    }
    for (index, field) in fields.iter().enumerate() {
        if seen & (1 << index) == 0 {
            if !field.nullable {
                return Err(format!("missing field `{}`", field.name));
            }
            if wanted & 1 << index != 0 {
                visit(index, Value::Null)?;
            }
        }
    }
    Ok(())
}

/// A producer's check of one record: `Ok` with the text of field `key` (the partition key) when
/// it is given, an error when the record does not match `fields` or the key is null.
pub fn check(
    data: &[u8],
    fields: &[Field<'_>],
    key: Option<usize>,
) -> Result<Option<PartitionKey>, String> {
    check_noting(data, fields, key, None, None)
}

/// [`check`], noting in `spans` where each field's value is. `ordered` is the schema's own
/// straight pass, when its check was generated with one.
#[inline(always)]
fn check_noting(
    data: &[u8],
    fields: &[Field<'_>],
    key: Option<usize>,
    mut spans: Option<&mut [u32]>,
    ordered: Option<Ordered>,
) -> Result<Option<PartitionKey>, String> {
    let text = utf8(data)?;
    let straight = match ordered {
        Some(ordered) => {
            let mut straight = Straight {
                s: Scanner { text, at: 0 },
                spans: spans.as_deref_mut(),
            };
            ordered(&mut straight).filter(|_| straight.at_end())
        }
        None => check_ordered(text, fields, key, spans.as_deref_mut()),
    };
    if let Some(key_text) = straight {
        return Ok(key_text);
    }
    // The general reader notes the fields the record has; none is left from this pass.
    if let Some(spans) = spans.as_deref_mut() {
        spans.fill(0);
    }
    let mut key_text = None;
    // Only the key is read into a value; the other fields are checked.
    let wanted = key.map_or(0, |index| 1u64 << index);
    read_spans(text, fields, Unknown::Deny, wanted, spans, |_, value| {
        key_text = value.key_text();
        Ok(())
    })?;
    match key {
        Some(index) if key_text.is_none() => Err(format!(
            "the partition key field `{}` is null",
            fields[index].name
        )),
        _ => Ok(key_text),
    }
}

/// The common case of a check, in one straight pass: a record that is `{"name":value,…}` with
/// every field of `fields` in their order, no whitespace before the end and plain names. The
/// values are checked as the general reader checks them, so a record this accepts is one
/// [`read`] accepts, with the same values at the same places. `None` for any other record
/// (whether good or bad): the general reader then decides, and says what is wrong.
#[inline(always)]
fn check_ordered(
    text: &str,
    fields: &[Field<'_>],
    key: Option<usize>,
    spans: Option<&mut [u32]>,
) -> Option<Option<PartitionKey>> {
    if fields.is_empty() || fields.len() > MAX_FIELDS {
        return None;
    }
    let mut s = Straight {
        s: Scanner { text, at: 0 },
        spans,
    };
    let mut key_text = None;
    for (index, field) in fields.iter().enumerate() {
        if !field.plain {
            return None;
        }
        s.token(if index == 0 { b"{\"" } else { b",\"" })?;
        if !s.s.at_name(field.name) {
            return None;
        }
        s.token(b":")?;
        if Some(index) == key {
            key_text = Some(s.key(index, field)?);
        } else {
            s.value(index, field)?;
        }
    }
    s.token(b"}")?;
    s.at_end().then_some(key_text)
}

/// [`check`], noting in `maps` where each field's value is in the record when it matches:
/// the producers of the local runtime keep these [`FieldMap`]s with their records, so that
/// analytics reading them from a stream finds the fields it needs without reading the
/// records again. `maps` serves one field table: a record checked against another one is
/// checked but not mapped.
pub fn check_into(
    data: &[u8],
    fields: &'static [Field<'static>],
    key: Option<usize>,
    maps: &mut MapBuilder,
) -> Result<Option<PartitionKey>, String> {
    check_into_with(data, fields, key, maps, None)
}

/// [`check_into`] with the schema's own straight pass: a function kin generates for the schema
/// (and the producer's key) that reads a record written in schema order with constant names
/// and no dispatch on field types. It must accept only what the general reader accepts, note
/// the same spans and give the same key; anything else it leaves to the general reader.
pub fn check_into_with(
    data: &[u8],
    fields: &'static [Field<'static>],
    key: Option<usize>,
    maps: &mut MapBuilder,
    ordered: Option<Ordered>,
) -> Result<Option<PartitionKey>, String> {
    if maps.bounds.is_empty() {
        maps.table = fields;
    }
    if maps.off || !std::ptr::eq(maps.table, fields) || u32::try_from(data.len()).is_err() {
        return check_noting(data, fields, key, None, ordered);
    }
    let first = maps.bounds.len();
    maps.bounds.resize(first + 2 * fields.len(), 0);
    let checked = check_noting(data, fields, key, Some(&mut maps.bounds[first..]), ordered);
    if checked.is_err() {
        maps.bounds.truncate(first);
    }
    checked
}

/// Notes in `spans`, when given, that field `index`'s value runs from `start` to `end` (within
/// a record shorter than 4 GiB, the caller's to see to).
#[inline(always)]
fn note(spans: Option<&mut [u32]>, index: usize, start: usize, end: usize) {
    if let Some(spans) = spans {
        spans[2 * index] = start as u32;
        spans[2 * index + 1] = end as u32;
    }
}

/// A schema's generated straight pass (see [`check_into_with`]): `None` when the record is not
/// `{"name":value,…}` with the schema's fields in order (the caller then checks that only
/// whitespace follows), else the partition key, if the producer has one.
pub type Ordered = fn(&mut Straight<'_, '_>) -> Option<Option<PartitionKey>>;

/// A record read front to back against what a generated straight pass expects. Each step
/// returns `None` where the record departs from it; values are checked by the general reader's
/// own functions, so both accept the same values.
pub struct Straight<'t, 's> {
    s: Scanner<'t>,
    spans: Option<&'s mut [u32]>,
}

impl Straight<'_, '_> {
    /// The exact bytes `token` (punctuation and a quoted name, e.g. `,"page":`).
    #[inline(always)]
    pub fn token(&mut self, token: &[u8]) -> Option<()> {
        let end = self.s.at + token.len();
        if self.s.bytes().get(self.s.at..end)? != token {
            return None;
        }
        self.s.at = end;
        Some(())
    }

    /// The value of field `index` of the schema, which is `field`.
    #[inline(always)]
    pub fn value(&mut self, index: usize, field: &Field<'_>) -> Option<()> {
        let start = self.s.at;
        self.s.check_value(field).ok()?;
        self.note(index, start);
        Some(())
    }

    /// The value of field `index`, the partition key: its text (`None` also when it is null).
    #[inline(always)]
    pub fn key(&mut self, index: usize, field: &Field<'_>) -> Option<PartitionKey> {
        let start = self.s.at;
        let key = self.s.value(field).ok()?.key_text()?;
        self.note(index, start);
        Some(key)
    }

    #[inline(always)]
    fn note(&mut self, index: usize, start: usize) {
        note(self.spans.as_deref_mut(), index, start, self.s.at);
    }

    /// Whether only whitespace is left.
    fn at_end(&mut self) -> bool {
        self.s.skip_space();
        self.s.at == self.s.text.len()
    }
}

/// The field positions of the records [`check_into`] accepted, one after the other.
#[derive(Debug, Default)]
pub struct MapBuilder {
    table: &'static [Field<'static>],
    bounds: Vec<u32>,
    /// Notes nothing: no reader wants the maps.
    off: bool,
}

impl MapBuilder {
    /// A builder that notes nothing, for records no analytics reads: [`check_into`] then only
    /// checks.
    pub fn off() -> MapBuilder {
        MapBuilder {
            off: true,
            ..MapBuilder::default()
        }
    }

    /// Where the next record's map will start (a record was mapped when this grew).
    pub fn len(&self) -> usize {
        self.bounds.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bounds.is_empty()
    }

    /// The positions noted, for [`FieldMap::new`].
    pub fn finish(self) -> Arc<Spans> {
        Arc::new(Spans {
            table: self.table,
            bounds: self.bounds,
        })
    }
}

/// The field positions of a batch of checked records.
#[derive(Debug)]
pub struct Spans {
    table: &'static [Field<'static>],
    /// For each record, for each field of `table`, the start and end of its value.
    bounds: Vec<u32>,
}

/// Where the fields of one checked record are: the field table it was checked against and,
/// for each field, the byte range of its value (empty when the record leaves the field out).
#[derive(Clone)]
pub struct FieldMap {
    spans: Arc<Spans>,
    /// This record's first bound in `spans`.
    first: usize,
}

impl FieldMap {
    /// The map of the record whose bounds start at `first` (the [`MapBuilder::len`] before
    /// it was checked).
    pub fn new(spans: &Arc<Spans>, first: usize) -> FieldMap {
        FieldMap {
            spans: Arc::clone(spans),
            first,
        }
    }

    /// The field table the record was checked against.
    pub fn table(&self) -> &'static [Field<'static>] {
        self.spans.table
    }

    fn bounds(&self) -> &[u32] {
        let end = self.first + 2 * self.spans.table.len();
        self.spans.bounds.get(self.first..end).unwrap_or_default()
    }

    /// The value of field `index` of the table in `data` (the record mapped), read as `field`
    /// reads it; `None` when it is not there or does not read as `field` (the caller then
    /// reads the whole record, which says why).
    pub fn value<'a>(&self, data: &'a [u8], index: usize, field: &Field<'_>) -> Option<Value<'a>> {
        let bounds = self.bounds();
        let (start, end) = (*bounds.get(2 * index)?, *bounds.get(2 * index + 1)?);
        if start == end {
            return field.nullable.then_some(Value::Null);
        }
        // A value starts and ends at ASCII bytes, so its bytes are UTF-8 on their own.
        let text = std::str::from_utf8(data.get(start as usize..end as usize)?).ok()?;
        let mut s = Scanner { text, at: 0 };
        let value = s.value(field).ok()?;
        (s.at == text.len()).then_some(value)
    }
}

impl std::fmt::Debug for FieldMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FieldMap")
            .field("bounds", &self.bounds())
            .finish()
    }
}

impl PartialEq for FieldMap {
    fn eq(&self, other: &FieldMap) -> bool {
        std::ptr::eq(self.table(), other.table()) && self.bounds() == other.bounds()
    }
}

impl Eq for FieldMap {}

/// The index of the field named `name`.
fn position(fields: &[Field<'_>], name: &str) -> Option<usize> {
    fields
        .iter()
        .position(|f| same(f.name.as_bytes(), name.as_bytes()))
}

/// `a == b` for short byte strings such as field names, inlined and without a loop: two
/// overlapping loads of eight (or four) bytes from each cover any length from 4 to 16, and the
/// first, middle and last bytes any shorter one — a call to `memcmp` costs more than the
/// comparison.
#[inline]
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let ends = |s: &[u8]| -> Option<(u64, u64)> {
        if s.len() >= 8 {
            let first = u64::from_le_bytes(*s.first_chunk::<8>()?);
            let last = u64::from_le_bytes(*s.last_chunk::<8>()?);
            Some((first, last))
        } else {
            let first = u32::from_le_bytes(*s.first_chunk::<4>()?);
            let last = u32::from_le_bytes(*s.last_chunk::<4>()?);
            Some((u64::from(first), u64::from(last)))
        }
    };
    match a.len() {
        0 => true,
        1..=3 => {
            a[0] == b[0] && a[a.len() / 2] == b[a.len() / 2] && a[a.len() - 1] == b[a.len() - 1]
        }
        4..=16 => ends(a) == ends(b),
        _ => a == b,
    }
}

/// JSON nesting deeper than this is refused, as serde_json refuses it.
const MAX_DEPTH: usize = 128;

struct Scanner<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Scanner<'a> {
    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes().get(self.at).copied()
    }

    fn error(&self, message: String) -> String {
        format!("{message} at column {}", self.at + 1)
    }

    /// What is at the cursor, for an error message.
    fn found(&self) -> &'static str {
        match self.peek() {
            None => "the end of the record (EOF while parsing)",
            Some(b'"') => "a string",
            Some(b'{') => "an object",
            Some(b'[') => "an array",
            Some(b'-' | b'0'..=b'9') => "a number",
            Some(b't' | b'f') => "a boolean",
            Some(b'n') => "null",
            Some(_) => "an unexpected character",
        }
    }

    #[inline(always)]
    fn skip_space(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.at += 1;
        }
    }

    /// Whether the record's bytes at the cursor are `name` and a closing quote (for a plain
    /// name, that is the field name `name`); if so the cursor moves past them.
    #[inline]
    fn at_name(&mut self, name: &str) -> bool {
        let end = self.at + name.len();
        let matched = self
            .bytes()
            .get(self.at..end)
            .is_some_and(|b| same(b, name.as_bytes()))
            && self.bytes().get(end) == Some(&b'"');
        if matched {
            self.at = end + 1;
        }
        matched
    }

    /// The `:` after a field name, with the whitespace around it.
    #[inline(always)]
    fn colon(&mut self) -> Result<(), String> {
        self.skip_space();
        if self.peek() != Some(b':') {
            return Err(self.expected_colon());
        }
        self.at += 1;
        self.skip_space();
        Ok(())
    }

    #[cold]
    fn expected_colon(&self) -> String {
        self.error(format!("expected `:`, found {}", self.found()))
    }

    /// Reads `word` (a literal the cursor is on).
    #[inline(always)]
    fn literal(&mut self, word: &'static str) -> Result<(), String> {
        let end = self.at + word.len();
        if self.bytes().get(self.at..end) == Some(word.as_bytes()) {
            self.at = end;
            Ok(())
        } else {
            Err(self.expected_literal(word))
        }
    }

    #[cold]
    fn expected_literal(&self, word: &str) -> String {
        self.error(format!("expected `{word}`"))
    }

    /// One field's value, checked by its type.
    #[inline(always)]
    fn value(&mut self, field: &Field<'_>) -> Result<Value<'a>, String> {
        let wrong = |s: &Self, expected: &str| {
            s.error(format!(
                "field `{}`: expected {expected}, found {}",
                field.name,
                s.found()
            ))
        };
        let in_field = |e: String| format!("field `{}`: {e}", field.name);
        match (self.peek(), field.kind) {
            (Some(b'n'), _) => {
                self.literal("null")?;
                if field.nullable {
                    Ok(Value::Null)
                } else {
                    Err(self.error(format!("field `{}` is null but not nullable", field.name)))
                }
            }
            (Some(b'"'), Kind::String | Kind::Timestamp | Kind::Date | Kind::Bytes) => {
                self.at += 1;
                let text = self.string()?;
                match field.kind {
                    Kind::Timestamp => parse_timestamp(&text)
                        .map(|t| Value::Timestamp(t.0))
                        .map_err(in_field),
                    Kind::Date => parse_date(&text)
                        .map(|d| Value::Date(d.0))
                        .map_err(in_field),
                    Kind::Bytes => parse_bytes(&text)
                        .map(|_| Value::Str(text))
                        .map_err(in_field),
                    _ => Ok(Value::Str(text)),
                }
            }
            (Some(b'-' | b'0'..=b'9'), Kind::Int | Kind::Timestamp | Kind::Float) => {
                let start = self.at;
                let number = self.number()?;
                match (number, field.kind) {
                    (Number::Int(v), Kind::Timestamp) => Ok(Value::Timestamp(v)),
                    (Number::Int(v), Kind::Int) => Ok(Value::Int(v)),
                    (Number::Int(v), _) => Ok(Value::Float(v as f64)),
                    (Number::Other, Kind::Float) => {
                        match self.text[start..self.at].parse::<f64>() {
                            Ok(v) if v.is_finite() => Ok(Value::Float(v)),
                            _ => Err(self.error(in_field("number out of range".to_string()))),
                        }
                    }
                    (Number::Other, Kind::Int) => Err(self.error(format!(
                        "field `{}`: expected an integer in the 64-bit range, found {}",
                        field.name,
                        &self.text[start..self.at]
                    ))),
                    (Number::Other, _) => Err(self.error(format!(
                        "field `{}`: expected an RFC 3339 timestamp string or integer epoch \
                         milliseconds, found {}",
                        field.name,
                        &self.text[start..self.at]
                    ))),
                }
            }
            (Some(b't'), Kind::Bool) => self.literal("true").map(|()| Value::Bool(true)),
            (Some(b'f'), Kind::Bool) => self.literal("false").map(|()| Value::Bool(false)),
            (_, Kind::String) => Err(wrong(self, "a string")),
            (_, Kind::Int) => Err(wrong(self, "an integer")),
            (_, Kind::Float) => Err(wrong(self, "a number")),
            (_, Kind::Bool) => Err(wrong(self, "a boolean")),
            (_, Kind::Timestamp) => Err(wrong(self, "a timestamp")),
            (_, Kind::Date) => Err(wrong(self, "a date string")),
            (_, Kind::Bytes) => Err(wrong(self, "a base64 string")),
        }
    }

    /// One field's value, checked by its type as [`Scanner::value`] checks it; a plain string
    /// is only scanned.
    #[inline(always)]
    fn check_value(&mut self, field: &Field<'_>) -> Result<(), String> {
        if field.kind == Kind::String && self.peek() == Some(b'"') {
            let end = special(self.bytes(), self.at + 1);
            if self.bytes().get(end) == Some(&b'"') {
                self.at = end + 1;
                return Ok(());
            }
        }
        self.value(field).map(drop)
    }

    /// The rest of a string whose opening quote has been read; the cursor ends after its
    /// closing quote.
    #[inline(always)]
    fn string(&mut self) -> Result<Cow<'a, str>, String> {
        let start = self.at;
        let end = special(self.bytes(), start);
        match self.bytes().get(end) {
            Some(b'"') => {
                self.at = end + 1;
                Ok(Cow::Borrowed(&self.text[start..end]))
            }
            Some(b'\\') => {
                let mut out = String::with_capacity(end - start + 16);
                out.push_str(&self.text[start..end]);
                self.at = end;
                self.escaped(&mut out)?;
                Ok(Cow::Owned(out))
            }
            Some(_) => {
                self.at = end;
                Err(self.error("control character in a string".to_string()))
            }
            None => {
                self.at = end;
                Err(self.error("EOF while parsing a string".to_string()))
            }
        }
    }

    /// The rest of a string from a backslash on, into `out`.
    fn escaped(&mut self, out: &mut String) -> Result<(), String> {
        loop {
            match self.peek() {
                Some(b'"') => {
                    self.at += 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    self.at += 1;
                    let c = match self.peek() {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.at += 1;
                            let c = self.unicode_escape()?;
                            out.push(c);
                            continue;
                        }
                        _ => return Err(self.error("invalid escape in a string".to_string())),
                    };
                    self.at += 1;
                    out.push(c);
                }
                Some(_) => {
                    let end = special(self.bytes(), self.at);
                    if end == self.at {
                        return Err(self.error("control character in a string".to_string()));
                    }
                    out.push_str(&self.text[self.at..end]);
                    self.at = end;
                }
                None => return Err(self.error("EOF while parsing a string".to_string())),
            }
        }
    }

    /// `XXXX` after `\u` (and a low surrogate's `\uXXXX` after a high one).
    fn unicode_escape(&mut self) -> Result<char, String> {
        let high = self.hex4()?;
        let code = match high {
            0xD800..=0xDBFF => {
                if !self.bytes()[self.at..].starts_with(b"\\u") {
                    return Err(self.error("lone leading surrogate in hex escape".to_string()));
                }
                self.at += 2;
                let low = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&low) {
                    return Err(self.error("lone leading surrogate in hex escape".to_string()));
                }
                0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
            }
            0xDC00..=0xDFFF => {
                return Err(self.error("lone trailing surrogate in hex escape".to_string()))
            }
            code => code,
        };
        char::from_u32(code).ok_or_else(|| self.error("invalid unicode escape".to_string()))
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let digits = self
            .text
            .get(self.at..self.at + 4)
            .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| self.error("invalid \\u escape in a string".to_string()))?;
        let code = u32::from_str_radix(digits, 16)
            .map_err(|_| self.error("invalid \\u escape in a string".to_string()))?;
        self.at += 4;
        Ok(code)
    }

    /// A JSON number at the cursor: its value when it is an integer in the 64-bit range.
    #[inline(always)]
    fn number(&mut self) -> Result<Number, String> {
        let bytes = self.bytes();
        let negative = self.peek() == Some(b'-');
        if negative {
            self.at += 1;
        }
        let mut magnitude: u64 = 0;
        let mut fits = true;
        match self.peek() {
            Some(b'0') => self.at += 1,
            Some(b'1'..=b'9') => {
                while let Some(&d @ b'0'..=b'9') = bytes.get(self.at) {
                    match magnitude
                        .checked_mul(10)
                        .and_then(|m| m.checked_add(u64::from(d - b'0')))
                    {
                        Some(m) => magnitude = m,
                        None => fits = false,
                    }
                    self.at += 1;
                }
            }
            _ => return Err(self.error("invalid number".to_string())),
        }
        let mut integer = true;
        if self.peek() == Some(b'.') {
            self.at += 1;
            self.digits()?;
            integer = false;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.at += 1;
            }
            self.digits()?;
            integer = false;
        }
        if !(integer && fits) {
            return Ok(Number::Other);
        }
        let value = if negative {
            0i64.checked_sub_unsigned(magnitude)
        } else {
            i64::try_from(magnitude).ok()
        };
        Ok(value.map_or(Number::Other, Number::Int))
    }

    /// One or more decimal digits.
    fn digits(&mut self) -> Result<(), String> {
        let start = self.at;
        while let Some(b'0'..=b'9') = self.peek() {
            self.at += 1;
        }
        if self.at == start {
            return Err(self.error("invalid number".to_string()));
        }
        Ok(())
    }

    /// Checks and skips any JSON value.
    fn skip_value(&mut self, depth: usize) -> Result<(), String> {
        if depth >= MAX_DEPTH {
            return Err(self.error("recursion limit exceeded".to_string()));
        }
        match self.peek() {
            Some(b'"') => {
                self.at += 1;
                self.string().map(drop)
            }
            Some(b'-' | b'0'..=b'9') => self.number().map(drop),
            Some(b't') => self.literal("true"),
            Some(b'f') => self.literal("false"),
            Some(b'n') => self.literal("null"),
            Some(open @ (b'[' | b'{')) => {
                let close = if open == b'[' { b']' } else { b'}' };
                self.at += 1;
                self.skip_space();
                if self.peek() == Some(close) {
                    self.at += 1;
                    return Ok(());
                }
                loop {
                    if open == b'{' {
                        if self.peek() != Some(b'"') {
                            return Err(self
                                .error(format!("expected a field name, found {}", self.found())));
                        }
                        self.at += 1;
                        self.string()?;
                        self.colon()?;
                    }
                    self.skip_value(depth + 1)?;
                    self.skip_space();
                    match self.peek() {
                        Some(b',') => {
                            self.at += 1;
                            self.skip_space();
                        }
                        Some(c) if c == close => {
                            self.at += 1;
                            return Ok(());
                        }
                        _ => {
                            return Err(self.error(format!(
                                "expected `,` or `{}`, found {}",
                                close as char,
                                self.found()
                            )))
                        }
                    }
                }
            }
            _ => Err(self.error(format!("expected a value, found {}", self.found()))),
        }
    }
}

enum Number {
    Int(i64),
    /// A fraction, an exponent or an integer outside the 64-bit range.
    Other,
}

/// The index of the first `"`, `\` or control character in `bytes` from `at` on (or its
/// length): eight bytes at a time, as serde_json scans strings.
fn special(bytes: &[u8], mut at: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    while let Some(chunk) = bytes.get(at..at + 8) {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        let quote = word ^ (ONES * u64::from(b'"'));
        let backslash = word ^ (ONES * u64::from(b'\\'));
        // A byte is flagged when it is zero (after the XORs) or below 0x20; borrows can flag
        // bytes above a flagged one, never below, so the lowest flag is exact.
        let flags = (quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash)
            | (word.wrapping_sub(ONES * 0x20) & !word);
        let flags = flags & HIGH;
        if flags != 0 {
            return at + (flags.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    while let Some(&b) = bytes.get(at) {
        if is_special(b) {
            break;
        }
        at += 1;
    }
    at
}

/// A byte that ends the plain run of a JSON string: `"`, `\` or a control character.
const fn is_special(b: u8) -> bool {
    b == b'"' || b == b'\\' || b < 0x20
}

#[cfg(test)]
mod tests;
