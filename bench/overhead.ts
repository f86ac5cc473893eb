/**
 * Fuel-metering overhead on CPU-bound wasm (target metered/original ≤ 1.10, docs/BENCHMARKS.md).
 *
 * Every workload runs in one process as four variants of the same module, each compiled and
 * instantiated once: the original, the fully metered module (what the engine runs: fuel + call
 * stack budget + memory budget, the meter in imported globals), two breakdowns (fuel only, stack budget only)
 * and the `standalone` variant (fuel + stack budget with the meter's globals defined inside the module
 * instead of imported: same code, shows what the imported-global indirection costs). After a warm-up (so every
 * hot function has tiered up to TurboFan), rounds run each variant once, rotating the order each
 * round; the reported ratio is the median over rounds of time(variant) / time(original) in that round.
 * Every run's result is checked against an independently computed value (Node's crypto, the numbers
 * in examples/README.md), so a broken variant cannot produce a fast, wrong number.
 */
import { createHash, createPrivateKey, pbkdf2Sync, sign } from 'node:crypto';
import { instrument, type InstrumentOptions } from '../src/wasm/instrument.js';
import { METER_GLOBALS, METER_MODULE } from '../src/wasm/meter-abi.js';
import { readModule } from '../src/wasm/reader.js';
import { codeBytes, example, hashWasmModule, polkadotCrypto } from './corpus.js';
import { median, now, progress } from './util.js';

/** Meter settings of the brief: effectively unlimited, so the runs measure the cost of metering only. */
export const FUEL = 2n ** 62n;
export const DEPTH = 1_000_000;
export const PAGES = 65536;

/** What the engine passes besides the meter (src/engine/prepare.ts). */
export const ENGINE_OPTIONS: InstrumentOptions = { moduleName: 'bench', maxMemoryPages: 4096, maxTableElements: 10_000, localFuel: true };

type Exports = Record<string, unknown>;
type Fn = (...args: unknown[]) => unknown;

interface Workload {
  name: string;
  /** Where the wasm comes from. */
  source: string;
  /** What one run does. */
  run: string;
  bytes: Uint8Array;
  /** Imports besides `__meter`. */
  imports?: () => WebAssembly.Imports;
  /** Returns one run of the workload for an instance; the run returns a value to check. */
  driver: (exports: Exports) => () => string;
  /** The correct result of one run, computed without this wasm. */
  expected: string;
}

export const VARIANTS = ['original', 'metered', 'fuel only', 'stack only', 'standalone'] as const;
export type Variant = (typeof VARIANTS)[number];

function variantOptions(v: Variant): InstrumentOptions | null {
  switch (v) {
    case 'original':
      return null;
    case 'metered':
      return { ...ENGINE_OPTIONS };
    case 'fuel only':
      return { ...ENGINE_OPTIONS, stack: false };
    case 'stack only':
      return { ...ENGINE_OPTIONS, fuel: false };
    case 'standalone':
      return { ...ENGINE_OPTIONS, standalone: { fuel: FUEL, stackBytes: DEPTH } };
  }
}

export interface OverheadResult {
  name: string;
  source: string;
  run: string;
  rounds: number;
  /** Median run time per variant, ms. */
  medianMs: Record<Variant, number>;
  /** Median over rounds of time(variant) / time(original). */
  ratio: Record<Variant, number>;
  /** Min and max of the metered/original ratio over the rounds. */
  spread: [number, number];
  /** Fuel one run consumes (metered variant). */
  fuelPerRun: bigint;
  /** Code section size, metered / original. */
  codeGrowth: number;
}

interface Meter {
  fuel: WebAssembly.Global;
  depth: WebAssembly.Global;
  pages: WebAssembly.Global;
  flags: WebAssembly.Global;
}

function newMeter(): Meter {
  return {
    fuel: new WebAssembly.Global({ value: 'i64', mutable: true }, FUEL),
    depth: new WebAssembly.Global({ value: 'i32', mutable: true }, DEPTH),
    pages: new WebAssembly.Global({ value: 'i32', mutable: true }, PAGES),
    flags: new WebAssembly.Global({ value: 'i32', mutable: true }, 0),
  };
}

