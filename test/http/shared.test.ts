/**
 * Shared-memory linking over HTTP: the Rust examples by hash and inline in all three modes with the
 * same answer, `link.stacks`, the layout in GET /modules/:hash, collisions and mode mismatches as 422.
 */
import t from 'tap';
import { assertError, assertExecuteShape, b64, example, exampleHash, execute, hexOf, req, startApp } from '../support/http.js';

const { app } = await startApp(t);
const INPUT = b64('b=2\na=1\nc=3\n');
const DOCUMENTED = '0c046104310462043204630433' + '2012960592cce51919247b62e02ea6753292e543c287c3d0348d4191501a6e92';

t.test('the kv work in bridge, shared (two stacks and one) and standalone mode: the same answer', async (t) => {
  const bridge = await execute(app, { contract: { hash: exampleHash('kv') }, library: { hash: exampleHash('library') }, input: INPUT });
  const shared = await execute(app, { contract: { hash: exampleHash('kv-shared') }, library: { hash: exampleHash('library-shared') }, link: { mode: 'shared' }, input: INPUT });
  const one = await execute(app, {
    contract: { wasm: b64(example('kv-shared')) },
    library: { wasm: b64(example('library-shared')) },
    link: { mode: 'shared', stacks: 'one' },
    input: INPUT,
  });
  const standalone = await execute(app, { contract: { hash: exampleHash('kv-standalone') }, input: INPUT });
  for (const [name, r] of [['bridge', bridge], ['shared', shared], ['one', one], ['standalone', standalone]] as const) {
    t.equal(r.status, 200, name);
    t.equal(r.body.ok, true, `${name}: ${JSON.stringify(r.body.error)}`);
    t.equal(hexOf(r.body.result.output), DOCUMENTED, `${name}: the documented output`);
    t.same(r.body.result.values, [3]);
    t.same(r.body.logs, [{ level: 'info', message: 'kv: 3 entries' }]);
  }
  assertExecuteShape(t, shared.body, { library: true });
  t.same(shared.body.link, { mode: 'shared', calls: 0, bytesCopied: 0, stacks: 'two' });
  t.same(one.body.link, { mode: 'shared', calls: 0, bytesCopied: 0, stacks: 'one' });
  t.equal(shared.body.fuel.consumed, one.body.fuel.consumed, 'same operators, same fuel');
  t.same(shared.body.memory.modules.contract, { initialBytes: 0, peakBytes: 0 }, 'the contract owns no memory');
  t.equal(shared.body.memory.modules.library.peakBytes, shared.body.memory.peakBytes);
});

t.test('the stack guard over HTTP: a deep library recursion is stack_overflow', async (t) => {
  const r = await execute(app, {
    contract: { hash: exampleHash('kv-shared') },
    library: { hash: exampleHash('library-shared') },
    link: { mode: 'shared' },
    entrypoint: 'deep',
    args: [3000],
  });
  t.equal(r.status, 200);
  t.equal(r.body.error.kind, 'stack_overflow');
  t.match(r.body.error.message, /library stack exhausted .* into the contract's data; stopped before writing there/);
  const ok = await execute(app, { contract: { hash: exampleHash('kv-shared') }, library: { hash: exampleHash('library-shared') }, link: { mode: 'shared' }, entrypoint: 'deep', args: [100] });
  t.same(ok.body.result.values, [1], 'the next request is unaffected, its data intact');
});

t.test('GET /modules/:hash shows the layout', async (t) => {
  const r = await req(app, { method: 'GET', url: `/modules/${exampleHash('library-shared')}` });
  t.equal(r.status, 200);
  const l = r.body.layout;
  t.same(l.stackPointer, { global: 0, initial: 0x200000, name: '__stack_pointer' });
  t.same(l.data, [{ start: 0x200000, end: 0x20063c }]);
  t.equal(l.heapBase, 0x2006d0);
  t.same(l.memory, { imported: null, defined: true, exportedAs: ['memory'], minPages: 33, maxPages: null });
  const c = await req(app, { method: 'GET', url: `/modules/${exampleHash('kv-shared')}` });
  t.equal(c.body.layout.memory.imported, 'env.memory');
  t.equal(c.body.layout.stackPointer.initial, 0x100000);
});

t.test('422 link_error: collisions and mode mismatches', async (t) => {
  const collide = await execute(app, { contract: { hash: exampleHash('kv-shared') }, library: { hash: exampleHash('library') }, link: { mode: 'shared' } });
  assertError(t, collide, 422, 'link_error', /library data \[0x100000, 0x10063c\) overlaps contract data \[0x100000, 0x10004c\)/);
  const inBridge = await execute(app, { contract: { hash: exampleHash('kv-shared') }, library: { hash: exampleHash('library-shared') } });
  assertError(t, inBridge, 422, 'link_error', /use link mode "shared"/);
  const inShared = await execute(app, { contract: { hash: exampleHash('kv') }, library: { hash: exampleHash('library') }, link: { mode: 'shared' } });
  assertError(t, inShared, 422, 'link_error', /use link mode "bridge"/);
  const stacksInBridge = await execute(app, { contract: { hash: exampleHash('kv') }, library: { hash: exampleHash('library') }, link: { stacks: 'one' } });
  assertError(t, stacksInBridge, 400, 'bad_request', /link\.stacks applies to link mode "shared" only/);
  const badStacks = await execute(app, { contract: { hash: exampleHash('kv') }, link: { mode: 'shared', stacks: 'three' } });
  t.equal(badStacks.status, 400);
});
