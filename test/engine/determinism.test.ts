/**
 * The same request gives the same body on every run (docs/API.md): everything but `timings` is
 * identical, run after run and across fresh prepares of the same bytes, for successes, traps,
 * out-of-fuel, stack overflow and memory_limit runs, and no state leaks from one run to the next.
 */
import t from 'tap';
import { type Assert, example, type RunOptions, PAGE, prep, run, stableJson, wat, watModule } from '../support/engine.js';

const RUNS = 20;

function same(t: Assert, o: RunOptions, fresh?: () => RunOptions): void {
  const first = run(o);
  const json = stableJson(first);
  let differing = 0;
  for (let i = 1; i < RUNS; i++) if (stableJson(run(i % 2 && fresh ? fresh() : o)) !== json) differing++;
  t.equal(differing, 0, `${RUNS} runs give identical bodies (${first.error?.kind ?? 'ok'})`);
  t.same(Object.keys(first.timings).length, 5, 'timings are there (and left out of the comparison)');
}

const kvBytes = example('kv');
const libBytes = example('library');
const kvRun = (extra: Partial<RunOptions> = {}): RunOptions => ({ contract: prep(kvBytes), library: prep(libBytes), input: 'b=2\na=1\nc=3\n', ...extra });

t.test('kv: twice, then 20 times, then across fresh prepares', async (t) => {
  const o = kvRun();
  const a = run(o);
  const b = run(o);
  t.equal(stableJson(a), stableJson(b));
  t.equal(a.ok, true);
  same(t, o, () => kvRun());
});

t.test('kv out of fuel at the same point every time', async (t) => {
  const o = kvRun({ limits: { fuel: 5000 } });
  t.equal(run(o).error!.kind, 'out_of_fuel');
  same(t, o, () => kvRun({ limits: { fuel: 5000 } }));
});

t.test('a trap mid-block: same message and exact fuel every time', async (t) => {
  const src = `(module (memory (export "memory") 1)
    (func (export "main") (param i32) (result i32) (local $i i32)
      (loop $l (local.set $i (i32.add (local.get $i) (i32.const 1))) (br_if $l (i32.lt_u (local.get $i) (i32.const 100))))
      (i32.div_u (i32.const 7) (local.get 0))))`;
  const bytes = await wat(src);
  const o = { contract: prep(bytes), args: [0] };
  const r = run(o);
  t.has(r.error, { kind: 'trap', message: 'integer divide by zero' });
  same(t, o, () => ({ contract: prep(bytes), args: [0] }));
});

t.test('stack overflow and memory_limit are deterministic too', async (t) => {
  const fib = prep(example('fib'));
  same(t, { contract: fib, entrypoint: 'depth', args: [1_000_000] });
  const oom = prep(example('oom'));
  same(t, { contract: oom, limits: { memoryBytes: 40 * PAGE } });
});

t.test('no state leaks between runs of the same prepared modules', async (t) => {
  const o = kvRun();
  const clean = stableJson(run(o));
  // interleave failing runs with the same prepared modules
  run({ ...o, limits: { fuel: 3000 } });
  run({ ...o, limits: { memoryBytes: 20 * PAGE } });
  run({ ...o, input: 'x=' + 'y'.repeat(5000) });
  t.equal(stableJson(run(o)), clean, 'a normal run after failing ones is unchanged');

  // a module with mutable globals starts fresh each time
  const counter = await watModule(`(module (global $g (mut i32) (i32.const 0))
    (func (export "main") (result i32) (global.set $g (i32.add (global.get $g) (i32.const 1))) (global.get $g)))`);
  t.same(run({ contract: counter }).result!.values, [1]);
  t.same(run({ contract: counter }).result!.values, [1]);
});

t.test('timings may differ, nothing else does', async (t) => {
  const o = kvRun();
  const a = run(o);
  const b = run(o);
  const { timings: _a, ...restA } = a;
  const { timings: _b, ...restB } = b;
  t.same(restA, restB);
});
