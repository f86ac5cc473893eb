/**
 * /metrics as docs/OPERATIONS.md lists it: every wasm_* metric the service exports is in the table with
 * the type it has (counts that only rise are counters named `…_total`; levels are gauges); the list of
 * error kinds of `wasm_requests_rejected_total` is every kind the code defines (and docs/API.md's
 * Errors table has each); the values move as documented: an execution by hash served from the compiled
 * cache is a store `check` lookup, a timeout adds nothing to `wasm_fuel_consumed`, a 415 is counted
 * under its kind. One app, memory store.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import t from 'tap';
import { PROJECT_ROOT } from '../../src/config.js';
import { ErrorKind } from '../../src/http/schemas.js';
import { b64, example, execute, req, sha256, startApp, wat } from '../support/http.js';

const { app } = await startApp(t, { seedExamples: false, store: { dir: null } });
const hello = example('hello');
const forever = await wat('(module (func (export "main") (loop $l br $l)))');
const operations = readFileSync(resolve(PROJECT_ROOT, 'docs/OPERATIONS.md'), 'utf8');
const api = readFileSync(resolve(PROJECT_ROOT, 'docs/API.md'), 'utf8');

const scrape = async () => (await req(app, { method: 'GET', url: '/metrics' })).text;

/** One sample's value (labels matched exactly), or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).sort().join(',');
  for (const m of text.matchAll(/^([a-z_:]+)(?:\{([^}]*)\})? (\S+)$/gm)) {
    if (m[1] === name && (m[2] ?? '').split(',').filter(Boolean).sort().join(',') === want) return Number(m[3]);
  }
  return undefined;
}

/** The table rows of OPERATIONS.md's Metrics section: name → type. */
function documented(): Map<string, string> {
  const section = operations.slice(operations.indexOf('## Metrics'), operations.indexOf('## Logs'));
  return new Map([...section.matchAll(/^\| `(wasm_[a-z_]+)` \| (\w+) \|/gm)].map((m) => [m[1]!, m[2]!]));
}

const kinds = ErrorKind.anyOf.map((k) => k.const as string).sort();

t.test('every wasm_* metric is in OPERATIONS.md with its type; counters are `_total`, and only they', async (t) => {
  const text = await scrape();
  const exported = new Map([...text.matchAll(/^# TYPE (wasm_[a-z_]+) (\w+)$/gm)].map((m) => [m[1]!, m[2]!]));
  t.ok(exported.size >= 15, `${exported.size} wasm_* metrics exported`);
  const table = documented();
  for (const [name, type] of exported) {
    t.equal(table.get(name), type, `${name}: a ${type} in the table`);
    t.equal(name.endsWith('_total'), type === 'counter', `${name}: _total exactly when a counter`);
  }
  // documented but not exported here: only the shared store's up gauge (this app has none)
  t.same([...table.keys()].filter((n) => !exported.has(n)), ['wasm_shared_store_up']);
});

t.test('the error kinds: OPERATIONS.md lists every kind the code defines, and API.md explains each', async (t) => {
  const row = operations.split('\n').find((l) => l.startsWith('| `wasm_requests_rejected_total`'))!;
  const labels = row.split('|')[3]!;
  t.same([...labels.matchAll(/`(\w+)`/g)].map((m) => m[1]).filter((k) => k !== 'kind').sort(), kinds, 'the kind label values are the error kinds');
  const errors = api.slice(api.indexOf('### Errors'), api.indexOf('## POST /execute/batch'));
  const explained = [...errors.matchAll(/^\| `\d{3}` \| `(\w+)` \|/gm)].map((m) => m[1]).sort();
  t.same([...new Set(explained)], kinds, 'API.md\'s Errors table has a row for each kind');
});

t.test('an execution by hash from the compiled cache is a store check; a timeout adds no fuel sample; a 415 is counted', async (t) => {
  t.equal((await req(app, { method: 'PUT', url: '/modules', payload: Buffer.from(hello), headers: { 'content-type': 'application/wasm' } })).status, 201);
  const body = { contract: { hash: sha256(hello) }, input: b64('x') };
  const before = await scrape();
  t.equal((await execute(app, body)).body.ok, true);
  t.equal((await execute(app, body)).body.ok, true);
  const after = await scrape();
  const delta = (name: string, labels: Record<string, string> = {}) => (sample(after, name, labels) ?? 0) - (sample(before, name, labels) ?? 0);
  t.equal(delta('wasm_store_lookups_total', { op: 'check', result: 'memory_hit' }), 2, 'each execution by hash asks the store');
  t.equal(delta('wasm_store_lookups_total', { op: 'read', result: 'memory_hit' }), 0, 'no bytes read: compiled at upload');
  t.equal(delta('wasm_prepared_cache_lookups_total', { result: 'hit' }), 2, 'the compiled cache answered both');
  t.equal(delta('wasm_executions_total', { outcome: 'ok' }), 2);
  t.equal(delta('wasm_fuel_consumed_count'), 2);

  const timeout = await execute(app, { contract: { wasm: b64(forever) }, limits: { fuel: 10_000_000_000, timeoutMs: 100 } });
  t.equal(timeout.body.error?.kind, 'timeout');
  t.equal(timeout.body.fuel.consumed, 10_000_000_000, 'a timeout reports the whole limit');
  const late = await scrape();
  t.equal((sample(late, 'wasm_executions_total', { outcome: 'timeout' }) ?? 0) - (sample(after, 'wasm_executions_total', { outcome: 'timeout' }) ?? 0), 1, 'the timeout is counted');
  t.equal(sample(late, 'wasm_fuel_consumed_count'), sample(after, 'wasm_fuel_consumed_count'), 'but not as a fuel sample');
  t.equal(sample(late, 'wasm_fuel_consumed_sum'), sample(after, 'wasm_fuel_consumed_sum'), 'nor its limit summed');

  const rejected = sample(late, 'wasm_requests_rejected_total', { kind: 'unsupported_media_type' }) ?? 0;
  t.equal((await req(app, { method: 'POST', url: '/execute', payload: 'x', headers: { 'content-type': 'text/plain' } })).status, 415);
  t.equal(sample(await scrape(), 'wasm_requests_rejected_total', { kind: 'unsupported_media_type' }), rejected + 1, 'a 415 counted under its kind');
});
