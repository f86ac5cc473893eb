/**
 * The SCALE values the Iroha profile's host itself builds or reads (Hyperledger Iroha 2.0.0-rc.1,
 * parity-scale-codec 3; types from `iroha_data_model`), on the `scale-ts` library. Everything else that
 * crosses the boundary (instructions, queries, `ExecutorDataModel`, the entrypoints' contexts) stays
 * opaque bytes to the host.
 *
 * Decoding is strict, as Iroha's `DecodeAll` is: exactly the given bytes (trailing bytes are an error),
 * enum / `Option` / `Result` tags must be known, `Compact` lengths canonical, strings valid UTF-8. The
 * primitives and combinators are scale-ts's (`u8`, `u64`, `compact`, `str`, `Struct`, `Enum`, `Result`,
 * …); what is added here is only that strictness, which scale-ts leaves out (it reads unknown `Option` /
 * `Result` tags as `Some` / `Err`, never checks the end, accepts non-canonical compacts and decodes
 * invalid UTF-8 to U+FFFD), and a bounds-safe entry point (scale-ts decodes from the start of the
 * `ArrayBuffer` under a `Uint8Array`, so views are copied first).
 */
import { Enum, Result, _void, compact, createDecoder, str, u32, u8 } from 'scale-ts';

// ---------------------------------------------------------------------------------------------------
// Strict decoding on scale-ts.

/**
 * scale-ts's decoding input: the bytes with the read position `i` (what `createDecoder` hands over). It is
 * a Uint8Array subclass whose constructor takes only a buffer, so its own `subarray` / `slice` return the
 * whole buffer: read sub-ranges through `view(c, …)`.
 */
type Cursor = Uint8Array & { i: number };
const view = (c: Cursor, from: number, to: number): Uint8Array => new Uint8Array(c.buffer, c.byteOffset + from, to - from);
type Read<T> = (c: Cursor) => T;

const utf8 = new TextDecoder('utf-8', { fatal: true });

class ScaleError extends Error {}

/** Decodes all of `bytes` with `read`, or throws `Error("<what>: …")`. */
function decodeAll<T>(what: string, bytes: Uint8Array, read: Read<T>): T {
  if (!(bytes instanceof Uint8Array)) throw new Error(`${what}: expected bytes`);
  const copy = new Uint8Array(bytes); // a copy in its own ArrayBuffer, at offset 0 (also for a Node Buffer)
  let end = 0;
  const run = createDecoder((input) => {
    const c = input as Cursor;
    const value = read(c);
    end = c.i;
    return value;
  });
  let value: T;
  try {
    value = run(copy);
  } catch (e) {
    if (e instanceof ScaleError) throw new Error(`${what}: ${e.message}`);
    throw new Error(`${what}: truncated SCALE (${copy.length} bytes): ${(e as Error).message}`);
  }
  if (end !== copy.length) {
    throw new Error(`${what}: ${copy.length - end} trailing byte(s) after the ${end} bytes of the value`);
  }
  return value;
}

function need(c: Cursor, n: number, what: string): void {
  if (c.i + n > c.length) throw new ScaleError(`${what} needs ${n} bytes at offset ${c.i}, only ${c.length - c.i} left`);
}

/** A `u8` enum / `Option` / `Result` tag, which must be below `count`. */
function readTag(c: Cursor, count: number, type: string): number {
  need(c, 1, type);
  const tag = u8.dec(c);
  if (tag >= count) throw new ScaleError(`unknown ${type} tag ${tag} at offset ${c.i - 1}`);
  return tag;
}

/** `Compact<u32>` (SCALE lengths), canonical only, as parity-scale-codec requires. */
function readLength(c: Cursor, what: string): number {
  const start = c.i;
  need(c, 1, what);
  const raw = compact.dec(c);
  const n = typeof raw === 'bigint' ? raw : BigInt(raw);
  if (n > 0xffff_ffffn) throw new ScaleError(`${what}: length ${n} is out of range for Compact<u32>`);
  const len = Number(n);
  if (compact.enc(len).length !== c.i - start) throw new ScaleError(`${what}: non-canonical Compact length at offset ${start}`);
  return len;
}

/** `String`: a compact length, then that many bytes of UTF-8. */
function readString(c: Cursor, what = 'String'): string {
  const len = readLength(c, what);
  need(c, len, what);
  const bytes = view(c, c.i, c.i + len);
  let s: string;
  try {
    s = utf8.decode(bytes);
  } catch {
    throw new ScaleError(`${what} at offset ${c.i} is not valid UTF-8`);
  }
  c.i += len;
  return s;
}

