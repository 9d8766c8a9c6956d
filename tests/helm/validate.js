'use strict';
/*
 * validate.js - checks one `helm template` output of the dmarcd chart,
 * offline, and names every problem it finds:
 *
 *   1. each object against the Kubernetes JSON schema of its kind
 *      (kubernetes-models; an unknown apiVersion/kind is an error);
 *   2. keys the schema validator lets through: it ignores unknown fields,
 *      so securityContexts, probes and resources are checked against
 *      whitelists here (a misspelt `readOnlyRootFilesytem` would otherwise
 *      be dropped silently by the API server), and quantities must parse;
 *   3. the chart's promises: every pod non-root, read-only root filesystem,
 *      no privilege escalation, all capabilities dropped, seccomp
 *      RuntimeDefault, /tmp an emptyDir, no service-account token; the
 *      ServiceAccount does not automount its token; the migrate Job is a
 *      pre-install,pre-upgrade hook that uses only hook objects (or
 *      Secrets from outside the chart) and no workload is a hook;
 *      NetworkPolicies default-deny every pod of the release and let each
 *      reach DNS; selectors, Services, PDBs and HPAs point at something;
 *   4. every DMARCD_* variable the chart sets is a key of dmarcd's
 *      configuration table (from `dmarcd config sample`) or one of the
 *      documented keys the chart sets ahead of the binary.
 *
 * usage: node validate.js [--config-sample FILE] [--allow-key KEY ...]
 *                          [--expect kind:KIND=N ...] MANIFEST.yaml
 *   --config-sample FILE  output of `dmarcd config sample` (check 4)
 *   --allow-key KEY       a configuration key a test sets on purpose
 *   --expect kind:KIND=N  exactly N objects of that kind
 * Written for Node 18 and later (CommonJS, no newer APIs).
 */
const fs = require('fs');
const path = require('path');
const YAML = require('yaml');

const problems = [];
const notes = [];
function fail(where, msg) {
  problems.push(where + ': ' + msg);
}

// ---- arguments --------------------------------------------------------------
const args = process.argv.slice(2);
let configSample = null;
const expects = [];
const allowKeys = [];
let manifestPath = null;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--config-sample') configSample = args[++i];
  else if (args[i] === '--expect') expects.push(args[++i]);
  else if (args[i] === '--allow-key') allowKeys.push(String(args[++i]).toLowerCase());
  else if (!manifestPath) manifestPath = args[i];
  else {
    console.error('validate: unexpected argument ' + args[i]);
    process.exit(2);
  }
}
if (!manifestPath) {
  console.error('usage: node validate.js [--config-sample FILE] [--allow-key KEY] [--expect kind:K=N] MANIFEST.yaml');
  process.exit(2);
}
const label = path.basename(manifestPath);

// ---- parse: YAML 1.1, as Kubernetes and Helm read it -------------------------
const docs = [];
for (const doc of YAML.parseAllDocuments(fs.readFileSync(manifestPath, 'utf8'), { version: '1.1' })) {
  if (doc.errors.length) {
    for (const e of doc.errors) fail(label, 'YAML error: ' + e.message);
    continue;
  }
  const obj = doc.toJS();
  if (obj !== null && obj !== undefined) docs.push(obj);
}
if (docs.length === 0) fail(label, 'no objects rendered');

function nameOf(o) {
  return (o.kind || '?') + '/' + ((o.metadata && o.metadata.name) || '?');
}

// ---- 1. Kubernetes schemas --------------------------------------------------
function modelFor(apiVersion, kind) {
  let group;
  try {
    group = require('kubernetes-models/' + apiVersion);
  } catch (e) {
    return null;
  }
  return typeof group[kind] === 'function' ? group[kind] : null;
}

for (const o of docs) {
  const where = label + ' ' + nameOf(o);
  if (!o.apiVersion || !o.kind) {
    fail(where, 'missing apiVersion or kind');
    continue;
  }
  const Model = modelFor(o.apiVersion, o.kind);
  if (!Model) {
    fail(where, 'no schema for ' + o.apiVersion + ' ' + o.kind + ' (unknown or removed API)');
    continue;
  }
  try {
    new Model(o).validate();
  } catch (e) {
    fail(where, 'schema: ' + e.message);
  }
}

