'use strict';
// Run with `node --test k8s/validate/test/validate.test.js` (scripts/validate-k8s does). Node 18+.
const test = require('node:test');
const assert = require('node:assert');
const path = require('path');
const { spawnSync } = require('child_process');
const { validateTarget, repoFacts, checkDockerfile, TARGETS, REPO } = require('../index');
const { render, strategicMerge, applyJson6902, KustomizeError } = require('../lib/kustomize');
const { validateObject } = require('../lib/schema');
const { checkNetworkPolicies } = require('../lib/netpol');

const facts = repoFacts(REPO);
const fixture = (name) => path.join(__dirname, '..', 'fixtures', name);

for (const target of TARGETS) {
  test(`${target.dir} renders and keeps every rule`, () => {
    const result = validateTarget(path.join(REPO, target.dir), target, facts);
    assert.deepStrictEqual(result.errors, []);
    assert.ok(result.objects.length > 30);
  });
}

test('the Dockerfile builds every binary the manifests run', () => {
  assert.deepStrictEqual(checkDockerfile(facts), []);
});

test('the broken fixture is rejected, each fault named', () => {
  const { errors } = validateTarget(fixture('broken'), { secretsOutside: true, released: true }, facts);
  const expected = [
    '/spec/replicas: must be integer', // schema
    'readinesProbe: unknown field', // strict fields
    'no readinessProbe',
    'livenessProbe must be a native grpc probe',
    'resources.limits.cpu is missing',
    'resources.requests.memory is missing',
    'runAsNonRoot must be true',
    'readOnlyRootFilesystem must be true',
    'allowPrivilegeEscalation must be false',
    'privileged must not be set',
    'capabilities must drop ALL',
    'seccompProfile must be RuntimeDefault',
    'LC_MYSQL_PASSWORD must come from a Secret',
    'ConfigMap/livecommerce-config: LC_MYSQL_PASSWORD looks like a secret',
    'LC_GATEWAY_THREAD is read by no code',
    '0 PodDisruptionBudgets select its pods',
    '0 HorizontalPodAutoscalers scale it',
    "targetPort does not reach the container's port",
    'LC_ROOM_ADDR must be 0.0.0.0:7101',
    'LC_ROOM_ADDR is room:9999',
    'needs a fixed tag or a digest',
    'no Deployment for gateway',
    'no Job runs lc-migrate',
    'no Ingress for the gateway',
    'no default-deny policy',
    'any pod in another namespace may reach room:7101',
    'room -> outside the cluster, port 22, is allowed but not used',
  ];
  for (const e of expected) {
    assert.ok(errors.some((x) => x.includes(e)), `expected an error containing "${e}" in:\n${errors.join('\n')}`);
  }
});

test('the command line fails on the broken fixture and on an unsupported kustomization', () => {
  for (const name of ['broken', 'unsupported']) {
    const run = spawnSync(process.execPath, [path.join(__dirname, '..', 'index.js'), fixture(name)], { encoding: 'utf8' });
    assert.strictEqual(run.status, 1, run.stdout + run.stderr);
    assert.match(run.stdout, /error:/);
  }
  const run = spawnSync(process.execPath, [path.join(__dirname, '..', 'index.js'), fixture('unsupported')], { encoding: 'utf8' });
  assert.match(run.stdout, /"commonLabels" is outside the supported Kustomize subset/);
});

test('a path the code does not use, or one it needs, is reported', () => {
  const objects = render(path.join(REPO, 'k8s/overlays/production'));
  const room = objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'room');
  room.spec.egress.push({ to: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'order' } } }], ports: [{ port: 7103 }] });
  const order = objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'order');
  order.spec.ingress[0].from.push({ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'room' } } });
  const catalog = objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'catalog');
  catalog.spec.ingress[0].from = catalog.spec.ingress[0].from.filter((p) => p.podSelector.matchLabels['app.kubernetes.io/name'] !== 'order');
  const errors = checkNetworkPolicies(objects, facts.architecture);
  assert.deepStrictEqual(errors.sort(), [
    'NetworkPolicy: order -> catalog:7102 is used by the code but not allowed',
    'NetworkPolicy: room -> order:7103 is allowed but the code does not use it',
  ]);
});

test('every subscriber of an event publisher is a path of the code', () => {
  const { eventSubscribers } = require('../lib/source');
  const one = 'EventPublisher::Create("room", {{"report", "127.0.0.1:7105"}}, **mysql, codec, clock));';
  assert.deepStrictEqual([...eventSubscribers(one)], ['report']);
  const two = `EventPublisher::Create(
      "interaction", {{"report", "127.0.0.1:7105"}, {"attribution", "127.0.0.1:7104"}}, **mysql,
      codec, clock));`;
  assert.deepStrictEqual([...eventSubscribers(two)].sort(), ['attribution', 'report']);
  assert.deepStrictEqual([...eventSubscribers('EventPublisher::Create("x", {}, pool, codec, clock);')], []);
});

