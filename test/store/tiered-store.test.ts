/**
 * The module store in front of a shared Redis (src/store/tiered-store.ts, src/store/redis-store.ts),
 * against a real redis-server: write-through and read-through between two "replicas" (two local
 * stores), verification of every shared read (a corrupt value refused, removed, and repaired by the
 * next upload), one shared read for concurrent gets, and failures that never hang: Redis killed
 * (fails at once), Redis frozen (fails after the timeout), Redis back (works again). Skips where no
 * redis-server is installed.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ModuleStore } from '../../src/store/module-store.js';
import { RedisSharedStore } from '../../src/store/redis-store.js';
import { redactUrl, SharedStoreError } from '../../src/store/shared-store.js';
import { TieredModuleStore } from '../../src/store/tiered-store.js';
import { redisSkip, TestRedis, type Teardown } from '../support/redis.js';

const skip = redisSkip();
if (skip) t.comment(`skipped: ${skip}`);

const TIMEOUT_MS = 300;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const bytesOf = (text: string) => new Uint8Array(Buffer.from(`\0asm\x01\0\0\0${text}`, 'latin1'));

interface Logged {
  level: 'warn' | 'info';
  obj: object;
  msg: string;
}

/** One replica: a local store of its own (a fresh directory) in front of the shared Redis. */
function replica(tt: Teardown, url: string, prefix: string, logs: Logged[] = [], timeoutMs = TIMEOUT_MS) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wcr-tiered-'));
  tt.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const logger = { warn: (obj: object, msg: string) => logs.push({ level: 'warn', obj, msg }), info: (obj: object, msg: string) => logs.push({ level: 'info', obj, msg }) };
  const shared = new RedisSharedStore({ url, timeoutMs, logger });
  const observed: Array<{ op: string; ok: boolean }> = [];
  const store = new TieredModuleStore({
    local: new ModuleStore({ dir, memoryBudgetBytes: 1 << 20, logger }),
    shared,
    keyPrefix: prefix,
    logger,
    observe: (op, _s, ok) => observed.push({ op, ok }),
  });
  tt.teardown(() => store.close());
  return { store, shared, observed, logs, dir };
}

let n = 0;
/** A key prefix of its own per test: one Redis serves the whole file. */
const prefix = () => `t${++n}-${process.pid}:`;

/** Elapsed milliseconds of `p`, with its value or error. */
async function timed<T>(p: Promise<T>): Promise<{ ms: number; value?: T; error?: unknown }> {
  const t0 = performance.now();
  try {
    const value = await p;
    return { ms: performance.now() - t0, value };
  } catch (error) {
    return { ms: performance.now() - t0, error };
  }
}

