/**
 * Content-addressed module store (docs/ARCHITECTURE.md, `store/`): original module bytes keyed by the lowercase
 * sha256 hex of those bytes, kept in a memory LRU bounded by a byte budget and, when a directory is
 * configured, on disk.
 *
 * Disk layout: `<dir>/<first 2 hex of the hash>/<hash>.wasm`. Writes are atomic: the bytes go to a
 * temp file in the same subdirectory (`<hash>.wasm.tmp-<pid>-<random>`), are fsynced, then renamed
 * over the final name; readers therefore see either no file or a complete one. Concurrent puts of the
 * same bytes are safe: within one store they share one write (the first caller gets `created: true`,
 * the others `false`); across processes each renames its own complete copy, last rename wins, one
 * file remains. A temp file is removed when its write fails; one left by a crash is inert garbage
 * (never read: it does not end in `.wasm`) and may be deleted by hand.
 *
 * Reads from disk are verified: the sha256 of the file must equal its name. A mismatch is logged,
 * counted in `stats().corrupt`, the file is renamed aside to `<hash>.corrupt-<epoch ms>` (kept for
 * inspection, never read again) and `get` returns null, as for an unknown module; putting the
 * bytes again restores it.
 *
 * A disk that fails (full, read-only, I/O errors) fails no upload: the module is kept in memory, the
 * fault counted (`stats().diskErrors`) and logged; a read that fails is answered as unknown.
 *
 * Memory: an LRU with `maxSize` = `memoryBudgetBytes`, each entry sized by its byte length. A module
 * larger than the budget is not kept in memory (it is still written to disk); a budget of 0 disables
 * the memory tier. With `dir: null` the store is memory-only: a module evicted from the LRU is gone
 * and `get` returns null for it (the client must upload it again); each eviction is counted
 * (`stats().evictions`) and, memory-only, logged.
 *
 * Ownership: `put` copies the bytes it is given (so a caller may reuse its buffer, and a view into a
 * larger pooled buffer is not retained). `get` returns the cached `Uint8Array` itself, not a copy:
 * callers must not mutate it.
 *
 * Hash strings that are not exactly 64 lowercase hex characters are answered with null / false
 * without touching the file system, so a hash can never address a path outside the store.
 *
 * Listing (`list`, GET /modules): the modules held, in hash order, with when each was first stored and
 * a summary, kept in a record beside each module (module-index.ts).
 */
import { randomBytes, createHash } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import * as fs from 'node:fs/promises';
import path from 'node:path';
import { LRUCache } from 'lru-cache';
import { errCode, moveAside, readFileOrNull, writeFileAtomic } from './atomic-file.js';
import { type Describer, ModuleIndex, type ModuleRecord } from './module-index.js';

export type { Describer, ModuleRecord } from './module-index.js';

export interface StoreLogger {
  warn(obj: object, msg: string): void;
  info?(obj: object, msg: string): void;
}

export interface ModuleStoreOptions {
  /** Directory of the disk tier; null = memory only. */
  dir: string | null;
  /** Bytes of module code kept in memory (0 = none). */
  memoryBudgetBytes: number;
  logger?: StoreLogger;
  /** Makes the summary of each module that listings show (none: listings without summaries). */
  describer?: Describer;
}

export interface StoreStats {
  /** `get` answered from memory. */
  memoryHits: number;
  /** `get` answered from disk (verified). */
  diskHits: number;
  /** `get` found nothing usable (unknown, invalid hash, or corrupt on disk). */
  misses: number;
  /** `has` (is it stored? every execution by hash asks) answered from memory, by a file, or no. */
  checkMemoryHits: number;
  checkDiskHits: number;
  checkMisses: number;
  /** Successful `put` calls (new or already known). */
  puts: number;
  /** Files found corrupt on disk and moved aside. */
  corrupt: number;
  /** Reads and writes the disk failed (the module kept in memory; a read answered as unknown). */
  diskErrors: number;
  /** Modules evicted from the memory LRU to make room (memory only: gone). */
  evictions: number;
  /** Bytes currently held by the memory LRU. */
  memoryBytes: number;
  /** Modules currently held by the memory LRU. */
  memoryEntries: number;
}

