/**
 * The wasm the benchmarks run: the Rust-built examples, and real-world modules shipped in npm packages
 * (hash-wasm's hand-tuned hashes, @polkadot/wasm-crypto's Rust crypto, and the wasm of binaryen.js and
 * wabt, the two largest modules at hand).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WasmModule } from '../src/wasm/module.js';
import { SectionId } from '../src/wasm/module.js';

const require = createRequire(import.meta.url);
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export function example(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(ROOT, 'examples', 'wasm', `${name}.wasm`)));
}

let hashWasm: Map<string, Uint8Array> | undefined;

/** hash-wasm embeds each algorithm's module as base64 (`var name$x = "sha256"; var data$x = "AGFzbQ..."`). */
export function hashWasmModule(name: string): Uint8Array {
  if (!hashWasm) {
    const dir = dirname(require.resolve('hash-wasm'));
    const src = readFileSync(join(dir, 'index.esm.js'), 'utf8');
    hashWasm = new Map();
    const re = /var name(\$\w+)? = "([\w-]+)";\s*var data\1 = "([A-Za-z0-9+/=]+)";/g;
    for (const m of src.matchAll(re)) hashWasm.set(m[2]!, new Uint8Array(Buffer.from(m[3]!, 'base64')));
  }
  const bytes = hashWasm.get(name);
  if (!bytes) throw new Error(`hash-wasm has no module "${name}" (found: ${[...hashWasm.keys()].join(', ')})`);
  return bytes;
}

export async function polkadotCrypto(): Promise<Uint8Array> {
  const { wasmBytes } = await import('@polkadot/wasm-crypto-wasm');
  return wasmBytes;
}

/**
 * Loads a package whose module is instantiated from embedded bytes at import time, capturing those
 * bytes by wrapping `WebAssembly.instantiate` for the duration of the import.
 */
async function captureInstantiate<T>(load: () => Promise<T>): Promise<{ value: T; modules: Uint8Array[] }> {
  const modules: Uint8Array[] = [];
  const original = WebAssembly.instantiate;
  const wrapped = function (this: unknown, source: unknown, ...rest: unknown[]) {
    if (source instanceof ArrayBuffer) modules.push(new Uint8Array(source).slice());
    else if (ArrayBuffer.isView(source)) modules.push(new Uint8Array(source.buffer, source.byteOffset, source.byteLength).slice());
    return (original as (...a: unknown[]) => unknown).call(this, source, ...rest);
  };
  (WebAssembly as { instantiate: unknown }).instantiate = wrapped;
  try {
    const value = await load();
    return { value, modules };
  } finally {
    (WebAssembly as { instantiate: unknown }).instantiate = original;
  }
}

export type Binaryen = typeof import('binaryen').default;

let binaryenCache: Promise<{ binaryen: Binaryen; wasm: Uint8Array }> | undefined;

/** binaryen.js, and the 9.9 MB module it runs on (its own wasm, shipped inside index.js). */
export function binaryen(): Promise<{ binaryen: Binaryen; wasm: Uint8Array }> {
  binaryenCache ??= captureInstantiate(async () => (await import('binaryen')).default).then(({ value, modules }) => {
    const wasm = largest(modules);
    if (!wasm) throw new Error('could not capture binaryen.js wasm');
    return { binaryen: value, wasm };
  });
  return binaryenCache;
}

/** wabt.js's module (shipped inside its index.js). */
export async function wabtWasm(): Promise<Uint8Array> {
  const { modules } = await captureInstantiate(async () => (await import('wabt')).default());
  const wasm = largest(modules);
  if (!wasm) throw new Error('could not capture wabt wasm');
  return wasm;
}

function largest(xs: Uint8Array[]): Uint8Array | undefined {
  return xs.reduce<Uint8Array | undefined>((a, b) => (!a || b.length > a.length ? b : a), undefined);
}

/** Payload size of the code section (function bodies with their size prefixes and count). */
export function codeBytes(m: WasmModule): number {
  const s = m.sections.find((x) => x.id === SectionId.code);
  return s ? s.end - s.start : 0;
}
