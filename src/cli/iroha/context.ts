/**
 * An Iroha entrypoint's context from JSON: which entrypoint (`kind`), and its SCALE argument —
 * `SmartContractContext`, `TriggerContext`, `ExecutorContext` or `Validate<T>` — plus, optionally, the
 * answers to the module's queries. Field names and forms are Iroha's own (serde): docs/IROHA.md
 * "Building the inputs" lists them.
 */
import {
  blockHeader, executeTriggerEvent, executorContext, smartContractContext, timeEvent, triggerContext, validate,
} from './encode.js';
import { parseQueryAnswers } from './answers.js';
import { account, hash } from './ids.js';
import { parseInstruction } from './instructions.js';
import { type At, U32_MAX, U64_MAX, expected, field, hexBytes, isObject, jsonText, name, object, uint, variant } from './json-read.js';
import { parseQuery } from './queries.js';
import { parseTransaction } from './transaction.js';

/** Each kind of context and the entrypoint Iroha calls with it. */
export const ENTRYPOINTS = {
  'smart-contract': '_iroha_smart_contract_main',
  trigger: '_iroha_trigger_main',
  executor: '_iroha_executor_migrate',
  'validate-transaction': '_iroha_executor_execute_transaction',
  'validate-instruction': '_iroha_executor_execute_instruction',
  'validate-query': '_iroha_executor_validate_query',
} as const;
export type ContextKind = keyof typeof ENTRYPOINTS;
const KINDS = Object.keys(ENTRYPOINTS) as ContextKind[];

export interface BuiltContext {
  kind: ContextKind;
  entrypoint: string;
  /** The SCALE bytes of the context, without the length prefix (`iroha.context`). */
  context: Uint8Array;
  /** The answers to the module's queries, in order (`iroha.queryResponses`), if the JSON gives them. */
  queryResponses?: Uint8Array[];
}

/** A hash Iroha would accept that stands for a block nobody looks at: 31 zero bytes, then 01. */
const PLACEHOLDER_HASH = new Uint8Array(32);
PLACEHOLDER_HASH[31] = 1;

/** `BlockHeader` from `{height, creation_time_ms, prev_block_hash, transactions_hash, view_change_index}`, all optional. */
function block(at: At): Uint8Array {
  const o = at.value === undefined ? {} : object(at, 'a block header', ['height', 'prev_block_hash', 'transactions_hash', 'creation_time_ms', 'view_change_index']);
  const f = (k: string) => field(at, o, k);
  const height = f('height').value === undefined ? 1n : uint(f('height'), 'a block height: an integer from 1 (genesis is 1)', 1n, U64_MAX);
  const prev = f('prev_block_hash');
  const prevBlockHash = prev.value === null || (prev.value === undefined && height === 1n) ? undefined : prev.value === undefined ? PLACEHOLDER_HASH : hash(prev);
  return blockHeader({
    height,
    ...(prevBlockHash ? { prevBlockHash } : {}),
    transactionsHash: f('transactions_hash').value === undefined ? PLACEHOLDER_HASH : hash(f('transactions_hash')),
    creationTimeMs: f('creation_time_ms').value === undefined ? 0n : uint(f('creation_time_ms'), 'a time in ms since the Unix epoch (u64)', 0n, U64_MAX),
    viewChangeIndex: f('view_change_index').value === undefined ? 0 : Number(uint(f('view_change_index'), 'a view change index (u32)', 0n, U32_MAX)),
  });
}

/** `EventBox`: ExecuteTrigger (its trigger and authority default to the context's), Time, or `{"scale": "<hex>"}`. */
function event(at: At, trigger: string, authority: Uint8Array): Uint8Array {
  if (isObject(at.value) && 'scale' in at.value) {
    const o = object(at, 'an event as SCALE bytes {scale}', ['scale']);
    return hexBytes(field(at, o, 'scale'), 'the SCALE bytes of an EventBox, as hex');
  }
  const v = variant(at, 'event (or {"scale": "<hex>"})', ['ExecuteTrigger', 'Time'] as const);
  const p = v.payload;
  if (v.name === 'ExecuteTrigger') {
    const o = p.value === undefined || p.value === null ? {} : object(p, 'ExecuteTrigger {trigger_id, authority, args}', ['trigger_id', 'authority', 'args']);
    const idAt = field(p, o, 'trigger_id');
    const authAt = field(p, o, 'authority');
    return executeTriggerEvent({
      triggerId: idAt.value === undefined ? trigger : name(idAt, 'a trigger name'),
      authority: authAt.value === undefined ? authority : account(authAt),
      args: jsonText(field(p, o, 'args')),
    });
  }
  const o = object(p, 'Time {interval: {since_ms, length_ms}}', ['interval']);
  const iAt = field(p, o, 'interval');
  const i = object(iAt, 'a time interval {since_ms, length_ms}', ['since_ms', 'length_ms']);
  return timeEvent(uint(field(iAt, i, 'since_ms'), 'a time in ms (u64)', 0n, U64_MAX), uint(field(iAt, i, 'length_ms'), 'a duration in ms (u64)', 0n, U64_MAX));
}

const TOP = ['kind', 'authority', 'curr_block', 'id', 'event', 'target', 'queryResponses'];

/** The context JSON (see the module comment) → the entrypoint, the context's bytes and the query answers. */
export function buildContext(at: At): BuiltContext {
  const o = object(at, `an Iroha context {${TOP.join(', ')}}`, TOP);
  const kindAt = field(at, o, 'kind');
  const kind = kindAt.value as ContextKind;
  if (!KINDS.includes(kind)) throw expected(kindAt, `the kind of context: one of ${KINDS.join(', ')}`);
  const only = (key: string, kinds: ContextKind[]) => {
    if (o[key] !== undefined && !kinds.includes(kind)) throw expected(field(at, o, key), `nothing: \`${key}\` is for ${kinds.join(' / ')} contexts, this one is ${kind}`, false);
    if (o[key] === undefined && kinds.includes(kind)) throw expected(field(at, o, key), `\`${key}\`, which a ${kind} context needs`, false);
  };
  only('id', ['trigger']);
  only('event', ['trigger']);
  only('target', ['validate-transaction', 'validate-instruction', 'validate-query']);
  const authority = account(field(at, o, 'authority'));
  const curr = block(field(at, o, 'curr_block'));
  let context: Uint8Array;
  switch (kind) {
    case 'smart-contract':
      context = smartContractContext(authority, curr);
      break;
    case 'executor':
      context = executorContext(authority, curr);
      break;
    case 'trigger': {
      const id = name(field(at, o, 'id'), 'the trigger id (a Name)');
      context = triggerContext({ id, authority, block: curr, event: event(field(at, o, 'event'), id, authority) });
      break;
    }
    default: {
      const target = field(at, o, 'target');
      const bytes = kind === 'validate-instruction' ? parseInstruction(target) : kind === 'validate-query' ? parseQuery(target) : parseTransaction(target, authority);
      context = validate(executorContext(authority, curr), bytes);
    }
  }
  const answersAt = field(at, o, 'queryResponses');
  return {
    kind,
    entrypoint: ENTRYPOINTS[kind],
    context,
    ...(answersAt.value === undefined ? {} : { queryResponses: parseQueryAnswers(answersAt) }),
  };
}
