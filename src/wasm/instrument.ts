/**
 * Turns a module into a metered one (docs/ABI.md, "Fuel" and "The meter"): exact fuel, a stack budget, memory growth
 * through one page budget shared by every module of an execution, capped table and memory maxima.
 *
 * The meter lives in four mutable globals imported from `__meter` (see meter-abi.ts), appended after
 * the module's own imported globals, so the module's defined globals shift up by four. Function
 * indices never change: the `memory.grow` replacement is appended after the module's functions.
 * A standalone variant defines the globals inside the module instead and exports `__fuel`.
 */
import { ByteReader, ByteWriter } from './leb.js';
import { HOOK_EXPORTS, METER_GLOBALS, METER_MODULE, MeterFlag, SHARED_STACK_SHIFT, STANDALONE_EXPORTS } from './meter-abi.js';
import {
  type FuncType,
  type Import,
  type Limits,
  type Range,
  SectionId,
  funcTypeOf,
  ValType,
  type WasmModule,
  countImports,
  sameFuncType,
} from './module.js';
import { readModule } from './reader.js';
import {
  assemble,
  encodeData,
  encodeElements,
  encodeExports,
  encodeGlobals,
  encodeImports,
  encodeTypes,
  writeLimits,
} from './writer.js';
import { readOpcode, skipImmediates } from './instructions.js';
import { BodyRewriter, VOID_BLOCK, type BodyContext, type BodyTrace } from './instrument-body.js';
import { frameCost } from './frame-cost.js';

export interface InstrumentOptions {
  /** Charge fuel (default true). */
  fuel?: boolean;
  /** Charge the stack budget: each function's frame, each call leaving the module (default true). */
  stack?: boolean;
  /** Route `memory.grow` through the shared page budget (default true; not in standalone mode). */
  memory?: boolean;
  /** Lower every defined memory's declared maximum to this many pages. */
  maxMemoryPages?: number;
  /** Lower every defined table's declared maximum to this many elements. */
  maxTableElements?: number;
  /** Module name written into the name section (V8 shows it in stack traces: traps are mapped back by it). */
  moduleName?: string;
  /** Define the meter inside the module (initial fuel and stack budget in bytes) and export the fuel as `__fuel`. */
  standalone?: { fuel: bigint; stackBytes: number };
  /** Export the start function (instead of running it at instantiation) and memory 0 under `HOOK_EXPORTS`. */
  hostHooks?: boolean;
  /**
   * Keep the fuel in a local per function (faster). Exact for runs that finish or run out of fuel; after
   * a trap the meter lags behind, and the exact count needs the same run without this option.
   */
  localFuel?: boolean;
  /**
   * Shared-memory linking: the module's stack pointer (its first defined global, checked by the
   * caller with layout analysis) becomes the import `__meter.sp`, and every write to it is checked
   * against the import `__meter.sp_floor` (see stack-guard.ts). Not with `standalone`.
   */
  sharedStack?: boolean;
  /** With `sharedStack`: check the writes (default true; false only to measure what the guard costs). */
  stackGuard?: boolean;
  /**
   * The module's own memory (when it defines exactly one, unshared, 32-bit) becomes the import
   * `__meter.memory` with the same (capped) limits, so the embedder can hand it a pooled memory.
   * Not with `standalone`.
   */
  importMemory?: boolean;
  /**
   * Replace every NaN that float arithmetic produces by the canonical NaN (nan-canon.ts; the
   * `policy.floats: "canonicalize"` setting). Costs no fuel. Default false.
   */
  canonicalizeNaN?: boolean;
}

export class ReservedNameError extends Error {}

export interface Instrumented {
  bytes: Uint8Array;
  /** Under `importMemory`: the limits of the memory the module now imports as `__meter.memory`, else null. */
  memoryImport: Limits | null;
  /** Offset in `bytes` of each defined function's body (after its size), by defined-function index. */
  bodyStarts: Uint32Array;
  importedFuncs: number;
}

/** Version of the rewriting scheme: part of every cache key of instrumented code. */
export const INSTRUMENTATION_VERSION = 7;

