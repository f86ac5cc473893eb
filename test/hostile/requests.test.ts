/**
 * Hostile requests (Fastify inject; a listening server for bodies that stream or stop): malformed
 * JSON, wrong types in every field, limits over the ceilings, oversized bodies, empty and oversized
 * batches, base64 garbage, unknown hashes, wrong content types and routes. Each asserts the exact
 * status and error.kind (and the message where it says which field), and a normal execution after.
 */
import { request as httpRequest } from 'node:http';
import t from 'tap';
import type { InjectOptions } from 'fastify';
import {
  assertError,
  assertExpect,
  assertHealthy,
  assertProcessHealthy,
  b64,
  type Expect,
  example,
  exampleHash,
  execute,
  recordHealth,
  req,
  todoT,
  wat,
  withoutTimings,
} from './support.js';
import { startTarget } from './support.js';

const MAX_MODULE = 256 * 1024;
const BODY_LIMIT = 1024 * 1024;
const MAX_BATCH = 8;
// the examples the requests name by hash
const { app, config } = await startTarget(t, { policy: { maxModuleBytes: MAX_MODULE }, bodyLimitBytes: BODY_LIMIT, maxBatch: MAX_BATCH }, ['hello', 'fib', 'kv', 'library']);
const h = await recordHealth(t, app, config);
const HELLO = exampleHash('hello');
const JSON_TYPE = { 'content-type': 'application/json' };
/** The timeoutMs of the calls that must time out: short, since the worker spins that long (CPU) before it is replaced. */
const TIMEOUT_MS = 100;

interface RawCase {
  name: string;
  opts: InjectOptions;
  expect: Expect;
  todo?: string;
}

function runRaw(cases: RawCase[]): void {
  for (const c of cases) {
    t.test(c.name, async (tt) => {
      const t = todoT(tt, c.todo);
      const started = performance.now();
      const r = await req(app, c.opts);
      assertExpect(t, r, c.expect, config, (typeof c.opts.payload === 'object' && c.opts.payload && !Buffer.isBuffer(c.opts.payload) ? c.opts.payload : {}) as Record<string, unknown>, performance.now() - started);
      await assertHealthy(tt, h);
    });
  }
}

const raw = (payload: string | Buffer, headers: Record<string, string> = JSON_TYPE, url = '/execute'): InjectOptions => ({ method: 'POST', url, payload, headers });
const body = (payload: Record<string, unknown>, url = '/execute'): InjectOptions => ({ method: 'POST', url, payload, headers: JSON_TYPE });
const BAD = (message?: string | RegExp): Expect => ({ status: 400, kind: 'bad_request', ...(message !== undefined ? { message } : {}) });

// --- malformed JSON -----------------------------------------------------------------------------
runRaw([
  { name: 'json: an unterminated object', opts: raw('{'), expect: BAD() },
  { name: 'json: cut in the middle of a value', opts: raw(`{"contract":{"hash":"${HELLO.slice(0, 10)}`), expect: BAD() },
  { name: 'json: an empty body with a JSON content type', opts: raw(''), expect: BAD() },
  { name: 'json: null', opts: raw('null'), expect: BAD() },
  { name: 'json: an array', opts: raw('[]'), expect: BAD() },
  { name: 'json: a string', opts: raw('"execute"'), expect: BAD() },
  { name: 'json: a number', opts: raw('42'), expect: BAD() },
  { name: 'json: NaN literal', opts: raw(`{"contract":{"hash":"${HELLO}"},"limits":{"fuel":NaN}}`), expect: BAD() },
  { name: 'json: invalid UTF-8 bytes', opts: raw(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])), expect: BAD() },
  { name: 'json: trailing garbage', opts: raw(`{"contract":{"hash":"${HELLO}"}} xyz`), expect: BAD() },
  { name: 'json: __proto__ key', opts: raw(`{"contract":{"hash":"${HELLO}"},"__proto__":{"polluted":1}}`), expect: BAD() },
  { name: 'json: constructor.prototype key', opts: raw(`{"contract":{"hash":"${HELLO}"},"constructor":{"prototype":{"polluted":1}}}`), expect: BAD() },
  { name: 'json: 1e999 for limits.fuel', opts: raw(`{"contract":{"hash":"${HELLO}"},"limits":{"fuel":1e999}}`), expect: BAD(/limits/) },
  { name: 'json: 100,000 nested arrays in args', opts: raw(`{"contract":{"hash":"${HELLO}"},"args":${'['.repeat(100_000)}${']'.repeat(100_000)}}`), expect: BAD() },
  { name: 'json: 100,000 nested objects in an unknown field', opts: raw(`{"contract":{"hash":"${HELLO}"},"x":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}`), expect: BAD() },
  { name: 'json: a batch that is not JSON', opts: raw('{"calls":[', JSON_TYPE, '/execute/batch'), expect: BAD() },
]);

