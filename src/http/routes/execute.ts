/** POST /execute (docs/API.md). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { timeoutResult, type ExecutionResult } from '../../engine/execute.js';
import { QueueFullError, TimeoutError, type ExecutionPool } from '../../pool/pool.js';
import { errorKindOf, overloadedError } from '../errors.js';
import { type CallContext, prepareCall, recordCall } from '../call.js';
import { ERROR_EXAMPLES as E, errorResponse, ExecuteRequest, ExecuteResponse } from '../schemas.js';
import { RequestError } from '../../engine/errors.js';

export interface ExecuteRouteOptions extends CallContext {
  pool: ExecutionPool;
}

const errors = {
  400: errorResponse('Malformed request: schema, base64, entrypoint, args, or limits above the ceilings', E.badRequest),
  401: errorResponse('No or a wrong bearer token (when auth.token is set)', E.unauthorized),
  404: errorResponse('No stored module with that hash (contract or library)', E.notFound),
  413: errorResponse('An inline module over the module size limit, or a body over the body size limit', E.moduleTooLarge, E.bodyTooLarge),
  415: errorResponse('The body is not application/json', E.executeMediaType),
  422: errorResponse('A module is invalid, the two do not link, or a module breaks the policy', E.invalidModule, E.linkError, E.policyViolation),
  500: errorResponse('A bug: logged with the request id', E.internal),
  503: errorResponse(
    'Every worker busy and the queue full, the worker running it stopped, or a module by hash not on this replica while the shared store fails: retry after `Retry-After` seconds',
    E.overloaded,
    E.workerLost,
    E.storeUnavailable,
  ),
};

export const executeRoute: FastifyPluginAsyncTypebox<ExecuteRouteOptions> = async (app, opts) => {
  const { pool, metrics } = opts;
  // every error answer counts, including those Fastify gives before the handler (schema, body size)
  app.addHook('onResponse', async (req, reply) => {
    if (reply.statusCode >= 400) metrics.rejected.inc({ kind: errorKindOf(req) ?? 'internal' });
  });
  const overloaded = () => overloadedError(pool);
  app.post(
    '/execute',
    {
      // shed load before parsing and validating a body that could not be run anyway
      onRequest: async () => {
        if (pool.full) throw overloaded();
      },
      config: { accepts: ['application/json'] },
      schema: {
        summary: 'Link a contract with an optional library and run one call under limits',
        description: 'The whole API is described in docs/API.md.',
        body: ExecuteRequest,
        response: { 200: ExecuteResponse, ...errors },
      },
    },
    async (req, reply) => {
      const started = performance.now();
      const { exec, prepareMs } = await prepareCall(req.body, opts);
      let result: ExecutionResult;
      try {
        const r = await pool.execute(exec, prepareMs);
        if (r.requestError) throw new RequestError(r.requestError.kind, r.requestError.message);
        result = r.result;
      } catch (e) {
        if (e instanceof QueueFullError) throw overloaded();
        if (!(e instanceof TimeoutError)) throw e;
        result = timeoutResult(exec, { prepareMs, queueMs: e.queueMs, executeMs: e.executeMs });
      }
      recordCall(opts, req.log, result, started);
      return reply.status(200).send(result);
    },
  );
};
