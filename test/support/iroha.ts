/**
 * Test-side Iroha values (Hyperledger Iroha 2.0.0-rc.1, `iroha_data_model`): the SCALE encoders are the
 * CLI's (src/cli/iroha/encode.ts, re-exported here); this adds the accounts, blocks and answers the
 * tests use, and the reference host (iroha_wasmtime.py) with the runs it is checked on. None of these
 * add a length prefix (`lengthPrefixed` in src/engine/profiles/iroha/scale.ts does).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  accountId, assetDefinitionId, assetId, batch, blockHeader, emptyIterable, executeTriggerEvent, executorContext, iterableAnswer,
  logInstruction, numericAsset, setAccountKeyValue, singularJson, smartContractContext, timeEvent, triggerContext,
  validateInstruction,
} from '../../src/cli/iroha/encode.js';

export {
  Algorithm, AccountIdCodec, BATCH_VARIANTS, type BatchVariant, BlockHeaderCodec, type BlockHeaderInput, DomainIdCodec,
  PublicKeyCodec, accountId, assetDefinitionId, assetId, batch, blockHeader, emptyIterable, executeTriggerEvent, executorContext,
  iterableAnswer, logInstruction, mintAssetNumeric, numeric, numericAsset, setAccountKeyValue, singularJson, smartContractContext,
  timeEvent, triggerContext, triggerId, validateInstruction, verdictBytes,
} from '../../src/cli/iroha/encode.js';

export const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const fromHex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));

/** The admin of `executor_with_admin`: `ed012076E5CA…64EF4FC@admin` (an Ed25519 key). */
export const ADMIN_PUBLIC_KEY = fromHex('76e5ca9698296af9be2ca45f525cb3bcfdeb7ee068ba56f973e9dd90564ef4fc');
export const adminAccount = (): Uint8Array => accountId('admin', ADMIN_PUBLIC_KEY);
/** Some other Ed25519 account (the key bytes are arbitrary: wasm never parses them). */
export const aliceAccount = (): Uint8Array => accountId('wonderland', new Uint8Array(32).fill(0xa1));

/** A 32-byte Iroha hash: `fill` repeated, the last byte made odd (Iroha refuses an even last byte). */
export function irohaHash(fill: number): Uint8Array {
  const h = new Uint8Array(32).fill(fill);
  h[31]! |= 1;
  return h;
}

/** The genesis block header (height 1, no previous block). */
export const genesisBlock = (): Uint8Array =>
  blockHeader({ height: 1, transactionsHash: irohaHash(0x11), creationTimeMs: 1_700_000_000_000, viewChangeIndex: 0 });

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

// ---------------------------------------------------------------------------------------------------
// The reference host (test/support/iroha_wasmtime.py on real wasmtime) and the runs it is checked on.

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The real modules, bundled as examples (examples/iroha/README.md). */
export const IROHA_FIXTURES = path.join(ROOT, 'examples/iroha');
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
  return runIrohaReferences(python, [run])[0]!;
}

/** Runs each of `runs` on the reference host, in one python process (each module compiled once, a fresh Store per run). */
export function runIrohaReferences(python: string, runs: IrohaRun[]): IrohaReference[] {
  const r = spawnSync(python, [path.join(ROOT, 'test/support/iroha_wasmtime.py')], {
    input: JSON.stringify(
      runs.map((run) => ({
        module: path.join(IROHA_FIXTURES, `${run.module}.wasm`),
        entrypoint: run.entrypoint,
        context: toHex(run.context),
        queryResponses: run.queryResponses.map(toHex),
        fuel: run.fuel,
      })),
    ),
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  if (r.status !== 0) throw new Error(`iroha_wasmtime.py failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as IrohaReference[];
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
