//! The AST → `.kin` text, in the canonical layout: declarations in the order pipeline, schemas,
//! producers, streams, analytics, firehoses, one blank line apart; inside each, the attributes in
//! the order of the key tables and then the blocks; two spaces of indentation; `=` aligned in a
//! run of attributes and types aligned in a run of fields.

use super::lines::{Lines, Target};
use super::{join, Document};
use crate::ast::*;
use crate::source::Spanned;
use crate::syntax::dsl::text::{is_bare_interpolation, is_ident, is_word, quote, raw_block_lines};

pub fn print(doc: &Document) -> String {
    let mut out = Lines::new(doc, Target::Kin);
    let p = Printer { doc };
    let spec = &doc.spec;
    p.pipeline(&mut out, spec);
    for schema in &spec.schemas {
        out.separate();
        p.schema(&mut out, schema);
    }
    for producer in &spec.producers {
        out.separate();
        p.producer(&mut out, producer);
    }
    for stream in &spec.streams {
        out.separate();
        p.stream(&mut out, stream);
    }
    for analytics in &spec.analytics {
        out.separate();
        p.analytics(&mut out, analytics);
    }
    for firehose in &spec.firehoses {
        out.separate();
        p.firehose(&mut out, firehose);
    }
    out.render()
}

/// A name, key or label: bare when it is an identifier.
fn name(text: &str) -> String {
    if is_ident(text) {
        text.to_string()
    } else {
        quote(text)
    }
}

/// A reference or a choice: a bare word when it can be one.
fn word(text: &str) -> String {
    if is_word(text) {
        text.to_string()
    } else {
        quote(text)
    }
}

/// Free text: quoted, except a whole `${var.X}` / `${secret:X}`.
fn text(value: &str) -> String {
    if is_bare_interpolation(value) {
        value.to_string()
    } else {
        quote(value)
    }
}

fn list(items: &[Spanned<String>]) -> String {
    let items: Vec<String> = items.iter().map(|i| word(&i.value)).collect();
    format!("[{}]", items.join(", "))
}

struct Printer<'a> {
    doc: &'a Document<'a>,
}

