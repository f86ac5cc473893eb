/**
 * Exact fuel (docs/ABI.md, Fuel) on hand-counted WAT, through the engine (prepare + execute, default config).
 *
 * The model, as wasmtime's: every executed operator costs 1, except nop, drop, block, loop,
 * unreachable, return, else, end (0); +1 per entry into a wasm function; bulk operators +1 per byte
 * or element, charged after they succeed; host copies 1 per byte. Every count below is written out
 * next to the code, `;; n` after each operator, and the total in the test.
 */
import t, { type Test } from 'tap';
import type { ExecutionResult } from '../../src/engine/execute.js';
import type { PreparedModule } from '../../src/engine/prepare.js';
import { type RunOptions, prep, runOnce } from '../support/wat.js';

type T = Test;

/** A finished run: values and exact fuel. */
function ok(t: T, r: ExecutionResult, consumed: number, values: unknown[]): void {
  t.equal(r.error, null, 'no error');
  t.same(r.result?.values, values, `values ${JSON.stringify(values)}`);
  t.equal(r.fuel.consumed, consumed, `consumed ${consumed}`);
  t.equal(r.fuel.remaining, r.fuel.limit - consumed, 'remaining = limit - consumed');
}

/** A run that stopped with an outcome. */
function failed(t: T, r: ExecutionResult, kind: string, consumed: number, message?: RegExp): void {
  t.equal(r.ok, false, 'not ok');
  t.equal(r.error?.kind, kind, `outcome ${kind}`);
  if (message) t.match(r.error?.message, message);
  t.equal(r.result, null, 'no result');
  t.equal(r.fuel.consumed, consumed, `consumed ${consumed}`);
  t.equal(r.fuel.remaining, r.fuel.limit - consumed, 'remaining = limit - consumed');
}

/** limit == cost → ok with 0 left; limit == cost - 1 → out_of_fuel with consumed == limit. */
async function edges(t: T, m: PreparedModule, opts: RunOptions, cost: number, values: unknown[]): Promise<void> {
  const exact = await runOnce(m, { ...opts, fuel: cost });
  ok(t, exact, cost, values);
  t.equal(exact.fuel.remaining, 0, `limit ${cost}: nothing left`);
  const short = await runOnce(m, { ...opts, fuel: cost - 1 });
  failed(t, short, 'out_of_fuel', cost - 1);
  t.equal(short.fuel.remaining, 0, `limit ${cost - 1}: out of fuel, consumed == limit`);
}

t.test('straight-line code', async (t) => {
  const m = await prep(`(module
    (func (export "main") (result i32)
      i32.const 2   ;; 1
      i32.const 3   ;; 1
      i32.mul       ;; 1
      nop           ;; 0
      i32.const 4   ;; 1
      drop          ;; 0
      i32.const 1   ;; 1
      i32.add))     ;; 1`);
  // entry 1 + 6 operators (const, const, mul, const, const, add; nop and drop are free) = 7
  ok(t, await runOnce(m), 7, [7]);
  await edges(t, m, {}, 7, [7]);
});

t.test('the 13n+6 loop', async (t) => {
  const m = await prep(`(module
    (func (export "main") (param $n i32) (result i32) (local $i i32) (local $acc i32)
      block                   ;; 0
        loop                  ;; 0
          local.get $i        ;; 1
          local.get $n        ;; 1
          i32.ge_s            ;; 1
          br_if 1             ;; 1   (4 per test: n+1 tests)
          local.get $acc      ;; 1
          local.get $i        ;; 1
          i32.add             ;; 1
          local.set $acc      ;; 1
          local.get $i        ;; 1
          i32.const 1         ;; 1
          i32.add             ;; 1
          local.set $i        ;; 1
          br 0                ;; 1   (9 per iteration after the test)
        end
      end
      local.get $acc))        ;; 1
  `);
  // entry 1 + n * (4 + 9) + final test 4 + local.get 1 = 13n + 6
  for (const n of [0, 1, 2, 3, 10, 100, 1000]) {
    const r = await runOnce(m, { args: [n] });
    ok(t, r, 13 * n + 6, [(n * (n - 1)) / 2]);
  }
  await edges(t, m, { args: [7] }, 13 * 7 + 6, [21]);
});

