/**
 * SCALE encoders of the Iroha values a caller gives the Iroha profile (Hyperledger Iroha 2.0.0-rc.1,
 * `iroha_data_model`): entrypoint contexts, events, instructions, queries and answers, on scale-ts.
 * Each builder returns the SCALE bytes of the Iroha type named in its comment; composite builders take
 * already-encoded parts (a `Uint8Array` argument is inserted as is). None adds the length prefix (the
 * service does). The JSON front (`iroha-context`, `iroha-answer`) and the tests build on these.
 */
import { Bytes, Enum, Option, Result, Struct, Vector, _void, compact, str, u32, u64, u8 } from 'scale-ts';

/** Already-encoded bytes, inserted as is (scale-ts's `Bytes(Infinity)`; encoding only). */
const raw = Bytes(Infinity);
export const concat = (...parts: Uint8Array[]): Uint8Array => Vector(raw, parts.length).enc(parts);
/** `Vec<T>` of already-encoded items. */
export const vec = (items: Uint8Array[]): Uint8Array => Vector(raw).enc(items);
/** `Option<T>` of already-encoded bytes. */
export const option = (value: Uint8Array | undefined): Uint8Array => Option(raw).enc(value);
/** `String` (and `Name`, `Json`, which encode as one). */
export const string = (s: string): Uint8Array => str.enc(s);
export const encU8 = (n: number): Uint8Array => u8.enc(n);
export const encU32 = (n: number): Uint8Array => u32.enc(n);
export const encU64 = (n: number | bigint): Uint8Array => u64.enc(BigInt(n));

// ---------------------------------------------------------------------------------------------------
// Identifiers.

/** `Algorithm`: Ed25519 0, Secp256k1 1, BlsNormal 2, BlsSmall 3. */
export const Algorithm = { Ed25519: 0, Secp256k1: 1, BlsNormal: 2, BlsSmall: 3 } as const;

/** `PublicKey` = `(Algorithm, Vec<u8> payload)` (iroha_crypto; not parsed inside wasm). */
export const PublicKeyCodec = Struct({ algorithm: u8, payload: Bytes() });
/** `DomainId { name: Name }` (`Name` is a `String`). */
export const DomainIdCodec = Struct({ name: str });
/** `AccountId { domain: DomainId, signatory: PublicKey }`. */
export const AccountIdCodec = Struct({ domain: DomainIdCodec, signatory: PublicKeyCodec });

/** `PublicKey` of an algorithm (by index) and the key bytes. */
export const publicKey = (algorithm: number, payload: Uint8Array): Uint8Array => PublicKeyCodec.enc({ algorithm, payload });

/** `AccountId` of `<multihash of pubkey>@domain`. */
export function accountId(domain: string, pubkey: Uint8Array, algorithm = 0): Uint8Array {
  return AccountIdCodec.enc({ domain: { name: domain }, signatory: { algorithm, payload: pubkey } });
}

/** `TriggerId { name: Name }`. */
export const triggerId = (name: string): Uint8Array => str.enc(name);
/** `AssetDefinitionId { domain: DomainId, name: Name }` (`name#domain`). */
export const assetDefinitionId = (name: string, domain: string): Uint8Array => concat(str.enc(domain), str.enc(name));
/** `AssetId { account: AccountId, definition: AssetDefinitionId }`. */
export const assetId = (definition: Uint8Array, account: Uint8Array): Uint8Array => concat(account, definition);

/** `Metadata(BTreeMap<Name, Json>)`: entries in key order (a BTreeMap's), each value JSON text. */
export function metadata(entries: Record<string, string> = {}): Uint8Array {
  const keys = Object.keys(entries).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return vec(keys.map((k) => concat(str.enc(k), str.enc(entries[k]!))));
}

// ---------------------------------------------------------------------------------------------------
// Blocks and contexts (smart_contract.rs `payloads`).