export function instrument(bytes: Uint8Array, options: InstrumentOptions = {}): Uint8Array {
  return instrumentModule(readModule(bytes), options).bytes;
}

interface Plan {
  ctx: BodyContext;
  growFunc: number;
  growType: number;
  types: FuncType[];
  newTypes: boolean;
  /** Defined functions that get an entry wrapper (syncing the module's fuel with the shared meter). */
  wrapped: number[];
  /** Function index → its wrapper's index, for the wrapped ones. */
  wrapperOf: Map<number, number>;
  /** Whether element segments and `ref.func` point at wrappers (function references may leave the module). */
  remapRefs: boolean;
  /** The meter's own globals defined in the module, appended after its globals. */
  definedMeter: number;
  /** The module's defined globals that stay defined (all but the stack pointer under `sharedStack`). */
  keptGlobals: number;
  sharedStack: boolean;
  /** Standalone mode: the appended `__meter_reset` function and its type. */
  resetFunc: number;
  resetType: number;
  /** By type index of a defined function: the encoded block type of its body's result block (trap blocks). */
  blockTypes: Uint8Array[];
}

const isRef = (v: number) => v === ValType.funcref || v === ValType.externref;

/**
 * Can a function of this module be reached from outside other than through its exports (a shared
 * table, a function reference handed out)? Then references point at wrappers too.
 */
function referencesEscape(m: WasmModule): boolean {
  if (m.imports.some((i) => i.kind === 'table' || (i.kind === 'global' && isRef(i.global.valType)))) return true;
  if (m.exports.some((e) => e.kind === 'table' || (e.kind === 'global' && isRef(m.globals[e.index - countImports(m, 'global')]?.type.valType ?? 0)))) return true;
  const sigs = [...m.imports.flatMap((i) => (i.kind === 'func' ? [m.types[i.typeIndex]] : [])), ...m.exports.flatMap((e) => (e.kind === 'func' ? [funcTypeOf(m, e.index)] : []))];
  return sigs.some((t) => t && [...t.params, ...t.results].some(isRef));
}

/** Function indices a module can take a reference to (elements, exports, global initialisers). */
function referencedFunctions(m: WasmModule): Set<number> {
  const out = new Set<number>();
  const scan = (r: Range) => {
    const reader = new ByteReader(m.bytes, r.start, r.end);
    while (reader.pos < r.end) {
      const { op, kind } = readOpcode(reader);
      if (op === 0xd2) out.add(reader.u32());
      else skipImmediates(reader, kind);
    }
  };
  for (const e of m.elements) {
    e.funcIndices?.forEach((f) => out.add(f));
    e.exprs?.forEach(scan);
  }
  for (const g of m.globals) scan(g.init);
  for (const e of m.exports) if (e.kind === 'func') out.add(e.index);
  return out;
}

