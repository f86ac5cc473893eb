/**
 * Time limits reached in the queue: a request (or a batch) given up while it still waits for a worker
 * answers `timeout` with its whole wait in `queueMs`, stops no worker, and holds no one up; a request
 * that waits for a stopped worker's replacement has that wait in its `queueMs` too.
 */
import t from 'tap';
import { b64, example, execute, req, sha256, startApp, wat } from '../support/http.js';

// one worker; no seeding (the bundled examples, 6.7 MB of them Iroha's): hello, run by hash, is uploaded
const { app } = await startApp(t, { seedExamples: false });
// (no top-level assertion here: tap would end the root test before the subtests are queued)
const uploaded = (await req(app, { method: 'PUT', url: '/modules', payload: Buffer.from(example('hello')), headers: { 'content-type': 'application/wasm' } })).status;
if (uploaded !== 201) throw new Error(`hello not uploaded: ${uploaded}`);
const spin = b64(await wat('(module (func (export "main") (loop $l (br $l))))'));
const hello = { contract: { hash: sha256(example('hello')) }, input: b64('q') };
const pool = app.executionPool;
const threadIds = () => (pool as unknown as { piscina: { threads: Array<{ threadId: number }> } }).piscina.threads.map((w) => w.threadId);

async function whileRunning(): Promise<void> {
  for (let i = 0; i < 500 && pool.utilization === 0; i++) await new Promise((r) => setTimeout(r, 5));
}

/**
 * An execution that keeps the one worker busy, then ends by itself (out of fuel): 400 M fuel is ~0.3 s of
 * CPU, several times the 50 ms limits given up in the queue behind it (1e9 cost ~0.7 CPU-s a run).
 */
const long = () => execute(app, { contract: { wasm: spin }, limits: { fuel: 400_000_000, timeoutMs: 20_000 } });

t.test('a request given up while queued stops no worker and holds no one up', async (t) => {
  const workers = threadIds();
  let busyDone = false;
  const busy = long().then((r) => ((busyDone = true), { r, at: performance.now() }));
  await whileRunning();
  const queued = await execute(app, { ...hello, limits: { timeoutMs: 50 } });
  t.equal(queued.status, 200);
  t.equal(queued.body.error.kind, 'timeout');
  t.ok(queued.body.timings.queueMs >= 45, `its wait is its queueMs (${queued.body.timings.queueMs})`);
  t.equal(queued.body.timings.executeMs, 0, 'it never ran');
  t.notOk(busyDone, 'answered at its limit, while the long execution still runs');

  const nextSent = performance.now();
  const next = execute(app, { ...hello, limits: { timeoutMs: 20_000 } }).then((r) => ({ r, at: performance.now() }));
  const [b, n] = await Promise.all([busy, next]);
  t.equal(b.r.body.error.kind, 'out_of_fuel', 'the running execution was not stopped');
  t.equal(n.r.body.ok, true, JSON.stringify(n.r.body.error));
  t.ok(n.at - b.at < 1000, `the next request ran as soon as the worker was free (${(n.at - b.at).toFixed(0)} ms after), no replacement awaited`);
  t.ok(n.r.body.timings.queueMs >= b.at - nextSent - 50, `its queueMs (${n.r.body.timings.queueMs}) covers its wait (${(b.at - nextSent).toFixed(0)} ms)`);
  t.same(threadIds(), workers, 'no worker was stopped or replaced');
});

t.test('a batch given up while queued: every call answers timeout, nothing ran', async (t) => {
  const busy = long();
  await whileRunning();
  const r = await req(app, { method: 'POST', url: '/execute/batch', payload: { calls: [{ ...hello, limits: { timeoutMs: 50 } }, hello, hello] } });
  t.equal(r.status, 200);
  t.same(r.body.results.map((x: any) => x.error?.kind), ['timeout', 'timeout', 'timeout']);
  for (const x of r.body.results) t.ok(x.timings.queueMs >= 45 && x.timings.executeMs === 0, 'waited, never ran');
  t.equal((await busy).body.error.kind, 'out_of_fuel');
  const after = await execute(app, hello);
  t.equal(after.body.ok, true);
  t.ok(after.body.timings.queueMs < 500, 'no wait left behind');
});

t.test("a request arriving while a stopped worker is replaced: the wait is in its queueMs", async (t) => {
  const stopped = await execute(app, { contract: { wasm: spin }, limits: { fuel: 10_000_000_000, timeoutMs: 200 } });
  t.equal(stopped.body.error.kind, 'timeout');
  t.ok(stopped.body.timings.executeMs >= 150, 'it ran until its limit');
  const sent = performance.now();
  const r = await execute(app, hello);
  const wall = performance.now() - sent;
  t.equal(r.body.ok, true);
  const { queueMs, prepareMs, instantiateMs, executeMs } = r.body.timings;
  t.ok(queueMs + prepareMs + instantiateMs + executeMs >= wall - 50, `the timings (queueMs ${queueMs}) account for the ${wall.toFixed(0)} ms it took`);
});
