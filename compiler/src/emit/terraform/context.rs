//! Builds the template context from the checked pipeline: names, variables, keys and tags, then
//! each kind of node in its own module.

use indexmap::IndexMap;

use super::hcl::{self, Variables};
use super::model::{Module, Policy, Role, Statement, UserKey, Variable};
use super::names::{AwsName, Identifiers, PREFIX_MAX};
use super::{analytics, buckets, firehoses, iam, streams};
use crate::ast::{DestinationKind, Encryption, Spec};
use crate::ir::graph::Pipeline;

/// The ARN expression of the pipeline's own key.
pub const PIPELINE_KEY: &str = "aws_kms_key.pipeline.arn";

/// What the node builders share while the context is built.
pub struct Builder<'a> {
    pub pipeline: &'a Pipeline,
    pub vars: Variables,
    pub ids: Identifiers,
    /// Every length-limited name, for the longest prefix that keeps them valid.
    names: Vec<AwsName>,
    /// Keys the spec names: key text → (identifier, nodes using it).
    user_keys: IndexMap<String, (String, Vec<String>)>,
    pub buckets: buckets::Buckets,
}

impl<'a> Builder<'a> {
    /// A name `${var.name_prefix}-<node><suffix>`, recorded for the prefix limit.
    pub fn name(&mut self, node: &str, suffix: &str, limit: usize) -> AwsName {
        let name = AwsName::new(&self.pipeline.name, node, suffix, limit);
        self.names.push(name.clone());
        name
    }

    /// The ARN expression of the key encrypting a node: the pipeline's key by default, the
    /// spec's key when it names one, `None` when encryption is off.
    pub fn key(&mut self, encryption: Option<&Encryption>, node: &str) -> Option<String> {
        match encryption {
            None | Some(Encryption::Kms) => Some(PIPELINE_KEY.to_string()),
            Some(Encryption::None) => None,
            Some(Encryption::KmsKey(key)) => {
                let entry = self
                    .user_keys
                    .entry(key.value.clone())
                    .or_insert_with(|| (String::new(), Vec::new()));
                if entry.0.is_empty() {
                    let wanted = key.value.rsplit(['/', ':']).next().unwrap_or("key");
                    entry.0 = self.ids.claim("data.aws_kms_key", wanted);
                }
                entry.1.push(node.to_string());
                Some(format!("data.aws_kms_key.{}.arn", entry.0))
            }
        }
    }

    /// A role assumed by `service`, with its permissions.
    pub fn role(
        &mut self,
        node: &str,
        description: String,
        service: &str,
        source_arn: Option<String>,
        statements: Vec<Statement>,
    ) -> Role {
        let name = self.name(node, "", super::names::SHORT_LIMIT);
        Role {
            name: name.hcl(),
            description: hcl::string(&description),
            trust: Policy {
                id: self
                    .ids
                    .claim("data.aws_iam_policy_document", &format!("{node}_trust")),
                statements: iam::trust(service, source_arn),
            },
            permissions: Policy {
                id: self.ids.claim("data.aws_iam_policy_document", node),
                statements,
            },
        }
    }
}

/// The template context of a pipeline.
pub fn module(pipeline: &Pipeline) -> Module {
    let spec = &pipeline.spec;
    let mut builder = Builder {
        pipeline,
        vars: collect_variables(spec),
        ids: Identifiers::default(),
        names: Vec::new(),
        user_keys: IndexMap::new(),
        buckets: buckets::Buckets::default(),
    };
    let mut module = Module {
        pipeline: pipeline.name.clone(),
        region: hcl::string(
            spec.region
                .as_ref()
                .map_or("us-east-1", |r| r.value.as_str()),
        ),
        tags: spec
            .tags
            .iter()
            .map(|(k, v)| (hcl::string(&k.value), hcl::string(&v.value)))
            .collect(),
        ..Module::default()
    };
    module.streams = streams::streams(&mut builder);
    module.producers = streams::producers(&mut builder);
    module.firehoses = firehoses::firehoses(&mut builder);
    module.analytics = analytics::applications(&mut builder);
    module.buckets = builder.buckets.resources();
    module.log_bucket = module
        .buckets
        .iter()
        .find(|b| b.is_log_bucket)
        .map(|b| b.id.clone());
    module.user_keys = builder
        .user_keys
        .iter()
        .map(|(text, (id, nodes))| UserKey {
            id: id.clone(),
            key_id: builder.vars.expression(text),
            used_by: nodes.join(", "),
        })
        .collect();
    module.variables = builder
        .vars
        .names
        .iter()
        .filter(|(name, _)| !hcl::RESERVED.contains(&name.as_str()))
        .map(|(name, (secret, written))| Variable {
            name: name.clone(),
            description: hcl::string(&if *secret {
                format!("The spec's secret {written} (sensitive)")
            } else {
                format!("The spec's variable {written}")
            }),
            sensitive: *secret,
        })
        .collect();
    module.prefix_max = builder
        .names
        .iter()
        .map(AwsName::prefix_room)
        .fold(PREFIX_MAX, usize::min)
        .max(1);
    module
}

/// Every `${var.X}` and `${secret:X}` of the strings that may hold them.
fn collect_variables(spec: &Spec) -> Variables {
    let mut vars = Variables::default();
    let mut texts: Vec<&str> = Vec::new();
    for stream in &spec.streams {
        if let Some(Encryption::KmsKey(key)) = stream.encryption.as_ref().map(|e| &e.value) {
            texts.push(&key.value);
        }
    }
    for firehose in &spec.firehoses {
        if let Some(Encryption::KmsKey(key)) = firehose.encryption.as_ref().map(|e| &e.value) {
            texts.push(&key.value);
        }
        let Some(destination) = &firehose.to else {
            continue;
        };
        let values = match &destination.kind {
            DestinationKind::S3(d) => vec![&d.bucket],
            DestinationKind::Redshift(d) => {
                vec![&d.jdbc_url, &d.table, &d.user, &d.password, &d.bucket]
            }
            DestinationKind::OpenSearch(d) => vec![&d.endpoint, &d.index],
            DestinationKind::Splunk(d) => vec![&d.endpoint, &d.token],
            DestinationKind::Http(d) => vec![&d.url, &d.access_key],
        };
        texts.extend(values.into_iter().flatten().map(|v| v.value.as_str()));
    }
    for text in texts {
        vars.collect(text);
    }
    vars.finish();
    vars
}
