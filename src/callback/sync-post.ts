/**
 * SyncPoster: a blocking HTTP POST for code that cannot await, such as a wasm host function that
 * must hand the peer's answer back to the contract before returning.
 *
 * The exchange runs on a small dedicated I/O worker thread (io-worker.ts), started on first use,
 * one per SyncPoster (use `threadPoster()` for the one of the current thread), and `unref()`ed so
 * it never keeps a process alive. The calling thread posts the request on a MessagePort and sleeps
 * in `Atomics.wait` on a shared Int32Array until the worker signals a reply, the worker exits, or
 * the timeout passes; the reply is then read synchronously with `receiveMessageOnPort`. Works on
 * the main thread and in any worker thread (Piscina's included); while a call is in progress the
 * calling thread's event loop does not run, which is the point.
 *
 * A late answer (after the caller gave up) carries its request id and is dropped by the next call.
 * Worker events ('exit', 'error') cannot be delivered while the caller is blocked, so the worker
 * reports its own exit through the shared state; a worker that neither answers nor acknowledges a
 * request within the timeout (wedged, or killed without running its exit handler) is replaced.
 *
 * Origins are not checked here: use checkCallbackUrl (origins.ts) before calling `post`.
 */
import { MessageChannel, type MessagePort, Worker, receiveMessageOnPort } from 'node:worker_threads';
import { IO_WORKER_SOURCE, type IoReply, type IoRequest, STATE, STATE_LENGTH } from './io-worker.js';

export type PostResult = { ok: true; status: number; body: Uint8Array } | { ok: false; reason: string };

export interface PostOptions {
  /** Whole exchange, worker start-up included on the first call (see `warmUp`). */
  timeoutMs: number;
  /** A longer answer fails with "answer larger than N bytes" (the read is aborted). */
  maxResponseBytes: number;
}

interface Io {
  worker: Worker;
  port: MessagePort;
  state: Int32Array;
  dead: boolean;
}

export class SyncPoster {
  private io: Io | null = null;
  private seq = 0;
  private crashNext = false;
  private discarded = 0;
  private started = 0;

