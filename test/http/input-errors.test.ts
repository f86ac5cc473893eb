/**
 * The mistakes a newcomer makes sending modules and hashes, each answered with a message that names
 * the field (or module, or batch call) and the likely mistake with its fix: hex sent as base64, a
 * data: URL, a file path, WebAssembly text; base64 wrapped by GNU base64 (a raw line break: where in
 * the JSON; an escaped one: which character at which offset); uppercase, prefixed and shortened
 * hashes; a PUT body that is hex, base64, WAT, JSON or a file name; `body.calls[1]` paths as the docs
 * write them (a call's own errors in a batch read as POST /execute words them, at the call's place); POST /modules a 405 naming the methods. One app, memory store.
 */
import t from 'tap';
import { assertError, b64, example, execute, req, startApp } from '../support/http.js';

const { app } = await startApp(t, { seedExamples: false, store: { dir: null } });
const hello = example('hello');
const hexOf = Buffer.from(hello).toString('hex');
const wrapped = b64(hello).replace(/(.{76})/g, '$1\n');
const put = (body: string | Uint8Array, type = 'application/wasm') => req(app, { method: 'PUT', url: '/modules', payload: Buffer.from(body), headers: { 'content-type': type } });

t.test('an inline module: which module, and what the text most likely is', async (t) => {
  assertError(t, await execute(app, { contract: { wasm: hexOf } }), 422, 'invalid_module',
    /^the contract module \(body\.contract\.wasm\) is not valid WebAssembly: expected magic word 00 61 73 6d, found d3 4e b5 ef @\+0 — this looks like hex \(it starts 0061736d, the wasm magic in hex\): send base64 \(e\.g\. `base64 -w0 file\.wasm`\)$/);
  assertError(t, await execute(app, { contract: { wasm: b64(hello) }, library: { wasm: hexOf.slice(0, 64) } }), 422, 'invalid_module', /^the library module \(body\.library\.wasm\) is not valid WebAssembly: .* this looks like hex/);
  assertError(t, await execute(app, { contract: { wasm: `data:application/wasm;base64,${b64(hello)}` } }), 400, 'bad_request',
    'body.contract.wasm is not valid base64: it starts with a data: URL prefix (`data:…;base64,`): send only the base64 after the comma');
  assertError(t, await execute(app, { contract: { wasm: './build/contract.wasm' } }), 400, 'bad_request', /^body\.contract\.wasm is not valid base64: "\.\/build\/contract\.wasm" looks like a file path: send the file's content/);
  // base64 characters only: decoded, not a module, and then recognised
  assertError(t, await execute(app, { contract: { wasm: '/tmp/build/contract' } }), 422, 'invalid_module', /^the contract module \(body\.contract\.wasm\) is not valid WebAssembly: .* — "\/tmp\/build\/contract" looks like a file path/);
  assertError(t, await execute(app, { contract: { wasm: '(module (func (export "main")))' } }), 400, 'bad_request', /^body\.contract\.wasm is not valid base64: it is WebAssembly text \(WAT\), not base64: compile it/);
  assertError(t, await execute(app, { contract: { wasm: b64('(module)') } }), 422, 'invalid_module', /the bytes are WebAssembly text \(WAT\): compile it to a binary module first/);
  assertError(t, await execute(app, { contract: { wasm: b64(b64(hello)) } }), 422, 'invalid_module', /base64 encoded twice/);
  assertError(t, await execute(app, { contract: { wasm: b64('hello') } }), 422, 'invalid_module', /^the contract module \(body\.contract\.wasm\) is not valid WebAssembly: expected magic word 00 61 73 6d, found 68 65 6c 6c @\+0$/);
});

t.test('GNU base64 wraps at 76 columns: a raw line break is placed in the JSON, an escaped one in the base64', async (t) => {
  const raw = `{"contract":{"wasm":"${wrapped}"}}`;
  assertError(t, await req(app, { method: 'POST', url: '/execute', payload: raw, headers: { 'content-type': 'application/json' } }), 400, 'bad_request',
    'the body is not valid JSON (a line break (\\n) inside a string at line 1, column 98 (offset 97); JSON strings cannot hold raw control characters: base64 wrapped in lines? use `base64 -w0 file.wasm`)');
  const second = `{\n  "contract": {\n    "wasm": "ab\tc"\n  }\n}`;
  assertError(t, await req(app, { method: 'POST', url: '/execute', payload: second, headers: { 'content-type': 'application/json' } }), 400, 'bad_request', /a tab inside a string at line 3, column 16 \(offset 33\); JSON strings cannot hold raw control characters: escape it/);
  assertError(t, await req(app, { method: 'POST', url: '/execute', payload: '{"contract": {"hash" "x"}}', headers: { 'content-type': 'application/json' } }), 400, 'bad_request',
    /^the body is not valid JSON \(Expected ':' after property name at line 1, column 22 \(offset 21\)\)/);
  assertError(t, await execute(app, { contract: { wasm: wrapped } }), 400, 'bad_request',
    'body.contract.wasm is not valid base64: a line break (\\n) at offset 76: base64 here is one line without whitespace (GNU base64 wraps at 76 columns: use `base64 -w0 file.wasm`)');
  assertError(t, await execute(app, { contract: { wasm: b64(hello) }, input: 'aGVs bG8=' }), 400, 'bad_request', /^body\.input is not valid base64: a space at offset 4/);
  assertError(t, await execute(app, { contract: { wasm: b64(hello).replace(/\//g, '_') } }), 400, 'bad_request', /`_` at offset \d+ is base64url: send standard base64/);
  assertError(t, await execute(app, { contract: { wasm: 'AGFz==bQ==' } }), 400, 'bad_request', /a `=` at offset 4 before the end: padding only ends base64/);
});

t.test('hashes: uppercase, prefixed, shortened — each said', async (t) => {
  const h = 'dc9bd9cc89e22329732e374250d984e2690a494c7c7a13e28f8f9ff3e96604c2';
  const cases: Array<[string, string]> = [
    [h.toUpperCase(), 'hashes are 64 lowercase hex digits: got 64 with uppercase letters — use lowercase'],
    [`sha256:${h}`, 'drop the `sha256:` prefix: a module hash is its 64 lowercase hex digits alone'],
    [h.slice(0, 12), 'a shortened hash (12 hex digits): give all 64; GET /modules lists the stored modules with their hashes'],
    ['5933…3963', '"5933…3963" is a shortened hash (as logs abbreviate it): give all 64 hex digits; GET /modules lists the stored modules with their hashes'],
    [`${h}00`, '66 hex digits, more than the 64 of a sha256: a module hash is 64 lowercase hex digits'],
  ];
  for (const [hash, why] of cases) {
    assertError(t, await execute(app, { contract: { hash } }), 400, 'bad_request', `invalid request: body.contract.hash: ${why}`);
    assertError(t, await req(app, { method: 'GET', url: `/modules/${encodeURIComponent(hash)}` }), 400, 'bad_request', `the hash in the path: ${why}`);
  }
  assertError(t, await execute(app, { contract: { wasm: b64(hello) }, library: { hash: h.slice(0, 8) } }), 400, 'bad_request', 'invalid request: body.library.hash: a shortened hash (8 hex digits)');
});

t.test('paths as docs/API.md writes them: body.calls[1], body.args[0]', async (t) => {
  const batch = await req(app, { method: 'POST', url: '/execute/batch', payload: { calls: [{ contract: { wasm: b64(hello) } }, { contract: 5 }] } });
  assertError(t, batch, 400, 'bad_request', /^invalid request: body\.calls\[1\]\.contract is not valid: expected/);
  const hashInBatch = await req(app, { method: 'POST', url: '/execute/batch', payload: { calls: [{ contract: { wasm: b64(hello) } }, { contract: { wasm: b64(hello) } }, { contract: { hash: 'ABC' } }] } });
  assertError(t, hashInBatch, 400, 'bad_request', 'invalid request: body.calls[2].contract.hash: a shortened hash (3 hex digits)');
  assertError(t, await execute(app, { contract: { wasm: b64(hello) }, args: [true] }), 400, 'bad_request', /^invalid request: body\.args\[0\] is not valid/);
  // a call's own errors in a batch: the entry at its place, worded as POST /execute words them (the same answer)
  const calls = await req(app, { method: 'POST', url: '/execute/batch', payload: { calls: [{ contract: { wasm: b64(hello) }, input: b64('x') }, { contract: { wasm: hexOf } }, { contract: { wasm: b64(hello) }, input: '%' }] } });
  t.equal(calls.status, 200);
  t.equal(calls.body.results[0].ok, true, 'the good call runs');
  t.match(calls.body.results[1], { status: 422, error: { kind: 'invalid_module', message: /^the contract module \(body\.contract\.wasm\) is not valid WebAssembly: .* this looks like hex/ } });
  t.match(calls.body.results[2], { status: 400, error: { kind: 'bad_request', message: /^body\.input is not valid base64: `%` at offset 0/ } });
});

t.test('PUT /modules: a body that is not a binary module says what it is', async (t) => {
  assertError(t, await put(hexOf), 422, 'invalid_module', /^the body is not valid WebAssembly: expected magic word 00 61 73 6d, found 30 30 36 31 @\+0 — the bytes are hex text \(they start "0061736d", the wasm magic in hex\): send the binary module as the body \(e\.g\. `curl --data-binary @file\.wasm`\)$/);
  assertError(t, await put(b64(hello)), 422, 'invalid_module', /the body is base64 text \(it starts "AGFzbQ", the wasm magic in base64\): PUT \/modules takes the raw bytes/);
  assertError(t, await put('(module (func))', 'application/octet-stream'), 422, 'invalid_module', /the bytes are WebAssembly text \(WAT\)/);
  assertError(t, await put(JSON.stringify({ wasm: b64(hello) }), 'application/octet-stream'), 422, 'invalid_module', /the body is JSON: PUT \/modules takes the raw module bytes/);
  assertError(t, await put('contract.wasm'), 422, 'invalid_module', /the bytes are the text "contract\.wasm", a file name: .* \(with curl, `@` before the name reads the file\)/);
  assertError(t, await put(hello.subarray(0, 100)), 422, 'invalid_module', /^the body is not valid WebAssembly: [^—]+$/); // a cut module: the validator's words, no guess
  t.equal((await put(hello)).status, 201, 'and the module itself is stored');
});

t.test('POST /modules is a 405 naming the methods /modules takes', async (t) => {
  const r = await req(app, { method: 'POST', url: '/modules', payload: Buffer.from(hello), headers: { 'content-type': 'application/wasm' } });
  assertError(t, r, 405, 'method_not_allowed', 'POST is not allowed on /modules: use GET, HEAD, PUT');
  t.equal(r.headers.allow, 'GET, HEAD, PUT');
});
