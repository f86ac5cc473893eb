/**
 * deploy/k8s: every YAML file parses; each kustomization (base and overlays) is rendered — by a small
 * renderer here (resources, namespace, strategic-merge patches as a deep merge where lists of named
 * objects merge by name, images) and, when kubectl is on the PATH, by `kubectl kustomize` too — and
 * every rendered object is validated against the Kubernetes schemas (kubernetes-models) and against this
 * service's rules: non-root uid 1000, read-only root filesystem, no capabilities, no privilege escalation,
 * seccomp RuntimeDefault, liveness on /health and readiness on /ready, a memory limit at or above the
 * worst case src/memory-budget.ts computes from the manifest's env and ConfigMap (else the service
 * refuses to start), terminationGracePeriodSeconds above limits.max.timeoutMs and the drain, /data on a
 * volume, AUTH_TOKEN from an optional Secret, STORE_SHARED_URL from an optional Secret and never a literal
 * (the URL may carry a password), and the Service/HPA/PDB/NetworkPolicy wiring (egress DNS and Redis only).
 * Where a Redis for the shared module store is deployed (production overlay): its security context, AOF
 * and noeviction, the password from a Secret, a volume claim for its data, memory and disk against
 * --maxmemory, a Service, and NetworkPolicies letting only the runner Pods reach it. Every Pod in a
 * namespace enforcing the "restricted" Pod Security Standard is checked against that standard.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, posix, relative, resolve } from 'node:path';
import { createRequire } from 'node:module';
import t from 'tap';
import { parseAllDocuments } from 'yaml';
import { loadConfig, PROJECT_ROOT } from '../../src/config.js';
import { memoryNeed } from '../../src/memory-budget.js';

type Obj = Record<string, any>;

const K8S = resolve(PROJECT_ROOT, 'deploy/k8s');
const tmp = mkdtempSync(join(tmpdir(), 'wcr-k8s-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

function parseFile(file: string): Obj[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'));
  const list = Array.isArray(docs) ? docs : [docs];
  for (const d of list) if (d.errors.length) throw new Error(`${file}: ${d.errors.map((e) => e.message).join('; ')}`);
  return list.map((d) => d.toJS()).filter((o) => o != null);
}

// ---------- a minimal kustomize ----------

const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);

/** Strategic merge, simplified: maps merge, lists of objects that all have `name` merge by name, other lists and scalars are replaced. */
function merge(base: unknown, patch: unknown): unknown {
  if (isObj(base) && isObj(patch)) {
    const out: Obj = { ...base };
    for (const [k, v] of Object.entries(patch)) out[k] = k in out ? merge(out[k], v) : v;
    return out;
  }
  const named = (l: unknown): l is Obj[] => Array.isArray(l) && l.every((x) => isObj(x) && typeof x.name === 'string');
  if (named(base) && named(patch)) {
    const out = base.map((x) => ({ ...x }));
    for (const p of patch) {
      const i = out.findIndex((x) => x.name === p.name);
      if (i >= 0) out[i] = merge(out[i], p) as Obj;
      else out.push(p);
    }
    return out;
  }
  return structuredClone(patch);
}

const id = (o: Obj) => `${o.kind}/${o.metadata?.name}`;

/**
 * The rendering of `dir`: rendered once per file, a deep copy each call (the cases break their copy).
 * The YAML parse is most of a rendering's cost, and ~60 cases render the same three directories.
 */
const renderings = new Map<string, Obj[]>();
function render(dir: string): Obj[] {
  let r = renderings.get(dir);
  if (!r) renderings.set(dir, (r = renderOnce(dir)));
  return structuredClone(r);
}

function renderOnce(dir: string): Obj[] {
  const k = parseFile(join(dir, 'kustomization.yaml'))[0]!;
  let objs: Obj[] = [];
  for (const r of (k.resources ?? []) as string[]) {
    const p = resolve(dir, r);
    objs.push(...(statSync(p).isDirectory() ? render(p) : parseFile(p)));
  }
  for (const p of (k.patches ?? []) as Array<{ path: string }>) {
    for (const patch of parseFile(resolve(dir, p.path))) {
      const i = objs.findIndex((o) => id(o) === id(patch));
      if (i < 0) throw new Error(`${dir}: patch ${p.path} matches no resource (${id(patch)})`);
      objs[i] = merge(objs[i], patch) as Obj;
    }
  }
  objs = objs.map((o) => structuredClone(o));
  if (k.namespace) for (const o of objs) if (o.kind !== 'Namespace') o.metadata = { ...o.metadata, namespace: k.namespace };
  for (const img of (k.images ?? []) as Obj[]) {
    for (const c of objs.flatMap((o) => podSpec(o)?.containers ?? [])) {
      const [name, tag] = String(c.image).split(':');
      if (name === img.name) c.image = `${img.newName ?? name}:${img.newTag ?? tag}`;
    }
  }
  return objs;
}

/** `kubectl kustomize dir`, run once per directory (a spawn each; the first call also says whether kubectl works). */
const kubectlRenderings = new Map<string, Obj[] | null>();
function kubectlRender(dir: string): Obj[] | null {
  if (!kubectlRenderings.has(dir)) kubectlRenderings.set(dir, kubectlRenderOnce(dir));
  return kubectlRenderings.get(dir)!;
}

function kubectlRenderOnce(dir: string): Obj[] | null {
  const r = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return null;
  return parseAllDocuments(r.stdout).map((d: any) => d.toJS()).filter((o: unknown) => o != null);
}

// ---------- schema validation ----------

/**
 * The kubernetes-models class of `o` (apiVersion group/version, kind), or undefined: no such schema.
 * Each class is required on its own (kubernetes-models/GROUP/VERSION/KIND, CommonJS): the package's
 * index loads every schema of every API group (~1,000 modules), through the test's TypeScript loader
 * hooks, which cost seconds of CPU per file; the class is the same either way.
 */
