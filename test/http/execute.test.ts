/**
 * POST /execute through the real app (Fastify inject, one worker thread): the 200 body of docs/API.md for
 * every outcome kind, the error statuses and their `{ error: { kind, message } }` body, request ids,
 * and determinism across repeated requests.
 */
import t from 'tap';
import {
  assertError,
  assertExecuteShape,
  b64,
  example,
  exampleHash,
  execute,
  hexOf,
  PAGE,
  sha256,
  startApp,
  textOf,
  wat,
  withoutTimings,
} from '../support/http.js';

/** Small enough to test 413 cheaply, large enough for library.wasm (19,550 B). */
const MAX_MODULE_BYTES = 32 * 1024;
const BODY_LIMIT_BYTES = 256 * 1024;

const { app, config } = await startApp(t, { policy: { maxModuleBytes: MAX_MODULE_BYTES }, bodyLimitBytes: BODY_LIMIT_BYTES });

const hello = example('hello');
const kvHash = exampleHash('kv');
const libHash = exampleHash('library');
const KV_INPUT = 'b=2\na=1\nc=3\n';
const KV_OUTPUT_HEX = '0c046104310462043204630433' + '2012960592cce51919247b62e02ea6753292e543c287c3d0348d4191501a6e92';

const divZero = await wat(`(module (func (export "main") (result i32) i32.const 1 i32.const 0 i32.div_s))`);
const forever = await wat(`(module (func (export "main") (loop $l br $l)))`);
const importsLibX = await wat(`(module (import "lib" "x" (func $x)) (func (export "main") call $x))`);

t.test('200 ok: hello inline (base64) and by the hash of the seeded example', async (t) => {
  const r = await execute(app, { contract: { wasm: b64(hello) }, input: b64('world') });
  t.equal(r.status, 200);
  assertExecuteShape(t, r.body, { library: false });
  t.equal(r.body.ok, true);
  t.same(r.body.result.values, [5]);
  t.equal(textOf(r.body.result.output), 'hello, world');
  t.same(r.body.logs, [{ level: 'info', message: 'hello called' }]);
  t.same(r.body.modules, { contract: { hash: sha256(hello), bytes: hello.length } });
  t.same(r.body.link, { mode: 'bridge', calls: 0, bytesCopied: 0 });
  t.same(r.body.memory, {
    limitBytes: config.limits.defaults.memoryBytes,
    peakBytes: 17 * PAGE,
    modules: { contract: { initialBytes: 17 * PAGE, peakBytes: 17 * PAGE } },
  });
  t.equal(r.body.fuel.limit, config.limits.defaults.fuel, 'default fuel limit from config');
  t.ok(r.body.fuel.consumed > 0, 'fuel was consumed');

  const byHash = await execute(app, { contract: { hash: sha256(hello) }, input: b64('world') });
  t.equal(byHash.status, 200);
  t.same(withoutTimings(byHash.body), withoutTimings(r.body), 'by hash gives the same body as inline');

  const empty = await execute(app, { contract: { hash: sha256(hello) } });
  t.same(empty.body.result, { values: [0], output: b64('hello, ') }, 'no input = empty input');
});

t.test('200 ok: kv linked with the library, both by hash (examples/README.md worked example)', async (t) => {
  const r = await execute(app, { contract: { hash: kvHash }, library: { hash: libHash }, input: b64(KV_INPUT) });
  t.equal(r.status, 200);
  assertExecuteShape(t, r.body, { library: true });
  t.equal(r.body.ok, true);
  t.same(r.body.result.values, [3]);
  t.equal(hexOf(r.body.result.output), KV_OUTPUT_HEX);
  t.same(r.body.logs, [{ level: 'info', message: 'kv: 3 entries' }]);
  t.same(r.body.link, { mode: 'bridge', calls: 5, bytesCopied: 64 });
  t.same(r.body.modules, {
    contract: { hash: kvHash, bytes: example('kv').length },
    library: { hash: libHash, bytes: example('library').length },
  });
  t.same(r.body.memory.modules.contract.initialBytes, 17 * PAGE);
  t.same(r.body.memory.modules.library.initialBytes, 17 * PAGE);

  // explicit link options equal to the defaults change nothing
  const explicit = await execute(app, {
    contract: { hash: kvHash },
    library: { wasm: b64(example('library')) },
    link: { mode: 'bridge', namespace: 'lib' },
    entrypoint: 'main',
    args: [],
    input: b64(KV_INPUT),
  });
  t.same(withoutTimings(explicit.body), withoutTimings(r.body), 'library inline + explicit defaults');

  const empty = await execute(app, { contract: { hash: kvHash }, library: { hash: libHash } });
  t.same(empty.body.result.values, [0]);
  t.equal(hexOf(empty.body.result.output), '00' + sha256(Buffer.from([0])));
});

