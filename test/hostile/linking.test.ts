/**
 * Hostile linking (bridge and shared): stack bombs across the two modules and through host hops,
 * bytes arguments and results pointing outside memory or with lengths that overflow, allocators that
 * lie, loop, recurse or grow, and in shared mode pointers past the one memory, grow bombs and stack
 * overflows. Each case: its exact outcome, within its limits, and a normal execution right after.
 */
import t from 'tap';
import { stackBudgetMessage } from '../../src/engine/outcome.js';
import { type Case, recordHealth, runCases } from './support.js';
import { startTarget } from './support.js';

const { app, config } = await startTarget(t);
const h = await recordHealth(t, app, config);
const DEPTH_MSG = stackBudgetMessage(config.engine.maxStackBytes);
const PAGE = 65536;

const REC = `local.get 0 i32.eqz if (result i32) i32.const 0 else local.get 0 i32.const 1 i32.sub call $rec i32.const 1 i32.add end`;

/** A bridge library: a bump allocator whose behaviour `alloc` is given, and bytes functions. */
function library(alloc = '(local $p i32) (local.set $p (global.get $bump)) (global.set $bump (i32.add (local.get $p) (local.get 0))) (local.get $p)'): string {
  return `(module
    (memory (export "memory") 1)
    (global $bump (mut i32) (i32.const 1024))
    (func $alloc (export "alloc") (param i32 i32) (result i32) ${alloc})
    (func (export "dealloc") (param i32 i32 i32))
    (func (export "sum") (param $p i32) (param $n i32) (result i32) (local $s i32)
      (block $d (loop $l (br_if $d (i32.eqz (local.get $n)))
        (local.set $s (i32.add (local.get $s) (i32.load8_u (local.get $p))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1))) (br $l)))
      (local.get $s))
    (func $rec (export "rec") (param i32) (result i32) ${REC})
    (func $deep (export "deep_bytes") (param i32 i32) (result i32) (call $deep (local.get 0) (local.get 1)))
    (func (export "echo") (param $p i32) (param $n i32) (result i64)
      (i64.or (i64.shl (i64.extend_i32_u (local.get $n)) (i64.const 32)) (i64.extend_i32_u (local.get $p))))
    (func (export "forge") (param $len i32) (param $ptr i32) (result i64)
      (i64.or (i64.shl (i64.extend_i32_u (local.get $len)) (i64.const 32)) (i64.extend_i32_u (local.get $ptr))))
    (func (export "boom") (param i32 i32) unreachable)
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))`;
}
const FFI = `sum(bytes) -> i32
rec(i32) -> i32
deep_bytes(bytes) -> i32
echo(bytes) -> bytes
forge(i32, i32) -> bytes
boom(bytes)
grow(i32) -> i32`;

/** The bridge contract: its own allocator (behaviour given), calls into every library function. */
function contract(alloc = '(i32.const 8192)'): string {
  return `(module
    (import "lib" "sum" (func $sum (param i32 i32) (result i32)))
    (import "lib" "rec" (func $lrec (param i32) (result i32)))
    (import "lib" "deep_bytes" (func $deep_bytes (param i32 i32) (result i32)))
    (import "lib" "echo" (func $echo (param i32 i32) (result i64)))
    (import "lib" "forge" (func $forge (param i32 i32) (result i64)))
    (import "lib" "boom" (func $boom (param i32 i32)))
    (import "lib" "grow" (func $lgrow (param i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 0) "0123456789abcdef")
    (func (export "alloc") (param i32 i32) (result i32) ${alloc})
    (func (export "dealloc") (param i32 i32 i32))
    (func (export "sum_at") (param i32 i32) (result i32) (call $sum (local.get 0) (local.get 1)))
    (func (export "echo_at") (param i32 i32) (result i64) (call $echo (local.get 0) (local.get 1)))
    (func (export "forge") (param i32 i32) (result i64) (call $forge (local.get 0) (local.get 1)))
    (func (export "boom") (call $boom (i32.const 0) (i32.const 4)))
    (func (export "deep_bytes") (result i32) (call $deep_bytes (i32.const 0) (i32.const 4)))
    ;; n levels in the contract, then m in the library
    (func $down (export "down") (param $n i32) (param $m i32) (result i32)
      (if (result i32) (i32.eqz (local.get $n)) (then (call $lrec (local.get $m)))
        (else (i32.add (call $down (i32.sub (local.get $n) (i32.const 1)) (local.get $m)) (i32.const 1)))))
    ;; n levels in the contract, a host hop (sum) at every level on the way down
    (func $hops (export "hops") (param $n i32) (result i32)
      (if (result i32) (i32.eqz (local.get $n)) (then (call $sum (i32.const 0) (i32.const 16)))
        (else (drop (call $sum (i32.const 0) (i32.const 1))) (call $hops (i32.sub (local.get $n) (i32.const 1))))))
    ;; the library grows until refused, then the contract traps
    (func (export "lib_grow_bomb") (loop $l (if (i32.eq (call $lgrow (i32.const 1)) (i32.const -1)) (then unreachable)) (br $l)))
    (func (export "main") (result i32) (call $sum (i32.const 0) (i32.const 16))))`;
}

