/**
 * A runner for the WebAssembly core spec test scripts (wast2json output: `<dir>/<name>.json` plus the
 * `.wasm` files it names; see ../shared/wasm-spec/README.md) on the V8 of this Node.js.
 *
 * `runScript(dir, opts)` executes every command of one script and reports, per command, what was
 * observed and a verdict against the script's expectation. `opts.transform` rewrites every module
 * that gets instantiated (not the ones of assert_invalid / assert_malformed), which is how the
 * differential test runs each script once as is and once through the fuel instrumenter.
 *
 * Values never cross the JS boundary as JS numbers. Every invocation goes through a small generated
 * wasm "thunk" that imports the target function with its exact type, reads the arguments from a
 * memory, calls the target and writes the results back, so f32/f64 NaN payloads stay bit-exact
 * (a JS number may quiet a signalling NaN), i64 needs no BigInt conversion and v128 works at all.
 * Only reference values (externref, funcref) are passed as JS values, which is exact for them.
 * The harness has its own minimal binary parser (function and global types of the exports) and
 * encoder, on purpose independent of src/wasm: it must not share bugs with what it checks.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

// ---------------------------------------------------------------------------------------------------
// The JS API, typed locally (the project compiles without the DOM lib, which is where TypeScript
// declares `WebAssembly`).

export interface WasmModuleObject {
  readonly __wasmModule?: never;
}
export interface WasmInstanceObject {
  readonly exports: Record<string, unknown>;
}
export interface WasmGlobalObject {
  value: unknown;
}
export interface WasmMemoryObject {
  readonly buffer: ArrayBuffer;
  grow(delta: number): number;
}
export interface WasmTableObject {
  readonly length: number;
}
export interface WasmApi {
  Module: {
    new (bytes: Uint8Array): WasmModuleObject;
    imports(module: WasmModuleObject): { module: string; name: string; kind: string }[];
  };
  Instance: new (module: WasmModuleObject, imports?: object) => WasmInstanceObject;
  Global: new (descriptor: { value: string; mutable?: boolean }, value?: unknown) => WasmGlobalObject;
  Memory: new (descriptor: { initial: number; maximum?: number }) => WasmMemoryObject;
  Table: new (descriptor: { element: string; initial: number; maximum?: number }) => WasmTableObject;
  validate(bytes: Uint8Array): boolean;
  CompileError: ErrorConstructor;
  LinkError: ErrorConstructor;
  RuntimeError: ErrorConstructor;
}

export const WA: WasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

// ---------------------------------------------------------------------------------------------------
// Script format (the subset of wast2json output the 2023 core suite uses).

type ValTypeName = 'i32' | 'i64' | 'f32' | 'f64' | 'v128' | 'funcref' | 'externref';

export interface SpecValue {
  type: string;
  /** Decimal bits, `nan:canonical` / `nan:arithmetic`, `null`, a number for externref; lanes for v128. */
  value?: string | string[];
  lane_type?: string;
}

export interface SpecAction {
  type: 'invoke' | 'get';
  module?: string;
  field: string;
  args?: SpecValue[];
}

export interface SpecCommand {
  type: string;
  line: number;
  filename?: string;
  name?: string;
  as?: string;
  module_type?: 'binary' | 'text';
  action?: SpecAction;
  expected?: SpecValue[];
  text?: string;
}

// ---------------------------------------------------------------------------------------------------
// Report.

/** What an error turned into. `classify` produces these for errors of invocations and instantiations. */
export interface ObservedError {
  kind:
    | 'trap' // WebAssembly.RuntimeError
    | 'exhaustion' // call stack exhausted (V8's RangeError, or what `classify` says is exhaustion)
    | 'out-of-fuel' // for a `classify` that recognises the instrumenter's fuel trap
    | 'link-error' // WebAssembly.LinkError
    | 'compile-error' // WebAssembly.CompileError
    | 'transform-error' // opts.transform threw
    | 'host-error' // anything else thrown (TypeError, ...)
    | 'harness-error'; // the runner itself could not do what the command asks (missing export, ...)
  message: string;
}

/**
 * `ok`: the command completed; `values` are the results of an action as canonical strings of their
 * raw bits (`i32:<u32 decimal>`, `i64:<u64 decimal>`, `f32:<u32 decimal bits>`, `f64:<u64 decimal
 * bits>`, `v128:<32 hex digits, memory byte order>`, `funcref:null`, `funcref:func`,
 * `externref:null`, `externref:<n>` for the harness's object n, `externref:foreign`).
 * `not-run`: the command was skipped.
 */
