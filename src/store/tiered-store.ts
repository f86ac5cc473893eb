/**
 * The module store as the service uses it: this process's own store (memory LRU + disk, module-store.ts)
 * in front of an optional shared store that several replicas reach (shared-store.ts).
 *
 * - `put` writes through: the local store first, then the shared one. A shared store that fails makes
 *   the put fail with SharedStoreError (the module is then on this replica only, which its caller must
 *   hear: another replica would answer 404 for it).
 * - `get` reads through: a local miss asks the shared store, verifies the bytes by their sha256 and keeps
 *   them locally (written in the background), so each replica reads a module from the shared store
 *   once. A value that does not hash to its key is refused (answered as unknown), counted, logged and
 *   removed from the shared store, so the next upload of the module restores it. A shared store that fails makes the get fail with
 *   SharedStoreError: the module may exist, so "unknown" would be a lie.
 * - Concurrent gets of one hash share one shared read.
 *
 * Without a shared store this is the local store alone, unchanged.
 */
import { createHash } from 'node:crypto';
import { isModuleHash, type ModuleRecord, type ModuleStore, type StoreLogger, type StoreStats } from './module-store.js';
import { SharedStoreError, type SharedStore, type SharedStoreStatus } from './shared-store.js';

export interface SharedStoreStats {
  /** Local misses the shared store answered with verified bytes. */
  hits: number;
  /** Local misses the shared store did not know either. */
  misses: number;
  /** Values that did not hash to their key (refused and removed). */
  corrupt: number;
  /** Reads that failed or timed out (answered 503). */
  readErrors: number;
  /** Writes by result: new in the shared store, already there, replacing a corrupt value. */
  written: number;
  known: number;
  repaired: number;
  /** Writes that failed or timed out (the upload answered 503). */
  writeErrors: number;
}

export interface TieredStoreOptions {
  local: ModuleStore;
  shared: SharedStore | null;
  /** Key of a module in the shared store, before its hash. */
  keyPrefix: string;
  logger?: StoreLogger;
  /** Each shared operation's duration in seconds and whether it succeeded (for metrics). */
  observe?: (op: 'read' | 'write', seconds: number, ok: boolean) => void;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export class TieredModuleStore {
  readonly local: ModuleStore;
  readonly shared: SharedStore | null;
  private readonly prefix: string;
  private readonly logger: StoreLogger | undefined;
  private readonly observe: TieredStoreOptions['observe'];
  private readonly pendingReads = new Map<string, Promise<Uint8Array | null>>();
  /** Local writes of modules read from the shared store, in flight. */
  private readonly keeping = new Set<Promise<unknown>>();
  private readonly counters: SharedStoreStats = { hits: 0, misses: 0, corrupt: 0, readErrors: 0, written: 0, known: 0, repaired: 0, writeErrors: 0 };

  constructor(opts: TieredStoreOptions) {
    this.local = opts.local;
    this.shared = opts.shared;
    this.prefix = `${opts.keyPrefix}module:`;
    this.logger = opts.logger;
    this.observe = opts.observe;
  }

  init(): Promise<void> {
    return this.local.init();
  }

  async put(bytes: Uint8Array): Promise<{ hash: string; created: boolean }> {
    const local = await this.local.put(bytes);
    const shared = this.shared;
    if (!shared) return local;
    const w = await this.timed('write', () => shared.put(this.prefix + local.hash, bytes)).catch((e: unknown) => {
      if (e instanceof SharedStoreError) this.counters.writeErrors++;
      throw e;
    });
    this.counters[w]++;
    if (w === 'repaired') this.logger?.warn({ hash: local.hash }, 'shared store: a value that did not match its hash was replaced by the upload');
    // new to the replicas together: one that never saw the module may still answer 200 when another stored it
    return { hash: local.hash, created: w !== 'known' };
  }

  async get(hash: string): Promise<Uint8Array | null> {
    const found = await this.local.get(hash);
    if (found || !this.shared || !isModuleHash(hash)) return found;
    let read = this.pendingReads.get(hash);
    if (!read) {
      const r = this.readShared(this.shared, hash);
      read = r.then((x) => x.bytes);
      this.pendingReads.set(hash, read);
      // the read is shared until the local copy is written: a get meanwhile must not ask Redis again
      const done = r.then((x) => x.kept).catch(() => undefined).finally(() => this.pendingReads.delete(hash));
      this.keeping.add(done);
      void done.finally(() => this.keeping.delete(done));
    }
    return read;
  }

  /**
   * Whether the module is stored: held here (memory or a file), else found in the shared store (read
   * and kept here, as `get` does). Fails with SharedStoreError when only the shared store could say.
   */
  async has(hash: string): Promise<boolean> {
    if (await this.local.has(hash)) return true;
    if (!this.shared || !isModuleHash(hash)) return false;
    return (await this.get(hash)) !== null;
  }

  /**
   * The modules this replica holds (its local store), a page in hash order: not those only in the
   * shared store, which would mean scanning what every replica stored.
   */
  list(after: string | null, limit: number): Promise<{ modules: ModuleRecord[]; next: string | null }> {
    return this.local.list(after, limit);
  }

  /** Waits for the local copies of modules read from the shared store to be written. */
  async flush(): Promise<void> {
    await Promise.all([...this.keeping]);
  }

  /**
   * The bytes (null: unknown or corrupt), and the local write of a found module, which the caller does
   * not wait for: the first execution on this replica need not wait for a disk's fsync.
   */
  private async readShared(shared: SharedStore, hash: string): Promise<{ bytes: Uint8Array | null; kept?: Promise<unknown> }> {
    const key = this.prefix + hash;
    let bytes: Uint8Array | null;
    try {
      bytes = await this.timed('read', () => shared.get(key));
    } catch (e) {
      if (e instanceof SharedStoreError) this.counters.readErrors++;
      throw e;
    }
    if (bytes === null) {
      this.counters.misses++;
      return { bytes: null };
    }
    if (sha256(bytes) !== hash) {
      this.counters.corrupt++;
      const removed = await shared.deleteIfEqual(key, bytes).catch(() => false);
      this.logger?.warn({ hash, size: bytes.byteLength, removed }, 'shared store: a value does not match its sha256: refused and removed (uploading the module again restores it)');
      return { bytes: null };
    }
    this.counters.hits++;
    // a disk that fails is counted and logged by the local store, and never rejects its put
    return { bytes, kept: this.local.put(bytes) };
  }

  private async timed<T>(op: 'read' | 'write', f: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    let ok = false;
    try {
      const r = await f();
      ok = true;
      return r;
    } finally {
      this.observe?.(op, (performance.now() - t0) / 1000, ok);
    }
  }

  isReadable(): Promise<boolean> {
    return this.local.isReadable();
  }

  stats(): StoreStats {
    return this.local.stats();
  }

  /** Null without a shared store. */
  sharedStats(): SharedStoreStats | null {
    return this.shared ? { ...this.counters } : null;
  }

  sharedStatus(): SharedStoreStatus | null {
    return this.shared?.status() ?? null;
  }

  async close(): Promise<void> {
    await this.flush();
    await this.shared?.close();
  }
}
