/**
 * Every outcome kind of one execution (docs/API.md, Outcomes): ok, out_of_fuel, memory_limit, stack_overflow,
 * trap (with the spec-style messages of src/engine/outcome.ts), panic; and out-of-bounds pointers
 * handed to the host ABI, which are a `trap` outcome, never an exception.
 */
import t from 'tap';
import { DEFAULT_ENGINE_CONFIG, DEFAULT_LIMITS } from '../../src/engine/defaults.js';
import { assertBodyShape, exampleModule, input, PAGE, prep, run, sha256, wat, watModule, watString } from '../support/engine.js';
import { execute, timeoutResult } from '../../src/engine/execute.js';
import { ENGINE_STACK_MESSAGE, stackBudgetMessage } from '../../src/engine/outcome.js';

const HOST = `
  (import "host" "input_len" (func $input_len (result i32)))
  (import "host" "input_read" (func $input_read (param i32)))
  (import "host" "output" (func $output (param i32 i32)))
  (import "host" "log" (func $log (param i32 i32 i32)))
  (import "host" "panic" (func $panic (param i32 i32)))`;

t.test('ok: the full 200 body of docs/API.md', async (t) => {
  const bytes = await wat(`(module (func (export "main") (result i32) i32.const 42))`);
  const r = run({ contract: prep(bytes) });
  assertBodyShape(t, r, { library: false });
  t.same(r.result, { values: [42], output: '' });
  t.equal(r.ok, true);
  t.equal(r.error, null);
  // 1 for the function entry + 1 for i32.const (end is free)
  t.same(r.fuel, { limit: DEFAULT_LIMITS.fuel, consumed: 2, remaining: DEFAULT_LIMITS.fuel - 2 });
  t.same(r.memory, { limitBytes: DEFAULT_LIMITS.memoryBytes, peakBytes: 0, modules: { contract: { initialBytes: 0, peakBytes: 0 } } });
  t.same(r.logs, []);
  t.same(r.modules, { contract: { hash: sha256(bytes), bytes: bytes.length } });
  t.same(r.link, { mode: 'bridge', calls: 0, bytesCopied: 0 });
  t.equal(r.timings.queueMs, 0);
  t.equal(r.timings.prepareMs, 0);
});

t.test('ok: queue and prepare timings are carried into the body', async (t) => {
  const c = await watModule(`(module (func (export "main")))`);
  const r = execute(input({ contract: c }), DEFAULT_ENGINE_CONFIG, { queueMs: 1.5, prepareMs: 2.25 });
  t.equal(r.timings.queueMs, 1.5);
  t.equal(r.timings.prepareMs, 2.25);
  t.ok(r.timings.totalMs >= 3.75, 'total includes queue and prepare');
  t.same(r.result, { values: [], output: '' });
});

t.test('ok: the documented loop costs 13n+6 fuel', async (t) => {
  const c = await watModule(`(module (func (export "main") (param $n i32) (result i32) (local $i i32) (local $acc i32)
    block loop
      local.get $i local.get $n i32.ge_s br_if 1
      local.get $acc local.get $i i32.add local.set $acc
      local.get $i i32.const 1 i32.add local.set $i
      br 0
    end end
    local.get $acc))`);
  for (const n of [0, 1, 10, 1000]) {
    const r = run({ contract: c, args: [n] });
    t.same(r.result!.values, [(n * (n - 1)) / 2], `sum below ${n}`);
    t.equal(r.fuel.consumed, 13 * n + 6, `fuel for n=${n}`);
  }
});

t.test('ok: values typed like the signature (i64 as strings, non-finite floats as strings, multi-value)', async (t) => {
  const c = await watModule(`(module
    (func (export "i64") (param i64) (result i64) local.get 0 i64.const 1 i64.add)
    (func (export "floats") (result f32 f64 f64 f64 f64) f32.const 1.5 f64.const nan f64.const inf f64.const -inf f64.const -0)
    (func (export "none")))`);
  t.same(run({ contract: c, entrypoint: 'i64', args: ['9223372036854775807'] }).result!.values, ['-9223372036854775808']);
  t.same(run({ contract: c, entrypoint: 'i64', args: ['-5'] }).result!.values, ['-4']);
  t.same(run({ contract: c, entrypoint: 'floats' }).result!.values, [1.5, 'NaN', 'Infinity', '-Infinity', '-0']);
  t.same(run({ contract: c, entrypoint: 'none' }).result!.values, []);
});

