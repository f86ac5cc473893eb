/**
 * Two real service processes (node dist/server.js, listening on 127.0.0.1) sharing one real Redis:
 * modules uploaded to one execute by hash on the other with the exact same answer; a replica restarted
 * on an empty disk finds them; Redis killed while requests are in flight: every request is answered
 * (200 for what the replica holds or runs inline, 503 store_unavailable with Retry-After for a hash it
 * does not hold), none hangs, and the service recovers when Redis is back. Skips without redis-server.
 */
import { spawnSync } from 'node:child_process';
import t from 'tap';
import { b64, compiledScript, deadline, ROOT, example, hexOfB64, sha256, startServer, tempDir, type Reply, type ServerProcess } from './server-harness.js';
import { redisSkip, TestRedis } from '../support/redis.js';
import { plainNode } from '../support/plain-node.js';

const skip = redisSkip();
if (skip) t.comment(`skipped: ${skip}`);

const kv = example('kv');
const lib = example('library');
const hello = example('hello');
const kvCall = { contract: { hash: kv.hash }, library: { hash: lib.hash }, input: b64('b=2\na=1\nc=3\n') };
const withoutTimings = (b: any) => {
  const { timings: _t, ...rest } = b;
  return rest;
};

function replica(t: Parameters<typeof startServer>[0], url: string): Promise<ServerProcess> {
  return startServer(t, { WORKERS: '1', SEED_EXAMPLES: 'false', STORE_DIR: tempDir(t), STORE_SHARED_URL: url, STORE_SHARED_TIMEOUT_MS: '500' });
}

t.test('two replicas, one Redis', { skip }, async (t) => {
  const redis = await TestRedis.start(t);
  const a = await replica(t, redis.url);
  const upload = async (m: typeof kv) => {
    const r = await a.request('PUT', '/modules', m.bytes);
    t.equal(r.status, 201, 'uploaded to A');
    t.equal(r.body.hash, m.hash);
  };
  // B starts between the uploads, on an empty disk of its own: kv and hello were in Redis before it
  // started (a replica restarted on an empty disk finds them), the library is uploaded while it runs
  // (a running replica finds what another stored later). One replica for both roles: a server start
  // costs ~3 CPU-s.
  await upload(kv);
  await upload(hello);
  const b = await replica(t, redis.url);
  await upload(lib);
  const onA = await a.execute(kvCall);
  t.equal(onA.status, 200);
  t.equal(onA.body.ok, true);
  const onB = await b.execute(kvCall);
  t.equal(onB.status, 200);
  t.same(withoutTimings(onB.body), withoutTimings(onA.body), 'B answers exactly as A: the contract stored before it started, the library after');
  t.equal(hexOfB64(onB.body.result.output).slice(0, 6), '0c0461', 'the sorted map, encoded by the library');
  t.equal((await b.request('PUT', '/modules', kv.bytes)).status, 200, 'B knows what A stored');
  t.match(b.logs().find((l) => l.msg === 'shared store: connected'), { store: redis.url }, 'B logged its store at start');

  t.test('npm run load-test -- --url A --url B: the load spread over both replicas', async (t) => {
    // compiled once to JavaScript (compiledScript): under tsx each run would cost ~1.5 CPU-s more
    const script = await compiledScript(t, 'scripts/load-test.ts');
    const run = (...args: string[]) => spawnSync(...plainNode([script, ...args]), { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    const r = run('--url', a.url, '--url', b.url, '--connections', '4', '--duration', '1', '--contract', 'kv', '--json');
    t.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    t.same(out.urls, [a.url, b.url]);
    t.same(out.perUrl.map((p: { connections: number }) => p.connections), [2, 2], 'the connections split evenly');
    t.ok(out.perUrl.every((p: { total: number }) => p.total > 0), 'both replicas served');
    t.equal(out.total, out.perUrl[0].total + out.perUrl[1].total);
    t.equal(out.non2xx, 0);
    t.equal(out.errors, 0);
    t.ok(out.outcomes.ok >= out.total, 'every execution ok, counted by the replicas themselves');
    const twice = run('--url', a.url, '--url', a.url);
    t.equal(twice.status, 2, 'the same URL twice: a usage error');
    t.match(twice.stderr, /the same URL twice/);
  });

  t.test('Redis killed under load: every request answered, none hangs; then back', async (t) => {
    const missing = '5e'.repeat(32); // not on B: may be in Redis, so not a 404 while Redis is down
    const calls: Array<{ what: string; req: Promise<Reply> }> = [];
    const send = (what: string, body: Record<string, unknown>) => calls.push({ what, req: b.execute(body, 5000) });
    for (let i = 0; i < 60; i++) {
      if (i === 20) await redis.stop();
      send('held', kvCall);
      send('inline', { contract: { wasm: b64(hello.bytes) }, input: b64(`n${i}`) });
      send('missing', { contract: { hash: missing } });
      if (i % 10 === 0) await new Promise((r) => setTimeout(r, 20));
    }
    const answered = await deadline(Promise.all(calls.map((c) => c.req)), 20_000, 'every request to be answered');
    const byWhat = (w: string) => answered.filter((_, i) => calls[i]!.what === w);
    t.ok(byWhat('held').every((r) => r.status === 200 && r.body.ok), 'modules B holds: all 200');
    t.ok(byWhat('held').every((r) => JSON.stringify(withoutTimings(r.body)) === JSON.stringify(withoutTimings(onA.body))), 'with the same answer');
    t.ok(byWhat('inline').every((r) => r.status === 200 && r.body.ok), 'inline executions: all 200');
    const miss = byWhat('missing');
    t.ok(miss.every((r) => r.status === 404 || r.status === 503), 'a hash B lacks: 404 while Redis answers, 503 after');
    const refused = miss.filter((r) => r.status === 503);
    t.ok(refused.length >= 39, `503 once Redis is gone (${refused.length} of ${miss.length})`);
    t.ok(refused.every((r) => r.body.error.kind === 'store_unavailable' && r.headers.get('retry-after') === '2'), 'store_unavailable with Retry-After');
    t.ok(Math.max(...answered.map((r) => r.ms)) < 5000, `the slowest answer took ${Math.max(...answered.map((r) => r.ms)).toFixed(0)} ms`);
    const r = await b.request('GET', '/ready');
    t.equal(r.status, 200, 'still ready');
    t.equal(r.body.sharedStore.state, 'down');
    t.ok(b.running && a.running, 'both processes alive');

    await redis.restart();
    let state = '';
    for (let i = 0; i < 100 && state !== 'up'; i++) {
      state = (await b.request('GET', '/ready')).body.sharedStore.state;
      if (state !== 'up') await new Promise((res) => setTimeout(res, 50));
    }
    t.equal(state, 'up', 'reconnected');
    t.equal((await b.request('PUT', '/modules', hello.bytes)).status, 201, 'an upload on B (this Redis kept nothing)');
    const back = await a.execute({ contract: { hash: hello.hash }, input: b64('again') });
    t.equal(Buffer.from(back.body.result.output, 'base64').toString(), 'hello, again', 'A runs it');
    t.ok(b.logs().some((l) => l.msg === 'shared store: connected' && l.level === 30 && l.time > (b.logs().find((x) => /shared store: .* failed/.test(x.msg ?? ''))?.time ?? Infinity)), 'the recovery logged after the failure');
  });
});