t.test('br_table: each target and the default', async (t) => {
  const m = await prep(`(module
    (func (export "main") (param i32) (result i32)
      block                   ;; 0
        block                 ;; 0
          block               ;; 0
            local.get 0       ;; 1
            br_table 0 1 2    ;; 1   (targets 0, 1; default 2)
          end
          i32.const 10        ;; 1   target 0: 1 operator
          return              ;; 0
        end
        i32.const 19          ;; 1   target 1: 3 operators
        i32.const 1           ;; 1
        i32.add               ;; 1
        return                ;; 0
      end
      i32.const 6             ;; 1   default: 5 operators
      i32.const 5             ;; 1
      i32.mul                 ;; 1
      i32.const 0             ;; 1
      i32.add))               ;; 1
  `);
  // entry 1 + local.get + br_table = 3, then the arm
  ok(t, await runOnce(m, { args: [0] }), 3 + 1, [10]);
  ok(t, await runOnce(m, { args: [1] }), 3 + 3, [20]);
  ok(t, await runOnce(m, { args: [2] }), 3 + 5, [30]);
  ok(t, await runOnce(m, { args: [99] }), 3 + 5, [30]);
  ok(t, await runOnce(m, { args: [-1] }), 3 + 5, [30]);
  await edges(t, m, { args: [1] }, 6, [20]);
});

t.test('if/else: both arms; if without else', async (t) => {
  const m = await prep(`(module
    (func (export "ifelse") (param i32) (result i32)
      local.get 0          ;; 1
      if (result i32)      ;; 1
        i32.const 1        ;; 1
        i32.const 2        ;; 1
        i32.add            ;; 1
      else                 ;; 0
        i32.const 7        ;; 1
      end)                 ;; 0
    (func (export "ifonly") (param i32) (result i32) (local i32)
      local.get 0          ;; 1
      if                   ;; 1
        i32.const 5        ;; 1
        local.set 1        ;; 1
      end                  ;; 0
      local.get 1))        ;; 1
  `);
  ok(t, await runOnce(m, { entry: 'ifelse', args: [1] }), 1 + 2 + 3, [3]); // entry + get, if + then arm
  ok(t, await runOnce(m, { entry: 'ifelse', args: [0] }), 1 + 2 + 1, [7]); // entry + get, if + else arm
  ok(t, await runOnce(m, { entry: 'ifonly', args: [1] }), 1 + 2 + 2 + 1, [5]);
  ok(t, await runOnce(m, { entry: 'ifonly', args: [0] }), 1 + 2 + 1, [0]);
  await edges(t, m, { entry: 'ifelse', args: [1] }, 6, [3]);
  await edges(t, m, { entry: 'ifelse', args: [0] }, 4, [7]);
});

t.test('nested blocks: br out of several levels', async (t) => {
  // `br k` from the innermost of three blocks; the code after each `end` is live (a branch may
  // target it) but only the code after the targeted block runs.
  const src = (k: number) => `(module
    (func (export "main") (result i32)
      block                ;; 0
        block              ;; 0
          block            ;; 0
            i32.const 1    ;; 1
            drop           ;; 0
            br ${k}        ;; 1
            i32.const 99   ;; dead
            drop
          end
          i32.const 5      ;; 1   runs after br 0
          drop
        end
        i32.const 6        ;; 1   runs after br 0 and br 1
        drop
      end
      i32.const 42))       ;; 1   always`;
  ok(t, await runOnce(src(2)), 1 + 2 + 1, [42]); // entry, const + br, const 42
  ok(t, await runOnce(src(1)), 1 + 2 + 1 + 1, [42]); // + const 6
  ok(t, await runOnce(src(0)), 1 + 2 + 1 + 1 + 1, [42]); // + const 5 + const 6

  // br_if out of two levels from inside a loop
  const m = await prep(`(module
    (func (export "main") (param $n i32) (result i32) (local $i i32)
      block $out                    ;; 0
        block $mid                  ;; 0
          loop $l                   ;; 0
            local.get $i            ;; 1
            i32.const 1             ;; 1
            i32.add                 ;; 1
            local.tee $i            ;; 1
            local.get $n            ;; 1
            i32.ge_s                ;; 1
            br_if $out              ;; 1   (7 per iteration)
            br $l                   ;; 1   (+1 when not leaving)
          end
        end
        i32.const -1                ;; never runs
        return
      end
      local.get $i))                ;; 1
  `);
  // n >= 1 iterations: (n - 1) * 8 + 7, entry 1, final local.get 1 = 8n + 1
  for (const n of [1, 2, 5, 50]) ok(t, await runOnce(m, { args: [n] }), 8 * n + 1, [n]);
});

t.test('br_if taken and not taken', async (t) => {
  const m = await prep(`(module
    (func (export "main") (param i32) (result i32)
      block (result i32)    ;; 0
        i32.const 7         ;; 1
        local.get 0         ;; 1
        br_if 0             ;; 1
        drop                ;; 0
        i32.const 8         ;; 1
        i32.const 1         ;; 1
        i32.add             ;; 1
      end))
  `);
  ok(t, await runOnce(m, { args: [1] }), 1 + 3, [7]); // taken
  ok(t, await runOnce(m, { args: [0] }), 1 + 3 + 3, [9]); // not taken
  await edges(t, m, { args: [1] }, 4, [7]);
  await edges(t, m, { args: [0] }, 7, [9]);
});

