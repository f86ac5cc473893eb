/**
 * One fuzz case: a module (from its seed, generate.ts) run as the original and as instrumented by
 * the engine's options, call by call, and compared. Pure and synchronous: it runs in a worker
 * thread (worker.ts) so that an original that never ends can be stopped by the caller's timeout.
 *
 * A session is one instance: instantiate (with the start function: deferred under `hostHooks`, so on
 * the instrumented side it is a call of `__meter_start`), then every exported function in export
 * order with deterministic arguments. Each step records its outcome (values, trap message, out of
 * fuel, stack overflow, host error), the calls the module made to its `fuzzing-support` imports, and
 * the value of every global (the probe, probe.ts, exports them); the memory is compared at the end.
 */
import { createHash } from 'node:crypto';
import { DEFAULT_POLICY, checkPolicy } from '../../../src/wasm/policy.js';
import { instrumentModule, ReservedNameError, type InstrumentOptions } from '../../../src/wasm/instrument.js';
import { WasmFormatError } from '../../../src/wasm/leb.js';
import { HOOK_EXPORTS, METER_GLOBALS, METER_MODULE, MeterFlag } from '../../../src/wasm/meter-abi.js';
import { type FuncType, type WasmModule, funcTypeOf } from '../../../src/wasm/module.js';
import { readModule } from '../../../src/wasm/reader.js';
import { PROFILE_HOOKS } from '../../../src/wasm/profile-hooks.js';
import { PROBE_MEMORY, addProbes, globalTypes, probeGlobal } from './probe.js';
import { Prng } from './prng.js';

/** The engine's instrumentation (src/engine/prepare.ts variantOptions, plain variant), caps that never bite. */
export const FUZZ_OPTIONS: InstrumentOptions = {
  moduleName: 'fuzz',
  maxMemoryPages: 65536,
  maxTableElements: DEFAULT_POLICY.maxTableElements,
  hostHooks: true,
  importMemory: true,
  localFuel: true,
};

export interface CaseOptions {
  /** Fuel of one call in the ample run: a call that exhausts it counts as looping. */
  cap: bigint;
  /** Stack budget (bytes) given to every top-level call. */
  depth: number;
  /** How many finished calls per module are re-run with small fuel limits. */
  limitCalls: number;
  /** Collect the steps for the wasmtime oracle. */
  oracle: boolean;
  /** Keep a line per step in the report (debugging). */
  trace?: boolean;
}

export const DEFAULT_CASE_OPTIONS: CaseOptions = { cap: 100_000_000n, depth: 1 << 20, limitCalls: 3, oracle: false };

export type Outcome =
  | { kind: 'ok'; values: string[] }
  | { kind: 'trap'; message: string }
  | { kind: 'oof' }
  | { kind: 'stack-overflow' }
  | { kind: 'host-error'; message: string }
  | { kind: 'error'; message: string };

export interface StepRecord {
  outcome: Outcome;
  logs: string[];
  globals: string[];
  /** Instrumented only: fuel consumed as the engine reports it (the limit once out of fuel). */
  fuel?: bigint;
  /** Instrumented only: fuel left (least of the shared global and the module's copy) and the flags. */
  left?: bigint;
  flags?: number;
  /** The profiling variant: what its hooks did wrong in this step (a function index out of range, fuel going up, an exit not matching the entry). */
  hookProblems?: string[];
}

export interface Step {
  /** `start` (instantiation and the start function) or an export's name. */
  what: string;
  args: ArgValue[];
}

export interface ArgValue {
  type: 'i32' | 'i64' | 'f32' | 'f64';
  /** Decimal for integers; the 64 bits of the f64 value (hex) for floats. */
  value: string;
}

export interface Finding {
  seed: number;
  check: string;
  step?: string;
  detail: string;
}

