/**
 * Fuel profiles (src/engine/fuel-profile/, wasm/profile-hooks.ts; docs/PROFILING.md): a hand-counted WAT
 * pair checked number for number in both link modes; every outcome (ok, out of fuel, trap, stack
 * overflow) answered by the profiling variant exactly as by the ordinary one, with a profile summing to
 * `fuel.consumed`; the real examples in every link mode likewise; the kv example naming `kv::lib::…`;
 * tail calls, tables and `ref.func` through the moved function indices; the size bounds.
 */
import t from 'tap';
import { type Assert, exampleModule, run, watModule, type RunOptions } from '../support/engine.js';
import { wat } from '../support/wat.js';
import { prep } from '../support/engine.js';
import type { ExecutionResult } from '../../src/engine/execute.js';
import type { FuelProfileReport } from '../../src/engine/fuel-profile/report.js';
import { MAX_EDGES, MAX_FUNCTIONS } from '../../src/engine/fuel-profile/report.js';
import { MAX_TREE_DEPTH, MAX_TREE_NODES } from '../../src/engine/fuel-profile/profiler.js';
import type { SpeedscopeFile } from '../../src/engine/fuel-profile/speedscope.js';

const LIBRARY = `(module
  (memory (export "memory") 1)
  (func $sq (param i32) (result i32) local.get 0 local.get 0 i32.mul)
  (func $fact (export "fact") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 1))
      (else (i32.mul (local.get 0) (call $fact (i32.sub (local.get 0) (i32.const 1)))))))
  (func (export "sumsq") (param i32 i32) (result i32) local.get 0 call $sq local.get 1 call $sq i32.add)
  (func $down (export "down") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 0))
      (else (return_call $down (i32.sub (local.get 0) (i32.const 1))))))
  (func (export "boom") (param i32) (result i32) local.get 0 call $sq i32.const 0 i32.div_s i32.const 5 i32.add))`;

const contractSrc = (memory: string) => `(module
  (import "lib" "fact" (func $fact (param i32) (result i32)))
  (import "lib" "sumsq" (func $sumsq (param i32 i32) (result i32)))
  (import "host" "output" (func $output (param i32 i32)))
  (import "lib" "down" (func $down (param i32) (result i32)))
  (import "lib" "boom" (func $boom (param i32) (result i32)))
  ${memory}
  (data (i32.const 16) "hi!")
  (func $twice (param i32) (result i32) local.get 0 i32.const 2 i32.mul)
  (func (export "main") (result i32)
    i32.const 16
    i32.const 3
    call $output
    i32.const 3
    call $fact
    call $twice
    i32.const 2
    call $sumsq
    i32.const 1
    i32.add)
  (func (export "fact") (param i32) (result i32) local.get 0 call $fact)
  (func (export "down") (param i32) (result i32) local.get 0 call $down)
  (func (export "boom") (result i32) i32.const 7 call $boom))`;

const BRIDGE = { link: undefined };
const SHARED = { link: { mode: 'shared' as const } };

function profiled(o: RunOptions, format: 'json' | 'speedscope' | 'collapsed' | 'pprof' = 'json'): ExecutionResult {
  return run({ ...o, fuelProfile: { format } } as RunOptions);
}

/** The profile's invariants: sums exact, sorted, the rows well formed. */
function checkSums(t: Assert, r: ExecutionResult, what: string): FuelProfileReport {
  const p = r.profile!;
  t.ok(p, `${what}: a profile`);
  t.equal(p.unit, 'fuel');
  t.equal(p.total, r.fuel.consumed, `${what}: total = fuel.consumed`);
  const self = p.functions.reduce((n, f) => n + f.self, 0);
  const host = p.host.reduce((n, h) => n + h.fuel, 0);
  t.equal(self + host, r.fuel.consumed, `${what}: sum(self) + sum(host) = fuel.consumed (${self} + ${host})`);
  t.ok(
    p.functions.every((f, i) => i === 0 || p.functions[i - 1]!.self >= f.self || f.name === '(other)'),
    `${what}: sorted by self`,
  );
  t.ok(p.functions.every((f) => f.name === '(other)' || (f.total! >= f.self && f.calls > 0)), `${what}: total >= self, calls > 0`);
  return p;
}

const row = (p: FuelProfileReport, module: string, index: number) => p.functions.find((f) => f.module === module && f.index === index);

