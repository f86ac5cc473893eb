/**
 * Host profiles (src/engine/profiles/): the request's profile is chosen and checks it, its part of the
 * answer (also of a timed-out run), and what an Iroha run's trap says of its likely cause: a refused
 * query, an empty or undecodable context (Iroha's real modules, and WAT guests for each case). The
 * hint never changes the outcome's kind nor its fuel: the real modules' fuel is pinned as it was
 * measured before the hints existed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { DEFAULT_ENGINE_CONFIG, DEFAULT_LIMITS } from '../../src/engine/defaults.js';
import { type ExecuteInput, type ExecutionResult, check, execute, timeoutResult } from '../../src/engine/execute.js';
import type { PreparedModule } from '../../src/engine/prepare.js';
import { profileFor } from '../../src/engine/profiles/index.js';
import { PAGE, prep, watModule } from '../support/engine.js';
import * as I from '../support/iroha.js';

const fixtures = new Map<string, PreparedModule>();
const fixture = (name: string) => {
  let m = fixtures.get(name);
  if (!m) fixtures.set(name, (m = prep(new Uint8Array(readFileSync(join(I.IROHA_FIXTURES, `${name}.wasm`))))));
  return m;
};
const run = (contract: PreparedModule, o: Partial<ExecuteInput> = {}): ExecutionResult => execute({ contract, limits: DEFAULT_LIMITS, ...o }, DEFAULT_ENGINE_CONFIG);
const { alice, block2 } = I.FIXTURE;

const UNREACHABLE = 'wasm `unreachable` instruction executed';
const REFUSED = "; the module's last query was refused (NotPermitted: no query source): give its answer in `iroha.queryResponses` or a peer in `iroha.callback`";
const shape = (entry: string, type: string) => `\`iroha.context\` for \`${entry}\` is the base64 of a SCALE-encoded \`${type}\`, without the length prefix: \`wasm-runner iroha-context\` builds one from JSON (docs/IROHA.md)`;
const TRIGGER = 'TriggerContext { id, authority, curr_block, event: EventBox }';
const SMART = 'SmartContractContext { authority: AccountId, curr_block: BlockHeader }';

/** A guest with Iroha's required exports (a bump allocator at 0x1000); (u8 2, String "hi") at 64. */
const guest = (body: string, extra = '') => `(module
  (import "iroha" "log" (func $log (param i32 i32)))
  (import "iroha" "execute_query" (func $query (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $next (mut i32) (i32.const 4096))
  (func (export "_iroha_smart_contract_alloc") (param $n i32) (result i32)
    global.get $next
    (global.set $next (i32.add (global.get $next) (local.get $n))))
  (func (export "_iroha_smart_contract_dealloc") (param i32 i32))
  (data (i32.const 64) "\\02\\08hi")
  ${extra}
  (func (export "_iroha_smart_contract_main") (param $ctx i32) ${body}))`;

t.test("Iroha's modules: a trap says its likely cause, with the same kind and fuel", async (t) => {
  const trigger = fixture('mint_rose_trigger');
  const empty = run(trigger, { iroha: { context: new Uint8Array(0) } });
  t.has(empty.error, { kind: 'trap', message: `${UNREACHABLE}; the context is empty: ${shape('_iroha_trigger_main', TRIGGER)}` });
  t.equal(empty.fuel.consumed, 2428);

  const contract = fixture('query_assets_and_save_cursor');
  const garbled = run(contract, { iroha: { context: new Uint8Array([1, 2, 3]) } });
  t.has(garbled.error, {
    kind: 'trap',
    message: `${UNREACHABLE}; the module trapped before any host call, as it does on a context it cannot decode: ${shape('_iroha_smart_contract_main', SMART)}`,
  });
  t.equal(garbled.fuel.consumed, 2478);

  // a good context, but its FindAssets query has no source: the module prints the panic with dbg, then traps
  const refused = run(contract, { iroha: { context: I.smartContractContext(alice, block2) } });
  t.has(refused.error, { kind: 'trap', message: UNREACHABLE + REFUSED });
  t.equal(refused.logs.length, 1, 'a host call after the refused query: still the likely cause');
  t.equal(refused.fuel.consumed, 38154);

});

