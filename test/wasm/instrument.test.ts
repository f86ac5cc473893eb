/**
 * The instrumenter (src/wasm/instrument.ts) on its own: standalone mode, global index shifting,
 * memory.grow through the page budget, the stack budget and its exact boundary, the name
 * section, declared maxima capping, and deterministic output.
 */
import t from 'tap';
import { type InstrumentOptions, instrument, instrumentModule } from '../../src/wasm/instrument.js';
import { decodeInstructions, instrName } from '../../src/wasm/instructions.js';
import { ByteReader } from '../../src/wasm/leb.js';
import { METER_GLOBALS, METER_MODULE, MeterFlag } from '../../src/wasm/meter-abi.js';
import { readModule } from '../../src/wasm/reader.js';
import { DEFAULT_ENGINE_CONFIG } from '../../src/engine/defaults.js';
import { stackBudgetMessage } from '../../src/engine/outcome.js';
import { FRAME_BASE, SLOT_BYTES, frameCost } from '../../src/wasm/frame-cost.js';
import { runOnce, wat } from '../support/wat.js';

type Fn = (...a: unknown[]) => unknown;

/** The `__meter` globals a (non-standalone) instrumented module imports. */
function meter(fuel = 1n << 40n, stack = 1 << 20, pages = 100) {
  const g = {
    fuel: new WebAssembly.Global({ value: 'i64', mutable: true }, fuel),
    stack: new WebAssembly.Global({ value: 'i32', mutable: true }, stack),
    pages: new WebAssembly.Global({ value: 'i32', mutable: true }, pages),
    flags: new WebAssembly.Global({ value: 'i32', mutable: true }, 0),
  };
  const imports = {
    [METER_MODULE]: {
      [METER_GLOBALS.fuel]: g.fuel,
      [METER_GLOBALS.stack]: g.stack,
      [METER_GLOBALS.pages]: g.pages,
      [METER_GLOBALS.flags]: g.flags,
    },
  };
  return { ...g, imports };
}

const instantiate = (bytes: Uint8Array, imports: WebAssembly.Imports = {}) =>
  new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource), imports);

/** Subsection `id` of a module's `name` section, or undefined. */
function nameSubsection(bytes: Uint8Array, id: number): Uint8Array | undefined {
  const m = readModule(bytes);
  const s = m.customs.find((c) => c.name === 'name');
  if (!s) return undefined;
  const r = new ByteReader(bytes, s.start, s.end);
  r.name();
  while (!r.atEnd()) {
    const sub = r.byte();
    const size = r.u32();
    const payload = r.take(size);
    if (sub === id) return payload;
  }
  return undefined;
}

/** A name map (subsection 1 functions, 7 globals): index -> name. */
function nameMap(payload: Uint8Array | undefined): Record<number, string> {
  const out: Record<number, string> = {};
  if (!payload) return out;
  const r = new ByteReader(payload);
  const n = r.u32();
  for (let i = 0; i < n; i++) {
    const idx = r.u32();
    out[idx] = r.name();
  }
  return out;
}

