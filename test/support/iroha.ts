/**
 * Test-side SCALE builders for the Iroha profile (Hyperledger Iroha 2.0.0-rc.1, `iroha_data_model`),
 * with scale-ts. Each builder returns the SCALE bytes of the Iroha type named in its comment; composite
 * builders take the already-encoded parts (a `Uint8Array` argument is inserted as is). None of these
 * add a length prefix (`lengthPrefixed` in src/engine/profiles/iroha/scale.ts does).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bytes, Enum, Option, Result, Struct, Vector, _void, compact, str, u32, u64, u8 } from 'scale-ts';

/** Already-encoded bytes, inserted as is (scale-ts's `Bytes(Infinity)`; encoding only). */
const raw = Bytes(Infinity);
const concat = (...parts: Uint8Array[]): Uint8Array => Vector(raw, parts.length).enc(parts);
export const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const fromHex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));

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

/** `AccountId` of `<multihash of pubkey>@domain`. */
export function accountId(domain: string, pubkey: Uint8Array, algorithm = 0): Uint8Array {
  return AccountIdCodec.enc({ domain: { name: domain }, signatory: { algorithm, payload: pubkey } });
}

/** The admin of `executor_with_admin`: `ed012076E5CA…64EF4FC@admin` (an Ed25519 key). */
export const ADMIN_PUBLIC_KEY = fromHex('76e5ca9698296af9be2ca45f525cb3bcfdeb7ee068ba56f973e9dd90564ef4fc');
export const adminAccount = (): Uint8Array => accountId('admin', ADMIN_PUBLIC_KEY);
/** Some other Ed25519 account (the key bytes are arbitrary: wasm never parses them). */
export const aliceAccount = (): Uint8Array => accountId('wonderland', new Uint8Array(32).fill(0xa1));

/** `TriggerId { name: Name }`. */
export const triggerId = (name: string): Uint8Array => str.enc(name);
/** `AssetDefinitionId { domain: DomainId, name: Name }` (`name#domain`). */
export const assetDefinitionId = (name: string, domain: string): Uint8Array => concat(str.enc(domain), str.enc(name));
/** `AssetId { account: AccountId, definition: AssetDefinitionId }`. */
export const assetId = (definition: Uint8Array, account: Uint8Array): Uint8Array => concat(account, definition);

// ---------------------------------------------------------------------------------------------------
// Blocks and contexts (smart_contract.rs `payloads`).

/** A 32-byte Iroha hash: `fill` repeated, the last byte made odd (Iroha refuses an even last byte). */
export function irohaHash(fill: number): Uint8Array {
  const h = new Uint8Array(32).fill(fill);
  h[31]! |= 1;
  return h;
}

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

/** The genesis block header (height 1, no previous block). */
export const genesisBlock = (): Uint8Array =>
  blockHeader({ height: 1, transactionsHash: irohaHash(0x11), creationTimeMs: 1_700_000_000_000, viewChangeIndex: 0 });

/** `SmartContractContext { authority: AccountId, curr_block: BlockHeader }`. */
export const smartContractContext = (authority: Uint8Array, block: Uint8Array): Uint8Array => concat(authority, block);
/** `ExecutorContext { authority: AccountId, curr_block: BlockHeader }` (the `migrate` payload). */
export const executorContext = (authority: Uint8Array, block: Uint8Array): Uint8Array => concat(authority, block);
/** `TriggerContext { id: TriggerId, authority: AccountId, curr_block: BlockHeader, event: EventBox }`. */
export function triggerContext(t: { id: string; authority: Uint8Array; block: Uint8Array; event: Uint8Array }): Uint8Array {
  return concat(triggerId(t.id), t.authority, t.block, t.event);
}
/** `Validate<InstructionBox> { context: ExecutorContext, target: InstructionBox }`. */
export const validateInstruction = (context: Uint8Array, instruction: Uint8Array): Uint8Array => concat(context, instruction);

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
/** `SingularQueryOutputBox` (Numeric 0, ExecutorDataModel 1, Json 2, …): only `Json` here. */
const SingularOutputCodec = Enum({ Json: str }, [2]);
const QueryResponseCodec = Enum({ Singular: SingularOutputCodec, Iterable: QueryOutputCodec });
const QueryResultCodec = Result(QueryResponseCodec, raw);

