//! The registry of diagnostic codes. Codes are stable: never renumber, only add.
//! Every code has a page `spec/diagnostics/CODE.md` and at least one golden fixture (both tested).

use super::Severity;

/// A diagnostic code with its default severity and a one-line title.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Code {
    pub id: &'static str,
    pub severity: Severity,
    pub title: &'static str,
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id)
    }
}

macro_rules! codes {
    ($($name:ident = $id:literal, $severity:ident, $title:literal;)*) => {
        $(pub const $name: Code = Code { id: $id, severity: Severity::$severity, title: $title };)*
        /// Every code kin can emit, in numeric order.
        pub const ALL: &[Code] = &[$($name),*];
    };
}

codes! {
    YAML_SYNTAX = "K0001", Error, "the file is not valid YAML";
    UNKNOWN_KEY = "K0002", Error, "unknown key";
    MISSING_KEY = "K0003", Error, "a required key is missing";
    WRONG_KIND = "K0004", Error, "a value has the wrong kind (mapping, list, string, number)";
    INVALID_NAME = "K0005", Error, "a name does not follow the naming rules";
    DUPLICATE_NAME = "K0006", Error, "a name or key is declared twice";
    UNKNOWN_REFERENCE = "K0007", Error, "a reference names something that does not exist";
    WRONG_REFERENCE_KIND = "K0008", Error, "a reference names a node of the wrong kind";
    CYCLE = "K0009", Error, "the pipeline graph has a cycle";
    UNKNOWN_TYPE = "K0010", Error, "a field type is not in the type language";
    INVALID_UNIT = "K0011", Error, "a size, duration or rate is malformed or lacks its unit";
    OUT_OF_RANGE = "K0012", Error, "a value is outside the range AWS allows";
    INVALID_PARTITION_KEY = "K0013", Error, "a stream's partition key is not a non-null scalar field";
    COMPRESSION_NOT_ACCEPTED = "K0014", Error, "the destination does not accept this compression";
    PREFIX_WITHOUT_ERROR_PREFIX = "K0015", Error, "a prefix with expressions needs an error_prefix";
    ERROR_OUTPUT_TYPE_MISPLACED = "K0016", Error, "`!{firehose:error-output-type}` is misplaced or missing";
    BAD_PREFIX_EXPRESSION = "K0017", Error, "a prefix expression breaks Firehose's rules";
    BAD_PARTITION_BY = "K0018", Error, "a partition_by or columns entry is not a field of the record type";
    STREAM_OVER_CAPACITY = "K0019", Error, "the producers write more than the stream's shards accept";
    DIRECT_PUT_OVER_CAPACITY = "K0020", Error, "the producers write more than Firehose Direct PUT accepts";
    LITERAL_SECRET = "K0021", Error, "a secret is written in clear text";
    INVALID_EVENT_TIME = "K0022", Error, "event_time does not name a timestamp field";
    UNTYPED_STREAM = "K0023", Error, "a stream has no record type";
    CONFLICTING_SETTINGS = "K0024", Error, "two settings contradict each other";
    RECORD_TYPE_MISMATCH = "K0025", Error, "a writer's record type differs from its target's";
    INVALID_INTERPOLATION = "K0026", Error, "a `${…}` reference is malformed or not allowed here";
    INVALID_VALUE = "K0027", Error, "a value is not one of the allowed choices";
    KIN_SYNTAX = "K0028", Error, "the `.kin` file does not follow the kin syntax";
    SQL_SYNTAX = "K0101", Error, "the SQL does not parse";
    SQL_UNKNOWN_NAME = "K0102", Error, "the SQL names a column or table that does not exist";
    SQL_TYPE = "K0103", Error, "the SQL applies a function or operator to the wrong types";
    SQL_UNBOUNDED = "K0104", Error, "an aggregation or join without a window";
    SQL_WINDOW_NOT_EVENT_TIME = "K0105", Error, "a window on a field that is not the input's event_time";
    SQL_NO_EVENT_TIME = "K0106", Error, "a window on a stream whose schema has no event_time";
    SQL_TABLE_NOT_IN_FROM = "K0107", Error, "the SQL's tables and the analytics' `from` differ";
    SQL_UNNAMED_COLUMN = "K0108", Error, "an output column has no name, a duplicate name or an invalid one";
    SQL_UNSUPPORTED = "K0109", Error, "SQL outside the streaming subset";
    SQL_WINDOW_TIME_AS_STRING = "K0110", Error, "a window timestamp column used as a string";
    SQL_OUTPUT_MISMATCH = "K0111", Error, "the query's output differs from the target's declared schema";
    SQL_WINDOW_ARGUMENTS = "K0112", Error, "a window function's arguments are invalid";
    UNREAD_STREAM = "K1001", Warning, "nothing reads from this stream";
    LOW_HEADROOM = "K1002", Warning, "the producers leave less than 20% of the capacity free";
    LONG_BUFFER_INTERVAL = "K1003", Warning, "a firehose buffer interval above 300s";
    ENCRYPTION_OFF = "K1004", Warning, "encryption is turned off";
    UNUSED_SCHEMA = "K1005", Warning, "a schema is declared but never used";
    UNFED_FIREHOSE = "K1006", Warning, "nothing writes to this Direct PUT firehose";
}

/// Looks a code up by its id (`"K0007"`).
pub fn by_id(id: &str) -> Option<Code> {
    ALL.iter().copied().find(|c| c.id == id)
}
