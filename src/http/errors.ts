/** Request errors → HTTP status and the `{ error: { kind, message } }` body (DESIGN §3). */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { RequestError } from '../engine/errors.js';

export type ErrorKind =
  | 'bad_request'
  | 'not_found'
  | 'too_large'
  | 'invalid_module'
  | 'link_error'
  | 'policy_violation'
  | 'overloaded'
  | 'unsupported_media_type'
  | 'internal';

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

const errorKinds = new WeakMap<FastifyRequest, ErrorKind>();

/** The error kind a request was answered with, if any (for metrics). */
export const errorKindOf = (req: FastifyRequest): ErrorKind | undefined => errorKinds.get(req);

/** The one error handler: every error leaves as the documented body, never as a stack trace. */
export function handleError(err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply): void {
  let e: HttpError;
  if (err instanceof HttpError) e = err;
  else if (err instanceof RequestError) e = fromRequestError(err);
  else {
    const fe = err as FastifyError;
    if (fe.validation) e = new HttpError(400, 'bad_request', fe.message);
    else if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      const limit = req.routeOptions?.bodyLimit;
      e = new HttpError(413, 'too_large', `request body is larger than ${limit ? `the limit of ${limit} bytes` : 'the limit'}`);
    }
    else if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') e = new HttpError(415, 'unsupported_media_type', fe.message);
    else if (fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || fe.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH' || (fe.statusCode === 400)) {
      e = new HttpError(400, 'bad_request', fe.message);
    } else if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) e = new HttpError(fe.statusCode, 'bad_request', fe.message);
    else {
      req.log.error({ err }, 'internal error');
      e = new HttpError(500, 'internal', 'internal error (logged with this request id)');
    }
  }
  errorKinds.set(req, e.kind);
  if (e.retryAfterSeconds !== undefined) reply.header('retry-after', String(e.retryAfterSeconds));
  reply.status(e.status).send(errorBody(e.kind, e.message));
}
