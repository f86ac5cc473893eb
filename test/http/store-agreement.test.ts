/**
 * Executions by hash answer from the store alone, so `GET /modules/:hash` and `POST /execute` agree on
 * every hash: a module only ever sent inline is a 404 by hash (though its compiled form is cached), and
 * so is one evicted from a memory-only store (its LRU budget full), until it is uploaded again. Also
 * the JSON form of negative zero, "-0", for f32/f64 arguments and results.
 */
import t from 'tap';
import { assertError, b64, execute, req, type Res, sha256, wat } from '../support/http.js';
import { startProcessApp } from '../support/process-app.js';

/** A module of about `pad` bytes whose `main` returns `n`. */
const padded = (n: number, pad: number) => wat(`(module (memory 1) (data (i32.const 0) "${'x'.repeat(pad)}") (func (export "main") (result i32) i32.const ${n}))`);

const put = (app: Parameters<typeof req>[0], bytes: Uint8Array): Promise<Res> =>
  req(app, { method: 'PUT', url: '/modules', payload: Buffer.from(bytes), headers: { 'content-type': 'application/wasm' } });
const get = (app: Parameters<typeof req>[0], hash: string): Promise<Res> => req(app, { method: 'GET', url: `/modules/${hash}` });

// one server (a disk store, no seeding) for the subtests that need no configuration of their own: a
// spawned server's start is ~3 CPU-s; the memory-only store of the eviction test has its own
const { app: server } = await startProcessApp(t, { seedExamples: false });

t.test('a module only ever sent inline: 404 by hash, as GET says, until uploaded', async (t) => {
  const app = server;
  const m = await padded(41, 10);
  const hash = sha256(m);
  const inline = await execute(app, { contract: { wasm: b64(m) } });
  t.same([inline.status, inline.body.result?.values], [200, [41]], 'inline: runs (and its compiled form is cached)');
  assertError(t, await get(app, hash), 404, 'not_found');
  assertError(t, await execute(app, { contract: { hash } }), 404, 'not_found', `no module with hash ${hash} (the contract): upload it with PUT /modules`);
  // as a library, and in a batch too
  assertError(t, await execute(app, { contract: { wasm: b64(m) }, library: { hash } }), 404, 'not_found', '(the library)');
  const batch = await req(app, { method: 'POST', url: '/execute/batch', payload: { calls: [{ contract: { hash } }] } });
  t.equal(batch.body.results?.[0]?.status, 404, 'a batch call by hash: 404');

  t.equal((await put(app, m)).status, 201, 'uploaded');
  t.equal((await get(app, hash)).status, 200);
  const byHash = await execute(app, { contract: { hash } });
  t.same([byHash.status, byHash.body.result?.values], [200, [41]], 'now it runs by hash');
});

t.test('memory only: an evicted module is 404 for GET and execute alike, until uploaded again', async (t) => {
  // a budget of two ~1 KiB modules; the module size limit must fit in it (the config refuses less)
  const { app } = await startProcessApp(t, { seedExamples: false, store: { dir: null, memoryBudgetBytes: 2400 }, policy: { maxModuleBytes: 2400 } });
  const [a, b, c] = await Promise.all([padded(1, 1000), padded(2, 1000), padded(3, 1000)]);
  const [ha, hb, hc] = [a, b, c].map(sha256) as [string, string, string];
  t.equal((await put(app, a)).status, 201);
  t.equal((await put(app, b)).status, 201);
  const ran = await execute(app, { contract: { hash: ha } });
  t.same(ran.body.result?.values, [1], 'a runs by hash (a use: a is now the most recent)');
  t.equal((await put(app, c)).status, 201, 'c pushes the least recently used out: b');

  for (const [name, hash, n] of [['a', ha, 1], ['c', hc, 3]] as const) {
    t.equal((await get(app, hash)).status, 200, `${name} is stored`);
    t.same((await execute(app, { contract: { hash } })).body.result?.values, [n], `${name} runs by hash`);
  }
  assertError(t, await get(app, hb), 404, 'not_found', `no module with hash ${hb}`);
  assertError(t, await execute(app, { contract: { hash: hb } }), 404, 'not_found', 'upload it with PUT /modules');
  const evictions = await req(app, { method: 'GET', url: '/metrics' });
  t.match(evictions.text, /wasm_store_memory_evictions_total [1-9]/, 'the eviction is counted');

  t.equal((await put(app, b)).status, 201, 'b uploaded again: new again');
  t.same((await execute(app, { contract: { hash: hb } })).body.result?.values, [2], 'and runs by hash');
  t.equal((await get(app, hb)).status, 200, 'GET agrees');
});

t.test('negative zero: "-0" in results, "-0" or a literal -0 in arguments', async (t) => {
  const app = server;
  const m = b64(
    await wat(`(module
      (func (export "neg64") (param f64) (result f64) local.get 0 f64.neg)
      (func (export "neg32") (param f32) (result f32) local.get 0 f32.neg)
      (func (export "sign64") (param f64) (result i32) local.get 0 i64.reinterpret_f64 i64.const 63 i64.shr_u i32.wrap_i64)
      (func (export "sign32") (param f32) (result i32) local.get 0 i32.reinterpret_f32 i32.const 31 i32.shr_u)
      (func (export "both") (result f64 f32 f64) f64.const -0 f32.const -0 f64.const 0))`),
  );
  const run = async (entrypoint: string, args: string) => {
    const r = await req(app, { method: 'POST', url: '/execute', payload: `{"contract":{"wasm":"${m}"},"entrypoint":"${entrypoint}","args":${args}}`, headers: { 'content-type': 'application/json' } });
    t.equal(r.status, 200, `${entrypoint}(${args}): 200`);
    return r.body.result?.values;
  };
  t.same(await run('neg64', '[0]'), ['-0'], 'f64 result -0.0: "-0"');
  t.same(await run('neg32', '[0]'), ['-0'], 'f32 result -0.0: "-0"');
  t.same(await run('neg64', '["-0"]'), [0], '+0.0: 0');
  t.same(await run('both', '[]'), ['-0', '-0', 0], 'several results');
  t.same(await run('sign64', '["-0"]'), [1], 'the string "-0" is -0.0 (f64)');
  t.same(await run('sign64', '[-0]'), [1], 'a literal -0 is -0.0 (f64)');
  t.same(await run('sign64', '[-0.0]'), [1], 'and -0.0');
  t.same(await run('sign32', '["-0"]'), [1], 'the string "-0" is -0.0 (f32)');
  t.same(await run('sign64', '[0]'), [0], '0 is +0.0');
  const bad = await req(app, { method: 'POST', url: '/execute', payload: { contract: { wasm: m }, entrypoint: 'neg64', args: ['-0.0'] } });
  assertError(t, bad, 400, 'bad_request', 'a number, or "NaN", "Infinity", "-Infinity", "-0"');
});