test('schema: wrong types and unknown fields are errors', () => {
  const svc = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ port: 'eighty', targett: 1 }] } };
  const errors = validateObject(svc);
  assert.ok(errors.some((e) => e.includes('/spec/ports/0/port')), errors.join('\n'));
  assert.ok(errors.includes('/spec/ports/0/targett: unknown field'), errors.join('\n'));
  assert.deepStrictEqual(validateObject({ apiVersion: 'v1', kind: 'Nothing', metadata: { name: 'x' } }), ['no Kubernetes schema for v1 Nothing']);
});

test('renderer: strategic merge by key, null deletes, other lists replaced', () => {
  const base = { spec: { containers: [{ name: 'a', env: [{ name: 'X', value: '1' }, { name: 'Y', value: '2' }], args: ['p'] }], keep: 1, drop: 2 } };
  const patch = { spec: { containers: [{ name: 'a', env: [{ name: 'Y', value: '3' }, { name: 'Z', value: '4' }], args: ['q'] }, { name: 'b' }], drop: null } };
  assert.deepStrictEqual(strategicMerge(base, patch, 't', ''), {
    spec: { containers: [{ name: 'a', env: [{ name: 'X', value: '1' }, { name: 'Y', value: '3' }, { name: 'Z', value: '4' }], args: ['q'] }, { name: 'b' }], keep: 1 },
  });
  assert.throws(() => strategicMerge(base, { spec: { $patch: 'replace' } }, 't', ''), KustomizeError);
  assert.throws(() => strategicMerge({ ports: [] }, { ports: [{ containerPort: 1 }] }, 't', ''), /not supported/);
});

test('renderer: JSON 6902 add, replace, remove, test', () => {
  const obj = { spec: { a: [1, 2], b: { c: 1 } } };
  applyJson6902(obj, [
    { op: 'add', path: '/spec/a/-', value: 3 },
    { op: 'replace', path: '/spec/b/c', value: 2 },
    { op: 'remove', path: '/spec/a/0' },
    { op: 'add', path: '/spec/d~1e', value: 'x' },
    { op: 'test', path: '/spec/b/c', value: 2 },
  ], 't');
  assert.deepStrictEqual(obj, { spec: { a: [2, 3], b: { c: 2 }, 'd/e': 'x' } });
  assert.throws(() => applyJson6902(obj, [{ op: 'test', path: '/spec/b/c', value: 9 }], 't'), /test failed/);
  assert.throws(() => applyJson6902(obj, [{ op: 'replace', path: '/spec/nope', value: 1 }], 't'), /no such path/);
  assert.throws(() => applyJson6902(obj, [{ op: 'move', from: '/spec/a', path: '/spec/z' }], 't'), /only add/);
});

test('renderer: overlays set namespace (not on Namespace), images and patches', () => {
  const local = render(path.join(REPO, 'k8s/overlays/local'));
  const prod = render(path.join(REPO, 'k8s/overlays/production'));
  const ns = prod.find((o) => o.kind === 'Namespace');
  assert.strictEqual(ns.metadata.namespace, undefined);
  assert.ok(prod.filter((o) => o.kind !== 'Namespace').every((o) => o.metadata.namespace === 'livecommerce'));
  const image = (objs, name) => objs.find((o) => o.kind === 'Deployment' && o.metadata.name === name).spec.template.spec.containers[0].image;
  assert.strictEqual(image(prod, 'order'), 'registry.example.com/livecommerce/order:0.1.0');
  assert.strictEqual(image(local, 'order'), 'livecommerce/order:dev');
  assert.strictEqual(image(local, 'redis'), 'redis:7.0');
  const hpa = local.find((o) => o.kind === 'HorizontalPodAutoscaler' && o.metadata.name === 'gateway');
  assert.deepStrictEqual([hpa.spec.minReplicas, hpa.spec.maxReplicas], [1, 2]);
  const config = prod.find((o) => o.kind === 'ConfigMap');
  assert.strictEqual(config.data.LC_PAYMENT_PROVIDER, 'wechat');
  assert.strictEqual(config.data.LC_ROOM_ADDR, 'dns:///room:7101'); // kept from the base
  assert.ok(prod.every((o) => o.metadata.labels['app.kubernetes.io/part-of'] === 'livecommerce' || o.kind === 'Namespace'));
});
