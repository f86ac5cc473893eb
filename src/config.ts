/**
 * Configuration: one TypeBox schema; config/default.json, then config/production.json when
 * NODE_ENV=production, then the file named by CONFIG_FILE, then environment variables. A bad value
 * stops the start with a message naming it.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Static, Type } from '@sinclair/typebox';
import { Value, type ValueError, ValueErrorType } from '@sinclair/typebox/value';
import { ENV } from './config-env.js';
import { type Json, merge } from './config-merge.js';
import { redactUrl } from './store/shared-store.js';

const Int = (min: number, description: string, max = Number.MAX_SAFE_INTEGER) => Type.Integer({ minimum: min, maximum: max, description });

const LimitsSchema = Type.Object(
  {
    fuel: Int(0, 'fuel units'),
    memoryBytes: Int(0, 'bytes of linear memory, all modules together'),
    timeoutMs: Int(1, 'wall-clock milliseconds'),
  },
  { additionalProperties: false },
);

export const ConfigSchema = Type.Object(
  {
    host: Type.String({ minLength: 1, description: 'address to listen on' }),
    port: Int(0, 'TCP port', 65535),
    logLevel: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l))),
    workers: Int(0, 'worker threads; 0 = one per core'),
    maxQueue: Int(0, 'executions waiting for a worker before 503'),
    maxBatch: Int(1, 'calls in one POST /execute/batch', 10_000),
    maxBatchResponseBytes: Int(65_536, 'byte budget of one POST /execute/batch answer: calls past it are not run (413 too_large)'),
    bodyLimitBytes: Int(1024, 'largest request body'),
    http: Type.Object(
      {
        headersTimeoutMs: Int(1, 'milliseconds a client has to send the request line and headers (then 408 and the connection closed)'),
        requestTimeoutMs: Int(1, 'milliseconds a client has to send the whole request, body included (then 408 and the connection closed)'),
        keepAliveTimeoutMs: Int(1, 'milliseconds an idle keep-alive connection is kept between requests'),
        maxConnections: Int(1, 'open connections; beyond it new ones are closed at once (keep it under the file limit, ulimit -n)'),
      },
      { additionalProperties: false },
    ),
    limits: Type.Object({ defaults: LimitsSchema, max: LimitsSchema }, { additionalProperties: false }),
    engine: Type.Object(
      {
        maxStackBytes: Int(64 * 1024, 'stack budget in bytes: frames of the wasm functions active plus calls out of a module (docs/ABI.md, Stack); the worker stack is sized from it', 16 * 1024 * 1024),
        output: Type.Object(
          {
            maxOutputBytes: Int(0, 'bytes of result.output'),
            maxLogLines: Int(0, 'log lines kept'),
            maxLogLineBytes: Int(1, 'bytes of one log line'),
          },
          { additionalProperties: false },
        ),
      },
      { additionalProperties: false },
    ),
    policy: Type.Object(
      {
        maxModuleBytes: Int(8, 'module size'),
        maxFunctions: Int(0, 'functions per module'),
        maxImports: Int(0, 'imports per module'),
        maxLocals: Int(0, 'locals per function'),
        maxTableElements: Int(0, 'table size'),
        maxDataBytes: Int(0, 'bytes of data segments'),
        deterministic: Type.Boolean({ description: 'refuse threads and relaxed SIMD, and floats unless floats is "canonicalize"' }),
        floats: Type.Union([Type.Literal('allow'), Type.Literal('canonicalize'), Type.Literal('refuse')], {
          description: 'float operators: "allow", "canonicalize" (every NaN result is the canonical NaN: bit-identical on every CPU), "refuse"',
        }),
      },
      { additionalProperties: false },
    ),
    store: Type.Object(
      {
        dir: Type.Union([Type.String({ minLength: 1 }), Type.Null()], { description: 'module directory; null = memory only' }),
        memoryBudgetBytes: Int(0, 'bytes of modules kept in memory'),
        preparedBudgetBytes: Int(0, 'bytes (estimated) of compiled modules kept'),
        persistPrepared: Type.Boolean({ description: 'keep prepared (instrumented) modules in the store directory, so a restart need not instrument them again' }),
        shared: Type.Union([Type.String({ pattern: '^rediss?://' }), Type.Null()], {
          description: 'a Redis several replicas share ("redis://[user:password@]host:6379/0", rediss:// for TLS): uploads write through to it, a module unknown here is read from it; null = this process only',
        }),
        sharedTimeoutMs: Int(1, 'longest wait for one shared-store operation or connection', 60_000),
        sharedKeyPrefix: Type.String({ maxLength: 100, description: 'prefix of the shared store\'s keys (several services may share one Redis)' }),
      },
      { additionalProperties: false },
    ),
    iroha: Type.Object(
      {
        callbackOrigins: Type.Array(Type.String({ minLength: 1 }), {
          description: 'origins a request\'s iroha.callback may name ("http://host:port"), or "loopback" (127.0.0.0/8, ::1, localhost)',
        }),
        callbackTimeoutMs: Int(1, 'milliseconds one peer callback may take (the execution\'s timeoutMs bounds them all)'),
        maxCallbackResponseBytes: Int(1, 'largest answer of a peer callback'),
      },
      { additionalProperties: false },
    ),
    seedExamples: Type.Boolean({ description: 'put the bundled example modules in the store at start' }),
    overload: Type.Object(
      {
        maxEventLoopDelayMs: Int(0, 'event-loop delay above which work is refused with 503 overloaded (0 = off)'),
        maxEventLoopUtilization: Type.Number({ minimum: 0, maximum: 1, description: 'event-loop utilisation above which work is refused (0 = off)' }),
        maxHeapUsedBytes: Int(0, 'V8 heap in use above which work is refused (0 = off)'),
        maxRssBytes: Int(0, 'resident memory above which work is refused (0 = off)'),
        checkMemoryBudget: Type.Boolean({ description: 'refuse to start when the worst-case memory of this configuration exceeds the memory available' }),
      },
      { additionalProperties: false },
    ),
    auth: Type.Object(
      {
        token: Type.Union([Type.String({ minLength: 16 }), Type.Null()], { description: 'bearer token every request must carry (null = no authentication)' }),
        metrics: Type.Union([Type.Literal('open'), Type.Literal('token')], { description: 'whether GET /metrics is open or needs the token' }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;

export class ConfigError extends Error {}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');


function readJson(path: string): Json {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config file ${path}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as Json;
  } catch (e) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${(e as Error).message}`);
  }
}

function setPath(obj: Json, path: string[], value: unknown): void {
  let o = obj;
  for (const k of path.slice(0, -1)) {
    o[k] = { ...((o[k] as Json) ?? {}) };
    o = o[k] as Json;
  }
  o[path.at(-1)!] = value;
}

function fromEnv(env: NodeJS.ProcessEnv): Json {
  if (env.MAX_CALL_DEPTH !== undefined && env.MAX_CALL_DEPTH !== '') {
    throw new ConfigError('environment variable MAX_CALL_DEPTH was replaced by MAX_STACK_BYTES, a stack budget in bytes (default 2097152; docs/ABI.md, Stack)');
  }
  const out: Json = {};
  for (const [name, path, kind] of ENV) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    let value: unknown = raw;
    if (kind === 'int') {
      if (!/^\d+$/.test(raw)) throw new ConfigError(`environment variable ${name}=${JSON.stringify(raw)} must be a non-negative integer`);
      value = Number(raw);
    } else if (kind === 'bool') {
      if (!/^(true|false|1|0)$/.test(raw)) throw new ConfigError(`environment variable ${name}=${JSON.stringify(raw)} must be true or false`);
      value = raw === 'true' || raw === '1';
    } else if (kind === 'list') {
      value = raw.split(',').map((x) => x.trim()).filter((x) => x !== '');
    } else if ((name === 'STORE_DIR' || name === 'STORE_SHARED_URL') && raw === 'none') value = null;
    setPath(out, path, value);
  }
  return out;
}

/** Checks a complete config object; throws ConfigError naming every bad value. */
export function validateConfig(candidate: unknown): Config {
  const engine = (candidate as { engine?: Record<string, unknown> } | null)?.engine;
  if (engine && typeof engine === 'object' && 'maxCallDepth' in engine) {
    throw new ConfigError(
      'invalid config: engine.maxCallDepth was replaced by engine.maxStackBytes, a stack budget in bytes (default 2097152; docs/ABI.md, Stack): remove maxCallDepth and set maxStackBytes if the default does not suit',
    );
  }
  if (Value.Check(ConfigSchema, candidate)) {
    const c = candidate as Config;
    for (const k of ['fuel', 'memoryBytes', 'timeoutMs'] as const) {
      if (c.limits.defaults[k] > c.limits.max[k]) {
        throw new ConfigError(`invalid config: limits.defaults.${k} (${c.limits.defaults[k]}) is above limits.max.${k} (${c.limits.max[k]})`);
      }
    }
    if (c.store.dir === null && c.store.memoryBudgetBytes < c.policy.maxModuleBytes) {
      // memory only: the LRU is the module's only copy, and lru-cache silently drops an entry larger than it
      throw new ConfigError(
        `invalid config: store.dir is null (memory only), so store.memoryBudgetBytes (${c.store.memoryBudgetBytes}) must be at least policy.maxModuleBytes (${c.policy.maxModuleBytes}), else an accepted module could not be kept: raise the budget or set store.dir`,
      );
    }
    if (c.store.shared !== null && !URL.canParse(c.store.shared)) {
      throw new ConfigError(`invalid config: store.shared (${redactUrl(c.store.shared)}) is not a URL: e.g. redis://redis:6379/0`);
    }
    return c;
  }
  const problems = [...Value.Errors(ConfigSchema, candidate)].map(describeProblem);
  throw new ConfigError(`invalid config: ${problems.slice(0, 5).join('; ')}`);
}

