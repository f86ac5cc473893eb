/**
 * Bridge linking (docs/ABI.md) with WAT modules whose allocators count what the host does: bytes
 * copied into the library and back into the contract through the modules' own alloc/dealloc, the
 * library's buffers freed by the host, handles and scalars passed untouched, functions without
 * `bytes` wired directly (no host hop), request-supplied and overriding declarations, and what
 * happens when the library traps, runs out of fuel, or an allocator fails.
 * The Rust-built kv/hello-lib pair is in examples.test.ts.
 */
import t from 'tap';
import { check } from '../../src/engine/execute.js';
import { assertBodyShape, exampleModule, hex, input, PAGE, run, text, watModule } from '../support/engine.js';

const FFI = `# test library
sum(bytes) -> i32
reverse(bytes) -> bytes
concat(bytes, bytes) -> bytes
where(bytes) -> i32
echo(handle) -> handle
tag(handle, bytes) -> handle
mix(i64, bytes, f64) -> f64
add(i32, i32) -> i32
boom(bytes)
spin(bytes)
nop(bytes)
bad_result() -> bytes
empty() -> bytes
`;

/**
 * The library: a bump allocator that counts alloc and dealloc calls, the bytes freed and the last
 * dealloc's arguments (read back with the directly wired `stats`), and can be told to fail or to
 * grow memory on every alloc.
 */
const LIBRARY = `(module
  (memory (export "memory") 1)
  (global $bump (mut i32) (i32.const 1024))
  (global $allocs (mut i32) (i32.const 0))
  (global $deallocs (mut i32) (i32.const 0))
  (global $freed (mut i32) (i32.const 0))
  (global $last_ptr (mut i32) (i32.const 0))
  (global $last_align (mut i32) (i32.const 0))
  (global $fail (mut i32) (i32.const 0))
  (global $grow (mut i32) (i32.const 0))
  (func $alloc (export "alloc") (param $size i32) (param $align i32) (result i32) (local $p i32)
    (if (global.get $fail) (then (return (i32.const 0))))
    (global.set $allocs (i32.add (global.get $allocs) (i32.const 1)))
    (if (global.get $grow) (then
      (global.set $bump (i32.mul (memory.grow (i32.const 1)) (i32.const 65536)))))
    (local.set $p (global.get $bump))
    (global.set $bump (i32.add (local.get $p) (local.get $size)))
    (local.get $p))
  (func (export "dealloc") (param $p i32) (param $size i32) (param $align i32)
    (global.set $deallocs (i32.add (global.get $deallocs) (i32.const 1)))
    (global.set $freed (i32.add (global.get $freed) (local.get $size)))
    (global.set $last_ptr (local.get $p))
    (global.set $last_align (local.get $align)))
  (func (export "stats") (result i32 i32 i32 i32 i32)
    global.get $allocs global.get $deallocs global.get $freed global.get $last_ptr global.get $last_align)
  (func (export "set_fail") (param i32) (global.set $fail (local.get 0)))
  (func (export "set_grow") (param i32) (global.set $grow (local.get 0)))

  (func (export "sum") (param $p i32) (param $n i32) (result i32) (local $s i32)
    (block $done (loop $l
      (br_if $done (i32.eqz (local.get $n)))
      (local.set $s (i32.add (local.get $s) (i32.load8_u (local.get $p))))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $l)))
    (local.get $s))
  ;; a fresh buffer (alloc(n, 1)) holding the bytes reversed
  (func (export "reverse") (param $p i32) (param $n i32) (result i64) (local $d i32) (local $i i32)
    (local.set $d (call $alloc (local.get $n) (i32.const 1)))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (i32.store8 (i32.add (local.get $d) (local.get $i))
        (i32.load8_u (i32.sub (i32.add (local.get $p) (local.get $n)) (i32.add (local.get $i) (i32.const 1)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    (i64.or (i64.shl (i64.extend_i32_u (local.get $n)) (i64.const 32)) (i64.extend_i32_u (local.get $d))))
  (func (export "concat") (param $a i32) (param $an i32) (param $b i32) (param $bn i32) (result i64) (local $d i32)
    (local.set $d (call $alloc (i32.add (local.get $an) (local.get $bn)) (i32.const 1)))
    (memory.copy (local.get $d) (local.get $a) (local.get $an))
    (memory.copy (i32.add (local.get $d) (local.get $an)) (local.get $b) (local.get $bn))
    (i64.or (i64.shl (i64.extend_i32_u (i32.add (local.get $an) (local.get $bn))) (i64.const 32)) (i64.extend_i32_u (local.get $d))))
  (func (export "where") (param $p i32) (param $n i32) (result i32) (local.get $p))
  (func (export "echo") (param i32) (result i32) (local.get 0))
  (func (export "tag") (param $h i32) (param $p i32) (param $n i32) (result i32) (local.get $h))
  (func (export "mix") (param $a i64) (param $p i32) (param $n i32) (param $c f64) (result f64)
    (f64.add (f64.add (f64.convert_i64_s (local.get $a)) (f64.mul (f64.convert_i32_u (local.get $n)) (f64.const 1000))) (local.get $c)))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "boom") (param i32 i32) unreachable)
  (func (export "spin") (param i32 i32) (loop $l (br $l)))
  (func (export "nop") (param i32 i32))
  (func (export "bad_result") (result i64) (i64.const 0x0001000100000000))
  (func (export "empty") (result i64) (i64.const 1)))`;

