/**
 * Shared-memory linking on hand-written WAT pairs laid out like LLVM's output (stack first, data
 * above it, `__heap_base` after): exact fuel, the layout checks, the stack guard with the contract's
 * data proven intact, one shared stack, tables, the memory cap across both modules, mode mismatches.
 */
import t from 'tap';
import { expectRequestError, run, watModule } from '../support/engine.js';
import { REC_BODY } from '../support/wat.js';
import type { PreparedModule } from '../../src/engine/prepare.js';

const STACK = 0x10000; // the contract's stack: 64 KiB below its data
const LIB_STACK = 0x20000; // the library's stack top (its data above)

/** A library: 3 pages, stack below 0x20000, 16 bytes of data at 0x20000, heap from 0x20100. */
function librarySrc(o: { sp?: number; data?: number; heapBase?: number; extra?: string; table?: string } = {}): string {
  return `(module
    (memory (export "memory") 3)
    (global $sp (mut i32) (i32.const ${o.sp ?? LIB_STACK}))
    (global (export "__heap_base") i32 (i32.const ${o.heapBase ?? 0x20100}))
    (data (i32.const ${o.data ?? 0x20000}) "library-data-ok!")
    ${o.table ?? ''}
    (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
    ;; 64 bytes of stack per level, written like LLVM's prologue: sp -= 64, store into the frame
    (func $rec (export "rec") (param i32) (result i32) (local $fp i32)
      global.get $sp
      i32.const 64
      i32.sub
      local.tee $fp
      global.set $sp
      local.get $fp
      local.get 0
      i32.store
      ${REC_BODY}
      local.get $fp
      i32.const 64
      i32.add
      global.set $sp)
    ;; sum of n bytes at p: reads the contract's bytes directly, no copy
    (func (export "sum") (param $p i32) (param $n i32) (result i32) (local $s i32)
      block
        loop
          local.get $n
          i32.eqz
          br_if 1
          local.get $s
          local.get $p
          i32.load8_u
          i32.add
          local.set $s
          local.get $p
          i32.const 1
          i32.add
          local.set $p
          local.get $n
          i32.const 1
          i32.sub
          local.set $n
          br 0
        end
      end
      local.get $s)
    ${o.extra ?? ''})`;
}

/** A contract: imports env.memory, stack below 0x10000, 16 bytes of data at 0x10000. */
function contractSrc(o: { sp?: number; data?: number; memory?: string; head?: string; extra?: string } = {}): string {
  return `(module
    ${o.head ?? ''}
    ${o.memory ?? '(import "env" "memory" (memory 1))'}
    (import "lib" "add" (func $add (param i32 i32) (result i32)))
    (import "lib" "rec" (func $rec (param i32) (result i32)))
    (import "lib" "sum" (func $sum (param i32 i32) (result i32)))
    (global $sp (mut i32) (i32.const ${o.sp ?? STACK}))
    (data (i32.const ${o.data ?? 0x10000}) "contract-data!!!")
    (func (export "main") (result i32)
      i32.const 2
      i32.const 3
      call $add)
    (func (export "deep") (param i32) (result i32)
      local.get 0
      call $rec)
    (func (export "sum_data") (result i32)
      i32.const ${o.data ?? 0x10000}
      i32.const 16
      call $sum)
    (func (export "grow") (param i32) (result i32)
      local.get 0
      memory.grow)
    ${o.extra ?? ''})`;
}

const SHARED = { mode: 'shared' as const };
const text = (mem: WebAssembly.Memory, at: number, n: number) => Buffer.from(new Uint8Array(mem.buffer, at, n)).toString('latin1');
const zeros = (mem: WebAssembly.Memory, from: number, to: number) => new Uint8Array(mem.buffer, from, to - from).every((b) => b === 0);

let lib: PreparedModule;
let contract: PreparedModule;
t.before(async () => {
  lib = await watModule(librarySrc());
  contract = await watModule(contractSrc());
});

