/**
 * deploy/k8s: every YAML file parses; each kustomization (base and overlays) is rendered — by a small
 * renderer here (resources, namespace, strategic-merge patches as a deep merge where lists of named
 * objects merge by name, images) and, when kubectl is on the PATH, by `kubectl kustomize` too — and
 * every rendered object is validated against the Kubernetes schemas (kubernetes-models) and against this
 * service's rules: non-root uid 1000, read-only root filesystem, no capabilities, no privilege escalation,
 * seccomp RuntimeDefault, liveness on /health and readiness on /ready, a memory limit at or above the
 * worst case src/memory-budget.ts computes from the manifest's env and ConfigMap (else the service
 * refuses to start), terminationGracePeriodSeconds above limits.max.timeoutMs and the drain, /data on a
 * volume, AUTH_TOKEN from an optional Secret, and the Service/HPA/PDB/NetworkPolicy wiring.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, posix, relative, resolve } from 'node:path';
import * as models from 'kubernetes-models';
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

function render(dir: string): Obj[] {
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

function kubectlRender(dir: string): Obj[] | null {
  const r = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return null;
  return parseAllDocuments(r.stdout).map((d: any) => d.toJS()).filter((o: unknown) => o != null);
}

// ---------- schema validation ----------

function modelClass(o: Obj): (new (d: Obj) => { validate(): void }) | undefined {
  const [group, version] = String(o.apiVersion).includes('/') ? String(o.apiVersion).split('/') : ['', o.apiVersion];
  const ns = group === '' ? 'v1' : group!.replace(/\.(\w)/g, (_, c: string) => c.toUpperCase());
  const mod = (models as any)[ns];
  return (group === '' ? mod : mod?.[version!])?.[o.kind];
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
    const psc: Obj = spec.securityContext ?? {};
    const sc: Obj = c.securityContext ?? {};
    if ((sc.runAsNonRoot ?? psc.runAsNonRoot) !== true) out.push(`${where}: runAsNonRoot is not true`);
    if ((sc.runAsUser ?? psc.runAsUser) !== 1000) out.push(`${where}: runAsUser is not 1000`);
    if (sc.readOnlyRootFilesystem !== true) out.push(`${where}: readOnlyRootFilesystem is not true`);
    if (sc.allowPrivilegeEscalation !== false) out.push(`${where}: allowPrivilegeEscalation is not false`);
    if (sc.privileged === true) out.push(`${where}: privileged`);
    if (!(sc.capabilities?.drop ?? []).includes('ALL')) out.push(`${where}: capabilities.drop lacks ALL`);
    if (sc.capabilities?.add?.length) out.push(`${where}: capabilities added`);
    if ((sc.seccompProfile ?? psc.seccompProfile)?.type !== 'RuntimeDefault') out.push(`${where}: seccompProfile is not RuntimeDefault`);

    // env → config (CONFIG_FILE taken from the mounted ConfigMap)
    const env: NodeJS.ProcessEnv = {};
    for (const e of (c.env ?? []) as Obj[]) if (e.value !== undefined) env[e.name] = String(e.value);
    const auth = (c.env ?? []).find((e: Obj) => e.name === 'AUTH_TOKEN');
    if (!auth?.valueFrom?.secretKeyRef || auth.valueFrom.secretKeyRef.optional !== true) out.push(`${where}: AUTH_TOKEN is not from an optional Secret reference`);
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
    const svc = objs.find((o) => o.kind === 'Service');
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
    const np = objs.find((o) => o.kind === 'NetworkPolicy');
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
      if (!np.spec.policyTypes?.includes('Egress') || !eg.every((r) => r.ports?.length && r.ports.every((p: Obj) => p.port === 53))) out.push('NetworkPolicy egress is not DNS only');
    }
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
    ['NetworkPolicy egress opened', (o) => o.find((x) => x.kind === 'NetworkPolicy')!.spec.egress.push({ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }] }), /egress is not DNS only/],
  ];
  for (const [what, breakIt, expected] of cases) {
    const objs = base();
    breakIt(objs);
    t.match(problems(objs).join('\n'), expected, what);
  }
  const bad = base().find((o) => o.kind === 'Deployment')!;
  bad.spec.replicas = 'two';
  t.throws(() => new (modelClass(bad)!)(bad).validate(), 'the schema check rejects a string replicas');
});
