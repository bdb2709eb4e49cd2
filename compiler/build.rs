//! Embeds the kin-runtime sources and the workspace's Cargo.lock into kin, so that
//! `kin build --target rust` can vendor the runtime into a generated project that builds with
//! only crates.io reachable (and with the same dependency versions as this workspace).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

fn main() {
    let manifest =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest
        .parent()
        .expect("the compiler lives in the workspace")
        .to_path_buf();
    let runtime = root.join("runtime");
    let mut files = Vec::new();
    collect(&runtime.join("src"), &mut files);
    files.sort();
    let mut out = String::from("/// The runtime's files: (path inside the crate, text).\npub const RUNTIME_FILES: &[(&str, &str)] = &[\n");
    for file in &files {
        let relative = file.strip_prefix(&runtime).expect("under runtime/");
        let _ = writeln!(
            out,
            "    ({:?}, include_str!({:?})),",
            relative.to_string_lossy().replace('\\', "/"),
            file.display().to_string()
        );
    }
    out.push_str("];\n");
    for (name, path) in [
        ("RUNTIME_MANIFEST", runtime.join("Cargo.toml")),
        ("WORKSPACE_MANIFEST", root.join("Cargo.toml")),
        ("WORKSPACE_LOCK", root.join("Cargo.lock")),
    ] {
        let _ = writeln!(
            out,
            "pub const {name}: &str = include_str!({:?});",
            path.display().to_string()
        );
        println!("cargo:rerun-if-changed={}", path.display());
    }
    println!("cargo:rerun-if-changed={}", runtime.join("src").display());
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    let dest =
        PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("runtime_files.rs");
    fs::write(dest, out).expect("write runtime_files.rs");
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            println!("cargo:rerun-if-changed={}", path.display());
            collect(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}
