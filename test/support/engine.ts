/**
 * Helpers for the engine tests (test/engine/*): WAT compiled with wabt, modules prepared exactly as
 * the service prepares them (DEFAULT_ENGINE_CONFIG.instrument, DEFAULT_ENGINE_POLICY), one execution
 * through src/engine/execute.ts, and checks of the body shape of docs/API.md.
 */
import { framesWellFormed } from './http.js';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { DEFAULT_ENGINE_CONFIG, DEFAULT_ENGINE_POLICY, DEFAULT_LIMITS } from '../../src/engine/defaults.js';
import { RequestError, type RequestErrorKind } from '../../src/engine/errors.js';
import { type EngineConfig, type ExecuteInput, type ExecutionResult, type LinkOptions, type Limits, execute } from '../../src/engine/execute.js';
import { type PreparedModule, prepare } from '../../src/engine/prepare.js';
import { wat } from './wat.js';
import { leb } from './leb.js';

export const PAGE = 65536;

/** The assertions the helpers use (the root `t` and subtests alike). */
export type Assert = Pick<typeof import('tap')['t'], 'ok' | 'equal' | 'same' | 'match' | 'fail'>;

/** WAT text → wasm bytes: the one compiler helper of the tests (test/support/wat.ts). */
export { wat };


/** Appends a custom section `name` holding `text` (UTF-8) to a module. */
export function withCustomSection(bytes: Uint8Array, name: string, text: string): Uint8Array {
  const enc = new TextEncoder();
  const n = enc.encode(name);
  const payload = [...leb(n.length), ...n, ...enc.encode(text)];
  const section = [0, ...leb(payload.length), ...payload];
  const out = new Uint8Array(bytes.length + section.length);
  out.set(bytes);
  out.set(section, bytes.length);
  return out;
}

/** A WAT string literal holding the UTF-8 bytes of `s` (escaped: wabt.js does not take non-ASCII source). */
export function watString(s: string | Uint8Array): string {
  const bytes = typeof s === 'string' ? new TextEncoder().encode(s) : s;
  return `"${[...bytes].map((b) => `\\${b.toString(16).padStart(2, '0')}`).join('')}"`;
}

/** The module's bytes under examples/wasm/. */
export function example(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(`../../examples/wasm/${name}.wasm`, import.meta.url)));
}

export function prep(bytes: Uint8Array): PreparedModule {
  return prepare(bytes, DEFAULT_ENGINE_CONFIG.instrument, DEFAULT_ENGINE_POLICY);
}

/** Compiles and prepares a WAT module. */
export async function watModule(src: string, ffi?: string): Promise<PreparedModule> {
  let bytes = await wat(src);
  if (ffi !== undefined) bytes = withCustomSection(bytes, 'ffi', ffi);
  return prep(bytes);
}

const examples = new Map<string, PreparedModule>();
/** A prepared example module (cached per test process). */
export function exampleModule(name: string): PreparedModule {
  let p = examples.get(name);
  if (!p) {
    p = prep(example(name));
    examples.set(name, p);
  }
  return p;
}

export interface RunOptions {
  contract: PreparedModule;
  library?: PreparedModule | null;
  link?: LinkOptions;
  entrypoint?: string;
  args?: unknown[];
  input?: Uint8Array | string;
  limits?: Partial<Limits>;
  config?: Partial<EngineConfig>;
  inspectMemory?: ExecuteInput['inspectMemory'];
  fuelProfile?: ExecuteInput['fuelProfile'];
}

export function input(o: RunOptions): ExecuteInput {
  const inp: ExecuteInput = {
    contract: o.contract,
    library: o.library ?? null,
    limits: { ...DEFAULT_LIMITS, ...o.limits },
  };
  if (o.link) inp.link = o.link;
  if (o.entrypoint !== undefined) inp.entrypoint = o.entrypoint;
  if (o.args) inp.args = o.args;
  if (o.input !== undefined) inp.input = typeof o.input === 'string' ? new TextEncoder().encode(o.input) : o.input;
  if (o.inspectMemory) inp.inspectMemory = o.inspectMemory;
  if (o.fuelProfile) inp.fuelProfile = o.fuelProfile;
  return inp;
}

/** One execution with the default engine config (overridable) and default limits (overridable). */
export function run(o: RunOptions): ExecutionResult {
  return execute(input(o), { ...DEFAULT_ENGINE_CONFIG, ...o.config });
}

/** The request error thrown by `fn`, or an exception if it returned or threw something else. */
export function requestError(fn: () => unknown): RequestError {
  try {
    fn();
  } catch (e) {
    if (e instanceof RequestError) return e;
    throw e;
  }
  throw new Error('expected a RequestError, but nothing was thrown');
}

/** Asserts that `fn` throws a RequestError of `kind` whose message matches every pattern. */
export function expectRequestError(
  t: Assert,
  fn: () => unknown,
  kind: RequestErrorKind,
  ...patterns: Array<RegExp | string>
): RequestError | undefined {
  let e: RequestError;
  try {
    e = requestError(fn);
  } catch (x) {
    t.fail(`expected a ${kind} RequestError, got ${(x as Error).message}`);
    return undefined;
  }
  t.equal(e.kind, kind, `kind ${kind}: ${e.message}`);
  for (const p of patterns) {
    if (typeof p === 'string') t.ok(e.message.includes(p), `message includes ${JSON.stringify(p)}: ${e.message}`);
    else t.match(e.message, p, `message matches ${p}: ${e.message}`);
  }
  return e;
}

