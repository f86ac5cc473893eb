/**
 * Parity with Iroha: the four real Hyperledger Iroha 2.0.0-rc.1 modules (examples/iroha) run with
 * the contexts and query answers of `irohaRuns()`, through the engine's Iroha profile and through the
 * reference host test/support/iroha_wasmtime.py (real wasmtime, Iroha's host conventions). Both must
 * give the facts pinned here — what each module asks (queries, instructions, set_data_model), its
 * verdict, its outcome — and the fuel wasmtime 49 counts. The engine is always checked against the
 * pinned facts; the reference host where python with wasmtime is installed (.ci/run installs it).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { DEFAULT_ENGINE_CONFIG } from '../../src/engine/defaults.js';
import { execute } from '../../src/engine/execute.js';
import { decodeVerdict } from '../../src/engine/profiles/iroha/scale.js';
import { prep } from '../support/engine.js';
import { LONG } from '../support/long.js';
import {
  FIXTURE, IROHA_FIXTURES, type IrohaRun, findReferencePython, fromHex, irohaRuns, logInstruction, mintAssetNumeric, runIrohaReferences, setAccountKeyValue, toHex,
} from '../support/iroha.js';

const { alice, rose } = FIXTURE;
const UNREACHABLE = 'wasm trap: wasm `unreachable` instruction executed';
/** Start(FindAssets, PASS, fetch_size Some(1)). */
const FIND_ASSETS = '0102020000000000000000000000010100000000000000';
const SAVE_CURSOR = toHex(setAccountKeyValue(alice, 'cursor', '{"query":"q1","cursor":1}'));

interface Expected {
  outcome?: string;
  queries?: string[];
  instructions?: string[];
  verdict?: string | null;
  dataModel?: { bytes: number; sha256: string } | null;
  dbg?: number;
  fuel: number;
}

const EXPECTED: Record<string, Expected> = {
  'executor_with_admin migrate': { fuel: 8736 },
  'default_executor migrate at genesis': {
    // Start(FindAccounts, PASS), Start(FindRoles, PASS); then set_data_model (default permissions)
    queries: ['010102000000000000000000000000', '010402000000000000000000000000'],
    dataModel: { bytes: 3441, sha256: 'd7fcd3386968b54573366eb3cd417841494cc2e316c771ba2ac78e197290a953' },
    fuel: 772700,
  },
  'default_executor migrate at height 2': { outcome: UNREACHABLE, fuel: 9119 },
  'mint_rose_trigger with args {"val": 3}': { instructions: [toHex(mintAssetNumeric(3, rose(alice)))], fuel: 26109 },
  // Singular(FindTriggerMetadata { id: "mint_rose", key: "VAL" }), answered Json("5")
  'mint_rose_trigger without args (metadata VAL = 5)': {
    queries: ['0007246d696e745f726f73650c56414c'], instructions: [toHex(mintAssetNumeric(5, rose(alice)))], fuel: 41672,
  },
  'mint_rose_trigger on a time event': { outcome: UNREACHABLE, fuel: 12194 },
  'query_assets_and_save_cursor, no assets': { queries: [FIND_ASSETS], instructions: [SAVE_CURSOR], fuel: 27196 },
  'query_assets_and_save_cursor, one asset': { queries: [FIND_ASSETS], instructions: [SAVE_CURSOR], fuel: 32943 },
  'query_assets_and_save_cursor, no cursor': { outcome: UNREACHABLE, queries: [FIND_ASSETS], dbg: 1, fuel: 31850 },
  'executor_with_admin validates Log by admin': { instructions: [toHex(logInstruction(2, 'hi'))], verdict: '00', fuel: 25696 },
  'default_executor validates own SetKeyValue at height 2': { instructions: [toHex(setAccountKeyValue(alice, 'k', '1'))], verdict: '00', fuel: 24598 },
  // one query (Start(FindDomains, id == "wonderland"): is alice the domain's owner?), answered
  // Err(NotPermitted("no query source")), which becomes the verdict
  "default_executor validates SetKeyValue on bob's account at height 2": {
    queries: ['0100020400000028776f6e6465726c616e640000000000000000000000'],
    verdict: '01003c6e6f20717565727920736f75726365',
    fuel: 30032,
  },
};

const sha = (hex: string) => createHash('sha256').update(Buffer.from(hex, 'hex')).digest('hex');
const dataModelOf = (hex: string | null) => (hex === null ? null : { bytes: hex.length / 2, sha256: sha(hex) });
const b64hex = (b: string) => Buffer.from(b, 'base64').toString('hex');

