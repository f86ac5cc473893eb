/**
 * `npm run bench:extism`: the per-call time of one isolated call through our worker pool (an
 * ExecutionPool of 1 worker; every call a fresh instance of the prepared, metered module) against
 * `@extism/extism` in worker mode (`runInWorker: true`, one instance reused), both sequential, side by
 * side in one run (interleaved rounds, rotating order, medians). Target (docs/BENCHMARKS.md): ours ≤ 0.5×
 * Extism's per-call time.
 *
 * Both sides run the same core function (FNV-1a over the input's payload, K rounds) behind a thin
 * wrapper for each ABI: ours reads the input with `host.input_len`/`host.input_read` and answers 8 bytes
 * with `host.output`; Extism's reads it with `input_length`/`input_load_u64`/`input_load_u8` and answers
 * with `alloc`/`store_u64`/`output_set` (module `extism:host/env`). The input (K as u32 LE, then 60
 * bytes) is the same on both sides; every output of every timed call is compared with a value computed
 * in JS, and our fuel must be the same on every call: the bench throws otherwise.
 *
 * Diagnostics, timed in the same rounds: our `execute()` in the main thread (no pool), `check()` alone,
 * a Piscina round trip of an empty task (the pool's ping), Extism without a worker, and the core
 * function alone (uninstrumented, one instance reused, in the main thread); and the worker's own
 * timings of our pooled calls (queue, instantiate, execute).
 *
 * Options: --rounds N (21), --quick (5 rounds, fewer calls). Needs dist/ (the pool's worker): run it
 * through `npm run bench:extism`, which builds first.
 */
import { readFileSync } from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { parseArgs } from 'node:util';
import type { WorkerOptions } from 'node:worker_threads';
import createPlugin, { type Plugin } from '@extism/extism';
import { DEFAULT_ENGINE_CONFIG, DEFAULT_ENGINE_POLICY, DEFAULT_LIMITS } from '../src/engine/defaults.js';
import { type ExecuteInput, type ExecutionResult, check, execute } from '../src/engine/execute.js';
import { type PreparedModule, prepare } from '../src/engine/prepare.js';
import { ExecutionPool } from '../src/pool/pool.js';
import { machine, median, now, progress, table } from './util.js';

const { values: opt } = parseArgs({ options: { rounds: { type: 'string' }, quick: { type: 'boolean', default: false } } });
const quick = opt.quick;
const ROUNDS = Number(opt.rounds ?? (quick ? 5 : 21));
const TARGET = 0.5;

/**
 * Extism's worker is a `data:` URL whose code ends in `//# sourceMappingURL=worker.js.map`. A worker
 * inherits the parent's exec arguments, so tsx's loader runs in it and turns source maps on, and Node
 * 20 then fails to load it ("ERR_INVALID_URL: worker.js.map" against the data: base; extism/js-sdk#87;
 * `node --enable-source-maps` fails the same way). Workers started from a `data:` URL therefore get no
 * exec arguments here, as under plain `node`: Extism's worker then runs exactly its own code.
 */
function withoutLoaderInDataWorkers(): void {
  const wt = createRequire(import.meta.url)('node:worker_threads') as typeof import('node:worker_threads');
  const Original = wt.Worker;
  wt.Worker = class extends Original {
    constructor(url: string | URL, options: WorkerOptions = {}) {
      super(url, String(url).startsWith('data:') && options.execArgv === undefined ? { ...options, execArgv: [] } : options);
    }
  };
  syncBuiltinESMExports();
}
withoutLoaderInDataWorkers();

// ---------------------------------------------------------------------------------------------
// The modules

