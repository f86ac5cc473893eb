/**
 * Reading the JSON of `iroha-context` / `iroha-answer` with the path of every value, so that a mistake
 * is a `bad_request` naming where it is and the form expected there:
 * "ctx.json: $.curr_block.height: expected an integer from 1 (genesis is 1), got 0".
 */
import { badRequest, type RequestError } from '../../engine/errors.js';

/** A JSON value and where it is (`$.target.Mint.Asset.object`), in the input named `source`. */
export interface At {
  value: unknown;
  path: string;
  source: string;
}

export const root = (value: unknown, source: string): At => ({ value, path: '$', source });

const show = (v: unknown): string => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 60)}…` : s;
};

/** The error at `at`: "<source>: <path>: expected <what>, got <value>". */
export function expected(at: At, what: string, got = true): RequestError {
  return badRequest(`${at.source}: ${at.path}: expected ${what}${got ? `, got ${at.value === undefined ? 'nothing' : show(at.value)}` : ''}`);
}

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `at` as an object with only `allowed` keys (an unknown key is named with the ones allowed). */
export function object(at: At, what: string, allowed: readonly string[]): Record<string, unknown> {
  if (!isObject(at.value)) throw expected(at, what);
  for (const k of Object.keys(at.value)) {
    if (!allowed.includes(k)) throw badRequest(`${at.source}: ${at.path}: unknown field \`${k}\` in ${what}; the fields are ${allowed.join(', ')}`);
  }
  return at.value;
}

/** The member `key` of an object read with `object`. */
export const field = (at: At, obj: Record<string, unknown>, key: string): At => ({ value: obj[key], path: `${at.path}.${key}`, source: at.source });
export const item = (at: At, i: number): At => ({ value: (at.value as unknown[])[i], path: `${at.path}[${i}]`, source: at.source });

export function array(at: At, what: string): At[] {
  if (!Array.isArray(at.value)) throw expected(at, what);
  return at.value.map((_, i) => item(at, i));
}

export function string(at: At, what: string): string {
  if (typeof at.value !== 'string') throw expected(at, what);
  return at.value;
}

/**
 * An unsigned integer in [min, max]: a JSON number (safe integers) or a string of decimal digits (for
 * u64 / u128 values beyond 2^53).
 */
export function uint(at: At, what: string, min: bigint, max: bigint): bigint {
  const v = at.value;
  let n: bigint | undefined;
  if (typeof v === 'number' && Number.isSafeInteger(v)) n = BigInt(v);
  else if (typeof v === 'string' && /^\d+$/.test(v)) n = BigInt(v);
  if (n === undefined || n < min || n > max) throw expected(at, what);
  return n;
}

export const U32_MAX = 2n ** 32n - 1n;
export const U64_MAX = 2n ** 64n - 1n;
export const U128_MAX = 2n ** 128n - 1n;

/** Bytes given as hex (an optional `0x`), of `length` bytes if given. */
export function hexBytes(at: At, what: string, length?: number): Uint8Array {
  const v = at.value;
  const hex = typeof v === 'string' ? v.replace(/^0x/i, '') : '';
  if (typeof v !== 'string' || !/^(?:[0-9a-fA-F]{2})*$/.test(hex) || (length !== undefined && hex.length !== 2 * length)) throw expected(at, what);
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/**
 * An enum value in serde's form, `"Unit"` or `{ "Variant": payload }`, of one of `variants`: the variant's
 * name and where its payload is (the payload of a unit variant is `undefined`).
 */
export function variant<V extends string>(at: At, what: string, variants: readonly V[]): { name: V; payload: At } {
  const list = variants.join(', ');
  if (typeof at.value === 'string') {
    if (!variants.includes(at.value as V)) throw expected(at, `${what}: one of ${list}`);
    return { name: at.value as V, payload: { value: undefined, path: `${at.path}.${at.value}`, source: at.source } };
  }
  if (!isObject(at.value) || Object.keys(at.value).length !== 1) throw expected(at, `${what}: an object with one key, one of ${list}`);
  const name = Object.keys(at.value)[0]!;
  if (!variants.includes(name as V)) throw badRequest(`${at.source}: ${at.path}: unknown ${what} \`${name}\`; expected one of ${list}`);
  return { name: name as V, payload: field(at, at.value, name) };
}

/**
 * An Iroha `Name` (domain, asset, trigger, metadata key): not empty, no white space, no `@` or `#`
 * (Iroha's `Name::validate_str`).
 */
export function name(at: At, what: string): string {
  const s = string(at, `${what} (a string)`);
  if (s === '' || /[\s@#]/u.test(s)) throw expected(at, `${what}: a Name, not empty, without white space, \`@\` or \`#\``);
  return s;
}

/** JSON text of a value Iroha keeps as `Json` (metadata values, trigger args): any JSON, compact. */
export const jsonText = (at: At): string => JSON.stringify(at.value ?? null);
