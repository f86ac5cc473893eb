/**
 * `policy.floats` through the real app (one worker thread each): canonicalize gives the canonical NaN
 * bits for inline and stored modules, with the same fuel as allow (also for a trap mid-block, refunded
 * in the worker); allow gives the hardware's bits; refuse answers 422 policy_violation naming the operator;
 * deterministic + canonicalize runs floats and still refuses threads.
 */
import t from 'tap';
import { assertError, b64, execute, req, startApp, wat } from '../support/http.js';

const floats = await wat(`(module
  (func (export "main") (param i32 i32) (result i32)
    local.get 0 f32.reinterpret_i32 local.get 1 f32.reinterpret_i32 f32.div i32.reinterpret_f32)
  (func (export "add64") (param i64 i64) (result i64)
    local.get 0 f64.reinterpret_i64 local.get 1 f64.reinterpret_i64 f64.add i64.reinterpret_f64)
  (func (export "lanes") (param i32) (result i32)
    local.get 0 i32x4.splat f32x4.sqrt i32x4.extract_lane 3)
  (func (export "trap") (param i32) (result i32)
    local.get 0 f32.convert_i32_s f32.const 0 f32.div f32.sqrt i32.trunc_f32_s i32.const 1 i32.add))`);
const shared = await wat(`(module (memory 1 1 shared) (func (export "main") (result i32) i32.const 0 i32.atomic.load))`);

const F32_CANON = 0x7fc00000;
const F64_CANON = 0x7ff8000000000000n;
const raw = new WebAssembly.Instance(new WebAssembly.Module(floats as BufferSource)).exports as Record<string, (...a: any[]) => any>;

// no seeding: these tests run their own modules (seeding the bundled examples costs each start ~0.4 CPU-s).
// The restart test keeps its own fresh apps: its first PUT must prepare (and persist) the module, which a
// module already prepared by inline runs would not do.
const allow = (await startApp(t, { policy: { floats: 'allow' }, seedExamples: false })).app;
const canon = (await startApp(t, { policy: { floats: 'canonicalize', deterministic: true }, seedExamples: false })).app;
const refuse = (await startApp(t, { policy: { floats: 'refuse' }, seedExamples: false })).app;

const call = (app: typeof allow, entrypoint: string, args: unknown[], contract: object = { wasm: b64(floats) }) =>
  execute(app, { contract, entrypoint, args });

t.test('canonicalize: canonical NaN bits, the same fuel as allow', async (t) => {
  const cases: Array<[string, unknown[], unknown, unknown]> = [
    ['main', [0, 0], F32_CANON, raw.main!(0, 0)], // 0/0
    ['main', [0x7fa00001, 0x3f800000], F32_CANON, raw.main!(0x7fa00001, 0x3f800000)], // NaN payload / 1
    ['main', [0x40000000, 0x3f800000], 0x40000000, 0x40000000], // 2/1
    ['add64', ['9219994337134247937', '0'], F64_CANON.toString(), BigInt.asIntN(64, raw.add64!(0x7ff4000000000001n, 0n)).toString()],
    ['lanes', [0xbf800000 | 0], F32_CANON, raw.lanes!(0xbf800000 | 0)], // sqrt(-1) in every lane
  ];
  for (const [entry, args, want, hardware] of cases) {
    const [a, c] = [await call(allow, entry, args), await call(canon, entry, args)];
    t.equal(c.status, 200, `${entry}(${args}): 200`);
    const canonValue = c.body.result.values[0];
    t.equal(typeof canonValue === 'number' ? canonValue >>> 0 : canonValue, typeof want === 'number' ? want >>> 0 : want, `${entry}(${args}): canonical`);
    t.equal(a.body.result.values[0], hardware, `${entry}(${args}): allow gives the hardware's bits`);
    t.equal(c.body.fuel.consumed, a.body.fuel.consumed, `${entry}: the same fuel (${a.body.fuel.consumed})`);
  }
  t.not(raw.main!(0x7fa00001, 0x3f800000) >>> 0, F32_CANON, 'the hardware keeps the payload: the difference is observable');

  const [a, c] = [await call(allow, 'trap', [3]), await call(canon, 'trap', [3])];
  t.equal(c.body.error.kind, 'trap', 'a NaN converted to an integer traps');
  t.equal(c.body.fuel.consumed, 7, 'exact fuel: entry + 6 operators through the trapping one');
  t.equal(a.body.fuel.consumed, 7, 'the same under allow');
});

