/** POST /execute (DESIGN §3). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { check, timeoutResult, type ExecuteInput, type ExecutionResult, type Limits } from '../../engine/execute.js';
import { QueueFullError, TimeoutError, type ExecutionPool } from '../../pool/pool.js';
import { HttpError, errorKindOf } from '../errors.js';
import { resolveLimits } from '../limits.js';
import type { Metrics } from '../metrics.js';
import { type ModuleResolver, decodeBase64 } from '../module-resolver.js';
import { ErrorResponse, ExecuteRequest, ExecuteResponse } from '../schemas.js';
import { RequestError } from '../../engine/errors.js';

export interface ExecuteRouteOptions {
  pool: ExecutionPool;
  resolver: ModuleResolver;
  metrics: Metrics;
  limits: { defaults: Limits; max: Limits };
}

const errors = { 400: ErrorResponse, 404: ErrorResponse, 413: ErrorResponse, 415: ErrorResponse, 422: ErrorResponse, 500: ErrorResponse, 503: ErrorResponse };

export const executeRoute: FastifyPluginAsyncTypebox<ExecuteRouteOptions> = async (app, { pool, resolver, metrics, limits }) => {
  // every error answer counts, including those Fastify gives before the handler (schema, body size)
  app.addHook('onResponse', async (req, reply) => {
    if (reply.statusCode >= 400) metrics.rejected.inc({ kind: errorKindOf(req) ?? 'internal' });
  });
  const overloaded = () =>
    new HttpError(503, 'overloaded', `all ${pool.size} workers are busy and ${pool.queueSize} executions are waiting: retry later`, 1);
  app.post(
    '/execute',
    {
      // shed load before parsing and validating a body that could not be run anyway
      onRequest: async () => {
        if (pool.full) throw overloaded();
      },
      schema: {
        summary: 'Link a contract with an optional library and run one call under limits',
        body: ExecuteRequest,
        response: { 200: ExecuteResponse, ...errors },
      },
    },
    async (req, reply) => {
      const started = performance.now();
      const body = req.body;
      const lim = resolveLimits(body.limits, limits.defaults, limits.max);
      const input = body.input === undefined ? new Uint8Array(0) : decodeBase64(body.input, 'input');
      const contract = await resolver.resolve(body.contract, 'contract');
      const library = body.library ? await resolver.resolve(body.library, 'library') : null;
      const prepareMs = performance.now() - started;
      const exec: ExecuteInput = {
        contract,
        library,
        link: body.link,
        entrypoint: body.entrypoint,
        args: body.args,
        input,
        limits: lim,
      };
      check(exec); // request and link errors answer before a worker is taken
      let result: ExecutionResult;
      try {
        const r = await pool.execute(exec, prepareMs);
        if ('requestError' in r) throw new RequestError(r.requestError.kind, r.requestError.message);
        if (!('result' in r)) throw new Error('worker answered a ping to an execution');
        result = r.result;
      } catch (e) {
        if (e instanceof QueueFullError) throw overloaded();
        if (!(e instanceof TimeoutError)) throw e;
        result = timeoutResult(exec, { prepareMs, executeMs: performance.now() - started - prepareMs });
      }
      const outcome = result.error?.kind ?? 'ok';
      metrics.executions.inc({ outcome });
      metrics.fuel.observe(result.fuel.consumed);
      metrics.duration.observe((performance.now() - started) / 1000);
      req.log.info(
        {
          contract: result.modules.contract.hash,
          library: result.modules.library?.hash,
          outcome,
          fuel: result.fuel.consumed,
          ms: Math.round((performance.now() - started) * 1000) / 1000,
        },
        'execution',
      );
      return reply.status(200).send(result);
    },
  );
};
