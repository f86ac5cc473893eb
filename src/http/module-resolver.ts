/** Turns a module reference of a request (inline base64 or hash) into a prepared module, compiled once. */
import { COMPILED_SIZE_FACTOR, prepare, sha256Hex, settingsKey, deriveVariant, type InstrumentSettings, type PreparedModule, type Variant } from '../engine/prepare.js';
import type { Policy } from '../wasm/policy.js';
import type { ModuleStore } from '../store/module-store.js';
import type { PreparedCache } from '../store/prepared-cache.js';
import { HttpError, moduleTooLarge } from './errors.js';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Strict standard base64 (padding optional): anything else is a 400 naming the field. */
export function decodeBase64(text: string, field: string): Uint8Array {
  if (!BASE64.test(text) || text.length % 4 === 1) throw new HttpError(400, 'bad_request', `${field} is not valid base64`);
  const buf = Buffer.from(text, 'base64');
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
}

export class ModuleResolver {
  private readonly keys: Record<Variant, string>;

  constructor(
    private readonly store: ModuleStore,
    private readonly prepared: PreparedCache<PreparedModule>,
    private readonly settings: InstrumentSettings,
    private readonly policy: Policy,
  ) {
    this.keys = { plain: settingsKey(settings, 'plain'), shared: settingsKey(settings, 'shared') };
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
    return this.prepared.getOrCreate(`${hash}:${this.keys[variant]}`, bytes.length * COMPILED_SIZE_FACTOR, () => {
      const other = this.prepared.peek(`${hash}:${this.keys[variant === 'plain' ? 'shared' : 'plain']}`);
      return other ? deriveVariant(other, variant) : prepare(bytes, this.settings, this.policy, variant);
    });
  }

  async resolve(ref: { wasm: string } | { hash: string }, role: 'contract' | 'library', variant: Variant = 'plain'): Promise<PreparedModule> {
    if ('wasm' in ref) {
      // base64 is 4/3 of the bytes: refuse oversized text before decoding it
      const padding = ref.wasm.endsWith('==') ? 2 : ref.wasm.endsWith('=') ? 1 : 0;
      this.checkSize(Math.floor((ref.wasm.length * 3) / 4) - padding, `the ${role} module`);
      const bytes = decodeBase64(ref.wasm, `${role}.wasm`);
      this.checkSize(bytes.length, `the ${role} module`);
      return this.prepareBytes(bytes, undefined, variant);
    }
    const cached = this.prepared.get(`${ref.hash}:${this.keys[variant]}`);
    if (cached) return cached;
    const bytes = await this.store.get(ref.hash);
    if (!bytes) throw new HttpError(404, 'not_found', `no module with hash ${ref.hash} (the ${role}): upload it with PUT /modules`);
    return this.prepareBytes(bytes, ref.hash, variant);
  }
}
