/** Request errors → HTTP status and the `{ error: { kind, message } }` body (docs/API.md, Errors). */
import type { Static } from '@sinclair/typebox';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { RequestError } from '../engine/errors.js';
import { WorkerLostError } from '../pool/pool.js';
import { StoreBusyError } from '../store/module-store.js';
import { SharedStoreError } from '../store/shared-store.js';
import type { ErrorKind as ErrorKindSchema } from './schemas.js';

/** The error kinds (docs/API.md, Errors): one list, the schema's, which openapi.yaml and the metrics docs are checked against. */
export type ErrorKind = Static<typeof ErrorKindSchema>;

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly kind: ErrorKind,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Content types the route's body may have (named by a 415). */
    accepts?: string[];
    /** The route's body is one module: over this size, a 413 names the module size limit. */
    moduleLimit?: number;
  }
}

/** 503 when every worker is busy and the queue is full; clients retry after a second. */
export function overloadedError(pool: { size: number; queueSize: number }): HttpError {
  return new HttpError(503, 'overloaded', `all ${pool.size} workers are busy and ${pool.queueSize} executions are waiting: retry later`, 1);
}

/** Seconds a client waits before retrying after the shared store failed (its reconnection backs off to 2 s). */
const STORE_RETRY_AFTER = 2;

/** 503 when the shared module store failed or was slow; `consequence` says what it means for this request. */
export function storeUnavailable(e: SharedStoreError, consequence: string): HttpError {
  return new HttpError(503, 'store_unavailable', `${e.message}, ${consequence}`, STORE_RETRY_AFTER);
}

/** `p`, with a failure of the shared store answered as `storeUnavailable(…, consequence)`. */
export function storeOr503<T>(p: Promise<T>, consequence: string): Promise<T> {
  return p.catch((e: unknown) => {
    throw e instanceof SharedStoreError ? storeUnavailable(e, consequence) : e;
  });
}

/** 413 for a module over policy.maxModuleBytes (`bytes` when known). */
export function moduleTooLarge(what: string, limit: number, bytes?: number): HttpError {
  return new HttpError(
    413,
    'too_large',
    bytes === undefined
      ? `${what} is larger than the module size limit of ${limit} bytes`
      : `${what} is ${bytes} bytes, more than the module size limit of ${limit}`,
  );
}

/** 413 for a request body over bodyLimitBytes (`bytes` when its Content-Length said). */
export function bodyTooLarge(limit: number | undefined, bytes?: number): HttpError {
  const of = limit === undefined ? 'the body size limit' : `the body size limit of ${limit}`;
  return new HttpError(
    413,
    'too_large',
    bytes === undefined ? `the request body is larger than ${of}${limit === undefined ? '' : ' bytes'}` : `the request body is ${bytes} bytes, more than ${of}`,
  );
}

/** 415 naming the content types the route accepts. */
export function unsupportedMediaType(req: FastifyRequest): HttpError {
  const accepts = req.routeOptions?.config?.accepts;
  const got = req.headers['content-type'];
  const route = `${req.method} ${req.routeOptions?.url ?? req.url}`;
  const sent = got ? `not ${got}` : 'and this request has no Content-Type';
  return new HttpError(
    415,
    'unsupported_media_type',
    accepts?.length ? `${route} accepts a body of Content-Type ${accepts.join(' or ')}, ${sent}` : `unsupported media type: ${got ?? 'no Content-Type'}`,
  );
}

const declaredLength = (req: FastifyRequest): number | undefined => {
  const v = req.headers['content-length'];
  return v !== undefined && /^\d+$/.test(v) && Number.isSafeInteger(Number(v)) ? Number(v) : undefined;
};

const STATUS: Record<RequestError['kind'], number> = {
  bad_request: 400,
  not_found: 404,
  too_large: 413,
  invalid_module: 422,
  link_error: 422,
  policy_violation: 422,
};

export function fromRequestError(e: RequestError): HttpError {
  return new HttpError(STATUS[e.kind], e.kind, e.message);
}

export const errorBody = (kind: ErrorKind, message: string) => ({ error: { kind, message } });

const pathOf = (req: FastifyRequest) => req.url.split('?', 1)[0]!;

