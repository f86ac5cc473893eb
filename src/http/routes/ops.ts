/** Liveness, readiness, metrics and the API description. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { PROJECT_ROOT } from '../../config.js';
import type { ExecutionPool } from '../../pool/pool.js';
import type { TieredModuleStore } from '../../store/tiered-store.js';
import { OPEN, OPEN_OR_TOKEN } from '../auth.js';
import { HttpError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import { HealthResponse, ReadyResponse } from '../schemas.js';

export interface OpsRouteOptions {
  pool: ExecutionPool;
  store: TieredModuleStore;
  metrics: Metrics;
}

export const opsRoute: FastifyPluginAsyncTypebox<OpsRouteOptions> = async (app, { pool, store, metrics }) => {
  app.get('/health', { schema: { summary: 'Liveness: the process answers', security: OPEN, response: { 200: HealthResponse } } }, async () => ({ status: 'ok' as const }));

  app.get(
    '/ready',
    {
      schema: {
        summary: 'Readiness: every worker thread is up and the module store is usable (the shared store\'s state is reported, not required)',
        security: OPEN,
        response: { 200: ReadyResponse, 503: ReadyResponse },
      },
    },
    async (_req, reply) => {
      const storeOk = await store.isReadable();
      const ready = pool.ready && storeOk;
      const shared = store.sharedStatus();
      return reply
        .status(ready ? 200 : 503)
        .send({ status: ready ? 'ready' : 'not_ready', workers: pool.threads, pool: pool.ready, store: storeOk, ...(shared ? { sharedStore: shared } : {}) });
    },
  );

  app.get('/metrics', { schema: { summary: 'Prometheus metrics (the token is needed only when auth.metrics is `token`)', security: OPEN_OR_TOKEN, produces: ['text/plain'] } }, async (_req, reply) => {
    let text: string;
    try {
      text = await metrics.registry.metrics();
    } catch (e) {
      // prom-client's process metrics read /proc on every scrape: out of file descriptors that fails
      // for a moment; a retryable 503, never a 500
      throw new HttpError(503, 'overloaded', `metrics could not be collected now (${(e as Error).message}): retry the scrape later`, 1);
    }
    return reply.type(metrics.registry.contentType).send(text);
  });

  const yaml = readFileSync(resolve(PROJECT_ROOT, 'openapi.yaml'), 'utf8');
  app.get('/openapi.yaml', { schema: { hide: true } }, async (_req, reply) => reply.type('application/yaml').send(yaml));
};