function readBytes(c: Cursor, n: number, what: string): Uint8Array {
  need(c, n, what);
  const bytes = view(c, c.i, c.i + n).slice();
  c.i += n;
  return bytes;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

// ---------------------------------------------------------------------------------------------------
// log and dbg.

/** Iroha's log levels (`iroha_data_model::Level`), by their SCALE index. */
export const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'] as const;

/**
 * The argument of `iroha.log`: `(u8 level, String message)`. Iroha decodes it and then refuses a level
 * above 4 (a trap, "5: not a valid log level"); so does this, with the same message.
 */
export function decodeLog(bytes: Uint8Array): { level: number; message: string } {
  return decodeAll('log argument (u8, String)', bytes, (c) => {
    need(c, 1, 'log level');
    const level = u8.dec(c);
    const message = readString(c, 'log message');
    if (level >= LOG_LEVELS.length) throw new ScaleError(`${level}: not a valid log level`);
    return { level, message };
  });
}

/** The argument of `iroha.dbg`: `String`. */
export function decodeDbg(bytes: Uint8Array): string {
  return decodeAll('dbg argument (String)', bytes, (c) => readString(c, 'dbg message'));
}

// ---------------------------------------------------------------------------------------------------
// Verdicts: Result<(), ValidationFail>.

export type IrohaVerdictReason = 'NotPermitted' | 'InstructionFailed' | 'QueryFailed' | 'TooComplex' | 'InternalError';
export type IrohaVerdict = { ok: true } | { ok: false; reason: IrohaVerdictReason; message?: string };

/** `ValidationFail` variants in SCALE order (`iroha_data_model/src/lib.rs`). */
export const VALIDATION_FAIL = ['NotPermitted', 'InstructionFailed', 'QueryFailed', 'TooComplex', 'InternalError'] as const;

/** `InstructionExecutionError` (`isi.rs`, `isi::error`). */
const INSTRUCTION_EXECUTION_ERROR = [
  'Evaluate', 'Query', 'Conversion', 'Find', 'Repetition', 'Mintability', 'Math', 'InvalidParameter', 'InvariantViolation',
] as const;
/** `InstructionEvaluationError`. */
const INSTRUCTION_EVALUATION_ERROR = ['Unsupported', 'PermissionParameter', 'Type'] as const;
/** `InstructionType`: the discriminants of `InstructionBox`. */
const INSTRUCTION_TYPE = [
  'Register', 'Unregister', 'Mint', 'Burn', 'Transfer', 'SetKeyValue', 'RemoveKeyValue', 'Grant', 'Revoke',
  'ExecuteTrigger', 'SetParameter', 'Upgrade', 'Log', 'Custom',
] as const;
const MATH_ERROR = ['Overflow', 'NotEnoughQuantity', 'DivideByZero', 'NegativeValue', 'DomainViolation', 'Unknown', 'FixedPointConversion'] as const;
const MINTABILITY_ERROR = ['MintUnmintable', 'ForbidMintOnMintable'] as const;
const INVALID_PARAMETER_ERROR = ['Wasm', 'TimeTriggerInThePast'] as const;
/** `QueryExecutionFail` (`query/mod.rs`, `query::error`). */
const QUERY_EXECUTION_FAIL = [
  'Find', 'Conversion', 'NotFound', 'CursorMismatch', 'CursorDone', 'FetchSizeTooBig', 'InvalidSingularParameters', 'CapacityLimit',
] as const;
/** `FindError`. */
const FIND_ERROR = [
  'Asset', 'AssetDefinition', 'Account', 'Domain', 'MetadataKey', 'Block', 'Transaction', 'Peer', 'Trigger', 'Role', 'Permission', 'PublicKey',
] as const;
/** `IdBox` (`lib.rs`). */
const ID_BOX = ['DomainId', 'AccountId', 'AssetDefinitionId', 'AssetId', 'PeerId', 'TriggerId', 'RoleId', 'Permission', 'CustomParameterId'] as const;

/** Multihash codes of the public key algorithms (Ed25519, Secp256k1, BlsNormal, BlsSmall). */
const KEY_MULTIHASH = [0xed, 0xe7, 0xea, 0xeb] as const;
const varint = (n: number): string => {
  let s = '';
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    s += b.toString(16).padStart(2, '0');
  } while (n);
  return s;
};