impl Printer<'_> {
    fn attr(&self, out: &mut Lines, path: &str, key: &str, value: String) {
        out.align(key, format!("= {value}"), self.doc.anchor(&join(path, key)));
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

    /// Opens `text {` for the block at `path`; blocks after other entries get a blank line.
    fn open_block(&self, out: &mut Lines, text: String, path: &str, extra: Option<usize>) {
        out.separate();
        out.open(format!("{text} {{"), &[self.doc.anchor(path), extra]);
    }

    fn close(&self, out: &mut Lines, path: &str) {
        out.close(Some("}"), self.doc.end(path));
    }

    fn pipeline(&self, out: &mut Lines, spec: &Spec) {
        let has_body = spec.region.is_some() || !spec.tags.is_empty();
        let head = match &spec.pipeline {
            Some(n) => format!("pipeline {}", name(&n.value)),
            None if has_body => "pipeline".to_string(),
            None => return,
        };
        let anchor = self.doc.anchor("pipeline");
        if !has_body {
            out.line(head, &[anchor]);
            return;
        }
        out.open(format!("{head} {{"), &[anchor]);
        self.opt(out, "", "region", &spec.region, |r| text(&r.value));
        if !spec.tags.is_empty() {
            self.open_block(out, "tags".to_string(), "tags", None);
            for (key, value) in &spec.tags {
                out.align(
                    name(&key.value),
                    format!("= {}", quote(&value.value)),
                    self.doc.anchor(&join("tags", &key.value)),
                );
            }
            self.close(out, "tags");
        }
        self.close(out, "pipeline");
    }

    fn declaration(
        &self,
        out: &mut Lines,
        kind: &str,
        section: &str,
        node: &Spanned<String>,
    ) -> String {
        let path = join(section, &node.value);
        out.open(
            format!("{kind} {} {{", name(&node.value)),
            &[self.doc.anchor(&path)],
        );
        path
    }

    fn schema(&self, out: &mut Lines, schema: &Schema) {
        let path = self.declaration(out, "schema", "schemas", &schema.name);
        self.opt(out, &path, "format", &schema.format, |f| {
            match f.value {
                RecordFormat::Json => "json",
                RecordFormat::Csv => "csv",
            }
            .to_string()
        });
        self.opt(out, &path, "event_time", &schema.event_time, |e| {
            word(&e.value)
        });
        self.opt(out, &path, "watermark", &schema.watermark, |w| {
            self.doc.duration(w)
        });
        self.opt(out, &path, "delimiter", &schema.delimiter, |d| {
            quote(&d.value)
        });
        self.opt(out, &path, "header", &schema.header, |h| {
            h.value.to_string()
        });
        let fields = join(&path, "fields");
        self.open_block(out, "fields".to_string(), &fields, None);
        self.fields(out, &schema.fields, &fields);
        self.close(out, &fields);
        self.close(out, &path);
    }

    fn fields(&self, out: &mut Lines, decls: &[FieldDecl], path: &str) {
        for decl in decls {
            let field = join(path, &decl.name.value);
            if is_nested(decl) {
                out.open(
                    format!("{} {{", name(&decl.name.value)),
                    &[self.doc.anchor(&field)],
                );
                self.fields(out, &decl.nested, &field);
                self.close(out, &field);
            } else if let Some(ty) = &decl.ty {
                out.align(
                    format!("{}:", name(&decl.name.value)),
                    ty.value.to_string(),
                    self.doc.anchor(&field),
                );
            }
        }
    }

    fn producer(&self, out: &mut Lines, producer: &Producer) {
        let path = self.declaration(out, "producer", "producers", &producer.name);
        self.opt(out, &path, "schema", &producer.schema, |s| word(&s.value));
        self.opt(out, &path, "to", &producer.to, |s| word(&s.value));
        self.opt(out, &path, "rate", &producer.rate, |r| self.doc.rate(r));
        self.opt(out, &path, "record_size", &producer.record_size, |s| {
            self.doc.size(s)
        });
        self.close(out, &path);
    }

    fn stream(&self, out: &mut Lines, stream: &Stream) {
        let path = self.declaration(out, "stream", "streams", &stream.name);
        self.opt(out, &path, "schema", &stream.schema, |s| word(&s.value));
        self.opt(out, &path, "shards", &stream.shards, |s| {
            s.value.to_string()
        });
        self.opt(out, &path, "mode", &stream.mode, |m| {
            match m.value {
                StreamMode::Provisioned => "provisioned",
                StreamMode::OnDemand => "on_demand",
            }
            .to_string()
        });
        self.opt(out, &path, "retention", &stream.retention, |r| {
            self.doc.duration(r)
        });
        self.opt(
            out,
            &path,
            "partition_key",
            &stream.partition_key,
            |k| match &k.value {
                PartitionKey::Random => "random".to_string(),
                PartitionKey::Field(f) => word(f),
            },
        );
        self.encryption_attr(out, &path, &stream.encryption);
        self.opt(
            out,
            &path,
            "max_record_size",
            &stream.max_record_size,
            |s| self.doc.size(s),
        );
        self.encryption_block(out, &path, &stream.encryption);
        self.close(out, &path);
    }

    fn encryption_attr(
        &self,
        out: &mut Lines,
        path: &str,
        encryption: &Option<Spanned<Encryption>>,
    ) {
        let value = match encryption.as_ref().map(|e| &e.value) {
            Some(Encryption::Kms) => "kms",
            Some(Encryption::None) => "none",
            _ => return,
        };
        self.attr(out, path, "encryption", value.to_string());
    }

    fn encryption_block(
        &self,
        out: &mut Lines,
        path: &str,
        encryption: &Option<Spanned<Encryption>>,
    ) {
        if let Some(Encryption::KmsKey(key)) = encryption.as_ref().map(|e| &e.value) {
            let block = join(path, "encryption");
            self.open_block(out, "encryption".to_string(), &block, None);
            self.attr(out, &block, "kms_key", text(&key.value));
            self.close(out, &block);
        }
    }

    fn analytics(&self, out: &mut Lines, analytics: &Analytics) {
        let path = self.declaration(out, "analytics", "analytics", &analytics.name);
        match analytics.from.as_slice() {
            [] => {}
            [one] => self.attr(out, &path, "from", word(&one.value)),
            many => self.attr(out, &path, "from", list(many)),
        }
        self.opt(out, &path, "to", &analytics.to, |s| word(&s.value));
        self.opt(out, &path, "parallelism", &analytics.parallelism, |p| {
            p.value.to_string()
        });
        self.opt(
            out,
            &path,
            "checkpoint_interval",
            &analytics.checkpoint_interval,
            |d| self.doc.duration(d),
        );
        if let Some(sql) = &analytics.sql {
            let anchor = self.doc.anchor(&join(&path, "sql"));
            match raw_block_lines(&sql.text, &out.indent_text()) {
                Some(lines) => {
                    out.separate();
                    let mut lines = lines.into_iter();
                    out.line(
                        format!("sql = {}", lines.next().unwrap_or_default()),
                        &[anchor],
                    );
                    let multi_line = sql.text.contains('\n');
                    if multi_line {
                        out.no_trailing();
                    }
                    for line in lines {
                        out.verbatim(line);
                    }
                }
                None => out.align("sql", format!("= {}", quote(&sql.text)), anchor),
            }
        }
        self.close(out, &path);
    }

    fn firehose(&self, out: &mut Lines, firehose: &Firehose) {
        let path = self.declaration(out, "firehose", "firehoses", &firehose.name);
        self.opt(out, &path, "from", &firehose.from, |s| word(&s.value));
        self.opt(out, &path, "compression", &firehose.compression, |c| {
            c.value.name().to_string()
        });
        self.encryption_attr(out, &path, &firehose.encryption);
        let buffer = &firehose.buffer;
        // An empty `buffer` is kept: the AST remembers it was written.
        if buffer.size.is_some()
            || buffer.interval.is_some()
            || firehose.written.contains(&"buffer")
        {
            let block = join(&path, "buffer");
            self.open_block(out, "buffer".to_string(), &block, None);
            self.opt(out, &block, "size", &buffer.size, |s| self.doc.size(s));
            self.opt(out, &block, "interval", &buffer.interval, |d| {
                self.doc.duration(d)
            });
            self.close(out, &block);
        }
        self.encryption_block(out, &path, &firehose.encryption);
        if let Some(destination) = &firehose.to {
            self.destination(out, &path, destination);
        }
        self.close(out, &path);
    }

    fn destination(&self, out: &mut Lines, path: &str, destination: &Destination) {
        let kind = destination.kind.name();
        let to = join(path, "to");
        let block = join(&to, kind);
        self.open_block(out, format!("to {kind}"), &to, self.doc.anchor(&block));
        let p = &block;
        match &destination.kind {
            DestinationKind::S3(s3) => {
                self.opt(out, p, "bucket", &s3.bucket, |v| text(&v.value));
                self.opt(out, p, "prefix", &s3.prefix, |v| text(&v.value));
                self.opt(out, p, "error_prefix", &s3.error_prefix, |v| text(&v.value));
                if !s3.partition_by.is_empty() {
                    self.attr(out, p, "partition_by", list(&s3.partition_by));
                }
            }
            DestinationKind::Redshift(r) => {
                self.opt(out, p, "jdbc_url", &r.jdbc_url, |v| text(&v.value));
                self.opt(out, p, "table", &r.table, |v| text(&v.value));
                if !r.columns.is_empty() {
                    self.attr(out, p, "columns", list(&r.columns));
                }
                self.opt(out, p, "user", &r.user, |v| text(&v.value));
                self.opt(out, p, "password", &r.password, |v| text(&v.value));
                self.opt(out, p, "format", &r.format, |f| {
                    match f.value {
                        CopyFormat::Json => "json",
                        CopyFormat::Csv => "csv",
                    }
                    .to_string()
                });
                self.opt(out, p, "copy_options", &r.copy_options, |v| text(&v.value));
                self.opt(out, p, "bucket", &r.bucket, |v| text(&v.value));
                self.opt(out, p, "retry_duration", &r.retry_duration, |d| {
                    self.doc.duration(d)
                });
            }
            DestinationKind::OpenSearch(o) => {
                self.opt(out, p, "endpoint", &o.endpoint, |v| text(&v.value));
                self.opt(out, p, "index", &o.index, |v| text(&v.value));
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
                self.opt(out, p, "endpoint", &s.endpoint, |v| text(&v.value));
                self.opt(out, p, "token", &s.token, |v| text(&v.value));
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
                self.opt(out, p, "url", &h.url, |v| text(&v.value));
                self.opt(out, p, "name", &h.name, |v| text(&v.value));
                self.opt(out, p, "access_key", &h.access_key, |v| text(&v.value));
                self.opt(out, p, "backup", &h.backup, |b| {
                    backup_name(b.value).to_string()
                });
                self.opt(out, p, "retry_duration", &h.retry_duration, |d| {
                    self.doc.duration(d)
                });
            }
        }
        self.close(out, &block);
    }
}

/// Whether a field was written as a nested mapping / block (not as `struct<…>`).
pub fn is_nested(decl: &FieldDecl) -> bool {
    use crate::ir::types::Type;
    !decl.nested.is_empty()
        || decl.ty.as_ref().is_some_and(|t| {
            matches!(&t.value.ty, Type::Struct(f) if f.is_empty()) && !t.value.nullable
        })
}

pub fn rotation_name(rotation: OpenSearchRotation) -> &'static str {
    match rotation {
        OpenSearchRotation::NoRotation => "none",
        OpenSearchRotation::OneHour => "hour",
        OpenSearchRotation::OneDay => "day",
        OpenSearchRotation::OneWeek => "week",
        OpenSearchRotation::OneMonth => "month",
    }
}

pub fn backup_name(backup: BackupMode) -> &'static str {
    match backup {
        BackupMode::Failed => "failed",
        BackupMode::All => "all",
    }
}