/** The environment variable of each config path, so a message names what the operator set. */
const ENV_OF = new Map(ENV.map(([name, path]) => [`/${path.join('/')}`, name]));

/** One schema error as an operator can act on it: the key, its variable, what was expected, the value (never a secret). */
function describeProblem(e: ValueError): string {
  const env = ENV_OF.get(e.path);
  const where = `${e.path || '/'}${env ? ` (environment variable ${env})` : ''}`;
  if (e.path === '/auth/token') {
    // the token is a secret: its length is shown, never its value
    return typeof e.value === 'string'
      ? `${where} must be at least 16 characters, got ${e.value.length}: use a random secret, e.g. \`openssl rand -hex 32\``
      : `${where} must be a string of at least 16 characters, or null for no authentication`;
  }
  // a union's own message ("Expected union value") says nothing: name what each branch expects
  const branches = e.type === ValueErrorType.Union ? e.errors.map((it) => it.First()?.message).filter((m): m is string => !!m) : [];
  const expected = branches.length
    ? branches.every((m) => m.startsWith("Expected '"))
      ? `expected one of ${branches.map((m) => m.slice('Expected '.length)).join(', ')}`
      : `expected ${branches.map((m) => m.replace(/^Expected /, '')).join(', or ')}`
    : e.message;
  // a bad shared-store URL is named without its password
  const shown = e.path === '/store/shared' && typeof e.value === 'string' ? redactUrl(e.value) : e.value;
  return `${where}: ${expected}${e.value !== undefined ? ` (got ${JSON.stringify(shown)})` : ''}`;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Json = {}): Config {
  let c = readJson(resolve(root, 'config/default.json'));
  if (env.NODE_ENV === 'production') c = merge(c, readJson(resolve(root, 'config/production.json')));
  if (env.CONFIG_FILE) c = merge(c, readJson(resolve(env.CONFIG_FILE)));
  c = merge(c, fromEnv(env));
  c = merge(c, overrides);
  return validateConfig(c);
}

/** Worker threads to start: the configured number, or one per core. */
export function workerCount(c: Config): number {
  return c.workers > 0 ? c.workers : Math.max(1, availableParallelism());
}

export const PROJECT_ROOT = root;
