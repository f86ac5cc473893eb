/**
 * src/process/shutdown.ts: the service's handlers go on SIGTERM and SIGINT only. A JavaScript listener
 * for a fault signal would replace V8's WebAssembly trap handler (test/e2e/hostile-process.test.ts
 * shows the consequence against the spawned server); this checks the whole app and the handlers
 * install none, and that a signal drains through `close` once.
 */
import t from 'tap';
import { FAULT_SIGNALS, SHUTDOWN_SIGNALS, installShutdown } from '../../src/process/shutdown.js';
import { b64, example, execute, req, sha256, startApp } from '../support/http.js';

const before = new Map([...FAULT_SIGNALS, ...SHUTDOWN_SIGNALS, 'uncaughtException', 'unhandledRejection'].map((s) => [s, process.listeners(s as never)]));
const restore = () => {
  for (const [s, list] of before) {
    for (const l of process.listeners(s as never)) if (!list.includes(l)) process.removeListener(s as never, l);
  }
};
t.teardown(restore);

t.test('no fault-signal listener in the app and the shutdown handlers', async (t) => {
  // the examples not seeded (examples/iroha's executors are megabytes to store): the paths seeding
  // takes, storing and preparing a module, run through one upload and one execution instead
  const { app } = await startApp(t, { seedExamples: false });
  const hello = example('hello');
  t.equal((await req(app, { method: 'PUT', url: '/modules', payload: Buffer.from(hello), headers: { 'content-type': 'application/wasm' } })).status, 201, 'a module stored');
  const ran = await execute(app, { contract: { hash: sha256(hello) }, input: b64('world') });
  t.equal(ran.body?.ok, true, 'and executed');
  let closed = 0;
  const exits: Array<number | undefined> = [];
  const realExit = process.exit;
  process.exit = ((code?: number) => {
    exits.push(code);
  }) as typeof process.exit;
  t.teardown(() => {
    process.exit = realExit;
  });
  installShutdown({ delayMs: 50, close: async () => void closed++, log: { info: () => undefined, error: () => undefined } });
  for (const s of FAULT_SIGNALS) t.equal(process.listenerCount(s), 0, `no ${s} listener`);
  for (const s of SHUTDOWN_SIGNALS) t.ok(process.listenerCount(s) >= 1, `a ${s} handler`);
  t.ok(app.server, 'the app is built');
  process.emit('SIGTERM', 'SIGTERM');
  // the same stop delivered twice at once (Ctrl-C on `npm start`: npm passes its copy on) is one stop
  process.emit('SIGINT', 'SIGINT');
  await new Promise((r) => setTimeout(r, 20));
  t.equal(closed, 1, 'SIGTERM drains once');
  t.same(exits, [0], 'then exits 0: the repeat at once did not force an exit 1');
  await new Promise((r) => setTimeout(r, 100));
  t.same(exits, [0], 'the drain bound (50 ms) was cleared once drained: no exit 1 after it');
});