function resetMeter(m: Meter): void {
  m.fuel.value = FUEL;
  m.depth.value = DEPTH;
  m.pages.value = PAGES;
  m.flags.value = 0;
}

// ---------------------------------------------------------------------------------------------
// Workloads

/** Deterministic pseudo-random bytes (xorshift32). */
function pseudoRandom(n: number, seed = 0x9e3779b9): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function computeWorkloads(scale: number): Workload[] {
  const compute = example('compute');
  const fib = example('fib');
  const sortN = scale < 1 ? 100_000 : 1_000_000;
  const fibN = scale < 1 ? 30 : 35;
  const fibValue = (n: number) => {
    let a = 0n;
    let b = 1n;
    for (let i = 0; i < n; i++) [a, b] = [b, a + b];
    return a;
  };
  return [
    {
      name: 'compute sha_loop',
      source: 'examples/wasm/compute.wasm (Rust)',
      run: 'sha_loop(100000): 100k SHA-256 compressions',
      bytes: compute,
      driver: (e) => () => String((e.sha_loop as Fn)(100_000)),
      expected: '-310516008',
    },
    {
      name: 'compute sort',
      source: 'examples/wasm/compute.wasm (Rust)',
      run: `sort(${sortN}): xorshift fill + heapsort of ${sortN.toLocaleString('en-US')} u32`,
      bytes: compute,
      driver: (e) => () => String((e.sort as Fn)(sortN)),
      expected: sortN === 1_000_000 ? '886730934' : '1611802089',
    },
    {
      name: 'fib (call-heavy)',
      source: 'examples/wasm/fib.wasm (Rust)',
      run: `fib(${fibN}): ${(2n * fibValue(fibN + 1) - 1n).toLocaleString('en-US')} calls`,
      bytes: fib,
      driver: (e) => () => String((e.fib as Fn)(fibN)),
      expected: String(fibValue(fibN)),
    },
  ];
}

/**
 * hash-wasm's ABI: `Hash_GetBuffer()` is a 16 KiB I/O buffer in linear memory; `Hash_Init(param)`,
 * `Hash_Update(length)` of the buffer's first bytes, `Hash_Final(param)` leaves the digest at the buffer.
 */
function hashWasmWorkload(algo: 'sha256' | 'blake3', mib: number): Workload {
  const chunk = 16 * 1024;
  const data = pseudoRandom(1 << 20);
  const digestLen = 32;
  const reference =
    algo === 'sha256'
      ? (() => {
          const h = createHash('sha256');
          for (let i = 0; i < mib; i++) h.update(data);
          return h.digest('hex');
        })()
      : ''; // filled in by hashWasmReference (Node has no BLAKE3)
  return {
    name: `hash-wasm ${algo}`,
    source: `npm hash-wasm (${algo} module, ${hashWasmModule(algo).length.toLocaleString('en-US')} B)`,
    run: `${algo} of ${mib} MiB in 16 KiB updates`,
    bytes: hashWasmModule(algo),
    driver: (e) => {
      const memory = e.memory as WebAssembly.Memory;
      const init = e.Hash_Init as Fn;
      const update = e.Hash_Update as Fn;
      const final = e.Hash_Final as Fn;
      const bufferAt = (e.Hash_GetBuffer as Fn)() as number;
      return () => {
        init(algo === 'sha256' ? 256 : 0);
        for (let i = 0; i < mib; i++) {
          for (let off = 0; off < data.length; off += chunk) {
            new Uint8Array(memory.buffer, bufferAt, chunk).set(data.subarray(off, off + chunk));
            update(chunk);
          }
        }
        final(algo === 'sha256' ? 0 : digestLen);
        return hex(new Uint8Array(memory.buffer, bufferAt, digestLen).slice());
      };
    },
    expected: reference,
  };
}

/** BLAKE3 reference through hash-wasm's own JS API (a different driver of the same module). */
async function hashWasmReference(algo: 'blake3', mib: number): Promise<string> {
  const hw = await import('hash-wasm');
  const data = pseudoRandom(1 << 20);
  const h = await hw.createBLAKE3(256);
  h.init();
  for (let i = 0; i < mib; i++) h.update(data);
  return h.digest('hex');
}

