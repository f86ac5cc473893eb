/**
 * Differential fuzzing of the instrumenter (docs/TESTING.md): random valid modules from binaryen's
 * translate-to-fuzz, each run as the original and as instrumented, compared call by call; a sample
 * replayed on wasmtime for fuel.
 *
 *   npm run fuzz -- --minutes 10 [--seed S] [--workers 2] [--max-input 16384] [--out DIR]
 *   npm run fuzz -- --seed S --count 1          # replay one seed
 *
 * Seeds run from S upwards (S defaults to the time); one in four is replayed on wasmtime too. Prints the counts and, for every finding, its
 * seed; the module of each finding is saved under --out (default a new folder in the temp dir).
 */
import { mkdtempSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { fuzz, formatSummary } from '../test/fuzz/lib/harness.js';
import { findOracle } from '../test/fuzz/lib/oracle.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const minutes = Number(arg('minutes') ?? (arg('count') ? 1e9 : 1));
const count = arg('count') ? Number(arg('count')) : Infinity;
const first = Number(arg('seed') ?? Date.now() % 1_000_000_000);
const workers = Number(arg('workers') ?? Math.max(1, Math.min(cpus().length, 4)));
const out = arg('out') ?? mkdtempSync(path.join(tmpdir(), 'wasm-fuzz-'));
const maxInput = Number(arg('max-input') ?? 16 * 1024);

const oracle = findOracle();
let next = first;
let last = performance.now();
const started = performance.now();
let n = 0;
console.log(`seeds from ${first}, ${workers} workers, ${minutes === 1e9 ? `${count} seeds` : `${minutes} min`}; findings saved under ${out}`);
if ('skip' in oracle) console.log(`wasmtime: skipped (${oracle.skip})`);
const summary = await fuzz({
  seeds: () => (next - first < count ? next++ : undefined),
  workers,
  timeoutMs: 60_000,
  options: {},
  maxInput,
  deadline: started + minutes * 60_000,
  saveDir: out,
  ...('python' in oracle && { oracle: { python: oracle.python } }),
  onReport: (r) => {
    n++;
    for (const f of r.findings) console.log(`FINDING seed ${f.seed} [${f.check}]${f.step ? ` ${f.step}` : ''}: ${f.detail}`);
    if (performance.now() - last > 30_000) {
      last = performance.now();
      console.log(`… ${n} modules in ${Math.round((last - started) / 1000)} s (last seed ${r.seed})`);
    }
  },
});
if ('skip' in oracle && summary.oracle === null) console.log('(no wasmtime comparison)');
console.log(`seeds ${first}..${next - 1}`);
console.log(formatSummary(summary));
process.exit(summary.findings.length ? 1 : 0);