/** A read the process could not make now (no file descriptor left): retry later, the module may exist. */
export class StoreBusyError extends Error {
  constructor(readonly code: string) {
    super(`the module store cannot open a file now (${code}: the process is out of file descriptors)`);
    this.name = 'StoreBusyError';
  }
}

const HASH_RE = /^[0-9a-f]{64}$/;

/** True when `s` is a well-formed module hash (64 lowercase hex characters). */
export function isModuleHash(s: unknown): s is string {
  return typeof s === 'string' && HASH_RE.test(s);
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** A plain `Uint8Array` over exactly these bytes (no Buffer subclass, no view into a larger buffer). */
function exact(bytes: Uint8Array): Uint8Array {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) {
    return new Uint8Array(bytes.buffer, 0, bytes.byteLength);
  }
  return new Uint8Array(bytes); // copies (Buffer#slice would return a view)
}


export class ModuleStore {
  readonly dir: string | null;
  private readonly memory: LRUCache<string, Uint8Array> | null;
  private readonly logger: StoreLogger | undefined;
  /** In-flight puts and disk reads by hash, so concurrent callers share one file operation. */
  private readonly pendingPuts = new Map<string, Promise<{ hash: string; created: boolean }>>();
  private readonly pendingReads = new Map<string, Promise<Uint8Array | null>>();
  private counters = { memoryHits: 0, diskHits: 0, misses: 0, checkMemoryHits: 0, checkDiskHits: 0, checkMisses: 0, puts: 0, corrupt: 0, diskErrors: 0, evictions: 0 };
  private readonly index: ModuleIndex;
  /** Records of the modules held in memory only: every module of a memory-only store, else those the disk failed. */
  private readonly records = new Map<string, ModuleRecord>();

  constructor(opts: ModuleStoreOptions) {
    this.dir = opts.dir === null ? null : path.resolve(opts.dir);
    this.logger = opts.logger;
    this.index = new ModuleIndex(this.dir, opts.describer ?? null, (hash, err) =>
      this.logger?.warn({ hash, err: err instanceof Error ? err.message : String(err) }, 'module store: the record of a module (for listings) could not be made or read; made again when next listed'),
    );
    const budget = Math.floor(opts.memoryBudgetBytes);
    if (!Number.isFinite(opts.memoryBudgetBytes) || budget < 0) {
      throw new RangeError(`memoryBudgetBytes must be a non-negative number, got ${opts.memoryBudgetBytes}`);
    }
    this.memory =
      budget > 0
        ? new LRUCache<string, Uint8Array>({
            maxSize: budget,
            // lru-cache needs a positive size; an empty module still counts as one byte.
            sizeCalculation: (v) => Math.max(1, v.byteLength),
            dispose: (v, hash, reason) => {
              if (reason !== 'evict') return;
              this.counters.evictions++;
              this.records.delete(hash); // held in memory only: gone
              // memory only, the LRU held the one copy: say so, an operator sizing the budget needs it
              if (this.dir === null) {
                this.logger?.warn({ hash, size: v.byteLength, memoryBudgetBytes: budget }, 'module store (memory only): a module was evicted to make room and is gone; it answers 404 until uploaded again (raise store.memoryBudgetBytes or set store.dir)');
              }
            },
          })
        : null;
  }

  /** Creates the directory (recursively) and checks that a file can be written in it. */
  async init(): Promise<void> {
    const dir = this.dir;
    if (dir === null) return;
    try {
      await fs.mkdir(dir, { recursive: true });
      const probe = path.join(dir, `.write-probe-${process.pid}-${randomBytes(6).toString('hex')}`);
      await fs.writeFile(probe, '');
      await fs.unlink(probe);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new Error(`module store directory ${JSON.stringify(dir)} cannot be created or written: ${reason}`, {
        cause: err,
      });
    }
  }