/** FNV-1a over [p, p+n), k times, the round number mixed in after each pass. */
const CORE = `
  (func $core (param $p i32) (param $n i32) (param $k i32) (result i64)
    (local $h i64) (local $i i32) (local $r i32)
    (local.set $h (i64.const 0xcbf29ce484222325))
    (block $done
      (br_if $done (i32.eqz (local.get $k)))
      (loop $round
        (local.set $i (i32.const 0))
        (block $pass
          (br_if $pass (i32.eqz (local.get $n)))
          (loop $byte
            (local.set $h
              (i64.mul
                (i64.xor (local.get $h) (i64.load8_u (i32.add (local.get $p) (local.get $i))))
                (i64.const 0x100000001b3)))
            (br_if $byte (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n)))))
        (local.set $h (i64.xor (local.get $h) (i64.extend_i32_u (local.get $r))))
        (br_if $round (i32.lt_u (local.tee $r (i32.add (local.get $r) (i32.const 1))) (local.get $k)))))
    (local.get $h))`;

/** Our host ABI v1 (docs/ABI.md): the input copied to 1024, K = its first 4 bytes, 8 bytes out from 0. */
const OURS = `(module
  (import "host" "input_len" (func $input_len (result i32)))
  (import "host" "input_read" (func $input_read (param i32)))
  (import "host" "output" (func $output (param i32 i32)))
  (memory 1)
  (func (export "main")
    (local $len i32)
    (local.set $len (call $input_len))
    (call $input_read (i32.const 1024))
    (i64.store (i32.const 0)
      (call $core (i32.const 1028) (i32.sub (local.get $len) (i32.const 4)) (i32.load (i32.const 1024))))
    (call $output (i32.const 0) (i32.const 8)))
  ${CORE})`;

/**
 * Extism's plugin ABI (the JS SDK's `extism:host/env`): the input copied to 1024 eight bytes at a time
 * (then byte by byte), as the PDKs do; the answer in a block from `alloc`.
 */
const EXTISM = `(module
  (import "extism:host/env" "input_length" (func $input_length (result i64)))
  (import "extism:host/env" "input_load_u64" (func $input_load_u64 (param i64) (result i64)))
  (import "extism:host/env" "input_load_u8" (func $input_load_u8 (param i64) (result i32)))
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u64" (func $store_u64 (param i64 i64)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (memory (export "memory") 1)
  (func (export "run") (result i32)
    (local $len i32) (local $i i32) (local $out i64)
    (local.set $len (i32.wrap_i64 (call $input_length)))
    (block $words
      (loop $l
        (br_if $words (i32.gt_u (i32.add (local.get $i) (i32.const 8)) (local.get $len)))
        (i64.store (i32.add (i32.const 1024) (local.get $i)) (call $input_load_u64 (i64.extend_i32_u (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $l)))
    (block $tail
      (loop $l
        (br_if $tail (i32.ge_u (local.get $i) (local.get $len)))
        (i32.store8 (i32.add (i32.const 1024) (local.get $i)) (call $input_load_u8 (i64.extend_i32_u (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (local.set $out (call $alloc (i64.const 8)))
    (call $store_u64 (local.get $out)
      (call $core (i32.const 1028) (i32.sub (local.get $len) (i32.const 4)) (i32.load (i32.const 1024))))
    (call $output_set (local.get $out) (i64.const 8))
    (i32.const 0))
  ${CORE})`;

/** The core alone, uninstrumented (diagnostic: what the computation costs without any ABI). */
const BARE = `(module
  (memory (export "memory") 1)
  (func (export "core") (param i32 i32 i32) (result i64) (call $core (local.get 0) (local.get 1) (local.get 2)))
  ${CORE})`;

