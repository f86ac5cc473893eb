/**
 * What the module store keeps about each module beside its bytes, for listing (GET /modules): when
 * this store first held it, its size, and a summary the service makes of it (opaque here: the store
 * knows no wasm; the service's `Describer` makes it, versioned so a new summary format is made again).
 *
 * On disk a record is a small JSON file beside the module, `<dir>/<2 hex>/<hash>.json`, written
 * atomically when the module is first written; memory only, records live in memory as long as their
 * module. A module on disk without a record (stored by an older version, or a crash between the two
 * writes) gets one when first listed: its first-seen time is then its file's modification time.
 *
 * Listing is in hash order, a page at a time after a cursor (the last hash of the previous page): a
 * module stored meanwhile appears in its place, and a page never repeats or skips the others.
 */
import * as fs from 'node:fs/promises';
import path from 'node:path';
import { errCode, readFileOrNull, writeFileAtomic } from './atomic-file.js';

/** Makes the summary a listing shows of a module (exports, profile, …); `version` names its format. */
export interface Describer {
  version: string;
  describe(bytes: Uint8Array): unknown;
}

export interface ModuleRecord {
  hash: string;
  bytes: number;
  /** ISO 8601 time this store first held the module. */
  firstSeen: string;
  /** The describer's summary, or null (no describer, or it failed). */
  summary: unknown;
}

interface RecordFile {
  firstSeen: string;
  bytes: number;
  summaryVersion: string | null;
  summary: unknown;
}

const MODULE_FILE = /^([0-9a-f]{64})\.wasm$/;
const SUBDIR = /^[0-9a-f]{2}$/;

export class ModuleIndex {
  constructor(
    private readonly dir: string | null,
    private readonly describer: Describer | null,
    private readonly onError: (hash: string, err: unknown) => void,
  ) {}

  /** A new record for `bytes`, first seen now (or at `firstSeen`). */
  make(hash: string, bytes: Uint8Array, firstSeen = new Date().toISOString()): ModuleRecord & { summaryVersion: string | null } {
    let summary: unknown = null;
    try {
      summary = this.describer?.describe(bytes) ?? null;
    } catch (err) {
      // a listing without a summary beats an upload refused for it
      this.onError(hash, err);
    }
    return { hash, bytes: bytes.byteLength, firstSeen, summary, summaryVersion: summary === null ? null : this.describer!.version };
  }

  /** Writes a record beside the module (disk stores only). */
  async write(r: ModuleRecord & { summaryVersion: string | null }): Promise<void> {
    if (this.dir === null) return;
    const file: RecordFile = { firstSeen: r.firstSeen, bytes: r.bytes, summaryVersion: r.summaryVersion, summary: r.summary };
    // not fsynced: a record lost or cut by a crash is made again when listed (first seen: the module file's time)
    await writeFileAtomic(this.recordPath(r.hash), new TextEncoder().encode(JSON.stringify(file)), { durable: false });
  }

  /**
   * The record of a module on disk: read, or made from its bytes (`read` returns them verified, or
   * null when the module is gone) when absent, unreadable or of an older summary format.
   */
  async read(hash: string, read: () => Promise<Uint8Array | null>): Promise<ModuleRecord | null> {
    let stored: RecordFile | null = null;
    try {
      const raw = await readFileOrNull(this.recordPath(hash));
      stored = raw === null ? null : (JSON.parse(new TextDecoder().decode(raw)) as RecordFile);
      if (stored !== null && (typeof stored.firstSeen !== 'string' || typeof stored.bytes !== 'number')) stored = null;
    } catch (err) {
      this.onError(hash, err); // made again below
    }
    const current = this.describer?.version ?? null;
    if (stored && (current === null || stored.summaryVersion === current)) return { hash, bytes: stored.bytes, firstSeen: stored.firstSeen, summary: stored.summary };
    const bytes = await read();
    if (bytes === null) return null;
    const firstSeen = stored?.firstSeen ?? (await this.modifiedAt(hash));
    const made = this.make(hash, bytes, firstSeen);
    await this.write(made).catch((err: unknown) => this.onError(hash, err));
    return made;
  }

  /**
   * Up to `count` hashes of module files on disk greater than `after` (null: from the first), in
   * order, walking the 256 subdirectories from the cursor's.
   */
  async hashesOnDisk(after: string | null, count: number): Promise<string[]> {
    if (this.dir === null || count <= 0) return [];
    let subs: string[];
    try {
      subs = (await fs.readdir(this.dir)).filter((s) => SUBDIR.test(s)).sort();
    } catch (err) {
      if (errCode(err) === 'ENOENT') return [];
      throw err;
    }
    const out: string[] = [];
    for (const sub of subs) {
      if (after !== null && sub < after.slice(0, 2)) continue;
      let names: string[];
      try {
        names = await fs.readdir(path.join(this.dir, sub));
      } catch (err) {
        if (errCode(err) === 'ENOENT' || errCode(err) === 'ENOTDIR') continue;
        throw err;
      }
      const hashes = names.flatMap((n) => MODULE_FILE.exec(n)?.[1] ?? []).filter((h) => after === null || h > after);
      out.push(...hashes.sort());
      if (out.length >= count) break;
    }
    return out.slice(0, count);
  }

  private async modifiedAt(hash: string): Promise<string> {
    try {
      return (await fs.stat(path.join(this.dir!, hash.slice(0, 2), `${hash}.wasm`))).mtime.toISOString();
    } catch {
      return new Date().toISOString();
    }
  }

  private recordPath(hash: string): string {
    return path.join(this.dir as string, hash.slice(0, 2), `${hash}.json`);
  }
}