/** `HashOf<T>`: `[u8; 32]` whose last byte is odd. */
const HashCodec = Bytes(32);
/**
 * `BlockHeader { height: NonZeroU64, prev_block_hash: Option<HashOf<BlockHeader>>, transactions_hash:
 * HashOf<MerkleTree<SignedTransaction>>, creation_time_ms: u64, view_change_index: u32 }`.
 */
export const BlockHeaderCodec = Struct({
  height: u64,
  prev_block_hash: Option(HashCodec),
  transactions_hash: HashCodec,
  creation_time_ms: u64,
  view_change_index: u32,
});

export interface BlockHeaderInput {
  height: number | bigint;
  prevBlockHash?: Uint8Array;
  transactionsHash: Uint8Array;
  creationTimeMs: number | bigint;
  viewChangeIndex: number;
}

/** `BlockHeader`; throws on height 0 or a hash that Iroha would refuse (not 32 bytes, even last byte). */
export function blockHeader(b: BlockHeaderInput): Uint8Array {
  if (BigInt(b.height) < 1n) throw new Error('BlockHeader.height is a NonZeroU64');
  for (const [name, h] of [['prevBlockHash', b.prevBlockHash], ['transactionsHash', b.transactionsHash]] as const) {
    if (h === undefined) continue;
    if (h.length !== 32) throw new Error(`${name} must be 32 bytes`);
    if ((h[31]! & 1) === 0) throw new Error(`${name} must end in an odd byte (Iroha's hashes do)`);
  }
  return BlockHeaderCodec.enc({
    height: BigInt(b.height),
    prev_block_hash: b.prevBlockHash,
    transactions_hash: b.transactionsHash,
    creation_time_ms: BigInt(b.creationTimeMs),
    view_change_index: b.viewChangeIndex,
  });
}

/** `SmartContractContext { authority: AccountId, curr_block: BlockHeader }`. */
export const smartContractContext = (authority: Uint8Array, block: Uint8Array): Uint8Array => concat(authority, block);
/** `ExecutorContext { authority: AccountId, curr_block: BlockHeader }` (the `migrate` payload). */
export const executorContext = (authority: Uint8Array, block: Uint8Array): Uint8Array => concat(authority, block);
/** `TriggerContext { id: TriggerId, authority: AccountId, curr_block: BlockHeader, event: EventBox }`. */
export function triggerContext(t: { id: string; authority: Uint8Array; block: Uint8Array; event: Uint8Array }): Uint8Array {
  return concat(triggerId(t.id), t.authority, t.block, t.event);
}
/** `Validate<T> { context: ExecutorContext, target: T }` (T: SignedTransaction, InstructionBox or AnyQueryBox). */
export const validate = (context: Uint8Array, target: Uint8Array): Uint8Array => concat(context, target);
/** `Validate<InstructionBox>`. */
export const validateInstruction = validate;

// ---------------------------------------------------------------------------------------------------
// Events (events/mod.rs `EventBox`: Pipeline 0, Data 1, Time 2, ExecuteTrigger 3, TriggerCompleted 4).

/** `ExecuteTriggerEvent { trigger_id: TriggerId, authority: AccountId, args: Json }` (`Json` is its text as a `String`). */
const ExecuteTriggerEventCodec = Struct({ trigger_id: str, authority: raw, args: str });
/** `TimeEvent { interval: TimeInterval { since_ms: u64, length_ms: u64 } }`. */
const TimeEventCodec = Struct({ since_ms: u64, length_ms: u64 });
const EventBoxCodec = Enum({ Time: TimeEventCodec, ExecuteTrigger: ExecuteTriggerEventCodec }, [2, 3]);

/** `EventBox::ExecuteTrigger(ExecuteTriggerEvent { trigger_id, authority, args })`; `args` is JSON text (default `null`). */
export function executeTriggerEvent(e: { triggerId: string; authority: Uint8Array; args?: string }): Uint8Array {
  return EventBoxCodec.enc({ tag: 'ExecuteTrigger', value: { trigger_id: e.triggerId, authority: e.authority, args: e.args ?? 'null' } });
}
/** `EventBox::Time(TimeEvent { interval: TimeInterval { since_ms, length_ms } })`. */
export function timeEvent(sinceMs: number | bigint, lengthMs: number | bigint): Uint8Array {
  return EventBoxCodec.enc({ tag: 'Time', value: { since_ms: BigInt(sinceMs), length_ms: BigInt(lengthMs) } });
}