  /** Stores the bytes under their sha256; `created` is false when the module was already known. */
  put(bytes: Uint8Array): Promise<{ hash: string; created: boolean }> {
    const hash = sha256(bytes);
    const pending = this.pendingPuts.get(hash);
    if (pending) {
      return pending.then((r) => {
        this.counters.puts++;
        return { hash: r.hash, created: false };
      });
    }
    const copy = new Uint8Array(bytes); // a copy: the caller may reuse its buffer
    const p = this.doPut(hash, copy).finally(() => this.pendingPuts.delete(hash));
    this.pendingPuts.set(hash, p);
    return p.then((r) => {
      this.counters.puts++;
      return r;
    });
  }

  private async doPut(hash: string, bytes: Uint8Array): Promise<{ hash: string; created: boolean }> {
    const inMemory = this.memory?.has(hash) ?? false;
    if (this.dir === null) {
      this.remember(hash, bytes);
      if (!this.records.has(hash) && this.memory?.has(hash)) this.records.set(hash, this.index.make(hash, bytes));
      return { hash, created: !inMemory };
    }
    const file = this.filePath(hash);
    let onDisk = false;
    let written = false;
    try {
      const existing = await this.readFileOrNull(file);
      if (existing !== null) {
        if (sha256(existing) === hash) onDisk = true;
        else await this.quarantine(hash, file, existing.byteLength);
      }
      if (!onDisk) await this.writeAtomic(hash, file, bytes);
      written = !onDisk;
    } catch (err) {
      // a disk that fails (full, read-only, I/O errors) must not fail the upload: the module is kept
      // in memory and executions go on; the next start will not know it
      this.counters.diskErrors++;
      this.logger?.warn({ hash, file, err: err instanceof Error ? err.message : String(err) }, 'module store: the disk failed, the module is kept in memory only');
      if (!this.records.has(hash)) this.records.set(hash, this.index.make(hash, bytes));
    }
    // its record for listings; one that fails to be written is made again when the module is listed
    if (written) await this.index.write(this.index.make(hash, bytes)).catch((err: unknown) => this.logger?.warn({ hash, err: String(err) }, 'module store: the record of a module could not be written'));
    this.remember(hash, bytes);
    return { hash, created: !inMemory && !onDisk };
  }

  /**
   * Up to `limit` modules this store holds, in hash order, after the hash `after` (null: from the
   * first); `next` is the cursor of the following page, null on the last.
   */
  async list(after: string | null, limit: number): Promise<{ modules: ModuleRecord[]; next: string | null }> {
    const held = [...this.records.keys()].filter((h) => after === null || h > after);
    const onDisk = await this.index.hashesOnDisk(after, limit + 1);
    const hashes = [...new Set([...onDisk, ...held])].sort().slice(0, limit + 1);
    const page = hashes.slice(0, limit);
    const modules: ModuleRecord[] = [];
    // a few files at a time: a page of 1000 must not take 1000 file descriptors at once
    for (let i = 0; i < page.length; i += 16) {
      const found = await Promise.all(page.slice(i, i + 16).map((h) => this.records.get(h) ?? this.index.read(h, () => this.readForIndex(h))));
      for (const r of found) if (r) modules.push({ hash: r.hash, bytes: r.bytes, firstSeen: r.firstSeen, summary: r.summary });
    }
    return { modules, next: hashes.length > limit ? page.at(-1)! : null };
  }

  /** The module's bytes, from memory or (verified) from disk; null when unknown or corrupt. */
  async get(hash: string): Promise<Uint8Array | null> {
    if (!isModuleHash(hash)) {
      this.counters.misses++;
      return null;
    }
    const cached = this.memory?.get(hash);
    if (cached !== undefined) {
      this.counters.memoryHits++;
      return cached;
    }
    if (this.dir === null) {
      this.counters.misses++;
      return null;
    }
    let read = this.pendingReads.get(hash);
    if (!read) {
      read = this.readVerified(hash).finally(() => this.pendingReads.delete(hash));
      this.pendingReads.set(hash, read);
    }
    const bytes = await read;
    if (bytes === null) this.counters.misses++;
    else this.counters.diskHits++;
    return bytes;
  }