// --- wrong types in every field -----------------------------------------------------------------
const WRONG: Array<[string, Record<string, unknown>, RegExp]> = [
  ['contract missing', {}, /body must have required property 'contract'|contract/],
  ['contract: a number', { contract: 1 }, /body\.contract/],
  ['contract: a string', { contract: HELLO }, /body\.contract/],
  ['contract: null', { contract: null }, /body\.contract/],
  ['contract: an array', { contract: [{ hash: HELLO }] }, /body\.contract/],
  ['contract: empty object', { contract: {} }, /body\.contract/],
  ['contract: both wasm and hash', { contract: { wasm: '', hash: HELLO } }, /body\.contract/],
  ['contract.wasm: a number', { contract: { wasm: 1 } }, /body\.contract/],
  ['contract.wasm: an array of bytes', { contract: { wasm: [0, 97, 115, 109] } }, /body\.contract/],
  ['contract.hash: a number', { contract: { hash: 1 } }, /body\.contract/],
  ['contract.hash: uppercase hex', { contract: { hash: HELLO.toUpperCase() } }, /body\.contract/],
  ['contract.hash: 63 hex digits', { contract: { hash: HELLO.slice(1) } }, /body\.contract/],
  ['contract.hash: 65 hex digits', { contract: { hash: `${HELLO}0` } }, /body\.contract/],
  ['contract.hash: path traversal', { contract: { hash: `../../../../etc/passwd${'0'.repeat(42)}` } }, /body\.contract/],
  ['contract: an unknown field', { contract: { hash: HELLO, extra: 1 } }, /body\.contract/],
  ['library: a number', { contract: { hash: HELLO }, library: 1 }, /body\.library/],
  ['library: null', { contract: { hash: HELLO }, library: null }, /body\.library/],
  ['link: a string', { contract: { hash: HELLO }, link: 'bridge' }, /body\.link/],
  ['link.mode: unknown', { contract: { hash: HELLO }, link: { mode: 'static' } }, /body\.link\.mode/],
  ['link.mode: a number', { contract: { hash: HELLO }, link: { mode: 1 } }, /body\.link\.mode/],
  ['link.namespace: empty', { contract: { hash: HELLO }, link: { namespace: '' } }, /body\.link\.namespace/],
  ['link.namespace: a number', { contract: { hash: HELLO }, link: { namespace: 7 } }, /body\.link\.namespace/],
  ['link.ffi: a number', { contract: { hash: HELLO }, link: { ffi: 7 } }, /body\.link\.ffi/],
  ['link.stacks: a number', { contract: { hash: HELLO }, link: { mode: 'shared', stacks: 2 } }, /body\.link\.stacks/],
  ['link: an unknown field', { contract: { hash: HELLO }, link: { mode: 'bridge', depth: 1 } }, /body\.link has an unknown property `depth`/],
  ['entrypoint: empty', { contract: { hash: HELLO }, entrypoint: '' }, /body\.entrypoint/],
  ['entrypoint: a number', { contract: { hash: HELLO }, entrypoint: 0 }, /body\.entrypoint/],
  ['entrypoint: an array', { contract: { hash: HELLO }, entrypoint: ['main'] }, /body\.entrypoint/],
  ['args: a string', { contract: { hash: HELLO }, args: '1,2' }, /body\.args/],
  ['args: an object', { contract: { hash: HELLO }, args: { 0: 1 } }, /body\.args/],
  ['args: null inside', { contract: { hash: HELLO }, args: [null] }, /body\.args/],
  ['args: an object inside', { contract: { hash: HELLO }, args: [{}] }, /body\.args/],
  ['args: a nested array', { contract: { hash: HELLO }, args: [[1]] }, /body\.args/],
  ['args: a boolean inside', { contract: { hash: HELLO }, args: [true] }, /body\.args/],
  ['input: a number', { contract: { hash: HELLO }, input: 5 }, /body\.input/],
  ['input: an array', { contract: { hash: HELLO }, input: [104, 105] }, /body\.input/],
  ['limits: a number', { contract: { hash: HELLO }, limits: 5 }, /body\.limits/],
  ['limits.fuel: a string', { contract: { hash: HELLO }, limits: { fuel: '1000' } }, /body\.limits\.fuel/],
  ['limits.fuel: negative', { contract: { hash: HELLO }, limits: { fuel: -1 } }, /body\.limits\.fuel/],
  ['limits.fuel: fractional', { contract: { hash: HELLO }, limits: { fuel: 1.5 } }, /body\.limits\.fuel/],
  ['limits.memoryBytes: negative', { contract: { hash: HELLO }, limits: { memoryBytes: -65536 } }, /body\.limits\.memoryBytes/],
  ['limits.memoryBytes: a boolean', { contract: { hash: HELLO }, limits: { memoryBytes: true } }, /body\.limits\.memoryBytes/],
  ['limits.timeoutMs: 0', { contract: { hash: HELLO }, limits: { timeoutMs: 0 } }, /body\.limits\.timeoutMs/],
  ['limits.timeoutMs: null', { contract: { hash: HELLO }, limits: { timeoutMs: null } }, /body\.limits\.timeoutMs/],
  ['limits: an unknown field', { contract: { hash: HELLO }, limits: { depth: 10 } }, /body\.limits has an unknown property `depth`/],
  ['iroha: a string', { contract: { hash: HELLO }, iroha: 'yes' }, /body\.iroha/],
  ['iroha.context: a number', { contract: { hash: HELLO }, iroha: { context: 1 } }, /body\.iroha\.context/],
  ['iroha.queryResponses: a string', { contract: { hash: HELLO }, iroha: { context: '', queryResponses: 'AA==' } }, /body\.iroha\.queryResponses/],
  ['iroha.callback: a number', { contract: { hash: HELLO }, iroha: { context: '', callback: 9000 } }, /body\.iroha\.callback/],
  ['an unknown top-level field', { contract: { hash: HELLO }, gas: 1 }, /body has an unknown property `gas`/],
];
runRaw(WRONG.map(([n, p, m]) => ({ name: `types: ${n}`, opts: body(p), expect: BAD(m) })));

