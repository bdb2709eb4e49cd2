//! `kin check` speed: each example, and a generated spec of 1,000 nodes, through every stage up
//! to the typed graph (parse → check → graph), in process. Run: `cargo bench -p kin-tests`.

use std::fs;

use criterion::{criterion_group, criterion_main, Criterion};
use kin::source::SourceFile;
use kin_tests::{generated_spec, root};

fn examples() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = fs::read_dir(root().join("examples"))
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
        .into_iter()
        .filter_map(|dir| {
            let text = fs::read_to_string(dir.join("pipeline.yaml")).ok()?;
            Some((dir.file_name()?.to_string_lossy().into_owned(), text))
        })
        .collect();
    out.sort();
    out
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("check");
    for (name, text) in examples() {
        let file = SourceFile::new(format!("{name}.yaml"), text);
        group.bench_function(&name, |b| b.iter(|| kin::compile(&file)));
    }
    let file = SourceFile::new("generated.yaml", generated_spec(200));
    group.bench_function("generated_1000_nodes", |b| b.iter(|| kin::compile(&file)));
    // The baseline: parsing the same YAML into serde-saphyr's generic node tree, nothing else.
    group.bench_function("baseline_yaml_parse_1000_nodes", |b| {
        b.iter(|| kin::syntax::yaml::parse(&file))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
