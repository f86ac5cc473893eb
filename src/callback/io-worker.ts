/**
 * The I/O worker behind SyncPoster (sync-post.ts): a tiny worker thread that does the HTTP exchange
 * with `fetch` while the calling thread blocks in `Atomics.wait`.
 *
 * Its code is the plain-JavaScript string IO_WORKER_SOURCE, started with `new Worker(src, { eval:
 * true, execArgv: [] })`, rather than a separate module file. That is deliberate: an eval worker
 * needs no path resolution (the same code runs from dist/, from the TS sources under tap's loader or
 * tsx, and from a bundle), loads no TypeScript loader, coverage or preload hooks into the I/O thread
 * (execArgv is empty, so it starts in ~25 ms whatever the parent was started with), and cannot pick
 * up a stale dist/ file when run from src/. The price is that the string is not type-checked, so it
 * is kept small and is exercised by test/callback/sync-post.test.ts.
 *
 * Protocol (all on one MessageChannel plus one Int32Array over a SharedArrayBuffer, see STATE):
 *  - caller → worker: IoRequest ({ type: 'post' | 'ping' | 'cancel', id, ... }).
 *  - on receipt of 'post' / 'ping' the worker stores the id in STATE.ack (no wake-up): a caller that
 *    times out without an ack knows the worker is wedged or gone and replaces it.
 *  - worker → caller: IoReply ({ id, ... }) posted on the port, then STATE.signal is incremented and
 *    notified; the caller wakes and reads the reply with `receiveMessageOnPort`.
 *  - the caller owns the deadline: when it gives up it posts 'cancel' and the fetch is aborted (the
 *    worker's own timer, 1 s later, is only a backstop), so a timed-out call always reads "no answer
 *    within N ms" from the caller and the worker's failure reply for it arrives late and is dropped.
 *  - when the worker thread exits (process.exit, uncaught exception, terminate from inside) its
 *    process 'exit' handler sets STATE.dead / STATE.exitCode and signals, so a blocked caller wakes
 *    at once instead of waiting out its timeout.
 */

/** Indexes into the shared Int32Array. */
export const STATE = {
  /** Incremented (and notified) after every reply and on exit: what the caller waits on. */
  signal: 0,
  /** 1 once the worker thread is exiting. */
  dead: 1,
  /** The id of the last request the worker received. */
  ack: 2,
  /** The worker's exit code, once dead. */
  exitCode: 3,
} as const;
export const STATE_LENGTH = 4;

export type IoRequest =
  | {
      type: 'post';
      id: number;
      url: string;
      body: Uint8Array;
      timeoutMs: number;
      maxResponseBytes: number;
      /** Test hook: the worker throws an uncaught error shortly after sending the request. */
      crash?: boolean;
    }
  | { type: 'ping'; id: number }
  | { type: 'cancel'; id: number };

export type IoReply =
  | { id: number; ok: true; status: number; body: Uint8Array }
  | { id: number; ok: false; reason: string }
  | { id: number; pong: true };