t.test('calls: +1 per function entry; call_indirect', async (t) => {
  const m = await prep(`(module
    (type $t (func (param i32) (result i32)))
    (table funcref (elem $inc $twice))
    (func $inc (type $t)
      local.get 0           ;; 1
      i32.const 1           ;; 1
      i32.add)              ;; 1      inc: entry 1 + 3 = 4
    (func $twice (type $t)
      local.get 0           ;; 1
      call $inc             ;; 1 + inc 4
      call $inc)            ;; 1 + inc 4     twice: entry 1 + 1 + 5 + 5 = 12
    (func (export "direct") (result i32)
      i32.const 1           ;; 1
      call $inc             ;; 1 + 4
      call $inc)            ;; 1 + 4   → 1 + 1 + 5 + 5 = 12
    (func (export "nested") (result i32)
      i32.const 1           ;; 1
      call $twice)          ;; 1 + 12  → 1 + 1 + 13 = 15
    (func (export "indirect") (param i32) (result i32)
      i32.const 5           ;; 1
      local.get 0           ;; 1
      call_indirect (type $t))  ;; 1 + callee
  )`);
  ok(t, await runOnce(m, { entry: 'direct' }), 12, [3]);
  ok(t, await runOnce(m, { entry: 'nested' }), 15, [3]);
  ok(t, await runOnce(m, { entry: 'indirect', args: [0] }), 1 + 3 + 4, [6]); // → inc
  ok(t, await runOnce(m, { entry: 'indirect', args: [1] }), 1 + 3 + 12, [7]); // → twice
  // out of the table: the trap is on call_indirect itself (the end of its block), nothing to refund
  failed(t, await runOnce(m, { entry: 'indirect', args: [2] }), 'trap', 1 + 3, /undefined element|out of bounds/);
  await edges(t, m, { entry: 'nested' }, 15, [3]);
});

t.test('recursion', async (t) => {
  const m = await prep(`(module
    (func $sum (export "sum") (param i32) (result i32)
      local.get 0           ;; 1
      i32.eqz               ;; 1
      if (result i32)       ;; 1
        i32.const 0         ;; 1
      else
        local.get 0         ;; 1
        local.get 0         ;; 1
        i32.const 1         ;; 1
        i32.sub             ;; 1
        call $sum           ;; 1
        i32.add             ;; 1
      end))
  `);
  // sum(0) = entry 1 + 3 + 1 = 5; sum(n) = entry 1 + 3 + 6 + sum(n - 1) → 10n + 5
  for (const n of [0, 1, 2, 10, 100, 1000]) {
    ok(t, await runOnce(m, { entry: 'sum', args: [n] }), 10 * n + 5, [(n * (n + 1)) / 2]);
  }
  await edges(t, m, { entry: 'sum', args: [20] }, 205, [210]);
});

t.test('start functions: their fuel counts', async (t) => {
  const m = await prep(`(module
    (global $g (mut i32) (i32.const 0))
    (func $init (local i32)
      i32.const 10          ;; 1
      local.set 0           ;; 1
      loop                  ;; 0
        local.get 0         ;; 1
        i32.const 1         ;; 1
        i32.sub             ;; 1
        local.tee 0         ;; 1
        br_if 0             ;; 1    5 per iteration, 10 iterations
      end
      i32.const 5           ;; 1
      global.set $g)        ;; 1    init: entry 1 + 2 + 50 + 2 = 55
    (start $init)
    (func (export "main") (result i32)
      global.get $g))       ;; 1    main: entry 1 + 1 = 2
  `);
  ok(t, await runOnce(m), 55 + 2, [5]);
  await edges(t, m, {}, 57, [5]); // 56: the start function finishes, `main` runs out
  for (const limit of [55, 54, 30, 1]) {
    // 55: start done, main's block does not fit; below: out of fuel inside the start function
    failed(t, await runOnce(m, { fuel: limit }), 'out_of_fuel', limit);
  }
  // a trap mid-block inside a start function: exact too
  const trapping = await prep(`(module
    (global $g (mut i32) (i32.const 0))
    (func $init
      i32.const 1           ;; 1
      global.get $g         ;; 1
      i32.div_u             ;; 1   traps: divisor 0
      i32.const 5           ;; paid up front, refunded
      i32.add
      global.set $g)
    (start $init)
    (func (export "main") (result i32) global.get $g))`);
  failed(t, await runOnce(trapping), 'trap', 1 + 3, /integer divide by zero/);
});

