/**
 * openapi.yaml: equal to what the routes' TypeBox schemas generate now (so a schema change without
 * `npm run openapi` fails here), covering every route of the app and every status its schema
 * declares, with an ExecuteResponse that has every field of docs/API.md, that real responses
 * validate against, and examples in the served document (Swagger UI at /docs) that are real.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import AjvModule from 'ajv';
import type { FastifyInstance, RouteOptions } from 'fastify';
import t from 'tap';
import { Value } from '@sinclair/typebox/value';
import { parse } from 'yaml';
import { loadConfig, PROJECT_ROOT } from '../../src/config.js';
import { generateOpenApi } from '../../src/http/openapi.js';
import { ErrorResponse, ExecuteResponse, HELLO_EXAMPLE_HASH, ModuleInfoResponse } from '../../src/http/schemas.js';
import { b64, example, execute, req, sha256, wat, withoutTimings } from '../support/http.js';

const committedText = readFileSync(resolve(PROJECT_ROOT, 'openapi.yaml'), 'utf8');
const doc = parse(committedText);

/** The app's routes with their schemas, collected by an onRoute hook on the real buildApp. */
interface Route {
  method: string;
  url: string;
  schema: any;
}

const routes: Route[] = [];
async function collectingApp(): Promise<FastifyInstance> {
  const real = (await import('fastify')).default;
  const wrapped = (opts: object) => {
    const app = real(opts) as unknown as FastifyInstance;
    app.addHook('onRoute', (r: RouteOptions) => {
      for (const method of [r.method].flat()) routes.push({ method: String(method), url: r.url, schema: r.schema });
    });
    return app;
  };
  const { buildApp } = await t.mockImport<typeof import('../../src/app.js')>('../../src/app.js', { fastify: { default: wrapped } });
  // the event-loop-delay guard off, as startApp has it: this test's own synchronous work (ajv, wabt) on a loaded machine would count as the app's lag (503 overloaded)
  const app = await buildApp(loadConfig({}, { seedExamples: false, workers: 1, store: { dir: null }, logLevel: 'silent', overload: { maxEventLoopDelayMs: 0 } }), { logger: false });
  t.teardown(() => app.close());
  await app.ready();
  return app;
}
// one app for the whole file, built before any test starts (tap ends the root test when it idles
// between subtests): its routes, and real responses to validate
const app = await collectingApp();

t.test('the committed openapi.yaml is what `npm run openapi` generates now', async (t) => {
  const generated = await generateOpenApi();
  t.same(doc, parse(generated), 'run `npm run openapi` after changing a route or a schema');
  t.equal(doc.openapi, '3.0.3');
  t.equal(doc.info.version, JSON.parse(readFileSync(resolve(PROJECT_ROOT, 'package.json'), 'utf8')).version, 'info.version is the package version');
});


const openapiPath = (url: string) => url.replace(/:(\w+)/g, '{$1}');

t.test('every route of the app is in openapi.yaml with every status of its schema', async (t) => {
  const documented = routes.filter((r) => r.method !== 'HEAD' && !r.schema?.hide);
  // the routes docs/API.md names are all there (and the collection works)
  const names = new Set(documented.map((r) => `${r.method} ${r.url}`));
  for (const must of ['POST /execute', 'PUT /modules', 'GET /modules/:hash', 'GET /health', 'GET /ready', 'GET /metrics']) {
    t.ok(names.has(must), `the app has ${must}`);
  }
  t.ok(routes.some((r) => r.url === '/openapi.yaml' && r.schema?.hide), '/openapi.yaml is a hidden route');

  for (const r of documented) {
    const path = openapiPath(r.url);
    const op = doc.paths?.[path]?.[r.method.toLowerCase()];
    t.ok(op, `${r.method} ${path} is documented`);
    if (!op) continue;
    for (const status of Object.keys(r.schema?.response ?? {})) {
      t.ok(op.responses?.[status], `${r.method} ${path} documents ${status}`);
    }
    for (const type of r.schema?.body ? (r.schema.consumes ?? ['application/json']) : []) {
      t.ok(op.requestBody?.content?.[type]?.schema, `${r.method} ${path} documents its ${type} body`);
    }
    for (const p of Object.keys(r.schema?.params?.properties ?? {})) {
      t.ok(op.parameters?.some((x: any) => x.in === 'path' && x.name === p && x.required), `${r.method} ${path} documents the path parameter ${p}`);
    }
  }
  // and nothing documented that the app does not have
  for (const [path, ops] of Object.entries<any>(doc.paths)) {
    for (const method of Object.keys(ops)) {
      t.ok(
        documented.some((r) => openapiPath(r.url) === path && r.method.toLowerCase() === method),
        `documented ${method.toUpperCase()} ${path} is a route`,
      );
    }
  }
});

