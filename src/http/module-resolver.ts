/** Turns a module reference of a request (inline base64 or hash) into a prepared module, compiled once. */
import { decodeArtifact, encodeArtifact, policyKey } from '../engine/prepared-artifact.js';
import {
  COMPILED_SIZE_FACTOR,
  deriveVariantWithBytes,
  prepareWithBytes,
  settingsKey,
  sha256Hex,
  toShared,
  type InstrumentSettings,
  type PreparedModule,
  type Variant,
} from '../engine/prepare.js';
import type { Policy } from '../wasm/policy.js';
import type { ArtifactStore } from '../store/artifact-store.js';
import type { TieredModuleStore } from '../store/tiered-store.js';
import type { PreparedCache } from '../store/prepared-cache.js';
import { RequestError } from '../engine/errors.js';
import { HttpError, moduleTooLarge, storeOr503 } from './errors.js';
import { base64Problem, moduleBytesHint } from './input-hints.js';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Strict standard base64 on one line (padding optional): anything else, whitespace included, is a
 * 400 naming the field, the first offending character and its offset, and the fix (docs/API.md).
 */
export function decodeBase64(text: string, field: string): Uint8Array {
  if (!BASE64.test(text) || text.length % 4 === 1) throw new HttpError(400, 'bad_request', `${field} is not valid base64: ${base64Problem(text)}`);
  const buf = Buffer.from(text, 'base64');
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
}

/**
 * An invalid module named by where it came from (`the contract module (body.contract.wasm)`), with
 * what the bytes most likely are when they are not a binary module (hex, base64, WAT, a file name).
 */
export function explainInvalid(e: unknown, bytes: Uint8Array, what: string, opts: { text?: string; inline: boolean }): unknown {
  if (!(e instanceof RequestError) || e.kind !== 'invalid_module') return e;
  const hint = moduleBytesHint(bytes, opts);
  return new RequestError('invalid_module', `${what} is not valid WebAssembly: ${e.message}${hint ? ` — ${hint}` : ''}`);
}

const notStored = (hash: string, role: string) => new HttpError(404, 'not_found', `no module with hash ${hash} (the ${role}): upload it with PUT /modules`);

export class ModuleResolver {
  private readonly keys: Record<Variant, string>;
  private readonly policyKey: string;
  /** Stored modules being loaded or prepared, by cache key: concurrent requests share one. */
  private readonly inflight = new Map<string, Promise<PreparedModule>>();

  constructor(
    private readonly store: TieredModuleStore,
    private readonly prepared: PreparedCache<PreparedModule>,
    private readonly settings: InstrumentSettings,
    private readonly policy: Policy,
    /** Where prepared modules persist across restarts; null = prepare again after each start. */
    private readonly artifacts: ArtifactStore | null = null,
  ) {
    this.keys = { plain: settingsKey(settings, 'plain'), shared: settingsKey(settings, 'shared') };
    this.policyKey = policyKey(policy);
  }

  checkSize(bytes: number, what: string): void {
    if (bytes > this.policy.maxModuleBytes) throw moduleTooLarge(what, this.policy.maxModuleBytes, bytes);
  }

  /**
   * Prepared (instrumented, compiled) module for these bytes; cached by hash and variant (plain for
   * bridge linking, shared for shared-memory linking). A variant is derived from the other one's
   * validated module when that one is cached.
   */
  prepareBytes(bytes: Uint8Array, hash = sha256Hex(bytes), variant: Variant = 'plain'): PreparedModule {
    const key = `${hash}:${this.keys[variant]}`;
    return this.prepared.get(key) ?? this.prepareNow(bytes, hash, variant, key).prepared;
  }

