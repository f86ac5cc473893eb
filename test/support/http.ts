/**
 * HTTP test helpers: build the real app (src/app.ts) on a fresh temporary store directory, inject
 * requests, read the bundled example modules, and check the exact body shapes of docs/API.md.
 *
 * The app runs its executions on worker threads from dist/pool/worker.js: `npm test` builds dist/
 * first (pretest); when running one file by hand, run `npm run build` once before.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../src/config.js';

// src/config.ts (TypeBox, ~270 modules through the loader hooks: ~1 CPU-s) and the app are imported in
// startApp, not when this file loads: files that use only the helpers below (the hostile corpus and the
// files against a spawned server) need neither.
const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export { wat } from './wat.js';

export const PAGE = 65536;

/** Anything with tap's assertions and teardown (the root `t` or a subtest). */
export type T = Pick<(typeof import('tap'))['t'], 'teardown' | 'equal' | 'same' | 'match' | 'ok' | 'comment'>;

/**
 * The assertions the body checks below use: tap's `t`, or a collector that evaluates them and reports
 * them as one assertion (test/hostile/support.ts `check`: thousands of cases, one assertion each).
 */
export interface Checks {
  equal(found: unknown, wanted: unknown, ...msg: [] | [string]): unknown;
  same(found: unknown, wanted: unknown, ...msg: [] | [string]): unknown;
  match(found: unknown, pattern: RegExp | string, ...msg: [] | [string]): unknown;
  ok(value: unknown, ...msg: [] | [string]): unknown;
}

export interface TestApp {
  app: FastifyInstance;
  config: Config;
  storeDir: string;
}

/**
 * The real app with one worker, silent, on a fresh mkdtemp store directory (removed at teardown),
 * ready (examples seeded, pool warm), the event-loop-delay guard off unless `overrides.overload` sets it. `overrides` are merged over the defaults by loadConfig.
 */
export async function startApp(t: T, overrides: Record<string, unknown> = {}): Promise<TestApp> {
  const { store, ...rest } = overrides as { store?: Record<string, unknown>; overload?: Record<string, unknown> };
  // a store directory given by the caller is the caller's to remove
  const own = store?.dir === undefined;
  const storeDir = own ? mkdtempSync(join(tmpdir(), 'wcr-http-')) : (store!.dir as string);
  // the app shares this process's event loop with the test (WAT compiled with wabt, big modules built,
  // all synchronous): its event-loop-delay guard would count the test's work as the app's lag and
  // refuse requests on a loaded machine. Off unless the test sets it (pressure tests, e2e overload).
  const { loadConfig } = await import('../../src/config.js');
  const config = loadConfig({}, { workers: 1, logLevel: 'silent', ...rest, overload: { maxEventLoopDelayMs: 0, ...rest.overload }, store: { ...store, dir: storeDir } });
  const stale = staleDist();
  if (stale.length) {
    t.comment(`warning: dist/ is older than ${stale.slice(0, 3).join(', ')}: the workers run dist/, this process src/ — run \`npm run build\``);
  }
  // imported here, not at the top: importing the app (fastify, swagger, the pool...) costs ~2 CPU-s under
  // tsx, which files that use only this module's helpers (against a spawned server: process-app.ts) need not pay
  const { buildApp } = await import('../../src/app.js');
  const app = await buildApp(config, { logger: false });
  t.teardown(async () => {
    await app.close();
    if (own) rmSync(storeDir, { recursive: true, force: true });
  });
  await app.ready();
  return { app, config, storeDir };
}

/**
 * src/ files newer than their dist/ build. The app prepares (instruments) modules in this process
 * from src/ while its workers execute and refund fuel with dist/: the two must be the same code.
 */
export function staleDist(): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of readdirSync(resolve(PROJECT_ROOT, rel), { withFileTypes: true })) {
      const r = `${rel}/${e.name}`;
      if (e.isDirectory()) walk(r);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) {
        const js = resolve(PROJECT_ROOT, 'dist', r.slice('src/'.length).replace(/\.ts$/, '.js'));
        let built = 0;
        try {
          built = statSync(js).mtimeMs;
        } catch {
          // never built
        }
        if (statSync(resolve(PROJECT_ROOT, r)).mtimeMs > built) out.push(r);
      }
    }
  };
  walk('src');
  return out;
}

export interface Res<B = any> {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: B;
  text: string;
}