t.test('shared store', { skip }, async (t) => {
  const redis = await TestRedis.start(t);
  const raw = redis.client(t);

  t.test('an upload on one replica is read, verified, on another, which keeps it locally', async (t) => {
    const p = prefix();
    const a = replica(t, redis.url, p);
    const b = replica(t, redis.url, p);
    t.ok(await a.shared.connected(5000), 'A connected');
    t.ok(await b.shared.connected(5000), 'B connected');
    const bytes = bytesOf('one');
    const hash = sha(bytes);

    t.same(await a.store.put(bytes), { hash, created: true }, 'new to the replicas together: created');
    t.same(await a.store.put(bytes), { hash, created: false }, 'the same bytes again: known');
    t.same(new Uint8Array((await raw.getBuffer(`${p}module:${hash}`))!), bytes, 'Redis holds the exact bytes under prefix + module: + hash');

    t.same(await b.store.get(hash), bytes, 'B reads it through');
    t.same(b.store.sharedStats(), { hits: 1, misses: 0, corrupt: 0, readErrors: 0, written: 0, known: 0, repaired: 0, writeErrors: 0 });
    await b.store.flush(); // the local copy is written in the background
    t.same(await b.store.get(hash), bytes, 'again');
    t.equal(b.store.sharedStats()!.hits, 1, 'the second read is local: Redis is asked once');
    t.equal(b.store.stats().diskHits + b.store.stats().memoryHits, 1, 'answered by the local store');
    t.same(await b.store.put(bytes), { hash, created: false }, 'an upload on B of what A stored: known (200)');
    t.same(a.store.sharedStats(), { hits: 0, misses: 0, corrupt: 0, readErrors: 0, written: 1, known: 1, repaired: 0, writeErrors: 0 });
    t.match(a.observed, [{ op: 'write', ok: true }, { op: 'write', ok: true }], 'each shared operation observed');
    t.equal(await b.store.get('0'.repeat(64)), null, 'unknown everywhere: null (a 404)');
    t.equal(b.store.sharedStats()!.misses, 1);
    t.equal(await b.store.get('../../etc/passwd'), null, 'not a hash: null, Redis not asked');
    t.equal(b.store.sharedStats()!.misses, 1);
  });

  t.test('a fresh replica with an empty disk finds every module; its local copy survives Redis', async (t) => {
    const p = prefix();
    const a = replica(t, redis.url, p);
    await a.shared.connected(5000);
    const mods = [bytesOf('x'), bytesOf('y'), bytesOf('z')];
    for (const m of mods) await a.store.put(m);
    const c = replica(t, redis.url, p);
    await c.shared.connected(5000);
    for (const m of mods) t.same(await c.store.get(sha(m)), m);
    await c.store.flush();
    // the copies are on C's disk: a new local store over the same directory knows them without Redis
    const again = new ModuleStore({ dir: c.dir, memoryBudgetBytes: 0 });
    for (const m of mods) t.same(await again.get(sha(m)), m, 'written to the local disk');
  });

  t.test('a corrupt value is refused, counted, removed; the next upload restores it', async (t) => {
    const p = prefix();
    const logs: Logged[] = [];
    const a = replica(t, redis.url, p, logs);
    const b = replica(t, redis.url, p, logs);
    await a.shared.connected(5000);
    await b.shared.connected(5000);
    const bytes = bytesOf('good');
    const hash = sha(bytes);
    const key = `${p}module:${hash}`;
    await raw.set(key, Buffer.from(bytesOf('evil')));

    t.equal(await b.store.get(hash), null, 'refused: answered as unknown');
    t.equal(b.store.sharedStats()!.corrupt, 1);
    t.equal(await raw.exists(key), 0, 'removed from Redis');
    t.match(logs, [{ level: 'warn', obj: { hash, removed: true }, msg: /does not match its sha256/ }]);
    t.equal(await b.store.local.get(hash), null, 'not kept locally');

    await raw.set(key, Buffer.from(bytesOf('evil')));
    t.same(await a.store.put(bytes), { hash, created: true }, 'an upload over a corrupt value');
    t.equal(a.store.sharedStats()!.repaired, 1, 'counted as a repair');
    t.same(new Uint8Array((await raw.getBuffer(key))!), bytes, 'the right bytes are back');
    t.same(await b.store.get(hash), bytes, 'and B reads them');
  });

  t.test('concurrent gets of one module share one shared read', async (t) => {
    const p = prefix();
    const a = replica(t, redis.url, p);
    const b = replica(t, redis.url, p);
    await a.shared.connected(5000);
    await b.shared.connected(5000);
    const bytes = bytesOf('many');
    await a.store.put(bytes);
    const got = await Promise.all(Array.from({ length: 20 }, () => b.store.get(sha(bytes))));
    t.ok(got.every((g) => g !== null && sha(g) === sha(bytes)));
    // and gets after the answer, while the local copy is still being written
    const later = await Promise.all(Array.from({ length: 5 }, () => b.store.get(sha(bytes))));
    t.ok(later.every((g) => g !== null && sha(g) === sha(bytes)));
    t.equal(b.observed.filter((o) => o.op === 'read').length, 1, 'one read');
    await b.store.flush();
    t.same(await b.store.get(sha(bytes)), bytes);
    t.equal(b.observed.filter((o) => o.op === 'read').length, 1, 'still one read: kept locally');
  });

  t.test('no credentials in what the store reports', async (t) => {
    t.equal(redactUrl('redis://user:s3cret@redis:6379/0'), 'redis://user:***@redis:6379/0');
    t.equal(redactUrl('redis://:s3cret@redis:6379/0'), 'redis://:***@redis:6379/0');
    t.equal(redactUrl('rediss://redis:6380'), 'rediss://redis:6380');
    t.equal(redactUrl('not a url'), '(an invalid URL)');
    const s = new RedisSharedStore({ url: `redis://:s3cret@127.0.0.1:${redis.port}/0`, timeoutMs: TIMEOUT_MS });
    t.teardown(() => s.close());
    await s.connected(2000); // refused (no password set): an error naming the address, not the password
    const e = await s.get('k').catch((x: unknown) => x);
    t.notMatch(JSON.stringify(s.status()), /s3cret/);
    t.notMatch(String((e as Error)?.message), /s3cret/);
  });

  t.test('Redis frozen: every operation fails after the timeout, never hangs; then it answers again', async (t) => {
    const p = prefix();
    const a = replica(t, redis.url, p);
    const b = replica(t, redis.url, p);
    await a.shared.connected(5000);
    await b.shared.connected(5000);
    const known = bytesOf('known to b');
    await a.store.put(known);
    t.same(await b.store.get(sha(known)), known);
    await b.store.flush();
    const other = bytesOf('only in redis');
    await a.store.put(other);

    redis.freeze();
    t.teardown(() => redis.thaw());
    const read = await timed(b.store.get(sha(other)));
    t.type(read.error, SharedStoreError, 'a read fails');
    t.match((read.error as Error).message, `the shared module store redis://127.0.0.1:${redis.port}/0 did not answer within ${TIMEOUT_MS} ms`);
    t.ok(read.ms >= TIMEOUT_MS - 20 && read.ms < TIMEOUT_MS + 2000, `after the timeout (${read.ms.toFixed(0)} ms)`);
    const write = await timed(a.store.put(bytesOf('new while frozen')));
    t.type(write.error, SharedStoreError, 'a write fails');
    t.ok(write.ms < TIMEOUT_MS + 2000, `bounded (${write.ms.toFixed(0)} ms)`);
    t.equal(a.store.sharedStats()!.writeErrors, 1);
    t.equal(b.store.sharedStats()!.readErrors, 1);
    t.same(await b.store.get(sha(known)), known, 'a module B holds is answered without Redis');
    t.match(b.observed.at(-1), { op: 'read', ok: false }, 'the failure observed');
    t.ok(b.shared.status().lastError, 'the failure reported');

    redis.thaw();
    t.same(await b.store.get(sha(other)), other, 'thawed: the same read works');
  });

  t.test('Redis killed: operations fail at once while it is down; after a restart they work', async (t) => {
    const p = prefix();
    const logs: Logged[] = [];
    const a = replica(t, redis.url, p, logs);
    await a.shared.connected(5000);
    const before = bytesOf('before');
    await a.store.put(before);
    t.equal(a.shared.status().state, 'up');

    await redis.stop();
    t.teardown(() => redis.restart());
    // the client sees the closed connection
    for (let i = 0; i < 100 && a.shared.status().state === 'up'; i++) await new Promise((r) => setTimeout(r, 20));
    t.equal(a.shared.status().state, 'down', 'reported down');
    t.match(a.shared.status().lastError, { message: /connection|ECONNREFUSED|closed/i });
    const read = await timed(a.store.get(sha(bytesOf('never stored'))));
    t.type(read.error, SharedStoreError);
    t.match((read.error as Error).message, /is not reachable/);
    t.ok(read.ms < TIMEOUT_MS, `at once (${read.ms.toFixed(1)} ms)`);
    const write = await timed(a.store.put(bytesOf('while down')));
    t.type(write.error, SharedStoreError);
    t.ok(write.ms < TIMEOUT_MS, `at once (${write.ms.toFixed(1)} ms)`);
    t.same(await a.store.local.get(sha(bytesOf('while down'))), bytesOf('while down'), 'the failed upload is still kept on this replica');
    t.same(await a.store.get(sha(before)), before, 'local modules are answered');
    t.equal(logs.filter((l) => l.level === 'warn' && /failed/.test(l.msg)).length, 1, 'the outage is logged once, not once per attempt or request');

    await redis.restart();
    t.ok(await a.shared.connected(5000), 'reconnects by itself');
    t.equal(a.shared.status().state, 'up');
    t.same(await a.store.put(bytesOf('after')), { hash: sha(bytesOf('after')), created: true }, 'writes work again');
    t.same(await a.store.get(sha(before)), before, 'a restarted Redis without persistence lost its data: the local copy answers');
    t.ok(logs.some((l) => l.level === 'info' && l.msg === 'shared store: connected'), 'the recovery is logged');
  });

  t.test('a "Redis" that answers garbage: errors, never a crash or a hang', async (t) => {
    const junk = createServer((sock) => {
      sock.on('data', () => sock.write('%%% not RESP at all \r\n\x00\xff'));
      sock.on('error', () => undefined);
    });
    await new Promise<void>((r) => junk.listen(0, '127.0.0.1', r));
    t.teardown(() => new Promise<void>((r) => junk.close(() => r())));
    const port = (junk.address() as { port: number }).port;
    const logs: Logged[] = [];
    const a = replica(t, `redis://127.0.0.1:${port}/0`, prefix(), logs);
    t.equal(await a.shared.connected(500), false, 'never ready');
    const r = await timed(a.store.get(sha(bytesOf('any'))));
    t.type(r.error, SharedStoreError);
    t.ok(r.ms < TIMEOUT_MS + 2000, `bounded (${r.ms.toFixed(0)} ms)`);
    const w = await timed(a.store.put(bytesOf('any')));
    t.type(w.error, SharedStoreError);
    t.equal(a.shared.status().state, 'down');
    t.ok(logs.some((l) => l.level === 'warn'), 'reported');
  });

  t.test('a store never reached: connecting, then down; operations fail at once', async (t) => {
    const s = new RedisSharedStore({ url: 'redis://127.0.0.1:1/0', timeoutMs: TIMEOUT_MS });
    t.teardown(() => s.close());
    t.equal(await s.connected(300), false);
    t.equal(s.status().state, 'down');
    const r = await timed(s.get('k'));
    t.type(r.error, SharedStoreError);
    t.ok(r.ms < TIMEOUT_MS);
  });
});

