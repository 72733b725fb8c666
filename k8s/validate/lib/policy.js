'use strict';
// The project's rules for its manifests (docs/DEPLOY.md), checked on each rendered overlay.
// Each check returns messages; an empty list means the overlay keeps the rules.
const path = require('path');
const { splitImage } = require('./kustomize');
const { selectorMatches } = require('./netpol');

const PART_OF = 'app.kubernetes.io/part-of';
const NAME = 'app.kubernetes.io/name';
const COMPONENT = 'app.kubernetes.io/component';
// Environment variables whose values are secrets: never a literal in a manifest.
const SECRET_NAME = /(PASSWORD|SECRET|TOKEN|APIV3_KEY|PRIVATE_KEY)$/;
// Names that match but hold a switch, not a secret.
const NOT_SECRET = new Set(['MARIADB_RANDOM_ROOT_PASSWORD']);

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'Pod']);

function podSpecOf(obj) {
  if (obj.kind === 'Pod') return obj.spec;
  if (obj.kind === 'CronJob') return obj.spec.jobTemplate.spec.template.spec;
  return obj.spec && obj.spec.template && obj.spec.template.spec;
}

function allContainers(spec) {
  return [...(spec.initContainers || []), ...(spec.containers || [])];
}

const id = (o) => `${o.kind}/${o.metadata.name}`;

function checkSecurity(obj, spec, errors) {
  const pod = spec.securityContext || {};
  for (const f of ['hostNetwork', 'hostPID', 'hostIPC']) {
    if (spec[f]) errors.push(`${id(obj)}: ${f} must not be set`);
  }
  if (spec.automountServiceAccountToken !== false) {
    errors.push(`${id(obj)}: automountServiceAccountToken must be false (no pod talks to the API)`);
  }
  for (const c of allContainers(spec)) {
    const sc = c.securityContext || {};
    const at = `${id(obj)} container ${c.name}`;
    const either = (k) => (sc[k] !== undefined ? sc[k] : pod[k]);
    if (either('runAsNonRoot') !== true) errors.push(`${at}: runAsNonRoot must be true`);
    if (either('runAsUser') === 0) errors.push(`${at}: runAsUser must not be 0`);
    if (sc.readOnlyRootFilesystem !== true) errors.push(`${at}: readOnlyRootFilesystem must be true`);
    if (sc.allowPrivilegeEscalation !== false) errors.push(`${at}: allowPrivilegeEscalation must be false`);
    if (sc.privileged) errors.push(`${at}: privileged must not be set`);
    const drop = (sc.capabilities && sc.capabilities.drop) || [];
    if (!drop.includes('ALL')) errors.push(`${at}: capabilities must drop ALL`);
    if (sc.capabilities && (sc.capabilities.add || []).length) errors.push(`${at}: capabilities must add nothing`);
    const seccomp = either('seccompProfile');
    if (!seccomp || seccomp.type !== 'RuntimeDefault') errors.push(`${at}: seccompProfile must be RuntimeDefault`);
  }
}

function checkResources(obj, spec, errors) {
  for (const c of allContainers(spec)) {
    const r = c.resources || {};
    for (const kind of ['requests', 'limits']) {
      for (const res of ['cpu', 'memory']) {
        if (!r[kind] || r[kind][res] === undefined) {
          errors.push(`${id(obj)} container ${c.name}: resources.${kind}.${res} is missing`);
        }
      }
    }
  }
}

function checkProbes(obj, spec, errors) {
  for (const c of spec.containers || []) {
    for (const probe of ['readinessProbe', 'livenessProbe']) {
      if (!c[probe]) errors.push(`${id(obj)} container ${c.name}: no ${probe}`);
    }
  }
}

// No secret value written into a workload or a ConfigMap: secrets come from Secrets.
function checkNoInlineSecrets(obj, spec, errors) {
  for (const c of allContainers(spec)) {
    for (const e of c.env || []) {
      if (SECRET_NAME.test(e.name) && !NOT_SECRET.has(e.name) && (e.value !== undefined || !(e.valueFrom && e.valueFrom.secretKeyRef))) {
        errors.push(`${id(obj)} container ${c.name}: ${e.name} must come from a Secret (valueFrom.secretKeyRef), not a literal or a ConfigMap`);
      }
    }
  }
}