export type Observed = { kind: 'ok'; values: string[] } | ObservedError | { kind: 'not-run' };

export type Verdict = 'pass' | 'fail' | 'skipped';

export interface CommandReport {
  line: number;
  type: string;
  /** `invoke <field>`, `get <field>`, `module <file>`, `register <as>`, ... */
  what: string;
  observed: Observed;
  verdict: Verdict;
  /** Why it failed, or why it was skipped. */
  reason?: string;
}

export interface ScriptReport {
  name: string;
  dir: string;
  commands: CommandReport[];
  durationMs: number;
}

export interface RunOptions {
  /** Applied to every module that is instantiated (module, assert_unlinkable, assert_uninstantiable). */
  transform?: (bytes: Uint8Array) => Uint8Array;
  /** Merged into the import object of every instantiation (namespaces here win over registered ones). */
  extraImports?: () => Record<string, Record<string, unknown>>;
  /** Called before each top-level invoke, and before each instantiation (start functions run there). */
  beforeInvoke?: (line: number) => void;
  /** Called after each top-level invoke and each instantiation, whether it succeeded or threw. */
  afterInvoke?: (line: number) => void;
  /** Called with every instance the script creates (before `afterInvoke` of its instantiation). */
  onInstance?: (instance: WasmInstanceObject) => void;
  /** Maps a thrown error to an outcome. Default: `defaultClassify`. */
  classify?: (err: unknown) => ObservedError;
}

const STACK_EXHAUSTED = /Maximum call stack size exceeded/;

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * RangeError "Maximum call stack size exceeded" -> exhaustion, RuntimeError -> trap,
 * LinkError / CompileError -> link-error / compile-error, anything else -> host-error.
 */
export function defaultClassify(err: unknown): ObservedError {
  const message = errorMessage(err);
  if (err instanceof RangeError && STACK_EXHAUSTED.test(message)) return { kind: 'exhaustion', message };
  if (err instanceof WA.RuntimeError) return { kind: 'trap', message };
  if (err instanceof WA.LinkError) return { kind: 'link-error', message };
  if (err instanceof WA.CompileError) return { kind: 'compile-error', message };
  const name = err instanceof Error ? err.name : typeof err;
  return { kind: 'host-error', message: `${name}: ${message}` };
}

/**
 * A string that is equal for two outcomes exactly when a differential run counts them as the same:
 * values bit for bit, trap messages exactly, exhaustion regardless of how it was detected, and link
 * and compile errors with import and function indices masked (`#3`, `import 0`: an instrumented
 * module has extra imports, so V8's "Import #3" may be "Import #7" there).
 */
export function outcomeKey(o: Observed): string {
  switch (o.kind) {
    case 'ok':
      return `ok ${o.values.join(' ')}`;
    case 'not-run':
      return 'not-run';
    case 'exhaustion':
      return 'exhaustion';
    case 'link-error':
    case 'compile-error':
      return `${o.kind} ${o.message.replace(/#\d+/g, '#N').replace(/\bimport \d+/g, 'import N')}`;
    default:
      return `${o.kind} ${o.message}`;
  }
}

export const ASSERTION_TYPES = new Set([
  'assert_return',
  'assert_trap',
  'assert_exhaustion',
  'assert_invalid',
  'assert_malformed',
  'assert_unlinkable',
  'assert_uninstantiable',
]);

export interface ReportTotals {
  scripts: number;
  commands: number;
  /** Commands of type assert_*. */
  assertions: number;
  /** assert_* commands that were run (not skipped). */
  assertionsRun: number;
  passed: number;
  failed: number;
  skipped: number;
  /** Skipped commands per reason. */
  skipReasons: Record<string, number>;
}

export function totals(reports: ScriptReport[]): ReportTotals {
  const t: ReportTotals = {
    scripts: reports.length,
    commands: 0,
    assertions: 0,
    assertionsRun: 0,
    passed: 0,
    failed: 0,
    skipped: 0,
    skipReasons: {},
  };
  for (const r of reports) {
    for (const c of r.commands) {
      t.commands++;
      const assertion = ASSERTION_TYPES.has(c.type);
      if (assertion) t.assertions++;
      if (c.verdict === 'skipped') {
        t.skipped++;
        const reason = c.reason ?? 'unknown';
        t.skipReasons[reason] = (t.skipReasons[reason] ?? 0) + 1;
      } else {
        if (assertion) t.assertionsRun++;
        if (c.verdict === 'pass') t.passed++;
        else t.failed++;
      }
    }
  }
  return t;
}

// ---------------------------------------------------------------------------------------------------
// The `spectest` module.

function noop(): void {}

