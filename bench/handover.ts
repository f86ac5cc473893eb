/**
 * `npm run bench:handover`: what handing one small task to a worker thread and getting its answer
 * costs, Piscina (as the pool uses it: with an AbortSignal for the timeout, and without; each of its
 * `atomics` modes) against a raw MessagePort per worker, 2 threads, a task shaped like ours (modules
 * by key, a checked plan, limits) and a trivial answer: sequential latency, and with 16 in flight the
 * calls/s and the main thread's busy time per call (its event-loop utilisation), which is what bounds
 * `POST /execute` on the main thread. Options: --calls N (20000).
 */
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { parseArgs } from 'node:util';
import { Piscina } from 'piscina';
import { machine } from './util.js';

const { values: opt } = parseArgs({ options: { calls: { type: 'string', default: '20000' } } });
const N = Number(opt.calls);
const C = 16;
const W = new URL('./handover-worker.mjs', import.meta.url);
const task = {
  input: {
    contract: { key: `${'a'.repeat(64)}:v6:m4096:t10000` },
    library: { key: `${'b'.repeat(64)}:v6:m4096:t10000` },
    input: new Uint8Array(5),
    limits: { fuel: 1e9, memoryBytes: 1 << 24, timeoutMs: 1000 },
    checked: { entry: 'main', entryType: { params: [], results: [0x7f] }, args: [], bridge: { namespace: 'lib', wires: [] }, shared: null, namespace: 'lib', iroha: null },
  },
  submittedAt: 1,
  prepareMs: 0.1,
};

const rows: string[] = [];
async function measure(name: string, run: (i: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 2000; i++) await run(i); // warm-up
  let t = performance.now();
  for (let i = 0; i < 3000; i++) await run(i);
  const seq = ((performance.now() - t) / 3000) * 1000;
  const elu0 = performance.eventLoopUtilization();
  t = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: C }, async () => {
      while (next < N) await run(next++);
    }),
  );
  const ms = performance.now() - t;
  const elu = performance.eventLoopUtilization(elu0);
  rows.push(`| ${name} | ${seq.toFixed(1)} | ${((N / ms) * 1000).toFixed(0)} | **${((elu.active / N) * 1000).toFixed(1)}** |`);
}

for (const atomics of ['sync', 'async', 'disabled'] as const) {
  const pool = new Piscina({ filename: W.href, minThreads: 2, maxThreads: 2, idleTimeout: Infinity, atomics });
  await measure(`Piscina, atomics ${atomics}`, (i) => pool.run({ ...task, n: i }));
  await measure(`Piscina, atomics ${atomics}, with an AbortSignal and timer (as the pool runs tasks)`, (i) => {
    const c = new AbortController();
    const timer = setTimeout(() => c.abort(), 1000);
    return pool.run({ ...task, n: i }, { signal: c.signal }).finally(() => clearTimeout(timer));
  });
  await pool.destroy();
}
const workers = [0, 1].map(() => new Worker(W, { workerData: { raw: true } }));
const pending = new Map<number, (m: unknown) => void>();
let id = 0;
for (const w of workers) w.on('message', (m: { id: number }) => {
  pending.get(m.id)!(m);
  pending.delete(m.id);
});
let rr = 0;
await measure('raw MessagePort, round robin', (i) => new Promise((res) => {
  const k = id++;
  pending.set(k, res);
  workers[rr++ & 1]!.postMessage({ ...task, n: i, id: k });
}));
for (const w of workers) await w.terminate();

const m = machine();
process.stdout.write(
  [
    `${m.date}, ${m.cpu} (${m.cores} cores), Node ${m.node}, commit ${m.commit}; ${N} calls with ${C} in flight`,
    '',
    '| hand-over | sequential µs/call | calls/s, 16 in flight | main thread µs/call |',
    '|---|---:|---:|---:|',
    ...rows,
  ].join('\n') + '\n',
);