t.test('a hand-counted pair, number for number, in both link modes', async (t) => {
  const library = await watModule(LIBRARY);
  const modes = [
    ['bridge', await watModule(contractSrc('(memory (export "memory") 1)')), BRIDGE, {}],
    ['shared', await watModule(contractSrc('(import "env" "memory" (memory 1))')), SHARED, {}],
  ] as const;
  for (const [mode, contract, link] of modes) {
    const plain = run({ contract, library, ...link });
    const r = profiled({ contract, library, ...link });
    t.ok(r.ok, `${mode}: ${JSON.stringify(r.error)}`);
    t.same(r.result, plain.result, `${mode}: the same result as an ordinary run`);
    t.same(r.result!.values, [149]);
    // main 11 (entry + 3, 2, 1, 2, 2 by block), host.output 3 bytes, fact(3) = 10·3 + 5, twice 4,
    // sumsq 3 + 2 + 1 around two sq of 4
    t.equal(plain.fuel.consumed, 67, `${mode}: 67 fuel`);
    t.equal(r.fuel.consumed, 67, `${mode}: the same fuel profiled`);
    const p = checkSums(t, r, mode);
    t.same(
      p.functions.map((f) => [f.module, f.index, f.self, f.total, f.calls]),
      [
        ['library', 1, 35, 35, 4], // fact: recursion counted once in total
        ['contract', 6, 11, 67, 1], // main
        ['library', 0, 8, 8, 2], // sq
        ['library', 2, 6, 14, 1], // sumsq
        ['contract', 5, 4, 4, 1], // twice
      ],
      `${mode}: functions`,
    );
    t.same(
      p.edges,
      [
        { caller: 'contract:6', callee: 'library:1', calls: 1, fuel: 35 },
        { caller: 'library:1', callee: 'library:1', calls: 3, fuel: 25 },
        { caller: 'contract:6', callee: 'library:2', calls: 1, fuel: 14 },
        { caller: 'library:2', callee: 'library:0', calls: 2, fuel: 8 },
        { caller: 'contract:6', callee: 'contract:5', calls: 1, fuel: 4 },
      ],
      `${mode}: edges`,
    );
    t.same(p.host, [{ import: 'host.output', module: 'contract', name: null, calls: 1, fuel: 3 }], `${mode}: host`);
    t.equal(p.edgesOmitted, 0);

    const s = profiled({ contract, library, ...link }, 'speedscope');
    const file = s.profile!.data as SpeedscopeFile;
    const stacks = file.profiles[0]!.samples.map((st, i) => `${st.map((f) => file.shared.frames[f]!.name).join(';')} ${file.profiles[0]!.weights[i]}`);
    t.same(
      stacks,
      [
        'contract:6 11',
        'contract:6;host.output 3',
        'contract:6;library:1 10',
        'contract:6;library:1;library:1 10',
        'contract:6;library:1;library:1;library:1 10',
        'contract:6;library:1;library:1;library:1;library:1 5', // fact(0)
        'contract:6;contract:5 4',
        'contract:6;library:2 6',
        'contract:6;library:2;library:0 8',
      ],
      `${mode}: the speedscope stacks`,
    );
    const c = profiled({ contract, library, ...link }, 'collapsed');
    t.equal(
      (c.profile!.data as string)
        .trim()
        .split('\n')
        .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0),
      67,
      `${mode}: the collapsed stacks sum to the fuel`,
    );
  }
});

t.test('tail calls: the callee replaces the frame, calls counted, sums exact', async (t) => {
  const library = await watModule(LIBRARY);
  const contract = await watModule(contractSrc('(memory (export "memory") 1)'));
  const plain = run({ contract, library, entrypoint: 'down', args: [50] });
  const r = profiled({ contract, library, entrypoint: 'down', args: [50] });
  t.same(r.result, plain.result);
  t.equal(r.fuel.consumed, plain.fuel.consumed);
  const p = checkSums(t, r, 'down(50)');
  const down = row(p, 'library', 3)!;
  t.equal(down.calls, 51, '51 entries of down');
  t.equal(down.self, r.fuel.consumed - row(p, 'contract', 8)!.self, 'everything but the export is down');
  // each tail call leaves its frame: the tree stays one level deep under the contract
  const s = profiled({ contract, library, entrypoint: 'down', args: [50] }, 'speedscope');
  const file = s.profile!.data as SpeedscopeFile;
  t.ok(Math.max(...file.profiles[0]!.samples.map((x) => x.length)) <= 2, 'no tower of tail-called frames');
});

