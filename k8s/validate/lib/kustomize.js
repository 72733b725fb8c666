'use strict';
// A renderer for the subset of Kustomize that k8s/ uses, so that CI needs neither kubectl nor
// kustomize. A kustomization may use only these fields; anything else is an error, never ignored:
//
//   resources   files (one or more YAML documents) and directories holding a kustomization.yaml;
//               no remote URLs
//   namespace   set on every namespaced object (after the patches, as Kustomize does)
//   labels      [{pairs, includeSelectors: false, includeTemplates}] (not commonLabels)
//   images      [{name, newName, newTag, digest}] on containers and initContainers
//   patches     [{path | patch, target: {group, version, kind, name, namespace, labelSelector}}]
//               a JSON 6902 patch (a YAML list of add, remove, replace, test operations), or a
//               strategic-merge patch: maps merge, null deletes a key, and only the lists below
//               merge by key (the rest are replaced); no $patch or other directives.
//               target.name is a regular expression matched whole; labelSelector is "k=v,k=v".
//
// The order within one kustomization follows Kustomize: resources, patches, namespace, labels,
// images. k8s/validate/test checks this renderer against fixed expectations; its output for the
// overlays was also compared once with `kubectl kustomize` (docs/DEPLOY.md).
const fs = require('fs');
const path = require('path');
const yaml = require('js-yaml');

const SUPPORTED_FIELDS = new Set([
  'apiVersion', 'kind', 'resources', 'namespace', 'labels', 'images', 'patches',
]);

// Lists that a strategic-merge patch merges item by item, by this key (as the Kubernetes API's
// patchMergeKey for these fields).
const MERGE_KEYS = {
  containers: 'name',
  initContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  imagePullSecrets: 'name',
};
// Lists that Kubernetes merges by key but this renderer does not: a strategic-merge patch that
// holds one is refused rather than rendered differently from Kustomize.
const UNSUPPORTED_MERGE_LISTS = new Set([
  'ports', 'ephemeralContainers', 'hostAliases', 'topologySpreadConstraints', 'volumeDevices',
  'resourceClaims', 'schedulingGates', 'conditions', 'ownerReferences',
]);

// Kinds that have no namespace (of those this project could use).
const CLUSTER_SCOPED = new Set([
  'Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'PriorityClass',
  'StorageClass', 'PersistentVolume', 'IngressClass', 'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration',
]);

class KustomizeError extends Error {}

