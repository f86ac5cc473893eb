/**
 * End to end over a real listening server: `node dist/server.js` as a child process on 127.0.0.1,
 * driven with the global fetch. Status codes and bodies of docs/API.md over the wire, the seeded examples
 * by hash, determinism under 64 parallel requests, a timeout followed by normal service, the execution
 * log lines (and no module or input bytes in the logs), persistence of the module store across a
 * restart, and SIGTERM with requests in flight.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Value } from '@sinclair/typebox/value';
import { ErrorResponse, ExecuteResponse, ModuleInfoResponse, ReadyResponse } from '../../src/http/schemas.js';
import { wat } from '../support/wat.js';
import {
  LOOP_WAT,
  type Reply,
  ROOT,
  type ServerProcess,
  b64,
  deadline,
  example,
  hexOfB64,
  loopFuel,
  loopValue,
  sha256,
  startServer,
  tempDir,
  tryConnect,
  waitFor,
} from './server-harness.js';

/** The assertions the helpers use (the root `t` and subtests alike). */
type T = Pick<typeof t, 'ok' | 'equal' | 'same' | 'match' | 'type'>;

const kv = example('kv');
const library = example('library');
const hello = example('hello');
const helloLib = example('hello-lib');
const compute = example('compute');
const fib = example('fib');
const panic = example('panic');
const oom = example('oom');

const loopWasm = await wat(LOOP_WAT);
const loopB64 = b64(loopWasm);
const infiniteB64 = b64(await wat('(module (func (export "main") (loop $l (br $l))))'));
const divZeroB64 = b64(await wat('(module (func (export "main") (result i32) (i32.div_s (i32.const 1) (i32.const 0))))'));
/** Not an example: stored with PUT /modules, expected to survive a restart. */
const persistedWasm = await wat(`(module
  (import "host" "output" (func $output (param i32 i32)))
  (memory (export "memory") 2)
  (data (i32.const 16) "persisted!")
  (func (export "main") (result i32) (call $output (i32.const 16) (i32.const 10)) (i32.const 7))
  (func (export "triple") (param i64) (result i64) (i64.mul (local.get 0) (i64.const 3))))`);
const persistedHash = sha256(persistedWasm);

/** Every base64 text sent to server A (inline modules, inputs): none may appear in its logs. */
const sentBase64 = new Set<string>([loopB64, infiniteB64, divZeroB64]);
const KV_INPUT = 'b=2\na=1\nc=3\n';
const KV_ENCODING = '0c046104310462043204630433';
const KV_OUTPUT = KV_ENCODING + '2012960592cce51919247b62e02ea6753292e543c287c3d0348d4191501a6e92';

/** Room for the SIGTERM cases' long loops (calibrated: up to 26e9 fuel); 1e11 stays over it (the 400 case). */
const FUEL_MAX = '50000000000';
const storeDir = tempDir(t);
const A = await startServer(t, { WORKERS: '2', STORE_DIR: storeDir, FUEL_MAX });

/** POST /execute replies of server A, for the log checks. */
const executeReplies: Reply[] = [];
async function execA(req: Record<string, unknown>, timeoutMs?: number): Promise<Reply> {
  if (typeof req.input === 'string') sentBase64.add(req.input);
  const r = await A.execute(req, timeoutMs);
  executeReplies.push(r);
  return r;
}

/** A 200 body: the schema of docs/API.md and its invariants. */
function checkExecBody(t: T, r: Reply, ok: boolean): void {
  t.equal(r.status, 200, 'status 200');
  t.match(r.headers.get('content-type') ?? '', /^application\/json/, 'JSON');
  t.ok(Value.Check(ExecuteResponse, r.body), `body matches the ExecuteResponse schema: ${[...Value.Errors(ExecuteResponse, r.body)].map((e) => `${e.path} ${e.message}`).slice(0, 3).join('; ')}`);
  const b = r.body;
  t.equal(b.ok, ok, `ok is ${ok}`);
  if (ok) {
    t.equal(b.error, null, 'no error');
    t.type(b.result, 'object', 'a result');
  } else {
    t.equal(b.result, null, 'no result on a failed outcome');
    t.type(b.error?.message, 'string', 'an error message');
    t.ok(b.error?.message.length > 0, 'a non-empty error message');
  }
  t.equal(b.fuel.remaining, b.fuel.limit - b.fuel.consumed, 'fuel.remaining = limit - consumed');
  t.ok(b.fuel.consumed >= 0 && b.fuel.consumed <= b.fuel.limit, 'consumed within the limit');
  t.ok(b.memory.peakBytes <= b.memory.limitBytes, 'peak memory within the limit');
  t.match(r.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/, 'a request id header');
}