t.test('out_of_fuel: consumed == limit, remaining 0, no result', async (t) => {
  const c = await watModule(`(module (func (export "main") (result i32) (loop $l (br $l)) i32.const 0))`);
  for (const fuel of [1, 2, 1000, 12345]) {
    const r = run({ contract: c, limits: { fuel } });
    assertBodyShape(t, r, { library: false });
    t.equal(r.ok, false);
    t.equal(r.error!.kind, 'out_of_fuel');
    t.match(r.error!.message, String(fuel));
    t.same(r.fuel, { limit: fuel, consumed: fuel, remaining: 0 });
    t.equal(r.result, null);
  }
});

t.test('out_of_fuel: exhausted by a host copy (1 fuel per byte)', async (t) => {
  const c = await watModule(`(module ${HOST} (memory (export "memory") 1)
    (func (export "main") (call $output (i32.const 0) (i32.const 1000))))`);
  const ample = run({ contract: c });
  t.equal(ample.ok, true);
  // entry + 2 consts + call = 4, then 1000 bytes
  t.equal(ample.fuel.consumed, 1004);
  const r = run({ contract: c, limits: { fuel: 1003 } });
  t.equal(r.error!.kind, 'out_of_fuel');
  t.same(r.fuel, { limit: 1003, consumed: 1003, remaining: 0 });
});

t.test('memory_limit (a): initial sizes of contract and library together over the cap', async (t) => {
  // a start function that traps: had it run, the outcome would be a trap
  const contract = await watModule(`(module (memory (export "memory") 2) (func $s unreachable) (start $s)
    (func (export "main") (result i32) i32.const 1))`);
  const library = await watModule(`(module (memory (export "memory") 3) (func (export "f")))`);
  // each alone fits in 4 pages
  t.equal(run({ contract, limits: { memoryBytes: 4 * PAGE } }).error!.kind, 'trap', 'the contract alone fits (and its start traps)');
  const r = run({ contract, library, limits: { memoryBytes: 4 * PAGE } });
  assertBodyShape(t, r, { library: true });
  t.equal(r.error!.kind, 'memory_limit');
  t.match(r.error!.message, /contract 2 \+ library 3 pages/);
  t.match(r.error!.message, String(4 * PAGE));
  t.same(r.memory.modules, { contract: { initialBytes: 2 * PAGE, peakBytes: 0 }, library: { initialBytes: 3 * PAGE, peakBytes: 0 } }, 'declared sizes, nothing allocated');
  t.equal(r.memory.peakBytes, 0);
  t.equal(r.memory.limitBytes, 4 * PAGE);
  t.equal(r.fuel.consumed, 0, 'nothing ran');
  t.same(r.error!.kind, 'memory_limit', 'the start function never ran');
  t.has(run({ contract, library, limits: { memoryBytes: 5 * PAGE } }).error, { kind: 'trap', message: 'wasm `unreachable` instruction executed' }, 'fits with 5 pages: the start function runs');
});

t.test('memory_limit (b): a grow refused by the cap returns -1 inside wasm; a contract that copes is ok', async (t) => {
  const c = await watModule(`(module (memory (export "memory") 1)
    (func (export "main") (result i32 i32)
      (memory.grow (i32.const 1))
      memory.size))`);
  const r = run({ contract: c, limits: { memoryBytes: PAGE } });
  assertBodyShape(t, r, { library: false });
  t.equal(r.ok, true);
  t.same(r.result!.values, [-1, 1]);
  t.same(r.memory, { limitBytes: PAGE, peakBytes: PAGE, modules: { contract: { initialBytes: PAGE, peakBytes: PAGE } } });
  const more = run({ contract: c, limits: { memoryBytes: 2 * PAGE } });
  t.same(more.result!.values, [1, 2], 'granted under a larger cap');
  t.equal(more.memory.peakBytes, 2 * PAGE);
});

