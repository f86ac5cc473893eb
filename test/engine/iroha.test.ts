/**
 * The Iroha profile through the engine, beyond the pinned runs of iroha-parity.test.ts: answers that
 * run out or are missing, bad contexts and requests, limits, determinism, and the host's conventions
 * on a hand-written WAT guest (length prefixes, alloc/dealloc, log levels, set_data_model outside
 * migrate, out-of-bounds pointers, a verdict that cannot be read).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { DEFAULT_ENGINE_CONFIG, DEFAULT_LIMITS } from '../../src/engine/defaults.js';
import { type ExecuteInput, type ExecutionResult, execute } from '../../src/engine/execute.js';
import type { IrohaInput } from '../../src/engine/profiles/iroha/abi.js';
import type { PreparedModule } from '../../src/engine/prepare.js';
import { expectRequestError, prep, watModule } from '../support/engine.js';
import * as I from '../support/iroha.js';

const modules = new Map<string, PreparedModule>();
const mod = (name: string) => {
  let m = modules.get(name);
  if (!m) modules.set(name, (m = prep(new Uint8Array(readFileSync(join(I.IROHA_FIXTURES, `${name}.wasm`))))));
  return m;
};
function run(contract: PreparedModule, iroha: IrohaInput, o: Partial<ExecuteInput> = {}): ExecutionResult {
  return execute({ contract, iroha, limits: DEFAULT_LIMITS, ...o }, DEFAULT_ENGINE_CONFIG);
}
const { alice, genesis, block2 } = I.FIXTURE;
const MIGRATE = { entrypoint: '_iroha_executor_migrate' };

t.test('query answers: in order, a list that runs out, no source at all', async (t) => {
  const exec = mod('default_executor');
  const short = run(exec, { context: I.executorContext(alice, genesis), queryResponses: [I.emptyIterable('Account')] }, MIGRATE);
  t.equal(short.error?.kind, 'trap');
  t.match(short.error!.message, /^iroha\.execute_query: query 2 has no answer: iroha\.queryResponses holds 1 \(answered in order\)$/);
  t.equal(short.iroha!.queries.length, 2, 'the query that found no answer is recorded too');
  const none = run(exec, { context: I.executorContext(alice, genesis) }, MIGRATE);
  t.equal(none.ok, false, 'NotPermitted("no query source"): the executor cannot migrate');
  t.equal(none.iroha!.queries.length, 1);
  const full = { context: I.executorContext(alice, genesis), queryResponses: [I.emptyIterable('Account'), I.emptyIterable('Role')] };
  const a = run(exec, full, MIGRATE);
  const b = run(exec, full, MIGRATE);
  t.same(b.iroha, a.iroha, 'deterministic: the same calls');
  t.equal(b.fuel.consumed, a.fuel.consumed, 'and the same fuel');
});

t.test('bad contexts are the module’s trap; bad requests are refused before it runs', async (t) => {
  t.equal(run(mod('query_assets_and_save_cursor'), { context: new Uint8Array([1, 2, 3]) }).error?.kind, 'trap', 'a context the module cannot decode');
  t.equal(run(mod('mint_rose_trigger'), { context: new Uint8Array(0) }).error?.kind, 'trap', 'an empty context');
  const trigger = mod('mint_rose_trigger');
  expectRequestError(t, () => run(mod('default_executor'), { context: new Uint8Array(0) }), 'bad_request', /give the entrypoint: the module exports no `_iroha_\*_main` function.*_iroha_executor_migrate/);
  expectRequestError(t, () => run(trigger, { context: new Uint8Array(0) }, { args: [1] }), 'bad_request', /takes its argument from `iroha\.context`/);
  expectRequestError(t, () => run(trigger, { context: new Uint8Array(0) }, { library: trigger }), 'bad_request', /runs one module/);
  expectRequestError(t, () => run(trigger, { context: new Uint8Array(0) }, { link: { mode: 'bridge' } }), 'bad_request', /`link` does not apply/);
  expectRequestError(t, () => run(trigger, { context: new Uint8Array(0) }, { entrypoint: 'nope' }), 'bad_request', /exports no function `nope` \(its entrypoints: _iroha_trigger_main\)/);
  expectRequestError(
    t,
    () => execute({ contract: trigger, limits: DEFAULT_LIMITS, entrypoint: '_iroha_trigger_main', args: [0] }, DEFAULT_ENGINE_CONFIG),
    'link_error',
    /imports `iroha\.\w+`: an Iroha module runs with the Iroha profile: give the request an `iroha` object/,
  );
});

t.test('limits apply as anywhere', async (t) => {
  const ctx = I.triggerContext({ id: 'mint_rose', authority: alice, block: block2, event: I.executeTriggerEvent({ triggerId: 'mint_rose', authority: alice, args: '{"val":3}' }) });
  const tiny = run(mod('mint_rose_trigger'), { context: ctx }, { limits: { ...DEFAULT_LIMITS, fuel: 1000 } });
  t.equal(tiny.error?.kind, 'out_of_fuel');
  t.equal(tiny.fuel.consumed, 1000);
  const small = run(mod('mint_rose_trigger'), { context: ctx }, { limits: { ...DEFAULT_LIMITS, memoryBytes: 65536 } });
  t.equal(small.error?.kind, 'memory_limit', 'its 17 initial pages are over a 1-page cap');
});

/** A guest with Iroha's exports: a bump allocator at 0x1000, a dealloc that records its arguments. */
const GUEST = (body: string, entry = '(func (export "_iroha_smart_contract_main") (param $ctx i32)', extra = '') => `(module
  (import "iroha" "log" (func $log (param i32 i32)))
  (import "iroha" "dbg" (func $dbg (param i32 i32)))
  (import "iroha" "execute_query" (func $query (param i32 i32) (result i32)))
  (import "iroha" "execute_instruction" (func $instr (param i32 i32) (result i32)))
  (import "iroha" "set_data_model" (func $dm (param i32 i32)))
  (memory (export "memory") 1)
  (global $next (mut i32) (i32.const 4096))
  (global $freed (export "freed") (mut i32) (i32.const 0))
  (func (export "_iroha_smart_contract_alloc") (param $n i32) (result i32)
    global.get $next
    global.get $next
    local.get $n
    i32.add
    global.set $next)
  (func (export "_iroha_smart_contract_dealloc") (param $p i32) (param $n i32)
    local.get $n
    global.set $freed)
  ;; (u8 2, String "hi") at 64, (u8 9, String "x") at 80, String "dbg!" at 96, a verdict at 128
  (data (i32.const 64) "\\02\\08hi")
  (data (i32.const 80) "\\09\\04x")
  (data (i32.const 96) "\\10dbg!")
  (data (i32.const 128) "\\06\\00\\00\\00\\01\\03")
  ${extra}
  ${entry}
    ${body}))`;