// --- values that do not fit the signature (fib.wasm: fib(i32) -> i64; kv add(i64, i64) -> i64) ---
const FIB = exampleHash('fib');
runRaw([
  { name: 'args: an i32 as text', opts: body({ contract: { hash: FIB }, entrypoint: 'fib', args: ['abc'] }), expect: BAD(/argument|args/) },
  { name: 'args: an i32 of 2^32', opts: body({ contract: { hash: FIB }, entrypoint: 'fib', args: [2 ** 32] }), expect: BAD(/argument|args/) },
  { name: 'args: an i32 of 1.5', opts: body({ contract: { hash: FIB }, entrypoint: 'fib', args: [1.5] }), expect: BAD(/argument|args/) },
  { name: 'args: one too many', opts: body({ contract: { hash: FIB }, entrypoint: 'fib', args: [1, 2] }), expect: BAD(/argument/) },
  { name: 'args: 10,000 arguments', opts: body({ contract: { hash: FIB }, entrypoint: 'fib', args: Array.from({ length: 10_000 }, () => 1) }), expect: BAD(/argument/) },
  { name: 'args: an i64 over 2^64', opts: body({ contract: { hash: exampleHash('kv') }, library: { hash: exampleHash('library') }, entrypoint: 'add', args: ['18446744073709551616', '1'] }), expect: BAD(/argument/) },
  { name: 'args: an i64 in hex', opts: body({ contract: { hash: exampleHash('kv') }, library: { hash: exampleHash('library') }, entrypoint: 'add', args: ['0x10', '1'] }), expect: BAD(/argument/) },
  { name: 'entrypoint: not exported', opts: body({ contract: { hash: FIB }, entrypoint: 'nope' }), expect: BAD(/nope/) },
  { name: 'entrypoint: a 100 KB name', opts: body({ contract: { hash: FIB }, entrypoint: 'x'.repeat(100_000) }), expect: BAD() },
  { name: 'link.namespace: host is reserved', opts: body({ contract: { hash: HELLO }, link: { namespace: 'host' } }), expect: BAD(/host/) },
  { name: 'link.namespace: __meter is reserved', opts: body({ contract: { hash: HELLO }, link: { namespace: '__meter' } }), expect: BAD(/__meter/) },
]);