t.test('calls go directly into the library, on one memory, with exact fuel', async (t) => {
  const r = run({ contract, library: lib, link: SHARED });
  t.ok(r.ok, JSON.stringify(r.error));
  t.same(r.result!.values, [5]);
  // contract: entry 1 + i32.const 2 + call 1 = 4; library add: entry 1 + 3 = 4
  t.equal(r.fuel.consumed, 8);
  t.same(r.link, { mode: 'shared', calls: 0, bytesCopied: 0, stacks: 'two' });
  t.same(r.memory.modules, { contract: { initialBytes: 0, peakBytes: 0 }, library: { initialBytes: 3 * 65536, peakBytes: 3 * 65536 } });
  t.equal(r.memory.peakBytes, 3 * 65536, 'one memory, counted once');

  const s = run({ contract, library: lib, link: SHARED, entrypoint: 'sum_data' });
  const expected = [...Buffer.from('contract-data!!!')].reduce((a, b) => a + b, 0);
  t.same(s.result!.values, [expected], 'the library reads the contract data in place');
  // contract: 1 + 3; library sum: entry 1 + block/loop 0 + 16 iterations × 17 + exit (local.get n, eqz, br_if) 3 + local.get 1
  t.equal(s.fuel.consumed, 4 + 1 + 16 * 17 + 3 + 1);
});

t.test('the library stack uses its own region; exact fuel per level', async (t) => {
  for (const n of [0, 1, 10, 500]) {
    const r = run({ contract, library: lib, link: SHARED, entrypoint: 'deep', args: [n] });
    t.ok(r.ok, JSON.stringify(r.error));
    t.same(r.result!.values, [n]);
    // contract deep: 1 + 2; rec: 22 per level + 17 for the last
    t.equal(r.fuel.consumed, 3 + 22 * n + 17, `deep(${n})`);
  }
  const both = run({ contract, library: lib, link: { mode: 'shared', stacks: 'one' }, entrypoint: 'deep', args: [500] });
  t.equal(both.fuel.consumed, 3 + 22 * 500 + 17, 'one stack: the same fuel');
});

