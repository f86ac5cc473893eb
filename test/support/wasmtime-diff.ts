/**
 * Fuel parity with real wasmtime (docs/FUEL-PARITY.md): the same calls run on our standalone
 * instrumented modules in V8 (`instrument(bytes, { standalone })`, fuel = `__fuel` before − after) and
 * on wasmtime with `consume_fuel` (test/support/wasmtime_fuel.py, fuel = `get_fuel()` before − after),
 * and every call is put into one category.
 *
 * Corpus: the WebAssembly core spec scripts (every `module` and `invoke`, through spec-runner.ts on our
 * side and the same commands replayed by the oracle) and the Rust examples (compute: sha_loop, sort;
 * fib: fib, depth), each example call on a fresh instance.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { instrument } from '../../src/wasm/instrument.js';
import { ByteReader } from '../../src/wasm/leb.js';
import { readOpcode, skipImmediates } from '../../src/wasm/instructions.js';
import { VALTYPE_NAMES, funcTypeOf } from '../../src/wasm/module.js';
import { readModule } from '../../src/wasm/reader.js';
import { repoRoot } from './spec-files.js';
import { wat } from './wat.js';
import { WA, runScript, type Observed, type SpecCommand, type SpecValue, type WasmInstanceObject } from './spec-runner.js';

const FUEL = 2n ** 62n;
/** A stack budget deeper than V8's stack (bytes): infinite recursion ends in V8's RangeError, as in the spec differential. */
const STACK_BYTES = 2_000_000_000;

// ---------------------------------------------------------------------------------------------------
// The oracle.

export type Oracle = { python: string; version: string } | { skip: string };

/** `WASMTIME_PYTHON`, else `.wasmtime-venv/bin/python` in the project: the first that imports wasmtime. */
export function findOracle(): Oracle {
  const root = repoRoot();
  const candidates = [process.env.WASMTIME_PYTHON, path.join(root, '.wasmtime-venv/bin/python')].filter(
    (p): p is string => !!p,
  );
  for (const python of candidates) {
    const r = spawnSync(python, ['-c', 'from importlib.metadata import version; import wasmtime; print(version("wasmtime"))'], {
      encoding: 'utf8',
    });
    if (r.status === 0) return { python, version: r.stdout.trim() };
  }
  return {
    skip:
      `no python with the wasmtime package (tried ${candidates.join(', ')}): ` +
      'python3 -m venv .wasmtime-venv && .wasmtime-venv/bin/pip install wasmtime, or set WASMTIME_PYTHON',
  };
}

/** A spec-suite value, as the scripts' JSON gives it. */
type SpecArg = SpecValue;
type Step =
  | { op: 'module'; id: number; file?: string; wasm?: string; name?: string; transient?: boolean }
  | { op: 'register'; id: number; as: string; name?: string }
  | { op: 'invoke'; id: number; module?: string; field: string; args: SpecArg[]; params?: string[]; results?: string[] };
export interface OracleResult {
  id: number;
  kind: 'ok' | 'trap' | 'exhaustion' | 'error';
  fuel: number;
  values?: string[];
  message?: string;
}

export function runOracle(
  python: string,
  sessions: { name: string; steps: Step[] }[],
  onWritten?: () => void,
): Promise<{ version: string; sessions: OracleResult[][] }> {
  return runPythonJson(python, path.join(repoRoot(), 'test/support/wasmtime_fuel.py'), { sessions }, 'oracle', onWritten);
}

/**
 * Runs a Python oracle script: `input` as JSON on its stdin, its stdout parsed as JSON; a failure carries
 * the end of its stderr. `onWritten`: called once the whole input went through the pipe (the script
 * has read it), so a caller can then block this thread without starving the script of its input.
 */
