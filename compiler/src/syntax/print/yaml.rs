//! The AST → `pipeline.yaml` text, in block style with two spaces of indentation (lists in flow
//! style, SQL as a `|` block), that kin reads back as the same AST.

use super::kin::{backup_name, is_nested, rotation_name};
use super::lines::{Lines, Target};
use super::{join, Document};
use crate::ast::*;
use crate::source::{SourceFile, Spanned};
use crate::syntax::dsl::text::is_unit_token;
use crate::syntax::yaml::{parse as parse_yaml, NodeKind};

pub fn print(doc: &Document) -> String {
    let mut out = Lines::new(doc, Target::Yaml);
    let p = Printer { doc };
    let spec = &doc.spec;
    if let Some(name) = &spec.pipeline {
        out.line(
            format!("pipeline: {}", scalar(&name.value)),
            &[doc.anchor("pipeline")],
        );
    }
    if let Some(region) = &spec.region {
        out.line(
            format!("region: {}", scalar(&region.value)),
            &[doc.anchor("region")],
        );
    }
    if !spec.tags.is_empty() {
        out.open("tags:", &[doc.anchor("tags")]);
        for (key, value) in &spec.tags {
            out.line(
                format!(
                    "{}: {}",
                    key_text(&key.value),
                    quoted_if_needed(&value.value)
                ),
                &[doc.anchor(&join("tags", &key.value))],
            );
        }
        out.close(None, None);
    }
    p.section(
        &mut out,
        "schemas",
        &spec.schemas,
        |s| &s.name,
        Printer::schema,
    );
    p.section(
        &mut out,
        "producers",
        &spec.producers,
        |s| &s.name,
        Printer::producer,
    );
    p.section(
        &mut out,
        "streams",
        &spec.streams,
        |s| &s.name,
        Printer::stream,
    );
    p.section(
        &mut out,
        "analytics",
        &spec.analytics,
        |s| &s.name,
        Printer::analytics,
    );
    p.section(
        &mut out,
        "firehoses",
        &spec.firehoses,
        |s| &s.name,
        Printer::firehose,
    );
    out.render()
}

/// A key: plain when it is a simple word, else double-quoted.
fn key_text(key: &str) -> String {
    let simple = crate::syntax::dsl::text::is_ident(key) && !special_word(key);
    if simple {
        key.to_string()
    } else {
        json_quote(key)
    }
}

/// The words YAML reads as something other than a string.
fn special_word(text: &str) -> bool {
    matches!(
        text.to_ascii_lowercase().as_str(),
        "true" | "false" | "null" | "~" | "yes" | "no" | "on" | "off" | "y" | "n"
    )
}

fn json_quote(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| format!("\"{text}\""))
}

/// A string scalar: plain when it is made of safe characters (names, units, paths, a whole
/// `${…}`), otherwise double-quoted.
fn scalar(text: &str) -> String {
    quoted_if_needed(text)
}

fn quoted_if_needed(text: &str) -> String {
    let safe_chars = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-/@+".contains(c));
    let starts_safe = text.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || c == '/');
    let plain = (safe_chars && starts_safe && !special_word(text))
        || (safe_chars && is_unit_token(text) && !looks_numeric(text))
        || crate::syntax::dsl::text::is_bare_interpolation(text)
            && !text.contains([':', '#'])
            && text.is_ascii()
            && !text.contains(' ');
    if plain {
        text.to_string()
    } else {
        json_quote(text)
    }
}

/// `1e5`-like texts that YAML may read as numbers.
fn looks_numeric(text: &str) -> bool {
    text.replace('_', "").parse::<f64>().is_ok()
}

/// A list item (flow style): the same, and never with `,[]{}`.
fn flow_item(text: &str) -> String {
    let s = quoted_if_needed(text);
    if s.contains([',', '[', ']', '{', '}']) && !s.starts_with('"') {
        json_quote(text)
    } else {
        s
    }
}

