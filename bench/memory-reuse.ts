/**
 * `npm run bench:memory`: linear memories reused per thread (zeroed between executions, the engine's
 * default) against a fresh memory for every execution, on the same calls in one thread, interleaved
 * rounds, medians: the hello-lib contract with the library (two memories of 17 pages), the kv
 * contract with the library, and the compute contract alone. Both sides must give the same result.
 * Options: --rounds N (15), --calls N per round (300).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_ENGINE_CONFIG, DEFAULT_ENGINE_POLICY, DEFAULT_LIMITS } from '../src/engine/defaults.js';
import { type ExecuteInput, type ExecutionResult, execute } from '../src/engine/execute.js';
import { threadMemoryPool } from '../src/engine/memory-pool.js';
import { prepare } from '../src/engine/prepare.js';
import { ROOT } from './corpus.js';
import { machine, median, now } from './util.js';

const { values: opt } = parseArgs({ options: { rounds: { type: 'string', default: '15' }, calls: { type: 'string', default: '300' } } });
const rounds = Number(opt.rounds);
const calls = Number(opt.calls);
const load = (name: string) => prepare(new Uint8Array(readFileSync(resolve(ROOT, 'examples/wasm', `${name}.wasm`))), DEFAULT_ENGINE_CONFIG.instrument, DEFAULT_ENGINE_POLICY);
const library = load('library');
const cases: Array<{ name: string; input: ExecuteInput }> = [
  { name: 'hello-lib + library (bridge)', input: { contract: load('hello-lib'), library, input: new TextEncoder().encode('bench'), limits: DEFAULT_LIMITS } },
  { name: 'kv + library (bridge)', input: { contract: load('kv'), library, input: new TextEncoder().encode('a=1;b=2;c=3;a'), limits: DEFAULT_LIMITS } },
  { name: 'compute sort(100)', input: { contract: load('compute'), library: null, entrypoint: 'sort', args: [100], input: new Uint8Array(0), limits: DEFAULT_LIMITS } },
];
// a memory the engine hands to the inspector is not given back to the pool: each execution gets a new one
const fresh = (i: ExecuteInput): ExecuteInput => ({ ...i, inspectMemory: () => {} });
const strip = (r: ExecutionResult) => JSON.stringify({ ...r, timings: undefined });

const rows: string[] = [];
for (const c of cases) {
  const a = execute(c.input, DEFAULT_ENGINE_CONFIG);
  const b = execute(fresh(c.input), DEFAULT_ENGINE_CONFIG);
  if (strip(a) !== strip(b)) throw new Error(`${c.name}: reuse and fresh memories answer differently`);
  if (!a.ok) throw new Error(`${c.name}: ${JSON.stringify(a.error)}`);
  const reuse: number[] = [];
  const off: number[] = [];
  const run = (input: ExecuteInput) => {
    const t = now();
    for (let i = 0; i < calls; i++) execute(input, DEFAULT_ENGINE_CONFIG);
    return ((now() - t) / calls) * 1000;
  };
  for (let r = 0; r < rounds + 2; r++) {
    const x = r % 2 ? [run(c.input), run(fresh(c.input))] : [run(fresh(c.input)), run(c.input)].reverse();
    if (r < 2) continue; // warm-up rounds
    reuse.push(x[0]!);
    off.push(x[1]!);
  }
  const on = median(reuse);
  const no = median(off);
  rows.push(`| ${c.name} | ${a.fuel.consumed.toLocaleString('en-US')} | ${on.toFixed(0)} | ${no.toFixed(0)} | **${(on / no).toFixed(2)}×** |`);
}
const m = machine();
process.stdout.write(
  [
    `${m.date}, ${m.cpu} (${m.cores} cores), Node ${m.node}, commit ${m.commit}; ${rounds} rounds of ${calls} calls, one thread`,
    `memories created ${threadMemoryPool.created}, reused ${threadMemoryPool.reused}`,
    '',
    '| calls | fuel | reuse µs/call | fresh µs/call | reuse / fresh |',
    '|---|---:|---:|---:|---:|',
    ...rows,
  ].join('\n') + '\n',
);