export const IO_WORKER_SOURCE = String.raw`'use strict';
const { workerData } = require('node:worker_threads');
const { port, state } = workerData;
const st = new Int32Array(state);
const BACKSTOP_MS = 1000;
const SIGNAL = ${STATE.signal}, DEAD = ${STATE.dead}, ACK = ${STATE.ack}, EXIT_CODE = ${STATE.exitCode};

function signal() {
  Atomics.add(st, SIGNAL, 1);
  Atomics.notify(st, SIGNAL);
}
process.on('exit', (code) => {
  Atomics.store(st, EXIT_CODE, code | 0);
  Atomics.store(st, DEAD, 1);
  signal();
});

const inflight = new Map();

port.on('message', (m) => {
  if (m.type === 'cancel') {
    const c = inflight.get(m.id);
    if (c) c.abort(new Error('cancelled'));
    return;
  }
  Atomics.store(st, ACK, m.id);
  if (m.type === 'ping') {
    reply({ id: m.id, pong: true });
    return;
  }
  if (m.type === 'post') {
    handle(m).catch((e) => reply({ id: m.id, ok: false, reason: 'internal error: ' + String(e && e.message || e) }));
  }
});

function reply(msg, transfer) {
  port.postMessage(msg, transfer || []);
  signal();
}

class TooLarge extends Error {}
class TimedOut extends Error {}

async function handle(m) {
  const ctl = new AbortController();
  inflight.set(m.id, ctl);
  // The caller owns the deadline (it sends 'cancel' when it gives up); this timer, a little later,
  // only stops a request whose caller can no longer cancel it.
  const timer = setTimeout(() => ctl.abort(new TimedOut()), m.timeoutMs + BACKSTOP_MS);
  if (m.crash) setTimeout(() => { throw new Error('simulated I/O worker crash (test hook)'); }, 30);
  try {
    const res = await fetch(m.url, {
      method: 'POST',
      body: m.body,
      headers: { 'content-type': 'application/octet-stream' },
      signal: ctl.signal,
      redirect: 'error',
    });
    const body = await readCapped(res, m.maxResponseBytes, ctl);
    reply({ id: m.id, ok: true, status: res.status, body }, [body.buffer]);
  } catch (e) {
    reply({ id: m.id, ok: false, reason: describe(e, ctl.signal, m) });
  } finally {
    clearTimeout(timer);
    inflight.delete(m.id);
  }
}

async function readCapped(res, max, ctl) {
  const declared = res.headers.get('content-length');
  if (declared !== null && Number(declared) > max) {
    ctl.abort(new TooLarge());
    throw new TooLarge();
  }
  if (!res.body) return new Uint8Array(0);
  const reader = res.body.getReader();
  const chunks = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      ctl.abort(new TooLarge());
      reader.cancel().catch(() => {});
      throw new TooLarge();
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.byteLength; }
  return out;
}

const CODES = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by the peer',
  EPIPE: 'connection closed by the peer',
  UND_ERR_SOCKET: 'connection closed by the peer',
  UND_ERR_CLOSED: 'connection closed',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'DNS lookup failed (temporary)',
  EAI_FAIL: 'DNS lookup failed',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EADDRNOTAVAIL: 'address not available',
  UND_ERR_HEADERS_OVERFLOW: 'answer headers too large',
  UND_ERR_HEADERS_TIMEOUT: 'no answer headers in time',
  UND_ERR_BODY_TIMEOUT: 'answer body stalled',
  HPE_INVALID_CONSTANT: 'the peer does not speak HTTP',
};
const TLS = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_|EPROTO$|ERR_OSSL_)/;

function describe(e, sig, m) {
  const why = sig.aborted ? sig.reason : undefined;
  if (why instanceof TimedOut || e instanceof TimedOut) return 'no answer within ' + m.timeoutMs + ' ms';
  if (why instanceof TooLarge || e instanceof TooLarge) return 'answer larger than ' + m.maxResponseBytes + ' bytes';
  if (sig.aborted) return 'cancelled';
  // fetch wraps the network error: TypeError('fetch failed', { cause }), the cause sometimes an
  // AggregateError (one error per address tried).
  let code, message;
  for (let c = e, depth = 0; c && depth < 5; depth++) {
    if (typeof c.code === 'string' && !code) code = c.code;
    if (c.message && c.message !== 'fetch failed') message = c.message;
    if (!c.cause && Array.isArray(c.errors) && c.errors.length) c = c.errors[0];
    else c = c.cause;
  }
  if (message === 'unexpected redirect') return 'the peer answered with a redirect (redirects are refused)';
  if (message === 'bad port') return 'port ' + (new URL(m.url).port) + ' is one fetch refuses to use (the Fetch standard\'s "bad ports")';
  if (code && CODES[code]) return CODES[code] + ' (' + code + ')';
  if (code && TLS.test(code)) return 'TLS error: ' + tlsText(message || code) + ' (' + code + ')';
  if (code) return (message || 'request failed') + ' (' + code + ')';
  return message || String(e);
}

// OpenSSL's "C0...:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:file:line:" → "wrong version number"
function tlsText(message) {
  const parts = message.split(':');
  const at = parts.indexOf('SSL routines');
  if (at >= 0 && parts.length > at + 2) return parts[at + 2];
  return message.split('\n')[0];
}
`;
