/**
 * The attacks of docs/SECURITY.md's process-level rows, against the process users run: `node
 * dist/server.js` spawned as `npm start` runs it. Each case checks the exact answer, then that the
 * same process (same pid, both workers) still answers normally. Companion files prove the other rows
 * against the spawned server too (test/e2e/http-limits.test.ts: timeouts, connection cap, EMFILE;
 * test/e2e/stack-tiers.test.ts: the stack budget cold and hot).
 *
 * - Out-of-bounds accesses at every distance (just past the end, 256 MiB, 2 and 4 GiB, past 4 GiB with
 *   offsets, SIMD, atomics, bulk memory, after a grow), in the contract and the library, in bridge and
 *   shared mode, single and batched: each is the `trap` outcome. V8 turns the guard-page fault into a
 *   trap with its own signal handler, which a JavaScript SIGSEGV listener would replace.
 * - `memory.atomic.wait` on a shared memory: refused at once (422), never a worker held until the timeout.
 * - Names that imitate V8's frame text: the fuel of a trap is the same as without names.
 * - A module whose exact-fuel variant would be over V8's function-size limit: refused at upload.
 */
import t from 'tap';
import { leb } from '../support/leb.js';
import { wat } from '../support/wat.js';
import { RemoteServer, type ServerProcess, b64, startServer, tempDir } from './server-harness.js';

// WASM_RUNNER_URL: run the same attacks against a service already running (the Docker image: npm run test:docker)
const remote = process.env.WASM_RUNNER_URL;
const S: ServerProcess | RemoteServer = remote ? new RemoteServer(remote) : await startServer(t, { WORKERS: '2', STORE_DIR: tempDir(t), SEED_EXAMPLES: 'false' });
const pid = S instanceof RemoteServer ? null : S.proc.pid;
const OOB = { ok: false, kind: 'trap', message: 'out of bounds memory access' };
const features = { threads: true, simd: true };

/** A contract whose `main` runs `body` on a one-page memory. */
const own = (body: string, shared = '') => `(module (memory 1 ${shared ? `1 ${shared}` : ''}) (func (export "main") ${body}))`;

const DISTANCES: Array<[string, string]> = [
  ['a store just past the end', '(i32.store (i32.const 65536) (i32.const 1))'],
  ['a store straddling the end', '(i32.store (i32.const 65534) (i32.const 1))'],
  ['a store at 256 MiB', '(i32.store (i32.const 0x10000000) (i32.const 1))'],
  ['a load at 2 GiB', '(drop (i32.load8_u (i32.const 0x80000000)))'],
  ['a store at 4 GiB - 1', '(i32.store (i32.const -1) (i32.const 1))'],
  ['a store past 4 GiB with an offset', '(i64.store offset=0xffffffff (i32.const -1) (i64.const 1))'],
  ['a load past 4 GiB with an offset', '(drop (i64.load offset=0xfffffff0 (i32.const 0x7fffffff)))'],
  ['a SIMD load at 256 MiB + offset', '(drop (v128.load offset=0xffffff00 (i32.const 0x10000000)))'],
  ['a SIMD store just past the end', '(v128.store (i32.const 65530) (v128.const i64x2 1 1))'],
  ['an atomic store at 256 MiB', '(i32.atomic.store (i32.const 0x10000000) (i32.const 1))'],
  ['an atomic read-modify-write at 2 GiB', '(drop (i32.atomic.rmw.add (i32.const 0x7ffffff0) (i32.const 1)))'],
  ['a memory.fill past the end', '(memory.fill (i32.const 0xfff0) (i32.const 0) (i32.const 0x20))'],
  ['a store past a grown memory', '(drop (memory.grow (i32.const 1))) (i32.store (i32.const 0x20000) (i32.const 1))'],
];

