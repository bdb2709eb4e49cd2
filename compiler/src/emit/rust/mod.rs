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
///
/// `location` names where the project is written (its absolute directory): it is hashed into
/// the package name, because cargo tells apart two copies of one package in a shared target
/// directory only by name — with equal names, a build of one copy can pass for a build of the
/// other and leave a stale binary.
pub fn rust_project(pipeline: &Pipeline, location: &str) -> Vec<(String, String)> {
    let mut files = vec![
        (
            "Cargo.toml".to_string(),
            manifest::project_manifest(
                pipeline,
                &binary_name(pipeline, location),
                &runtime_package(location),
            ),
        ),
        ("Cargo.lock".to_string(), manifest::lock_file().to_string()),
        ("src/main.rs".to_string(), code::main_rs(pipeline)),
        (
            "kin-runtime/Cargo.toml".to_string(),
            manifest::vendored_runtime_manifest(&runtime_package(location)),
        ),
    ];
    for (path, text) in manifest::runtime_sources() {
        files.push((format!("kin-runtime/{path}"), text.to_string()));
    }
    files
}

/// The package and binary name of a generated project: `kin-pipeline-NAME-HASH`.
pub fn binary_name(pipeline: &Pipeline, location: &str) -> String {
    format!(
        "kin-pipeline-{}-{}",
        manifest::crate_suffix(&pipeline.name),
        location_hash(location)
    )
}

/// The vendored runtime's package name, `kin-runtime-HASH` (the code still says `kin_runtime`).
fn runtime_package(location: &str) -> String {
    format!("kin-runtime-{}", location_hash(location))
}

/// 8 hex digits of the FNV-1a hash of `location`.
fn location_hash(location: &str) -> String {
    let hash = location.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{:08x}", hash as u32)
}

/// Files under `dir/kin-runtime/` that `files` (a project from [`rust_project`]) does not hold:
/// what an older kin vendored there. Left in place, a renamed module (`stream.rs` →
/// `stream/mod.rs`) would break the build, so the writer of a project removes them.
pub fn stale_runtime_files(
    dir: &std::path::Path,
    files: &[(String, String)],
) -> Vec<std::path::PathBuf> {
    let wanted: std::collections::HashSet<std::path::PathBuf> =
        files.iter().map(|(path, _)| dir.join(path)).collect();
    let mut stale = Vec::new();
    let mut pending = vec![dir.join("kin-runtime")];
    while let Some(current) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&current) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                pending.push(path);
            } else if !wanted.contains(&path) {
                stale.push(path);
            }
        }
    }
    stale.sort();
    stale
}

/// `cargo build --manifest-path PROJECT/Cargo.toml` into `target_dir`, without the per-crate
/// variables cargo sets for the process that runs it (`CARGO_PKG_*`, `CARGO_MANIFEST_*`,
/// `OUT_DIR`, …).
///
/// When kin runs under `cargo run` or `cargo test` it has those variables; ring's build script
/// tracks some of them (`OUT_DIR` among them), so a build that inherited them would rebuild
/// ring — and everything above it, DataFusion included — and the workspace's next build would
/// rebuild it back.
pub fn cargo_build(
    project: &std::path::Path,
    target_dir: &std::path::Path,
) -> std::process::Command {
    let mut cargo =
        std::process::Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cargo
        .arg("build")
        .arg("--manifest-path")
        .arg(project.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target_dir);
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        let per_crate = [
            "CARGO_PKG_",
            "CARGO_MANIFEST_",
            "CARGO_BIN_",
            "CARGO_CRATE_",
        ]
        .iter()
        .any(|prefix| name.starts_with(prefix));
        let single = ["CARGO_PRIMARY_PACKAGE", "CARGO_TARGET_TMPDIR", "OUT_DIR"];
        if per_crate || single.contains(&name.as_ref()) {
            cargo.env_remove(name.as_ref());
        }
    }
    cargo
}

#[cfg(test)]
mod tests;