/** `PublicKey` = `(Algorithm, Vec<u8>)`, shown as Iroha shows it (multihash: `ed0120` + upper-case hex). */
function readPublicKey(c: Cursor): string {
  const alg = readTag(c, KEY_MULTIHASH.length, 'Algorithm');
  const payload = readBytes(c, readLength(c, 'public key'), 'public key');
  return varint(KEY_MULTIHASH[alg]!) + varint(payload.length) + hex(payload).toUpperCase();
}
const readDomainId = (c: Cursor): string => readString(c, 'DomainId');
const readAccountId = (c: Cursor): string => {
  const domain = readDomainId(c);
  return `${readPublicKey(c)}@${domain}`;
};
const readAssetDefinitionId = (c: Cursor): string => {
  const domain = readDomainId(c);
  return `${readString(c, 'Name')}#${domain}`;
};
const readAssetId = (c: Cursor): string => {
  const account = readAccountId(c);
  return `${readAssetDefinitionId(c)}#${account}`;
};
const readHash = (c: Cursor): string => hex(readBytes(c, 32, 'hash'));
const readPermission = (c: Cursor): string => {
  const name = readString(c, 'Permission name');
  return `${name}(${readString(c, 'Permission payload')})`;
};

/** Reads one value of `names[tag]`'s payload, giving its display text ('' for a unit variant). */
function readVariant<N extends readonly string[]>(c: Cursor, type: string, names: N, payloads: Partial<Record<N[number], Read<string>>>): string {
  const name = names[readTag(c, names.length, type)]! as N[number];
  const read = payloads[name];
  if (!read) return name;
  return `${name}(${read(c)})`;
}

const readFindError = (c: Cursor): string =>
  readVariant(c, 'FindError', FIND_ERROR, {
    Asset: readAssetId, AssetDefinition: readAssetDefinitionId, Account: readAccountId, Domain: readDomainId,
    MetadataKey: (x) => readString(x, 'Name'), Block: readHash, Transaction: readHash, Peer: readPublicKey,
    Trigger: (x) => readString(x, 'TriggerId'), Role: (x) => readString(x, 'RoleId'), Permission: readPermission,
    PublicKey: readPublicKey,
  });

const readQueryExecutionFail = (c: Cursor): string =>
  readVariant(c, 'QueryExecutionFail', QUERY_EXECUTION_FAIL, { Find: readFindError, Conversion: (x) => readString(x) });

const readIdBox = (c: Cursor): string =>
  readVariant(c, 'IdBox', ID_BOX, {
    DomainId: readDomainId, AccountId: readAccountId, AssetDefinitionId: readAssetDefinitionId, AssetId: readAssetId,
    PeerId: readPublicKey, TriggerId: (x) => readString(x, 'TriggerId'), RoleId: (x) => readString(x, 'RoleId'),
    Permission: readPermission, CustomParameterId: (x) => readString(x, 'CustomParameterId'),
  });

/** Thrown inside a payload this module does not decode: the message stops at what is known. */
class Opaque extends Error {
  constructor(readonly known: string) {
    super(known);
  }
}

const readInstructionExecutionError = (c: Cursor): string =>
  readVariant(c, 'InstructionExecutionError', INSTRUCTION_EXECUTION_ERROR, {
    Evaluate: (x) =>
      readVariant(x, 'InstructionEvaluationError', INSTRUCTION_EVALUATION_ERROR, {
        Unsupported: (y) => INSTRUCTION_TYPE[readTag(y, INSTRUCTION_TYPE.length, 'InstructionType')]!,
        PermissionParameter: (y) => readString(y),
        // TypeError (asset type mismatches): not decoded here.
        Type: () => {
          throw new Opaque('Evaluate(Type)');
        },
      }),
    Query: readQueryExecutionFail,
    Conversion: (x) => readString(x),
    Find: readFindError,
    Repetition: (x) => {
      const isi = INSTRUCTION_TYPE[readTag(x, INSTRUCTION_TYPE.length, 'InstructionType')]!;
      return `${isi}, ${readIdBox(x)}`;
    },
    Mintability: (x) => MINTABILITY_ERROR[readTag(x, MINTABILITY_ERROR.length, 'MintabilityError')]!,
    Math: (x) => readVariant(x, 'MathError', MATH_ERROR, { FixedPointConversion: (y) => readString(y) }),
    InvalidParameter: (x) => readVariant(x, 'InvalidParameterError', INVALID_PARAMETER_ERROR, { Wasm: (y) => readString(y) }),
    InvariantViolation: (x) => readString(x),
  });

/** A decoded verdict; `exact: false` when a payload was left undecoded. */
type Partial_ = { verdict: IrohaVerdict; exact: boolean };

