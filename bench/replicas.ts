/**
 * `npm run bench:replicas`: one replica against two replicas sharing one Redis, side by side in one run,
 * with the project's own load test (`scripts/load-test.ts --url A [--url B] --json`, kv + library by
 * hash, uploaded to the first replica only): requests/s, p50/p99, errors, and each replica's resident
 * memory after the load. Layouts, each measured in alternating rounds (one, two, three, one, two, ...):
 *   one replica, 2 workers;   two replicas, 1 worker each;   two replicas, 2 workers each;
 *   and, where `taskset` exists, one replica (1 worker) pinned to core 0 with the load generator pinned
 *   to core 1: the throughput of one core, the unit of the capacity model.
 * All on this machine: the replicas share its cores with each other and with the load generator, so the
 * figures show what sharing a store costs a replica, not what more machines would add (docs/SCALING.md).
 * Then Redis's own figures for module-sized values with redis-benchmark, when installed.
 * Needs redis-server. Options: --seconds N per round (10), --rounds N (2), --connections N (16).
 */
import { type ChildProcess, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT } from './corpus.js';
import { hasRedis, ready, startRedis, startServer, stopServer } from './server.js';
import { machine, median, progress, table } from './util.js';

const { values: opt } = parseArgs({
  options: { seconds: { type: 'string', default: '10' }, rounds: { type: 'string', default: '2' }, connections: { type: 'string', default: '16' } },
});
const seconds = Number(opt.seconds);
const rounds = Number(opt.rounds);
const connections = Number(opt.connections);
const REDIS_PORT = 18130;
const REDIS_URL = `redis://127.0.0.1:${REDIS_PORT}/0`;

if (!hasRedis()) {
  process.stderr.write('bench:replicas needs redis-server (apt-get install redis-server)\n');
  process.exit(2);
}


/** A replica: `node dist/server.js` on a free port and a fresh store directory, sharing the Redis. */
async function replica(workers: number, core?: number): Promise<{ url: string; proc: ChildProcess; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'wcr-replica-'));
  const env = { HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', WORKERS: String(workers), STORE_DIR: dir, SEED_EXAMPLES: 'false', STORE_SHARED_URL: REDIS_URL };
  const { url, proc } = await startServer(['dist/server.js'], env, core === undefined ? [] : ['taskset', '-c', String(core)]);
  await ready(url);
  return { url, proc, dir };
}

async function stop(r: { proc: ChildProcess; dir: string }): Promise<void> {
  await stopServer(r.proc);
  rmSync(r.dir, { recursive: true, force: true });
}

async function rssMiB(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^process_resident_memory_bytes (\d+)/m.exec(text)?.[1]) / 2 ** 20;
}

interface Run {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  rss: number[];
}

async function measure(layout: Layout): Promise<Run> {
  const replicas = [];
  for (const w of layout.workers) replicas.push(await replica(w, layout.pinned ? 0 : undefined));
  try {
    const args = ['--import', 'tsx', 'scripts/load-test.ts', ...replicas.flatMap((r) => ['--url', r.url]), '--connections', String(layout.pinned ? connections / 2 : connections), '--duration', String(seconds), '--contract', 'kv', '--json'];
    const [cmd, all] = layout.pinned ? ['taskset', ['-c', '1', process.execPath, ...args]] : [process.execPath, args];
    const r = spawnSync(cmd, all, { cwd: ROOT, encoding: 'utf8', timeout: (seconds + 60) * 1000 });
    if (r.status !== 0) throw new Error(`load-test failed: ${r.stderr}`);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    const rss = await Promise.all(replicas.map((x) => rssMiB(x.url)));
    return { rps: out.reqPerSecMean, p50: out.latencyMs.p50, p99: out.latencyMs.p99, errors: out.errors, non2xx: out.non2xx, rss };
  } finally {
    for (const x of replicas) await stop(x);
  }
}