t.test('PUT /modules takes a binary body (Swagger UI uploads a file); a bearer scheme guards every route but the probes', async (t) => {
  const body = doc.paths['/modules'].put.requestBody;
  t.equal(body?.required, true, 'PUT /modules has a required body');
  t.same(Object.keys(body?.content ?? {}), ['application/wasm', 'application/octet-stream'], 'of the two types it accepts');
  for (const media of Object.values<any>(body?.content ?? {})) t.match(media.schema, { type: 'string', format: 'binary' }, 'binary, not JSON');
  t.same(doc.components.securitySchemes, { bearerAuth: { type: 'http', scheme: 'bearer', description: doc.components.securitySchemes.bearerAuth.description } });
  t.same(doc.security, [{ bearerAuth: [] }], 'every operation needs the token unless it says otherwise');
  t.same(doc.paths['/health'].get.security, [], '/health is open');
  t.same(doc.paths['/metrics'].get.security, [{}, { bearerAuth: [] }], '/metrics: open, or the token (auth.metrics)');
  const open = Object.entries<any>(doc.paths).flatMap(([path, ops]) => Object.entries<any>(ops).filter(([, op]) => op.security !== undefined).map(([m]) => `${m} ${path}`));
  t.same(doc.paths['/ready'].get.security, [], '/ready is open (a probe carries no secret)');
  t.same(open.sort(), ['get /health', 'get /metrics', 'get /ready'], 'no other operation opts out');
});

/** The schema at a dotted path of properties; `[]` steps into array items. Null-able objects are objects with nullable. */
function at(schema: any, path: string): any {
  let s = schema;
  for (const part of path.split('.')) {
    const array = part.endsWith('[]');
    const name = array ? part.slice(0, -2) : part;
    s = s?.properties?.[name];
    if (array) s = s?.type === 'array' ? s.items : undefined;
  }
  return s;
}

const executeOk = doc.paths['/execute'].post.responses['200'].content['application/json'].schema;

t.test('ExecuteResponse in openapi.yaml has every field of docs/API.md', async (t) => {
  const fields: Array<[string, string | null]> = [
    ['ok', 'boolean'],
    ['result', 'object'],
    ['result.values', 'array'],
    ['result.output', 'string'],
    ['error', 'object'],
    ['error.kind', null],
    ['error.message', 'string'],
    ['fuel.limit', 'integer'],
    ['fuel.consumed', 'integer'],
    ['fuel.remaining', 'integer'],
    ['memory.limitBytes', 'integer'],
    ['memory.peakBytes', 'integer'],
    ['memory.modules.contract.initialBytes', 'integer'],
    ['memory.modules.contract.peakBytes', 'integer'],
    ['memory.modules.library.initialBytes', 'integer'],
    ['memory.modules.library.peakBytes', 'integer'],
    ['logs[].level', null],
    ['logs[].message', 'string'],
    ['modules.contract.hash', 'string'],
    ['modules.contract.bytes', 'integer'],
    ['modules.library.hash', 'string'],
    ['modules.library.bytes', 'integer'],
    ['link.mode', null],
    ['link.calls', 'integer'],
    ['link.bytesCopied', 'integer'],
    ['timings.queueMs', 'number'],
    ['timings.prepareMs', 'number'],
    ['timings.instantiateMs', 'number'],
    ['timings.executeMs', 'number'],
    ['timings.totalMs', 'number'],
  ];
  for (const [path, type] of fields) {
    const s = at(executeOk, path);
    t.ok(s, `${path} is in the schema`);
    if (s && type) t.equal(s.type, type, `${path} is ${type}`);
  }
  t.same([...executeOk.required].sort(), ['error', 'fuel', 'link', 'logs', 'memory', 'modules', 'ok', 'result', 'timings'], 'every top-level field required');
  t.equal(at(executeOk, 'result').nullable, true, 'result is nullable');
  t.equal(at(executeOk, 'error').nullable, true, 'error is nullable');
  const enumOf = (s: any): string[] => (s.anyOf ?? [s]).flatMap((x: any) => x.enum ?? []).sort();
  t.same(enumOf(at(executeOk, 'error.kind')), ['host_error', 'memory_limit', 'out_of_fuel', 'panic', 'stack_overflow', 'timeout', 'trap'], 'the outcome kinds of docs/API.md');
  t.same(enumOf(at(executeOk, 'logs[].level')), ['debug', 'error', 'info', 'trace', 'warn'], 'the log levels of docs/ABI.md');
  t.same(enumOf(at(executeOk, 'link.mode')), ['bridge', 'shared']);
  t.notOk(at(executeOk, 'memory.modules').required?.includes('library'), 'memory.modules.library is optional');
  t.notOk(at(executeOk, 'modules').required?.includes('library'), 'modules.library is optional');
});