const requireModel = createRequire(import.meta.url);
function modelClass(o: Obj): (new (d: Obj) => { validate(): void }) | undefined {
  const apiVersion = String(o.apiVersion);
  const kind = String(o.kind);
  if (!/^([a-z0-9.-]+\/)?v[a-z0-9]+$/.test(apiVersion) || !/^[A-Za-z]+$/.test(kind)) return undefined;
  try {
    return requireModel(`kubernetes-models/${apiVersion}/${kind}`)[kind];
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return undefined;
    throw e;
  }
}

// ---------- project rules ----------

function podSpec(o: Obj): Obj | undefined {
  if (o.kind === 'Pod') return o.spec;
  if (['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job'].includes(o.kind)) return o.spec?.template?.spec;
  return undefined;
}

const UNITS: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 };
function bytes(q: unknown): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(String(q));
  if (!m) throw new Error(`unsupported memory quantity ${JSON.stringify(q)}`);
  return Number(m[1]) * UNITS[m[2] ?? '']!;
}

const mib = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MiB`;

function cpu(q: unknown): number {
  const m = /^(\d+(?:\.\d+)?)(m)?$/.exec(String(q));
  if (!m) throw new Error(`unsupported CPU quantity ${JSON.stringify(q)}`);
  return Number(m[1]) / (m[2] ? 1000 : 1);
}

/** Redis memory units (redis.conf): k = 1000, kb = 1024, m = 10^6, mb = 1024², g = 10^9, gb = 1024³. */
function redisBytes(v: unknown): number {
  const m = /^(\d+)(k|kb|m|mb|g|gb)?$/i.exec(String(v));
  if (!m) throw new Error(`unsupported Redis memory value ${JSON.stringify(v)}`);
  const unit = { '': 1, k: 1e3, kb: 1024, m: 1e6, mb: 1024 ** 2, g: 1e9, gb: 1024 ** 3 }[(m[2] ?? '').toLowerCase()]!;
  return Number(m[1]) * unit;
}

/** The value after the last occurrence of `flag` in a redis-server command line (the last one wins). */
function redisArg(argv: string[], flag: string): string | undefined {
  const i = argv.lastIndexOf(flag);
  return i >= 0 ? argv[i + 1] : undefined;
}

/** A matchLabels selector (no matchExpressions here) and a Pod's labels; an empty selector selects all Pods. */
function selectsLabels(sel: Obj | undefined, labels: Obj): boolean {
  if (sel?.matchExpressions?.length) throw new Error('matchExpressions are not supported by this test');
  return Object.entries(sel?.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
}

const RUNNER = 'wasm-contract-runner';
const isRedisPod = (o: Obj) => !!podSpec(o) && o.spec?.template?.metadata?.labels?.['app.kubernetes.io/name'] === 'redis';

/** The Pod Security Standard "restricted" (https://kubernetes.io/docs/concepts/security/pod-security-standards/), as far as these manifests can break it. */
function restrictedViolations(spec: Obj): string[] {
  const out: string[] = [];
  const psc: Obj = spec.securityContext ?? {};
  for (const k of ['hostNetwork', 'hostPID', 'hostIPC']) if (spec[k] === true) out.push(k);
  const allowedVolumes = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'];
  for (const v of (spec.volumes ?? []) as Obj[]) {
    const type = Object.keys(v).find((k) => k !== 'name');
    if (!type || !allowedVolumes.includes(type)) out.push(`volume ${v.name} is a ${type}`);
  }
  if (psc.sysctls?.length) out.push('sysctls');
  if (psc.runAsUser === 0) out.push('pod runAsUser 0');
  const podSeccomp = psc.seccompProfile?.type;
  if (podSeccomp !== undefined && !['RuntimeDefault', 'Localhost'].includes(podSeccomp)) out.push(`pod seccompProfile ${podSeccomp}`);
  const containers: Obj[] = [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])];
  for (const c of containers) {
    const sc: Obj = c.securityContext ?? {};
    const where = `container ${c.name}`;
    if (sc.privileged === true) out.push(`${where}: privileged`);
    if (sc.windowsOptions?.hostProcess === true) out.push(`${where}: hostProcess`);
    if (sc.allowPrivilegeEscalation !== false) out.push(`${where}: allowPrivilegeEscalation is not false`);
    if ((sc.runAsNonRoot ?? psc.runAsNonRoot) !== true) out.push(`${where}: runAsNonRoot is not true`);
    if (sc.runAsUser === 0) out.push(`${where}: runAsUser 0`);
    const seccomp = sc.seccompProfile?.type ?? podSeccomp;
    if (!['RuntimeDefault', 'Localhost'].includes(seccomp)) out.push(`${where}: seccompProfile is ${seccomp ?? 'unset'}`);
    if (!(sc.capabilities?.drop ?? []).includes('ALL')) out.push(`${where}: capabilities.drop lacks ALL`);
    if ((sc.capabilities?.add ?? []).some((a: string) => a !== 'NET_BIND_SERVICE')) out.push(`${where}: capabilities added`);
    if ((c.ports ?? []).some((p: Obj) => p.hostPort)) out.push(`${where}: hostPort`);
    if (sc.procMount !== undefined && sc.procMount !== 'Default') out.push(`${where}: procMount ${sc.procMount}`);
  }
  return out;
}

/** A container locked down: non-root (uid `uid`, or any but 0), read-only root, no escalation, privilege or capabilities, seccomp RuntimeDefault. */
function lockedDown(where: string, spec: Obj, c: Obj, uid?: number): string[] {
  const out: string[] = [];
  const psc: Obj = spec.securityContext ?? {};
  const sc: Obj = c.securityContext ?? {};
  const runAs = sc.runAsUser ?? psc.runAsUser;
  if ((sc.runAsNonRoot ?? psc.runAsNonRoot) !== true) out.push(`${where}: runAsNonRoot is not true`);
  if (uid !== undefined ? runAs !== uid : typeof runAs !== 'number' || runAs === 0) out.push(`${where}: runAsUser is not ${uid ?? 'set to a non-root uid'}`);
  if (sc.readOnlyRootFilesystem !== true) out.push(`${where}: readOnlyRootFilesystem is not true`);
  if (sc.allowPrivilegeEscalation !== false) out.push(`${where}: allowPrivilegeEscalation is not false`);
  if (sc.privileged === true) out.push(`${where}: privileged`);
  if (!(sc.capabilities?.drop ?? []).includes('ALL')) out.push(`${where}: capabilities.drop lacks ALL`);
  if (sc.capabilities?.add?.length) out.push(`${where}: capabilities added`);
  if ((sc.seccompProfile ?? psc.seccompProfile)?.type !== 'RuntimeDefault') out.push(`${where}: seccompProfile is not RuntimeDefault`);
  return out;
}

/** The rules of a Redis for the shared module store (production overlay), and its NetworkPolicies and Service. */
function redisProblems(w: Obj, objs: Obj[]): string[] {
  const out: string[] = [];
  const spec = podSpec(w)!;
  const labels: Obj = w.spec.template.metadata.labels;
  const c: Obj | undefined = (spec.containers as Obj[]).find((x) => x.name === 'redis') ?? (spec.containers.length === 1 ? spec.containers[0] : undefined);
  const where = `${id(w)} redis`;
  if (!c) return [`${where}: no redis container`];
  if (w.kind !== 'StatefulSet') out.push(`${where}: not a StatefulSet`);
  out.push(...lockedDown(where, spec, c));

  // arguments (command and args form one command line; the last occurrence of a flag wins)
  const argv: string[] = [...(c.command ?? []), ...(c.args ?? [])].map(String);
  if (redisArg(argv, '--appendonly') !== 'yes') out.push(`${where}: --appendonly is not yes`);
  if (redisArg(argv, '--maxmemory-policy') !== 'noeviction') out.push(`${where}: --maxmemory-policy is not noeviction (an evicted module would become a 404)`);
  const maxmemory = redisArg(argv, '--maxmemory');
  const maxBytes = maxmemory === undefined ? 0 : redisBytes(maxmemory);
  if (maxBytes === 0) out.push(`${where}: no --maxmemory (0 = unbounded, the OOM killer decides)`);

  // the password: --requirepass $(VAR), VAR from the Secret wasm-runner-redis key password, never a literal
  const pass = redisArg(argv, '--requirepass');
  const ref = pass && /^\$\(([A-Za-z_][A-Za-z0-9_]*)\)$/.exec(pass)?.[1];
  const passEnv = ref && (c.env ?? []).find((e: Obj) => e.name === ref);
  const skr: Obj | undefined = passEnv?.valueFrom?.secretKeyRef;
  if (!pass) out.push(`${where}: no --requirepass`);
  else if (!skr) out.push(`${where}: --requirepass is not $(VAR) with VAR from a secretKeyRef (a literal password in the manifest)`);
  else {
    if (skr.name !== 'wasm-runner-redis' || skr.key !== 'password') out.push(`${where}: the password is not the Secret wasm-runner-redis, key password`);
    if (skr.optional === true) out.push(`${where}: the password's Secret is optional (without it Redis would take "${pass}" literally)`);
  }

  // resources: requests = limits, memory limit well above --maxmemory
  const res: Obj = c.resources ?? {};
  const lim = res.limits?.memory;
  if (!lim || !res.requests?.memory || bytes(res.requests.memory) !== bytes(lim) || !res.limits?.cpu || !res.requests?.cpu || cpu(res.requests.cpu) !== cpu(res.limits.cpu)) {
    out.push(`${where}: resources requests are not equal to limits (CPU and memory)`);
  }
  // above --maxmemory, with room (at least half as much again) for the fork's copy-on-write, buffers and the process
  if (lim && maxBytes > 0 && !(bytes(lim) >= 1.5 * maxBytes)) out.push(`${where}: memory limit ${lim} is not at least 1.5 × --maxmemory ${maxmemory}`);

  // data on a volume claim, big enough for AOF + RDB + the copy being rewritten
  const dir = redisArg(argv, '--dir') ?? '/data';
  const mount = (c.volumeMounts ?? []).find((m: Obj) => m.mountPath === dir);
  const claim = mount && (w.spec.volumeClaimTemplates ?? []).find((v: Obj) => v.metadata?.name === mount.name);
  const storage = claim?.spec?.resources?.requests?.storage;
  if (!claim || !storage) out.push(`${where}: the data directory ${dir} is not on a volumeClaimTemplate with a storage request`);
  else if (maxBytes > 0 && bytes(storage) < 3 * maxBytes) out.push(`${where}: volume ${storage} is below 3 × --maxmemory (AOF, RDB and a rewrite's copy)`);

  for (const kind of ['readinessProbe', 'livenessProbe']) {
    const p: Obj | undefined = c[kind];
    if (!p?.exec && !p?.tcpSocket) out.push(`${where}: no exec or tcpSocket ${kind}`);
  }
  const port = (c.ports ?? []).find((p: Obj) => p.containerPort === 6379);
  if (!port) out.push(`${where}: no containerPort 6379`);
  const svc = objs.find((o) => o.kind === 'Service' && o.spec?.selector && Object.keys(o.spec.selector).length > 0 && selectsLabels({ matchLabels: o.spec.selector }, labels));
  if (!svc || !svc.spec.ports?.some((p: Obj) => p.port === 6379 && (p.targetPort === 6379 || (port && p.targetPort === port.name)))) out.push(`${where}: no Service on 6379 selecting it`);

  // Redis side: the NetworkPolicies selecting its Pods admit the runner Pods on 6379 only, and no egress
  const nps = objs.filter((o) => o.kind === 'NetworkPolicy' && selectsLabels(o.spec?.podSelector, labels));
  if (nps.length === 0) out.push(`${where}: no NetworkPolicy selects the Redis Pods (every Pod may reach it)`);
  else {
    const ingressOk = nps.some((np) => np.spec.policyTypes?.includes('Ingress')) && nps.every((np) => (np.spec.ingress ?? []).every((r: Obj) =>
      r.ports?.length && r.ports.every((p: Obj) => p.port === 6379 && (p.protocol ?? 'TCP') === 'TCP') &&
      r.from?.length && r.from.every((f: Obj) => !f.namespaceSelector && !f.ipBlock && f.podSelector?.matchLabels?.['app.kubernetes.io/name'] === RUNNER && !f.podSelector.matchExpressions)));
    if (!ingressOk) out.push(`${where}: the NetworkPolicy ingress is not 6379 from the runner Pods only`);
    if (!nps.some((np) => np.spec.ingress?.length)) out.push(`${where}: no NetworkPolicy rule admits the runner Pods`);
    if (!nps.some((np) => np.spec.policyTypes?.includes('Egress')) || nps.some((np) => np.spec.egress?.length)) out.push(`${where}: the NetworkPolicy allows egress (Redis needs none)`);
  }
  // runner side: the runner's Redis egress rule reaches these Pods
  const runnerNp = objs.find((o) => o.kind === 'NetworkPolicy' && o.metadata?.name === 'wasm-runner');
  if (runnerNp && !(runnerNp.spec.egress ?? []).some((r: Obj) => r.ports?.some((p: Obj) => p.port === 6379) && r.to?.some((t: Obj) => selectsLabels(t.podSelector, labels)))) {
    out.push(`${where}: the runner's NetworkPolicy has no egress rule reaching these Pods`);
  }
  return out;
}
let cfgFiles = 0;

