/**
 * NaN canonicalization (`policy.floats: "canonicalize"`, src/wasm/nan-canon.ts): every NaN that a
 * canonicalized operator produces is the canonical NaN (f32 0x7fc00000, f64 0x7ff8000000000000, per
 * lane for f32x4/f64x2), every other result is bit for bit the hardware's; under "allow" results are the
 * hardware's (compared with the original module run by V8 unmetered). The added code costs no fuel, and
 * traps still map to exact fuel. Refusing floats, and how `floats` combines with `deterministic`.
 */
import t from 'tap';
import { DEFAULT_ENGINE_CONFIG, DEFAULT_ENGINE_POLICY, DEFAULT_LIMITS } from '../../src/engine/defaults.js';
import { RequestError } from '../../src/engine/errors.js';
import { type ExecutionResult, execute } from '../../src/engine/execute.js';
import { type PreparedModule, deriveVariant, exactVariant, prepare, preparedKey, settingsFor, settingsKey, variantOptions } from '../../src/engine/prepare.js';
import { decodeInstructions, instrName } from '../../src/wasm/instructions.js';
import { instrument, instrumentModule } from '../../src/wasm/instrument.js';
import { CANONICALIZED_OPERATORS, NanKind, nanKind } from '../../src/wasm/nan-canon.js';
import { FD, PREFIX_FD, SINGLE } from '../../src/wasm/opcodes.js';
import { DEFAULT_POLICY, type FloatsPolicy, type Policy, checkPolicy, floatsMode } from '../../src/wasm/policy.js';
import { readModule } from '../../src/wasm/reader.js';
import { wat } from '../support/wat.js';

const F32_CANON = 0x7fc00000;
const F64_CANON = 0x7ff8000000000000n;

const opcodeOf = (name: string): [number, number] => {
  const op = SINGLE.names.indexOf(name);
  if (op >= 0) return [op, -1];
  const sub = FD.names.indexOf(name);
  if (sub < 0) throw new Error(`no operator ${name}`);
  return [PREFIX_FD, sub];
};

t.test('the operator list: cranelift nan_canonicalization (is_fp_arith), as wasm operators', async (t) => {
  const scalar = ['add', 'sub', 'mul', 'div', 'min', 'max', 'sqrt', 'ceil', 'floor', 'trunc', 'nearest'];
  for (const ty of ['f32', 'f64', 'f32x4', 'f64x2']) {
    for (const o of scalar) {
      const [op, sub] = opcodeOf(`${ty}.${o}`);
      t.not(nanKind(op, sub), NanKind.none, `${ty}.${o} is canonicalized`);
    }
  }
  for (const n of ['f32.demote_f64', 'f64.promote_f32', 'f32x4.demote_f64x2_zero', 'f64x2.promote_low_f32x4', 'f32x4.relaxed_madd', 'f64x2.relaxed_nmadd', 'f32x4.relaxed_min', 'f64x2.relaxed_max']) {
    t.not(nanKind(...opcodeOf(n)), NanKind.none, `${n} is canonicalized`);
  }
  t.equal(nanKind(...opcodeOf('f32.demote_f64')), NanKind.f32, 'demote: an f32 result');
  t.equal(nanKind(...opcodeOf('f64.promote_f32')), NanKind.f64, 'promote: an f64 result');
  t.equal(nanKind(...opcodeOf('f32x4.demote_f64x2_zero')), NanKind.f32x4);
  t.equal(nanKind(...opcodeOf('f64x2.promote_low_f32x4')), NanKind.f64x2);
  const not = [
    'f32.abs', 'f32.neg', 'f32.copysign', 'f64.abs', 'f64.neg', 'f64.copysign', 'f32x4.abs', 'f32x4.neg', 'f64x2.abs', 'f64x2.neg',
    'f32x4.pmin', 'f32x4.pmax', 'f64x2.pmin', 'f64x2.pmax', 'f32.load', 'f64.load', 'f32.const', 'f64.const', 'v128.const',
    'f32.reinterpret_i32', 'f64.reinterpret_i64', 'f32.convert_i32_s', 'f64.convert_i64_u', 'f32x4.convert_i32x4_s',
    'f32.eq', 'f64.lt', 'f32x4.eq', 'i32.trunc_f32_s', 'f32x4.splat', 'f32x4.extract_lane', 'f64x2.replace_lane', 'i32.add', 'call', 'select',
  ];
  for (const n of not) t.equal(nanKind(...opcodeOf(n)), NanKind.none, `${n} is not canonicalized`);
  t.equal(CANONICALIZED_OPERATORS.length, new Set(CANONICALIZED_OPERATORS).size, 'no duplicates');
  t.equal(CANONICALIZED_OPERATORS.length, 4 * 11 + 4 + 2 * 4, '48 operators');
});

