/**
 * The prepared modules a worker holds, by key: a task names its modules and carries them only while
 * the pool does not know this worker to hold them. Compiled code is shared between threads by V8, so
 * holding a module here costs little beyond keeping it alive.
 */
import { LRUCache } from 'lru-cache';
import type { PreparedModule } from '../engine/prepare.js';
import { COMPILED_SIZE_FACTOR } from '../engine/prepare.js';
import type { ModuleRef } from './task.js';

export class WorkerModules {
  private readonly lru: LRUCache<string, PreparedModule>;

  constructor(budgetBytes: number) {
    this.lru = new LRUCache({ maxSize: Math.max(1, budgetBytes), sizeCalculation: (p) => Math.max(1, p.info.bytes * COMPILED_SIZE_FACTOR) });
  }

  /** The module a reference names (kept when it came along), or undefined when it is not held. */
  resolve(ref: ModuleRef): PreparedModule | undefined {
    if (ref.module) {
      this.lru.set(ref.key, ref.module);
      return ref.module;
    }
    return this.lru.get(ref.key);
  }
}
