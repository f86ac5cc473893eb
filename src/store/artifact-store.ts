/**
 * Prepared-module artifacts on disk, beside the module store: what `prepare` made of a module
 * (instrumented bytes and their description, see engine/prepared-artifact.ts), so that after a restart
 * the first execution by hash compiles them instead of validating and instrumenting the module again.
 *
 * Layout: `<dir>/prepared/<first 2 hex of the hash>/<hash>.<key>.prepared`, the key naming the
 * instrumentation (its version, settings and variant). A file holds the sha256 of its payload
 * (32 bytes) and the payload; a read checks it, and a file that fails is counted, logged, moved aside
 * (`.corrupt-<epoch ms>`) and answered as missing, so the module is prepared again from its verified
 * original. Artifacts are a cache: losing them costs time, never an answer. Writes are atomic.
 *
 * The directory is trusted like the service's own files: the checksum catches corruption, not an
 * attacker who can write there (who could replace the service itself).
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { moveAside, readFileOrNull, writeFileAtomic } from './atomic-file.js';
import { isModuleHash, type StoreLogger } from './module-store.js';

const KEY_RE = /^[A-Za-z0-9:_-]{1,100}$/;
const SUM = 32;

export interface ArtifactStats {
  /** Artifacts read and verified. */
  hits: number;
  /** No artifact for the module and key. */
  misses: number;
  /** Artifacts written. */
  written: number;
  /** Artifacts that failed their checksum (moved aside). */
  corrupt: number;
  /** Writes that failed (logged; the execution went on). */
  writeErrors: number;
}

export class ArtifactStore {
  readonly dir: string;
  private counters: ArtifactStats = { hits: 0, misses: 0, written: 0, corrupt: 0, writeErrors: 0 };

  constructor(storeDir: string, private readonly logger?: StoreLogger) {
    this.dir = path.join(path.resolve(storeDir), 'prepared');
  }

  /** The verified payload stored for (hash, key), or null. */
  async get(hash: string, key: string): Promise<Uint8Array | null> {
    const file = this.filePath(hash, key);
    const bytes = file === null ? null : await readFileOrNull(file);
    if (bytes === null) {
      this.counters.misses++;
      return null;
    }
    const payload = bytes.subarray(SUM);
    if (bytes.length < SUM || !digest(payload).equals(bytes.subarray(0, SUM))) {
      this.counters.corrupt++;
      this.counters.misses++;
      const movedTo = await moveAside(file!);
      this.logger?.warn({ hash, key, file, size: bytes.length, movedTo }, 'prepared artifact: checksum mismatch, moved aside (the module is prepared again)');
      return null;
    }
    this.counters.hits++;
    return payload;
  }

  /** Stores the payload for (hash, key); a failure is logged and counted, never thrown (artifacts are a cache). */
  async put(hash: string, key: string, payload: Uint8Array): Promise<boolean> {
    const file = this.filePath(hash, key);
    if (file === null) return false;
    try {
      const sum = digest(payload);
      const bytes = new Uint8Array(SUM + payload.length);
      bytes.set(sum, 0);
      bytes.set(payload, SUM);
      await writeFileAtomic(file, bytes);
      this.counters.written++;
      return true;
    } catch (err) {
      this.counters.writeErrors++;
      this.logger?.warn({ hash, key, err: err instanceof Error ? err.message : String(err) }, 'prepared artifact: cannot be written (executions go on; the next start prepares the module again)');
      return false;
    }
  }

  stats(): ArtifactStats {
    return { ...this.counters };
  }

  private filePath(hash: string, key: string): string | null {
    // validated names only: a path can never leave the directory
    if (!isModuleHash(hash) || !KEY_RE.test(key)) return null;
    return path.join(this.dir, hash.slice(0, 2), `${hash}.${key.replaceAll(':', '_')}.prepared`);
  }
}

function digest(bytes: Uint8Array): Buffer {
  return createHash('sha256').update(bytes).digest();
}
