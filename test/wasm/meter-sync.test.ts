/**
 * Each module charges its own copy of the fuel and syncs it with the shared meter only where control
 * may leave the module (docs/ABI.md "The meter"). These cases cross module boundaries in every way
 * and check that the count stays exact: calls into the library and back, host charges in between,
 * traps on either side, tail calls out of a module, tables shared between modules.
 */
import t from 'tap';
import { instrument } from '../../src/wasm/instrument.js';
import { HOOK_EXPORTS, METER_GLOBALS, METER_MODULE } from '../../src/wasm/meter-abi.js';
import { runOnce, wat } from '../support/wat.js';

const HOST = `(import "host" "output" (func $output (param i32 i32)))`;

// library: `twice` (entry 1 + 3 ops = 4); `emit` writes 3 bytes through the host (entry 1 + 3 ops + 3 bytes = 7);
// `boom` traps after 2 ops (entry 1 + const + const + div = 4, the rest refunded)
const LIB = `(module ${HOST}
  (memory (export "memory") 1) (data (i32.const 0) "abc")
  (func (export "twice") (param i32) (result i32) local.get 0 local.get 0 i32.add)
  (func (export "emit") (call $output (i32.const 0) (i32.const 3)))
  (func (export "boom") (result i32) i32.const 1 i32.const 0 i32.div_u i32.const 9 i32.add))`;

t.test('calls into the library and back, with host charges on both sides', async (t) => {
  const contract = `(module ${HOST}
    (import "lib" "twice" (func $twice (param i32) (result i32)))
    (import "lib" "emit" (func $emit))
    (memory (export "memory") 1) (data (i32.const 0) "xy")
    (func (export "main") (result i32)
      call $emit                          ;; 1, library 7
      (call $output (i32.const 0) (i32.const 2))   ;; 2 consts + call + 2 bytes = 5
      (call $twice (i32.const 20))        ;; const + call = 2, library 4
      call $emit                          ;; 1, library 7
      i32.const 1 i32.add))               ;; 2`;
  const r = await runOnce(contract, { library: LIB });
  t.equal(r.error, null);
  t.same(r.result!.values, [41]);
  t.equal(Buffer.from(r.result!.output, 'base64').toString(), 'abcxyabc');
  // main's entry 1 + (1+7) + 5 + (2+4) + (1+7) + 2
  const total = 1 + 8 + 5 + 6 + 8 + 2;
  t.equal(r.fuel.consumed, total);
  for (const limit of [total, total - 1, 9, 8]) {
    const s = await runOnce(contract, { library: LIB, fuel: limit });
    t.equal(s.fuel.consumed, limit, `limit ${limit}: consumed == limit`);
    t.equal(s.ok, limit === total, `limit ${limit}: ${limit === total ? 'ok' : 'out of fuel'}`);
  }
});

t.test('a trap in the library after the contract spent fuel: exact on both sides', async (t) => {
  const contract = `(module
    (import "lib" "twice" (func $twice (param i32) (result i32)))
    (import "lib" "boom" (func $boom (result i32)))
    (func (export "main") (result i32)
      (call $twice (i32.const 1)) drop    ;; 2 + library 4
      call $boom                          ;; 1 + library 4 (trap)
      i32.const 7 i32.add))               ;; never run, refunded`;
  const r = await runOnce(contract, { library: LIB });
  t.has(r.error, { kind: 'trap', message: 'integer divide by zero' });
  t.equal(r.fuel.consumed, 1 + 2 + 4 + 1 + 4);
});

t.test('a trap in the contract after a library call', async (t) => {
  const contract = `(module
    (import "lib" "twice" (func $twice (param i32) (result i32)))
    (func (export "main") (result i32)
      (call $twice (i32.const 3))         ;; 2 + library 4
      i32.const 0 i32.div_u               ;; 2, traps
      i32.const 1 i32.add))               ;; refunded`;
  const r = await runOnce(contract, { library: LIB });
  t.has(r.error, { kind: 'trap', message: 'integer divide by zero' });
  t.equal(r.fuel.consumed, 1 + 2 + 4 + 2);
});

t.test('a tail call out of the module keeps counting in the caller', async (t) => {
  const contract = `(module
    (import "lib" "twice" (func $twice (param i32) (result i32)))
    (func $tail (param i32) (result i32) local.get 0 return_call $twice)   ;; 1 + 2, library 4
    (func (export "main") (result i32)
      (call $tail (i32.const 4))          ;; 2 + callee above
      i32.const 1 i32.add))               ;; 2`;
  const r = await runOnce(contract, { library: LIB });
  t.equal(r.error, null);
  t.same(r.result!.values, [9]);
  t.equal(r.fuel.consumed, 1 + 2 + (1 + 2 + 4) + 2);
});