// ---- 2. whitelists for what the schema validator does not catch --------------
const ALLOWED = {
  podSecurityContext: ['appArmorProfile', 'fsGroup', 'fsGroupChangePolicy', 'runAsGroup',
    'runAsNonRoot', 'runAsUser', 'seLinuxChangePolicy', 'seLinuxOptions', 'seccompProfile',
    'supplementalGroups', 'supplementalGroupsPolicy', 'sysctls', 'windowsOptions'],
  securityContext: ['allowPrivilegeEscalation', 'appArmorProfile', 'capabilities', 'privileged',
    'procMount', 'readOnlyRootFilesystem', 'runAsGroup', 'runAsNonRoot', 'runAsUser',
    'seLinuxOptions', 'seccompProfile', 'windowsOptions'],
  capabilities: ['add', 'drop'],
  seccompProfile: ['type', 'localhostProfile'],
  probe: ['exec', 'failureThreshold', 'grpc', 'httpGet', 'initialDelaySeconds', 'periodSeconds',
    'successThreshold', 'tcpSocket', 'terminationGracePeriodSeconds', 'timeoutSeconds'],
  httpGet: ['host', 'httpHeaders', 'path', 'port', 'scheme'],
  tcpSocket: ['host', 'port'],
  exec: ['command'],
  grpc: ['port', 'service'],
  resources: ['claims', 'limits', 'requests'],
};
const RESOURCE_NAME = /^(cpu|memory|ephemeral-storage|hugepages-[0-9]+[KMG]i|[a-z0-9.-]+\/[A-Za-z0-9._-]+)$/;
const QUANTITY = /^[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;

function onlyKeys(where, obj, allowedName) {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    fail(where, 'must be an object');
    return;
  }
  const allowed = ALLOWED[allowedName];
  for (const k of Object.keys(obj)) {
    if (allowed.indexOf(k) < 0) fail(where, 'unknown key "' + k + '" (allowed: ' + allowed.join(', ') + ')');
  }
}

function checkSecurityContext(where, sc, pod) {
  onlyKeys(where, sc, pod ? 'podSecurityContext' : 'securityContext');
  if (sc.capabilities) onlyKeys(where + '.capabilities', sc.capabilities, 'capabilities');
  if (sc.seccompProfile) onlyKeys(where + '.seccompProfile', sc.seccompProfile, 'seccompProfile');
}

function checkProbe(where, p) {
  onlyKeys(where, p, 'probe');
  for (const h of ['httpGet', 'tcpSocket', 'exec', 'grpc']) {
    if (p[h] !== undefined) onlyKeys(where + '.' + h, p[h], h);
  }
  const handlers = ['httpGet', 'tcpSocket', 'exec', 'grpc'].filter(function (h) { return p[h] !== undefined; });
  if (handlers.length !== 1) fail(where, 'needs exactly one of httpGet, tcpSocket, exec, grpc (has ' + handlers.length + ')');
}

function checkResources(where, r) {
  onlyKeys(where, r, 'resources');
  for (const part of ['limits', 'requests']) {
    const m = r[part];
    if (m === undefined) continue;
    for (const k of Object.keys(m)) {
      if (!RESOURCE_NAME.test(k)) fail(where + '.' + part, 'unknown resource name "' + k + '"');
      if (!QUANTITY.test(String(m[k]))) fail(where + '.' + part + '.' + k, 'not a quantity: "' + m[k] + '"');
    }
  }
}

// ---- 3. the chart's promises ----------------------------------------------------
function podSpecOf(o) {
  if (o.kind === 'Deployment' || o.kind === 'Job' || o.kind === 'StatefulSet' || o.kind === 'DaemonSet') {
    return o.spec && o.spec.template;
  }
  if (o.kind === 'CronJob') return o.spec && o.spec.jobTemplate && o.spec.jobTemplate.spec && o.spec.jobTemplate.spec.template;
  if (o.kind === 'Pod') return o;
  return null;
}

function hookOf(o) {
  const a = (o.metadata && o.metadata.annotations) || {};
  if (!a['helm.sh/hook']) return null;
  return {
    events: String(a['helm.sh/hook']).split(',').map(function (s) { return s.trim(); }),
    weight: parseInt(a['helm.sh/hook-weight'] || '0', 10),
    deletePolicy: String(a['helm.sh/hook-delete-policy'] || ''),
  };
}

function labelsMatch(selector, labels) {
  if (!selector || typeof selector !== 'object') return false;
  const keys = Object.keys(selector);
  if (keys.length === 0) return true;
  for (const k of keys) {
    if (!labels || labels[k] !== selector[k]) return false;
  }
  return true;
}

