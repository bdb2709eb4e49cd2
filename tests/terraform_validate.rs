//! Terraform output (`kin build --target terraform`) checked with real tools. For every example
//! and every valid fixture the module is rendered in-process and:
//!
//! - **always**: every `.tf` file is parsed by hcl-rs, and every block is checked against the AWS
//!   provider's own schema (`tests/terraform/provider-schema.json`, extracted from
//!   `@cdktf/provider-aws` by `tests/terraform/provider_schema.js`): only real arguments and
//!   nested blocks, recursively, every required one set, attributes written as attributes and
//!   blocks as blocks; every reference names a declared variable, local, resource or data
//!   source and an attribute it has; every function is one of Terraform's;
//! - **when `KIN_NODE_TOOLS`** names `tests/terraform` with its npm packages installed: every
//!   file is parsed by HashiCorp's own parser (`check_hcl.js`, hcl2json) and must have the
//!   structure hcl-rs read, and the committed schema must be what `provider_schema.js` extracts;
//! - **when `KIN_CHECKOV`** names a checkov executable: checkov over every module, zero failed
//!   checks and zero parsing errors.
//!
//! Hand-written modules under `tests/terraform/sample/` prove that each checker can fail.
//! `.ci/run` installs the tools and sets both variables; without them those parts print
//! `SKIPPED: …` (and fail when `CI=true`). `KIN_TERRAFORM_KEEP=DIR` writes the emitted modules to DIR for a look.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;

use hcl::expr::{Expression, ObjectKey, TemplateExpr, TraversalOperator};
use hcl::template::{Directive, Element, Template};
use hcl::{Block, Body};
use kin::ir::graph::Pipeline;
use kin_tests::{compile_clean, root};
use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// Modules under test
// ---------------------------------------------------------------------------------------------

/// One Terraform module: a name (the directory it is written to) and its files.
struct Module {
    name: String,
    files: Vec<(String, String)>,
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "yaml"));
    files.sort();
    files
}

/// Every spec whose Terraform is checked: (module name, path).
fn specs() -> Vec<(String, PathBuf)> {
    let mut specs = Vec::new();
    let mut examples: Vec<PathBuf> = fs::read_dir(root().join("examples"))
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    examples.retain(|d| d.join("pipeline.yaml").exists());
    examples.sort();
    for dir in examples {
        let name = dir.file_name().map(|n| n.to_string_lossy().into_owned());
        specs.push((name.unwrap_or_default(), dir.join("pipeline.yaml")));
    }
    for path in yaml_files(&root().join("tests/fixtures/valid")) {
        let stem = path.file_stem().map(|n| n.to_string_lossy().into_owned());
        specs.push((format!("fixture-{}", stem.unwrap_or_default()), path));
    }
    specs
}

/// The Terraform of one pipeline, rendered in-process.
fn render(pipeline: &Pipeline) -> Vec<(String, String)> {
    kin::emit::terraform::terraform(pipeline)
}

/// The emitted module of every example and valid fixture.
fn emitted_modules() -> Vec<Module> {
    let specs = specs();
    assert!(specs.len() >= 5, "expected the examples, found {specs:?}");
    specs
        .into_iter()
        .map(|(name, path)| {
            let files = render(&compile_clean(&path));
            assert!(
                files.iter().any(|(p, _)| p.ends_with(".tf")),
                "{name}: no .tf file in {:?}",
                files.iter().map(|(p, _)| p).collect::<Vec<_>>()
            );
            Module { name, files }
        })
        .collect()
}

/// A hand-written module under `tests/terraform/sample/`.
fn sample(name: &str) -> Module {
    let dir = root().join("tests/terraform/sample").join(name);
    let mut files = Vec::new();
    collect_files(&dir, &dir, &mut files);
    assert!(!files.is_empty(), "no files in {}", dir.display());
    Module {
        name: name.to_string(),
        files,
    }
}

fn collect_files(base: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect_files(base, &path, out);
        } else {
            let rel = path.strip_prefix(base).unwrap_or(&path);
            let text = fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
            out.push((rel.to_string_lossy().replace('\\', "/"), text));
        }
    }
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(what: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("kin-{what}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Writes each module to `DIR/<module name>/`; returns the module directories.
fn write_modules(dir: &Path, modules: &[Module]) -> Vec<PathBuf> {
    modules
        .iter()
        .map(|module| {
            let base = dir.join(&module.name);
            for (path, content) in &module.files {
                let file = base.join(path);
                if let Some(parent) = file.parent() {
                    fs::create_dir_all(parent).expect("create the module directory");
                }
                fs::write(&file, content).expect("write a module file");
            }
            base
        })
        .collect()
}

fn tf_files(module: &Module) -> impl Iterator<Item = &(String, String)> {
    module.files.iter().filter(|(p, _)| p.ends_with(".tf"))
}

// ---------------------------------------------------------------------------------------------
// The provider schema
// ---------------------------------------------------------------------------------------------

fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let path = root().join("tests/terraform/provider-schema.json");
        let text =
            fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    })
}

/// One body's schema: `{ "attributes": { NAME: { "required": bool, .. } }, "blocks": { NAME:
/// { "nesting": .., "required": bool, "attributes": .., "blocks": .. } } }`.
fn names(schema: &Value, key: &str) -> Vec<String> {
    schema[key]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

fn required(schema: &Value, key: &str) -> Vec<String> {
    schema[key]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(_, v)| v["required"] == Value::Bool(true))
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// A body schema written in JSON by hand (Terraform's own blocks).
fn hand_schema(json: &str) -> Value {
    serde_json::from_str(json).expect("a hand-written schema")
}

/// `variable "x" { ... }`.
fn variable_schema() -> Value {
    hand_schema(
        r#"{"attributes": {"type": {}, "default": {}, "description": {}, "sensitive": {},
              "nullable": {}, "ephemeral": {}},
            "blocks": {"validation": {"attributes": {"condition": {"required": true},
              "error_message": {"required": true}}, "blocks": {}}}}"#,
    )
}

