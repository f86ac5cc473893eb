/**
 * NaN canonicalization (`policy.floats: "canonicalize"`, docs/OPERATIONS.md): after every float
 * operator that can produce a NaN, the rewriter (instrument-body.ts) emits a select that replaces a
 * NaN result by the canonical NaN — f32 0x7fc00000, f64 0x7ff8000000000000, per lane for f32x4 and
 * f64x2 — as wasmtime's `cranelift_nan_canonicalization` does. A NaN's sign and payload are the one
 * thing about float results the wasm spec leaves to the hardware; with this, float code gives the same
 * bits on every CPU. The emitted code is metering's own: it costs no fuel (fuel stays wasmtime's) and
 * sits behind the operator, so `BodyTrace` maps every original instruction as before.
 *
 * Which operators: those of Cranelift's `nan_canonicalization.rs` (`is_fp_arith`) as the wasm
 * operators that lower to them: add, sub, mul, div, min, max, sqrt, ceil, floor, trunc, nearest,
 * f32.demote_f64 and f64.promote_f32, scalar and SIMD (f32x4.demote_f64x2_zero,
 * f64x2.promote_low_f32x4), and the relaxed SIMD ones lowered to fma/fmin/fmax (relaxed_madd,
 * relaxed_nmadd, relaxed_min, relaxed_max). Not: abs, neg, copysign (sign-bit operations), pmin/pmax
 * (a select of an operand), loads, constants, reinterpretations, conversions from integers (never NaN),
 * and call results. (Recent Cranelift also canonicalizes a call's single float result, for its own
 * libcalls such as `%CeilF32`, which wasm code never sees; a wasm callee's float results here come from
 * these same operators or from bit-exact loads and constants.) test/wasm/nan-canon-wasmtime.test.ts
 * compares the results with wasmtime's, bit for bit.
 *
 * Scalar, with a scratch local `$t` of the result type:
 *
 *     local.tee $t; fNN.const nan; local.get $t; local.get $t; fNN.eq; select
 *
 * (`$t == $t` is false only for a NaN: then the constant). SIMD, with a v128 scratch `$v`:
 *
 *     local.tee $v; v128.const nan×lanes; local.get $v; local.get $v; fNNxL.eq; v128.bitselect
 *
 * (the mask is all ones in the lanes that are not NaN: those keep their bits, the others get the NaN).
 */
import type { ByteWriter } from './leb.js';
import { FD, PREFIX_FD, SINGLE } from './opcodes.js';

/** The type of a canonicalized result: which scratch local and which constant. */
export const NanKind = { none: 0, f32: 1, f64: 2, f32x4: 3, f64x2: 4 } as const;
export type NanKind = (typeof NanKind)[keyof typeof NanKind];

/** The operators whose results are canonicalized, by name (see the file comment for the source). */
export const CANONICALIZED_OPERATORS: readonly string[] = [
  ...['f32', 'f64'].flatMap((t) =>
    ['add', 'sub', 'mul', 'div', 'min', 'max', 'sqrt', 'ceil', 'floor', 'trunc', 'nearest'].map((o) => `${t}.${o}`),
  ),
  'f32.demote_f64',
  'f64.promote_f32',
  ...['f32x4', 'f64x2'].flatMap((t) =>
    ['add', 'sub', 'mul', 'div', 'min', 'max', 'sqrt', 'ceil', 'floor', 'trunc', 'nearest', 'relaxed_madd', 'relaxed_nmadd', 'relaxed_min', 'relaxed_max'].map(
      (o) => `${t}.${o}`,
    ),
  ),
  'f32x4.demote_f64x2_zero',
  'f64x2.promote_low_f32x4',
];

const kindOfName = (name: string): NanKind =>
  name.startsWith('f32x4.') ? NanKind.f32x4 : name.startsWith('f64x2.') ? NanKind.f64x2 : name.startsWith('f32.') ? NanKind.f32 : NanKind.f64;

/** By single-byte opcode, and by 0xFD sub-opcode: the kind of result to canonicalize, or none. */
const SCALAR = new Uint8Array(256);
const SIMD = new Uint8Array(FD.names.length);
{
  const wanted = new Set(CANONICALIZED_OPERATORS);
  let found = 0;
  SINGLE.names.forEach((n, op) => {
    if (wanted.has(n)) (SCALAR[op] = kindOfName(n)), found++;
  });
  FD.names.forEach((n, sub) => {
    if (wanted.has(n)) (SIMD[sub] = kindOfName(n)), found++;
  });
  if (found !== wanted.size) throw new Error('nan-canon: an operator name is missing from the opcode table');
}

/** The kind of result operator `op` (`sub` for prefixed ones) leaves, when it is canonicalized. */
export function nanKind(op: number, sub = -1): NanKind {
  if (op === PREFIX_FD) return sub >= 0 && sub < SIMD.length ? (SIMD[sub] as NanKind) : NanKind.none;
  return op < 0xfc ? (SCALAR[op] as NanKind) : NanKind.none;
}

/** Scratch locals (indices) the emitted code uses: one per type, appended to the function's locals. */
export interface NanScratch {
  f32: number;
  f64: number;
  v128: number;
}

/** Value types of the scratch locals, in the order of `NanScratch` (the rewriter declares them). */
export const NAN_SCRATCH_TYPES = [0x7d, 0x7c, 0x7b] as const;

const F32_NAN = [0x00, 0x00, 0xc0, 0x7f]; // 0x7fc00000, little endian
const F64_NAN = [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf8, 0x7f]; // 0x7ff8000000000000
const SIMD_EQ = { [NanKind.f32x4]: 0x41, [NanKind.f64x2]: 0x47 } as const; // f32x4.eq, f64x2.eq
const V128_CONST = 0x0c;
const V128_BITSELECT = 0x52;

/** Emits the canonicalization of the value of kind `kind` on top of the stack (it stays there, canonical). */
export function emitCanonicalize(w: ByteWriter, kind: NanKind, s: NanScratch): void {
  switch (kind) {
    case NanKind.f32:
      w.byte(0x22).u32(s.f32); // local.tee
      w.byte(0x43).byte(F32_NAN[0]!).byte(F32_NAN[1]!).byte(F32_NAN[2]!).byte(F32_NAN[3]!); // f32.const nan
      w.byte(0x20).u32(s.f32).byte(0x20).u32(s.f32); // local.get ×2
      w.byte(0x5b); // f32.eq
      w.byte(0x1b); // select
      return;
    case NanKind.f64:
      w.byte(0x22).u32(s.f64);
      w.byte(0x44);
      for (const b of F64_NAN) w.byte(b); // f64.const nan
      w.byte(0x20).u32(s.f64).byte(0x20).u32(s.f64);
      w.byte(0x61); // f64.eq
      w.byte(0x1b);
      return;
    case NanKind.f32x4:
    case NanKind.f64x2: {
      const lane = kind === NanKind.f32x4 ? F32_NAN : F64_NAN;
      w.byte(0x22).u32(s.v128);
      w.byte(PREFIX_FD).u32(V128_CONST);
      for (let i = 0; i < 16; i += lane.length) for (const b of lane) w.byte(b);
      w.byte(0x20).u32(s.v128).byte(0x20).u32(s.v128);
      w.byte(PREFIX_FD).u32(SIMD_EQ[kind]);
      w.byte(PREFIX_FD).u32(V128_BITSELECT);
      return;
    }
    default:
      return;
  }
}