t.test('real responses validate against the openapi.yaml schemas (ajv) and the TypeBox ones', async (t) => {
  const Ajv = ((AjvModule as any).default ?? AjvModule) as typeof AjvModule.default;
  const ajv = new Ajv({ strict: false, allErrors: true });
  const validateOk = ajv.compile(executeOk);
  const errorSchema = (path: string, method: string, status: string) => doc.paths[path][method].responses[status].content['application/json'].schema;

  // upload the examples this app (memory store, no seeding) runs by hash
  for (const name of ['kv', 'library', 'hello']) {
    const r = await req(app, { method: 'PUT', url: '/modules', payload: Buffer.from(example(name)), headers: { 'content-type': 'application/wasm' } });
    t.equal(r.status, 201, `${name} stored`);
  }
  const kv = sha256(example('kv'));
  const lib = sha256(example('library'));
  const trap = await wat(`(module (func (export "main") unreachable))`);
  const bodies = {
    'kv ok (with a library)': (await execute(app, { contract: { hash: kv }, library: { hash: lib }, input: b64('a=1\nb=2') })).body,
    'hello ok (no library)': (await execute(app, { contract: { hash: sha256(example('hello')) }, input: b64('x') })).body,
    'i64 result': (await execute(app, { contract: { hash: kv }, library: { hash: lib }, entrypoint: 'add', args: ['1', '2'] })).body,
    'trap outcome': (await execute(app, { contract: { wasm: b64(trap) } })).body,
  };
  for (const [name, body] of Object.entries(bodies)) {
    t.ok(validateOk(body), `${name}: valid by openapi.yaml ${ajv.errorsText(validateOk.errors)}`);
    t.ok(Value.Check(ExecuteResponse, body), `${name}: valid by schemas.ts ExecuteResponse`);
  }
  // the validators are not vacuous
  const broken = structuredClone(bodies['kv ok (with a library)']);
  delete broken.timings.totalMs;
  t.notOk(validateOk(broken), 'a body without timings.totalMs is invalid');
  t.notOk(Value.Check(ExecuteResponse, { ...bodies['trap outcome'], extra: 1 }), 'an extra field is invalid');

  const validateError = ajv.compile(errorSchema('/execute', 'post', '400'));
  const bad = await execute(app, { contract: { hash: 'nope' } });
  t.equal(bad.status, 400);
  t.ok(validateError(bad.body), `a 400 body is an ErrorResponse ${ajv.errorsText(validateError.errors)}`);
  t.ok(Value.Check(ErrorResponse, bad.body));
  const notFound = await req(app, { method: 'GET', url: `/modules/${sha256('x')}` });
  t.ok(ajv.validate(errorSchema('/modules/{hash}', 'get', '404'), notFound.body), 'a 404 body is an ErrorResponse');

  const info = await req(app, { method: 'GET', url: `/modules/${lib}` });
  t.ok(ajv.validate(doc.paths['/modules/{hash}'].get.responses['200'].content['application/json'].schema, info.body), 'ModuleInfo valid by openapi.yaml');
  t.ok(Value.Check(ModuleInfoResponse, info.body), 'ModuleInfo valid by schemas.ts');
  const ready = await req(app, { method: 'GET', url: '/ready' });
  t.ok(ajv.validate(doc.paths['/ready'].get.responses['200'].content['application/json'].schema, ready.body), '/ready body valid');

  // statuses the app answers that its documentation should list
  const wrongType = await req(app, { method: 'POST', url: '/execute', payload: '<x/>', headers: { 'content-type': 'application/xml' } });
  t.equal(wrongType.status, 415);
  t.ok(doc.paths['/execute'].post.responses[String(wrongType.status)], 'POST /execute documents 415 (a body that is not JSON)');
});

/** The examples of one response (or request body) media object: `example`, or the values of `examples`. */
function examplesOf(media: any): any[] {
  if (!media) return [];
  if (media.example !== undefined) return [media.example];
  return Object.values<any>(media.examples ?? {}).map((e) => e.value);
}

/** The error kinds each status stands for (docs/API.md, Errors). */
const KINDS: Record<string, string[]> = {
  '400': ['bad_request'],
  '401': ['unauthorized'],
  '404': ['not_found'],
  '413': ['too_large'],
  '415': ['unsupported_media_type'],
  '422': ['invalid_module', 'link_error', 'policy_violation'],
  '500': ['internal'],
  '503': ['overloaded', 'worker_lost', 'store_unavailable'],
};