t.test('stack guard: a library overflow ends as stack_overflow before touching the contract data', async (t) => {
  // [0x10010, 0x20000) holds 1023 frames of 64 bytes
  let mem: WebAssembly.Memory | undefined;
  const r = run({
    contract,
    library: lib,
    link: SHARED,
    entrypoint: 'deep',
    args: [5000],
    inspectMemory: (m) => (mem = m.library),
  });
  t.equal(r.error?.kind, 'stack_overflow');
  t.match(r.error!.message, /library stack exhausted \(65520 bytes from 0x20000 down to 0x10010\)/);
  t.match(r.error!.message, /below 0x10010, into the contract's data/);
  t.ok(mem, 'memory observed');
  t.equal(text(mem!, 0x10000, 16), 'contract-data!!!', 'the contract data is intact');
  t.ok(zeros(mem!, 0, 0x10000), "the contract's stack region is untouched");
  t.equal(text(mem!, 0x20000, 16), 'library-data-ok!', 'the library data is intact');
  // the deepest frame written is the 1023rd, at 0x20000 - 1023 × 64 = 0x10040, just above the floor
  t.equal(new DataView(mem!.buffer).getUint32(0x10040, true), 5000 - 1022, 'the last frame written was the 1023rd');
  t.ok(zeros(mem!, 0x10010, 0x10040), 'nothing between the floor and the last frame');
  // 3 (deep) + 1023 levels × 16 (entry, prologue 5, store 3, test 3, else branch up to the call 4) +
  // the 1024th level up to its refused `global.set`: entry 1 + 5
  t.equal(r.fuel.consumed, 3 + 1023 * 16 + 6, 'fuel: exactly the operators that ran');
  const again = run({ contract, library: lib, link: SHARED, entrypoint: 'deep', args: [5000] });
  t.same(again.error, r.error, 'deterministic');
  t.equal(again.fuel.consumed, r.fuel.consumed);

  const fits = run({ contract, library: lib, link: SHARED, entrypoint: 'deep', args: [1022] });
  t.ok(fits.ok, '1023 frames fit exactly');
  const over = run({ contract, library: lib, link: SHARED, entrypoint: 'deep', args: [1023] });
  t.equal(over.error?.kind, 'stack_overflow', 'the 1024th frame does not');
});

t.test('one stack: the library runs on the contract stack; below address 0 is stack_overflow', async (t) => {
  let mem: WebAssembly.Memory | undefined;
  const ok = run({ contract, library: lib, link: { mode: 'shared', stacks: 'one' }, entrypoint: 'deep', args: [1000], inspectMemory: (m) => (mem = m.library) });
  t.ok(ok.ok, JSON.stringify(ok.error));
  t.same(ok.link, { mode: 'shared', calls: 0, bytesCopied: 0, stacks: 'one' });
  t.ok(zeros(mem!, 0x10010, 0x20000), "the library's own stack region is never used");
  t.equal(new DataView(mem!.buffer).getUint32(STACK - 64, true), 1000, 'the first frame is just below the contract stack top');
  // 1024 frames of 64 bytes fill [0, 0x10000)
  t.ok(run({ contract, library: lib, link: { mode: 'shared', stacks: 'one' }, entrypoint: 'deep', args: [1023] }).ok);
  let after: WebAssembly.Memory | undefined;
  const r = run({ contract, library: lib, link: { mode: 'shared', stacks: 'one' }, entrypoint: 'deep', args: [1024], inspectMemory: (m) => (after = m.library) });
  t.equal(r.error?.kind, 'stack_overflow');
  t.match(r.error!.message, /the library took the shared stack \(the contract's\) to its end \(65536 bytes from 0x10000 down to 0x0\)/);
  t.equal(text(after!, 0x10000, 16), 'contract-data!!!');
});

t.test('layouts that collide are refused before anything runs, naming both regions in hex', async (t) => {
  const c = contract;
  const cases: Array<[string, string, RegExp]> = [
    ['data on data', librarySrc({ data: 0x10008 }), /library data \[0x10008, 0x10018\) overlaps contract data \[0x10000, 0x10010\)/],
    ['library data on the contract stack', librarySrc({ data: 0x100 }), /library data \[0x100, 0x110\) overlaps contract stack \[0x0, 0x10000\)/],
    [
      'library stack over the contract data',
      librarySrc({ sp: 0x10008, data: 0x30000, heapBase: 0x30100 }),
      /library stack \(growing down from 0x10008\) overlaps contract data \[0x10000, 0x10010\).*-zstack-size=2097152/,
    ],
    ['library heap over the contract data', librarySrc({ heapBase: 0x10004, data: 0x8000_0 }), /library heap \[0x10004, end of memory\) overlaps contract data \[0x10000, 0x10010\)/],
  ];
  for (const [name, src, re] of cases) {
    const l = await watModule(src);
    t.test(name, async (t) => {
      expectRequestError(t, () => run({ contract: c, library: l, link: SHARED }), 'link_error', re);
    });
  }
});

t.test('mode mismatches say which mode to use', async (t) => {
  expectRequestError(t, () => run({ contract, library: lib }), 'link_error', /env\.memory.*use link mode "shared"/);
  const own = await watModule(contractSrc({ memory: '', extra: '(memory 1)' }));
  expectRequestError(t, () => run({ contract: own, library: lib, link: SHARED }), 'link_error', /the contract has its own memory.*--import-memory.*link mode "bridge"/);
  expectRequestError(t, () => run({ contract, library: lib, link: { stacks: 'one' } }), 'bad_request', /link\.stacks applies to link mode "shared" only/);
  expectRequestError(t, () => run({ contract, link: SHARED }), 'link_error', /needs a library/);
  const badName = await watModule(contractSrc({ memory: '(import "mem" "m" (memory 1))' }));
  expectRequestError(t, () => run({ contract: badName, library: lib, link: SHARED }), 'link_error', /in shared mode the one memory is imported as `env\.memory`/);
  const noLibMem = await watModule('(module (func (export "add") (param i32 i32) (result i32) local.get 0) (func (export "rec") (param i32) (result i32) local.get 0) (func (export "sum") (param i32 i32) (result i32) local.get 0))');
  expectRequestError(t, () => run({ contract, library: noLibMem, link: SHARED }), 'link_error', /the library has no memory to share/);
  const mismatch = await watModule(librarySrc().replace('(func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)', '(func (export "add") (param i64 i64) (result i64) local.get 0)'));
  expectRequestError(t, () => run({ contract, library: mismatch, link: SHARED }), 'link_error', /signature mismatch for `lib\.add`.*\(i32, i32\) -> \(i32\).*\(i64, i64\) -> \(i64\)/);
});

t.test('one stack needs both modules to follow the stack-pointer convention', async (t) => {
  // a library whose first global is an i64 counter: no shadow stack to recognise
  const noSp = await watModule(`(module
    (memory (export "memory") 3)
    (global $n (mut i64) (i64.const 0))
    (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
    (func (export "rec") (param i32) (result i32) local.get 0)
    (func (export "sum") (param i32 i32) (result i32) local.get 1))`);
  t.ok(run({ contract, library: noSp, link: SHARED }).ok, 'two stacks: a library without a stack pointer links (nothing to guard)');
  expectRequestError(t, () => run({ contract, library: noSp, link: { mode: 'shared', stacks: 'one' } }), 'link_error', /LLVM stack convention.*library the first defined global \(0\) is not a mutable i32.*use link\.stacks "two"/);
});

t.test("the contract's own memory.grow counts against the same cap", async (t) => {
  // 3 pages at the start; a cap of 5 pages leaves 2 for both modules together
  const lim = { memoryBytes: 5 * 65536 };
  const g1 = run({ contract, library: lib, link: SHARED, entrypoint: 'grow', args: [2], limits: lim });
  t.same(g1.result!.values, [3], 'grew from 3 pages');
  t.equal(g1.memory.peakBytes, 5 * 65536);
  t.equal(g1.fuel.consumed, 3 + 2, 'grow: entry + local.get + memory.grow + 2 pages');
  const g2 = run({ contract, library: lib, link: SHARED, entrypoint: 'grow', args: [3], limits: lim });
  t.same(g2.result!.values, [-1], 'refused past the cap');
  t.equal(g2.fuel.consumed, 3);
  const tooSmall = run({ contract, library: lib, link: SHARED, limits: { memoryBytes: 2 * 65536 } });
  t.equal(tooSmall.error?.kind, 'memory_limit');
  t.match(tooSmall.error!.message, /one shared memory of 3 pages/);
});

t.test('a shared table: disjoint element ranges link, overlapping ones are refused', async (t) => {
  const table = '(table (export "table") 8 funcref) (elem (i32.const 0) $seven) (func $seven (result i32) i32.const 7)';
  const l = await watModule(librarySrc({ table }));
  const callSlot = (slot: number) => `(type $r (func (result i32))) (func (export "indirect") (param i32) (result i32) local.get 0 call_indirect (type $r))
    (elem (i32.const ${slot}) $nine) (func $nine (result i32) i32.const 9)`;
  const head = '(import "env" "table" (table 8 funcref))';
  const c = await watModule(contractSrc({ head, extra: callSlot(4) }));
  const a = run({ contract: c, library: l, link: SHARED, entrypoint: 'indirect', args: [0] });
  t.same(a.result?.values, [7], "the contract calls the library's function through the shared table");
  const b = run({ contract: c, library: l, link: SHARED, entrypoint: 'indirect', args: [4] });
  t.same(b.result?.values, [9], 'and its own');
  const clash = await watModule(contractSrc({ head, extra: callSlot(0) }));
  expectRequestError(t, () => run({ contract: clash, library: l, link: SHARED }), 'link_error', /contract elements \[0, 1\) overlap library elements \[0, 1\) in the shared table/);
});

t.test('both modules importing env.memory: the host creates it', async (t) => {
  const l = await watModule(librarySrc().replace('(memory (export "memory") 3)', '(import "env" "memory" (memory 3))'));
  const r = run({ contract, library: l, link: SHARED, entrypoint: 'sum_data' });
  t.ok(r.ok, JSON.stringify(r.error));
  t.equal(r.memory.peakBytes, 3 * 65536);
});