/** The contract: its own counting bump allocator, data at 16 (01..05), 32 ("hello"), 48 ("world!"). */
const CONTRACT = `(module
  (import "host" "output" (func $output (param i32 i32)))
  (import "lib" "sum" (func $sum (param i32 i32) (result i32)))
  (import "lib" "reverse" (func $reverse (param i32 i32) (result i64)))
  (import "lib" "concat" (func $concat (param i32 i32 i32 i32) (result i64)))
  (import "lib" "where" (func $where (param i32 i32) (result i32)))
  (import "lib" "echo" (func $echo (param i32) (result i32)))
  (import "lib" "tag" (func $tag (param i32 i32 i32) (result i32)))
  (import "lib" "mix" (func $mix (param i64 i32 i32 f64) (result f64)))
  (import "lib" "add" (func $add (param i32 i32) (result i32)))
  (import "lib" "boom" (func $boom (param i32 i32)))
  (import "lib" "spin" (func $spin (param i32 i32)))
  (import "lib" "nop" (func $nop (param i32 i32)))
  (import "lib" "bad_result" (func $bad_result (result i64)))
  (import "lib" "empty" (func $empty (result i64)))
  (import "lib" "stats" (func $stats (result i32 i32 i32 i32 i32)))
  (import "lib" "set_fail" (func $set_fail (param i32)))
  (import "lib" "set_grow" (func $set_grow (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "\\01\\02\\03\\04\\05")
  (data (i32.const 32) "hello")
  (data (i32.const 48) "world!")
  (global $cbump (mut i32) (i32.const 4096))
  (global $callocs (mut i32) (i32.const 0))
  (global $cfail (mut i32) (i32.const 0))
  (func (export "alloc") (param $size i32) (param $align i32) (result i32) (local $p i32)
    (if (global.get $cfail) (then (return (i32.const 0))))
    (global.set $callocs (i32.add (global.get $callocs) (i32.const 1)))
    (local.set $p (global.get $cbump))
    (global.set $cbump (i32.add (local.get $p) (local.get $size)))
    (local.get $p))
  (func (export "dealloc") (param i32 i32 i32))
  ;; output a packed (len << 32 | ptr) buffer of this memory; leave ptr and len on the stack
  (func $out (param $r i64) (result i32 i32)
    (call $output (i32.wrap_i64 (local.get $r)) (i32.wrap_i64 (i64.shr_u (local.get $r) (i64.const 32))))
    (i32.wrap_i64 (local.get $r)) (i32.wrap_i64 (i64.shr_u (local.get $r) (i64.const 32))))

  (func (export "sum5") (result i32 i32 i32 i32 i32 i32)
    (call $sum (i32.const 16) (i32.const 5)) (call $stats))
  (func (export "reverse5") (result i32 i32 i32 i32 i32 i32 i32 i32)
    (call $out (call $reverse (i32.const 16) (i32.const 5))) (global.get $callocs) (call $stats))
  (func (export "concat") (result i32 i32 i32 i32 i32 i32 i32 i32)
    (call $out (call $concat (i32.const 32) (i32.const 5) (i32.const 48) (i32.const 6))) (global.get $callocs) (call $stats))
  (func (export "twice") (result i32 i32 i32 i32 i32 i32)
    (call $out (call $reverse (i32.const 32) (i32.const 5))) drop drop
    (call $out (call $reverse (i32.const 48) (i32.const 6))) drop drop
    (call $stats) (global.get $callocs))
  (func (export "where") (result i32) (call $where (i32.const 16) (i32.const 5)))
  (func (export "echo") (param i32) (result i32) (call $echo (local.get 0)))
  (func (export "tag") (param i32) (result i32) (call $tag (local.get 0) (i32.const 16) (i32.const 5)))
  (func (export "mix") (param i64 f64) (result f64) (call $mix (local.get 0) (i32.const 16) (i32.const 5) (local.get 1)))
  (func (export "add") (param i32 i32) (result i32) (call $add (local.get 0) (local.get 1)))
  (func (export "boom") (call $boom (i32.const 16) (i32.const 5)))
  (func (export "spin") (call $spin (i32.const 16) (i32.const 5)))
  (func (export "nop") (param i32) (call $nop (i32.const 0) (local.get 0)))
  (func (export "sum_at") (param i32 i32) (result i32) (call $sum (local.get 0) (local.get 1)))
  (func (export "bad_result") (drop (call $bad_result)))
  (func (export "empty") (result i64 i32 i32 i32 i32 i32) (call $empty) (call $stats))
  (func (export "lib_alloc_fails") (result i32) (call $set_fail (i32.const 1)) (call $sum (i32.const 16) (i32.const 5)))
  (func (export "contract_alloc_fails") (global.set $cfail (i32.const 1)) (drop (call $reverse (i32.const 16) (i32.const 5))))
  (func (export "lib_alloc_grows") (result i32 i32)
    (call $set_grow (i32.const 1)) (call $out (call $reverse (i32.const 32) (i32.const 5)))))`;