/** Injects a request; `body` is the parsed JSON when the response is JSON, else undefined. */
export async function req(app: FastifyInstance, opts: InjectOptions): Promise<Res> {
  const r = await app.inject(opts);
  const type = String(r.headers['content-type'] ?? '');
  let body: unknown;
  if (type.startsWith('application/json')) body = JSON.parse(r.body);
  return { status: r.statusCode, headers: r.headers, body, text: r.body };
}

export function execute(app: FastifyInstance, payload: unknown, headers: Record<string, string> = {}): Promise<Res> {
  return req(app, { method: 'POST', url: '/execute', payload: payload as InjectOptions['payload'], headers });
}

export function example(name: string): Uint8Array {
  return new Uint8Array(readFileSync(resolve(PROJECT_ROOT, 'examples/wasm', `${name}.wasm`)));
}

export const sha256 = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex');
export const b64 = (bytes: Uint8Array | string): string => Buffer.from(bytes).toString('base64');
export const hexOf = (base64: string): string => Buffer.from(base64, 'base64').toString('hex');
export const textOf = (base64: string): string => Buffer.from(base64, 'base64').toString('utf8');
export const exampleHash = (name: string): string => sha256(example(name));

/** The `{ error: { kind, message } }` body, exactly (no other keys), with this status and kind. */
export function assertError(t: Checks, r: Res, status: number, kind: string, message?: RegExp | string): void {
  t.equal(r.status, status, `status ${status} (${kind})`);
  t.match(String(r.headers['content-type']), /^application\/json/, 'JSON error body');
  t.same(Object.keys(r.body ?? {}), ['error'], 'only `error` at the top level');
  t.same(Object.keys(r.body?.error ?? {}).sort(), ['kind', 'message'], 'error has exactly kind and message');
  t.equal(r.body?.error?.kind, kind, `error.kind ${kind}`);
  t.equal(typeof r.body?.error?.message, 'string', 'error.message is a string');
  t.ok(String(r.body?.error?.message).length > 0, 'error.message is not empty');
  if (message !== undefined) t.match(r.body?.error?.message, message, 'error.message says why');
}

const keys = (o: unknown) => Object.keys((o ?? {}) as object).sort();

/**
 * The exact 200 body of docs/API.md: every field present with its type, no other field, and the
 * invariants that hold for every outcome (remaining = limit - consumed, ok ⇔ error null).
 */