// ---------------------------------------------------------------------------------------------------
// Instructions (isi.rs `InstructionBox`: Register 0, Unregister 1, Mint 2, Burn 3, Transfer 4, SetKeyValue 5,
// RemoveKeyValue 6, Grant 7, Revoke 8, ExecuteTrigger 9, SetParameter 10, Upgrade 11, Log 12, Custom 13).

export const INSTRUCTION = {
  Register: 0, Unregister: 1, Mint: 2, Burn: 3, Transfer: 4, SetKeyValue: 5, RemoveKeyValue: 6, Grant: 7, Revoke: 8,
  ExecuteTrigger: 9, SetParameter: 10, Upgrade: 11, Log: 12, Custom: 13,
} as const;
/** `InstructionBox::<variant>(<box variant index>, payload)`: most instructions are a box of boxes. */
export const instruction = (variant: keyof typeof INSTRUCTION, payload: Uint8Array): Uint8Array => concat(u8.enc(INSTRUCTION[variant]), payload);

/** `Numeric { mantissa: Compact<u128>, scale: Compact<u32> }` (iroha_numeric; checked against mint_rose_trigger's Mint). */
const NumericCodec = Struct({ mantissa: compact, scale: compact });
export const numeric = (mantissa: number | bigint, scale = 0): Uint8Array => NumericCodec.enc({ mantissa, scale });

/** `Log { level: Level (u8: TRACE 0 .. ERROR 4), msg: String }`. */
const LogCodec = Struct({ level: u8, msg: str });
/** `SetKeyValueBox` (Domain 0, Account 1, AssetDefinition 2, Asset 3, Trigger 4) of `SetKeyValue { object, key: Name, value: Json }`. */
const SetKeyValueCodec = Struct({ object: raw, key: str, value: str });
const SetKeyValueBoxCodec = Enum({ Account: SetKeyValueCodec }, [1]);
/** `MintBox` (Asset 0, TriggerRepetitions 1) of `Mint { object, destination }`. */
const MintBoxCodec = Enum({ Asset: Struct({ object: raw, destination: raw }) }, [0]);
const InstructionBoxCodec = Enum({ Mint: MintBoxCodec, SetKeyValue: SetKeyValueBoxCodec, Log: LogCodec }, [2, 5, 12]);

/** `InstructionBox::Log(Log { level, msg })`. */
export const logInstruction = (level: number, msg: string): Uint8Array =>
  InstructionBoxCodec.enc({ tag: 'Log', value: { level, msg } });
/** `InstructionBox::SetKeyValue(SetKeyValueBox::Account(SetKeyValue { object: AccountId, key, value: Json }))`; `json` is JSON text. */
export const setAccountKeyValue = (account: Uint8Array, key: string, json: string): Uint8Array =>
  InstructionBoxCodec.enc({ tag: 'SetKeyValue', value: { tag: 'Account', value: { object: account, key, value: json } } });
/** `InstructionBox::Mint(MintBox::Asset(Mint { object: Numeric, destination: AssetId }))`. */
export const mintAssetNumeric = (quantity: number | bigint, asset: Uint8Array, scale = 0): Uint8Array =>
  InstructionBoxCodec.enc({ tag: 'Mint', value: { tag: 'Asset', value: { object: numeric(quantity, scale), destination: asset } } });

// ---------------------------------------------------------------------------------------------------
// Queries (query/mod.rs). `AnyQueryBox` (Singular 0, Iterable 1) has the tags of `QueryRequest` (Singular 0,
// Start 1, Continue 2): the query a module sends (`iroha.queries`) is, as it is, what an executor validates.

