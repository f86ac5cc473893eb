/**
 * `wasm-runner run` and `batch`: bodies and exit codes (docs/API.md). The logic cases go to one run
 * host, the built CLI's own code in a process kept for the file (`run`'s argument parsing and file
 * reading, its worker module in one kept thread: test/cli/run-host.mjs); what only a process shows
 * (stdout framing, exit statuses, a guard-page fault or a timeout that must not kill or hang the CLI,
 * `batch` as a command, each call in its own worker thread, compared below with the host's bodies)
 * spawns the built CLI.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { DEFAULT_LIMITS } from '../../src/engine/defaults.js';
import { EX, SUM_LOOP, TmpDir, cliAsync, closeRunHost, ensureBuilt, runHosted as run } from './cli-support.js';

ensureBuilt();
const tmp = new TmpDir();
t.teardown(() => tmp.remove());
t.teardown(closeRunHost);

const hex = (s: string) => Buffer.from(s).toString('hex');
const b64hex = (b64: string) => Buffer.from(b64, 'base64').toString('hex');

let sumWasm = '';
let trapWasm = '';
let infWasm = '';
t.before(async () => {
  sumWasm = await tmp.wasm('sum.wasm', `(module ${SUM_LOOP})`);
  trapWasm = await tmp.wasm(
    'trap.wasm',
    `(module (func (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
            (func (export "f64") (param f64 i64) (result f64 i64) local.get 0 local.get 1))`,
  );
  infWasm = await tmp.wasm('inf.wasm', `(module (func (export "main") (result i32) (loop $l (br $l)) (i32.const 0)))`);
});

t.test('the body is pretty-printed JSON with the shape of docs/API.md; ok exits 0', async (t) => {
  const r = await cliAsync('run', EX('hello.wasm'), '--input-hex', hex('world'));
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, `${JSON.stringify(JSON.parse(r.stdout), null, 2)}\n`, '2-space indent, trailing newline');
  const b = r.json();
  t.same(Object.keys(b), ['ok', 'result', 'error', 'fuel', 'memory', 'logs', 'modules', 'link', 'timings']);
  t.equal(b.ok, true);
  t.equal(b.error, null);
  t.same(b.result.values, [5]);
  t.equal(Buffer.from(b.result.output, 'base64').toString(), 'hello, world');
  t.same(b.logs, [{ level: 'info', message: 'hello called' }]);
  t.equal(b.fuel.limit, DEFAULT_LIMITS.fuel);
  t.equal(b.fuel.consumed + b.fuel.remaining, b.fuel.limit);
  t.equal(b.memory.limitBytes, DEFAULT_LIMITS.memoryBytes);
  t.equal(b.modules.contract.bytes, readFileSync(EX('hello.wasm')).length);
  t.match(b.modules.contract.hash, /^[0-9a-f]{64}$/);
  t.ok(b.timings.prepareMs > 0, 'prepareMs measured in the worker');
  t.ok(b.timings.totalMs >= b.timings.prepareMs);
  t.equal(r.stderr, '');
});

t.test('--input-file reads the input bytes; no input is empty', async (t) => {
  const a = await run(EX('hello.wasm'), '--input-file', tmp.file('in.txt', 'file input'));
  t.equal(a.code, 0);
  t.equal(Buffer.from(a.json().result.output, 'base64').toString(), 'hello, file input');
  t.same(a.json().result.values, [10]);
  const empty = (await run(EX('hello.wasm'))).json();
  t.same(empty.result.values, [0]);
  t.equal(Buffer.from(empty.result.output, 'base64').toString(), 'hello, ');
});

t.test('exact fuel: the 13n+6 loop', async (t) => {
  for (const n of [1, 7, 250]) {
    const r = await run(sumWasm, '--entry', 'sum', '--args', `[${n}]`);
    t.equal(r.code, 0, `n=${n} ${r.stdout}`);
    const b = r.json();
    t.same(b.result.values, [(n * (n - 1)) / 2], `sum below ${n}`);
    t.equal(b.fuel.consumed, 13 * n + 6, `n=${n}: 13n+6`);
  }
  const exact = await run(sumWasm, '--entry', 'sum', '--args', '[10]', '--fuel', '136');
  t.equal(exact.code, 0, 'exactly enough fuel');
  t.equal(exact.json().fuel.remaining, 0);
  const short = await run(sumWasm, '--entry', 'sum', '--args', '[10]', '--fuel', '135');
  t.equal(short.code, 1, 'one short');
  const b = short.json();
  t.equal(b.ok, false);
  t.equal(b.error.kind, 'out_of_fuel');
  t.same(b.fuel, { limit: 135, consumed: 135, remaining: 0 });
});

t.test('an out-of-bounds store at 256 MiB (a guard-page fault) is a trap, not a dead CLI', async (t) => {
  const oob = await tmp.wasm('oob.wasm', '(module (memory 1) (func (export "main") (i32.store (i32.const 0x10000000) (i32.const 1))))');
  const r = await cliAsync('run', oob);
  t.equal(r.code, 1, 'exit 1: an outcome that is not ok');
  const { error } = r.json();
  t.has(error, { kind: 'trap', message: 'out of bounds memory access' });
  // stdout is the body alone; the frames as a backtrace on stderr
  const at = `0x${error.frames[0].offset.toString(16)}`;
  t.equal(r.stderr, `error: trap: out of bounds memory access\nwasm backtrace:\n    0: ${at.padStart(8)} - contract!${error.frames[0].name ?? '<wasm function 0>'}\n`);
});

t.test('every outcome kind through the CLI', async (t) => {
  t.test('out_of_fuel', async (t) => {
    const r = await run(EX('compute.wasm'), '--entry', 'sha_loop', '--args', '[1000]', '--fuel', '5000');
    t.equal(r.code, 1);
    const b = r.json();
    t.equal(b.error.kind, 'out_of_fuel');
    t.equal(b.fuel.consumed, 5000);
    t.equal(b.result, null);
  });
  t.test('memory_limit (oom.wasm)', async (t) => {
    const r = await run(EX('oom.wasm'), '--memory-bytes', String(20 * 65536));
    t.equal(r.code, 1);
    const b = r.json();
    t.equal(b.error.kind, 'memory_limit');
    t.equal(b.memory.limitBytes, 20 * 65536);
    t.equal(b.memory.peakBytes, 20 * 65536, 'grown to exactly the cap');
  });
  t.test('stack_overflow (fib.wasm depth)', async (t) => {
    const ok = await run(EX('fib.wasm'), '--entry', 'depth', '--args', '[1000]');
    t.equal(ok.code, 0);
    t.same(ok.json().result.values, [1000]);
    const r = await run(EX('fib.wasm'), '--entry', 'depth', '--args', '[1000000]');
    t.equal(r.code, 1);
    const b = r.json();
    t.equal(b.error.kind, 'stack_overflow');
    t.match(b.error.message, /the stack budget of \d+ bytes is used up/, 'the deterministic budget, not V8');
  });
  t.test('trap', async (t) => {
    const r = await run(trapWasm, '--entry', 'div', '--args', '[7, 0]');
    t.equal(r.code, 1);
    t.has(r.json().error, { kind: 'trap', message: 'integer divide by zero' });
    const ok = await run(trapWasm, '--entry', 'div', '--args', '[-7, 2]');
    t.equal(ok.code, 0);
    t.same(ok.json().result.values, [-3]);
  });
  t.test('panic (panic.wasm)', async (t) => {
    const r = await run(EX('panic.wasm'), '--input-hex', hex('alice'));
    t.equal(r.code, 1);
    t.has(r.json().error, { kind: 'panic', message: 'contract refused: alice' });
  });
  t.test('timeout: an infinite loop with plenty of fuel', async (t) => {
    // the process: its worker stopped, the CLI answers and exits (100 ms: the loop spins a core until then)
    const r = await cliAsync('run', infWasm, '--fuel', '10000000000', '--timeout-ms', '100');
    t.equal(r.code, 1, r.stderr);
    const b = r.json();
    t.same(b.error, { kind: 'timeout', message: 'execution stopped after 100 ms (wall clock)' });
    t.same(b.fuel, { limit: 10_000_000_000, consumed: 10_000_000_000, remaining: 0 });
    // libuv timers have millisecond granularity against performance.now(): allow the last millisecond
    t.ok(b.timings.executeMs >= 99, `executeMs ${b.timings.executeMs}`);
    // it returns (the process's start and preparation included), never hangs: a generous margin, not a timing
    t.ok(r.ms < 100 + 10_000, `returned after ${Math.round(r.ms)} ms`);
  });
});

t.test('values as JSON: i64 as strings, floats, multi-value', async (t) => {
  const r = await run(trapWasm, '--entry', 'f64', '--args', '[1.5, "-9223372036854775808"]');
  t.equal(r.code, 0, r.stdout);
  t.same(r.json().result.values, [1.5, '-9223372036854775808']);
});

t.test('kv with the library: the documented worked example', async (t) => {
  const r = await run(EX('kv.wasm'), '--lib', EX('library.wasm'), '--input-hex', '623d320a613d310a633d330a');
  t.equal(r.code, 0, r.stdout);
  const b = r.json();
  t.same(b.result.values, [3]);
  t.equal(
    b64hex(b.result.output),
    '0c046104310462043204630433' + '2012960592cce51919247b62e02ea6753292e543c287c3d0348d4191501a6e92',
  );
  t.same(b.logs, [{ level: 'info', message: 'kv: 3 entries' }]);
  t.same(b.link, { mode: 'bridge', calls: 5, bytesCopied: 64 });
  t.equal(b.modules.library.bytes, readFileSync(EX('library.wasm')).length);
  t.ok(b.memory.modules.library, 'library memory reported');

  const lookup = (await run(EX('kv.wasm'), '--lib', EX('library.wasm'), '--entry', 'lookup', '--input-hex', hex('name\nname=alice\nage=30'))).json();
  t.equal(Buffer.from(lookup.result.output, 'base64').toString(), 'alice');
  t.same(lookup.result.values, [5]);
  const add = (await run(EX('kv.wasm'), '--lib', EX('library.wasm'), '--entry', 'add', '--args', '["9223372036854775807", "1"]')).json();
  t.same(add.result.values, ['-9223372036854775808']);
  const hl = (await run(EX('hello-lib.wasm'), '--lib', EX('library.wasm'), '--input-hex', hex('hi!'))).json();
  t.equal(Buffer.from(hl.result.output, 'base64').toString(), '686921');
  t.same(hl.link, { mode: 'bridge', calls: 1, bytesCopied: 9 });
});

t.test('--namespace and --ffi reach the linker', async (t) => {
  const lib = await tmp.wasm('lib.wasm', `(module (func (export "twice") (param i64) (result i64) local.get 0 local.get 0 i64.add))`);
  const con = await tmp.wasm(
    'con.wasm',
    `(module (import "mylib" "twice" (func $t (param i64) (result i64)))
       (func (export "main") (param i64) (result i64) local.get 0 call $t))`,
  );
  const ffi = tmp.file('ffi.txt', 'twice(i64) -> i64\n');
  const r = await run(con, '--lib', lib, '--namespace', 'mylib', '--ffi', ffi, '--args', '["21"]');
  t.equal(r.code, 0, r.stdout);
  t.same(r.json().result.values, ['42']);
  const wrongNs = await run(con, '--lib', lib, '--ffi', ffi, '--args', '["21"]');
  t.equal(wrongNs.code, 2);
  t.equal(wrongNs.json().error.kind, 'link_error');
  t.match(wrongNs.json().error.message, /mylib/);
  const badFfi = await run(con, '--lib', lib, '--namespace', 'mylib', '--ffi', tmp.file('bad.txt', 'twice(i32) -> i32\n'), '--args', '["21"]');
  t.equal(badFfi.code, 2);
  t.equal(badFfi.json().error.kind, 'link_error');
});

t.test('link_error, invalid_module, policy_violation: the 4xx body, exit 2', async (t) => {
  const noLib = await cliAsync('run', EX('kv.wasm'));
  t.equal(noLib.code, 2, 'the process exits 2');
  t.equal(noLib.json().error.kind, 'link_error');
  t.match(noLib.json().error.message, /lib\.map_/);
  t.same(Object.keys(noLib.json()), ['error']);

  const shared = await run(EX('kv.wasm'), '--lib', EX('library.wasm'), '--mode', 'shared');
  t.equal(shared.code, 2);
  t.equal(shared.json().error.kind, 'link_error');
  t.match(shared.json().error.message, /the contract has its own memory.*use link mode "bridge"/);

  const invalid = await run(tmp.file('junk.wasm', 'not wasm at all'));
  t.equal(invalid.code, 2);
  t.equal(invalid.json().error.kind, 'invalid_module');
  const invalidLib = await run(EX('kv.wasm'), '--lib', tmp.file('junk2.wasm', new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1])));
  t.equal(invalidLib.code, 2);
  t.equal(invalidLib.json().error.kind, 'invalid_module');

  const bigTable = await tmp.wasm('table.wasm', `(module (table 200000 funcref) (func (export "main") (result i32) i32.const 1))`);
  const policy = await run(bigTable);
  t.equal(policy.code, 2);
  t.equal(policy.json().error.kind, 'policy_violation');
  t.match(policy.json().error.message, /200000 elements/);
});

t.test('bad arguments: bad_request naming the problem, exit 2', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [[EX('hello.wasm'), '--bogus'], /Unknown option '--bogus'/],
    [[EX('hello.wasm'), '--input', 'world'], /Unknown option '--input': did you mean --input-hex or --input-file\?/],
    [[EX('hello.wasm'), '--args', '[1,'], /--args is not valid JSON/],
    [[EX('hello.wasm'), '--input-hex', '00', '--input-file', EX('hello.wasm')], /not both/],
    [[EX('hello.wasm'), '--input-hex', 'xyz'], /--input-hex/],
    [['no/such/contract.wasm'], /cannot read CONTRACT `no\/such\/contract\.wasm`: no such file/],
    [[EX('kv.wasm'), '--lib', 'missing-lib.wasm'], /cannot read --lib `missing-lib\.wasm`/],
    [[EX('hello.wasm'), '--input-file', 'missing-input.bin'], /cannot read --input-file `missing-input\.bin`/],
    [[EX('hello.wasm'), '--fuel', '10000000001'], /ceiling of 10000000000/],
    [[EX('hello.wasm'), '--timeout-ms', '2.5'], /--timeout-ms must be a non-negative integer/],
    [[EX('hello.wasm'), '--entry', 'nope'], /exports no function `nope`/],
    [[EX('hello.wasm'), '--args', '[1]'], /takes 0 argument/],
  ];
  const answers = await Promise.all(cases.map(([args]) => run(...args)));
  for (const [i, [args, re]] of cases.entries()) {
    const r = answers[i]!;
    t.equal(r.code, 2, args.join(' '));
    const b = r.json();
    t.equal(b.error.kind, 'bad_request', args.join(' '));
    t.match(b.error.message, re, args.join(' '));
  }
});

t.test('--mode shared and --stacks: the shared-mode examples, the same answer as bridge', async (t) => {
  const input = hex('b=2\na=1\nc=3\n');
  const bridge = (await run(EX('kv.wasm'), '--lib', EX('library.wasm'), '--input-hex', input)).json();
  for (const stacks of [[], ['--stacks', 'two'], ['--stacks', 'one']]) {
    const r = await run(EX('kv-shared.wasm'), '--lib', EX('library-shared.wasm'), '--mode', 'shared', ...stacks, '--input-hex', input);
    t.equal(r.code, 0, r.stderr);
    const b = r.json();
    t.same(b.result, bridge.result, `${stacks.join(' ') || 'default'}: the same result as bridge`);
    t.same(b.link, { mode: 'shared', calls: 0, bytesCopied: 0, stacks: stacks[1] ?? 'two' });
  }
  const overflow = await run(EX('kv-shared.wasm'), '--lib', EX('library-shared.wasm'), '--mode', 'shared', '--entry', 'deep', '--args', '[3000]');
  t.equal(overflow.code, 1, 'an outcome that is not ok');
  t.equal(overflow.json().error.kind, 'stack_overflow');
  const collide = await run(EX('kv-shared.wasm'), '--lib', EX('library.wasm'), '--mode', 'shared');
  t.equal(collide.code, 2);
  t.match(collide.json().error.message, /library data \[0x100000, 0x10063c\) overlaps contract data \[0x100000, 0x10004c\)/);
  const bad = await run(EX('kv.wasm'), '--lib', EX('library.wasm'), '--stacks', 'one');
  t.equal(bad.code, 2);
  t.match(bad.json().error.message, /--stacks applies to --mode shared only/);
});

t.test('the Iroha profile: --iroha-context-hex, --iroha-responses, --iroha-callback', async (t) => {
  const I = await import('../support/iroha.js');
  const FIX = (n: string) => `${I.IROHA_FIXTURES}/${n}.wasm`;
  const alice = I.aliceAccount();
  const block2 = I.blockHeader({ height: 2, prevBlockHash: I.irohaHash(0x21), transactionsHash: I.irohaHash(0x22), creationTimeMs: 1_700_000_001_000, viewChangeIndex: 0 });
  const ctx = I.triggerContext({ id: 'mint_rose', authority: alice, block: block2, event: I.executeTriggerEvent({ triggerId: 'mint_rose', authority: alice, args: '{"val":3}' }) });
  const r = await run(FIX('mint_rose_trigger'), '--iroha-context-hex', I.toHex(ctx));
  t.equal(r.code, 0, r.stderr);
  const b = r.json();
  t.equal(b.iroha.instructions.length, 1, 'one Mint recorded');
  t.equal(b.fuel.consumed, 26109, 'the fuel real wasmtime counts (test/engine/iroha.test.ts)');

  const answers = tmp.file('answers.json', JSON.stringify([I.toHex(I.emptyIterable('Account')), I.toHex(I.emptyIterable('Role'))]));
  const m = await run(FIX('default_executor'), '--entry', '_iroha_executor_migrate', '--iroha-context-hex', I.toHex(I.executorContext(alice, I.genesisBlock())), '--iroha-responses', answers);
  t.equal(m.code, 0, m.stderr);
  t.equal(m.json().iroha.queries.length, 2);
  t.type(m.json().iroha.dataModel, 'string');

  const dead = await run(FIX('mint_rose_trigger'), '--iroha-context-hex', I.toHex(ctx), '--iroha-callback', 'http://127.0.0.1:1/peer');
  t.equal(dead.code, 1, 'an outcome that is not ok');
  t.equal(dead.json().error.kind, 'host_error');
  const badFile = await run(FIX('default_executor'), '--entry', '_iroha_executor_migrate', '--iroha-context-hex', '00', '--iroha-responses', tmp.file('bad.json', '{"a":1}'));
  t.equal(badFile.code, 2);
  t.match(badFile.json().error.message, /--iroha-responses must be a JSON array of hex strings/);
});

t.test('batch FILE.json: several runs, answered as POST /execute/batch answers', async (t) => {
  const calls = [
    [EX('kv.wasm'), '--lib', EX('library.wasm'), '--input-hex', hex('b=2\na=1\n')],
    [EX('hello.wasm'), '--input-hex', hex('x')],
    [EX('kv.wasm')],
    ['nope.wasm'],
    [EX('hello.wasm'), '--fuel', '10'],
  ];
  const r = await cliAsync('batch', tmp.file('batch.json', JSON.stringify(calls)));
  t.equal(r.code, 1, 'some call not ok');
  const { results } = r.json();
  t.equal(results.length, calls.length);
  for (const [i, c] of calls.entries()) {
    const single = await run(...c);
    const one = single.json();
    if (single.code === 2) t.same(results[i], { status: results[i].status, error: one.error }, `call ${i}: the same refusal`);
    else t.same({ ...results[i], timings: 0 }, { ...one, timings: 0 }, `call ${i}: the same body as run`);
  }
  t.same(results.map((x: any) => x.status ?? (x.ok ? 'ok' : x.error.kind)), ['ok', 'ok', 422, 400, 'out_of_fuel']);
  const allOk = await cliAsync('batch', tmp.file('ok.json', JSON.stringify([[EX('hello.wasm')], [EX('hello.wasm')]])));
  t.equal(allOk.code, 0);
  const bad = await cliAsync('batch', tmp.file('bad.json', '{"calls": []}'));
  t.equal(bad.code, 2);
  t.match(bad.json().error.message, /a JSON array of 1 to 10000 `run` argument lists/);
});
