/**
 * Operations routes: /health, /ready, /metrics (names, and counters that move with executions),
 * the 404 body of unknown routes, /docs and /openapi.yaml; and the 503 overloaded answer of a full
 * queue (with Retry-After), after which the pool is whole again.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import t from 'tap';
import { PROJECT_ROOT } from '../../src/config.js';
import { assertError, b64, example, execute, req, type Res, sha256, startApp, wat } from '../support/http.js';

const WORKERS = 2;
// no seeding (the bundled examples, 6.7 MB of them Iroha's): the one module run by hash is uploaded here
const { app } = await startApp(t, { workers: WORKERS, maxQueue: 1, seedExamples: false });

const hello = example('hello');
// (no top-level assertion here: tap would end the root test before the subtests are queued)
const uploaded = (await req(app, { method: 'PUT', url: '/modules', payload: Buffer.from(hello), headers: { 'content-type': 'application/wasm' } })).status;
if (uploaded !== 201) throw new Error(`hello not uploaded: ${uploaded}`);
const divZero = await wat(`(module (func (export "main") (result i32) i32.const 1 i32.const 0 i32.div_s))`);
const forever = await wat(`(module (func (export "main") (loop $l br $l)))`);

const get = (url: string): Promise<Res> => req(app, { method: 'GET', url });

/** The value of one sample of the Prometheus text, or undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v) && Object.keys(have).length === Object.keys(labels).length) return Number(m[3]);
  }
  return undefined;
}

const metrics = async () => (await get('/metrics')).text;

t.test('/health', async (t) => {
  const r = await get('/health');
  t.equal(r.status, 200);
  t.same(r.body, { status: 'ok' });
});

t.test('/ready: the pool and the store are up', async (t) => {
  const r = await get('/ready');
  t.equal(r.status, 200);
  t.same(r.body, { status: 'ready', workers: WORKERS, pool: true, store: true });
});

t.test('/metrics: names, types, and counters that follow executions', async (t) => {
  const r = await get('/metrics');
  t.equal(r.status, 200);
  t.match(String(r.headers['content-type']), /^text\/plain/);
  const types: Record<string, string> = {
    wasm_executions_total: 'counter',
    wasm_requests_rejected_total: 'counter',
    wasm_fuel_consumed: 'histogram',
    wasm_execution_duration_seconds: 'histogram',
    wasm_pool_queue_depth: 'gauge',
    wasm_pool_utilization: 'gauge',
    wasm_pool_threads: 'gauge',
    wasm_store_lookups_total: 'counter',
    wasm_store_memory_bytes: 'gauge',
    wasm_prepared_cache_lookups_total: 'counter',
  };
  for (const [name, type] of Object.entries(types)) {
    t.match(r.text, new RegExp(`^# HELP ${name} \\S`, 'm'), `${name} has help`);
    t.match(r.text, new RegExp(`^# TYPE ${name} ${type}$`, 'm'), `${name} is a ${type}`);
  }
  t.equal(sample(r.text, 'wasm_pool_threads'), WORKERS);
  t.equal(sample(r.text, 'wasm_pool_queue_depth'), 0);
  for (const op of ['check', 'read']) {
    for (const result of ['memory_hit', 'disk_hit', 'miss']) t.ok(sample(r.text, 'wasm_store_lookups_total', { op, result }) !== undefined, `store lookups ${op} ${result}`);
  }
  for (const result of ['hit', 'miss']) t.ok(sample(r.text, 'wasm_prepared_cache_lookups_total', { result }) !== undefined, `prepared lookups ${result}`);
  t.match(r.text, /^process_cpu_user_seconds_total /m, 'default process metrics');

  const before = await metrics();
  const okBefore = sample(before, 'wasm_executions_total', { outcome: 'ok' }) ?? 0;
  const trapBefore = sample(before, 'wasm_executions_total', { outcome: 'trap' }) ?? 0;
  const fuelCount = sample(before, 'wasm_fuel_consumed_count') ?? 0;
  const durationCount = sample(before, 'wasm_execution_duration_seconds_count') ?? 0;

  const ok = await execute(app, { contract: { hash: sha256(hello) }, input: b64('x') });
  t.equal(ok.body.ok, true);
  let after = await metrics();
  t.equal(sample(after, 'wasm_executions_total', { outcome: 'ok' }), okBefore + 1, 'ok counted');
  t.equal(sample(after, 'wasm_fuel_consumed_count'), fuelCount + 1, 'fuel observed');
  t.equal(sample(after, 'wasm_fuel_consumed_sum'), (sample(before, 'wasm_fuel_consumed_sum') ?? 0) + ok.body.fuel.consumed, 'the fuel consumed is summed');
  t.equal(sample(after, 'wasm_execution_duration_seconds_count'), durationCount + 1, 'duration observed');

  const trap = await execute(app, { contract: { wasm: b64(divZero) } });
  t.equal(trap.body.error.kind, 'trap');
  after = await metrics();
  t.equal(sample(after, 'wasm_executions_total', { outcome: 'trap' }), trapBefore + 1, 'trap counted under its outcome label');
  t.equal(sample(after, 'wasm_executions_total', { outcome: 'ok' }), okBefore + 1, 'ok unchanged');

  const notFound = sample(after, 'wasm_requests_rejected_total', { kind: 'not_found' }) ?? 0;
  assertError(t, await execute(app, { contract: { hash: sha256('unknown') } }), 404, 'not_found');
  after = await metrics();
  t.equal(sample(after, 'wasm_requests_rejected_total', { kind: 'not_found' }), notFound + 1, '404 counted as rejected');
  t.equal(sample(after, 'wasm_fuel_consumed_count'), fuelCount + 2, 'a rejected request is no execution');

  const badRequest = sample(after, 'wasm_requests_rejected_total', { kind: 'bad_request' }) ?? 0;
  assertError(t, await execute(app, { contract: { hash: sha256(hello) }, args: [1] }), 400, 'bad_request');
  after = await metrics();
  t.equal(sample(after, 'wasm_requests_rejected_total', { kind: 'bad_request' }), badRequest + 1, 'a 400 from the handler counted');
  assertError(t, await execute(app, { nope: true }), 400, 'bad_request');
  after = await metrics();
  t.equal(sample(after, 'wasm_requests_rejected_total', { kind: 'bad_request' }), badRequest + 2, 'a 400 from schema validation counted');
});

t.test('unknown route: 404; another method: 405 with Allow; both with the error body', async (t) => {
  assertError(t, await get('/nope'), 404, 'not_found', /\/nope/);
  const wrong = await get('/execute');
  assertError(t, wrong, 405, 'method_not_allowed', 'GET is not allowed on /execute: use POST');
  t.equal(wrong.headers.allow, 'POST');
  const del = await req(app, { method: 'DELETE', url: `/modules/${sha256(hello)}` });
  assertError(t, del, 405, 'method_not_allowed');
  t.equal(del.headers.allow, 'GET, HEAD');
  const r = await req(app, { method: 'GET', url: '/nope', headers: { 'x-request-id': 'ops-1' } });
  t.equal(r.headers['x-request-id'], 'ops-1');
});

t.test('/docs serves the Swagger UI, /openapi.yaml the committed file', async (t) => {
  let r = await get('/docs');
  for (let hops = 0; r.status >= 300 && r.status < 400 && hops < 3; hops++) {
    const location = String(r.headers.location);
    r = await get(location.startsWith('/') ? location : `/docs/${location.replace(/^\.\//, '')}`);
  }
  t.equal(r.status, 200);
  t.match(String(r.headers['content-type']), /^text\/html/);
  t.match(r.text, /swagger/i);

  const y = await get('/openapi.yaml');
  t.equal(y.status, 200);
  t.match(String(y.headers['content-type']), /yaml/);
  t.equal(y.text, readFileSync(resolve(PROJECT_ROOT, 'openapi.yaml'), 'utf8'));
});

/** /ready until it shows every worker (a timed-out worker is replaced asynchronously). */
async function untilWhole(a: typeof app, workers: number): Promise<Res> {
  let r = await req(a, { method: 'GET', url: '/ready' });
  for (let i = 0; i < 200 && r.body.workers !== workers; i++) {
    await new Promise((ok) => setTimeout(ok, 50));
    r = await req(a, { method: 'GET', url: '/ready' });
  }
  return r;
}