t.test('the host conventions on a WAT guest', async (t) => {
  const logs = await watModule(GUEST('i32.const 64 i32.const 4 call $log i32.const 96 i32.const 5 call $dbg'));
  const r = run(logs, { context: new Uint8Array([0xaa, 0xbb]) });
  t.ok(r.ok, JSON.stringify(r.error));
  t.same(r.logs, [{ level: 'info', message: 'hi' }, { level: 'debug', message: 'dbg!' }], 'log (u8, String) and dbg String');
  // entry 1 + 2 × (i32.const, i32.const, call) = 7; the host's alloc for the context: entry 1 + 5
  t.equal(r.fuel.consumed, 7 + 6, 'the guest alloc the host calls is metered; the host copies for free');

  // the context lands length-prefixed at the allocator's pointer: [u32 total = 6][aa bb]
  const ctx = await watModule(GUEST('nop'));
  let mem: WebAssembly.Memory | undefined;
  const c = run(ctx, { context: new Uint8Array([0xaa, 0xbb]) }, { inspectMemory: (m) => (mem = m.contract) });
  t.ok(c.ok, JSON.stringify(c.error));
  t.same([...new Uint8Array(mem!.buffer, 4096, 6)], [6, 0, 0, 0, 0xaa, 0xbb], '[u32 LE total incl. the prefix][context]');

  const badLevel = await watModule(GUEST('i32.const 80 i32.const 3 call $log'));
  const bl = run(badLevel, { context: new Uint8Array(0) });
  t.equal(bl.error?.kind, 'trap');
  t.match(bl.error!.message, /iroha\.log: .*9: not a valid log level/);
  const trailing = await watModule(GUEST('i32.const 64 i32.const 5 call $log'));
  t.match(run(trailing, { context: new Uint8Array(0) }).error!.message, /iroha\.log: /, 'trailing bytes are an error, as in Iroha');
  const oob = await watModule(GUEST('i32.const 65530 i32.const 100 call $log'));
  t.match(run(oob, { context: new Uint8Array(0) }).error!.message, /out of bounds memory access/);
  const dm = await watModule(GUEST('i32.const 64 i32.const 4 call $dm'));
  const d = run(dm, { context: new Uint8Array(0) });
  t.equal(d.error?.kind, 'trap');
  t.match(d.error!.message, /set_data_model may only be called from _iroha_executor_migrate, not from _iroha_smart_contract_main/);
});

