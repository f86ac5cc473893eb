/**
 * `npm run bench:first-stored`: the first execution by hash of a new 1 MiB module after `PUT /modules`
 * (target ≤ 1.5× a plain `WebAssembly.compile` + instantiate + call of the original), against the
 * built service on 127.0.0.1 (one worker, a fresh store directory), and the PUT itself (ms, MB/s).
 * Four cases, each pair alternating which side goes first, a fresh module (new nonce) every time:
 *   after PUT:        the same process that took the PUT (it prepared the module then);
 *   after a restart:  a new process on the same store (it compiles the persisted prepared artifact);
 *   without artifact: a new process with store.persistPrepared off (it instruments again);
 *   another replica:  when redis-server is installed, the PUTs go to a process writing through to a
 *                     Redis, and a second process on an empty store directory (a new replica) runs them
 *                     first: it reads the module from Redis, verifies it, and instruments it.
 * The plain side runs in this process: compile + instantiate + run(100, 50) of the original bytes.
 * Both sides must compute the same value. Options: --modules N (5).
 */
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT } from './corpus.js';
import { syntheticModule, withNonce } from './first-run.js';
import { hasRedis, ready, startRedis, startServer, stopServer } from './server.js';
import { machine, median, now } from './util.js';

const { values: opt } = parseArgs({ options: { modules: { type: 'string', default: '5' } } });
const n = Number(opt.modules);
const REDIS_PORT = 18126;
/** The service the helpers below talk to: the last one started. */
let url = '';
const dir = mkdtempSync(join(tmpdir(), 'wcr-first-stored-'));
const base = syntheticModule(3000, 4);
let nonce = 1;
const fresh = () => withNonce(base, nonce++);
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function start(env: Record<string, string> = {}): Promise<ChildProcess> {
  const server = await startServer(['dist/server.js'], { LOG_LEVEL: 'info', HOST: '127.0.0.1', PORT: '0', STORE_DIR: dir, WORKERS: '1', SEED_EXAMPLES: 'false', ...env });
  url = server.url;
  await ready(url);
  // one execution of another module, so that the pool and the route are warm
  const warm = fresh();
  await put(warm);
  await executeByHash(sha(warm));
  return server.proc;
}

const stop = stopServer;

async function put(bytes: Uint8Array): Promise<number> {
  const t = now();
  const r = await fetch(`${url}/modules`, { method: 'PUT', body: bytes as Uint8Array<ArrayBuffer>, headers: { 'content-type': 'application/wasm' } });
  if (r.status !== 201) throw new Error(`PUT answered ${r.status}: ${await r.text()}`);
  await r.arrayBuffer();
  return now() - t;
}

async function executeByHash(hash: string): Promise<{ ms: number; value: number }> {
  const t = now();
  const r = await fetch(`${url}/execute`, {
    method: 'POST',
    body: JSON.stringify({ contract: { hash }, entrypoint: 'run', args: [100, 50] }),
    headers: { 'content-type': 'application/json' },
  });
  const body = (await r.json()) as any;
  const ms = now() - t;
  if (!body.ok) throw new Error(`execute failed: ${JSON.stringify(body.error)}`);
  return { ms, value: body.result.values[0] };
}

async function plain(bytes: Uint8Array): Promise<{ ms: number; value: number }> {
  const t = now();
  const mod = await WebAssembly.compile(bytes as BufferSource);
  const inst = await WebAssembly.instantiate(mod, {});
  const value = (inst.exports.run as (a: number, b: number) => number)(100, 50);
  return { ms: now() - t, value };
}

interface Row {
  name: string;
  ours: number;
  plain: number;
  ratio: number;
}

/** Pairs of (ours, plain) on fresh modules, alternating which goes first. */
async function pairs(name: string, modules: Uint8Array[]): Promise<Row> {
  const ours: number[] = [];
  const pl: number[] = [];
  const ratios: number[] = [];
  for (const [i, m] of modules.entries()) {
    const other = fresh(); // the plain side gets a copy V8 has not seen either
    let a, b;
    if (i % 2 === 0) {
      a = await executeByHash(sha(m));
      b = await plain(other);
    } else {
      b = await plain(other);
      a = await executeByHash(sha(m));
    }
    if (a.value !== b.value) throw new Error(`${name}: the service computed ${a.value}, plain wasm ${b.value}`);
    ours.push(a.ms);
    pl.push(b.ms);
    ratios.push(a.ms / b.ms);
  }
  return { name, ours: median(ours), plain: median(pl), ratio: median(ratios) };
}

const rows: Row[] = [];
const puts: number[] = [];
try {
  await plain(fresh()); // warm this side too
  let proc = await start();
  const sets = [Array.from({ length: n }, fresh), Array.from({ length: n }, fresh), Array.from({ length: n }, fresh)];
  // case 1: PUT, then the first execution, in the same process
  for (const m of sets[0]!) puts.push(await put(m));
  rows.push(await pairs('after PUT (same process)', sets[0]!));
  // cases 2 and 3: modules PUT now, executed first by a new process
  for (const m of [...sets[1]!, ...sets[2]!]) puts.push(await put(m));
  await stop(proc);
  proc = await start();
  rows.push(await pairs('after a restart (persisted prepared artifact)', sets[1]!));
  await stop(proc);
  proc = await start({ STORE_PERSIST_PREPARED: 'false' });
  rows.push(await pairs('after a restart, artifacts off (instrumented again)', sets[2]!));
  await stop(proc);
  if (hasRedis()) {
    // case 4: PUT to one replica, first executed by another with an empty store directory, through Redis
    const redis = await startRedis(REDIS_PORT);
    try {
      const shared = { STORE_SHARED_URL: `redis://127.0.0.1:${REDIS_PORT}/0` };
      const writer = await start(shared);
      const set = Array.from({ length: n }, fresh);
      for (const m of set) await put(m);
      const other = mkdtempSync(join(tmpdir(), 'wcr-first-stored-replica-'));
      const reader = await start({ ...shared, STORE_DIR: other });
      rows.push(await pairs('on another replica (read from Redis, verified, instrumented)', set));
      await stop(reader);
      await stop(writer);
      rmSync(other, { recursive: true, force: true });
    } finally {
      redis.kill('SIGKILL');
    }
  } else rows.push({ name: 'on another replica: skipped (no redis-server)', ours: NaN, plain: NaN, ratio: NaN });
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const m = machine();
const putMs = median(puts);
const mb = base.length / 1e6;
const lines = [
  `${m.date}, ${m.cpu} (${m.cores} cores), Node ${m.node}, commit ${m.commit}`,
  `module: generated ${(base.length / 2 ** 20).toFixed(2)} MiB (3,000 functions), call run(100, 50); ${n} modules per case`,
  `PUT /modules: median ${putMs.toFixed(1)} ms (${(mb / (putMs / 1000)).toFixed(1)} MB/s), ${puts.length} PUTs`,
  '',
  '| first execution by hash | ours ms | plain ms | ours / plain | target |',
  '|---|---:|---:|---:|---|',
  ...rows.map((r) => `| ${r.name} | ${r.ours.toFixed(2)} | ${r.plain.toFixed(2)} | **${r.ratio.toFixed(2)}×** | ≤ 1.5× ${r.ratio <= 1.5 ? 'met' : 'not met'} |`),
];
process.stdout.write(lines.join('\n') + '\n');