/** `QueryOutputBatchBox::<variant>(Vec<_>)` of already-encoded items. */
export function batch(variant: BatchVariant, items: Uint8Array[] = []): Uint8Array {
  const i = BATCH_VARIANTS.indexOf(variant);
  if (i < 0) throw new Error(`unknown QueryOutputBatchBox variant ${variant}`);
  return concat(u8.enc(i), Vector(raw).enc(items));
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

/** `Asset { id: AssetId, value: AssetValue::Numeric(Numeric) }` (AssetValue: Numeric 0, Store 1). */
export const numericAsset = (id: Uint8Array, quantity: number | bigint, scale = 0): Uint8Array =>
  concat(id, u8.enc(0), numeric(quantity, scale));

/**
 * A `FindAssets` answer with a continue cursor: `Ok(Iterable(QueryOutput { batch: Asset(assets),
 * remaining_items, continue_cursor: Some(ForwardCursor { query, cursor }) }))`.
 */
export function assetsWithCursor(o: { query: string; cursor?: number | bigint; remainingItems?: number | bigint; assets?: Uint8Array[] }): Uint8Array {
  return iterableAnswer({
    batch: batch('Asset', o.assets ?? []),
    remainingItems: o.remainingItems ?? 1,
    cursor: { query: o.query, cursor: o.cursor ?? 1 },
  });
}

/** A singular answer `Ok(QueryResponse::Singular(SingularQueryOutputBox::Json(json)))` (e.g. FindTriggerMetadata). */
export const singularJson = (json: string): Uint8Array =>
  QueryResultCodec.enc({ success: true, value: { tag: 'Singular', value: { tag: 'Json', value: json } } });

// ---------------------------------------------------------------------------------------------------
// Verdicts: `Result<(), ValidationFail>` (ValidationFail: NotPermitted(String) 0, InstructionFailed 1,
// QueryFailed 2, TooComplex 3, InternalError 4).

const VerdictCodec = Result(_void, Enum({ NotPermitted: str }, [0]));
export const verdictBytes = {
  /** `Ok(())` = `00`. */
  ok: (): Uint8Array => VerdictCodec.enc({ success: true, value: undefined }),
  /** `Err(ValidationFail::NotPermitted(message))` = `01 00 <String>`. */
  notPermitted: (message: string): Uint8Array => VerdictCodec.enc({ success: false, value: { tag: 'NotPermitted', value: message } }),
};

// ---------------------------------------------------------------------------------------------------
// The reference host (test/support/iroha_wasmtime.py on real wasmtime) and the runs it is checked on.


const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const IROHA_FIXTURES = path.join(ROOT, 'test/fixtures/iroha');
export type IrohaModule = 'default_executor' | 'executor_with_admin' | 'mint_rose_trigger' | 'query_assets_and_save_cursor';

/** One run of a real Iroha module: the entrypoint, its context (no prefix) and the query answers in order. */
export interface IrohaRun {
  name: string;
  module: IrohaModule;
  entrypoint: string;
  context: Uint8Array;
  queryResponses: Uint8Array[];
  fuel: number;
}

/** What iroha_wasmtime.py reports (hex strings, no length prefixes). */
export interface IrohaReference {
  version: string;
  fuel_consumed: number;
  fuel_after_instantiation?: number;
  outcome: string;
  instructions: string[];
  queries: string[];
  dataModel: string | null;
  verdict: string | null;
  logs: { level: number; message: string }[];
  dbg: string[];
  trap?: string;
}

/** `WASMTIME_PYTHON`, else the project's `.wasmtime-venv/bin/python`, if it imports wasmtime. */
export function findReferencePython(): { python: string; version: string } | { skip: string } {
  const candidates = [process.env.WASMTIME_PYTHON, path.join(ROOT, '.wasmtime-venv/bin/python')].filter((p): p is string => !!p && existsSync(p));
  for (const python of candidates) {
    const r = spawnSync(python, ['-c', 'from importlib.metadata import version; import wasmtime; print(version("wasmtime"))'], { encoding: 'utf8' });
    if (r.status === 0) return { python, version: r.stdout.trim() };
  }
  return { skip: 'no python with the wasmtime package (.wasmtime-venv/bin/python or WASMTIME_PYTHON)' };
}

/** Runs `run` on the reference host. */
export function runIrohaReference(python: string, run: IrohaRun): IrohaReference {
  const r = spawnSync(python, [path.join(ROOT, 'test/support/iroha_wasmtime.py')], {
    input: JSON.stringify({
      module: path.join(IROHA_FIXTURES, `${run.module}.wasm`),
      entrypoint: run.entrypoint,
      context: toHex(run.context),
      queryResponses: run.queryResponses.map(toHex),
      fuel: run.fuel,
    }),
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  if (r.status !== 0) throw new Error(`iroha_wasmtime.py failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as IrohaReference;
}

/** Accounts and blocks of the runs. */
export const FIXTURE = {
  alice: aliceAccount(),
  bob: accountId('wonderland', new Uint8Array(32).fill(0xb0)),
  admin: adminAccount(),
  genesis: genesisBlock(),
  block2: blockHeader({ height: 2, prevBlockHash: irohaHash(0x22), transactionsHash: irohaHash(0x33), creationTimeMs: 1_700_000_001_000, viewChangeIndex: 0 }),
  rose: (account: Uint8Array): Uint8Array => assetId(assetDefinitionId('rose', 'wonderland'), account),
};

/** The runs of the real modules whose reference results test/engine/iroha-parity.test.ts pins (engine and reference host). */
export function irohaRuns(fuel = 55_000_000): IrohaRun[] {
  const { alice, bob, admin, genesis, block2, rose } = FIXTURE;
  const r = (name: string, module: IrohaModule, entrypoint: string, context: Uint8Array, queryResponses: Uint8Array[] = []): IrohaRun => ({
    name, module, entrypoint, context, queryResponses, fuel,
  });
  const trigger = (args?: string): Uint8Array =>
    triggerContext({ id: 'mint_rose', authority: alice, block: block2, event: executeTriggerEvent({ triggerId: 'mint_rose', authority: alice, ...(args === undefined ? {} : { args }) }) });
  return [
    r('executor_with_admin migrate', 'executor_with_admin', '_iroha_executor_migrate', executorContext(admin, genesis)),
    r('default_executor migrate at genesis', 'default_executor', '_iroha_executor_migrate', executorContext(alice, genesis), [emptyIterable('Account'), emptyIterable('Role')]),
    r('default_executor migrate at height 2', 'default_executor', '_iroha_executor_migrate', executorContext(alice, block2)),
    r('mint_rose_trigger with args {"val": 3}', 'mint_rose_trigger', '_iroha_trigger_main', trigger('{"val":3}')),
    r('mint_rose_trigger without args (metadata VAL = 5)', 'mint_rose_trigger', '_iroha_trigger_main', trigger(), [singularJson('5')]),
    r('mint_rose_trigger on a time event', 'mint_rose_trigger', '_iroha_trigger_main',
      triggerContext({ id: 'mint_rose', authority: alice, block: block2, event: timeEvent(0, 1000) })),
    r('query_assets_and_save_cursor, no assets', 'query_assets_and_save_cursor', '_iroha_smart_contract_main', smartContractContext(alice, genesis),
      [assetsWithCursor({ query: 'q1', cursor: 1, remainingItems: 1 })]),
    r('query_assets_and_save_cursor, one asset', 'query_assets_and_save_cursor', '_iroha_smart_contract_main', smartContractContext(alice, genesis),
      [assetsWithCursor({ query: 'q1', cursor: 1, remainingItems: 1, assets: [numericAsset(rose(alice), 7)] })]),
    r('query_assets_and_save_cursor, no cursor', 'query_assets_and_save_cursor', '_iroha_smart_contract_main', smartContractContext(alice, genesis), [emptyIterable('Asset')]),
    r('executor_with_admin validates Log by admin', 'executor_with_admin', '_iroha_executor_execute_instruction',
      validateInstruction(executorContext(admin, genesis), logInstruction(2, 'hi'))),
    r('default_executor validates own SetKeyValue at height 2', 'default_executor', '_iroha_executor_execute_instruction',
      validateInstruction(executorContext(alice, block2), setAccountKeyValue(alice, 'k', '1'))),
    r("default_executor validates SetKeyValue on bob's account at height 2", 'default_executor', '_iroha_executor_execute_instruction',
      validateInstruction(executorContext(alice, block2), setAccountKeyValue(bob, 'k', '1'))),
  ];
}

/**
 * An Iroha guest trying to record 4 instructions of 16 MiB each (its memory holds them): every one is
 * over the record limit. Run with `limits.memoryBytes` of at least 17,039,360 (260 pages).
 */
export const RECORD_FLOOD_WAT = `(module
  (import "iroha" "execute_instruction" (func $instr (param i32 i32) (result i32)))
  (memory (export "memory") 260)
  (func (export "_iroha_smart_contract_alloc") (param i32) (result i32) i32.const 4096)
  (func (export "_iroha_smart_contract_dealloc") (param i32 i32))
  (func (export "_iroha_smart_contract_main") (param $ctx i32) (local $i i32)
    (loop $l
      i32.const 0 i32.const 16777216 call $instr drop
      local.get $i i32.const 1 i32.add local.tee $i i32.const 4 i32.lt_u br_if $l)))`;
