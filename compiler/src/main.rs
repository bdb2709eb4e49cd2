//! The `kin` command line: the only part of kin that reads files, writes output and exits.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use kin::diagnostic::{self, Format, RenderedFile};
use kin::source::SourceFile;
use kin::syntax::Syntax;

mod run;

/// kin compiles a declarative pipeline spec (schemas, producers, Kinesis streams, SQL analytics,
/// Firehose deliveries) into a checked graph, Terraform for AWS and a local runtime.
#[derive(Parser)]
#[command(name = "kin", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check specs completely: references, record types, AWS limits, capacity, secrets.
    ///
    /// Exit status: 0 when clean, 1 when any error (or any warning with --deny-warnings),
    /// 2 when a file cannot be read or the command line is wrong.
    Check {
        /// Spec files (pipeline.yaml).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<String>,
        /// How to print diagnostics.
        #[arg(long, value_enum, default_value_t = CheckFormat::Human)]
        format: CheckFormat,
        /// Treat warnings as errors.
        #[arg(long)]
        deny_warnings: bool,
        /// Colour in the human format.
        #[arg(long, value_enum, default_value_t = Color::Auto)]
        color: Color,
    },
    /// Print the typed pipeline graph.
    Graph {
        #[arg(value_name = "FILE")]
        file: String,
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
    },
    /// Generate the files a target deploys: `--target terraform` writes a Terraform module for
    /// AWS, `--target flink-sql` one `NAME.sql` per analytics node, `--target rust` a Cargo
    /// project that runs the pipeline locally; without `--target`, every target, each in its
    /// own directory.
    ///
    /// Prints each file written. Exit status: 0 when the files are written (warnings are
    /// printed), 1 when the spec has errors (nothing is written), 2 when a file cannot be read
    /// or written or the command line is wrong.
    Build {
        /// The spec file (pipeline.yaml).
        #[arg(value_name = "FILE")]
        file: String,
        /// What to generate [default: every target].
        #[arg(long, value_enum)]
        target: Option<Target>,
        /// Where to write [default: build/PIPELINE/TARGET/; without --target, DIR/TARGET/].
        #[arg(short, long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Explain analytics: each node's inferred output type, its windows and its query plan.
    ///
    /// With NODE, explains that node (of any kind). Exit status: 0, or 1 when the spec has
    /// errors (the explanation is still printed, with the diagnostics on stderr), 2 when the
    /// file cannot be read or NODE does not exist.
    Explain {
        /// The spec file (pipeline.yaml).
        #[arg(value_name = "FILE")]
        file: String,
        /// A node to explain (default: every analytics node).
        #[arg(value_name = "NODE")]
        node: Option<String>,
    },
    /// Run the pipeline locally: builds its Rust runtime project (cached) and runs it.
    ///
    /// Producers given an `--input` file replay it; the others make synthetic records at their
    /// rate. With only file inputs the run ends when they are consumed and every buffer and
    /// window is flushed; otherwise it runs for `--duration` or until Ctrl-C, then flushes.
    /// Local S3 objects go to DATA_DIR/s3/BUCKET/KEY, rejected records to DATA_DIR/errors/NODE/.
    ///
    /// Exit status: 0 when the run ended cleanly, 1 when the spec has errors or the run failed,
    /// 2 when a file cannot be read, the build fails or the command line is wrong.
    Run(run::RunArgs),
    /// Print the JSON Schema of pipeline.yaml (for editor completion).
    Schema,
    /// Format `.kin` files in the canonical layout, in place (comments are kept).
    ///
    /// Exit status: 0 when done (with --check: when every file is already formatted), 1 when a
    /// file has a syntax error or, with --check, would change, 2 when a file cannot be read or
    /// written or is not a `.kin` file.
    Fmt {
        /// `.kin` spec files.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<String>,
        /// Change nothing: list the files that would change.
        #[arg(long)]
        check: bool,
    },
    /// Convert a spec between YAML and the `.kin` DSL (comments are carried over).
    ///
    /// Exit status: 0 when converted, 1 when the spec has a syntax error or a value kin cannot
    /// read (nothing is written), 2 when a file cannot be read or written.
    Convert {
        /// The spec file (`.kin` or YAML).
        #[arg(value_name = "FILE")]
        file: String,
        /// The syntax to write.
        #[arg(long, value_enum)]
        to: SyntaxArg,
        /// Write to this file instead of stdout.
        #[arg(short, long, value_name = "OUT")]
        out: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum SyntaxArg {
    /// pipeline.yaml
    Yaml,
    /// the `.kin` DSL
    Kin,
}

#[derive(Clone, Copy, ValueEnum)]
enum Target {
    /// Terraform for AWS: streams, delivery streams, buckets, IAM, Managed Flink applications.
    Terraform,
    /// Flink SQL for Managed Service for Apache Flink: one file per analytics node.
    FlinkSql,
    /// A Cargo project that runs the pipeline locally on kin-runtime (vendored in it).
    Rust,
}

impl Target {
    const ALL: [Target; 3] = [Target::Terraform, Target::Rust, Target::FlinkSql];

    fn dir_name(self) -> &'static str {
        match self {
            Target::Terraform => "terraform",
            Target::FlinkSql => "flink-sql",
            Target::Rust => "rust",
        }
    }

    /// The files of the target, to be written in `dir`.
    fn files(self, pipeline: &kin::ir::graph::Pipeline, dir: &Path) -> Vec<(String, String)> {
        match self {
            Target::Terraform => kin::emit::terraform::terraform(pipeline),
            Target::FlinkSql => kin::emit::flink::flink_sql(pipeline),
            Target::Rust => kin::emit::rust::rust_project(pipeline, &location(dir)),
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum CheckFormat {
    /// A report with the source snippet, for people.
    Human,
    /// One JSON object with every diagnostic.
    Json,
    /// GitHub Actions workflow annotations.
    Github,
    /// SARIF 2.1.0, for code-scanning tools.
    Sarif,
}

#[derive(Clone, Copy, ValueEnum)]
enum GraphFormat {
    Dot,
    Mermaid,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check {
            files,
            format,
            deny_warnings,
            color,
        } => check(&files, format, deny_warnings, color),
        Command::Graph { file, format } => graph(&file, format),
        Command::Build { file, target, out } => build(&file, target, out),
        Command::Explain { file, node } => explain(&file, node.as_deref()),
        Command::Fmt { files, check } => fmt(&files, check),
        Command::Convert { file, to, out } => convert(&file, to, out),
        Command::Run(args) => run::run(args),
        Command::Schema => {
            print(&kin::json_schema::json_schema_text());
            ExitCode::SUCCESS
        }
    }
}

fn read(path: &str) -> Result<SourceFile, ExitCode> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(SourceFile::new(path, text)),
        Err(err) => {
            eprintln!("error: cannot read {path}: {err}");
            Err(ExitCode::from(2))
        }
    }
}

fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    // A closed pipe (`kin check … | head`) is not an error worth a panic.
    let _ = out.write_all(text.as_bytes());
}