const library = await watModule(LIBRARY, FFI);
const contract = await watModule(CONTRACT);
const go = (entrypoint: string, args: unknown[] = [], limits = {}) => run({ contract, library, entrypoint, args, limits });

t.test('bytes parameter: copied into the library via its alloc, freed with its dealloc', async (t) => {
  const r = go('sum5');
  assertBodyShape(t, r, { library: true });
  // sum, then stats: allocs, deallocs, bytes freed, last dealloc's ptr and align
  t.same(r.result!.values, [15, 1, 1, 5, 1024, 1]);
  t.same(r.link, { mode: 'bridge', calls: 1, bytesCopied: 5 });
  t.equal(go('where').result!.values[0], 1024, 'the library sees a pointer into its own memory');
});

t.test('bytes result: copied into the contract via its alloc, the library buffer freed', async (t) => {
  const r = go('reverse5');
  assertBodyShape(t, r, { library: true });
  t.equal(hex(r.result!.output), '0504030201');
  const [ptr, len, contractAllocs, ...stats] = r.result!.values;
  t.equal(ptr, 4096, 'the returned pointer is the contract allocator’s');
  t.equal(len, 5);
  t.equal(contractAllocs, 1);
  // 2 allocs (argument, result), 2 deallocs (10 bytes); the last one frees the result at 1029
  t.same(stats, [2, 2, 10, 1029, 1]);
  t.same(r.link, { mode: 'bridge', calls: 1, bytesCopied: 10 });
});

t.test('bytes both ways with two arguments', async (t) => {
  const r = go('concat');
  t.equal(text(r.result!.output), 'helloworld!');
  t.same(r.result!.values, [4096, 11, 1, 3, 3, 22, 1035, 1]);
  t.same(r.link, { mode: 'bridge', calls: 1, bytesCopied: 22 });
});

t.test('several bridged calls add up', async (t) => {
  const r = go('twice');
  t.equal(text(r.result!.output), 'olleh!dlrow');
  t.same(r.result!.values, [4, 4, 22, 1040, 1, 2]);
  t.same(r.link, { mode: 'bridge', calls: 2, bytesCopied: 22 });
});

t.test('handles and scalars pass through untouched', async (t) => {
  for (const h of [0, 1, -559038737, 2147483647, -1]) {
    t.same(go('echo', [h]).result!.values, [h], `echo ${h} (direct)`);
    const r = go('tag', [h]);
    t.same(r.result!.values, [h], `tag ${h} (bridged)`);
    t.same(r.link, { mode: 'bridge', calls: 1, bytesCopied: 5 });
  }
  // mix(a, bytes, c) = f64(a) + len * 1000 + c: arguments keep their order and types around the copied pair
  const m = go('mix', ['-5', 0.25]);
  t.same(m.result!.values, [4995.25]);
  t.equal(m.link.calls, 1);
  const big = go('mix', ['-9007199254740993', 0.5]);
  t.same(big.result!.values, [Number(-9007199254740993n) + 5000 + 0.5]);
});

t.test('functions without bytes are wired directly: no host hop', async (t) => {
  const r = go('add', [40, 2]);
  t.same(r.result!.values, [42]);
  t.same(r.link, { mode: 'bridge', calls: 0, bytesCopied: 0 });
  t.equal(go('echo', [7]).link.calls, 0);
});