async function wat(src: string): Promise<Uint8Array> {
  const wabt = await (await import('wabt')).default();
  const mod = wabt.parseWat('bench.wat', src);
  try {
    mod.resolveNames();
    mod.validate();
    return new Uint8Array(mod.toBinary({}).buffer);
  } finally {
    mod.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// The cases: the same 64-byte input on both sides (K, then 60 payload bytes)

const PAYLOAD = Uint8Array.from({ length: 60 }, (_, i) => (i * 37 + 11) & 0xff);

interface Case {
  name: string;
  k: number;
  /** Calls per side per round. */
  calls: number;
  input: Uint8Array;
  expected: Uint8Array;
}

function fnv(payload: Uint8Array, k: number): Uint8Array {
  const M = (1n << 64n) - 1n;
  let h = 0xcbf29ce484222325n;
  for (let r = 0; r < k; r++) {
    for (const b of payload) h = ((h ^ BigInt(b)) * 0x100000001b3n) & M;
    h ^= BigInt(r);
  }
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, h, true);
  return out;
}

function makeCase(name: string, k: number, calls: number): Case {
  const input = new Uint8Array(4 + PAYLOAD.length);
  new DataView(input.buffer).setUint32(0, k, true);
  input.set(PAYLOAD, 4);
  return { name, k, calls, input, expected: fnv(PAYLOAD, k) };
}

const CASES: Case[] = [
  makeCase('tiny (K = 1: 60 bytes hashed)', 1, quick ? 100 : 400),
  makeCase('medium (K = 16,384: 983 kB hashed)', 16384, quick ? 10 : 40),
];

const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);
const hexOf = (b: Uint8Array) => Buffer.from(b).toString('hex');

