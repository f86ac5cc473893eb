/**
 * Replicas sharing one real Redis (config store.shared) over HTTP: an upload on one replica executes by
 * hash on another with the exact same answer (and describes, and batches); a replica with an empty disk
 * finds every module; a corrupt value in Redis is refused (404, counted) and repaired by the next upload;
 * Redis killed mid-run and frozen: modules a replica holds keep executing, inline executions go on, a
 * module it does not hold is a 503 store_unavailable with Retry-After (never a hang, never a 404 that
 * would be a lie), uploads are 503, /ready stays 200 and reports the store, metrics count it all; Redis
 * back: everything works again. A replica started while Redis is down starts, and serves its own.
 * Skips where no redis-server is installed.
 *
 * One pair of replicas (A seeds the examples and writes, B reads) serves the subtests on the running
 * Redis, in order, each with modules B has not read before (variants of the examples: the same code
 * under another hash, so that A's seeding does not already hold them): an app start is ~0.5 CPU-s plus
 * its worker's compiles, and a pair per subtest cost ~4 CPU-s more. Counters that A's seeding moved
 * are compared by their change.
 */
import t from 'tap';
import type { FastifyInstance } from 'fastify';
import { assertError, b64, example, execute, req, sha256, startApp, textOf, withoutTimings } from '../support/http.js';
import { leb } from '../support/leb.js';
import { redisSkip, TestRedis } from '../support/redis.js';

const skip = redisSkip();
if (skip) t.comment(`skipped: ${skip}`);

const TIMEOUT_MS = 300;
const hello = example('hello');
/** `bytes` with a custom section appended: the same behaviour under another hash (a module B has never seen). */
function variant(bytes: Uint8Array, tag: string): Uint8Array {
  const name = new TextEncoder().encode(tag);
  const payload = [...leb(name.length), ...name];
  return new Uint8Array([...bytes, 0, ...leb(payload.length), ...payload]);
}
// uploaded by the first subtest: not among what A seeded
const kv = variant(example('kv'), 'shared-store');
const lib = variant(example('library'), 'shared-store');
const KV_INPUT = b64('b=2\na=1\nc=3\n');
const kvCall = { contract: { hash: sha256(kv) }, library: { hash: sha256(lib) }, input: KV_INPUT };

let n = 0;
/** Replicas of one test share a key prefix of their own: one Redis serves the whole file. */
const prefix = () => `h${++n}-${process.pid}:`;

/** A replica: the real app with its own fresh store directory, on the shared Redis. */
async function replica(t: Parameters<typeof startApp>[0], url: string, sharedKeyPrefix: string, overrides: Record<string, unknown> = {}) {
  const { app } = await startApp(t, { seedExamples: false, store: { shared: url, sharedTimeoutMs: TIMEOUT_MS, sharedKeyPrefix }, ...overrides });
  return app;
}

const put = (app: FastifyInstance, bytes: Uint8Array) => req(app, { method: 'PUT', url: '/modules', payload: Buffer.from(bytes), headers: { 'content-type': 'application/wasm' } });

/** Samples of one metric by the value of one label. */
async function metric(app: FastifyInstance, name: string, label?: string): Promise<Record<string, number>> {
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  const out: Record<string, number> = {};
  const re = label ? new RegExp(`^${name}\\{[^}]*${label}="(\\w+)"[^}]*\\} (\\S+)$`, 'gm') : new RegExp(`^${name}() (\\S+)$`, 'gm');
  for (const m of text.matchAll(re)) out[m[1] || 'value'] = (out[m[1] || 'value'] ?? 0) + Number(m[2]);
  return out;
}

const ready = async (app: FastifyInstance) => req(app, { method: 'GET', url: '/ready' });

/** Until the replica's /ready says the shared store is up again (it reconnects by itself). */
async function untilUp(app: FastifyInstance): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if ((await ready(app)).body.sharedStore.state === 'up') return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