function plan(m: WasmModule, o: InstrumentOptions): Plan {
  const importedGlobals = countImports(m, 'global');
  const importedFuncs = countImports(m, 'func');
  const hasMemory = m.memories.length > 0 || m.imports.some((i) => i.kind === 'memory');
  const standalone = !!o.standalone;
  const types = m.types.slice();
  let newTypes = false;
  let growFunc = -1;
  let growType = -1;
  let nextFunc = importedFuncs + m.functions.length;
  // memory.grow goes through a helper: the page budget (not standalone) and the per-page fuel
  const budget = (o.memory ?? true) && !standalone;
  if (hasMemory && (budget || (o.fuel ?? true))) {
    const sig: FuncType = { params: [ValType.i32], results: [ValType.i32] };
    growType = types.findIndex((t) => sameFuncType(t, sig));
    if (growType < 0) {
      growType = types.push(sig) - 1;
      newTypes = true;
    }
    growFunc = nextFunc++;
  }
  // Shared meter (imported) and, outside standalone mode, the module's own fast copies of fuel and stack budget.
  // Standalone: fuel, stack budget, pages, flags and a count of import calls in progress, all defined.
  const sharedStack = !!o.sharedStack && !standalone;
  const globalShift = standalone ? 0 : sharedStack ? SHARED_STACK_SHIFT : 4;
  const keptGlobals = m.globals.length - (sharedStack ? 1 : 0);
  const shared = standalone ? importedGlobals + m.globals.length : importedGlobals;
  const definedMeter = standalone ? 5 : 2;
  const local = standalone ? shared : importedGlobals + (sharedStack ? 6 : 4) + keptGlobals;
  const wrapperOf = new Map<number, number>();
  const wrapped: number[] = [];
  let remapRefs = false;
  const refs = referencedFunctions(m);
  const escapes = referencesEscape(m);
  const syncIndirect = escapes || [...refs].some((f) => f < importedFuncs);
  {
    // Entries from outside get a wrapper: outside standalone mode it syncs the module's copies of the
    // meter; in standalone mode it resets the stack budget and flags when no import call is in progress (a
    // new top-level call, also after an earlier call trapped mid-way).
    remapRefs = !standalone && escapes;
    const entries = new Set<number>();
    for (const e of m.exports) if (e.kind === 'func') entries.add(e.index);
    if (m.start !== null && !standalone) entries.add(m.start);
    if (remapRefs) refs.forEach((f) => entries.add(f));
    for (const f of [...entries].sort((a, b) => a - b)) {
      if (f < importedFuncs) continue; // re-exported imports run none of this module's code
      wrapped.push(f);
      wrapperOf.set(f, nextFunc++);
    }
  }
  // The result block that wraps each body (instrument-body.ts, trap blocks) has the function's
  // results and no parameters: the shorthand for none or one, else a type index ([] -> results).
  const blockTypes: Uint8Array[] = [];
  if ((o.fuel ?? true) || (o.stack ?? true)) {
    for (const ti of m.functions) {
      if (blockTypes[ti]) continue;
      const t = m.types[ti];
      if (!t) continue; // reported when the body is rewritten
      if (t.results.length === 0) blockTypes[ti] = VOID_BLOCK;
      else if (t.results.length === 1) blockTypes[ti] = Uint8Array.of(t.results[0]!);
      else {
        const sig: FuncType = { params: [], results: t.results };
        let bt = t.params.length === 0 ? ti : types.findIndex((u) => sameFuncType(u, sig));
        if (bt < 0) {
          bt = types.push(sig) - 1;
          newTypes = true;
        }
        blockTypes[ti] = new ByteWriter(5).s32(bt).finish();
      }
    }
  }
  let resetFunc = -1;
  let resetType = -1;
  if (standalone) {
    const sig: FuncType = { params: [], results: [] };
    resetType = types.findIndex((t) => sameFuncType(t, sig));
    if (resetType < 0) {
      resetType = types.push(sig) - 1;
      newTypes = true;
    }
    resetFunc = nextFunc++;
  }
  return {
    resetFunc,
    resetType,
    blockTypes,
    ctx: {
      bytes: m.bytes,
      fuel: o.fuel ?? true,
      stack: o.stack ?? true,
      growFunc,
      importedGlobals,
      globalShift,
      gFuel: local,
      gStack: local + 1,
      gPages: shared + 2,
      gFlags: shared + 3,
      sync: standalone ? null : { fuel: shared, stack: shared + 1, importedFuncs, indirect: syncIndirect },
      importCalls: standalone ? { count: shared + 4, importedFuncs, indirect: syncIndirect } : null,
      refRemap: remapRefs ? wrapperOf : null,
      localFuel: o.localFuel ?? false,
      spGuard: sharedStack ? { sp: importedGlobals + SHARED_STACK_SHIFT, floor: importedGlobals + SHARED_STACK_SHIFT - 1 } : null,
      guardWrites: o.stackGuard ?? true,
      frameCost: (i) => frameCost(m, i),
      importedFuncs,
      canonicalizeNaN: o.canonicalizeNaN ?? false,
    },
    growFunc,
    growType,
    types,
    newTypes,
    wrapped,
    wrapperOf,
    remapRefs,
    definedMeter,
    keptGlobals,
    sharedStack,
  };
}