const modules = new Map<string, ReturnType<typeof prep>>();
function engineRun(run: IrohaRun) {
  let m = modules.get(run.module);
  if (!m) modules.set(run.module, (m = prep(new Uint8Array(readFileSync(join(IROHA_FIXTURES, `${run.module}.wasm`))))));
  const r = execute(
    { contract: m, entrypoint: run.entrypoint, iroha: { context: run.context, queryResponses: run.queryResponses }, limits: { fuel: run.fuel, memoryBytes: 55_000_000, timeoutMs: 30_000 } },
    DEFAULT_ENGINE_CONFIG,
  );
  const v = r.iroha!.verdict;
  return {
    r,
    outcome: r.ok ? 'ok' : r.error!.kind,
    queries: r.iroha!.queries.map(b64hex),
    instructions: r.iroha!.instructions.map(b64hex),
    verdict: v === null ? null : v.ok ? '00' : b64hex(v.scale),
    dataModel: r.iroha!.dataModel === null ? null : b64hex(r.iroha!.dataModel),
  };
}

t.test('the engine: every run as pinned, with the fuel wasmtime 49 counts', async (t) => {
  const runs = irohaRuns();
  t.same(runs.map((r) => r.name).sort(), Object.keys(EXPECTED).sort(), 'every run has its expectation');
  for (const run of runs) {
    const e = EXPECTED[run.name]!;
    const ours = engineRun(run);
    t.test(run.name, async (t) => {
      t.equal(ours.outcome, e.outcome ? 'trap' : 'ok', `outcome${ours.r.error ? `: ${ours.r.error.message}` : ''}`);
      if (e.outcome === UNREACHABLE) t.match(ours.r.error!.message, /unreachable/);
      t.same(ours.queries, e.queries ?? [], 'queries');
      t.same(ours.instructions, e.instructions ?? [], 'instructions');
      t.equal(ours.verdict, e.verdict ?? null, 'verdict');
      t.same(dataModelOf(ours.dataModel), e.dataModel ?? null, 'set_data_model');
      t.equal(ours.r.logs.filter((l) => l.level === 'debug').length, e.dbg ?? 0, 'dbg calls (debug log lines)');
      t.equal(ours.r.fuel.consumed, e.fuel, 'fuel consumed = wasmtime 49');
    });
  }
  const low = engineRun({ ...runs[0]!, fuel: 1000 });
  t.equal(low.outcome, 'out_of_fuel', 'fuel runs out');
  t.equal(low.r.fuel.consumed, 1000);
});

t.test('verdicts decode', async (t) => {
  t.same(decodeVerdict(fromHex('00')), { ok: true });
  t.same(decodeVerdict(fromHex('01003c6e6f20717565727920736f75726365')), { ok: false, reason: 'NotPermitted', message: 'no query source' });
  // a Node Buffer over a larger pool, as the engine hands it: decoded from its own offset
  const pooled = Buffer.concat([Buffer.alloc(7, 0xee), Buffer.from('01003c6e6f20717565727920736f75726365', 'hex')]).subarray(7);
  t.same(decodeVerdict(pooled), { ok: false, reason: 'NotPermitted', message: 'no query source' });
});

/**
 * The reference host checks the pins themselves. wasmtime compiles each 3 MB executor for seconds, so
 * `npm test` replays the runs of the two smaller modules (a trigger and a smart contract) and
 * `npm run test:long` every run.
 */
const referenceRuns = () => irohaRuns().filter((r) => LONG || r.module === 'mint_rose_trigger' || r.module === 'query_assets_and_save_cursor');

const oracle = findReferencePython();
t.test(`the reference host on real wasmtime: the same facts (${LONG ? 'every run' : 'the trigger and the smart contract'})`, { skip: 'skip' in oracle ? oracle.skip : false }, async (t) => {
  if ('skip' in oracle) return;
  const pinFuel = oracle.version.startsWith('49.');
  // one python process for every run: each module is compiled once (most of the time of a run)
  const runs = referenceRuns();
  const answers = runIrohaReferences(oracle.python, [...runs, { ...runs[0]!, fuel: 1000 }]);
  const low = answers.pop()!;
  for (const [i, run] of runs.entries()) {
    t.test(run.name, async (t) => {
      const e = EXPECTED[run.name]!;
      const r = answers[i]!;
      t.equal(r.outcome, e.outcome ?? 'ok', 'outcome');
      t.same(r.queries, e.queries ?? [], 'queries');
      t.same(r.instructions, e.instructions ?? [], 'instructions');
      t.equal(r.verdict, e.verdict ?? null, 'verdict');
      t.same(dataModelOf(r.dataModel), e.dataModel ?? null, 'set_data_model');
      t.same(r.logs, [], 'no logs');
      t.equal(r.dbg.length, e.dbg ?? 0, 'dbg calls');
      t.equal(r.fuel_after_instantiation, 0, 'instantiation costs no fuel');
      if (pinFuel) t.equal(r.fuel_consumed, e.fuel, 'fuel consumed');
      else t.ok(r.fuel_consumed > 0, `fuel consumed (not pinned on wasmtime ${oracle.version})`);
    });
  }
  t.equal(low.outcome, 'wasm trap: all fuel consumed by WebAssembly');
  t.equal(low.fuel_consumed, 1000);
});