t.test('standalone mode: exported __fuel, remaining = initial - cost, trap when it runs out', async (t) => {
  const src = `(module
    (func (export "inc") (param i32) (result i32)
      local.get 0 i32.const 1 i32.add)                       ;; entry 1 + 3 = 4
    (func (export "loop") (param $n i32) (result i32) (local $i i32) (local $acc i32)
      block loop
        local.get $i local.get $n i32.ge_s br_if 1
        local.get $acc local.get $i i32.add local.set $acc
        local.get $i i32.const 1 i32.add local.set $i
        br 0
      end end
      local.get $acc))                                       ;; 13n + 6`;
  const bytes = instrument(await wat(src), { standalone: { fuel: 1000n, stackBytes: 1 << 20 } });
  t.same(WebAssembly.Module.imports(new WebAssembly.Module(bytes as BufferSource)), [], 'no __meter imports');
  const inst = instantiate(bytes);
  const fuel = inst.exports.__fuel as WebAssembly.Global;
  t.equal(fuel.value, 1000n, 'initial value');
  t.equal((inst.exports.inc as Fn)(41), 42);
  t.equal(fuel.value, 996n, '1000 - 4');
  t.equal((inst.exports.loop as Fn)(10), 45);
  t.equal(fuel.value, 996n - 136n, '- (13 * 10 + 6)');
  t.equal((inst.exports.loop as Fn)(61), 1830);
  t.equal(fuel.value, 860n - 799n, '- (13 * 61 + 6): 61 left');
  t.throws(() => (inst.exports.loop as Fn)(61), WebAssembly.RuntimeError, 'traps when it runs out');
  t.ok((fuel.value as bigint) < 0n, 'the fuel went negative');

  // exactly enough: 4 fuel for one `inc`
  const exact = instantiate(instrument(await wat(src), { standalone: { fuel: 4n, stackBytes: 1 << 20 } }));
  t.equal((exact.exports.inc as Fn)(1), 2);
  t.equal((exact.exports.__fuel as WebAssembly.Global).value, 0n);
  t.throws(() => (exact.exports.inc as Fn)(1), WebAssembly.RuntimeError);

  // a fuel value wider than 32 bits, and fuel: false charges nothing
  const wide = instantiate(instrument(await wat(src), { standalone: { fuel: 1n << 50n, stackBytes: 1 << 20 } }));
  (wide.exports.inc as Fn)(0);
  t.equal((wide.exports.__fuel as WebAssembly.Global).value, (1n << 50n) - 4n);
  const free = instantiate(instrument(await wat(src), { fuel: false, standalone: { fuel: 3n, stackBytes: 1 << 20 } }));
  t.equal((free.exports.loop as Fn)(100), 4950);
  t.equal((free.exports.__fuel as WebAssembly.Global).value, 3n, 'fuel: false charges nothing');

  // the module's own globals and exports keep their indices; `__fuel` is appended
  const withGlobals = await wat(`(module
    (global $a (export "a") (mut i32) (i32.const 7))
    (global $b i32 (i32.const 8))
    (func (export "sum") (result i32) global.get $a global.get $b i32.add))`);
  const g = instantiate(instrument(withGlobals, { standalone: { fuel: 100n, stackBytes: 1 << 20 } }));
  t.equal((g.exports.sum as Fn)(), 15);
  t.equal((g.exports.a as WebAssembly.Global).value, 7);
  t.equal((g.exports.__fuel as WebAssembly.Global).value, 100n - 4n);
  // memory.grow in standalone mode: no page budget, but 1 fuel per page added (wasmtime's rule)
  const grow = await wat('(module (memory 1 5) (func (export "grow") (param i32) (result i32) local.get 0 memory.grow))');
  const growOut = instrument(grow, { standalone: { fuel: 100n, stackBytes: 1 << 20 } });
  t.equal(readModule(growOut).functions.length, 4, 'a grow helper, an entry wrapper and `__meter_reset` appended');
  const gi = instantiate(growOut);
  const gFuel = gi.exports.__fuel as WebAssembly.Global;
  t.equal((gi.exports.grow as Fn)(3), 1);
  t.equal(gFuel.value, 100n - 3n - 3n, 'grow(3): entry + local.get + memory.grow, + 3 pages');
  t.equal((gi.exports.grow as Fn)(2), -1, 'refused by the maximum');
  t.equal(gFuel.value, 94n - 3n, 'a refused grow adds nothing');
  t.equal((gi.exports.grow as Fn)(1), 4);
  t.equal(gFuel.value, 91n - 4n, 'grow(1) costs 4, as in wasmtime');
  const clash = await wat('(module (global (export "__fuel") i32 (i32.const 0)))');
  t.throws(() => instrument(clash, { standalone: { fuel: 1n, stackBytes: 1 << 20 } }), /`__fuel`/, 'a module exporting `__fuel` itself is refused');
});