function expectOutput(side: string, c: Case, got: Uint8Array | null | undefined): void {
  if (!got || !sameBytes(got, c.expected)) {
    throw new Error(`${side}, ${c.name}: output ${got ? hexOf(got) : String(got)} differs from the expected ${hexOf(c.expected)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// The sides

const limits = { ...DEFAULT_LIMITS };
const contract: PreparedModule = prepare(await wat(OURS), DEFAULT_ENGINE_CONFIG.instrument, DEFAULT_ENGINE_POLICY);
const extismModule = new WebAssembly.Module((await wat(EXTISM)) as BufferSource);
const bare = new WebAssembly.Instance(new WebAssembly.Module((await wat(BARE)) as BufferSource)).exports as {
  memory: WebAssembly.Memory;
  core: (p: number, n: number, k: number) => bigint;
};

/** Our execution input, checked as POST /execute checks it (on the main thread, every call). */
function oursInput(c: Case): ExecuteInput {
  const input: ExecuteInput = { contract, entrypoint: 'main', args: [], input: c.input, limits };
  input.checked = check(input);
  return input;
}

/** Fuel of every call of ours, per case: it must never change. */
const fuelOf = new Map<Case, number>();
function expectResult(side: string, c: Case, r: ExecutionResult): void {
  if (!r.ok || !r.result) throw new Error(`${side}, ${c.name}: the execution failed: ${JSON.stringify(r.error)}`);
  expectOutput(side, c, Buffer.from(r.result.output, 'base64'));
  const fuel = fuelOf.get(c);
  if (fuel === undefined) fuelOf.set(c, r.fuel.consumed);
  else if (fuel !== r.fuel.consumed) throw new Error(`${side}, ${c.name}: fuel ${r.fuel.consumed}, another call ${fuel}`);
}

const pool = new ExecutionPool({ workers: 1, maxQueue: 16, engine: DEFAULT_ENGINE_CONFIG });
await pool.warmUp();
const extismWorker: Plugin = await createPlugin({ wasm: [{ module: extismModule }] }, { runInWorker: true, useWasi: false });
const extismLocal: Plugin = await createPlugin({ wasm: [{ module: extismModule }] }, { runInWorker: false, useWasi: false });

/** Worker-side timings of our pooled calls (from the answers' `timings`), per case. */
const poolTimings = new Map<Case, { queue: number[]; instantiate: number[]; execute: number[] }>();

/**
 * The JS SDK (1.0.3) keeps every call's input and output blocks until `reset()`, and in worker mode
 * each call exports and imports that whole list: without a reset the per-call time grows with the
 * number of calls made (measured here: ~60 µs → ~200 µs over 8,000 calls). So the plugin is reset,
 * untimed, every RESET_EVERY calls: Extism is measured at its best.
 */
const RESET_EVERY = 50;
async function extismCalls(plugin: Plugin, side: string, c: Case): Promise<number> {
  const outs: (Uint8Array | undefined)[] = [];
  let ms = 0;
  for (let done = 0; done < c.calls; ) {
    const n = Math.min(RESET_EVERY, c.calls - done);
    const t = now();
    for (let i = 0; i < n; i++) outs.push((await plugin.call('run', c.input))?.bytes());
    ms += now() - t;
    done += n;
    await plugin.reset();
  }
  for (const o of outs) expectOutput(side, c, o);
  return ms / c.calls;
}

interface Side {
  name: string;
  /** Runs `c.calls` sequential calls; returns ms per call. Outputs are checked after the timed loop. */
  run(c: Case): Promise<number>;
}

const SIDES: Side[] = [
  {
    name: 'ours: pool, 1 worker',
    async run(c) {
      const results: Awaited<ReturnType<ExecutionPool['execute']>>[] = [];
      const t = now();
      for (let i = 0; i < c.calls; i++) results.push(await pool.execute(oursInput(c), 0));
      const ms = (now() - t) / c.calls;
      const tm = poolTimings.get(c) ?? { queue: [], instantiate: [], execute: [] };
      poolTimings.set(c, tm);
      for (const r of results) {
        if (!r.result) throw new Error(`ours (pool), ${c.name}: ${JSON.stringify(r)}`);
        expectResult('ours (pool)', c, r.result);
        tm.queue.push(r.result.timings.queueMs);
        tm.instantiate.push(r.result.timings.instantiateMs);
        tm.execute.push(r.result.timings.executeMs);
      }
      return ms;
    },
  },
  {
    name: '@extism/extism, worker',
    run: (c) => extismCalls(extismWorker, 'extism (worker)', c),
  },
  {
    name: 'ours: execute() in the main thread',
    async run(c) {
      const results: ExecutionResult[] = [];
      const t = now();
      for (let i = 0; i < c.calls; i++) results.push(execute(oursInput(c), DEFAULT_ENGINE_CONFIG));
      const ms = (now() - t) / c.calls;
      for (const r of results) expectResult('ours (in thread)', c, r);
      return ms;
    },
  },
  {
    name: '@extism/extism, no worker',
    run: (c) => extismCalls(extismLocal, 'extism (no worker)', c),
  },
  {
    name: 'ours: check() alone (main thread)',
    async run(c) {
      const t = now();
      for (let i = 0; i < c.calls; i++) oursInput(c);
      return (now() - t) / c.calls;
    },
  },
  {
    name: 'pool ping (empty task round trip)',
    async run(c) {
      const t = now();
      for (let i = 0; i < c.calls; i++) await pool.warmUp();
      return (now() - t) / c.calls;
    },
  },
  {
    name: 'core alone, uninstrumented, in thread',
    async run(c) {
      const outs: bigint[] = [];
      const t = now();
      for (let i = 0; i < c.calls; i++) {
        new Uint8Array(bare.memory.buffer).set(c.input, 1024);
        outs.push(bare.core(1028, c.input.length - 4, c.k));
      }
      const ms = (now() - t) / c.calls;
      for (const h of outs) {
        const b = new Uint8Array(8);
        new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, h), true);
        expectOutput('core alone', c, b);
      }
      return ms;
    },
  },
];

// ---------------------------------------------------------------------------------------------
// Run

try {
  const started = now();
  // warm-up: every side's code tiered up (V8 compiles wasm lazily, Liftoff first), and a check of every side
  progress(`warm-up (${SIDES.length} sides × ${CASES.length} cases)…`);
  for (let w = 0; w < 3; w++) for (const c of CASES) for (const s of SIDES) await s.run(c);
  poolTimings.clear();

  const times = new Map<string, number[]>(); // `${case}\0${side}` → ms per call, one per round
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of CASES) {
      // rotate which side goes first
      const order = SIDES.map((_, i) => SIDES[(i + round) % SIDES.length]!);
      for (const s of order) {
        const key = `${c.name}\0${s.name}`;
        const ms = await s.run(c);
        times.set(key, [...(times.get(key) ?? []), ms]);
      }
    }
    progress(`round ${round + 1}/${ROUNDS}`);
  }
  const us = (c: Case, s: Side) => median(times.get(`${c.name}\0${s.name}`)!) * 1000;
  const ratios = (c: Case) => {
    // the ratio of each round (both sides timed in it), then their median
    const a = times.get(`${c.name}\0${SIDES[0]!.name}`)!;
    const b = times.get(`${c.name}\0${SIDES[1]!.name}`)!;
    return a.map((x, i) => x / b[i]!);
  };

  const m = machine();
  const f1 = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
  const lines: string[] = [];
  lines.push(`### Isolated call vs @extism/extism (\`npm run bench:extism\`)`, '');
  lines.push(`Run of ${m.date}, ${((now() - started) / 1000).toFixed(0)} s; ${ROUNDS} rounds.`, '');
  lines.push(`- Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB; ${m.platform}`);
  lines.push(`- Node ${m.node} (V8 ${m.v8}); commit ${m.commit}; @extism/extism ${extismVersion()}`);
  lines.push(
    `- Input: 64 bytes (K as u32 LE, then 60 bytes), output 8 bytes; ours: ExecutionPool of 1 worker, default engine config and limits, a fresh instance per call, \`check()\` on the main thread per call as POST /execute does; Extism: \`runInWorker: true, useWasi: false\`, one instance, reset (untimed) every ${RESET_EVERY} calls; its worker started without tsx's loader (see bench/extism.ts).`,
    '',
  );
  lines.push(
    table(
      ['case', 'ours µs', 'extism µs', 'ratio ours / extism', 'range', 'target', 'verdict', 'our fuel per call'],
      CASES.map((c) => {
        const r = ratios(c);
        const ratio = median(r);
        return [
          c.name,
          f1(us(c, SIDES[0]!)),
          f1(us(c, SIDES[1]!)),
          `**${ratio.toFixed(2)}×**`,
          `${Math.min(...r).toFixed(2)}–${Math.max(...r).toFixed(2)}`,
          `≤ ${TARGET}×`,
          ratio <= TARGET ? 'met' : '**not met**',
          fuelOf.get(c)!.toLocaleString('en-US'),
        ];
      }),
      ['l', 'r', 'r', 'r', 'r', 'l', 'l', 'r'],
    ),
  );
  lines.push('', `Per call, µs (median over rounds of the mean of ${CASES.map((c) => c.calls).join(' / ')} sequential calls):`, '');
  lines.push(
    table(
      ['side', ...CASES.map((c) => c.name)],
      [
        ...SIDES.map((s) => [s.name, ...CASES.map((c) => f1(us(c, s)))]),
        ['ours: pool − execute() in the main thread (the hand-over)', ...CASES.map((c) => f1(us(c, SIDES[0]!) - us(c, SIDES[2]!)))],
        ['extism: worker − no worker (the hand-over)', ...CASES.map((c) => f1(us(c, SIDES[1]!) - us(c, SIDES[3]!)))],
        ...(['queue', 'instantiate', 'execute'] as const).map((k) => [
          `ours in the pool, worker's timings: ${k}`,
          ...CASES.map((c) => f1(median(poolTimings.get(c)![k]) * 1000)),
        ]),
      ],
      ['l', ...CASES.map(() => 'r' as const)],
    ),
  );
  lines.push('', `Outputs: ${CASES.map((c) => `${c.name.split(' ')[0]} ${hexOf(c.expected)}`).join(', ')} (8 bytes, little-endian), equal on every side and every call.`);
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await extismWorker.close();
  await extismLocal.close();
  await pool.destroy();
}

function extismVersion(): string {
  try {
    // the package's own package.json (not exported: read it from node_modules)
    return JSON.parse(readFileSync(new URL('../node_modules/@extism/extism/package.json', import.meta.url), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}