const byKind = {};
for (const o of docs) {
  (byKind[o.kind] = byKind[o.kind] || []).push(o);
}
function all(kind) {
  return byKind[kind] || [];
}
function find(kind, name) {
  return all(kind).filter(function (o) { return o.metadata && o.metadata.name === name; })[0];
}

const rendered = {}; // Secret name -> object
for (const s of all('Secret')) rendered[s.metadata.name] = s;

// Every object's hook status: workloads must never be hooks (they would
// escape the release's lifecycle and run out of order).
for (const o of docs) {
  const h = hookOf(o);
  const isMigrate = o.metadata && o.metadata.labels && o.metadata.labels['app.kubernetes.io/component'] === 'migrate';
  if (h && !isMigrate) fail(label + ' ' + nameOf(o), 'is a Helm hook (' + h.events.join(',') + '); only the migrate objects may be');
  if (!h && isMigrate) fail(label + ' ' + nameOf(o), 'belongs to migrate but is not a hook: it would not exist when the hook runs');
}

const pods = [];
for (const o of docs) {
  const tpl = podSpecOf(o);
  if (tpl) pods.push({ owner: o, tpl: tpl });
}

for (const p of pods) {
  const where = label + ' ' + nameOf(p.owner);
  const spec = p.tpl.spec || {};
  const hook = hookOf(p.owner);
  if (spec.automountServiceAccountToken !== false) fail(where, 'pod must set automountServiceAccountToken: false');
  if (spec.enableServiceLinks !== false) fail(where, 'pod must set enableServiceLinks: false (service links inject variables that look like DMARCD_ settings)');
  if (spec.hostNetwork || spec.hostPID || spec.hostIPC) fail(where, 'pod must not use host namespaces');

  const psc = spec.securityContext;
  if (!psc) fail(where, 'pod has no securityContext');
  else {
    checkSecurityContext(where + ' pod securityContext', psc, true);
    if (psc.runAsNonRoot !== true) fail(where, 'pod securityContext.runAsNonRoot must be true');
    if (!(psc.runAsUser > 0)) fail(where, 'pod securityContext.runAsUser must be a non-zero UID');
    if (!psc.seccompProfile || psc.seccompProfile.type !== 'RuntimeDefault') fail(where, 'pod seccompProfile must be RuntimeDefault');
  }

  // service account: exists in this render, and for a hook it is itself an
  // earlier hook (the release's own ServiceAccount does not exist yet).
  const saName = spec.serviceAccountName;
  if (!saName) fail(where, 'pod has no serviceAccountName (would use the namespace default)');
  else {
    const sa = find('ServiceAccount', saName);
    if (!sa) fail(where, 'ServiceAccount ' + saName + ' is not rendered by the chart');
    else if (hook) {
      const sh = hookOf(sa);
      if (!sh || sh.weight >= hook.weight) fail(where, 'hook pod uses ServiceAccount ' + saName + ' which is not an earlier hook');
    }
  }

  const volumes = spec.volumes || [];
  const tmpVol = volumes.filter(function (v) { return v.name === 'tmp'; })[0];
  if (!tmpVol || !tmpVol.emptyDir) fail(where, 'pod needs an emptyDir volume "tmp"');

  // Secrets the pod mounts: a Secret rendered by the chart must exist in
  // the render; a hook pod may use only hook Secrets created before it.
  const secretNames = [];
  for (const v of volumes) {
    if (v.secret) secretNames.push({ name: v.secret.secretName, optional: v.secret.optional });
    if (v.projected) {
      for (const src of v.projected.sources || []) {
        if (src.secret) secretNames.push({ name: src.secret.name, optional: src.secret.optional });
      }
    }
  }
  for (const s of secretNames) {
    const obj = rendered[s.name];
    if (!obj) {
      notes.push('Secret ' + s.name + ' comes from outside the chart: it must exist before the install');
      continue;
    }
    const sh = hookOf(obj);
    if (hook && (!sh || sh.weight >= hook.weight)) fail(where, 'hook pod uses Secret ' + s.name + ', which does not exist yet when the hook runs');
    if (!hook && sh) fail(where, 'pod uses hook Secret ' + s.name + ', which Helm deletes after the hook');
  }

  const containers = (spec.containers || []).concat(spec.initContainers || []);
  if (!spec.containers || spec.containers.length === 0) fail(where, 'pod has no containers');
  for (const c of containers) {
    const cw = where + ' container ' + c.name;
    const sc = c.securityContext;
    if (!sc) fail(cw, 'no securityContext');
    else {
      checkSecurityContext(cw + ' securityContext', sc, false);
      if (sc.runAsNonRoot !== true) fail(cw, 'securityContext.runAsNonRoot must be true');
      if (!(sc.runAsUser > 0)) fail(cw, 'securityContext.runAsUser must be a non-zero UID');
      if (sc.readOnlyRootFilesystem !== true) fail(cw, 'securityContext.readOnlyRootFilesystem must be true');
      if (sc.allowPrivilegeEscalation !== false) fail(cw, 'securityContext.allowPrivilegeEscalation must be false');
      if (sc.privileged === true) fail(cw, 'must not be privileged');
      const drop = (sc.capabilities && sc.capabilities.drop) || [];
      if (drop.indexOf('ALL') < 0) fail(cw, 'securityContext.capabilities.drop must contain ALL');
      if (sc.capabilities && sc.capabilities.add && sc.capabilities.add.length) fail(cw, 'must not add capabilities');
      if (!sc.seccompProfile || sc.seccompProfile.type !== 'RuntimeDefault') fail(cw, 'seccompProfile must be RuntimeDefault');
    }
    for (const pr of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
      if (c[pr] !== undefined) checkProbe(cw + ' ' + pr, c[pr]);
    }
    if (!c.resources) fail(cw, 'no resources');
    else {
      checkResources(cw + ' resources', c.resources);
      if (!c.resources.requests || !c.resources.requests.cpu || !c.resources.requests.memory) fail(cw, 'resources.requests needs cpu and memory');
      if (!c.resources.limits || !c.resources.limits.memory) fail(cw, 'resources.limits needs memory');
    }
    const mounts = c.volumeMounts || [];
    if (!mounts.some(function (m) { return m.mountPath === '/tmp' && m.name === 'tmp'; })) fail(cw, '/tmp must be the "tmp" emptyDir');
    for (const m of mounts) {
      if (!volumes.some(function (v) { return v.name === m.name; })) fail(cw, 'mounts unknown volume ' + m.name);
    }
    if (!c.image || /:latest$/.test(c.image) || !/[:@]/.test(c.image)) fail(cw, 'image must be pinned by tag or digest: ' + c.image);
    for (const ef of c.envFrom || []) {
      if (ef.configMapRef) {
        const cm = find('ConfigMap', ef.configMapRef.name);
        if (!cm) fail(cw, 'envFrom ConfigMap ' + ef.configMapRef.name + ' is not rendered');
        else if (hook && !hookOf(cm)) fail(cw, 'hook pod reads ConfigMap ' + cm.metadata.name + ', which does not exist yet when the hook runs');
      }
    }
  }
}