fn list(items: &[Spanned<String>]) -> String {
    let items: Vec<String> = items.iter().map(|i| flow_item(&i.value)).collect();
    format!("[{}]", items.join(", "))
}

/// A field type: types print without spaces or YAML indicators, so always plain.
fn type_text(ty: &crate::ir::types::FieldType) -> String {
    ty.to_string()
}

struct Printer<'a> {
    doc: &'a Document<'a>,
}

impl Printer<'_> {
    fn attr(&self, out: &mut Lines, path: &str, key: &str, value: String) {
        out.line(
            format!("{key}: {value}"),
            &[self.doc.anchor(&join(path, key))],
        );
    }

    fn opt<T>(
        &self,
        out: &mut Lines,
        path: &str,
        key: &str,
        value: &Option<T>,
        show: impl Fn(&T) -> String,
    ) {
        if let Some(value) = value {
            self.attr(out, path, key, show(value));
        }
    }

    fn section<T>(
        &self,
        out: &mut Lines,
        key: &str,
        items: &[T],
        name: fn(&T) -> &Spanned<String>,
        print_one: fn(&Self, &mut Lines, &str, &T),
    ) {
        if items.is_empty() {
            return;
        }
        out.separate();
        out.open(format!("{key}:"), &[self.doc.anchor(key)]);
        for item in items {
            let name = name(item);
            let path = join(key, &name.value);
            out.separate();
            out.open(
                format!("{}:", key_text(&name.value)),
                &[self.doc.anchor(&path)],
            );
            print_one(self, out, &path, item);
            out.close(None, None);
        }
        out.close(None, None);
    }

    fn schema(&self, out: &mut Lines, path: &str, schema: &Schema) {
        self.opt(out, path, "format", &schema.format, |f| {
            match f.value {
                RecordFormat::Json => "json",
                RecordFormat::Csv => "csv",
            }
            .to_string()
        });
        let fields = join(path, "fields");
        out.open("fields:", &[self.doc.anchor(&fields)]);
        self.fields(out, &schema.fields, &fields);
        out.close(None, None);
        self.opt(out, path, "event_time", &schema.event_time, |e| {
            scalar(&e.value)
        });
        self.opt(out, path, "watermark", &schema.watermark, |w| {
            self.doc.duration(w)
        });
        self.opt(out, path, "delimiter", &schema.delimiter, |d| {
            json_quote(&d.value)
        });
        self.opt(out, path, "header", &schema.header, |h| h.value.to_string());
    }

    fn fields(&self, out: &mut Lines, decls: &[FieldDecl], path: &str) {
        for decl in decls {
            let field = join(path, &decl.name.value);
            let key = key_text(&decl.name.value);
            if is_nested(decl) {
                out.open(format!("{key}:"), &[self.doc.anchor(&field)]);
                self.fields(out, &decl.nested, &field);
                out.close(None, None);
            } else if let Some(ty) = &decl.ty {
                out.line(
                    format!("{key}: {}", type_text(&ty.value)),
                    &[self.doc.anchor(&field)],
                );
            }
        }
    }

    fn producer(&self, out: &mut Lines, path: &str, producer: &Producer) {
        self.opt(out, path, "schema", &producer.schema, |s| scalar(&s.value));
        self.opt(out, path, "to", &producer.to, |s| scalar(&s.value));
        self.opt(out, path, "rate", &producer.rate, |r| self.doc.rate(r));
        self.opt(out, path, "record_size", &producer.record_size, |s| {
            self.doc.size(s)
        });
    }

    fn stream(&self, out: &mut Lines, path: &str, stream: &Stream) {
        self.opt(out, path, "schema", &stream.schema, |s| scalar(&s.value));
        self.opt(out, path, "shards", &stream.shards, |s| s.value.to_string());
        self.opt(out, path, "mode", &stream.mode, |m| {
            match m.value {
                StreamMode::Provisioned => "provisioned",
                StreamMode::OnDemand => "on_demand",
            }
            .to_string()
        });
        self.opt(out, path, "retention", &stream.retention, |r| {
            self.doc.duration(r)
        });
        self.opt(
            out,
            path,
            "partition_key",
            &stream.partition_key,
            |k| match &k.value {
                PartitionKey::Random => "random".to_string(),
                PartitionKey::Field(f) => scalar(f),
            },
        );
        self.encryption(out, path, &stream.encryption);
        self.opt(out, path, "max_record_size", &stream.max_record_size, |s| {
            self.doc.size(s)
        });
    }

    fn encryption(&self, out: &mut Lines, path: &str, encryption: &Option<Spanned<Encryption>>) {
        let Some(encryption) = encryption else {
            return;
        };
        match &encryption.value {
            Encryption::Kms => self.attr(out, path, "encryption", "kms".to_string()),
            Encryption::None => self.attr(out, path, "encryption", "none".to_string()),
            Encryption::KmsKey(key) => {
                let block = join(path, "encryption");
                out.open("encryption:", &[self.doc.anchor(&block)]);
                self.attr(out, &block, "kms_key", scalar(&key.value));
                out.close(None, None);
            }
        }
    }

    fn analytics(&self, out: &mut Lines, path: &str, analytics: &Analytics) {
        match analytics.from.as_slice() {
            [] => {}
            [one] => self.attr(out, path, "from", scalar(&one.value)),
            many => self.attr(out, path, "from", list(many)),
        }
        self.opt(out, path, "to", &analytics.to, |s| scalar(&s.value));
        self.opt(out, path, "parallelism", &analytics.parallelism, |p| {
            p.value.to_string()
        });
        self.opt(
            out,
            path,
            "checkpoint_interval",
            &analytics.checkpoint_interval,
            |d| self.doc.duration(d),
        );
        if let Some(sql) = &analytics.sql {
            let anchor = self.doc.anchor(&join(path, "sql"));
            match block_scalar(&sql.text, &format!("{}  ", out.indent_text())) {
                Some((header, lines)) => {
                    // YAML allows a comment after a block scalar's header.
                    out.line(format!("sql: {header}"), &[anchor]);
                    for line in lines {
                        out.verbatim(line);
                    }
                }
                None => out.line(format!("sql: {}", json_quote(&sql.text)), &[anchor]),
            }
        }
    }

    fn firehose(&self, out: &mut Lines, path: &str, firehose: &Firehose) {
        self.opt(out, path, "from", &firehose.from, |s| scalar(&s.value));
        let buffer = &firehose.buffer;
        // An empty `buffer` is kept: the AST remembers it was written.
        if buffer.size.is_some()
            || buffer.interval.is_some()
            || firehose.written.contains(&"buffer")
        {
            let block = join(path, "buffer");
            out.open("buffer:", &[self.doc.anchor(&block)]);
            self.opt(out, &block, "size", &buffer.size, |s| self.doc.size(s));
            self.opt(out, &block, "interval", &buffer.interval, |d| {
                self.doc.duration(d)
            });
            out.close(None, None);
        }
        self.opt(out, path, "compression", &firehose.compression, |c| {
            c.value.name().to_string()
        });
        self.encryption(out, path, &firehose.encryption);
        if let Some(destination) = &firehose.to {
            self.destination(out, path, destination);
        }
    }

    fn destination(&self, out: &mut Lines, path: &str, destination: &Destination) {
        let kind = destination.kind.name();
        let to = join(path, "to");
        let p = &join(&to, kind);
        out.open("to:", &[self.doc.anchor(&to)]);
        out.open(format!("{kind}:"), &[self.doc.anchor(p)]);
        let text = |v: &Spanned<String>| scalar(&v.value);
        match &destination.kind {
            DestinationKind::S3(s3) => {
                self.opt(out, p, "bucket", &s3.bucket, text);
                self.opt(out, p, "prefix", &s3.prefix, text);
                self.opt(out, p, "error_prefix", &s3.error_prefix, text);
                if !s3.partition_by.is_empty() {
                    self.attr(out, p, "partition_by", list(&s3.partition_by));
                }
            }
            DestinationKind::Redshift(r) => {
                self.opt(out, p, "jdbc_url", &r.jdbc_url, text);
                self.opt(out, p, "table", &r.table, text);
                if !r.columns.is_empty() {
                    self.attr(out, p, "columns", list(&r.columns));
                }
                self.opt(out, p, "user", &r.user, text);
                self.opt(out, p, "password", &r.password, text);
                self.opt(out, p, "format", &r.format, |f| {
                    match f.value {
                        CopyFormat::Json => "json",
                        CopyFormat::Csv => "csv",
                    }
                    .to_string()
                });
                self.opt(out, p, "copy_options", &r.copy_options, text);
                self.opt(out, p, "bucket", &r.bucket, text);
                self.opt(out, p, "retry_duration", &r.retry_duration, |d| {
                    self.doc.duration(d)
                });
            }
            DestinationKind::OpenSearch(o) => {
                self.opt(out, p, "endpoint", &o.endpoint, text);
                self.opt(out, p, "index", &o.index, text);
                self.opt(out, p, "rotation", &o.rotation, |r| {
                    rotation_name(r.value).to_string()
                });
                self.opt(out, p, "backup", &o.backup, |b| {
                    backup_name(b.value).to_string()
                });
                self.opt(out, p, "retry_duration", &o.retry_duration, |d| {
                    self.doc.duration(d)
                });
            }
            DestinationKind::Splunk(s) => {
                self.opt(out, p, "endpoint", &s.endpoint, text);
                self.opt(out, p, "token", &s.token, text);
                self.opt(out, p, "endpoint_type", &s.endpoint_type, |t| {
                    match t.value {
                        SplunkEndpointType::Raw => "raw",
                        SplunkEndpointType::Event => "event",
                    }
                    .to_string()
                });
                self.opt(out, p, "ack_timeout", &s.ack_timeout, |d| {
                    self.doc.duration(d)
                });
                self.opt(out, p, "backup", &s.backup, |b| {
                    backup_name(b.value).to_string()
                });
                self.opt(out, p, "retry_duration", &s.retry_duration, |d| {
                    self.doc.duration(d)
                });
            }
            DestinationKind::Http(h) => {
                self.opt(out, p, "url", &h.url, text);
                self.opt(out, p, "name", &h.name, text);
                self.opt(out, p, "access_key", &h.access_key, text);
                self.opt(out, p, "backup", &h.backup, |b| {
                    backup_name(b.value).to_string()
                });
                self.opt(out, p, "retry_duration", &h.retry_duration, |d| {
                    self.doc.duration(d)
                });
            }
        }
        out.close(None, None);
        out.close(None, None);
    }
}

/// SQL as a `|` block scalar (`|-` without a final newline), when YAML reads it back as the
/// same text; `None` otherwise (it is then written double-quoted). Text ending in blank lines is
/// quoted too: with `|+` a blank line printed after the block would become part of it.
fn block_scalar(text: &str, indent: &str) -> Option<(String, Vec<String>)> {
    let header = if !text.ends_with('\n') {
        "|-"
    } else if text.ends_with("\n\n") {
        return None;
    } else {
        "|"
    };
    let body = text.strip_suffix('\n').unwrap_or(text);
    let lines: Vec<String> = body
        .split('\n')
        .map(|l| {
            if l.is_empty() {
                String::new()
            } else {
                format!("{indent}{l}")
            }
        })
        .collect();
    let document = format!("sql: {header}\n{}\n", lines.join("\n"));
    let parsed = parse_yaml(&SourceFile::new("check.yaml", document)).ok()?;
    let NodeKind::Map(entries) = parsed.kind else {
        return None;
    };
    let same = matches!(entries.first(), Some((_, v)) if v.kind == NodeKind::Str(text.to_string()));
    same.then(|| (header.to_string(), lines))
}
