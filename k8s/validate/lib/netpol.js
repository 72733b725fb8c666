'use strict';
// Evaluates the rendered NetworkPolicies as a cluster would, for the pods the manifests create,
// and compares what they allow with what the code uses (lib/source.js architecture()).
//
// Model: every pod template of a Deployment or Job is one endpoint in the overlay's namespace.
// Outside it: the Ingress controller (namespace ingress-nginx, label
// app.kubernetes.io/name=ingress-nginx), any other pod elsewhere, kube-dns, and addresses outside
// the cluster. An ipBlock is taken to match outside addresses, and also pods unless it excepts
// every private range (pods have private addresses). Kubelet probes are not modelled: they come
// from the node, which NetworkPolicies do not govern in the common CNIs.
const PRIVATE_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'];
const EXTERNAL_PORTS = [22, 80, 443, 3306, 5432, 6379, 7101, 8080];
const DATA_PORTS = { redis: 6379, mysql: 3306 };

function selectorMatches(selector, labels) {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector.matchLabels || {})) {
    if (labels[k] !== v) return false;
  }
  for (const e of selector.matchExpressions || []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const value = labels[e.key];
    if (e.operator === 'In' && !(has && e.values.includes(value))) return false;
    if (e.operator === 'NotIn' && has && e.values.includes(value)) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

function namespaceLabels(ns) {
  return { 'kubernetes.io/metadata.name': ns };
}

// Does one peer (from/to entry) of a policy in namespace `policyNs` match `endpoint`?
function peerMatches(peer, policyNs, endpoint) {
  if (peer.ipBlock) {
    if (endpoint.kind === 'external') return true;
    const except = peer.ipBlock.except || [];
    return !PRIVATE_RANGES.every((r) => except.includes(r));
  }
  if (endpoint.kind === 'external') return false;
  const nsOk = peer.namespaceSelector
    ? selectorMatches(peer.namespaceSelector, namespaceLabels(endpoint.namespace))
    : endpoint.namespace === policyNs;
  return nsOk && selectorMatches(peer.podSelector, endpoint.labels);
}

function portMatches(rulePorts, port, protocol, target) {
  if (!rulePorts || rulePorts.length === 0) return true;
  return rulePorts.some((p) => {
    if ((p.protocol || 'TCP') !== protocol) return false;
    if (p.port === undefined) return true;
    if (typeof p.port === 'string') return target.namedPorts && target.namedPorts[p.port] === port;
    const end = p.endPort !== undefined ? p.endPort : p.port;
    return port >= p.port && port <= end;
  });
}

function typesOf(policy) {
  if (policy.spec.policyTypes) return policy.spec.policyTypes;
  return policy.spec.egress ? ['Ingress', 'Egress'] : ['Ingress'];
}

const nsOf = (obj) => obj.metadata.namespace || 'default';

function selecting(policies, endpoint, type) {
  return policies.filter((p) => nsOf(p) === endpoint.namespace
    && typesOf(p).includes(type) && selectorMatches(p.spec.podSelector, endpoint.labels));
}

function allowed(policies, from, to, port, protocol = 'TCP') {
  if (from.kind === 'pod') {
    const egress = selecting(policies, from, 'Egress');
    if (egress.length > 0 && !egress.some((p) => (p.spec.egress || []).some((r) => portMatches(r.ports, port, protocol, to)
      && (!r.to || r.to.length === 0 || r.to.some((peer) => peerMatches(peer, nsOf(p), to)))))) {
      return false;
    }
  }
  if (to.kind === 'pod') {
    const ingress = selecting(policies, to, 'Ingress');
    if (ingress.length > 0 && !ingress.some((p) => (p.spec.ingress || []).some((r) => portMatches(r.ports, port, protocol, to)
      && (!r.from || r.from.length === 0 || r.from.some((peer) => peerMatches(peer, nsOf(p), from)))))) {
      return false;
    }
  }
  return true;
}

function podTemplate(obj) {
  if (obj.kind === 'Deployment' || obj.kind === 'Job' || obj.kind === 'StatefulSet' || obj.kind === 'DaemonSet') {
    return obj.spec.template;
  }
  return null;
}

// The endpoints of one rendered overlay.
function endpoints(objects) {
  const out = [];
  for (const obj of objects) {
    const t = podTemplate(obj);
    if (!t) continue;
    const labels = (t.metadata && t.metadata.labels) || {};
    const namedPorts = {};
    const ports = [];
    for (const c of t.spec.containers || []) {
      for (const p of c.ports || []) {
        ports.push(p.containerPort);
        if (p.name) namedPorts[p.name] = p.containerPort;
      }
    }
    out.push({
      kind: 'pod', name: labels['app.kubernetes.io/name'] || obj.metadata.name,
      namespace: nsOf(obj), labels, ports, namedPorts, source: `${obj.kind}/${obj.metadata.name}`,
    });
  }
  return out;
}

// Errors: every difference between what the policies allow and what `arch` says is used.
function checkNetworkPolicies(objects, arch) {
  const errors = [];
  const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
  const pods = endpoints(objects);
  if (pods.length === 0) return errors;
  if (!policies.some((p) => Object.keys(p.spec.podSelector || {}).length === 0
    && typesOf(p).includes('Ingress') && typesOf(p).includes('Egress')
    && !(p.spec.ingress || []).length && !(p.spec.egress || []).length)) {
    errors.push('NetworkPolicy: no default-deny policy (podSelector {}, Ingress and Egress, no rules)');
  }
  const ingressController = { kind: 'pod', name: 'ingress-controller', namespace: 'ingress-nginx', labels: { 'app.kubernetes.io/name': 'ingress-nginx' }, ports: [] };
  const elsewhere = { kind: 'pod', name: 'a pod in another namespace', namespace: 'elsewhere', labels: { app: 'other' }, ports: [] };
  const internet = { kind: 'external', name: 'an address outside the cluster' };
  const dns = { kind: 'pod', name: 'kube-dns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' }, ports: [53], namedPorts: {} };

  const expectedFor = (src) => {
    if (arch[src.name]) return arch[src.name];
    if (src.labels['app.kubernetes.io/component'] === 'local-dependency') {
      return { calls: [], redis: false, mysql: false, https: false };
    }
    return null;
  };
  for (const src of pods) {
    const uses = expectedFor(src);
    if (!uses) {
      errors.push(`NetworkPolicy: ${src.source}: its pods (app.kubernetes.io/name=${src.name}) are not a component the code knows`);
      continue;
    }
    if (!allowed(policies, src, dns, 53, 'UDP')) errors.push(`NetworkPolicy: ${src.name} cannot resolve names (kube-dns, UDP 53)`);
    for (const dst of pods) {
      if (dst === src) continue;
      for (const port of dst.ports) {
        // A metrics port is for Prometheus only (checked below), never for a component's calls.
        let want = uses.calls.includes(dst.name) && dst.namedPorts.metrics !== port;
        for (const [store, storePort] of Object.entries(DATA_PORTS)) {
          if (dst.name === store && port === storePort) want = uses[store];
        }
        const got = allowed(policies, src, dst, port);
        if (got && !want) errors.push(`NetworkPolicy: ${src.name} -> ${dst.name}:${port} is allowed but the code does not use it`);
        if (!got && want) errors.push(`NetworkPolicy: ${src.name} -> ${dst.name}:${port} is used by the code but not allowed`);
      }
    }
    for (const port of EXTERNAL_PORTS) {
      const want = (port === 6379 && uses.redis) || (port === 3306 && uses.mysql) || (port === 443 && uses.https);
      const got = allowed(policies, src, internet, port);
      if (got && !want) errors.push(`NetworkPolicy: ${src.name} -> outside the cluster, port ${port}, is allowed but not used`);
      if (!got && want) errors.push(`NetworkPolicy: ${src.name} -> outside the cluster, port ${port}, is used but not allowed`);
    }
  }
  // Prometheus (namespace monitoring, k8s/base/monitoring.yaml) reaches every metrics port and
  // the gateway's HTTP port (/metrics), and no other port.
  const prometheus = { kind: 'pod', name: 'prometheus', namespace: 'monitoring', labels: { 'app.kubernetes.io/name': 'prometheus' }, ports: [] };
  for (const dst of pods) {
    if (!arch[dst.name]) continue;
    for (const port of dst.ports) {
      const want = dst.namedPorts.metrics === port || (dst.name === 'gateway' && dst.namedPorts.http === port);
      if (allowed(policies, prometheus, dst, port) !== want) {
        errors.push(`NetworkPolicy: Prometheus -> ${dst.name}:${port} should be ${want ? 'allowed' : 'denied'}`);
      }
    }
  }
  for (const dst of pods) {
    for (const port of dst.ports) {
      const publicEntry = dst.name === 'gateway' && dst.namedPorts.http === port;
      if (allowed(policies, ingressController, dst, port) !== publicEntry) {
        errors.push(`NetworkPolicy: the Ingress controller -> ${dst.name}:${port} should be ${publicEntry ? 'allowed' : 'denied'}`);
      }
      if (allowed(policies, elsewhere, dst, port)) errors.push(`NetworkPolicy: any pod in another namespace may reach ${dst.name}:${port}`);
      if (allowed(policies, internet, dst, port)) errors.push(`NetworkPolicy: addresses outside the cluster may reach ${dst.name}:${port}`);
    }
  }
  return errors;
}

module.exports = { checkNetworkPolicies, selectorMatches, allowed, endpoints };