const SUM16 = [...Buffer.from('0123456789abcdef')].reduce((a, b) => a + b, 0);
const bridge = (entrypoint: string, args: unknown[] = [], extra: Record<string, unknown> = {}) => ({ entrypoint, args, link: { ffi: FFI }, ...extra });
const OOB = (fn: string, from: number, to: number, size = PAGE) => `out of bounds memory access: host.${fn} given ${from}..${to} but memory is ${size} bytes`;

// depths measured against a 1 MiB budget (each half ~300 bytes a level): scaled to the configured one
const S = config.engine.maxStackBytes / (1024 * 1024);
const [HALF, BOTH] = [Math.round(1700 * S), Math.round(1000 * S)];
const bridgeCases: Case[] = [
  { name: 'bridge: the pair works (control)', wasm: contract(), library: library(), request: bridge('main'), expect: { kind: 'ok', values: [SUM16] } },
  {
    name: 'bridge stack: contract recursion then library recursion over the stack budget together (each alone fits)',
    wasm: contract(),
    library: library(),
    request: bridge('down', [HALF, HALF]),
    expect: { kind: 'stack_overflow', message: DEPTH_MSG },
  },
  { name: 'bridge stack: the same within the limit', wasm: contract(), library: library(), request: bridge('down', [BOTH, BOTH]), expect: { kind: 'ok', values: [2 * BOTH] } },
  { name: 'bridge stack: the contract part alone fits', wasm: contract(), library: library(), request: bridge('down', [HALF, 0]), expect: { kind: 'ok', values: [HALF] } },
  { name: 'bridge stack: the library part alone fits', wasm: contract(), library: library(), request: bridge('down', [0, HALF]), expect: { kind: 'ok', values: [HALF] } },
  { name: 'bridge stack: unbounded recursion inside a bytes function (after a host hop)', wasm: contract(), library: library(), request: bridge('deep_bytes'), expect: { kind: 'stack_overflow', message: DEPTH_MSG } },
  { name: 'bridge stack: recursion with a host hop at every level', wasm: contract(), library: library(), request: bridge('hops', [100_000]), expect: { kind: 'stack_overflow', message: DEPTH_MSG } },
  {
    name: 'bridge stack: the library alloc recursing forever',
    wasm: contract(),
    library: library('(call $alloc (local.get 0) (local.get 1))'),
    request: bridge('main'),
    expect: { kind: 'stack_overflow', message: DEPTH_MSG },
  },
  { name: 'bridge fuel: the library alloc looping forever', wasm: contract(), library: library('(loop $l (br $l)) (i32.const 0)'), request: bridge('main', [], { limits: { fuel: 1_000_000 } }), expect: { kind: 'out_of_fuel', message: 'all fuel consumed: the limit is 1000000' } },
  { name: 'bridge pointer: a bytes argument past the end of memory', wasm: contract(), library: library(), request: bridge('sum_at', [70000, 10]), expect: { kind: 'trap', message: OOB('sum (bytes argument)', 70000, 70010) } },
  { name: 'bridge pointer: a bytes length that overflows 32 bits', wasm: contract(), library: library(), request: bridge('sum_at', [1, 0xffffffff]), expect: { kind: 'trap', message: OOB('sum (bytes argument)', 1, 4294967296) } },
  { name: 'bridge pointer: ptr and len both 0xFFFFFFFF', wasm: contract(), library: library(), request: bridge('sum_at', [-1, -1]), expect: { kind: 'trap', message: OOB('sum (bytes argument)', 4294967295, 8589934590) } },
  { name: 'bridge pointer: an empty range at the very end of memory is fine', wasm: contract(), library: library(), request: bridge('sum_at', [PAGE, 0]), expect: { kind: 'ok', values: [0] } },
  { name: 'bridge pointer: a whole-memory argument needs fuel for every byte', wasm: contract(), library: library(), request: bridge('sum_at', [0, PAGE], { limits: { fuel: 10_000 } }), expect: { kind: 'out_of_fuel', message: 'all fuel consumed: the limit is 10000' } },
  { name: 'bridge pointer: a bytes result with len and ptr 0xFFFFFFFF', wasm: contract(), library: library(), request: bridge('forge', [-1, -1]), expect: { kind: 'trap', message: OOB('forge (bytes result)', 4294967295, 8589934590) } },
  { name: 'bridge pointer: a bytes result running past the library memory', wasm: contract(), library: library(), request: bridge('forge', [1000, PAGE - 10]), expect: { kind: 'trap', message: OOB('forge (bytes result)', PAGE - 10, PAGE + 990) } },
  { name: 'bridge alloc: the library alloc returns 0', wasm: contract(), library: library('(i32.const 0)'), request: bridge('main'), expect: { kind: 'trap', message: 'library alloc(16, 1) failed for `sum`' } },
  { name: 'bridge alloc: the library alloc returns a pointer outside its memory', wasm: contract(), library: library('(i32.const -16)'), request: bridge('main'), expect: { kind: 'trap', message: OOB('sum (library alloc result)', 4294967280, 4294967296) } },
  { name: 'bridge alloc: the library alloc grows memory until refused, then traps', wasm: contract(), library: library('(if (i32.eq (memory.grow (i32.const 1)) (i32.const -1)) (then unreachable)) (call $alloc (local.get 0) (local.get 1))'), request: bridge('main', [], { limits: { memoryBytes: 10 * PAGE } }), expect: { kind: 'memory_limit', message: `memory limit of ${10 * PAGE} bytes reached (memory.grow refused), then: wasm \`unreachable\` instruction executed` } },
  { name: 'bridge alloc: the contract alloc returns 0 for a result', wasm: contract('(i32.const 0)'), library: library(), request: bridge('echo_at', [0, 16]), expect: { kind: 'trap', message: 'contract alloc(16, 1) failed for the result of `echo`' } },
  { name: 'bridge alloc: the contract alloc returns a pointer outside its memory', wasm: contract('(i32.const 65530)'), library: library(), request: bridge('echo_at', [0, 16]), expect: { kind: 'trap', message: OOB('echo (contract alloc result)', 65530, 65546) } },
  { name: 'bridge: the library traps inside a bytes function', wasm: contract(), library: library(), request: bridge('boom'), expect: { kind: 'trap', message: 'wasm `unreachable` instruction executed' } },
  { name: 'bridge memory: the library grows both memories\' shared budget away', wasm: contract(), library: library(), request: bridge('lib_grow_bomb', [], { limits: { memoryBytes: 6 * PAGE } }), expect: { kind: 'memory_limit', message: `memory limit of ${6 * PAGE} bytes reached (memory.grow refused), then: wasm \`unreachable\` instruction executed`, check: (t, b) => t.equal(b.memory.peakBytes, 6 * PAGE) } },
  { name: 'bridge: initial memories together over the cap', wasm: contract(), library: library(), request: bridge('main', [], { limits: { memoryBytes: PAGE } }), expect: { kind: 'memory_limit', message: `initial memory of ${2 * PAGE} bytes (contract 1 + library 1 pages) exceeds the limit of ${PAGE} bytes` } },
  { name: 'bridge ffi: a declaration that does not parse', wasm: contract(), library: library(), request: bridge('main', [], { link: { ffi: 'sum(bytes' } }), expect: { status: 422, kind: 'link_error', message: /ffi line 1/ } },
  { name: 'bridge ffi: a declaration with a wrong signature', wasm: contract(), library: library(), request: bridge('main', [], { link: { ffi: FFI.replace('sum(bytes) -> i32', 'sum(bytes, bytes) -> i32') } }), expect: { status: 422, kind: 'link_error', message: /sum/ } },
  { name: 'bridge ffi: 100,000 comment lines', wasm: contract(), library: library(), request: bridge('main', [], { link: { ffi: `${'# x\n'.repeat(100_000)}${FFI}` } }), expect: { kind: 'ok', values: [SUM16] } },
  { name: 'bridge: the library lacks alloc for bytes functions', wasm: contract(), library: library().replace('(export "alloc")', ''), request: bridge('main'), expect: { status: 422, kind: 'link_error', message: /alloc/ } },
  { name: 'bridge: a contract importing a memory', wasm: '(module (import "lib" "memory" (memory 1)) (func (export "main")))', library: library(), request: bridge('main'), expect: { status: 422, kind: 'link_error', message: /the contract imports `lib\.memory` as a memory/ } },
  { name: 'bridge: a contract importing the meter', wasm: '(module (import "__meter" "fuel" (global (mut i64))) (func (export "main")))', expect: { status: 422, kind: 'link_error' } },
  { name: 'bridge: a contract importing what the host lacks', wasm: '(module (import "host" "exec" (func)) (func (export "main")))', expect: { status: 422, kind: 'link_error', message: /exec/ } },
  { name: 'policy: a contract with a start function exporting __meter_start', wasm: '(module (func $s) (start $s) (func (export "main")) (func (export "__meter_start")))', expect: { status: 422, kind: 'policy_violation', message: 'module cannot be metered: the export name `__meter_start` is reserved' } },
  {
    name: 'policy: a contract without a start function exporting __meter_start (ABI.md: reserved, refused)',
    wasm: '(module (import "host" "output" (func $o (param i32 i32))) (memory 1) (data (i32.const 0) "X") (func (export "main")) (func (export "__meter_start") (call $o (i32.const 0) (i32.const 1))))',
    expect: { status: 422, kind: 'policy_violation', message: 'module cannot be metered: the export name `__meter_start` is reserved' },
  },
];

