/**
 * The module lookups of one batch: every module named by hash looked up once (by hash, variant and
 * role), all at the same time, and the whole batch waiting for them at most about `boundMs` — not one
 * shared-store timeout per call, one after another.
 */
import type { PreparedModule, Variant } from '../engine/prepare.js';
import { HttpError } from './errors.js';
import type { ModuleResolver } from './module-resolver.js';

/** Left to the store's own timeout (a more precise message) before the batch's bound answers instead. */
const GRACE_MS = 250;

export class BatchLookups {
  private readonly byKey = new Map<string, Promise<PreparedModule>>();
  private readonly expired: Promise<never> | null;
  private timer: NodeJS.Timeout | undefined;

  /** `boundMs`: store.sharedTimeoutMs with a shared store; null without one (local lookups need no bound). */
  constructor(
    private readonly resolver: Pick<ModuleResolver, 'resolve'>,
    private readonly boundMs: number | null,
  ) {
    this.expired =
      boundMs === null
        ? null
        : new Promise<never>((_, reject) => {
            this.timer = setTimeout(() => reject(new Error('expired')), boundMs + GRACE_MS);
          });
    this.expired?.catch(() => undefined); // rejected only for the lookups racing it
  }

  resolve(ref: { wasm: string } | { hash: string }, role: 'contract' | 'library', variant: Variant = 'plain'): Promise<PreparedModule> {
    if ('wasm' in ref) return this.resolver.resolve(ref, role, variant);
    const key = `${ref.hash}:${variant}:${role}`;
    let found = this.byKey.get(key);
    if (!found) {
      found = this.bounded(this.resolver.resolve(ref, role, variant), ref.hash, role);
      this.byKey.set(key, found);
    }
    return found;
  }

  private bounded(lookup: Promise<PreparedModule>, hash: string, role: string): Promise<PreparedModule> {
    if (!this.expired) return lookup;
    const late = this.expired.catch(() => {
      throw new HttpError(
        503,
        'store_unavailable',
        `the shared module store did not answer this batch's lookups within ${this.boundMs} ms (store.sharedTimeoutMs), and the ${role} (${hash}) is not on this replica: retry later`,
        2,
      );
    });
    return Promise.race([lookup, late]);
  }

  /** The batch has its modules: the bound has nothing left to stop. */
  close(): void {
    clearTimeout(this.timer);
  }
}