t.test('200 ok: i64 arguments and results as decimal strings', async (t) => {
  const add = (a: unknown, b: unknown) => execute(app, { contract: { hash: kvHash }, library: { hash: libHash }, entrypoint: 'add', args: [a, b] });
  t.same((await add('40', '2')).body.result.values, ['42']);
  t.same((await add('9223372036854775807', '1')).body.result.values, ['-9223372036854775808'], 'wrapping add');
  const fib = await execute(app, { contract: { hash: exampleHash('fib') }, entrypoint: 'fib', args: [20] });
  t.same(fib.body.result.values, ['6765']);
});

t.test('200 outcome: out_of_fuel', async (t) => {
  const r = await execute(app, { contract: { hash: exampleHash('compute') }, entrypoint: 'sha_loop', args: [1000], limits: { fuel: 1000 } });
  t.equal(r.status, 200);
  assertExecuteShape(t, r.body, { library: false });
  t.equal(r.body.ok, false);
  t.equal(r.body.error.kind, 'out_of_fuel');
  t.same(r.body.fuel, { limit: 1000, consumed: 1000, remaining: 0 });
});

t.test('200 outcome: memory_limit (oom.wasm under limits.memoryBytes, and an initial size over the cap)', async (t) => {
  const pages = 20;
  const r = await execute(app, { contract: { hash: exampleHash('oom') }, limits: { memoryBytes: pages * PAGE } });
  t.equal(r.status, 200);
  assertExecuteShape(t, r.body, { library: false });
  t.equal(r.body.error.kind, 'memory_limit');
  t.same(r.body.memory, {
    limitBytes: pages * PAGE,
    peakBytes: pages * PAGE,
    modules: { contract: { initialBytes: 17 * PAGE, peakBytes: pages * PAGE } },
  });

  const initial = await execute(app, { contract: { hash: sha256(hello) }, limits: { memoryBytes: 16 * PAGE } });
  t.equal(initial.status, 200);
  assertExecuteShape(t, initial.body, { library: false });
  t.equal(initial.body.error.kind, 'memory_limit', '17 initial pages over a 16-page cap');
});

t.test('200 outcome: stack_overflow (fib.wasm depth) and a shallow depth that is fine', async (t) => {
  const fib = exampleHash('fib');
  const deep = await execute(app, { contract: { hash: fib }, entrypoint: 'depth', args: [1_000_000] });
  t.equal(deep.status, 200);
  assertExecuteShape(t, deep.body, { library: false });
  t.equal(deep.body.error.kind, 'stack_overflow');
  t.equal(deep.body.error.message, `call stack exhausted: the stack budget of ${config.engine.maxStackBytes} bytes is used up (docs/ABI.md, Stack)`, 'names the budget');
  const shallow = await execute(app, { contract: { hash: fib }, entrypoint: 'depth', args: [100] });
  t.same(shallow.body.result.values, [100]);
});

t.test('200 outcome: trap, named, with the exact fuel of the operators executed', async (t) => {
  const r = await execute(app, { contract: { wasm: b64(divZero) } });
  t.equal(r.status, 200);
  assertExecuteShape(t, r.body, { library: false });
  t.has(r.body.error, { kind: 'trap', message: 'integer divide by zero' });
  // function entry 1 + i32.const + i32.const + the trapping i32.div_s
  t.equal(r.body.fuel.consumed, 4);
});

t.test('200 outcome: panic (panic.wasm)', async (t) => {
  const r = await execute(app, { contract: { hash: exampleHash('panic') }, input: b64('alice') });
  t.equal(r.status, 200);
  assertExecuteShape(t, r.body, { library: false });
  t.has(r.body.error, { kind: 'panic', message: 'contract refused: alice' });
});