export interface OracleJob {
  seed: number;
  wasm: string;
  steps: Step[];
  funcExports: string[];
  /** Arguments of each callable function export by its index in `funcExports` (for call-export). */
  argsByIndex: Record<string, ArgValue[]>;
  imports: Array<{ module: string; name: string; params: string[]; results: string[] }>;
  exportTypes: Record<string, { params: string[]; results: string[] }>;
  globals: string[];
  /** Ours, per step: outcome kind, values, logs; fuel of the fast and of the exact variant. */
  ours: Array<{ outcome: Outcome; logs: string[]; fuel: string; exactFuel: string }>;
  /** Ours after the last step: globals and the sha256 of the memory. */
  finalGlobals: string[];
  memoryHash: string | null;
}

export interface CaseReport {
  seed: number;
  /** null when applicable; else why the module was not run. */
  notApplicable: string | null;
  bytes: number;
  steps: number;
  /** Steps compared between the original and the instrumented module. */
  compared: number;
  traps: number;
  looping: boolean;
  exhausted: boolean;
  limitRuns: number;
  findings: Finding[];
  oracle?: OracleJob;
  trace?: string[];
  ms: number;
}

const TYPE = { 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64', 0x7b: 'v128', 0x70: 'funcref', 0x6f: 'externref' } as Record<number, string>;
const typeName = (v: number) => TYPE[v] ?? `0x${v.toString(16)}`;

class HostError extends Error {}

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);

/** A value as the comparison sees it: exact for integers, the f64 bits for floats (NaN payloads are lost by JS). */
export function fmt(type: string, v: unknown): string {
  switch (type) {
    case 'i32':
      return String((v as number) | 0);
    case 'i64':
      return BigInt.asIntN(64, v as bigint).toString();
    case 'f32':
    case 'f64': {
      const n = v as number;
      if (Number.isNaN(n)) return 'nan';
      f64[0] = n;
      return `0x${u64[0]!.toString(16)}`;
    }
    default:
      return v === null ? 'null' : typeof v === 'function' ? 'func' : typeof v;
  }
}

function argValue(a: ArgValue): number | bigint {
  if (a.type === 'i32') return Number(a.value) | 0;
  if (a.type === 'i64') return BigInt(a.value);
  u64[0] = BigInt(a.value);
  return a.type === 'f32' ? Math.fround(f64[0]!) : f64[0]!;
}

const I32S = [0, 1, -1, 2, 0x7fffffff, -0x80000000, 100, 65536];
const I64S = [0n, 1n, -1n, 0x7fffffffffffffffn, -0x8000000000000000n, 4294967296n];
const FLOATS = [0, -0, 1, -1, 0.5, 1.5e10, -2.25, Infinity, -Infinity, 3.4e38, 1e-40];

/** Deterministic arguments of export `index` (the same at the top level and for `call-export`). */
export function argsFor(seed: number, index: number, params: number[]): ArgValue[] {
  const rng = new Prng(seed, 1000 + index);
  return params.map((p) => {
    const t = typeName(p) as ArgValue['type'];
    const r = rng.below(3);
    if (t === 'i32') return { type: t, value: String(r ? rng.pick(I32S) : rng.u32() | 0) };
    if (t === 'i64') return { type: t, value: String(r ? rng.pick(I64S) : BigInt.asIntN(64, rng.next64())) };
    let x = r ? rng.pick(FLOATS) : (rng.u32() - 2 ** 31) / (1 + rng.below(1000));
    if (t === 'f32') x = Math.fround(x);
    f64[0] = x;
    return { type: t, value: `0x${u64[0]!.toString(16)}` };
  });
}

interface Subject {
  module: WebAssembly.Module;
  instrumented: boolean;
  /** The profiling variant (wasm/profile-hooks.ts): its hooks are checked as they are called. */
  profiled?: boolean;
  /** Limits of the memory the instrumented module imports as `__meter.memory` (option `importMemory`). */
  memoryImport?: { min: number; max: number | null } | null;
}

interface Plan {
  seed: number;
  m: WasmModule;
  steps: Step[];
  hasStart: boolean;
  funcExports: string[];
  exportTypes: Map<string, FuncType>;
  globalTypes: string[];
  imports: WasmModule['imports'];
  options: CaseOptions;
}