// The ServiceAccounts themselves.
for (const sa of all('ServiceAccount')) {
  if (sa.automountServiceAccountToken !== false) fail(label + ' ' + nameOf(sa), 'automountServiceAccountToken must be false');
}

// The migrate Job: a pre-install and pre-upgrade hook, so Helm runs it and
// waits for it before it creates or updates any workload.
const jobs = all('Job');
const migrate = jobs.filter(function (j) {
  return j.metadata.labels && j.metadata.labels['app.kubernetes.io/component'] === 'migrate';
})[0];
if (!migrate) fail(label, 'no migrate Job rendered');
else {
  const h = hookOf(migrate);
  const where = label + ' ' + nameOf(migrate);
  if (!h) fail(where, 'is not a Helm hook: it would run alongside the workloads');
  else {
    if (h.events.indexOf('pre-install') < 0) fail(where, 'hook must include pre-install (has ' + h.events.join(',') + ')');
    if (h.events.indexOf('pre-upgrade') < 0) fail(where, 'hook must include pre-upgrade (has ' + h.events.join(',') + ')');
    if (h.deletePolicy.indexOf('before-hook-creation') < 0) fail(where, 'hook-delete-policy must include before-hook-creation (else the next upgrade fails on the old Job)');
    const args = migrate.spec.template.spec.containers[0].args || [];
    if (args[0] !== 'migrate') fail(where, 'container must run `dmarcd migrate` (args: ' + JSON.stringify(args) + ')');
    if (migrate.spec.template.spec.restartPolicy !== 'Never' && migrate.spec.template.spec.restartPolicy !== 'OnFailure') fail(where, 'restartPolicy must be Never or OnFailure');
  }
}
for (const kind of ['Deployment', 'CronJob', 'StatefulSet', 'DaemonSet']) {
  for (const o of all(kind)) {
    if (hookOf(o)) fail(label + ' ' + nameOf(o), 'a workload must not be a hook');
  }
}
for (const j of jobs) {
  if (j !== migrate) fail(label + ' ' + nameOf(j), 'unexpected Job (only the migrate hook is a Job; retention is a CronJob)');
}

