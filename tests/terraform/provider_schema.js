#!/usr/bin/env node
// Extracts the configuration schema of the Terraform resources and data sources kin may emit from
// the AWS provider's own generated bindings, the npm package @cdktf/provider-aws (v21 = AWS
// provider 6.x), and prints it as JSON (the committed copy is tests/terraform/provider-schema.json;
// tests/terraform_validate.rs checks every emitted module against it and, when KIN_NODE_TOOLS is
// set, that the committed copy is what this script prints).
//
//   node provider_schema.js            print the schema of every type in TYPES below
//   node provider_schema.js --write    write provider-schema.json beside this script
//
// How the package is read (no cdktf runtime is needed: the generated code is read as text, and
// every entry must be understood or the script fails, so that a change of layout cannot make
// the schema silently smaller):
// - lib/<dir>/index.js: the resource class's synthesizeHclAttributes() and one
//   `<struct>ToHclTerraform(struct)` function per nested block list every argument by its
//   Terraform name, with `isBlock` (nested block or attribute), `type` (list / set / struct /
//   simple / map) and, for a block, the function that renders its body (the nesting).
// - lib/<dir>/index.d.ts: the config interfaces (`<Class>Config` and one per block) mark optional
//   arguments with `?`; an argument without it is required (for a block: at least one).
// - the class's getters (`getStringAttribute('arn')`, `new ...OutputReference(this, "x")`) name
//   every attribute that can be read, computed ones included (used to check references).
//
// archive_file (data source of hashicorp/archive, not part of provider-aws) is hand-written below
// from the archive provider's source (internal/provider/data_source_archive_file.go, v2.7).

"use strict";
const fs = require("fs");
const path = require("path");

const PACKAGE = "@cdktf/provider-aws";

/** Every resource and data source type kin may emit (the issue's list). */
const TYPES = {
  resource: [
    "aws_cloudwatch_log_group",
    "aws_cloudwatch_log_stream",
    "aws_iam_policy",
    "aws_iam_role",
    "aws_iam_role_policy",
    "aws_iam_role_policy_attachment",
    "aws_kinesis_firehose_delivery_stream",
    "aws_kinesis_stream",
    "aws_kinesisanalyticsv2_application",
    "aws_kms_alias",
    "aws_kms_key",
    "aws_kms_key_policy",
    "aws_s3_bucket",
    "aws_s3_bucket_lifecycle_configuration",
    "aws_s3_bucket_logging",
    "aws_s3_bucket_notification",
    "aws_s3_bucket_ownership_controls",
    "aws_s3_bucket_policy",
    "aws_s3_bucket_public_access_block",
    "aws_s3_bucket_server_side_encryption_configuration",
    "aws_s3_bucket_versioning",
    "aws_s3_object",
    "aws_secretsmanager_secret",
    "aws_secretsmanager_secret_version",
  ],
  data: [
    "aws_caller_identity",
    "aws_iam_policy_document",
    "aws_kms_alias",
    "aws_kms_key",
    "aws_partition",
    "aws_region",
    "aws_s3_bucket",
    "aws_secretsmanager_secret",
    "aws_secretsmanager_secret_version",
  ],
};

/** hashicorp/archive's data source archive_file, by hand (see the header). */
const ARCHIVE_FILE = {
  source: "hand-written from hashicorp/archive 2.7 (internal/provider/data_source_archive_file.go)",
  attributes: {
    excludes: { required: false, type: "set" },
    follow_symlinks: { required: false, type: "simple" },
    output_file_mode: { required: false, type: "simple" },
    output_path: { required: true, type: "simple" },
    source_content: { required: false, type: "simple" },
    source_content_filename: { required: false, type: "simple" },
    source_dir: { required: false, type: "simple" },
    source_file: { required: false, type: "simple" },
    type: { required: true, type: "simple" },
  },
  blocks: {
    source: {
      nesting: "set",
      required: false,
      attributes: {
        content: { required: true, type: "simple" },
        filename: { required: true, type: "simple" },
      },
      blocks: {},
    },
  },
  readable: [
    "excludes", "follow_symlinks", "id", "output_base64sha256", "output_base64sha512",
    "output_file_mode", "output_md5", "output_path", "output_sha", "output_sha256",
    "output_sha512", "output_size", "source", "source_content", "source_content_filename",
    "source_dir", "source_file", "type",
  ],
};

