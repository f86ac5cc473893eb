/**
 * Limits at their exact edges: the memory cap against initial sizes and memory.grow (one page
 * budget for contract and library together), the output cap, the log line count and length caps,
 * fuel and the stack budget.
 */
import t from 'tap';
import { DEFAULT_ENGINE_CONFIG } from '../../src/engine/defaults.js';
import { assertBodyShape, exampleModule, PAGE, run, text, watModule, watString } from '../support/engine.js';
import { CROSSING_BYTES, frameCost } from '../../src/wasm/frame-cost.js';
import { readModule } from '../../src/wasm/reader.js';

const HOST = `
  (import "host" "output" (func $output (param i32 i32)))
  (import "host" "log" (func $log (param i32 i32 i32)))`;

t.test('memory cap vs initial sizes: exactly equal is ok, one page less is memory_limit', async (t) => {
  const contract = await watModule(`(module (import "lib" "f" (func $f (result i32))) (memory (export "memory") 3)
    (func (export "main") (result i32) call $f))`);
  const library = await watModule(`(module (memory (export "memory") 2) (func (export "f") (result i32) memory.size))`);
  const exact = run({ contract, library, limits: { memoryBytes: 5 * PAGE } });
  assertBodyShape(t, exact, { library: true });
  t.same(exact.result!.values, [2]);
  t.same(exact.memory, {
    limitBytes: 5 * PAGE,
    peakBytes: 5 * PAGE,
    modules: { contract: { initialBytes: 3 * PAGE, peakBytes: 3 * PAGE }, library: { initialBytes: 2 * PAGE, peakBytes: 2 * PAGE } },
  });
  // a limit that is not a whole number of pages counts whole pages only
  t.equal(run({ contract, library, limits: { memoryBytes: 6 * PAGE - 1 } }).ok, true);
  for (const memoryBytes of [5 * PAGE - 1, 4 * PAGE]) {
    const r = run({ contract, library, limits: { memoryBytes } });
    assertBodyShape(t, r, { library: true });
    t.equal(r.error!.kind, 'memory_limit', `limit ${memoryBytes}`);
    t.match(r.error!.message, `initial memory of ${5 * PAGE} bytes (contract 3 + library 2 pages) exceeds the limit of ${memoryBytes} bytes`);
  }
});

const GROW = `(module (memory (export "memory") 1)
  (func (export "main") (param $a i32) (param $b i32) (result i32 i32 i32)
    (memory.grow (local.get $a)) (memory.grow (local.get $b)) memory.size))`;

t.test('grow to exactly the cap is granted, one page more is refused (-1)', async (t) => {
  const c = await watModule(GROW);
  const cap = { memoryBytes: 4 * PAGE };
  const exact = run({ contract: c, args: [3, 0], limits: cap });
  t.same(exact.result!.values, [1, 4, 4]);
  t.equal(exact.memory.peakBytes, 4 * PAGE);
  t.equal(exact.memory.modules.contract.peakBytes, 4 * PAGE);
  const over = run({ contract: c, args: [4, 0], limits: cap });
  t.same(over.result!.values, [-1, 1, 1], 'refused whole: memory unchanged');
  t.equal(over.memory.peakBytes, PAGE);
  // in steps: 2 then 1 reaches the cap, then another 1 is refused
  t.same(run({ contract: c, args: [2, 1], limits: cap }).result!.values, [1, 3, 4]);
  t.same(run({ contract: c, args: [3, 1], limits: cap }).result!.values, [1, -1, 4]);
  // grow by 0 is always fine, even at the cap
  t.same(run({ contract: c, args: [0, 0], limits: { memoryBytes: PAGE } }).result!.values, [1, 1, 1]);
  // the instrumented ceiling: no request can grow past MAX pages
  t.equal(DEFAULT_ENGINE_CONFIG.instrument.maxMemoryPages, 4096);
});

t.test('contract and library share one page budget', async (t) => {
  const library = await watModule(`(module (memory (export "memory") 1)
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))`);
  const contract = await watModule(`(module (import "lib" "grow" (func $lg (param i32) (result i32))) (memory (export "memory") 1)
    (func (export "main") (param $l i32) (param $c i32) (result i32 i32)
      (call $lg (local.get $l)) (memory.grow (local.get $c))))`);
  const cap = { memoryBytes: 5 * PAGE }; // 2 initial + 3 to grow
  const both = run({ contract, library, args: [2, 1], limits: cap });
  t.same(both.result!.values, [1, 1]);
  t.same(both.memory.modules, { contract: { initialBytes: PAGE, peakBytes: 2 * PAGE }, library: { initialBytes: PAGE, peakBytes: 3 * PAGE } });
  t.equal(both.memory.peakBytes, 5 * PAGE);
  const refused = run({ contract, library, args: [2, 2], limits: cap });
  t.same(refused.result!.values, [1, -1], 'the library took the pages the contract wanted');
  t.equal(refused.memory.peakBytes, 4 * PAGE);
});

