'use strict';
// Validation of rendered objects against the Kubernetes schemas that the npm package
// kubernetes-models ships (compiled JSON schemas of the Kubernetes OpenAPI), plus a strict pass
// for unknown fields: those schemas accept any extra property, as the API server does by default,
// but a misspelt field (`readinesProbe`) is silently dropped by the server, so it is an error here
// (as with `kubectl apply --validate=strict`). Known fields come from the package's TypeScript
// declarations, which are generated from the same OpenAPI document.
const fs = require('fs');
const path = require('path');

const MODELS_DIR = path.dirname(require.resolve('kubernetes-models/package.json'));
const APIMACHINERY_DIR = path.dirname(require.resolve('@kubernetes-models/apimachinery/package.json'));

function modelPath(apiVersion, kind) {
  return `kubernetes-models/${apiVersion}/${kind}`;
}

// Schema errors of `obj`, as strings "path: message".
function schemaErrors(obj) {
  let Model;
  try {
    Model = require(modelPath(obj.apiVersion, obj.kind))[obj.kind];
  } catch (e) {
    return [`no Kubernetes schema for ${obj.apiVersion} ${obj.kind}`];
  }
  if (typeof Model !== 'function') return [`no Kubernetes schema for ${obj.apiVersion} ${obj.kind}`];
  try {
    new Model(obj).validate();
    return [];
  } catch (e) {
    if (Array.isArray(e.errors)) {
      return e.errors.map((x) => `${x.instancePath || '/'}: ${x.message}`);
    }
    return [String(e.message)];
  }
}

// --- the shapes in the .d.ts files -------------------------------------------------------------

const interfaces = new Map(); // file -> {props: Map(name -> type text)} | null (not an interface)

function resolveModule(fromFile, spec) {
  if (spec.startsWith('.')) return path.resolve(path.dirname(fromFile), `${spec}.d.ts`);
  if (spec.startsWith('@kubernetes-models/apimachinery/')) {
    return path.join(APIMACHINERY_DIR, `${spec.slice('@kubernetes-models/apimachinery/'.length)}.d.ts`);
  }
  if (spec.startsWith('kubernetes-models/')) {
    return path.join(MODELS_DIR, `${spec.slice('kubernetes-models/'.length)}.d.ts`);
  }
  return null;
}

// Splits the body of an interface into its properties, keeping nested braces whole.
function parseProperties(body) {
  const props = new Map();
  let i = 0;
  while (i < body.length) {
    const m = /^\s*"([^"]+)"\??:\s*/.exec(body.slice(i));
    if (!m) {
      i += 1;
      continue;
    }
    i += m[0].length;
    let depth = 0;
    let start = i;
    while (i < body.length) {
      const c = body[i];
      if (c === '{' || c === '<' || c === '(') depth += 1;
      else if (c === '}' || c === '>' || c === ')') depth -= 1;
      else if (c === ';' && depth === 0) break;
      i += 1;
    }
    props.set(m[1], body.slice(start, i).trim());
    i += 1;
  }
  return props;
}

function loadInterface(file) {
  if (interfaces.has(file)) return interfaces.get(file);
  let result = null;
  if (fs.existsSync(file)) {
    const text = fs.readFileSync(file, 'utf8').replace(/\/\*\*[\s\S]*?\*\//g, '');
    const imports = new Map();
    for (const m of text.matchAll(/import \{ ([^}]+) \} from "([^"]+)";/g)) {
      for (const name of m[1].split(',').map((s) => s.trim())) imports.set(name, resolveModule(file, m[2]));
    }
    const start = /export interface \w+(?: extends [\w, ]+)? \{/.exec(text);
    if (start) {
      let depth = 1;
      let i = start.index + start[0].length;
      const bodyStart = i;
      while (i < text.length && depth > 0) {
        if (text[i] === '{') depth += 1;
        else if (text[i] === '}') depth -= 1;
        i += 1;
      }
      result = { file, imports, props: parseProperties(text.slice(bodyStart, i - 1)) };
    }
  }
  interfaces.set(file, result);
  return result;
}

// A type text -> {kind: 'object', iface} | {kind: 'array', of} | {kind: 'map', of} | {kind: 'any'}
function shapeOf(typeText, iface) {
  const t = typeText.trim();
  let m = /^Array<([\s\S]+)>$/.exec(t);
  if (m) return { kind: 'array', of: shapeOf(m[1], iface) };
  m = /^\{\s*\[key: string\]:\s*([\s\S]+?);?\s*\}$/.exec(t);
  if (m) return { kind: 'map', of: shapeOf(m[1], iface) };
  if (/^\w+$/.test(t) && iface.imports.has(t) && iface.imports.get(t)) {
    const target = loadInterface(iface.imports.get(t));
    if (target) return { kind: 'object', iface: target };
  }
  return { kind: 'any' };
}

function unknownFieldsIn(value, iface, at, out) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
  for (const [key, child] of Object.entries(value)) {
    if (!iface.props.has(key)) {
      out.push(`${at}/${key}: unknown field`);
      continue;
    }
    walk(child, shapeOf(iface.props.get(key), iface), `${at}/${key}`, out);
  }
}

function walk(value, shape, at, out) {
  if (value === null || value === undefined) return;
  if (shape.kind === 'object') unknownFieldsIn(value, shape.iface, at, out);
  else if (shape.kind === 'array' && Array.isArray(value)) value.forEach((v, i) => walk(v, shape.of, `${at}/${i}`, out));
  else if (shape.kind === 'map' && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) walk(v, shape.of, `${at}/${k}`, out);
  }
}

// Fields of `obj` that its kind does not have.
function unknownFieldErrors(obj) {
  const iface = loadInterface(path.join(MODELS_DIR, obj.apiVersion, `${obj.kind}.d.ts`));
  if (!iface) return [];
  const out = [];
  unknownFieldsIn(obj, iface, '', out);
  return out;
}

function validateObject(obj) {
  return [...schemaErrors(obj), ...unknownFieldErrors(obj)];
}

module.exports = { validateObject, schemaErrors, unknownFieldErrors };