t.test('global index shifting: imported and defined globals behave the same after instrumenting', async (t) => {
  const src = `(module
    (import "env" "base" (global $base i32))
    (import "env" "counter" (global $counter (mut i32)))
    (global $derived (export "derived") i32 (global.get $base))
    (global $acc (export "acc") (mut i64) (i64.const 100))
    (global $k i32 (i32.const 3))
    (memory (export "memory") 1)
    (table 32 funcref)
    (data (global.get $base) "\\2a\\00\\00\\00")
    (elem (global.get $base) $seven $nine)
    (type $r (func (result i32)))
    (func $seven (result i32) i32.const 7)
    (func $nine (result i32) i32.const 9)
    (func (export "run") (param i32) (result i32)
      global.get $counter i32.const 1 i32.add global.set $counter
      global.get $acc local.get 0 i64.extend_i32_s i64.add global.set $acc
      global.get $derived i32.load
      local.get 0 global.get $base i32.add call_indirect (type $r)
      i32.add
      global.get $k i32.mul
      global.get $counter i32.add))`;
  const original = await wat(src, { names: true });
  const out = instrument(original);
  const m = readModule(out);
  t.same(
    m.imports.map((i) => `${i.module}.${i.name}:${i.kind}`),
    ['env.base:global', 'env.counter:global', '__meter.fuel:global', '__meter.stack:global', '__meter.pages:global', '__meter.flags:global'],
    'the meter globals come right after the imported ones',
  );
  t.same(
    m.exports.filter((e) => e.kind === 'global').map((e) => [e.name, e.index]),
    [['derived', 6], ['acc', 7], ['__meter_fuel', 9]],
    'exported defined globals shifted by 4; the module’s own fuel copy exported after them',
  );
  // in code: imported globals keep their index, defined ones shift by 4
  const run = m.code[2]!;
  const globalsUsed = decodeInstructions(out, run.codeStart, run.body.end)
    .filter((i) => instrName(i).startsWith('global.'))
    .map((i) => `${instrName(i)} ${i.imm[0]}`);
  for (const expected of ['global.get 1', 'global.set 1', 'global.get 7', 'global.set 7', 'global.get 6', 'global.get 0', 'global.get 8']) {
    t.ok(globalsUsed.includes(expected), `run uses ${expected}`);
  }
  // every original global access, in order, with defined globals shifted; 2..5 are the shared meter's,
  // 9 and 10 the module's own copies of fuel and stack budget (appended after its globals)
  const origRun = readModule(original).code[2]!;
  const expectedOrder = decodeInstructions(original, origRun.codeStart, origRun.body.end)
    .filter((i) => instrName(i).startsWith('global.'))
    .map((i) => `${instrName(i)} ${(i.imm[0] as number) >= 2 ? (i.imm[0] as number) + 4 : i.imm[0]}`);
  t.same(globalsUsed.filter((g) => !/ ([2-5]|9|10)$/.test(g)), expectedOrder, 'the original accesses, shifted, in order');
  t.ok(globalsUsed.some((g) => g === 'global.get 9') && globalsUsed.some((g) => g === 'global.set 9'), 'fuel is charged on the module’s copy (global 9)');
  // the table holds only this module's functions and is not shared: its call_indirect cannot leave the
  // module, so the shared meter (global 2) is not touched in `run`
  t.notOk(globalsUsed.some((g) => / 2$/.test(g)), 'no sync with the shared meter inside the module');
  // global names in the name section follow their globals
  const before = nameMap(nameSubsection(original, 7));
  const after = nameMap(nameSubsection(out, 7));
  t.same(before, { 0: 'base', 1: 'counter', 2: 'derived', 3: 'acc', 4: 'k' });
  t.same(after, { 0: 'base', 1: 'counter', 6: 'derived', 7: 'acc', 8: 'k' }, 'global names shifted');

  // behaviour: the same results, globals, memory and table with and without instrumentation
  const observe = (bytes: Uint8Array, extra: WebAssembly.Imports) => {
    const counter = new WebAssembly.Global({ value: 'i32', mutable: true }, 10);
    const inst = instantiate(bytes, { env: { base: 16, counter }, ...extra });
    const runFn = inst.exports.run as Fn;
    const results = [runFn(0), runFn(1), runFn(0)];
    return {
      results,
      counter: counter.value,
      derived: (inst.exports.derived as WebAssembly.Global).value,
      acc: (inst.exports.acc as WebAssembly.Global).value,
      memory: [...new Uint8Array((inst.exports.memory as WebAssembly.Memory).buffer, 16, 4)],
    };
  };
  const plain = observe(original, {});
  const metered = meter();
  const instrumented = observe(out, metered.imports);
  // run(i) = (mem[16] = 42 + table[16 + i]()) * 3 + counter
  t.same(plain.results, [(42 + 7) * 3 + 11, (42 + 9) * 3 + 12, (42 + 7) * 3 + 13], 'the original computes as expected');
  t.same(instrumented, plain, 'instrumented behaves the same');
  t.ok((metered.fuel.value as bigint) < 1n << 40n, 'and was metered');

  // a constant expression reading a defined global (extended-const / GC semantics; Node 20's V8
  // refuses it, so checked structurally): the reference shifts like the code's
  const ext = await wat('(module (global $a i32 (i32.const 1)) (global $b i32 (global.get $a)) (func (result i32) global.get $b))');
  const extOut = readModule(instrument(ext));
  const init = extOut.globals[1]!.init;
  t.same(decodeInstructions(extOut.bytes, init.start, init.end).map((i) => `${instrName(i)} ${i.imm.join(',')}`.trim()), ['global.get 4', 'end']);
});

