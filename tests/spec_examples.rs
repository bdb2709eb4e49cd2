//! The contract's examples pass `kin check` as they are: every YAML block of
//! `spec/pipeline-v1.md` (a copy of the shared contract, checked for staleness) appears verbatim
//! in `tests/fixtures/valid/spec_v1_examples.yaml`, which must check with no diagnostics.

use std::fs;

use kin::source::SourceFile;
use kin_tests::root;

fn yaml_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_start()) {
            (None, "```yaml") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            _ => {}
        }
    }
    blocks
}

#[test]
fn contract_copy_is_current() {
    let shared = root().join("../shared/spec/pipeline-v1.md");
    if let Ok(upstream) = fs::read_to_string(&shared) {
        let copy = fs::read_to_string(root().join("spec/pipeline-v1.md")).unwrap_or_default();
        assert!(
            copy == upstream,
            "spec/pipeline-v1.md differs from {}: copy it again",
            shared.display()
        );
    }
}

#[test]
fn every_contract_example_is_in_the_checked_fixture_verbatim() {
    let contract =
        fs::read_to_string(root().join("spec/pipeline-v1.md")).expect("spec/pipeline-v1.md");
    let fixture_path = root().join("tests/fixtures/valid/spec_v1_examples.yaml");
    let fixture = fs::read_to_string(&fixture_path).expect("fixture");
    let blocks = yaml_blocks(&contract);
    assert!(
        blocks.len() >= 6,
        "expected the contract's six YAML examples, found {}",
        blocks.len()
    );
    for (i, block) in blocks.iter().enumerate() {
        // The first block is an outline whose section values are placeholders (`{ NAME: Schema }`);
        // its concrete lines (pipeline, region, tags) must be there.
        let text: String = if i == 0 {
            block.lines().take(3).map(|l| format!("{l}\n")).collect()
        } else {
            block.clone()
        };
        assert!(
            fixture.contains(&text),
            "example {} of the contract is not verbatim in the fixture:\n{text}",
            i + 1
        );
    }
    let compiled = kin::compile(&SourceFile::new("spec_v1_examples.yaml", fixture));
    let messages: Vec<&str> = compiled
        .diagnostics
        .iter()
        .map(|d| d.message.as_str())
        .collect();
    assert!(
        messages.is_empty(),
        "the contract's examples do not check clean: {messages:#?}"
    );
}
