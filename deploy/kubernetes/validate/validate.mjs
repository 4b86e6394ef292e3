#!/usr/bin/env node
// Validates Kubernetes manifests against the OpenAPI schemas of the Kubernetes API and of the
// Prometheus Operator CRDs, without a cluster.
//
// Usage: node validate.mjs [FILE]      (no FILE, or -, reads standard input)
//        kubectl kustomize ../base | node validate.mjs
//
// The input is a multi-document YAML stream, such as the output of `kubectl kustomize`. Every
// object is instantiated as the kubernetes-models class of its apiVersion and kind (or the
// @kubernetes-models/prometheus-operator class for monitoring.coreos.com) and validated.
// Exit status: 0 when every object is valid; 1 when an object is invalid, of an unknown
// apiVersion/kind, the YAML cannot be parsed, or there is no object at all; 2 on a usage error.
//
// The schemas check types, required fields and formats; like the API server's default, they let
// unknown fields pass.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

function usage(message) {
  process.stderr.write(`validate.mjs: ${message}\nusage: node validate.mjs [FILE|-]\n`);
  process.exit(2);
}

const args = process.argv.slice(2);
if (args.length > 1) usage("expected at most one file");
if (args[0] === "-h" || args[0] === "--help") {
  process.stdout.write("usage: node validate.mjs [FILE|-]\n");
  process.exit(0);
}
const source = args.length === 0 || args[0] === "-" ? "<stdin>" : args[0];

let text;
try {
  text = readFileSync(source === "<stdin>" ? 0 : source, "utf8");
} catch (error) {
  process.stderr.write(`validate.mjs: cannot read ${source}: ${error.message}\n`);
  process.exit(1);
}

// The module that holds the models of an apiVersion ("v1", "apps/v1", "monitoring.coreos.com/v1").
function moduleOf(apiVersion) {
  const slash = apiVersion.indexOf("/");
  if (slash < 0) return `kubernetes-models/${apiVersion}`;
  const group = apiVersion.slice(0, slash);
  if (group === "monitoring.coreos.com") return `@kubernetes-models/prometheus-operator/${apiVersion}`;
  return `kubernetes-models/${apiVersion}`;
}

const modules = new Map();
async function modelClass(apiVersion, kind) {
  const specifier = moduleOf(apiVersion);
  if (!modules.has(specifier)) {
    modules.set(
      specifier,
      await import(specifier).then(
        (module) => ({ module }),
        (error) => ({ module: null, error: `cannot load ${specifier}: ${error.code ?? error.message}` }),
      ),
    );
  }
  const { module, error } = modules.get(specifier);
  if (module === null) return { error };
  const candidate = module[kind];
  // Only top-level resources carry their apiVersion and kind; nested types (Container, ...) do not.
  if (typeof candidate !== "function" || candidate.apiVersion !== apiVersion || candidate.kind !== kind) {
    return { error: `${specifier} has no model of kind ${kind}` };
  }
  return { Model: candidate };
}

function describeError(error) {
  if (Array.isArray(error?.errors) && error.errors.length > 0) {
    return error.errors
      .map((e) => `${e.instancePath || "/"} ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ""}`)
      .join("; ");
  }
  return error?.message ?? String(error);
}

// YAML 1.1, as the Kubernetes tools read manifests (0644 is octal, yes/no are booleans).
const documents = parseAllDocuments(text, { version: "1.1", prettyErrors: true });
const failures = [];
const valid = [];
let index = 0;
for (const document of Array.isArray(documents) ? documents : [documents]) {
  index += 1;
  if (document.errors.length > 0) {
    failures.push(`document ${index}: YAML error: ${document.errors.map((e) => e.message).join("; ")}`);
    continue;
  }
  const object = document.toJS();
  if (object === null || object === undefined) continue;  // an empty document
  if (typeof object !== "object" || Array.isArray(object)) {
    failures.push(`document ${index}: not a mapping`);
    continue;
  }
  const { apiVersion, kind } = object;
  const name = object.metadata?.name ?? "<no name>";
  const label = `${kind ?? "<no kind>"}/${name} (document ${index})`;
  if (typeof apiVersion !== "string" || typeof kind !== "string") {
    failures.push(`${label}: apiVersion and kind must be strings`);
    continue;
  }
  const { Model, error } = await modelClass(apiVersion, kind);
  if (!Model) {
    failures.push(`${label}: unknown kind ${kind} of apiVersion ${apiVersion} (${error})`);
    continue;
  }
  try {
    new Model(object).validate();
    valid.push(`${apiVersion} ${kind}/${name}`);
  } catch (error) {
    failures.push(`${label}: invalid ${apiVersion} ${kind}: ${describeError(error)}`);
  }
}

for (const line of valid) process.stdout.write(`valid: ${line}\n`);
if (valid.length === 0 && failures.length === 0) failures.push("no Kubernetes object in the input");
if (failures.length > 0) {
  for (const line of failures) process.stderr.write(`validate.mjs: ${source}: ${line}\n`);
  process.stderr.write(`validate.mjs: ${failures.length} problem(s), ${valid.length} valid object(s)\n`);
  process.exit(1);
}
process.stdout.write(`validate.mjs: ${valid.length} object(s) valid\n`);
