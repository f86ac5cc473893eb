/**
 * Static policy (src/wasm/policy.ts, `policy.*` in docs/OPERATIONS.md): every limit at its exact edge
 * (limit == the module's figure passes, one less is refused with a message naming both numbers), the
 * first violation wins, and the determinism policy refusing floats, threads (atomics, shared memory) and relaxed SIMD.
 */
import t from 'tap';
import { DEFAULT_ENGINE_CONFIG, DEFAULT_ENGINE_POLICY } from '../../src/engine/defaults.js';
import { RequestError } from '../../src/engine/errors.js';
import { prepare } from '../../src/engine/prepare.js';
import { decodeInstructions, instrName } from '../../src/wasm/instructions.js';
import { ByteWriter } from '../../src/wasm/leb.js';
import { DEFAULT_POLICY, type Policy, checkPolicy } from '../../src/wasm/policy.js';
import { readModule } from '../../src/wasm/reader.js';
import { wat } from '../support/wat.js';

const HUGE: Policy = {
  maxModuleBytes: 1 << 30,
  maxFunctions: 1 << 30,
  maxImports: 1 << 30,
  maxLocals: 1 << 30,
  maxTableElements: 1 << 30,
  maxDataBytes: 1 << 30,
  deterministic: false,
};
const DET: Policy = { ...HUGE, deterministic: true };

const check = async (src: string | Uint8Array, p: Partial<Policy> = {}, features?: Record<string, boolean>) =>
  checkPolicy(readModule(typeof src === 'string' ? await wat(src, features ? { features } : {}) : src), { ...HUGE, ...p });

/** A module that has a bit of everything: 2 imported + 3 defined functions, 4 imports, tables, data. */
const MODULE = `(module
  (import "host" "output" (func (param i32 i32)))
  (import "host" "log" (func (param i32 i32 i32)))
  (import "env" "table" (table 3 funcref))
  (import "env" "g" (global i32))
  (memory 1)
  (table 10 funcref)
  (data (i32.const 0) "hello")
  (data "passive")
  (func (param i32) (local i32 i64) (local i32 i32 i32))
  (func (local i64))
  (func (local i32 i32 i32 i32 i32 i32 i32) (local i64)))`;

t.test('each static limit at its exact edge', async (t) => {
  const b = await wat(MODULE);
  const m = readModule(b);
  const at = (p: Partial<Policy>) => checkPolicy(m, { ...HUGE, ...p });

  t.equal(at({}), null, 'passes generous limits');
  t.equal(at({ maxModuleBytes: b.length }), null, `module bytes: ${b.length} allowed`);
  t.equal(at({ maxModuleBytes: b.length - 1 }), `module is ${b.length} bytes, more than the limit of ${b.length - 1}`);

  t.equal(at({ maxFunctions: 5 }), null, 'functions: 2 imported + 3 defined = 5 allowed');
  t.equal(at({ maxFunctions: 4 }), 'module has 5 functions, more than the limit of 4');

  t.equal(at({ maxImports: 4 }), null, 'imports of every kind: 4 allowed');
  t.equal(at({ maxImports: 3 }), 'module has 4 imports, more than the limit of 3');

  // locals are counted per function (parameters excluded): 5, 1 and 8
  t.equal(at({ maxLocals: 8 }), null, 'locals: the largest function declares 8');
  t.match(at({ maxLocals: 7 }), /declares 8 locals, more than the limit of 7/);
  t.match(at({ maxLocals: 4 }), /declares 5 locals, more than the limit of 4/, 'the first function over the limit');
  // In the function index space (imports first, as V8 and wasm tools number them) the function
  // with 5 locals is function 2.
  t.match(at({ maxLocals: 4 }), /^function 2 /, 'names the function by its index');

  t.equal(at({ maxTableElements: 10 }), null, 'tables: the defined table starts at 10');
  t.equal(at({ maxTableElements: 9 }), 'a table starts with 10 elements, more than the limit of 9');
  t.equal(at({ maxTableElements: 2 }), 'a table starts with 10 elements, more than the limit of 2', 'the defined table is checked first');
  const imported = await check('(module (import "env" "t" (table 7 funcref)))', { maxTableElements: 6 });
  t.equal(imported, 'a table starts with 7 elements, more than the limit of 6', 'imported tables count too');
  t.equal(await check('(module (import "env" "t" (table 7 funcref)))', { maxTableElements: 7 }), null);

  t.equal(at({ maxDataBytes: 12 }), null, 'data: 5 active + 7 passive = 12 allowed');
  t.equal(at({ maxDataBytes: 11 }), 'data segments hold 12 bytes, more than the limit of 11');

  // the first violation wins, in the order size, functions, imports, locals, tables, data
  t.match(at({ maxModuleBytes: 1, maxFunctions: 1, maxImports: 1, maxDataBytes: 1 }), /^module is/);
  t.match(at({ maxFunctions: 1, maxImports: 1, maxDataBytes: 1 }), /^module has 5 functions/);
  t.match(at({ maxImports: 1, maxLocals: 1, maxDataBytes: 1 }), /^module has 4 imports/);
  t.match(at({ maxLocals: 1, maxTableElements: 1, maxDataBytes: 1 }), /locals/);
  t.match(at({ maxTableElements: 1, maxDataBytes: 1 }), /^a table/);
  t.equal(checkPolicy(m, DEFAULT_POLICY), null, 'the default policy accepts it');
});