  /** POSTs `body` to `url` and blocks the calling thread until the answer, a failure or the timeout. */
  post(url: string, body: Uint8Array, opts: PostOptions): PostResult {
    checkOptions(opts);
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return { ok: false, reason: `invalid URL: ${JSON.stringify(url)}` };
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      return { ok: false, reason: `only http: and https: URLs can be called, not ${parsed.protocol}` };
    }
    const deadline = performance.now() + opts.timeoutMs;
    let io: Io;
    try {
      io = this.ensure();
    } catch (e) {
      return { ok: false, reason: `could not start the callback I/O thread: ${(e as Error).message}` };
    }
    const id = ++this.seq;
    // A copy of just these bytes: posting a view would clone its whole buffer (a wasm memory).
    const copy = body.slice();
    const req: IoRequest = { type: 'post', id, url, body: copy, timeoutMs: opts.timeoutMs, maxResponseBytes: opts.maxResponseBytes };
    if (this.crashNext) {
      this.crashNext = false;
      req.crash = true;
    }
    io.port.postMessage(req, [copy.buffer]);
    const reply = this.await(io, id, deadline);
    if (reply !== null) return 'pong' in reply ? { ok: false, reason: 'internal error: unexpected reply' } : stripId(reply);
    if (io.dead) return { ok: false, reason: this.deathReason(io) };
    io.port.postMessage({ type: 'cancel', id } satisfies IoRequest);
    // No acknowledgement of this request at all: the worker is wedged or gone; use a fresh one next time.
    if (Atomics.load(io.state, STATE.ack) < id) this.discard(io);
    return { ok: false, reason: `no answer within ${opts.timeoutMs} ms` };
  }

  /**
   * Starts the I/O worker now (so that the first `post` does not pay its start-up, ~25 ms) and
   * blocks until it answers; false when it did not within `timeoutMs`.
   */
  warmUp(timeoutMs = 5000): boolean {
    const io = this.ensure();
    const id = ++this.seq;
    io.port.postMessage({ type: 'ping', id } satisfies IoRequest);
    return this.await(io, id, performance.now() + timeoutMs) !== null;
  }

  /** Terminates the I/O worker (a later `post` starts a new one). */
  close(): Promise<void> {
    const io = this.io;
    if (io === null) return Promise.resolve();
    this.discard(io);
    return io.worker.terminate().then(
      () => undefined,
      () => undefined,
    );
  }

  /** Late answers dropped so far (answers to calls that had already timed out). */
  get discardedAnswers(): number {
    return this.discarded;
  }

  /** I/O workers started so far (1 unless one died or was replaced). */
  get workersStarted(): number {
    return this.started;
  }

  /** Test hook: the I/O worker crashes (uncaught exception) ~30 ms into the next `post`. */
  crashIoWorkerDuringNextCall(): void {
    this.crashNext = true;
  }

  /** Waits for the reply to `id`; null on timeout or when the worker died. */
  private await(io: Io, id: number, deadline: number): IoReply | null {
    for (;;) {
      // Read the counter before draining, so a reply that lands in between still wakes the wait.
      const seen = Atomics.load(io.state, STATE.signal);
      for (let m = receiveMessageOnPort(io.port); m !== undefined; m = receiveMessageOnPort(io.port)) {
        const reply = m.message as IoReply;
        if (reply.id === id) return reply;
        this.discarded++;
      }
      if (Atomics.load(io.state, STATE.dead) !== 0) {
        this.discard(io);
        return null;
      }
      const left = deadline - performance.now();
      if (left <= 0) return null;
      Atomics.wait(io.state, STATE.signal, seen, left);
    }
  }

  private ensure(): Io {
    if (this.io !== null && !this.io.dead) return this.io;
    const { port1, port2 } = new MessageChannel();
    const state = new Int32Array(new SharedArrayBuffer(STATE_LENGTH * Int32Array.BYTES_PER_ELEMENT));
    const worker = new Worker(IO_WORKER_SOURCE, {
      eval: true,
      execArgv: [],
      workerData: { port: port2, state: state.buffer },
      transferList: [port2],
    });
    const io: Io = { worker, port: port1, state, dead: false };
    worker.unref();
    port1.unref();
    // Only delivered when this thread is not blocked in a call: mark the worker for replacement.
    worker.on('error', () => this.discard(io));
    worker.on('exit', () => this.discard(io));
    this.io = io;
    this.started++;
    return io;
  }

  /** Forgets `io` (if still current) and stops its thread; the next call starts a new worker. */
  private discard(io: Io): void {
    if (io.dead) return;
    io.dead = true;
    if (this.io === io) this.io = null;
    io.port.close();
    void io.worker.terminate().catch(() => undefined);
  }

  private deathReason(io: Io): string {
    const code = Atomics.load(io.state, STATE.exitCode);
    return `callback I/O thread stopped during the call (exit code ${code}); it is restarted on the next call`;
  }
}

function stripId(r: Exclude<IoReply, { pong: true }>): PostResult {
  return r.ok ? { ok: true, status: r.status, body: r.body } : { ok: false, reason: r.reason };
}

function checkOptions(o: PostOptions): void {
  if (!(Number.isFinite(o.timeoutMs) && o.timeoutMs > 0)) throw new RangeError(`timeoutMs must be a positive number, got ${o.timeoutMs}`);
  if (!(Number.isSafeInteger(o.maxResponseBytes) && o.maxResponseBytes >= 0)) {
    throw new RangeError(`maxResponseBytes must be a non-negative integer, got ${o.maxResponseBytes}`);
  }
}

let threadLocal: SyncPoster | null = null;

/** The current thread's SyncPoster (module state is per thread, so each thread gets its own). */
export function threadPoster(): SyncPoster {
  threadLocal ??= new SyncPoster();
  return threadLocal;
}