export function runPythonJson<T>(python: string, script: string, input: unknown, what: string, onWritten?: () => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, [script], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`${what} exited ${code}: ${Buffer.concat(err).toString().slice(-2000)}`));
      else resolve(JSON.parse(Buffer.concat(out).toString()) as T);
    });
    child.stdin.end(JSON.stringify(input), onWritten);
  });
}

// ---------------------------------------------------------------------------------------------------
// Our side.

interface Ours {
  observed: Observed | { kind: 'not-run' };
  fuel?: bigint;
}

const standalone = (bytes: Uint8Array) => instrument(bytes, { standalone: { fuel: FUEL, stackBytes: STACK_BYTES } });

/** Fuel spent so far by a set of standalone instances (each started with FUEL). */
const spent = (instances: WasmInstanceObject[]): bigint =>
  instances.reduce((sum, i) => sum + (FUEL - ((i.exports.__fuel as { value: bigint }).value)), 0n);


/** What the oracle replays of a script: every instantiation and every invoke, by line. */
function specSteps(dir: string): { steps: Step[]; what: Map<number, string> } {
  const name = path.basename(dir);
  const commands = (JSON.parse(readFileSync(path.join(dir, `${name}.json`), 'utf8')) as { commands: SpecCommand[] }).commands;
  const steps: Step[] = [];
  const what = new Map<number, string>();
  // The oracle cannot ask wasmtime-py for a type with v128 in it: the types come from here.
  let current: string | undefined;
  const named = new Map<string, string>();
  for (const c of commands) {
    const file = path.join(dir, c.filename ?? '');
    if (c.type === 'module') {
      current = file;
      if (c.name !== undefined) named.set(c.name, file);
      steps.push({ op: 'module', id: c.line, file, ...(c.name !== undefined && { name: c.name }) });
      what.set(c.line, `module ${c.filename}`);
    } else if (c.type === 'register') {
      steps.push({ op: 'register', id: c.line, as: c.as ?? '', ...(c.name !== undefined && { name: c.name }) });
    } else if (c.type === 'assert_unlinkable' || c.type === 'assert_uninstantiable' || (c.type === 'assert_trap' && !c.action)) {
      steps.push({ op: 'module', id: c.line, file, transient: true });
      what.set(c.line, `${c.type} ${c.filename}`);
    } else if (c.action?.type === 'invoke') {
      const a = c.action;
      const sig = exportSignature(a.module === undefined ? current : named.get(a.module), a.field);
      steps.push({ op: 'invoke', id: c.line, field: a.field, args: a.args ?? [], ...sig, ...(a.module !== undefined && { module: a.module }) });
      what.set(c.line, `invoke ${a.field}`);
    }
  }
  return { steps, what };
}

const signatures = new Map<string, Map<string, { params: string[]; results: string[] }>>();

/** The parameter and result types of the function `file` exports as `field` (empty when unknown). */
function exportSignature(file: string | undefined, field: string): { params?: string[]; results?: string[] } {
  if (file === undefined) return {};
  let sigs = signatures.get(file);
  if (!sigs) {
    sigs = new Map();
    try {
      const m = readModule(new Uint8Array(readFileSync(file)));
      const name = (v: number) => VALTYPE_NAMES[v] ?? `0x${v.toString(16)}`;
      for (const e of m.exports) {
        const t = e.kind === 'func' ? funcTypeOf(m, e.index) : undefined;
        if (t) sigs.set(e.name, { params: t.params.map(name), results: t.results.map(name) });
      }
    } catch {
      // not readable here: the oracle asks wasmtime
    }
    signatures.set(file, sigs);
  }
  return sigs.get(field) ?? {};
}