function packageDir() {
  return path.dirname(require.resolve(`${PACKAGE}/package.json`, { paths: [__dirname] }));
}

function fail(message) {
  throw new Error(`provider_schema.js: ${message}`);
}

/** The text from `start` (just after an opening `{`) to its matching `}`, past strings and comments. */
function braced(text, start) {
  let depth = 1;
  let quote = null;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === "\\") i++;
      else if (c === quote) quote = null;
    } else if (c === "/" && text[i + 1] === "/") i = text.indexOf("\n", i);
    else if (c === "/" && text[i + 1] === "*") i = text.indexOf("*/", i) + 1;
    else if (c === '"' || c === "'" || c === "`") quote = c;
    else if (c === "{") depth++;
    else if (c === "}" && --depth === 0) return text.slice(start, i);
  }
  fail("unbalanced braces");
}

const ENTRY =
  /^ +(\w+|"[^"]+"): \{\n +value: ([^\n]*),\n +isBlock: (true|false),\n +type: "(\w+)",\n +storageClassType: "(\w*)",\n +\},?$/gm;

/** The entries of a `const attrs = { ... }` object: [{ name, value, isBlock, type }]. */
function attrEntries(body, where) {
  const at = body.indexOf("const attrs = {");
  if (at < 0) fail(`${where}: no attrs object`);
  const object = braced(body, at + "const attrs = {".length);
  const entries = [];
  let consumed = 0;
  for (const m of object.matchAll(ENTRY)) {
    entries.push({
      name: m[1].replace(/"/g, ""),
      value: m[2],
      isBlock: m[3] === "true",
      type: m[4],
    });
    consumed += m[0].length;
  }
  // Every line of the object must have been understood.
  const rest = object.replace(ENTRY, "").trim();
  if (rest !== "") fail(`${where}: unparsed attrs text: ${rest.slice(0, 200)}`);
  return entries;
}

/** `export interface Name ... { readonly prop?: ...; }` → Map(name → Map(prop → optional)). */
function interfaces(dts) {
  const all = new Map();
  for (const m of dts.matchAll(/^export interface (\w+)[^{\n]*\{/gm)) {
    const body = braced(dts, m.index + m[0].length);
    const props = new Map();
    for (const p of body.matchAll(/^ {4}readonly (\w+)(\?)?:/gm)) props.set(p[1], p[2] === "?");
    all.set(m[1], props);
  }
  return all;
}

/** `function xToHclTerraform(struct) { ... }` → Map(x → body). */
function hclFunctions(js) {
  const all = new Map();
  for (const m of js.matchAll(/^function (\w+)ToHclTerraform\(struct\) \{/gm)) {
    all.set(m[1], braced(js, m.index + m[0].length));
  }
  return all;
}

function upperFirst(s) {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** The schema of one body (the resource's or a block's). */
function bodySchema(ctx, attrsBody, iface, where, depth) {
  if (depth > 20) fail(`${where}: nesting deeper than 20`);
  const props = ctx.interfaces.get(iface);
  if (!props) fail(`${where}: no interface ${iface}`);
  const schema = { attributes: {}, blocks: {} };
  for (const e of attrEntries(attrsBody, where)) {
    const camel = (e.value.match(/(?:struct\.|this\._)(\w+)/) || [])[1];
    if (!camel) fail(`${where}.${e.name}: no property in ${e.value}`);
    if (!props.has(camel)) fail(`${where}.${e.name}: ${iface} has no property ${camel}`);
    const required = !props.get(camel);
    if (!e.isBlock) {
      schema.attributes[e.name] = { required, type: e.type };
      continue;
    }
    const fn = (e.value.match(/(?<!cdktf\.)\b([a-z]\w*)ToHclTerraform\b/) || [])[1];
    if (!fn || !ctx.functions.has(fn)) fail(`${where}.${e.name}: no block function in ${e.value}`);
    const nested = bodySchema(ctx, ctx.functions.get(fn), upperFirst(fn), `${where}.${e.name}`, depth + 1);
    schema.blocks[e.name] = { nesting: e.type, required, ...nested };
  }
  return schema;
}

/** Every attribute of the class that can be read (`x.name.ATTR`), computed ones included. */
function readable(classBody) {
  const names = new Set();
  const patterns = [
    /this\.get\w*Attribute\('([a-z0-9_]+)'\)/g,
    /this\.interpolationForAttribute\('([a-z0-9_]+)'\)/g,
    /\(this, "([a-z0-9_]+)"/g,
  ];
  for (const re of patterns) for (const m of classBody.matchAll(re)) names.add(m[1]);
  return [...names].sort();
}

/** Schema of one resource (`kind` = "resource" / "data") or of the provider ("provider"). */
function typeSchema(pkg, kind, type) {
  const dashed = type.replace(/_/g, "-");
  const dir = { provider: "provider", data: `data-${dashed}`, resource: dashed.replace(/^aws-/, "") }[kind];
  const base = path.join(pkg, "lib", dir);
  if (!fs.existsSync(path.join(base, "index.js"))) fail(`${kind} ${type}: no ${path.join("lib", dir)}`);
  const js = fs.readFileSync(path.join(base, "index.js"), "utf8");
  const dts = fs.readFileSync(path.join(base, "index.d.ts"), "utf8");
  const parent = { resource: "TerraformResource", data: "TerraformDataSource", provider: "TerraformProvider" }[kind];
  const cls = js.match(new RegExp(`^class (\\w+) extends cdktf\\.${parent} \\{`, "m"));
  if (!cls) fail(`${kind} ${type}: no class extending cdktf.${parent} in ${dir}`);
  const tfType = (js.match(new RegExp(`^${cls[1]}\\.tfResourceType = "([\\w]+)";`, "m")) || [])[1];
  const expected = kind === "provider" ? "aws" : type;
  if (tfType !== expected) fail(`${kind} ${type}: ${dir} declares ${tfType}`);
  const classBody = braced(js, cls.index + cls[0].length);
  const synth = classBody.indexOf("synthesizeHclAttributes() {");
  if (synth < 0) fail(`${kind} ${type}: no synthesizeHclAttributes`);
  const ctx = { interfaces: interfaces(dts), functions: hclFunctions(js) };
  const body = braced(classBody, synth + "synthesizeHclAttributes() {".length);
  const schema = bodySchema(ctx, body, `${cls[1]}Config`, `${kind}.${type}`, 0);
  return { ...schema, readable: readable(classBody) };
}

function extract() {
  const pkg = packageDir();
  const version = JSON.parse(fs.readFileSync(path.join(pkg, "package.json"), "utf8")).version;
  const kinesis = fs.readFileSync(path.join(pkg, "lib", "kinesis-stream", "index.js"), "utf8");
  const providerVersion = (kinesis.match(/providerVersion: '([^']+)'/) || [])[1];
  const out = {
    generated_by: "tests/terraform/provider_schema.js",
    source: `${PACKAGE} ${version} (hashicorp/aws ${providerVersion})`,
    provider: { aws: typeSchema(pkg, "provider", "aws") },
    resource: {},
    data: {},
  };
  for (const type of TYPES.resource) out.resource[type] = typeSchema(pkg, "resource", type);
  for (const type of TYPES.data) out.data[type] = typeSchema(pkg, "data", type);
  out.data.archive_file = ARCHIVE_FILE;
  return out;
}

function render(schema) {
  return JSON.stringify(schema, null, 1) + "\n";
}

module.exports = { extract, render, TYPES };

if (require.main === module) {
  const text = render(extract());
  if (process.argv.includes("--write")) {
    fs.writeFileSync(path.join(__dirname, "provider-schema.json"), text);
  } else {
    process.stdout.write(text);
  }
}
