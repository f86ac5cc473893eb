/**
 * Which worker threads hold which prepared modules, as far as the pool knows: a module goes to a
 * worker by key alone once every live worker has answered a task that carried it. A worker that
 * dropped one meanwhile answers `missing`, and the pool forgets it there and sends the task whole.
 */
import { LRUCache } from 'lru-cache';
import { type PreparedModule, preparedKey } from '../engine/prepare.js';
import type { ModuleRef } from './task.js';

export class ModuleHolders {
  private readonly byKey = new LRUCache<string, Set<number>>({ max: 8192 });

  /** The reference a task carries: the key alone when all of `threads` hold the module. */
  ref(p: PreparedModule, threads: number[]): ModuleRef {
    const key = preparedKey(p);
    const holders = this.byKey.get(key);
    if (threads.length && holders && threads.every((t) => holders.has(t))) return { key };
    return { key, module: p };
  }

  held(keys: string[], thread: number): void {
    for (const k of keys) {
      let s = this.byKey.get(k);
      if (!s) this.byKey.set(k, (s = new Set()));
      s.add(thread);
    }
  }

  forget(keys: string[], thread: number): void {
    for (const k of keys) this.byKey.get(k)?.delete(thread);
  }
}