const LIBRARY = `(module
  (global $calls (mut i32) (i32.const 0))
  (func $init
    i32.const 100           ;; 1
    global.set $calls)      ;; 1    start: entry 1 + 2 = 3
  (start $init)
  (func (export "triple") (param i32) (result i32)
    local.get 0             ;; 1
    i32.const 3             ;; 1
    i32.mul)                ;; 1    triple: entry 1 + 3 = 4
  (func (export "div") (param i32 i32) (result i32)
    local.get 0             ;; 1
    local.get 1             ;; 1
    i32.div_u               ;; 1    traps when the divisor is 0
    i32.const 1             ;; 1
    i32.add)                ;; 1    div: entry 1 + 5 = 6
  (func (export "spin") (param $n i32) (result i32)
    loop                    ;; 0
      local.get $n          ;; 1
      i32.const 1           ;; 1
      i32.sub               ;; 1
      local.tee $n          ;; 1
      br_if 0               ;; 1    5 per iteration
    end
    local.get $n))          ;; 1    spin(n), n >= 1: entry 1 + 5n + 1 = 5n + 2
`;

t.test('calls across modules: a library function wired directly', async (t) => {
  const lib = await prep(LIBRARY);
  const contract = await prep(`(module
    (import "lib" "triple" (func $triple (param i32) (result i32)))
    (import "lib" "div" (func $div (param i32 i32) (result i32)))
    (import "lib" "spin" (func $spin (param i32) (result i32)))
    (func (export "main") (param i32) (result i32)
      local.get 0           ;; 1
      call $triple          ;; 1 + library 4
      i32.const 1           ;; 1
      i32.add)              ;; 1      main: entry 1 + 4 + 4 = 9
    (func (export "divide") (param i32 i32) (result i32)
      local.get 0           ;; 1
      local.get 1           ;; 1
      call $div             ;; 1 + library 6 (or up to its trap)
      i32.const 10          ;; 1
      i32.mul)              ;; 1      divide: entry 1 + 5 + 6 = 12
    (func (export "spin") (param i32) (result i32)
      local.get 0           ;; 1
      call $spin)           ;; 1 + library 5n + 2   → 5n + 5
  )`);
  const start = 3; // the library's start function runs at every instantiation
  const run = (entry: string, args: unknown[], fuel?: number) =>
    runOnce(contract, { library: lib, entry, args, ...(fuel === undefined ? {} : { fuel }) });
  ok(t, await run('main', [5]), start + 9, [16]);
  ok(t, await run('divide', [7, 2]), start + 12, [40]);
  ok(t, await run('spin', [10]), start + 5 * 10 + 5, [0]);
  // the library traps mid-block: its div pays entry + 3 (up to i32.div_u), the contract 1 + 3
  failed(t, await run('divide', [7, 0]), 'trap', start + 4 + 4, /integer divide by zero/);

  const cost = start + 5 * 100 + 5;
  const exact = await run('spin', [100], cost);
  ok(t, exact, cost, [0]);
  t.equal(exact.fuel.remaining, 0);
  // out of fuel inside the library's loop
  for (const limit of [cost - 1, cost - 50, 20]) failed(t, await run('spin', [100], limit), 'out_of_fuel', limit);
  // out of fuel inside the library's start function (before the contract exists)
  failed(t, await run('main', [5], 2), 'out_of_fuel', 2);
  // edges of the simple call
  const c9 = await run('main', [5], start + 9);
  ok(t, c9, start + 9, [16]);
  failed(t, await run('main', [5], start + 8), 'out_of_fuel', start + 8);
});

t.test('a library whose start function traps mid-block', async (t) => {
  const lib = await prep(`(module
    (global $g (mut i32) (i32.const 0))
    (func $init
      i32.const 1           ;; 1
      global.get $g         ;; 1
      i32.div_u             ;; 1   traps: divisor 0
      global.set $g         ;; paid up front, refunded
      i32.const 3
      drop)
    (start $init)
    (func (export "triple") (param i32) (result i32) local.get 0 i32.const 3 i32.mul))`);
  const contract = await prep(`(module
    (import "lib" "triple" (func $triple (param i32) (result i32)))
    (func (export "main") (result i32) i32.const 2 call $triple))`);
  failed(t, await runOnce(contract, { library: lib }), 'trap', 1 + 3, /integer divide by zero/);
});