// ---------------------------------------------------------------------------------------------
// Scalar results, bit for bit: the original run by V8 unmetered ("raw"), metered under allow, and
// canonicalized (the standalone variant, called directly).

const F32_BIN = ['add', 'sub', 'mul', 'div', 'min', 'max', 'copysign'];
const F32_UN = ['sqrt', 'ceil', 'floor', 'trunc', 'nearest', 'abs', 'neg'];
const bitOps = new Set(['abs', 'neg', 'copysign']);

const scalarSrc = `(module
  ${F32_BIN.map((o) => `(func (export "f32.${o}") (param i32 i32) (result i32)
    local.get 0 f32.reinterpret_i32 local.get 1 f32.reinterpret_i32 f32.${o} i32.reinterpret_f32)
  (func (export "f64.${o}") (param i64 i64) (result i64)
    local.get 0 f64.reinterpret_i64 local.get 1 f64.reinterpret_i64 f64.${o} i64.reinterpret_f64)`).join('\n')}
  ${F32_UN.map((o) => `(func (export "f32.${o}") (param i32) (result i32) local.get 0 f32.reinterpret_i32 f32.${o} i32.reinterpret_f32)
  (func (export "f64.${o}") (param i64) (result i64) local.get 0 f64.reinterpret_i64 f64.${o} i64.reinterpret_f64)`).join('\n')}
  (func (export "f32.demote_f64") (param i64) (result i32) local.get 0 f64.reinterpret_i64 f32.demote_f64 i32.reinterpret_f32)
  (func (export "f64.promote_f32") (param i32) (result i64) local.get 0 f32.reinterpret_i32 f64.promote_f32 i64.reinterpret_f64)
  ;; a NaN kept in a local and passed through arithmetic twice, and a chain of operators
  (func (export "f32.chain") (param i32 i32) (result i32) (local f32)
    local.get 0 f32.reinterpret_i32 local.tee 2 local.get 1 f32.reinterpret_i32 f32.mul
    local.get 2 f32.add f32.sqrt f32.neg i32.reinterpret_f32))`;

type Exports = Record<string, (...a: any[]) => any>;

async function variants(src: string) {
  const bytes = await wat(src);
  const inst = (b: Uint8Array) => new WebAssembly.Instance(new WebAssembly.Module(b as BufferSource)).exports as unknown as Exports;
  const standalone = { fuel: 1n << 50n, stackBytes: 1 << 20 };
  return {
    bytes,
    raw: inst(bytes),
    allow: inst(instrument(bytes, { standalone })),
    canon: inst(instrument(bytes, { standalone, canonicalizeNaN: true })),
  };
}

