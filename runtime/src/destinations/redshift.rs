//! Redshift, as Firehose delivers to it: each batch is first written to the intermediate S3
//! bucket (`s3://BUCKET/FIREHOSE/yyyy/MM/dd/HH/FIREHOSE-1-…`, compressed as the firehose says),
//! then loaded with one `COPY`. Locally the warehouse is PostgreSQL, which Redshift's wire
//! protocol comes from, and the load is `COPY table (columns) FROM STDIN` over a connection
//! made from the `jdbc_url` (`jdbc:redshift://host:port/db` or `jdbc:postgresql://…`; default
//! ports 5439 and 5432; no TLS) with the spec's user and password.
//!
//! - `format: json` (Redshift's `JSON 'auto'`): the staged object is read as a stream of JSON
//!   objects, as Redshift reads it. Each object becomes one row: each column takes the value of
//!   the key with its name (exactly, else ignoring case); a missing key or `null` is NULL; strings
//!   are loaded as they are, numbers and booleans as written, objects and arrays as JSON text.
//!   kin sends the rows as CSV (`COPY … WITH (FORMAT csv)`), so PostgreSQL converts each value to
//!   its column's type. Without `columns`, the table's columns are used, in table order.
//! - `format: csv` (`CSV`): the staged object is sent as it is, with the `DELIMITER 'c'` of
//!   `copy_options` when it has one. Other `copy_options` (`TIMEFORMAT`, `GZIP`…) concern
//!   Redshift reading S3 and are ignored.
//!
//! A COPY that fails (the database is down, the table is missing, a value does not convert) is
//! retried for the retry duration (default 3600 s); then the batch is skipped and a Redshift
//! manifest of its staged object, `{"entries":[{"url":"s3://…","mandatory":true}]}`, is written
//! to `s3://BUCKET/FIREHOSE/errors/manifests/yyyy/MM/dd/HH/…` for a manual backfill. The records
//! stay in the staged object.

use std::io::Write as _;
use std::time::Duration;

use serde_json::Value;

use crate::compress::Compression;

/// The PostgreSQL client kin loads with (for tests and tools that read the warehouse back).
pub use postgres;

use super::backup::S3Writer;
use super::{Attempt, Batch, DeliverySettings, Destination, ErrorOutput, Failure};

/// How COPY reads the staged records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CopyFormat {
    #[default]
    Json,
    Csv,
}

/// A Redshift destination, every `${…}` resolved.
#[derive(Clone, Debug)]
pub struct RedshiftConfig {
    pub jdbc_url: String,
    /// `table` or `schema.table`.
    pub table: String,
    /// Empty: every column of the table.
    pub columns: Vec<String>,
    pub user: String,
    pub password: String,
    pub format: CopyFormat,
    pub copy_options: Option<String>,
    /// The intermediate bucket.
    pub bucket: String,
}

/// Where a JDBC URL points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JdbcTarget {
    pub host: String,
    pub port: u16,
    pub database: String,
}

/// Parses `jdbc:redshift://HOST[:PORT]/DB[?…]` or `jdbc:postgresql://…` (query parameters are
/// ignored; an IPv6 host is written in brackets).
pub fn parse_jdbc_url(url: &str) -> Result<JdbcTarget, String> {
    let (rest, default_port) = if let Some(rest) = url.strip_prefix("jdbc:redshift://") {
        (rest, 5439)
    } else if let Some(rest) = url.strip_prefix("jdbc:postgresql://") {
        (rest, 5432)
    } else {
        return Err(format!(
            "jdbc_url {url:?} must start with jdbc:redshift:// or jdbc:postgresql://"
        ));
    };
    let rest = rest.split(['?', ';']).next().unwrap_or("");
    let (authority, database) = rest.split_once('/').ok_or_else(|| {
        format!("jdbc_url {url:?} names no database: write jdbc:redshift://HOST:PORT/DATABASE")
    })?;
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let (host, after) = bracketed
            .split_once(']')
            .ok_or_else(|| format!("jdbc_url {url:?}: unclosed `[` in the host"))?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        Some(text) => text
            .parse::<u16>()
            .map_err(|_| format!("jdbc_url {url:?}: port {text:?} is not a number"))?,
        None => default_port,
    };
    if host.is_empty() || database.is_empty() {
        return Err(format!(
            "jdbc_url {url:?} must name a host and a database: jdbc:redshift://HOST:PORT/DATABASE"
        ));
    }
    Ok(JdbcTarget {
        host: host.to_string(),
        port,
        database: database.to_string(),
    })
}