export function instrumentModule(m: WasmModule, o: InstrumentOptions = {}): Instrumented {
  const p = plan(m, o);
  const { ctx } = p;
  const bytes = m.bytes;
  const out = new Map<number, Uint8Array>();
  const shift = (i: number) => (i >= ctx.importedGlobals ? i + ctx.globalShift : i);
  const funcRef = (f: number) => (p.remapRefs ? (p.wrapperOf.get(f) ?? f) : f);
  const expr = (r: Range) =>
    ctx.globalShift || p.remapRefs ? remapExpr(bytes, r, ctx.importedGlobals, ctx.globalShift, p.remapRefs ? p.wrapperOf : null) : null;
  const importedFuncs = countImports(m, 'func');

  if (p.newTypes) out.set(SectionId.type, encodeTypes(p.types));

  const memoryImport = !movableMemory(m, o) ? null : o.maxMemoryPages === undefined ? m.memories[0]! : capLimits(m.memories[0]!, o.maxMemoryPages);
  if (!o.standalone) {
    const meter = (name: string, valType: number): Import => ({
      module: METER_MODULE,
      name,
      kind: 'global',
      global: { valType, mutable: true },
    });
    out.set(
      SectionId.import,
      encodeImports([
        ...m.imports,
        meter(METER_GLOBALS.fuel, ValType.i64),
        meter(METER_GLOBALS.stack, ValType.i32),
        meter(METER_GLOBALS.pages, ValType.i32),
        meter(METER_GLOBALS.flags, ValType.i32),
        ...(p.sharedStack
          ? [
              { module: METER_MODULE, name: METER_GLOBALS.spFloor, kind: 'global' as const, global: { valType: ValType.i32, mutable: false } },
              meter(METER_GLOBALS.sp, ValType.i32),
            ]
          : []),
        // memory imports precede defined memories in the index space: the moved memory keeps index 0
        ...(memoryImport ? [{ module: METER_MODULE, name: METER_GLOBALS.memory, kind: 'memory' as const, memory: memoryImport }] : []),
      ]),
    );
  }

  // appended functions: the grow helper, then the entry wrappers
  const appendedTypes = [
    ...(p.growFunc >= 0 ? [p.growType] : []),
    ...p.wrapped.map((f) => typeIndexOf(m, f)),
    ...(p.resetFunc >= 0 ? [p.resetType] : []),
  ];
  if (appendedTypes.length) {
    const w = new ByteWriter(m.functions.length * 2 + 8);
    w.u32(m.functions.length + appendedTypes.length);
    for (const t of m.functions) w.u32(t);
    for (const t of appendedTypes) w.u32(t);
    out.set(SectionId.function, w.finish());
  }

  if (o.maxTableElements !== undefined && m.tables.length) {
    const cap = o.maxTableElements;
    const w = new ByteWriter();
    w.u32(m.tables.length);
    for (const t of m.tables) {
      w.byte(t.elemType);
      writeLimits(w, capLimits(t.limits, cap));
    }
    out.set(SectionId.table, w.finish());
  }
  if (memoryImport) {
    out.set(SectionId.memory, new ByteWriter(1).u32(0).finish());
  } else if (o.maxMemoryPages !== undefined && m.memories.length) {
    const cap = o.maxMemoryPages;
    const w = new ByteWriter();
    w.u32(m.memories.length);
    for (const l of m.memories) writeLimits(w, capLimits(l, cap));
    out.set(SectionId.memory, w.finish());
  }

  // globals: shifted references in initialisers; the meter's defined globals appended
  {
    const kept = p.sharedStack ? m.globals.slice(1) : m.globals;
    const base = encodeGlobals(bytes, kept, (i) => expr(kept[i]!.init));
    const r = new ByteReader(base);
    const n = r.u32();
    const w = new ByteWriter(base.length + 32);
    w.u32(n + p.definedMeter).bytes(base, r.pos);
    if (o.standalone) {
      w.byte(ValType.i64).byte(1).byte(0x42).s64(o.standalone.fuel).byte(0x0b);
      w.byte(ValType.i32).byte(1).byte(0x41).s32(o.standalone.stackBytes).byte(0x0b);
      w.byte(ValType.i32).byte(1).byte(0x41).s32(0).byte(0x0b);
      w.byte(ValType.i32).byte(1).byte(0x41).s32(0).byte(0x0b);
      w.byte(ValType.i32).byte(1).byte(0x41).s32(0).byte(0x0b); // import calls in progress
    } else {
      // the module's copies of fuel and stack budget; every entry (a wrapper) loads them from the shared meter.
      // Fuel starts at the i64 maximum, so the fuel left is always the least of the shared value and
      // every module's copy (a copy is never below the truth: fuel only goes down).
      w.byte(ValType.i64).byte(1).byte(0x42).s64((1n << 63n) - 1n).byte(0x0b);
      w.byte(ValType.i32).byte(1).byte(0x41).byte(0).byte(0x0b);
    }
    out.set(SectionId.global, w.finish());
  }

  const hasMemory = m.memories.length > 0 || m.imports.some((i) => i.kind === 'memory');
  {
    const exports = m.exports.map((e) =>
      e.kind === 'global' ? { ...e, index: shift(e.index) } : e.kind === 'func' ? { ...e, index: p.wrapperOf.get(e.index) ?? e.index } : e,
    );
    // every name the instrumenter may export is refused, whether or not this module gets it: the
    // engine looks them up (a module exporting `__meter_start` without a start would have it run)
    const reserved = o.standalone ? Object.values(STANDALONE_EXPORTS) : Object.values(HOOK_EXPORTS);
    for (const e of m.exports) if ((reserved as string[]).includes(e.name)) throw new ReservedNameError(`the export name \`${e.name}\` is reserved`);
    const add = (name: string, kind: 'func' | 'global' | 'memory' | 'table', index: number) => {
      if (exports.some((e) => e.name === name)) throw new ReservedNameError(`the export name \`${name}\` is reserved`);
      exports.push({ name, kind, index });
    };
    if (o.standalone) {
      add(STANDALONE_EXPORTS.fuel, 'global', ctx.gFuel);
      add(STANDALONE_EXPORTS.flags, 'global', ctx.gFlags);
      add(STANDALONE_EXPORTS.reset, 'func', p.resetFunc);
    }
    if (!o.standalone) add(HOOK_EXPORTS.fuel, 'global', ctx.gFuel);
    if (o.hostHooks) {
      if (m.start !== null) add(HOOK_EXPORTS.start, 'func', p.wrapperOf.get(m.start) ?? m.start);
      if (hasMemory) add(HOOK_EXPORTS.memory, 'memory', 0);
      if (m.tables.length || m.imports.some((i) => i.kind === 'table')) add(HOOK_EXPORTS.table, 'table', 0);
    }
    out.set(SectionId.export, encodeExports(exports));
  }

  if (m.start !== null && !o.hostHooks && p.wrapperOf.has(m.start)) {
    out.set(SectionId.start, new ByteWriter(8).u32(p.wrapperOf.get(m.start)!).finish());
  }

  // code
  // instrumented code runs to 1.1–2.5× the original: one allocation, not a few doublings
  const code = new ByteWriter(3 * bytes.length + 1024);
  const count = m.code.length + appendedTypes.length;
  const bodyStarts = new Uint32Array(count);
  const rewriter = new BodyRewriter(ctx);
  const rewriteAll = () => {
    code.len = 0;
    code.u32(count);
    for (let i = 0; i < m.code.length; i++) {
      const type = m.types[m.functions[i]!];
      if (!type) throw new Error(`function ${importedFuncs + i} has an unknown type`);
      bodyStarts[i] = rewriter.rewrite(m.code[i]!, type.params.length, code, undefined, p.blockTypes[m.functions[i]!], i);
    }
  };
  rewriteAll();
  let k = m.code.length;
  const append = (body: Uint8Array) => {
    code.u32(body.length);
    bodyStarts[k++] = code.len;
    code.bytes(body);
  };
  if (p.growFunc >= 0) append(growBody(ctx, !o.standalone && (o.memory ?? true)));
  for (const f of p.wrapped) {
    const params = funcTypeOf(m, f)!.params.length;
    append(o.standalone ? standaloneWrapperBody(f, params, o.standalone.stackBytes, ctx) : wrapperBody(f, params, ctx));
  }
  if (p.resetFunc >= 0) append(resetBody(o.standalone!.stackBytes, ctx));
  out.set(SectionId.code, code.buf.subarray(0, code.len)); // read once by assemble: no copy

  // Exports now name the wrappers, so an exported function that code takes a reference to
  // (`ref.func`) needs another declaration: a declarative element segment, appended.
  const declare = !p.remapRefs && rewriter.sawRefFunc && p.wrapped.length > 0;
  if (ctx.globalShift || p.remapRefs || declare) {
    const elements = p.remapRefs ? m.elements.map((e) => (e.funcIndices ? { ...e, funcIndices: e.funcIndices.map(funcRef) } : e)) : m.elements.slice();
    if (declare) {
      elements.push({ flags: 3, mode: 'declarative', table: 0, offset: null, elemType: ValType.funcref, funcIndices: p.wrapped, exprs: null });
    }
    if (elements.length) out.set(SectionId.element, encodeElements(bytes, elements, expr));
    if (m.data.length && ctx.globalShift) out.set(SectionId.data, encodeData(bytes, m.data, expr));
  }

  const sections = o.hostHooks && m.start !== null ? { ...m, sections: m.sections.filter((s) => s.id !== SectionId.start) } : m;
  const result = assembleWithNames(sections, out, o.moduleName, ctx);
  const codeStart = payloadStart(result, SectionId.code);
  for (let i = 0; i < bodyStarts.length; i++) bodyStarts[i]! += codeStart;
  return { bytes: result, bodyStarts, importedFuncs, memoryImport };
}