t.test('answers: queries from the list, instructions Ok(()), both length-prefixed', async (t) => {
  // query at 64 (4 bytes), then the instruction at 64: store both answer pointers for inspection
  const g = await watModule(GUEST('i32.const 0 i32.const 64 i32.const 4 call $query i32.store i32.const 4 i32.const 64 i32.const 4 call $instr i32.store'));
  let mem: WebAssembly.Memory | undefined;
  const r = run(g, { context: new Uint8Array(0), queryResponses: [new Uint8Array([9, 8, 7])] }, { inspectMemory: (m) => (mem = m.contract) });
  t.ok(r.ok, JSON.stringify(r.error));
  t.same(r.iroha!.queries, [Buffer.from([2, 8, 0x68, 0x69]).toString('base64')]);
  t.same(r.iroha!.instructions, [Buffer.from([2, 8, 0x68, 0x69]).toString('base64')]);
  const v = new DataView(mem!.buffer);
  const q = v.getUint32(0, true);
  const i = v.getUint32(4, true);
  t.same([...new Uint8Array(mem!.buffer, q, 7)], [7, 0, 0, 0, 9, 8, 7], 'the query answer');
  t.same([...new Uint8Array(mem!.buffer, i, 5)], [5, 0, 0, 0, 0], 'Ok(()) = 05 00 00 00 00');
  const noList = run(g, { context: new Uint8Array(0) }, { inspectMemory: (m) => (mem = m.contract) });
  const q2 = new DataView(mem!.buffer).getUint32(0, true);
  t.ok(noList.ok);
  t.same([...new Uint8Array(mem!.buffer, q2 + 4, 3)], [1, 0, 0x3c], 'no source: Err(NotPermitted("no query source"))');
});

t.test('an executor verdict: read length-prefixed, freed, decoded', async (t) => {
  const entry = '(func (export "_iroha_executor_execute_instruction") (param $ctx i32) (result i32)';
  const ok = await watModule(GUEST('i32.const 128', entry));
  const r = run(ok, { context: new Uint8Array(0) }, { entrypoint: '_iroha_executor_execute_instruction' });
  t.ok(r.ok, JSON.stringify(r.error));
  t.same(r.iroha!.verdict, { ok: false, reason: 'TooComplex', scale: Buffer.from([1, 3]).toString('base64') }, 'Err(TooComplex)');
  const bad = await watModule(GUEST('i32.const 65534', entry));
  const b = run(bad, { context: new Uint8Array(0) }, { entrypoint: '_iroha_executor_execute_instruction' });
  t.equal(b.error?.kind, 'trap');
  t.match(b.error!.message, /the executor returned no readable verdict at 65534/);
  const wrongSig = await watModule(GUEST('i64.const 0', '(func (export "_iroha_executor_execute_instruction") (param $ctx i32) (result i64)'));
  expectRequestError(t, () => run(wrongSig, { context: new Uint8Array(0) }, { entrypoint: '_iroha_executor_execute_instruction' }), 'link_error', /\(i32\) -> \(\) or \(i32\) -> \(i32\)/);
});

t.test('a module not built for Iroha: clear link errors', async (t) => {
  const hostAbi = await watModule('(module (import "host" "input_len" (func (result i32))) (memory (export "memory") 1) (func (export "_iroha_smart_contract_main") (param i32)))');
  expectRequestError(t, () => run(hostAbi, { context: new Uint8Array(0) }), 'link_error', /imports `host\.input_len`, but the Iroha profile provides only `iroha` imports/);
  const noAlloc = await watModule('(module (memory (export "memory") 1) (func (export "_iroha_smart_contract_main") (param i32)))');
  expectRequestError(t, () => run(noAlloc, { context: new Uint8Array(0) }), 'link_error', /requires the module to export `_iroha_smart_contract_alloc` \(i32\) -> \(i32\)/);
});