interface Session {
  records: StepRecord[];
  memory: Uint8Array | null;
  /** Whether the session ran every step it was asked to (it stops at an instantiation failure or a meter trap). */
  stoppedAt: number;
}

/**
 * Runs `subject` through the steps `[0, until)`; `fuelAt(k)` is the fuel of step k (instrumented only).
 * Stops after a step that ends the instance (failed instantiation or start, out of fuel, stack
 * overflow, an error of the host).
 */
function runSession(plan: Plan, subject: Subject, until: number, fuelAt: (k: number) => bigint): Session {
  const meter = subject.instrumented
    ? {
        fuel: new WebAssembly.Global({ value: 'i64', mutable: true }, 0n),
        depth: new WebAssembly.Global({ value: 'i32', mutable: true }, plan.options.depth),
        pages: new WebAssembly.Global({ value: 'i32', mutable: true }, 65536),
        flags: new WebAssembly.Global({ value: 'i32', mutable: true }, 0),
      }
    : null;
  let exports: WebAssembly.Exports | null = null;
  let logs: string[] = [];
  // `call-export` throws (a host error, ending the instance) where there is nothing to call;
  // `call-export-catch` answers 1 there instead. Traps inside the called export propagate on both:
  // a trap ends an execution in the engine, so no host function may catch one.
  const callExport = (idx: number, caught: boolean): number => {
    const name = plan.funcExports[idx];
    const t = name === undefined ? undefined : plan.exportTypes.get(name)!;
    if (!exports || !t || ![...t.params, ...t.results].every((v) => v >= 0x7c && v <= 0x7f)) {
      if (caught) return 1;
      throw new HostError(exports ? `call-export: no callable export ${idx}` : 'call-export before the instance exists (start function)');
    }
    (exports[name!] as (...a: unknown[]) => unknown)(...argsFor(plan.seed, idx, t.params).map(argValue));
    return 0;
  };
  const host: Record<string, Record<string, unknown>> = {};
  for (const imp of plan.imports) {
    if (imp.kind !== 'func') continue;
    const t = plan.m.types[imp.typeIndex]!;
    const label = `${imp.module}.${imp.name}`;
    let fn: (...a: unknown[]) => unknown;
    if (imp.name === 'call-export' || imp.name === 'call-export-catch') {
      fn = (...a) => {
        logs.push(`${label}(${fmt('i32', a[0])})`);
        const r = callExport((a[0] as number) >>> 0, imp.name === 'call-export-catch');
        return t.results.length ? r : undefined;
      };
    } else if (imp.name === 'sleep' && t.params.length === 2 && t.results.length === 1) {
      fn = (...a) => {
        logs.push(`${label}(${fmt('i32', a[0])}, ${fmt('i32', a[1])})`);
        return a[1];
      };
    } else {
      fn = (...a) => {
        logs.push(`${label}(${t.params.map((p, i) => fmt(typeName(p), a[i])).join(', ')})`);
        const zero = (r: number) => (r === 0x7e ? 0n : r === 0x70 || r === 0x6f ? null : 0);
        return t.results.length === 0 ? undefined : t.results.length === 1 ? zero(t.results[0]!) : t.results.map(zero);
      };
    }
    (host[imp.module] ??= {})[imp.name] = fn;
  }
  for (const imp of plan.imports) {
    if (imp.kind !== 'global') continue;
    const t = typeName(imp.global.valType) as WebAssembly.ValueType;
    const zero = t === 'i64' ? 0n : t === 'externref' || t === 'anyfunc' || (t as string) === 'funcref' ? null : 0;
    (host[imp.module] ??= {})[imp.name] = new WebAssembly.Global({ value: t, mutable: imp.global.mutable }, zero);
  }
  const hooks = profileHooks(plan);
  let memory: WebAssembly.Memory | null = null;
  if (meter) {
    const imp: Record<string, unknown> = {
      [METER_GLOBALS.fuel]: meter.fuel,
      [METER_GLOBALS.stack]: meter.depth,
      [METER_GLOBALS.pages]: meter.pages,
      [METER_GLOBALS.flags]: meter.flags,
    };
    if (subject.profiled) Object.assign(imp, hooks.imports);
    const lim = subject.memoryImport;
    if (lim) {
      memory = new WebAssembly.Memory({ initial: lim.min, ...(lim.max !== null && { maximum: lim.max }) });
      imp[METER_GLOBALS.memory] = memory;
    }
    host[METER_MODULE] = imp as Record<string, unknown>;
  }

  let instance: WebAssembly.Instance | null = null;
  const records: StepRecord[] = [];
  const snapshot = (): string[] =>
    instance ? plan.globalTypes.map((t, i) => fmt(t, (instance!.exports[probeGlobal(i)] as WebAssembly.Global).value)) : [];
  let k = 0;
  for (; k < until; k++) {
    const step = plan.steps[k]!;
    logs = [];
    const limit = fuelAt(k);
    if (meter) {
      meter.fuel.value = limit;
      meter.depth.value = plan.options.depth;
      meter.flags.value = 0;
    }
    hooks.reset(limit);
    let outcome: Outcome;
    try {
      let result: unknown;
      if (k === 0) {
        instance = new WebAssembly.Instance(subject.module, host as WebAssembly.Imports);
        if (subject.instrumented && plan.hasStart) (instance.exports[HOOK_EXPORTS.start] as () => void)();
        exports = instance.exports;
        outcome = { kind: 'ok', values: [] };
      } else {
        const t = plan.exportTypes.get(step.what)!;
        result = (instance!.exports[step.what] as (...a: unknown[]) => unknown)(...step.args.map(argValue));
        const vals = t.results.length === 1 ? [result] : t.results.length === 0 ? [] : (result as unknown[]);
        outcome = { kind: 'ok', values: t.results.map((r, i) => fmt(typeName(r), vals[i])) };
      }
    } catch (e) {
      const flags = meter ? (meter.flags.value as number) : 0;
      if (flags & MeterFlag.outOfFuel) outcome = { kind: 'oof' };
      else if (flags & MeterFlag.stackOverflow || e instanceof RangeError) outcome = { kind: 'stack-overflow' };
      else if (e instanceof WebAssembly.RuntimeError) outcome = { kind: 'trap', message: e.message };
      else if (e instanceof HostError) outcome = { kind: 'host-error', message: e.message };
      else outcome = { kind: 'error', message: `${(e as Error)?.constructor?.name}: ${(e as Error)?.message}` };
    }
    const rec: StepRecord = { outcome, logs, globals: snapshot() };
    if (subject.profiled) rec.hookProblems = hooks.finish(outcome.kind === 'ok');
    if (meter) {
      let left = meter.fuel.value as bigint;
      const copy = instance?.exports[HOOK_EXPORTS.fuel];
      if (copy instanceof WebAssembly.Global && (copy.value as bigint) < left) left = copy.value as bigint;
      const flags = meter.flags.value as number;
      rec.left = left;
      rec.flags = flags;
      rec.fuel = left < 0n || flags & MeterFlag.outOfFuel ? limit : limit - left;
    }
    records.push(rec);
    const ends = outcome.kind === 'oof' || outcome.kind === 'stack-overflow' || outcome.kind === 'error' || outcome.kind === 'host-error' || (k === 0 && outcome.kind !== 'ok');
    if (ends) {
      k++;
      break;
    }
  }
  let mem: Uint8Array | null = null;
  const exported = instance?.exports[PROBE_MEMORY];
  if (exported instanceof WebAssembly.Memory) mem = new Uint8Array(exported.buffer).slice();
  else if (memory) mem = new Uint8Array(memory.buffer).slice();
  return { records, memory: mem, stoppedAt: k };
}