function typeIndexOf(m: WasmModule, f: number): number {
  const imported = countImports(m, 'func');
  if (f >= imported) return m.functions[f - imported]!;
  let seen = 0;
  for (const i of m.imports) if (i.kind === 'func' && seen++ === f) return i.typeIndex;
  throw new Error(`no function ${f}`);
}

/**
 * An entry wrapper: load the module's fuel and stack budget from the shared meter, call the function,
 * store them back. Entries from outside (exports, start, escaping references) go through it, so the
 * module's own code works on fast defined globals and the shared meter is exact whenever control is
 * outside. The wrapper's own small frame is covered by the crossing cost (or the host's reserve).
 */
function wrapperBody(f: number, params: number, ctx: BodyContext): Uint8Array {
  const s = ctx.sync!;
  const w = new ByteWriter(40 + params * 2);
  w.u32(0); // no locals
  w.byte(0x23).u32(s.fuel).byte(0x24).u32(ctx.gFuel);
  w.byte(0x23).u32(s.stack).byte(0x24).u32(ctx.gStack);
  for (let i = 0; i < params; i++) w.byte(0x20).u32(i);
  w.byte(0x10).u32(f);
  w.byte(0x23).u32(ctx.gFuel).byte(0x24).u32(s.fuel);
  w.byte(0x23).u32(ctx.gStack).byte(0x24).u32(s.stack);
  w.byte(0x0b);
  return w.finish();
}

