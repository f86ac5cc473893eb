/**
 * Linear memories are reused between executions (src/engine/memory-pool.ts): these tests prove that
 * no execution ever reads a byte another one wrote, in every link mode and after every way a run can
 * end (answer, trap, out of fuel, grown memory, an instantiation that failed half-way), in this thread
 * and through the worker pool. Each writer fills its memories with 0xab; each reader, of the same
 * memory shape, ORs every byte of its memories and must see 0. The pool's reuse counter proves the
 * readers got the writers' memories back, so the tests cannot pass by never reusing.
 */
import t from 'tap';
import type { BatchOutcome } from '../../src/pool/batch.js';
import { DEFAULT_ENGINE_CONFIG, DEFAULT_LIMITS } from '../../src/engine/defaults.js';
import { check, execute } from '../../src/engine/execute.js';
import { MemoryPool, PAGE, threadMemoryPool } from '../../src/engine/memory-pool.js';
import type { PreparedModule } from '../../src/engine/prepare.js';
import { ExecutionPool } from '../../src/pool/pool.js';
import { type Assert, type RunOptions, input, run, watModule } from '../support/engine.js';

/** OR of every 8 bytes of memory 0, and a fill of all of it with 0xab. */
const HELPERS = `
  (func $scan (result i64) (local $p i32) (local $acc i64)
    block $done
      loop $l
        local.get $p
        memory.size
        i32.const 16
        i32.shl
        i32.ge_u
        br_if $done
        local.get $acc
        local.get $p
        i64.load
        i64.or
        local.set $acc
        local.get $p
        i32.const 8
        i32.add
        local.set $p
        br $l
      end
    end
    local.get $acc)
  (func $dirty
    i32.const 0
    i32.const 0xab
    memory.size
    i32.const 16
    i32.shl
    memory.fill)`;

const MEMORY = '(memory (export "memory") 2 4)';

/** One module on its own: `main` either dirties (then runs `after`) or returns its scan. */
const single = (main: string) => watModule(`(module ${MEMORY} ${HELPERS} (func (export "main") ${main}))`);

/** A bridge-mode library with its own memory: `dirty` and `scan` exported, wired wasm to wasm. */
const bridgeLibrary = () =>
  watModule(`(module ${MEMORY} ${HELPERS} (func (export "dirty") call $dirty) (func (export "scan") (result i64) call $scan))`);
const bridgeContract = (main: string) =>
  watModule(`(module
    (import "lib" "dirty" (func $lib_dirty))
    (import "lib" "scan" (func $lib_scan (result i64)))
    ${MEMORY} ${HELPERS}
    (func (export "main") ${main}))`);

/** Shared mode: the library owns the one memory (or imports it from the host); the contract imports it. */
const sharedLibrary = (importMemory: boolean) =>
  watModule(`(module
    ${importMemory ? '(import "env" "memory" (memory 2 4)) (export "memory" (memory 0))' : MEMORY}
    (global $sp (mut i32) (i32.const 0x18000))
    ${HELPERS}
    (func (export "dirty") call $dirty)
    (func (export "scan") (result i64) call $scan))`);
const sharedContract = (main: string) =>
  watModule(`(module
    (import "env" "memory" (memory 2 4))
    (import "lib" "dirty" (func $lib_dirty))
    (import "lib" "scan" (func $lib_scan (result i64)))
    (global $sp (mut i32) (i32.const 0x8000))
    ${HELPERS}
    (func (export "main") ${main}))`);

const WRITE_ONLY = 'call $dirty';
const SCAN = '(result i64) call $scan';
const BOTH_WRITE = 'call $lib_dirty call $dirty';
const BOTH_SCAN = '(result i64) call $scan call $lib_scan i64.or';