/// The `DELIMITER [AS] 'c'` of Redshift COPY options (`'\t'` is a tab), if any.
pub fn copy_delimiter(options: &str) -> Option<char> {
    let upper = options.to_ascii_uppercase();
    let at = upper.find("DELIMITER")?;
    let rest = options[at + "DELIMITER".len()..].trim_start();
    let rest = match rest.get(..2) {
        Some(word) if word.eq_ignore_ascii_case("AS") => rest[2..].trim_start(),
        _ => rest,
    };
    let inner = rest.strip_prefix('\'')?;
    let end = inner.find('\'')?;
    match &inner[..end] {
        "\\t" => Some('\t'),
        text => {
            let mut chars = text.chars();
            let c = chars.next()?;
            chars.next().is_none().then_some(c)
        }
    }
}

fn valid_identifier_path(text: &str) -> bool {
    !text.is_empty()
        && text.split('.').all(|part| {
            let unquoted = part
                .strip_prefix('"')
                .and_then(|p| p.strip_suffix('"'))
                .map(|p| !p.is_empty() && !p.contains('"'));
            unquoted.unwrap_or_else(|| {
                part.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                    && part
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
            })
        })
}

/// One CSV field for a JSON value (NULL is an unquoted empty field).
fn csv_field(value: Option<&Value>, out: &mut Vec<u8>) {
    let quoted = |text: &str, out: &mut Vec<u8>| {
        out.push(b'"');
        out.extend_from_slice(text.replace('"', "\"\"").as_bytes());
        out.push(b'"');
    };
    match value {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => quoted(s, out),
        Some(Value::Bool(b)) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Some(Value::Number(n)) => out.extend_from_slice(n.to_string().as_bytes()),
        Some(other) => quoted(&other.to_string(), out),
    }
}

/// The CSV rows `JSON 'auto'` would load from `body` into `columns`.
pub fn json_rows(body: &[u8], columns: &[String]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for (n, value) in serde_json::Deserializer::from_slice(body)
        .into_iter::<Value>()
        .enumerate()
    {
        let value = value.map_err(|e| format!("JSON object {} does not parse: {e}", n + 1))?;
        let Value::Object(object) = value else {
            return Err(format!(
                "JSON value {} is not an object; JSON 'auto' loads objects",
                n + 1
            ));
        };
        for (i, column) in columns.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let value = object.get(column).or_else(|| {
                object
                    .iter()
                    .find(|(key, _)| key.eq_ignore_ascii_case(column))
                    .map(|(_, v)| v)
            });
            csv_field(value, &mut out);
        }
        out.push(b'\n');
    }
    Ok(out)
}

/// The Redshift destination. See the module documentation.
pub struct Redshift {
    config: RedshiftConfig,
    target: JdbcTarget,
    compression: Compression,
    client: Option<postgres::Client>,
    /// The columns loaded: the spec's, or the table's once read.
    columns: Option<Vec<String>>,
    /// The staged object of the batch being delivered.
    staged: Option<(String, String)>,
}

impl Redshift {
    pub fn new(config: RedshiftConfig, settings: &DeliverySettings) -> Result<Redshift, String> {
        let target = parse_jdbc_url(&config.jdbc_url)?;
        if !valid_identifier_path(&config.table) {
            return Err(format!(
                "redshift table {:?} is not a table name (NAME or SCHEMA.NAME)",
                config.table
            ));
        }
        if let Some(bad) = config.columns.iter().find(|c| !valid_identifier_path(c)) {
            return Err(format!("redshift column {bad:?} is not a column name"));
        }
        if !matches!(settings.compression, Compression::None | Compression::Gzip) {
            return Err(
                "Redshift reads only uncompressed or GZIP intermediate objects".to_string(),
            );
        }
        Ok(Redshift {
            columns: (!config.columns.is_empty()).then(|| config.columns.clone()),
            config,
            target,
            compression: settings.compression,
            client: None,
            staged: None,
        })
    }

