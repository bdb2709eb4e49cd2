//! Terraform output (`kin build --target terraform`): the module of every example is snapshotted
//! with insta (`tests/snapshots/terraform/`), every valid fixture must build, the output must be
//! byte-identical across runs, and the generated PyFlink runner must split and fill in the
//! generated statements (run with `python3` when there is one).
//!
//! When `KIN_HCLFMT` names the `tests/hclfmt` program (`.ci/run` builds it), every module is also
//! checked against hclwrite, the formatter `terraform fmt` runs. The external checks (HCL parser,
//! the AWS provider's schema, checkov) are in `terraform_validate.rs`.

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use kin::source::SourceFile;
use kin_tests::{compile_clean, root, valid_fixtures};

fn examples() -> Vec<(String, PathBuf)> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(root().join("examples"))
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    dirs.retain(|d| d.join("pipeline.yaml").exists());
    dirs.sort();
    dirs.into_iter()
        .map(|d| {
            let name = d.file_name().map(|n| n.to_string_lossy().into_owned());
            (name.unwrap_or_default(), d.join("pipeline.yaml"))
        })
        .collect()
}

/// All files of a module as one text. The Flink SQL is `emit::flink`'s (snapshotted in
/// `tests/snapshots/flink/`), so only its name rewriting is shown here, not the whole file.
fn listing(files: &[(String, String)]) -> String {
    files
        .iter()
        .map(|(path, content)| {
            if path.ends_with("statements.sql") {
                let names: Vec<&str> = content
                    .lines()
                    .filter(|l| l.contains("${kin:name_prefix}"))
                    .map(str::trim)
                    .collect();
                format!(
                    "==> {path} <==\n(the Flink SQL of kin build --target flink-sql, with these names made deployable:)\n{}\n",
                    names.join("\n")
                )
            } else {
                format!("==> {path} <==\n{content}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn terraform_of_every_example_is_snapshotted() {
    let examples = examples();
    assert!(examples.len() >= 5, "expected at least five examples");
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(root().join("tests/snapshots/terraform"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    for (name, path) in examples {
        let files = kin::emit::terraform::terraform(&compile_clean(&path));
        settings.bind(|| insta::assert_snapshot!(name, listing(&files)));
    }
}

#[test]
fn every_valid_spec_builds() {
    let mut specs = valid_fixtures();
    specs.extend(examples().into_iter().map(|(_, path)| path));
    for path in specs {
        let files = kin::emit::terraform::terraform(&compile_clean(&path));
        for (file, content) in &files {
            assert!(
                !content.contains("kin could not render"),
                "{}: {file}: {content}",
                path.display()
            );
            if file.ends_with(".tf") {
                let formatted = kin::emit::terraform::format::format(content);
                assert_eq!(
                    &formatted,
                    content,
                    "{}: {file} is not formatted",
                    path.display()
                );
            }
        }
    }
}

/// The emitter is pure and total: even a spec with errors (which `kin build` refuses) renders
/// without a panic or a template error.
#[test]
fn specs_with_errors_do_not_break_the_emitter() {
    let mut files: Vec<PathBuf> = fs::read_dir(root().join("tests/fixtures/invalid"))
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "yaml"));
    files.sort();
    assert!(files.len() >= 60, "expected the invalid fixtures");
    for path in files {
        let text = fs::read_to_string(&path).unwrap_or_default();
        let compiled = kin::compile(&SourceFile::new(path.display().to_string(), text));
        for (file, content) in kin::emit::terraform::terraform(&compiled.pipeline) {
            assert!(
                !content.contains("kin could not render"),
                "{}: {file}: {content}",
                path.display()
            );
        }
    }
}

#[test]
fn output_is_byte_identical_across_runs() {
    for (name, path) in examples() {
        let first = kin::emit::terraform::terraform(&compile_clean(&path));
        let second = kin::emit::terraform::terraform(&compile_clean(&path));
        assert_eq!(first, second, "{name}");
    }
}

#[test]
fn statements_name_the_deployed_streams() {
    for (name, path) in examples() {
        let pipeline = compile_clean(&path);
        let prefix = format!("{}-", pipeline.name);
        for (file, content) in kin::emit::terraform::terraform(&pipeline) {
            if file.ends_with("statements.sql") {
                for line in content
                    .lines()
                    .filter(|l| l.contains("'stream.arn'") || l.contains("'delivery-stream'"))
                {
                    assert!(
                        line.contains("${kin:name_prefix}-") && !line.contains(&prefix),
                        "{name}: {file}: {line}"
                    );
                }
            }
        }
    }
}

/// Every module is laid out exactly as `terraform fmt` lays it out (hclwrite changes nothing).
#[test]
fn terraform_fmt_changes_nothing() {
    let Some(hclfmt) = std::env::var_os("KIN_HCLFMT") else {
        println!(
            "SKIPPED: KIN_HCLFMT is not set; set it to the tests/hclfmt program (as .ci/run does) \
             to compare the layout with terraform fmt's"
        );
        return;
    };
    let dir = std::env::temp_dir().join(format!("kin-terraform-fmt-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    let mut specs: Vec<(String, PathBuf)> = examples();
    specs.extend(valid_fixtures().into_iter().map(|path| {
        let name = path.file_stem().map(|n| n.to_string_lossy().into_owned());
        (name.unwrap_or_default(), path)
    }));
    for (name, path) in &specs {
        for (file, content) in kin::emit::terraform::terraform(&compile_clean(path)) {
            if file.ends_with(".tf") {
                let written = dir.join(name).join(file);
                fs::create_dir_all(written.parent().unwrap_or(&dir))
                    .expect("create a module directory");
                fs::write(&written, content).expect("write a .tf file");
            }
        }
    }
    let output = Command::new(&hclfmt)
        .arg(&dir)
        .output()
        .expect("run hclfmt");
    let _ = fs::remove_dir_all(&dir);
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The runner splits each statements.sql into its statements and fills in every placeholder.
#[test]
fn the_pyflink_runner_splits_and_fills_the_statements() {
    let python = std::env::var("KIN_PYTHON").unwrap_or_else(|_| "python3".into());
    if Command::new(&python).arg("--version").output().is_err() {
        println!("SKIPPED: no {python} to run the generated main.py");
        return;
    }
    let dir = std::env::temp_dir().join(format!("kin-terraform-runner-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    let mut checked = 0;
    for (name, path) in examples() {
        let files = kin::emit::terraform::terraform(&compile_clean(&path));
        for (file, content) in &files {
            let Some(app) = file.strip_suffix("/statements.sql") else {
                continue;
            };
            let app_dir = dir.join(&name).join(app);
            fs::create_dir_all(&app_dir).expect("create the runner directory");
            let main = files.iter().find(|(f, _)| *f == format!("{app}/main.py"));
            fs::write(
                app_dir.join("main.py"),
                &main.expect("main.py beside statements.sql").1,
            )
            .expect("write main.py");
            fs::write(app_dir.join("statements.sql"), content).expect("write statements.sql");
            // Statements start at a line's beginning; comments may mention them too.
            let expected = content
                .lines()
                .filter(|l| l.starts_with("CREATE TABLE ") || l.starts_with("INSERT INTO "))
                .count();
            let script = "import re, main\n\
                 values = {'partition': 'aws', 'region': 'eu-west-1', 'account_id': '123456789012', 'name_prefix': 'demo'}\n\
                 sql = main.substitute(open('statements.sql').read(), values)\n\
                 assert not re.search(r'[$][{]kin:[a-z_]+[}]', sql), sql\n\
                 statements = main.split(sql)\n\
                 assert all(s and not s.endswith(';') for s in statements), statements\n\
                 print(len(statements))\n";
            let output = Command::new(&python)
                .arg("-c")
                .arg(script)
                .current_dir(&app_dir)
                .output()
                .expect("run python");
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert!(
                output.status.success(),
                "{name}/{app}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            assert_eq!(stdout.trim(), expected.to_string(), "{name}/{app}");
            checked += 1;
        }
    }
    let _ = fs::remove_dir_all(&dir);
    assert!(
        checked >= 4,
        "expected the runners of four analytics nodes, checked {checked}"
    );
}