t.test('a trap mid-block: exactly the operators up to and including the trapping one', async (t) => {
  const m = await prep(`(module
    (memory 1)
    (func (export "div") (param i32) (result i32)
      i32.const 10          ;; 1
      local.get 0           ;; 1
      i32.div_u             ;; 1   traps when the argument is 0
      i32.const 1           ;; 1
      i32.add               ;; 1
      i32.const 2           ;; 1
      i32.mul)              ;; 1   entry 1 + 7 = 8 when it finishes
    (func (export "unreachable") (result i32)
      i32.const 1           ;; 1
      i32.const 2           ;; 1
      i32.add               ;; 1
      drop                  ;; 0
      unreachable           ;; 0
      i32.const 3)          ;; dead
    (func (export "load") (param i32) (result i32)
      i32.const 1           ;; 1
      i32.const 2           ;; 1
      i32.add               ;; 1
      drop                  ;; 0
      local.get 0           ;; 1
      i32.load              ;; 1   traps out of bounds
      i32.const 1           ;; 1
      i32.add               ;; 1
      i32.const 3           ;; 1
      i32.mul)              ;; 1   entry 1 + 9 = 10 when it finishes
    (func (export "store") (param i32)
      block                 ;; 0
        i32.const 7         ;; 1
        drop                ;; 0
        local.get 0         ;; 1
        i32.const 42        ;; 1
        i32.store offset=8  ;; 1   traps out of bounds
        i32.const 1         ;; 1
        drop                ;; 0
      end)                  ;;     entry 1 + 5 = 6 when it finishes
    (func (export "convert") (param f32) (result i32)
      i32.const 1           ;; 1
      drop                  ;; 0
      local.get 0           ;; 1
      i32.trunc_f32_s       ;; 1   traps on NaN / out of range
      i32.const 1           ;; 1
      i32.add)              ;; 1   entry 1 + 5 = 6 when it finishes
    (func (export "loop") (result i32) (local $i i32) (local $acc i32)
      loop $l                 ;; 0
        i32.const 100         ;; 1
        i32.const 3           ;; 1
        local.get $i          ;; 1
        i32.sub               ;; 1
        i32.div_s             ;; 1   traps when i = 3
        local.get $acc        ;; 1
        i32.add               ;; 1
        local.set $acc        ;; 1
        local.get $i          ;; 1
        i32.const 1           ;; 1
        i32.add               ;; 1
        local.tee $i          ;; 1
        i32.const 10          ;; 1
        i32.lt_s              ;; 1
        br_if $l              ;; 1   15 per iteration
      end
      local.get $acc)
    (func $inner (param i32) (result i32)
      i32.const 1           ;; 1
      local.get 0           ;; 1
      i32.rem_u             ;; 1   traps when the argument is 0
      i32.const 4           ;; 1
      i32.add)              ;; 1
    (func (export "caller") (param i32) (result i32)
      i32.const 5           ;; 1
      drop                  ;; 0
      local.get 0           ;; 1
      call $inner           ;; 1   caller's block ends at the call: paid, and it ran
      i32.const 1           ;; 1
      i32.add)              ;; 1
  )`);
  ok(t, await runOnce(m, { entry: 'div', args: [5] }), 8, [6]);
  failed(t, await runOnce(m, { entry: 'div', args: [0] }), 'trap', 1 + 3, /integer divide by zero/);
  failed(t, await runOnce(m, { entry: 'unreachable' }), 'trap', 1 + 3, /unreachable/);
  ok(t, await runOnce(m, { entry: 'load', args: [16] }), 10, [3]);
  failed(t, await runOnce(m, { entry: 'load', args: [65536] }), 'trap', 1 + 5, /out of bounds memory access/);
  failed(t, await runOnce(m, { entry: 'load', args: [65533] }), 'trap', 1 + 5, /out of bounds memory access/);
  ok(t, await runOnce(m, { entry: 'store', args: [0] }), 6, []);
  failed(t, await runOnce(m, { entry: 'store', args: [65530] }), 'trap', 1 + 4, /out of bounds memory access/);
  ok(t, await runOnce(m, { entry: 'convert', args: [2.5] }), 6, [3]);
  failed(t, await runOnce(m, { entry: 'convert', args: ['NaN'] }), 'trap', 1 + 3, /invalid conversion to integer/);
  // i = 0, 1, 2 complete (3 * 15), i = 3 reaches div_s (5), entry 1
  failed(t, await runOnce(m, { entry: 'loop' }), 'trap', 1 + 45 + 5, /integer divide by zero/);
  // caller: entry 1 + 3 (through the call); inner: entry 1 + 3 (through rem_u)
  ok(t, await runOnce(m, { entry: 'caller', args: [3] }), 1 + 5 + 1 + 5, [6]);
  failed(t, await runOnce(m, { entry: 'caller', args: [0] }), 'trap', 1 + 3 + 1 + 3, /integer divide by zero/);
});