/** A non-200 body: exactly { error: { kind, message } }. */
function checkError(t: T, r: Reply, status: number, kind: string): void {
  t.equal(r.status, status, `status ${status}`);
  t.match(r.headers.get('content-type') ?? '', /^application\/json/, 'JSON');
  t.ok(Value.Check(ErrorResponse, r.body), `body is an ErrorResponse: ${r.text.slice(0, 200)}`);
  t.same(Object.keys(r.body ?? {}), ['error'], 'only `error`');
  t.same(Object.keys(r.body?.error ?? {}).sort(), ['kind', 'message'], 'error has kind and message');
  t.equal(r.body?.error?.kind, kind, `kind ${kind}`);
  t.ok(typeof r.body?.error?.message === 'string' && r.body.error.message.length > 0, 'a message');
}


t.test('health and readiness', async (t) => {
  const health = await A.request('GET', '/health');
  t.equal(health.status, 200);
  t.same(health.body, { status: 'ok' });
  const ready = await A.request('GET', '/ready');
  t.equal(ready.status, 200);
  t.ok(Value.Check(ReadyResponse, ready.body));
  t.same(ready.body, { status: 'ready', workers: 2, pool: true, store: true });
});

t.test('200 with every outcome kind, over the wire', async (t) => {
  const okRun = await execA({ contract: { wasm: loopB64 }, args: [1000] });
  checkExecBody(t, okRun, true);
  t.same(okRun.body.result, { values: [loopValue(1000)], output: '' });
  t.same(okRun.body.fuel, { limit: 55_000_000, consumed: loopFuel(1000), remaining: 55_000_000 - loopFuel(1000) }, 'exact fuel, default limit');
  t.same(okRun.body.modules, { contract: { hash: sha256(loopWasm), bytes: loopWasm.length } });

  const fuel = await execA({ contract: { wasm: loopB64 }, args: [1000], limits: { fuel: 100 } });
  checkExecBody(t, fuel, false);
  t.equal(fuel.body.error.kind, 'out_of_fuel');
  t.same(fuel.body.fuel, { limit: 100, consumed: 100, remaining: 0 }, 'consumed == limit');

  const mem = await execA({ contract: { hash: oom.hash }, limits: { memoryBytes: 18 * 65536 } });
  checkExecBody(t, mem, false);
  t.equal(mem.body.error.kind, 'memory_limit');
  t.equal(mem.body.memory.limitBytes, 18 * 65536);
  t.equal(mem.body.memory.peakBytes, 18 * 65536, 'memory is exactly at the cap at the trap');

  const stack = await execA({ contract: { hash: fib.hash }, entrypoint: 'depth', args: [100_000] });
  checkExecBody(t, stack, false);
  t.equal(stack.body.error.kind, 'stack_overflow');

  const trap = await execA({ contract: { wasm: divZeroB64 } });
  checkExecBody(t, trap, false);
  t.equal(trap.body.error.kind, 'trap');
  t.match(trap.body.error.message, /integer divide by zero/);
  t.equal(trap.body.fuel.consumed, 4, 'entry + 3 operators, the trapping one included');

  const pan = await execA({ contract: { hash: panic.hash }, input: b64('alice') });
  checkExecBody(t, pan, false);
  t.has(pan.body.error, { kind: 'panic', message: 'contract refused: alice' });
  // timeout: its own test below
});