/** Every rule this set of rendered objects breaks (empty = fine). */
function problems(objs: Obj[]): string[] {
  const out: string[] = [];
  const workloads = objs.filter((o) => podSpec(o)?.containers?.some((c: Obj) => c.name === 'wasm-runner'));
  if (workloads.length === 0) out.push('no workload with a wasm-runner container');
  for (const w of workloads) {
    const spec = podSpec(w)!;
    const c = spec.containers.find((x: Obj) => x.name === 'wasm-runner') as Obj;
    const where = `${id(w)} wasm-runner`;
    out.push(...lockedDown(where, spec, c, 1000));

    // env → config (CONFIG_FILE taken from the mounted ConfigMap)
    const env: NodeJS.ProcessEnv = {};
    for (const e of (c.env ?? []) as Obj[]) if (e.value !== undefined) env[e.name] = String(e.value);
    const auth = (c.env ?? []).find((e: Obj) => e.name === 'AUTH_TOKEN');
    if (!auth?.valueFrom?.secretKeyRef || auth.valueFrom.secretKeyRef.optional !== true) out.push(`${where}: AUTH_TOKEN is not from an optional Secret reference`);
    const shared = (c.env ?? []).find((e: Obj) => e.name === 'STORE_SHARED_URL');
    if (shared && shared.value !== undefined && shared.value !== 'none') out.push(`${where}: STORE_SHARED_URL is a literal value (the URL may carry a password): use a secretKeyRef`);
    if (env.CONFIG_FILE) {
      const mount = (c.volumeMounts ?? []).find((m: Obj) => m.mountPath === posix.dirname(env.CONFIG_FILE!));
      const vol = mount && (spec.volumes ?? []).find((v: Obj) => v.name === mount.name);
      const cm = vol?.configMap && objs.find((o) => o.kind === 'ConfigMap' && o.metadata?.name === vol.configMap.name);
      const json = cm?.data?.[posix.basename(env.CONFIG_FILE)];
      if (typeof json !== 'string') {
        out.push(`${where}: CONFIG_FILE ${env.CONFIG_FILE} is not a key of a ConfigMap mounted at its directory`);
        continue;
      }
      const file = join(tmp, `config-${cfgFiles++}.json`);
      writeFileSync(file, json);
      env.CONFIG_FILE = file;
    }
    let cfg;
    try {
      cfg = loadConfig(env);
    } catch (e) {
      out.push(`${where}: the configuration does not load: ${(e as Error).message}`);
      continue;
    }
    if (cfg.workers === 0) out.push(`${where}: WORKERS is not set (0 = one per core, which may not follow a CPU limit)`);

    const limit = c.resources?.limits?.memory;
    const need = memoryNeed(cfg).totalBytes;
    if (!limit) out.push(`${where}: no memory limit`);
    else {
      if (bytes(limit) < need) out.push(`${where}: memory limit ${limit} (${mib(bytes(limit))}) is below the worst case ${mib(need)}: the service would refuse to start`);
      const req = c.resources?.requests?.memory;
      if (!req || bytes(req) > bytes(limit)) out.push(`${where}: memory request missing or above the limit`);
      if (cfg.overload.maxRssBytes > 0 && cfg.overload.maxRssBytes >= bytes(limit)) out.push(`${where}: overload.maxRssBytes is not below the memory limit`);
    }
    if (!c.resources?.requests?.cpu) out.push(`${where}: no CPU request (the HPA needs it)`);

    const grace = spec.terminationGracePeriodSeconds ?? 30;
    const drain = Math.max(10, cfg.limits.max.timeoutMs / 1000 + 5);
    if (!(grace > cfg.limits.max.timeoutMs / 1000)) out.push(`${where}: terminationGracePeriodSeconds ${grace} is not above limits.max.timeoutMs`);
    if (grace < drain) out.push(`${where}: terminationGracePeriodSeconds ${grace} is below the drain time ${drain} s`);

    // probes
    const loopback = cfg.host === '127.0.0.1' || cfg.host === 'localhost' || cfg.host === '::1';
    for (const [kind, path] of [['livenessProbe', '/health'], ['readinessProbe', '/ready']] as const) {
      const p: Obj | undefined = c[kind];
      if (p?.httpGet) {
        if (p.httpGet.path !== path) out.push(`${where}: ${kind} is not GET ${path}`);
        if (loopback) out.push(`${where}: ${kind} is httpGet (to the Pod IP) but the service listens on ${cfg.host}`);
        const port = p.httpGet.port;
        const named = (c.ports ?? []).find((x: Obj) => x.name === port);
        if ((named?.containerPort ?? port) !== cfg.port) out.push(`${where}: ${kind} port ${port} is not the service's port ${cfg.port}`);
      } else if (p?.exec) {
        const cmd = (p.exec.command ?? []).join(' ');
        if (!cmd.includes(`:${cfg.port}${path}`)) out.push(`${where}: ${kind} exec does not fetch :${cfg.port}${path}`);
      } else out.push(`${where}: no ${kind}`);
    }
    if (!loopback && !(c.ports ?? []).some((x: Obj) => x.containerPort === cfg.port)) out.push(`${where}: no containerPort ${cfg.port}`);

    // /data on a volume (emptyDir, PVC or a volumeClaimTemplate)
    const dataMount = (c.volumeMounts ?? []).find((m: Obj) => m.mountPath === '/data');
    const dataVol = dataMount && (spec.volumes ?? []).find((v: Obj) => v.name === dataMount.name);
    const claim = dataMount && (w.spec?.volumeClaimTemplates ?? []).some((v: Obj) => v.metadata?.name === dataMount.name);
    if (!(dataVol?.emptyDir || dataVol?.persistentVolumeClaim || claim)) out.push(`${where}: /data is not an emptyDir or PVC volume`);
    if (cfg.store.dir !== null && !String(cfg.store.dir).startsWith('/data/')) out.push(`${where}: store.dir ${cfg.store.dir} is not under /data`);
  }

  // wiring of the standalone service
  const dep = objs.find((o) => o.kind === 'Deployment' && o.metadata?.name === 'wasm-runner');
  if (dep) {
    const labels: Obj = dep.spec.template.metadata?.labels ?? {};
    const selects = (sel: Obj | undefined) => !!sel && Object.keys(sel).length > 0 && Object.entries(sel).every(([k, v]) => labels[k] === v);
    if (!selects(dep.spec.selector?.matchLabels)) out.push('Deployment selector does not match its template');
    const depC: Obj | undefined = dep.spec.template.spec.containers.find((x: Obj) => x.name === 'wasm-runner');
    const shared: Obj | undefined = (depC?.env ?? []).find((e: Obj) => e.name === 'STORE_SHARED_URL');
    const ref: Obj | undefined = shared?.valueFrom?.secretKeyRef;
    if (!ref || shared!.value !== undefined || ref.name !== 'wasm-runner-redis' || ref.key !== 'url' || ref.optional !== true) {
      out.push('Deployment: STORE_SHARED_URL is not from the optional Secret wasm-runner-redis, key url');
    }
    const svc = objs.find((o) => o.kind === 'Service' && o.metadata?.name === 'wasm-runner');
    if (!svc || (svc.spec.type ?? 'ClusterIP') !== 'ClusterIP' || !svc.spec.ports?.some((p: Obj) => p.port === 8080) || !selects(svc.spec.selector)) {
      out.push('no ClusterIP Service on 8080 selecting the Deployment');
    }
    const hpa = objs.find((o) => o.kind === 'HorizontalPodAutoscaler');
    if (!hpa || hpa.apiVersion !== 'autoscaling/v2' || hpa.spec.scaleTargetRef?.name !== dep.metadata.name || !hpa.spec.metrics?.some((m: Obj) => m.resource?.name === 'cpu')) {
      out.push('no autoscaling/v2 CPU HPA targeting the Deployment');
    }
    if (hpa && (hpa.spec.minReplicas ?? 1) > hpa.spec.maxReplicas) out.push('HPA minReplicas above maxReplicas');
    const pdb = objs.find((o) => o.kind === 'PodDisruptionBudget');
    if (!pdb || pdb.apiVersion !== 'policy/v1' || pdb.spec.minAvailable !== 1 || !selects(pdb.spec.selector?.matchLabels)) out.push('no policy/v1 PDB minAvailable 1 selecting the Deployment');
    const np = objs.find((o) => o.kind === 'NetworkPolicy' && o.metadata?.name === 'wasm-runner');
    if (!np || !selects(np.spec.podSelector?.matchLabels)) out.push('no NetworkPolicy selecting the Deployment');
    else {
      const ing: Obj[] = np.spec.ingress ?? [];
      const ingOk =
        ing.length > 0 &&
        ing.every(
          (r) =>
            r.ports?.length && r.ports.every((p: Obj) => p.port === 8080) &&
            r.from?.length && r.from.every((f: Obj) => f.namespaceSelector && Object.keys(f.namespaceSelector.matchLabels ?? {}).length > 0 && !f.ipBlock),
        );
      if (!ingOk) out.push('NetworkPolicy ingress is not 8080-only from labelled namespaces');
      const eg: Obj[] = np.spec.egress ?? [];
      const dns = (r: Obj) => r.ports?.length && r.ports.every((p: Obj) => p.port === 53);
      // Redis: TCP 6379 to Pods labelled app.kubernetes.io/name: redis of the same namespace (a podSelector alone)
      const redis = (r: Obj) =>
        r.ports?.length && r.ports.every((p: Obj) => p.port === 6379 && (p.protocol ?? 'TCP') === 'TCP') &&
        r.to?.length && r.to.every((x: Obj) => !x.namespaceSelector && !x.ipBlock && x.podSelector?.matchLabels?.['app.kubernetes.io/name'] === 'redis');
      if (!np.spec.policyTypes?.includes('Egress') || !eg.every((r) => dns(r) || redis(r))) out.push('NetworkPolicy egress is not DNS and Redis only');
      if (!eg.some(redis)) out.push('NetworkPolicy allows no egress to Redis Pods on TCP 6379');
    }
  }

  for (const w of objs.filter(isRedisPod)) out.push(...redisProblems(w, objs));

  // Pod Security Standard "restricted", for every Pod of a namespace that enforces it
  const restricted = new Set(objs.filter((o) => o.kind === 'Namespace' && o.metadata?.labels?.['pod-security.kubernetes.io/enforce'] === 'restricted').map((o) => o.metadata.name));
  for (const o of objs) {
    const spec = podSpec(o);
    if (spec && restricted.has(o.metadata?.namespace)) for (const v of restrictedViolations(spec)) out.push(`${id(o)}: Pod Security "restricted" refuses it: ${v}`);
  }
  return out;
}

