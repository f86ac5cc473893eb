/**
 * Random valid modules from binaryen's translate-to-fuzz (`wasm-opt <random bytes> -ttf`), the
 * random bytes derived from a seed (prng.ts), so a seed names a module.
 *
 * Features: only what the instrumenter meters and the service accepts (src/wasm/opcodes.ts): the MVP
 * with sign extension, non-trapping float-to-int, mutable globals, bulk memory and multivalue; a
 * quarter of the seeds add reference types and tail calls. No SIMD (a v128 export cannot be called
 * from JS), threads, exceptions, GC, memory64 or multi-memory.
 */
import fs, { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import vm from 'node:vm';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Prng } from './prng.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const WASM_OPT = path.join(ROOT, 'node_modules/binaryen/bin/wasm-opt');

export const BASE_FEATURES = [
  '--mvp-features',
  '--enable-sign-ext',
  '--enable-nontrapping-float-to-int',
  '--enable-mutable-globals',
  '--enable-bulk-memory',
  '--enable-multivalue',
];
export const EXTRA_FEATURES = ['--enable-reference-types', '--enable-tail-call'];

export interface Generated {
  seed: number;
  bytes: Uint8Array;
  /** Size of the random input given to -ttf. */
  inputBytes: number;
  features: string[];
}

/** Stream numbers of the case's PRNG: one per purpose, so adding a use does not shift the others. */
export const STREAM = { input: 1, args: 2, limits: 3 } as const;

/**
 * wasm-opt from the binaryen package is an Emscripten build run by node (about 1 s to start); it is
 * run in this thread instead, its script compiled once and its wasm compiled once, each run a fresh
 * instance (~0.1 s). The output is the same bytes as the command line's.
 */
let script: vm.Script | null = null;
let compiled: WebAssembly.Module | null = null;
let capturing = false;

async function wasmOpt(args: string[]): Promise<string[]> {
  script ??= new vm.Script(`(function (Module, require, process, __filename, __dirname) {${readFileSync(WASM_OPT, 'utf8').replace(/^#!.*\n/, '')}\n})`, {
    filename: WASM_OPT,
  });
  const stderr: string[] = [];
  const base = createRequire(WASM_OPT);
  // the tool's own stdout and stderr (warnings) are kept, not printed
  const writeSync = (fd: number, b: Uint8Array | string, offset?: number, length?: number, ...rest: unknown[]): number => {
    if (fd !== 1 && fd !== 2) return (fs.writeSync as (...a: unknown[]) => number)(fd, b, offset, length, ...rest);
    if (typeof b === 'string') {
      if (stderr.length < 100) stderr.push(b);
      return Buffer.byteLength(b);
    }
    const n = length ?? b.length - (offset ?? 0);
    if (stderr.length < 100) stderr.push(Buffer.from(b.subarray(offset ?? 0, (offset ?? 0) + n)).toString());
    return n;
  };
  const quietFs = { ...fs, writeSync };
  const req = (id: string) => (id === 'node:fs' || id === 'fs' ? quietFs : base(id));
  const argv = ['node', WASM_OPT, ...args];
  const proc = new Proxy(process, {
    get(t, k) {
      if (k === 'argv') return argv;
      if (k === 'exit') return (code: number) => { throw Object.assign(new Error(`wasm-opt exit ${code}`), { name: 'ExitStatus' }); };
      const v = (t as unknown as Record<string | symbol, unknown>)[k];
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
    set(t, k, v) {
      if (k !== 'exitCode') (t as unknown as Record<string | symbol, unknown>)[k] = v;
      return true;
    },
  });
  const restore = WebAssembly.instantiate;
  return new Promise<string[]>((resolve, reject) => {
    const Module: Record<string, unknown> = {
      arguments: args,
      print: (x: string) => stderr.push(x),
      printErr: (x: string) => stderr.push(x),
      postRun: [() => resolve(stderr)],
      onAbort: (what: unknown) => reject(new Error(`wasm-opt aborted: ${String(what)} ${stderr.join('\n').slice(-500)}`)),
    };
    if (compiled) {
      const c = compiled;
      Module.instantiateWasm = (info: WebAssembly.Imports, receive: (i: WebAssembly.Instance) => void) => {
        WebAssembly.instantiate(c, info).then(receive, reject);
        return {};
      };
    } else if (!capturing) {
      // the first run compiles the embedded binary: keep the module it compiles
      capturing = true;
      (WebAssembly as { instantiate: unknown }).instantiate = async (b: BufferSource, i: WebAssembly.Imports) => {
        const r = (await restore(b, i)) as unknown as WebAssembly.WebAssemblyInstantiatedSource;
        if (r.module) compiled = r.module;
        WebAssembly.instantiate = restore;
        return r;
      };
    }
    const onRejection = (e: unknown) => {
      if ((e as { name?: string })?.name !== 'ExitStatus') reject(e);
    };
    try {
      (script!.runInThisContext() as (...a: unknown[]) => void)(Module, req, proc, WASM_OPT, path.dirname(WASM_OPT));
    } catch (e) {
      onRejection(e);
    }
  });
}

/**
 * The seeds replayed on wasmtime too (one in four). Their modules get binaryen's --denan pass (NaN
 * results replaced by 0): engines may choose other NaN bits (docs/FUEL-PARITY.md, "nan bits"), and with
 * the bits flowing into integers, logs and memory the comparison would fail for a reason not ours.
 * A seed names one module either way, whoever runs it.
 */
export const oracleSeed = (seed: number): boolean => seed % 4 === 0;

export async function generate(seed: number, opts: { maxInput?: number } = {}): Promise<Generated> {
  const rng = new Prng(seed, STREAM.input);
  const maxInput = opts.maxInput ?? 16 * 1024;
  const inputBytes = 256 + rng.below(maxInput - 256);
  const features = rng.below(4) === 0 ? [...BASE_FEATURES, ...EXTRA_FEATURES] : BASE_FEATURES;
  const input = rng.bytes(inputBytes);
  const dir = mkdtempSync(path.join(tmpdir(), 'ttf-'));
  try {
    const inFile = path.join(dir, 'in.bin');
    const outFile = path.join(dir, 'out.wasm');
    writeFileSync(inFile, input);
    const err = await wasmOpt([inFile, '-ttf', ...features, ...(oracleSeed(seed) ? ['--denan'] : []), '-o', outFile]);
    if (!existsSync(outFile)) throw new Error(`wasm-opt gave no module for seed ${seed}: ${err.join('\n').slice(-500)}`);
    return { seed, bytes: new Uint8Array(readFileSync(outFile)), inputBytes, features };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
