/**
 * `npm run bench:batch`: the per-call cost of POST /execute/batch with 100 calls against 100 single
 * POST /execute requests of the same call, sequential, side by side in one run (interleaved rounds,
 * medians) against the built service on 127.0.0.1 (2 workers, the same process for both sides).
 * Target (docs/BENCHMARKS.md): a batch call costs ≤ 0.2× a single request. Both sides must answer the
 * same bodies (timings aside). Options: --rounds N (7), --calls N (100).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT } from './corpus.js';
import { machine, median } from './util.js';

const { values: opt } = parseArgs({ options: { rounds: { type: 'string', default: '7' }, calls: { type: 'string', default: '100' } } });
const rounds = Number(opt.rounds);
const n = Number(opt.calls);
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const wasm = (name: string) => new Uint8Array(readFileSync(resolve(ROOT, 'examples/wasm', `${name}.wasm`)));
const call = { contract: { hash: sha(wasm('hello-lib')) }, library: { hash: sha(wasm('library')) }, input: Buffer.from('bench').toString('base64') };

const proc = spawn(process.execPath, ['dist/server.js'], {
  cwd: ROOT,
  env: { ...process.env, LOG_LEVEL: 'warn', HOST: '127.0.0.1', PORT: '18123', STORE_DIR: 'none', WORKERS: '2' },
  stdio: 'inherit',
});
const url = 'http://127.0.0.1:18123';
try {
  for (let i = 0; ; i++) {
    const r = await fetch(`${url}/ready`).catch(() => null);
    if (r?.ok) break;
    if (i > 200) throw new Error('service not ready');
    await new Promise((d) => setTimeout(d, 100));
  }
  const post = async (path: string, body: unknown) => {
    const r = await fetch(`${url}${path}`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    return (await r.json()) as any;
  };
  const strip = (b: any) => JSON.stringify({ ...b, timings: undefined });
  // the same answers on both sides
  const one = await post('/execute', call);
  const many = await post('/execute/batch', { calls: Array.from({ length: n }, () => call) });
  if (!many.results.every((r: any) => strip(r) === strip(one))) throw new Error('the batch answers differ from the single request');

  const singles: number[] = [];
  const batches: number[] = [];
  for (let round = 0; round < rounds; round++) {
    let t = performance.now();
    for (let i = 0; i < n; i++) await post('/execute', call);
    singles.push((performance.now() - t) / n);
    t = performance.now();
    await post('/execute/batch', { calls: Array.from({ length: n }, () => call) });
    batches.push((performance.now() - t) / n);
  }
  const s = median(singles);
  const b = median(batches);
  const m = machine();
  process.stdout.write(
    `${m.date}, ${m.cpu} (${m.cores} cores), Node ${m.node}, commit ${m.commit}\n` +
      `per call: single request ${s.toFixed(3)} ms, in a batch of ${n} ${b.toFixed(3)} ms: ratio ${(b / s).toFixed(3)}× (target ≤ 0.2×)\n`,
  );
} finally {
  proc.kill('SIGTERM');
}