function portNumber(container, port) {
  if (typeof port === 'number') return port;
  const p = (container.ports || []).find((x) => x.name === port);
  return p ? p.containerPort : undefined;
}

// The rules for the project's own Deployments: probes of the right kind on the right port, a
// PodDisruptionBudget and a HorizontalPodAutoscaler, a Service, and configuration that agrees.
function checkComponent(obj, objects, facts, errors) {
  const spec = podSpecOf(obj);
  const name = obj.spec.template.metadata.labels[NAME];
  const labels = obj.spec.template.metadata.labels;
  const c = spec.containers[0];
  const at = id(obj);
  if (spec.containers.length !== 1) errors.push(`${at}: one container expected`);
  const isGateway = name === 'gateway';
  const servicePort = (c.ports || [])[0] && c.ports[0].containerPort;
  if (!servicePort) errors.push(`${at}: the container declares no port`);
  for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
    const p = c[probe];
    if (!p) continue;
    if (isGateway) {
      const want = probe === 'readinessProbe' ? '/readyz' : '/healthz';
      if (!p.httpGet || p.httpGet.path !== want || portNumber(c, p.httpGet.port) !== servicePort) {
        errors.push(`${at}: ${probe} must be httpGet ${want} on the container's port`);
      }
    } else if (!p.grpc || p.grpc.port !== servicePort) {
      errors.push(`${at}: ${probe} must be a native grpc probe on port ${servicePort}`);
    }
  }
  const pdbs = objects.filter((o) => o.kind === 'PodDisruptionBudget' && selectorMatches(o.spec.selector, labels));
  if (pdbs.length !== 1) errors.push(`${at}: ${pdbs.length} PodDisruptionBudgets select its pods (one expected)`);
  const hpas = objects.filter((o) => o.kind === 'HorizontalPodAutoscaler' && o.spec.scaleTargetRef.kind === 'Deployment' && o.spec.scaleTargetRef.name === obj.metadata.name);
  if (hpas.length !== 1) errors.push(`${at}: ${hpas.length} HorizontalPodAutoscalers scale it (one expected)`);
  if (hpas.length === 1 && obj.spec.replicas !== undefined) {
    errors.push(`${at}: spec.replicas is set but the HorizontalPodAutoscaler owns the count`);
  }
  if (pdbs.length === 1 && hpas.length === 1 && pdbs[0].spec.minAvailable !== undefined
    && Number(pdbs[0].spec.minAvailable) >= (hpas[0].spec.minReplicas || 1)) {
    errors.push(`${at}: the PodDisruptionBudget's minAvailable would block every eviction at minReplicas`);
  }
  const services = objects.filter((o) => o.kind === 'Service' && o.spec.selector && selectorMatches({ matchLabels: o.spec.selector }, labels));
  if (services.length !== 1) {
    errors.push(`${at}: ${services.length} Services select its pods (one expected)`);
  } else {
    const svc = services[0];
    const port = svc.spec.ports[0];
    if (portNumber(c, port.targetPort === undefined ? port.port : port.targetPort) !== servicePort) {
      errors.push(`Service/${svc.metadata.name}: targetPort does not reach the container's port ${servicePort}`);
    }
    if (svc.metadata.name !== name) errors.push(`Service/${svc.metadata.name}: should be named ${name}, as the other services address it`);
    // The address the others use (ConfigMap) and the one it listens on (its env).
    if (!isGateway) {
      const variable = `LC_${name.toUpperCase()}_ADDR`;
      const listen = (c.env || []).find((e) => e.name === variable);
      if (!listen || listen.value !== `0.0.0.0:${servicePort}`) errors.push(`${at}: ${variable} must be 0.0.0.0:${servicePort} (listen on the pod's address)`);
      for (const cm of objects.filter((o) => o.kind === 'ConfigMap' && o.data && o.data[variable] !== undefined)) {
        if (cm.data[variable] !== `dns:///${svc.metadata.name}:${port.port}`) {
          errors.push(`ConfigMap/${cm.metadata.name}: ${variable} is ${cm.data[variable]}, but the Service is dns:///${svc.metadata.name}:${port.port}`);
        }
      }
    }
  }
  // Scraped by Prometheus: the pod template asks for it, on the port that serves /metrics (a
  // service's own metrics port, where LC_METRICS_ADDR makes it listen; the gateway's HTTP port).
  if (name !== 'migrate') {
    const annotations = obj.spec.template.metadata.annotations || {};
    const metricsPort = (c.ports || []).find((p) => p.name === 'metrics');
    const scrapePort = isGateway ? servicePort : metricsPort && metricsPort.containerPort;
    if (!isGateway && !metricsPort) errors.push(`${at}: the container declares no port named metrics`);
    if (annotations['prometheus.io/scrape'] !== 'true') errors.push(`${at}: the pod template lacks prometheus.io/scrape: "true"`);
    if (scrapePort && annotations['prometheus.io/port'] !== String(scrapePort)) {
      errors.push(`${at}: prometheus.io/port should be "${scrapePort}"`);
    }
    if (annotations['prometheus.io/path'] !== '/metrics') errors.push(`${at}: prometheus.io/path should be /metrics`);
    if (metricsPort) {
      const listen = (c.env || []).find((e) => e.name === 'LC_METRICS_ADDR');
      if (!listen || listen.value !== `0.0.0.0:${metricsPort.containerPort}`) {
        errors.push(`${at}: LC_METRICS_ADDR must be 0.0.0.0:${metricsPort.containerPort} (its metrics port)`);
      }
    }
  }
  // The binary exists in the build, and the image is the one built for it.
  const binary = c.command && c.command[0] ? path.basename(c.command[0]) : null;
  if (!binary) errors.push(`${at}: the container names no command`);
  else {
    if (!facts.executables.has(binary)) errors.push(`${at}: ${binary} is not an executable of the CMake build`);
    if (!facts.dockerfile.targets.includes(binary)) errors.push(`${at}: k8s/Dockerfile does not build ${binary}`);
    if (!facts.dockerfile.staged.includes(binary)) errors.push(`${at}: k8s/Dockerfile has no image for ${binary} (stage.sh)`);
    const image = splitImage(c.image).name;
    if (path.basename(image) !== binary) errors.push(`${at}: image ${c.image} is not the image of ${binary} (…/${binary})`);
  }
}

