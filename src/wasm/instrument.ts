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
import { HOOK_EXPORTS, METER_GLOBALS, METER_MODULE, STANDALONE_EXPORTS } from './meter-abi.js';
import { type Import, type Limits, type Range, SectionId, funcTypeOf, ValType, type WasmModule, countImports } from './module.js';
import { readModule } from './reader.js';
import { encodeData, encodeElements, encodeExports, encodeGlobals, encodeImports, encodeTypes, writeLimits } from './writer.js';
import { readOpcode, skipImmediates } from './instructions.js';
import { BodyRewriter, type BodyTrace } from './instrument-body.js';
import type { InstrumentOptions } from './instrument-options.js';
import { plan } from './instrument-plan.js';
import { growBody, resetBody, standaloneWrapperBody, wrapperBody } from './instrument-appended.js';
import { assembleWithNames, payloadStart } from './instrument-names.js';
import { PROFILE_HOOKS, shiftFunc } from './profile-hooks.js';

export type { InstrumentOptions } from './instrument-options.js';

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

export function instrumentModule(m: WasmModule, o: InstrumentOptions = {}): Instrumented {
  const p = plan(m, o);
  const { ctx } = p;
  const bytes = m.bytes;
  const out = new Map<number, Uint8Array>();
  const shift = (i: number) => (i >= ctx.importedGlobals ? i + ctx.globalShift : i);
  const importedFuncs = countImports(m, 'func');
  // a function of the original module in the new index space (the profiling hooks move defined ones up)
  const moved = (f: number) => shiftFunc(f, importedFuncs, p.funcShift);
  const funcRef = (f: number) => (p.remapRefs ? (p.wrapperOf.get(f) ?? moved(f)) : moved(f));
  const funcMap = p.remapRefs || p.funcShift ? funcRef : null;
  const expr = (r: Range) => (ctx.globalShift || funcMap ? remapExpr(bytes, r, ctx.importedGlobals, ctx.globalShift, funcMap) : null);

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
        // the profiling hooks: the last function imports, so they take the first two indices after the module's
        ...(p.funcShift
          ? [PROFILE_HOOKS.enter, PROFILE_HOOKS.exit].map((name) => ({ module: METER_MODULE, name, kind: 'func' as const, typeIndex: p.hookType }))
          : []),
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
      e.kind === 'global' ? { ...e, index: shift(e.index) } : e.kind === 'func' ? { ...e, index: p.wrapperOf.get(e.index) ?? moved(e.index) } : e,
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
      if (m.start !== null) add(HOOK_EXPORTS.start, 'func', p.wrapperOf.get(m.start) ?? moved(m.start));
      if (hasMemory) add(HOOK_EXPORTS.memory, 'memory', 0);
      if (m.tables.length || m.imports.some((i) => i.kind === 'table')) add(HOOK_EXPORTS.table, 'table', 0);
    }
    out.set(SectionId.export, encodeExports(exports));
  }

  if (m.start !== null && !o.hostHooks && (p.wrapperOf.has(m.start) || p.funcShift)) {
    out.set(SectionId.start, new ByteWriter(8).u32(p.wrapperOf.get(m.start) ?? moved(m.start)).finish());
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
    append(o.standalone ? standaloneWrapperBody(f, params, o.standalone.stackBytes, ctx) : wrapperBody(moved(f), params, ctx));
  }
  if (p.resetFunc >= 0) append(resetBody(o.standalone!.stackBytes, ctx));
  out.set(SectionId.code, code.buf.subarray(0, code.len)); // read once by assemble: no copy

  // Exports now name the wrappers, so an exported function that code takes a reference to
  // (`ref.func`) needs another declaration: a declarative element segment, appended.
  const declare = !p.remapRefs && rewriter.sawRefFunc && p.wrapped.length > 0;
  if (ctx.globalShift || funcMap || declare) {
    const elements = funcMap ? m.elements.map((e) => (e.funcIndices ? { ...e, funcIndices: e.funcIndices.map(funcMap) } : e)) : m.elements.slice();
    if (declare) {
      elements.push({ flags: 3, mode: 'declarative', table: 0, offset: null, elemType: ValType.funcref, funcIndices: p.wrapped.map(moved), exprs: null });
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

/** Re-runs the body rewriter for one defined function, recording where each instruction went. */
export function traceFunction(m: WasmModule, definedIndex: number, o: InstrumentOptions = {}): BodyTrace {
  const p = plan(m, o);
  const trace: BodyTrace = { outOffsets: [], inOffsets: [], costThrough: [], segmentCost: [] };
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

/** A constant expression with global indices shifted (and function references redirected), or null when unchanged. */
export function remapExpr(bytes: Uint8Array, r: Range, imported: number, shift: number, funcs: ((f: number) => number) | null): Uint8Array | null {
  const reader = new ByteReader(bytes, r.start, r.end);
  let w: ByteWriter | null = null;
  let copyFrom = r.start;
  while (reader.pos < r.end) {
    const at = reader.pos;
    const { op, kind } = readOpcode(reader);
    if (op === 0x23 || op === 0xd2) {
      const idx = reader.u32();
      const to = op === 0x23 ? (idx >= imported ? idx + shift : idx) : funcs ? funcs(idx) : idx;
      if (to !== idx) {
        w ??= new ByteWriter(r.end - r.start + 8);
        w.bytes(bytes, copyFrom, at).byte(op).u32(to);
        copyFrom = reader.pos;
      }
    } else skipImmediates(reader, kind);
  }
  return w ? w.bytes(bytes, copyFrom, r.end).finish() : null;
}
