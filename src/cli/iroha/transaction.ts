/**
 * `SignedTransaction` (what `_iroha_executor_execute_transaction` validates) from JSON:
 * `{"chain", "authority", "creation_time_ms", "instructions": [...], "time_to_live_ms", "nonce",
 * "metadata", "signature"}` (all but `instructions` optional), or `{"scale": "<hex>"}`.
 *
 * `SignedTransaction::V1(SignedTransactionV1 { signature: SignatureOf<TransactionPayload> (Vec<u8>),
 * payload: TransactionPayload { chain: ChainId (String), authority: AccountId, creation_time_ms: u64,
 * instructions: Executable (Instructions(Vec<InstructionBox>) 0 | Wasm(Vec<u8>) 1), time_to_live_ms:
 * Option<NonZeroU64>, nonce: Option<NonZeroU32>, metadata: Metadata } })`. Inside wasm nobody checks the
 * signature (Iroha verifies it before): by default 64 zero bytes.
 */
import { Bytes, Option, u32, u64 } from 'scale-ts';
import { concat, encU64, encU8, string as encString, vec } from './encode.js';
import { account } from './ids.js';
import { parseInstructions, parseMetadata } from './instructions.js';
import { type At, U32_MAX, U64_MAX, expected, field, hexBytes, isObject, object, string, uint } from './json-read.js';

const FIELDS = ['chain', 'authority', 'creation_time_ms', 'instructions', 'wasm', 'time_to_live_ms', 'nonce', 'metadata', 'signature'];
const vecU8 = Bytes();

/** The transaction (see above); `authority` is the context's, the default of the transaction's own. */
export function parseTransaction(at: At, authority: Uint8Array): Uint8Array {
  if (isObject(at.value) && 'scale' in at.value) {
    const o = object(at, 'a transaction as SCALE bytes {scale}', ['scale']);
    return hexBytes(field(at, o, 'scale'), 'the SCALE bytes of a SignedTransaction, as hex');
  }
  const o = object(at, `a transaction {${FIELDS.join(', ')}}`, FIELDS);
  const f = (k: string) => field(at, o, k);
  if ((o.instructions === undefined) === (o.wasm === undefined)) {
    throw expected(at, 'a transaction with either `instructions` (a JSON array of instructions) or `wasm` (a smart contract, as hex), one of them', false);
  }
  const executable = o.instructions !== undefined
    ? concat(encU8(0), vec(parseInstructions(f('instructions'))))
    : concat(encU8(1), vecU8.enc(hexBytes(f('wasm'), 'the smart contract module, as hex')));
  const optional = (k: string, what: string, max: bigint): bigint | undefined =>
    f(k).value === undefined || f(k).value === null ? undefined : uint(f(k), what, 1n, max);
  const ttl = optional('time_to_live_ms', 'a time to live in ms (an integer from 1) or null', U64_MAX);
  const nonce = optional('nonce', 'a nonce (an integer from 1, u32) or null', U32_MAX);
  const payload = concat(
    encString(f('chain').value === undefined ? '00000000-0000-0000-0000-000000000000' : string(f('chain'), 'the chain id (a string)')),
    f('authority').value === undefined ? authority : account(f('authority')),
    encU64(f('creation_time_ms').value === undefined ? 0n : uint(f('creation_time_ms'), 'a time in ms since the Unix epoch (u64)', 0n, U64_MAX)),
    executable,
    Option(u64).enc(ttl),
    Option(u32).enc(nonce === undefined ? undefined : Number(nonce)),
    parseMetadata(f('metadata')),
  );
  const signature = f('signature').value === undefined ? new Uint8Array(64) : hexBytes(f('signature'), 'the signature bytes, as hex');
  return concat(encU8(1), vecU8.enc(signature), payload);
}