t.test('200 outcome: timeout of an infinite loop, then the (replaced) worker serves a normal request', async (t) => {
  const started = Date.now();
  const r = await execute(app, { contract: { wasm: b64(forever) }, limits: { fuel: 10_000_000_000, timeoutMs: 200 } });
  const took = Date.now() - started;
  t.equal(r.status, 200);
  assertExecuteShape(t, r.body, { library: false });
  t.equal(r.body.error.kind, 'timeout');
  t.same(r.body.fuel, { limit: 10_000_000_000, consumed: 10_000_000_000, remaining: 0 }, 'consumed == limit');
  t.ok(took >= 150 && took < 5000, `answered after the 200 ms timeout (${took} ms)`);

  // timeoutMs counts from submission, which includes starting the replacement worker: slow on a
  // loaded machine under coverage, so this request gets the ceiling
  const next = await execute(app, { contract: { hash: sha256(hello) }, input: b64('again'), limits: { timeoutMs: config.limits.max.timeoutMs } });
  t.equal(next.status, 200);
  t.equal(next.body.ok, true, `ok (${JSON.stringify(next.body.error)}, ${JSON.stringify(next.body.timings)})`);
  t.equal(next.body.ok && textOf(next.body.result.output), 'hello, again');
});

t.test('400: schema violations', async (t) => {
  const ok = { contract: { hash: sha256(hello) } };
  const cases: Array<[string, unknown]> = [
    ['missing contract', { input: b64('x') }],
    ['unknown top-level field', { ...ok, extra: 1 }],
    ['contract is a string', { contract: 'abc' }],
    ['contract.wasm is a number', { contract: { wasm: 5 } }],
    ['contract with both wasm and hash', { contract: { wasm: b64(hello), hash: sha256(hello) } }],
    ['contract.hash not 64 lowercase hex', { contract: { hash: sha256(hello).toUpperCase() } }],
    ['contract.hash too short', { contract: { hash: 'abc' } }],
    ['entrypoint is a number', { ...ok, entrypoint: 5 }],
    ['entrypoint is empty', { ...ok, entrypoint: '' }],
    ['args is not an array', { ...ok, args: 'x' }],
    ['args holds an object', { ...ok, args: [{}] }],
    ['input is a number', { ...ok, input: 7 }],
    ['limits.fuel is a string', { ...ok, limits: { fuel: '100' } }],
    ['limits.fuel negative', { ...ok, limits: { fuel: -1 } }],
    ['limits.fuel fractional', { ...ok, limits: { fuel: 1.5 } }],
    ['limits.timeoutMs 0', { ...ok, limits: { timeoutMs: 0 } }],
    ['unknown field in limits', { ...ok, limits: { gas: 1 } }],
    ['link.mode unknown', { ...ok, link: { mode: 'magic' } }],
    ['unknown field in link', { ...ok, link: { style: 'bridge' } }],
    ['body is an array', [ok]],
  ];
  for (const [name, body] of cases) {
    t.test(name, async (t) => assertError(t, await execute(app, body), 400, 'bad_request'));
  }
  t.test('body is not JSON', async (t) => {
    assertError(t, await execute(app, '{"contract":', { 'content-type': 'application/json' }), 400, 'bad_request');
  });
});

t.test('400: bad base64 in contract.wasm, library.wasm and input', async (t) => {
  assertError(t, await execute(app, { contract: { wasm: 'not base64!' } }), 400, 'bad_request', /contract\.wasm/);
  assertError(t, await execute(app, { contract: { wasm: 'AGFzbQ#' } }), 400, 'bad_request', /contract\.wasm/);
  assertError(t, await execute(app, { contract: { hash: kvHash }, library: { wasm: '***' } }), 400, 'bad_request', /library\.wasm/);
  assertError(t, await execute(app, { contract: { hash: sha256(hello) }, input: 'a b c' }), 400, 'bad_request', /input/);
  assertError(t, await execute(app, { contract: { hash: sha256(hello) }, input: 'abcde' }), 400, 'bad_request', /input/);
});

