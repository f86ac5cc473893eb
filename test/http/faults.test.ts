/**
 * Faults in the worker pool: a worker thread stopped under a running execution (killed as a crash
 * would) answers that request with 503 `worker_lost` and Retry-After, the pool replaces the worker,
 * and the next request is exact; in a batch, only the call it was running answers `worker_lost`. Errors Piscina reports outside any task (a
 * worker failing while idle, a late answer for a task given up) are logged and counted, never the
 * end of the process.
 */
import t from 'tap';
import { b64, example, execute, req, sha256, startApp, textOf, wat, withoutTimings } from '../support/http.js';

// no seeding (the bundled examples, 6.7 MB of them Iroha's): hello, run by hash, is uploaded
const { app } = await startApp(t, { seedExamples: false });
const forever = await wat(`(module (func (export "main") (loop $l br $l)))`);
const hello = example('hello');
// (no top-level assertion here: tap would end the root test before the subtests are queued)
const uploaded = (await req(app, { method: 'PUT', url: '/modules', payload: Buffer.from(hello), headers: { 'content-type': 'application/wasm' } })).status;
if (uploaded !== 201) throw new Error(`hello not uploaded: ${uploaded}`);
const normal = { contract: { hash: sha256(hello) }, input: b64('again') };
const reference = withoutTimings((await execute(app, normal)).body);

async function faults(): Promise<Record<string, number>> {
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^wasm_pool_faults_total\{fault="(\w+)"\} (\d+)$/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

/** Kills the (only) worker once the execution is surely running on it. */
async function killWhileRunning(): Promise<void> {
  for (let i = 0; i < 200 && app.executionPool.utilization === 0; i++) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 100));
  await app.executionPool.killWorker(0);
}

t.test('a worker killed under an execution: 503 worker_lost, then the next request is exact', async (t) => {
  const running = execute(app, { contract: { wasm: b64(forever) }, limits: { fuel: 10_000_000_000, timeoutMs: 20_000 } });
  await killWhileRunning();
  const r = await running;
  t.equal(r.status, 503);
  t.equal(r.headers['retry-after'], '1');
  t.equal(r.body.error.kind, 'worker_lost');
  t.match(r.body.error.message, /the worker running this execution stopped \(worker exited with code: 1\); the pool has replaced it: retry the request/);
  const next = await execute(app, normal);
  t.equal(next.status, 200);
  t.same(withoutTimings(next.body), reference, 'the replacement worker answers exactly');
  t.equal(textOf(next.body.result.output), 'hello, again');
  t.equal((await faults()).worker_lost, 1, 'counted');
  t.equal(app.executionPool.threads, 1, 'the pool is whole again');
});

t.test('a batch whose worker is killed: worker_lost for the call it ran, the others answered, then batches are exact', async (t) => {
  const running = req(app, {
    method: 'POST',
    url: '/execute/batch',
    payload: { calls: [normal, { contract: { wasm: b64(forever) }, limits: { fuel: 10_000_000_000, timeoutMs: 20_000 } }, normal] },
  });
  await killWhileRunning();
  const r = await running;
  t.equal(r.status, 200);
  t.same(withoutTimings(r.body.results[0]), reference, 'the call that finished keeps its answer (never run twice)');
  t.same(r.body.results[1], {
    status: 503,
    error: {
      kind: 'worker_lost',
      message: 'the worker running this execution stopped (worker exited with code: 1); the pool has replaced it: this call did not finish (the calls before it did, and those after it ran): retry this call alone',
    },
  });
  t.same(withoutTimings(r.body.results[2]), reference, 'the call after it ran on the replacement');
  const again = await req(app, { method: 'POST', url: '/execute/batch', payload: { calls: [normal, normal] } });
  t.equal(again.status, 200);
  t.same(again.body.results.map(withoutTimings), [reference, reference]);
  t.equal((await faults()).worker_lost, 2);
});

t.test('an error event from the pool outside any execution is logged and counted, not fatal', async (t) => {
  // what Piscina emits for a worker failing while idle, or for an answer to a task already given up
  const piscina = (app.executionPool as unknown as { piscina: NodeJS.EventEmitter }).piscina;
  piscina.emit('error', new Error('Unexpected message from Worker: { taskId: 7, result: {…} }'));
  t.equal((await faults()).pool_error, 1);
  const next = await execute(app, normal);
  t.same(withoutTimings(next.body), reference, 'the service goes on');
  t.equal((await req(app, { method: 'GET', url: '/ready' })).status, 200);
});
