/**
 * Helpers of the hostile corpus (test/hostile/): a table-driven runner that sends one hostile
 * request and checks its exact status / outcome kind / message, that the answer stayed within its
 * limits (fuel, output, logs, memory, wall clock with a generous margin), and that the service is
 * healthy afterwards (a normal execution gives exactly the answer it gave before any hostile case).
 * Also a tiny WebAssembly binary writer for modules WAT cannot (or should not) express.
 *
 * Kept cheap for the test process, which each file of the corpus pays for:
 * - it loads neither the app, src/config.ts nor the engine (~1.5 CPU-s of TypeBox, Fastify and engine
 *   modules through the loader hooks), only wabt: test/support/http.ts and wat.ts import those when an app
 *   starts or a module runs in this process (HOSTILE_TARGET=app), not when they load;
 * - the checks of one answer are evaluated here and reported as ONE assertion, the list of the checks that
 *   failed (each with its message, found and wanted), which must be empty: the same checks as one
 *   assertion each, without tap's bookkeeping of ~60 assertions per case (thousands per file).
 */
import { isDeepStrictEqual } from 'node:util';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../src/config.js';
import { type Checks, type Res, type T, type TestApp, assertError as errorChecks, assertExecuteShape as executeShapeChecks, b64, example, exampleHash, execute, PAGE, req, sha256, withoutTimings } from '../support/http.js';
import { wat } from '../support/wat.js';
import { startProcessApp, targetIsProcess } from '../support/process-app.js';

export type { Checks, Res, T };
export { PAGE, b64, example, exampleHash, execute, req, sha256, wat, withoutTimings };

/** Generous wall-clock margin on top of `timeoutMs` (no tight timing assertions). */
export const MARGIN_MS = 10_000;

// --- checks, reported as one assertion ------------------------------------------------------------

interface Problem {
  check: string;
  found?: unknown;
  wanted?: unknown;
}

function collector(): Checks & { problems: Problem[] } {
  const problems: Problem[] = [];
  return {
    problems,
    equal: (found, wanted, msg = 'should be equal') => void (found === wanted || problems.push({ check: msg, found, wanted })),
    same: (found, wanted, msg = 'should be equivalent') => void (isDeepStrictEqual(found, wanted) || problems.push({ check: msg, found, wanted })),
    match: (found, pattern, msg = 'should match pattern') => {
      const ok = typeof found === 'string' && (typeof pattern === 'string' ? found.includes(pattern) : pattern.test(found));
      if (!ok) problems.push({ check: msg, found, wanted: String(pattern) });
    },
    ok: (value, msg = 'should be truthy') => void (value || problems.push({ check: msg, found: value })),
  };
}

/** Runs `fn`'s checks and reports them as one assertion: the checks that failed, which must be none. */
export function check(t: Pick<T, 'same'>, what: string, fn: (c: Checks) => void): void {
  const c = collector();
  fn(c);
  t.same(c.problems, [], what);
}

/** http.ts `assertError`, over a Checks (`errorChecks`) and as one assertion (`assertError`). */
export { errorChecks, executeShapeChecks };
export function assertError(t: Pick<T, 'same'>, r: Res, status: number, kind: string, message?: RegExp | string): void {
  check(t, `${status} ${kind}: the exact error body`, (c) => errorChecks(c, r, status, kind, message));
}

// --- the corpus ------------------------------------------------------------------------------------

export type Outcome = 'ok' | 'out_of_fuel' | 'memory_limit' | 'stack_overflow' | 'trap' | 'panic' | 'timeout' | 'host_error';

export interface Expect {
  /** HTTP status; 200 unless given. */
  status?: number;
  /** error.kind of a 4xx/5xx body, or the outcome kind of a 200 ('ok' for ok: true). */
  kind: string;
  /** exact string, or a pattern, for error.message. */
  message?: string | RegExp;
  /** exact result.values of an ok run. */
  values?: unknown[];
  /** exact fuel.consumed. */
  fuel?: number;
  /** extra checks on the 200 body. */
  check?: (t: Checks, body: any) => void;
}

export interface Case {
  name: string;
  /** WAT source, or module bytes (the contract). Omit when `request` names the contract itself. */
  wasm?: string | Uint8Array;
  /** the library: WAT or bytes. */
  library?: string | Uint8Array;
  /** request fields merged over `{ contract: { wasm } }`. */
  request?: Record<string, unknown>;
  expect: Expect;
  /** a known bug: the case asserts the correct behaviour and is marked todo. */
  todo?: string;
}

