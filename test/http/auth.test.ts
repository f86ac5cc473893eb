/**
 * Optional bearer-token authentication (auth.token): every route needs the token except GET /health
 * (and GET /metrics unless auth.metrics is "token"); a wrong or missing token is a 401 before the body
 * is read, compared in constant time. And what the logs never hold: module bytes, inputs, outputs, the
 * token.
 */
import { Writable } from 'node:stream';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { b64, example, execute, req, sha256, startApp } from '../support/http.js';

const TOKEN = 'a-long-enough-test-token-1234';
const hello = example('hello');
const bearer = { authorization: `Bearer ${TOKEN}` };

t.test('with a token: 401 without it or with another, the work with it; /health open', async (t) => {
  // no seeding (the bundled examples, 6.7 MB of them Iroha's: ~0.4 CPU-s a start): hello is uploaded here
  const { app } = await startApp(t, { seedExamples: false, auth: { token: TOKEN, metrics: 'open' } });
  const body = { contract: { hash: sha256(hello) }, input: b64('x') };
  const upload = await req(app, { method: 'PUT', url: '/modules', payload: Buffer.from(hello), headers: { 'content-type': 'application/wasm', ...bearer } });
  t.equal(upload.status, 201, 'hello uploaded with the token');
  for (const [name, headers] of [
    ['no header', {}],
    ['another token', { authorization: 'Bearer a-long-enough-but-wrong-token' }],
    ['the token as Basic', { authorization: `Basic ${TOKEN}` }],
    ['a prefix of the token', { authorization: `Bearer ${TOKEN.slice(0, -1)}` }],
    ['the token and more', { authorization: `Bearer ${TOKEN}x` }],
  ] as const) {
    const r = await execute(app, body, headers);
    t.equal(r.status, 401, `${name}: 401`);
    t.equal(r.body.error.kind, 'unauthorized');
    t.equal(r.headers['www-authenticate'], 'Bearer realm="wasm-contract-runner"');
  }
  t.equal((await execute(app, body)).body.error.message, 'this service needs `Authorization: Bearer <token>`');
  const ok = await execute(app, body, bearer);
  t.equal(ok.status, 200);
  t.equal(ok.body.ok, true);
  t.equal((await execute(app, body, { authorization: `bearer ${TOKEN}` })).status, 200, 'the scheme is case-insensitive');
  const put = (headers: Record<string, string>) =>
    req(app, { method: 'PUT', url: '/modules', payload: Buffer.from(hello), headers: { 'content-type': 'application/wasm', ...headers } });
  t.equal((await put({})).status, 401, 'PUT /modules needs it');
  t.equal((await put(bearer)).status, 200);
  t.equal((await req(app, { method: 'GET', url: `/modules/${sha256(hello)}` })).status, 401, 'GET /modules needs it');
  // a readiness probe (Kubernetes' httpGet) carries no secret, and the body holds none
  t.equal((await req(app, { method: 'GET', url: '/ready' })).status, 200, '/ready is open');
  t.equal((await req(app, { method: 'GET', url: '/ready', headers: bearer })).status, 200);
  t.equal((await req(app, { method: 'GET', url: '/health' })).status, 200, '/health is open');
  t.equal((await req(app, { method: 'GET', url: '/health?x=1' })).status, 200, 'with a query too');
  t.equal((await req(app, { method: 'GET', url: '/metrics' })).status, 200, '/metrics open by default');
  t.equal((await req(app, { method: 'POST', url: '/execute/batch', payload: { calls: [body] } })).status, 401, 'batches need it');
  t.equal((await req(app, { method: 'GET', url: '/nope' })).status, 401, 'unknown routes too: nothing is revealed');
});

t.test('auth.metrics "token": /metrics needs it too', async (t) => {
  const { app } = await startApp(t, { seedExamples: false, auth: { token: TOKEN, metrics: 'token' } });
  t.equal((await req(app, { method: 'GET', url: '/metrics' })).status, 401);
  t.equal((await req(app, { method: 'GET', url: '/metrics', headers: bearer })).status, 200);
  t.equal((await req(app, { method: 'GET', url: '/health' })).status, 200);
});

t.test('a token shorter than 16 characters is refused by the configuration', async (t) => {
  t.throws(() => loadConfig({ AUTH_TOKEN: 'short' }), /auth\/token/);
});

t.test('the logs hold no module bytes, inputs, outputs or tokens', async (t) => {
  const lines: string[] = [];
  const stream = new Writable({ write: (chunk, _e, done) => (lines.push(String(chunk)), done()) });
  const dir = mkdtempSync(join(tmpdir(), 'wcr-logs-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const config = loadConfig({}, { workers: 1, logLevel: 'debug', store: { dir }, seedExamples: false, auth: { token: TOKEN, metrics: 'open' } });
  const app = await buildApp(config, { logger: { level: 'debug', stream } });
  t.teardown(() => app.close());
  await app.ready();
  const secretInput = 'secret-input-0123456789';
  const inline = b64(hello);
  const r = await execute(app, { contract: { wasm: inline }, input: b64(secretInput) }, bearer);
  t.equal(r.status, 200);
  await execute(app, { contract: { wasm: inline }, input: b64(secretInput) }, { authorization: 'Bearer wrong-but-long-enough-token' });
  await req(app, { method: 'PUT', url: '/modules', payload: Buffer.from(hello), headers: { 'content-type': 'application/wasm', ...bearer } });
  const log = lines.join('');
  t.ok(log.includes('"execution"') || log.includes('execution'), 'the execution was logged');
  for (const [what, text] of [
    ['the token', TOKEN],
    ['the input (text)', secretInput],
    ['the input (base64)', b64(secretInput)],
    ['the module (base64, a prefix)', inline.slice(0, 40)],
    ['the output', Buffer.from(r.body.result.output, 'base64').toString()],
  ] as const) {
    t.notOk(log.includes(text), `no ${what} in ${lines.length} log lines`);
  }
});