    fn connect(&mut self) -> Result<&mut postgres::Client, Failure> {
        if self.client.as_ref().is_some_and(|c| c.is_closed()) {
            self.client = None;
        }
        if self.client.is_none() {
            let client = postgres::Config::new()
                .host(&self.target.host)
                .port(self.target.port)
                .dbname(&self.target.database)
                .user(&self.config.user)
                .password(&self.config.password)
                .application_name("kin")
                .connect_timeout(Duration::from_secs(10))
                .connect(postgres::NoTls)
                .map_err(|e| failure(&e, "Redshift.ConnectionFailed"))?;
            self.client = Some(client);
        }
        self.client
            .as_mut()
            .ok_or_else(|| Failure::new("Redshift.ConnectionFailed", "no connection"))
    }

    fn columns(&mut self) -> Result<Vec<String>, Failure> {
        if let Some(columns) = &self.columns {
            return Ok(columns.clone());
        }
        let table = self.config.table.clone();
        let client = self.connect()?;
        let statement = client
            .prepare(&format!("SELECT * FROM {table} LIMIT 0"))
            .map_err(|e| failure(&e, "Redshift.CopyFailed"))?;
        let columns: Vec<String> = statement
            .columns()
            .iter()
            .map(|c| c.name().to_string())
            .collect();
        self.columns = Some(columns.clone());
        Ok(columns)
    }

    /// The COPY statement and the rows it reads.
    fn statement(&mut self, batch: &Batch) -> Result<(String, Vec<u8>), Failure> {
        let table = &self.config.table;
        match self.config.format {
            CopyFormat::Json => {
                let columns = self.columns()?;
                let rows = json_rows(&batch.body, &columns)
                    .map_err(|m| Failure::new("Redshift.DataLoadFailed", m))?;
                let table = &self.config.table;
                Ok((
                    format!(
                        "COPY {table} ({}) FROM STDIN WITH (FORMAT csv)",
                        columns.join(", ")
                    ),
                    rows,
                ))
            }
            CopyFormat::Csv => {
                let columns = if self.config.columns.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", self.config.columns.join(", "))
                };
                let delimiter = self
                    .config
                    .copy_options
                    .as_deref()
                    .and_then(copy_delimiter)
                    .unwrap_or(',');
                let delimiter = delimiter.to_string().replace('\'', "''");
                Ok((
                    format!(
                        "COPY {table}{columns} FROM STDIN WITH (FORMAT csv, DELIMITER '{delimiter}')"
                    ),
                    batch.body.clone(),
                ))
            }
        }
    }

    fn copy(&mut self, batch: &Batch) -> Result<u64, Failure> {
        let (statement, rows) = self.statement(batch)?;
        let client = self.connect()?;
        let mut writer = client
            .copy_in(&statement)
            .map_err(|e| failure(&e, "Redshift.CopyFailed"))?;
        writer
            .write_all(&rows)
            .map_err(|e| Failure::new("Redshift.ConnectionFailed", e.to_string()))?;
        writer
            .finish()
            .map_err(|e| failure(&e, "Redshift.CopyFailed"))
    }
}

/// A Firehose-style code for a PostgreSQL error (by SQLSTATE), with its message.
fn failure(error: &postgres::Error, otherwise: &str) -> Failure {
    let code = match error.code().map(|c| c.code()) {
        Some("42P01") | Some("3F000") => "Redshift.TableNotFound",
        Some("42703") => "Redshift.ColumnNotFound",
        Some("28P01") | Some("28000") => "Redshift.AuthenticationFailed",
        Some("42501") => "Redshift.AccessDenied",
        Some("3D000") => "Redshift.DatabaseNotFound",
        Some(state) if state.starts_with("22") || state.starts_with("23") => {
            "Redshift.DataLoadFailed"
        }
        Some(_) => otherwise,
        None => "Redshift.ConnectionFailed",
    };
    let message = match error.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => super::error_chain(error),
    };
    Failure::new(code, message)
}