/**
 * @polkadot/wasm-crypto (Rust, wasm-bindgen ABI): `&[u8]` arguments are copied into memory from
 * `__wbindgen_malloc(len)`, a `Vec<u8>` result is written as (ptr, len) at a return slot taken from
 * the shadow stack with `__wbindgen_add_to_stack_pointer(-16)`.
 */
function wbg(e: Exports) {
  const memory = e.memory as WebAssembly.Memory;
  const malloc = e.__wbindgen_malloc as Fn;
  const free = e.__wbindgen_free as Fn;
  const stack = e.__wbindgen_add_to_stack_pointer as Fn;
  const pass = (b: Uint8Array): [number, number] => {
    const p = malloc(b.length) as number;
    new Uint8Array(memory.buffer, p, b.length).set(b);
    return [p, b.length];
  };
  /** Calls `f(retptr, ...args)` where args are byte arrays (ptr, len) or numbers; returns the Vec<u8>. */
  const callVec = (f: Fn, ...args: (Uint8Array | number)[]): Uint8Array => {
    const ret = stack(-16) as number;
    try {
      const flat: number[] = [];
      for (const a of args) {
        if (typeof a === 'number') flat.push(a);
        else flat.push(...pass(a));
      }
      f(ret, ...flat);
      const view = new DataView(memory.buffer);
      const ptr = view.getInt32(ret, true);
      const len = view.getInt32(ret + 4, true);
      const out = new Uint8Array(memory.buffer, ptr, len).slice();
      free(ptr, len);
      return out;
    } finally {
      stack(16);
    }
  };
  return { callVec };
}

const wbgImports = (bytes: Uint8Array) => (): WebAssembly.Imports => {
  const wbgFns: Record<string, () => never> = {};
  for (const i of readModule(bytes).imports) {
    if (i.module === 'wbg' && i.kind === 'func') {
      wbgFns[i.name] = () => {
        throw new Error(`unexpected host call wbg.${i.name}`);
      };
    }
  }
  return { wbg: wbgFns };
};

async function polkadotWorkloads(scale: number): Promise<Workload[]> {
  const bytes = await polkadotCrypto();
  const imports = wbgImports(bytes);
  const size = `${bytes.length.toLocaleString('en-US')} B`;
  const rounds = scale < 1 ? 10_000 : 50_000;
  const password = new TextEncoder().encode('correct horse battery staple');
  const salt = new TextEncoder().encode('mnemonic-bench-salt');
  const signatures = scale < 1 ? 100 : 400;
  const seed = pseudoRandom(32, 7);
  const message = pseudoRandom(256, 11);
  const nodeKey = createPrivateKey({
    key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]),
    format: 'der',
    type: 'pkcs8',
  });
  const sigHash = (() => {
    const h = createHash('sha256');
    const sig = sign(null, message, nodeKey);
    for (let i = 0; i < signatures; i++) h.update(sig);
    return h.digest('hex');
  })();
  return [
    {
      name: 'polkadot pbkdf2',
      source: `npm @polkadot/wasm-crypto-wasm (Rust, ${size})`,
      run: `PBKDF2-HMAC-SHA512, ${rounds.toLocaleString('en-US')} rounds`,
      bytes,
      imports,
      driver: (e) => {
        const { callVec } = wbg(e);
        return () => hex(callVec(e.ext_pbkdf2 as Fn, password, salt, rounds));
      },
      expected: hex(pbkdf2Sync(password, salt, rounds, 64, 'sha512')),
    },
    {
      name: 'polkadot ed25519',
      source: `npm @polkadot/wasm-crypto-wasm (Rust, ${size})`,
      run: `${signatures} Ed25519 signatures of 256 B`,
      bytes,
      imports,
      driver: (e) => {
        const { callVec } = wbg(e);
        const pair = callVec(e.ext_ed_from_seed as Fn, seed); // secret (32) ‖ public (32)
        const secret = pair.subarray(0, 32);
        const pub = pair.subarray(32, 64);
        return () => {
          const h = createHash('sha256');
          for (let i = 0; i < signatures; i++) h.update(callVec(e.ext_ed_sign as Fn, pub, secret, message));
          return h.digest('hex');
        };
      },
      expected: sigHash,
    },
  ];
}

