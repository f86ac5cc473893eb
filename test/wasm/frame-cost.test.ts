/**
 * Frame costs (src/wasm/frame-cost.ts): the slots of each part of the formula on small functions,
 * and the operand-stack analysis adding up (no fallback) on every function of the example modules,
 * the Iroha fixtures and the core spec test modules (when ../shared/wasm-spec is present).
 */
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { FRAME_BASE, INLINE_MAX_SLOTS, SLOT_BYTES, frameCost, frameShape } from '../../src/wasm/frame-cost.js';
import { readModule } from '../../src/wasm/reader.js';
import { repoRoot, specRoot } from '../support/spec-files.js';
import { leb } from '../support/leb.js';
import { wat } from '../support/wat.js';

const shape = async (src: string, f = 0) => frameShape(readModule(await wat(src)), f);

t.test('the formula, part by part', async (t) => {
  t.same(await shape('(module (func))'), { slots: 0, wide: false, size: 2, consistent: true }, 'an empty function: the base only');
  t.equal((await shape('(module (func (param i32 i64) (local f32 f64 f64)))')).slots, 5, 'params and locals');
  // the deepest point: 3 values inside a block inside an if, above the if's condition already popped
  const deep = '(module (func (result i32) (i32.const 1) (if (result i32) (i32.const 1) (then (block (result i32) (i32.const 1) (i32.const 2) (i32.const 3) i32.add i32.add)) (else (i32.const 0))) i32.add))';
  t.equal((await shape(deep)).slots, 4, 'operand stack: the outer 1 and 3 in the block');
  t.equal((await shape('(module (func (result i32) (i32.const 1) return (i32.const 1) (i32.const 1) (i32.const 1) drop drop drop))')).slots, 1, 'dead code after return is not counted');
  t.equal((await shape('(module (func (local v128)))')).wide, true, 'a v128 local makes every slot double');
  t.equal((await shape('(module (func (result i32) (i32x4.extract_lane 0 (v128.const i64x2 0 0))))')).wide, true, 'so does any SIMD operator');
  // x * 3 twice: V8 may keep the first product alive until the second; constants and locals are not counted
  const twice = '(module (func (param i64) (result i64) (i64.mul (local.get 0) (i64.const 3)) (i64.mul (local.get 0) (i64.const 3)) i64.add))';
  t.equal((await shape(twice)).slots, 1 + 3 + 1, 'param, operand stack of 3 (a product, then x and 3), one repeated expression');
  const once = '(module (func (param i64) (result i64) (i64.mul (local.get 0) (i64.const 3)) (i64.mul (local.get 0) (i64.const 4)) i64.add))';
  t.equal((await shape(once)).slots, 1 + 3, 'different constants: nothing repeated');
  // a small callee may be inlined: its slots count in the caller, a large one's do not
  const small = await wat('(module (func $h (param i32) (local i64 i64 i64)) (func (call $h (i32.const 0))))');
  t.equal(frameCost(readModule(small), 1), FRAME_BASE + SLOT_BYTES * (1 + (1 + 3)), 'the caller: its operand, and the callee\'s param and locals');
  const bigBody = '(drop (i64.const 1)) '.repeat(200);
  const large = await wat(`(module (func $h (param i32) (local i64 i64 i64) ${bigBody}) (func (call $h (i32.const 0))))`);
  t.equal(frameCost(readModule(large), 1), FRAME_BASE + SLOT_BYTES * 1, 'a callee over 500 bytes is never inlined');
  t.equal(frameCost(readModule(await wat('(module (func $f (call $f)))')), 0), FRAME_BASE, 'recursion is not inlining');
});

t.test('the operand-stack analysis adds up on every function of real modules', async (t) => {
  const root = repoRoot();
  const files = [
    ...readdirSync(path.join(root, 'examples/wasm')).map((f) => path.join(root, 'examples/wasm', f)),
    ...readdirSync(path.join(root, 'examples/iroha')).filter((f) => f.endsWith('.wasm')).map((f) => path.join(root, 'examples/iroha', f)),
  ];
  const spec = specRoot();
  if (spec) {
    for (const dir of readdirSync(spec)) {
      let names: string[] = [];
      try {
        names = readdirSync(path.join(spec, dir)).filter((f) => f.endsWith('.wasm'));
      } catch {
        continue;
      }
      for (const f of names) files.push(path.join(spec, dir, f));
    }
  }
  let functions = 0;
  let modules = 0;
  const bad: string[] = [];
  for (const file of files.filter((f) => f.endsWith('.wasm'))) {
    const bytes = new Uint8Array(readFileSync(file));
    if (!WebAssembly.validate(bytes)) continue;
    let m;
    try {
      m = readModule(bytes);
    } catch {
      continue; // features the reader does not know
    }
    modules++;
    for (let i = 0; i < m.code.length; i++) {
      try {
        if (!frameShape(m, i).consistent) bad.push(`${path.relative(root, file)} function ${i}`);
      } catch {
        continue; // an operator the opcode table does not know (the instrumenter refuses the module too)
      }
      functions++;
    }
  }
  t.ok(functions > 100, `${functions} functions of ${modules} modules analysed`);
  t.same(bad, [], 'no function fell back to the count of all values pushed');
});

t.test('a long chain of tiny functions: each walk of small callees stops at the cap (no quadratic preparation)', async (t) => {
  // INLINE_MAX_SLOTS + 1000 functions `() -> ()`, each calling the next: each of the first 1000 has
  // more small callees than the cap. Costing every function, as preparation does, walks at most the cap
  // from each. (It was 20,000 functions, 8.75 * 10^7 capped visits for the same assertions, ~3 CPU-s;
  // no assertion times it, and the cap's effect on the costs is what the values below pin.)
  const n = INLINE_MAX_SLOTS + 1000;

  const bodies: number[] = [];
  for (let i = 0; i < n; i++) {
    const body = i + 1 < n ? [0, 0x10, ...leb(i + 1), 0x0b] : [0, 0x0b];
    bodies.push(...leb(body.length), ...body);
  }
  const sec = (id: number, c: number[]) => [id, ...leb(c.length), ...c];
  const bytes = Uint8Array.from([
    0, 97, 115, 109, 1, 0, 0, 0,
    ...sec(1, [1, 0x60, 0, 0]),
    ...sec(3, [...leb(n), ...new Array<number>(n).fill(0)]),
    ...sec(10, [...leb(n), ...bodies]),
  ]);
  t.ok(WebAssembly.validate(bytes), 'a valid module');
  const m = readModule(bytes);
  const costs = m.code.map((_, i) => frameCost(m, i));
  t.equal(INLINE_MAX_SLOTS, 5000);
  t.equal(costs[0], FRAME_BASE + SLOT_BYTES * 5000, 'the first: the cap of inlined slots (each callee counts one)');
  t.equal(costs[999], FRAME_BASE + SLOT_BYTES * 5000, 'the 1000th: still more callees than the cap');
  t.equal(costs[1000], FRAME_BASE + SLOT_BYTES * 4999, 'the 1001st: 4999 callees, all counted');
  t.equal(costs[n - 1], FRAME_BASE, 'the last calls nothing');
  t.equal(costs[n - 11], FRAME_BASE + SLOT_BYTES * 10, 'ten from the end: ten callees');
});
