/**
 * Every error the spawned server (`node dist/server.js`) gives to a raw request comes with a status
 * docs/API.md documents and the `{ "error": { "kind", "message" } }` body, including the ones Node's
 * HTTP parser and Fastify's router find before any route runs. Sent over a socket, byte for byte.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ROOT, startServer } from './server-harness.js';
import { head, rawRequest } from './raw-http.js';

const S = await startServer(t, { WORKERS: '1', STORE_DIR: 'none', SEED_EXAMPLES: 'false', CHECK_MEMORY_BUDGET: 'false', BODY_LIMIT_BYTES: '4096' });

/** The statuses docs/API.md lists in its table of errors. */
const api = readFileSync(join(ROOT, 'docs/API.md'), 'utf8');
const documented = new Set([...api.matchAll(/^\| `(\d{3})` \| `([a-z_]+)` \|/gm)].map((m) => `${m[1]} ${m[2]}`));

const json = (method: string, path: string, body: string, headers: Record<string, string | number> = {}) =>
  head(method, path, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers }) + body;

const cases: Array<[string, string | Buffer, number, string, RegExp?]> = [
  ['an unknown route', head('GET', '/nope'), 404, 'not_found', /no route GET \/nope/],
  ['a wrong method', head('DELETE', '/execute'), 405, 'method_not_allowed', /use POST/],
  ['OPTIONS', head('OPTIONS', '/modules/abc'), 405, 'method_not_allowed', /use GET, HEAD/],
  ['CONNECT', 'CONNECT example.com:443 HTTP/1.1\r\nhost: example.com:443\r\n\r\n', 405, 'method_not_allowed', /not a proxy/],
  ['an overlong path parameter', head('GET', `/modules/${'a'.repeat(300)}`), 400, 'bad_request', /64 lowercase hex/],
  ['a bad percent-encoding', head('GET', '/modules/%zz'), 400, 'bad_request', /percent-encoding/],
  ['a header block over 16 KiB', head('GET', '/health', { 'x-big': 'a'.repeat(17_000) }), 431, 'headers_too_large', /16 KiB/],
  ['a URL over 16 KiB', head('GET', `/${'a'.repeat(17_000)}`), 431, 'headers_too_large'],
  ['a malformed header', 'GET /health HTTP/1.1\r\nhost: x\r\nbad header: 1\r\n\r\n', 400, 'bad_request', /malformed HTTP request \(HPE_INVALID_HEADER_TOKEN/],
  ['no Host', 'GET /health HTTP/1.1\r\nconnection: close\r\n\r\n', 400, 'bad_request', /Host header/],
  ['an unknown HTTP version', 'GET /health HTTP/3.1\r\nhost: x\r\n\r\n', 400, 'bad_request', /HPE_INVALID_VERSION/],
  ['not HTTP at all', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03', 400, 'bad_request', /malformed HTTP request/],
  ['two Content-Lengths', 'POST /execute HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n{}', 400, 'bad_request', /Content-Length/],
  ['Content-Length with chunked', 'POST /execute HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\ncontent-length: 2\r\n\r\n2\r\n{}\r\n0\r\n\r\n', 400, 'bad_request'],
  ['malformed JSON', json('POST', '/execute', '{"contract":'), 400, 'bad_request', /not valid JSON \(.*\): send one JSON object/],
  ['a __proto__ key', json('POST', '/execute', '{"contract":{"__proto__":{"x":1}}}'), 400, 'bad_request', /`__proto__` key in body\.contract.*remove it/],
  ['an escaped __proto__ key', json('POST', '/execute', '{"\\u005f_proto__":{}}'), 400, 'bad_request', /`__proto__`/],
  ['constructor.prototype', json('POST', '/execute/batch', '{"calls":[{"constructor":{"prototype":{}}}]}'), 400, 'bad_request', /`prototype` key in body\.calls\[0\]\.constructor/],
  ['an empty JSON body', json('POST', '/execute', ''), 400, 'bad_request', /the body is empty/],
  ['a body over the body size limit', json('POST', '/execute', `{"input":"${'A'.repeat(5000)}"}`), 413, 'too_large', /body size limit of 4096/],
  ['a module labelled JSON', Buffer.concat([Buffer.from(head('PUT', '/modules', { 'content-type': 'application/json', 'content-length': 8 })), Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0])]), 415, 'unsupported_media_type', /PUT \/modules accepts a body of Content-Type application\/wasm/],
  ['JSON labelled text/plain', head('POST', '/execute', { 'content-type': 'text/plain', 'content-length': 2 }) + '{}', 415, 'unsupported_media_type', /accepts a body of Content-Type application\/json, not text\/plain/],
  ['a JSON body without Content-Type', head('POST', '/execute', { 'content-length': 2 }) + '{}', 415, 'unsupported_media_type', /no Content-Type/],
  ['a batch as text/plain', head('POST', '/execute/batch', { 'content-type': 'text/plain', 'content-length': 2 }) + '{}', 415, 'unsupported_media_type'],
  ['a path out of the Swagger UI files', head('GET', '/docs/static/a/../../package.json'), 404, 'not_found'],
  ['an unknown Swagger UI file', head('GET', '/docs/static/nope.js'), 404, 'not_found'],
  ['an unknown module', head('GET', `/modules/${'0'.repeat(64)}`), 404, 'not_found'],
  ['a bad hash', head('GET', '/modules/xyz'), 400, 'bad_request', /64 lowercase hex/],
];

for (const [name, request, status, kind, message] of cases) {
  t.test(name, async (t) => {
    const r = await rawRequest(S.port, request, 5000);
    t.equal(r.status, status, `status ${status}`);
    t.match(r.headers['content-type'] ?? '', /^application\/json/, 'a JSON body');
    t.same(Object.keys(r.body ?? {}), ['error'], 'only `error`');
    t.same(Object.keys(r.body?.error ?? {}).sort(), ['kind', 'message'], 'kind and message');
    t.equal(r.body?.error?.kind, kind, `kind ${kind}`);
    if (message) t.match(r.body?.error?.message, message, 'the message says what to do');
    t.ok(documented.has(`${status} ${kind}`), `docs/API.md documents ${status} ${kind}`);
    if (status === 405) t.match(r.headers.allow ?? '', /^[A-Z, ]+$/, 'with Allow');
  });
}

t.test('what is not an error stays so', async (t) => {
  // an Expect other than 100-continue is ignored (Node alone would answer a bare 417)
  const expect = await rawRequest(S.port, head('GET', '/health', { expect: 'something' }));
  t.equal(expect.status, 200, 'an unknown Expect: served');
  // the Swagger UI files are served whole: no 206, 412 or 416
  const range = await rawRequest(S.port, head('GET', '/docs/static/swagger-ui.css', { range: 'bytes=999999999-' }));
  t.equal(range.status, 200, 'a Range past the end: the whole file');
  const ifMatch = await rawRequest(S.port, head('GET', '/docs/static/swagger-ui.css', { 'if-match': '"nope"' }));
  t.equal(ifMatch.status, 200, 'a failing If-Match: the whole file');
  const http10 = await rawRequest(S.port, 'GET /health HTTP/1.0\r\n\r\n');
  t.equal(http10.status, 200, 'HTTP/1.0 without Host');
});
