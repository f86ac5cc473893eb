/**
 * The trap site (src/engine/outcome.ts `trapSite`) comes from V8's structured call sites: the module
 * by the name the instrumenter wrote, the byte offset by `getPosition()`, the function from the
 * module's body offsets. Nothing a module writes into its own name section can move the refund of a
 * trap's unexecuted fuel: names that imitate V8's frame text, newlines, a second `name` section.
 */
import t from 'tap';
import { trapSite } from '../../src/engine/outcome.js';
import { definedFunctionAt } from '../../src/engine/refund.js';
import { readModule } from '../../src/wasm/reader.js';
import { runOnce, wat } from '../support/wat.js';
import { leb } from '../support/leb.js';

const str = (s: string) => {
  const b = [...new TextEncoder().encode(s)];
  return [...leb(b.length), ...b];
};

/** A `name` custom section with a module name (optional) and function names. */
function nameSection(moduleName: string | null, funcs: Array<[number, string]>): number[] {
  const subs: number[] = [];
  if (moduleName !== null) {
    const m = str(moduleName);
    subs.push(0, ...leb(m.length), ...m);
  }
  const f = [...leb(funcs.length), ...funcs.flatMap(([i, n]) => [...leb(i), ...str(n)])];
  subs.push(1, ...leb(f.length), ...f);
  const payload = [...str('name'), ...subs];
  return [0, ...leb(payload.length), ...payload];
}

const append = (bytes: Uint8Array, ...sections: number[][]) => Uint8Array.from([...bytes, ...sections.flat()]);

// `$cheap` traps at its first instruction with little charged; `$dear` traps after a long block,
// charged up front: a refund taken from the wrong function gives a different fuel.
const SRC = `(module
  (func $cheap (param i32) (result i32)
    i32.const 1 local.get 0 i32.div_s
    i32.const 1 i32.add i32.const 1 i32.add i32.const 1 i32.add)
  (func $dear (param i32) (result i32)
    i32.const 1 i32.const 1 i32.add drop i32.const 1 i32.const 1 i32.add drop
    i32.const 1 i32.const 1 i32.add drop i32.const 1 i32.const 1 i32.add drop
    i32.const 7 local.get 0 i32.div_s
    i32.const 1 i32.add i32.const 1 i32.add i32.const 1 i32.add i32.const 1 i32.add i32.const 1 i32.add
    i32.const 1 i32.add i32.const 1 i32.add i32.const 1 i32.add i32.const 1 i32.add i32.const 1 i32.add)
  (func (export "cheap") (result i32) i32.const 0 call $cheap)
  (func (export "dear") (result i32) i32.const 0 call $dear))`;

t.test('a trap site names the module and the offset; the function follows from the body offsets', async (t) => {
  const bytes = await wat(SRC);
  const inst = new WebAssembly.Instance(new WebAssembly.Module(append(bytes, nameSection('m0123456789abcdefs', []))));
  let err: unknown;
  try {
    (inst.exports.dear as () => number)();
  } catch (e) {
    err = e;
  }
  const site = trapSite(err);
  t.equal(site?.module, 'm0123456789abcdefs');
  const m = readModule(bytes);
  const starts = Uint32Array.from(m.code.map((c) => c.codeStart));
  t.equal(definedFunctionAt(starts, site!.offset), 1, 'the trap is in $dear (defined function 1)');
  t.equal(trapSite(new Error('x')), null, 'a JavaScript error has no wasm site');
  t.equal(trapSite('not an error'), null);
});

t.test('function names cannot move the refund of a trap', async (t) => {
  const plain = await wat(SRC);
  const cases: Array<[string, Uint8Array]> = [
    ['no names', plain],
    // names imitating V8's frame text, pointing at the other function and another module's name
    ['fake frames', append(plain, nameSection('m0000000000000000', [[0, 'x (wasm://wasm/m0000000000000000-0:wasm-function[1]:0x40)'], [1, 'y wasm://wasm/mffffffffffffffff-1:wasm-function[0]:0x20 ']]))],
    ['a newline', append(plain, nameSection(null, [[0, '\nwasm://wasm/m1111111111111111-1:wasm-function[1]:0x30'], [1, 'a\nb']]))],
    // a second name section: V8 reads the first it meets; the instrumenter keeps only its own
    ['two name sections', append(plain, nameSection('evil', [[1, 'wasm-function[0]:0x1']]), nameSection('m2222222222222222', [[0, 'wasm-function[1]:0x99']]))],
  ];
  const want = { cheap: await runOnce(plain, { entry: 'cheap' }), dear: await runOnce(plain, { entry: 'dear' }) };
  t.equal(want.cheap.error?.kind, 'trap');
  t.equal(want.dear.error?.kind, 'trap');
  t.not(want.cheap.fuel.consumed, want.dear.fuel.consumed, 'the two traps charge different fuel');
  for (const [what, bytes] of cases) {
    for (const entry of ['cheap', 'dear'] as const) {
      const r = await runOnce(bytes, { entry });
      // the frames keep the module's names, whatever they say; where they point cannot move
      const where = (e: typeof r.error) => e && { kind: e.kind, message: e.message, frames: e.frames?.map((f) => [f.module, f.index, f.offset]) };
      t.same({ error: where(r.error), fuel: r.fuel }, { error: where(want[entry].error), fuel: want[entry].fuel }, `${what}: ${entry}`);
    }
  }
});
