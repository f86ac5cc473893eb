/**
 * The shared store on Redis (ioredis). Bounded by design, so no request hangs on it:
 * - every command has `commandTimeout`; a Redis that stops answering fails it after that long;
 * - no offline queue: while the connection is down a command fails at once instead of waiting for a
 *   reconnection, and a command cut by a lost connection is not sent again;
 * - reconnection goes on in the background with a capped back-off.
 *
 * Writes and conditional deletes are one Lua script each, so they are atomic with their comparison:
 * a key is written only when it does not already hold exactly these bytes.
 */
import { Redis } from 'ioredis';
import type { StoreLogger } from './module-store.js';
import { redactUrl, SharedStoreError, type SharedStore, type SharedStoreStatus, type SharedWrite } from './shared-store.js';

export interface RedisStoreOptions {
  /** `redis://[user:password@]host:port/db` or `rediss://` (TLS). */
  url: string;
  /** Longest wait for one command or for a connection. */
  timeoutMs: number;
  logger?: StoreLogger;
}

// 0: held these bytes; 1: was absent; 2: held other bytes (replaced: the key's only right value is these)
const PUT = `local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
if v then return 2 end
return 1`;
const DELETE_IF_EQUAL = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;
const WRITES: SharedWrite[] = ['known', 'written', 'repaired'];

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

export class RedisSharedStore implements SharedStore {
  readonly url: string;
  private readonly client: Redis;
  private readonly timeoutMs: number;
  private readonly logger: StoreLogger | undefined;
  private lastError: SharedStoreStatus['lastError'] = null;
  /** Logged once per change, not once per reconnection attempt. */
  private reportedDown = false;
  private closing = false;

  constructor(opts: RedisStoreOptions) {
    this.url = redactUrl(opts.url);
    this.timeoutMs = opts.timeoutMs;
    this.logger = opts.logger;
    this.client = new Redis(opts.url, {
      commandTimeout: opts.timeoutMs,
      connectTimeout: opts.timeoutMs,
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      // back off to at most 2 s between attempts, for ever: the store may come back at any time
      retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
      // a Redis that refuses writes while loading or as a read-only replica is an error to report, not to wait for
      enableReadyCheck: true,
      lazyConnect: false,
    });
    this.client.on('ready', () => {
      if (this.reportedDown || this.lastError) this.logger?.info?.({ store: this.url }, 'shared store: connected');
      this.reportedDown = false;
    });
    // without a listener an 'error' event would end the process
    this.client.on('error', (e: unknown) => this.failed(e, 'connection'));
    // a server that goes away closes the socket before any reconnection attempt fails
    this.client.on('close', () => {
      if (!this.closing) this.failed(new Error('connection closed'), 'connection');
    });
  }

  private failed(e: unknown, what: string): void {
    this.lastError = { message: `${what}: ${message(e)}`, at: new Date().toISOString() };
    if (!this.reportedDown) {
      this.reportedDown = true;
      this.logger?.warn({ store: this.url, err: message(e) }, `shared store: ${what} failed (executions by hash use the local copies; retrying in the background)`);
    }
  }

  /** Runs one command; any failure becomes a SharedStoreError naming the store and what to do. */
  private async run<T>(op: string, f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (e) {
      const m = message(e);
      const down = this.client.status !== 'ready';
      // while the connection is down, the connection's own failure is the news, not "stream not writeable"
      if (!down) this.failed(e, op);
      const why = /timed out/i.test(m)
        ? `did not answer within ${this.timeoutMs} ms`
        : down
          ? `is not reachable (${this.client.status}: ${this.lastConnectionReason()})`
          : `failed: ${m}`;
      throw new SharedStoreError(`the shared module store ${this.url} ${why}`, this.url);
    }
  }

  private lastConnectionReason(): string {
    return this.lastError?.message ?? 'no connection yet';
  }

  async get(key: string): Promise<Uint8Array | null> {
    const v = await this.run('read', () => this.client.getBuffer(key));
    return v === null ? null : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  }

  async put(key: string, bytes: Uint8Array): Promise<SharedWrite> {
    const r = await this.run('write', () => this.client.eval(PUT, 1, key, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)));
    const w = WRITES[Number(r)];
    if (!w) throw new SharedStoreError(`the shared module store ${this.url} answered a write with ${String(r)}`, this.url);
    return w;
  }

  async deleteIfEqual(key: string, bytes: Uint8Array): Promise<boolean> {
    const r = await this.run('delete', () => this.client.eval(DELETE_IF_EQUAL, 1, key, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)));
    return Number(r) === 1;
  }

  status(): SharedStoreStatus {
    // before any failure a connection not yet made is `connecting`; after one, anything but ready is `down`
    const state = this.client.status === 'ready' ? 'up' : this.lastError === null ? 'connecting' : 'down';
    return { url: this.url, state, lastError: this.lastError };
  }

  connected(ms: number): Promise<boolean> {
    if (this.client.status === 'ready') return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.client.off('ready', onReady);
        resolve(ok);
      };
      const onReady = () => done(true);
      const timer = setTimeout(() => done(false), ms);
      this.client.on('ready', onReady);
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    // quit waits for the replies of commands in flight (each bounded by commandTimeout); disconnect when down
    if (this.client.status === 'ready') await this.client.quit().catch(() => this.client.disconnect());
    else this.client.disconnect();
  }
}
