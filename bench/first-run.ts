/**
 * First execution of a module never seen before (target, docs/BENCHMARKS.md: instrument + compile + run ≤ 1.5× plain
 * `WebAssembly.compile` + run). Each pair of runs gets a fresh module — the same bytes with a
 * different nonce in a custom section, so V8 cannot reuse a module it compiled earlier — and times
 *   plain:   WebAssembly.compile(bytes) → instantiate → one small call
 *   metered: instrument(bytes) → WebAssembly.compile → instantiate (with the meter) → the same call
 * alternating which goes first. Both paths use the asynchronous compile (the engine's prepare() uses
 * the synchronous `new WebAssembly.Module`; the work is the same). The main case is a generated
 * 1 MiB module of many ordinary functions (loops, branches, loads/stores, calls); real modules from
 * npm are listed beside it.
 *
 * Node 20's V8 compiles wasm lazily by default: `WebAssembly.compile` only validates (eagerly), and
 * each function is compiled by Liftoff on its first call. Every case is therefore measured twice:
 * with V8's default, and with `--no-wasm-lazy-compilation` (set at run time through node:v8), where
 * compile compiles every function up front, as an ahead-of-time engine would.
 */
import v8 from 'node:v8';
import { instrument } from '../src/wasm/instrument.js';
import { ByteWriter } from '../src/wasm/leb.js';
import { METER_GLOBALS, METER_MODULE } from '../src/wasm/meter-abi.js';
import { readModule } from '../src/wasm/reader.js';
import { binaryen, polkadotCrypto } from './corpus.js';
import { DEPTH, ENGINE_OPTIONS, FUEL, PAGES } from './overhead.js';
import { median, now, progress } from './util.js';

/**
 * A module of `count` functions `(i32 a, i32 b) -> i32`: a loop of `a` iterations over arithmetic,
 * memory and an if/else (the loop body repeated `unroll` times), then, when b > 0 and the function
 * is not the first, a call to the previous function with b - 1. Export `run` is the last function.
 */
export function syntheticModule(count: number, unroll: number): Uint8Array {
  const w = new ByteWriter(1 << 21);
  w.bytes(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]));
  const section = (id: number, build: (s: ByteWriter) => void) => {
    const s = new ByteWriter(1024);
    build(s);
    w.byte(id).u32(s.len).bytes(s.buf, 0, s.len);
  };
  section(1, (s) => s.u32(1).byte(0x60).u32(2).byte(0x7f).byte(0x7f).u32(1).byte(0x7f));
  section(3, (s) => {
    s.u32(count);
    for (let i = 0; i < count; i++) s.u32(0);
  });
  section(5, (s) => s.u32(1).byte(0).u32(1)); // memory 1
  section(7, (s) => s.u32(2).name('run').byte(0).u32(count - 1).name('memory').byte(2).u32(0));
  section(10, (s) => {
    s.u32(count);
    const body = new ByteWriter(4096);
    for (let f = 0; f < count; f++) {
      body.len = 0;
      const k = (f * 2654435761) >>> 0;
      body.u32(1).u32(2).byte(0x7f); // locals: i (2), acc (3)
      body.byte(0x20).u32(0).byte(0x21).u32(2); // i = a
      body.byte(0x41).s32(k | 0).byte(0x21).u32(3); // acc = k
      body.byte(0x02).byte(0x40).byte(0x03).byte(0x40); // block loop
      body.byte(0x20).u32(2).byte(0x45).byte(0x0d).u32(1); // br_if 1 (i == 0)
      for (let u = 0; u < unroll; u++) {
        const c = (k >>> (u % 24)) | 1;
        // acc = acc + i * c
        body.byte(0x20).u32(3).byte(0x20).u32(2).byte(0x41).s32(c).byte(0x6c).byte(0x6a).byte(0x21).u32(3);
        // acc ^= mem[(i * 4 + u * 8) & 0xffc]
        body.byte(0x20).u32(2).byte(0x41).s32(4).byte(0x6c).byte(0x41).s32(u * 8).byte(0x6a);
        body.byte(0x41).s32(0xffc).byte(0x71).byte(0x28).u32(2).u32(0);
        body.byte(0x20).u32(3).byte(0x73).byte(0x21).u32(3);
        // mem[(acc) & 0xffc] = acc
        body.byte(0x20).u32(3).byte(0x41).s32(0xffc).byte(0x71).byte(0x20).u32(3).byte(0x36).u32(2).u32(0);
        // if (acc & 1) acc = rotl(acc, u + 1) else acc += c
        body.byte(0x20).u32(3).byte(0x41).s32(1).byte(0x71).byte(0x04).byte(0x40);
        body.byte(0x20).u32(3).byte(0x41).s32(u + 1).byte(0x77).byte(0x21).u32(3);
        body.byte(0x05);
        body.byte(0x20).u32(3).byte(0x41).s32(c).byte(0x6a).byte(0x21).u32(3);
        body.byte(0x0b);
      }
      body.byte(0x20).u32(2).byte(0x41).s32(1).byte(0x6b).byte(0x21).u32(2); // i -= 1
      body.byte(0x0c).u32(0).byte(0x0b).byte(0x0b); // br 0; end loop; end block
      if (f > 0) {
        // b == 0 ? acc : acc + prev(a, b - 1)
        body.byte(0x20).u32(1).byte(0x45).byte(0x04).byte(0x7f);
        body.byte(0x20).u32(3);
        body.byte(0x05);
        body.byte(0x20).u32(3).byte(0x20).u32(0).byte(0x20).u32(1).byte(0x41).s32(1).byte(0x6b);
        body.byte(0x10).u32(f - 1).byte(0x6a);
        body.byte(0x0b);
      } else {
        body.byte(0x20).u32(3);
      }
      body.byte(0x0b);
      s.u32(body.len).bytes(body.buf, 0, body.len);
    }
  });
  return w.finish();
}