function readVerdict(c: Cursor): Partial_ {
  if (readTag(c, 2, 'Result') === 0) return { verdict: { ok: true }, exact: true };
  const reason = VALIDATION_FAIL[readTag(c, VALIDATION_FAIL.length, 'ValidationFail')]!;
  const fail = (message?: string, exact = true): Partial_ => ({
    verdict: message === undefined ? { ok: false, reason } : { ok: false, reason, message },
    exact,
  });
  try {
    switch (reason) {
      case 'NotPermitted':
        return fail(readString(c, 'NotPermitted message'));
      case 'InstructionFailed':
        return fail(readInstructionExecutionError(c));
      case 'QueryFailed':
        return fail(readQueryExecutionFail(c));
      default: // TooComplex; InternalError's String is `#[codec(skip)]`: neither has a payload on the wire
        return fail();
    }
  } catch (e) {
    if (e instanceof Opaque) return fail(e.known, false);
    throw e;
  }
}

/**
 * `Result<(), ValidationFail>` (an executor's verdict, an instruction's answer), the SCALE bytes without
 * the length prefix. `message`: NotPermitted's string; for InstructionFailed / QueryFailed the error
 * decoded as far as this module knows it, Iroha's variant names with their payloads, e.g.
 * `Math(Overflow)`, `Find(Account(ed0120…@wonderland))`, `Conversion(<text>)`; where a payload is not
 * decoded (InstructionFailed's `Evaluate(Type(...))`) the message stops at the known part and the rest is
 * not checked. TooComplex and InternalError carry nothing. Unknown tags, truncated or trailing bytes throw.
 */
export function decodeVerdict(bytes: Uint8Array): IrohaVerdict {
  return decodeAll('Result<(), ValidationFail>', bytes, (c) => {
    const { verdict, exact } = readVerdict(c);
    if (!exact) c.i = c.length; // the rest is a payload not decoded here: its end cannot be checked
    return verdict;
  });
}

// ---------------------------------------------------------------------------------------------------
// What the host writes.

const ResultUnit = Result(_void, _void);

/** `Ok(())` as `Result<(), ValidationFail>`: `00`. (Length-prefixed: `05 00 00 00 00`.) */
export const OK_UNIT: Uint8Array = ResultUnit.enc({ success: true, value: undefined });

/** `ValidationFail::NotPermitted(String)` and its result types' `Err`, encoded with scale-ts. */
const ValidationFailNotPermitted = Enum({ NotPermitted: str }, [0]);
const ErrNotPermitted = Result(_void, ValidationFailNotPermitted);

/** `Err(ValidationFail::NotPermitted(message))`, as any `Result<_, ValidationFail>` (the Ok type is not encoded). */
export function notPermitted(message: string): Uint8Array {
  return ErrNotPermitted.enc({ success: false, value: { tag: 'NotPermitted', value: message } });
}

/** `Err(ValidationFail::NotPermitted("no query source"))` as `Result<QueryResponse, ValidationFail>`. */
export function noQuerySource(): Uint8Array {
  return notPermitted('no query source');
}

// ---------------------------------------------------------------------------------------------------
// Length prefixes (iroha_wasm_codec): [u32 LE total, counting these 4 bytes][payload].

/** `[u32 LE total incl. 4][bytes]`, as Iroha writes host → guest buffers. */
export function lengthPrefixed(bytes: Uint8Array): Uint8Array {
  const total = bytes.length + 4;
  if (total > 0xffff_ffff) throw new Error(`length-prefixed buffer of ${total} bytes does not fit a u32`);
  const out = new Uint8Array(total);
  out.set(u32.enc(total), 0);
  out.set(bytes, 4);
  return out;
}

/**
 * Reads the length-prefixed buffer at `ptr` in `view` (a guest memory): `total` (prefix included) and the
 * payload (a copy). Throws when the prefix or the buffer is out of bounds or `total < 4`.
 */
export function readLengthPrefixed(view: Uint8Array, ptr: number): { total: number; payload: Uint8Array } {
  if (!Number.isInteger(ptr) || ptr < 0 || ptr + 4 > view.length) {
    throw new Error(`length prefix at ${ptr} is out of bounds of ${view.length} bytes of memory`);
  }
  const total = u32.dec(new Uint8Array(view.subarray(ptr, ptr + 4)));
  if (total < 4) throw new Error(`length prefix at ${ptr} is ${total}, less than its own 4 bytes`);
  if (ptr + total > view.length) {
    throw new Error(`length-prefixed buffer at ${ptr} of ${total} bytes is out of bounds of ${view.length} bytes of memory`);
  }
  return { total, payload: new Uint8Array(view.subarray(ptr + 4, ptr + total)) };
}