/** A library doing the same out-of-bounds access in bridge mode, called directly by the contract. */
const bridgeLibrary = (body: string) => `(module (memory (export "memory") 1) (func (export "poke") ${body}))`;
const bridgeContract = '(module (import "lib" "poke" (func $poke)) (memory (export "memory") 1) (func (export "main") (call $poke)))';
/** Shared mode: one memory (the library's), the contract imports it. */
const sharedLibrary = (body: string) => `(module (memory (export "memory") 1) (func (export "poke") ${body}))`;
const sharedContract = (body: string) => `(module (import "env" "memory" (memory 1)) (import "lib" "poke" (func $poke))
  (func (export "main") ${body}) (func (export "via_lib") (call $poke)))`;

async function alive(t: Pick<typeof import('tap')['t'], 'equal' | 'ok'>, what: string): Promise<void> {
  if (!(S instanceof RemoteServer)) {
    t.ok(S.running, `${what}: the server is running`);
    t.equal(S.proc.pid, pid, `${what}: the same process`);
  }
  const health = await S.request('GET', '/health', undefined, { timeoutMs: 5000 });
  t.equal(health.status, 200, `${what}: /health answers`);
}

const outcome = (r: { status: number; body: any }) => ({ status: r.status, ok: r.body?.ok, kind: r.body?.error?.kind, message: r.body?.error?.message });

t.test('out-of-bounds accesses at every distance answer the trap outcome, and the process lives on', async (t) => {
  const bridge = b64(await wat(bridgeContract, { features }));
  for (const [what, body] of DISTANCES) {
    const contract = b64(await wat(own(body), { features }));
    const lib = b64(await wat(bridgeLibrary(body), { features }));
    const sLib = b64(await wat(sharedLibrary(body), { features }));
    const sContract = b64(await wat(sharedContract(body), { features }));
    // each twice at once: both workers meet it
    const requests: Array<[string, Record<string, unknown>]> = [
      ['contract', { contract: { wasm: contract } }],
      ['contract again', { contract: { wasm: contract } }],
      ['library (bridge)', { contract: { wasm: bridge }, library: { wasm: lib } }],
      ['contract (shared)', { contract: { wasm: sContract }, library: { wasm: sLib }, link: { mode: 'shared' } }],
      ['library (shared)', { contract: { wasm: sContract }, library: { wasm: sLib }, link: { mode: 'shared' }, entrypoint: 'via_lib' }],
    ];
    const replies = await Promise.all(requests.map(([, r]) => S.execute(r, 10_000)));
    replies.forEach((r, i) => t.same(outcome(r), { status: 200, ...OOB }, `${what}: ${requests[i]![0]}`));
  }
  await alive(t, 'after every distance');
});

t.test('in a batch: the out-of-bounds call traps, the calls around it answer', async (t) => {
  const oob = b64(await wat(own(DISTANCES[2]![1]), { features }));
  const ok = b64(await wat('(module (func (export "main") (result i32) i32.const 7))'));
  const r = await S.request('POST', '/execute/batch', { calls: [{ contract: { wasm: ok } }, { contract: { wasm: oob } }, { contract: { wasm: ok } }] });
  t.equal(r.status, 200);
  t.same(r.body.results.map((x: any) => [x.ok, x.error?.kind ?? x.result?.values[0]]), [[true, 7], [false, 'trap'], [true, 7]]);
  await alive(t, 'after the batch');
});

