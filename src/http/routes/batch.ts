/**
 * POST /execute/batch (docs/API.md): up to `maxBatch` calls, each answered exactly as POST /execute
 * would answer it — its 200 body, or `{ status, error }` for what would be a 4xx — in order. The modules
 * are looked up all at once; the calls that can run go to one worker in one hand-over and run back to
 * back, sharing nothing, each at most once, within the answer's byte budget (src/pool/batch.ts).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { answerBytes } from '../../engine/answer-bound.js';
import { RequestError } from '../../engine/errors.js';
import { type ExecuteInput, type ExecutionResult, timeoutResult } from '../../engine/execute.js';
import type { BatchOutcome } from '../../pool/batch.js';
import { QueueFullError, type ExecutionPool } from '../../pool/pool.js';
import { BatchLookups } from '../batch-lookups.js';
import { type CallContext, prepareCall, recordCall } from '../call.js';
import { errorKindOf, overloadedError, requestHttpError } from '../errors.js';
import { ERROR_EXAMPLES as E, ExecuteBatchResponse, errorResponse, executeBatchRequest } from '../schemas.js';

export interface BatchRouteOptions extends CallContext {
  pool: ExecutionPool;
  maxBatch: number;
  /** config maxBatchResponseBytes: the byte budget of one batch's answer. */
  maxResponseBytes: number;
  /** config store.sharedTimeoutMs with a shared store (the bound of a batch's module lookups), else null. */
  lookupBoundMs: number | null;
}

type Entry = ExecutionResult | { status: number; error: { kind: string; message: string } };

const asEntry = (e: unknown): Entry => {
  const h = requestHttpError(e);
  if (!h) throw e;
  return { status: h.status, error: { kind: h.kind, message: h.message } };
};

const callError = (status: number, kind: string, message: string): Entry => ({ status, error: { kind, message } });

/** The answer of one call from what became of it in the pool. */
function answer(exec: ExecuteInput, r: BatchOutcome, prepareMs: number): Entry {
  if ('timeout' in r) return timeoutResult(exec, { prepareMs, ...r.timeout });
  if ('lost' in r) return callError(503, 'worker_lost', `${r.lost}: this call did not finish (the calls before it did, and those after it ran): retry this call alone`);
  if ('refused' in r) {
    const { usedBytes, budgetBytes, perCallBytes } = r.refused;
    return callError(
      413,
      'too_large',
      `not run: this batch's answer is ${usedBytes} bytes so far and one more call may add up to ${perCallBytes} (engine.output), over its budget of ${budgetBytes} bytes (maxBatchResponseBytes): send this call and those after it in another batch (none of them ran)`,
    );
  }
  if ('cut' in r) {
    const { bytes, outcome, fuel, usedBytes, budgetBytes } = r.cut;
    return callError(
      413,
      'too_large',
      `ran (outcome ${outcome}${fuel === null ? '' : `, ${fuel} fuel`}), but its answer of ${bytes} bytes does not fit in what is left of this batch's budget (${usedBytes} of ${budgetBytes} bytes, maxBatchResponseBytes): its answer is lost; do not send it again unless running it twice is harmless`,
    );
  }
  if (r.requestError) return asEntry(new RequestError(r.requestError.kind, r.requestError.message));
  return r.result;
}

export const batchRoute: FastifyPluginAsyncTypebox<BatchRouteOptions> = async (app, opts) => {
  const { pool, maxBatch, metrics } = opts;
  app.addHook('onResponse', async (req, reply) => {
    if (reply.statusCode >= 400) metrics.rejected.inc({ kind: errorKindOf(req) ?? 'internal' });
  });
  const overloaded = () => overloadedError(pool);

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
          503: errorResponse('Every worker busy and the queue full: retry after `Retry-After` seconds', E.overloaded),
        },
      },
    },
    async (req, reply) => {
      const started = performance.now();
      // every call's modules at once: a stalled shared store costs the batch one wait, not one per call
      const lookups = new BatchLookups(opts.resolver, opts.lookupBoundMs);
      const prepared = await Promise.all(
        req.body.calls.map((body) =>
          prepareCall(body, { ...opts, resolver: lookups }).then(
            (ok) => ({ ok, entry: undefined }),
            (e: unknown) => ({ ok: undefined, entry: asEntry(e) }),
          ),
        ),
      ).finally(() => lookups.close());
      const results: Array<Entry | undefined> = prepared.map((p) => p.entry);
      const runnable = prepared.flatMap((p, i) => (p.ok ? [{ i, ...p.ok }] : []));
      if (runnable.length) {
        let outcomes: BatchOutcome[];
        try {
          const used = answerBytes({ results: results.filter((x) => x !== undefined) });
          outcomes = await pool.executeBatch(
            runnable.map((r) => r.exec),
            runnable.map((r) => r.prepareMs),
            { bytes: opts.maxResponseBytes, used },
          );
        } catch (e) {
          throw e instanceof QueueFullError ? overloaded() : e;
        }
        runnable.forEach((r, k) => {
          const entry = answer(r.exec, outcomes[k]!, r.prepareMs);
          if ('ok' in entry) recordCall(opts, req.log, entry, started);
          results[r.i] = entry;
        });
      }
      return reply.status(200).send({ results: results as Entry[] });
    },
  );
};
