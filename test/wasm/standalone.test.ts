/**
 * A standalone metered module (what `instrument` writes) must behave like the original for an
 * embedder that catches a trap and calls again, and must say why it trapped (`__meter_flags`).
 */
import t from 'tap';
import { instrument } from '../../src/wasm/instrument.js';
import { MeterFlag, STANDALONE_EXPORTS } from '../../src/wasm/meter-abi.js';
import { readModule } from '../../src/wasm/reader.js';
import { CROSSING_BYTES, frameCost } from '../../src/wasm/frame-cost.js';
import { REC_BODY, wat } from '../support/wat.js';

type Fn = (...a: number[]) => number;

const SRC = `(module
  (import "env" "cb" (func $cb (param i32) (result i32)))
  (func $rec (export "rec") (param i32) (result i32)
    ${REC_BODY})
  (func (export "viaHost") (param i32) (result i32) local.get 0 call $cb)
  (func (export "id") (param i32) (result i32) local.get 0))`;

/** Frame costs: rec (defined function 0), viaHost (1). */
async function costs() {
  const m = readModule(await wat(SRC));
  return { rec: frameCost(m, 0), viaHost: frameCost(m, 1) };
}

async function load(fuel: bigint, stackBytes: number) {
  const bytes = instrument(await wat(SRC), { standalone: { fuel, stackBytes } });
  let exports: WebAssembly.Exports | undefined;
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource), {
    env: { cb: (n: number) => (exports!.rec as Fn)(n) },
  });
  exports = inst.exports;
  return {
    e: exports,
    fuel: exports[STANDALONE_EXPORTS.fuel] as WebAssembly.Global,
    flags: () => (exports![STANDALONE_EXPORTS.flags] as WebAssembly.Global).value as number,
  };
}

t.test('after the stack budget trapped, later calls behave as in the original', async (t) => {
  const c = await costs();
  const { e, flags } = await load(1n << 40n, 11 * c.rec);
  t.equal((e.rec as Fn)(10), 10, 'rec(10) is 11 frames: it fits a budget of 11');
  t.throws(() => (e.rec as Fn)(11), WebAssembly.RuntimeError, 'rec(11) traps');
  t.equal(flags(), MeterFlag.stackOverflow, 'flags say: stack');
  t.equal((e.id as Fn)(7), 7, 'a leaf call works after the trap');
  t.equal(flags(), 0, 'flags reset by a new top-level call');
  t.equal((e.rec as Fn)(10), 10, 'the whole budget is available again');
  for (let i = 0; i < 25; i++) t.equal((e.rec as Fn)(i % 11), i % 11);
  t.throws(() => (e.rec as Fn)(50), WebAssembly.RuntimeError);
  t.equal((e.rec as Fn)(3), 3);
});

t.test('a call back from an import continues the budget of the outer call (not reset)', async (t) => {
  const c = await costs();
  const { e, flags } = await load(1n << 40n, c.viaHost + CROSSING_BYTES + 10 * c.rec);
  t.equal((e.viaHost as Fn)(9), 9, 'viaHost, the crossing into the host, and 10 frames of rec');
  t.throws(() => (e.viaHost as Fn)(10), WebAssembly.RuntimeError, 'one frame more across the host traps');
  t.equal(flags(), MeterFlag.stackOverflow);
  // the trap unwound through the host's frame: the module cannot tell the next call from a call back
  (e[STANDALONE_EXPORTS.reset] as () => void)();
  t.equal(flags(), 0, 'reset clears the flags');
  t.equal((e.rec as Fn)(10), 10, 'and a direct call after the reset has the whole budget');
  t.equal((e.viaHost as Fn)(9), 9);
});

t.test('out of fuel: flagged, and the embedder can refuel', async (t) => {
  const { e, fuel, flags } = await load(30n, 1 << 20);
  t.throws(() => (e.rec as Fn)(10), WebAssembly.RuntimeError);
  t.equal(flags(), MeterFlag.outOfFuel, 'flags say: out of fuel');
  t.ok((fuel.value as bigint) < 0n);
  t.throws(() => (e.id as Fn)(1), WebAssembly.RuntimeError, 'still out of fuel');
  fuel.value = 1000n;
  t.equal((e.rec as Fn)(10), 10, 'refuelled');
  t.equal(flags(), 0);
  // rec(n): entry 1 + (local.get, i32.eqz, if) 3, + else-branch 4 + 2 after the call, per level
  t.equal(fuel.value, 1000n - (10n * (4n + 4n + 2n) + 5n), 'exact fuel for rec(10)');
});