// ---------- the tests ----------

const yamlFiles = walk(K8S).filter((f) => /\.ya?ml$/.test(f));
const kustomizations = yamlFiles.filter((f) => basename(f) === 'kustomization.yaml').map(dirname);

t.test('every YAML file parses', async (t) => {
  t.ok(yamlFiles.length >= 10, `${yamlFiles.length} files`);
  for (const f of yamlFiles) t.doesNotThrow(() => parseFile(f), relative(K8S, f));
});

t.test('every YAML file is referenced by a kustomization', async (t) => {
  const used = new Set<string>();
  for (const d of kustomizations) {
    const k = parseFile(join(d, 'kustomization.yaml'))[0]!;
    for (const r of [...(k.resources ?? []), ...(k.patches ?? []).map((p: Obj) => p.path)]) used.add(resolve(d, r));
  }
  for (const f of yamlFiles) if (basename(f) !== 'kustomization.yaml') t.ok(used.has(f), relative(K8S, f));
});

const kubectl = kubectlRender(join(K8S, 'base')) !== null;

for (const dir of kustomizations) {
  const name = relative(K8S, dir);
  t.test(name, async (t) => {
    const renderings: Array<[string, Obj[]]> = [['rendered here', render(dir)]];
    if (kubectl) renderings.push(['kubectl kustomize', kubectlRender(dir)!]);
    for (const [how, objs] of renderings) {
      t.test(how, async (t) => {
        for (const o of objs) {
          const Model = modelClass(o);
          if (!Model) {
            t.fail(`${o.apiVersion} ${o.kind}: no schema`);
            continue;
          }
          t.doesNotThrow(() => new Model(o).validate(), `${o.apiVersion} ${id(o)} is valid`);
        }
        t.same(problems(objs), [], 'project rules');
      });
    }
  });
}
if (!kubectl) t.comment('kubectl not found: overlays checked with the renderer here only');