t.test('a trap mid-block after code the rewriter changes: exact all the same', async (t) => {
  // 125 globals: global 124 becomes 128 after the meter's 4 (a 2-byte LEB), so the code after it
  // moves; memory.grow becomes a call to the page-budget helper; a call ends a block and is
  // followed by the depth bookkeeping; a bulk operator is charged separately.
  const globals = Array.from({ length: 125 }, (_, i) => `(global $g${i} (mut i32) (i32.const ${i}))`).join(' ');
  const m = await prep(`(module
    (memory 1)
    ${globals}
    (func $zero (result i32) i32.const 0)   ;; entry 1 + 1 = 2
    (func (export "globals") (param i32) (result i32)
      global.get $g124      ;; 1
      global.get $g3        ;; 1
      i32.add               ;; 1
      local.get 0           ;; 1
      i32.div_u             ;; 1   traps when the argument is 0
      global.set $g124      ;; 1
      global.get $g124)     ;; 1   entry 1 + 7 = 8
    (func (export "grow") (param i32) (result i32)
      local.get 0           ;; 1
      memory.grow           ;; 1 + 1 per page added
      drop                  ;; 0
      i32.const 65536       ;; 1
      i32.load              ;; 1   traps unless the memory grew
      i32.const 1           ;; 1
      i32.add)              ;; 1   entry 1 + 6 + pages = 8 for one page
    (func (export "after_call") (param i32) (result i32)
      call $zero            ;; 1 + 2
      i32.const 1           ;; 1
      local.get 0           ;; 1
      i32.div_u             ;; 1   traps when the argument is 0
      i32.add               ;; 1
      i32.const 2           ;; 1
      i32.mul)              ;; 1   entry 1 + 3 + 6 = 10
    (func (export "fill_then_load") (param i32) (result i32)
      i32.const 0           ;; 1
      i32.const 9           ;; 1
      i32.const 10          ;; 1
      memory.fill           ;; 1 + 10
      local.get 0           ;; 1
      i32.load8_u           ;; 1   traps out of bounds
      i32.const 1           ;; 1
      i32.add)              ;; 1   entry 1 + 8 + 10 = 19
  )`);
  ok(t, await runOnce(m, { entry: 'globals', args: [1] }), 8, [127]);
  failed(t, await runOnce(m, { entry: 'globals', args: [0] }), 'trap', 1 + 5, /integer divide by zero/);
  ok(t, await runOnce(m, { entry: 'grow', args: [1] }), 8, [1]);
  failed(t, await runOnce(m, { entry: 'grow', args: [0] }), 'trap', 1 + 4, /out of bounds memory access/);
  ok(t, await runOnce(m, { entry: 'after_call', args: [1] }), 10, [2]);
  failed(t, await runOnce(m, { entry: 'after_call', args: [0] }), 'trap', 1 + 3 + 3, /integer divide by zero/);
  ok(t, await runOnce(m, { entry: 'fill_then_load', args: [5] }), 19, [10]);
  failed(t, await runOnce(m, { entry: 'fill_then_load', args: [70000] }), 'trap', 1 + 6 + 10, /out of bounds memory access/);
});