/** `QueryBox` variants (iterable queries), by SCALE index. */
export const ITERABLE_QUERIES = [
  'FindDomains', 'FindAccounts', 'FindAssets', 'FindAssetsDefinitions', 'FindRoles', 'FindRoleIds',
  'FindPermissionsByAccountId', 'FindRolesByAccountId', 'FindAccountsWithAsset', 'FindPeers', 'FindActiveTriggerIds',
  'FindTriggers', 'FindTransactions', 'FindBlocks', 'FindBlockHeaders',
] as const;
/** `SingularQueryBox` variants, by SCALE index. */
export const SINGULAR_QUERIES = [
  'FindAssetQuantityById', 'FindExecutorDataModel', 'FindParameters', 'FindDomainMetadata', 'FindAccountMetadata',
  'FindAssetMetadata', 'FindAssetDefinitionMetadata', 'FindTriggerMetadata',
] as const;

/** `CompoundPredicate::PASS` = `And(vec![])` (Atom 0, Not 1, And 2, Or 3). */
export const PASS_PREDICATE = new Uint8Array([2, 0]);

/**
 * `QueryWithParams { query: QueryBox::<variant>(QueryWithFilter { query, predicate }), params: QueryParams {
 * pagination: Pagination { limit: Option<NonZeroU64>, offset: u64 }, sorting: Sorting { sort_by_metadata_key:
 * Option<Name> }, fetch_size: FetchSize { fetch_size: Option<NonZeroU64> } } }`. `query` is the query's own
 * fields (empty for most).
 */
export function queryWithParams(q: {
  index: number; query?: Uint8Array; predicate?: Uint8Array; limit?: bigint; offset?: bigint; sortByMetadataKey?: string; fetchSize?: bigint;
}): Uint8Array {
  return concat(
    u8.enc(q.index), q.query ?? new Uint8Array(0), q.predicate ?? PASS_PREDICATE,
    Option(u64).enc(q.limit), u64.enc(q.offset ?? 0n), Option(str).enc(q.sortByMetadataKey), Option(u64).enc(q.fetchSize),
  );
}
/** `AnyQueryBox::Iterable(QueryWithParams)` (the bytes of `QueryRequest::Start` too). */
export const iterableQuery = (withParams: Uint8Array): Uint8Array => concat(u8.enc(1), withParams);
/** `AnyQueryBox::Singular(SingularQueryBox::<index>(fields))` (the bytes of `QueryRequest::Singular` too). */
export const singularQuery = (index: number, fields: Uint8Array = new Uint8Array(0)): Uint8Array => concat(u8.enc(0), u8.enc(index), fields);

// ---------------------------------------------------------------------------------------------------
// Query answers: `Result<QueryResponse, ValidationFail>`; `QueryResponse`: Singular 0, Iterable 1.

/** `QueryOutputBatchBox` variants, by SCALE index. */
export const BATCH_VARIANTS = [
  'Domain', 'Account', 'Asset', 'AssetDefinition', 'Role', 'Parameter', 'Permission', 'Transaction',
  'Peer', 'RoleId', 'TriggerId', 'Trigger', 'Block', 'BlockHeader',
] as const;
export type BatchVariant = (typeof BATCH_VARIANTS)[number];

/** `ForwardCursor { query: QueryId (String), cursor: NonZeroU64 }`. */
const ForwardCursorCodec = Struct({ query: str, cursor: u64 });
/** `QueryOutput { batch: QueryOutputBatchBox, remaining_items: u64, continue_cursor: Option<ForwardCursor> }`. */
const QueryOutputCodec = Struct({ batch: raw, remaining_items: u64, continue_cursor: Option(ForwardCursorCodec) });
const QueryResponseCodec = Enum({ Singular: raw, Iterable: QueryOutputCodec });
const QueryResultCodec = Result(QueryResponseCodec, raw);

/** `QueryOutputBatchBox::<variant>(Vec<_>)` of already-encoded items. */
export function batch(variant: BatchVariant, items: Uint8Array[] = []): Uint8Array {
  const i = BATCH_VARIANTS.indexOf(variant);
  if (i < 0) throw new Error(`unknown QueryOutputBatchBox variant ${variant}`);
  return concat(u8.enc(i), vec(items));
}