t.test('canonicalize: a stored module, by hash', async (t) => {
  const put = await req(canon, { method: 'PUT', url: '/modules', payload: Buffer.from(floats), headers: { 'content-type': 'application/wasm' } });
  t.ok(put.status === 201 || put.status === 200, `PUT: ${put.status}`);
  const r = await call(canon, 'main', [0, 0], { hash: put.body.hash });
  t.equal(r.status, 200);
  t.equal(r.body.result.values[0] >>> 0, F32_CANON, 'canonical by hash too');
});

t.test('deterministic + canonicalize still refuses threads', async (t) => {
  const r = await execute(canon, { contract: { wasm: b64(shared) } });
  assertError(t, r, 422, 'policy_violation', /shared memory \(threads\) is not allowed by the determinism policy/);
});

t.test('refuse: 422 policy_violation naming the operator', async (t) => {
  const r = await call(refuse, 'main', [0, 0]);
  assertError(t, r, 422, 'policy_violation', /^`f32\.reinterpret_i32` at byte \d+: floats are not allowed by the float policy$/);
  const put = await req(refuse, { method: 'PUT', url: '/modules', payload: Buffer.from(floats), headers: { 'content-type': 'application/wasm' } });
  assertError(t, put, 422, 'policy_violation', /floats are not allowed by the float policy/);
  const ok = await execute(refuse, { contract: { wasm: b64(await wat('(module (func (export "main") (result i32) i32.const 5))')) } });
  t.equal(ok.status, 200, 'an integer module runs');
});

t.test('a restart under another float policy does not reuse the prepared module', async (t) => {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'wcr-floats-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const hashOf = async (app: typeof allow) => {
    const put = await req(app, { method: 'PUT', url: '/modules', payload: Buffer.from(floats), headers: { 'content-type': 'application/wasm' } });
    return put.body.hash as string;
  };
  const payload = [0x7fa00001, 0x3f800000];
  const first = (await startApp(t, { policy: { floats: 'canonicalize' }, store: { dir } })).app;
  const hash = await hashOf(first);
  t.equal((await call(first, 'main', payload, { hash })).body.result.values[0] >>> 0, F32_CANON, 'canonicalize: canonical');
  await first.close();
  // unseeded: preparing the examples under allow would only cost time (the module under test is the float
  // one); the first and the last seed, so the last shows the seeded examples' artifacts reused too
  const second = (await startApp(t, { policy: { floats: 'allow' }, store: { dir }, seedExamples: false })).app;
  t.equal((await call(second, 'main', payload, { hash })).body.result.values[0], raw.main!(...payload), 'restarted under allow: the hardware bits, not the canonicalizing artifact');
  await second.close();
  const third = (await startApp(t, { policy: { floats: 'canonicalize' }, store: { dir } })).app;
  t.equal((await call(third, 'main', payload, { hash })).body.result.values[0] >>> 0, F32_CANON, 'and back: canonical again');
  const metrics = (await third.inject({ method: 'GET', url: '/metrics' })).body;
  t.match(metrics, /wasm_prepared_artifacts_total\{result="hit"\} [1-9]/, 'under the same float policy the persisted artifacts (the module and the seeded examples) are used');
  t.match(metrics, /wasm_prepared_artifacts_total\{result="written"\} 0\b/, 'and nothing prepared again');
});