export async function bytesOf(src: string | Uint8Array): Promise<Uint8Array> {
  return typeof src === 'string' ? wat(src) : src;
}

/** The hostile request of a case. */
export async function payloadOf(c: Case): Promise<Record<string, unknown>> {
  const p: Record<string, unknown> = {};
  if (c.wasm !== undefined) p.contract = { wasm: b64(await bytesOf(c.wasm)) };
  if (c.library !== undefined) p.library = { wasm: b64(await bytesOf(c.library)) };
  return { ...p, ...c.request };
}

/** Limits the run had: the request's, else the config defaults. */
export function limitsOf(config: Config, request: Record<string, unknown>): { fuel: number; memoryBytes: number; timeoutMs: number } {
  const l = (request.limits ?? {}) as Record<string, number>;
  return { ...config.limits.defaults, ...l };
}

/**
 * Everything a 200 body must respect whatever the module did: the documented shape, fuel within
 * its limit (equal to it for out_of_fuel and timeout), memory within its cap, output and logs
 * within the output caps, and the answer within timeoutMs plus a generous margin.
 */
export function withinLimitsChecks(t: Checks, body: any, config: Config, limits: { fuel: number; memoryBytes: number; timeoutMs: number }, ms: number): void {
  t.ok(body.fuel.consumed <= limits.fuel, `fuel.consumed ${body.fuel.consumed} <= limit ${limits.fuel}`);
  t.equal(body.fuel.limit, limits.fuel, 'fuel.limit is the request limit');
  if (body.error?.kind === 'out_of_fuel' || body.error?.kind === 'timeout') t.equal(body.fuel.consumed, limits.fuel, 'consumed == limit');
  const cap = Math.floor(limits.memoryBytes / PAGE) * PAGE;
  t.ok(body.memory.peakBytes <= cap, `memory.peakBytes ${body.memory.peakBytes} <= cap ${cap}`);
  t.equal(body.memory.limitBytes, limits.memoryBytes, 'memory.limitBytes is the request limit');
  const out = config.engine.output;
  if (body.result) t.ok(Buffer.from(body.result.output, 'base64').length <= out.maxOutputBytes, 'output <= maxOutputBytes');
  t.ok(body.logs.length <= out.maxLogLines + 1, `logs ${body.logs.length} <= maxLogLines + 1 (the dropped-lines warning)`);
  const marker = Buffer.byteLength('… (truncated)');
  for (const l of body.logs) {
    // a line cut in the middle of a UTF-8 sequence may decode to up to 3 replacement bytes for 1
    t.ok(Buffer.byteLength(l.message) <= out.maxLogLineBytes * 3 + marker + 200, 'a log line is capped');
  }
  if (body.error) t.ok(Buffer.byteLength(body.error.message) <= out.maxLogLineBytes * 3 + 2000, 'error.message is capped');
  t.ok(ms <= limits.timeoutMs + MARGIN_MS, `answered in ${Math.round(ms)} ms <= timeoutMs ${limits.timeoutMs} + ${MARGIN_MS} ms margin`);
}

/** Checks a Res against an Expect (status, kind, message, values, fuel) and the limits. */
export function expectChecks(t: Checks, r: Res, e: Expect, config: Config, request: Record<string, unknown>, ms: number): void {
  const status = e.status ?? 200;
  if (status !== 200) {
    errorChecks(t, r, status, e.kind, e.message);
    t.ok(ms <= config.limits.defaults.timeoutMs + MARGIN_MS, `refused in ${Math.round(ms)} ms`);
    return;
  }
  t.equal(r.status, 200, `status 200 (${r.status === 200 ? '' : JSON.stringify(r.body?.error ?? r.text).slice(0, 300)})`);
  if (r.status !== 200) return;
  const library = (request.library ?? null) !== null;
  executeShapeChecks(t, r.body, { library });
  const kind = r.body.ok ? 'ok' : r.body.error?.kind;
  t.equal(kind, e.kind, `outcome ${e.kind}${kind !== e.kind ? ` (got ${JSON.stringify(r.body.error)})` : ''}`);
  if (e.message !== undefined) t.match(r.body.error?.message, e.message, 'error.message');
  if (e.values !== undefined) t.same(r.body.result?.values, e.values, 'result.values');
  if (e.fuel !== undefined) t.equal(r.body.fuel.consumed, e.fuel, 'exact fuel');
  withinLimitsChecks(t, r.body, config, limitsOf(config, request), ms);
  e.check?.(t, r.body);
}