// --- shared mode ------------------------------------------------------------------------------------
const sharedLibrary = (extra = '') => `(module
  (memory (export "memory") 3)
  (global $sp (mut i32) (i32.const 0x20000))
  (global (export "__heap_base") i32 (i32.const 0x20100))
  (data (i32.const 0x20000) "library-data-ok!")
  (func (export "sum") (param $p i32) (param $n i32) (result i32) (local $s i32)
    (block $d (loop $l (br_if $d (i32.eqz (local.get $n)))
      (local.set $s (i32.add (local.get $s) (i32.load8_u (local.get $p))))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1))) (br $l)))
    (local.get $s))
  ;; 64 bytes of stack per level, as LLVM's prologue writes it
  (func $rec (export "rec") (param i32) (result i32) (local $fp i32)
    global.get $sp i32.const 64 i32.sub local.tee $fp global.set $sp
    local.get $fp local.get 0 i32.store
    ${REC}
    local.get $fp i32.const 64 i32.add global.set $sp)
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  ${extra})`;
const sharedContract = (extra = '') => `(module
  (import "env" "memory" (memory 1))
  (import "lib" "sum" (func $sum (param i32 i32) (result i32)))
  (import "lib" "rec" (func $lrec (param i32) (result i32)))
  (import "lib" "grow" (func $lgrow (param i32) (result i32)))
  (import "host" "output" (func $output (param i32 i32)))
  (global $sp (mut i32) (i32.const 0x10000))
  (data (i32.const 0x10000) "contract-data!!!")
  (func (export "main") (result i32) (call $sum (i32.const 0x10000) (i32.const 16)))
  (func (export "sum_at") (param i32 i32) (result i32) (call $sum (local.get 0) (local.get 1)))
  (func (export "deep") (param i32) (result i32) (call $lrec (local.get 0)))
  (func (export "grow_bomb") (loop $l (if (i32.eq (call $lgrow (i32.const 1)) (i32.const -1)) (then unreachable)) (br $l)))
  (func (export "own_grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "out_at") (param i32 i32) (call $output (local.get 0) (local.get 1)))
  (func (export "sp_below_zero") (global.set $sp (i32.const -16)))
  (func $crec (export "crec") (call $crec))
  ${extra})`;