const isNaN32 = (b: number) => (b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0;
const isNaN64 = (b: bigint) => (b & 0x7ff0000000000000n) === 0x7ff0000000000000n && (b & 0xfffffffffffffn) !== 0n;
const u32 = (x: number) => x >>> 0;
const u64 = (x: bigint) => BigInt.asUintN(64, x);
const hex = (x: number | bigint) => `0x${x.toString(16)}`;

// f32 operands: zeros, ones, infinities, quiet and signalling NaNs with payloads and either sign, denormals, extremes
const F32_VALUES = [
  0, 0x80000000, 0x3f800000, 0xbf800000, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000, 0x7fa00001, 0xffa00001, 0x7f800001,
  0x7fffffff, 0x00000001, 0x807fffff, 0x7f7fffff, 0x40490fdb, 0xc0000000, 0x3effffff,
];
const F64_VALUES = [
  0n, 0x8000000000000000n, 0x3ff0000000000000n, 0xbff0000000000000n, 0x7ff0000000000000n, 0xfff0000000000000n, 0x7ff8000000000000n,
  0xfff8000000000000n, 0x7ff4000000000001n, 0xfff4000000000001n, 0x7ff0000000000001n, 0x7fffffffffffffffn, 1n, 0x800fffffffffffffn,
  0x7fefffffffffffffn, 0x400921fb54442d18n, 0xc000000000000000n, 0x3fdfffffffffffffn,
];
const toI32 = (x: number) => x | 0;
const toI64 = (x: bigint) => BigInt.asIntN(64, x);

t.test('scalar f32 and f64: NaN results canonical, all others bit-identical; allow is the hardware result', async (t) => {
  const { raw, allow, canon } = await variants(scalarSrc);
  let nans = 0;
  let nonCanonicalRaw = 0;
  let exact = 0;
  let bad = 0;
  const check = (name: string, r: number | bigint, a: number | bigint, c: number | bigint, f64: boolean, bitOp: boolean) => {
    if (a !== r) {
      bad++;
      t.fail(`${name}: allow ${hex(a)} differs from the unmetered ${hex(r)}`);
    }
    const nan = f64 ? isNaN64(r as bigint) : isNaN32(r as number);
    const want = nan && !bitOp ? (f64 ? F64_CANON : F32_CANON) : r;
    if (c !== want) {
      bad++;
      t.fail(`${name}: canonicalize gave ${hex(c)}, want ${hex(want)}`);
    }
    if (nan) {
      nans++;
      if (r !== (f64 ? F64_CANON : F32_CANON)) nonCanonicalRaw++;
    } else exact++;
  };
  for (const o of F32_BIN) {
    for (const x of F32_VALUES) {
      for (const y of F32_VALUES) {
        const n = `f32.${o}(${hex(x)}, ${hex(y)})`;
        check(n, u32(raw[`f32.${o}`]!(toI32(x), toI32(y))), u32(allow[`f32.${o}`]!(toI32(x), toI32(y))), u32(canon[`f32.${o}`]!(toI32(x), toI32(y))), false, bitOps.has(o));
      }
    }
    for (const x of F64_VALUES) {
      for (const y of F64_VALUES) {
        const n = `f64.${o}(${hex(x)}, ${hex(y)})`;
        check(n, u64(raw[`f64.${o}`]!(toI64(x), toI64(y))), u64(allow[`f64.${o}`]!(toI64(x), toI64(y))), u64(canon[`f64.${o}`]!(toI64(x), toI64(y))), true, bitOps.has(o));
      }
    }
  }
  for (const o of F32_UN) {
    for (const x of F32_VALUES) check(`f32.${o}(${hex(x)})`, u32(raw[`f32.${o}`]!(toI32(x))), u32(allow[`f32.${o}`]!(toI32(x))), u32(canon[`f32.${o}`]!(toI32(x))), false, bitOps.has(o));
    for (const x of F64_VALUES) check(`f64.${o}(${hex(x)})`, u64(raw[`f64.${o}`]!(toI64(x))), u64(allow[`f64.${o}`]!(toI64(x))), u64(canon[`f64.${o}`]!(toI64(x))), true, bitOps.has(o));
  }
  for (const x of F64_VALUES) check(`f32.demote_f64(${hex(x)})`, u32(raw['f32.demote_f64']!(toI64(x))), u32(allow['f32.demote_f64']!(toI64(x))), u32(canon['f32.demote_f64']!(toI64(x))), false, false);
  for (const x of F32_VALUES) check(`f64.promote_f32(${hex(x)})`, u64(raw['f64.promote_f32']!(toI32(x))), u64(allow['f64.promote_f32']!(toI32(x))), u64(canon['f64.promote_f32']!(toI32(x))), true, false);
  t.equal(bad, 0, 'every result as expected');
  t.ok(nans > 500 && exact > 500, `both kinds covered (${nans} NaN results, ${exact} others)`);
  t.ok(nonCanonicalRaw > 0, `the hardware gives non-canonical NaNs (${nonCanonicalRaw} of ${nans}): the canonical ones are the rewriter's doing`);

  // the named cases
  const f = (n: string, ...a: number[]) => u32(canon[n]!(...a.map(toI32)));
  const F32 = { zero: 0, one: 0x3f800000, minusOne: 0xbf800000, inf: 0x7f800000, payload: 0x7fa00001 };
  t.equal(f('f32.div', F32.zero, F32.zero), F32_CANON, '0/0');
  t.equal(f('f32.sqrt', F32.minusOne), F32_CANON, 'sqrt(-1)');
  t.equal(f('f32.sub', F32.inf, F32.inf), F32_CANON, 'inf - inf');
  t.equal(f('f32.add', F32.payload, F32.zero), F32_CANON, 'nan:0x200001 + 0');
  t.equal(u32(raw['f32.add']!(toI32(F32.payload), 0)), 0x7fe00001, 'unmetered: the payload propagates, quieted');
  t.equal(u32(allow['f32.add']!(toI32(F32.payload), 0)), 0x7fe00001, 'allow: the same');
  t.equal(f('f32.min', F32.payload, F32.one), F32_CANON, 'min with a NaN operand');
  t.equal(f('f32.max', F32.one, 0xffa00001), F32_CANON, 'max with a negative NaN operand');
  t.equal(f('f32.neg', F32.payload), 0xffa00001, 'neg only flips the sign, even of a NaN');
  t.equal(f('f32.abs', 0xffa00001), F32.payload, 'abs only clears it');
  t.equal(f('f32.copysign', F32.payload, F32.minusOne), 0xffa00001, 'copysign');
  t.equal(f('f32.add', F32.one, F32.one), 0x40000000, '1 + 1 = 2');
  t.equal(f('f32.chain', F32.payload, F32.one), 0xffc00000, 'chain: canonical after sqrt, then neg flips the sign');
  t.equal(u32(raw['f32.chain']!(toI32(F32.payload), toI32(F32.one))), u32(allow['f32.chain']!(toI32(F32.payload), toI32(F32.one))), 'chain: allow as unmetered');
  const g = (n: string, ...a: bigint[]) => u64(canon[n]!(...a.map(toI64)));
  t.equal(g('f64.div', 0n, 0n), F64_CANON, 'f64 0/0');
  t.equal(g('f64.sqrt', 0xbff0000000000000n), F64_CANON, 'f64 sqrt(-1)');
  t.equal(g('f64.sub', 0x7ff0000000000000n, 0x7ff0000000000000n), F64_CANON, 'f64 inf - inf');
  t.equal(g('f64.add', 0x7ff4000000000001n, 0n), F64_CANON, 'f64 NaN payload + 0');
  t.equal(u64(raw['f64.add']!(toI64(0x7ff4000000000001n), 0n)), 0x7ffc000000000001n, 'unmetered f64: the payload propagates');
  t.equal(u64(canon['f64.promote_f32']!(toI32(F32.payload))), F64_CANON, 'promote of a NaN');
  t.equal(u32(canon['f32.demote_f64']!(toI64(0x7ff4000000000001n))), F32_CANON, 'demote of a NaN');
});

// ---------------------------------------------------------------------------------------------
// SIMD: lanes through memory (the result vector is stored at 0).

const V_BIN = ['add', 'sub', 'mul', 'div', 'min', 'max', 'pmin', 'pmax'];
const V_UN = ['sqrt', 'ceil', 'floor', 'trunc', 'nearest', 'abs', 'neg'];
const simdSrc = `(module (memory (export "mem") 1)
  ${['f32x4', 'f64x2']
    .map((ty) =>
      [
        ...V_BIN.map((o) => `(func (export "${ty}.${o}") (v128.store (i32.const 0) (${ty}.${o} (v128.load (i32.const 16)) (v128.load (i32.const 32)))))`),
        ...V_UN.map((o) => `(func (export "${ty}.${o}") (v128.store (i32.const 0) (${ty}.${o} (v128.load (i32.const 16)))))`),
      ].join('\n'),
    )
    .join('\n')}
  (func (export "f32x4.demote_f64x2_zero") (v128.store (i32.const 0) (f32x4.demote_f64x2_zero (v128.load (i32.const 16)))))
  (func (export "f64x2.promote_low_f32x4") (v128.store (i32.const 0) (f64x2.promote_low_f32x4 (v128.load (i32.const 16))))))`;

t.test('SIMD f32x4 and f64x2: NaN lanes canonical, the other lanes exact', async (t) => {
  const { raw, allow, canon } = await variants(simdSrc);
  const mems = [raw, allow, canon].map((e) => e.mem as unknown as WebAssembly.Memory);
  const run = (k: number, name: string, a: Uint8Array, b: Uint8Array): Uint8Array => {
    const m = new Uint8Array(mems[k]!.buffer);
    m.set(a, 16);
    m.set(b, 32);
    [raw, allow, canon][k]![name]!();
    return m.slice(0, 16);
  };
  const v32 = (...l: number[]) => new Uint8Array(Uint32Array.from(l).buffer);
  const v64 = (...l: bigint[]) => new Uint8Array(BigUint64Array.from(l).buffer);
  let bad = 0;
  let nanLanes = 0;
  let mixed = 0;
  const expectLanes = (name: string, a: Uint8Array, b: Uint8Array, f64Result: boolean, bitOp: boolean) => {
    const r = run(0, name, a, b);
    const al = run(1, name, a, b);
    const c = run(2, name, a, b);
    if (Buffer.compare(r, al) !== 0) {
      bad++;
      t.fail(`${name}: allow differs from unmetered`);
    }
    const want = new Uint8Array(r);
    let lanesNaN = 0;
    if (f64Result) {
      const w = new BigUint64Array(want.buffer);
      for (let i = 0; i < 2; i++) if (isNaN64(w[i]!)) (lanesNaN++, bitOp || (w[i] = F64_CANON));
    } else {
      const w = new Uint32Array(want.buffer);
      for (let i = 0; i < 4; i++) if (isNaN32(w[i]!)) (lanesNaN++, bitOp || (w[i] = F32_CANON));
    }
    nanLanes += lanesNaN;
    if (lanesNaN > 0 && lanesNaN < (f64Result ? 2 : 4)) mixed++;
    if (Buffer.compare(c, want) !== 0) {
      bad++;
      t.fail(`${name}(${Buffer.from(a).toString('hex')}, ${Buffer.from(b).toString('hex')}): canonicalize ${Buffer.from(c).toString('hex')}, want ${Buffer.from(want).toString('hex')}`);
    }
  };
  // every pair of scalar values, four (two) lanes at a time, rotated so lanes mix NaN and non-NaN
  for (const o of [...V_BIN, ...V_UN]) {
    const bit = o === 'abs' || o === 'neg' || o === 'pmin' || o === 'pmax';
    for (let i = 0; i < F32_VALUES.length; i++) {
      for (let j = 0; j < F32_VALUES.length; j += 4) {
        const a = v32(...[0, 1, 2, 3].map((k) => F32_VALUES[(i + k) % F32_VALUES.length]!));
        const b = v32(...[0, 1, 2, 3].map((k) => F32_VALUES[(j + k * 5) % F32_VALUES.length]!));
        expectLanes(`f32x4.${o}`, a, b, false, bit);
      }
      for (let j = 0; j < F64_VALUES.length; j += 2) {
        const a = v64(F64_VALUES[i]!, F64_VALUES[(i + 7) % F64_VALUES.length]!);
        const b = v64(F64_VALUES[j]!, F64_VALUES[(j + 3) % F64_VALUES.length]!);
        expectLanes(`f64x2.${o}`, a, b, true, bit);
      }
    }
  }
  for (let i = 0; i < F64_VALUES.length; i++) expectLanes('f32x4.demote_f64x2_zero', v64(F64_VALUES[i]!, F64_VALUES[(i + 5) % F64_VALUES.length]!), v32(), false, false);
  for (let i = 0; i < F32_VALUES.length; i++) expectLanes('f64x2.promote_low_f32x4', v32(F32_VALUES[i]!, F32_VALUES[(i + 5) % F32_VALUES.length]!, 0, 0), v32(), true, false);
  t.equal(bad, 0, 'every lane as expected');
  t.ok(nanLanes > 200 && mixed > 100, `NaN lanes (${nanLanes}) and vectors mixing NaN and other lanes (${mixed}) covered`);

  // the named case: [0/0, 1/1, nan:payload + 0 , 2/1] keeps lanes 1 and 3 exact
  const a = v32(0, 0x3f800000, 0x7fa00001, 0x40000000);
  const b = v32(0, 0x3f800000, 0, 0x3f800000);
  t.same([...new Uint32Array(run(2, 'f32x4.div', a, b).buffer)], [F32_CANON, 0x3f800000, F32_CANON, 0x40000000], 'f32x4.div: NaN lanes canonical, others exact');
  t.same([...new Uint32Array(run(0, 'f32x4.div', a, b).buffer)].slice(1), [0x3f800000, 0x7fe00001, 0x40000000], 'unmetered: the payload lane is not canonical');
  t.same([...new BigUint64Array(run(2, 'f64x2.sqrt', v64(0xbff0000000000000n, 0x4010000000000000n), v64()).buffer)], [F64_CANON, 0x4000000000000000n], 'f64x2.sqrt [-1, 4] = [NaN, 2]');
});

// ---------------------------------------------------------------------------------------------
// Through the engine: policy, prepare, fuel, traps.

const HUGE: Policy = { ...DEFAULT_POLICY, maxModuleBytes: 1 << 30 };
const policy = (floats: FloatsPolicy, deterministic = false): Policy => ({ ...DEFAULT_ENGINE_POLICY, floats, deterministic });
const settings = DEFAULT_ENGINE_CONFIG.instrument;

async function run(p: PreparedModule, entry = 'main', args: unknown[] = [], fuel = DEFAULT_LIMITS.fuel): Promise<ExecutionResult> {
  return execute(
    { contract: p, library: null, entrypoint: entry, args, limits: { fuel, memoryBytes: DEFAULT_LIMITS.memoryBytes, timeoutMs: DEFAULT_LIMITS.timeoutMs } },
    DEFAULT_ENGINE_CONFIG,
  );
}

// float work in a loop with calls, a NaN kept across iterations, the result's bits returned
const LOOP = `(module (memory 1)
  (func $step (param f32 f32) (result f32) local.get 0 local.get 1 f32.mul f32.sqrt local.get 1 f32.sub)
  (func (export "main") (param i32) (result i32) (local f32 f64 v128)
    f32.const 1 local.set 1
    (loop $l
      local.get 1 local.get 0 f32.convert_i32_s call $step
      f32.const 0 f32.const 0 f32.div f32.add local.set 1
      local.get 1 f64.promote_f32 f64.const -1 f64.sqrt f64.max local.set 2
      local.get 3 local.get 1 f32x4.splat f32x4.add local.set 3
      local.get 0 i32.const 1 i32.sub local.tee 0 br_if $l)
    local.get 1 i32.reinterpret_f32
    local.get 2 i64.reinterpret_f64 i64.const 32 i64.shr_u i32.wrap_i64 i32.xor
    local.get 3 i32x4.extract_lane 2 i32.xor)
  ;; a trap mid-block after canonicalized operators: the conversion of a NaN
  (func (export "trap") (param i32) (result i32)
    local.get 0 f32.convert_i32_s f32.const 0 f32.mul f32.const 0 f32.div f32.sqrt
    i32.trunc_f32_s
    i32.const 1 i32.add i32.const 2 i32.mul)
  ;; a trap mid-block in a later block: an out-of-bounds load after float work
  (func (export "oob") (param i32) (result i32)
    (block local.get 0 f64.convert_i32_s f64.const 0 f64.div f64.sqrt i64.reinterpret_f64 drop)
    local.get 0 f32.convert_i32_s f32.const 1 f32.add f32.const 1 f32.sub drop
    i32.const 100000 i32.load
    i32.const 1 i32.add i32.const 2 i32.add))`;

t.test('prepared under canonicalize: the key, the options, the variants', async (t) => {
  const b = await wat(LOOP);
  const allow = prepare(b, settings, policy('allow'));
  const canon = prepare(b, settings, policy('canonicalize'));
  t.equal(allow.settingsKey, settingsKey(settings), 'allow: the key as before');
  t.equal(canon.settingsKey, settingsKey({ ...settings, canonicalizeNaN: true }));
  t.match(canon.settingsKey, /:nan/);
  t.not(preparedKey(allow), preparedKey(canon), 'a module prepared under another float policy is not reused');
  t.equal(canon.settings.canonicalizeNaN, true);
  t.equal(variantOptions(canon).canonicalizeNaN, true, 'refund re-traces with it (variantOptions)');
  t.notOk('canonicalizeNaN' in variantOptions(allow), 'allow: the options as before');
  t.equal(exactVariant(canon).settings.canonicalizeNaN, true, 'the exact variant canonicalizes too');
  t.match(exactVariant(canon).settingsKey, /:nan/);
  const shared = deriveVariant(canon, 'shared');
  t.match(shared.settingsKey, /:nan:shared$/, 'so does the shared variant');
  t.same(settingsFor(settings, policy('allow')), settings, 'settingsFor: allow leaves the settings');
  t.equal(settingsFor(settings, policy('canonicalize')).canonicalizeNaN, true);
  t.equal(settingsFor(settings, policy('allow', true)), settings);
  // "allow" instruments exactly as before the option existed
  const m = readModule(b);
  const before = instrumentModule(m, variantOptions(allow)).bytes;
  const explicit = instrumentModule(m, { ...variantOptions(allow), canonicalizeNaN: false }).bytes;
  t.same(Buffer.from(explicit), Buffer.from(before), 'canonicalizeNaN: false changes no byte');
  t.not(Buffer.compare(Buffer.from(instrumentModule(m, variantOptions(canon)).bytes), Buffer.from(before)), 0, 'canonicalize changes the code');
  const intOnly = readModule(await wat('(module (func (export "main") (param i32) (result i32) local.get 0 i32.const 1 i32.add))'));
  t.same(
    Buffer.from(instrumentModule(intOnly, { ...variantOptions(allow), canonicalizeNaN: true }).bytes),
    Buffer.from(instrumentModule(intOnly, variantOptions(allow)).bytes),
    'a body without float arithmetic is unchanged (no scratch locals either)',
  );
});

t.test('fuel is identical under allow and canonicalize; traps keep exact fuel', async (t) => {
  const b = await wat(LOOP);
  const allow = prepare(b, settings, policy('allow'));
  const canon = prepare(b, settings, policy('canonicalize'));
  for (const n of [1, 2, 10, 1000]) {
    const [ra, rc] = [await run(allow, 'main', [n]), await run(canon, 'main', [n])];
    t.equal(ra.ok && rc.ok, true, `main(${n}) runs`);
    t.equal(rc.fuel.consumed, ra.fuel.consumed, `main(${n}): ${ra.fuel.consumed} fuel both ways`);
  }
  // the bits: the NaN is canonical in all three accumulators
  const r = await run(canon, 'main', [5]);
  t.same(r.result?.values, [(F32_CANON ^ 0x7ff80000 ^ F32_CANON) | 0], 'canonical NaNs (f32 ^ high word of the f64 ^ lane 2)');
  // out of fuel at every budget near the end: same outcome, same fuel
  const full = (await run(allow, 'main', [10])).fuel.consumed;
  for (const fuel of [full - 1, full - 7, Math.floor(full / 2), 3]) {
    const [ra, rc] = [await run(allow, 'main', [10], fuel), await run(canon, 'main', [10], fuel)];
    t.equal(rc.error?.kind, 'out_of_fuel', `fuel ${fuel}: out of fuel`);
    t.equal(ra.error?.kind, 'out_of_fuel');
    t.equal(rc.fuel.consumed, ra.fuel.consumed, `fuel ${fuel}: the same consumption`);
  }
  // traps mid-block: refunded to the trapping instruction, the same both ways
  // trap: entry 1 + local.get, convert, const, mul, const, div, sqrt, trunc = 9 (the three after it refunded)
  for (const [entry, want] of [
    ['trap', 9],
    // oob: entry 1; the block's 6 operators (drop is free); 6 more; i32.const, i32.load
    ['oob', 1 + 6 + 6 + 2],
  ] as const) {
    const [ra, rc] = [await run(allow, entry, [3]), await run(canon, entry, [3])];
    t.equal(rc.error?.kind, 'trap', `${entry}: traps`);
    t.equal(ra.error?.kind, 'trap');
    t.equal(ra.fuel.consumed, want, `${entry}: allow, exact fuel ${want}`);
    t.equal(rc.fuel.consumed, want, `${entry}: canonicalize, the same exact fuel`);
    t.equal(rc.error?.message, ra.error?.message, `${entry}: the same message`);
  }
});

t.test('policy: refuse, allow, canonicalize, and deterministic', async (t) => {
  t.equal(floatsMode({ deterministic: false }), 'allow', 'unset: allow');
  t.equal(floatsMode({ deterministic: true }), 'refuse', 'deterministic alone refuses floats, as before');
  t.equal(floatsMode({ deterministic: true, floats: 'allow' }), 'refuse', 'deterministic turns allow into refuse');
  t.equal(floatsMode({ deterministic: true, floats: 'canonicalize' }), 'canonicalize', 'canonicalize satisfies determinism');
  t.equal(floatsMode({ deterministic: false, floats: 'canonicalize' }), 'canonicalize');
  t.equal(floatsMode({ deterministic: false, floats: 'refuse' }), 'refuse');
  t.equal(DEFAULT_POLICY.floats, 'allow', 'the default');

  const b = await wat(`(module (func (export "main") (result i32) i32.const 0 i32.const 0 f32.convert_i32_s f32.const 0 f32.div i32.reinterpret_f32 i32.add))`);
  const m = readModule(b);
  const at = decodeInstructions(b, m.code[0]!.codeStart, m.code[0]!.body.end).find((i) => instrName(i) === 'f32.convert_i32_s')!.at;
  t.equal(checkPolicy(m, { ...HUGE, floats: 'refuse' }), `\`f32.convert_i32_s\` at byte ${at}: floats are not allowed by the float policy`, 'refuse names the operator');
  t.equal(checkPolicy(m, { ...HUGE, deterministic: true }), `\`f32.convert_i32_s\` at byte ${at}: floats are not allowed by the determinism policy`, 'deterministic: the message as before');
  t.equal(checkPolicy(m, { ...HUGE, deterministic: true, floats: 'refuse' }), `\`f32.convert_i32_s\` at byte ${at}: floats are not allowed by the float policy`);
  t.equal(checkPolicy(m, { ...HUGE, deterministic: true, floats: 'canonicalize' }), null, 'deterministic + canonicalize accepts floats');
  t.equal(checkPolicy(m, { ...HUGE, floats: 'canonicalize' }), null);
  t.match(checkPolicy(readModule(await wat('(module (func (param f64)))')), { ...HUGE, floats: 'refuse' }), /function type uses f32\/f64: floats are not allowed by the float policy/);
  t.match(checkPolicy(readModule(await wat('(module (global f32 (f32.const 0)))')), { ...HUGE, floats: 'refuse' }), /global of type f32\/f64/);
  t.match(checkPolicy(readModule(await wat('(module (func (local f32)))')), { ...HUGE, floats: 'refuse' }), /function 0 has f32\/f64 locals/);
  t.match(checkPolicy(readModule(await wat('(module (func v128.const i32x4 0 0 0 0 f64x2.add drop))')), { ...HUGE, floats: 'refuse' }), /`f64x2.add`.*floats/, 'float SIMD');

  // deterministic + canonicalize still refuses threads and relaxed SIMD; floats: refuse alone does not
  const atomics = readModule(await wat('(module (memory 1 1 shared) (func (result i32) i32.const 0 i32.atomic.load))'));
  const atomicOp = readModule(await wat('(module (memory 1) (func (result i32) i32.const 0 i32.atomic.load))'));
  const relaxed = readModule(await wat('(module (func (param v128 v128) (result v128) local.get 0 local.get 1 i8x16.relaxed_swizzle))', { features: { relaxed_simd: true } }));
  for (const [what, mod, re] of [['shared memory', atomics, /shared memory \(threads\)/], ['atomics', atomicOp, /atomics \(threads\)/], ['relaxed SIMD', relaxed, /relaxed SIMD/]] as const) {
    t.match(checkPolicy(mod, { ...HUGE, deterministic: true, floats: 'canonicalize' }), re, `deterministic + canonicalize: ${what} refused`);
    t.equal(checkPolicy(mod, { ...HUGE, floats: 'refuse' }), null, `floats refuse alone: ${what} allowed`);
    t.equal(checkPolicy(mod, { ...HUGE, floats: 'canonicalize' }), null, `canonicalize alone: ${what} allowed`);
  }

  // through prepare: a policy_violation; and deterministic + canonicalize prepares a canonicalizing module
  try {
    prepare(b, settings, policy('refuse'));
    t.fail('refused');
  } catch (e) {
    t.ok(e instanceof RequestError && e.kind === 'policy_violation', 'policy_violation');
    t.match((e as Error).message, /`f32.convert_i32_s` at byte \d+: floats are not allowed by the float policy/);
  }
  const det = prepare(b, settings, policy('canonicalize', true));
  t.equal(det.settings.canonicalizeNaN, true);
  const r = await run(det);
  t.same(r.result?.values, [F32_CANON | 0], '0/0 through the engine: the canonical NaN');
  const b2 = await wat(`(module (func (export "main") (result i32) f32.const 0 f32.const 0 f32.div i32.reinterpret_f32))`);
  const allowed = await run(prepare(b2, settings, policy('allow')));
  const canon = await run(prepare(b2, settings, policy('canonicalize')));
  t.same(canon.result?.values, [F32_CANON | 0], '0/0 canonical');
  const rawBits = (new WebAssembly.Instance(new WebAssembly.Module(b2 as BufferSource)).exports.main as () => number)();
  t.same(allowed.result?.values, [rawBits], `allow: the hardware's 0/0 (${hex(u32(rawBits))})`);
});
