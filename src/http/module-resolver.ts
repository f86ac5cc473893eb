/** Turns a module reference of a request (inline base64 or hash) into a prepared module, compiled once. */
import { prepare, sha256Hex, settingsKey, type InstrumentSettings, type PreparedModule } from '../engine/prepare.js';
import type { Policy } from '../wasm/policy.js';
import type { ModuleStore } from '../store/module-store.js';
import type { PreparedCache } from '../store/prepared-cache.js';
import { HttpError } from './errors.js';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Strict standard base64 (padding optional): anything else is a 400 naming the field. */
export function decodeBase64(text: string, field: string): Uint8Array {
  if (!BASE64.test(text) || text.length % 4 === 1) throw new HttpError(400, 'bad_request', `${field} is not valid base64`);
  const buf = Buffer.from(text, 'base64');
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
}

/** Compiled modules are estimated at this many times their size when budgeting the cache. */
const COMPILED_SIZE_FACTOR = 8;

export class ModuleResolver {
  private readonly key: string;

  constructor(
    private readonly store: ModuleStore,
    private readonly prepared: PreparedCache<PreparedModule>,
    private readonly settings: InstrumentSettings,
    private readonly policy: Policy,
  ) {
    this.key = settingsKey(settings);
  }

  checkSize(bytes: number, what: string): void {
    if (bytes > this.policy.maxModuleBytes) {
      throw new HttpError(413, 'too_large', `${what} is ${bytes} bytes, more than the limit of ${this.policy.maxModuleBytes}`);
    }
  }

  /** Prepared (instrumented, compiled) module for these bytes; cached by hash. */
  prepareBytes(bytes: Uint8Array, hash = sha256Hex(bytes)): PreparedModule {
    return this.prepared.getOrCreate(`${hash}:${this.key}`, bytes.length * COMPILED_SIZE_FACTOR, () =>
      prepare(bytes, this.settings, this.policy),
    );
  }

  async resolve(ref: { wasm: string } | { hash: string }, role: 'contract' | 'library'): Promise<PreparedModule> {
    if ('wasm' in ref) {
      // base64 is 4/3 of the bytes: refuse oversized text before decoding it
      this.checkSize(Math.floor((ref.wasm.length * 3) / 4), `the ${role} module`);
      const bytes = decodeBase64(ref.wasm, `${role}.wasm`);
      this.checkSize(bytes.length, `the ${role} module`);
      return this.prepareBytes(bytes);
    }
    const cached = this.prepared.get(`${ref.hash}:${this.key}`);
    if (cached) return cached;
    const bytes = await this.store.get(ref.hash);
    if (!bytes) throw new HttpError(404, 'not_found', `no module with hash ${ref.hash} (the ${role}): upload it with PUT /modules`);
    return this.prepareBytes(bytes, ref.hash);
  }
}
