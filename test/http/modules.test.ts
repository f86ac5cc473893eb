/**
 * PUT /modules and GET /modules/:hash: the content-addressed store over HTTP (201 new, 200 known,
 * ModuleInfo with text signatures and the `ffi` text), refusals (422, 415, 400, 413) that store
 * nothing, persistence on disk across app restarts, and execution by the uploaded hash.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import t from 'tap';
import { PROJECT_ROOT } from '../../src/config.js';
import { assertError, b64, example, execute, req, type Res, sha256, startApp, wat } from '../support/http.js';

const MAX_MODULE_BYTES = 32 * 1024;

// no seeding: every example is new to this store
const { app, config, storeDir } = await startApp(t, { seedExamples: false, policy: { maxModuleBytes: MAX_MODULE_BYTES } });

const put = (body: Uint8Array | string | Buffer, type = 'application/wasm'): Promise<Res> =>
  req(app, { method: 'PUT', url: '/modules', payload: Buffer.from(body as Uint8Array), headers: { 'content-type': type } });
const get = (hash: string): Promise<Res> => req(app, { method: 'GET', url: `/modules/${hash}` });

const library = example('library');
const kv = example('kv');

t.test('PUT the library: 201, then 200 for the same bytes, with its ModuleInfo', async (t) => {
  const first = await put(library);
  t.equal(first.status, 201, 'new module');
  const b = first.body;
  t.same(Object.keys(b).sort(), ['bytes', 'exports', 'ffi', 'hash', 'imports', 'layout', 'memoryPages']);
  t.equal(b.hash, sha256(library));
  t.equal(b.bytes, library.length);
  t.same(b.imports, [], 'the library imports nothing');
  t.equal(b.memoryPages, 17);
  t.equal(b.ffi, readFileSync(resolve(PROJECT_ROOT, 'examples/library/ffi.txt'), 'utf8'), 'ffi: the text of the custom section');
  const byName = new Map<string, any>(b.exports.map((e: any) => [e.name, e]));
  t.same(byName.get('memory'), { name: 'memory', kind: 'memory' }, 'a memory export has no type');
  t.same(byName.get('alloc'), { name: 'alloc', kind: 'func', type: '(i32, i32) -> (i32)' });
  t.same(byName.get('dealloc'), { name: 'dealloc', kind: 'func', type: '(i32, i32, i32) -> ()' });
  t.same(byName.get('map_new'), { name: 'map_new', kind: 'func', type: '() -> (i32)' });
  t.same(byName.get('map_insert'), { name: 'map_insert', kind: 'func', type: '(i32, i32, i32, i32, i32) -> ()' });
  t.same(byName.get('map_get'), { name: 'map_get', kind: 'func', type: '(i32, i32, i32) -> (i64)' });
  t.same(byName.get('add_i64'), { name: 'add_i64', kind: 'func', type: '(i64, i64) -> (i64)' });
  t.equal(byName.get('__heap_base')?.kind, 'global');
  for (const name of ['map_len', 'map_encode', 'map_free', 'sha256', 'hex', '__data_end']) t.ok(byName.has(name), `exports ${name}`);

  const again = await put(library);
  t.equal(again.status, 200, 'already known');
  t.same(again.body, b, 'same body');

  const stored = await get(b.hash);
  t.equal(stored.status, 200);
  t.same(stored.body, b, 'GET gives the PUT body');

  const file = join(storeDir, b.hash.slice(0, 2), `${b.hash}.wasm`);
  t.ok(existsSync(file), 'written to the store directory');
  t.same(new Uint8Array(readFileSync(file)), library, 'the original bytes, not the instrumented ones');
});

t.test('PUT kv (application/octet-stream): imports with text signatures', async (t) => {
  const r = await put(kv, 'application/octet-stream');
  t.equal(r.status, 201);
  const imp = (module: string, name: string) => r.body.imports.find((i: any) => i.module === module && i.name === name);
  t.same(imp('host', 'input_len'), { module: 'host', name: 'input_len', kind: 'func', type: '() -> (i32)' });
  t.same(imp('host', 'log'), { module: 'host', name: 'log', kind: 'func', type: '(i32, i32, i32) -> ()' });
  t.same(imp('lib', 'map_encode'), { module: 'lib', name: 'map_encode', kind: 'func', type: '(i32) -> (i64)' });
  t.same(imp('lib', 'add_i64'), { module: 'lib', name: 'add_i64', kind: 'func', type: '(i64, i64) -> (i64)' });
  t.same(
    r.body.imports.map((i: any) => `${i.module}.${i.name}`).sort(),
    ['host.input_len', 'host.input_read', 'host.log', 'host.output', 'lib.add_i64', 'lib.map_encode', 'lib.map_free', 'lib.map_get', 'lib.map_insert', 'lib.map_len', 'lib.map_new', 'lib.sha256'],
  );
  t.equal(r.body.ffi, null, 'no ffi section');
  t.same(r.body.exports.find((e: any) => e.name === 'add'), { name: 'add', kind: 'func', type: '(i64, i64) -> (i64)' });
});

t.test('GET /modules/:hash: 404 unknown, 400 not a hash', async (t) => {
  const unknown = sha256('nothing stored under this');
  assertError(t, await get(unknown), 404, 'not_found', new RegExp(unknown));
  assertError(t, await get(sha256(library).toUpperCase()), 400, 'bad_request');
  assertError(t, await get('abc'), 400, 'bad_request');
  assertError(t, await get(`${sha256(library)}0`), 400, 'bad_request');
  assertError(t, await get('..%2F..%2Fetc%2Fpasswd'), 400, 'bad_request');
});

t.test('PUT refusals store nothing', async (t) => {
  const garbage = Buffer.from('\0asm\x01\0\0\0this is not a module section');
  const bad = await put(garbage);
  assertError(t, bad, 422, 'invalid_module');
  assertError(t, await get(sha256(garbage)), 404, 'not_found', undefined);

  const text = Buffer.from('hello');
  assertError(t, await put(text), 422, 'invalid_module');
  assertError(t, await get(sha256(text)), 404, 'not_found');

  const tooManyLocals = await wat(`(module (func (export "main") (local ${'i32 '.repeat(config.policy.maxLocals + 1)})))`);
  assertError(t, await put(tooManyLocals), 422, 'policy_violation');
  assertError(t, await get(sha256(tooManyLocals)), 404, 'not_found');

  // the route documents 415 for a body that is not raw bytes (docs/API.md: the body is application/wasm)
  const accepts = 'PUT /modules accepts a body of Content-Type application/wasm or application/octet-stream';
  const asJson = await req(app, { method: 'PUT', url: '/modules', payload: { wasm: b64(kv) } });
  assertError(t, asJson, 415, 'unsupported_media_type', `${accepts}, not application/json`);
  t.equal(asJson.body.error.message, `${accepts}, not application/json`, 'the 415 names the accepted types');
  const asText = await put(Buffer.from(kv), 'text/plain');
  assertError(t, asText, 415, 'unsupported_media_type');
  t.equal(asText.body.error.message, `${accepts}, not text/plain`);
  const untyped = await req(app, { method: 'PUT', url: '/modules', payload: Buffer.from(kv), headers: { 'content-type': '' } });
  assertError(t, untyped, 415, 'unsupported_media_type');
  t.equal(untyped.body.error.message, `${accepts}, and this request has no Content-Type`);
  assertError(t, await put(Buffer.alloc(0)), 400, 'bad_request', /empty/);

  // a valid module, only too large
  const big = await wat(`(module (memory 1) (data (i32.const 0) "${'a'.repeat(MAX_MODULE_BYTES + 100)}"))`);
  t.ok(big.length > MAX_MODULE_BYTES);
  const tooBig = await put(big);
  assertError(t, tooBig, 413, 'too_large');
  t.equal(tooBig.body.error.message, `the module is ${big.length} bytes, more than the module size limit of ${MAX_MODULE_BYTES}`);
  assertError(t, await get(sha256(big)), 404, 'not_found');
});

t.test('413 on PUT names the limit the body is over: the module size limit, or the body limit', async (t) => {
  t.equal(config.bodyLimitBytes, 12 * 1024 * 1024, 'the default body limit, well above the module limit here');
  // over the module limit, far under the body limit: the module limit (not 12 MiB) is named, with the size
  const over = await put(new Uint8Array(MAX_MODULE_BYTES + 1));
  assertError(t, over, 413, 'too_large');
  t.equal(over.body.error.message, `the module is ${MAX_MODULE_BYTES + 1} bytes, more than the module size limit of ${MAX_MODULE_BYTES}`);
  t.notMatch(over.body.error.message, /12582912|body/, 'not the body limit');
  const atLimit = await put(new Uint8Array(MAX_MODULE_BYTES));
  assertError(t, atLimit, 422, 'invalid_module', undefined); // exactly the limit is read and validated
  // no Content-Length (a streamed body): refused while reading, still naming the module limit
  const streamed = await req(app, {
    method: 'PUT',
    url: '/modules',
    payload: Readable.from([Buffer.alloc(MAX_MODULE_BYTES), Buffer.alloc(10)]),
    headers: { 'content-type': 'application/wasm' },
  });
  assertError(t, streamed, 413, 'too_large');
  t.equal(streamed.body.error.message, `the module is larger than the module size limit of ${MAX_MODULE_BYTES} bytes`);

  // a body over the body limit still names the body limit
  const BODY_LIMIT = 16 * 1024;
  const small = await startApp(t, { seedExamples: false, workers: 1, bodyLimitBytes: BODY_LIMIT, policy: { maxModuleBytes: MAX_MODULE_BYTES } });
  const putSmall = (body: Uint8Array) =>
    req(small.app, { method: 'PUT', url: '/modules', payload: Buffer.from(body), headers: { 'content-type': 'application/wasm' } });
  const overBody = await putSmall(new Uint8Array(BODY_LIMIT + 1));
  assertError(t, overBody, 413, 'too_large');
  t.equal(overBody.body.error.message, `the request body is ${BODY_LIMIT + 1} bytes, more than the body size limit of ${BODY_LIMIT}`);
  const overBoth = await put(new Uint8Array(config.bodyLimitBytes + 1));
  assertError(t, overBoth, 413, 'too_large');
  t.equal(overBoth.body.error.message, `the request body is ${config.bodyLimitBytes + 1} bytes, more than the body size limit of ${config.bodyLimitBytes}`);
});

t.test('a module PUT then executed by hash (and across a restart on the same store)', async (t) => {
  const mod = await wat(`(module (func (export "twice") (param i32) (result i32) local.get 0 i32.const 2 i32.mul))`);
  const hash = sha256(mod);
  assertError(t, await execute(app, { contract: { hash }, entrypoint: 'twice', args: [21] }), 404, 'not_found');
  const up = await put(mod);
  t.equal(up.status, 201);
  const { layout, ...rest } = up.body;
  t.same(rest, { hash, bytes: mod.length, imports: [], exports: [{ name: 'twice', kind: 'func', type: '(i32) -> (i32)' }], memoryPages: 0, ffi: null });
  t.same(layout.stackPointer, null, 'no globals: no stack pointer');
  t.equal(layout.stackPointerNote, 'the module defines no globals');
  t.same([layout.data, layout.memory, layout.table], [[], null, null]);
  const r = await execute(app, { contract: { hash }, entrypoint: 'twice', args: [21] });
  t.equal(r.status, 200);
  t.same(r.body.result, { values: [42], output: '' });
  t.same(r.body.modules, { contract: { hash, bytes: mod.length } });
  // entry 1 + local.get + i32.const + i32.mul
  t.equal(r.body.fuel.consumed, 4);

  // the kv example linked from uploaded modules
  const kvRun = await execute(app, { contract: { hash: sha256(kv) }, library: { hash: sha256(library) }, input: b64('a=1') });
  t.equal(kvRun.status, 200);
  t.same(kvRun.body.result.values, [1]);

  const second = await startApp(t, { seedExamples: false, store: { dir: storeDir } });
  const info = await req(second.app, { method: 'GET', url: `/modules/${hash}` });
  t.equal(info.status, 200, 'found on disk by a new app');
  t.same(info.body, up.body);
  const again = await execute(second.app, { contract: { hash }, entrypoint: 'twice', args: [-4] });
  t.same(again.body.result.values, [-8]);
  t.equal((await req(second.app, { method: 'PUT', url: '/modules', payload: Buffer.from(mod), headers: { 'content-type': 'application/wasm' } })).status, 200, 'known after restart');
});