t.test('memory.grow goes through the page budget', async (t) => {
  const src = `(module (memory 1)
    (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
    (func (export "size") (result i32) memory.size))`;
  const bytes = instrument(await wat(src));
  const mt = meter(1n << 40n, 1 << 20, 2);
  const inst = instantiate(bytes, mt.imports);
  const grow = inst.exports.grow as Fn;
  t.equal(grow(3), -1, 'beyond the budget of 2 pages: -1');
  t.equal(mt.flags.value & MeterFlag.growRefused, MeterFlag.growRefused, 'flagged growRefused');
  t.equal(mt.pages.value, 2, 'budget unchanged');
  t.equal((inst.exports.size as Fn)(), 1, 'memory unchanged');
  mt.flags.value = 0;
  t.equal(grow(2), 1, 'within the budget: the old size');
  t.equal(mt.pages.value, 0, 'budget spent');
  t.equal(mt.flags.value, 0, 'not flagged');
  t.equal(grow(0), 3, 'growing by 0 always works');
  t.equal(grow(1), -1, 'nothing left');
  t.equal(mt.flags.value, MeterFlag.growRefused);

  // a grow the memory itself refuses (its declared maximum) is not a budget refusal
  const capped = instrument(await wat('(module (memory 1 2) (func (export "grow") (param i32) (result i32) local.get 0 memory.grow))'));
  const mc = meter(1n << 40n, 1 << 20, 10);
  const ci = instantiate(capped, mc.imports);
  t.equal((ci.exports.grow as Fn)(5), -1, 'past the declared maximum');
  t.same([mc.pages.value, mc.flags.value], [10, 0], 'budget untouched, not flagged');
  t.equal((ci.exports.grow as Fn)(1), 1);
  t.equal(mc.pages.value, 9);

  // memory: false leaves memory.grow alone
  const plain = instrument(await wat(src), { memory: false });
  const mp = meter(1n << 40n, 1 << 20, 0);
  t.equal((instantiate(plain, mp.imports).exports.grow as Fn)(3), 1, 'memory: false grows freely');

  // through the engine: the limit is memoryBytes; the trap after a refused grow is memory_limit
  const engine = `(module (memory 1)
    (func (export "main") (param i32) (result i32) local.get 0 memory.grow)
    (func (export "touch") (param i32) (result i32)
      local.get 0 memory.grow drop
      i32.const 0x2fffc i32.load))`;
  const three = 3 * 65536;
  t.same((await runOnce(engine, { args: [2], memoryBytes: three })).result?.values, [1], 'up to the limit');
  t.same((await runOnce(engine, { args: [3], memoryBytes: three })).result?.values, [-1], 'past it: -1');
  const touched = await runOnce(engine, { entry: 'touch', args: [3], memoryBytes: three });
  t.equal(touched.error?.kind, 'memory_limit', 'the trap after a refused grow');
  t.same((await runOnce(engine, { entry: 'touch', args: [2], memoryBytes: three })).result?.values, [0]);
});