t.test('400: limits above the config ceilings, naming the limit', async (t) => {
  const max = config.limits.max;
  const over: Array<[string, number]> = [
    ['fuel', max.fuel + 1],
    ['memoryBytes', max.memoryBytes + 1],
    ['timeoutMs', max.timeoutMs + 1],
  ];
  for (const [k, v] of over) {
    assertError(t, await execute(app, { contract: { hash: sha256(hello) }, limits: { [k]: v } }), 400, 'bad_request', new RegExp(`limits\\.${k}`));
  }
  const atMax = await execute(app, { contract: { hash: sha256(hello) }, limits: { fuel: max.fuel, memoryBytes: max.memoryBytes, timeoutMs: max.timeoutMs } });
  t.equal(atMax.status, 200, 'exactly the ceilings are allowed');
  t.equal(atMax.body.fuel.limit, max.fuel);
  t.equal(atMax.body.memory.limitBytes, max.memoryBytes);
});

t.test('400: arguments not matching the signature, unknown entrypoint', async (t) => {
  const fib = exampleHash('fib');
  assertError(t, await execute(app, { contract: { hash: fib }, entrypoint: 'fib', args: [] }), 400, 'bad_request', /takes 1 argument/);
  assertError(t, await execute(app, { contract: { hash: fib }, entrypoint: 'fib', args: [1, 2] }), 400, 'bad_request', /takes 1 argument/);
  assertError(t, await execute(app, { contract: { hash: fib }, entrypoint: 'fib', args: ['10'] }), 400, 'bad_request', /i32/);
  assertError(t, await execute(app, { contract: { hash: fib }, entrypoint: 'fib', args: [1.5] }), 400, 'bad_request', /i32/);
  assertError(
    t,
    await execute(app, { contract: { hash: kvHash }, library: { hash: libHash }, entrypoint: 'add', args: ['1', 'x'] }),
    400,
    'bad_request',
    /i64/,
  );
  assertError(t, await execute(app, { contract: { hash: fib }, entrypoint: 'nope' }), 400, 'bad_request', /nope/);
  assertError(t, await execute(app, { contract: { hash: fib } }), 400, 'bad_request', /main/);
  // an exported non-function is no entrypoint either
  assertError(t, await execute(app, { contract: { hash: fib }, entrypoint: 'memory' }), 400, 'bad_request', /memory/);
});

t.test('404: unknown module hash (contract or library)', async (t) => {
  const unknown = sha256('no such module');
  assertError(t, await execute(app, { contract: { hash: unknown } }), 404, 'not_found', new RegExp(unknown));
  assertError(t, await execute(app, { contract: { hash: kvHash }, library: { hash: unknown } }), 404, 'not_found', /library/);
});

t.test('413: inline module over policy.maxModuleBytes, body over bodyLimitBytes', async (t) => {
  // a valid module of MAX_MODULE_BYTES + 1000 bytes: only its size is wrong
  const big = await wat(`(module (memory 1) (data (i32.const 0) "${'a'.repeat(MAX_MODULE_BYTES + 1000)}") (func (export "main")))`);
  t.ok(big.length > MAX_MODULE_BYTES && big.length * 1.4 < BODY_LIMIT_BYTES);
  const inline = await execute(app, { contract: { wasm: b64(big) } });
  assertError(t, inline, 413, 'too_large');
  t.equal(inline.body.error.message, `the contract module is ${big.length} bytes, more than the module size limit of ${MAX_MODULE_BYTES}`);
  assertError(t, await execute(app, { contract: { hash: kvHash }, library: { wasm: b64(big) } }), 413, 'too_large', /library/);
  const huge = b64(new Uint8Array(BODY_LIMIT_BYTES));
  const body = JSON.stringify({ contract: { hash: sha256(hello) }, input: huge });
  const overBody = await execute(app, body, { 'content-type': 'application/json' });
  assertError(t, overBody, 413, 'too_large');
  t.equal(overBody.body.error.message, `the request body is ${Buffer.byteLength(body)} bytes, more than the body size limit of ${BODY_LIMIT_BYTES}`);
});

t.test('415: a body that is not JSON, answered with the content type POST /execute accepts', async (t) => {
  for (const type of ['text/plain', 'application/xml', 'application/wasm']) {
    const r = await execute(app, type === 'application/wasm' ? Buffer.from(hello) : '<x/>', { 'content-type': type });
    assertError(t, r, 415, 'unsupported_media_type');
    t.equal(r.body.error.message, `POST /execute accepts a body of Content-Type application/json, not ${type}`, type);
  }
});