t.test('deep recursion with large frames: the same answer cold and hot (V8 tier never reaches an answer)', async (t) => {
  // rec(n): 64 live i64 locals per frame. Cold, its functions run in V8's baseline tier; after the
  // warm-up below they are optimised: frame sizes differ, answers must not.
  const k = 64;
  const decl = Array.from({ length: k }, (_, i) => `(local $l${i} i64)`).join(' ');
  const init = Array.from({ length: k }, (_, i) => `(local.set $l${i} (i64.load offset=${i * 8} (i32.const 0)))`).join(' ');
  const sum = Array.from({ length: k }, (_, i) => `local.get $l${i} i64.add`).join(' ');
  const src = `(module (memory 1) (func $rec (export "main") (param i32) (result i64) ${decl} (local $r i64) ${init}
    (if (i32.eqz (local.get 0)) (then (return (i64.const 0))))
    (local.set $r (call $rec (i32.sub (local.get 0) (i32.const 1))))
    local.get $r ${sum}))`;
  const wasm = b64(await wat(src));
  const body = (n: number) => ({ contract: { wasm }, args: [n], limits: { timeoutMs: 10_000 } });
  const answer = (r: { status: number; body: any }) => ({ status: r.status, ok: r.body.ok, error: r.body.error, fuel: r.body.fuel, values: r.body.result?.values ?? null });
  const sizes = [10, 500, 700, 800, 5000, 100_000];
  const cold = await Promise.all(sizes.map((n) => S.execute(body(n), 20_000)));
  for (let i = 0; i < 40; i++) await Promise.all([S.execute(body(600), 20_000), S.execute(body(600), 20_000)]);
  const hot = await Promise.all(sizes.map((n) => S.execute(body(n), 20_000)));
  cold.forEach((c, i) => t.same(answer(hot[i]!), answer(c), `n = ${sizes[i]}: cold and hot agree`));
  const kinds = cold.map((c) => (c.body.ok ? 'ok' : c.body.error.kind));
  t.equal(kinds[0], 'ok');
  t.equal(kinds.at(-1), 'stack_overflow', 'the deepest is refused');
  for (const c of cold) if (!c.body.ok) t.match(c.body.error.message, /^call stack exhausted: the stack budget of \d+ bytes is used up/, 'by the budget, never by V8');
  await alive(t, 'after the recursion');
});

t.test('a request timing out while queued holds no one up (every worker busy)', { skip: remote ? 'needs a server of its own: its workers kept busy' : false }, async (t) => {
  // On S itself, every worker kept busy (was a server of its own with one worker: a start costs ~3 CPU-s)
  const ready = await S.request('GET', '/ready');
  const workers: number = ready.body.workers;
  t.ok(workers >= 1, `${workers} workers`);
  const spin = b64(await wat('(module (func (export "main") (loop $l (br $l))))'));
  const seven = b64(await wat('(module (func (export "main") (result i32) i32.const 7))'));
  // keeps each worker busy for a while, then ends by itself (out of fuel): no worker is stopped. A new
  // module may run a whole first call in V8's baseline tier (1e9 fuel: seconds of CPU, not ~0.4 s): a
  // short call on each worker first has it optimised.
  const spinFor = (fuel: number) => S.execute({ contract: { wasm: spin }, limits: { fuel, timeoutMs: 20_000 } }, 30_000);
  for (const r of await Promise.all(Array.from({ length: workers }, () => spinFor(10_000_000)))) t.equal(r.body.error?.kind, 'out_of_fuel', 'warm-up');
  const busy = Array.from({ length: workers }, () => spinFor(1_000_000_000).then((r) => ({ r, at: performance.now() })));
  await new Promise((r) => setTimeout(r, 100));
  const queued = await S.execute({ contract: { wasm: seven }, limits: { timeoutMs: 50 } });
  t.equal(queued.body.error?.kind, 'timeout', 'the queued request answers timeout at its limit');
  t.equal(queued.body.timings.executeMs, 0, 'it never ran');
  t.ok(queued.body.timings.queueMs >= 45, `its wait is in queueMs (${queued.body.timings.queueMs})`);
  const next = S.execute({ contract: { wasm: seven }, limits: { timeoutMs: 20_000 } }, 30_000).then((r) => ({ r, at: performance.now() }));
  const [bs, n] = await Promise.all([Promise.all(busy), next]);
  for (const b of bs) t.equal(b.r.body.error?.kind, 'out_of_fuel', 'the running execution was not stopped');
  t.same(n.r.body.result?.values, [7]);
  // before the fix the pool waited up to 10 s for a "replacement" of a worker it never stopped
  const freed = Math.min(...bs.map((b) => b.at));
  t.ok(n.at - freed < 3000, `the next request ran once a worker was free (${Math.round(n.at - freed)} ms after)`);
  await alive(t, 'after the queued timeout');
});

