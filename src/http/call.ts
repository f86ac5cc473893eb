/**
 * One call of POST /execute or of a batch: the request body turned into a checked engine input (limits,
 * base64, modules resolved and prepared, link and call checked), and the bookkeeping of its answer.
 */
import type { FastifyBaseLogger } from 'fastify';
import { checkCallbackUrl } from '../callback/origins.js';
import { check, type ExecuteInput, type ExecutionResult, type Limits } from '../engine/execute.js';
import type { IrohaInput } from '../engine/profiles/iroha/abi.js';
import { HttpError } from './errors.js';
import { resolveLimits } from './limits.js';
import type { Metrics } from './metrics.js';
import { type ModuleResolver, decodeBase64 } from './module-resolver.js';
import type { ExecuteRequest } from './schemas.js';

export interface CallContext {
  /** A ModuleResolver, or one batch's BatchLookups over it. */
  resolver: Pick<ModuleResolver, 'resolve'>;
  metrics: Metrics;
  limits: { defaults: Limits; max: Limits };
  /** config iroha.callbackOrigins */
  callbackOrigins: string[];
}

/** The request's `iroha` object, decoded; the callback checked against the allowed origins. */
function irohaInput(o: NonNullable<ExecuteRequest['iroha']>, origins: string[]): IrohaInput {
  if (o.callback !== undefined) {
    const refused = checkCallbackUrl(o.callback, origins);
    if (refused) throw new HttpError(400, 'bad_request', `body.iroha.callback: ${refused}`);
    // `/query` and `/instruction` are appended to it: a query string or fragment would swallow them
    if (/[?#]/.test(o.callback)) throw new HttpError(400, 'bad_request', 'body.iroha.callback is a base URL: no query string or fragment');
  }
  return {
    context: decodeBase64(o.context, 'body.iroha.context'),
    ...(o.queryResponses ? { queryResponses: o.queryResponses.map((r, i) => decodeBase64(r, `body.iroha.queryResponses[${i}]`)) } : {}),
    ...(o.callback !== undefined ? { callback: o.callback } : {}),
  };
}

/**
 * Everything up to the worker: throws HttpError / RequestError for what `POST /execute` answers 4xx
 * (a batch's call gets the same words: its entry's place in the answer says which call it is).
 */
export async function prepareCall(body: ExecuteRequest, c: CallContext): Promise<{ exec: ExecuteInput; prepareMs: number }> {
  const started = performance.now();
  const lim = resolveLimits(body.limits, c.limits.defaults, c.limits.max);
  const input = body.input === undefined ? new Uint8Array(0) : decodeBase64(body.input, 'body.input');
  const iroha = body.iroha ? irohaInput(body.iroha, c.callbackOrigins) : undefined;
  // shared linking runs each module's shared variant (stack pointer imported and guarded)
  const variant = body.link?.mode === 'shared' ? 'shared' : 'plain';
  const contract = await c.resolver.resolve(body.contract, 'contract', variant);
  const library = body.library ? await c.resolver.resolve(body.library, 'library', variant) : null;
  const exec: ExecuteInput = {
    contract,
    library,
    link: body.link,
    entrypoint: body.entrypoint,
    args: body.args,
    input,
    limits: lim,
    ...(iroha ? { iroha } : {}),
    ...(body.profile ? { fuelProfile: { format: body.profile === true ? 'json' : (body.profile.format ?? 'json') } } : {}),
  };
  exec.checked = check(exec); // request and link errors answer before a worker is taken
  return { exec, prepareMs: performance.now() - started };
}

/** Metrics and the one `execution` log line of an answered call (never bytes or inputs). */
export function recordCall(c: CallContext, log: FastifyBaseLogger, result: ExecutionResult, startedMs: number): void {
  const outcome = result.error?.kind ?? 'ok';
  const ms = performance.now() - startedMs;
  c.metrics.executions.inc({ outcome });
  // a timeout reports the whole limit as consumed, which is not what it used: not a fuel sample
  if (outcome !== 'timeout') c.metrics.fuel.observe(result.fuel.consumed);
  c.metrics.duration.observe(ms / 1000);
  log.info(
    {
      contract: result.modules.contract.hash,
      library: result.modules.library?.hash,
      mode: result.iroha ? 'iroha' : result.link.mode,
      outcome,
      fuel: result.fuel.consumed,
      ms: Math.round(ms * 1000) / 1000,
    },
    'execution',
  );
}
