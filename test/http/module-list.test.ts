/**
 * GET /modules: the modules this replica holds, a page at a time in hash order (`limit`, `after`,
 * `next`), each with its size, first-seen time, exports, imports and profile; bad paging parameters
 * named; behind the bearer token like the other routes, while the API description (/docs,
 * /openapi.yaml) stays open. One app with a token and a store directory (the listing after a restart
 * is test/store/module-list.test.ts).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import t from 'tap';
import { PROJECT_ROOT } from '../../src/config.js';
import { summarize } from '../../src/http/module-summary.js';
import { assertError, example, req, sha256, startApp, wat } from '../support/http.js';

const TOKEN = 'a-long-enough-test-token-1234';
const bearer = { authorization: `Bearer ${TOKEN}` };
const { app } = await startApp(t, { seedExamples: false, auth: { token: TOKEN, metrics: 'open' } });
const get = (url: string, headers: Record<string, string> = bearer) => req(app, { method: 'GET', url, headers });

const modules = {
  hello: example('hello'),
  library: example('library'),
  kv: example('kv'),
  bare: await wat('(module (memory (export "memory") 1) (global (export "g") i32 (i32.const 7)) (func (export "add") (param i64 i64) (result i64) local.get 0 local.get 1 i64.add))'),
  tiny: await wat('(module (func (export "main")))'),
};
const before = Date.now();
// stored before any test starts (tap ends the root test when it idles between assertions)
const uploads: Record<string, number> = {};
for (const [name, bytes] of Object.entries(modules)) {
  uploads[name] = (await req(app, { method: 'PUT', url: '/modules', payload: Buffer.from(bytes), headers: { 'content-type': 'application/wasm', ...bearer } })).status;
}
const hashes = Object.values(modules).map((b) => sha256(b)).sort();
const byHash = Object.fromEntries(Object.entries(modules).map(([name, b]) => [sha256(b), name]));

t.test('pages in hash order, following next', async (t) => {
  t.same(uploads, { hello: 201, library: 201, kv: 201, bare: 201, tiny: 201 }, 'the modules are stored');
  const seen: any[] = [];
  let url = '/modules?limit=2';
  const sizes: number[] = [];
  for (let i = 0; i < 10; i++) {
    const r = await get(url);
    t.equal(r.status, 200);
    t.same(Object.keys(r.body).sort(), ['modules', 'next']);
    sizes.push(r.body.modules.length);
    seen.push(...r.body.modules);
    if (r.body.next === null) break;
    t.equal(r.body.next, r.body.modules.at(-1).hash, 'next: the last hash of the page');
    url = `/modules?limit=2&after=${r.body.next}`;
  }
  t.same(sizes, [2, 2, 1]);
  t.same(seen.map((m) => m.hash), hashes, 'every module once, in hash order');
  const all = await get('/modules');
  t.same(all.body, { modules: seen, next: null }, 'the default page (100) holds them all, the same');
  t.same((await get(`/modules?after=${hashes[4]}`)).body, { modules: [], next: null }, 'after the last: empty');
});

t.test('each module: size, first seen, exports, imports, profile, ffi', async (t) => {
  const { body } = await get('/modules');
  const info = Object.fromEntries(body.modules.map((m: any) => [byHash[m.hash], m]));
  for (const [name, m] of Object.entries<any>(info)) {
    t.equal(m.bytes, modules[name as keyof typeof modules].length, `${name}: bytes`);
    t.match(m.firstSeen, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, `${name}: first seen, ISO 8601`);
    t.ok(Date.parse(m.firstSeen) >= before - 1000 && Date.parse(m.firstSeen) <= Date.now(), `${name}: first seen when uploaded`);
  }
  t.same(info.bare.exports, [
    { name: 'memory', kind: 'memory' },
    { name: 'g', kind: 'global' },
    { name: 'add', kind: 'func', type: '(i64, i64) -> (i64)' },
  ]);
  t.match(info.bare, { importModules: [], profile: null, ffi: false });
  t.match(info.hello, { importModules: ['host'], profile: 'host', ffi: false });
  t.ok(info.hello.exports.some((e: any) => e.name === 'main' && e.kind === 'func' && e.type === '() -> (i32)'), 'hello exports main');
  t.match(info.library, { profile: null, ffi: true }, 'the library: an ffi section, no host ABI');
  t.same([...info.kv.importModules].sort(), ['host', 'lib'], 'kv imports the host and the library');
  // the Iroha profile: one of Iroha's own modules
  const iroha = summarize(new Uint8Array(readFileSync(resolve(PROJECT_ROOT, 'examples/iroha/query_assets_and_save_cursor.wasm'))));
  t.equal(iroha.profile, 'iroha', 'a module importing `iroha`');
  // the same as GET /modules/:hash says
  const one = await get(`/modules/${sha256(modules.kv)}`);
  t.same(one.body.exports, info.kv.exports, 'the exports GET /modules/:hash gives');
});

t.test('paging parameters: named when wrong', async (t) => {
  for (const limit of ['0', '1001', 'ten', '-1', '1.5']) {
    assertError(t, await get(`/modules?limit=${limit}`), 400, 'bad_request', `querystring.limit must be an integer from 1 to 1000 (default 100), got "${limit}"`);
  }
  t.equal((await get('/modules?limit=1000')).status, 200, '1000 is the largest page');
  assertError(t, await get(`/modules?after=${hashes[0]!.toUpperCase()}`), 400, 'bad_request', 'querystring.after is the `next` of the previous page, a module hash: hashes are 64 lowercase hex digits');
  assertError(t, await get(`/modules?after=${hashes[0]!.slice(0, 8)}`), 400, 'bad_request', /a shortened hash \(8 hex digits\)/);
  assertError(t, await get('/modules?cursor=x'), 400, 'bad_request', 'invalid request: querystring has an unknown property `cursor`');
});

t.test('the token: needed for the listing, not for the API description', async (t) => {
  assertError(t, await get('/modules', {}), 401, 'unauthorized');
  assertError(t, await get('/modules', { authorization: 'Bearer another-token-of-enough-length' }), 401, 'unauthorized');
  for (const url of ['/docs', '/docs/', '/docs/json', '/openapi.yaml']) {
    const r = await get(url, {});
    t.ok(r.status === 200 || r.status === 302, `${url} opens without the token (${r.status})`);
  }
  const doc = await get('/docs/json', {});
  t.same(doc.body.components.securitySchemes.bearerAuth, { type: 'http', scheme: 'bearer', description: doc.body.components.securitySchemes.bearerAuth.description });
  t.same(doc.body.paths['/modules'].get.security ?? doc.body.security, [{ bearerAuth: [] }], 'GET /modules needs the bearer token');
});