/** The body without `timings` (the only part that may differ between identical runs). */
export function withoutTimings(r: ExecutionResult): Omit<ExecutionResult, 'timings'> {
  const { timings: _t, ...rest } = r;
  return rest;
}

export function stableJson(r: ExecutionResult): string {
  return JSON.stringify(withoutTimings(r));
}

export const hex = (b64: string) => Buffer.from(b64, 'base64').toString('hex');
export const text = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');
export const b64 = (s: string | Uint8Array) => Buffer.from(typeof s === 'string' ? new TextEncoder().encode(s) : s).toString('base64');
export const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

const isNum = (x: unknown) => typeof x === 'number' && Number.isFinite(x);

/**
 * Asserts the 200-body shape of docs/API.md: exactly the documented keys, consistent fuel, memory and
 * module descriptions, and `result`/`error` present exactly when they should be.
 */
export function assertBodyShape(t: Assert, r: ExecutionResult, o: { library: boolean }): void {
  t.same(Object.keys(r).sort(), ['error', 'fuel', 'link', 'logs', 'memory', 'modules', 'ok', 'result', 'timings'], 'top-level keys');
  if (r.ok) {
    t.equal(r.error, null, 'ok → error null');
    t.same(Object.keys(r.result ?? {}).sort(), ['output', 'values'], 'result keys');
    t.ok(Array.isArray(r.result!.values), 'values is an array');
    t.equal(typeof r.result!.output, 'string', 'output is base64 text');
  } else {
    t.equal(r.result, null, 'not ok → result null');
    const timeout = r.error?.kind === 'timeout';
    t.same(Object.keys(r.error ?? {}).sort(), timeout ? ['kind', 'message'] : ['frames', 'framesOmitted', 'kind', 'message'], 'error keys');
    if (!timeout) t.ok(framesWellFormed(r.error!.frames, r.error!.framesOmitted, o.library), 'error.frames: at most 64, each of the documented shape');
    t.ok(['out_of_fuel', 'memory_limit', 'stack_overflow', 'trap', 'panic', 'timeout', 'host_error'].includes(r.error!.kind), `known kind ${r.error!.kind}`);
    t.equal(typeof r.error!.message, 'string');
    t.ok(r.error!.message.length > 0, 'error message is not empty');
  }
  t.same(Object.keys(r.fuel).sort(), ['consumed', 'limit', 'remaining'], 'fuel keys');
  t.ok(isNum(r.fuel.consumed) && r.fuel.consumed >= 0 && r.fuel.consumed <= r.fuel.limit, 'fuel consumed within the limit');
  t.equal(r.fuel.remaining, r.fuel.limit - r.fuel.consumed, 'fuel remaining = limit - consumed');
  t.same(Object.keys(r.memory).sort(), ['limitBytes', 'modules', 'peakBytes'], 'memory keys');
  t.same(Object.keys(r.memory.modules).sort(), o.library ? ['contract', 'library'] : ['contract'], 'memory.modules keys');
  let peakSum = 0;
  // refused before instantiation (initial sizes over the cap): nothing was allocated, every peak is 0
  const refused = r.error?.kind === 'memory_limit' && /^initial memory/.test(r.error.message);
  for (const m of Object.values(r.memory.modules)) {
    t.same(Object.keys(m!).sort(), ['initialBytes', 'peakBytes'], 'module memory keys');
    t.ok(refused ? m!.peakBytes === 0 : m!.peakBytes >= m!.initialBytes, refused ? 'module peak 0 (never allocated)' : 'module peak >= initial');
    t.equal(m!.initialBytes % PAGE, 0, 'initial bytes are whole pages');
    peakSum += m!.peakBytes;
  }
  if (r.error?.kind !== 'memory_limit' || !/^initial memory/.test(r.error.message)) {
    t.ok(r.memory.peakBytes <= r.memory.limitBytes, 'total peak within the limit');
    t.equal(r.memory.peakBytes, peakSum, 'total peak = sum of the modules’ peaks');
  }
  t.ok(Array.isArray(r.logs), 'logs is an array');
  for (const l of r.logs) {
    t.same(Object.keys(l).sort(), ['level', 'message'], 'log line keys');
    t.ok(['trace', 'debug', 'info', 'warn', 'error'].includes(l.level), `log level ${l.level}`);
  }
  t.same(Object.keys(r.modules).sort(), o.library ? ['contract', 'library'] : ['contract'], 'modules keys');
  for (const m of Object.values(r.modules)) {
    t.same(Object.keys(m!).sort(), ['bytes', 'hash'], 'module keys');
    t.match(m!.hash, /^[0-9a-f]{64}$/, 'hash is sha256 hex');
  }
  t.same(Object.keys(r.link).sort(), ['bytesCopied', 'calls', 'mode'], 'link keys');
  t.equal(r.link.mode, 'bridge');
  t.same(Object.keys(r.timings).sort(), ['executeMs', 'instantiateMs', 'prepareMs', 'queueMs', 'totalMs'], 'timings keys');
  for (const v of Object.values(r.timings)) t.ok(isNum(v) && v >= 0, 'timing is a non-negative number');
}