// --- limits over the ceilings ---------------------------------------------------------------------
const MAX = config.limits.max;
runRaw([
  { name: 'limits: fuel one over the ceiling', opts: body({ contract: { hash: HELLO }, limits: { fuel: MAX.fuel + 1 } }), expect: BAD(`limits.fuel = ${MAX.fuel + 1} is above the ceiling of ${MAX.fuel}`) },
  { name: 'limits: fuel 2^53 + 2', opts: body({ contract: { hash: HELLO }, limits: { fuel: 2 ** 53 + 2 } }), expect: BAD(/limits\.fuel/) },
  { name: 'limits: fuel 1e300', opts: body({ contract: { hash: HELLO }, limits: { fuel: 1e300 } }), expect: BAD(/limits\.fuel/) },
  { name: 'limits: memoryBytes one over the ceiling', opts: body({ contract: { hash: HELLO }, limits: { memoryBytes: MAX.memoryBytes + 1 } }), expect: BAD(`limits.memoryBytes = ${MAX.memoryBytes + 1} is above the ceiling of ${MAX.memoryBytes}`) },
  { name: 'limits: memoryBytes 2^40', opts: body({ contract: { hash: HELLO }, limits: { memoryBytes: 2 ** 40 } }), expect: BAD(/limits\.memoryBytes/) },
  { name: 'limits: timeoutMs one over the ceiling', opts: body({ contract: { hash: HELLO }, limits: { timeoutMs: MAX.timeoutMs + 1 } }), expect: BAD(`limits.timeoutMs = ${MAX.timeoutMs + 1} is above the ceiling of ${MAX.timeoutMs}`) },
  { name: 'limits: all three at their ceilings run', opts: body({ contract: { hash: HELLO }, input: b64('ok'), limits: { ...MAX } }), expect: { kind: 'ok', values: [2] } },
  { name: 'limits: memoryBytes 0 is memory_limit before anything runs', opts: body({ contract: { hash: HELLO }, limits: { memoryBytes: 0 } }), expect: { kind: 'memory_limit', message: /^initial memory of 1114112 bytes .* exceeds the limit of 0 bytes$/, fuel: 0 } },
]);

t.test('limits: timeoutMs 1 answers (done or timeout: machine-dependent), never hangs', async (t) => {
  const started = performance.now();
  const r = await execute(app, { contract: { hash: FIB }, entrypoint: 'fib', args: [5], limits: { timeoutMs: 1 } });
  t.equal(r.status, 200);
  t.ok(r.body.ok ? r.body.result.values[0] === '5' : r.body.error.kind === 'timeout', `ok fib(5) = 5 or timeout: ${JSON.stringify(r.body.result ?? r.body.error)}`);
  t.ok(performance.now() - started < 10_000, 'bounded');
  await assertProcessHealthy(t, app);
  await assertHealthy(t, h);
});