/** Fastify's (and its plugins') own request errors, each as a documented status with a message saying what to do. */
const FRAMEWORK: Record<string, (req: FastifyRequest, e: FastifyError) => HttpError> = {
  FST_ERR_CTP_EMPTY_JSON_BODY: () => new HttpError(400, 'bad_request', 'the body is empty: send a JSON object with Content-Type application/json'),
  FST_ERR_CTP_INVALID_JSON_BODY: () => new HttpError(400, 'bad_request', 'the body is not valid JSON: send one JSON object with Content-Type application/json'),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: (req) =>
    new HttpError(400, 'bad_request', `the body did not have the ${req.headers['content-length']} bytes its Content-Length said: send the exact length (or no Content-Length, chunked)`),
  FST_ERR_BAD_URL: (req) => new HttpError(400, 'bad_request', `the URL ${JSON.stringify(pathOf(req).slice(0, 200))} has an invalid percent-encoding: encode each path segment (encodeURIComponent)`),
  FST_ERR_MAX_PARAM_LENGTH: (req) =>
    new HttpError(400, 'bad_request', `a path parameter of ${req.method} ${pathOf(req).slice(0, 100)}… is over 100 characters: a module hash is 64 lowercase hex digits (sha256)`),
  // a path with `.` or `..` segments under /docs/static/ names no file
  FST_STATIC_FORBIDDEN_PATH: (req) => new HttpError(404, 'not_found', `no route ${req.method} ${pathOf(req).slice(0, 200)}: paths with . or .. segments name nothing`),
};

const errorKinds = new WeakMap<FastifyRequest, ErrorKind>();

/** The error kind a request was answered with, if any (for metrics). */
export const errorKindOf = (req: FastifyRequest): ErrorKind | undefined => errorKinds.get(req);

/**
 * The answer to an error of a request's own (its module, its link, its store lookups), or null: the
 * error handler's, and a batch's for each call (routes/batch.ts).
 */
export function requestHttpError(err: unknown): HttpError | null {
  if (err instanceof HttpError) return err;
  if (err instanceof RequestError) return fromRequestError(err);
  if (err instanceof SharedStoreError) return storeUnavailable(err, 'retry later');
  if (err instanceof StoreBusyError) return new HttpError(503, 'overloaded', `${err.message}: retry later`, 1);
  return null;
}

/** The one error handler: every error leaves as the documented body, never as a stack trace. */
export function handleError(err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply): void {
  let e: HttpError;
  const own = requestHttpError(err);
  if (own) e = own;
  else if (err instanceof WorkerLostError) {
    // not an outcome of the execution (it did not finish) and not retried here: it may have called the peer
    req.log.warn({ err: err.message }, 'worker lost under an execution');
    e = new HttpError(503, 'worker_lost', `${err.message}: retry the request`, 1);
  } else {
    const fe = err as FastifyError;
    if (fe.validation) e = new HttpError(400, 'bad_request', fe.message);
    else if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      const limit = req.routeOptions?.bodyLimit;
      const moduleLimit = req.routeOptions?.config?.moduleLimit;
      // the body of PUT /modules is read up to the module size limit when that is the smaller one
      e =
        moduleLimit !== undefined && limit !== undefined && moduleLimit <= limit
          ? moduleTooLarge('the module', moduleLimit, declaredLength(req))
          : bodyTooLarge(limit, declaredLength(req));
    }
    else if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') e = unsupportedMediaType(req);
    else if (fe.code !== undefined && fe.code in FRAMEWORK) e = FRAMEWORK[fe.code]!(req, fe);
    else if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
      // a 4xx of a plugin (e.g. a static file's precondition): a 400 in the documented shape
      e = new HttpError(fe.statusCode === 404 ? 404 : 400, fe.statusCode === 404 ? 'not_found' : 'bad_request', fe.message);
    } else {
      req.log.error({ err }, 'internal error');
      e = new HttpError(500, 'internal', 'internal error (logged with this request id)');
    }
  }
  errorKinds.set(req, e.kind);
  if (e.retryAfterSeconds !== undefined) reply.header('retry-after', String(e.retryAfterSeconds));
  reply.status(e.status).send(errorBody(e.kind, e.message));
}