  /**
   * A stored module (PUT, or read by hash), prepared: from the cache, else from its persisted artifact
   * (compiled, no instrumenting), else prepared now and its artifact written for the next start.
   */
  async prepareStored(bytes: Uint8Array, hash = sha256Hex(bytes), variant: Variant = 'plain'): Promise<PreparedModule> {
    return this.prepared.get(`${hash}:${this.keys[variant]}`) ?? this.fromStore(hash, variant, bytes, 'module');
  }

  /**
   * `prepareStored` after a cache miss; `bytes` may be read from the store (started only when no
   * load of this module is in flight; null: not stored, a 404) at the same time as the artifact.
   */
  private fromStore(hash: string, variant: Variant, bytes: Uint8Array | (() => Promise<Uint8Array | null>), role: string): Promise<PreparedModule> {
    const key = `${hash}:${this.keys[variant]}`;
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.loadOrPrepare(hash, variant, key, typeof bytes === 'function' ? bytes() : bytes, role).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return pending;
  }

  private async loadOrPrepare(hash: string, variant: Variant, key: string, bytesOrPending: Uint8Array | Promise<Uint8Array | null>, role: string): Promise<PreparedModule> {
    const artifacts = this.artifacts;
    const [bytes, stored] = await Promise.all([bytesOrPending, artifacts?.get(hash, this.keys[variant]) ?? null]);
    if (!bytes) throw notStored(hash, role);
    const loaded = stored && decodeArtifact(stored, toShared(bytes), this.settings, { hash, settingsKey: this.keys[variant], policyKey: this.policyKey });
    if (loaded) {
      this.prepared.set(key, loaded, bytes.length * COMPILED_SIZE_FACTOR);
      return loaded;
    }
    // none, or one made by another instrumenter version or policy: prepare, and replace it
    const { prepared, instrumented } = this.prepareNow(bytes, hash, variant, key);
    await artifacts?.put(hash, this.keys[variant], encodeArtifact(prepared, instrumented, this.policyKey));
    return prepared;
  }

  /** Prepares (or derives from the other variant, when cached) and caches. */
  private prepareNow(bytes: Uint8Array, hash: string, variant: Variant, key: string) {
    const other = this.prepared.peek(`${hash}:${this.keys[variant === 'plain' ? 'shared' : 'plain']}`);
    const made = other ? deriveVariantWithBytes(other, variant) : prepareWithBytes(bytes, this.settings, this.policy, variant);
    this.prepared.set(key, made.prepared, bytes.length * COMPILED_SIZE_FACTOR);
    return made;
  }

  async resolve(ref: { wasm: string } | { hash: string }, role: 'contract' | 'library', variant: Variant = 'plain'): Promise<PreparedModule> {
    if ('wasm' in ref) {
      const at = `body.${role}`; // where it is in the request, for messages
      // base64 is 4/3 of the bytes: refuse oversized text before decoding it
      const padding = ref.wasm.endsWith('==') ? 2 : ref.wasm.endsWith('=') ? 1 : 0;
      this.checkSize(Math.floor((ref.wasm.length * 3) / 4) - padding, `the ${role} module`);
      const bytes = decodeBase64(ref.wasm, `${at}.wasm`);
      this.checkSize(bytes.length, `the ${role} module`);
      try {
        return this.prepareBytes(bytes, undefined, variant);
      } catch (e) {
        throw explainInvalid(e, bytes, `the ${role} module (${at}.wasm)`, { text: ref.wasm, inline: true });
      }
    }
    // By hash, the store alone answers: the caches also hold modules sent inline only, or evicted
    // from a memory-only store, which GET /modules/:hash calls unknown (404), and so must this.
    const consequence = `and the ${role} (${ref.hash}) is not on this replica: retry later`;
    if (!(await storeOr503(this.store.has(ref.hash), consequence))) throw notStored(ref.hash, role);
    const cached = this.prepared.get(`${ref.hash}:${this.keys[variant]}`);
    if (cached) return cached;
    const read = () => storeOr503(this.store.get(ref.hash), consequence);
    return this.fromStore(ref.hash, variant, read, role);
  }
}