t.test('memory_limit (c): the trap after a refused grow', async (t) => {
  const c = await watModule(`(module (memory (export "memory") 1)
    (func (export "main") (result i32)
      (if (i32.eq (memory.grow (i32.const 1)) (i32.const -1)) (then unreachable))
      i32.const 7))`);
  const r = run({ contract: c, limits: { memoryBytes: PAGE } });
  assertBodyShape(t, r, { library: false });
  t.equal(r.error!.kind, 'memory_limit');
  t.match(r.error!.message, /memory\.grow refused/);
  t.match(r.error!.message, /unreachable/);
  t.same(run({ contract: c, limits: { memoryBytes: 2 * PAGE } }).result!.values, [7]);

  // a grow refused by the module's own declared maximum is not the cap: a plain trap
  const own = await watModule(`(module (memory (export "memory") 1 1)
    (func (export "main") (result i32)
      (if (i32.eq (memory.grow (i32.const 1)) (i32.const -1)) (then unreachable))
      i32.const 7))`);
  const r2 = run({ contract: own });
  t.equal(r2.error!.kind, 'trap');
  t.equal(r2.error!.message, 'wasm `unreachable` instruction executed');
});

t.test('memory_limit: examples/wasm/oom.wasm stops at exactly the cap', async (t) => {
  const oom = exampleModule('oom');
  for (const pages of [17, 20, 64]) {
    const r = run({ contract: oom, limits: { memoryBytes: pages * PAGE } });
    assertBodyShape(t, r, { library: false });
    t.equal(r.error!.kind, 'memory_limit', `cap ${pages} pages`);
    t.match(r.error!.message, /memory\.grow refused/);
    t.equal(r.memory.modules.contract.peakBytes, pages * PAGE, 'memory is exactly the cap at the trap');
    t.equal(r.memory.peakBytes, pages * PAGE);
  }
});

t.test('stack_overflow: the deterministic stack budget', async (t) => {
  const c = await watModule(`(module (func $f (export "main") (result i32) call $f))`);
  const r = run({ contract: c });
  assertBodyShape(t, r, { library: false });
  t.equal(r.error!.kind, 'stack_overflow');
  t.equal(r.error!.message, stackBudgetMessage(DEFAULT_ENGINE_CONFIG.maxStackBytes), 'the message names the budget');
  t.equal(
    r.error!.message,
    `call stack exhausted: the stack budget of ${DEFAULT_ENGINE_CONFIG.maxStackBytes} bytes is used up (docs/ABI.md, Stack)`,
  );

  const fib = exampleModule('fib');
  t.same(run({ contract: fib, entrypoint: 'depth', args: [1000] }).result!.values, [1000], 'a recursion 1000 deep fits the default budget');
  const over = run({ contract: fib, entrypoint: 'depth', args: [100000] });
  t.same([over.error!.kind, over.error!.message], ['stack_overflow', stackBudgetMessage(DEFAULT_ENGINE_CONFIG.maxStackBytes)]);

  // the budget is the engine config's: find the deepest depth(n) that fits 16 KiB, then one more
  const small = { maxStackBytes: 16384 };
  let n = 0;
  while (run({ contract: fib, entrypoint: 'depth', args: [n + 1], config: small }).ok) n++;
  t.ok(n > 10 && n < 200, `depth(${n}) is the deepest under 16 KiB`);
  const overSmall = run({ contract: fib, entrypoint: 'depth', args: [n + 1], config: small });
  t.equal(overSmall.error!.kind, 'stack_overflow');
  t.equal(overSmall.error!.message, stackBudgetMessage(16384), 'the configured budget is named');
});

t.test("stack_overflow: V8's own RangeError is the backstop", async (t) => {
  const c = await watModule(`(module (func $f (export "main") (param i32) (result i32) (call $f (i32.add (local.get 0) (i32.const 1)))))`);
  // a budget far beyond this (main) thread's stack: V8's limit comes first, still stack_overflow
  const r = run({ contract: c, args: [0], config: { maxStackBytes: 1_000_000_000 } });
  t.equal(r.error!.kind, 'stack_overflow');
  t.equal(r.error!.message, ENGINE_STACK_MESSAGE);
});

