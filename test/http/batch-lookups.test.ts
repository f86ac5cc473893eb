/**
 * A batch's modules are looked up all at once, each distinct one once: with the shared store (a real
 * Redis) frozen, a batch of many calls by hash waits about one store timeout in all — not one per call —
 * and answers 503 store_unavailable for each of them, while its inline calls run. Skips where no
 * redis-server is installed.
 */
import t from 'tap';
import type { FastifyInstance } from 'fastify';
import { b64, example, req, sha256, textOf, wat } from '../support/http.js';
import { startProcessApp } from '../support/process-app.js';
import { redisSkip, TestRedis } from '../support/redis.js';

const skip = redisSkip();
if (skip) t.comment(`skipped: ${skip}`);

const TIMEOUT_MS = 300;

async function lookupErrors(app: FastifyInstance): Promise<number> {
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  return [...text.matchAll(/^wasm_shared_store_lookups_total\{[^}]*result="error"[^}]*\} (\S+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
}

t.test('Redis frozen: a batch of 30 calls by hash waits one store timeout, not thirty', { skip }, async (t) => {
  const redis = await TestRedis.start(t);
  const { app } = await startProcessApp(t, { seedExamples: false, store: { shared: redis.url, sharedTimeoutMs: TIMEOUT_MS, sharedKeyPrefix: `b${process.pid}:` } });
  // ten modules this replica has never seen, each named by three calls
  const hashes: string[] = [];
  for (let i = 0; i < 10; i++) hashes.push(sha256(await wat(`(module (func (export "main") (result i32) i32.const ${i}))`)));
  const calls: unknown[] = hashes.flatMap((h) => [0, 1, 2].map(() => ({ contract: { hash: h } })));
  calls.push({ contract: { wasm: b64(example('hello')) }, input: b64('inline') });

  redis.freeze();
  t.teardown(() => redis.thaw());
  const before = await lookupErrors(app);
  const t0 = performance.now();
  const r = await req(app, { method: 'POST', url: '/execute/batch', payload: { calls } });
  const ms = performance.now() - t0;
  t.equal(r.status, 200);
  t.ok(ms < 10 * TIMEOUT_MS, `answered in ${ms.toFixed(0)} ms: one wait for the whole batch (one per call would be ${30 * TIMEOUT_MS} ms)`);
  for (const x of r.body.results.slice(0, 30)) {
    t.equal(x.status, 503);
    t.equal(x.error.kind, 'store_unavailable');
  }
  t.match(r.body.results[0].error.message, /the shared module store .* (did not answer within 300 ms|did not answer this batch's lookups within 300 ms)/);
  t.equal(textOf(r.body.results[30].result.output), 'hello, inline', 'the inline call runs');
  t.equal((await lookupErrors(app)) - before, 10, 'each distinct module asked for once');
  redis.thaw();
});