/// `output "x" { ... }`.
fn output_schema() -> Value {
    hand_schema(
        r#"{"attributes": {"value": {"required": true}, "description": {}, "sensitive": {},
              "depends_on": {}, "ephemeral": {}},
            "blocks": {"precondition": {"attributes": {"condition": {"required": true},
              "error_message": {"required": true}}, "blocks": {}}}}"#,
    )
}

/// `lifecycle { ... }` in a resource or data block.
fn lifecycle_schema() -> Value {
    let condition = r#"{"attributes": {"condition": {"required": true},
                        "error_message": {"required": true}}, "blocks": {}}"#;
    hand_schema(&format!(
        r#"{{"attributes": {{"create_before_destroy": {{}}, "prevent_destroy": {{}},
              "ignore_changes": {{}}, "replace_triggered_by": {{}}}},
            "blocks": {{"precondition": {condition}, "postcondition": {condition}}}}}"#
    ))
}

/// Terraform's built-in functions (Terraform 1.6 – 1.14).
#[rustfmt::skip]
const FUNCTIONS: &[&str] = &[
    "abs", "abspath", "alltrue", "anytrue", "base64decode", "base64encode", "base64gzip",
    "base64sha256", "base64sha512", "basename", "bcrypt", "can", "ceil", "chomp", "chunklist",
    "cidrhost", "cidrnetmask", "cidrsubnet", "cidrsubnets", "coalesce", "coalescelist", "compact",
    "concat", "contains", "csvdecode", "dirname", "distinct", "element", "endswith",
    "ephemeralasnull", "file", "filebase64", "filebase64sha256", "filebase64sha512", "fileexists",
    "filemd5", "fileset", "filesha1", "filesha256", "filesha512", "flatten", "floor", "format",
    "formatdate", "formatlist", "indent", "index", "issensitive", "join", "jsondecode",
    "jsonencode", "keys", "length", "log", "lookup", "lower", "matchkeys", "max", "md5", "merge",
    "min", "nonsensitive", "one", "parseint", "pathexpand", "plantimestamp", "pow", "range",
    "regex", "regexall", "replace", "reverse", "rsadecrypt", "sensitive", "setintersection",
    "setproduct", "setsubtract", "setunion", "sha1", "sha256", "sha512", "signum", "slice", "sort",
    "split", "startswith", "strcontains", "strrev", "substr", "sum", "templatefile",
    "templatestring", "textdecodebase64", "textencodebase64", "timeadd", "timecmp", "timestamp",
    "title", "tobool", "tolist", "tomap", "tonumber", "toset", "tostring", "transpose", "trim",
    "trimprefix", "trimspace", "trimsuffix", "try", "type", "upper", "urlencode", "uuid", "uuidv5",
    "values", "yamldecode", "yamlencode", "zipmap",
];

/// The provider a resource type belongs to, by Terraform's rule (the prefix before `_`).
fn provider_of(resource_type: &str) -> &str {
    resource_type.split('_').next().unwrap_or(resource_type)
}

