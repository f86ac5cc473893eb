/**
 * The HTTP server against hostile clients, on the built server (`node dist/server.js`): slow-loris
 * clients (headers or body dribbled) cut after the `http.*` timeouts while normal requests are
 * answered; idle keep-alive connections closed; connections past `http.maxConnections` closed at once
 * while the open ones are served; and a process out of file descriptors (EMFILE) that keeps running
 * and answers once they are free. Each part takes a few seconds.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import t from 'tap';
import { b64, sleep, startServer, waitFor } from './server-harness.js';
import { head, RawConnection, rawRequest } from './raw-http.js';

const BASE = { WORKERS: '1', STORE_DIR: 'none', SEED_EXAMPLES: 'false', CHECK_MEMORY_BUDGET: 'false', OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0' };

/** A module whose `main` returns 7. */
const SEVEN = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f, 0x03, 0x02, 0x01, 0x00, 0x07, 0x08, 0x01, 0x04, 0x6d, 0x61,
  0x69, 0x6e, 0x00, 0x00, 0x0a, 0x06, 0x01, 0x04, 0x00, 0x41, 0x07, 0x0b,
]);

const isError = (t: Pick<(typeof import('tap'))['t'], 'same' | 'equal' | 'ok'>, body: any, kind: string) => {
  t.same(Object.keys(body ?? {}), ['error'], 'the { error } shape');
  t.equal(body?.error?.kind, kind, `kind ${kind}`);
  t.ok(typeof body?.error?.message === 'string' && body.error.message.length > 0, 'a message');
};

t.test('slow clients are cut after the timeouts; normal requests are answered meanwhile', async (t) => {
  const S = await startServer(t, { ...BASE, HTTP_HEADERS_TIMEOUT_MS: '1000', HTTP_REQUEST_TIMEOUT_MS: '2000', HTTP_KEEP_ALIVE_TIMEOUT_MS: '500' });

  // headers dribbled one byte every 100 ms: never complete within 1 s
  const slowHeaders = new RawConnection(S.port);
  await slowHeaders.opened;
  void slowHeaders.dribble(`GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\nx-slow: ${'a'.repeat(100)}\r\n\r\n`, 100);
  // complete headers, a body of 100 bytes dribbled one byte every 100 ms: over the 2 s request timeout
  const slowBody = new RawConnection(S.port);
  await slowBody.opened;
  slowBody.send(head('POST', '/execute', { 'content-type': 'application/json', 'content-length': 100 }));
  void slowBody.dribble(`{"contract":{"wasm":"${'A'.repeat(80)}"}}`.padEnd(100, ' '), 100);
  // a connection that says nothing
  const silent = new RawConnection(S.port);
  await silent.opened;

  // served while the three hang on
  for (let i = 0; i < 3; i++) {
    const h = await S.request('GET', '/health', undefined, { timeoutMs: 1000 });
    t.equal(h.status, 200, 'GET /health answered while slow clients hold connections');
    const r = await S.request('POST', '/execute', { contract: { wasm: b64(SEVEN) } }, { timeoutMs: 2000 });
    t.same([r.status, r.body.result?.values], [200, [7]], 'an execution answered too');
    await sleep(150);
  }

  for (const [name, c, within] of [
    ['dribbled headers', slowHeaders, 2500],
    ['dribbled body', slowBody, 3500],
    ['a silent connection', silent, 2500],
  ] as const) {
    const r = await c.reply(6000);
    t.ok(r.closed, `${name}: closed by the server`);
    t.ok(r.ms < within, `${name}: within ${within} ms (${Math.round(r.ms)} ms)`);
    t.equal(r.status, 408, `${name}: 408`);
    isError(t, r.body, 'request_timeout');
    t.match(r.body.error.message, /not received in time/);
    c.close();
  }

  // keep-alive: after an answer, an idle connection is closed after http.keepAliveTimeoutMs
  const idle = new RawConnection(S.port);
  await idle.opened;
  idle.send('GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n');
  const kept = await idle.reply(3000);
  t.ok(kept.closed, 'an idle keep-alive connection is closed');
  t.ok(kept.ms < 2000, `soon after 500 ms (${Math.round(kept.ms)} ms)`);
  t.equal(kept.status, 200, 'after its answer');

  const metrics = await S.request('GET', '/metrics');
  t.match(metrics.text, /wasm_http_client_errors_total\{kind="request_timeout"\} [3-9]/, 'the timeouts are counted');
});

