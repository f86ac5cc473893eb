/**
 * POST /execute/batch (docs/API.md): up to `maxBatch` calls, each answered exactly as POST /execute
 * would answer it — its 200 body, or `{ status, error }` for what would be a 4xx — in order. The calls
 * that can run go to one worker in one hand-over and run back to back, sharing nothing.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { RequestError } from '../../engine/errors.js';
import { type ExecuteInput, type ExecutionResult, timeoutResult } from '../../engine/execute.js';
import { QueueFullError, TimeoutError, type ExecutionPool } from '../../pool/pool.js';
import type { TaskResult } from '../../pool/task.js';
import { type CallContext, prepareCall, recordCall } from '../call.js';
import { SharedStoreError } from '../../store/shared-store.js';
import { HttpError, errorKindOf, fromRequestError, overloadedError, storeUnavailable } from '../errors.js';
import { ERROR_EXAMPLES as E, ExecuteBatchResponse, errorResponse, executeBatchRequest } from '../schemas.js';

export interface BatchRouteOptions extends CallContext {
  pool: ExecutionPool;
  maxBatch: number;
}

type Entry = ExecutionResult | { status: number; error: { kind: string; message: string } };

const asEntry = (e: unknown): Entry => {
  const h = e instanceof RequestError ? fromRequestError(e) : e instanceof HttpError ? e : e instanceof SharedStoreError ? storeUnavailable(e, 'retry later') : null;
  if (!h) throw e;
  return { status: h.status, error: { kind: h.kind, message: h.message } };
};

export const batchRoute: FastifyPluginAsyncTypebox<BatchRouteOptions> = async (app, opts) => {
  const { pool, maxBatch, metrics } = opts;
  app.addHook('onResponse', async (req, reply) => {
    if (reply.statusCode >= 400) metrics.rejected.inc({ kind: errorKindOf(req) ?? 'internal' });
  });
  const overloaded = () => overloadedError(pool);

  /** The answer of one call from what its worker said (or its own timeout). */
  const answer = (exec: ExecuteInput, r: TaskResult | 'timeout', prepareMs: number, executeMs: number): Entry => {
    if (r === 'timeout') return timeoutResult(exec, { prepareMs, executeMs });
    if ('requestError' in r) return asEntry(new RequestError(r.requestError.kind, r.requestError.message));
    if (!('result' in r)) throw new Error('worker answered a ping to an execution');
    return r.result;
  };

  app.post(
    '/execute/batch',
    {
      onRequest: async () => {
        if (pool.full) throw overloaded();
      },
      config: { accepts: ['application/json'] },
      schema: {
        summary: 'Run up to maxBatch POST /execute calls in order in one worker hand-over',
        description: 'Each result is what POST /execute answers for that call: its 200 body, or { status, error }. docs/API.md.',
        body: executeBatchRequest(maxBatch),
        response: {
          200: ExecuteBatchResponse,
          400: errorResponse('Malformed batch: not 1 to maxBatch calls, or a call that does not match the POST /execute schema', E.badRequest),
          401: errorResponse('No or a wrong bearer token (when auth.token is set)', E.unauthorized),
          413: errorResponse('The body is over the body size limit', E.bodyTooLarge),
          415: errorResponse('The body is not application/json', E.executeMediaType),
          500: errorResponse('A bug: logged with the request id', E.internal),
          503: errorResponse('Every worker busy and the queue full, or the worker running it stopped: retry after `Retry-After` seconds', E.overloaded, E.workerLost),
        },
      },
    },
    async (req, reply) => {
      const started = performance.now();
      const results: Array<Entry | undefined> = [];
      const runnable: Array<{ i: number; exec: ExecuteInput; prepareMs: number }> = [];
      for (const [i, body] of req.body.calls.entries()) {
        try {
          const { exec, prepareMs } = await prepareCall(body, opts);
          runnable.push({ i, exec, prepareMs });
          results.push(undefined);
        } catch (e) {
          results.push(asEntry(e));
        }
      }
      if (runnable.length) {
        const sent = performance.now();
        let answers: Array<TaskResult | 'timeout'>;
        try {
          answers = await pool.executeBatch(
            runnable.map((r) => r.exec),
            runnable.map((r) => r.prepareMs),
          );
        } catch (e) {
          if (e instanceof QueueFullError) throw overloaded();
          if (!(e instanceof TimeoutError)) throw e;
          // one call ran past its time: run them one by one, each under its own limit (same answers)
          answers = [];
          for (const r of runnable) {
            try {
              answers.push(await pool.execute(r.exec, r.prepareMs));
            } catch (x) {
              if (!(x instanceof TimeoutError)) throw x instanceof QueueFullError ? overloaded() : x;
              answers.push('timeout');
            }
          }
        }
        const executeMs = (performance.now() - sent) / runnable.length;
        runnable.forEach((r, k) => {
          const entry = answer(r.exec, answers[k]!, r.prepareMs, executeMs);
          if ('ok' in entry) recordCall(opts, req.log, entry, started);
          results[r.i] = entry;
        });
      }
      return reply.status(200).send({ results: results as Entry[] });
    },
  );
};
