/**
 * Instrumentation throughput (target, docs/BENCHMARKS.md: ≥ 50 MB/s of code, ≥ 10× a binaryen.js read+write of the
 * same module). `instrument(bytes)` is timed end to end (parse + rewrite + assemble), with the engine's
 * options; its two halves (readModule, instrumentModule) are timed separately too. MB = 10^6 bytes.
 * binaryen.js is timed on the same bytes: `readBinary(bytes)` then `emitBinary()` (then `dispose()`,
 * untimed).
 */
import { instrument, instrumentModule } from '../src/wasm/instrument.js';
import { readModule } from '../src/wasm/reader.js';
import { binaryen, codeBytes, example, hashWasmModule, polkadotCrypto, wabtWasm } from './corpus.js';
import { ENGINE_OPTIONS } from './overhead.js';
import { median, now, progress } from './util.js';

export interface ThroughputResult {
  name: string;
  totalBytes: number;
  codeBytes: number;
  /** Output size / input size. */
  growth: number;
  runs: number;
  /** Median ms of instrument(bytes). */
  instrumentMs: number;
  readMs: number;
  rewriteMs: number;
  codeMBps: number;
  totalMBps: number;
  binaryenRuns: number;
  /** Median ms of binaryen readBinary + emitBinary, or NaN when skipped. */
  binaryenMs: number;
  /** binaryenMs / instrumentMs. */
  vsBinaryen: number;
}

export interface ThroughputOptions {
  /** Time budget per module and measurement, ms (runs stop when exceeded, but at least minRuns). */
  budgetMs: number;
  minRuns: number;
  maxRuns: number;
  binaryenMinRuns: number;
}

/** Repeats `fn` (after one warm-up, or two for quick ones) within a time budget; median ms. */
function measure(fn: () => void, o: { budgetMs: number; minRuns: number; maxRuns: number }): { ms: number; runs: number } {
  const t0 = now();
  fn();
  if (now() - t0 < 200) fn();
  const xs: number[] = [];
  const start = now();
  while (xs.length < o.minRuns || (xs.length < o.maxRuns && now() - start < o.budgetMs)) {
    const t = now();
    fn();
    xs.push(now() - t);
  }
  return { ms: median(xs), runs: xs.length };
}

export async function corpus(): Promise<{ name: string; bytes: Uint8Array }[]> {
  const b = await binaryen();
  return [
    { name: 'binaryen.js wasm (npm binaryen 132)', bytes: b.wasm },
    { name: 'wabt.js wasm (npm wabt)', bytes: await wabtWasm() },
    { name: '@polkadot/wasm-crypto-wasm', bytes: await polkadotCrypto() },
    { name: 'examples library.wasm', bytes: example('library') },
    { name: 'hash-wasm blake3', bytes: hashWasmModule('blake3') },
    { name: 'examples compute.wasm', bytes: example('compute') },
  ];
}

export async function runThroughput(o: ThroughputOptions): Promise<ThroughputResult[]> {
  const { binaryen: bn } = await binaryen();
  const results: ThroughputResult[] = [];
  for (const { name, bytes } of await corpus()) {
    progress(`throughput: ${name} (${bytes.length.toLocaleString('en-US')} B)`);
    const m = readModule(bytes);
    const code = codeBytes(m);
    let out: Uint8Array = new Uint8Array();
    const whole = measure(() => {
      out = instrument(bytes, ENGINE_OPTIONS);
    }, o);
    if (!WebAssembly.validate(out as BufferSource)) throw new Error(`${name}: instrumented module does not validate`);
    const read = measure(() => readModule(bytes), o);
    const rewrite = measure(() => instrumentModule(m, ENGINE_OPTIONS), o);

    let bMs = NaN;
    let bRuns = 0;
    if (o.binaryenMinRuns > 0) {
      const r = measure(
        () => {
          const mod = bn.readBinary(bytes);
          try {
            mod.emitBinary();
          } finally {
            mod.dispose();
          }
        },
        { budgetMs: o.budgetMs, minRuns: o.binaryenMinRuns, maxRuns: o.maxRuns },
      );
      bMs = r.ms;
      bRuns = r.runs;
    }
    const res: ThroughputResult = {
      name,
      totalBytes: bytes.length,
      codeBytes: code,
      growth: out.length / bytes.length,
      runs: whole.runs,
      instrumentMs: whole.ms,
      readMs: read.ms,
      rewriteMs: rewrite.ms,
      codeMBps: code / 1e3 / whole.ms,
      totalMBps: bytes.length / 1e3 / whole.ms,
      binaryenRuns: bRuns,
      binaryenMs: bMs,
      vsBinaryen: bMs / whole.ms,
    };
    results.push(res);
    progress(
      `  instrument ${whole.ms.toFixed(2)} ms (read ${read.ms.toFixed(2)} + rewrite ${rewrite.ms.toFixed(2)}): ` +
        `${res.codeMBps.toFixed(1)} MB/s of code, ${res.totalMBps.toFixed(1)} MB/s total; ` +
        `binaryen ${bMs.toFixed(2)} ms → ${res.vsBinaryen.toFixed(1)}×`,
    );
  }
  return results;
}
