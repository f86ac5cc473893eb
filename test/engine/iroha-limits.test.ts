/**
 * What an Iroha run records is bounded (docs/IROHA.md, The answer): instructions, queries, the data
 * model and an executor's refusal share `engine.output.maxOutputBytes`, each record counting 16 bytes
 * more; past it the host function traps before it records anything. A refusal's message is capped like
 * a log line. Every answer stays within maxAnswerBytes (what a batch reserves per call).
 */
import t from 'tap';
import { answerBytes, maxAnswerBytes, RECORD_OVERHEAD_BYTES } from '../../src/engine/answer-bound.js';
import { DEFAULT_ENGINE_CONFIG, DEFAULT_LIMITS } from '../../src/engine/defaults.js';
import { type ExecuteInput, type ExecutionResult, execute } from '../../src/engine/execute.js';
import type { PreparedModule } from '../../src/engine/prepare.js';
import { watModule } from '../support/engine.js';

const MAX = DEFAULT_ENGINE_CONFIG.output.maxOutputBytes;
const BOUND = maxAnswerBytes(DEFAULT_ENGINE_CONFIG.output);

function run(contract: PreparedModule, o: Partial<ExecuteInput> = {}): ExecutionResult {
  return execute({ contract, iroha: { context: new Uint8Array(0) }, limits: DEFAULT_LIMITS, ...o }, DEFAULT_ENGINE_CONFIG);
}

/** A guest of 64 pages (4 MiB) with Iroha's imports and a bump allocator from 3 MiB; `body` is the entrypoint's. */
const GUEST = (body: string, entry = '(func (export "_iroha_smart_contract_main") (param $ctx i32) (local $i i32)') => `(module
  (import "iroha" "execute_query" (func $query (param i32 i32) (result i32)))
  (import "iroha" "execute_instruction" (func $instr (param i32 i32) (result i32)))
  (import "iroha" "set_data_model" (func $dm (param i32 i32)))
  (memory (export "memory") 64)
  (global $next (mut i32) (i32.const 3145728))
  (func (export "_iroha_smart_contract_alloc") (param $n i32) (result i32)
    global.get $next
    global.get $next
    local.get $n
    i32.add
    global.set $next)
  (func (export "_iroha_smart_contract_dealloc") (param i32 i32))
  ${entry}
    ${body}))`;

/** `n` calls of `call` (e.g. `$instr`) on `len` bytes from address 0. */
const calls = (fn: string, n: number, len: number) => `(loop $l
      i32.const 0 i32.const ${len} call ${fn} drop
      local.get $i i32.const 1 i32.add local.tee $i i32.const ${n} i32.lt_u br_if $l)`;

t.test('large instructions: the one that would go over the limit traps, unrecorded and unsent', async (t) => {
  const r = run(await watModule(GUEST(calls('$instr', 4, 600_000))));
  t.equal(r.error?.kind, 'trap');
  t.match(r.error!.message, new RegExp(`^iroha\\.execute_instruction: record limit exceeded: .* at most ${MAX} bytes together \\(engine\\.output\\.maxOutputBytes, ${RECORD_OVERHEAD_BYTES} more per record\\); this one is 600000 bytes and 600016 are recorded$`));
  t.equal(r.iroha!.instructions.length, 1, 'the first one is recorded');
  t.ok(answerBytes(r) < BOUND, `the answer (${answerBytes(r)} bytes) is within one call's bound (${BOUND})`);
});

t.test('empty records are not free: at most maxOutputBytes / 16 of them', async (t) => {
  const r = run(await watModule(GUEST(calls('$instr', 1_000_000, 0))));
  t.equal(r.error?.kind, 'trap');
  t.equal(r.iroha!.instructions.length, MAX / RECORD_OVERHEAD_BYTES);
  t.ok(answerBytes(r) < BOUND, `${answerBytes(r)} < ${BOUND}`);
});

t.test('queries, instructions and the data model share the limit', async (t) => {
  const r = run(await watModule(GUEST(`${calls('$query', 1, 500_000)} i32.const 0 local.set $i ${calls('$instr', 2, 500_000)}`)));
  t.equal(r.error?.kind, 'trap');
  t.match(r.error!.message, /^iroha\.execute_instruction: record limit exceeded/);
  t.equal(r.iroha!.queries.length, 1);
  t.equal(r.iroha!.instructions.length, 1);

  const migrate = '(func (export "_iroha_executor_migrate") (param $ctx i32) (local $i i32)';
  const dm = run(await watModule(GUEST('i32.const 0 i32.const 1100000 call $dm', migrate)), { entrypoint: '_iroha_executor_migrate' });
  t.equal(dm.error?.kind, 'trap');
  t.match(dm.error!.message, /^iroha\.set_data_model: record limit exceeded/);
  const fits = run(await watModule(GUEST('i32.const 0 i32.const 1000 call $dm', migrate)), { entrypoint: '_iroha_executor_migrate' });
  t.ok(fits.ok, JSON.stringify(fits.error));
  t.equal(Buffer.from(fits.iroha!.dataModel!, 'base64').length, 1000);
});

/** An executor returning `Err(NotPermitted("a" × n))`, length-prefixed at 0x10000. */
function refusing(n: number): string {
  const compact = n < 1 << 14 ? [((n << 2) | 1) & 0xff, (n << 2) >> 8] : [...new Uint8Array(new Uint32Array([(n << 2) | 2]).buffer)];
  const head = [1, 0, ...compact]; // Err, NotPermitted, the String's length
  const total = 4 + head.length + n;
  const bytes = [...new Uint8Array(new Uint32Array([total]).buffer), ...head];
  const stores = bytes.map((b, i) => `i32.const ${0x10000 + i} i32.const ${b} i32.store8`).join(' ');
  return `${stores} i32.const ${0x10000 + bytes.length} i32.const 0x61 i32.const ${n} memory.fill i32.const 0x10000`;
}

t.test("an executor's refusal: its bytes count, its message is capped like a log line", async (t) => {
  const entry = '(func (export "_iroha_executor_execute_instruction") (param $ctx i32) (result i32) (local $i i32)';
  const o = { entrypoint: '_iroha_executor_execute_instruction' };
  const small = run(await watModule(GUEST(refusing(10_000), entry)), o);
  t.ok(small.ok, JSON.stringify(small.error));
  const v = small.iroha!.verdict as { ok: false; reason: string; message: string; scale: string };
  t.equal(v.reason, 'NotPermitted');
  t.equal(v.message, `${'a'.repeat(DEFAULT_ENGINE_CONFIG.output.maxLogLineBytes)}… (truncated)`);
  t.equal(Buffer.from(v.scale, 'base64').length, 10_004, 'the raw bytes whole');

  const huge = run(await watModule(GUEST(refusing(2_000_000), entry)), o);
  t.equal(huge.error?.kind, 'trap');
  t.match(huge.error!.message, /^the executor's verdict: record limit exceeded: .*this one is 2000006 bytes/);
  t.ok(answerBytes(huge) < BOUND);
});
