/**
 * buildApp(config): the Fastify instance with its plugins and routes, no listen (tests inject).
 * It owns the worker pool and the module store and releases them on close.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { type Config, PROJECT_ROOT, workerCount } from './config.js';
import type { EngineConfig } from './engine/execute.js';
import { settingsFor, type PreparedModule } from './engine/prepare.js';
import { handleError } from './http/errors.js';
import { createMetrics } from './http/metrics.js';
import { formatSchemaErrors } from './http/validation.js';
import { moduleDescriber } from './http/module-summary.js';
import { openApiSecurity } from './http/auth.js';
import { ModuleResolver } from './http/module-resolver.js';
import { registerPressure } from './http/pressure.js';
import { registerAuth } from './http/auth.js';
import { registerJsonParser } from './http/json-body.js';
import { notFoundOrNotAllowed, registerRequestGuards } from './http/request-guards.js';
import { ConnectionStats, guardServer, serverOptions } from './http/server-guards.js';
import { executeRoute } from './http/routes/execute.js';
import { batchRoute } from './http/routes/batch.js';
import { modulesRoute } from './http/routes/modules.js';
import { opsRoute } from './http/routes/ops.js';
import { playgroundRoute } from './http/routes/playground.js';
import { ExecutionPool } from './pool/pool.js';
import { ArtifactStore } from './store/artifact-store.js';
import { ModuleStore } from './store/module-store.js';
import { SharedStoreError } from './store/shared-store.js';
import { TieredModuleStore } from './store/tiered-store.js';
import { PreparedCache } from './store/prepared-cache.js';


declare module 'fastify' {
  interface FastifyInstance {
    /** The app's worker pool (tests and operators' drills reach it here, e.g. `killWorker`). */
    executionPool: ExecutionPool;
  }
}

export interface AppOptions {
  /** pino options, or false for no logs (tests). */
  logger?: boolean | object;
}

export const API_VERSION = JSON.parse(readFileSync(resolve(PROJECT_ROOT, 'package.json'), 'utf8')).version as string;

export function engineConfig(c: Config): EngineConfig {
  return {
    // the settings modules are prepared with under this policy (NaN canonicalization included), so the
    // cache and artifact keys match what `prepare` makes
    instrument: settingsFor({ maxMemoryPages: Math.ceil(c.limits.max.memoryBytes / 65536), maxTableElements: c.policy.maxTableElements }, c.policy),
    maxStackBytes: c.engine.maxStackBytes,
    output: c.engine.output,
    iroha: { callbackTimeoutMs: c.iroha.callbackTimeoutMs, maxCallbackResponseBytes: c.iroha.maxCallbackResponseBytes },
  };
}