t.test('peak of a module whose memory is not exported', async (t) => {
  const c = await watModule(`(module (memory 1) (func (export "main") (result i32) (memory.grow (i32.const 2))))`);
  const r = run({ contract: c });
  t.same(r.result!.values, [1]);
  t.equal(r.memory.peakBytes, 3 * PAGE, 'total peak counts the grow');
  t.equal(r.memory.modules.contract.peakBytes, 3 * PAGE, 'the module’s peak counts it too');
});

const OUT = (calls: number[]) => `(module ${HOST} (memory (export "memory") 1)
  (func (export "main") ${calls.map((n) => `(call $output (i32.const 0) (i32.const ${n}))`).join(' ')}))`;

t.test('output cap: exactly reached vs exceeded, across calls', async (t) => {
  const config = { output: { ...DEFAULT_ENGINE_CONFIG.output, maxOutputBytes: 10 } };
  const ok = (calls: number[]) => watModule(OUT(calls)).then((c) => run({ contract: c, config }));
  const exact = await ok([10]);
  t.equal(exact.ok, true);
  t.equal(Buffer.from(exact.result!.output, 'base64').length, 10);
  const split = await ok([6, 4]);
  t.equal(Buffer.from(split.result!.output, 'base64').length, 10);
  for (const calls of [[11], [6, 5], [10, 1]]) {
    const r = await ok(calls);
    assertBodyShape(t, r, { library: false });
    t.has(r.error, { kind: 'trap', message: 'output limit exceeded: at most 10 bytes' }, `outputs ${calls.join('+')}`);
  }
  // empty outputs never exceed it
  t.equal((await ok([10, 0, 0])).ok, true);
  t.equal(DEFAULT_ENGINE_CONFIG.output.maxOutputBytes, 1024 * 1024);
});

t.test('log line cap: extra lines dropped, one final warn line', async (t) => {
  const config = { output: { ...DEFAULT_ENGINE_CONFIG.output, maxLogLines: 3 } };
  const c = (n: number) =>
    watModule(`(module ${HOST} (memory (export "memory") 1) (data (i32.const 0) "0123456789")
      (func (export "main") ${Array.from({ length: n }, (_, i) => `(call $log (i32.const ${i % 5}) (i32.const ${i}) (i32.const 1))`).join(' ')}))`);
  const exact = run({ contract: await c(3), config });
  t.same(exact.logs, [
    { level: 'trace', message: '0' },
    { level: 'debug', message: '1' },
    { level: 'info', message: '2' },
  ]);
  const over = run({ contract: await c(5), config });
  t.equal(over.ok, true, 'dropping lines is not an error');
  t.same(over.logs, [
    { level: 'trace', message: '0' },
    { level: 'debug', message: '1' },
    { level: 'info', message: '2' },
    { level: 'warn', message: '2 more log line(s) dropped: the limit is 3' },
  ]);
  // dropped lines still cost their bytes in fuel
  const fuel3 = run({ contract: await c(3), config: { output: { ...config.output, maxLogLines: 100 } } }).fuel.consumed;
  const fuel5 = run({ contract: await c(5), config: { output: { ...config.output, maxLogLines: 100 } } }).fuel.consumed;
  t.equal(over.fuel.consumed, fuel5, 'same fuel whether lines are kept or dropped');
  t.ok(fuel5 > fuel3);
  // also on a failed run
  const failing = await watModule(`(module ${HOST} (memory (export "memory") 1)
    (func (export "main") ${'(call $log (i32.const 2) (i32.const 0) (i32.const 0)) '.repeat(4)} unreachable))`);
  const f = run({ contract: failing, config });
  t.equal(f.error!.kind, 'trap');
  t.equal(f.logs.length, 4);
  t.same(f.logs[3], { level: 'warn', message: '1 more log line(s) dropped: the limit is 3' });
});

t.test('log line truncation at maxLogLineBytes', async (t) => {
  const config = { output: { ...DEFAULT_ENGINE_CONFIG.output, maxLogLineBytes: 5 } };
  const c = await watModule(`(module ${HOST} (memory (export "memory") 1) (data (i32.const 0) "abcdefgh")
    (data (i32.const 16) ${watString('añb')})
    (func (export "main") (param i32) (param i32) (call $log (i32.const 4) (local.get 0) (local.get 1))))`);
  t.same(run({ contract: c, args: [0, 5], config }).logs, [{ level: 'error', message: 'abcde' }], 'exactly the limit: kept whole');
  t.same(run({ contract: c, args: [0, 6], config }).logs, [{ level: 'error', message: 'abcde… (truncated)' }]);
  t.same(run({ contract: c, args: [0, 8], config }).logs, [{ level: 'error', message: 'abcde… (truncated)' }]);
  // cut inside a UTF-8 sequence: the partial character decodes to U+FFFD
  t.same(run({ contract: c, args: [16, 4], config: { output: { ...config.output, maxLogLineBytes: 2 } } }).logs, [
    { level: 'error', message: 'a\uFFFD… (truncated)' },
  ]);
  // panic messages are cut and marked the same way
  const p = await watModule(`(module (import "host" "panic" (func $panic (param i32 i32))) (memory (export "memory") 1) (data (i32.const 0) "abcdefgh")
    (func (export "main") (param i32) (call $panic (i32.const 0) (local.get 0))))`);
  t.has(run({ contract: p, args: [8], config }).error, { kind: 'panic', message: 'abcde… (truncated)' });
  t.has(run({ contract: p, args: [5], config }).error, { kind: 'panic', message: 'abcde' }, 'exactly the limit: kept whole');
  t.equal(DEFAULT_ENGINE_CONFIG.output.maxLogLineBytes, 4096);
});