/** A shared meter for raw instrumented modules, as the engine makes it. */
function meter(fuel: bigint) {
  const g = (value: 'i64' | 'i32', v: bigint | number) => new WebAssembly.Global({ value, mutable: true }, v as never);
  const globals = { fuel: g('i64', fuel), depth: g('i32', 1 << 20), pages: g('i32', 100), flags: g('i32', 0) };
  return {
    globals,
    imports: {
      [METER_GLOBALS.fuel]: globals.fuel,
      [METER_GLOBALS.stack]: globals.depth,
      [METER_GLOBALS.pages]: globals.pages,
      [METER_GLOBALS.flags]: globals.flags,
    },
  };
}

t.test('a table shared between modules: calls through it enter and leave through wrappers', async (t) => {
  // A exports a table holding its own function; B imports the table and calls through it.
  const a = instrument(
    await wat(`(module
      (table (export "tab") 2 funcref)
      (func $add3 (param i32) (result i32) local.get 0 i32.const 3 i32.add)   ;; 1 + 3
      (elem (i32.const 0) $add3)
      (func (export "viaTable") (param i32) (result i32) local.get 0 i32.const 0 call_indirect (param i32) (result i32)))`),
  );
  const b = instrument(
    await wat(`(module
      (import "a" "tab" (table 2 funcref))
      (func (export "main") (param i32) (result i32)
        local.get 0 i32.const 0 call_indirect (param i32) (result i32)   ;; 1 + 3, then A's 4
        i32.const 1 i32.add))                                            ;; 2`),
  );
  const m = meter(1000n);
  const ia = new WebAssembly.Instance(new WebAssembly.Module(a as BufferSource), { [METER_MODULE]: m.imports });
  const ib = new WebAssembly.Instance(new WebAssembly.Module(b as BufferSource), { [METER_MODULE]: m.imports, a: { tab: ia.exports.tab! } });
  t.equal((ib.exports.main as (x: number) => number)(10), 14);
  t.equal(1000n - (m.globals.fuel.value as bigint), BigInt(1 + 3 + 4 + 2), 'B main 6 + A add3 4');
  t.equal((ia.exports.viaTable as (x: number) => number)(1), 4);
  t.equal(1000n - (m.globals.fuel.value as bigint), BigInt(10 + 1 + 3 + 4), 'then A viaTable 4 + add3 4');
  // the module's own copy is never below the shared value once control is back outside
  t.ok((ia.exports[HOOK_EXPORTS.fuel] as WebAssembly.Global).value >= m.globals.fuel.value);
});

t.test('fuel kept in a local per function: the same count as the exact variant at every exit', async (t) => {
  // exits by `return`, by branches to the function label (br, br_if, br_table), by the final `end`,
  // through calls in between, and a bulk operator charged on the local
  const src = await wat(`(module
    (memory 1)
    (func $leaf (param i32) (result i32) local.get 0 i32.const 3 i32.mul)
    (func (export "f") (param $n i32) (result i32) (local $i i32)
      local.get $n i32.const 7 i32.eq
      if i32.const 70 return end
      block $r (result i32)
        local.get $n
        local.get $n i32.const 3 i32.lt_u
        br_if $r                                    ;; n < 3: out of the block with n
        drop
        local.get $n
        local.get $n i32.const 5 i32.eq
        br_if 1                                     ;; n = 5: out of the function
        drop
        i32.const 0 i32.const 0 local.get $n memory.fill
        loop $l
          local.get $i call $leaf drop
          local.get $i i32.const 1 i32.add local.tee $i
          local.get $n i32.lt_u br_if $l
        end
        local.get $n
        local.get $n i32.const 9 i32.sub
        br_table $r 1 $r                            ;; n = 10: out of the function; else out of the block
      end
      call $leaf))`);
  const run = (localFuel: boolean, n: number) => {
    const m = meter(1_000_000n);
    const i = new WebAssembly.Instance(new WebAssembly.Module(instrument(src, { localFuel }) as BufferSource), { [METER_MODULE]: m.imports });
    const value = (i.exports.f as (n: number) => number)(n);
    return { value, consumed: 1_000_000n - (m.globals.fuel.value as bigint) };
  };
  for (let n = 0; n < 12; n++) {
    const exact = run(false, n);
    t.same(run(true, n), exact, `n = ${n}: value ${exact.value}, fuel ${exact.consumed}`);
  }
});

t.test('the engine runs the fast variant and re-runs a trapped execution exactly', async (t) => {
  const { prep } = await import('../support/wat.js');
  const c = await prep(`(module (func $f (param i32) (result i32) i32.const 10 local.get 0 i32.div_u)
    (func (export "main") (param i32) (result i32) local.get 0 call $f i32.const 1 i32.add))`);
  t.equal(c.localFuel, true, 'prepared modules keep the fuel in locals');
  const ok = await runOnce(c, { args: [5] });
  t.equal(ok.error, null);
  // main 1 + get + call, f 1 + 3 (traps at div) => 1+2 + 1+3 = 7, the add after the call never runs
  const trapped = await runOnce(c, { args: [0] });
  t.has(trapped.error, { kind: 'trap', message: 'integer divide by zero' });
  t.equal(trapped.fuel.consumed, 7, 'exact, from the exact variant');
});
