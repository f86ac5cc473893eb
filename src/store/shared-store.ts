/**
 * The shared tier of the module store: a key-value store several replicas reach (Redis, see
 * redis-store.ts), holding immutable content-addressed values. This file is the contract the tiered
 * store relies on; it knows no Redis.
 *
 * Every operation is bounded in time: it resolves, or rejects with `SharedStoreError` (down, slow,
 * refused), never hangs. Values are not verified here: the caller knows what a key's bytes must hash to.
 */

/** What a write found: the key was absent (written), held these bytes (known), or held others (repaired). */
export type SharedWrite = 'written' | 'known' | 'repaired';

export interface SharedStoreStatus {
  /** The store's address, without credentials. */
  url: string;
  /** `up`: connected; `connecting`: not yet, or again after a loss; `down`: the last attempt failed. */
  state: 'up' | 'connecting' | 'down';
  /** The last failure of a connection or an operation, if any since start. */
  lastError: { message: string; at: string } | null;
}

export interface SharedStore {
  /** The value, or null when the key is absent. */
  get(key: string): Promise<Uint8Array | null>;
  /** Stores `bytes` under `key` unless it holds exactly these bytes already (content addressing). */
  put(key: string, bytes: Uint8Array): Promise<SharedWrite>;
  /** Removes the key if it still holds exactly `bytes` (a value found corrupt; a repaired one stays). */
  deleteIfEqual(key: string, bytes: Uint8Array): Promise<boolean>;
  status(): SharedStoreStatus;
  /** Waits up to `ms` for the first connection; false when it did not come (the store keeps trying). */
  connected(ms: number): Promise<boolean>;
  close(): Promise<void>;
}

/** The shared store failed or did not answer in time: the operation's outcome is unknown. */
export class SharedStoreError extends Error {
  constructor(
    message: string,
    /** The store's address, without credentials. */
    readonly url: string,
  ) {
    super(message);
    this.name = 'SharedStoreError';
  }
}

/** `redis://user:secret@host:6379/0` → `redis://user:***@host:6379/0`: addresses in logs, errors and /ready. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(an invalid URL)';
  }
}