t.test('WAT guests: which traps get a hint', async (t) => {
  const ctx = { context: new Uint8Array([7]) };
  const first = run(await watModule(guest('unreachable')), { iroha: ctx });
  t.has(first.error, {
    kind: 'trap',
    message: `${UNREACHABLE}; the module trapped before any host call, as it does on a context it cannot decode: ${shape('_iroha_smart_contract_main', SMART)}`,
  });
  t.equal(first.fuel.consumed, 1 + 6, 'entry 1 (unreachable is free), the context alloc 6: as without the hint');

  const logged = run(await watModule(guest('(call $log (i32.const 64) (i32.const 4)) unreachable')), { iroha: ctx });
  t.has(logged.error, { kind: 'trap', message: UNREACHABLE }, 'after a host call, with a context: no hint');

  const query = await watModule(guest('(drop (call $query (i32.const 64) (i32.const 4))) (call $log (i32.const 64) (i32.const 4)) unreachable'));
  t.has(run(query, { iroha: ctx }).error, { kind: 'trap', message: UNREACHABLE + REFUSED }, 'the query refused, then a log, then the trap');
  t.has(run(query, { iroha: { ...ctx, queryResponses: [new Uint8Array([0])] } }).error, { kind: 'trap', message: UNREACHABLE }, 'the query answered: no hint');

  const quiet = run(await watModule(guest('nop')), { iroha: { context: new Uint8Array(0) } });
  t.same(quiet.error, null, 'an empty context alone is no error: only a trap gets the hint');

  const badLevel = run(await watModule(guest('(call $log (i32.const 65) (i32.const 3))')), { iroha: { context: new Uint8Array(0) } });
  t.equal(badLevel.error?.kind, 'trap');
  t.notMatch(badLevel.error!.message, /context/, "a host function's trap says its own cause");

  const start = run(await watModule(guest('nop', '(func $s unreachable) (start $s)')), { iroha: { context: new Uint8Array(0) } });
  t.has(start.error, { kind: 'trap', message: UNREACHABLE }, 'a trap before the entrypoint was given the context: no hint');

  const plain = run(await watModule('(module (func (export "main") unreachable))'));
  t.has(plain.error, { kind: 'trap', message: UNREACHABLE }, 'host ABI v1: no hint');
});

t.test('the initial memory over the limit: the library is named only when there is one', async (t) => {
  const trigger = fixture('mint_rose_trigger');
  const r = run(trigger, { iroha: { context: new Uint8Array(0) }, limits: { ...DEFAULT_LIMITS, memoryBytes: PAGE } });
  t.has(r.error, { kind: 'memory_limit', message: `initial memory of ${17 * PAGE} bytes (contract 17 pages) exceeds the limit of ${PAGE} bytes` });
  const two = await watModule('(module (memory 2) (func (export "main")))');
  t.match(run(two, { limits: { ...DEFAULT_LIMITS, memoryBytes: PAGE } }).error!.message, /\(contract 2 pages\)/);
});

t.test('the profile of a request: its checks, and its part of the answer', async (t) => {
  const trigger = fixture('mint_rose_trigger');
  const iroha: ExecuteInput = { contract: trigger, limits: DEFAULT_LIMITS, iroha: { context: new Uint8Array(0) } };
  t.equal(profileFor(iroha).name, 'Iroha');
  t.same(check(iroha).plan, { entry: '_iroha_trigger_main', returnsVerdict: false });
  const add = await watModule('(module (func (export "add") (param i32 i64) (result i64) (i64.add (i64.extend_i32_s (local.get 0)) (local.get 1))))');
  const host: ExecuteInput = { contract: add, limits: DEFAULT_LIMITS, entrypoint: 'add', args: [2, '40'] };
  t.equal(profileFor(host).name, 'host ABI v1');
  t.same(check(host).plan, { args: [2, 40n] });
  t.same(run(add, { entrypoint: 'add', args: [2, '40'] }).result!.values, ['42']);

  const timings = { queueMs: 1, prepareMs: 2, executeMs: 3 };
  const stopped = timeoutResult(iroha, timings);
  t.same(stopped.iroha, { instructions: [], queries: [], dataModel: null, verdict: null });
  t.same(Object.keys(stopped), ['ok', 'result', 'error', 'fuel', 'memory', 'logs', 'modules', 'link', 'iroha', 'timings'], 'the same JSON, key order included');
  t.notOk('iroha' in timeoutResult(host, timings));
  const ran = run(trigger, { iroha: { context: new Uint8Array(0) } });
  t.same(Object.keys(ran), ['ok', 'result', 'error', 'fuel', 'memory', 'logs', 'modules', 'link', 'timings', 'iroha']);
  t.notOk('iroha' in run(add, { entrypoint: 'add', args: [2, '40'] }));
});