/// Terraform's rule for a block label that names something: a letter or underscore, then
/// letters, digits, underscores and dashes.
fn valid_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn did_you_mean(name: &str, candidates: &[String]) -> String {
    let best = candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(name, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match best {
        Some((_, c)) => format!(" (did you mean `{c}`?)"),
        None => String::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// The schema and reference check (hcl-rs, in-process)
// ---------------------------------------------------------------------------------------------

/// What a module declares, for the reference check.
#[derive(Default)]
struct Declared {
    variables: BTreeSet<String>,
    locals: BTreeSet<String>,
    /// `TYPE.NAME` of resources and of data sources.
    resources: BTreeMap<String, String>,
    data: BTreeMap<String, String>,
    /// Providers named in `terraform { required_providers { ... } }`, when there is one.
    required_providers: Option<BTreeSet<String>>,
}

/// Where a problem is: `file: address: path`.
struct Place<'a> {
    file: &'a str,
    address: String,
}

impl Place<'_> {
    fn at(&self, path: &str, message: impl std::fmt::Display) -> String {
        if path.is_empty() {
            format!("{}: {}: {message}", self.file, self.address)
        } else {
            format!("{}: {}: {path}: {message}", self.file, self.address)
        }
    }
}

fn label(block: &Block, i: usize) -> Option<&str> {
    block.labels.get(i).map(|l| l.as_str())
}

fn join_path(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

/// Checks one module: every problem as `file: address: path: message`.
fn check_module(module: &Module) -> Vec<String> {
    let mut problems = Vec::new();
    let mut parsed = Vec::new();
    for (file, text) in tf_files(module) {
        match hcl::parse(text) {
            Ok(body) => parsed.push((file.as_str(), body)),
            Err(e) => problems.push(format!("{file}: hcl-rs cannot parse it: {e}")),
        }
    }
    let declared = declarations(&parsed, &mut problems);
    for (file, body) in &parsed {
        for attr in body.attributes() {
            problems.push(format!(
                "{file}: top-level attribute `{}`: Terraform allows only blocks here",
                attr.key.as_str()
            ));
        }
        for block in body.blocks() {
            check_top_block(file, block, &declared, &mut problems);
        }
    }
    problems
}

/// Collects declarations; reports duplicates and invalid names.
fn declarations(parsed: &[(&str, Body)], problems: &mut Vec<String>) -> Declared {
    let mut declared = Declared::default();
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    for (file, body) in parsed {
        for block in body.blocks() {
            let kind = block.identifier.as_str();
            let labels: Vec<&str> = block.labels.iter().map(|l| l.as_str()).collect();
            let address = match (kind, labels.as_slice()) {
                ("resource", [t, n]) => {
                    declared.resources.insert(format!("{t}.{n}"), t.to_string());
                    format!("{t}.{n}")
                }
                ("data", [t, n]) => {
                    declared.data.insert(format!("{t}.{n}"), t.to_string());
                    format!("data.{t}.{n}")
                }
                ("variable", [n]) => {
                    declared.variables.insert(n.to_string());
                    format!("var.{n}")
                }
                ("output", [n]) => format!("output.{n}"),
                ("locals", []) => {
                    for attr in block.body.attributes() {
                        let name = attr.key.as_str();
                        if !declared.locals.insert(name.to_string()) {
                            problems.push(format!("{file}: local.{name} is declared twice"));
                        }
                    }
                    continue;
                }
                ("terraform", []) => {
                    let mut providers = BTreeSet::new();
                    for rp in block
                        .body
                        .blocks()
                        .filter(|b| b.identifier.as_str() == "required_providers")
                    {
                        for attr in rp.body.attributes() {
                            providers.insert(attr.key.as_str().to_string());
                        }
                    }
                    declared.required_providers = Some(providers);
                    continue;
                }
                _ => continue,
            };
            for name in labels.iter().skip(if kind == "resource" || kind == "data" {
                1
            } else {
                0
            }) {
                if !valid_identifier(name) {
                    problems.push(format!(
                        "{file}: {address}: `{name}` is not a valid Terraform name (a letter or \
                         underscore, then letters, digits, underscores, dashes)"
                    ));
                }
            }
            if let Some(other) = seen.insert(address.clone(), file) {
                problems.push(format!(
                    "{file}: {address} is declared twice (also in {other})"
                ));
            }
        }
    }
    declared
}

fn check_top_block(file: &str, block: &Block, declared: &Declared, problems: &mut Vec<String>) {
    let kind = block.identifier.as_str();
    let labels: Vec<&str> = block.labels.iter().map(|l| l.as_str()).collect();
    let expect_labels = |n: usize, problems: &mut Vec<String>| {
        if labels.len() != n {
            problems.push(format!(
                "{file}: `{kind}` block with {} labels, Terraform expects {n}",
                labels.len()
            ));
            false
        } else {
            true
        }
    };
    match kind {
        "resource" | "data" => {
            if !expect_labels(2, problems) {
                return;
            }
            let (ty, name) = (labels[0], labels[1]);
            let address = if kind == "data" {
                format!("data.{ty}.{name}")
            } else {
                format!("{ty}.{name}")
            };
            let place = Place { file, address };
            if let Some(providers) = &declared.required_providers {
                if !providers.contains(provider_of(ty)) {
                    problems.push(place.at(
                        "",
                        format!(
                            "provider `{}` is not in terraform.required_providers (tflint's \
                             terraform_required_providers: every provider needs a source and \
                             a version)",
                            provider_of(ty)
                        ),
                    ));
                }
            }
            let schema = &schema()[kind][ty];
            if schema.is_null() {
                problems.push(place.at(
                    "",
                    format!(
                        "{kind} type `{ty}` is not in tests/terraform/provider-schema.json: if \
                         the provider has it, add it to TYPES in tests/terraform/provider_schema.js \
                         and run `node provider_schema.js --write` there"
                    ),
                ));
            } else {
                let meta = ["count", "for_each", "depends_on", "provider"];
                check_body(&block.body, schema, &meta, true, &place, "", problems);
            }
            check_expressions(&block.body, declared, &place, "", problems);
        }
        "provider" => {
            if !expect_labels(1, problems) {
                return;
            }
            let place = Place {
                file,
                address: format!("provider.{}", labels[0]),
            };
            let schema = match labels[0] {
                "aws" => schema()["provider"]["aws"].clone(),
                // hashicorp/archive has no provider configuration.
                "archive" => hand_schema(r#"{"attributes": {}, "blocks": {}}"#),
                other => {
                    problems.push(place.at("", format!("no schema for provider `{other}`")));
                    return;
                }
            };
            check_body(
                &block.body,
                &schema,
                &["alias"],
                false,
                &place,
                "",
                problems,
            );
            check_expressions(&block.body, declared, &place, "", problems);
        }
        "variable" | "output" => {
            if !expect_labels(1, problems) {
                return;
            }
            let prefix = if kind == "variable" { "var" } else { "output" };
            let place = Place {
                file,
                address: format!("{prefix}.{}", labels[0]),
            };
            let schema = if kind == "variable" {
                variable_schema()
            } else {
                output_schema()
            };
            check_body(&block.body, &schema, &[], false, &place, "", problems);
            check_expressions(&block.body, declared, &place, "", problems);
        }
        "locals" => {
            expect_labels(0, problems);
            let place = Place {
                file,
                address: "locals".to_string(),
            };
            for b in block.body.blocks() {
                problems.push(place.at(b.identifier.as_str(), "a block inside locals"));
            }
            check_expressions(&block.body, declared, &place, "", problems);
        }
        "terraform" => {
            expect_labels(0, problems);
            check_terraform_block(file, block, problems);
        }
        other => problems.push(format!(
            "{file}: top-level `{other}` block: not one kin emits (terraform, provider, variable, \
             locals, resource, data, output); teach tests/terraform_validate.rs about it first"
        )),
    }
}

fn check_terraform_block(file: &str, block: &Block, problems: &mut Vec<String>) {
    let place = Place {
        file,
        address: "terraform".to_string(),
    };
    for attr in block.body.attributes() {
        let key = attr.key.as_str();
        if !["required_version", "experiments"].contains(&key) {
            problems.push(place.at(key, "not an argument of the terraform block"));
        }
    }
    for b in block.body.blocks() {
        let name = b.identifier.as_str();
        match name {
            "required_providers" => {
                for attr in b.body.attributes() {
                    let provider = attr.key.as_str();
                    let path = format!("required_providers.{provider}");
                    match &attr.expr {
                        Expression::Object(object) => {
                            let keys: BTreeSet<String> = object
                                .keys()
                                .map(|k| match k {
                                    ObjectKey::Identifier(i) => i.as_str().to_string(),
                                    ObjectKey::Expression(Expression::String(s)) => s.clone(),
                                    other => format!("{other:?}"),
                                })
                                .collect();
                            for needed in ["source", "version"] {
                                if !keys.contains(needed) {
                                    problems.push(place.at(&path, format!("no `{needed}`")));
                                }
                            }
                            for key in &keys {
                                if !["source", "version", "configuration_aliases"]
                                    .contains(&key.as_str())
                                {
                                    problems.push(place.at(&path, format!("unknown key `{key}`")));
                                }
                            }
                        }
                        _ => problems.push(place.at(&path, "expected { source, version }")),
                    }
                }
            }
            "backend" | "cloud" | "provider_meta" => {}
            other => problems.push(place.at(other, "not a block of the terraform block")),
        }
    }
}

/// Checks a body against its schema, recursively. `meta` are the meta-arguments allowed here;
/// `lifecycle` allows a `lifecycle` block (resources and data sources).
fn check_body(
    body: &Body,
    schema: &Value,
    meta: &[&str],
    lifecycle: bool,
    place: &Place,
    path: &str,
    problems: &mut Vec<String>,
) {
    let attributes = names(schema, "attributes");
    let blocks = names(schema, "blocks");
    let all: Vec<String> = attributes.iter().chain(&blocks).cloned().collect();
    let mut set: BTreeSet<String> = BTreeSet::new();
    for attr in body.attributes() {
        let key = attr.key.as_str();
        let here = join_path(path, key);
        if !set.insert(key.to_string()) {
            problems.push(place.at(&here, "set twice"));
        }
        if meta.contains(&key) || attributes.iter().any(|a| a == key) {
            continue;
        }
        if blocks.iter().any(|b| b == key) {
            problems.push(place.at(
                &here,
                format!("`{key}` is a nested block: write `{key} {{ … }}`, not `{key} = …`"),
            ));
        } else {
            problems.push(place.at(
                &here,
                format!("unknown attribute{}", did_you_mean(key, &all)),
            ));
        }
    }
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for block in body.blocks() {
        let name = block.identifier.as_str();
        let (name, content, dynamic) = if name == "dynamic" {
            let Some(inner) = label(block, 0) else {
                problems
                    .push(place.at(&join_path(path, "dynamic"), "dynamic block without a label"));
                continue;
            };
            let content = block
                .body
                .blocks()
                .find(|b| b.identifier.as_str() == "content");
            let Some(content) = content else {
                problems.push(place.at(
                    &join_path(path, &format!("dynamic.{inner}")),
                    "no content block",
                ));
                continue;
            };
            (inner, &content.body, true)
        } else {
            (name, &block.body, false)
        };
        let index = counts.entry(name.to_string()).or_insert(0);
        let here = if dynamic {
            join_path(path, &format!("dynamic.{name}.content"))
        } else {
            join_path(path, &format!("{name}[{index}]"))
        };
        *index += 1;
        if !dynamic && !block.labels.is_empty() {
            problems.push(place.at(&here, "a nested block takes no labels"));
        }
        if lifecycle && name == "lifecycle" && !dynamic {
            check_body(
                content,
                &lifecycle_schema(),
                &[],
                false,
                place,
                &here,
                problems,
            );
        } else if blocks.iter().any(|b| b == name) {
            let nested = &schema["blocks"][name];
            check_body(content, nested, &[], false, place, &here, problems);
        } else if attributes.iter().any(|a| a == name) {
            problems.push(place.at(
                &here,
                format!("`{name}` is an attribute: write `{name} = …`, not a block"),
            ));
        } else {
            problems.push(place.at(&here, format!("unknown block{}", did_you_mean(name, &all))));
        }
    }
    for name in required(schema, "attributes") {
        if !set.contains(&name) {
            problems.push(place.at(&join_path(path, &name), "required attribute is not set"));
        }
    }
    for name in required(schema, "blocks") {
        if !counts.contains_key(&name) {
            problems.push(place.at(&join_path(path, &name), "required block is missing"));
        }
    }
}

/// Checks every expression under a body: references and function names.
fn check_expressions(
    body: &Body,
    declared: &Declared,
    place: &Place,
    path: &str,
    problems: &mut Vec<String>,
) {
    for attr in body.attributes() {
        let here = join_path(path, attr.key.as_str());
        check_expression(&attr.expr, declared, place, &here, problems);
    }
    for block in body.blocks() {
        let here = join_path(path, block.identifier.as_str());
        check_expressions(&block.body, declared, place, &here, problems);
    }
}

fn check_expression(
    expr: &Expression,
    declared: &Declared,
    place: &Place,
    path: &str,
    problems: &mut Vec<String>,
) {
    let recurse = |e: &Expression, problems: &mut Vec<String>| {
        check_expression(e, declared, place, path, problems)
    };
    match expr {
        Expression::Null | Expression::Bool(_) | Expression::Number(_) | Expression::String(_) => {}
        Expression::Array(items) => items.iter().for_each(|e| recurse(e, problems)),
        Expression::Object(object) => {
            for (key, value) in object {
                if let ObjectKey::Expression(k) = key {
                    recurse(k, problems);
                }
                recurse(value, problems);
            }
        }
        Expression::TemplateExpr(template) => {
            check_template_expr(template, declared, place, path, problems)
        }
        Expression::Variable(v) => {
            check_reference(v.as_str(), &[], place, path, declared, problems)
        }
        Expression::Traversal(traversal) => {
            match &traversal.expr {
                Expression::Variable(v) => {
                    let ops: Vec<&str> = traversal
                        .operators
                        .iter()
                        .filter_map(|op| match op {
                            TraversalOperator::GetAttr(id) => Some(id.as_str()),
                            _ => None,
                        })
                        .collect();
                    check_reference(v.as_str(), &ops, place, path, declared, problems);
                }
                other => recurse(other, problems),
            }
            for op in &traversal.operators {
                if let TraversalOperator::Index(e) = op {
                    recurse(e, problems);
                }
            }
        }
        Expression::FuncCall(call) => {
            let name = call.name.name.as_str();
            if call.name.namespace.is_empty() && !FUNCTIONS.contains(&name) {
                problems.push(place.at(path, format!("`{name}` is not a Terraform function")));
            }
            call.args.iter().for_each(|e| recurse(e, problems));
        }
        Expression::Parenthesis(e) => recurse(e, problems),
        Expression::Conditional(c) => {
            recurse(&c.cond_expr, problems);
            recurse(&c.true_expr, problems);
            recurse(&c.false_expr, problems);
        }
        Expression::Operation(op) => match op.as_ref() {
            hcl::expr::Operation::Unary(u) => recurse(&u.expr, problems),
            hcl::expr::Operation::Binary(b) => {
                recurse(&b.lhs_expr, problems);
                recurse(&b.rhs_expr, problems);
            }
        },
        Expression::ForExpr(f) => {
            recurse(&f.collection_expr, problems);
            if let Some(k) = &f.key_expr {
                recurse(k, problems);
            }
            recurse(&f.value_expr, problems);
            if let Some(c) = &f.cond_expr {
                recurse(c, problems);
            }
        }
        // `Expression` is non-exhaustive.
        #[allow(unreachable_patterns)]
        _ => problems.push(place.at(path, format!("unrecognized expression {expr}"))),
    }
}

fn check_template_expr(
    template: &TemplateExpr,
    declared: &Declared,
    place: &Place,
    path: &str,
    problems: &mut Vec<String>,
) {
    match Template::from_expr(template) {
        Ok(t) => check_template(&t, declared, place, path, problems),
        Err(e) => problems.push(place.at(path, format!("template does not parse: {e}"))),
    }
}

fn check_template(
    template: &Template,
    declared: &Declared,
    place: &Place,
    path: &str,
    problems: &mut Vec<String>,
) {
    for element in template.elements() {
        match element {
            Element::Literal(_) => {}
            Element::Interpolation(i) => check_expression(&i.expr, declared, place, path, problems),
            Element::Directive(d) => match d.as_ref() {
                Directive::If(d) => {
                    check_expression(&d.cond_expr, declared, place, path, problems);
                    check_template(&d.true_template, declared, place, path, problems);
                    if let Some(f) = &d.false_template {
                        check_template(f, declared, place, path, problems);
                    }
                }
                Directive::For(d) => {
                    check_expression(&d.collection_expr, declared, place, path, problems);
                    check_template(&d.template, declared, place, path, problems);
                }
            },
        }
    }
}

/// Checks a reference `root.a.b…` (only the attribute names, indexes skipped).
fn check_reference(
    root: &str,
    attrs: &[&str],
    place: &Place,
    path: &str,
    declared: &Declared,
    problems: &mut Vec<String>,
) {
    let shown = std::iter::once(root)
        .chain(attrs.iter().copied())
        .collect::<Vec<_>>()
        .join(".");
    let mut problem =
        |message: String| problems.push(place.at(path, format!("`{shown}`: {message}")));
    match root {
        "var" => match attrs.first() {
            Some(name) if declared.variables.contains(*name) => {}
            Some(name) => problem(format!("no variable `{name}` is declared")),
            None => problem("`var` alone".to_string()),
        },
        "local" => match attrs.first() {
            Some(name) if declared.locals.contains(*name) => {}
            Some(name) => problem(format!("no local `{name}` is declared")),
            None => problem("`local` alone".to_string()),
        },
        "data" => match attrs {
            [ty, name, rest @ ..] => {
                let key = format!("{ty}.{name}");
                if !declared.data.contains_key(&key) {
                    problem(format!("no data source `data.{key}` is declared"));
                } else if let Some(attr) = rest.first() {
                    check_readable("data", ty, attr, &mut problem);
                }
            }
            _ => problem("incomplete data source reference".to_string()),
        },
        // Resource references: every provider kin uses names its types `<provider>_…`.
        ty if ty.starts_with("aws_") || ty.starts_with("archive_") => match attrs {
            [name, rest @ ..] => {
                let key = format!("{ty}.{name}");
                if !declared.resources.contains_key(&key) {
                    problem(format!("no resource `{key}` is declared"));
                } else if let Some(attr) = rest.first() {
                    check_readable("resource", ty, attr, &mut problem);
                }
            }
            [] => problem("a resource type without a name".to_string()),
        },
        // path.module, each.value, count.index, iterators of dynamic blocks and for
        // expressions, terraform.workspace, self.
        _ => {}
    }
}

fn check_readable(kind: &str, ty: &str, attr: &str, problem: &mut impl FnMut(String)) {
    let readable = &schema()[kind][ty]["readable"];
    let Some(list) = readable.as_array() else {
        return; // an unknown type is reported where it is declared
    };
    if !list.iter().any(|v| v.as_str() == Some(attr)) {
        let names: Vec<String> = list
            .iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect();
        problem(format!(
            "{ty} has no attribute `{attr}`{}",
            did_you_mean(attr, &names)
        ));
    }
}

// ---------------------------------------------------------------------------------------------
// External tools
// ---------------------------------------------------------------------------------------------

/// The value of a tool's variable; in CI (`CI=true`, as the CI runner sets it) a missing one is
/// an error, so that a broken `.ci/run` cannot turn the external checks into skips.
fn tool_var(name: &str) -> Option<std::ffi::OsString> {
    let value = std::env::var_os(name);
    let in_ci = std::env::var("CI").is_ok_and(|v| v == "true");
    assert!(
        value.is_some() || !in_ci,
        "CI=true but {name} is not set: .ci/run must install the tool and set it"
    );
    value
}

/// `tests/terraform` with its npm packages installed, from `KIN_NODE_TOOLS`.
fn node_tools() -> Option<PathBuf> {
    let dir = PathBuf::from(tool_var("KIN_NODE_TOOLS")?);
    let hcl2json = dir.join("node_modules/@cdktf/hcl2json/package.json");
    assert!(
        hcl2json.exists(),
        "KIN_NODE_TOOLS={} has no node_modules/@cdktf/hcl2json: run `npm ci` there",
        dir.display()
    );
    Some(dir)
}

/// The checkov executable, from `KIN_CHECKOV`.
fn checkov_exe() -> Option<PathBuf> {
    tool_var("KIN_CHECKOV").map(PathBuf::from)
}

fn node(tools: &Path, script: &str, args: &[&Path]) -> String {
    let out = Command::new("node")
        .arg(tools.join(script))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run node {script}: {e}"));
    assert!(
        out.status.success(),
        "node {script} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("node prints UTF-8")
}

/// Parses every file of the modules in `dirs` with hcl2json; every problem, with the structure
/// (addresses and the keys of each) compared to what hcl-rs read.
fn hcl2json_problems(tools: &Path, modules: &[Module], dirs: &[PathBuf]) -> Vec<String> {
    let args: Vec<&Path> = dirs.iter().map(PathBuf::as_path).collect();
    let out = node(tools, "check_hcl.js", &args);
    let result: Value = serde_json::from_str(&out).expect("check_hcl.js prints JSON");
    let mut problems = Vec::new();
    for (module, dir) in modules.iter().zip(dirs) {
        let files = &result[dir.display().to_string()];
        for (file, text) in tf_files(module) {
            let entry = &files[file];
            if let Some(error) = entry["error"].as_str() {
                problems.push(format!(
                    "{}/{file}: HashiCorp's HCL parser: {error}",
                    module.name
                ));
                continue;
            }
            let Some(theirs) = entry["blocks"].as_object() else {
                problems.push(format!(
                    "{}/{file}: check_hcl.js did not read it",
                    module.name
                ));
                continue;
            };
            let Ok(body) = hcl::parse(text) else {
                continue; // reported by the hcl-rs check
            };
            let ours = structure(&body);
            let theirs: BTreeMap<String, BTreeSet<String>> = theirs
                .iter()
                .map(|(k, v)| {
                    let keys = v.as_array().into_iter().flatten();
                    (
                        k.clone(),
                        keys.filter_map(|k| k.as_str().map(String::from)).collect(),
                    )
                })
                .collect();
            if ours != theirs {
                problems.push(format!(
                    "{}/{file}: hcl-rs and HashiCorp's parser read different structures:\n  \
                     hcl-rs:   {ours:?}\n  hcl2json: {theirs:?}",
                    module.name
                ));
            }
        }
    }
    problems
}

/// What `check_hcl.js` prints for a file, from hcl-rs's parse.
fn structure(body: &Body) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for block in body.blocks() {
        let mut address = block.identifier.as_str().to_string();
        for label in &block.labels {
            address.push('.');
            address.push_str(label.as_str());
        }
        let keys = out.entry(address).or_default();
        keys.extend(block.body.attributes().map(|a| a.key.as_str().to_string()));
        keys.extend(
            block
                .body
                .blocks()
                .map(|b| b.identifier.as_str().to_string()),
        );
    }
    out
}

/// The result of one checkov run.
struct Checkov {
    passed: u64,
    failed: u64,
    parsing_errors: u64,
    /// checkov's own report of the failures (`--compact` CLI output).
    report: String,
    /// `MODULE/FILE:LINES: resource: CHECK title`, one per failed check.
    failures: Vec<String>,
}

/// Runs checkov once over `dir` (one sub-directory per module: checkov keeps them apart).
fn run_checkov(exe: &Path, dir: &Path) -> Checkov {
    let out_dir = dir.with_extension("checkov");
    let _ = fs::remove_dir_all(&out_dir);
    let out = Command::new(exe)
        .arg("-d")
        .arg(dir)
        .args([
            "--framework",
            "terraform",
            "--skip-download",
            "--quiet",
            "--compact",
        ])
        .args(["-o", "cli", "-o", "json", "--output-file-path"])
        .arg(&out_dir)
        .env("BC_SKIP_MAPPING", "TRUE")
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", exe.display()));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let json = fs::read_to_string(out_dir.join("results_json.json")).unwrap_or_else(|e| {
        panic!(
            "checkov wrote no JSON report ({e}); exit {:?}\n{stderr}",
            out.status.code()
        )
    });
    let report = fs::read_to_string(out_dir.join("results_cli.txt")).unwrap_or_default();
    let _ = fs::remove_dir_all(&out_dir);
    let value: Value = serde_json::from_str(&json).expect("checkov's JSON report");
    // One framework gives an object; several a list.
    let reports: Vec<&Value> = match &value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let mut result = Checkov {
        passed: 0,
        failed: 0,
        parsing_errors: 0,
        report,
        failures: Vec::new(),
    };
    for r in reports {
        let summary = &r["summary"];
        result.passed += summary["passed"].as_u64().unwrap_or(0);
        result.failed += summary["failed"].as_u64().unwrap_or(0);
        result.parsing_errors += summary["parsing_errors"].as_u64().unwrap_or(0);
        for f in r["results"]["failed_checks"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let lines = &f["file_line_range"];
            result.failures.push(format!(
                "{}:{}-{}: {}: {} {}",
                f["file_path"]
                    .as_str()
                    .unwrap_or("?")
                    .trim_start_matches('/'),
                lines[0],
                lines[1],
                f["resource"].as_str().unwrap_or("?"),
                f["check_id"].as_str().unwrap_or("?"),
                f["check_name"].as_str().unwrap_or("?"),
            ));
        }
    }
    result
}

fn report(what: &str, problems: &[String]) -> String {
    let mut text = format!("{what}: {} problem(s)\n", problems.len());
    for p in problems {
        let _ = writeln!(text, "  {p}");
    }
    text
}

// ---------------------------------------------------------------------------------------------
// Tests: the emitted modules
// ---------------------------------------------------------------------------------------------

#[test]
fn emitted_terraform_parses_and_matches_the_provider_schema() {
    let modules = emitted_modules();
    if let Some(dir) = std::env::var_os("KIN_TERRAFORM_KEEP") {
        // For a look at what was checked.
        write_modules(Path::new(&dir), &modules);
    }
    let started = Instant::now();
    let mut problems = Vec::new();
    for module in &modules {
        for p in check_module(module) {
            problems.push(format!("{}/{p}", module.name));
        }
    }
    println!(
        "hcl-rs + provider schema: {} modules in {:.2?}",
        modules.len(),
        started.elapsed()
    );
    assert!(
        problems.is_empty(),
        "{}",
        report("emitted Terraform", &problems)
    );
}

#[test]
fn hashicorp_hcl_parser_accepts_emitted_terraform() {
    let Some(tools) = node_tools() else {
        println!(
            "SKIPPED: KIN_NODE_TOOLS is not set; set it to tests/terraform after `npm ci` there \
             (as .ci/run does) to parse the emitted Terraform with HashiCorp's HCL parser"
        );
        return;
    };
    let modules = emitted_modules();
    let tmp = TempDir::new("terraform-hcl");
    let dirs = write_modules(&tmp.0, &modules);
    let started = Instant::now();
    let problems = hcl2json_problems(&tools, &modules, &dirs);
    println!(
        "hcl2json: {} modules in {:.2?}",
        modules.len(),
        started.elapsed()
    );
    assert!(problems.is_empty(), "{}", report("hcl2json", &problems));
}

#[test]
fn checkov_passes_emitted_terraform() {
    let Some(exe) = checkov_exe() else {
        println!(
            "SKIPPED: KIN_CHECKOV is not set; set it to a checkov executable (as .ci/run does) \
             to scan the emitted Terraform"
        );
        return;
    };
    let modules = emitted_modules();
    let tmp = TempDir::new("terraform-checkov");
    write_modules(&tmp.0, &modules);
    let started = Instant::now();
    let result = run_checkov(&exe, &tmp.0);
    println!(
        "checkov: {} modules in {:.2?}",
        modules.len(),
        started.elapsed()
    );
    assert!(
        result.failed == 0 && result.parsing_errors == 0 && result.passed > 0,
        "checkov: {} passed, {} failed, {} parsing errors\n{}\n{}",
        result.passed,
        result.failed,
        result.parsing_errors,
        result.failures.join("\n"),
        result.report
    );
}

// ---------------------------------------------------------------------------------------------
// Tests: the checkers themselves, on hand-written modules
// ---------------------------------------------------------------------------------------------

/// The schema check finds exactly `expected` (each a substring of one problem, in order).
fn assert_problems(module: &str, expected: &[&str]) {
    let problems = check_module(&sample(module));
    let text = report(module, &problems);
    assert_eq!(problems.len(), expected.len(), "{text}");
    for (problem, expected) in problems.iter().zip(expected) {
        assert!(
            problem.contains(expected),
            "expected `{expected}` in:\n{text}"
        );
    }
}

#[test]
fn the_sample_module_passes_every_checker() {
    let module = sample("valid");
    let problems = check_module(&module);
    assert!(problems.is_empty(), "{}", report("sample/valid", &problems));
    let dir = root().join("tests/terraform/sample/valid");
    match node_tools() {
        Some(tools) => {
            let problems = hcl2json_problems(&tools, std::slice::from_ref(&module), &[dir]);
            assert!(problems.is_empty(), "{}", report("hcl2json", &problems));
        }
        None => println!("SKIPPED: KIN_NODE_TOOLS is not set (hcl2json)"),
    }
    match checkov_exe() {
        Some(exe) => {
            let tmp = TempDir::new("terraform-sample-checkov");
            write_modules(&tmp.0, std::slice::from_ref(&module));
            let result = run_checkov(&exe, &tmp.0);
            assert!(
                result.failed == 0 && result.parsing_errors == 0 && result.passed > 100,
                "checkov: {} passed\n{}\n{}",
                result.passed,
                result.failures.join("\n"),
                result.report
            );
        }
        None => println!("SKIPPED: KIN_CHECKOV is not set (checkov)"),
    }
}

#[test]
fn the_schema_check_rejects_unknown_attributes_and_blocks() {
    assert_problems(
        "unknown_attribute",
        &[
            "main.tf: aws_kinesis_firehose_delivery_stream.to_s3: extended_s3_configuration[0].buffer_size: unknown attribute (did you mean `buffering_size`?)",
            "main.tf: aws_kinesis_firehose_delivery_stream.to_s3: extended_s3_configuration[0].processing_configuration[0].processors[0].parameter[0]: unknown block (did you mean `parameters`?)",
            "main.tf: aws_kinesis_stream.clicks: retention_hours: unknown attribute",
            "main.tf: data.aws_iam_policy_document.read: statement[0].principals[0].identifier: unknown attribute (did you mean `identifiers`?)",
            "main.tf: data.aws_iam_policy_document.read: statement[0].principals[0].identifiers: required attribute is not set",
            "main.tf: aws_made_up_thing.x: resource type `aws_made_up_thing` is not in tests/terraform/provider-schema.json",
        ],
    );
}

#[test]
fn the_schema_check_rejects_missing_required_arguments() {
    assert_problems(
        "missing_required",
        &[
            "main.tf: aws_iam_role.r: assume_role_policy: required attribute is not set",
            "main.tf: aws_s3_bucket_versioning.v: versioning_configuration: required block is missing",
            "main.tf: aws_kinesisanalyticsv2_application.app: application_configuration[0].application_code_configuration: required block is missing",
            "main.tf: aws_kinesisanalyticsv2_application.app: runtime_environment: required attribute is not set",
            "main.tf: output.arn: value: required attribute is not set",
        ],
    );
}

#[test]
fn the_schema_check_rejects_attributes_and_blocks_swapped() {
    assert_problems(
        "wrong_kind",
        &[
            "main.tf: aws_kinesis_stream.s: stream_mode_details: `stream_mode_details` is a nested block: write `stream_mode_details { … }`",
            "main.tf: aws_kinesis_stream.s: tags[0]: `tags` is an attribute: write `tags = …`",
        ],
    );
}

#[test]
fn the_reference_check_rejects_undeclared_names() {
    assert_problems(
        "bad_reference",
        &[
            "main.tf: aws_kinesis_stream.s: name: `var.prefix`: no variable `prefix` is declared",
            "main.tf: aws_kinesis_stream.s: kms_key_id: `aws_kms_key.other.arn`: no resource `aws_kms_key.other` is declared",
            "main.tf: aws_kinesis_stream.s: tags: `local.tagz`: no local `tagz` is declared",
            "main.tf: aws_kinesis_stream.s: tags: `jsonencodee` is not a Terraform function",
            "main.tf: output.region: value: `data.aws_region.current.name_typo`: aws_region has no attribute `name_typo`",
            "main.tf: output.stream: value: `aws_kinesis_stream.s.stream_arn`: aws_kinesis_stream has no attribute `stream_arn`",
        ],
    );
}

#[test]
fn both_hcl_parsers_reject_bad_syntax() {
    let module = sample("bad_syntax");
    let problems = check_module(&module);
    assert!(
        problems.len() == 1 && problems[0].starts_with("main.tf: hcl-rs cannot parse it"),
        "{}",
        report("bad_syntax", &problems)
    );
    let Some(tools) = node_tools() else {
        println!("SKIPPED: KIN_NODE_TOOLS is not set (hcl2json)");
        return;
    };
    let dir = root().join("tests/terraform/sample/bad_syntax");
    let problems = hcl2json_problems(&tools, std::slice::from_ref(&module), &[dir]);
    assert!(
        problems.len() == 1 && problems[0].contains("HashiCorp's HCL parser: parse config"),
        "{}",
        report("hcl2json on bad_syntax", &problems)
    );
}

#[test]
fn checkov_rejects_an_unencrypted_stream() {
    let module = sample("checkov_failure");
    // Valid for the provider: only checkov objects.
    let problems = check_module(&module);
    assert!(
        problems.is_empty(),
        "{}",
        report("checkov_failure", &problems)
    );
    let Some(exe) = checkov_exe() else {
        println!("SKIPPED: KIN_CHECKOV is not set (checkov)");
        return;
    };
    let tmp = TempDir::new("terraform-checkov-failure");
    write_modules(&tmp.0, std::slice::from_ref(&module));
    let result = run_checkov(&exe, &tmp.0);
    let failures = result.failures.join("\n");
    assert_eq!(result.failed, 2, "{failures}\n{}", result.report);
    assert!(
        failures.contains("checkov_failure/main.tf:3-10: aws_kinesis_stream.clicks: CKV_AWS_43")
            && failures.contains("aws_kinesis_stream.clicks: CKV_AWS_185"),
        "{failures}"
    );
}

#[test]
fn the_committed_provider_schema_is_current() {
    let Some(tools) = node_tools() else {
        println!(
            "SKIPPED: KIN_NODE_TOOLS is not set; cannot re-extract the provider schema from \
             @cdktf/provider-aws"
        );
        return;
    };
    let fresh = node(&tools, "provider_schema.js", &[]);
    let committed = fs::read_to_string(root().join("tests/terraform/provider-schema.json"))
        .expect("read provider-schema.json");
    assert!(
        fresh == committed,
        "tests/terraform/provider-schema.json is stale: run `node provider_schema.js --write` in \
         tests/terraform"
    );
}