t.test('base: 2 replicas, 1 GiB, worst case of the manifest settings', async (t) => {
  const objs = render(join(K8S, 'base'));
  const dep = objs.find((o) => o.kind === 'Deployment')!;
  t.equal(dep.spec.replicas, 2);
  const c = dep.spec.template.spec.containers[0];
  t.equal(c.resources.limits.memory, '1Gi');
  const cm = objs.find((o) => o.kind === 'ConfigMap')!;
  const file = join(tmp, 'base.json');
  writeFileSync(file, cm.data['config.json']);
  const need = memoryNeed(loadConfig({ NODE_ENV: 'production', WORKERS: '2', MEMORY_BYTES_MAX: String(64 * 1024 * 1024), CONFIG_FILE: file }));
  t.equal(need.totalBytes, 904 * 1024 * 1024, 'the 904 MiB of the comments and README');
});

t.test('production overlay: replicas and resources patched, the rest kept', async (t) => {
  const objs = render(join(K8S, 'overlays/production'));
  const dep = objs.find((o) => o.kind === 'Deployment')!;
  t.equal(dep.spec.replicas, 3);
  t.equal(dep.metadata.namespace, 'wasm-runner');
  const c = dep.spec.template.spec.containers[0];
  t.same(c.resources, { requests: { cpu: '2', memory: '1Gi' }, limits: { cpu: '3', memory: '1Gi' } });
  t.ok(c.env.some((e: Obj) => e.name === 'WORKERS'), 'env kept by the merge');
  t.equal(c.livenessProbe.httpGet.path, '/health');
  t.equal(objs.find((o) => o.kind === 'HorizontalPodAutoscaler')!.spec.minReplicas, 3);
});