t.test('replicas sharing one Redis', { skip }, async (t) => {
  const redis = await TestRedis.start(t);
  const raw = redis.client(t);
  // the pair of the subtests below (they run in order; see the top comment)
  const p = prefix();
  const a = await replica(t, redis.url, p, { seedExamples: true });
  const b = await replica(t, redis.url, p);

  t.test('an upload on A executes by hash on B with the exact same answer', async (t) => {
    const writes = await metric(a, 'wasm_shared_store_writes_total', 'result'); // A's seeding
    t.equal((await put(a, kv)).status, 201, 'A: kv new');
    t.equal((await put(a, lib)).status, 201, 'A: library new');
    const onA = await execute(a, kvCall);
    const onB = await execute(b, kvCall);
    t.equal(onA.status, 200);
    t.equal(onA.body.ok, true);
    t.equal(onB.status, 200);
    t.same(withoutTimings(onB.body), withoutTimings(onA.body), 'the same values, output, logs, fuel and memory');
    const described = await req(b, { method: 'GET', url: `/modules/${sha256(lib)}` });
    t.equal(described.status, 200);
    t.same(described.body, (await req(a, { method: 'GET', url: `/modules/${sha256(lib)}` })).body, 'B describes it as A does');
    const again = await put(b, kv);
    t.equal(again.status, 200, 'an upload on B of what A stored: known');
    t.same(again.body, (await put(a, kv)).body);
    const batch = await req(b, { method: 'POST', url: '/execute/batch', payload: { calls: [kvCall, kvCall] } });
    t.equal(batch.status, 200);
    t.same(batch.body.results.map(withoutTimings), [withoutTimings(onA.body), withoutTimings(onA.body)], 'a batch on B too');
    t.same(await metric(b, 'wasm_shared_store_lookups_total', 'result'), { hit: 2, miss: 0, corrupt: 0, error: 0 }, 'B read the two modules once each');
    const now = await metric(a, 'wasm_shared_store_writes_total', 'result');
    t.same(Object.fromEntries(Object.entries(now).map(([k, v]) => [k, v - (writes[k] ?? 0)])), { written: 2, known: 1, repaired: 0, error: 0 }, 'A wrote two, one known');
    t.same(await metric(b, 'wasm_shared_store_up'), { value: 1 });
    t.match((await metric(b, 'wasm_shared_store_duration_seconds_count', 'op')), { read: 2, write: 1 }, 'durations observed');
    const r = await ready(b);
    t.equal(r.status, 200);
    t.same(r.body.sharedStore, { url: redis.url, state: 'up', lastError: null }, '/ready reports the store');

    t.test('a new replica with an empty disk executes it too', async (t) => {
      const c = await replica(t, redis.url, p);
      const onC = await execute(c, kvCall);
      t.same(withoutTimings(onC.body), withoutTimings(onA.body));
    });
  });

  t.test('an unknown module is a 404 on every replica; the seeded examples are shared', async (t) => {
    t.equal((await raw.exists(`${p}module:${sha256(hello)}`)), 1, 'the examples A seeded are in Redis');
    const r = await execute(b, { contract: { hash: sha256(hello) }, input: b64('there') });
    t.equal(textOf(r.body.result.output), 'hello, there', 'B runs an example A seeded');
    assertError(t, await execute(b, { contract: { hash: '0'.repeat(64) } }), 404, 'not_found', /upload it with PUT \/modules/);
  });

  t.test('a corrupt value in Redis: refused (404), counted, removed; the next upload repairs it', async (t) => {
    // a module neither replica has held
    const fib = variant(example('fib'), 'corrupt');
    const fibCall = { contract: { hash: sha256(fib) }, entrypoint: 'fib', args: [10] };
    const key = `${p}module:${sha256(fib)}`;
    // another valid module under fib's hash: only the hash check can tell
    await raw.set(key, Buffer.from(hello));
    assertError(t, await execute(b, fibCall), 404, 'not_found', `no module with hash ${sha256(fib)} (the contract)`);
    t.equal((await metric(b, 'wasm_shared_store_lookups_total', 'result')).corrupt, 1, 'counted');
    t.equal(await raw.exists(key), 0, 'removed');
    await raw.set(key, Buffer.from(hello));
    t.equal((await put(a, fib)).status, 201, 'the upload over it');
    t.equal((await metric(a, 'wasm_shared_store_writes_total', 'result')).repaired, 1, 'counted as a repair');
    const r = await execute(b, fibCall);
    t.equal(r.status, 200);
    t.equal(r.body.ok, true, 'B runs the right module');
    t.strictSame(r.body.result.values, ['55'], 'fib(10) (an i64: a decimal string)');
  });

  t.test('Redis killed mid-run, then back', async (t) => {
    // B holds kv and the library since the first subtest
    const before = await execute(b, kvCall);
    t.equal(before.status, 200, 'B holds kv and the library');
    const absent = variant(hello, 'killed'); // B ran the seeded hello: another hash
    t.equal((await put(a, absent)).status, 201, 'in Redis, not on B');

    await redis.stop();
    t.teardown(() => redis.restart());
    await new Promise((r) => setTimeout(r, 100)); // the replicas see the connection close

    const held = await execute(b, kvCall);
    t.same(withoutTimings(held.body), withoutTimings(before.body), 'a module B holds: the same answer');
    const t0 = performance.now();
    const missing = await execute(b, { contract: { hash: sha256(absent) }, input: b64('x') });
    const ms = performance.now() - t0;
    assertError(t, missing, 503, 'store_unavailable', `the shared module store ${redis.url} is not reachable`);
    t.match(missing.body.error.message, `and the contract (${sha256(absent)}) is not on this replica: retry later`);
    t.equal(missing.headers['retry-after'], '2', 'Retry-After');
    t.ok(ms < TIMEOUT_MS, `answered at once (${ms.toFixed(1)} ms): no wait on a store that is down`);
    assertError(t, await req(b, { method: 'GET', url: `/modules/${sha256(absent)}` }), 503, 'store_unavailable', /the module is not on this replica/);
    const inline = await execute(b, { contract: { wasm: b64(hello) }, input: b64('inline') });
    t.equal(textOf(inline.body.result.output), 'hello, inline', 'an inline execution goes on');
    const upload = await put(b, example('compute')); // seeded on A, not on B
    assertError(t, upload, 503, 'store_unavailable', /kept on this replica only \(another would answer 404 for it\): retry the upload/);
    const batch = await req(b, { method: 'POST', url: '/execute/batch', payload: { calls: [{ contract: { hash: 'ab'.repeat(32) } }, { contract: { wasm: b64(hello) }, input: b64('b') }] } });
    t.equal(batch.status, 200);
    t.match(batch.body.results[0], { status: 503, error: { kind: 'store_unavailable' } }, 'a batch call by a hash B does not hold: 503 in its entry (it may exist: not a 404)');
    t.equal(textOf(batch.body.results[1].result.output), 'hello, b', 'the other call runs');
    const r = await ready(b);
    t.equal(r.status, 200, '/ready stays ready');
    t.match(r.body.sharedStore, { url: redis.url, state: 'down', lastError: { message: /connection/, at: String } }, 'and says the store is down');
    t.same(await metric(b, 'wasm_shared_store_up'), { value: 0 });
    t.match(await metric(b, 'wasm_shared_store_lookups_total', 'result'), { error: 3 }, 'read errors counted');
    t.match(await metric(b, 'wasm_shared_store_writes_total', 'result'), { error: 1 }, 'the failed upload counted');
    t.match(await metric(b, 'wasm_requests_rejected_total', 'kind'), { store_unavailable: 1 }, 'the execute 503 among the rejected requests');
    t.match(await metric(b, 'wasm_shared_store_duration_seconds_count', 'result'), { error: 4 }, 'failed operations timed too');

    await redis.restart();
    t.ok(await untilUp(b), 'B reconnects by itself');
    t.ok(await untilUp(a), 'and A (the next subtest writes through it)');
    t.equal((await put(b, absent)).status, 201, 'uploads work again (this Redis kept nothing)');
    const back = await execute(b, { contract: { hash: sha256(absent) }, input: b64('back') });
    t.equal(textOf(back.body.result.output), 'hello, back');
  });

  t.test('Redis frozen: a module B lacks is a 503 after the timeout, never a hang', async (t) => {
    // a variant of hello (another hash) that B has never seen
    const lacked = variant(hello, 'frozen');
    t.equal((await put(a, lacked)).status, 201, 'in Redis, not on B');
    redis.freeze();
    t.teardown(() => redis.thaw());
    const t0 = performance.now();
    const r = await execute(b, { contract: { hash: sha256(lacked) } });
    const ms = performance.now() - t0;
    assertError(t, r, 503, 'store_unavailable', `did not answer within ${TIMEOUT_MS} ms`);
    t.ok(ms < TIMEOUT_MS + 2000, `bounded by the timeout (${ms.toFixed(0)} ms)`);
    const inline = await execute(b, { contract: { wasm: b64(hello) }, input: b64('frozen') });
    t.equal(textOf(inline.body.result.output), 'hello, frozen', 'inline executions are not held up');
    t.equal((await ready(b)).status, 200);
    redis.thaw();
    const after = await execute(b, { contract: { hash: sha256(lacked) }, input: b64('thawed') });
    t.equal(textOf(after.body.result.output), 'hello, thawed');
  });

  t.test('a replica started while Redis is down starts, ready, and serves what it holds', async (t) => {
    const dead = 'redis://127.0.0.1:1/0';
    const a = await replica(t, dead, prefix(), { seedExamples: true });
    const r = await ready(a);
    t.equal(r.status, 200);
    t.match(r.body.sharedStore, { url: dead, state: 'down' });
    const run = await execute(a, { contract: { hash: sha256(hello) }, input: b64('alone') });
    t.equal(textOf(run.body.result.output), 'hello, alone', 'the seeded examples are local');
  });
});

t.test('without a shared store: /ready has no sharedStore, /metrics no shared-store samples', async (t) => {
  const { app } = await startApp(t, { seedExamples: false });
  const r = await ready(app);
  t.equal(r.status, 200);
  t.notOk('sharedStore' in r.body);
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  t.notMatch(text, /^wasm_shared_store_(up|lookups\{|writes\{)/m);
});