/**
 * The profiling hooks as the engine's profiler relies on them: each names a defined function of the
 * original module, the fuel they report never goes up, each exit is the innermost entry's, and a call
 * that returns leaves no entry open.
 */
function profileHooks(plan: Plan) {
  const imported = plan.imports.filter((i) => i.kind === 'func').length;
  const defined = plan.m.code.length;
  let stack: number[] = [];
  let last = 0;
  let problems: string[] = [];
  const seen = (what: string, index: number, fuel: number) => {
    if (problems.length >= 3) return;
    if (!(index >= imported && index < imported + defined)) problems.push(`${what}(${index}): not a defined function`);
    if (fuel > last) problems.push(`${what}(${index}): fuel went up from ${last} to ${fuel}`);
    last = fuel;
  };
  return {
    imports: {
      [PROFILE_HOOKS.enter]: (index: number, fuel: number) => {
        seen('enter', index, fuel);
        stack.push(index);
      },
      [PROFILE_HOOKS.exit]: (index: number, fuel: number) => {
        seen('exit', index, fuel);
        const top = stack.pop();
        if (top !== index && problems.length < 3) problems.push(`exit(${index}) but the innermost entry is ${top}`);
      },
    },
    reset(limit: bigint) {
      stack = [];
      problems = [];
      last = Number(limit);
    },
    finish(returned: boolean): string[] {
      if (returned && stack.length && problems.length < 3) problems.push(`${stack.length} entries left open: ${stack.slice(-3).join(', ')}`);
      return problems;
    },
  };
}