t.test('host copies cost 1 fuel per byte; empty bytes still go through alloc/dealloc', async (t) => {
  const zero = go('nop', [0]);
  const hundred = go('nop', [100]);
  t.equal(zero.ok, true);
  t.equal(hundred.fuel.consumed - zero.fuel.consumed, 100);
  t.same(hundred.link, { mode: 'bridge', calls: 1, bytesCopied: 100 });
  t.same(zero.link, { mode: 'bridge', calls: 1, bytesCopied: 0 });
});

t.test('an empty bytes result', async (t) => {
  const r = go('empty');
  t.equal(r.ok, true);
  const [packed, ...stats] = r.result!.values;
  t.equal(BigInt(packed as string) >> 32n, 0n, 'length 0');
  t.same(stats, [0, 1, 0, 1, 1], 'the library’s empty buffer is freed with size 0');
  t.equal(r.result!.output, '');
});

t.test('a library alloc that grows (and detaches) its memory still receives the bytes', async (t) => {
  const r = go('lib_alloc_grows');
  t.equal(r.ok, true);
  t.equal(text(r.result!.output), 'olleh');
  t.equal(r.memory.modules.library!.peakBytes, 3 * PAGE, 'two allocs, one page each');
  t.equal(r.memory.peakBytes, 4 * PAGE);
  const capped = go('lib_alloc_grows', [], { memoryBytes: 2 * PAGE });
  // the grow is refused: the bump pointer becomes -65536 (alloc does not check), out of bounds for the host's copy
  // the grow is refused, so the host's copy to the bogus pointer is the trap that follows: memory_limit
  t.equal(capped.error!.kind, 'memory_limit');
  t.match(capped.error!.message, /memory\.grow refused\), then: out of bounds memory access: host\.reverse \(library alloc result\)/);
});

t.test('request-supplied declarations for a library without an ffi section', async (t) => {
  const bare = await watModule(LIBRARY);
  const plain = run({ contract, library: bare, entrypoint: 'where' });
  // without declarations `where (i32, i32) -> i32` matches and is wired directly: the contract's pointer arrives as is
  t.same(plain.result!.values, [16]);
  t.equal(plain.link.calls, 0);
  const declared = run({ contract, library: bare, entrypoint: 'where', link: { ffi: 'where(bytes) -> i32' } });
  t.same(declared.result!.values, [1024]);
  t.same(declared.link, { mode: 'bridge', calls: 1, bytesCopied: 5 });
  const rev = run({ contract, library: bare, entrypoint: 'reverse5', link: { ffi: 'reverse(bytes) -> bytes' } });
  t.equal(hex(rev.result!.output), '0504030201');
  t.equal(rev.link.calls, 1);
});

t.test('request-supplied declarations override the section', async (t) => {
  // the section says `where(bytes)`; the request says it takes two plain i32s
  const r = go('where');
  t.equal(r.link.calls, 1);
  const o = run({ contract, library, entrypoint: 'where', link: { ffi: 'where(i32, i32) -> i32' } });
  t.same(o.result!.values, [16]);
  t.equal(o.link.calls, 0);
  // an empty override removes every declaration: where is then wired directly too
  const none = run({ contract, library, entrypoint: 'where', link: { ffi: '# nothing declared' } });
  t.same(none.result!.values, [16]);
});

t.test('a custom namespace', async (t) => {
  const c = await watModule(`(module (import "mylib" "add" (func $add (param i32 i32) (result i32)))
    (func (export "main") (result i32) (call $add (i32.const 2) (i32.const 3))))`);
  const r = run({ contract: c, library, link: { namespace: 'mylib' } });
  t.same(r.result!.values, [5]);
});

t.test('the library traps during a bridged call', async (t) => {
  const r = go('boom');
  assertBodyShape(t, r, { library: true });
  t.has(r.error, { kind: 'trap', message: 'wasm `unreachable` instruction executed' });
  t.equal(r.link.calls, 1);
});

t.test('the library runs out of fuel during a bridged call', async (t) => {
  const r = go('spin', [], { fuel: 5000 });
  assertBodyShape(t, r, { library: true });
  t.equal(r.error!.kind, 'out_of_fuel');
  t.same(r.fuel, { limit: 5000, consumed: 5000, remaining: 0 });
});

