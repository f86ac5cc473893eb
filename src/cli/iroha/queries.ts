/**
 * `AnyQueryBox` (what `_iroha_executor_validate_query` validates) from JSON:
 * `{"Iterable": {"query": "FindAssets", "params": {"fetch_size": 1}}}` (with the predicate PASS),
 * `{"Singular": {"FindTriggerMetadata": {"id": "mint_rose", "key": "VAL"}}}`, `{"Singular": "FindParameters"}`,
 * or `{"scale": "<hex>"}` — e.g. a query a module made, from an answer's `iroha.queries` (a
 * `QueryRequest::Start` / `Singular` has the bytes of the `AnyQueryBox` it asks).
 */
import { ITERABLE_QUERIES, SINGULAR_QUERIES, concat, iterableQuery, queryWithParams, singularQuery, string as encString, triggerId } from './encode.js';
import { account, asset, assetDefinition } from './ids.js';
import { type At, U64_MAX, expected, field, hexBytes, isObject, name, object, uint, variant } from './json-read.js';

/** The fields of the iterable queries that have some; the others are unit structs. */
const ITERABLE_FIELDS: Partial<Record<(typeof ITERABLE_QUERIES)[number], { key: string; read: (at: At) => Uint8Array }>> = {
  FindPermissionsByAccountId: { key: 'id', read: account },
  FindRolesByAccountId: { key: 'id', read: account },
  FindAccountsWithAsset: { key: 'asset_definition', read: assetDefinition },
};

function iterable(at: At): Uint8Array {
  const o = object(at, 'an iterable query {query, params}', ['query', 'params']);
  const qAt = field(at, o, 'query');
  const q = variant(qAt, 'iterable query', ITERABLE_QUERIES);
  const f = ITERABLE_FIELDS[q.name];
  let fields: Uint8Array | undefined;
  if (f) {
    const fo = object(q.payload, `${q.name} {${f.key}}`, [f.key]);
    fields = f.read(field(q.payload, fo, f.key));
  } else if (q.payload.value !== undefined && q.payload.value !== null) {
    throw expected(q.payload, `nothing: ${q.name} has no fields (write "${q.name}")`);
  }
  const pAt = field(at, o, 'params');
  const p = pAt.value === undefined ? {} : object(pAt, 'query params {limit, offset, sort_by_metadata_key, fetch_size}', ['limit', 'offset', 'sort_by_metadata_key', 'fetch_size']);
  const opt = (key: string, what: string, min: bigint): bigint | undefined => {
    const a = field(pAt, p, key);
    return a.value === undefined || a.value === null ? undefined : uint(a, what, min, U64_MAX);
  };
  const sortAt = field(pAt, p, 'sort_by_metadata_key');
  return iterableQuery(queryWithParams({
    index: ITERABLE_QUERIES.indexOf(q.name),
    ...(fields ? { query: fields } : {}),
    limit: opt('limit', 'a limit (an integer from 1) or null', 1n),
    offset: opt('offset', 'an offset (u64)', 0n) ?? 0n,
    ...(sortAt.value === undefined || sortAt.value === null ? {} : { sortByMetadataKey: name(sortAt, 'a metadata key') }),
    fetchSize: opt('fetch_size', 'a fetch size (an integer from 1) or null', 1n),
  }));
}

/** Singular queries: their fields, in order (`id` then `key` for the metadata ones). */
const SINGULAR_FIELDS: Record<(typeof SINGULAR_QUERIES)[number], [string, (at: At) => Uint8Array][]> = {
  FindAssetQuantityById: [['id', asset]],
  FindExecutorDataModel: [],
  FindParameters: [],
  FindDomainMetadata: [['id', (at) => encString(name(at, 'a domain name'))], ['key', (at) => encString(name(at, 'a key'))]],
  FindAccountMetadata: [['id', account], ['key', (at) => encString(name(at, 'a key'))]],
  FindAssetMetadata: [['id', asset], ['key', (at) => encString(name(at, 'a key'))]],
  FindAssetDefinitionMetadata: [['id', assetDefinition], ['key', (at) => encString(name(at, 'a key'))]],
  FindTriggerMetadata: [['id', (at) => triggerId(name(at, 'a trigger name'))], ['key', (at) => encString(name(at, 'a key'))]],
};

function singular(at: At): Uint8Array {
  const q = variant(at, 'singular query', SINGULAR_QUERIES);
  const spec = SINGULAR_FIELDS[q.name];
  if (spec.length === 0) {
    if (q.payload.value !== undefined && q.payload.value !== null) throw expected(q.payload, `nothing: ${q.name} has no fields (write "${q.name}")`);
    return singularQuery(SINGULAR_QUERIES.indexOf(q.name));
  }
  const keys = spec.map(([k]) => k);
  const o = object(q.payload, `${q.name} {${keys.join(', ')}}`, keys);
  return singularQuery(SINGULAR_QUERIES.indexOf(q.name), concat(...spec.map(([k, read]) => read(field(q.payload, o, k)))));
}

/** An `AnyQueryBox` from JSON (see above). */
export function parseQuery(at: At): Uint8Array {
  if (isObject(at.value) && 'scale' in at.value) {
    const o = object(at, 'a query as SCALE bytes {scale}', ['scale']);
    return hexBytes(field(at, o, 'scale'), 'the SCALE bytes of an AnyQueryBox (or of the QueryRequest a module made), as hex');
  }
  const v = variant(at, 'query (or {"scale": "<hex>"})', ['Iterable', 'Singular'] as const);
  return v.name === 'Iterable' ? iterable(v.payload) : singular(v.payload);
}