t.test('422: invalid module, link errors, policy violation', async (t) => {
  const garbage = new Uint8Array(64).map((_, i) => (i * 37 + 11) & 0xff);
  assertError(t, await execute(app, { contract: { wasm: b64(garbage) } }), 422, 'invalid_module');
  assertError(t, await execute(app, { contract: { hash: kvHash }, library: { wasm: b64(garbage) } }), 422, 'invalid_module');
  // valid header, truncated body
  assertError(t, await execute(app, { contract: { wasm: b64(hello.subarray(0, 100)) } }), 422, 'invalid_module');

  assertError(t, await execute(app, { contract: { wasm: b64(importsLibX) } }), 422, 'link_error', /x/);
  // kv needs the library
  assertError(t, await execute(app, { contract: { hash: kvHash } }), 422, 'link_error', /map_new|lib/);
  assertError(
    t,
    await execute(app, { contract: { hash: kvHash }, library: { hash: libHash }, link: { mode: 'shared' } }),
    422,
    'link_error',
    /the contract has its own memory.*use link mode "bridge"/,
  );
  // the library without the function the contract imports
  assertError(t, await execute(app, { contract: { wasm: b64(importsLibX) }, library: { hash: libHash } }), 422, 'link_error', /x/);

  const locals = config.policy.maxLocals + 1;
  const tooManyLocals = await wat(`(module (func (export "main") (local ${'i32 '.repeat(locals)})))`);
  assertError(t, await execute(app, { contract: { wasm: b64(tooManyLocals) } }), 422, 'policy_violation', new RegExp(String(locals)));
});

t.test('x-request-id: generated, or echoed when sent', async (t) => {
  const a = await execute(app, { contract: { hash: sha256(hello) } });
  const b = await execute(app, { contract: { hash: sha256(hello) } });
  t.match(String(a.headers['x-request-id']), /^[0-9a-f-]{36}$/, 'a generated id');
  t.not(a.headers['x-request-id'], b.headers['x-request-id'], 'one id per request');
  const sent = await execute(app, { contract: { hash: sha256(hello) } }, { 'x-request-id': 'client-id-42' });
  t.equal(sent.headers['x-request-id'], 'client-id-42');
  const onError = await execute(app, { nope: 1 }, { 'x-request-id': 'client-id-43' });
  t.equal(onError.status, 400);
  t.equal(onError.headers['x-request-id'], 'client-id-43', 'on error responses too');
});

t.test('determinism: the same request 20 times gives the same body except timings', async (t) => {
  const requests = [
    { contract: { hash: kvHash }, library: { hash: libHash }, input: b64(KV_INPUT) },
    { contract: { hash: exampleHash('compute') }, entrypoint: 'sort', args: [500], limits: { fuel: 200_000 } },
  ];
  for (const request of requests) {
    const first = await execute(app, request);
    t.equal(first.status, 200);
    const want = withoutTimings(first.body);
    let same = 0;
    for (let i = 1; i < 20; i++) {
      const r = await execute(app, request);
      if (JSON.stringify(withoutTimings(r.body)) === JSON.stringify(want)) same++;
      else t.same(withoutTimings(r.body), want, `run ${i + 1}`);
    }
    t.equal(same, 19, `${request.entrypoint ?? 'main'}: 19 repeats equal the first`);
  }
});

t.test('schema errors read as one clear sentence per problem', async (t) => {
  const msg = async (payload: unknown) => (await app.inject({ method: 'POST', url: '/execute', payload: payload as object })).json().error.message as string;
  t.match(await msg({ contract: { hash: 7 } }), /^invalid request: body\.contract is not valid: expected \{ "wasm": .* \} or \{ "hash": .* \}$/, 'a bad module reference names both forms');
  t.match(await msg({ contract: { hash: '00' } }), /^invalid request: body\.contract\.hash: a shortened hash \(2 hex digits\)/, 'a bad hash says what is wrong with it');
  t.equal(await msg({ contract: { hash: 'a'.repeat(64) }, entryPoint: 'x' }), 'invalid request: body has an unknown property `entryPoint`', 'a misspelt field is named');
  t.equal(await msg({}), "invalid request: body must have required property 'contract'");
  t.match(await msg({ contract: { hash: 'a'.repeat(64) }, args: [{}] }), /^invalid request: body\.args\[0\] is not valid: expected a number, or a decimal string for an i64$/);
  t.equal(await msg({ contract: { hash: 'a'.repeat(64) }, limits: { fuel: -1 } }), 'invalid request: body.limits.fuel must be >= 0');
});