const SUMC = [...Buffer.from('contract-data!!!')].reduce((a, b) => a + b, 0);
const shared = (entrypoint: string, args: unknown[] = [], extra: Record<string, unknown> = {}) => ({ entrypoint, args, link: { mode: 'shared' }, ...extra });

const sharedCases: Case[] = [
  { name: 'shared: the pair works (control)', wasm: sharedContract(), library: sharedLibrary(), request: shared('main'), expect: { kind: 'ok', values: [SUMC] } },
  { name: 'shared pointer: the library reading past the one memory', wasm: sharedContract(), library: sharedLibrary(), request: shared('sum_at', [3 * PAGE - 4, 16]), expect: { kind: 'trap', message: 'out of bounds memory access' } },
  { name: 'shared pointer: a wrapping pointer 0xFFFFFFF0', wasm: sharedContract(), library: sharedLibrary(), request: shared('sum_at', [-16, 32]), expect: { kind: 'trap', message: 'out of bounds memory access' } },
  { name: 'shared pointer: host.output past the shared memory', wasm: sharedContract(), library: sharedLibrary(), request: shared('out_at', [3 * PAGE - 2, 10]), expect: { kind: 'trap', message: OOB('output', 3 * PAGE - 2, 3 * PAGE + 8, 3 * PAGE) } },
  { name: 'shared pointer: host.output length overflowing 32 bits', wasm: sharedContract(), library: sharedLibrary(), request: shared('out_at', [16, -1]), expect: { kind: 'trap', message: OOB('output', 16, 4294967311, 3 * PAGE) } },
  { name: 'shared memory: the library grows the one memory until refused', wasm: sharedContract(), library: sharedLibrary(), request: shared('grow_bomb', [], { limits: { memoryBytes: 7 * PAGE } }), expect: { kind: 'memory_limit', message: `memory limit of ${7 * PAGE} bytes reached (memory.grow refused), then: wasm \`unreachable\` instruction executed`, check: (t, b) => t.equal(b.memory.peakBytes, 7 * PAGE) } },
  { name: 'shared memory: the contract grows the one memory by 0xFFFFFFFF pages', wasm: sharedContract(), library: sharedLibrary(), request: shared('own_grow', [-1]), expect: { kind: 'ok', values: [-1] } },
  { name: 'shared memory: the one memory over the cap at the start', wasm: sharedContract(), library: sharedLibrary(), request: shared('main', [], { limits: { memoryBytes: 2 * PAGE } }), expect: { kind: 'memory_limit', message: /^initial memory of 196608 bytes \(one shared memory of 3 pages\) exceeds the limit of 131072 bytes$/ } },
  { name: 'shared stack: a deep library recursion hits the stack guard', wasm: sharedContract(), library: sharedLibrary(), request: shared('deep', [4000]), expect: { kind: 'stack_overflow', message: /^library stack exhausted .* into the contract's data; stopped before writing there/ } },
  { name: 'shared stack: one stack, a deep library recursion below address 0', wasm: sharedContract(), library: sharedLibrary(), request: { ...shared('deep', [4000]), link: { mode: 'shared', stacks: 'one' } }, expect: { kind: 'stack_overflow' } },
  { name: 'shared stack: the contract sets its stack pointer below 0', wasm: sharedContract(), library: sharedLibrary(), request: shared('sp_below_zero'), expect: { kind: 'stack_overflow' } },
  { name: 'shared stack: unbounded contract recursion', wasm: sharedContract(), library: sharedLibrary(), request: shared('crec'), expect: { kind: 'stack_overflow', message: DEPTH_MSG } },
  { name: 'shared layout: library data over the contract data', wasm: sharedContract(), library: sharedLibrary('(data (i32.const 0x10004) "x")'), request: shared('main'), expect: { status: 422, kind: 'link_error', message: /overlaps contract data/ } },
  { name: 'shared: a contract with its own memory', wasm: contract(), library: sharedLibrary(), request: shared('main'), expect: { status: 422, kind: 'link_error', message: /bridge/ } },
  { name: 'shared: link.namespace env is refused', wasm: sharedContract(), library: sharedLibrary(), request: { ...shared('main'), link: { mode: 'shared', namespace: 'env' } }, expect: { status: 400, kind: 'bad_request', message: /env/ } },
];

t.test('bridge linking', async (t) => runCases(t, h, bridgeCases));
t.test('shared linking', async (t) => runCases(t, h, sharedCases));