t.test('every outcome: the profiled run answers as the ordinary one, with the profile summing to its fuel', async (t) => {
  const library = await watModule(LIBRARY);
  const contract = await watModule(contractSrc('(memory (export "memory") 1)'));
  const cases: Array<[string, RunOptions]> = [
    ['out of fuel in fact', { contract, library, limits: { fuel: 50 } }],
    ['out of fuel at once', { contract, library, limits: { fuel: 0 } }],
    ['out of fuel in the host copy', { contract, library, limits: { fuel: 5 } }],
    ['a trap mid-block (refund)', { contract, library, entrypoint: 'boom' }],
    ['stack overflow', { contract, library, entrypoint: 'fact', args: [1_000_000] }],
  ];
  for (const [what, o] of cases) {
    const plain = run(o);
    const r = profiled(o);
    t.equal(r.error?.kind, plain.error?.kind, `${what}: ${plain.error?.kind}`);
    t.same(r.error, plain.error, `${what}: the same error, message and frames`);
    t.equal(r.fuel.consumed, plain.fuel.consumed, `${what}: the same fuel (${plain.fuel.consumed})`);
    const p = checkSums(t, r, what);
    if (plain.error?.frames?.length && plain.fuel.consumed > 0) {
      const inner = plain.error.frames[0]!;
      t.ok(row(p, inner.module, inner.index)!.self > 0, `${what}: the innermost frame has fuel of its own`);
    }
    t.same(profiled(o).profile, p, `${what}: the same profile twice`);
  }
  const fuel5 = profiled({ contract, library, limits: { fuel: 5 } }).profile!;
  t.same(fuel5.host, [{ import: 'host.output', module: 'contract', name: null, calls: 1, fuel: 1 }], 'out of fuel in host.output: its row has the rest');
});

t.test('the real examples in every link mode: the same answers, exact sums, kv names demangled', async (t) => {
  const kv = { contract: exampleModule('kv'), library: exampleModule('library') };
  const cases: Array<[string, RunOptions]> = [
    ['kv bridge', { ...kv, input: 'b=2\na=1\nc=3\n' }],
    ['kv shared', { contract: exampleModule('kv-shared'), library: exampleModule('library-shared'), link: { mode: 'shared' }, input: 'b=2\na=1\nc=3\n' }],
    ['kv one stack', { contract: exampleModule('kv-shared'), library: exampleModule('library-shared'), link: { mode: 'shared', stacks: 'one' }, input: 'k=1\nk=2' }],
    ['kv standalone', { contract: exampleModule('kv-standalone'), input: 'b=2\na=1\nc=3\n' }],
    ['kv lookup', { ...kv, entrypoint: 'lookup', input: 'name\nname=alice\nage=30' }],
    ['library guard', { contract: exampleModule('kv-shared'), library: exampleModule('library-shared'), link: { mode: 'shared' }, entrypoint: 'deep', args: [3000] }],
    ['hello-lib', { contract: exampleModule('hello-lib'), library: exampleModule('library'), input: 'world' }],
    ['fib', { contract: exampleModule('fib'), entrypoint: 'fib', args: [20] }],
    ['fib depth', { contract: exampleModule('fib'), entrypoint: 'depth', args: [100000] }],
    ['compute', { contract: exampleModule('compute'), entrypoint: 'sort', args: [200] }],
    ['panic', { contract: exampleModule('panic') }],
    ['oom', { contract: exampleModule('oom') }],
    ['debug-trap', { contract: exampleModule('debug-trap'), entrypoint: 'run' }],
    ['hello', { contract: exampleModule('hello'), input: 'world' }],
  ];
  for (const [what, o] of cases) {
    const plain = run(o);
    const r = profiled(o);
    t.same({ ...r, profile: undefined, timings: null }, { ...plain, profile: undefined, timings: null }, `${what}: the same answer (${plain.error?.kind ?? 'ok'}, ${plain.fuel.consumed} fuel)`);
    checkSums(t, r, what);
  }
  const r = profiled({ ...kv, input: 'b=2\na=1\nc=3\n' });
  t.equal(r.profile!.total, 22_922, 'kv: 22,922 fuel, as the README says');
  t.ok(r.profile!.functions.some((f) => f.module === 'contract' && f.name === 'kv::insert_lines'), 'kv: Rust names demangled');
  t.same(
    r.profile!.host.filter((h) => h.import.startsWith('lib.')).map((h) => [h.import, h.name]),
    [
      ['lib.sha256', 'kv::lib::sha256'],
      ['lib.map_encode', 'kv::lib::map_encode'],
      ['lib.map_insert', 'kv::lib::map_insert'],
    ],
    'kv: the bridge copies, named as the contract imports them (kv::lib::…)',
  );
  t.equal(r.profile!.host.find((h) => h.import === 'lib.sha256')!.fuel, 45, 'sha256: 13 bytes in, 32 out');
});