function runSpecOurs(dir: string): Map<number, Ours> {
  const instances: WasmInstanceObject[] = [];
  const fuel = new Map<number, bigint>();
  let before = 0n;
  const report = runScript(dir, {
    transform: standalone,
    onInstance: (i) => instances.push(i),
    beforeInvoke: () => {
      before = spent(instances);
    },
    afterInvoke: (line) => fuel.set(line, spent(instances) - before),
  });
  const out = new Map<number, Ours>();
  for (const c of report.commands) {
    // A failed instantiation loses its instance (and the fuel its start function spent in it).
    const measured = c.observed.kind === 'ok' || !c.what.startsWith('module');
    out.set(c.line, { observed: c.observed, ...(measured && fuel.has(c.line) && { fuel: fuel.get(c.line)! }) });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// The Rust examples.

export const EXAMPLE_CALLS: Array<[file: string, field: string, arg: number]> = [
  ...[0, 1, 10, 100].map((n): [string, string, number] => ['compute.wasm', 'sha_loop', n]),
  ...[0, 1, 10, 1000, 20000, 300000].map((n): [string, string, number] => ['compute.wasm', 'sort', n]),
  ...[0, 1, 10, 25].map((n): [string, string, number] => ['fib.wasm', 'fib', n]),
  ...[1, 100, 10000, 100000000].map((n): [string, string, number] => ['fib.wasm', 'depth', n]),
];

/** Small modules of our own for the rules the spec suite exercises little: memory.grow, table.grow, bulk, start. */
export const EXTRA_WAT: Array<[name: string, src: string, calls: Array<[field: string, arg: number]>]> = [
  [
    'memory.grow',
    `(module (memory 1 40) (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
      (func (export "grow_fill") (param i32) (result i32) (local i32)
        local.get 0 memory.grow local.tee 1 i32.const 65536 i32.mul i32.const 7 local.get 0 i32.const 65536 i32.mul memory.fill
        local.get 1))`,
    [['grow', 0], ['grow', 1], ['grow', 10], ['grow', 100], ['grow', -1], ['grow_fill', 2], ['grow_fill', 0], ['grow', 25], ['grow', 1]],
  ],
  [
    'table.grow',
    `(module (table 1 50 funcref) (func (export "grow") (param i32) (result i32) ref.null func local.get 0 table.grow)
      (func (export "fill") (param i32) (result i32) i32.const 0 ref.null func local.get 0 table.fill table.size))`,
    [['grow', 0], ['grow', 1], ['grow', 20], ['grow', 100], ['fill', 10], ['fill', 0]],
  ],
  [
    'start with a grow',
    `(module (memory 0) (global $g (mut i32) (i32.const 0))
      (func $s i32.const 3 memory.grow global.set $g) (start $s)
      (func (export "size") (param i32) (result i32) memory.size local.get 0 i32.add))`,
    [['size', 1]],
  ],
];

const resultOf = (v: unknown): string =>
  typeof v === 'bigint' ? `i64:${BigInt.asUintN(64, v)}` : `i32:${(v as number) >>> 0}`;

/** One instance of `bytes`, then each call in turn: results by step id (1 the module, 2.. the calls). */
function runCallsOurs(original: Uint8Array, calls: Array<[string, number]>): Map<number, Ours> {
  const instance = new WA.Instance(new WA.Module(standalone(original)), {});
  const out = new Map<number, Ours>([[1, { observed: { kind: 'ok', values: [] }, fuel: spent([instance]) }]]);
  calls.forEach(([field, arg], i) => {
    const before = spent([instance]);
    let observed: Observed;
    try {
      observed = { kind: 'ok', values: [resultOf((instance.exports[field] as (n: number) => unknown)(arg))] };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const exhausted = err instanceof RangeError || /call stack|depth/i.test(message);
      observed = { kind: exhausted ? 'exhaustion' : 'trap', message };
    }
    out.set(i + 2, { observed, fuel: spent([instance]) - before });
  });
  return out;
}

/** A session of one module and calls with one i32 argument each, for the oracle. */
function callSession(name: string, source: { file: string } | { wasm: string }, label: string, calls: Array<[string, number]>) {
  const steps: Step[] = [{ op: 'module', id: 1, ...source }];
  const what = new Map([[1, `module ${label}`]]);
  calls.forEach(([field, n], i) => {
    steps.push({ op: 'invoke', id: i + 2, field, args: [{ type: 'i32', value: String(n >>> 0) }] });
    what.set(i + 2, `invoke ${field}(${n})`);
  });
  return { name, steps, what };
}

// ---------------------------------------------------------------------------------------------------
// Comparison.

export const CATEGORIES = {
  equal: 'equal fuel, same outcome and values',
  'memory.grow': 'fuel differs in a module using memory.grow (wasmtime: +1 per page added)',
  'start function': 'instantiating a module with a start function: wasmtime calls it from a synthesized startup function (+2, plus what `module startup` adds)',
  'module startup': 'instantiating a module without a start function: wasmtime charges its startup code (global, element and data initialisation); our model charges nothing',
  'table.grow refused':
    'a table.grow that returned -1: ours charges its delta anyway (docs/ABI.md), wasmtime 49 charges the delta only when it succeeds',
  'lost instance': 'a call reaching a function of an instance whose instantiation failed (left in a shared table): its standalone __fuel cannot be read',
  'trap fuel': 'both trapped, fuel differs (ours charges the trapping block up front)',
  'trap equal': 'both trapped with the same fuel',
  exhaustion: 'call stack exhausted on at least one side (depth-dependent, not compared)',
  'after exhaustion': 'a difference after an exhaustion in the same session (a standalone instance is left in a poisoned state)',
  'nan bits': 'equal fuel, a NaN result with other bits (engines may choose NaN payloads)',
  outcome: 'one side returned, the other trapped or failed',
  values: 'equal fuel, different values',
  'not compared': 'skipped by the spec runner, a harness limit, or refused on both sides',
  other: 'fuel differs, no known reason',
} as const;
export type Category = keyof typeof CATEGORIES;

export interface Compared {
  session: string;
  id: number;
  what: string;
  category: Category;
  ours?: bigint;
  theirs?: number;
  detail: string;
}

const isNan = (v: string): boolean => {
  const [t, bits] = v.split(':') as [string, string];
  if (t === 'f32') return (Number(bits) & 0x7f800000) === 0x7f800000 && (Number(bits) & 0x7fffff) !== 0;
  if (t === 'f64') {
    const b = BigInt(bits);
    return (b & 0x7ff0000000000000n) === 0x7ff0000000000000n && (b & 0xfffffffffffffn) !== 0n;
  }
  return false;
};

interface Facts {
  start: boolean;
  grow: boolean;
  tableGrow: boolean;
}
const NO_FACTS: Facts = { start: false, grow: false, tableGrow: false };

/** Static facts of a module: has a start function, uses memory.grow, uses table.grow. */
function facts(file: string): Facts {
  try {
    return factsOf(new Uint8Array(readFileSync(file)));
  } catch {
    return NO_FACTS;
  }
}

function factsOf(bytes: Uint8Array): Facts {
  try {
    const m = readModule(bytes);
    let grow = false;
    let tableGrow = false;
    for (const f of m.code) {
      const r = new ByteReader(m.bytes, f.codeStart, f.body.end);
      while (r.pos < f.body.end) {
        const { op, sub, kind } = readOpcode(r);
        if (op === 0x40) grow = true;
        if (op === 0xfc && sub === 15) tableGrow = true;
        skipImmediates(r, kind);
      }
    }
    return { start: m.start !== null, grow, tableGrow };
  } catch {
    return NO_FACTS;
  }
}

function compare(
  session: string,
  id: number,
  what: string,
  ours: Ours | undefined,
  theirs: OracleResult | undefined,
  ctx: { grow: boolean; tableGrow: boolean; start: boolean; exhausted: boolean; lost: boolean },
): Compared {
  const base = { session, id, what, ...(ours?.fuel !== undefined && { ours: ours.fuel }), ...(theirs && { theirs: theirs.fuel }) };
  const o = ours?.observed;
  const done = (category: Category, detail: string): Compared => ({ ...base, category, detail });
  if (!o || !theirs || o.kind === 'not-run' || o.kind === 'harness-error') return done('not compared', o?.kind ?? 'missing');
  const fuelEqual = ours!.fuel !== undefined && ours!.fuel === BigInt(theirs.fuel);
  const fuelText = `ours ${ours!.fuel ?? '?'}, wasmtime ${theirs.fuel}`;
  if (o.kind === 'exhaustion' || theirs.kind === 'exhaustion') return done('exhaustion', `${o.kind} / ${theirs.kind}; ${fuelText}`);
  if (o.kind === 'ok' && theirs.kind === 'ok') {
    if (ours!.fuel === undefined) return done('not compared', 'no fuel measured');
    if (!fuelEqual) {
      const cat: Category = ctx.exhausted
        ? 'after exhaustion'
        : what.startsWith('module')
          ? ctx.start
            ? 'start function'
            : 'module startup'
          : ctx.lost && BigInt(theirs.fuel) > ours!.fuel
            ? 'lost instance'
            : ctx.tableGrow && BigInt(theirs.fuel) < ours!.fuel && o.values.includes('i32:4294967295')
              ? 'table.grow refused'
            : ctx.grow
              ? 'memory.grow'
              : 'other';
      return done(cat, fuelText);
    }
    const a = o.values;
    const b = theirs.values ?? [];
    if (a.length === b.length && a.every((v, i) => v === b[i])) return done('equal', fuelText);
    if (a.length === b.length && a.every((v, i) => v === b[i] || (isNan(v) && isNan(b[i]!)))) return done('nan bits', `${a} / ${b}`);
    return done(ctx.exhausted ? 'after exhaustion' : 'values', `ours ${a.join(' ')}, wasmtime ${b.join(' ')}`);
  }
  if (o.kind === 'trap' && theirs.kind === 'trap') {
    return done(fuelEqual ? 'trap equal' : 'trap fuel', `${o.message} / ${theirs.message}; ${fuelText}`);
  }
  const oursFailed = o.kind !== 'ok';
  if (oursFailed && theirs.kind === 'error' && what.startsWith('assert_')) return done('not compared', 'refused on both sides');
  if (oursFailed && theirs.kind !== 'ok' && what.startsWith('assert_')) return done('not compared', `${o.kind} / ${theirs.kind}`);
  return done(ctx.exhausted ? 'after exhaustion' : 'outcome', `ours ${o.kind}${'message' in o ? `: ${o.message}` : ''} / wasmtime ${theirs.kind}${theirs.message ? `: ${theirs.message}` : ''}`);
}

// ---------------------------------------------------------------------------------------------------
// A whole run.

export interface DiffRun {
  version: string;
  /** Wall time of the wasmtime oracle and of our side (they run in parallel). */
  oracleMs: number;
  oursMs: number;
  calls: Compared[];
  counts: Record<Category, number>;
  ms: number;
}

/** Runs `scripts` (spec script folders) and, with `examples`, the Rust examples, on both sides. */
export async function runDiff(python: string, scripts: string[], examples = true, extra = examples): Promise<DiffRun> {
  const started = performance.now();
  const root = repoRoot();
  const sessions: { name: string; steps: Step[]; what: Map<number, string> }[] = scripts.map((dir) => ({
    name: path.basename(dir),
    ...specSteps(dir),
  }));
  const exampleCalls = examples ? EXAMPLE_CALLS.filter(([f]) => existsSync(path.join(root, 'examples/wasm', f))) : [];
  // Each example call on a fresh instance (no allocator state carried over; an exhaustion poisons nothing).
  for (const [f, field, n] of exampleCalls) {
    sessions.push(callSession(`${f} ${field}(${n})`, { file: path.join(root, 'examples/wasm', f) }, f, [[field, n]]));
  }
  const extras = extra ? await Promise.all(EXTRA_WAT.map(async ([name, src, calls]) => ({ name, bytes: await wat(src), calls }))) : [];
  for (const x of extras) {
    sessions.push(callSession(x.name, { wasm: Buffer.from(x.bytes).toString('base64') }, x.name, x.calls));
  }
  // wasmtime works in its own process while V8 runs here: our side (synchronous) starts once the
  // script has its input, which goes through the pipe only while this thread's event loop runs.
  let oracleMs = 0;
  let written!: () => void;
  const inputWritten = new Promise<void>((r) => (written = r));
  const theirsPromise = runOracle(
    python,
    sessions.map(({ name, steps }) => ({ name, steps })),
    () => written(),
  ).then((r) => {
    oracleMs = performance.now() - started;
    return r;
  });
  await Promise.race([inputWritten, theirsPromise.then(() => undefined, () => undefined)]);
  const oursStarted = performance.now();
  const ours: Map<number, Ours>[] = scripts.map(runSpecOurs);
  for (const [f, field, n] of exampleCalls) {
    ours.push(runCallsOurs(new Uint8Array(readFileSync(path.join(root, 'examples/wasm', f))), [[field, n]]));
  }
  for (const x of extras) ours.push(runCallsOurs(x.bytes, x.calls));
  const oursMs = performance.now() - oursStarted;
  const theirs = await theirsPromise;

  const calls: Compared[] = [];
  sessions.forEach((s, k) => {
    const byId = new Map(theirs.sessions[k]!.map((r) => [r.id, r]));
    const files = s.steps.flatMap((st) => (st.op === 'module' && st.file ? [st.file] : []));
    const f = files.map(facts);
    const inline = s.steps.flatMap((st) => (st.op === 'module' && st.wasm ? [factsOf(Buffer.from(st.wasm, 'base64'))] : []));
    f.push(...inline);
    const grow = f.some((x) => x.grow);
    const tableGrow = f.some((x) => x.tableGrow);
    const startFiles = new Set(files.filter((_, i) => f[i]!.start));
    let exhausted = false;
    let lost = false;
    for (const st of s.steps) {
      if (st.op === 'register') continue;
      const mine = ours[k]!.get(st.id);
      const c = compare(s.name, st.id, s.what.get(st.id) ?? st.op, mine, byId.get(st.id), {
        grow,
        tableGrow,
        start: st.op === 'module' && (st.file ? startFiles.has(st.file) : inline.some((x) => x.start)),
        exhausted,
        lost,
      });
      if (c.category === 'exhaustion') exhausted = true;
      if (st.op === 'module' && mine && mine.observed.kind !== 'ok' && mine.observed.kind !== 'not-run') lost = true;
      calls.push(c);
    }
  });
  const counts = Object.fromEntries(Object.keys(CATEGORIES).map((c) => [c, 0])) as Record<Category, number>;
  for (const c of calls) counts[c.category]++;
  return { version: theirs.version, calls, counts, ms: performance.now() - started, oracleMs, oursMs };
}

/** One line per category with a count, and up to `examples` example calls of each difference. */
export function formatCounts(run: DiffRun, examples = 2): string {
  const lines = [
    `wasmtime ${run.version}: ${run.calls.length} calls in ${Math.round(run.ms)} ms ` +
      `(wasmtime ${Math.round(run.oracleMs)} ms, ours ${Math.round(run.oursMs)} ms, in parallel)`,
  ];
  for (const [cat, n] of Object.entries(run.counts)) {
    if (n === 0) continue;
    lines.push(`  ${cat}: ${n} (${CATEGORIES[cat as Category]})`);
    if (cat === 'equal' || cat === 'trap equal') continue;
    for (const c of run.calls.filter((x) => x.category === cat).slice(0, examples)) {
      lines.push(`    e.g. ${c.session}:${c.id} ${c.what}: ${c.detail}`);
    }
  }
  return lines.join('\n');
}