// --- base64 garbage -------------------------------------------------------------------------------
runRaw([
  { name: 'base64: not base64 at all', opts: body({ contract: { wasm: 'not base64!' } }), expect: BAD('contract.wasm is not valid base64') },
  { name: 'base64: url-safe alphabet', opts: body({ contract: { wasm: b64(example('fib')).replace(/\+/g, '-').replace(/\//g, '_') + '-_' } }), expect: BAD('contract.wasm is not valid base64') },
  { name: 'base64: one character', opts: body({ contract: { wasm: 'A' } }), expect: BAD('contract.wasm is not valid base64') },
  { name: 'base64: padding in the middle', opts: body({ contract: { wasm: 'AGFz==bQ==' } }), expect: BAD('contract.wasm is not valid base64') },
  { name: 'base64: whitespace and newlines', opts: body({ contract: { wasm: b64(example('fib')).replace(/(.{76})/g, '$1\n') } }), expect: BAD('contract.wasm is not valid base64') },
  { name: 'base64: a data: URL', opts: body({ contract: { wasm: `data:application/wasm;base64,${b64(example('fib'))}` } }), expect: BAD('contract.wasm is not valid base64') },
  { name: 'base64: empty module text', opts: body({ contract: { wasm: '' } }), expect: { status: 422, kind: 'invalid_module' } },
  { name: 'base64: the library', opts: body({ contract: { hash: HELLO }, library: { wasm: '%%%' } }), expect: BAD('library.wasm is not valid base64') },
  { name: 'base64: input', opts: body({ contract: { hash: HELLO }, input: 'a b c' }), expect: BAD('input is not valid base64') },
  { name: 'base64: input of one character', opts: body({ contract: { hash: HELLO }, input: 'Q' }), expect: BAD('input is not valid base64') },
  { name: 'base64: iroha.context', opts: body({ contract: { hash: HELLO }, iroha: { context: '!!!!' } }), expect: BAD(/iroha\.context is not valid base64/) },
  {
    name: 'base64: garbage text over the module size limit is 413 before decoding',
    opts: body({ contract: { wasm: 'A'.repeat(Math.ceil((MAX_MODULE * 4) / 3) + 8) } }),
    expect: { status: 413, kind: 'too_large', message: /^the contract module is \d+ bytes, more than the module size limit of 262144$/ },
  },
]);

// --- unknown hashes and routes ----------------------------------------------------------------------
const ZERO = '0'.repeat(64);
runRaw([
  { name: 'hash: unknown contract', opts: body({ contract: { hash: ZERO } }), expect: { status: 404, kind: 'not_found', message: `no module with hash ${ZERO} (the contract): upload it with PUT /modules` } },
  { name: 'hash: unknown library', opts: body({ contract: { hash: exampleHash('kv') }, library: { hash: 'f'.repeat(64) } }), expect: { status: 404, kind: 'not_found', message: `no module with hash ${'f'.repeat(64)} (the library): upload it with PUT /modules` } },
  { name: 'hash: GET /modules of an unknown hash', opts: { method: 'GET', url: `/modules/${ZERO}` }, expect: { status: 404, kind: 'not_found', message: `no module with hash ${ZERO}` } },
  { name: 'hash: GET /modules of a non-hash', opts: { method: 'GET', url: '/modules/..%2F..%2Fetc%2Fpasswd' }, expect: { status: 400, kind: 'bad_request' } },
  { name: 'hash: GET /modules of uppercase hex', opts: { method: 'GET', url: `/modules/${HELLO.toUpperCase()}` }, expect: { status: 400, kind: 'bad_request' } },
  { name: 'route: unknown', opts: { method: 'GET', url: '/nope' }, expect: { status: 404, kind: 'not_found', message: 'no route GET /nope' } },
  { name: 'route: GET /execute', opts: { method: 'GET', url: '/execute' }, expect: { status: 405, kind: 'method_not_allowed', message: 'GET is not allowed on /execute: use POST' } },
  { name: 'route: a 10 KB path', opts: { method: 'GET', url: `/${'a'.repeat(10_000)}` }, expect: { status: 404, kind: 'not_found' } },
]);

// --- content types ----------------------------------------------------------------------------------
runRaw([
  { name: 'type: text/plain to /execute', opts: raw(JSON.stringify({ contract: { hash: HELLO } }), { 'content-type': 'text/plain' }), expect: { status: 415, kind: 'unsupported_media_type', message: 'POST /execute accepts a body of Content-Type application/json, not text/plain' } },
  { name: 'type: application/wasm to /execute', opts: raw(Buffer.from(example('fib')), { 'content-type': 'application/wasm' }), expect: { status: 415, kind: 'unsupported_media_type' } },
  { name: 'type: form data to /execute/batch', opts: raw('calls=1', { 'content-type': 'application/x-www-form-urlencoded' }, '/execute/batch'), expect: { status: 415, kind: 'unsupported_media_type' } },
  { name: 'type: JSON to PUT /modules', opts: { method: 'PUT', url: '/modules', payload: '{}', headers: JSON_TYPE }, expect: { status: 415, kind: 'unsupported_media_type', message: /^PUT \/modules accepts a body of Content-Type application\/wasm or application\/octet-stream, not application\/json/ } },
  { name: 'PUT /modules: an empty body', opts: { method: 'PUT', url: '/modules', payload: Buffer.alloc(0), headers: { 'content-type': 'application/wasm' } }, expect: { status: 400, kind: 'bad_request' } },
  { name: 'PUT /modules: random bytes', opts: { method: 'PUT', url: '/modules', payload: Buffer.from('hello world, not wasm'), headers: { 'content-type': 'application/octet-stream' } }, expect: { status: 422, kind: 'invalid_module' } },
]);

// --- oversized bodies -----------------------------------------------------------------------------
t.test('oversized bodies: POST /execute, a batch, PUT /modules over both limits', async (t) => {
  const big = JSON.stringify({ contract: { hash: HELLO }, input: 'A'.repeat(BODY_LIMIT) });
  const size = Buffer.byteLength(big);
  assertError(t, await req(app, raw(big)), 413, 'too_large', `the request body is ${size} bytes, more than the body size limit of ${BODY_LIMIT}`);
  const bigBatch = JSON.stringify({ calls: [{ contract: { hash: HELLO }, input: 'A'.repeat(BODY_LIMIT) }] });
  assertError(t, await req(app, raw(bigBatch, JSON_TYPE, '/execute/batch')), 413, 'too_large', `the request body is ${Buffer.byteLength(bigBatch)} bytes, more than the body size limit of ${BODY_LIMIT}`);
  const mod = Buffer.alloc(MAX_MODULE + 1);
  assertError(t, await req(app, { method: 'PUT', url: '/modules', payload: mod, headers: { 'content-type': 'application/wasm' } }), 413, 'too_large', `the module is ${MAX_MODULE + 1} bytes, more than the module size limit of ${MAX_MODULE}`);
  const huge = Buffer.alloc(BODY_LIMIT + 1);
  assertError(t, await req(app, { method: 'PUT', url: '/modules', payload: huge, headers: { 'content-type': 'application/wasm' } }), 413, 'too_large');
  // an inline module that decodes to just over the limit
  assertError(t, await req(app, body({ contract: { wasm: b64(new Uint8Array(MAX_MODULE + 1)) } })), 413, 'too_large', `the contract module is ${MAX_MODULE + 1} bytes, more than the module size limit of ${MAX_MODULE}`);
  await assertHealthy(t, h);
});

// --- batches ----------------------------------------------------------------------------------------
const batch = (calls: unknown) => req(app, body({ calls } as Record<string, unknown>, '/execute/batch'));
t.test('batches: empty, oversized, not an array, a bad call; a hostile mix answered call by call', async (t) => {
  assertError(t, await batch([]), 400, 'bad_request', /calls/);
  assertError(t, await batch(Array.from({ length: MAX_BATCH + 1 }, () => ({ contract: { hash: HELLO } }))), 400, 'bad_request', new RegExp(String(MAX_BATCH)));
  assertError(t, await batch(Array.from({ length: 10_000 }, () => ({ contract: { hash: HELLO } }))), 400, 'bad_request');
  assertError(t, await batch({ 0: { contract: { hash: HELLO } } }), 400, 'bad_request', /body\.calls/);
  assertError(t, await batch(null), 400, 'bad_request', /body\.calls/);
  assertError(t, await req(app, body({}, '/execute/batch')), 400, 'bad_request', /calls/);
  assertError(t, await batch([{ contract: { hash: HELLO } }, 1]), 400, 'bad_request', /body\.calls\[1\]|body\.calls\.1/);
  assertError(t, await req(app, body({ calls: [{ contract: { hash: HELLO } }], extra: true }, '/execute/batch')), 400, 'bad_request', /extra/);

  const loop = b64(await wat('(module (func (export "main") (loop $l (br $l))))'));
  const rec = b64(await wat('(module (func $f (export "main") (call $f)))'));
  const calls = [
    { contract: { wasm: loop }, limits: { fuel: 100_000 } },
    { contract: { wasm: rec } },
    { contract: { wasm: b64(new Uint8Array([0, 1, 2, 3])) } },
    { contract: { hash: ZERO } },
    { contract: { wasm: '!!' } },
    { contract: { hash: HELLO }, limits: { fuel: MAX.fuel + 1 } },
    { contract: { hash: HELLO }, input: b64('ok') },
  ];
  const started = performance.now();
  const r = await batch(calls);
  t.ok(performance.now() - started < 10_000, 'answered within a margin');
  t.equal(r.status, 200);
  const kinds = r.body.results.map((x: any) => (x.status ? `${x.status} ${x.error.kind}` : x.ok ? 'ok' : x.error.kind));
  t.same(kinds, ['out_of_fuel', 'stack_overflow', '422 invalid_module', '404 not_found', '400 bad_request', '400 bad_request', 'ok']);
  t.same(r.body.results[0].fuel, { limit: 100_000, consumed: 100_000, remaining: 0 });
  t.same(withoutTimings(r.body.results[6]), h.baseline, 'the normal call in the batch: the exact normal answer');
  await assertProcessHealthy(t, app);
  await assertHealthy(t, h);
});

t.test('batches: a lone call past its timeoutMs is timeout; the worker is replaced', async (t) => {
  const loop = b64(await wat('(module (func (export "main") (loop $l (br $l))))'));
  const started = performance.now();
  const r = await batch([{ contract: { wasm: loop }, limits: { fuel: MAX.fuel, timeoutMs: TIMEOUT_MS } }]);
  t.ok(performance.now() - started < TIMEOUT_MS + 10_000, 'bounded');
  t.equal(r.status, 200);
  t.same(r.body.results[0].error, { kind: 'timeout', message: `execution stopped after ${TIMEOUT_MS} ms (wall clock)` });
  t.same(r.body.results[0].fuel, { limit: MAX.fuel, consumed: MAX.fuel, remaining: 0 });
  await assertProcessHealthy(t, app);
  await assertHealthy(t, h);
});

t.test(
  'batches: a call past its own timeoutMs is timeout even when the other calls leave slack (API.md: "A call past its timeoutMs is answered timeout like a single request")',
  async (tt) => {
    const t = tt;
    const loop = b64(await wat('(module (func (export "main") (loop $l (br $l))))'));
    const single = await execute(app, { contract: { wasm: loop }, limits: { fuel: 4_000_000_000, timeoutMs: TIMEOUT_MS } });
    t.equal(single.body.error?.kind, 'timeout', 'alone, the call is a timeout');
    const calls = [...Array.from({ length: 7 }, () => ({ contract: { hash: HELLO }, input: b64('ok') })), { contract: { wasm: loop }, limits: { fuel: 4_000_000_000, timeoutMs: TIMEOUT_MS } }];
    const started = performance.now();
    const r = await batch(calls);
    const ms = performance.now() - started;
    t.equal(r.status, 200);
    t.same(r.body.results[7].error, { kind: 'timeout', message: `execution stopped after ${TIMEOUT_MS} ms (wall clock)` }, `the slow call is its own timeout (got ${JSON.stringify(r.body.results[7].error)}, executeMs ${r.body.results[7].timings?.executeMs})`);
    t.ok(r.body.results[7].timings?.executeMs <= TIMEOUT_MS + 1000, 'the call did not run far past its timeoutMs');
    for (let i = 0; i < 7; i++) t.same(withoutTimings(r.body.results[i]), h.baseline, `call ${i}: the normal answer`);
    tt.ok(ms < 10_000, 'bounded');
    await assertProcessHealthy(tt, app);
    await assertHealthy(tt, h);
  },
);

// --- over the wire: bodies that stream past the limit, or stop -----------------------------------------
t.test('over the wire: a chunked body past the limit, a body cut short, a lying Content-Length', async (t) => {
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = new URL(address);
  const send = (o: { method: string; path: string; headers: Record<string, string | number>; write: (r: ReturnType<typeof httpRequest>) => void }) =>
    new Promise<{ status: number; body: any } | { error: string }>((resolve) => {
      const r = httpRequest({ host: '127.0.0.1', port, method: o.method, path: o.path, headers: o.headers, timeout: 10_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let b: unknown = text;
          try {
            b = JSON.parse(text);
          } catch {}
          resolve({ status: res.statusCode ?? 0, body: b });
        });
        res.on('error', (e) => resolve({ error: e.message }));
      });
      r.on('error', (e) => resolve({ error: e.message }));
      r.on('timeout', () => {
        r.destroy();
        resolve({ error: 'client timeout' });
      });
      o.write(r);
    });

  // chunked (no Content-Length), 2 MiB of JSON against a 1 MiB limit
  const chunked = await send({
    method: 'POST',
    path: '/execute',
    headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
    write: (r) => {
      r.write('{"contract":{"hash":"' + HELLO + '"},"input":"');
      for (let i = 0; i < 32; i++) r.write('A'.repeat(65536));
      r.end('"}');
    },
  });
  t.ok('status' in chunked, `answered: ${JSON.stringify(chunked).slice(0, 200)}`);
  if ('status' in chunked) {
    t.equal(chunked.status, 413);
    t.equal(chunked.body?.error?.kind, 'too_large');
  }

  // PUT /modules streamed without Content-Length past the module size limit
  const put = await send({
    method: 'PUT',
    path: '/modules',
    headers: { 'content-type': 'application/wasm', 'transfer-encoding': 'chunked' },
    write: (r) => {
      for (let i = 0; i < 8; i++) r.write(Buffer.alloc(65536));
      r.end();
    },
  });
  t.ok('status' in put, `answered: ${JSON.stringify(put).slice(0, 200)}`);
  if ('status' in put) {
    t.equal(put.status, 413);
    t.equal(put.body?.error?.kind, 'too_large');
  }

  // a Content-Length larger than what is sent, then the client goes away
  const cut = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/execute', headers: { 'content-type': 'application/json', 'content-length': 100_000 } });
  cut.on('error', () => {});
  cut.write('{"contract":');
  await new Promise((r) => setTimeout(r, 100));
  cut.destroy();

  // a Content-Length over the limit, refused before the body is read
  const liar = await send({
    method: 'POST',
    path: '/execute',
    headers: { 'content-type': 'application/json', 'content-length': BODY_LIMIT * 100 },
    write: (r) => {
      r.write('{');
      setTimeout(() => r.destroy(), 2000);
    },
  });
  t.ok('status' in liar ? liar.status === 413 : true, `refused or closed: ${JSON.stringify(liar).slice(0, 200)}`);
  if ('status' in liar) t.equal(liar.body?.error?.kind, 'too_large');

  // the server is fine: /health, /ready, and a normal execution over the wire
  await assertProcessHealthy(t, app);
  const ok = await send({ method: 'POST', path: '/execute', headers: { 'content-type': 'application/json' }, write: (r) => r.end(JSON.stringify({ contract: { hash: HELLO }, input: b64('ok') })) });
  t.ok('status' in ok && ok.status === 200, 'a normal execution over the wire');
  if ('status' in ok) t.same(withoutTimings(ok.body), h.baseline, 'exact normal answer over the wire');
  await assertHealthy(t, h);
});

t.test('many concurrent hostile requests, then healthy', async (t) => {
  const loop = b64(await wat('(module (func (export "main") (loop $l (br $l))))'));
  const reqs = Array.from({ length: 40 }, (_, i) =>
    i % 4 === 0
      ? execute(app, { contract: { wasm: loop }, limits: { fuel: 2_000_000 } })
      : i % 4 === 1
        ? req(app, raw('{"contract":'))
        : i % 4 === 2
          ? execute(app, { contract: { hash: ZERO } })
          : execute(app, { contract: { wasm: b64(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 255])) } }),
  );
  const rs = await Promise.all(reqs);
  const statuses = rs.map((r, i) => `${i % 4}:${r.status}${r.status === 200 ? ` ${r.body.error?.kind}` : ''}`);
  t.same(
    statuses,
    rs.map((_, i) => (i % 4 === 0 ? `0:200 out_of_fuel` : i % 4 === 1 ? '1:400' : i % 4 === 2 ? '2:404' : '3:422')),
    'every request its exact status (no 503 below maxQueue: 10 executions queued at most)',
  );
  await assertProcessHealthy(t, app);
  await assertHealthy(t, h);
});