// Workload shapes.
for (const d of all('Deployment')) {
  const where = label + ' ' + nameOf(d);
  const tplLabels = d.spec.template.metadata && d.spec.template.metadata.labels;
  if (!labelsMatch(d.spec.selector && d.spec.selector.matchLabels, tplLabels)) fail(where, 'selector does not match the pod labels');
  const comp = tplLabels && tplLabels['app.kubernetes.io/component'];
  const c0 = d.spec.template.spec.containers[0];
  if (!c0.args || c0.args[0] !== comp) fail(where, 'component ' + comp + ' must run `dmarcd ' + comp + '` (args: ' + JSON.stringify(c0.args) + ')');
  if (comp === 'api') {
    const lp = c0.livenessProbe && c0.livenessProbe.httpGet;
    const rp = c0.readinessProbe && c0.readinessProbe.httpGet;
    if (!lp || lp.path !== '/healthz') fail(where, 'api liveness probe must be GET /healthz');
    if (!rp || rp.path !== '/readyz') fail(where, 'api readiness probe must be GET /readyz');
  }
  if (comp === 'imap') {
    if (d.spec.replicas !== 1) fail(where, 'an IMAP poller runs exactly one replica per mailbox');
    if (!d.spec.strategy || d.spec.strategy.type !== 'Recreate') fail(where, 'an IMAP poller must use strategy Recreate (never two pollers on one mailbox)');
  }
  if (comp === 'api' || comp === 'worker' || comp === 'smtp') {
    const pdb = all('PodDisruptionBudget').filter(function (b) { return labelsMatch(b.spec.selector.matchLabels, tplLabels); });
    if (pdb.length !== 1) notes.push(where + ': ' + pdb.length + ' PodDisruptionBudget(s)');
  }
}
for (const s of all('Service')) {
  const sel = s.spec.selector;
  const target = all('Deployment').filter(function (d) { return labelsMatch(sel, d.spec.template.metadata.labels); });
  if (!sel || target.length === 0) fail(label + ' ' + nameOf(s), 'selects no Deployment');
  for (const port of s.spec.ports || []) {
    if (typeof port.targetPort === 'string') {
      const named = target.some(function (d) {
        return d.spec.template.spec.containers.some(function (c) {
          return (c.ports || []).some(function (cp) { return cp.name === port.targetPort; });
        });
      });
      if (!named) fail(label + ' ' + nameOf(s), 'targetPort ' + port.targetPort + ' is not a container port name');
    }
  }
}
for (const b of all('PodDisruptionBudget')) {
  if (!all('Deployment').some(function (d) { return labelsMatch(b.spec.selector.matchLabels, d.spec.template.metadata.labels); })) fail(label + ' ' + nameOf(b), 'selects no Deployment');
}
for (const h of all('HorizontalPodAutoscaler')) {
  const t = h.spec.scaleTargetRef;
  const d = find(t.kind, t.name);
  if (!d) fail(label + ' ' + nameOf(h), 'targets missing ' + t.kind + '/' + t.name);
  else if (d.spec.replicas !== undefined) fail(label + ' ' + nameOf(h), t.name + ' sets spec.replicas, which fights the autoscaler');
}
for (const ing of all('Ingress')) {
  for (const r of ing.spec.rules || []) {
    for (const p of (r.http && r.http.paths) || []) {
      if (!find('Service', p.backend.service.name)) fail(label + ' ' + nameOf(ing), 'backend Service ' + p.backend.service.name + ' is not rendered');
    }
  }
}