/** `Ok(QueryResponse::Iterable(QueryOutput { batch, remaining_items, continue_cursor }))`. */
export function iterableAnswer(o: { batch: Uint8Array; remainingItems?: number | bigint; cursor?: { query: string; cursor: number | bigint } }): Uint8Array {
  if (o.cursor && BigInt(o.cursor.cursor) < 1n) throw new Error('ForwardCursor.cursor is a NonZeroU64');
  return QueryResultCodec.enc({
    success: true,
    value: {
      tag: 'Iterable',
      value: {
        batch: o.batch,
        remaining_items: BigInt(o.remainingItems ?? 0),
        continue_cursor: o.cursor && { query: o.cursor.query, cursor: BigInt(o.cursor.cursor) },
      },
    },
  });
}

/** An empty answer to an iterable query: `Ok(Iterable(QueryOutput { batch: <variant>([]), remaining_items: 0, continue_cursor: None }))`. */
export const emptyIterable = (variant: BatchVariant): Uint8Array => iterableAnswer({ batch: batch(variant) });

/** `Ok(QueryResponse::Singular(output))` of an already-encoded `SingularQueryOutputBox`. */
export const singularAnswer = (output: Uint8Array): Uint8Array => QueryResultCodec.enc({ success: true, value: { tag: 'Singular', value: output } });
/** `SingularQueryOutputBox::Json(json)` (Numeric 0, ExecutorDataModel 1, Json 2, Trigger 3, Parameters 4, Transaction 5, BlockHeader 6); `json` is JSON text. */
export const singularJsonOutput = (json: string): Uint8Array => concat(u8.enc(2), str.enc(json));
/** A singular answer `Ok(QueryResponse::Singular(SingularQueryOutputBox::Json(json)))` (e.g. FindTriggerMetadata). */
export const singularJson = (json: string): Uint8Array => singularAnswer(singularJsonOutput(json));

/** `Account { id: AccountId, metadata: Metadata }`. */
export const account = (id: Uint8Array, meta: Uint8Array = metadata()): Uint8Array => concat(id, meta);
/** `Asset { id: AssetId, value: AssetValue::Numeric(Numeric) }` (AssetValue: Numeric 0, Store 1). */
export const numericAsset = (id: Uint8Array, quantity: number | bigint, scale = 0): Uint8Array =>
  concat(id, u8.enc(0), numeric(quantity, scale));
/** `Asset { id: AssetId, value: AssetValue::Store(Metadata) }`. */
export const storeAsset = (id: Uint8Array, meta: Uint8Array): Uint8Array => concat(id, u8.enc(1), meta);

// ---------------------------------------------------------------------------------------------------
// Verdicts and failures: `Result<(), ValidationFail>` (ValidationFail: NotPermitted(String) 0,
// InstructionFailed(InstructionExecutionError) 1, QueryFailed(QueryExecutionFail) 2, TooComplex 3,
// InternalError 4 — its String is `#[codec(skip)]`, nothing on the wire).

export const VALIDATION_FAIL = ['NotPermitted', 'InstructionFailed', 'QueryFailed', 'TooComplex', 'InternalError'] as const;
/** `Err(ValidationFail::<index>(payload))`, as any `Result<_, ValidationFail>` (the Ok type is not encoded). */
export const errValidationFail = (index: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array => concat(u8.enc(1), u8.enc(index), payload);

const VerdictCodec = Result(_void, Enum({ NotPermitted: str }, [0]));
export const verdictBytes = {
  /** `Ok(())` = `00`. */
  ok: (): Uint8Array => VerdictCodec.enc({ success: true, value: undefined }),
  /** `Err(ValidationFail::NotPermitted(message))` = `01 00 <String>`. */
  notPermitted: (message: string): Uint8Array => VerdictCodec.enc({ success: false, value: { tag: 'NotPermitted', value: message } }),
};