/**
 * A standalone module's entry wrapper: a call from the embedder while no import call is in progress
 * is a new top-level call, so the stack budget and the flags start afresh (an earlier call that
 * trapped left them where the trap struck).
 */
function standaloneWrapperBody(f: number, params: number, stackBytes: number, ctx: BodyContext): Uint8Array {
  const w = new ByteWriter(40 + params * 2);
  w.u32(0);
  w.byte(0x23).u32(ctx.importCalls!.count).byte(0x45); // global.get calls; i32.eqz
  w.byte(0x04).byte(0x40);
  w.byte(0x41).s32(stackBytes).byte(0x24).u32(ctx.gStack);
  w.byte(0x41).s32(0).byte(0x24).u32(ctx.gFlags);
  w.byte(0x0b);
  for (let i = 0; i < params; i++) w.byte(0x20).u32(i);
  w.byte(0x10).u32(f);
  w.byte(0x0b);
  return w.finish();
}

/** `__meter_reset`: no import call in progress, the whole stack budget, no flags (fuel is the embedder's to set). */
function resetBody(stackBytes: number, ctx: BodyContext): Uint8Array {
  const w = new ByteWriter(24);
  w.u32(0);
  w.byte(0x41).s32(0).byte(0x24).u32(ctx.importCalls!.count);
  w.byte(0x41).s32(stackBytes).byte(0x24).u32(ctx.gStack);
  w.byte(0x41).s32(0).byte(0x24).u32(ctx.gFlags);
  w.byte(0x0b);
  return w.finish();
}

