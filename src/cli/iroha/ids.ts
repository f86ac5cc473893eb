/**
 * Iroha identifiers from their text forms (as Iroha prints and parses them): accounts
 * `ed0120…@wonderland` (multihash public key `@` domain), asset definitions `rose#wonderland`, assets
 * `rose#wonderland#<account>` or `rose##<account>` (same domain). Errors name the JSON path.
 */
import { accountId, assetDefinitionId, assetId } from './encode.js';
import { type At, expected, field, hexBytes, isObject, name, object, string } from './json-read.js';

/** Public key algorithms: the SCALE index and the multihash code of each. */
const ALGORITHMS = [
  { name: 'ed25519', code: 0xed },
  { name: 'secp256k1', code: 0xe7 },
  { name: 'bls_normal', code: 0xea },
  { name: 'bls_small', code: 0xeb },
] as const;
const ALGORITHM_NAMES = ALGORITHMS.map((a) => a.name).join(', ');

/** An unsigned varint (multiformats) at `hex[pos..]`: its value and the position after it, or null. */
function readVarint(bytes: Uint8Array, pos: number): { n: number; next: number } | null {
  let n = 0;
  for (let shift = 0, i = pos; i < bytes.length && shift < 28; shift += 7, i++) {
    n |= (bytes[i]! & 0x7f) << shift;
    if ((bytes[i]! & 0x80) === 0) return { n, next: i + 1 };
  }
  return null;
}

const MULTIHASH = 'a multihash public key as Iroha prints it: hex of <algorithm code><key length><key>, e.g. ed0120 + 64 hex digits for an Ed25519 key';

/** `PublicKey` from its multihash hex (`ed0120…`): the algorithm's index and the key bytes. */
export function parseMultihash(at: At): { algorithm: number; key: Uint8Array } {
  const bytes = hexBytes(at, MULTIHASH);
  const code = readVarint(bytes, 0);
  const len = code && readVarint(bytes, code.next);
  const algorithm = code ? ALGORITHMS.findIndex((a) => a.code === code.n) : -1;
  if (!code || !len || algorithm < 0) throw expected(at, `${MULTIHASH} (algorithm codes: ed 01 ed25519, e7 01 secp256k1, ea 01 bls_normal, eb 01 bls_small)`);
  if (bytes.length - len.next !== len.n) throw expected(at, `${MULTIHASH}: its length byte says ${len.n} key bytes, ${bytes.length - len.next} follow`);
  return { algorithm, key: bytes.slice(len.next) };
}

const ACCOUNT_FORMS =
  'an account: "<multihash public key>@<domain>" (e.g. "ed0120…@wonderland"), or {"domain", "public_key": "<multihash>"}, or {"domain", "algorithm", "key": "<hex>"}';

/** `AccountId` from `"<multihash>@domain"` or an object (see ACCOUNT_FORMS). */
export function account(at: At): Uint8Array {
  if (typeof at.value === 'string') {
    const i = at.value.lastIndexOf('@');
    if (i <= 0 || i === at.value.length - 1) throw expected(at, ACCOUNT_FORMS);
    const key = parseMultihash({ ...at, value: at.value.slice(0, i), path: `${at.path} (before @)` });
    const domain = name({ ...at, value: at.value.slice(i + 1), path: `${at.path} (after @)` }, 'the domain');
    return accountId(domain, key.key, key.algorithm);
  }
  if (!isObject(at.value)) throw expected(at, ACCOUNT_FORMS);
  const o = object(at, 'an account', ['domain', 'public_key', 'algorithm', 'key']);
  const domain = name(field(at, o, 'domain'), 'the domain');
  if (o.public_key !== undefined) {
    if (o.algorithm !== undefined || o.key !== undefined) throw expected(at, `${ACCOUNT_FORMS}: public_key or algorithm + key, not both`, false);
    const key = parseMultihash(field(at, o, 'public_key'));
    return accountId(domain, key.key, key.algorithm);
  }
  const algAt = field(at, o, 'algorithm');
  const alg = ALGORITHMS.findIndex((a) => a.name === (algAt.value ?? 'ed25519'));
  if (alg < 0) throw expected(algAt, `a key algorithm: one of ${ALGORITHM_NAMES} (default ed25519)`);
  return accountId(domain, hexBytes(field(at, o, 'key'), 'the public key bytes as hex (e.g. 64 hex digits for ed25519)'), alg);
}

/** `AssetDefinitionId` from `"name#domain"`. */
export function assetDefinition(at: At): Uint8Array {
  const s = string(at, 'an asset definition "name#domain", e.g. "rose#wonderland"');
  const i = s.lastIndexOf('#');
  if (i < 0) throw expected(at, 'an asset definition "name#domain", e.g. "rose#wonderland"');
  return assetDefinitionId(name({ ...at, value: s.slice(0, i) }, 'the asset name'), name({ ...at, value: s.slice(i + 1) }, 'the asset domain'));
}

const ASSET_FORMS = 'an asset "name#domain#<account>", or "name##<account>" when the asset and the account share their domain (e.g. "rose##ed0120…@wonderland")';

/** `AssetId` from `"name#domain#<account>"` or `"name##<account>"` (Iroha's `AssetId::from_str`). */
export function asset(at: At): Uint8Array {
  const s = string(at, ASSET_FORMS);
  const i = s.lastIndexOf('#');
  if (i < 0) throw expected(at, ASSET_FORMS);
  const accountText = s.slice(i + 1);
  const owner = account({ ...at, value: accountText, path: `${at.path} (the account)` });
  let definition = s.slice(0, i);
  if (definition.endsWith('#')) definition += accountText.slice(accountText.lastIndexOf('@') + 1);
  return assetId(assetDefinition({ ...at, value: definition, path: `${at.path} (the asset definition)` }), owner);
}

/** A 32-byte Iroha hash as 64 hex digits, whose last byte is odd (Iroha refuses others on decoding). */
export function hash(at: At): Uint8Array {
  const h = hexBytes(at, 'a hash: 64 hex digits', 32);
  if ((h[31]! & 1) === 0) throw expected(at, "a hash whose last byte is odd (Iroha's hashes are; Iroha refuses others)");
  return h;
}
