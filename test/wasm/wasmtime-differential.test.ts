/**
 * Fuel parity with real wasmtime (docs/FUEL-PARITY.md): every instantiation and invoke of the
 * WebAssembly core spec suite (../shared/wasm-spec), the Rust examples (compute, fib) and a few modules
 * of our own (memory.grow, table.grow, a start function) run on our standalone instrumented modules
 * in V8 and on wasmtime (the `wasmtime` PyPI package, through test/support/wasmtime_fuel.py, one
 * process for the whole corpus), and the fuel of each call is compared.
 *
 * Asserted: every call that returns normally on both sides consumes exactly the same fuel, with the
 * same values (NaN payloads aside), except the documented categories of test/support/wasmtime-diff.ts:
 * instantiation (wasmtime runs a synthesized startup function; our model charges only the start
 * function), traps (wasmtime does not save its fuel counter before a trap; we charge the trapping block
 * up front, so ours is never less), exhaustion (depends on each engine's stack), and calls into an
 * instance whose instantiation failed (its standalone `__fuel` cannot be read).
 *
 * `npm test` compares the sample of test/support/spec-files.ts `specSample` (every script but the
 * numeric tables), `npm run test:long` every script. Skipped, saying why, without ../shared/wasm-spec
 * or without a python that imports wasmtime (WASMTIME_PYTHON, else .wasmtime-venv/bin/python; .ci/run
 * creates that venv).
 */
import t from 'tap';
import { LONG } from '../support/long.js';
import { listScripts, specRoot, specSample } from '../support/spec-files.js';
import { type Category, type Compared, findOracle, formatCounts, runDiff } from '../support/wasmtime-diff.js';

const root = specRoot();
const oracle = findOracle();

const describe = (c: Compared) => `${c.session}:${c.id} ${c.what}: ${c.detail}`;

if (root === undefined) {
  t.test('wasmtime differential', { skip: '../shared/wasm-spec is absent (CI has it)' }, () => {});
} else if ('skip' in oracle) {
  t.test('wasmtime differential', { skip: oracle.skip }, () => {});
} else {
  const run = await runDiff(oracle.python, specSample(listScripts(root)));
  t.comment(formatCounts(run, 2));
  const of = (cat: Category) => run.calls.filter((c) => c.category === cat);

  const least = LONG ? 40_000 : 10_000;
  t.ok(run.calls.length > least, `the ${LONG ? 'whole corpus' : 'sample'} was compared (${run.calls.length} calls, wasmtime ${run.version})`);
  t.ok(run.counts.equal > least, `${run.counts.equal} calls returned with equal fuel and values`);

  t.same(of('other').map(describe), [], 'no fuel difference without a known reason');
  t.same(of('values').map(describe), [], 'equal fuel calls return the same values (NaN payloads aside)');
  t.same(of('outcome').map(describe), [], 'both sides return, trap or refuse alike');
  t.same(of('after exhaustion').map(describe), [], 'nothing differs after an exhaustion');
  // memory.grow: +1 per page added when it succeeds (wasmtime's rule, ours since the grow helper charges it)
  t.same(of('memory.grow').map(describe), [], 'memory.grow: +1 per page added, on both sides');
  t.same(
    of('table.grow refused').map(describe),
    [],
    'table.grow that returns -1 charges no delta (wasmtime 49)',
  );

  // The documented categories: each difference goes the documented way.
  const diff = (c: Compared) => BigInt(c.theirs ?? 0) - (c.ours ?? 0n);
  t.same(of('start function').filter((c) => diff(c) < 2n).map(describe), [], 'start functions: wasmtime charges at least 2 more');
  t.same(of('module startup').filter((c) => diff(c) < 1n).map(describe), [], 'startup code: wasmtime charges more, never less');
  t.same(of('trap fuel').filter((c) => c.ours !== undefined && diff(c) > 0n).map(describe), [], 'at a trap wasmtime reports no more than ours');
  t.same(of('lost instance').filter((c) => diff(c) <= 0n).map(describe), [], 'calls into a lost instance: only the lost part is missing');

  const examples = run.calls.filter((c) => c.session.includes('.wasm') && c.category !== 'exhaustion');
  t.ok(examples.length > 0 && examples.every((c) => c.category === 'equal'), `the Rust examples: ${examples.length} calls, all equal`);
  t.comment(`run time ${Math.round(run.ms)} ms`);
}
