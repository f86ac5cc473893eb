/** Errors that are not execution outcomes: the request or a module is wrong (HTTP 4xx). */

export type RequestErrorKind =
  | 'bad_request'
  | 'invalid_module'
  | 'link_error'
  | 'policy_violation'
  | 'not_found'
  | 'too_large';

export class RequestError extends Error {
  constructor(
    readonly kind: RequestErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

export const badRequest = (message: string) => new RequestError('bad_request', message);
export const linkError = (message: string) => new RequestError('link_error', message);
export const invalidModule = (message: string) => new RequestError('invalid_module', message);
export const policyViolation = (message: string) => new RequestError('policy_violation', message);

/** Thrown by host functions to end an execution with an outcome (never seen outside the engine). */
export class HostTrap extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HostTrap';
  }
}

export class HostPanic extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HostPanic';
  }
}

export class HostOutOfFuel extends Error {
  constructor() {
    super('all fuel consumed');
    this.name = 'HostOutOfFuel';
  }
}

/**
 * A host call that depends on the outside failed (a peer callback refused, timed out or unreachable):
 * the `host_error` outcome, which, like `timeout`, is not deterministic.
 */
export class HostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HostError';
  }
}