t.test('fuel runs out during the host copy itself', async (t) => {
  const ok = go('nop', [60000]);
  const need = ok.fuel.consumed;
  t.equal(go('nop', [60000], { fuel: need }).ok, true, 'exactly enough');
  const r = go('nop', [60000], { fuel: need - 1 });
  t.equal(r.error!.kind, 'out_of_fuel');
  t.same(r.fuel, { limit: need - 1, consumed: need - 1, remaining: 0 });
  // far less than the copy needs: it stops at the copy, which never happens
  const short = go('nop', [60000], { fuel: 30000 });
  t.equal(short.error!.kind, 'out_of_fuel');
  t.same(short.fuel, { limit: 30000, consumed: 30000, remaining: 0 });
  t.same(short.link, { mode: 'bridge', calls: 1, bytesCopied: 0 });
});

t.test('bad pointers and failing allocators in a bridged call are trap outcomes', async (t) => {
  const oob = go('sum_at', [65530, 10]);
  t.equal(oob.error!.kind, 'trap');
  t.match(oob.error!.message, /^out of bounds memory access: host\.sum \(bytes argument\) given 65530\.\.65540/);

  const res = go('bad_result');
  t.equal(res.error!.kind, 'trap');
  t.match(res.error!.message, /^out of bounds memory access: host\.bad_result \(bytes result\)/);

  t.has(go('lib_alloc_fails').error, { kind: 'trap', message: 'library alloc(5, 1) failed for `sum`' });
  t.has(go('contract_alloc_fails').error, { kind: 'trap', message: 'contract alloc(5, 1) failed for the result of `reverse`' });
});

t.test('a bridged call from the contract’s start function works (start functions run once the instance exists)', async (t) => {
  const c = await watModule(`(module
    (import "lib" "sum" (func $sum (param i32 i32) (result i32)))
    (memory (export "memory") 1) (data (i32.const 0) "\\07")
    (global $g (mut i32) (i32.const 0))
    (func $s (global.set $g (call $sum (i32.const 0) (i32.const 1)))) (start $s)
    (func (export "main") (result i32) (global.get $g)))`);
  const r = run({ contract: c, library });
  assertBodyShape(t, r, { library: true });
  t.equal(r.error, null);
  t.same(r.result!.values, [7], 'the start function summed the byte 7 through the bridge');
  t.equal(r.link.calls, 1);
  // a directly wired call from the start function works
  const d = await watModule(`(module
    (import "lib" "add" (func $add (param i32 i32) (result i32)))
    (global $g (mut i32) (i32.const 0))
    (func $s (global.set $g (call $add (i32.const 3) (i32.const 4)))) (start $s)
    (func (export "main") (result i32) (global.get $g)))`);
  t.same(run({ contract: d, library }).result!.values, [7]);
});

t.test('check(): the plan says which functions are bridged and which are direct', async (t) => {
  const c = check(input({ contract: exampleModule('kv'), library: exampleModule('library'), entrypoint: 'add', args: ['1', -2] }));
  t.equal(c.entry, 'add');
  t.same(c.plan, { args: [1n, -2n] }, 'host ABI v1: the arguments as wasm values');
  t.equal(c.namespace, 'lib');
  t.same(
    c.bridge.wires.filter((w) => w.via === 'direct').map((w) => w.name).sort(),
    ['add_i64', 'map_free', 'map_len', 'map_new'],
  );
  t.same(
    c.bridge.wires.filter((w) => w.via === 'bridge').map((w) => w.name).sort(),
    ['map_encode', 'map_get', 'map_insert', 'sha256'],
  );
  const plan = check(input({ contract, library, entrypoint: 'add', args: [1, 2] })).bridge.wires;
  t.equal(plan.length, 16, 'every lib import of the WAT contract is wired');
  t.same(plan.filter((w) => w.via === 'direct').map((w) => w.name).sort(), ['add', 'echo', 'set_fail', 'set_grow', 'stats'], 'no bytes: direct');
});

t.test('a bridge plan is made once per pair of modules and declarations; a link error is never kept', async (t) => {
  const { planBridge } = await import('../../src/engine/linking/bridge.js');
  const kv = exampleModule('kv').info;
  const lib = exampleModule('library').info;
  const a = planBridge(kv, lib, 'lib', undefined);
  t.ok(a.wires.length > 0, 'kv imports library functions');
  t.equal(planBridge(kv, lib, 'lib', undefined), a, 'the same plan again, not parsed anew');
  const broken = 'map_new( -> i32';
  for (let i = 0; i < 2; i++) t.throws(() => planBridge(kv, lib, 'lib', broken), /ffi line 1/, `a bad override fails every time (${i + 1})`);
  const override = lib.ffi!.replace(/^map_len.*$/m, '');
  const b = planBridge(kv, lib, 'lib', override);
  t.not(b, a, 'other declarations, another plan');
  t.same(planBridge(kv, lib, 'lib', undefined), a, 'and the library\'s own again');
});