t.test('bulk operators: +1 per byte or element, nothing extra when they trap', async (t) => {
  const m = await prep(`(module
    (memory 1)
    (table $t 10 20 funcref)
    (func $f)
    (elem $e func $f $f $f $f $f $f)
    (data $d "0123456789abcdefghij")
    (func (export "fill") (param $dst i32) (param $n i32)
      local.get $dst        ;; 1
      i32.const 7           ;; 1
      local.get $n          ;; 1
      memory.fill           ;; 1 + n
      i32.const 1           ;; 1
      drop)                 ;; 0      entry 1 + 5 + n
    (func (export "copy") (param $dst i32) (param $n i32)
      local.get $dst        ;; 1
      i32.const 0           ;; 1
      local.get $n          ;; 1
      memory.copy)          ;; 1 + n  entry 1 + 4 + n
    (func (export "init") (param $dst i32) (param $n i32)
      local.get $dst        ;; 1
      i32.const 0           ;; 1
      local.get $n          ;; 1
      memory.init $d)       ;; 1 + n  entry 1 + 4 + n
    (func (export "table_fill") (param $dst i32) (param $n i32)
      local.get $dst        ;; 1
      ref.null func         ;; 1
      local.get $n          ;; 1
      table.fill $t)        ;; 1 + n  entry 1 + 4 + n
    (func (export "table_copy") (param $dst i32) (param $n i32)
      local.get $dst        ;; 1
      i32.const 0           ;; 1
      local.get $n          ;; 1
      table.copy)           ;; 1 + n  entry 1 + 4 + n
    (func (export "table_init") (param $dst i32) (param $n i32)
      local.get $dst        ;; 1
      i32.const 0           ;; 1
      local.get $n          ;; 1
      table.init $t $e)     ;; 1 + n  entry 1 + 4 + n
    (func (export "table_grow") (param $n i32) (result i32)
      ref.null func         ;; 1
      local.get $n          ;; 1
      table.grow $t)        ;; 1 + n when it succeeds  entry 1 + 3 + n
    (func (export "two") (result i32)
      i32.const 0           ;; 1
      i32.const 1           ;; 1
      i32.const 100         ;; 1
      memory.fill           ;; 1 + 100
      i32.const 200         ;; 1
      i32.const 0           ;; 1
      i32.const 50          ;; 1
      memory.copy           ;; 1 + 50
      i32.const 249         ;; 1
      i32.load8_u)          ;; 1      entry 1 + 10 + 150 = 161
  )`);
  const run = (entry: string, args: unknown[], fuel?: number) => runOnce(m, { entry, args, ...(fuel === undefined ? {} : { fuel }) });
  for (const n of [0, 1, 100, 65536]) ok(t, await run('fill', [0, n]), 6 + n, []);
  for (const n of [0, 3, 1000]) ok(t, await run('copy', [5000, n]), 5 + n, []);
  for (const n of [0, 20]) ok(t, await run('init', [10, n]), 5 + n, []);
  for (const n of [0, 10]) ok(t, await run('table_fill', [0, n]), 5 + n, []);
  for (const n of [0, 4]) ok(t, await run('table_copy', [6, n]), 5 + n, []);
  for (const n of [0, 6]) ok(t, await run('table_init', [4, n]), 5 + n, []);
  ok(t, await run('table_grow', [3]), 4 + 3, [10]);
  ok(t, await run('table_grow', [0]), 4, [10]);
  // a refused table.grow (max 20) returns -1 without trapping and adds nothing: charged as any
  // operator, with no per-element part (as wasmtime 49)
  ok(t, await run('table_grow', [11]), 4, [-1]);
  ok(t, await run('two', []), 161, [1]);

  // trapping bulk operators: the operator's own 1, no per-byte part, the rest of the block refunded
  failed(t, await run('fill', [65530, 100]), 'trap', 1 + 4, /out of bounds memory access/);
  failed(t, await run('copy', [65530, 100]), 'trap', 1 + 4, /out of bounds memory access/);
  failed(t, await run('init', [0, 21]), 'trap', 1 + 4, /out of bounds/);
  failed(t, await run('table_fill', [5, 6]), 'trap', 1 + 4, /out of bounds|undefined element/);
  failed(t, await run('table_copy', [8, 4]), 'trap', 1 + 4, /out of bounds|undefined element/);
  failed(t, await run('table_init', [0, 7]), 'trap', 1 + 4, /out of bounds|undefined element/);

  // limits: exact cost passes with 0 left; one less is out of fuel (refused before the fill)
  await edges(t, m, { entry: 'fill', args: [0, 100] }, 106, []);
  await edges(t, m, { entry: 'table_grow', args: [5] }, 9, [10]);
  await edges(t, m, { entry: 'two' }, 161, [1]);
  // far too little for n: refused up front, no memory written, consumed == limit
  failed(t, await run('fill', [0, 65536], 1000), 'out_of_fuel', 1000, undefined);
  // a negative (huge unsigned) table.grow delta is refused and cannot mint fuel
  const grow = await run('table_grow', [-1], 100_000);
  ok(t, grow, 4, [-1]);
  t.ok(grow.fuel.consumed <= grow.fuel.limit && grow.fuel.remaining >= 0, 'no fuel minted');
  // when the block before the bulk operator already exhausts the fuel, the report is exact
  failed(t, await run('fill', [0, 100], 5), 'out_of_fuel', 5);
});

t.test('host calls: output, log and input_read cost 1 per byte', async (t) => {
  const m = await prep(`(module
    (import "host" "output" (func $output (param i32 i32)))
    (import "host" "log" (func $log (param i32 i32 i32)))
    (import "host" "input_len" (func $input_len (result i32)))
    (import "host" "input_read" (func $input_read (param i32)))
    (memory (export "memory") 1)
    (data (i32.const 0) "hello, world")
    (func (export "main") (param i32)
      i32.const 0           ;; 1
      local.get 0           ;; 1
      call $output)         ;; 1 + len bytes   entry 1 + 3 + len
    (func (export "logit") (param i32)
      i32.const 2           ;; 1
      i32.const 0           ;; 1
      local.get 0           ;; 1
      call $log)            ;; 1 + len bytes   entry 1 + 4 + len
    (func (export "echo") (result i32)
      i32.const 100         ;; 1
      call $input_read      ;; 1 + input length
      i32.const 100         ;; 1
      call $input_len       ;; 1 (no bytes copied)
      call $output          ;; 1 + input length
      call $input_len)      ;; 1   entry 1 + 6 + 2 * input length
  )`);
  const r5 = await runOnce(m, { args: [5] });
  ok(t, r5, 1 + 3 + 5, []);
  t.equal(Buffer.from(r5.result!.output, 'base64').toString(), 'hello');
  ok(t, await runOnce(m, { args: [0] }), 1 + 3, []);
  const log = await runOnce(m, { entry: 'logit', args: [12] });
  ok(t, log, 1 + 4 + 12, []);
  t.same(log.logs, [{ level: 'info', message: 'hello, world' }]);
  const input = new TextEncoder().encode('abcdefg');
  const echo = await runOnce(m, { entry: 'echo', input });
  ok(t, echo, 1 + 6 + 2 * 7, [7]);
  t.equal(Buffer.from(echo.result!.output, 'base64').toString(), 'abcdefg');
  await edges(t, m, { args: [12] }, 16, []);
  await edges(t, m, { entry: 'logit', args: [12] }, 17, []);
  await edges(t, m, { entry: 'echo', input }, 21, [7]);
  // an out-of-bounds pointer: a trap, the call paid, no bytes charged
  failed(t, await runOnce(m, { args: [70000] }), 'trap', 1 + 3, /out of bounds/);
});

