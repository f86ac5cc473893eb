/**
 * POST /execute/batch: each result is exactly what POST /execute answers for that call (its 200 body,
 * or { status, error } for its 4xx), in order; calls share nothing; a call that runs out of time is its
 * own `timeout`; the batch's own bounds.
 */
import t from 'tap';
import { assertError, b64, exampleHash, execute, req, wat, withoutTimings, startApp } from '../support/http.js';

const { app } = await startApp(t, { maxBatch: 8 });
const batch = (calls: unknown[]) => req(app, { method: 'POST', url: '/execute/batch', payload: { calls }, headers: { 'content-type': 'application/json' } });

let counter = '';
let spin = '';
t.before(async () => {
  // a mutable global bumped by every call: 1 each time when calls share nothing
  counter = b64(await wat('(module (global $n (mut i32) (i32.const 0)) (func (export "main") (result i32) global.get $n i32.const 1 i32.add global.set $n global.get $n))'));
  spin = b64(await wat('(module (func (export "main") (result i32) (loop $l (br $l)) (i32.const 0)))'));
});

t.test('each result is what POST /execute answers for the call, in order', async (t) => {
  const calls = [
    { contract: { hash: exampleHash('hello') }, input: b64('a') },
    { contract: { hash: exampleHash('kv') }, library: { hash: exampleHash('library') }, input: b64('b=2\na=1\n') },
    { contract: { hash: '0'.repeat(64) } },
    { contract: { wasm: 'not base64!' } },
    { contract: { hash: exampleHash('kv') } },
    { contract: { hash: exampleHash('panic') }, input: b64('no') },
    { contract: { hash: exampleHash('kv-shared') }, library: { hash: exampleHash('library-shared') }, link: { mode: 'shared' }, entrypoint: 'deep', args: [3000] },
    { contract: { hash: exampleHash('hello') }, limits: { fuel: 10 } },
  ];
  const r = await batch(calls);
  t.equal(r.status, 200);
  t.equal(r.body.results.length, calls.length);
  for (const [i, call] of calls.entries()) {
    const single = await execute(app, call);
    const got = r.body.results[i];
    if (single.status === 200) t.same(withoutTimings(got), withoutTimings(single.body), `call ${i}: the same 200 body`);
    else t.same(got, { status: single.status, error: single.body.error }, `call ${i}: ${single.status} ${single.body.error.kind}`);
  }
  t.same(r.body.results.map((x: any) => x.status ?? x.error?.kind ?? 'ok'), ['ok', 'ok', 404, 400, 422, 'panic', 'stack_overflow', 'out_of_fuel']);
  const again = await batch(calls);
  t.same(again.body.results.map(withoutTimingsIfBody), r.body.results.map(withoutTimingsIfBody), 'deterministic');
});

const withoutTimingsIfBody = (x: any) => ('timings' in x ? withoutTimings(x) : x);

t.test('calls share nothing', async (t) => {
  const r = await batch(Array.from({ length: 8 }, () => ({ contract: { wasm: counter } })));
  t.same(r.body.results.map((x: any) => x.result.values[0]), [1, 1, 1, 1, 1, 1, 1, 1], 'a fresh instance for every call');
});

t.test('a call that runs out of time is its own timeout; the others are answered', async (t) => {
  const r = await batch([{ contract: { wasm: counter } }, { contract: { wasm: spin }, limits: { timeoutMs: 300, fuel: 10_000_000_000 } }, { contract: { hash: exampleHash('hello') }, input: b64('z') }]);
  t.equal(r.status, 200);
  t.same(r.body.results[0].result?.values, [1], JSON.stringify(r.body.results[0]));
  t.equal(r.body.results[1].error.kind, 'timeout');
  t.equal(Buffer.from(r.body.results[2].result.output, 'base64').toString(), 'hello, z');
  const after = await execute(app, { contract: { hash: exampleHash('hello') } });
  t.equal(after.body.ok, true, 'the service is fine afterwards');
});

t.test('the batch itself: 1 to maxBatch calls, each of the POST /execute shape', async (t) => {
  assertError(t, await batch([]), 400, 'bad_request', /calls/);
  assertError(t, await batch(Array.from({ length: 9 }, () => ({ contract: { hash: exampleHash('hello') } }))), 400, 'bad_request', /8/);
  assertError(t, await batch([{ contract: { hash: exampleHash('hello') }, bogus: 1 }]), 400, 'bad_request', /bogus/);
  assertError(t, await req(app, { method: 'POST', url: '/execute/batch', payload: 'x', headers: { 'content-type': 'text/plain' } }), 415, 'unsupported_media_type');
});
