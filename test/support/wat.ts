/**
 * Test helpers: compile WAT with the `wabt` npm package, and run a module once through the engine
 * (src/engine prepare + execute with the default engine config and policy).
 */
import type { ExecuteInput, ExecutionResult, LinkOptions } from '../../src/engine/execute.js';
import type { PreparedModule } from '../../src/engine/prepare.js';

// The engine is imported when a module is prepared or run, not when this file loads: files that only
// compile WAT (the hostile corpus, against a spawned server) skip ~1 CPU-s of engine modules under tsx.
const engine = () =>
  Promise.all([import('../../src/engine/execute.js'), import('../../src/engine/defaults.js'), import('../../src/engine/prepare.js')]).then(
    ([exec, defaults, prep]) => ({ ...exec, ...defaults, ...prep }),
  );

/** Every feature the modules of these tests use (wabt's defaults leave most post-MVP ones off). */
/**
 * `rec(n) = n` by n nested calls of `$rec` (non-tail recursion): the fixture of the call-depth and
 * stack tests. Fuel: entry 1 + 3 for the test, + 4 before and 2 after the call per level; 1 at n = 0.
 */
export const REC_BODY = `local.get 0
    i32.eqz
    if (result i32)
      i32.const 0
    else
      local.get 0
      i32.const 1
      i32.sub
      call $rec
      i32.const 1
      i32.add
    end`;

export const WAT_FEATURES = {
  multi_value: true,
  bulk_memory: true,
  reference_types: true,
  sign_extension: true,
  mutable_globals: true,
  sat_float_to_int: true,
  simd: true,
  tail_call: true,
  threads: true,
} as const;

type Wabt = Awaited<ReturnType<typeof import('wabt')>>;
let wabtPromise: Promise<Wabt> | undefined;

export function wabt(): Promise<Wabt> {
  wabtPromise ??= import('wabt').then((m) => m.default());
  return wabtPromise;
}

/**
 * WAT text → module bytes (throws wabt's error, with the source line, on a syntax error). Not
 * validated here: wabt's validator ignores some enabled features (shared memories), and every test
 * that runs a module has V8 validate it anyway. `names` writes the `name` section.
 */
export async function wat(src: string, opts: { features?: Record<string, boolean>; names?: boolean } = {}): Promise<Uint8Array> {
  // compiled once per source and options in a test process: files send the same module in many cases
  const key = JSON.stringify([opts.features ?? null, opts.names ?? false, src]);
  const known = compiled.get(key);
  if (known) return known.slice();
  const bytes = await compile(src, opts);
  compiled.set(key, bytes);
  return bytes.slice();
}

const compiled = new Map<string, Uint8Array>();

async function compile(src: string, opts: { features?: Record<string, boolean>; names?: boolean }): Promise<Uint8Array> {
  const w = await wabt();
  const mod = w.parseWat('test.wat', src, { ...WAT_FEATURES, ...opts.features });
  try {
    mod.resolveNames();
    return new Uint8Array(mod.toBinary({ write_debug_names: opts.names ?? false }).buffer);
  } finally {
    mod.destroy();
  }
}

export type Source = string | Uint8Array;

export async function bytesOf(src: Source): Promise<Uint8Array> {
  return typeof src === 'string' ? wat(src) : src;
}

/** Prepares a module with the default instrumentation settings and policy. */
export async function prep(src: Source): Promise<PreparedModule> {
  const { prepare, DEFAULT_ENGINE_CONFIG, DEFAULT_ENGINE_POLICY } = await engine();
  return prepare(await bytesOf(src), DEFAULT_ENGINE_CONFIG.instrument, DEFAULT_ENGINE_POLICY);
}

export interface RunOptions {
  entry?: string;
  args?: unknown[];
  /** Fuel limit (default: DEFAULT_LIMITS.fuel). */
  fuel?: number;
  memoryBytes?: number;
  input?: Uint8Array;
  library?: Source | PreparedModule;
  link?: LinkOptions;
}

const isPrepared = (x: unknown): x is PreparedModule => typeof x === 'object' && x !== null && 'compiled' in x;

/** Prepares (when given WAT or bytes) and executes once; returns the response body (docs/API.md). */
export async function runOnce(contract: Source | PreparedModule, opts: RunOptions = {}): Promise<ExecutionResult> {
  const { execute, DEFAULT_ENGINE_CONFIG, DEFAULT_LIMITS } = await engine();
  const c = isPrepared(contract) ? contract : await prep(contract);
  const lib = opts.library === undefined ? null : isPrepared(opts.library) ? opts.library : await prep(opts.library);
  const input: ExecuteInput = {
    contract: c,
    library: lib,
    entrypoint: opts.entry ?? 'main',
    args: opts.args ?? [],
    limits: {
      fuel: opts.fuel ?? DEFAULT_LIMITS.fuel,
      memoryBytes: opts.memoryBytes ?? DEFAULT_LIMITS.memoryBytes,
      timeoutMs: DEFAULT_LIMITS.timeoutMs,
    },
  };
  if (opts.input) input.input = opts.input;
  if (opts.link) input.link = opts.link;
  return execute(input, DEFAULT_ENGINE_CONFIG);
}
