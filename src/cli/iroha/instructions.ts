/**
 * `InstructionBox` from JSON in Iroha's own (serde) form, e.g. `{"Log": {"level": "INFO", "msg": "hi"}}`,
 * `{"Mint": {"Asset": {"object": "3", "destination": "rose##ed0120…@wonderland"}}}`, or any instruction as
 * its SCALE bytes `{"scale": "<hex>"}`. Each form is checked by a real executor re-encoding it
 * (test/cli/iroha-encode.test.ts).
 */
import { concat, encU32, encU8, instruction, metadata, numeric, option, string as encString, triggerId } from './encode.js';
import { account, asset, assetDefinition } from './ids.js';
import {
  type At, U128_MAX, U32_MAX, array, expected, field, hexBytes, isObject, jsonText, name, object, string, uint, variant,
} from './json-read.js';

/** Iroha's log levels, by SCALE index. */
export const LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'] as const;

const NUMERIC = 'a non-negative decimal number as a string, e.g. "3" or "1.50" (or a JSON integer)';

/** `Numeric { mantissa, scale }` from "1.50" (mantissa 150, scale 2) or an integer. */
export function parseNumeric(at: At): Uint8Array {
  const v = at.value;
  const text = typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? String(v) : typeof v === 'string' ? v : '';
  const m = /^(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) throw expected(at, NUMERIC);
  const mantissa = BigInt(m[1]! + (m[2] ?? ''));
  if (mantissa > U128_MAX) throw expected(at, `${NUMERIC}, at most 2^128 - 1 without its decimal point`);
  return numeric(mantissa, m[2]?.length ?? 0);
}

/** `Metadata` from a JSON object: each value is kept as its JSON text. */
export function parseMetadata(at: At): Uint8Array {
  if (at.value === undefined) return metadata();
  if (!isObject(at.value)) throw expected(at, 'metadata: an object of Name → any JSON value');
  const entries: Record<string, string> = {};
  for (const k of Object.keys(at.value)) {
    const kAt = field(at, at.value, k);
    name({ ...kAt, value: k }, 'a metadata key');
    entries[k] = jsonText(kAt);
  }
  return metadata(entries);
}

/** The id of a `SetKeyValue` / `RemoveKeyValue` object, per box variant (Domain 0, Account 1, AssetDefinition 2, Asset 3, Trigger 4). */
const KEY_VALUE_OBJECTS = {
  Domain: (at: At) => encString(name(at, 'a domain name')),
  Account: account,
  AssetDefinition: assetDefinition,
  Asset: asset,
  Trigger: (at: At) => triggerId(name(at, 'a trigger name')),
} as const;
const KEY_VALUE_VARIANTS = Object.keys(KEY_VALUE_OBJECTS) as (keyof typeof KEY_VALUE_OBJECTS)[];

function keyValue(at: At, isi: 'SetKeyValue' | 'RemoveKeyValue'): Uint8Array {
  const v = variant(at, `${isi} object kind`, KEY_VALUE_VARIANTS);
  const keys = isi === 'SetKeyValue' ? ['object', 'key', 'value'] : ['object', 'key'];
  const o = object(v.payload, `${isi}<${v.name}> {${keys.join(', ')}}`, keys);
  const parts = [
    encU8(KEY_VALUE_VARIANTS.indexOf(v.name)),
    KEY_VALUE_OBJECTS[v.name](field(v.payload, o, 'object')),
    encString(name(field(v.payload, o, 'key'), 'the key')),
  ];
  if (isi === 'SetKeyValue') parts.push(encString(jsonText(field(v.payload, o, 'value'))));
  return instruction(isi, concat(...parts));
}

/** `Mint` / `Burn`: Asset(Numeric to an asset) 0, TriggerRepetitions(u32 to a trigger) 1. */
function mintOrBurn(at: At, isi: 'Mint' | 'Burn'): Uint8Array {
  const v = variant(at, `${isi} kind`, ['Asset', 'TriggerRepetitions'] as const);
  const o = object(v.payload, `${isi}<${v.name}> {object, destination}`, ['object', 'destination']);
  const obj = field(v.payload, o, 'object');
  const dest = field(v.payload, o, 'destination');
  if (v.name === 'Asset') return instruction(isi, concat(encU8(0), parseNumeric(obj), asset(dest)));
  return instruction(isi, concat(encU8(1), encU32(Number(uint(obj, 'a number of repetitions (u32)', 0n, U32_MAX))), triggerId(name(dest, 'a trigger name'))));
}

