/**
 * The answers a peer gives a module, from JSON in Iroha's (serde) form: a query's
 * `Result<QueryResponse, ValidationFail>` (`{"Ok": {"Iterable": …}}`, `{"Ok": {"Singular": …}}`) or an
 * instruction's `Result<(), ValidationFail>` (`{"Ok": null}`), or either's failure (`{"Err": …}`, the
 * same bytes for both), or any of them as its SCALE bytes `{"scale": "<hex>"}`.
 */
import {
  BATCH_VARIANTS, type BatchVariant, VALIDATION_FAIL, account as accountItem, batch, concat, encU8, errValidationFail, iterableAnswer,
  option, publicKey, singularAnswer, singularJsonOutput, storeAsset, string as encString, verdictBytes,
} from './encode.js';
import { account, asset, assetDefinition, parseMultihash } from './ids.js';
import { parseMetadata, parseNumeric } from './instructions.js';
import {
  type At, U64_MAX, array, expected, field, hexBytes, isObject, jsonText, name, object, string, uint, variant,
} from './json-read.js';

const scaleOf = (at: At, what: string): Uint8Array | null => {
  if (!isObject(at.value) || !('scale' in at.value)) return null;
  const o = object(at, `${what} as SCALE bytes {scale}`, ['scale']);
  return hexBytes(field(at, o, 'scale'), `the SCALE bytes of ${what}, as hex`);
};

const ASSET_VALUES = ['Numeric', 'Store'] as const;

/** One item of a `QueryOutputBatchBox::<variant>` batch; any item may be `{"scale": "<hex>"}`. */
function batchItem(at: At, v: BatchVariant): Uint8Array {
  const scale = scaleOf(at, `a ${v}`);
  if (scale) return scale;
  switch (v) {
    case 'Asset': {
      const o = object(at, 'an Asset {id, value}', ['id', 'value']);
      const val = variant(field(at, o, 'value'), 'asset value', ASSET_VALUES);
      const id = asset(field(at, o, 'id'));
      if (val.name === 'Store') return storeAsset(id, parseMetadata(val.payload));
      return concat(id, encU8(0), parseNumeric(val.payload)); // AssetValue::Numeric
    }
    case 'Account': {
      const o = object(at, 'an Account {id, metadata}', ['id', 'metadata']);
      return accountItem(account(field(at, o, 'id')), parseMetadata(field(at, o, 'metadata')));
    }
    case 'Domain': {
      const o = object(at, 'a Domain {id, logo, metadata, owned_by}', ['id', 'logo', 'metadata', 'owned_by']);
      const logoAt = field(at, o, 'logo');
      const logo = logoAt.value === undefined || logoAt.value === null ? undefined : encString(string(logoAt, 'an IPFS path (a string) or null'));
      return concat(encString(name(field(at, o, 'id'), 'a domain name')), option(logo), parseMetadata(field(at, o, 'metadata')), account(field(at, o, 'owned_by')));
    }
    case 'RoleId':
    case 'TriggerId':
      return encString(name(at, `a ${v} (a Name)`));
    case 'Peer': {
      // PeerId { public_key }
      const key = parseMultihash(at);
      return publicKey(key.algorithm, key.key);
    }
    default:
      throw expected(at, `a ${v} as its SCALE bytes {"scale": "<hex>"} (only Asset, Account, Domain, RoleId, TriggerId and Peer items are read from JSON)`);
  }
}

function iterable(at: At): Uint8Array {
  const o = object(at, 'a QueryOutput {batch, remaining_items, continue_cursor}', ['batch', 'remaining_items', 'continue_cursor']);
  const bAt = field(at, o, 'batch');
  const b = variant(bAt, 'batch kind (QueryOutputBatchBox)', BATCH_VARIANTS);
  const items = array(b.payload, `the ${b.name} items (a JSON array)`).map((i) => batchItem(i, b.name));
  const remAt = field(at, o, 'remaining_items');
  const remainingItems = remAt.value === undefined ? 0n : uint(remAt, 'the number of remaining items (u64)', 0n, U64_MAX);
  const cAt = field(at, o, 'continue_cursor');
  let cursor: { query: string; cursor: bigint } | undefined;
  if (cAt.value !== undefined && cAt.value !== null) {
    const c = object(cAt, 'a ForwardCursor {query, cursor} or null', ['query', 'cursor']);
    cursor = { query: string(field(cAt, c, 'query'), 'the query id (a string)'), cursor: uint(field(cAt, c, 'cursor'), 'the cursor position (u64 from 1)', 1n, U64_MAX) };
  }
  return iterableAnswer({ batch: batch(b.name, items), remainingItems, ...(cursor ? { cursor } : {}) });
}

function singular(at: At): Uint8Array {
  const v = variant(at, 'singular output (SingularQueryOutputBox)', ['Numeric', 'Json', 'scale'] as const);
  if (v.name === 'Numeric') return singularAnswer(concat(encU8(0), parseNumeric(v.payload)));
  if (v.name === 'Json') return singularAnswer(singularJsonOutput(jsonText(v.payload)));
  return singularAnswer(hexBytes(v.payload, 'the SCALE bytes of a SingularQueryOutputBox, as hex'));
}

const QUERY_FAILS = ['Find', 'Conversion', 'NotFound', 'CursorMismatch', 'CursorDone', 'FetchSizeTooBig', 'InvalidSingularParameters', 'CapacityLimit'] as const;
const FIND_ERRORS = {
  Asset: asset, AssetDefinition: assetDefinition, Account: account,
  Domain: (at: At) => encString(name(at, 'a domain name')), MetadataKey: (at: At) => encString(name(at, 'a key')),
  Trigger: (at: At) => encString(name(at, 'a trigger name')), Role: (at: At) => encString(name(at, 'a role name')),
} as const;
/** `FindError` variants by SCALE index (only those with a Name or id payload are read from JSON). */
const FIND_INDEX: Record<keyof typeof FIND_ERRORS, number> = { Asset: 0, AssetDefinition: 1, Account: 2, Domain: 3, MetadataKey: 4, Trigger: 8, Role: 9 };