t.test('prepare() refuses policy violations with a policy_violation RequestError', async (t) => {
  const b = await wat(MODULE);
  const settings = DEFAULT_ENGINE_CONFIG.instrument;
  t.ok(prepare(b, settings, DEFAULT_ENGINE_POLICY), 'the default engine policy accepts it');
  for (const p of [{ maxModuleBytes: b.length - 1 }, { maxFunctions: 4 }, { maxDataBytes: 11 }]) {
    try {
      prepare(b, settings, { ...DEFAULT_ENGINE_POLICY, ...p });
      t.fail(`${JSON.stringify(p)}: refused`);
    } catch (e) {
      t.ok(e instanceof RequestError && e.kind === 'policy_violation', `${JSON.stringify(p)}: policy_violation`);
      t.match((e as Error).message, /more than the limit of/);
    }
  }
  t.ok(prepare(b, settings, { ...DEFAULT_ENGINE_POLICY, maxModuleBytes: b.length }), 'exactly at the size limit');
});

t.test('determinism policy: floats', async (t) => {
  const float = `(module
    (func (export "main") (result i32)
      i32.const 7
      f32.convert_i32_s
      i32.trunc_f32_s))`;
  t.equal(await check(float), null, 'floats are fine without the determinism policy');
  const b = await wat(float);
  const m = readModule(b);
  const msg = checkPolicy(m, DET);
  // the message names the first float operator and its byte offset in the module
  const body = m.code[0]!;
  const op = decodeInstructions(b, body.codeStart, body.body.end).find((i) => instrName(i) === 'f32.convert_i32_s')!;
  t.equal(msg, `\`f32.convert_i32_s\` at byte ${op.at}: floats are not allowed by the determinism policy`);

  t.match(await check('(module (func (param f64)))', DET), /function type uses f32\/f64/, 'a float parameter');
  t.match(await check('(module (func (result f32) unreachable))', DET), /function type uses f32\/f64/, 'a float result');
  t.match(await check('(module (global f64 (f64.const 1)))', DET), /global of type f32\/f64/, 'a float global');
  t.match(await check('(module (func (local i32 f32)))', DET), /function 0 has f32\/f64 locals/, 'a float local');
  // an imported f32/f64 global is as much "a global of type f32/f64" as a defined one
  t.match(await check('(module (import "env" "g" (global f64)) (func (result i32) global.get 0 drop i32.const 0))', DET), /f32\/f64/, 'an imported float global');
  t.match(await check('(module (func i32.const 0 f32.reinterpret_i32 drop))', DET), /`f32.reinterpret_i32`/, 'a reinterpretation');
  t.match(await check('(module (func v128.const i32x4 0 0 0 0 f32x4.sqrt drop))', DET), /`f32x4.sqrt`.*floats/, 'float SIMD');
  t.equal(
    await check('(module (func (param v128 v128) (result v128) local.get 0 local.get 1 i32x4.add))', DET),
    null,
    'integer SIMD is deterministic',
  );
  t.equal(
    await check(`(module (memory 1) (func (export "main") (param i32) (result i64)
      local.get 0 i64.extend_i32_u i64.const 3 i64.mul i32.const 0 i64.load offset=8 i64.add))`, DET),
    null,
    'an integer-only module passes',
  );

  try {
    prepare(b, DEFAULT_ENGINE_CONFIG.instrument, { ...DEFAULT_ENGINE_POLICY, deterministic: true });
    t.fail('prepare refuses');
  } catch (e) {
    t.ok(e instanceof RequestError && e.kind === 'policy_violation');
    t.match((e as Error).message, /f32\.convert_i32_s/);
  }
});