/** Runs writer then reader `rounds` times in this thread; every reader must see zeros, from reused memories. */
function writeThenRead(
  t: Assert,
  what: string,
  writer: RunOptions,
  reader: RunOptions,
  expectWriter: (r: ReturnType<typeof run>) => void = (r) => t.ok(r.ok, JSON.stringify(r.error)),
) {
  const before = threadMemoryPool.reused;
  for (let round = 0; round < 3; round++) {
    expectWriter(run(writer));
    threadMemoryPool.sweep(); // as the idle worker does; the other rounds leave zeroing to acquire
    if (round === 1) threadMemoryPool.sweep();
    const r = run(reader);
    t.ok(r.ok, `${what}: the reader ran (${JSON.stringify(r.error)})`);
    t.same(r.result?.values, ['0'], `${what}, round ${round}: the reader sees only zeros`);
  }
  t.ok(threadMemoryPool.reused > before, `${what}: memories were reused (${threadMemoryPool.reused - before} times)`);
}

t.test('one module: a reused memory holds none of the last execution\'s bytes', async (t) => {
  writeThenRead(t, 'single', { contract: await single(WRITE_ONLY) }, { contract: await single(SCAN) });
});

t.test('bridge mode: neither memory carries over, contract or library', async (t) => {
  const lib = await bridgeLibrary();
  writeThenRead(t, 'bridge', { contract: await bridgeContract(BOTH_WRITE), library: lib }, { contract: await bridgeContract(BOTH_SCAN), library: lib });
});

t.test('shared mode: the one memory is clean again, owned by the library or created by the host, one stack or two', async (t) => {
  for (const hostMemory of [false, true]) {
    const lib = await sharedLibrary(hostMemory);
    for (const stacks of ['one', 'two'] as const) {
      const link = { mode: 'shared' as const, stacks };
      writeThenRead(
        t,
        `shared (${hostMemory ? 'host' : 'library'} memory, ${stacks} stack${stacks === 'one' ? '' : 's'})`,
        { contract: await sharedContract(BOTH_WRITE), library: lib, link },
        { contract: await sharedContract(BOTH_SCAN), library: lib, link },
      );
    }
  }
});

t.test('after a trap, out of fuel, a grown memory and a half-done instantiation, the next execution sees zeros', async (t) => {
  const reader = { contract: await single(SCAN) };
  writeThenRead(t, 'trap', { contract: await single(`${WRITE_ONLY} unreachable`) }, reader, (r) => t.equal(r.error?.kind, 'trap'));

  // byte by byte until the fuel runs out: the run stops mid-write
  const slow = await single(`(local $p i32)
    loop $l
      local.get $p
      i32.const 0xab
      i32.store8
      local.get $p
      i32.const 1
      i32.add
      local.set $p
      br $l
    end`);
  writeThenRead(t, 'out of fuel', { contract: slow, limits: { fuel: 200_000 } }, reader, (r) => t.equal(r.error?.kind, 'out_of_fuel'));

  // grown past its initial size: dropped, so the reader's memory has 2 pages, not 3
  const grows = await single('i32.const 1 memory.grow drop call $dirty');
  const size = await single('(result i64) memory.size i64.extend_i32_u');
  for (let i = 0; i < 3; i++) {
    t.ok(run({ contract: grows }).ok);
    t.same(run({ contract: size }).result?.values, ['2'], 'memory.size reads the initial size: a grown memory is never handed out');
    t.same(run(reader).result?.values, ['0']);
  }

  // data segments are written in order: the first lands, the second is out of bounds and fails the instantiation
  const halfDone = await watModule(`(module ${MEMORY}
    (data (i32.const 0) "\\ab\\ab\\ab\\ab\\ab\\ab\\ab\\ab")
    (data (i32.const 0x1fffc) "\\ab\\ab\\ab\\ab\\ab\\ab\\ab\\ab")
    (func (export "main")))`);
  writeThenRead(t, 'failed instantiation', { contract: halfDone }, reader, (r) => t.equal(r.ok, false, `refused: ${r.error?.message}`));
});