export function makeSpectest(): Record<string, unknown> {
  return {
    print: noop,
    print_i32: noop,
    print_i64: noop,
    print_f32: noop,
    print_f64: noop,
    print_i32_f32: noop,
    print_f64_f64: noop,
    global_i32: new WA.Global({ value: 'i32', mutable: false }, 666),
    global_i64: new WA.Global({ value: 'i64', mutable: false }, 666n),
    global_f32: new WA.Global({ value: 'f32', mutable: false }, 666.6),
    global_f64: new WA.Global({ value: 'f64', mutable: false }, 666.6),
    table: new WA.Table({ element: 'anyfunc', initial: 10, maximum: 20 }),
    memory: new WA.Memory({ initial: 1, maximum: 2 }),
  };
}

// ---------------------------------------------------------------------------------------------------
// Minimal binary reading: the types of a module's exported functions and globals.

interface FuncSig {
  params: ValTypeName[];
  results: ValTypeName[];
}
interface GlobalSig {
  type: ValTypeName;
  mutable: boolean;
}
interface ExportTypes {
  funcs: Map<string, FuncSig>;
  globals: Map<string, GlobalSig>;
}

const VALTYPE_BY_CODE: Record<number, ValTypeName> = {
  0x7f: 'i32',
  0x7e: 'i64',
  0x7d: 'f32',
  0x7c: 'f64',
  0x7b: 'v128',
  0x70: 'funcref',
  0x6f: 'externref',
};
const VALTYPE_CODE: Record<ValTypeName, number> = {
  i32: 0x7f,
  i64: 0x7e,
  f32: 0x7d,
  f64: 0x7c,
  v128: 0x7b,
  funcref: 0x70,
  externref: 0x6f,
};

class UnsupportedType extends Error {}

// ignoreBOM: a name may begin with U+FEFF (names.wast), which a default TextDecoder would drop.
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

class Cursor {
  pos = 0;
  constructor(readonly b: Uint8Array) {}
  byte(): number {
    if (this.pos >= this.b.length) throw new Error('unexpected end of module');
    return this.b[this.pos++]!;
  }
  /** LEB128 of any width (signed or not), returned approximately: only small ones are used. */
  leb(): number {
    let result = 0;
    let mul = 1;
    for (;;) {
      const x = this.byte();
      result += (x & 0x7f) * mul;
      mul *= 128;
      if ((x & 0x80) === 0) return result;
    }
  }
  skip(n: number): void {
    this.pos += n;
  }
  name(): string {
    const n = this.leb();
    const s = utf8.decode(this.b.subarray(this.pos, this.pos + n));
    this.pos += n;
    return s;
  }
  valtype(): ValTypeName {
    const code = this.byte();
    const t = VALTYPE_BY_CODE[code];
    if (t === undefined) throw new UnsupportedType(`value type 0x${code.toString(16)}`);
    return t;
  }
  limits(): void {
    const flags = this.byte();
    this.leb();
    if (flags & 1) this.leb();
  }
  constExpr(): void {
    for (;;) {
      const op = this.byte();
      switch (op) {
        case 0x0b:
          return;
        case 0x41:
        case 0x42:
        case 0x23:
        case 0xd0:
        case 0xd2:
          this.leb();
          break;
        case 0x43:
          this.skip(4);
          break;
        case 0x44:
          this.skip(8);
          break;
        case 0x6a:
        case 0x6b:
        case 0x6c:
        case 0x7c:
        case 0x7d:
        case 0x7e:
          break;
        case 0xfd:
          if (this.leb() !== 12) throw new UnsupportedType('constant expression 0xfd');
          this.skip(16);
          break;
        default:
          throw new UnsupportedType(`constant expression opcode 0x${op.toString(16)}`);
      }
    }
  }
}