t.test('production overlay: a Redis for the shared module store', async (t) => {
  const objs = render(join(K8S, 'overlays/production'));
  const ss = objs.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'wasm-runner-redis');
  t.ok(ss, 'StatefulSet wasm-runner-redis');
  if (!ss) return;
  t.equal(ss.spec.replicas, 1);
  t.equal(ss.metadata.namespace, 'wasm-runner');
  t.ok(isRedisPod(ss), 'its Pods are labelled app.kubernetes.io/name: redis');
  t.equal(ss.spec.template.metadata.labels['app.kubernetes.io/part-of'], RUNNER);
  const svc = objs.find((o) => o.kind === 'Service' && o.metadata.name === 'wasm-runner-redis');
  t.ok(svc?.spec.ports.some((p: Obj) => p.port === 6379), 'Service wasm-runner-redis on 6379 (the host in the Secret\'s url)');
  t.equal(ss.spec.serviceName, 'wasm-runner-redis');
  t.ok(objs.some((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'wasm-runner-redis'), 'NetworkPolicy wasm-runner-redis');
  t.ok(objs.some((o) => o.kind === 'Namespace' && o.metadata.labels['pod-security.kubernetes.io/enforce'] === 'restricted'), 'the namespace enforces "restricted", so the rules check the Redis Pod against it');
  t.same(redisProblems(ss, objs), [], 'Redis rules');
  t.notOk(objs.some((o) => o.kind === 'Secret'), 'no Secret in the manifests (the password is created with kubectl)');
});