fn check(paths: &[String], format: CheckFormat, deny_warnings: bool, color: Color) -> ExitCode {
    let mut files = Vec::new();
    for path in paths {
        match read(path) {
            Ok(file) => files.push(file),
            Err(code) => return code,
        }
    }
    let mut results = Vec::new();
    for file in &files {
        let mut compiled = kin::compile(file);
        if deny_warnings {
            for d in &mut compiled.diagnostics {
                d.severity = diagnostic::Severity::Error;
            }
        }
        results.push(compiled.diagnostics);
    }
    let rendered: Vec<RenderedFile> = files
        .iter()
        .zip(&results)
        .map(|(file, diagnostics)| RenderedFile { file, diagnostics })
        .collect();
    let errors: usize = results.iter().flatten().filter(|d| d.is_error()).count();
    let warnings: usize = results.iter().flatten().count() - errors;
    match format {
        CheckFormat::Human => {
            let color = match color {
                Color::Always => true,
                Color::Never => false,
                Color::Auto => {
                    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
                }
            };
            eprint!("{}", diagnostic::render(Format::Human { color }, &rendered));
            eprintln!("{}", summary(files.len(), errors, warnings));
        }
        CheckFormat::Json => print(&diagnostic::render(Format::Json, &rendered)),
        CheckFormat::Github => print(&diagnostic::render(Format::Github, &rendered)),
        CheckFormat::Sarif => print(&diagnostic::render(Format::Sarif, &rendered)),
    }
    if errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn summary(files: usize, errors: usize, warnings: usize) -> String {
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    if errors == 0 && warnings == 0 {
        format!("checked {}: no problems", plural(files, "file"))
    } else {
        format!(
            "checked {}: {}, {}",
            plural(files, "file"),
            plural(errors, "error"),
            plural(warnings, "warning")
        )
    }
}

/// Compiles a file for a command that needs it free of errors: prints the diagnostics (when
/// there is an error, or any when `show_warnings`) and refuses with exit 1 on errors.
pub(crate) fn compile_clean(
    path: &str,
    command: &str,
    show_warnings: bool,
) -> Result<kin::Compiled, ExitCode> {
    let file = read(path)?;
    let compiled = kin::compile(&file);
    let errors = compiled.errors();
    if errors > 0 || (show_warnings && !compiled.diagnostics.is_empty()) {
        let rendered = [RenderedFile {
            file: &file,
            diagnostics: &compiled.diagnostics,
        }];
        eprint!(
            "{}",
            diagnostic::render(Format::Human { color: false }, &rendered)
        );
    }
    if errors > 0 {
        eprintln!("kin {command}: {path} has errors; run `kin check {path}`");
        return Err(ExitCode::from(1));
    }
    Ok(compiled)
}

fn graph(path: &str, format: GraphFormat) -> ExitCode {
    let compiled = match compile_clean(path, "graph", false) {
        Ok(compiled) => compiled,
        Err(code) => return code,
    };
    let text = match format {
        GraphFormat::Json => {
            let mut text =
                serde_json::to_string_pretty(&kin::emit::graph::to_json(&compiled.pipeline))
                    .unwrap_or_default();
            text.push('\n');
            text
        }
        GraphFormat::Dot => kin::emit::graph::to_dot(&compiled.pipeline),
        GraphFormat::Mermaid => kin::emit::graph::to_mermaid(&compiled.pipeline),
    };
    print(&text);
    ExitCode::SUCCESS
}

fn build(path: &str, target: Option<Target>, out: Option<PathBuf>) -> ExitCode {
    let compiled = match compile_clean(path, "build", true) {
        Ok(compiled) => compiled,
        Err(code) => return code,
    };
    let pipeline = &compiled.pipeline;
    let targets = match target {
        Some(target) => vec![target],
        None => Target::ALL.to_vec(),
    };
    let chosen = target.is_some();
    for target in targets {
        // `-o DIR` is the directory of a chosen target, the parent of every target's otherwise.
        let dir = match (&out, chosen) {
            (Some(dir), true) => dir.clone(),
            (Some(dir), false) => dir.join(target.dir_name()),
            (None, _) => Path::new("build")
                .join(&pipeline.name)
                .join(target.dir_name()),
        };
        let files = target.files(pipeline, &dir);
        if let Err(code) = write_files(&dir, &files, true) {
            return code;
        }
        if files.is_empty() {
            eprintln!("kin build: {path} has no analytics: no Flink SQL to write");
        }
    }
    ExitCode::SUCCESS
}

/// The absolute form of `dir` (as far as it can be known), naming a generated project's place.
pub(crate) fn location(dir: &Path) -> String {
    std::path::absolute(dir)
        .unwrap_or_else(|_| dir.to_path_buf())
        .display()
        .to_string()
}

/// Writes `(relative path, content)` files under `dir`, printing each path.
pub(crate) fn write_files(
    dir: &Path,
    files: &[(String, String)],
    announce: bool,
) -> Result<(), ExitCode> {
    if let Err(err) = std::fs::create_dir_all(dir) {
        eprintln!("error: cannot create {}: {err}", dir.display());
        return Err(ExitCode::from(2));
    }
    for (relative, content) in files {
        let written = dir.join(relative);
        let parent = written.parent().unwrap_or(dir);
        if let Err(err) = std::fs::create_dir_all(parent) {
            eprintln!("error: cannot create {}: {err}", parent.display());
            return Err(ExitCode::from(2));
        }
        // Unchanged files keep their modification time, so cargo rebuilds nothing for them.
        if std::fs::read(&written).is_ok_and(|old| old == content.as_bytes()) {
            if announce {
                print(&format!("{}\n", written.display()));
            }
            continue;
        }
        if let Err(err) = std::fs::write(&written, content) {
            eprintln!("error: cannot write {}: {err}", written.display());
            return Err(ExitCode::from(2));
        }
        if announce {
            print(&format!("{}\n", written.display()));
        }
    }
    // A Rust project's vendored runtime: remove what an older kin wrote there.
    for stale in kin::emit::rust::stale_runtime_files(dir, files) {
        if let Err(err) = std::fs::remove_file(&stale) {
            eprintln!("error: cannot remove {}: {err}", stale.display());
            return Err(ExitCode::from(2));
        }
    }
    Ok(())
}

fn explain(path: &str, node: Option<&str>) -> ExitCode {
    let file = match read(path) {
        Ok(file) => file,
        Err(code) => return code,
    };
    let compiled = kin::compile(&file);
    let Some(text) = kin::emit::explain::explain(&compiled.pipeline, node) else {
        let names: Vec<&str> = compiled
            .pipeline
            .graph
            .nodes()
            .map(|n| n.name.as_str())
            .collect();
        eprintln!("error: {path} has no node \"{}\"", node.unwrap_or_default());
        if let Some(help) =
            diagnostic::did_you_mean(node.unwrap_or_default(), names.iter().copied())
        {
            eprintln!("help: {help}");
        }
        return ExitCode::from(2);
    };
    print(&text);
    if compiled.errors() > 0 {
        let rendered = [RenderedFile {
            file: &file,
            diagnostics: &compiled.diagnostics,
        }];
        eprint!(
            "{}",
            diagnostic::render(Format::Human { color: false }, &rendered)
        );
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

/// Prints a file's diagnostics for people (no colour), on stderr.
fn report(file: &SourceFile, diagnostics: &[diagnostic::Diagnostic]) {
    let rendered = [RenderedFile { file, diagnostics }];
    eprint!(
        "{}",
        diagnostic::render(Format::Human { color: false }, &rendered)
    );
}

fn fmt(paths: &[String], check: bool) -> ExitCode {
    let mut files = Vec::new();
    for path in paths {
        if Syntax::of(path) != Syntax::Kin {
            eprintln!("error: {path} is not a .kin file: kin fmt formats .kin files (`kin convert {path} --to kin` writes a YAML spec as kin)");
            return ExitCode::from(2);
        }
        match read(path) {
            Ok(file) => files.push(file),
            Err(code) => return code,
        }
    }
    let mut failed = false;
    for file in &files {
        match kin::syntax::print::format_kin(file) {
            Err(diagnostics) => {
                report(file, &diagnostics);
                eprintln!("kin fmt: {} has errors; it was not formatted", file.name);
                failed = true;
            }
            Ok(text) if text == *file.text => {}
            Ok(_) if check => {
                print(&format!("{}: not formatted\n", file.name));
                failed = true;
            }
            Ok(text) => {
                if let Err(err) = std::fs::write(&file.name, text) {
                    eprintln!("error: cannot write {}: {err}", file.name);
                    return ExitCode::from(2);
                }
            }
        }
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn convert(path: &str, to: SyntaxArg, out: Option<PathBuf>) -> ExitCode {
    let file = match read(path) {
        Ok(file) => file,
        Err(code) => return code,
    };
    let to = match to {
        SyntaxArg::Yaml => Syntax::Yaml,
        SyntaxArg::Kin => Syntax::Kin,
    };
    let text = match kin::syntax::print::convert(&file, to) {
        Ok(text) => text,
        Err(diagnostics) => {
            report(&file, &diagnostics);
            eprintln!("kin convert: {path} has errors; run `kin check {path}`");
            return ExitCode::from(1);
        }
    };
    match out {
        Some(out) => {
            if let Err(err) = std::fs::write(&out, text) {
                eprintln!("error: cannot write {}: {err}", out.display());
                return ExitCode::from(2);
            }
        }
        None => print(&text),
    }
    ExitCode::SUCCESS
}
