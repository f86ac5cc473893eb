/**
 * `error.frames` (src/engine/frames.ts): the wasm call stack where an execution stopped, innermost first,
 * in the original module's terms: function index (imports first), name from the name section, and the
 * byte offset of the instruction that trapped or called the frame above (found here by the bytes of
 * that instruction in the original module, independently of the rewriter). The instrumenter's entry
 * wrappers and JavaScript frames (the bridge's glue) never appear; a library's frames come above the
 * contract's; a stack overflow reports 64 frames and counts the rest, the same on every run and
 * whatever V8's own frame limit is.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { runOnce, wat } from '../support/wat.js';

/** The offset in `bytes` of the `at`-th byte of the only occurrence of `pattern`. */
function offsetOf(bytes: Uint8Array, pattern: number[], at: number): number {
  const hits: number[] = [];
  for (let i = 0; i + pattern.length <= bytes.length; i++) if (pattern.every((b, k) => bytes[i + k] === b)) hits.push(i);
  if (hits.length !== 1) throw new Error(`pattern ${pattern} found ${hits.length} times`);
  return hits[0]! + at;
}

const SRC = `(module
  (func $inner (param i32) (result i32) i32.const 7 local.get 0 i32.div_s)
  (func $middle (param i32) (result i32) i32.const 0x55 drop local.get 0 call $inner i32.const 1 i32.add)
  (func $spin (loop i32.const 0x66 drop br 0))
  (func $rec (param i32) (result i32) local.get 0 i32.const 0x77 i32.add call $rec)
  (func (export "main") (result i32) i32.const 0x11 drop i32.const 0 call $middle)
  (func (export "spin") i32.const 0x22 drop call $spin)
  (func (export "deep") (result i32) i32.const 0x33 drop i32.const 0 call $rec))`;

t.test('a trap: innermost first, original indices, names and offsets; no wrapper', async (t) => {
  const bytes = await wat(SRC, { names: true });
  const r = await runOnce(bytes);
  t.equal(r.error?.kind, 'trap');
  t.same(
    r.error?.frames?.map((f) => [f.module, f.index, f.name, f.offset, f.file, f.line, f.column]),
    [
      ['contract', 0, 'inner', offsetOf(bytes, [0x41, 0x07, 0x20, 0x00, 0x6d], 4), null, null, null], // i32.div_s
      ['contract', 1, 'middle', offsetOf(bytes, [0x20, 0x00, 0x10, 0x00], 2), null, null, null], // call $inner
      ['contract', 4, null, offsetOf(bytes, [0x41, 0x11, 0x1a, 0x41, 0x00, 0x10, 0x01], 5), null, null, null], // call $middle
    ],
  );
  t.equal(r.error?.framesOmitted, 0);
});

t.test('out of fuel and the stack budget: the innermost frame is the function whose charge failed, at its first instruction', async (t) => {
  const bytes = await wat(SRC, { names: true });
  const spin = await runOnce(bytes, { entry: 'spin', fuel: 10_000 });
  t.equal(spin.error?.kind, 'out_of_fuel');
  t.same(
    spin.error?.frames?.map((f) => [f.index, f.name, f.offset]),
    [
      [2, 'spin', offsetOf(bytes, [0x03, 0x40, 0x41, 0xe6, 0x00], 0)], // its `loop`
      [5, null, offsetOf(bytes, [0x41, 0x22, 0x1a, 0x10, 0x02], 3)], // call $spin
    ],
  );

  const prevLimit = Error.stackTraceLimit;
  const runs = [];
  for (const limit of [10, 3, 200]) {
    // V8's own limit (10 by default) must not shape the answer
    Error.stackTraceLimit = limit;
    runs.push(await runOnce(bytes, { entry: 'deep' }));
  }
  Error.stackTraceLimit = prevLimit;
  const deep = runs[0]!;
  t.equal(deep.error?.kind, 'stack_overflow');
  const frames = deep.error!.frames!;
  t.equal(frames.length, 64, '64 frames');
  t.same(frames[0], { module: 'contract', index: 3, name: 'rec', offset: offsetOf(bytes, [0x20, 0x00, 0x41, 0xf7, 0x00], 0), file: null, line: null, column: null });
  const call = offsetOf(bytes, [0x6a, 0x10, 0x03], 1); // call $rec
  t.ok(frames.slice(1).every((f) => f.index === 3 && f.offset === call), 'then the recursive calls, at their call');
  t.ok(deep.error!.framesOmitted! > 1000, `${deep.error!.framesOmitted} more omitted`);
  for (const r of runs.slice(1)) t.same(r.error, deep.error, 'the same frames and count whatever Error.stackTraceLimit is');
});