export async function buildApp(config: Config, opts: AppOptions = {}): Promise<FastifyInstance> {
  const connections = new ConnectionStats();
  const app = Fastify({
    ...serverOptions(config.http, connections, config.limits.max.timeoutMs),
    // a malformed URL or an overlong path parameter: the documented error shape too
    frameworkErrors: (err, req, reply) => handleError(err, req, reply),
    logger: opts.logger ?? { level: config.logLevel },
    bodyLimit: config.bodyLimitBytes,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false, verbose: true } },
    schemaErrorFormatter: formatSchemaErrors,
  }).withTypeProvider<TypeBoxTypeProvider>();

  const engine = engineConfig(config);
  const sc = config.store;
  // the Redis client is loaded only when a shared store is configured (most starts have none)
  const shared = sc.shared === null ? null : new (await import('./store/redis-store.js')).RedisSharedStore({ url: sc.shared, timeoutMs: sc.sharedTimeoutMs, logger: app.log });
  const store = new TieredModuleStore({
    local: new ModuleStore({ dir: sc.dir, memoryBudgetBytes: sc.memoryBudgetBytes, logger: app.log, describer: moduleDescriber }),
    shared,
    keyPrefix: sc.sharedKeyPrefix,
    logger: app.log,
    observe: (op, seconds, ok) => metrics.sharedStoreDuration.observe({ op, result: ok ? 'ok' : 'error' }, seconds),
  });
  const prepared = new PreparedCache<PreparedModule>(config.store.preparedBudgetBytes);
  const artifacts = config.store.dir !== null && config.store.persistPrepared ? new ArtifactStore(config.store.dir, app.log) : null;
  const resolver = new ModuleResolver(store, prepared, engine.instrument, config.policy, artifacts);
  const pool = new ExecutionPool({
    workers: workerCount(config),
    maxQueue: config.maxQueue,
    engine,
    moduleCacheBytes: config.store.preparedBudgetBytes,
    onError: (err) => app.log.error({ err }, 'worker pool: an error outside any execution (the pool recovers: a failed worker is replaced)'),
  });
  app.decorate('executionPool', pool);
  const metrics = createMetrics({
    queueSize: () => pool.queueSize,
    utilization: () => pool.utilization,
    threads: () => pool.threads,
    store: () => store.stats(),
    sharedStore: () => store.sharedStats(),
    sharedStoreUp: () => { const s = store.sharedStatus(); return s && (s.state === 'up' ? 1 : 0); },
    prepared: () => ({ hits: prepared.hits, misses: prepared.misses, size: prepared.size }),
    artifacts: () => artifacts?.stats() ?? null,
    poolFaults: () => ({ lostWorkers: pool.lostWorkers, poolErrors: pool.poolErrors }),
    connections: () => connections,
  });
  guardServer(app, config.http, connections);

  // bodies are JSON (POST /execute) or raw wasm (PUT /modules): anything else is a 415 naming what the route accepts
  app.removeContentTypeParser('text/plain');
  registerJsonParser(app);
  app.setErrorHandler(handleError);
  registerAuth(app, config.auth);
  // before any route: it indexes the routes as they are added (for 405's Allow)
  registerRequestGuards(app);
  // the guards answer unknown paths first; this is the fallback for a handler calling reply.callNotFound()
  app.setNotFoundHandler((req, reply) => {
    handleError(notFoundOrNotAllowed(req, []), req, reply);
  });
  // While closing, answer in-flight requests with `Connection: close`, so keep-alive clients do not
  // hold the server open after their last response.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (req, reply) => {
    reply.header('x-request-id', req.id);
    if (closing) reply.header('connection', 'close');
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'wasm-contract-runner',
        version: API_VERSION,
        description:
          'Executes linked WebAssembly smart contracts under deterministic fuel, memory and time limits. The full reference is docs/API.md; the host ABI, fuel and ffi rules are docs/ABI.md.',
      },
      ...openApiSecurity,
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  await store.init();
  if (store.shared) {
    // the service starts without its shared store (by-hash executions then use local copies, uploads answer 503)
    const up = await store.shared.connected(sc.sharedTimeoutMs);
    app.log[up ? 'info' : 'warn']({ store: store.shared.status().url }, up ? 'shared store: connected' : 'shared store: not reachable at start, retrying in the background');
  }
  // the work routes, refused while the process is under pressure (the ops routes always answer)
  await app.register(async (work) => {
    await registerPressure(work, config.overload);
    await work.register(executeRoute, { pool, resolver, metrics, limits: config.limits, callbackOrigins: config.iroha.callbackOrigins });
    await work.register(batchRoute, {
      pool,
      resolver,
      metrics,
      limits: config.limits,
      callbackOrigins: config.iroha.callbackOrigins,
      maxBatch: config.maxBatch,
      maxResponseBytes: config.maxBatchResponseBytes,
      lookupBoundMs: sc.shared === null ? null : sc.sharedTimeoutMs,
    });
    await work.register(modulesRoute, { store, resolver, maxModuleBytes: config.policy.maxModuleBytes });
  });
  await app.register(opsRoute, { pool, store, metrics });
  await app.register(playgroundRoute);

  app.addHook('onReady', async () => {
    if (config.seedExamples) await seedExamples(store, resolver, app);
    await pool.warmUp();
  });
  app.addHook('onClose', async () => {
    await pool.close();
    await store.close();
  });
  return app;
}

/**
 * The bundled example modules, stored so that a request by hash works right after start: examples/wasm
 * prepared too (small, used by the tests and the docs), examples/iroha (6.7 MB of Hyperledger Iroha's
 * samples) only stored: preparing them here would add seconds to every start; the first request of
 * each prepares it (and keeps the artifact in the store, for the next starts).
 */
async function seedExamples(store: TieredModuleStore, resolver: ModuleResolver, app: FastifyInstance): Promise<void> {
  for (const [sub, prepare] of [['examples/wasm', true], ['examples/iroha', false]] as const) {
    const dir = resolve(PROJECT_ROOT, sub);
    let files: string[];
    try {
      files = readdirSync(dir).filter((f) => f.endsWith('.wasm'));
    } catch {
      continue; // an image without examples
    }
    for (const f of files.sort()) await seedExample(store, resolver, app, resolve(dir, f), prepare);
  }
}

async function seedExample(store: TieredModuleStore, resolver: ModuleResolver, app: FastifyInstance, file: string, prepare: boolean): Promise<void> {
  const f = basename(file);
  const bytes = new Uint8Array(readFileSync(file));
  if (prepare) {
    const prepared = await resolver.prepareStored(bytes);
    // a module importing its memory runs only in shared mode: have that variant ready too
    if (prepared.info.layout.memory?.imported || f.endsWith('-shared.wasm')) await resolver.prepareStored(bytes, prepared.info.hash, 'shared');
  }
  // with the shared store down, each write would wait for its timeout: the examples stay local this time
  const sharedUp = store.sharedStatus()?.state !== 'down';
  const hash = await (sharedUp ? store.put(bytes) : store.local.put(bytes)).then(
    (r) => r.hash,
    async (e: unknown) => {
      // kept here all the same; the shared copy is made by the next start or upload
      if (!(e instanceof SharedStoreError)) throw e;
      app.log.warn({ module: f, err: e.message }, 'example module not written to the shared store');
      return (await store.local.put(bytes)).hash;
    },
  );
  app.log.info({ module: f, hash, prepared: prepare }, 'example module ready');
}
