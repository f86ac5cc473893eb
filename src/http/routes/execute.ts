/** POST /execute (docs/API.md). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { check, timeoutResult, type ExecuteInput, type ExecutionResult, type Limits } from '../../engine/execute.js';
import { QueueFullError, TimeoutError, type ExecutionPool } from '../../pool/pool.js';
import { HttpError, errorKindOf } from '../errors.js';
import { resolveLimits } from '../limits.js';
import type { Metrics } from '../metrics.js';
import { type ModuleResolver, decodeBase64 } from '../module-resolver.js';
import { ERROR_EXAMPLES as E, errorResponse, ExecuteRequest, ExecuteResponse } from '../schemas.js';
import { RequestError } from '../../engine/errors.js';
import type { IrohaInput } from '../../engine/iroha-abi.js';
import { checkCallbackUrl } from '../../callback/origins.js';

/** The request's `iroha` object, decoded; the callback checked against the allowed origins. */
function irohaInput(o: NonNullable<ExecuteRequest['iroha']>, origins: string[]): IrohaInput {
  if (o.callback !== undefined) {
    const refused = checkCallbackUrl(o.callback, origins);
    if (refused) throw new HttpError(400, 'bad_request', `iroha.callback: ${refused}`);
    // `/query` and `/instruction` are appended to it: a query string or fragment would swallow them
    if (/[?#]/.test(o.callback)) throw new HttpError(400, 'bad_request', 'iroha.callback is a base URL: no query string or fragment');
  }
  return {
    context: decodeBase64(o.context, 'iroha.context'),
    ...(o.queryResponses ? { queryResponses: o.queryResponses.map((r, i) => decodeBase64(r, `iroha.queryResponses[${i}]`)) } : {}),
    ...(o.callback !== undefined ? { callback: o.callback } : {}),
  };
}

export interface ExecuteRouteOptions {
  pool: ExecutionPool;
  resolver: ModuleResolver;
  metrics: Metrics;
  limits: { defaults: Limits; max: Limits };
  /** config iroha.callbackOrigins */
  callbackOrigins: string[];
}

const errors = {
  400: errorResponse('Malformed request: schema, base64, entrypoint, args, or limits above the ceilings', E.badRequest),
  404: errorResponse('No stored module with that hash (contract or library)', E.notFound),
  413: errorResponse('An inline module over the module size limit, or a body over the body size limit', E.moduleTooLarge, E.bodyTooLarge),
  415: errorResponse('The body is not application/json', E.executeMediaType),
  422: errorResponse('A module is invalid, the two do not link, or a module breaks the policy', E.invalidModule, E.linkError, E.policyViolation),
  500: errorResponse('A bug: logged with the request id', E.internal),
  503: errorResponse('Every worker busy and the queue full: retry after `Retry-After` seconds', E.overloaded),
};

export const executeRoute: FastifyPluginAsyncTypebox<ExecuteRouteOptions> = async (app, { pool, resolver, metrics, limits, callbackOrigins }) => {
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
      const body = req.body;
      const lim = resolveLimits(body.limits, limits.defaults, limits.max);
      const input = body.input === undefined ? new Uint8Array(0) : decodeBase64(body.input, 'input');
      const iroha = body.iroha ? irohaInput(body.iroha, callbackOrigins) : undefined;
      // shared linking runs each module's shared variant (stack pointer imported and guarded)
      const variant = body.link?.mode === 'shared' ? 'shared' : 'plain';
      const contract = await resolver.resolve(body.contract, 'contract', variant);
      const library = body.library ? await resolver.resolve(body.library, 'library', variant) : null;
      const prepareMs = performance.now() - started;
      const exec: ExecuteInput = {
        contract,
        library,
        link: body.link,
        entrypoint: body.entrypoint,
        args: body.args,
        input,
        limits: lim,
        ...(iroha ? { iroha } : {}),
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