const show = (o: Outcome) => ('values' in o ? `ok [${o.values.join(', ')}]` : 'message' in o ? `${o.kind}: ${o.message}` : o.kind);
const sameOutcome = (a: Outcome, b: Outcome) => show(a) === show(b);
const eqList = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

function firstDiff(a: string[], b: string[]): string {
  const i = a.findIndex((x, j) => x !== b[j]);
  const at = i < 0 ? Math.min(a.length, b.length) : i;
  return `at ${at}: ${JSON.stringify(a[at])} vs ${JSON.stringify(b[at])} (lengths ${a.length}, ${b.length})`;
}

function memDiff(a: Uint8Array | null, b: Uint8Array | null): string | null {
  if (!a || !b) return a === b ? null : `memory ${a ? 'present' : 'absent'} vs ${b ? 'present' : 'absent'}`;
  if (a.length !== b.length) return `memory size ${a.length} vs ${b.length}`;
  if (Buffer.compare(a, b) === 0) return null;
  let i = 0;
  while (a[i] === b[i]) i++;
  return `memory differs first at byte ${i}: ${a[i]} vs ${b[i]}`;
}

export const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Builds the plan, or says why the module is not applicable. */
function makePlan(seed: number, probe: Uint8Array, options: CaseOptions): Plan | string {
  let m: WasmModule;
  try {
    m = readModule(probe);
  } catch (e) {
    if (e instanceof WasmFormatError) return `reader: ${e.message}`;
    throw e;
  }
  const violation = checkPolicy(m, DEFAULT_POLICY);
  if (violation) return `policy: ${violation}`;
  const other = m.imports.find((i) => i.kind !== 'func' && i.kind !== 'global');
  if (other) return `imports a ${other.kind} (${other.module}.${other.name})`;
  const callable = (t: FuncType) => [...t.params, ...t.results].every((v) => v >= 0x7c && v <= 0x7f);
  const exportTypes = new Map<string, FuncType>();
  const funcExports: string[] = [];
  for (const e of m.exports) {
    if (e.kind !== 'func' || e.name.startsWith('probe:')) continue;
    funcExports.push(e.name);
    exportTypes.set(e.name, funcTypeOf(m, e.index)!);
  }
  const steps: Step[] = [{ what: 'start', args: [] }];
  funcExports.forEach((name, i) => {
    const t = exportTypes.get(name)!;
    if (callable(t)) steps.push({ what: name, args: argsFor(seed, i, t.params) });
  });
  return { seed, m, steps, hasStart: m.start !== null, funcExports, exportTypes, globalTypes: globalTypes(m).map(typeName), imports: m.imports, options };
}