function readExportTypes(bytes: Uint8Array): ExportTypes {
  const c = new Cursor(bytes);
  c.skip(8);
  const types: (FuncSig | undefined)[] = [];
  const funcs: (FuncSig | undefined)[] = [];
  const globals: GlobalSig[] = [];
  const out: ExportTypes = { funcs: new Map(), globals: new Map() };
  while (c.pos < bytes.length) {
    const id = c.byte();
    const size = c.leb();
    const end = c.pos + size;
    if (id === 1) {
      for (let n = c.leb(); n > 0; n--) {
        const form = c.byte();
        if (form !== 0x60) throw new UnsupportedType(`type form 0x${form.toString(16)}`);
        const params: ValTypeName[] = [];
        for (let k = c.leb(); k > 0; k--) params.push(c.valtype());
        const results: ValTypeName[] = [];
        for (let k = c.leb(); k > 0; k--) results.push(c.valtype());
        types.push({ params, results });
      }
    } else if (id === 2) {
      for (let n = c.leb(); n > 0; n--) {
        c.name();
        c.name();
        const kind = c.byte();
        if (kind === 0) funcs.push(types[c.leb()]);
        else if (kind === 1) {
          c.byte();
          c.limits();
        } else if (kind === 2) c.limits();
        else if (kind === 3) {
          const type = c.valtype();
          globals.push({ type, mutable: c.byte() === 1 });
        } else if (kind === 4) {
          c.byte();
          c.leb();
        } else throw new UnsupportedType(`import kind ${kind}`);
      }
    } else if (id === 3) {
      for (let n = c.leb(); n > 0; n--) funcs.push(types[c.leb()]);
    } else if (id === 6) {
      for (let n = c.leb(); n > 0; n--) {
        const type = c.valtype();
        globals.push({ type, mutable: c.byte() === 1 });
        c.constExpr();
      }
    } else if (id === 7) {
      for (let n = c.leb(); n > 0; n--) {
        const name = c.name();
        const kind = c.byte();
        const index = c.leb();
        if (kind === 0) {
          const sig = funcs[index];
          if (sig) out.funcs.set(name, sig);
        } else if (kind === 3) {
          const g = globals[index];
          if (g) out.globals.set(name, g);
        }
      }
      return out;
    }
    c.pos = end;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Thunks: generated wasm that moves values between a memory and a call, bit-exactly.

const SLOT = 16;
const isRef = (t: ValTypeName): boolean => t === 'funcref' || t === 'externref';

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const bytesOf = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (ch) => ch.charCodeAt(0))];
const section = (id: number, payload: number[]): number[] => [id, ...uleb(payload.length), ...payload];
const types = (ts: ValTypeName[]): number[] => vec(ts.map((t) => [VALTYPE_CODE[t]]));

const LOAD: Record<string, number[]> = {
  i32: [0x28],
  i64: [0x29],
  f32: [0x2a],
  f64: [0x2b],
  v128: [0xfd, 0x00],
};
const STORE: Record<string, number[]> = {
  i32: [0x36],
  i64: [0x37],
  f32: [0x38],
  f64: [0x39],
  v128: [0xfd, 0x0b],
};
const MEMARG = [0x00, 0x00];

function moduleBytes(
  typeEntries: number[][],
  importEntries: number[][],
  importedFuncs: number,
  body: number[],
  locals: number[][],
): Uint8Array {
  const code = [...vec(locals), ...body, 0x0b];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(typeEntries)),
    ...section(2, vec(importEntries)),
    ...section(3, vec([uleb(typeEntries.length - 1)])),
    ...section(7, vec([[...bytesOf('run'), 0x00, ...uleb(importedFuncs)]])),
    ...section(10, vec([[...uleb(code.length), ...code]])),
  ]);
}

const MEMORY_IMPORT = [...bytesOf('h'), ...bytesOf('m'), 0x02, 0x00, 0x01];

/** run(...ref params) -> ref results; other params are read from slot i, other results written to slot nParams + j. */
function funcThunkBytes(sig: FuncSig): Uint8Array {
  const refParams = sig.params.filter(isRef);
  const refResults = sig.results.filter(isRef);
  const body: number[] = [];
  let refIndex = 0;
  sig.params.forEach((p, i) => {
    if (isRef(p)) body.push(0x20, ...uleb(refIndex++));
    else body.push(0x41, ...sleb(i * SLOT), ...LOAD[p]!, ...MEMARG);
  });
  body.push(0x10, 0x00);
  const base = refParams.length;
  for (let j = sig.results.length - 1; j >= 0; j--) body.push(0x21, ...uleb(base + j));
  sig.results.forEach((r, j) => {
    if (isRef(r)) return;
    body.push(0x41, ...sleb((sig.params.length + j) * SLOT), 0x20, ...uleb(base + j), ...STORE[r]!, ...MEMARG);
  });
  sig.results.forEach((r, j) => {
    if (isRef(r)) body.push(0x20, ...uleb(base + j));
  });
  return moduleBytes(
    [
      [0x60, ...types(sig.params), ...types(sig.results)],
      [0x60, ...types(refParams), ...types(refResults)],
    ],
    [[...bytesOf('h'), ...bytesOf('f'), 0x00, 0x00], MEMORY_IMPORT],
    1,
    body,
    sig.results.map((r) => [1, VALTYPE_CODE[r]]),
  );
}