t.test('fuel: exactly enough vs one short', async (t) => {
  const loop = await watModule(`(module (func (export "main") (param $n i32) (result i32) (local $i i32) (local $acc i32)
    block loop
      local.get $i local.get $n i32.ge_s br_if 1
      local.get $acc local.get $i i32.add local.set $acc
      local.get $i i32.const 1 i32.add local.set $i
      br 0
    end end
    local.get $acc))`);
  const cost = 13 * 10 + 6;
  const exact = run({ contract: loop, args: [10], limits: { fuel: cost } });
  t.equal(exact.ok, true);
  t.same(exact.result!.values, [45]);
  t.same(exact.fuel, { limit: cost, consumed: cost, remaining: 0 });
  const short = run({ contract: loop, args: [10], limits: { fuel: cost - 1 } });
  t.equal(short.error!.kind, 'out_of_fuel');
  t.same(short.fuel, { limit: cost - 1, consumed: cost - 1, remaining: 0 });

  // the same edge for a linked Rust run (host copies included)
  const kv = exampleModule('kv');
  const library = exampleModule('library');
  const input = 'b=2\na=1\nc=3\n';
  const need = run({ contract: kv, library, input }).fuel.consumed;
  const atEdge = run({ contract: kv, library, input, limits: { fuel: need } });
  t.equal(atEdge.ok, true);
  t.equal(atEdge.fuel.remaining, 0);
  const under = run({ contract: kv, library, input, limits: { fuel: need - 1 } });
  t.equal(under.error!.kind, 'out_of_fuel');
  t.equal(under.fuel.consumed, need - 1);
});

t.test('stack budget: exactly maxStackBytes of frames', async (t) => {
  const c = await watModule(`(module (func $f (export "main") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
      (else (i32.add (call $f (i32.sub (local.get 0) (i32.const 1))) (i32.const 1))))))`);
  const frame = frameCost(readModule(c.original), 0);
  // main(n) is n + 1 frames
  for (const n of [1, 7, 100]) {
    const config = { maxStackBytes: (n + 1) * frame };
    t.same(run({ contract: c, args: [n], config }).result!.values, [n], `${n + 1} frames fit`);
    t.equal(run({ contract: c, args: [n + 1], config }).error!.kind, 'stack_overflow', `${n + 2} frames do not`);
  }
  t.equal(run({ contract: c, args: [0], config: { maxStackBytes: frame - 1 } }).error!.kind, 'stack_overflow', 'even the entry needs its frame');
  // a host call costs the crossing while it runs; it is given back on return, so sequential calls never add up
  const seq = await watModule(`(module ${HOST} (memory (export "memory") 1)
    (func (export "main") ${'(call $output (i32.const 0) (i32.const 0)) '.repeat(10)}))`);
  const main = frameCost(readModule(seq.original), 0);
  t.equal(run({ contract: seq, config: { maxStackBytes: main + CROSSING_BYTES } }).ok, true);
  t.equal(run({ contract: seq, config: { maxStackBytes: main + CROSSING_BYTES - 1 } }).error!.kind, 'stack_overflow');
  t.equal(text(run({ contract: seq }).result!.output), '');
});

t.test('fuel: bulk memory operators cost 1 per byte, refused up front when short', async (t) => {
  const c = await watModule(`(module (memory (export "memory") 1)
    (func (export "main") (param $n i32) (memory.fill (i32.const 0) (i32.const 7) (local.get $n))))`);
  // entry + local.get + 2 consts + fill = 5, then n
  for (const n of [0, 1, 60000]) t.equal(run({ contract: c, args: [n] }).fuel.consumed, 5 + n, `fill ${n}`);
  t.equal(run({ contract: c, args: [60000], limits: { fuel: 60005 } }).ok, true, 'exactly enough');
  const short = run({ contract: c, args: [60000], limits: { fuel: 60004 } });
  t.equal(short.error!.kind, 'out_of_fuel');
  t.same(short.fuel, { limit: 60004, consumed: 60004, remaining: 0 }, 'consumed == limit');
  // an out-of-bounds fill traps without the per-byte charge
  const oob = run({ contract: c, args: [70000] });
  t.has(oob.error, { kind: 'trap', message: 'out of bounds memory access' });
  t.equal(oob.fuel.consumed, 5);
});