impl Destination for Redshift {
    fn kind(&self) -> &'static str {
        "redshift"
    }

    fn error_output(&self) -> ErrorOutput {
        ErrorOutput::Manifest
    }

    /// Writes the batch to the intermediate bucket.
    fn prepare(&mut self, batch: &Batch, s3: &mut S3Writer) -> std::io::Result<()> {
        let key = format!("{}{}", batch.key, self.compression.extension());
        let entry = key.rsplit('/').next().unwrap_or(&key);
        let body = self
            .compression
            .compress_object(&batch.body, entry, batch.oldest_ms())
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        s3.put(&self.config.bucket, &key, &body)?;
        self.staged = Some((self.config.bucket.clone(), key));
        Ok(())
    }

    fn attempt(&mut self, batch: &Batch, _pending: &[usize]) -> Attempt {
        match self.copy(batch) {
            Ok(_) => Attempt::Delivered,
            Err(failure) => {
                // A failed COPY may leave the session unusable: connect again next time, and
                // read the table's columns again (the table may have been created meanwhile).
                self.client = None;
                if self.config.columns.is_empty() {
                    self.columns = None;
                }
                Attempt::Failed(failure)
            }
        }
    }

    fn staged_object(&self, _batch: &Batch) -> Option<(String, String)> {
        self.staged.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jdbc_urls_name_host_port_and_database() {
        let t = parse_jdbc_url("jdbc:redshift://c.abc.us-east-1.redshift.amazonaws.com/dev")
            .expect("parses");
        assert_eq!(
            (t.host.as_str(), t.port, t.database.as_str()),
            ("c.abc.us-east-1.redshift.amazonaws.com", 5439, "dev")
        );
        let t = parse_jdbc_url("jdbc:postgresql://127.0.0.1:55432/kin?ssl=false").expect("parses");
        assert_eq!((t.port, t.database.as_str()), (55432, "kin"));
        let t = parse_jdbc_url("jdbc:postgresql://[::1]:5433/db").expect("parses");
        assert_eq!((t.host.as_str(), t.port), ("::1", 5433));
        assert!(parse_jdbc_url("postgres://x/db").is_err());
        assert!(parse_jdbc_url("jdbc:redshift://host:port/db").is_err());
        assert!(parse_jdbc_url("jdbc:redshift://host:5439").is_err());
    }

    #[test]
    fn json_objects_become_csv_rows_in_column_order() {
        let body =
            b"{\"b\":\"x,\\\"y\\\"\",\"A\":1,\"n\":null}\n{\"a\":2.5,\"c\":{\"k\":[1]},\"b\":true}";
        let columns = ["a".to_string(), "b".to_string(), "c".to_string()];
        let rows = json_rows(body, &columns).expect("rows");
        assert_eq!(
            String::from_utf8_lossy(&rows),
            "1,\"x,\"\"y\"\"\",\n2.5,true,\"{\"\"k\"\":[1]}\"\n"
        );
        assert!(json_rows(b"{\"a\":1}[1]", &columns).is_err());
        assert!(json_rows(b"{\"a\":", &columns).is_err());
    }

    #[test]
    fn copy_options_give_the_csv_delimiter() {
        assert_eq!(copy_delimiter("delimiter '|' escape"), Some('|'));
        assert_eq!(copy_delimiter("CSV DELIMITER AS '\\t'"), Some('\t'));
        assert_eq!(copy_delimiter("TIMEFORMAT 'auto'"), None);
        assert!(valid_identifier_path("staging.order_changes"));
        assert!(valid_identifier_path("\"Mixed Case\".t"));
        assert!(!valid_identifier_path("t; DROP TABLE x"));
    }
}