/** run() -> ref value, or writes the value to slot 0. */
function globalThunkBytes(g: GlobalSig): Uint8Array {
  const body = isRef(g.type) ? [0x23, 0x00] : [0x41, 0x00, 0x23, 0x00, ...STORE[g.type]!, ...MEMARG];
  return moduleBytes(
    [[0x60, 0x00, ...types(isRef(g.type) ? [g.type] : [])]],
    [[...bytesOf('h'), ...bytesOf('g'), 0x03, VALTYPE_CODE[g.type], g.mutable ? 1 : 0], MEMORY_IMPORT],
    0,
    body,
    [],
  );
}

const thunkMemory = new WA.Memory({ initial: 1 });
const thunkModules = new Map<string, WasmModuleObject>();
const thunkRuns = new WeakMap<object, Run>();

type Run = (...args: unknown[]) => unknown;

/** The `run` of a thunk instance bound to `target` (one instance per target, one module per type). */
function thunkFor(target: object, key: string, make: () => Uint8Array, importName: string): Run {
  let run = thunkRuns.get(target);
  if (run) return run;
  let module = thunkModules.get(key);
  if (!module) {
    module = new WA.Module(make());
    thunkModules.set(key, module);
  }
  const instance = new WA.Instance(module, { h: { [importName]: target, m: thunkMemory } });
  run = instance.exports['run'] as Run;
  thunkRuns.set(target, run);
  return run;
}

// ---------------------------------------------------------------------------------------------------
// Values.

const LANES: Record<string, { bits: number; count: number }> = {
  i8: { bits: 8, count: 16 },
  i16: { bits: 16, count: 8 },
  i32: { bits: 32, count: 4 },
  i64: { bits: 64, count: 2 },
  f32: { bits: 32, count: 4 },
  f64: { bits: 64, count: 2 },
};

class Skip extends Error {}

/**
 * assert_invalid / assert_malformed: what V8 said of a binary module file (validate, and the error of
 * compiling it), by path. Those modules are not transformed, so every run of a script gets the same;
 * each run still classifies the error itself.
 */
const invalidVerdicts = new Map<string, { valid: true } | { valid: false; compiled: true } | { valid: false; error: unknown }>();

function writeLane(view: DataView, offset: number, bits: number, text: string): void {
  const v = BigInt.asUintN(bits, BigInt(text));
  if (bits === 8) view.setUint8(offset, Number(v));
  else if (bits === 16) view.setUint16(offset, Number(v), true);
  else if (bits === 32) view.setUint32(offset, Number(v), true);
  else view.setBigUint64(offset, v, true);
}

function writeArg(view: DataView, offset: number, type: ValTypeName, arg: SpecValue): void {
  if (arg.type !== type) throw new Error(`argument of type ${arg.type} for a ${type} parameter`);
  if (type === 'v128') {
    const lanes = LANES[arg.lane_type ?? ''];
    if (!lanes || !Array.isArray(arg.value) || arg.value.length !== lanes.count) {
      throw new Error(`bad v128 argument ${JSON.stringify(arg)}`);
    }
    arg.value.forEach((lane, i) => writeLane(view, offset + (i * lanes.bits) / 8, lanes.bits, lane));
    return;
  }
  if (typeof arg.value !== 'string' || !/^-?\d+$/.test(arg.value)) {
    throw new Skip(`argument value ${JSON.stringify(arg.value)} is not a bit pattern`);
  }
  writeLane(view, offset, type === 'i64' || type === 'f64' ? 64 : 32, arg.value);
}

function readValue(view: DataView, offset: number, type: ValTypeName): string {
  switch (type) {
    case 'i32':
    case 'f32':
      return `${type}:${view.getUint32(offset, true)}`;
    case 'i64':
    case 'f64':
      return `${type}:${view.getBigUint64(offset, true)}`;
    default: {
      let hex = '';
      for (let i = 0; i < 16; i++) hex += view.getUint8(offset + i).toString(16).padStart(2, '0');
      return `v128:${hex}`;
    }
  }
}

/** Per script: externref argument n is always the same object, so a round trip returns it. */
class ExternRefs {
  private readonly byNumber = new Map<string, object>();
  private readonly numbers = new WeakMap<object, string>();
  get(n: string): object {
    let o = this.byNumber.get(n);
    if (!o) {
      o = Object.freeze({ externref: n });
      this.byNumber.set(n, o);
      this.numbers.set(o, n);
    }
    return o;
  }
  describe(type: ValTypeName, v: unknown): string {
    if (v === null) return `${type}:null`;
    if (type === 'funcref') return typeof v === 'function' ? 'funcref:func' : 'funcref:foreign';
    const n = typeof v === 'object' ? this.numbers.get(v) : undefined;
    return `externref:${n ?? 'foreign'}`;
  }
}