export function runCase(seed: number, original: Uint8Array, opts: Partial<CaseOptions> = {}): CaseReport {
  const started = performance.now();
  const options = { ...DEFAULT_CASE_OPTIONS, ...opts };
  const report: CaseReport = {
    seed,
    notApplicable: null,
    bytes: original.length,
    steps: 0,
    compared: 0,
    traps: 0,
    looping: false,
    exhausted: false,
    limitRuns: 0,
    findings: [],
    ms: 0,
  };
  const finding = (check: string, detail: string, step?: string) => report.findings.push({ seed, check, detail, ...(step && { step }) });
  const done = () => ((report.ms = performance.now() - started), report);

  if (!WebAssembly.validate(original as BufferSource)) {
    let why = '';
    try {
      new WebAssembly.Module(original as BufferSource);
    } catch (e) {
      why = `: ${(e as Error).message.replace(/^WebAssembly\.Module\(\): /, '')}`;
    }
    report.notApplicable = `binaryen emitted a module V8 rejects${why}`;
    return done();
  }
  const probe = addProbes(original);
  if (!WebAssembly.validate(probe as BufferSource)) {
    finding('probe', 'the probe (memory and globals exported) does not validate');
    return done();
  }
  const plan = makePlan(seed, probe, options);
  if (typeof plan === 'string') {
    report.notApplicable = plan;
    return done();
  }
  report.steps = plan.steps.length;

  // 2. the instrumented module validates (both fuel schemes)
  const compile = (o: InstrumentOptions, label: string): Subject | string | null => {
    let bytes: Uint8Array;
    let memoryImport: Subject['memoryImport'];
    try {
      ({ bytes, memoryImport } = instrumentModule(plan.m, o));
    } catch (e) {
      if (e instanceof ReservedNameError || e instanceof WasmFormatError) return `instrumenter refuses: ${e.message}`;
      finding('instrument', `${label}: instrumentModule threw ${(e as Error).stack}`);
      return null;
    }
    try {
      return { module: new WebAssembly.Module(bytes as BufferSource), instrumented: true, memoryImport };
    } catch (e) {
      finding('validate', `${label}: instrumented module does not compile: ${(e as Error).message}`);
      return null;
    }
  };
  const fast = compile(FUZZ_OPTIONS, 'fast');
  if (typeof fast === 'string') {
    report.notApplicable = fast;
    return done();
  }
  const exact = compile({ ...FUZZ_OPTIONS, localFuel: false }, 'exact');
  if (!fast || !exact || typeof exact === 'string') return done();
  const profiled = compile({ ...FUZZ_OPTIONS, localFuel: false, profile: true }, 'profiled');
  if (!profiled || typeof profiled === 'string') return done();
  profiled.profiled = true;
  const originalModule = new WebAssembly.Module(probe as BufferSource);

  // 3. ample fuel: instrumented first (a cap catches loops), then the original up to what finished
  const n = plan.steps.length;
  const cap = () => options.cap;
  const ours = runSession(plan, fast, n, cap);
  const loopAt = ours.records.findIndex((r) => r.outcome.kind === 'oof');
  report.looping = loopAt >= 0;
  const upTo = loopAt >= 0 ? loopAt : ours.stoppedAt;
  const theirs = runSession(plan, { module: originalModule, instrumented: false }, upTo, cap);
  const exactRun = runSession(plan, exact, n, cap);

  const compareRuns = (label: string, a: Session, b: Session, count: number): boolean => {
    for (let k = 0; k < count; k++) {
      const what = plan.steps[k]!.what;
      const x = a.records[k];
      const y = b.records[k];
      if (!x || !y) {
        finding(label, `step missing on one side (${x ? 'present' : 'absent'} / ${y ? 'present' : 'absent'})`, what);
        return false;
      }
      if (x.outcome.kind === 'stack-overflow' || y.outcome.kind === 'stack-overflow') {
        if (x.outcome.kind !== y.outcome.kind) finding(label, `outcome ${show(x.outcome)} vs ${show(y.outcome)}`, what);
        report.exhausted = true;
        return false;
      }
      if (!sameOutcome(x.outcome, y.outcome)) {
        finding(label, `outcome ${show(x.outcome)} vs ${show(y.outcome)}`, what);
        return false;
      }
      // a failed instantiation leaves no original instance (the instrumented one's start is deferred): no state to compare
      const failedStart = k === 0 && x.outcome.kind !== 'ok';
      if (failedStart) return eqList(x.logs, y.logs) || (finding(label, `logged import calls differ ${firstDiff(x.logs, y.logs)}`, what), false);
      if (!eqList(x.logs, y.logs)) {
        finding(label, `logged import calls differ ${firstDiff(x.logs, y.logs)}`, what);
        return false;
      }
      if (!eqList(x.globals, y.globals)) {
        finding(label, `globals differ ${firstDiff(x.globals, y.globals)}`, what);
        return false;
      }
    }
    return true;
  };
  // the original against the engine's variant
  if (compareRuns('original/instrumented', ours, theirs, upTo) && ours.records[0]?.outcome.kind === 'ok') {
    // after a looping step the instrumented memory is that step's: compare it as it was before
    const before = loopAt >= 0 ? runSession(plan, fast, upTo, cap).memory : ours.memory;
    const d = memDiff(before, theirs.memory);
    if (d) finding('original/instrumented', d, 'final memory');
  }
  report.compared = Math.min(upTo, theirs.records.length);
  if (options.trace) {
    report.trace = plan.steps.map((st, k) => `${k} ${st.what}(${st.args.map((a) => a.value).join(', ')}): ours ${ours.records[k] ? show(ours.records[k]!.outcome) + ' fuel ' + ours.records[k]!.fuel + ' logs ' + ours.records[k]!.logs.length : '-'} | original ${theirs.records[k] ? show(theirs.records[k]!.outcome) : '-'}`);
  }
  report.traps = theirs.records.filter((r) => r.outcome.kind === 'trap').length;
  // the exact variant gives the same outcomes and, where a call finished or ran out, the same fuel
  if (compareRuns('fast/exact', ours, exactRun, ours.records.length)) {
    const d = memDiff(ours.memory, exactRun.memory);
    if (d) finding('fast/exact', d, 'final memory');
  }
  ours.records.forEach((r, k) => {
    const e = exactRun.records[k];
    if (e && (r.outcome.kind === 'ok' || r.outcome.kind === 'oof') && e.fuel !== r.fuel) {
      finding('fast/exact', `fuel ${r.fuel} (fast) vs ${e.fuel} (exact)`, plan.steps[k]!.what);
    }
  });
  // the profiling variant: the exact variant's outcomes, fuel (whatever the outcome), globals and memory; its hooks well formed
  const profiledRun = runSession(plan, profiled, n, cap);
  if (compareRuns('exact/profiled', exactRun, profiledRun, exactRun.records.length)) {
    const d = memDiff(exactRun.memory, profiledRun.memory);
    if (d) finding('exact/profiled', d, 'final memory');
  }
  profiledRun.records.forEach((r, k) => {
    const e = exactRun.records[k];
    if (e && e.fuel !== r.fuel) finding('exact/profiled', `fuel ${e.fuel} (exact) vs ${r.fuel} (profiled)`, plan.steps[k]!.what);
    for (const p of r.hookProblems ?? []) finding('profile-hooks', p, plan.steps[k]!.what);
  });

  // 5. small limits: out of fuel (flagged, consumed = limit, no effects beyond the ample run's), and
  // exactly the consumption completes the same way
  const rng = new Prng(seed, 3);
  const okSteps = ours.records.flatMap((r, k) => (r.outcome.kind === 'ok' && (k > 0 || plan.hasStart) && r.fuel! > 0n ? [k] : []));
  const chosen = new Set<number>();
  while (chosen.size < Math.min(options.limitCalls, okSteps.length)) chosen.add(okSteps[rng.below(okSteps.length)]!);
  const limitRun = (subject: Subject, k: number, limit: bigint, label: string) => {
    report.limitRuns++;
    const s = runSession(plan, subject, k + 1, (j) => (j === k ? limit : options.cap));
    const full = ours.records[k]!;
    const r = s.records[k];
    const what = `${plan.steps[k]!.what} (fuel ${limit} of ${full.fuel})`;
    if (!r) return finding(label, `the replay stopped before this step (${s.records.map((x) => show(x.outcome)).join('; ')})`, what);
    if (limit < full.fuel!) {
      if (r.outcome.kind !== 'oof') return finding(label, `expected out of fuel, got ${show(r.outcome)}`, what);
      if (!(r.flags! & MeterFlag.outOfFuel) && r.left! >= 0n) return finding(label, 'out of fuel without the flag and with fuel left', what);
      if (r.fuel !== limit) return finding(label, `consumed ${r.fuel}, not the limit`, what);
      if (r.logs.length > full.logs.length || !r.logs.every((x, i) => x === full.logs[i])) {
        return finding(label, `import calls beyond the ample run's ${firstDiff(r.logs, full.logs)}`, what);
      }
    } else {
      if (!sameOutcome(r.outcome, full.outcome)) return finding(label, `outcome ${show(r.outcome)}, ample run ${show(full.outcome)}`, what);
      if (r.fuel !== full.fuel) return finding(label, `consumed ${r.fuel}, ample run ${full.fuel}`, what);
      if (r.left !== limit - full.fuel!) return finding(label, `fuel left ${r.left}, expected ${limit - full.fuel!}`, what);
      if (!eqList(r.logs, full.logs)) return finding(label, `import calls ${firstDiff(r.logs, full.logs)}`, what);
      if (!eqList(r.globals, full.globals)) return finding(label, `globals ${firstDiff(r.globals, full.globals)}`, what);
    }
  };
  for (const k of [...chosen].sort((a, b) => a - b)) {
    const c = ours.records[k]!.fuel!;
    const limits = new Set([0n, 1n, 10n, 100n, c / 2n, c - 1n, c].filter((l) => l >= 0n && l <= c));
    for (const l of limits) limitRun(fast, k, l, 'limits');
    for (const l of [c - 1n, c]) limitRun(exact, k, l, 'limits (exact)');
  }
  if (report.looping) {
    for (const l of [0n, 1000n]) {
      report.limitRuns++;
      const s = runSession(plan, fast, loopAt + 1, (j) => (j === loopAt ? l : options.cap));
      const r = s.records[loopAt];
      if (!r || r.outcome.kind !== 'oof' || r.fuel !== l) finding('limits', `looping step with fuel ${l}: ${r ? show(r.outcome) : 'not reached'}`, plan.steps[loopAt]!.what);
    }
  }

  // 4. the wasmtime oracle (run by the caller on a sample): the steps and what we saw
  if (options.oracle && !report.findings.length) {
    const names = (v: number[]) => v.map(typeName);
    report.oracle = {
      seed,
      wasm: Buffer.from(probe).toString('base64'),
      steps: plan.steps.slice(0, upTo),
      funcExports: plan.funcExports,
      argsByIndex: Object.fromEntries(plan.funcExports.map((name, i) => [String(i), argsFor(seed, i, plan.exportTypes.get(name)!.params)])),
      imports: plan.imports.flatMap((i) =>
        i.kind === 'func' ? [{ module: i.module, name: i.name, params: names(plan.m.types[i.typeIndex]!.params), results: names(plan.m.types[i.typeIndex]!.results) }] : [],
      ),
      exportTypes: Object.fromEntries([...plan.exportTypes].map(([k, t]) => [k, { params: names(t.params), results: names(t.results) }])),
      globals: plan.globalTypes,
      ours: ours.records.slice(0, upTo).map((r, k) => ({ outcome: r.outcome, logs: r.logs, fuel: String(r.fuel), exactFuel: String(exactRun.records[k]?.fuel) })),
      finalGlobals: theirs.records[theirs.records.length - 1]?.globals ?? [],
      memoryHash: theirs.memory ? sha256(theirs.memory) : null,
    };
  }
  return done();
}