t.test('503 overloaded when the workers are busy and the queue is full, with Retry-After', async (t) => {
  // each spins its worker until the timeout: 3 of them burn 3 × timeoutMs of CPU (2 s each cost ~6 CPU-s)
  const loop = { contract: { wasm: b64(forever) }, limits: { fuel: 10_000_000_000, timeoutMs: 600 } };
  // 2 running + 1 queued (maxQueue 1); the 4th should be refused at once
  const pending = Promise.all(Array.from({ length: WORKERS + 2 }, () => execute(app, loop)));
  // while they run (until their timeout), one waits for a worker: the queue-depth gauge shows it
  let depth: number | undefined;
  for (let i = 0; i < 25 && depth !== 1; i++) {
    await new Promise((ok) => setTimeout(ok, 20));
    depth = sample(await metrics(), 'wasm_pool_queue_depth', {});
  }
  t.equal(depth, 1, 'one execution waiting');
  const rs = await pending;
  t.same(rs.map((r) => r.status).sort(), [200, 200, 200, 503], 'three answered, one refused');
  t.equal(sample(await metrics(), 'wasm_pool_queue_depth', {}), 0, 'none waiting afterwards');
  const refused = rs.find((r) => r.status === 503);
  t.ok(refused, 'one refused');
  if (refused) {
    assertError(t, refused, 503, 'overloaded');
    t.equal(refused.headers['retry-after'], '1');
    t.ok((sample(await metrics(), 'wasm_requests_rejected_total', { kind: 'overloaded' }) ?? 0) >= 1, 'overloaded counted');
  }
  for (const r of rs.filter((r) => r.status === 200)) t.equal(r.body.error.kind, 'timeout', 'the others time out');

  const ready = await untilWhole(app, WORKERS);
  t.same(ready.body, { status: 'ready', workers: WORKERS, pool: true, store: true }, 'timed-out workers replaced');
  const after = await execute(app, { contract: { hash: sha256(hello) }, input: b64('back'), limits: { timeoutMs: 30_000 } });
  t.equal(after.body.ok, true, `and they serve requests (${JSON.stringify(after.body.error)})`);
});

t.test('503 overloaded with maxQueue 0 (no queue at all)', async (t) => {
  const { app: noQueue } = await startApp(t, { workers: 1, maxQueue: 0, seedExamples: false });
  // about 0.2 s of looping each, ending out_of_fuel
  const busy = { contract: { wasm: b64(forever) }, limits: { fuel: 300_000_000, timeoutMs: 30_000 } };
  const rs = await Promise.all([execute(noQueue, busy), execute(noQueue, busy)]);
  t.same(rs.map((r) => r.status).sort(), [200, 503], 'one runs, one is refused');
  const refused = rs.find((r) => r.status !== 200);
  t.equal(refused?.body?.error?.kind, 'overloaded', 'refused as overloaded');
  const ran = rs.filter((r) => r.status === 200);
  t.equal(ran.length, 1, 'the other one ran');
  t.equal(ran[0]?.body.error?.kind, 'out_of_fuel');
  // the refused task must not run later: the worker is free again right away
  const next = await execute(noQueue, { contract: { wasm: b64(forever) }, limits: { fuel: 100 } });
  t.equal(next.status, 200, 'the worker is free for the next request');
});