function checkReferences(objects, overlay, errors) {
  const configMaps = new Set(objects.filter((o) => o.kind === 'ConfigMap').map((o) => o.metadata.name));
  const secrets = new Set(objects.filter((o) => o.kind === 'Secret').map((o) => o.metadata.name));
  const external = new Set();
  const optionalExternal = new Set();
  const need = (kind, name, optional, at) => {
    if (kind === 'ConfigMap' && !configMaps.has(name) && !optional) errors.push(`${at}: ConfigMap ${name} is not in the overlay`);
    if (kind === 'Secret' && !secrets.has(name)) (optional ? optionalExternal : external).add(name);
  };
  for (const obj of objects.filter((o) => WORKLOAD_KINDS.has(o.kind))) {
    const spec = podSpecOf(obj);
    for (const c of allContainers(spec)) {
      for (const e of c.envFrom || []) {
        if (e.configMapRef) need('ConfigMap', e.configMapRef.name, e.configMapRef.optional, id(obj));
        if (e.secretRef) need('Secret', e.secretRef.name, e.secretRef.optional, id(obj));
      }
      for (const e of c.env || []) {
        const from = e.valueFrom || {};
        if (from.configMapKeyRef) need('ConfigMap', from.configMapKeyRef.name, from.configMapKeyRef.optional, id(obj));
        if (from.secretKeyRef) need('Secret', from.secretKeyRef.name, from.secretKeyRef.optional, id(obj));
      }
    }
    for (const v of spec.volumes || []) {
      if (v.configMap) need('ConfigMap', v.configMap.name, v.configMap.optional, id(obj));
      if (v.secret) need('Secret', v.secret.secretName, v.secret.optional, id(obj));
    }
  }
  return { required: [...external].sort(), optional: [...optionalExternal].filter((n) => !external.has(n)).sort() };
}