t.test('stack budget: each active function costs its frame; exactly enough fits, one byte less traps', async (t) => {
  const src = `(module
    (type $t (func (param i32) (result i32)))
    (table funcref (elem $rec))
    (func $rec (export "rec") (param i32) (result i32)
      local.get 0
      if (result i32)
        local.get 0 i32.const 1 i32.sub call $rec i32.const 1 i32.add
      else
        i32.const 0
      end)
    (func (export "indirect") (param i32) (result i32)
      local.get 0 i32.const 0 call_indirect (type $t)))`;
  const original = await wat(src);
  const bytes = instrument(original);
  const cost = frameCost(readModule(original), 0);
  const indirectCost = frameCost(readModule(original), 1);
  t.equal(cost, FRAME_BASE + SLOT_BYTES * (1 + 2), 'rec: one param and an operand stack of at most 2');
  // rec(n) is n + 1 active frames of $rec, the one called from JS included
  for (const depth of [1, 10, 100]) {
    const mt = meter(1n << 40n, (depth + 1) * cost);
    const rec = instantiate(bytes, mt.imports).exports.rec as Fn;
    t.equal(rec(depth), depth, `budget for ${depth + 1} frames: rec(${depth}) runs`);
    t.equal(mt.stack.value, (depth + 1) * cost, 'the budget is given back when the calls return');
    t.equal(mt.flags.value, 0);
    t.throws(() => rec(depth + 1), WebAssembly.RuntimeError, `rec(${depth + 1}) traps`);
    t.equal(mt.flags.value & MeterFlag.stackOverflow, MeterFlag.stackOverflow, 'flagged stackOverflow');
  }
  // call_indirect reaches a function of this module: the callee charges its own frame, nothing at the site
  const mt = meter(1n << 40n, indirectCost + 10 * cost);
  const ind = instantiate(bytes, mt.imports).exports.indirect as Fn;
  t.equal(ind(9), 9);
  t.throws(() => ind(10), WebAssembly.RuntimeError);
  t.equal(mt.flags.value, MeterFlag.stackOverflow);
  // stack: false charges nothing
  const free = meter(1n << 40n, 0);
  t.equal((instantiate(instrument(original, { stack: false }), free.imports).exports.rec as Fn)(50), 50);

  // through the engine (maxStackBytes): the same boundary, as a stack_overflow outcome naming the budget
  const budget = DEFAULT_ENGINE_CONFIG.maxStackBytes;
  const max = Math.floor(budget / cost) - 1;
  const okRun = await runOnce(src, { entry: 'rec', args: [max] });
  t.same([okRun.ok, okRun.result?.values], [true, [max]], `rec(${max}) runs`);
  const over = await runOnce(src, { entry: 'rec', args: [max + 1] });
  t.equal(over.error?.kind, 'stack_overflow', `rec(${max + 1}): stack_overflow`);
  t.equal(over.error?.message, stackBudgetMessage(budget));
});