function loadYamlDocuments(file) {
  let docs;
  try {
    docs = yaml.loadAll(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new KustomizeError(`${file}: ${e.message}`);
  }
  return docs.filter((d) => d !== null && d !== undefined);
}

function kustomizationFile(dir) {
  for (const name of ['kustomization.yaml', 'kustomization.yml', 'Kustomization']) {
    const f = path.join(dir, name);
    if (fs.existsSync(f)) return f;
  }
  throw new KustomizeError(`${dir}: no kustomization.yaml`);
}

function idOf(obj) {
  const ns = obj.metadata && obj.metadata.namespace ? obj.metadata.namespace : '';
  return `${obj.kind}/${ns}/${obj.metadata && obj.metadata.name}`;
}

function groupVersion(apiVersion) {
  const i = apiVersion.lastIndexOf('/');
  return i < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

function parseLabelSelector(text, where) {
  const pairs = {};
  for (const part of String(text).split(',')) {
    const m = /^\s*([A-Za-z0-9./_-]+)\s*==?\s*([A-Za-z0-9._-]*)\s*$/.exec(part);
    if (!m) throw new KustomizeError(`${where}: labelSelector "${text}": only k=v terms are supported`);
    pairs[m[1]] = m[2];
  }
  return pairs;
}

function matchesTarget(obj, target, where) {
  const gv = groupVersion(obj.apiVersion || '');
  for (const key of Object.keys(target)) {
    if (!['group', 'version', 'kind', 'name', 'namespace', 'labelSelector'].includes(key)) {
      throw new KustomizeError(`${where}: target.${key} is not supported`);
    }
  }
  if (target.group !== undefined && target.group !== gv.group) return false;
  if (target.version !== undefined && target.version !== gv.version) return false;
  if (target.kind !== undefined && target.kind !== obj.kind) return false;
  if (target.name !== undefined && !new RegExp(`^(?:${target.name})$`).test(obj.metadata.name)) return false;
  if (target.namespace !== undefined && target.namespace !== (obj.metadata.namespace || '')) return false;
  if (target.labelSelector !== undefined) {
    const labels = obj.metadata.labels || {};
    for (const [k, v] of Object.entries(parseLabelSelector(target.labelSelector, where))) {
      if (labels[k] !== v) return false;
    }
  }
  return true;
}

// --- JSON 6902 ---------------------------------------------------------------------------------

function pointerTokens(pointer, where) {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new KustomizeError(`${where}: path "${pointer}" must start with /`);
  return pointer.slice(1).split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function applyJson6902(obj, ops, where) {
  for (const [i, op] of ops.entries()) {
    const at = `${where} operation ${i} (${op.op} ${op.path})`;
    if (!['add', 'remove', 'replace', 'test'].includes(op.op)) {
      throw new KustomizeError(`${at}: only add, remove, replace and test are supported`);
    }
    const tokens = pointerTokens(op.path, at);
    if (tokens.length === 0) throw new KustomizeError(`${at}: the whole document cannot be patched`);
    let parent = obj;
    for (const t of tokens.slice(0, -1)) {
      const next = Array.isArray(parent) ? parent[Number(t)] : parent[t];
      if (next === undefined || next === null || typeof next !== 'object') {
        throw new KustomizeError(`${at}: no such path`);
      }
      parent = next;
    }
    const last = tokens[tokens.length - 1];
    const clone = (v) => JSON.parse(JSON.stringify(v));
    if (Array.isArray(parent)) {
      const index = last === '-' ? parent.length : Number(last);
      if (!Number.isInteger(index) || index < 0 || index > parent.length) {
        throw new KustomizeError(`${at}: bad array index`);
      }
      if (op.op === 'add') parent.splice(index, 0, clone(op.value));
      else if (index >= parent.length) throw new KustomizeError(`${at}: no such path`);
      else if (op.op === 'remove') parent.splice(index, 1);
      else if (op.op === 'replace') parent[index] = clone(op.value);
      else if (JSON.stringify(parent[index]) !== JSON.stringify(op.value)) {
        throw new KustomizeError(`${at}: test failed`);
      }
    } else {
      const exists = Object.prototype.hasOwnProperty.call(parent, last);
      if (op.op === 'add') parent[last] = clone(op.value);
      else if (!exists) throw new KustomizeError(`${at}: no such path`);
      else if (op.op === 'remove') delete parent[last];
      else if (op.op === 'replace') parent[last] = clone(op.value);
      else if (JSON.stringify(parent[last]) !== JSON.stringify(op.value)) {
        throw new KustomizeError(`${at}: test failed`);
      }
    }
  }
}

// --- strategic merge ---------------------------------------------------------------------------

function strategicMerge(base, patch, where, field) {
  if (patch === null) return undefined;
  if (Array.isArray(patch)) {
    if (UNSUPPORTED_MERGE_LISTS.has(field)) {
      throw new KustomizeError(`${where}: a strategic-merge patch of ${field} is not supported (use JSON 6902)`);
    }
    const key = MERGE_KEYS[field];
    if (!key || !Array.isArray(base)) return JSON.parse(JSON.stringify(patch));
    const out = base.map((x) => x);
    for (const item of patch) {
      if (item === null || typeof item !== 'object' || item[key] === undefined) {
        throw new KustomizeError(`${where}: every item of ${field} needs its ${key}`);
      }
      const i = out.findIndex((x) => x && x[key] === item[key]);
      if (i < 0) out.push(JSON.parse(JSON.stringify(item)));
      else out[i] = strategicMerge(out[i], item, where, '');
    }
    return out;
  }
  if (typeof patch === 'object') {
    const out = base !== null && typeof base === 'object' && !Array.isArray(base) ? { ...base } : {};
    for (const [k, v] of Object.entries(patch)) {
      if (k.startsWith('$')) throw new KustomizeError(`${where}: directive ${k} is not supported`);
      const merged = strategicMerge(out[k], v, where, k);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
    }
    return out;
  }
  return patch;
}

// --- transformers ------------------------------------------------------------------------------

function forEachContainer(obj, fn) {
  const specs = [];
  const spec = obj.spec || {};
  if (obj.kind === 'Pod') specs.push(spec);
  if (spec.template && spec.template.spec) specs.push(spec.template.spec);
  if (spec.jobTemplate && spec.jobTemplate.spec && spec.jobTemplate.spec.template) {
    specs.push(spec.jobTemplate.spec.template.spec || {});
  }
  for (const podSpec of specs) {
    for (const list of ['initContainers', 'containers']) {
      for (const c of podSpec[list] || []) fn(c);
    }
  }
}

function splitImage(image) {
  let rest = image;
  let digest = '';
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag = '';
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  return { name: rest, tag, digest };
}

function applyImages(objects, images, where) {
  for (const img of images) {
    for (const k of Object.keys(img)) {
      if (!['name', 'newName', 'newTag', 'digest'].includes(k)) {
        throw new KustomizeError(`${where}: images[].${k} is not supported`);
      }
    }
    for (const obj of objects) {
      forEachContainer(obj, (c) => {
        const parts = splitImage(c.image || '');
        if (parts.name !== img.name) return;
        let image = img.newName !== undefined ? img.newName : parts.name;
        if (img.digest !== undefined) image += `@${img.digest}`;
        else if (img.newTag !== undefined) image += `:${img.newTag}`;
        else if (parts.digest) image += `@${parts.digest}`;
        else if (parts.tag) image += `:${parts.tag}`;
        c.image = image;
      });
    }
  }
}

function applyLabels(objects, labels, where) {
  for (const entry of labels) {
    for (const k of Object.keys(entry)) {
      if (!['pairs', 'includeSelectors', 'includeTemplates'].includes(k)) {
        throw new KustomizeError(`${where}: labels[].${k} is not supported`);
      }
    }
    if (entry.includeSelectors) {
      throw new KustomizeError(`${where}: labels with includeSelectors are not supported`);
    }
    for (const obj of objects) {
      obj.metadata.labels = { ...(obj.metadata.labels || {}), ...entry.pairs };
      if (entry.includeTemplates && obj.spec && obj.spec.template && obj.spec.template.metadata) {
        const m = obj.spec.template.metadata;
        m.labels = { ...(m.labels || {}), ...entry.pairs };
      }
    }
  }
}

function loadPatch(dir, entry, where) {
  for (const k of Object.keys(entry)) {
    if (!['path', 'patch', 'target'].includes(k)) throw new KustomizeError(`${where}: patches[].${k} is not supported`);
  }
  if ((entry.path === undefined) === (entry.patch === undefined)) {
    throw new KustomizeError(`${where}: a patch needs exactly one of path and patch`);
  }
  const file = entry.path !== undefined ? path.join(dir, entry.path) : null;
  const text = file ? fs.readFileSync(file, 'utf8') : entry.patch;
  let docs;
  try {
    docs = yaml.loadAll(text).filter((d) => d !== null && d !== undefined);
  } catch (e) {
    throw new KustomizeError(`${file || where}: ${e.message}`);
  }
  if (docs.length !== 1) throw new KustomizeError(`${file || where}: a patch is one YAML document`);
  return { body: docs[0], name: file ? path.relative(process.cwd(), file) : `${where} inline patch` };
}

function applyPatches(objects, dir, patches, where) {
  for (const entry of patches) {
    const { body, name } = loadPatch(dir, entry, where);
    const json6902 = Array.isArray(body);
    let targets;
    if (entry.target) {
      targets = objects.filter((o) => matchesTarget(o, entry.target, name));
    } else if (json6902) {
      throw new KustomizeError(`${name}: a JSON 6902 patch needs a target`);
    } else {
      targets = objects.filter((o) => o.kind === body.kind && o.metadata.name === (body.metadata || {}).name);
    }
    if (targets.length === 0) throw new KustomizeError(`${name}: the patch matches no object`);
    for (const obj of targets) {
      if (json6902) {
        applyJson6902(obj, body, name);
      } else {
        const patch = JSON.parse(JSON.stringify(body));
        // With a target, the patch's own name (if any) does not rename what it patches.
        if (entry.target && patch.metadata) delete patch.metadata.name;
        const merged = strategicMerge(obj, patch, name, '');
        for (const k of Object.keys(obj)) delete obj[k];
        Object.assign(obj, merged);
      }
    }
  }
}

// Renders the kustomization in `dir`: an array of plain objects.
function render(dir, stack = []) {
  const absolute = path.resolve(dir);
  if (stack.includes(absolute)) throw new KustomizeError(`${dir}: a cycle of kustomizations`);
  const file = kustomizationFile(absolute);
  const where = path.relative(process.cwd(), file) || file;
  const docs = loadYamlDocuments(file);
  if (docs.length !== 1) throw new KustomizeError(`${where}: one document expected`);
  const k = docs[0];
  for (const key of Object.keys(k)) {
    if (!SUPPORTED_FIELDS.has(key)) {
      throw new KustomizeError(`${where}: "${key}" is outside the supported Kustomize subset (lib/kustomize.js)`);
    }
  }
  let objects = [];
  for (const res of k.resources || []) {
    if (/^[a-z]+:\/\//i.test(res) || res.startsWith('github.com/')) {
      throw new KustomizeError(`${where}: remote resource ${res} is not supported`);
    }
    const p = path.join(absolute, res);
    if (!fs.existsSync(p)) throw new KustomizeError(`${where}: resource ${res} does not exist`);
    if (fs.statSync(p).isDirectory()) {
      objects.push(...render(p, [...stack, absolute]));
    } else {
      for (const doc of loadYamlDocuments(p)) {
        if (!doc.apiVersion || !doc.kind || !doc.metadata || !doc.metadata.name) {
          throw new KustomizeError(`${path.relative(process.cwd(), p)}: every object needs apiVersion, kind and metadata.name`);
        }
        objects.push(doc);
      }
    }
  }
  const seen = new Set();
  for (const o of objects) {
    if (seen.has(idOf(o))) throw new KustomizeError(`${where}: ${idOf(o)} is defined twice`);
    seen.add(idOf(o));
  }
  objects = objects.map((o) => JSON.parse(JSON.stringify(o)));
  applyPatches(objects, absolute, k.patches || [], where);
  if (k.namespace) {
    for (const o of objects) {
      if (!CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = k.namespace;
    }
  }
  applyLabels(objects, k.labels || [], where);
  applyImages(objects, k.images || [], where);
  return objects;
}

module.exports = {
  render, KustomizeError, strategicMerge, applyJson6902, splitImage, idOf, CLUSTER_SCOPED,
};