function refArg(type: ValTypeName, arg: SpecValue, refs: ExternRefs): unknown {
  if (arg.value === 'null') return null;
  if (type === 'externref' && typeof arg.value === 'string') return refs.get(arg.value);
  throw new Skip(`non-null ${type} argument (no JS value denotes it)`);
}

const F32_EXP_QUIET = 0x7fc00000;
const F64_EXP_QUIET = 0x7ff8000000000000n;

/** Why `bits` (of a scalar or lane of `type`) does not match `expected`, or undefined if it does. */
function checkScalar(type: string, expected: string, bits: bigint): string | undefined {
  const width = type === 'i64' || type === 'f64' ? 64 : type === 'i16' ? 16 : type === 'i8' ? 8 : 32;
  if (expected === 'nan:canonical' || expected === 'nan:arithmetic') {
    const mask = width === 64 ? F64_EXP_QUIET : BigInt(F32_EXP_QUIET);
    const sign = 1n << BigInt(width - 1);
    const ok = expected === 'nan:canonical' ? (bits & ~sign) === mask : (bits & mask) === mask;
    return ok ? undefined : `expected ${expected}, got bits 0x${bits.toString(16)}`;
  }
  const want = BigInt.asUintN(width, BigInt(expected));
  if (want === bits) return undefined;
  return `expected ${type} ${want} (0x${want.toString(16)}), got ${bits} (0x${bits.toString(16)})`;
}

function checkValue(expected: SpecValue, observed: string): string | undefined {
  const colon = observed.indexOf(':');
  const type = observed.slice(0, colon);
  const text = observed.slice(colon + 1);
  if (type !== expected.type) return `expected a ${expected.type}, got ${observed}`;
  switch (type) {
    case 'i32':
    case 'i64':
    case 'f32':
    case 'f64':
      return checkScalar(type, String(expected.value), BigInt(text));
    case 'v128': {
      const lanes = LANES[expected.lane_type ?? ''];
      if (!lanes || !Array.isArray(expected.value)) return `bad v128 expectation ${JSON.stringify(expected)}`;
      const bytes = Uint8Array.from(text.match(/../g) ?? [], (h) => parseInt(h, 16));
      const view = new DataView(bytes.buffer);
      for (let i = 0; i < lanes.count; i++) {
        const off = (i * lanes.bits) / 8;
        const bits =
          lanes.bits === 8
            ? BigInt(view.getUint8(off))
            : lanes.bits === 16
              ? BigInt(view.getUint16(off, true))
              : lanes.bits === 32
                ? BigInt(view.getUint32(off, true))
                : view.getBigUint64(off, true);
        const why = checkScalar(expected.lane_type!, expected.value[i]!, bits);
        if (why) return `lane ${i}: ${why}`;
      }
      return undefined;
    }
    case 'funcref':
      if (expected.value === 'null') return text === 'null' ? undefined : `expected null funcref, got ${observed}`;
      return text === 'func' ? undefined : `expected a non-null funcref, got ${observed}`;
    case 'externref':
      if (text === String(expected.value)) return undefined;
      return `expected externref ${String(expected.value)}, got ${observed}`;
    default:
      return `cannot compare ${type}`;
  }
}

// ---------------------------------------------------------------------------------------------------
// Running a script.

interface ModuleRecord {
  instance: WasmInstanceObject;
  bytes: Uint8Array;
  types?: ExportTypes;
}

type ActionResult = { kind: 'ok'; values: string[] } | ObservedError | { kind: 'skip'; reason: string };

const describe = (o: Observed): string =>
  o.kind === 'ok' ? `ok [${o.values.join(', ')}]` : o.kind === 'not-run' ? 'not run' : `${o.kind}: ${o.message}`;