// `objects`: one rendered overlay. `options.secretsOutside`: the overlay must hold no Secret
// (production: they are created apart); otherwise every Secret it needs must be in it.
function checkPolicy(objects, facts, options = {}) {
  const errors = [];
  const workloads = objects.filter((o) => WORKLOAD_KINDS.has(o.kind));
  for (const obj of workloads) {
    const spec = podSpecOf(obj);
    checkSecurity(obj, spec, errors);
    checkResources(obj, spec, errors);
    checkNoInlineSecrets(obj, spec, errors);
    if (obj.kind === 'Deployment' || obj.kind === 'StatefulSet') checkProbes(obj, spec, errors);
    for (const c of allContainers(spec)) {
      for (const e of c.env || []) {
        if (e.name.startsWith('LC_') && !facts.variables.has(e.name)) errors.push(`${id(obj)}: ${e.name} is read by no code`);
      }
      if (options.released) {
        const img = splitImage(c.image || '');
        if ((!img.tag && !img.digest) || img.tag === 'latest') errors.push(`${id(obj)} container ${c.name}: image ${c.image} needs a fixed tag or a digest`);
      }
    }
  }
  for (const cm of objects.filter((o) => o.kind === 'ConfigMap')) {
    for (const key of Object.keys(cm.data || {})) {
      if (SECRET_NAME.test(key)) errors.push(`ConfigMap/${cm.metadata.name}: ${key} looks like a secret; put it in a Secret`);
      if (key.startsWith('LC_') && !facts.variables.has(key)) errors.push(`ConfigMap/${cm.metadata.name}: ${key} is read by no code`);
    }
  }
  const components = objects.filter((o) => o.kind === 'Deployment' && o.spec.template.metadata.labels[PART_OF] === 'livecommerce');
  const names = components.map((o) => o.spec.template.metadata.labels[NAME]);
  for (const want of [...facts.services, 'gateway']) {
    if (!names.includes(want)) errors.push(`no Deployment for ${want}`);
  }
  for (const obj of components) {
    if (!['service', 'gateway'].includes(obj.spec.template.metadata.labels[COMPONENT])) {
      errors.push(`${id(obj)}: ${COMPONENT} must be service or gateway`);
    }
    checkComponent(obj, objects, facts, errors);
  }
  const job = objects.find((o) => o.kind === 'Job' && podSpecOf(o).containers.some((c) => c.command && path.basename(c.command[0]) === 'lc-migrate'));
  if (!job) errors.push('no Job runs lc-migrate');
  else {
    const c = podSpecOf(job).containers[0];
    if (!facts.dockerfile.staged.includes('lc-migrate')) errors.push(`${id(job)}: k8s/Dockerfile has no image for lc-migrate (stage.sh)`);
    if (path.basename(splitImage(c.image).name) !== 'lc-migrate') errors.push(`${id(job)}: image ${c.image} is not the image of lc-migrate`);
    if (!(c.env || []).some((e) => e.name === 'LC_MIGRATIONS_DIR' && e.value === '/usr/share/livecommerce/migrations')) {
      errors.push(`${id(job)}: LC_MIGRATIONS_DIR must be /usr/share/livecommerce/migrations (where the image has them)`);
    }
  }
  const ingresses = objects.filter((o) => o.kind === 'Ingress');
  if (ingresses.length === 0) errors.push('no Ingress for the gateway');
  for (const ing of ingresses) {
    const a = (ing.metadata.annotations || {})['nginx.ingress.kubernetes.io/proxy-read-timeout'];
    if (!a || Number(a) < 300) errors.push(`${id(ing)}: proxy-read-timeout must keep WebSockets open (at least 300 s)`);
    for (const rule of ing.spec.rules || []) {
      for (const p of rule.http.paths) {
        const svc = objects.find((o) => o.kind === 'Service' && o.metadata.name === p.backend.service.name);
        if (!svc) errors.push(`${id(ing)}: backend Service ${p.backend.service.name} does not exist`);
        else if (!svc.spec.ports.some((x) => x.name === p.backend.service.port.name || x.port === p.backend.service.port.number)) {
          errors.push(`${id(ing)}: backend port is not a port of Service/${svc.metadata.name}`);
        }
      }
    }
  }
  const { required: external, optional } = checkReferences(objects, options, errors);
  const secretObjects = objects.filter((o) => o.kind === 'Secret');
  if (options.secretsOutside && secretObjects.length) {
    errors.push(`Secrets must be created apart in this overlay, not kept in the repository: ${secretObjects.map((o) => o.metadata.name).join(', ')}`);
  }
  if (!options.secretsOutside && external.length) {
    errors.push(`Secrets used but not in the overlay: ${external.join(', ')}`);
  }
  return { errors, externalSecrets: external, optionalSecrets: optional };
}

module.exports = { checkPolicy, SECRET_NAME };
