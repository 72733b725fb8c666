'use strict';
// Facts read from the repository itself, so the manifests are checked against the code rather
// than against a second hand-written list: which service calls which, what each binary is,
// which LC_* variables the code reads, and what the Dockerfile builds.
const fs = require('fs');
const path = require('path');

const SERVICES = ['room', 'catalog', 'order', 'attribution', 'report', 'interaction'];

// The component (pod label app.kubernetes.io/name) -> its main source file.
const MAINS = {
  room: 'services/room/main.cc',
  catalog: 'services/catalog/main.cc',
  order: 'services/order/main.cc',
  attribution: 'services/attribution/main.cc',
  report: 'services/report/main.cc',
  interaction: 'services/interaction/main.cc',
  gateway: 'gateway/main.cc',
  migrate: 'services/common/migrate_main.cc',
};

// An event publisher's subscribers, which it calls at LC_<SUBSCRIBER>_ADDR too:
// EventPublisher::Create("room", {{"report", "127.0.0.1:7105"}, {"attribution", ...}}, ...).
// The list is read up to its own closing brace, each subscriber's braces nested in it.
function eventSubscribers(text) {
  const subscribers = new Set();
  for (const m of text.matchAll(/EventPublisher::Create\(\s*"[a-z]+",\s*\{((?:[^{};]|\{[^{};]*\})*)\}/g)) {
    for (const s of m[1].matchAll(/\{\s*"([a-z]+)"\s*,/g)) subscribers.add(s[1]);
  }
  return subscribers;
}

// What each component's main.cc wires up: the services it calls (an LC_<SERVICE>_ADDR it reads
// for a channel), and whether it opens Redis, MySQL, or WeChat's HTTPS API.
function architecture(root) {
  const out = {};
  for (const [component, file] of Object.entries(MAINS)) {
    const text = fs.readFileSync(path.join(root, file), 'utf8');
    const subscribers = eventSubscribers(text);
    out[component] = {
      calls: SERVICES.filter((s) => s !== component &&
        (text.includes(`"LC_${s.toUpperCase()}_ADDR"`) || subscribers.has(s))),
      redis: text.includes('RedisPool::Create'),
      mysql: text.includes('MysqlPool::Create'),
      // WeChat Pay's API (order); the streaming provider's (room: Tencent Cloud Live's API);
      // WeChat's platform API (interaction: the content check).
      https: text.includes('BeastWechatPayTransport::Create') || text.includes('LoadStreamProvider') ||
        text.includes('LoadWechatPlatformConfig'),
    };
  }
  return out;
}

function listFiles(dir, predicate, out = []) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) listFiles(p, predicate, out);
    else if (predicate(p)) out.push(p);
  }
  return out;
}

// Every LC_* name that the C++ code mentions in a string literal.
function knownVariables(root) {
  const names = new Set();
  for (const dir of ['services', 'gateway']) {
    for (const file of listFiles(path.join(root, dir), (p) => /\.(cc|h)$/.test(p))) {
      for (const m of fs.readFileSync(file, 'utf8').matchAll(/"(LC_[A-Z0-9_]+)"/g)) names.add(m[1]);
    }
  }
  // LoadServerOptions("ROOM", ...) builds LC_ROOM_ADDR from the service's prefix.
  for (const s of SERVICES) names.add(`LC_${s.toUpperCase()}_ADDR`);
  return names;
}

// Every executable target of the CMake build.
function cmakeExecutables(root) {
  const names = new Set();
  for (const file of listFiles(root, (p) => path.basename(p) === 'CMakeLists.txt' && !p.includes('node_modules') && !/\/build[^/]*\//.test(p))) {
    for (const m of fs.readFileSync(file, 'utf8').matchAll(/add_executable\(\s*([A-Za-z0-9_-]+)/g)) {
      if (!m[1].startsWith('$')) names.add(m[1]);
    }
  }
  return names;
}

// The Dockerfile's build stage builds the targets listed in its LC_TARGETS argument, stage.sh
// lays out an image's files for each component it is given, and the runtime stage copies the one
// named by SERVICE.
function dockerfile(root) {
  const file = path.join(root, 'k8s', 'Dockerfile');
  const text = fs.readFileSync(file, 'utf8');
  const targets = /^ARG LC_TARGETS="([^"]+)"/m.exec(text);
  return {
    file,
    text,
    targets: targets ? targets[1].split(/\s+/).filter(Boolean) : [],
    // The components stage.sh lays out: those an image can be built for (SERVICE=...).
    staged: (/k8s\/image\/stage\.sh \S+ \S+ ([a-z -]+)$/m.exec(text) || [null, ''])[1].split(/\s+/).filter(Boolean),
    base: [...text.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]),
    copiesService: /COPY --from=build \/out\/root\/\$\{SERVICE\}\/ \//.test(text),
    user: /^USER (\S+)/m.exec(text) ? /^USER (\S+)/m.exec(text)[1] : null,
    usesDeps: /scripts\/deps --build/.test(text),
  };
}

module.exports = { architecture, eventSubscribers, knownVariables, cmakeExecutables, dockerfile, SERVICES, MAINS };