t.test('the Iroha profile: the guest\'s memory is clean on every run', async (t) => {
  const guest = (body: string) =>
    watModule(`(module
      ${MEMORY} ${HELPERS}
      (global $next (mut i32) (i32.const 0x10000))
      (func (export "_iroha_smart_contract_alloc") (param $n i32) (result i32)
        global.get $next
        global.get $next
        local.get $n
        i32.add
        global.set $next)
      (func (export "_iroha_smart_contract_dealloc") (param i32 i32))
      (func (export "_iroha_smart_contract_main") (param $ctx i32) ${body}))`);
  const writer = await guest('call $dirty');
  // traps unless every byte outside the context the host just wrote (at 0x10000) is zero
  const reader = await guest('i32.const 0x10000 i32.const 0 i32.const 16 memory.fill call $scan i64.eqz br_if 0 unreachable');
  const exec = (contract: PreparedModule) => execute({ contract, limits: DEFAULT_LIMITS, iroha: { context: new Uint8Array([1, 2, 3]) } }, DEFAULT_ENGINE_CONFIG);
  const before = threadMemoryPool.reused;
  for (let i = 0; i < 3; i++) {
    t.ok(exec(writer).ok, 'the writer ran');
    const r = exec(reader);
    t.ok(r.ok, `round ${i}: the reader saw only zeros (${JSON.stringify(r.error)})`);
  }
  t.ok(threadMemoryPool.reused > before, 'memories were reused');
});

t.test('through the worker pool: singles and a batch, a worker\'s memories never carry bytes over', async (t) => {
  const pool = new ExecutionPool({ workers: 1, maxQueue: 8, engine: DEFAULT_ENGINE_CONFIG });
  t.teardown(() => pool.destroy());
  await pool.warmUp();
  const lib = await bridgeLibrary();
  const writer = input({ contract: await bridgeContract(BOTH_WRITE), library: lib });
  const reader = input({ contract: await bridgeContract(BOTH_SCAN), library: lib });
  const checked = (x: typeof writer) => ({ ...x, checked: check(x) });
  const values = (r: BatchOutcome) => ('result' in r && r.result ? r.result.result?.values : r);
  for (let i = 0; i < 4; i++) {
    await pool.execute(checked(writer), 0);
    t.same(values(await pool.execute(checked(reader), 0)), ['0'], `single ${i}: zeros`);
  }
  const batch = await pool.executeBatch([writer, reader, writer, writer, reader, reader].map(checked), [], { bytes: 64 * 1024 * 1024, used: 0 });
  t.same(batch.filter((_, i) => [1, 4, 5].includes(i)).map(values), [['0'], ['0'], ['0']], 'batch: every reader sees zeros, right after a writer too');
});

t.test('MemoryPool: exact shapes, zeroed before reuse, grown memories dropped, bounded', async (t) => {
  const pool = new MemoryPool({ perShape: 2, budgetBytes: 5 * PAGE });
  const a = pool.acquire(1, 4);
  new Uint8Array(a.buffer).fill(7);
  pool.release(a, 1, 4);
  t.equal(pool.size, 1);
  t.equal(pool.acquire(1, 3) === a, false, 'another maximum is another shape');
  const again = pool.acquire(1, 4);
  t.equal(again, a, 'the same shape gets it back');
  t.equal(new Uint8Array(again.buffer).some((b) => b !== 0), false, 'zeroed on acquire when no sweep ran');
  new Uint8Array(again.buffer).fill(9);
  pool.release(again, 1, 4);
  pool.sweep();
  t.equal(new Uint8Array(pool.acquire(1, 4).buffer).some((b) => b !== 0), false, 'zeroed by a sweep');

  const g = pool.acquire(1, 4);
  g.grow(1);
  pool.release(g, 1, 4);
  t.equal(pool.size, 0, 'a grown memory is dropped');

  const many = [1, 2, 3].map(() => pool.acquire(1, 4));
  many.forEach((m) => pool.release(m, 1, 4));
  t.equal(pool.size, 2, 'at most perShape per shape');
  pool.release(pool.acquire(4, 4), 4, 4);
  t.equal(pool.size, 2, 'never more bytes than the budget');
  t.equal(pool.created + pool.reused, 9);
});

t.test('an embedder inspecting the memories keeps them: they are not reused under it', async (t) => {
  const writer = await single(WRITE_ONLY);
  let kept: WebAssembly.Memory | undefined;
  run({ contract: writer, inspectMemory: (m) => (kept = m.contract) });
  run({ contract: await single(SCAN) });
  t.equal(new Uint8Array(kept!.buffer)[0], 0xab, 'the inspected memory still holds what its run wrote');
  t.equal(kept!.buffer.byteLength, 2 * PAGE);
});