t.test('4xx: 400, 404, 413, 415, 422 and an unknown route, each with the error body', async (t) => {
  // 400
  checkError(t, await execA({ contract: { wasm: loopB64 } }), 400, 'bad_request'); // no args for main(i32)
  checkError(t, await execA({ contract: { wasm: loopB64 }, args: ['x'] }), 400, 'bad_request');
  checkError(t, await execA({ contract: { wasm: loopB64 }, args: [1], input: 'a=b$' }), 400, 'bad_request');
  checkError(t, await execA({ contract: { wasm: '@@not base64@@' } }), 400, 'bad_request');
  checkError(t, await execA({ contrac: { hash: kv.hash } }), 400, 'bad_request');
  checkError(t, await execA({ contract: { wasm: loopB64 }, args: [1], limits: { fuel: 100_000_000_000 } }), 400, 'bad_request');
  checkError(t, await A.request('POST', '/execute', '{"contract":'), 400, 'bad_request');
  checkError(t, await A.request('GET', '/modules/not-a-hash'), 400, 'bad_request');
  checkError(t, await A.request('PUT', '/modules', new Uint8Array(0)), 400, 'bad_request');

  // 404
  const unknown = 'ab'.repeat(32);
  const nf = await execA({ contract: { hash: unknown } });
  checkError(t, nf, 404, 'not_found');
  t.match(nf.body.error.message, unknown, 'names the hash');
  checkError(t, await execA({ contract: { hash: kv.hash }, library: { hash: unknown } }), 404, 'not_found');
  checkError(t, await A.request('GET', `/modules/${unknown}`), 404, 'not_found');
  checkError(t, await A.request('GET', '/no/such/route'), 404, 'not_found');
  checkError(t, await A.request('DELETE', '/execute'), 405, 'method_not_allowed');

  // 413: a module over the policy size (inline), a PUT body over it, a request body over BODY_LIMIT_BYTES
  const big = await execA({ contract: { wasm: b64(new Uint8Array(4 * 1024 * 1024 + 1)) } });
  checkError(t, big, 413, 'too_large');
  t.match(big.body.error.message, /4194304/, 'names the limit');
  const bigPut = await A.upload('PUT', '/modules', new Uint8Array(4 * 1024 * 1024 + 1), 'application/wasm', { bodyAfterMs: 2000 });
  checkError(t, bigPut, 413, 'too_large');
  t.ok(bigPut.ms < 2000, 'refused from its Content-Length, before the body is sent');
  const bigBody = await A.upload('POST', '/execute', JSON.stringify({ contract: { wasm: 'A'.repeat(13 * 1024 * 1024) } }), 'application/json', { bodyAfterMs: 2000 });
  checkError(t, bigBody, 413, 'too_large');
  t.ok(bigBody.ms < 2000, 'refused from its Content-Length, before the body is sent');
  t.match(bigBody.body.error.message, /\d{4,}/, 'the message names the body limit in bytes');

  // 415
  checkError(t, await A.request('PUT', '/modules', 'hello', { contentType: 'text/plain' }), 415, 'unsupported_media_type');

  // 422: not wasm, a link error, a policy violation
  const notWasm = b64('this is not a wasm module');
  sentBase64.add(notWasm);
  const inv = await execA({ contract: { wasm: notWasm } });
  checkError(t, inv, 422, 'invalid_module');
  const missingImport = b64(await wat('(module (import "lib" "nothing" (func)) (func (export "main")))'));
  sentBase64.add(missingImport);
  const link = await execA({ contract: { wasm: missingImport }, library: { hash: library.hash } });
  checkError(t, link, 422, 'link_error');
  t.match(link.body.error.message, /nothing/, 'names the missing function');
  const bigTable = b64(await wat('(module (table 100001 funcref) (func (export "main")))'));
  sentBase64.add(bigTable);
  const pol = await execA({ contract: { wasm: bigTable } });
  checkError(t, pol, 422, 'policy_violation');
  checkError(t, await A.request('PUT', '/modules', new TextEncoder().encode('\0asm but not really')), 422, 'invalid_module');
});