const TRAPS: Array<[string, string, string, number]> = [
  // name, body of main (result i32), expected message, exact fuel (entry + operators executed)
  ['unreachable', 'unreachable', 'wasm `unreachable` instruction executed', 1],
  ['i32.div_s by zero', 'i32.const 1 i32.const 0 i32.div_s', 'integer divide by zero', 4],
  ['i32.div_u by zero', 'i32.const 1 i32.const 0 i32.div_u', 'integer divide by zero', 4],
  ['i32.rem_s by zero', 'i32.const 1 i32.const 0 i32.rem_s', 'integer divide by zero', 4],
  ['i64.rem_u by zero', 'i64.const 1 i64.const 0 i64.rem_u i32.wrap_i64', 'integer divide by zero', 4],
  ['i32.div_s overflow', 'i32.const 0x80000000 i32.const -1 i32.div_s', 'integer overflow', 4],
  ['i64.div_s overflow', 'i64.const 0x8000000000000000 i64.const -1 i64.div_s i32.wrap_i64', 'integer overflow', 4],
  ['trunc of NaN', 'f32.const nan i32.trunc_f32_s', 'invalid conversion to integer', 3],
  ['trunc out of range', 'f64.const 1e30 i32.trunc_f64_u', 'invalid conversion to integer', 3],
  ['load out of bounds', 'i32.const 65536 i32.load', 'out of bounds memory access', 3],
  ['store out of bounds', 'i32.const 65535 i32.const 1 i32.store i32.const 0', 'out of bounds memory access', 4],
  // the operators after the trapping one were charged with the block and are refunded
  ['mid-block load', 'i32.const 65536 i32.load drop i32.const 1 i32.const 2 i32.add', 'out of bounds memory access', 3],
  ['call_indirect past the table', 'i32.const 5 call_indirect (type $t)', 'undefined element: out of bounds table access', 3],
  ['call_indirect null element', 'i32.const 1 call_indirect (type $t)', 'indirect call to a null element or with a mismatched signature', 3],
  ['call_indirect wrong signature', 'i32.const 0 call_indirect (type $t)', 'indirect call to a null element or with a mismatched signature', 3],
];

t.test('trap: spec-style messages, exact fuel', async (t) => {
  for (const [name, body, message, fuel] of TRAPS) {
    const c = await watModule(`(module (memory (export "memory") 1) (type $t (func (result i32)))
      (table 2 funcref) (elem (i32.const 0) $other) (func $other (param i32))
      (func (export "main") (result i32) ${body}))`);
    const r = run({ contract: c });
    assertBodyShape(t, r, { library: false });
    t.has(r.error, { kind: 'trap', message }, name);
    t.equal(r.fuel.consumed, fuel, `${name}: fuel`);
  }
});

t.test('trap: in the start function', async (t) => {
  const c = await watModule(`(module (func $s unreachable) (start $s) (func (export "main")))`);
  const r = run({ contract: c });
  t.has(r.error, { kind: 'trap', message: 'wasm `unreachable` instruction executed' });
});

t.test('panic: host.panic with its UTF-8 message', async (t) => {
  const c = await watModule(`(module ${HOST} (memory (export "memory") 1) (data (i32.const 8) ${watString('refusé ✓')})
    (func (export "main") (result i32) (call $panic (i32.const 8) (i32.const 11)) i32.const 1))`);
  const r = run({ contract: c });
  assertBodyShape(t, r, { library: false });
  t.has(r.error, { kind: 'panic', message: 'refusé ✓' });
  t.equal(r.result, null);

  const p = exampleModule('panic');
  const e = run({ contract: p, input: 'alice' });
  assertBodyShape(t, e, { library: false });
  t.has(e.error, { kind: 'panic', message: 'contract refused: alice' });
  t.has(run({ contract: p }).error, { kind: 'panic', message: 'contract refused: ' });
});

t.test('panic: from the library (direct call)', async (t) => {
  const library = await watModule(`(module ${HOST} (memory (export "memory") 1) (data (i32.const 0) "lib says no")
    (func (export "f") (call $panic (i32.const 0) (i32.const 11))))`);
  const contract = await watModule(`(module (import "lib" "f" (func $f)) (func (export "main") call $f))`);
  const r = run({ contract, library });
  assertBodyShape(t, r, { library: true });
  t.has(r.error, { kind: 'panic', message: 'lib says no' });
});

/** Calls with out-of-bounds pointers for each pointer-taking host function (memory: 1 page). */
const OOB_CALLS: Array<[string, string, RegExp]> = [
  ['output', '(call $output (i32.const 65530) (i32.const 7))', /^out of bounds memory access: host\.output given 65530\.\.65537 but memory is 65536 bytes$/],
  ['output (ptr + len wraps in 32 bits)', '(call $output (i32.const -1) (i32.const 2))', /^out of bounds memory access: host\.output/],
  ['log', '(call $log (i32.const 2) (i32.const 70000) (i32.const 1))', /^out of bounds memory access: host\.log given 70000\.\.70001/],
  ['panic', '(call $panic (i32.const 65536) (i32.const 1))', /^out of bounds memory access: host\.panic/],
  ['input_read', '(call $input_read (i32.const 65534))', /^out of bounds memory access: host\.input_read given 65534\.\.65539/],
];