/** Re-runs the body rewriter for one defined function, recording where each instruction went. */
export function traceFunction(m: WasmModule, definedIndex: number, o: InstrumentOptions = {}): BodyTrace {
  const p = plan(m, o);
  const trace: BodyTrace = { outOffsets: [], costThrough: [], segmentCost: [] };
  const type = m.types[m.functions[definedIndex]!]!;
  new BodyRewriter(p.ctx).rewrite(m.code[definedIndex]!, type.params.length, new ByteWriter(), trace, p.blockTypes[m.functions[definedIndex]!], definedIndex);
  return trace;
}

/** Whether `importMemory` applies: one defined memory, none imported, neither shared nor 64-bit. */
function movableMemory(m: WasmModule, o: InstrumentOptions): boolean {
  if (!o.importMemory || o.standalone || m.memories.length !== 1) return false;
  return !m.imports.some((i) => i.kind === 'memory') && (m.memories[0]!.flags & 6) === 0;
}

function capLimits(l: Limits, cap: number): Limits {
  const max = Math.max(l.min, Math.min(l.max ?? Infinity, cap));
  return { flags: l.flags | 1, min: l.min, max };
}

/**
 * The appended `memory.grow` replacement: refuse (flagged) beyond the page budget, else grow, and
 * charge 1 fuel per page added when the grow succeeds (wasmtime's rule). Callers keeping the fuel in
 * a local store it to `gFuel` before the call and reload it after.
 */
function growBody(ctx: BodyContext, budget: boolean): Uint8Array {
  const { gPages, gFlags, gFuel } = ctx;
  const w = new ByteWriter(96);
  w.u32(1).u32(1).byte(ValType.i32); // one extra i32 local: the grow result
  if (budget) {
    w.byte(0x20).u32(0); // local.get delta
    w.byte(0x23).u32(gPages);
    w.byte(0x4b); // i32.gt_u
    w.byte(0x04).byte(0x40); // if
    w.byte(0x23).u32(gFlags).byte(0x41).s32(MeterFlag.growRefused).byte(0x72).byte(0x24).u32(gFlags);
    w.byte(0x41).s32(-1).byte(0x0f); // i32.const -1; return
    w.byte(0x0b);
  }
  w.byte(0x20).u32(0).byte(0x40).byte(0x00); // local.get delta; memory.grow 0
  w.byte(0x22).u32(1); // local.tee result
  w.byte(0x41).s32(-1).byte(0x47); // i32.ne
  w.byte(0x04).byte(0x40);
  if (budget) w.byte(0x23).u32(gPages).byte(0x20).u32(0).byte(0x6b).byte(0x24).u32(gPages); // pages -= delta
  if (ctx.fuel) {
    // fuel -= delta; out of fuel when it went negative
    w.byte(0x23).u32(gFuel).byte(0x20).u32(0).byte(0xad).byte(0x7d).byte(0x24).u32(gFuel);
    w.byte(0x23).u32(gFuel).byte(0x42).byte(0).byte(0x53); // i64.lt_s
    w.byte(0x04).byte(0x40);
    w.byte(0x23).u32(gFlags).byte(0x41).s32(MeterFlag.outOfFuel).byte(0x72).byte(0x24).u32(gFlags);
    w.byte(0x00);
    w.byte(0x0b);
  }
  w.byte(0x0b);
  w.byte(0x20).u32(1); // result
  w.byte(0x0b);
  return w.finish();
}