/** Runs the script in folder `dir` (`<dir>/<basename>.json`). Never throws for a script's failure. */
export function runScript(dir: string, opts: RunOptions = {}): ScriptReport {
  const started = performance.now();
  const name = path.basename(dir);
  const script = JSON.parse(readFileSync(path.join(dir, `${name}.json`), 'utf8')) as { commands: SpecCommand[] };
  const classify = opts.classify ?? defaultClassify;
  const refs = new ExternRefs();
  const registry = new Map<string, Record<string, unknown>>([['spectest', makeSpectest()]]);
  const named = new Map<string, ModuleRecord>();
  let current: ModuleRecord | undefined;
  const commands: CommandReport[] = [];
  /** The line of the command being run (for the hooks). */
  let line = 0;

  const read = (file: string): Uint8Array => new Uint8Array(readFileSync(path.join(dir, file)));

  function instantiate(file: string): ModuleRecord | ObservedError {
    let bytes = read(file);
    if (opts.transform) {
      try {
        bytes = opts.transform(bytes);
      } catch (err) {
        return { kind: 'transform-error', message: errorMessage(err) };
      }
    }
    try {
      const module = new WA.Module(bytes);
      const extra = opts.extraImports?.() ?? {};
      const imports: Record<string, Record<string, unknown>> = {};
      for (const imp of WA.Module.imports(module)) {
        // An unknown module name gets an empty namespace, so it is a LinkError (the spec's "unknown
        // import") rather than the JS API's TypeError for a missing namespace object.
        imports[imp.module] ??= extra[imp.module] ?? registry.get(imp.module) ?? {};
      }
      opts.beforeInvoke?.(line);
      try {
        const instance = new WA.Instance(module, imports);
        opts.onInstance?.(instance);
        return { instance, bytes };
      } finally {
        opts.afterInvoke?.(line);
      }
    } catch (err) {
      return classify(err);
    }
  }

  function target(action: SpecAction): ModuleRecord | ObservedError {
    const rec = action.module === undefined ? current : named.get(action.module);
    return rec ?? { kind: 'harness-error', message: `no module ${action.module ?? '(current)'}` };
  }

  function perform(action: SpecAction): ActionResult {
    const rec = target(action);
    if (!('instance' in rec)) return rec;
    let types: ExportTypes;
    try {
      types = rec.types ??= readExportTypes(rec.bytes);
    } catch (err) {
      return err instanceof UnsupportedType
        ? { kind: 'skip', reason: `unsupported in harness: ${err.message}` }
        : { kind: 'harness-error', message: `reading export types: ${errorMessage(err)}` };
    }
    const exported = rec.instance.exports[action.field];
    const view = new DataView(thunkMemory.buffer);

    if (action.type === 'get') {
      const g = types.globals.get(action.field);
      if (!g || typeof exported !== 'object' || exported === null) {
        return { kind: 'harness-error', message: `no exported global ${action.field}` };
      }
      try {
        const run = thunkFor(exported, `g ${g.type} ${g.mutable}`, () => globalThunkBytes(g), 'g');
        const ref = run();
        return { kind: 'ok', values: [isRef(g.type) ? refs.describe(g.type, ref) : readValue(view, 0, g.type)] };
      } catch (err) {
        return { kind: 'harness-error', message: `reading global: ${errorMessage(err)}` };
      }
    }

    const sig = types.funcs.get(action.field);
    if (!sig || typeof exported !== 'function') {
      return { kind: 'harness-error', message: `no exported function ${action.field}` };
    }
    const args = action.args ?? [];
    if (args.length !== sig.params.length) {
      return { kind: 'harness-error', message: `${args.length} arguments for ${sig.params.length} parameters` };
    }
    const refArgs: unknown[] = [];
    let run: Run;
    try {
      sig.params.forEach((p, i) => {
        if (isRef(p)) refArgs.push(refArg(p, args[i]!, refs));
        else writeArg(view, i * SLOT, p, args[i]!);
      });
      run = thunkFor(exported, `f ${sig.params.join(',')}->${sig.results.join(',')}`, () => funcThunkBytes(sig), 'f');
    } catch (err) {
      if (err instanceof Skip) return { kind: 'skip', reason: err.message };
      return { kind: 'harness-error', message: errorMessage(err) };
    }
    let returned: unknown;
    try {
      opts.beforeInvoke?.(line);
      returned = run(...refArgs);
    } catch (err) {
      return classify(err);
    } finally {
      opts.afterInvoke?.(line);
    }
    const refResults = sig.results.filter(isRef).length;
    const refValues = refResults === 0 ? [] : refResults === 1 ? [returned] : (returned as unknown[]);
    let k = 0;
    const values = sig.results.map((r, j) =>
      isRef(r) ? refs.describe(r, refValues[k++]) : readValue(view, (sig.params.length + j) * SLOT, r),
    );
    return { kind: 'ok', values };
  }

  for (const cmd of script.commands) {
    line = cmd.line;
    /** Records the command: passed if `failure` is undefined, else failed for that reason. */
    const report = (what: string, observed: Observed, failure?: string): void => {
      const base = { line: cmd.line, type: cmd.type, what, observed };
      commands.push(failure === undefined ? { ...base, verdict: 'pass' } : { ...base, verdict: 'fail', reason: failure });
    };
    const skip = (what: string, reason: string): void => {
      commands.push({ line: cmd.line, type: cmd.type, what, observed: { kind: 'not-run' }, verdict: 'skipped', reason });
    };
    const file = cmd.filename ?? '';
    switch (cmd.type) {
      case 'module': {
        const r = instantiate(file);
        if ('instance' in r) {
          current = r;
          if (cmd.name !== undefined) named.set(cmd.name, r);
          report(`module ${file}`, { kind: 'ok', values: [] });
        } else {
          current = undefined;
          report(`module ${file}`, r, `module failed: ${describe(r)}`);
        }
        break;
      }
      case 'register': {
        const rec = cmd.name === undefined ? current : named.get(cmd.name);
        if (rec) {
          registry.set(cmd.as ?? '', rec.instance.exports);
          report(`register ${cmd.as}`, { kind: 'ok', values: [] });
        } else {
          report(`register ${cmd.as}`, { kind: 'harness-error', message: 'no such module' }, 'no such module');
        }
        break;
      }
      case 'action':
      case 'assert_return':
      case 'assert_trap':
      case 'assert_exhaustion': {
        if (cmd.action === undefined) {
          // (assert_trap (module ...)): a trap while instantiating (start function, segment bounds).
          const r = instantiate(file);
          const observed: Observed = 'instance' in r ? { kind: 'ok', values: [] } : r;
          report(`module ${file}`, observed, observed.kind === 'trap' ? undefined : `expected a trap, got ${describe(observed)}`);
          break;
        }
        const what = `${cmd.action.type} ${cmd.action.field}`;
        const r = perform(cmd.action);
        if (r.kind === 'skip') {
          skip(what, r.reason);
          break;
        }
        let why: string | undefined;
        if (cmd.type === 'action') {
          if (r.kind !== 'ok') why = `action failed: ${describe(r)}`;
        } else if (cmd.type === 'assert_return') {
          if (r.kind !== 'ok') why = `expected values, got ${describe(r)}`;
          else {
            const expected = cmd.expected ?? [];
            if (expected.length !== r.values.length) why = `expected ${expected.length} values, got ${r.values.length}`;
            else {
              for (let i = 0; i < expected.length && !why; i++) {
                const w = checkValue(expected[i]!, r.values[i]!);
                if (w) why = expected.length > 1 ? `result ${i}: ${w}` : w;
              }
            }
          }
        } else if (cmd.type === 'assert_trap') {
          if (r.kind !== 'trap') why = `expected trap "${cmd.text}", got ${describe(r)}`;
        } else if (r.kind !== 'exhaustion') {
          why = `expected exhaustion, got ${describe(r)}`;
        }
        report(what, r, why);
        break;
      }
      case 'assert_invalid':
      case 'assert_malformed': {
        const what = `${cmd.module_type ?? 'binary'} module ${file}`;
        if (cmd.module_type === 'text') {
          skip(what, 'text-format module (V8 only decodes binary modules)');
          break;
        }
        // V8's verdict on these bytes (never transformed) is computed once per file and process: the
        // differential runs each script three times, and the verdict cannot differ between them
        const key = path.join(dir, file);
        let v = invalidVerdicts.get(key);
        if (!v) {
          const bytes = read(file);
          if (WA.validate(bytes)) v = { valid: true };
          else {
            try {
              new WA.Module(bytes);
              v = { valid: false, compiled: true };
            } catch (err) {
              v = { valid: false, error: err };
            }
          }
          invalidVerdicts.set(key, v);
        }
        let observed: Observed;
        if (v.valid) observed = { kind: 'ok', values: [] };
        else if ('compiled' in v) observed = { kind: 'harness-error', message: 'validate() is false but compiling succeeded' };
        else observed = classify(v.error);
        const ok = observed.kind === 'compile-error';
        report(what, observed, ok ? undefined : `expected "${cmd.text}", got ${describe(observed)}`);
        break;
      }
      case 'assert_unlinkable':
      case 'assert_uninstantiable': {
        const r = instantiate(file);
        const observed: Observed = 'instance' in r ? { kind: 'ok', values: [] } : r;
        const ok =
          cmd.type === 'assert_unlinkable'
            ? observed.kind === 'link-error'
            : observed.kind === 'trap' || observed.kind === 'link-error';
        report(`module ${file}`, observed, ok ? undefined : `expected "${cmd.text}", got ${describe(observed)}`);
        break;
      }
      default:
        report(cmd.type, { kind: 'not-run' }, `unknown command type ${cmd.type}`);
    }
  }
  return { name, dir, commands, durationMs: performance.now() - started };
}