t.test('name section: module name set, other names kept; V8 traces carry it', async (t) => {
  const src = `(module
    (global $g (mut i32) (i32.const 0))
    (func $helper (result i32) unreachable)
    (func $main (export "main") (result i32) call $helper))`;
  const named = await wat(src, { names: true });
  const out = instrument(named, { moduleName: 'my-contract' });
  t.equal(new TextDecoder().decode(nameSubsection(out, 0)!.subarray(1)), 'my-contract', 'module name');
  t.same(nameMap(nameSubsection(out, 1)), { 0: 'helper', 1: 'main' }, 'function names kept');
  t.same(nameMap(nameSubsection(out, 7)), { 4: 'g' }, 'global name shifted');
  t.equal(readModule(out).customs.filter((c) => c.name === 'name').length, 1, 'one name section');
  const withName = await wat(src.replace('(module', '(module $orig'), { names: true });
  t.equal(new TextDecoder().decode(nameSubsection(withName, 0)!.subarray(1)), 'orig', 'the source has a module name');
  const replaced = instrument(withName, { moduleName: 'again' });
  t.equal(new TextDecoder().decode(nameSubsection(replaced, 0)!.subarray(1)), 'again', 'an existing module name is replaced');

  const plain = instrument(await wat(src), { moduleName: 'm42' });
  t.equal(new TextDecoder().decode(nameSubsection(plain, 0)!.subarray(1)), 'm42', 'added when the module has no name section');
  t.equal(nameSubsection(instrument(await wat(src)), 0), undefined, 'no module name unless asked');

  const mt = meter();
  try {
    (instantiate(plain, mt.imports).exports.main as Fn)();
    t.fail('traps');
  } catch (e) {
    t.match((e as Error).stack, /wasm:\/\/wasm\/m42-[0-9a-f]+:wasm-function\[0\]/, 'the trap frame names the module');
  }
});

t.test('declared maxima are capped', async (t) => {
  const src = '(module (memory 1) (memory 10 20) (table 2 funcref) (table 5 1000 funcref))';
  const out = readModule(instrument(await wat(src, { features: { multi_memory: true } }), { maxMemoryPages: 4, maxTableElements: 50 }));
  t.same(out.memories.map((l) => [l.min, l.max]), [[1, 4], [10, 10]], 'memory max = max(min, min(max, cap))');
  t.same(out.tables.map((x) => [x.limits.min, x.limits.max]), [[2, 50], [5, 50]]);
});

t.test('deterministic output', async (t) => {
  const src = await wat(`(module
    (import "host" "log" (func $log (param i32 i32 i32)))
    (global $g (mut i32) (i32.const 1))
    (memory 1)
    (func (export "main") (param i32) (result i32)
      local.get 0 memory.grow drop
      block loop local.get 0 br_if 1 global.get $g call $f global.set $g br 0 end end
      i32.const 0 i32.const 0 i32.const 8 memory.fill
      global.get $g)
    (func $f (param i32) (result i32) local.get 0 i32.const 2 i32.mul))`, { names: true });
  const opts: InstrumentOptions[] = [{}, { moduleName: 'x', maxMemoryPages: 10, maxTableElements: 3 }, { standalone: { fuel: 99n, stackBytes: 1 << 20 } }, { fuel: false }, { stack: false, memory: false }];
  for (const o of opts) {
    const a = instrument(src, o);
    const b = instrument(src.slice(), o);
    const c = instrumentModule(readModule(new Uint8Array(src)), o).bytes;
    t.ok(Buffer.compare(a, b) === 0 && Buffer.compare(a, c) === 0, `${JSON.stringify(o, (_, v) => (typeof v === 'bigint' ? `${v}n` : v))}: same bytes`);
    t.ok(WebAssembly.validate(a as BufferSource), 'valid');
  }
  t.notOk(Buffer.compare(instrument(src), instrument(src, { fuel: false })) === 0, 'options change the output');
  t.same([...src], [...(await wat(`(module
    (import "host" "log" (func $log (param i32 i32 i32)))
    (global $g (mut i32) (i32.const 1))
    (memory 1)
    (func (export "main") (param i32) (result i32)
      local.get 0 memory.grow drop
      block loop local.get 0 br_if 1 global.get $g call $f global.set $g br 0 end end
      i32.const 0 i32.const 0 i32.const 8 memory.fill
      global.get $g)
    (func $f (param i32) (result i32) local.get 0 i32.const 2 i32.mul))`, { names: true }))], 'the input is not modified');

  // bodyStarts: where each defined function's body (locals first) starts in the output
  const r = instrumentModule(readModule(src), {});
  const outModule = readModule(r.bytes);
  t.equal(r.importedFuncs, 1);
  t.same([...r.bodyStarts], outModule.code.map((c) => c.body.start), 'bodyStarts match the output, grow helper included');
  t.equal(outModule.code.length, 4, 'two functions + the memory.grow helper + the entry wrapper of the exported `main`');
});