t.test('determinism policy: threads (atomics, shared memory)', async (t) => {
  const atomic = '(module (memory 1 1) (func (result i32) i32.const 0 i32.atomic.load))';
  t.equal(await check(atomic), null, 'atomics pass without the determinism policy');
  t.match(await check(atomic, DET), /`i32\.atomic\.load` at byte \d+: atomics \(threads\) are not allowed/);
  t.match(await check('(module (memory 1 1) (func atomic.fence))', DET), /`atomic\.fence`.*atomics/);
  t.match(
    await check('(module (memory 1 1) (func (result i32) i32.const 0 i32.const 1 memory.atomic.notify))', DET),
    /`memory\.atomic\.notify`/,
  );
  t.equal(await check('(module (memory 1 1 shared))'), null, 'shared memory passes without the determinism policy');
  t.equal(await check('(module (memory 1 1 shared))', DET), 'shared memory (threads) is not allowed by the determinism policy');
  t.equal(
    await check('(module (import "env" "m" (memory 1 1 shared)))', DET),
    'shared memory (threads) is not allowed by the determinism policy',
    'an imported shared memory too',
  );
  t.equal(await check('(module (memory 1 1))', DET), null, 'an unshared memory is fine');
});

t.test('determinism policy: relaxed SIMD', async (t) => {
  // through wabt (it encodes relaxed SIMD; V8 in Node 20 does not accept it, so only the policy runs)
  const viaWabt = await check(
    '(module (func (param v128 v128) (result v128) local.get 0 local.get 1 i8x16.relaxed_swizzle))',
    DET,
    { relaxed_simd: true },
  );
  t.match(viaWabt, /`i8x16\.relaxed_swizzle` at byte \d+: relaxed SIMD are not allowed/);

  // and by hand, for every relaxed opcode 0xFD 0x100..0x113: a function `(v128 x3) -> ()` whose body
  // is `local.get 0 .. 2`, the opcode, `drop` (operand types are irrelevant to the policy)
  const names: string[] = [];
  for (let sub = 0x100; sub <= 0x113; sub++) {
    const code = new ByteWriter().u32(0).byte(0x20).u32(0).byte(0x20).u32(1).byte(0x20).u32(2).byte(0xfd).u32(sub).byte(0x1a).byte(0x0b).finish();
    const w = new ByteWriter().bytes(Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
    const section = (id: number, payload: Uint8Array) => w.byte(id).u32(payload.length).bytes(payload);
    section(1, Uint8Array.from([1, 0x60, 3, 0x7b, 0x7b, 0x7b, 0]));
    section(3, Uint8Array.from([1, 0]));
    section(10, new ByteWriter().u32(1).u32(code.length).bytes(code).finish());
    const msg = checkPolicy(readModule(w.finish()), DET);
    const m = /^`([^`]+)` at byte (\d+): relaxed SIMD are not allowed/.exec(msg ?? '');
    if (m) names.push(m[1]!);
    else t.fail(`0xfd ${sub}: ${msg}`);
  }
  t.equal(names.length, 20, 'all 20 relaxed SIMD opcodes refused');
  t.ok(names.every((n) => n.includes('relaxed')), 'each named as relaxed');
  t.equal(checkPolicy(readModule(await wat('(module (func (param v128 v128) (result v128) local.get 0 local.get 1 i8x16.swizzle))')), DET), null, 'i8x16.swizzle is not relaxed');
});

t.test('memory.atomic.wait on a shared memory is refused under every policy', async (t) => {
  const waits = {
    wait32: '(module (memory 1 1 shared) (func (result i32) i32.const 0 i32.const 0 i64.const -1 memory.atomic.wait32))',
    wait64: '(module (import "env" "m" (memory 1 1 shared)) (func (result i32) i32.const 0 i64.const 0 i64.const -1 memory.atomic.wait64))',
  };
  for (const [name, src] of Object.entries(waits)) {
    t.match(await check(src), new RegExp(`^\`memory\\.atomic\\.${name}\` at byte \\d+ \\(function 0\\): waiting is not allowed: .*remove the wait`), name);
  }
  // notify and the other atomics stay allowed without the determinism policy
  t.equal(await check('(module (memory 1 1 shared) (func (result i32) i32.const 0 i32.const 1 memory.atomic.notify))'), null, 'notify passes');
  // on an unshared memory a wait traps at once (it holds nothing): the module passes
  t.equal(await check('(module (memory 1 1) (func (result i32) i32.const 0 i32.const 0 i64.const -1 memory.atomic.wait32))'), null, 'unshared: passes');
  // and the service refuses it at preparation
  const bytes = await wat(waits.wait32, { features: { threads: true } });
  t.throws(() => prepare(bytes, DEFAULT_ENGINE_CONFIG.instrument, DEFAULT_ENGINE_POLICY), /waiting is not allowed/);
});
