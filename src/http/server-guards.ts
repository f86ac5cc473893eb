/**
 * The HTTP server's own defences (config `http`, docs/OPERATIONS.md "Connections"): timeouts for the
 * headers, the whole request and idle keep-alive connections; a cap on open connections; accept
 * errors (EMFILE, ENFILE: out of file descriptors) that are logged and counted, never fatal; and the
 * errors Node's HTTP parser finds before Fastify sees a request (malformed HTTP, headers too large, a
 * request not received in time), answered in the `{ error: { kind, message } }` shape like the rest.
 */
import { readFileSync } from 'node:fs';
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import { errorBody, type ErrorKind } from './errors.js';

type HttpConfig = Config['http'];

/** Counts since start, read by the metrics. */
export class ConnectionStats {
  open = 0;
  /** Connections closed at once because `http.maxConnections` were open. */
  dropped = 0;
  /** Connections the kernel could not hand over (EMFILE, ENFILE, …), by error code. */
  acceptErrors: Record<string, number> = {};
  /** Requests answered before Fastify saw them, by error kind (bad_request, request_timeout, headers_too_large). */
  clientErrors: Record<string, number> = {};
}

/** Fastify's constructor options for the HTTP server (timeouts, the parser's errors). */
export function serverOptions(c: HttpConfig, stats: ConnectionStats, maxExecutionMs: number) {
  // Node refuses a headers timeout above the request timeout
  const headersTimeout = Math.min(c.headersTimeoutMs, c.requestTimeoutMs);
  return {
    requestTimeout: c.requestTimeoutMs,
    keepAliveTimeout: c.keepAliveTimeoutMs,
    // backstop for a socket silent both ways past every other limit (a client that never reads its
    // answer); above the longest execution, during which the socket is silent too
    connectionTimeout: Math.max(c.requestTimeoutMs, c.keepAliveTimeoutMs, maxExecutionMs) + 10_000,
    http: {
      headersTimeout,
      requestTimeout: c.requestTimeoutMs,
      // Node checks the two timeouts this often (30 s by default, which would let them run 30 s late)
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(headersTimeout / 4))),
      // checked by the app, which answers in the error shape (Node's own 400 has no body)
      requireHostHeader: false,
    },
    clientErrorHandler(this: FastifyInstance, err: NodeJS.ErrnoException & { reason?: string }, socket: Duplex) {
      answerClientError(err, socket, c, stats, this.log);
    },
  };
}

/** A complete HTTP/1.1 error response, then the connection closed (for sockets Fastify has no reply for). */
export function writeRawError(socket: Duplex, status: number, kind: ErrorKind, message: string, headers: Record<string, string> = {}): void {
  // never into the middle of a response already being written on this connection
  const inFlight = (socket as { _httpMessage?: ServerResponse })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    const body = JSON.stringify(errorBody(kind, message));
    const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}connection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

function answerClientError(err: NodeJS.ErrnoException & { reason?: string }, socket: Duplex, c: HttpConfig, stats: ConnectionStats, log: FastifyBaseLogger): void {
  // a reset connection has nobody to answer
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  let status = 400;
  let kind: ErrorKind = 'bad_request';
  let message: string;
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    status = 408;
    kind = 'request_timeout';
    message = `the request was not received in time (headers within ${Math.min(c.headersTimeoutMs, c.requestTimeoutMs)} ms, the whole request within ${c.requestTimeoutMs} ms): send it at once, on a new connection`;
  } else if (err.code === 'HPE_HEADER_OVERFLOW') {
    status = 431;
    kind = 'headers_too_large';
    message = 'the request line and headers are over 16 KiB: send a shorter URL and fewer or smaller headers';
  } else {
    // the parser's reason ("Invalid header value char"), never the raw bytes
    const why = err.reason ?? err.message;
    message = `malformed HTTP request (${err.code ?? 'parse error'}: ${why}): send a valid HTTP/1.1 request`;
  }
  stats.clientErrors[kind] = (stats.clientErrors[kind] ?? 0) + 1;
  log.debug({ code: err.code, status }, 'client error answered before routing');
  writeRawError(socket, status, kind, message);
}

/** At most one log line per interval for an event that may come thousands of times a second. */
function throttled(log: FastifyBaseLogger, everyMs: number) {
  let last = 0;
  let suppressed = 0;
  return (obj: object, msg: string) => {
    const now = Date.now();
    if (now - last < everyMs) {
      suppressed++;
      return;
    }
    log.warn({ ...obj, suppressed }, msg);
    last = now;
    suppressed = 0;
  };
}

/** Soft limit of open files of this process (Linux), or null when unknown. */
function openFileLimit(): number | null {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Installs the connection cap and the listeners that keep the server serving through hostile clients. */
export function guardServer(app: FastifyInstance, c: HttpConfig, stats: ConnectionStats): void {
  const server = app.server;
  server.maxConnections = c.maxConnections;
  const warnDropped = throttled(app.log, 1000);
  const warnAccept = throttled(app.log, 1000);
  const headersTimeout = Math.min(c.headersTimeoutMs, c.requestTimeoutMs);
  server.on('connection', (socket: Socket) => {
    stats.open++;
    socket.once('close', () => stats.open--);
    // A connection that sends nothing is no request in progress for Node's timeouts (it is timed as
    // an idle keep-alive one): it would hold a place under the cap for over a minute. It gets the
    // headers timeout; from its first byte on, Node times the request itself.
    const silent = setTimeout(() => {
      stats.clientErrors.request_timeout = (stats.clientErrors.request_timeout ?? 0) + 1;
      writeRawError(socket, 408, 'request_timeout', `the request was not received in time (nothing within ${headersTimeout} ms of connecting): send it at once, on a new connection`);
    }, headersTimeout);
    silent.unref();
    const clear = () => clearTimeout(silent);
    socket.once('data', clear);
    socket.once('close', clear);
  });
  server.on('drop', () => {
    stats.dropped++;
    warnDropped({ maxConnections: c.maxConnections, dropped: stats.dropped }, 'connection closed at once: http.maxConnections connections are open');
  });
  // An `Expect` other than 100-continue would get Node's bare 417: the request is served as if it had none.
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => server.emit('request', req, res));
  // CONNECT would get the socket closed without a word.
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    writeRawError(socket, 405, 'method_not_allowed', 'CONNECT is not supported: this service is not a proxy', { allow: 'GET, HEAD, POST, PUT' });
  });
  server.once('listening', () => {
    // After listen (Fastify's own listener reports listen errors). An accept error (EMFILE: no file
    // descriptor left) is emitted on the server: without a listener it would end the process. libuv
    // drops the waiting connection and goes on accepting once descriptors are free.
    server.on('error', (err: NodeJS.ErrnoException) => {
      if (err.syscall !== 'accept') {
        app.log.error({ err }, 'http server error');
        return;
      }
      const code = err.code ?? 'unknown';
      stats.acceptErrors[code] = (stats.acceptErrors[code] ?? 0) + 1;
      warnAccept({ code, acceptErrors: stats.acceptErrors[code], open: stats.open }, `a connection could not be accepted (${code}): it was closed; serving goes on (raise the file limit, ulimit -n, or lower http.maxConnections)`);
    });
    const limit = openFileLimit();
    // a few hundred descriptors go to the workers, the store, the log and the shared store
    if (limit !== null && c.maxConnections + 256 > limit) {
      app.log.warn({ maxConnections: c.maxConnections, openFileLimit: limit }, 'http.maxConnections is near the open-file limit: connections past it fail with EMFILE (dropped, logged, counted) before the cap refuses them; raise ulimit -n or lower http.maxConnections');
    }
  });
}
