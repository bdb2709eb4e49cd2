#!/usr/bin/env node
// Parses every .tf file under the given directories with HashiCorp's own HCL parser (the Go
// hclsyntax package compiled to WASM, npm @cdktf/hcl2json) and prints one JSON object:
//
//   { "DIR": { "FILE.tf": { "error": "..." } } }          the parser rejects it
//   { "DIR": { "FILE.tf": { "blocks": { "resource.aws_s3_bucket.data": ["bucket", ...] } } } }
//
// DIR exactly as given, FILE relative to it (with "/").
//
// `blocks` maps the address of every top-level block (resource.TYPE.NAME, data.TYPE.NAME,
// variable.NAME, output.NAME, provider.NAME, terraform, locals) to the sorted names of the
// arguments and blocks in its body, so that tests/terraform_validate.rs can check that hcl-rs
// read the same structure. Exits 0 when it ran (whatever it found), 2 on bad usage.

"use strict";
const fs = require("fs");
const path = require("path");
const { parse } = require("@cdktf/hcl2json");

function tfFiles(dir) {
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...tfFiles(full));
    else if (entry.name.endsWith(".tf")) out.push(full);
  }
  return out.sort();
}

/** hcl2json gives every block as a list of bodies, keyed by its labels. */
function addresses(json) {
  const blocks = {};
  const add = (address, bodies) => {
    const keys = new Set(blocks[address] || []);
    for (const body of bodies) for (const key of Object.keys(body)) keys.add(key);
    blocks[address] = [...keys].sort();
  };
  for (const [kind, value] of Object.entries(json)) {
    if (kind === "resource" || kind === "data") {
      for (const [type, named] of Object.entries(value)) {
        for (const [name, bodies] of Object.entries(named)) add(`${kind}.${type}.${name}`, bodies);
      }
    } else if (kind === "variable" || kind === "output" || kind === "provider") {
      for (const [name, bodies] of Object.entries(value)) add(`${kind}.${name}`, bodies);
    } else if (Array.isArray(value)) {
      add(kind, value);
    } else {
      add(kind, [value]);
    }
  }
  return blocks;
}

async function main() {
  const dirs = process.argv.slice(2);
  if (dirs.length === 0) {
    console.error("usage: node check_hcl.js DIR...");
    process.exit(2);
  }
  const result = {};
  for (const dir of dirs) {
    const files = (result[dir] = {});
    for (const file of tfFiles(dir)) {
      const rel = path.relative(dir, file).split(path.sep).join("/");
      try {
        const json = await parse(rel, fs.readFileSync(file, "utf8"));
        files[rel] = { blocks: addresses(json) };
      } catch (e) {
        files[rel] = { error: String(e && e.message ? e.message : e) };
      }
    }
  }
  process.stdout.write(JSON.stringify(result, null, 1) + "\n");
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
