/**
 * The peer behind an Iroha request's `callback`: `POST {callback}/query` and `{callback}/instruction`
 * with the raw SCALE bytes, answered by the raw SCALE result. A wasm host function cannot await, so
 * the exchange blocks this thread while a small I/O thread does it (callback/sync-post.ts), each call
 * bounded by the per-call timeout and by what is left of the execution's `timeoutMs`.
 *
 * Every answer is recorded, so that a run repeated for exact fuel (after a trap) is answered from
 * the record instead of asking the peer twice.
 */
import { SyncPoster } from '../../../callback/sync-post.js';
import { HostError } from '../../errors.js';
import type { PeerLink } from './abi.js';

export interface PeerConfig {
  /** Per-call timeout. */
  callbackTimeoutMs: number;
  /** Larger answers fail the call. */
  maxCallbackResponseBytes: number;
}

let poster: SyncPoster | undefined;

/**
 * The answers of one execution are kept for a replay: together at most this many times the largest
 * single answer (64 MiB with the defaults), so a peer cannot grow a worker's memory without bound.
 */
export const ANSWERS_PER_EXECUTION = 16;

export class HttpPeer implements PeerLink {
  /** Answers in the order they came, for a replay. */
  readonly answers: Uint8Array[] = [];
  private received = 0;

  constructor(
    private readonly base: string,
    private readonly config: PeerConfig,
    /** performance.now() after which no call may start or wait. */
    private readonly deadline: number,
  ) {}

  call(kind: 'query' | 'instruction', body: Uint8Array): Uint8Array {
    const url = `${this.base.replace(/\/+$/, '')}/${kind}`;
    const what = `iroha.execute_${kind}: the peer callback POST ${url}`;
    const left = Math.floor(this.deadline - performance.now());
    if (left <= 0) throw new HostError(`${what} was not made: the execution's time is up`);
    poster ??= new SyncPoster();
    const timeoutMs = Math.min(this.config.callbackTimeoutMs, left);
    const total = ANSWERS_PER_EXECUTION * this.config.maxCallbackResponseBytes;
    const room = total - this.received;
    if (room <= 0) throw new HostError(`${what} was not made: the peer's answers to this execution already total ${this.received} bytes, the limit (${ANSWERS_PER_EXECUTION} × iroha.maxCallbackResponseBytes)`);
    const r = poster.post(url, body, { timeoutMs, maxResponseBytes: Math.min(this.config.maxCallbackResponseBytes, room) });
    if (!r.ok) {
      const over = room < this.config.maxCallbackResponseBytes ? ` (this execution's answers may total ${total} bytes: ${ANSWERS_PER_EXECUTION} × iroha.maxCallbackResponseBytes)` : '';
      throw new HostError(`${what} failed: ${r.reason}${over}`);
    }
    if (r.status !== 200) throw new HostError(`${what} answered HTTP ${r.status} (a peer answers 200 with the SCALE result bytes)`);
    this.received += r.body.length;
    this.answers.push(r.body);
    return r.body;
  }
}

/** Answers a repeated run with what the peer said the first time, in order. */
export class ReplayPeer implements PeerLink {
  private next = 0;

  constructor(private readonly answers: readonly Uint8Array[]) {}

  call(kind: 'query' | 'instruction'): Uint8Array {
    const a = this.answers[this.next++];
    // the repeated run is the same deterministic run: it cannot ask for more than the first one did
    if (a === undefined) throw new HostError(`iroha.execute_${kind}: the repeated run asked the peer more than the first run`);
    return a;
  }
}