/** expectChecks as one assertion. */
export function assertExpect(t: Pick<T, 'same'>, r: Res, e: Expect, config: Config, request: Record<string, unknown>, ms: number): void {
  check(t, `${e.status ?? 200} ${e.kind}: the exact answer, within its limits`, (c) => expectChecks(c, r, e, config, request, ms));
}

/** A normal execution and its exact answer (recorded once before the hostile cases). */
export interface Health {
  app: FastifyInstance;
  config: Config;
  baseline: unknown;
}

const NORMAL = () => ({ contract: { hash: exampleHash('hello') }, input: b64('ok') });

export async function recordHealth(t: Pick<T, 'same'>, app: FastifyInstance, config: Config): Promise<Health> {
  const r = await execute(app, NORMAL());
  check(t, 'baseline: hello answers "hello, ok"', (c) => {
    c.equal(r.status, 200, 'baseline: hello answers');
    c.equal(r.body?.ok, true, 'baseline ok');
    c.equal(Buffer.from(r.body?.result?.output ?? '', 'base64').toString(), 'hello, ok', 'baseline output');
  });
  return { app, config, baseline: withoutTimings(r.body) };
}

/** The service answers a normal execution exactly as before. */
export async function assertHealthy(t: Pick<T, 'same'>, h: Health, what = 'afterwards'): Promise<void> {
  const r = await execute(h.app, NORMAL());
  check(t, `healthy ${what}: the exact normal answer`, (c) => {
    c.equal(r.status, 200, `healthy ${what}: 200`);
    c.same(r.status === 200 ? withoutTimings(r.body) : r.body, h.baseline, `healthy ${what}: the exact normal answer`);
  });
}

/** Process-level health: GET /health and GET /ready. */
export async function assertProcessHealthy(t: Pick<T, 'same'>, app: FastifyInstance, workers = 1): Promise<void> {
  const health = await req(app, { method: 'GET', url: '/health' });
  const ready = await req(app, { method: 'GET', url: '/ready' });
  check(t, 'GET /health and GET /ready: 200 ok, ready', (c) => {
    c.equal(health.status, 200, 'GET /health 200');
    c.same(health.body, { status: 'ok' }, 'GET /health body');
    c.equal(ready.status, 200, 'GET /ready 200');
    c.same(ready.body, { status: 'ready', workers, pool: true, store: true }, 'GET /ready body');
  });
}

/**
 * A known bug: `t` whose assertions all carry `{ todo: reason }`, so the case runs, asserts the
 * correct behaviour, and reports its failures as todo (a todo subtest would not run at all).
 */
export function todoT<X extends object>(t: X, reason: string | undefined): X {
  if (!reason) return t;
  const methods = new Set(['equal', 'same', 'match', 'ok', 'notOk', 'not', 'type', 'strictSame', 'has']);
  return new Proxy(t, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof prop !== 'string' || !methods.has(prop) || typeof v !== 'function') return typeof v === 'function' ? v.bind(target) : v;
      const arity = prop === 'ok' || prop === 'notOk' ? 2 : 3;
      return (...args: unknown[]) => {
        while (args.length < arity) args.push(undefined);
        const extra = (args[arity] as object | undefined) ?? {};
        args[arity] = { ...extra, todo: `finding: ${reason}` };
        if (args[arity - 1] === undefined) args[arity - 1] = prop;
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/**
 * Runs each case as its own subtest: the hostile request, its expectation, then a normal execution
 * with its exact answer.
 */
export function runCases(tap: any, h: Health, cases: Case[], send: (payload: unknown) => Promise<Res> = (p) => execute(h.app, p)): void {
  for (const c of cases) {
    tap.test(c.todo ? `${c.name} # finding` : c.name, async (tt: any) => {
      const t = todoT(tt, c.todo);
      const payload = await payloadOf(c);
      const started = performance.now();
      const r = await send(payload);
      const ms = performance.now() - started;
      assertExpect(t, r, c.expect, h.config, payload, ms);
      await assertHealthy(tt, h);
    });
  }
}

// --- a tiny binary writer ------------------------------------------------------------------------

/** Unsigned LEB128. */
export function uleb(n: number | bigint): number[] {
  let v = BigInt(n);
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) byte |= 0x80;
    out.push(byte);
  } while (v !== 0n);
  return out;
}

export const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

export function section(id: number, content: number[] | Uint8Array): number[] {
  const c = Array.from(content);
  return [id, ...uleb(c.length), ...c];
}

