/**
 * Every fuzz finding, replayed: `test/fuzz/regressions/<seed>.wasm` is run as a case (test/fuzz/lib/case.ts,
 * the arguments derive from the seed) and, unless its `<seed>.json` says `"oracle": false`, replayed on
 * wasmtime too. A `"todo"` in the JSON marks a known, unfixed finding.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { runCase } from './lib/case.js';
import { compareOracle, findOracle, runWasmtime } from './lib/oracle.js';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'regressions');
const files = readdirSync(dir).filter((f) => f.endsWith('.wasm')).sort();
const oracle = findOracle();

for (const file of files) {
  const seed = Number(path.basename(file, '.wasm'));
  const sidecar = path.join(dir, `${seed}.json`);
  const meta = (existsSync(sidecar) ? JSON.parse(readFileSync(sidecar, 'utf8')) : {}) as { todo?: string; oracle?: boolean; note?: string };
  t.test(`seed ${seed}`, { ...(meta.todo && { todo: meta.todo }) }, async (t) => {
    const bytes = new Uint8Array(readFileSync(path.join(dir, file)));
    const wantOracle = meta.oracle !== false && 'python' in oracle;
    const r = runCase(seed, bytes, { oracle: wantOracle });
    t.equal(r.notApplicable, null, 'applicable');
    t.same(r.findings, [], 'original and instrumented agree');
    t.ok(r.compared > 0, `steps compared: ${r.compared}`);
    if (meta.oracle === false) return;
    if ('skip' in oracle) {
      t.comment(`wasmtime part skipped: ${oracle.skip}`);
      return;
    }
    const theirs = await runWasmtime(oracle.python, [r.oracle!]);
    const counts = { modules: 0, fuelEqual: 0, trapCalls: 0 };
    t.same(compareOracle(r.oracle!, theirs.results[0]!, counts), [], `wasmtime agrees (${counts.fuelEqual} calls with equal fuel)`);
  });
}
if (!files.length) t.pass('no regressions recorded');
