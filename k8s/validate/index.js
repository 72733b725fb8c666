#!/usr/bin/env node
'use strict';
// Validates k8s/: renders the base and each overlay (lib/kustomize.js, a Kustomize subset: no
// kubectl or kustomize needed), checks every object against the Kubernetes schemas with unknown
// fields refused (lib/schema.js), then the project's rules (lib/policy.js), the NetworkPolicies
// against the calls the code makes (lib/netpol.js), and the Dockerfile against the build.
//
//   node k8s/validate/index.js                 every target below; exit 1 on any error
//   node k8s/validate/index.js DIR [--production]   one kustomization directory
//   node k8s/validate/index.js --render DIR    print what DIR renders to (YAML)
const path = require('path');
const yaml = require('js-yaml');
const { render } = require('./lib/kustomize');
const { validateObject } = require('./lib/schema');
const { checkPolicy } = require('./lib/policy');
const { checkNetworkPolicies } = require('./lib/netpol');
const source = require('./lib/source');

const REPO = path.resolve(__dirname, '..', '..');

// secretsOutside: the Secrets are created apart (none in the repository); released: images need
// a fixed tag.
const TARGETS = [
  { dir: 'k8s/base', secretsOutside: true },
  { dir: 'k8s/overlays/local' },
  { dir: 'k8s/overlays/production', secretsOutside: true, released: true },
];

function repoFacts(repo) {
  return {
    architecture: source.architecture(repo),
    variables: source.knownVariables(repo),
    executables: source.cmakeExecutables(repo),
    dockerfile: source.dockerfile(repo),
    services: source.SERVICES,
  };
}

function checkDockerfile(facts) {
  const d = facts.dockerfile;
  const errors = [];
  const at = path.relative(process.cwd(), d.file);
  if (d.base.length < 2) errors.push(`${at}: a multi-stage build is expected`);
  for (const b of d.base) {
    if (b !== 'debian:bookworm-slim') errors.push(`${at}: FROM ${b}: the stages are debian:bookworm-slim (Debian 12, as scripts/deps)`);
  }
  if (!d.usesDeps) errors.push(`${at}: the build stage must install with scripts/deps --build`);
  if (!d.copiesService) errors.push(`${at}: the runtime stage must copy /out/root/\${SERVICE}/`);
  if (!d.user || /^(0|root)(:|$)/.test(d.user)) errors.push(`${at}: the image must run as a non-root USER`);
  for (const t of d.targets) {
    if (!facts.executables.has(t)) errors.push(`${at}: LC_TARGETS names ${t}, which is no CMake executable`);
  }
  return errors;
}

// Renders and checks one kustomization directory: {objects, errors, externalSecrets}.
function validateTarget(dir, options, facts) {
  let objects;
  try {
    objects = render(dir);
  } catch (e) {
    return { objects: [], errors: [`render: ${e.message}`], externalSecrets: [], optionalSecrets: [] };
  }
  const errors = [];
  for (const obj of objects) {
    for (const e of validateObject(obj)) errors.push(`${obj.kind}/${obj.metadata.name}${e.startsWith('/') ? ' ' : ': '}${e}`);
  }
  const policy = checkPolicy(objects, facts, options);
  errors.push(...policy.errors);
  errors.push(...checkNetworkPolicies(objects, facts.architecture));
  return { objects, errors, externalSecrets: policy.externalSecrets, optionalSecrets: policy.optionalSecrets };
}

function main(argv) {
  const facts = repoFacts(REPO);
  if (argv[0] === '--render') {
    const objects = render(path.resolve(argv[1]));
    process.stdout.write(objects.map((o) => yaml.dump(o, { lineWidth: -1 })).join('---\n'));
    return 0;
  }
  const targets = argv.length
    ? [{ dir: argv[0], secretsOutside: argv.includes('--production'), released: argv.includes('--production') }]
    : TARGETS.map((t) => ({ ...t, dir: path.join(REPO, t.dir) }));
  let failed = 0;
  const dockerErrors = argv.length ? [] : checkDockerfile(facts);
  for (const e of dockerErrors) console.log(`  error: ${e}`);
  failed += dockerErrors.length;
  for (const t of targets) {
    const { objects, errors, externalSecrets, optionalSecrets } = validateTarget(path.resolve(t.dir), t, facts);
    const name = path.relative(REPO, path.resolve(t.dir)) || t.dir;
    const kinds = {};
    for (const o of objects) kinds[o.kind] = (kinds[o.kind] || 0) + 1;
    console.log(`${errors.length ? 'FAIL' : 'ok  '} ${name}: ${objects.length} objects (${Object.entries(kinds).map(([k, n]) => `${n} ${k}`).join(', ')})`);
    if (externalSecrets.length) console.log(`     Secrets to create before applying: ${externalSecrets.join(', ')}`);
    if (optionalSecrets.length) console.log(`     Secrets read when present (optional): ${optionalSecrets.join(', ')}`);
    for (const e of errors) console.log(`  error: ${e}`);
    failed += errors.length;
  }
  const calls = Object.entries(facts.architecture).map(([c, a]) => `${c} -> ${[...a.calls, ...(a.redis ? ['redis'] : []), ...(a.mysql ? ['mysql'] : []), ...(a.https ? ['https'] : [])].join(',') || '-'}`);
  console.log(`     paths from the code: ${calls.join('; ')}`);
  console.log(failed ? `k8s: ${failed} error(s)` : 'k8s: every manifest is valid and keeps the rules');
  return failed ? 1 : 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));

module.exports = { validateTarget, repoFacts, checkDockerfile, TARGETS, REPO };