export async function workloads(scale: number): Promise<Workload[]> {
  const shaMiB = scale < 1 ? 8 : 32;
  const blakeMiB = scale < 1 ? 16 : 64;
  const blake = hashWasmWorkload('blake3', blakeMiB);
  blake.expected = await hashWasmReference('blake3', blakeMiB);
  return [...computeWorkloads(scale), hashWasmWorkload('sha256', shaMiB), blake, ...(await polkadotWorkloads(scale))];
}

// ---------------------------------------------------------------------------------------------

interface Instance {
  variant: Variant;
  meter: Meter | null;
  run: () => string;
}

function instantiate(w: Workload, variant: Variant): { inst: Instance; code: number } {
  const opts = variantOptions(variant);
  const bytes = opts ? instrument(w.bytes, opts) : w.bytes;
  const meter = opts && !opts.standalone ? newMeter() : null;
  const imports: WebAssembly.Imports = { ...(w.imports?.() ?? {}) };
  if (meter) {
    imports[METER_MODULE] = {
      [METER_GLOBALS.fuel]: meter.fuel,
      [METER_GLOBALS.stack]: meter.depth,
      [METER_GLOBALS.pages]: meter.pages,
      [METER_GLOBALS.flags]: meter.flags,
    };
  }
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource), imports);
  return { inst: { variant, meter, run: w.driver(instance.exports as Exports) }, code: codeBytes(readModule(bytes)) };
}

function runChecked(w: Workload, i: Instance): number {
  if (i.meter) resetMeter(i.meter);
  const t = now();
  const got = i.run();
  const ms = now() - t;
  if (got !== w.expected) throw new Error(`${w.name} (${i.variant}): got ${got}, expected ${w.expected}`);
  if (i.meter && (i.meter.flags.value as number) !== 0) throw new Error(`${w.name} (${i.variant}): meter flags set`);
  return ms;
}

export interface OverheadOptions {
  warmup: number;
  rounds: number;
  scale: number;
}

export async function runOverhead(o: OverheadOptions): Promise<OverheadResult[]> {
  const results: OverheadResult[] = [];
  for (const w of await workloads(o.scale)) {
    progress(`overhead: ${w.name} — ${w.run}`);
    const built = VARIANTS.map((v) => instantiate(w, v));
    const insts = built.map((b) => b.inst);
    for (let k = 0; k < o.warmup; k++) for (const i of insts) runChecked(w, i);

    const metered = insts[1]!;
    resetMeter(metered.meter!);
    metered.run();
    const fuelPerRun = FUEL - (metered.meter!.fuel.value as bigint);

    const times: Record<Variant, number[]> = { original: [], metered: [], 'fuel only': [], 'stack only': [], standalone: [] };
    const ratios: Record<Variant, number[]> = { original: [], metered: [], 'fuel only': [], 'stack only': [], standalone: [] };
    for (let r = 0; r < o.rounds; r++) {
      const round = {} as Record<Variant, number>;
      for (let k = 0; k < insts.length; k++) {
        const i = insts[(r + k) % insts.length]!; // rotate who goes first
        round[i.variant] = runChecked(w, i);
      }
      for (const v of VARIANTS) {
        times[v].push(round[v]);
        ratios[v].push(round[v] / round.original);
      }
    }
    const medianMs = {} as Record<Variant, number>;
    const ratio = {} as Record<Variant, number>;
    for (const v of VARIANTS) {
      medianMs[v] = median(times[v]);
      ratio[v] = median(ratios[v]);
    }
    const m = ratios.metered;
    results.push({
      name: w.name,
      source: w.source,
      run: w.run,
      rounds: o.rounds,
      medianMs,
      ratio,
      spread: [Math.min(...m), Math.max(...m)],
      fuelPerRun,
      codeGrowth: built[1]!.code / built[0]!.code,
    });
    progress(
      `  original ${medianMs.original.toFixed(1)} ms, metered ${medianMs.metered.toFixed(1)} ms; ratios: ` +
        VARIANTS.slice(1)
          .map((v) => `${v} ${ratio[v].toFixed(3)}`)
          .join(', '),
    );
  }
  return results;
}