t.test('the served document (Swagger UI at /docs): "Try it out" runs the bundled hello, errors carry their real kinds', async (t) => {
  const served = await req(app, { method: 'GET', url: '/docs/json' });
  t.equal(served.status, 200);
  const d = served.body;
  t.same(d, doc, 'the served document is openapi.yaml');

  // the request example is the bundled hello by its hash, and running it gives the 200 example
  t.equal(HELLO_EXAMPLE_HASH, sha256(example('hello')), 'the example hash is examples/wasm/hello.wasm');
  const post = d.paths['/execute'].post;
  const [body] = examplesOf(post.requestBody.content['application/json']);
  t.same(body, { contract: { hash: HELLO_EXAMPLE_HASH }, input: b64('world') }, 'hello, by hash, with an input');
  await req(app, { method: 'PUT', url: '/modules', payload: Buffer.from(example('hello')), headers: { 'content-type': 'application/wasm' } });
  const run = await execute(app, body);
  t.equal(run.status, 200);
  t.equal(run.body.ok, true);
  t.equal(Buffer.from(run.body.result.output, 'base64').toString(), 'hello, world');
  const [okExample] = examplesOf(post.responses['200'].content['application/json']);
  t.same(withoutTimings(okExample), withoutTimings(run.body), 'the 200 example is the real answer (timings aside)');

  // every error status of every route has examples, of the kinds that status stands for, valid by its schema
  const Ajv = ((AjvModule as any).default ?? AjvModule) as typeof AjvModule.default;
  const ajv = new Ajv({ strict: false });
  const seen = new Set<string>();
  for (const [path, ops] of Object.entries<any>(d.paths)) {
    for (const [method, op] of Object.entries<any>(ops)) {
      for (const [status, res] of Object.entries<any>(op.responses ?? {})) {
        if (Number(status) < 400 || path === '/ready') continue; // a 503 of /ready is a ReadyResponse
        const media = res.content?.['application/json'];
        const examples = examplesOf(media);
        t.ok(examples.length > 0, `${method.toUpperCase()} ${path} ${status} has examples`);
        for (const ex of examples) {
          t.ok(KINDS[status]?.includes(ex.error?.kind), `${method.toUpperCase()} ${path} ${status}: kind ${ex.error?.kind}`);
          t.ok(ajv.validate(media.schema, ex), `${method.toUpperCase()} ${path} ${status}: the example is valid by the schema`);
          seen.add(ex.error?.kind);
        }
      }
    }
  }
  t.same([...seen].sort(), Object.values(KINDS).flat().sort(), 'every error kind has an example');

  // the messages of the examples are the service's own
  const message = (path: string, method: string, status: string, kind: string) =>
    examplesOf(d.paths[path][method].responses[status].content['application/json']).find((e) => e.error.kind === kind)?.error.message;
  const text = await req(app, { method: 'POST', url: '/execute', payload: '<x/>', headers: { 'content-type': 'text/plain' } });
  t.equal(text.body.error.message, message('/execute', 'post', '415', 'unsupported_media_type'));
  const json = await req(app, { method: 'PUT', url: '/modules', payload: { wasm: '' } });
  t.equal(json.body.error.message, message('/modules', 'put', '415', 'unsupported_media_type'));
  const unknown = await execute(app, { contract: { hash: '0'.repeat(64) } });
  t.equal(unknown.body.error.message, message('/execute', 'post', '404', 'not_found'));
  const notWasm = await execute(app, { contract: { wasm: b64('hello') } });
  t.equal(notWasm.body.error.message, message('/execute', 'post', '422', 'invalid_module'));
  const noLibrary = await execute(app, { contract: { hash: sha256(example('kv')) } });
  t.equal(noLibrary.body.error.message, message('/execute', 'post', '422', 'link_error'));
  const bigTable = await execute(app, { contract: { wasm: b64(await wat('(module (table 100001 funcref))')) } });
  t.equal(bigTable.body.error.message, message('/execute', 'post', '422', 'policy_violation'));
  const badBody = await execute(app, { contract: {} });
  t.equal(badBody.body.error.message, message('/execute', 'post', '400', 'bad_request'));
  const emptyPut = await req(app, { method: 'PUT', url: '/modules', payload: Buffer.alloc(0), headers: { 'content-type': 'application/wasm' } });
  t.equal(emptyPut.body.error.message, message('/modules', 'put', '400', 'bad_request'));
  const badHash = await req(app, { method: 'GET', url: '/modules/nope' });
  t.equal(badHash.body.error.message, message('/modules/{hash}', 'get', '400', 'bad_request'));
  const missing = await req(app, { method: 'GET', url: `/modules/${'0'.repeat(64)}` });
  t.equal(missing.body.error.message, message('/modules/{hash}', 'get', '404', 'not_found'));
});
