//! `kin build --target terraform`: a Terraform module for AWS (see `spec/terraform.md`).
//!
//! The typed pipeline becomes a template context ([`model::Module`], built by `context` and one
//! module per kind of node), which the minijinja templates of `templates/terraform/` print; a
//! formatter then lays the HCL out as `terraform fmt` does. Analytics nodes also get their Flink
//! SQL (from [`crate::emit::flink`]) and the PyFlink program that runs it.

mod analytics;
mod buckets;
mod context;
mod destinations;
mod firehoses;
pub mod format;
mod hcl;
mod iam;
pub mod model;
mod names;
mod streams;
#[cfg(test)]
mod tests;

use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};

use crate::ir::graph::{NodeKind, Pipeline};

/// The templates, embedded: (name, text).
const TEMPLATES: &[(&str, &str)] = &[
    (
        "macros.tf.j2",
        include_str!("../../../../templates/terraform/macros.tf.j2"),
    ),
    (
        "versions.tf.j2",
        include_str!("../../../../templates/terraform/versions.tf.j2"),
    ),
    (
        "variables.tf.j2",
        include_str!("../../../../templates/terraform/variables.tf.j2"),
    ),
    (
        "main.tf.j2",
        include_str!("../../../../templates/terraform/main.tf.j2"),
    ),
    (
        "streams.tf.j2",
        include_str!("../../../../templates/terraform/streams.tf.j2"),
    ),
    (
        "producers.tf.j2",
        include_str!("../../../../templates/terraform/producers.tf.j2"),
    ),
    (
        "firehoses.tf.j2",
        include_str!("../../../../templates/terraform/firehoses.tf.j2"),
    ),
    (
        "buckets.tf.j2",
        include_str!("../../../../templates/terraform/buckets.tf.j2"),
    ),
    (
        "analytics.tf.j2",
        include_str!("../../../../templates/terraform/analytics.tf.j2"),
    ),
    (
        "outputs.tf.j2",
        include_str!("../../../../templates/terraform/outputs.tf.j2"),
    ),
    (
        "README.md.j2",
        include_str!("../../../../templates/terraform/README.md.j2"),
    ),
    (
        "flink_main.py.j2",
        include_str!("../../../../templates/terraform/flink_main.py.j2"),
    ),
];

/// The Terraform module of a pipeline: `(relative path, content)` for each file, in a fixed
/// order. Pure and deterministic: the same pipeline gives the same bytes.
pub fn terraform(pipeline: &Pipeline) -> Vec<(String, String)> {
    let module = context::module(pipeline);
    let env = environment();
    let root = Value::from_serialize(&module);
    let mut files = Vec::new();
    let mut tf = |path: &str, template: &str, present: bool| {
        if present {
            let text = format::format(&render(&env, template, &root));
            files.push((path.to_string(), text));
        }
    };
    tf("versions.tf", "versions.tf.j2", true);
    tf("variables.tf", "variables.tf.j2", true);
    tf("main.tf", "main.tf.j2", true);
    tf("streams.tf", "streams.tf.j2", !module.streams.is_empty());
    tf(
        "producers.tf",
        "producers.tf.j2",
        !module.producers.is_empty(),
    );
    tf(
        "firehoses.tf",
        "firehoses.tf.j2",
        !module.firehoses.is_empty(),
    );
    tf("buckets.tf", "buckets.tf.j2", !module.buckets.is_empty());
    tf(
        "analytics.tf",
        "analytics.tf.j2",
        !module.analytics.is_empty(),
    );
    tf("outputs.tf", "outputs.tf.j2", true);
    files.push((
        "README.md".to_string(),
        tidy(&render(&env, "README.md.j2", &root)),
    ));
    files.extend(flink_files(pipeline, &module, &env));
    files
}

/// `flink/NODE/main.py` and `flink/NODE/statements.sql` of each analytics node.
fn flink_files(
    pipeline: &Pipeline,
    module: &model::Module,
    env: &Environment,
) -> Vec<(String, String)> {
    let nodes: Vec<&str> = pipeline
        .graph
        .nodes()
        .filter(|n| matches!(n.kind, NodeKind::Stream | NodeKind::Firehose))
        .map(|n| n.name.as_str())
        .collect();
    let sql = crate::emit::flink::flink_sql(pipeline);
    let mut files = Vec::new();
    for app in &module.analytics {
        let file = format!("{}.sql", app.node);
        let Some((_, text)) = sql.iter().find(|(path, _)| *path == file) else {
            continue;
        };
        let context =
            minijinja::context! { pipeline => &module.pipeline, a => Value::from_serialize(app) };
        let main = tidy(&render_with(env, "flink_main.py.j2", context));
        files.push((format!("{}/main.py", app.dir), main));
        let statements = analytics::deployable_sql(&pipeline.name, &nodes, text);
        files.push((format!("{}/statements.sql", app.dir), statements));
    }
    files
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_keep_trailing_newline(true);
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    for (name, text) in TEMPLATES {
        if let Err(err) = env.add_template(name, text) {
            debug_assert!(false, "template {name}: {err:#}");
        }
    }
    env
}

fn render(env: &Environment, template: &str, root: &Value) -> String {
    render_with(env, template, root.clone())
}

/// Renders a template. The templates are kin's own and tested on every example, so an error is
/// a bug in kin: it is written into the file rather than panicking on a user's spec.
fn render_with(env: &Environment, template: &str, context: Value) -> String {
    match env.get_template(template).and_then(|t| t.render(context)) {
        Ok(text) => text,
        Err(err) => {
            debug_assert!(false, "template {template}: {err:#}");
            format!("# kin could not render {template}: {err}\n")
        }
    }
}

/// Text that is not HCL: no trailing spaces, no runs of blank lines, one final newline.
fn tidy(text: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for line in text.lines().map(str::trim_end) {
        if line.is_empty() && out.last().is_none_or(|l| l.is_empty()) {
            continue;
        }
        out.push(line);
    }
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    out.join("\n") + "\n"
}