/** The module with a custom section `nonce` appended, so that every copy is a different module to V8. */
export function withNonce(bytes: Uint8Array, nonce: number): Uint8Array {
  const payload = new ByteWriter(32).name('nonce').u32(nonce);
  const w = new ByteWriter(bytes.length + 32);
  w.bytes(bytes).byte(0).u32(payload.len).bytes(payload.buf, 0, payload.len);
  return w.finish();
}

function meterImports(): WebAssembly.ModuleImports {
  return {
    [METER_GLOBALS.fuel]: new WebAssembly.Global({ value: 'i64', mutable: true }, FUEL),
    [METER_GLOBALS.stack]: new WebAssembly.Global({ value: 'i32', mutable: true }, DEPTH),
    [METER_GLOBALS.pages]: new WebAssembly.Global({ value: 'i32', mutable: true }, PAGES),
    [METER_GLOBALS.flags]: new WebAssembly.Global({ value: 'i32', mutable: true }, 0),
  };
}

interface Case {
  name: string;
  bytes: Uint8Array;
  /** What the run does; empty when the case only compiles (its imports need a full runtime). */
  what: string;
  imports: () => WebAssembly.Imports;
  call?: (exports: WebAssembly.Exports) => string;
}

export type CompileMode = 'lazy (V8 default)' | 'eager';

export interface FirstRunResult {
  name: string;
  mode: CompileMode;
  bytes: number;
  what: string;
  pairs: number;
  plainMs: number;
  meteredMs: number;
  /** Median over pairs of metered / plain. */
  ratio: number;
  /** Median ms of instrument() alone within the metered path. */
  instrumentMs: number;
}

async function cases(quick: boolean): Promise<Case[]> {
  const synth = syntheticModule(3000, 4);
  const pd = await polkadotCrypto();
  const pdImports = (): WebAssembly.Imports => {
    const wbg: Record<string, () => never> = {};
    for (const i of readModule(pd).imports) {
      if (i.module === 'wbg')
        wbg[i.name] = () => {
          throw new Error(`unexpected host call wbg.${i.name}`);
        };
    }
    return { wbg };
  };
  const out: Case[] = [
    {
      name: `generated ${(synth.length / 2 ** 20).toFixed(2)} MiB module (3,000 functions)`,
      bytes: synth,
      what: 'run(100, 50): 51 functions, 100 loop iterations each',
      imports: () => ({}),
      call: (e) => String((e.run as (a: number, b: number) => number)(100, 50)),
    },
    {
      name: '@polkadot/wasm-crypto-wasm',
      bytes: pd,
      what: 'ext_twox(32 B)',
      imports: pdImports,
      call: (e) => {
        // ext_twox(retptr, data_ptr, data_len, rounds) -> Vec<u8>: a tiny call, through wasm-bindgen's ABI
        const x = e as Record<string, (...a: number[]) => number> & { memory: WebAssembly.Memory };
        const ret = x.__wbindgen_add_to_stack_pointer!(-16);
        const p = x.__wbindgen_malloc!(32);
        new Uint8Array(x.memory.buffer, p, 32).fill(7);
        x.ext_twox!(ret, p, 32, 2);
        const v = new DataView(x.memory.buffer);
        const out = Buffer.from(new Uint8Array(x.memory.buffer, v.getInt32(ret, true), v.getInt32(ret + 4, true))).toString('hex');
        x.__wbindgen_add_to_stack_pointer!(16);
        return out;
      },
    },
  ];
  if (!quick) {
    out.push({
      name: 'binaryen.js wasm (compile only)',
      bytes: (await binaryen()).wasm,
      what: '',
      imports: () => ({}),
    });
  }
  return out;
}