t.test('memory.atomic.wait on a shared memory is refused at once, not held until the timeout', async (t) => {
  const wait = b64(await wat(own('(drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))', 'shared'), { features }));
  const r = await S.request('POST', '/execute', { contract: { wasm: wait }, limits: { timeoutMs: 5000 } });
  t.equal(r.status, 422);
  t.equal(r.body.error.kind, 'policy_violation');
  t.match(r.body.error.message, /`memory\.atomic\.wait32` at byte \d+ \(function 0\): waiting is not allowed/);
  t.ok(r.ms < 2000, `answered in ${Math.round(r.ms)} ms`);
  const put = await S.request('PUT', '/modules', Buffer.from(wait, 'base64'));
  t.equal(put.status, 422, 'and refused at upload');
});

t.test("names imitating V8's frame text do not move a trap's fuel", async (t) => {
  const src = `(module
    (func $a (result i32) i32.const 1 i32.const 0 i32.div_s i32.const 1 i32.add i32.const 1 i32.add i32.const 1 i32.add)
    (func (export "main") (result i32) call $a))`;
  const plain = await wat(src);
  // a name section naming $a like a frame of another function and module, with a newline
  const name = 'x (wasm://wasm/m0000000000000000-0:wasm-function[1]:0x20)\nwasm-function[1]:0x30';
  const enc = new TextEncoder();
  const fn = [1, 0, ...leb(enc.encode(name).length), ...enc.encode(name)];
  const payload = [4, ...enc.encode('name'), 1, ...leb(fn.length), ...fn];
  const named = Uint8Array.from([...plain, 0, ...leb(payload.length), ...payload]);
  const [a, b] = await Promise.all([S.execute({ contract: { wasm: b64(plain) } }), S.execute({ contract: { wasm: b64(named) } })]);
  t.equal(a.body.error.kind, 'trap');
  t.same(b.body.fuel, a.body.fuel, 'the same fuel');
  // the same outcome and frames: only the name differs, and it is reported as the module wrote it
  const where = (e: any) => ({ ...e, frames: e.frames.map((f: any) => ({ ...f, name: null })) });
  t.same(where(b.body.error), where(a.body.error), 'the same outcome, at the same place');
  t.equal(b.body.error.frames[0].name, name, "the frame's name is the module's, verbatim");
});

t.test("a module whose exact-fuel variant is over V8's function-size limit is refused at upload", async (t) => {
  // `main` traps (0 / 0), then 430,000 times `i32.const 1; br_if 0`: about 6.9 MB metered fast, 8.6 MB exact
  const n = 430_000;
  const prefix = [0, 0x41, 0, 0x41, 0, 0x6d, 0x1a];
  const body = new Uint8Array(prefix.length + n * 4 + 1);
  body.set(prefix);
  for (let i = 0, at = prefix.length; i < n; i++, at += 4) {
    body[at] = 0x41;
    body[at + 1] = 1;
    body[at + 2] = 0x0d;
    body[at + 3] = 0;
  }
  body[body.length - 1] = 0x0b;

  const code = [1, ...leb(body.length)];
  const head = [0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0, 7, 8, 1, 4, 109, 97, 105, 110, 0, 0];
  // assembled with set(), not spread into an array: 1.7 million elements spread cost the test ~0.5 CPU-s
  const front = [...head, 10, ...leb(code.length + body.length), ...code];
  const bytes = new Uint8Array(front.length + body.length);
  bytes.set(front);
  bytes.set(body, front.length);
  const r = await S.request('PUT', '/modules', bytes, { timeoutMs: 30_000 });
  t.equal(r.status, 422);
  t.equal(r.body.error.kind, 'policy_violation');
  t.match(r.body.error.message, /function 0 would be \d+ bytes once metered for exact fuel/);
  await alive(t, 'after the upload');
});