t.test('a connection that never sends a byte is cut after the headers timeout, not the minute-long connection timeout', async (t) => {
  // the keep-alive and request timeouts long: only the headers timeout can cut these in time
  const S = await startServer(t, { ...BASE, HTTP_HEADERS_TIMEOUT_MS: '1000', HTTP_REQUEST_TIMEOUT_MS: '30000', HTTP_KEEP_ALIVE_TIMEOUT_MS: '60000' });
  const silent = await Promise.all(Array.from({ length: 20 }, async () => {
    const c = new RawConnection(S.port);
    await c.opened;
    return c;
  }));
  const replies = await Promise.all(silent.map((c) => c.reply(8000)));
  t.ok(replies.every((r) => r.closed), 'all 20 closed by the server');
  const slowest = Math.max(...replies.map((r) => r.ms));
  t.ok(slowest < 3000, `within 3 s of opening (slowest ${Math.round(slowest)} ms)`);
  // a connection that did send its request keeps the server's own timeouts: it is answered
  const h = await S.request('GET', '/health', undefined, { timeoutMs: 2000 });
  t.equal(h.status, 200);
});

t.test('connections past http.maxConnections are closed at once; the open ones are served', async (t) => {
  const S = await startServer(t, { ...BASE, HTTP_MAX_CONNECTIONS: '4' });
  const held: RawConnection[] = [];
  for (let i = 0; i < 4; i++) {
    const c = new RawConnection(S.port);
    await c.opened;
    held.push(c);
  }
  await sleep(200); // accepted by the server
  const extra = await rawRequest(S.port, head('GET', '/health'), 2000);
  t.ok(extra.closed, 'a fifth connection is closed');
  t.equal(extra.status, 0, 'without an answer');
  t.ok(extra.ms < 1000, `at once (${Math.round(extra.ms)} ms)`);

  // the held connections are served
  held[0]!.send(head('GET', '/health'));
  const served = await held[0]!.reply(3000);
  t.equal(served.status, 200, 'a held connection is answered');
  held[1]!.send(head('POST', '/execute', { 'content-type': 'application/json', 'content-length': JSON.stringify({ contract: { wasm: b64(SEVEN) } }).length }));
  held[1]!.send(JSON.stringify({ contract: { wasm: b64(SEVEN) } }));
  const ran = await held[1]!.reply(3000);
  t.same([ran.status, ran.body.result?.values], [200, [7]], 'and runs executions');

  for (const c of held) c.close();
  await sleep(200);
  const after = await rawRequest(S.port, head('GET', '/metrics'), 3000);
  t.equal(after.status, 200, 'new connections are served once the others closed');
  t.match(after.body, /wasm_http_connections_refused_total\{reason="over_cap"\} [1-9]/, 'the refusal is counted');
  await S.waitForLog((l) => /http\.maxConnections connections are open/.test(l.msg ?? ''), 2000, 'the refusal logged');
});

const hasPrlimit = spawnSync('prlimit', ['--version']).status === 0 && process.platform === 'linux';

t.test('out of file descriptors (EMFILE): the process keeps running and answers once they are free', { skip: !hasPrlimit && 'needs prlimit (util-linux) on Linux' }, async (t) => {
  // Started with the usual limit (Node's module loader opens hundreds of files at once while
  // starting), then lowered to what the running server holds plus 24.
  const S = await startServer(t, { ...BASE, OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '1000', HTTP_MAX_CONNECTIONS: '10000' });
  const pid = S.proc.pid!;
  const fds = () => readdirSync(`/proc/${pid}/fd`).length;
  const limit = fds() + 24;
  const set = spawnSync('prlimit', ['--pid', String(pid), `--nofile=${limit}:${limit}`]);
  t.equal(set.status, 0, `file limit lowered to ${limit}`);

  const flood: RawConnection[] = [];
  for (let i = 0; i < limit + 40; i++) flood.push(new RawConnection(S.port));
  await Promise.allSettled(flood.map((c) => c.opened));
  const full = await waitFor(() => (fds() >= limit - 1 ? fds() : undefined), 3000, 'the server to run out of descriptors');
  t.ok(full >= limit - 1, `the server holds ${full} of ${limit} descriptors`);
  await waitFor(() => (flood.some((c) => c.closed) ? true : undefined), 3000, 'connections past the limit to be closed');
  t.ok(flood.some((c) => c.closed), 'connections past the limit are closed');
  // under-pressure samples memory (a /proc read, one descriptor) every 250 ms: a throw would end the process
  await sleep(1000);
  t.ok(S.running, 'still running while out of descriptors');

  for (const c of flood) c.close();
  const health = await waitFor(async () => {
    const r = await S.request('GET', '/health', undefined, { timeoutMs: 1000 }).catch(() => undefined);
    return r?.status === 200 ? r : undefined;
  }, 5000, 'GET /health once descriptors are free');
  t.equal(health.status, 200, 'answers once descriptors are free');
  const r = await S.request('POST', '/execute', { contract: { wasm: b64(SEVEN) } });
  t.same([r.status, r.body.result?.values], [200, [7]], 'and executes');
  t.ok(S.running, 'the process is alive');
  t.notOk(S.logs().some((l) => /uncaught|unhandled/.test(l.msg ?? '')), 'no uncaught error logged');
});