interface Layout {
  name: string;
  workers: number[];
  /** The replica on core 0, the load generator on core 1 (half the connections: one replica's share). */
  pinned?: boolean;
}
const layouts: Layout[] = [
  { name: 'one replica, 2 workers', workers: [2] },
  { name: 'two replicas sharing Redis, 1 worker each', workers: [1, 1] },
  { name: 'two replicas sharing Redis, 2 workers each', workers: [2, 2] },
];
if (spawnSync('taskset', ['-c', '0', 'true']).status === 0) layouts.push({ name: 'one replica, 1 worker, pinned to one core (load from the other)', workers: [1], pinned: true });

const redis = await startRedis(REDIS_PORT);
const lines: string[] = [];
try {
  const runs = new Map<string, Run[]>(layouts.map((l) => [l.name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const l of layouts) {
      progress(`round ${round + 1}/${rounds}: ${l.name} ...`);
      runs.get(l.name)!.push(await measure(l));
    }
  }
  const base = median(runs.get(layouts[0]!.name)!.map((r) => r.rps));
  const m = machine();
  lines.push(`${m.date}, ${m.cpu} (${m.cores} cores), Node ${m.node}, commit ${m.commit}`);
  lines.push(`load-test: kv + library by hash, ${connections} connections in all (${connections / 2} for the pinned replica), ${seconds} s a round, ${rounds} rounds a layout (medians), log level info`);
  lines.push('');
  lines.push(
    table(
      ['layout', 'req/s', 'vs one replica', 'p50 ms', 'p99 ms', 'errors + non-2xx', 'RSS per replica MiB'],
      layouts.map((l) => {
        const rs = runs.get(l.name)!;
        const rps = median(rs.map((r) => r.rps));
        return [
          l.name,
          rps.toFixed(0),
          `${(rps / base).toFixed(2)}×`,
          median(rs.map((r) => r.p50)).toFixed(2),
          median(rs.map((r) => r.p99)).toFixed(2),
          String(rs.reduce((a, r) => a + r.errors + r.non2xx, 0)),
          rs.at(-1)!.rss.map((x) => x.toFixed(0)).join(' + '),
        ];
      }),
      ['l', 'r', 'r', 'r', 'r', 'r', 'r'],
    ),
  );
  // Redis's own capacity for values the size of modules: what a replica's first read of a module costs it
  const sizes: Array<[string, number, number]> = [['20 kB (the library)', 20_000, 20_000], ['1 MiB', 1 << 20, 400], ['4 MiB (the module size limit)', 4 << 20, 100]];
  const rows: string[][] = [];
  for (const [name, bytes, n] of sizes) {
    const r = spawnSync('redis-benchmark', ['-p', String(REDIS_PORT), '-t', 'set,get', '-d', String(bytes), '-n', String(n), '-c', '4', '-q'], { encoding: 'utf8', timeout: 120_000 });
    if (r.status !== 0) continue;
    const rate = (op: string) => Number(new RegExp(`^${op}: ([\\d.]+) requests per second`, 'mi').exec(r.stdout.replace(/\r/g, '\n'))?.[1]);
    const p50 = (op: string) => Number(new RegExp(`^${op}: [\\d.]+ requests per second, p50=([\\d.]+) msec`, 'mi').exec(r.stdout.replace(/\r/g, '\n'))?.[1]);
    rows.push([name, rate('SET').toFixed(0), rate('GET').toFixed(0), p50('GET').toFixed(3), ((rate('GET') * bytes) / 1e6).toFixed(0)]);
  }
  if (rows.length) {
    lines.push('');
    lines.push('redis-benchmark on the same Redis (4 clients):');
    lines.push('');
    lines.push(table(['value', 'SET/s', 'GET/s', 'GET p50 ms', 'GET MB/s'], rows, ['l', 'r', 'r', 'r', 'r']));
  }
} finally {
  redis.kill('SIGKILL');
}
process.stdout.write(`${lines.join('\n')}\n`);