async function plainPath(c: Case, bytes: Uint8Array): Promise<string> {
  const mod = await WebAssembly.compile(bytes as BufferSource);
  if (!c.call) return '';
  const inst = await WebAssembly.instantiate(mod, c.imports());
  return c.call(inst.exports);
}

async function meteredPath(c: Case, bytes: Uint8Array): Promise<{ result: string; instrumentMs: number }> {
  const t = now();
  const metered = instrument(bytes, ENGINE_OPTIONS);
  const instrumentMs = now() - t;
  const mod = await WebAssembly.compile(metered as BufferSource);
  if (!c.call) return { result: '', instrumentMs };
  const inst = await WebAssembly.instantiate(mod, { ...c.imports(), [METER_MODULE]: meterImports() });
  return { result: c.call(inst.exports), instrumentMs };
}

export async function runFirstRun(o: { pairs: number; bigPairs: number; quick: boolean }): Promise<FirstRunResult[]> {
  const results: FirstRunResult[] = [];
  let nonce = 1;
  const all = await cases(o.quick);
  try {
    for (const mode of ['lazy (V8 default)', 'eager'] as const) {
      v8.setFlagsFromString(mode === 'eager' ? '--no-wasm-lazy-compilation' : '--wasm-lazy-compilation');
      for (const c of all) {
        const r = await measureCase(c, mode, c.bytes.length > 4_000_000 ? o.bigPairs : o.pairs, () => nonce++);
        results.push(r);
      }
    }
  } finally {
    v8.setFlagsFromString('--wasm-lazy-compilation');
  }
  return results;
}

async function measureCase(c: Case, mode: CompileMode, pairs: number, nextNonce: () => number): Promise<FirstRunResult> {
  {
    progress(`first run (${mode} compilation): ${c.name}`);
    const big = c.bytes.length > 4_000_000;
    // Sanity: a nonce really changes the instrumented bytes too, and both paths agree.
    const a = instrument(withNonce(c.bytes, 0), ENGINE_OPTIONS);
    const b = instrument(withNonce(c.bytes, 1), ENGINE_OPTIONS);
    if (Buffer.compare(a, b) === 0) throw new Error('nonce lost by instrument()');
    // warm-up (JIT of the instrumenter and of the JS glue), then pairs
    for (let k = 0; k < (big ? 1 : 2); k++) {
      const p = await plainPath(c, withNonce(c.bytes, nextNonce()));
      const m = await meteredPath(c, withNonce(c.bytes, nextNonce()));
      if (p !== m.result) throw new Error(`${c.name}: metered result ${m.result} differs from ${p}`);
    }
    const plain: number[] = [];
    const metered: number[] = [];
    const inst: number[] = [];
    const ratios: number[] = [];
    for (let k = 0; k < pairs; k++) {
      const pb = withNonce(c.bytes, nextNonce());
      const mb = withNonce(c.bytes, nextNonce());
      let tp = 0;
      let tm = 0;
      const runPlain = async () => {
        const t = now();
        await plainPath(c, pb);
        tp = now() - t;
      };
      const runMetered = async () => {
        const t = now();
        inst.push((await meteredPath(c, mb)).instrumentMs);
        tm = now() - t;
      };
      if (k % 2 === 0) {
        await runPlain();
        await runMetered();
      } else {
        await runMetered();
        await runPlain();
      }
      plain.push(tp);
      metered.push(tm);
      ratios.push(tm / tp);
    }
    const r: FirstRunResult = {
      name: c.name,
      mode,
      bytes: c.bytes.length,
      what: c.what || '(compile only)',
      pairs,
      plainMs: median(plain),
      meteredMs: median(metered),
      ratio: median(ratios),
      instrumentMs: median(inst),
    };
    progress(
      `  plain ${r.plainMs.toFixed(1)} ms, metered ${r.meteredMs.toFixed(1)} ms (instrument ${r.instrumentMs.toFixed(1)}) → ${r.ratio.toFixed(2)}×`,
    );
    return r;
  }
}