t.test('out-of-bounds pointers to the host ABI are a trap outcome (contract)', async (t) => {
  for (const [name, call, re] of OOB_CALLS) {
    const c = await watModule(`(module ${HOST} (memory (export "memory") 1) (func (export "main") ${call}))`);
    const r = run({ contract: c, input: 'hello' });
    assertBodyShape(t, r, { library: false });
    t.equal(r.error!.kind, 'trap', name);
    t.match(r.error!.message, re, name);
    t.equal(r.result, null);
  }
});

t.test('out-of-bounds pointers to the host ABI are a trap outcome (library)', async (t) => {
  const contract = await watModule(`(module (import "lib" "f" (func $f)) (memory (export "memory") 4) (func (export "main") call $f))`);
  for (const [name, call, re] of OOB_CALLS) {
    const library = await watModule(`(module ${HOST} (memory (export "memory") 1) (func (export "f") ${call}))`);
    const r = run({ contract, library, input: 'hello' });
    assertBodyShape(t, r, { library: true });
    t.equal(r.error!.kind, 'trap', name);
    // the library's memory (1 page) is checked, not the contract's (4 pages)
    t.match(r.error!.message, re, name);
  }
});

t.test('a host ABI call reaches the module memory even when it is not exported', async (t) => {
  const c = await watModule(`(module ${HOST} (memory 1) (data (i32.const 0) "Z") (func (export "main") (call $output (i32.const 0) (i32.const 1))))`);
  const r = run({ contract: c });
  t.equal(r.error, null);
  t.equal(Buffer.from(r.result!.output, 'base64').toString(), 'Z');
  t.equal(r.fuel.consumed, 5, 'entry + 2 consts + call + 1 byte copied');
});

t.test('a host ABI call from a module without any memory is a trap', async (t) => {
  const c = await watModule(`(module ${HOST} (func (export "main") (call $output (i32.const 0) (i32.const 1))))`);
  const r = run({ contract: c });
  t.has(r.error, { kind: 'trap', message: 'host.output needs a linear memory, and the calling module has none' });
  t.equal(r.fuel.consumed, 4, 'entry + 2 consts + call');
});

t.test('a module exporting a function named `memory` still has its memory used, not the export', async (t) => {
  const c = await watModule(`(module ${HOST} (memory 1) (func (export "memory")) (func (export "main") (call $output (i32.const 0) (i32.const 1))))`);
  let r: ReturnType<typeof run> | undefined;
  let thrown: unknown;
  try {
    r = run({ contract: c });
  } catch (e) {
    thrown = e;
  }
  t.equal(thrown, undefined, 'execute does not throw');
  t.equal(r?.error, null, 'the output call works');
  t.equal(r?.result?.output, Buffer.from([0]).toString('base64'));
});

t.test('a trap after a grow in the start function', async (t) => {
  const c = await watModule(`(module (memory (export "memory") 1) (func $s (drop (memory.grow (i32.const 2))) unreachable) (start $s) (func (export "main")))`);
  const r = run({ contract: c });
  t.has(r.error, { kind: 'trap', message: 'wasm `unreachable` instruction executed' });
  t.equal(r.memory.peakBytes, 3 * PAGE);
  t.equal(r.memory.modules.contract.peakBytes, 3 * PAGE, 'the module peak counts the grow');
});

t.test('timeout: the body for the wall-clock backstop', async (t) => {
  const contract = await watModule(`(module (memory (export "memory") 2) (func (export "main")))`);
  const library = await watModule(`(module (memory (export "memory") 1))`);
  const r = timeoutResult(input({ contract, library, limits: { timeoutMs: 50, fuel: 1000 } }), { queueMs: 1, prepareMs: 2, executeMs: 50 });
  assertBodyShape(t, r, { library: true });
  t.same(r.error, { kind: 'timeout', message: 'execution stopped after 50 ms (wall clock)' });
  t.same(r.fuel, { limit: 1000, consumed: 1000, remaining: 0 });
  t.equal(r.memory.peakBytes, 3 * PAGE);
  t.equal(r.timings.totalMs, 53);
});
