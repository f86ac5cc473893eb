/**
 * A full queue over the wire: WORKERS=1 MAX_QUEUE=1, slow executions fired together. The ones beyond
 * one running and one waiting are refused with 503 {error:{kind:"overloaded"}} and Retry-After; the
 * accepted ones complete; afterwards the server serves normally.
 */
import t from 'tap';
import { Value } from '@sinclair/typebox/value';
import { ErrorResponse, ExecuteResponse } from '../../src/http/schemas.js';
import { wat } from '../support/wat.js';
import { LOOP_WAT, deadline, loopFuel, loopValue, sha256, startServer } from './server-harness.js';

const loopWasm = await wat(LOOP_WAT);
const loopHash = sha256(loopWasm);

const S = await startServer(t, { WORKERS: '1', MAX_QUEUE: '1', STORE_DIR: 'none', SEED_EXAMPLES: 'false', FUEL_MAX: '100000000000' });

t.test('queue full: 503 overloaded with Retry-After, the others 200, then normal service', async (t) => {
  const put = await S.request('PUT', '/modules', loopWasm);
  t.equal(put.status, 201);
  t.equal(put.body.hash, loopHash);

  // calibrate: iterations for about 150 ms (measured alone; slower side by side) of execution. A new
  // module may run a whole first call in V8's baseline tier (several times slower) and gets optimised
  // for the next: a short first run (a full-length cold one could cost ~0.5 CPU-s), then the measure.
  const n0 = 20_000_000;
  let ms = 0;
  for (const size of [n0 / 4, n0]) {
    const r = await S.execute({ contract: { hash: loopHash }, args: [size], limits: { fuel: loopFuel(size), timeoutMs: 20_000 } }, 25_000);
    t.equal(r.status, 200, 'calibration run');
    ms = r.body.timings?.executeMs ?? 0; // the last run: tiered up
  }
  const n = Math.max(2 * n0, Math.min(2_000_000_000, Math.round((n0 * 150) / Math.max(ms, 1))));

  const slow = { contract: { hash: loopHash }, args: [n], limits: { fuel: loopFuel(n), timeoutMs: 25_000 } };
  const replies = await deadline(Promise.all(Array.from({ length: 6 }, () => S.execute(slow, 30_000))), 35_000, '6 concurrent requests');
  const accepted = replies.filter((r) => r.status === 200);
  const refused = replies.filter((r) => r.status === 503);
  t.equal(accepted.length + refused.length, 6, `only 200 and 503 (got ${replies.map((r) => r.status).join(', ')})`);
  t.ok(refused.length >= 1, `at least one 503 (${refused.length})`);
  t.ok(accepted.length >= 1, `at least one 200 (${accepted.length})`);
  t.ok(accepted.length <= 2, `no more accepted than one running + one waiting (${accepted.length})`);
  for (const r of refused) {
    t.ok(Value.Check(ErrorResponse, r.body), 'an ErrorResponse');
    t.equal(r.body.error.kind, 'overloaded');
    t.type(r.body.error.message, 'string');
    t.match(r.headers.get('retry-after') ?? '', /^[1-9]\d*$/, 'Retry-After: whole seconds');
  }
  for (const r of accepted) {
    t.ok(Value.Check(ExecuteResponse, r.body), 'an ExecuteResponse');
    t.equal(r.body.ok, true);
    t.same(r.body.result, { values: [loopValue(n)], output: '' });
    t.equal(r.body.fuel.consumed, loopFuel(n), 'exact fuel');
  }

  // normal service afterwards
  for (let i = 0; i < 3; i++) {
    const r = await S.execute({ contract: { hash: loopHash }, args: [1000] });
    t.equal(r.status, 200);
    t.same(r.body.result?.values, [loopValue(1000)]);
    t.equal(r.body.fuel?.consumed, loopFuel(1000));
  }
  const ready = await S.request('GET', '/ready');
  t.equal(ready.status, 200);
  t.same(ready.body, { status: 'ready', workers: 1, pool: true, store: true });
  const metrics = await S.request('GET', '/metrics');
  // prom-client writes no line for a label value never counted
  const m = /^wasm_requests_rejected_total\{kind="overloaded"\} (\d+)$/m.exec(metrics.text);
  t.equal(m ? Number(m[1]) : 0, refused.length, 'wasm_requests_rejected_total{kind="overloaded"}: one count per 503');

  t.same(await S.stop('SIGTERM', 10_000), { code: 0, signal: null }, 'clean exit');
  t.equal(S.stderr, '', 'nothing on stderr');
});
