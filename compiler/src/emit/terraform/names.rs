//! Names: AWS resource names (`"${var.name_prefix}-<node>"`, valid for their service) and
//! Terraform identifiers (derived from node names, unique per resource type).

use std::collections::{BTreeMap, BTreeSet};

/// The longest name prefix the `name_prefix` variable accepts (the pipeline name's limit).
pub const PREFIX_MAX: usize = 40;
/// Firehose delivery stream names and IAM role names: at most 64 characters.
pub const SHORT_LIMIT: usize = 64;
/// Kinesis streams, Managed Flink applications and IAM policies: at most 128 characters.
pub const LONG_LIMIT: usize = 128;

/// A name made of the prefix variable and a fixed tail: `${var.name_prefix}-clicks`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsName {
    /// What follows the prefix, starting with `-`.
    pub tail: String,
    /// The service's length limit.
    pub limit: usize,
}

impl AwsName {
    /// `-<node><suffix>`, shortened with a hash when even the pipeline's own name as prefix would
    /// not fit `limit`.
    pub fn new(pipeline: &str, node: &str, suffix: &str, limit: usize) -> AwsName {
        let tail = format!("-{node}{suffix}");
        let room = limit.saturating_sub(pipeline.len().min(PREFIX_MAX));
        AwsName {
            tail: shorten(&tail, room),
            limit,
        }
    }

    /// The HCL expression: `"${var.name_prefix}-clicks"`.
    pub fn hcl(&self) -> String {
        format!("\"${{var.name_prefix}}{}\"", super::hcl::escape(&self.tail))
    }

    /// The longest prefix with which this name still fits its limit.
    pub fn prefix_room(&self) -> usize {
        self.limit.saturating_sub(self.tail.len())
    }
}

/// `text` cut to `room` characters, ending with `-` and 8 hex digits of its hash so that two
/// cut names stay distinct. Unchanged when it fits.
pub fn shorten(text: &str, room: usize) -> String {
    if text.len() <= room {
        return text.to_string();
    }
    let hash = format!("-{:08x}", fnv1a(text));
    let keep = room.saturating_sub(hash.len());
    let mut cut: String = text.chars().take(keep).collect();
    while cut.ends_with(['-', '_', '.']) {
        cut.pop();
    }
    cut + &hash
}

/// FNV-1a, 32 bits: a tiny, stable hash for name suffixes (the same on every machine).
pub fn fnv1a(text: &str) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in text.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash
}

/// A Terraform identifier for any text: letters, digits and `_`, starting with a letter.
pub fn identifier(text: &str) -> String {
    let mut id: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if !id.starts_with(|c: char| c.is_ascii_alphabetic()) {
        id.insert(0, 'x');
    }
    id
}

/// Claims Terraform identifiers, one namespace per resource type: a second claim of the same
/// identifier gets `_2`, `_3`, … in claim order.
#[derive(Debug, Default)]
pub struct Identifiers {
    used: BTreeMap<String, BTreeSet<String>>,
}

impl Identifiers {
    pub fn claim(&mut self, kind: &str, wanted: &str) -> String {
        let used = self.used.entry(kind.to_string()).or_default();
        let base = identifier(wanted);
        let mut id = base.clone();
        let mut n = 2;
        while used.contains(&id) {
            id = format!("{base}_{n}");
            n += 1;
        }
        used.insert(id.clone());
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_the_node_when_they_fit() {
        let name = AwsName::new("clickstream", "raw_archive", "", SHORT_LIMIT);
        assert_eq!(name.hcl(), "\"${var.name_prefix}-raw_archive\"");
        assert_eq!(name.prefix_room(), 64 - "-raw_archive".len());
    }

    #[test]
    fn long_names_are_cut_with_a_hash() {
        let node = "a_very_long_analytics_node_name_that_goes_on_and_on_and_on_for_ever";
        let name = AwsName::new("some-pipeline-name", node, "", SHORT_LIMIT);
        assert_eq!(name.tail.len(), 64 - "some-pipeline-name".len());
        assert!(name.tail.starts_with("-a_very_long"));
        assert_eq!(
            name,
            AwsName::new("some-pipeline-name", node, "", SHORT_LIMIT)
        );
        let other = AwsName::new("some-pipeline-name", &format!("{node}2"), "", SHORT_LIMIT);
        assert_ne!(name.tail, other.tail);
    }

    #[test]
    fn identifiers_are_valid_and_unique() {
        assert_eq!(identifier("acme-clicks.archive"), "acme_clicks_archive");
        assert_eq!(identifier("9lives"), "x9lives");
        let mut ids = Identifiers::default();
        assert_eq!(ids.claim("aws_s3_bucket", "logs"), "logs");
        assert_eq!(ids.claim("aws_s3_bucket", "logs"), "logs_2");
        assert_eq!(ids.claim("aws_iam_role", "logs"), "logs");
    }

    #[test]
    fn the_hash_is_stable() {
        assert_eq!(fnv1a(""), 0x811c_9dc5);
        assert_eq!(fnv1a("a"), 0xe40c_292c);
    }
}