t.test('dead code after br, br_table, return and unreachable is never charged', async (t) => {
  const m = await prep(`(module
    (func $f)
    (func (export "after_br") (result i32)
      block                 ;; 0
        i32.const 1         ;; 1
        drop                ;; 0
        br 0                ;; 1
        i32.const 2         ;; dead
        drop
        i32.const 3
        drop
      end
      i32.const 4)          ;; 1   entry 1 + 3 = 4
    (func (export "after_br_table") (param i32) (result i32)
      block                 ;; 0
        block               ;; 0
          local.get 0       ;; 1
          br_table 0 1      ;; 1
          i32.const 9       ;; dead
          drop
          call $f
        end
      end
      i32.const 5)          ;; 1   entry 1 + 3 = 4 (both targets land before i32.const 5)
    (func (export "after_return") (result i32)
      i32.const 1           ;; 1
      return                ;; 0
      i32.const 2           ;; dead
      i32.const 3
      i32.add)              ;; entry 1 + 1 = 2
    (func (export "dead_structure") (result i32)
      block                 ;; 0
        br 0                ;; 1
        loop                ;; dead, with blocks, calls and a loop inside
          i32.const 1
          if
            call $f
          else
            i32.const 2
            drop
          end
          br 0
        end
      end
      i32.const 1)          ;; 1   entry 1 + 2 = 3
    (func (export "dead_then_else") (param i32) (result i32)
      local.get 0           ;; 1
      if (result i32)       ;; 1
        i32.const 1         ;; 1
        return              ;; 0
        i32.const 2         ;; dead
        drop
        i32.const 3
      else                  ;; live again
        i32.const 4         ;; 1
        i32.const 1         ;; 1
        i32.add             ;; 1
      end)
    (func (export "after_unreachable") (result i32)
      i32.const 1           ;; 1
      drop                  ;; 0
      unreachable           ;; 0
      i32.const 2           ;; dead
      drop
      i32.const 3)
  )`);
  ok(t, await runOnce(m, { entry: 'after_br' }), 4, [4]);
  ok(t, await runOnce(m, { entry: 'after_br_table', args: [0] }), 4, [5]);
  ok(t, await runOnce(m, { entry: 'after_br_table', args: [1] }), 4, [5]);
  ok(t, await runOnce(m, { entry: 'after_return' }), 2, [1]);
  ok(t, await runOnce(m, { entry: 'dead_structure' }), 3, [1]);
  ok(t, await runOnce(m, { entry: 'dead_then_else', args: [1] }), 1 + 2 + 1, [1]);
  ok(t, await runOnce(m, { entry: 'dead_then_else', args: [0] }), 1 + 2 + 3, [5]);
  failed(t, await runOnce(m, { entry: 'after_unreachable' }), 'trap', 2, /unreachable/);
  // limits: the dead code is not paid for up front either
  await edges(t, m, { entry: 'after_br' }, 4, [4]);
  await edges(t, m, { entry: 'dead_structure' }, 3, [1]);
});

t.test('the same request gives the same fuel on every run', async (t) => {
  const m = await prep(`(module
    (func $sum (export "sum") (param i32) (result i32)
      local.get 0 i32.eqz if (result i32) i32.const 0 else
      local.get 0 local.get 0 i32.const 1 i32.sub call $sum i32.add end))`);
  const runs = await Promise.all([1, 2, 3].map(() => runOnce(m, { entry: 'sum', args: [300] })));
  t.same(new Set(runs.map((r) => r.fuel.consumed)), new Set([3005]));
  const limited = await Promise.all([1, 2, 3].map(() => runOnce(m, { entry: 'sum', args: [300], fuel: 1234 })));
  t.same(limited.map((r) => [r.error?.kind, r.fuel.consumed]), [
    ['out_of_fuel', 1234],
    ['out_of_fuel', 1234],
    ['out_of_fuel', 1234],
  ]);
});