const LIB = `(module
  (memory (export "memory") 1)
  (func $check (param i32) (result i32) local.get 0 i32.eqz if unreachable end local.get 0)
  (func (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 call $check i32.div_u))`;
const CONTRACT = `(module
  (import "lib" "div" (func $div (param i32 i32) (result i32)))
  (func $run (param i32) (result i32) i32.const 100 local.get 0 call $div)
  (func (export "main") (result i32) i32.const 0x44 drop i32.const 0 call $run))`;

for (const mode of ['bridge', 'shared'] as const) {
  t.test(`across a link (${mode}): the library's frames above the contract's, no JavaScript between`, async (t) => {
    const lib = await wat(LIB, { names: true });
    const contract = await wat(CONTRACT, { names: true });
    const r = await runOnce(contract, { library: lib, link: { mode } });
    t.equal(r.error?.kind, 'trap');
    t.equal(r.error?.message, 'wasm `unreachable` instruction executed');
    t.same(
      r.error?.frames?.map((f) => [f.module, f.index, f.name, f.offset]),
      [
        ['library', 0, 'check', offsetOf(lib, [0x45, 0x04, 0x40, 0x00], 3)], // unreachable
        ['library', 1, null, offsetOf(lib, [0x20, 0x01, 0x10, 0x00], 2)], // call $check
        ['contract', 1, 'run', offsetOf(contract, [0x20, 0x00, 0x10, 0x00], 2)], // call $div (import 0)
        ['contract', 2, null, offsetOf(contract, [0x41, 0x00, 0x10, 0x01], 2)], // call $run
      ],
    );
  });
}

t.test('a finished call has no error; an out-of-fuel in a library is reported in the library', async (t) => {
  const bytes = await wat(SRC, { names: true });
  const ok = await runOnce(await wat('(module (func (export "main") (result i32) i32.const 1))'));
  t.equal(ok.error, null);
  const r = await runOnce(bytes, { entry: 'spin', fuel: 1 });
  t.equal(r.error?.kind, 'out_of_fuel');
  t.ok(r.error!.frames!.length >= 1);
});

t.test("docs/API.md's Frames example answers as shown", async (t) => {
  const doc = readFileSync(new URL('../../docs/API.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('### Frames'));
  const block = (lang: string) => section.slice(section.indexOf('```' + lang) + 3 + lang.length, section.indexOf('\n```', section.indexOf('```' + lang)));
  const bytes = await wat(block('wat'), { names: true });
  t.same((await runOnce(bytes)).error, JSON.parse(block('json')), 'main');
  const spin = await runOnce(bytes, { entry: 'spin', fuel: 1000 });
  t.same([spin.error?.kind, spin.error?.frames?.map((f) => f.name)], ['out_of_fuel', ['loop', null]], 'spin');
  const deep = await runOnce(bytes, { entry: 'deep' });
  t.same([deep.error?.kind, deep.error?.frames?.length, deep.error?.framesOmitted], ['stack_overflow', 64, 6835], 'deep');
  t.match(section, `the other ${(6835).toLocaleString('en')}`, 'the count the text gives');
});

t.test('names are demangled (Rust legacy and v0, C++); other names are given as written', async (t) => {
  const bytes = await wat(
    `(module
      (func $_ZN2kv3lib3get17h0123456789abcdefE (param i32) (result i32) i32.const 1 local.get 0 i32.div_u)
      (func $_RNvCs1234_7mycrate3run (param i32) (result i32) local.get 0 call $_ZN2kv3lib3get17h0123456789abcdefE)
      (func $_ZN2ns5Class4stepEi (param i32) (result i32) local.get 0 call $_RNvCs1234_7mycrate3run)
      (func $_ZN1 (param i32) (result i32) local.get 0 call $_ZN2ns5Class4stepEi)
      (func (export "main") (result i32) i32.const 0 call $_ZN1))`,
    { names: true },
  );
  const r = await runOnce(bytes);
  t.same(r.error?.frames?.map((f) => f.name), ['kv::lib::get', 'mycrate::run', 'ns::Class::step(int)', '_ZN1', null]);
});