t.test('tables, ref.func, a start function and memory.grow through the moved indices', async (t) => {
  const src = `(module
    (type $t (func (param i32) (result i32)))
    (memory 1)
    (table 4 funcref)
    (global $g (mut i32) (i32.const 0))
    (global $f funcref (ref.func $inc))
    (elem (i32.const 0) $inc $dbl)
    (elem declare func $sq)
    (func $inc (type $t) local.get 0 i32.const 1 i32.add)
    (func $dbl (type $t) local.get 0 i32.const 2 i32.mul)
    (func $sq (type $t) local.get 0 local.get 0 i32.mul)
    (func $init i32.const 7 global.set $g)
    (start $init)
    (func (export "main") (result i32)
      i32.const 2
      ref.func $sq
      table.set
      i32.const 1
      memory.grow
      drop
      global.get $g
      i32.const 0
      call_indirect (type $t)
      i32.const 1
      call_indirect (type $t)
      i32.const 2
      call_indirect (type $t)
      i32.const 3
      return_call_indirect (type $t)))`;
  const contract = prep(await wat(src, { names: true }));
  const plain = run({ contract });
  const r = profiled({ contract });
  t.same({ ...r, profile: undefined, timings: null }, { ...plain, profile: undefined, timings: null }, 'the same answer');
  t.equal(r.error?.kind, 'trap', 'slot 3 is null: a trap after the work');
  const p = checkSums(t, r, 'tables');
  t.same(
    p.functions.map((f) => [f.name, f.calls]).sort(),
    [
      [null, 1], // main: exported, but wabt names only $-named functions
      ['dbl', 1],
      ['inc', 1],
      ['init', 1],
      ['sq', 1],
    ],
    'each function by its name, once: the start function too',
  );
});

t.test('bounded: at most 256 function rows then (other), the tree cut in nodes and depth', async (t) => {
  const n = 600;
  const funcs = Array.from({ length: n }, (_, i) => `(func $f${i} (result i32) i32.const ${i})`).join('\n');
  const calls = Array.from({ length: n }, (_, i) => `call $f${i} drop`).join('\n');
  const contract = prep(await wat(`(module ${funcs} (func (export "main") ${calls}))`));
  const r = profiled({ contract }, 'speedscope');
  const p = checkSums(t, r, '600 functions');
  t.equal(p.functions.length, MAX_FUNCTIONS + 1, `${MAX_FUNCTIONS} rows and (other)`);
  t.same(p.functions.at(-1), { module: null, index: null, name: '(other)', self: p.functions.at(-1)!.self, total: null, calls: n + 1 - MAX_FUNCTIONS });
  t.equal(p.edges.length, MAX_EDGES);
  t.equal(p.edgesOmitted, n - MAX_EDGES);

  const library = await watModule(LIBRARY);
  const big = await watModule(contractSrc('(memory (export "memory") 1)'));
  const deep = profiled({ contract: big, library, entrypoint: 'fact', args: [5000] }, 'speedscope');
  checkSums(t, deep, 'fact(5000)');
  const file = deep.profile!.data as SpeedscopeFile;
  const longest = Math.max(...file.profiles[0]!.samples.map((x) => x.length));
  t.equal(longest, MAX_TREE_DEPTH + 1, 'paths are cut at the depth bound, the rest summed in (truncated)');
  t.ok(file.shared.frames.some((f) => f.name === '(truncated)'));
  t.ok(file.profiles[0]!.samples.length <= MAX_TREE_NODES * 2);
  t.equal(
    file.profiles[0]!.weights.reduce((a, b) => a + b, 0),
    deep.fuel.consumed,
    'the weights still sum to the fuel',
  );
});
