/**
 * A byte-budgeted LRU of prepared (instrumented + compiled) modules. The service keys entries by
 * `${hash}:${settingsKey}` and passes an estimated size (the caller decides, e.g. original bytes × 8).
 *
 * - An entry whose size exceeds the budget is not cached; a budget of 0 disables caching.
 * - `get` and `getOrCreate` count hits and misses; `set` does not.
 * - `getOrCreate` does not cache anything when `create` throws (the error propagates).
 * Creation is synchronous, so there is no concurrent creation to deduplicate.
 */
import { LRUCache } from 'lru-cache';

/** Values are boxed so that any T (including primitives, null or undefined) can be cached. */
interface Box<T> {
  value: T;
}

export class PreparedCache<T> {
  readonly budgetBytes: number;
  private readonly lru: LRUCache<string, Box<T>> | null;
  private hitCount = 0;
  private missCount = 0;

  constructor(budgetBytes: number) {
    if (!Number.isFinite(budgetBytes) || budgetBytes < 0) {
      throw new RangeError(`PreparedCache budget must be a non-negative number, got ${budgetBytes}`);
    }
    this.budgetBytes = Math.floor(budgetBytes);
    this.lru = this.budgetBytes > 0 ? new LRUCache<string, Box<T>>({ maxSize: this.budgetBytes }) : null;
  }

  get(key: string): T | undefined {
    const box = this.lru?.get(key);
    if (box === undefined) {
      this.missCount++;
      return undefined;
    }
    this.hitCount++;
    return box.value;
  }

  /** Caches `value` with the given (estimated) size; ignored when the size exceeds the budget. */
  set(key: string, value: T, sizeBytes: number): void {
    if (this.lru === null) return;
    const size = Math.max(1, Math.ceil(Number.isFinite(sizeBytes) ? sizeBytes : Number.MAX_SAFE_INTEGER));
    if (size > this.budgetBytes) {
      // lru-cache would refuse it too, but would also drop an existing entry under the key: be explicit.
      this.lru.delete(key);
      return;
    }
    this.lru.set(key, { value }, { size });
  }

  /** The cached value, or `create()` cached with `sizeBytes`; nothing is cached when `create` throws. */
  getOrCreate(key: string, sizeBytes: number, create: () => T): T {
    const box = this.lru?.get(key);
    if (box !== undefined) {
      this.hitCount++;
      return box.value;
    }
    this.missCount++;
    const value = create();
    this.set(key, value, sizeBytes);
    return value;
  }

  /** The cached value without counting a hit or a miss or refreshing its recency. */
  peek(key: string): T | undefined {
    return this.lru?.peek(key)?.value;
  }

  has(key: string): boolean {
    return this.lru?.has(key) ?? false;
  }

  delete(key: string): boolean {
    return this.lru?.delete(key) ?? false;
  }

  clear(): void {
    this.lru?.clear();
  }

  /** Number of cached entries. */
  get size(): number {
    return this.lru?.size ?? 0;
  }

  /** Sum of the sizes of the cached entries. */
  get bytes(): number {
    return this.lru?.calculatedSize ?? 0;
  }

  get hits(): number {
    return this.hitCount;
  }

  get misses(): number {
    return this.missCount;
  }
}