t.test('the seeded examples, executed by hash (examples/README.md)', async (t) => {
  const main = await execA({ contract: { hash: kv.hash }, library: { hash: library.hash }, input: b64(KV_INPUT) });
  checkExecBody(t, main, true);
  t.same(main.body.result.values, [3]);
  t.equal(hexOfB64(main.body.result.output), KV_OUTPUT, 'encoding + documented sha256');
  const enc = Buffer.from(KV_ENCODING, 'hex');
  t.equal(hexOfB64(main.body.result.output), KV_ENCODING + createHash('sha256').update(enc).digest('hex'), 'the hash is the sha256 of the encoding');
  t.same(main.body.logs, [{ level: 'info', message: 'kv: 3 entries' }]);
  t.same(main.body.link, { mode: 'bridge', calls: 5, bytesCopied: 64 });
  t.same(main.body.modules, { contract: { hash: kv.hash, bytes: kv.bytes.length }, library: { hash: library.hash, bytes: library.bytes.length } });
  t.same(main.body.memory.modules, { contract: { initialBytes: 17 * 65536, peakBytes: 17 * 65536 }, library: { initialBytes: 17 * 65536, peakBytes: 17 * 65536 } });

  const empty = await execA({ contract: { hash: kv.hash }, library: { hash: library.hash } });
  checkExecBody(t, empty, true);
  t.equal(hexOfB64(empty.body.result.output), '00' + '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
  t.same(empty.body.result.values, [0]);

  const lookup = await execA({ contract: { hash: kv.hash }, library: { hash: library.hash }, entrypoint: 'lookup', input: b64('name\nname=alice\nage=30') });
  t.same(lookup.body.result, { values: [5], output: b64('alice') });
  const add = await execA({ contract: { hash: kv.hash }, library: { hash: library.hash }, entrypoint: 'add', args: ['40', '2'] });
  t.same(add.body.result.values, ['42'], 'i64 results are decimal strings');
  const wrap = await execA({ contract: { hash: kv.hash }, library: { hash: library.hash }, entrypoint: 'add', args: ['9223372036854775807', '1'] });
  t.same(wrap.body.result.values, ['-9223372036854775808']);

  const hi = await execA({ contract: { hash: hello.hash }, input: b64('world') });
  checkExecBody(t, hi, true);
  t.same(hi.body.result, { values: [5], output: b64('hello, world') });
  t.same(hi.body.logs, [{ level: 'info', message: 'hello called' }]);
  t.equal(hi.body.memory.modules.library, undefined, 'no library');

  const hexed = await execA({ contract: { hash: helloLib.hash }, library: { hash: library.hash }, input: b64('hi!') });
  t.same(hexed.body.result, { values: [3], output: b64('686921') });
  t.same(hexed.body.link, { mode: 'bridge', calls: 1, bytesCopied: 9 });

  const sha = await execA({ contract: { hash: compute.hash }, entrypoint: 'sha_loop', args: [1000] });
  t.same(sha.body.result?.values, [1388011755]);
  const sort = await execA({ contract: { hash: compute.hash }, entrypoint: 'sort', args: [1000] });
  t.same(sort.body.result?.values, [1711063396]);
  const f20 = await execA({ contract: { hash: fib.hash }, entrypoint: 'fib', args: [20] });
  t.same(f20.body.result?.values, ['6765']);

  const info = await A.request('GET', `/modules/${library.hash}`);
  t.equal(info.status, 200);
  t.ok(Value.Check(ModuleInfoResponse, info.body), 'a ModuleInfo');
  t.equal(info.body.hash, library.hash);
  t.equal(info.body.bytes, library.bytes.length);
  t.equal(info.body.memoryPages, 17);
  t.equal(info.body.ffi, readFileSync(join(ROOT, 'examples/library/ffi.txt'), 'utf8'), 'the ffi section, verbatim');
  t.same(info.body.imports, []);
  t.same(info.body.exports.find((e: any) => e.name === 'map_get'), { name: 'map_get', kind: 'func', type: '(i32, i32, i32) -> (i64)' });
  t.same(info.body.exports.find((e: any) => e.name === 'map_new'), { name: 'map_new', kind: 'func', type: '() -> (i32)' });
});

t.test('64 parallel executions: identical results and exactly identical fuel', async (t) => {
  const secret = randomBytes(24).toString('hex');
  const input = b64(`${KV_INPUT}secret=${secret}\n`);
  const req = { contract: { hash: kv.hash }, library: { hash: library.hash }, input };
  const single = await execA(req);
  checkExecBody(t, single, true);
  t.same(single.body.result.values, [4]);
  const all = await deadline(Promise.all(Array.from({ length: 64 }, () => execA(req, 20_000))), 25_000, '64 parallel requests');
  t.same(all.map((r) => r.status), Array(64).fill(200), 'all 200');
  t.equal(new Set(all.map((r) => JSON.stringify(r.body.result))).size, 1, 'one result (values + output)');
  t.same(all[0]!.body.result, single.body.result, 'equal to the single run');
  t.same(new Set(all.map((r) => r.body.fuel.consumed)), new Set([single.body.fuel.consumed]), 'fuel.consumed identical to the single run');
  t.same(new Set(all.map((r) => JSON.stringify([r.body.logs, r.body.link, r.body.memory]))).size, 1, 'same logs, bridge traffic and memory');
  t.equal(new Set(all.map((r) => r.headers.get('x-request-id'))).size, 64, 'distinct request ids');
});

t.test('a timeout answers quickly, then the service is normal again', async (t) => {
  const t0 = performance.now();
  const r = await execA({ contract: { wasm: infiniteB64 }, limits: { fuel: 10_000_000_000, timeoutMs: 200 } }, 10_000);
  const ms = performance.now() - t0;
  checkExecBody(t, r, false);
  t.equal(r.body.error.kind, 'timeout');
  t.same(r.body.fuel, { limit: 10_000_000_000, consumed: 10_000_000_000, remaining: 0 }, 'consumed == limit');
  t.ok(ms >= 150, `not before the timeout (${ms.toFixed(0)} ms)`);
  t.ok(ms < 3000, `well under 5 s (${ms.toFixed(0)} ms)`);

  // the aborted worker is replaced
  const ready = await waitFor(async () => {
    const x = await A.request('GET', '/ready', undefined, { timeoutMs: 2000 });
    return x.status === 200 && x.body.workers === 2 ? x : undefined;
  }, 5000, 'two workers again');
  t.same(ready.body, { status: 'ready', workers: 2, pool: true, store: true });
  const reference = await execA({ contract: { wasm: loopB64 }, args: [5000] });
  const after = await Promise.all(Array.from({ length: 6 }, () => execA({ contract: { wasm: loopB64 }, args: [5000] })));
  for (const x of [reference, ...after]) {
    t.equal(x.status, 200);
    t.equal(x.body.ok, true);
    t.same(x.body.result?.values, [loopValue(5000)]);
    t.equal(x.body.fuel?.consumed, loopFuel(5000));
  }
  const again = await A.request('GET', '/ready');
  t.equal(again.status, 200);
  t.equal(again.body.workers, 2, 'still two workers');
  const metrics = await A.request('GET', '/metrics');
  t.equal(metrics.status, 200);
  t.match(metrics.text, /wasm_executions_total\{outcome="timeout"\} 1\b/, 'the timeout is counted once');
});

/**
 * Loop iterations that take about `targetMs` on this server. A new module may run a whole first call
 * in V8's baseline tier (several times slower: a running call does not change tier) and gets optimised
 * for the next: each worker runs a short loop first (a full-length cold one could cost ~0.5 CPU-s a
 * worker), then the measure. `exec` sends one request (server A's records its replies).
 */
async function calibrate(exec: (req: Record<string, unknown>, timeoutMs: number) => Promise<Reply>, workers: number, targetMs: number): Promise<number> {
  const n0 = 20_000_000;
  const round = async (n: number) => {
    const rs = await Promise.all(Array.from({ length: workers }, () => exec({ contract: { wasm: loopB64 }, args: [n], limits: { fuel: loopFuel(n), timeoutMs: 20_000 } }, 25_000)));
    for (const r of rs) if (r.status !== 200 || r.body.ok !== true) throw new Error(`calibration run failed: ${r.text.slice(0, 300)}`);
    return Math.max(...rs.map((r) => r.body.timings.executeMs as number));
  };
  await round(n0 / 4);
  const ms = await round(n0);
  return Math.max(5 * n0, Math.min(2_000_000_000, Math.round((n0 * targetMs) / Math.max(ms, 1))));
}

const executeRequestsSeen = (s: ServerProcess) =>
  s.logs().filter((l) => l.msg === 'incoming request' && l.req?.method === 'POST' && l.req?.url === '/execute').length;

let persistedFuel = -1;
let persistedInfo: any = null;

t.test('persistence, part 1: a module stored with PUT /modules on the first server', async (t) => {
  const put = await A.request('PUT', '/modules', persistedWasm);
  t.equal(put.status, 201, 'created');
  t.ok(Value.Check(ModuleInfoResponse, put.body), 'a ModuleInfo');
  t.equal(put.body.hash, persistedHash, 'hash = sha256 of the bytes');
  t.same(put.body, {
    hash: persistedHash,
    bytes: persistedWasm.length,
    imports: [{ module: 'host', name: 'output', kind: 'func', type: '(i32, i32) -> ()' }],
    exports: [
      { name: 'memory', kind: 'memory' },
      { name: 'main', kind: 'func', type: '() -> (i32)' },
      { name: 'triple', kind: 'func', type: '(i64) -> (i64)' },
    ],
    memoryPages: 2,
    ffi: null,
    layout: put.body.layout,
  });
  t.same(put.body.layout.memory, { imported: null, defined: true, exportedAs: ['memory'], minPages: 2, maxPages: null }, 'its layout');
  persistedInfo = put.body;
  const again = await A.request('PUT', '/modules', persistedWasm, { contentType: 'application/octet-stream' });
  t.equal(again.status, 200, 'known module: 200');
  t.same(again.body, put.body);
  const before = await execA({ contract: { hash: persistedHash } });
  checkExecBody(t, before, true);
  t.same(before.body.result, { values: [7], output: b64('persisted!') });
  persistedFuel = before.body.fuel.consumed;
});

// The two SIGTERM cases stop the two servers this file starts anyway (A here, B at the end) rather
// than a server each of their own: a server start costs ~3 CPU-s.
t.test('SIGTERM to the first server with keep-alive clients in flight: it still exits promptly, exit code 0', async (t) => {
  const n = await calibrate(execA, 2, 200);
  const seen = executeRequestsSeen(A);
  // the global fetch keeps connections alive, as most HTTP clients and proxies do (and every request
  // of this file so far to A went through it: idle keep-alive connections are open too)
  const inflight = [0, 1].map(() => execA({ contract: { wasm: loopB64 }, args: [n], limits: { fuel: loopFuel(n), timeoutMs: 25_000 } }, 30_000));
  await waitFor(() => (executeRequestsSeen(A) >= seen + 2 ? true : undefined), 5000, 'the 2 requests to be accepted');
  A.proc.kill('SIGTERM');
  const replies = await deadline(Promise.all(inflight), 30_000, 'the in-flight responses');
  for (const r of replies) {
    t.equal(r.status, 200);
    t.same(r.body.result, { values: [loopValue(n)], output: '' }, 'a complete result');
  }
  const exit = await deadline(A.exited, 3000, 'exit').catch(() => null);
  t.same(exit, { code: 0, signal: null }, 'exits with code 0 within 3 s of the last response');
});

/** The restarted server: the file's (tap's root `t`), not the subtest's, so that it outlives its starting subtest. */
let B: ServerProcess | undefined;
const fileScope = t;

t.test('persistence across a restart (same STORE_DIR, SEED_EXAMPLES=false)', async (t) => {
  t.notOk(A.running, 'the first server has exited');
  B = await startServer(fileScope, { WORKERS: '2', STORE_DIR: storeDir, SEED_EXAMPLES: 'false', FUEL_MAX });
  t.notOk(B.logs().some((l) => l.msg === 'example module ready'), 'no example seeded');
  const info = await B.request('GET', `/modules/${persistedHash}`);
  t.equal(info.status, 200);
  t.same(info.body, persistedInfo, 'the same description after the restart');
  const run = await B.execute({ contract: { hash: persistedHash } });
  checkExecBody(t, run, true);
  t.same(run.body.result, { values: [7], output: b64('persisted!') });
  t.equal(run.body.fuel.consumed, persistedFuel, 'the same fuel in the new process');
  const triple = await B.execute({ contract: { hash: persistedHash }, entrypoint: 'triple', args: ['14'] });
  t.same(triple.body.result?.values, ['42']);
  const seeded = await B.execute({ contract: { hash: kv.hash }, library: { hash: library.hash }, input: b64(KV_INPUT) });
  t.equal(seeded.status, 200, 'the examples seeded by the first process are on disk too');
  t.equal(hexOfB64(seeded.body.result?.output ?? ''), KV_OUTPUT);
});

t.test('logs of the first server: one execution line per execution, no bytes', async (t) => {
  t.notOk(A.running, 'the first server has exited (all its lines are flushed)');
  const logs = A.logs();
  t.ok(logs.length > 0, 'JSON lines on stdout');
  const executions = logs.filter((l) => l.msg === 'execution');
  const ran = executeReplies.filter((r) => r.status === 200);
  t.ok(ran.length > 64, `${ran.length} executions`);
  t.equal(executions.length, ran.length, 'exactly one execution line per execution');
  const byReq = new Map(executions.map((l) => [l.reqId, l]));
  t.equal(byReq.size, executions.length, 'one line per request id');
  let matched = 0;
  for (const r of ran) {
    const line = byReq.get(r.headers.get('x-request-id'));
    if (!line) {
      t.fail(`no execution line for request ${r.headers.get('x-request-id')}`);
      continue;
    }
    const want: Record<string, unknown> = {
      level: 30,
      contract: r.body.modules.contract.hash,
      outcome: r.body.error?.kind ?? 'ok',
      fuel: r.body.fuel.consumed,
    };
    if (r.body.modules.library) want.library = r.body.modules.library.hash;
    if (!t.match(line, want, 'execution line fields', { diagnostic: false })) continue;
    if (typeof line.ms !== 'number' || !(line.ms >= 0)) t.fail(`ms is a non-negative number: ${line.ms}`);
    else matched++;
  }
  t.equal(matched, ran.length, 'every execution line has contract hash, outcome, fuel and ms');
  const outcomes = new Set(executions.map((l) => l.outcome));
  t.same([...outcomes].sort(), ['memory_limit', 'ok', 'out_of_fuel', 'panic', 'stack_overflow', 'timeout', 'trap'], 'every outcome logged');
  const refusedIds = new Set(executeReplies.filter((r) => r.status !== 200).map((r) => r.headers.get('x-request-id')));
  t.notOk(executions.some((l) => refusedIds.has(l.reqId)), 'no execution line for a refused request');

  const all = A.stdout + A.stderr;
  sentBase64.add(b64(persistedWasm));
  const leaks: string[] = [];
  for (const s of sentBase64) {
    if (s.length < 12) continue; // too short to be told apart from other text
    if (all.includes(s)) leaks.push(s.slice(0, 40));
    else if (s.length > 64 && all.includes(s.slice(s.length / 2 - 16, s.length / 2 + 16))) leaks.push(`part of ${s.slice(0, 40)}`);
  }
  t.same(leaks, [], `none of the ${sentBase64.size} base64 texts sent appears in the logs`);
  for (const [name, bytes] of [['kv', kv.bytes], ['persisted', persistedWasm]] as const) {
    t.notOk(all.includes(Buffer.from(bytes).toString('hex').slice(0, 64)), `no hex of the ${name} module`);
  }
  t.notOk(all.includes('secret='), 'no input text');
  t.equal(A.stderr, '', 'nothing on stderr');
});

t.test('SIGTERM to the restarted server with 4 requests in flight: all answered, new connections refused, exit 0', async (t) => {
  const S = B;
  if (!S) return void t.fail('the restarted server did not start');
  const n = await calibrate((req, ms) => S.execute(req, ms), 2, 400);
  const seen = executeRequestsSeen(S);
  const done = [false, false, false, false];
  // Connection: close, so that the drain does not also wait for idle keep-alive sockets (the case above)
  const inflight = done.map((_, i) =>
    S.request('POST', '/execute', { contract: { wasm: loopB64 }, args: [n], limits: { fuel: loopFuel(n), timeoutMs: 25_000 } }, { timeoutMs: 30_000, headers: { connection: 'close' } }).finally(() => {
      done[i] = true;
    }),
  );
  await waitFor(() => (executeRequestsSeen(S) >= seen + 4 ? true : undefined), 5000, 'the 4 requests to be accepted');
  S.proc.kill('SIGTERM');
  const sentAt = performance.now();
  t.equal(done.filter(Boolean).length, 0, 'all 4 still in flight when SIGTERM is sent');
  await S.waitForLog((l) => l.msg === 'closing: draining in-flight requests' && l.signal === 'SIGTERM', 3000, 'the close to start');
  const refused = await waitFor(async () => {
    const c = await tryConnect(S.port, 1000);
    return c === 'ECONNREFUSED' ? c : undefined;
  }, 3000, 'new connections to be refused');
  t.equal(refused, 'ECONNREFUSED', 'a new connection is refused');
  t.ok(done.filter(Boolean).length < 4, 'refused while requests are still in flight');
  const replies = await deadline(Promise.all(inflight), 30_000, 'the in-flight responses');
  t.comment(`n = ${n}: responses after ${replies.map((r) => r.ms.toFixed(0)).join(', ')} ms`);
  for (const r of replies) {
    checkExecBody(t, r, true);
    t.same(r.body.result, { values: [loopValue(n)], output: '' }, 'a complete result');
    t.equal(r.body.fuel.consumed, loopFuel(n));
  }
  const exit = await deadline(S.exited, 5000, 'the drained server to exit');
  t.same(exit, { code: 0, signal: null }, 'exit code 0');
  t.ok(performance.now() - sentAt < 15_000, 'within a few seconds of the drain');
  t.equal(S.stderr, '', 'nothing on stderr');
});