export function assertExecuteShape(t: Checks, b: any, opts: { library: boolean }): void {
  const top = ['error', 'fuel', 'link', 'logs', 'memory', 'modules', 'ok', 'result', 'timings'];
  // the Iroha profile adds `iroha`
  t.same(keys(b), 'iroha' in b ? [...top.slice(0, 1), 'fuel', 'iroha', ...top.slice(2)] : top, 'top-level fields');
  if ('iroha' in b) t.same(keys(b.iroha), ['dataModel', 'instructions', 'queries', 'verdict'], 'iroha fields');
  t.equal(typeof b.ok, 'boolean', 'ok is boolean');
  if (b.ok) {
    t.equal(b.error, null, 'error is null when ok');
    t.same(keys(b.result), ['output', 'values'], 'result fields');
    t.ok(Array.isArray(b.result.values), 'result.values is an array');
    t.equal(typeof b.result.output, 'string', 'result.output is base64 text');
    t.match(b.result.output, /^[A-Za-z0-9+/]*={0,2}$/, 'result.output is base64');
  } else {
    t.equal(b.result, null, 'result is null when not ok');
    t.same(keys(b.error), b.error.kind === 'timeout' ? ['kind', 'message'] : ['frames', 'framesOmitted', 'kind', 'message'], 'error fields');
    if (b.error.frames) t.ok(framesWellFormed(b.error.frames, b.error.framesOmitted, !!opts.library), 'error.frames: at most 64, each of the documented shape');
    t.ok(['out_of_fuel', 'memory_limit', 'stack_overflow', 'trap', 'panic', 'timeout', 'host_error'].includes(b.error.kind), `known outcome kind ${b.error.kind}`);
    t.equal(typeof b.error.message, 'string', 'error.message is a string');
  }
  t.same(keys(b.fuel), ['consumed', 'limit', 'remaining'], 'fuel fields');
  for (const k of ['limit', 'consumed', 'remaining']) t.ok(Number.isSafeInteger(b.fuel[k]) && b.fuel[k] >= 0, `fuel.${k} is a non-negative integer`);
  t.equal(b.fuel.remaining, b.fuel.limit - b.fuel.consumed, 'fuel.remaining = limit - consumed');
  t.ok(b.fuel.consumed <= b.fuel.limit, 'fuel.consumed <= limit');

  const mods = opts.library ? ['contract', 'library'] : ['contract'];
  t.same(keys(b.memory), ['limitBytes', 'modules', 'peakBytes'], 'memory fields');
  t.same(keys(b.memory.modules), mods, 'memory.modules fields');
  let initial = 0;
  // refused before instantiation (initial sizes over the cap): nothing was allocated, every peak is 0
  const refused = b.error?.kind === 'memory_limit' && /^initial memory/.test(b.error.message);
  for (const m of mods) {
    const mm = b.memory.modules[m];
    t.same(keys(mm), ['initialBytes', 'peakBytes'], `memory.modules.${m} fields`);
    t.ok(Number.isSafeInteger(mm.initialBytes) && mm.initialBytes % PAGE === 0, `memory.modules.${m}.initialBytes is whole pages`);
    t.ok(refused ? mm.peakBytes === 0 : mm.peakBytes >= mm.initialBytes, `memory.modules.${m}.peakBytes ${refused ? '= 0' : '>= initialBytes'}`);
    initial += mm.initialBytes;
  }
  t.ok(Number.isSafeInteger(b.memory.limitBytes), 'memory.limitBytes is an integer');
  t.ok(Number.isSafeInteger(b.memory.peakBytes) && (refused ? b.memory.peakBytes === 0 : b.memory.peakBytes >= initial), 'memory.peakBytes >= the initial memory (0 when refused)');

  t.ok(Array.isArray(b.logs), 'logs is an array');
  for (const l of b.logs) {
    t.same(keys(l), ['level', 'message'], 'log line fields');
    t.ok(['trace', 'debug', 'info', 'warn', 'error'].includes(l.level), `log level ${l.level}`);
  }

  t.same(keys(b.modules), mods, 'modules fields');
  for (const m of mods) {
    t.same(keys(b.modules[m]), ['bytes', 'hash'], `modules.${m} fields`);
    t.match(b.modules[m].hash, /^[0-9a-f]{64}$/, `modules.${m}.hash is sha256 hex`);
    t.ok(Number.isSafeInteger(b.modules[m].bytes) && b.modules[m].bytes > 0, `modules.${m}.bytes`);
  }

  t.same(keys(b.link), b.link.mode === 'shared' ? ['bytesCopied', 'calls', 'mode', 'stacks'] : ['bytesCopied', 'calls', 'mode'], 'link fields');
  t.ok(b.link.mode === 'bridge' || b.link.mode === 'shared', 'link.mode');
  t.ok(Number.isSafeInteger(b.link.calls) && b.link.calls >= 0, 'link.calls');
  t.ok(Number.isSafeInteger(b.link.bytesCopied) && b.link.bytesCopied >= 0, 'link.bytesCopied');

  t.same(keys(b.timings), ['executeMs', 'instantiateMs', 'prepareMs', 'queueMs', 'totalMs'], 'timings fields');
  for (const k of ['queueMs', 'prepareMs', 'instantiateMs', 'executeMs', 'totalMs']) {
    t.ok(typeof b.timings[k] === 'number' && Number.isFinite(b.timings[k]) && b.timings[k] >= 0, `timings.${k} is a non-negative number`);
  }
  const parts = b.timings.queueMs + b.timings.prepareMs + b.timings.instantiateMs + b.timings.executeMs;
  // each part is rounded to 1 µs on its own: allow that much per part
  t.ok(b.timings.totalMs >= parts - 0.005, `timings.totalMs (${b.timings.totalMs}) covers its parts (${parts})`);
}

/** The body without its timings (the only part allowed to differ between identical requests). */
export function withoutTimings(body: any): unknown {
  const { timings: _t, ...rest } = body;
  return rest;
}

/** `error.frames` as docs/API.md describes them (the values are the engine tests'). */
export function framesWellFormed(frames: unknown, omitted: unknown, library: boolean): boolean {
  const FRAME_KEYS = 'column,file,index,line,module,name,offset';
  return (
    Array.isArray(frames) &&
    frames.length <= 64 &&
    Number.isSafeInteger(omitted) &&
    (omitted as number) >= 0 &&
    (omitted === 0 || frames.length === 64) &&
    frames.every(
      (f) =>
        Object.keys(f).sort().join() === FRAME_KEYS &&
        (f.module === 'contract' || (library && f.module === 'library')) &&
        Number.isSafeInteger(f.index) &&
        Number.isSafeInteger(f.offset) &&
        (f.name === null || typeof f.name === 'string'),
    )
  );
}