  /**
   * Whether the module is in memory or has a file on disk. The file's content is not verified here
   * (`get` does that), so `has` may be true for a module whose file turns out to be corrupt. It counts
   * as a use: a module in memory moves to the front of the LRU (modules executed by hash stay).
   */
  async has(hash: string): Promise<boolean> {
    const found = await this.where(hash);
    this.counters[found === 'memory' ? 'checkMemoryHits' : found === 'disk' ? 'checkDiskHits' : 'checkMisses']++;
    return found !== null;
  }

  private async where(hash: string): Promise<'memory' | 'disk' | null> {
    if (!isModuleHash(hash)) return null;
    if (this.memory?.get(hash) !== undefined) return 'memory';
    if (this.dir === null) return null;
    try {
      return (await fs.stat(this.filePath(hash))).isFile() ? 'disk' : null;
    } catch (err) {
      if (errCode(err) === 'ENOENT' || errCode(err) === 'ENOTDIR') return null;
      throw err;
    }
  }

  /** For GET /ready: the directory exists and is readable and writable (always true when memory-only). */
  async isReadable(): Promise<boolean> {
    if (this.dir === null) return true;
    try {
      const st = await fs.stat(this.dir);
      if (!st.isDirectory()) return false;
      await fs.access(this.dir, fsConstants.R_OK | fsConstants.W_OK | fsConstants.X_OK);
      return true;
    } catch {
      return false;
    }
  }

  stats(): StoreStats {
    return {
      ...this.counters,
      memoryBytes: this.memory?.calculatedSize ?? 0,
      memoryEntries: this.memory?.size ?? 0,
    };
  }

  private filePath(hash: string): string {
    // Only called with validated hashes: the path cannot leave `dir`.
    return path.join(this.dir as string, hash.slice(0, 2), `${hash}.wasm`);
  }

  private remember(hash: string, bytes: Uint8Array): void {
    // lru-cache silently refuses an entry larger than maxSize (maxEntrySize defaults to maxSize).
    this.memory?.set(hash, bytes);
  }

  private async readFileOrNull(file: string): Promise<Uint8Array | null> {
    const bytes = await readFileOrNull(file);
    return bytes === null ? null : exact(bytes);
  }


  /** The bytes of a module on disk for its record: verified, neither remembered nor counted (a listing is no use). */
  private async readForIndex(hash: string): Promise<Uint8Array | null> {
    const bytes = this.memory?.peek(hash) ?? (await this.readFileOrNull(this.filePath(hash)));
    return bytes !== null && sha256(bytes) === hash ? bytes : null;
  }

  private async readVerified(hash: string): Promise<Uint8Array | null> {
    const file = this.filePath(hash);
    let bytes: Uint8Array | null;
    try {
      bytes = await this.readFileOrNull(file);
    } catch (err) {
      // out of file descriptors: the module may well be there, so "unknown" would be a lie
      if (errCode(err) === 'EMFILE' || errCode(err) === 'ENFILE') throw new StoreBusyError(errCode(err)!);
      // unreadable (permissions, I/O errors): answered as unknown, counted and logged
      this.counters.diskErrors++;
      this.logger?.warn({ hash, file, err: err instanceof Error ? err.message : String(err) }, 'module store: the disk failed on a read');
      return null;
    }
    if (bytes === null) return null;
    if (sha256(bytes) !== hash) {
      await this.quarantine(hash, file, bytes.byteLength);
      return null;
    }
    this.remember(hash, bytes);
    return bytes;
  }

  /** Logs, counts and renames aside a file whose content does not match its name. */
  private async quarantine(hash: string, file: string, size: number): Promise<void> {
    this.counters.corrupt++;
    // null: already moved or replaced by a concurrent reader/writer
    const movedTo = await moveAside(file);
    this.logger?.warn({ hash, file, size, movedTo }, 'module store: file content does not match its sha256, moved aside');
  }


  private async writeAtomic(hash: string, file: string, bytes: Uint8Array): Promise<void> {
    await writeFileAtomic(file, bytes);
    this.logger?.info?.({ hash, size: bytes.byteLength }, 'module store: module written');
  }

}