// NetworkPolicies: one denies everything for every pod of the release;
// every pod is allowed DNS.
const policies = all('NetworkPolicy');
if (policies.length === 0) fail(label, 'no NetworkPolicy rendered');
const denyAll = policies.filter(function (np) {
  const s = np.spec;
  return (s.policyTypes || []).indexOf('Ingress') >= 0 && (s.policyTypes || []).indexOf('Egress') >= 0 &&
    !(s.ingress && s.ingress.length) && !(s.egress && s.egress.length);
});
if (policies.length && denyAll.length === 0) fail(label, 'no default-deny NetworkPolicy (policyTypes Ingress and Egress, no rules)');
for (const p of pods) {
  const lbls = p.tpl.metadata && p.tpl.metadata.labels;
  const where = label + ' ' + nameOf(p.owner);
  if (!denyAll.some(function (np) { return labelsMatch(np.spec.podSelector.matchLabels, lbls); })) fail(where, 'pods are not covered by the default-deny NetworkPolicy');
  const dns = policies.some(function (np) {
    return labelsMatch(np.spec.podSelector.matchLabels, lbls) && (np.spec.egress || []).some(function (rule) {
      return (rule.ports || []).some(function (pt) { return pt.port === 53; });
    });
  });
  if (policies.length && !dns) fail(where, 'pods may not reach DNS (no egress rule on port 53)');
}
for (const d of all('Deployment')) {
  const comp = d.spec.template.metadata.labels['app.kubernetes.io/component'];
  if (comp !== 'api' && comp !== 'smtp') continue;
  const open = policies.some(function (np) {
    return labelsMatch(np.spec.podSelector.matchLabels, d.spec.template.metadata.labels) && (np.spec.ingress || []).length > 0;
  });
  if (policies.length && !open) fail(label + ' ' + nameOf(d), 'no NetworkPolicy admits traffic to the ' + comp + ' listener');
}

// ---- 4. DMARCD_* variables -------------------------------------------------------
// Keys the chart sets before the binary's configuration table has them:
// the API's TLS certificate.
// helm/dmarcd/README.md lists them; the binary warns about and ignores
// unknown DMARCD_ variables, so they are harmless until it learns them.
const PENDING = ['api_tls_cert_file', 'api_tls_key_file'];
// Keys whose value is a path: their _FILE form would read the path from a file.
const PATH_KEYS = ['smtp_tls_cert', 'smtp_tls_key'];
if (configSample) {
  const known = {};
  const re = /environment: DMARCD_([A-Z0-9_]+)/g;
  const text = fs.readFileSync(configSample, 'utf8');
  let m;
  while ((m = re.exec(text)) !== null) known[m[1].toLowerCase()] = true;
  if (Object.keys(known).length === 0) fail(configSample, 'no configuration keys found');
  const seen = {};
  const vars = [];
  for (const cm of all('ConfigMap')) for (const k of Object.keys(cm.data || {})) vars.push([nameOf(cm), k]);
  for (const p of pods) {
    for (const c of p.tpl.spec.containers || []) for (const e of c.env || []) vars.push([nameOf(p.owner), e.name]);
  }
  for (const v of vars) {
    if (!/^DMARCD_/.test(v[1])) continue;
    let key = v[1].slice(7).toLowerCase();
    if (PATH_KEYS.indexOf(key.replace(/_file$/, '')) >= 0 && /_file$/.test(key)) {
      fail(label + ' ' + v[0], v[1] + ': ' + key.slice(0, -5) + ' is a path; set DMARCD_' + key.slice(0, -5).toUpperCase() + ' to it');
      continue;
    }
    if (known[key] || allowKeys.indexOf(key) >= 0) continue;
    if (/_file$/.test(key) && known[key.slice(0, -5)]) continue;
    const base = /_file$/.test(key) ? key.slice(0, -5) : key;
    if (PENDING.indexOf(key) >= 0 || PENDING.indexOf(base) >= 0) {
      if (!seen[v[1]]) notes.push('sets ' + v[1] + ' ahead of the binary (not in its configuration table yet)');
      seen[v[1]] = true;
      continue;
    }
    fail(label + ' ' + v[0], v[1] + ' is not a dmarcd configuration key (typo?)');
  }
}

// ---- expectations of this particular render ------------------------------------------
for (const e of expects) {
  const m = /^kind:([A-Za-z]+)=([0-9]+)$/.exec(e);
  if (!m) {
    fail(label, 'bad --expect ' + e);
    continue;
  }
  const n = all(m[1]).length;
  if (n !== parseInt(m[2], 10)) fail(label, 'expected ' + m[2] + ' ' + m[1] + ' object(s), rendered ' + n);
}

// ---- report ---------------------------------------------------------------------
const kinds = Object.keys(byKind).sort().map(function (k) { return byKind[k].length + ' ' + k; }).join(', ');
for (const n of notes.filter(function (v, i, a) { return a.indexOf(v) === i; })) console.log('  note: ' + n);
if (problems.length) {
  for (const p of problems) console.log('  FAIL ' + p);
  console.log('validate: ' + label + ': ' + problems.length + ' problem(s) in ' + docs.length + ' objects (' + kinds + ')');
  process.exit(1);
}
console.log('validate: ' + label + ': ' + docs.length + ' objects valid (' + kinds + ')');
