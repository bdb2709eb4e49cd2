//! The S3 buckets kin creates: each bucket a spec names (S3 destinations, Redshift staging),
//! kin's own bucket for Firehose backups and staging, the Flink code bucket, and the bucket
//! their access logs go to. Every one is locked down the same way (see `buckets.tf.j2`).

use indexmap::IndexMap;

use super::context::{Builder, PIPELINE_KEY};
use super::model::Bucket;

/// The buckets collected while the context is built, by name (a spec string or kin's role).
#[derive(Debug, Default)]
pub struct Buckets {
    entries: IndexMap<String, Bucket>,
}

/// kin's own buckets: (key, identifier, name tail, purpose). Their names are
/// `<prefix>-<tail>-<account id>`: at most 40 + 10 + 12 characters, within S3's 63.
const LOGS: (&str, &str, &str, &str) = (
    "kin:logs",
    "access_logs",
    "logs",
    "S3 server access logs of the pipeline's other buckets",
);
const FIREHOSE: (&str, &str, &str, &str) = (
    "kin:firehose",
    "firehose",
    "firehose",
    "Firehose backups and Redshift staging, one prefix per delivery stream",
);
const CODE: (&str, &str, &str, &str) = (
    "kin:code",
    "flink_code",
    "code",
    "the packaged Managed Flink applications",
);

impl Builder<'_> {
    /// The identifier of the bucket a spec string names, created once however many firehoses
    /// use it.
    pub fn user_bucket(&mut self, text: &str, node: &str, role: &str) -> String {
        if let Some(bucket) = self.buckets.entries.get(text) {
            return bucket.id.clone();
        }
        self.ensure_log_bucket();
        let wanted = if super::hcl::has_reference(text) {
            format!("{node}_bucket")
        } else {
            text.to_string()
        };
        let bucket = Bucket {
            id: self.ids.claim("aws_s3_bucket", &wanted),
            name: self.vars.expression(text),
            purpose: format!("{role}: the bucket {text} named in the spec"),
            key: Some(PIPELINE_KEY.to_string()),
            is_log_bucket: false,
        };
        let id = bucket.id.clone();
        self.buckets.entries.insert(text.to_string(), bucket);
        id
    }

    /// The identifier of kin's bucket for Firehose backups and staging.
    pub fn firehose_bucket(&mut self) -> String {
        self.ensure_log_bucket();
        self.kin_bucket(FIREHOSE)
    }

    /// The identifier of kin's bucket for the Flink code.
    pub fn code_bucket(&mut self) -> String {
        self.ensure_log_bucket();
        self.kin_bucket(CODE)
    }

    fn ensure_log_bucket(&mut self) {
        if !self.buckets.entries.contains_key(LOGS.0) {
            self.kin_bucket(LOGS);
        }
    }

    fn kin_bucket(&mut self, (key, id, tail, purpose): (&str, &str, &str, &str)) -> String {
        if let Some(bucket) = self.buckets.entries.get(key) {
            return bucket.id.clone();
        }
        let is_log_bucket = key == LOGS.0;
        let bucket = Bucket {
            id: self.ids.claim("aws_s3_bucket", id),
            name: format!("\"${{var.name_prefix}}-{tail}-${{local.account_id}}\""),
            purpose: purpose.to_string(),
            key: (!is_log_bucket).then(|| PIPELINE_KEY.to_string()),
            is_log_bucket,
        };
        let id = bucket.id.clone();
        self.buckets.entries.insert(key.to_string(), bucket);
        id
    }
}

impl Buckets {
    /// The buckets in the order they were first used, the log bucket first.
    pub fn resources(&mut self) -> Vec<Bucket> {
        std::mem::take(&mut self.entries).into_values().collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::source::SourceFile;

    #[test]
    fn buckets_are_created_once_and_logged_to_kin_s_log_bucket() {
        let yaml = "pipeline: b
schemas:
  A: { fields: { x: string } }
streams:
  s: { schema: A, shards: 1 }
firehoses:
  one: { from: s, to: { s3: { bucket: shared-bucket } } }
  two: { from: s, to: { s3: { bucket: shared-bucket } } }
  three: { from: s, to: { s3: { bucket: \"${var.where}\" } } }
";
        let compiled = crate::compile(&SourceFile::new("b.yaml", yaml.to_string()));
        let module = super::super::context::module(&compiled.pipeline);
        let ids: Vec<&str> = module.buckets.iter().map(|b| b.id.as_str()).collect();
        assert_eq!(ids, ["access_logs", "shared_bucket", "three_bucket"]);
        assert_eq!(module.buckets[2].name, "var.where");
        assert!(module.buckets[0].is_log_bucket && module.buckets[0].key.is_none());
        assert_eq!(module.log_bucket.as_deref(), Some("access_logs"));
    }
}