/** A constant expression with global indices shifted (and function references redirected), or null when unchanged. */
export function remapExpr(bytes: Uint8Array, r: Range, imported: number, shift: number, funcs: Map<number, number> | null): Uint8Array | null {
  const reader = new ByteReader(bytes, r.start, r.end);
  let w: ByteWriter | null = null;
  let copyFrom = r.start;
  while (reader.pos < r.end) {
    const at = reader.pos;
    const { op, kind } = readOpcode(reader);
    if (op === 0x23 || op === 0xd2) {
      const idx = reader.u32();
      const to = op === 0x23 ? (idx >= imported ? idx + shift : idx) : (funcs?.get(idx) ?? idx);
      if (to !== idx) {
        w ??= new ByteWriter(r.end - r.start + 8);
        w.bytes(bytes, copyFrom, at).byte(op).u32(to);
        copyFrom = reader.pos;
      }
    } else skipImmediates(reader, kind);
  }
  return w ? w.bytes(bytes, copyFrom, r.end).finish() : null;
}

/** Start of the payload of the first section with this id in an assembled module. */
export function payloadStart(bytes: Uint8Array, id: number): number {
  const r = new ByteReader(bytes, 8);
  while (!r.atEnd()) {
    const sid = r.byte();
    const size = r.u32();
    if (sid === id) return r.pos;
    r.skip(size);
  }
  throw new Error(`no section ${id}`);
}

/** Assembles, with the name section's module name set and its global names shifted. */
function assembleWithNames(m: WasmModule, out: Map<number, Uint8Array>, moduleName: string | undefined, ctx: BodyContext): Uint8Array {
  const nameSection = m.customs.find((c) => c.name === 'name');
  if (!moduleName && (!nameSection || !ctx.globalShift)) return assemble(m, out);
  const payload = buildNameSection(m, nameSection, moduleName, ctx);
  // the name section replaced: dropped from its place, written at the end. Every other `name` section
  // goes too: V8 reads the first one it meets, and a module's own would then name it in stack traces.
  const names = new Set(m.customs.filter((c) => c.name === 'name'));
  return assemble(names.size ? { ...m, sections: m.sections.filter((s) => !names.has(s)) } : m, out, payload);
}

function buildNameSection(
  m: WasmModule,
  section: WasmModule['customs'][number] | undefined,
  moduleName: string | undefined,
  ctx: BodyContext,
): Uint8Array {
  const w = new ByteWriter(256);
  w.name('name');
  if (moduleName !== undefined) {
    const sub = new ByteWriter(moduleName.length + 4).name(moduleName);
    w.byte(0).u32(sub.len).bytes(sub.buf, 0, sub.len);
  }
  if (!section) return w.finish();
  try {
    const r = new ByteReader(m.bytes, section.start, section.end);
    r.name();
    const copy = new ByteWriter(section.end - section.start);
    while (!r.atEnd()) {
      const id = r.byte();
      const size = r.u32();
      const start = r.pos;
      r.skip(size);
      if (id === 0 && moduleName !== undefined) continue;
      if (id === 7 && ctx.globalShift) {
        const s = new ByteReader(m.bytes, start, start + size);
        const n = s.u32();
        const sub = new ByteWriter(size + 8).u32(n);
        for (let i = 0; i < n; i++) {
          const idx = s.u32();
          sub.u32(idx >= ctx.importedGlobals ? idx + ctx.globalShift : idx).name(s.name());
        }
        copy.byte(7).u32(sub.len).bytes(sub.buf, 0, sub.len);
      } else copy.byte(id).u32(size).bytes(m.bytes, start, start + size);
    }
    w.bytes(copy.buf, 0, copy.len);
  } catch {
    // a malformed name section is ignored by engines: drop its remains, keep the module name
  }
  return w.finish();
}
