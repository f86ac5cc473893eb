/**
 * Fuel parity with real wasmtime, the whole corpus, counts by category (docs/FUEL-PARITY.md):
 *
 *   npx tsx scripts/wasmtime-diff.ts [--examples N] [--json FILE] [SCRIPT ...]
 *
 * SCRIPT names spec scripts of ../shared/wasm-spec (default: all of them); `--examples N` prints up to
 * N calls of each category of difference (default 5); `--json FILE` writes every compared call. Needs
 * a python with the wasmtime package: WASMTIME_PYTHON, else .wasmtime-venv/bin/python. Exit code 1
 * when a call differs for no known reason (category `other`, `values` or `outcome`).
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { listScripts, specRoot } from '../test/support/spec-files.js';
import { findOracle, formatCounts, runDiff } from '../test/support/wasmtime-diff.js';

const { values, positionals } = parseArgs({
  options: { examples: { type: 'string', default: '5' }, json: { type: 'string' } },
  allowPositionals: true,
});
const oracle = findOracle();
if ('skip' in oracle) {
  process.stderr.write(`${oracle.skip}\n`);
  process.exit(2);
}
const root = specRoot();
const all = root ? listScripts(root) : [];
if (!root) process.stderr.write('../shared/wasm-spec is absent: the examples only\n');
const scripts = positionals.length ? all.filter((d) => positionals.some((n) => d.endsWith(`/${n}`))) : all;

const run = await runDiff(oracle.python, scripts);
process.stdout.write(`${formatCounts(run, Number(values.examples))}\n`);
if (values.json) {
  writeFileSync(values.json, JSON.stringify(run.calls, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 1));
}
process.exit(run.counts.other + run.counts.values + run.counts.outcome > 0 ? 1 : 0);
