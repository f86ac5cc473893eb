/**
 * Differential fuzzing of the instrumenter (docs/TESTING.md): random valid modules from
 * binaryen's translate-to-fuzz, seeded, each run as the original and as instrumented with the
 * engine's options (test/fuzz/lib/case.ts), in worker threads under a timeout:
 * - every module validates, or is counted as not applicable with its reason;
 * - the instrumented module (fast and exact fuel variants) validates;
 * - with ample fuel every step (instantiation and start, each export with deterministic arguments)
 *   gives the same values or trap, the same logged `fuzzing-support` calls, the same globals, and
 *   the same final memory as the original; the exact variant the same fuel as the fast one; the
 *   profiling variant (defined functions moved past its hooks) the same outcomes, globals, memory and
 *   fuel as the exact one, its hooks naming defined functions, fuel never going up, exits matching entries;
 * - with small limits (0, 1, 10, 100, half, all but one) a call stops out of fuel with the meter's
 *   flag, consumed = limit and no import call beyond the ample run's; with exactly its consumption it
 *   completes as before, 0 left;
 * - a sample replayed on wasmtime (when the oracle is there): equal fuel for calls that finish.
 * `npm test` runs the first 24 seeds (every check of the 250: traps, a looping call at 20261225, reference
 * types, 6 modules on wasmtime), `npm run test:long` 250 (FUZZ_COUNT=n to choose); longer runs:
 * `npm run fuzz -- --minutes 10`.
 */
import { setFlagsFromString } from 'node:v8';
import t from 'tap';
import { LONG, longOr } from '../support/long.js';
import { fuzz, formatSummary } from './lib/harness.js';
import { findOracle } from './lib/oracle.js';

// npm test: Liftoff only, for this process (its worker threads included). binaryen's wasm-opt (a 10 MB
// Emscripten module, run for every seed) otherwise keeps TurboFan compiling its hot functions, ~30% of
// the file's CPU. V8's tiers compute the same values and traps, and what is compared is the original
// against the instrumented module in the same tier; npm run test:long runs V8's default tiering
// (test/engine/stack-tiers.test.ts holds the metering to both tiers in npm test).
if (!LONG) setFlagsFromString('--liftoff-only');

const FIRST_SEED = 20_261_202;
const COUNT = Number(process.env.FUZZ_COUNT ?? longOr(250, 24));
const oracle = findOracle();
let next = FIRST_SEED;

const summary = await fuzz({
  seeds: () => (next < FIRST_SEED + COUNT ? next++ : undefined),
  // npm test: one worker thread (each costs ~1.5 CPU-s to start: tsx, the case's modules, binaryen
  // compiled), as npm test keeps both cores busy with other files anyway; the long run has two
  workers: longOr(2, 1),
  timeoutMs: 30_000,
  options: {},
  maxInput: 16 * 1024,
  ...('python' in oracle && { oracle: { python: oracle.python } }),
});
t.comment(`seeds ${FIRST_SEED}..${FIRST_SEED + COUNT - 1}\n${formatSummary(summary)}`);

t.test('original and instrumented agree', async (t) => {
  t.equal(summary.modules, COUNT, 'every seed ran');
  t.same(
    summary.findings.filter((f) => f.check !== 'wasmtime'),
    [],
    'no findings (replay one: npm run fuzz -- --seed S --count 1)',
  );
  t.equal(summary.timeouts, 0, 'no case ran into the wall-clock guard');
  t.ok(summary.applicable >= COUNT * 0.9, `most modules applicable (${summary.applicable} of ${COUNT})`);
  t.ok(summary.compared >= COUNT * 5, `calls compared with the original: ${summary.compared}`);
  t.ok(summary.traps > 0, `traps compared: ${summary.traps}`);
  if (COUNT >= 24) t.ok(summary.looping > 0, `a call that runs out of the fuel cap compared (seed 20261225): ${summary.looping}`);
  t.ok(summary.limitRuns >= COUNT * 5, `runs with small fuel limits: ${summary.limitRuns}`);
});

t.test('fuel equals wasmtime on a sample', { skip: 'skip' in oracle ? oracle.skip : false }, async (t) => {
  t.same(
    summary.findings.filter((f) => f.check === 'wasmtime'),
    [],
    'no differences from wasmtime',
  );
  t.ok(summary.oracle!.modules >= COUNT / 8, `modules replayed on wasmtime: ${summary.oracle!.modules}`);
  t.ok(summary.oracle!.fuelEqual > 0, `calls with equal fuel: ${summary.oracle!.fuelEqual}`);
});
