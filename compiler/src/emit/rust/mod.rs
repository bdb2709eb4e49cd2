//! `kin build --target rust`: a Cargo project that runs the pipeline locally on `kin-runtime`.
//!
//! The project holds `src/main.rs` (generated with `quote!`, formatted with prettyplease:
//! typed record structs per schema with their decoders and generators, each node's settings as
//! data, the SQL with its planned schemas, and a `main` that hands the graph to the runtime),
//! a copy of the `kin-runtime` sources (so it builds with only crates.io reachable), and the kin
//! workspace's `Cargo.lock` and profiles (so its dependencies are the ones the workspace built).

mod code;
mod manifest;
mod records;

use crate::ir::graph::Pipeline;

/// A generated project's files: (path relative to the project, text).
pub fn rust_project(pipeline: &Pipeline) -> Vec<(String, String)> {
    let mut files = vec![
        (
            "Cargo.toml".to_string(),
            manifest::project_manifest(pipeline),
        ),
        ("Cargo.lock".to_string(), manifest::lock_file().to_string()),
        ("src/main.rs".to_string(), code::main_rs(pipeline)),
        (
            "kin-runtime/Cargo.toml".to_string(),
            manifest::vendored_runtime_manifest(),
        ),
    ];
    for (path, text) in manifest::runtime_sources() {
        files.push((format!("kin-runtime/{path}"), text.to_string()));
    }
    files
}

/// The name of the binary a generated project builds: `kin-pipeline-NAME`.
pub fn binary_name(pipeline: &Pipeline) -> String {
    format!("kin-pipeline-{}", manifest::crate_suffix(&pipeline.name))
}

#[cfg(test)]
mod tests;