/** `Transfer`: Domain(account, domain, account) 0, Asset(Numeric(asset, Numeric, account) 0) 2. */
function transfer(at: At): Uint8Array {
  const v = variant(at, 'Transfer kind', ['Domain', 'Asset'] as const);
  if (v.name === 'Domain') {
    const o = object(v.payload, 'Transfer<Domain> {source, object, destination}', ['source', 'object', 'destination']);
    return instruction('Transfer', concat(encU8(0), account(field(v.payload, o, 'source')), encString(name(field(v.payload, o, 'object'), 'a domain name')), account(field(v.payload, o, 'destination'))));
  }
  const n = variant(v.payload, 'asset Transfer kind', ['Numeric'] as const);
  const o = object(n.payload, 'Transfer<Asset, Numeric> {source, object, destination}', ['source', 'object', 'destination']);
  return instruction('Transfer', concat(encU8(2), encU8(0), asset(field(n.payload, o, 'source')), parseNumeric(field(n.payload, o, 'object')), account(field(n.payload, o, 'destination'))));
}

/** `Register`: Domain(NewDomain { id, logo, metadata }) 1, Account(NewAccount { id, metadata }) 2. */
function register(at: At): Uint8Array {
  const v = variant(at, 'Register kind', ['Domain', 'Account'] as const);
  const outer = object(v.payload, `Register<${v.name}> {object}`, ['object']);
  const objAt = field(v.payload, outer, 'object');
  if (v.name === 'Domain') {
    const o = object(objAt, 'a new domain {id, logo, metadata}', ['id', 'logo', 'metadata']);
    const logoAt = field(objAt, o, 'logo');
    const logo = logoAt.value === undefined || logoAt.value === null ? undefined : encString(string(logoAt, 'an IPFS path (a string) or null'));
    return instruction('Register', concat(encU8(1), encString(name(field(objAt, o, 'id'), 'a domain name')), option(logo), parseMetadata(field(objAt, o, 'metadata'))));
  }
  const o = object(objAt, 'a new account {id, metadata}', ['id', 'metadata']);
  return instruction('Register', concat(encU8(2), account(field(objAt, o, 'id')), parseMetadata(field(objAt, o, 'metadata'))));
}

const FORMS = ['Register', 'Mint', 'Burn', 'Transfer', 'SetKeyValue', 'RemoveKeyValue', 'ExecuteTrigger', 'Log', 'Custom'] as const;

/** An `InstructionBox` from JSON (the forms above), or `{"scale": "<hex>"}` as it is. */
export function parseInstruction(at: At): Uint8Array {
  if (isObject(at.value) && 'scale' in at.value) {
    const o = object(at, 'an instruction as SCALE bytes {scale}', ['scale']);
    return hexBytes(field(at, o, 'scale'), 'the SCALE bytes of an InstructionBox, as hex');
  }
  const v = variant(at, 'instruction (or {"scale": "<hex>"})', FORMS);
  const p = v.payload;
  switch (v.name) {
    case 'Register':
      return register(p);
    case 'Mint':
    case 'Burn':
      return mintOrBurn(p, v.name);
    case 'Transfer':
      return transfer(p);
    case 'SetKeyValue':
    case 'RemoveKeyValue':
      return keyValue(p, v.name);
    case 'ExecuteTrigger': {
      const o = object(p, 'ExecuteTrigger {trigger, args}', ['trigger', 'args']);
      return instruction('ExecuteTrigger', concat(triggerId(name(field(p, o, 'trigger'), 'a trigger name')), encString(jsonText(field(p, o, 'args')))));
    }
    case 'Log': {
      const o = object(p, 'Log {level, msg}', ['level', 'msg']);
      const levelAt = field(p, o, 'level');
      const level = LEVELS.indexOf(levelAt.value as (typeof LEVELS)[number]);
      if (level < 0) throw expected(levelAt, `a log level: one of ${LEVELS.join(', ')}`);
      return instruction('Log', concat(encU8(level), encString(string(field(p, o, 'msg'), 'the message (a string)'))));
    }
    case 'Custom': {
      const o = object(p, 'Custom {payload}', ['payload']);
      return instruction('Custom', encString(jsonText(field(p, o, 'payload'))));
    }
  }
}

/** A list of instructions (`Vec<InstructionBox>`'s items). */
export const parseInstructions = (at: At): Uint8Array[] => array(at, 'a JSON array of instructions').map(parseInstruction);
