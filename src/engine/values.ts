/**
 * JSON values ↔ wasm values by signature: i32/f32/f64 as JSON numbers, i64 as decimal strings. The
 * floats a JSON number does not carry are strings: "NaN", "Infinity", "-Infinity", and negative zero
 * "-0" (JSON.stringify, and most JSON writers, print -0 as 0; its sign is a result like any other:
 * 1/x tells them apart). As arguments those strings are accepted, and so is a literal -0 number.
 */
import { type FuncType, VALTYPE_NAMES, ValType } from '../wasm/module.js';
import { badRequest } from './errors.js';

export type JsonValue = number | string;

const FLOAT_STRINGS = new Map<string, number>([['NaN', NaN], ['Infinity', Infinity], ['-Infinity', -Infinity], ['-0', -0]]);

const I64_MIN = -(2n ** 63n);
const U64_MAX = 2n ** 64n - 1n;

export function checkSignatureSupported(t: FuncType, entry: string): void {
  for (const v of [...t.params, ...t.results]) {
    if (v !== ValType.i32 && v !== ValType.i64 && v !== ValType.f32 && v !== ValType.f64) {
      throw badRequest(`entrypoint \`${entry}\` uses ${VALTYPE_NAMES[v] ?? 'an unknown type'}, which JSON arguments and results cannot carry`);
    }
  }
}

export function toWasmArgs(t: FuncType, args: unknown[], entry: string): Array<number | bigint> {
  if (args.length !== t.params.length) {
    throw badRequest(`entrypoint \`${entry}\` takes ${t.params.length} argument(s) (${t.params.map((p) => VALTYPE_NAMES[p]).join(', ')}), got ${args.length}`);
  }
  return t.params.map((type, i) => toWasm(type, args[i], `argument ${i} of \`${entry}\``));
}

function toWasm(type: number, v: unknown, what: string): number | bigint {
  switch (type) {
    case ValType.i32: {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < -(2 ** 31) || v > 2 ** 32 - 1) {
        throw badRequest(`${what} must be an i32: an integer number from -2147483648 to 4294967295`);
      }
      return v | 0;
    }
    case ValType.i64: {
      let b: bigint;
      if (typeof v === 'string' && /^-?\d+$/.test(v)) b = BigInt(v);
      else if (typeof v === 'number' && Number.isSafeInteger(v)) b = BigInt(v);
      else throw badRequest(`${what} must be an i64 as a decimal string, e.g. "-5"`);
      if (b < I64_MIN || b > U64_MAX) throw badRequest(`${what} is out of the i64 range`);
      return BigInt.asIntN(64, b);
    }
    default: {
      if (typeof v === 'number') return v;
      const special = typeof v === 'string' ? FLOAT_STRINGS.get(v) : undefined;
      if (special !== undefined) return special;
      throw badRequest(`${what} must be a ${VALTYPE_NAMES[type]}: a number, or "NaN", "Infinity", "-Infinity", "-0"`);
    }
  }
}

export function fromWasmResults(t: FuncType, raw: unknown): JsonValue[] {
  const list = t.results.length === 0 ? [] : t.results.length === 1 ? [raw] : (raw as unknown[]);
  return t.results.map((type, i) => fromWasm(type, list[i]));
}

function fromWasm(type: number, v: unknown): JsonValue {
  if (type === ValType.i64) return (v as bigint).toString();
  const n = v as number;
  if (Number.isFinite(n)) return Object.is(n, -0) ? '-0' : n;
  return Number.isNaN(n) ? 'NaN' : n > 0 ? 'Infinity' : '-Infinity';
}