t.test('iroha-sidecar: the runner beside the peer, on loopback', async (t) => {
  const objs = render(join(K8S, 'overlays/iroha-sidecar'));
  const ss = objs.find((o) => o.kind === 'StatefulSet')!;
  const cs: Obj[] = ss.spec.template.spec.containers;
  t.ok(cs.some((c) => c.image === 'hyperledger/iroha:2'), 'peer container');
  const env = Object.fromEntries(cs.find((c) => c.name === 'wasm-runner')!.env.map((e: Obj) => [e.name, e.value]));
  t.equal(env.HOST, '127.0.0.1');
  t.equal(env.IROHA_CALLBACK_ORIGINS, 'loopback');
  const peerPorts = cs.filter((c) => c.name !== 'wasm-runner').flatMap((c) => (c.ports ?? []).map((p: Obj) => p.containerPort));
  t.notOk(peerPorts.includes(Number(env.PORT)), 'the runner port is not one the peer uses in the shared network namespace');
  const svc = objs.find((o) => o.kind === 'Service')!;
  t.notOk(svc.spec.ports.some((p: Obj) => p.port === Number(env.PORT)), 'the runner is not exposed');
});

t.test('the rules catch broken manifests', async (t) => {
  const base = () => render(join(K8S, 'base'));
  const container = (objs: Obj[]) => objs.find((o) => o.kind === 'Deployment')!.spec.template.spec.containers[0] as Obj;
  const cases: Array<[string, (objs: Obj[]) => void, RegExp]> = [
    ['memory limit below the worst case', (o) => (container(o).resources.limits.memory = '900Mi'), /below the worst case/],
    ['more workers without more memory', (o) => (container(o).env.find((e: Obj) => e.name === 'WORKERS').value = '4'), /below the worst case/],
    ['a bigger store budget in the ConfigMap', (o) => {
      const cm = o.find((x) => x.kind === 'ConfigMap')!;
      cm.data['config.json'] = JSON.stringify({ ...JSON.parse(cm.data['config.json']), store: { memoryBudgetBytes: 268435456 } });
    }, /below the worst case/],
    ['writable root filesystem', (o) => (container(o).securityContext.readOnlyRootFilesystem = false), /readOnlyRootFilesystem/],
    ['root', (o) => (container(o).securityContext.runAsUser = 0), /runAsUser/],
    ['capabilities kept', (o) => (container(o).securityContext.capabilities.drop = []), /drop lacks ALL/],
    ['liveness on /ready', (o) => (container(o).livenessProbe.httpGet.path = '/ready'), /livenessProbe is not GET \/health/],
    ['short grace period', (o) => (o.find((x) => x.kind === 'Deployment')!.spec.template.spec.terminationGracePeriodSeconds = 30), /terminationGracePeriodSeconds 30 is not above/],
    ['grace period shorter than a raised timeout', (o) => (container(o).env.push({ name: 'TIMEOUT_MS_MAX', value: '60000' })), /terminationGracePeriodSeconds 45 is not above/],
    ['NetworkPolicy egress opened', (o) => o.find((x) => x.kind === 'NetworkPolicy')!.spec.egress.push({ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }] }), /egress is not DNS and Redis only/],
    ['Redis egress to every namespace', (o) => (o.find((x) => x.kind === 'NetworkPolicy')!.spec.egress[1].to[0].namespaceSelector = {}), /egress is not DNS and Redis only/],
    ['Redis egress to any port', (o) => delete o.find((x) => x.kind === 'NetworkPolicy')!.spec.egress[1].ports, /egress is not DNS and Redis only/],
    ['no Redis egress', (o) => o.find((x) => x.kind === 'NetworkPolicy')!.spec.egress.pop(), /no egress to Redis/],
    ['STORE_SHARED_URL as a literal', (o) => {
      const e = container(o).env.find((x: Obj) => x.name === 'STORE_SHARED_URL');
      delete e.valueFrom;
      e.value = 'redis://:hunter2@wasm-runner-redis:6379/0';
    }, /STORE_SHARED_URL is a literal value/],
    ['STORE_SHARED_URL Secret required', (o) => (container(o).env.find((x: Obj) => x.name === 'STORE_SHARED_URL').valueFrom.secretKeyRef.optional = false), /STORE_SHARED_URL is not from the optional Secret/],
    ['STORE_SHARED_URL missing', (o) => (container(o).env = container(o).env.filter((x: Obj) => x.name !== 'STORE_SHARED_URL')), /STORE_SHARED_URL is not from the optional Secret/],
  ];
  for (const [what, breakIt, expected] of cases) {
    const objs = base();
    breakIt(objs);
    t.match(problems(objs).join('\n'), expected, what);
  }

  // the production overlay's Redis
  const prod = () => render(join(K8S, 'overlays/production'));
  const redisSs = (objs: Obj[]) => objs.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'wasm-runner-redis')!;
  const redis = (objs: Obj[]) => redisSs(objs).spec.template.spec.containers[0] as Obj;
  const redisNp = (objs: Obj[]) => objs.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'wasm-runner-redis')!;
  const setArg = (flag: string, value: string) => (o: Obj[]) => redis(o).args.push(flag, value);
  const redisCases: Array<[string, (objs: Obj[]) => void, RegExp]> = [
    ['Redis writable root filesystem', (o) => (redis(o).securityContext.readOnlyRootFilesystem = false), /redis: readOnlyRootFilesystem/],
    ['Redis as root', (o) => {
      redis(o).securityContext.runAsUser = 0;
      redisSs(o).spec.template.spec.securityContext.runAsUser = 0;
    }, /redis: runAsUser is not set to a non-root uid/],
    ['Redis may run as root', (o) => {
      delete redis(o).securityContext.runAsNonRoot;
      delete redisSs(o).spec.template.spec.securityContext.runAsNonRoot;
    }, /Pod Security "restricted" refuses it: container redis: runAsNonRoot/],
    ['Redis keeps its capabilities', (o) => (redis(o).securityContext.capabilities.drop = []), /redis: capabilities.drop lacks ALL/],
    ['Redis adds a capability', (o) => (redis(o).securityContext.capabilities.add = ['SYS_RESOURCE']), /restricted" refuses it: container redis: capabilities added/],
    ['Redis may escalate', (o) => (redis(o).securityContext.allowPrivilegeEscalation = true), /restricted" refuses it: container redis: allowPrivilegeEscalation/],
    ['Redis without seccomp', (o) => {
      delete redis(o).securityContext.seccompProfile;
      delete redisSs(o).spec.template.spec.securityContext.seccompProfile;
    }, /restricted" refuses it: container redis: seccompProfile is unset/],
    ['Redis with a hostPath volume', (o) => redisSs(o).spec.template.spec.volumes = [{ name: 'host', hostPath: { path: '/var/lib/redis' } }], /restricted" refuses it: volume host is a hostPath/],
    ['Redis evicting', setArg('--maxmemory-policy', 'allkeys-lru'), /--maxmemory-policy is not noeviction/],
    ['Redis without AOF', setArg('--appendonly', 'no'), /--appendonly is not yes/],
    ['Redis unbounded', setArg('--maxmemory', '0'), /no --maxmemory/],
    ['Redis password as a literal', setArg('--requirepass', 'hunter2'), /--requirepass is not \$\(VAR\)/],
    ['Redis password env as a literal', (o) => (redis(o).env[0] = { name: 'REDIS_PASSWORD', value: 'hunter2' }), /--requirepass is not \$\(VAR\)/],
    ['Redis password Secret optional', (o) => (redis(o).env[0].valueFrom.secretKeyRef.optional = true), /password's Secret is optional/],
    ['Redis password from another key', (o) => (redis(o).env[0].valueFrom.secretKeyRef.key = 'url'), /not the Secret wasm-runner-redis, key password/],
    ['Redis without a password', (o) => (redis(o).args = redis(o).args.filter((a: string) => !/requirepass|REDIS_PASSWORD/.test(a))), /no --requirepass/],
    ['Redis memory limit at --maxmemory', (o) => (redis(o).resources = { requests: { cpu: '1', memory: '256Mi' }, limits: { cpu: '1', memory: '256Mi' } }), /memory limit 256Mi is not at least 1.5 × --maxmemory/],
    ['Redis memory request below the limit', (o) => (redis(o).resources.requests.memory = '256Mi'), /requests are not equal to limits/],
    ['Redis CPU request below the limit', (o) => (redis(o).resources.requests.cpu = '500m'), /requests are not equal to limits/],
    ['Redis data on an emptyDir', (o) => {
      delete redisSs(o).spec.volumeClaimTemplates;
      redisSs(o).spec.template.spec.volumes = [{ name: 'data', emptyDir: {} }];
    }, /data directory \/data is not on a volumeClaimTemplate/],
    ['Redis volume too small', (o) => (redisSs(o).spec.volumeClaimTemplates[0].spec.resources.requests.storage = '512Mi'), /volume 512Mi is below 3 × --maxmemory/],
    ['Redis without a readiness probe', (o) => delete redis(o).readinessProbe, /no exec or tcpSocket readinessProbe/],
    ['Redis without its Service', (o) => o.splice(o.findIndex((x) => x.kind === 'Service' && x.metadata.name === 'wasm-runner-redis'), 1), /no Service on 6379 selecting it/],
    ['Redis without a NetworkPolicy', (o) => o.splice(o.indexOf(redisNp(o)), 1), /no NetworkPolicy selects the Redis Pods/],
    ['Redis open to every Pod of the namespace', (o) => (redisNp(o).spec.ingress[0].from = [{ podSelector: {} }]), /ingress is not 6379 from the runner Pods only/],
    ['Redis open to other namespaces', (o) => (redisNp(o).spec.ingress[0].from[0].namespaceSelector = {}), /ingress is not 6379 from the runner Pods only/],
    ['Redis open on every port', (o) => delete redisNp(o).spec.ingress[0].ports, /ingress is not 6379 from the runner Pods only/],
    ['Redis open to all', (o) => redisNp(o).spec.ingress.push({}), /ingress is not 6379 from the runner Pods only/],
    ['Redis admits nobody', (o) => (redisNp(o).spec.ingress = []), /no NetworkPolicy rule admits the runner Pods/],
    ['Redis egress allowed', (o) => (redisNp(o).spec.egress = [{ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }] }]), /allows egress \(Redis needs none\)/],
    ['the runner\'s Redis egress rule selecting other Pods', (o) => {
      o.find((x) => x.kind === 'NetworkPolicy' && x.metadata.name === 'wasm-runner')!.spec.egress[1].to[0].podSelector.matchLabels['app.kubernetes.io/part-of'] = 'other';
    }, /runner's NetworkPolicy has no egress rule reaching these Pods/],
    ['runner Pod breaking "restricted"', (o) => (o.find((x) => x.kind === 'Deployment')!.spec.template.spec.hostNetwork = true), /Deployment\/wasm-runner: Pod Security "restricted" refuses it: hostNetwork/],
  ];
  t.same(problems(prod()), [], 'the production overlay as it is');
  for (const [what, breakIt, expected] of redisCases) {
    const objs = prod();
    breakIt(objs);
    t.match(problems(objs).join('\n'), expected, what);
  }
  const bad = base().find((o) => o.kind === 'Deployment')!;
  bad.spec.replicas = 'two';
  t.throws(() => new (modelClass(bad)!)(bad).validate(), 'the schema check rejects a string replicas');
});
