/**
 * Overload beyond the queue bound: while the process is over a configured pressure threshold, the work
 * routes answer 503 `overloaded` with Retry-After and a message naming the threshold; /health, /ready
 * and /metrics answer as usual. And the start-up check of the worst-case memory of a configuration.
 */
import t from 'tap';
import { loadConfig } from '../../src/config.js';
import { checkMemoryBudget, memoryAvailable, memoryNeed } from '../../src/memory-budget.js';
import { b64, example, execute, req, sha256, startApp } from '../support/http.js';

const hello = example('hello');
// No seeding (the bundled examples, 6.7 MB of them Iroha's: ~0.4 CPU-s a start). Over a threshold the
// work routes refuse before any lookup: hello need not be stored there (unstored it would be a 404, not
// a 503, so the refusals still show); under them it is uploaded first.
const unseeded = { seedExamples: false };

t.test('over the heap threshold: work refused with 503 overloaded, the ops routes open', async (t) => {
  const { app } = await startApp(t, { ...unseeded, overload: { maxHeapUsedBytes: 1 } });
  await new Promise((r) => setTimeout(r, 700)); // the first samples
  const r = await execute(app, { contract: { hash: sha256(hello) }, input: b64('x') });
  t.equal(r.status, 503);
  t.equal(r.headers['retry-after'], '1');
  t.equal(r.body.error.kind, 'overloaded');
  t.match(r.body.error.message, /^the heap holds \d+ bytes \(limit 1\): retry later$/);
  const put = await req(app, { method: 'PUT', url: '/modules', payload: Buffer.from(hello), headers: { 'content-type': 'application/wasm' } });
  t.equal(put.status, 503, 'PUT /modules too');
  const batch = await req(app, { method: 'POST', url: '/execute/batch', payload: { calls: [{ contract: { hash: sha256(hello) } }] } });
  t.equal(batch.status, 503, 'batches too');
  for (const url of ['/health', '/ready', '/metrics']) t.equal((await req(app, { method: 'GET', url })).status, 200, `${url} answers`);
  const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  t.match(metrics, /wasm_requests_rejected_total\{kind="overloaded"\} [1-9]/, 'counted as rejected');
});

t.test('over the resident-memory threshold: the message names it', async (t) => {
  const { app } = await startApp(t, { ...unseeded, overload: { maxRssBytes: 1024 * 1024 } });
  await new Promise((r) => setTimeout(r, 700));
  const r = await execute(app, { contract: { hash: sha256(hello) } });
  t.equal(r.status, 503);
  t.match(r.body.error.message, /^the process holds \d+ bytes \(limit 1048576\): retry later$/);
});

t.test('under the thresholds (the defaults): work runs', async (t) => {
  const { app } = await startApp(t, { ...unseeded, overload: loadConfig({}).overload });
  await new Promise((r) => setTimeout(r, 300));
  t.equal((await req(app, { method: 'PUT', url: '/modules', payload: Buffer.from(hello), headers: { 'content-type': 'application/wasm' } })).status, 201, 'PUT /modules runs');
  const r = await execute(app, { contract: { hash: sha256(hello) }, input: b64('x') });
  t.equal(r.status, 200);
  t.equal(r.body.ok, true);
});

t.test('memory budget: the worst case of a configuration against what is available', async (t) => {
  const c = loadConfig({}, { workers: 2 });
  const need = memoryNeed(c);
  t.equal(need.totalBytes, need.parts.reduce((a, p) => a + p.bytes, 0), 'the sum of its parts');
  t.ok(need.parts.some((p) => p.what.includes('limits.max.memoryBytes') && p.bytes === 2 * c.limits.max.memoryBytes));
  t.doesNotThrow(() => checkMemoryBudget(c, { bytes: need.totalBytes, source: 'a test' }), 'fits exactly');
  t.throws(
    () => checkMemoryBudget(c, { bytes: need.totalBytes - 1, source: 'the cgroup limit (memory.max)' }),
    /^this configuration may need [\d,]+ MiB of memory \(the process itself .*\) but the cgroup limit \(memory\.max\) is [\d,]+ MiB: lower WORKERS, MEMORY_BYTES_MAX/,
  );
  const off = loadConfig({ CHECK_MEMORY_BUDGET: 'false' }, { workers: 2 });
  t.doesNotThrow(() => checkMemoryBudget(off, { bytes: 1, source: 'a test' }), 'the check can be turned off');
  // what is available: a cgroup limit below the machine's memory wins; "max" means none
  t.same(memoryAvailable((p) => (p.endsWith('memory.max') ? '1073741824\n' : null)), { bytes: 1073741824, source: 'the cgroup limit (memory.max)' });
  t.equal(memoryAvailable((p) => (p.endsWith('memory.max') ? 'max\n' : null)).source, "the machine's memory");
  t.equal(memoryAvailable(() => null).source, "the machine's memory");
});
