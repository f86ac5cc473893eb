/**
 * The errors every route shares, through the real app (inject): 404 and 405 with `Allow`, 415 found
 * from the Content-Type before the body is read, JSON errors that say what is wrong (a `__proto__` key
 * named), Fastify's own errors (a bad URL, an overlong path parameter, a static path with `..`) in the
 * `{ error }` shape, a Swagger UI file served whole. test/e2e/http-statuses.test.ts sends the same and
 * the parser's own errors over a socket.
 */
import t from 'tap';
import { assertError, b64, req, startApp, wat } from '../support/http.js';

const { app } = await startApp(t, { seedExamples: false, bodyLimitBytes: 4096 });
const seven = await wat('(module (func (export "main") (result i32) i32.const 7))');

const json = (url: string, payload: string, method: 'POST' | 'PUT' = 'POST') => req(app, { method, url, payload, headers: { 'content-type': 'application/json' } });

t.test('404 for an unknown path, 405 with Allow for a known one with another method', async (t) => {
  assertError(t, await req(app, { method: 'GET', url: '/nope?x=1' }), 404, 'not_found', 'no route GET /nope: the routes are listed in docs/API.md');
  const cases: Array<[string, string, string]> = [
    ['GET', '/execute', 'POST'],
    ['DELETE', '/modules', 'GET, HEAD, PUT'],
    ['POST', `/modules/${'a'.repeat(64)}`, 'GET, HEAD'],
    ['PUT', '/health', 'GET, HEAD'],
    ['GET', '/execute/batch', 'POST'],
    ['OPTIONS', '/metrics', 'GET, HEAD'],
  ];
  for (const [method, url, allow] of cases) {
    const r = await req(app, { method: method as 'GET', url });
    assertError(t, r, 405, 'method_not_allowed', `${method} is not allowed on ${url}: use ${allow}`);
    t.equal(r.headers.allow, allow, `${method} ${url}: Allow: ${allow}`);
  }
  // a body sent to an unknown route is not read (nor refused for its type)
  assertError(t, await req(app, { method: 'POST', url: '/nope', payload: 'x', headers: { 'content-type': 'text/plain' } }), 404, 'not_found');
});

t.test('415 from the Content-Type, whatever the body holds', async (t) => {
  const wasmAsJson = await req(app, { method: 'PUT', url: '/modules', payload: Buffer.from(seven), headers: { 'content-type': 'application/json' } });
  assertError(t, wasmAsJson, 415, 'unsupported_media_type', 'PUT /modules accepts a body of Content-Type application/wasm or application/octet-stream, not application/json');
  assertError(t, await req(app, { method: 'POST', url: '/execute', payload: '{}', headers: { 'content-type': 'text/plain' } }), 415, 'unsupported_media_type', 'not text/plain');
  assertError(t, await req(app, { method: 'POST', url: '/execute/batch', payload: Buffer.from('{}'), headers: { 'content-type': 'application/octet-stream' } }), 415, 'unsupported_media_type');
  const noType = await app.inject({ method: 'POST', url: '/execute', payload: '{}', headers: { 'content-type': '' } });
  t.equal(noType.statusCode, 415, 'no Content-Type: 415');
  t.match(noType.json().error.message, /no Content-Type/);
  const charset = await req(app, { method: 'POST', url: '/execute', payload: JSON.stringify({ contract: { wasm: b64(seven) } }), headers: { 'content-type': 'Application/JSON; charset=utf-8' } });
  t.equal(charset.status, 200, 'parameters and case do not matter');
});

t.test('JSON errors say what is wrong and what to do', async (t) => {
  assertError(t, await json('/execute', '{"contract":'), 400, 'bad_request', /^the body is not valid JSON \(.+\): send one JSON object with Content-Type application\/json$/);
  assertError(t, await json('/execute', ''), 400, 'bad_request', 'the body is empty: send a JSON object');
  assertError(t, await json('/execute', '[1]'), 400, 'bad_request', 'invalid request: the body must be a JSON object: send one with Content-Type application/json');
  assertError(t, await req(app, { method: 'POST', url: '/execute' }), 400, 'bad_request', 'the body must be a JSON object');
  assertError(t, await json('/execute', '{"contract":{"wasm":"AA=="},"__proto__":{"polluted":1}}'), 400, 'bad_request', 'the JSON body has a `__proto__` key in body: no field of this API has that name');
  assertError(t, await json('/execute', '{"contract":{"\\u005f_proto__":{}}}'), 400, 'bad_request', '`__proto__` key in body.contract');
  assertError(t, await json('/execute/batch', '{"calls":[{"contract":{"constructor":{"prototype":{}}}}]}'), 400, 'bad_request', '`prototype` key in body.calls[0].contract.constructor');
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype touched');
  // a field merely named like that inside a string is fine
  const r = await json('/execute', JSON.stringify({ contract: { wasm: b64(seven) }, entrypoint: '__proto__' }));
  assertError(t, r, 400, 'bad_request', 'the contract exports no function `__proto__`');
});

t.test("Fastify's and its plugins' own errors come in the same shape", async (t) => {
  assertError(t, await req(app, { method: 'GET', url: '/modules/%zz' }), 400, 'bad_request', 'invalid percent-encoding');
  assertError(t, await req(app, { method: 'GET', url: `/modules/${'a'.repeat(300)}` }), 400, 'bad_request', 'a module hash is 64 lowercase hex digits');
  // (inject resolves the dots itself; the raw path is sent in test/e2e/http-statuses.test.ts)
  assertError(t, await req(app, { method: 'GET', url: '/docs/static/a/../../package.json' }), 404, 'not_found');
  assertError(t, await req(app, { method: 'GET', url: '/docs/static/nope.js' }), 404, 'not_found');
  const body = 'A'.repeat(5000);
  assertError(t, await json('/execute', JSON.stringify({ input: body })), 413, 'too_large', 'more than the body size limit of 4096');
  const range = await app.inject({ method: 'GET', url: '/docs/static/swagger-ui.css', headers: { range: 'bytes=999999999-', 'if-match': '"x"' } });
  t.equal(range.statusCode, 200, 'a Swagger UI file is served whole (no 206, 412, 416)');
  const badHost = await app.inject({ method: 'GET', url: '/health', headers: { host: '' } });
  t.equal(badHost.statusCode, 200, 'an empty Host is a Host');
});