function findError(at: At): Uint8Array {
  const v = variant(at, 'FindError', Object.keys(FIND_ERRORS) as (keyof typeof FIND_ERRORS)[]);
  return concat(encU8(FIND_INDEX[v.name]), FIND_ERRORS[v.name](v.payload));
}

function queryFail(at: At): Uint8Array {
  const v = variant(at, 'QueryExecutionFail', QUERY_FAILS);
  const i = encU8(QUERY_FAILS.indexOf(v.name));
  if (v.name === 'Find') return concat(i, findError(v.payload));
  if (v.name === 'Conversion') return concat(i, encString(string(v.payload, 'the message (a string)')));
  if (v.payload.value !== undefined) throw expected(at, `"${v.name}" (it carries nothing)`);
  return i;
}

const INSTRUCTION_FAILS = ['Query', 'Conversion', 'Find', 'Mintability', 'Math', 'InvariantViolation'] as const;
/** `InstructionExecutionError` indices: Evaluate 0, Query 1, Conversion 2, Find 3, Repetition 4, Mintability 5, Math 6, InvalidParameter 7, InvariantViolation 8. */
const INSTRUCTION_INDEX = { Query: 1, Conversion: 2, Find: 3, Mintability: 5, Math: 6, InvariantViolation: 8 } as const;
const MINTABILITY = ['MintUnmintable', 'ForbidMintOnMintable'] as const;
const MATH = ['Overflow', 'NotEnoughQuantity', 'DivideByZero', 'NegativeValue', 'DomainViolation', 'Unknown'] as const;

function instructionFail(at: At): Uint8Array {
  const v = variant(at, 'InstructionExecutionError', INSTRUCTION_FAILS);
  const i = encU8(INSTRUCTION_INDEX[v.name]);
  switch (v.name) {
    case 'Query':
      return concat(i, queryFail(v.payload));
    case 'Find':
      return concat(i, findError(v.payload));
    case 'Conversion':
    case 'InvariantViolation':
      return concat(i, encString(string(v.payload, 'the message (a string)')));
    case 'Mintability': {
      const m = MINTABILITY.indexOf(v.payload.value as (typeof MINTABILITY)[number]);
      if (m < 0) throw expected(v.payload, `a MintabilityError: one of ${MINTABILITY.join(', ')}`);
      return concat(i, encU8(m));
    }
    case 'Math': {
      const m = MATH.indexOf(v.payload.value as (typeof MATH)[number]);
      if (m < 0) throw expected(v.payload, `a MathError: one of ${MATH.join(', ')}`);
      return concat(i, encU8(m));
    }
  }
}

/** `Err(ValidationFail)`: `{"NotPermitted": "…"}`, `"TooComplex"`, `"InternalError"`, `{"QueryFailed": …}`, `{"InstructionFailed": …}`. */
function validationFail(at: At): Uint8Array {
  const v = variant(at, 'ValidationFail', VALIDATION_FAIL);
  const index = VALIDATION_FAIL.indexOf(v.name);
  switch (v.name) {
    case 'NotPermitted':
      return verdictBytes.notPermitted(string(v.payload, 'the reason (a string)'));
    case 'QueryFailed':
      return errValidationFail(index, queryFail(v.payload));
    case 'InstructionFailed':
      return errValidationFail(index, instructionFail(v.payload));
    default:
      // TooComplex; InternalError's message is not encoded (`#[codec(skip)]`)
      return errValidationFail(index);
  }
}

const ANSWER_FORMS =
  '{"Ok": {"Iterable": {...}}} or {"Ok": {"Singular": {...}}} (a query\'s answer), {"Ok": null} (an instruction\'s), {"Err": <ValidationFail>}, or {"scale": "<hex>"}';

/** One answer (see ANSWER_FORMS); says whether it answers a query, an instruction, or either (a failure). */
export function parseAnswer(at: At): { bytes: Uint8Array; answers: 'query' | 'instruction' | 'either' } {
  const scale = scaleOf(at, 'an answer');
  if (scale) return { bytes: scale, answers: 'either' };
  if (!isObject(at.value) || Object.keys(at.value).length !== 1 || !('Ok' in at.value || 'Err' in at.value)) throw expected(at, ANSWER_FORMS);
  if ('Err' in at.value) return { bytes: validationFail(field(at, at.value, 'Err')), answers: 'either' };
  const okAt = field(at, at.value, 'Ok');
  if (okAt.value === null) return { bytes: verdictBytes.ok(), answers: 'instruction' };
  const r = variant(okAt, 'QueryResponse (or null for an instruction\'s Ok)', ['Iterable', 'Singular'] as const);
  return { bytes: r.name === 'Iterable' ? iterable(r.payload) : singular(r.payload), answers: 'query' };
}

/** A list of query answers (the `queryResponses` of a request): none may be an instruction's `{"Ok": null}`. */
export function parseQueryAnswers(at: At): Uint8Array[] {
  return array(at, `a JSON array of query answers, each ${ANSWER_FORMS}`).map((a) => {
    const r = parseAnswer(a);
    if (r.answers === 'instruction') throw expected(a, 'a query answer ({"Ok": {"Iterable" | "Singular": …}} or {"Err": …}); {"Ok": null} answers an instruction');
    return r.bytes;
  });
}
