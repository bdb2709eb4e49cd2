//! The JSON Schema (`kin schema`) agrees with the checker: every valid spec validates against
//! it, and specs with keys the language does not have are rejected by it too.

use std::fs;

use kin_tests::root;

fn validator() -> jsonschema::Validator {
    jsonschema::validator_for(&kin::json_schema::json_schema())
        .expect("the schema is a valid JSON Schema")
}

fn yaml_to_json(text: &str) -> serde_json::Value {
    serde_saphyr::from_str(text).expect("valid YAML")
}

fn valid_specs() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut push_dir = |dir: std::path::PathBuf| {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for path in entries.filter_map(Result::ok).map(|e| e.path()) {
            let file = if path.is_dir() {
                path.join("pipeline.yaml")
            } else {
                path
            };
            if file.extension().is_some_and(|e| e == "yaml") {
                if let Ok(text) = fs::read_to_string(&file) {
                    out.push((file.display().to_string(), text));
                }
            }
        }
    };
    push_dir(root().join("examples"));
    push_dir(root().join("tests/fixtures/valid"));
    out
}

#[test]
fn every_valid_spec_validates() {
    let validator = validator();
    let specs = valid_specs();
    assert!(specs.len() >= 2);
    for (name, text) in specs {
        let value = yaml_to_json(&text);
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{name} does not validate against the JSON Schema:\n{}",
            errors.join("\n")
        );
    }
}

#[test]
fn schema_rejects_what_the_checker_rejects() {
    let validator = validator();
    let base = "pipeline: demo\nschemas:\n  E:\n    fields: { id: string }\nstreams:\n  s: { schema: E, shards: 1 }\n";
    assert!(validator.is_valid(&yaml_to_json(base)));
    for bad in [
        format!("{base}  t: {{ schema: E, shard: 1 }}\n"),
        format!("{base}unknown_section: {{}}\n"),
        base.replace("pipeline: demo", "pipeline: Demo_Pipeline"),
        base.replace("shards: 1", "shards: 1, retention: 48"),
        base.replace("shards: 1", "shards: 1, mode: ondemand"),
        format!("{base}firehoses:\n  f: {{ from: s, to: {{ s3: {{ bucket: b }}, http: {{ url: u }} }} }}\n"),
        format!("{base}firehoses:\n  f: {{ from: s, to: {{ splunk: {{ endpoint: e, token: plain-text }} }} }}\n"),
    ] {
        assert!(!validator.is_valid(&yaml_to_json(&bad)), "the JSON Schema accepts:\n{bad}");
    }
}

#[test]
fn schema_knows_every_key_the_lowering_knows() {
    let schema = kin::json_schema::json_schema_text();
    for (section, keys) in kin::syntax::KEYS {
        for key in *keys {
            assert!(
                schema.contains(&format!("\"{key}\"")),
                "the JSON Schema lacks key `{key}` of {section}"
            );
        }
    }
}