/** `section` for big contents: bytes, never spread into an array. */
export function sectionBytes(id: number, content: Uint8Array): Uint8Array {
  return concat([[id, ...uleb(content.length)], content]);
}

export function name(s: string): number[] {
  const b = [...Buffer.from(s)];
  return [...uleb(b.length), ...b];
}

export function moduleOf(...sections: Array<number[] | Uint8Array>): Uint8Array {
  return concat([HEADER, ...sections]);
}

/** Concatenates byte arrays without spreading (safe for millions of bytes). */
export function concat(parts: Array<number[] | Uint8Array>): Uint8Array {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** `pattern` repeated `n` times. */
export function repeat(pattern: number[], n: number): Uint8Array {
  const out = new Uint8Array(pattern.length * n);
  out.set(pattern);
  // doubling copies: log2(n) calls instead of n
  for (let have = pattern.length; have < out.length; have *= 2) out.copyWithin(have, 0, Math.min(have, out.length - have));
  return out;
}

/**
 * `n` functions of type () -> (i32), function 0 exported as `main` (returns 7), each body with
 * `locals` i64 locals and `body` (the instructions, before `end`) — for compile bombs. Written
 * straight into one buffer: n reaches policy.maxFunctions + 1.
 */
export function manyFunctions(n: number, o: { locals?: number; body?: number[] | Uint8Array; localGroups?: number[] } = {}): Uint8Array {
  const type = section(1, [0x01, 0x60, 0x00, 0x01, 0x7f]);
  const funcs = sectionBytes(3, concat([uleb(n), new Uint8Array(n)]));
  const exp = section(7, [0x01, ...name('main'), 0x00, 0x00]);
  const groups = o.localGroups ?? (o.locals ? [o.locals] : []);
  const localDecl = [...uleb(groups.length), ...groups.flatMap((g) => [...uleb(g), 0x7e])];
  const main = concat([localDecl, [0x41, 0x07, 0x0b]]);
  const other = concat([localDecl, o.body ?? [], [0x41, 0x00, 0x0b]]);
  const mainEntry = concat([uleb(main.length), main]);
  const otherEntry = concat([uleb(other.length), other]);
  const count = uleb(n);
  const code = new Uint8Array(count.length + mainEntry.length + (n - 1) * otherEntry.length);
  code.set(count, 0);
  code.set(mainEntry, count.length);
  for (let i = 1, at = count.length + mainEntry.length; i < n; i++, at += otherEntry.length) code.set(otherEntry, at);
  return concat([HEADER, type, funcs, exp, sectionBytes(10, code)]);
}

/** Deterministic pseudo-random bytes (xorshift32). */
export function randomBytes(n: number, seed: number): Uint8Array {
  let x = seed >>> 0 || 1;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** The byte offsets where each top-level section of a module ends (a cut there is a shorter module). */
export function sectionEnds(bytes: Uint8Array): number[] {
  const ends: number[] = [];
  let at = 8;
  while (at < bytes.length) {
    at++; // id
    let size = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[at++]!;
      size |= (b & 0x7f) << shift;
      shift += 7;
      if (!(b & 0x80)) break;
    }
    at += size;
    ends.push(at);
  }
  return ends;
}

/**
 * The app the corpus runs against: the spawned production process (`node dist/server.js`, as `npm
 * start` runs it) with the test's configuration, every request over a real socket
 * (test/support/process-app.ts); in-process (`startApp`, Fastify's inject) with HOSTILE_TARGET=app.
 *
 * The bundled examples are not seeded (examples/iroha alone is 6.7 MB to store: ~0.3 CPU-s of every
 * start) unless `overrides` asks for it: the `examples` the file uses (examples/wasm, by name) are
 * uploaded with PUT /modules instead, which prepares and stores them as seeding does.
 */
export async function startTarget(t: T, overrides: Record<string, unknown> = {}, examples: string[] = ['hello']): Promise<TestApp> {
  const o = { seedExamples: false, ...overrides };
  let target: TestApp;
  if (targetIsProcess()) target = await startProcessApp(t, o);
  else {
    // imported only here: the app and its config cost ~2 CPU-s to load under tsx
    const { startApp } = await import('../support/http.js');
    target = await startApp(t, o);
  }
  for (const name of examples) {
    const r = await req(target.app, { method: 'PUT', url: '/modules', payload: Buffer.from(example(name)), headers: { 'content-type': 'application/wasm' } });
    if (r.status !== 201 && r.status !== 200) throw new Error(`uploading examples/wasm/${name}.wasm: ${r.status} ${r.text}`);
  }
  return target;
}