t.test('has(): held here, else found in the shared store (and kept here); a failing shared store is an error', async (t) => {
  const values = new Map<string, Uint8Array>();
  let down = false;
  const check = () => {
    if (down) throw new SharedStoreError('the shared module store redis://fake did not answer within 1 ms', 'redis://fake');
  };
  const shared = {
    get: async (k: string) => (check(), values.get(k) ?? null),
    put: async (k: string, b: Uint8Array) => (check(), values.set(k, b), 'written' as const),
    deleteIfEqual: async () => false,
    status: () => ({ url: 'redis://fake', state: 'up' as const, lastError: null }),
    connected: async () => true,
    close: async () => undefined,
  };
  const store = new TieredModuleStore({ local: new ModuleStore({ dir: null, memoryBudgetBytes: 1 << 20 }), shared, keyPrefix: 'p:' });
  const here = bytesOf('here');
  const there = bytesOf('there');
  await store.put(here);
  values.set(`p:module:${sha(there)}`, there);
  t.equal(await store.has(sha(here)), true, 'held here');
  t.equal(await store.has(sha(there)), true, 'found in the shared store');
  await store.flush();
  t.equal(await store.local.has(sha(there)), true, 'and kept here');
  t.equal(await store.has('0'.repeat(64)), false, 'unknown to both');
  t.equal(await store.has('not a hash'), false, 'not a hash');
  down = true;
  t.equal(await store.has(sha(there)), true, 'held here: the shared store is not asked');
  await t.rejects(store.has('1'.repeat(64)), SharedStoreError, 'only the shared store could say: its failure is an error');

  const alone = new TieredModuleStore({ local: new ModuleStore({ dir: null, memoryBudgetBytes: 1 << 20 }), shared: null, keyPrefix: 'p:' });
  await alone.put(here);
  t.same([await alone.has(sha(here)), await alone.has(sha(there))], [true, false], 'without a shared store: the local store');
});
