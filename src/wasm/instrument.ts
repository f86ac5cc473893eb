/**
 * Turns a module into a metered one (DESIGN §6–§7): exact fuel, a call-depth limit, memory growth
 * through one page budget shared by every module of an execution, capped table and memory maxima.
 *
 * The meter lives in four mutable globals imported from `__meter` (see meter-abi.ts), appended after
 * the module's own imported globals, so the module's defined globals shift up by four. Function
 * indices never change: the `memory.grow` replacement is appended after the module's functions.
 * A standalone variant defines the globals inside the module instead and exports `__fuel`.
 */
import { ByteReader, ByteWriter } from './leb.js';
import { HOOK_EXPORTS, METER_GLOBALS, METER_MODULE, MeterFlag } from './meter-abi.js';
import {
  type FuncType,
  type Import,
  type Limits,
  type Range,
  SectionId,
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
import { BodyRewriter, type BodyContext, type BodyTrace } from './instrument-body.js';

export interface InstrumentOptions {
  /** Charge fuel (default true). */
  fuel?: boolean;
  /** Count call depth (default true). */
  depth?: boolean;
  /** Route `memory.grow` through the shared page budget (default true; not in standalone mode). */
  memory?: boolean;
  /** Lower every defined memory's declared maximum to this many pages. */
  maxMemoryPages?: number;
  /** Lower every defined table's declared maximum to this many elements. */
  maxTableElements?: number;
  /** Module name written into the name section (V8 shows it in stack traces: traps are mapped back by it). */
  moduleName?: string;
  /** Define the meter inside the module (initial fuel and depth) and export the fuel as `__fuel`. */
  standalone?: { fuel: bigint; depth: number };
  /** Export the start function (instead of running it at instantiation) and memory 0 under `HOOK_EXPORTS`. */
  hostHooks?: boolean;
}

export class ReservedNameError extends Error {}

export interface Instrumented {
  bytes: Uint8Array;
  /** Offset in `bytes` of each defined function's body (after its size), by defined-function index. */
  bodyStarts: Uint32Array;
  importedFuncs: number;
}

/** Version of the rewriting scheme: part of every cache key of instrumented code. */
export const INSTRUMENTATION_VERSION = 1;

export function instrument(bytes: Uint8Array, options: InstrumentOptions = {}): Uint8Array {
  return instrumentModule(readModule(bytes), options).bytes;
}

interface Plan {
  ctx: BodyContext;
  growFunc: number;
  growType: number;
  types: FuncType[];
  newTypes: boolean;
}

function plan(m: WasmModule, o: InstrumentOptions): Plan {
  const importedGlobals = countImports(m, 'global');
  const importedFuncs = countImports(m, 'func');
  const hasMemory = m.memories.length > 0 || m.imports.some((i) => i.kind === 'memory');
  const standalone = !!o.standalone;
  const meterBase = standalone ? importedGlobals + m.globals.length : importedGlobals;
  const types = m.types.slice();
  let newTypes = false;
  let growFunc = -1;
  let growType = -1;
  if ((o.memory ?? true) && !standalone && hasMemory) {
    const sig: FuncType = { params: [ValType.i32], results: [ValType.i32] };
    growType = types.findIndex((t) => sameFuncType(t, sig));
    if (growType < 0) {
      growType = types.push(sig) - 1;
      newTypes = true;
    }
    growFunc = importedFuncs + m.functions.length;
  }
  return {
    ctx: {
      bytes: m.bytes,
      fuel: o.fuel ?? true,
      depth: o.depth ?? true,
      growFunc,
      importedGlobals,
      globalShift: standalone ? 0 : 4,
      gFuel: meterBase,
      gDepth: meterBase + 1,
      gFlags: meterBase + 3,
    },
    growFunc,
    growType,
    types,
    newTypes,
  };
}

export function instrumentModule(m: WasmModule, o: InstrumentOptions = {}): Instrumented {
  const p = plan(m, o);
  const { ctx } = p;
  const bytes = m.bytes;
  const out = new Map<number, Uint8Array>();
  const shift = (i: number) => (i >= ctx.importedGlobals ? i + ctx.globalShift : i);
  const expr = (r: Range) => (ctx.globalShift ? remapGlobalsInExpr(bytes, r, ctx.importedGlobals, ctx.globalShift) : null);

  if (p.newTypes) out.set(SectionId.type, encodeTypes(p.types));

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
        meter(METER_GLOBALS.depth, ValType.i32),
        meter(METER_GLOBALS.pages, ValType.i32),
        meter(METER_GLOBALS.flags, ValType.i32),
      ]),
    );
  }

  if (p.growFunc >= 0) {
    const w = new ByteWriter(m.functions.length * 2 + 8);
    w.u32(m.functions.length + 1);
    for (const t of m.functions) w.u32(t);
    w.u32(p.growType);
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
  if (o.maxMemoryPages !== undefined && m.memories.length) {
    const cap = o.maxMemoryPages;
    const w = new ByteWriter();
    w.u32(m.memories.length);
    for (const l of m.memories) writeLimits(w, capLimits(l, cap));
    out.set(SectionId.memory, w.finish());
  }

  // globals: shifted references in initialisers; standalone meter globals appended
  if (ctx.globalShift || o.standalone) {
    const w = new ByteWriter();
    const extra = o.standalone ? 4 : 0;
    const base = encodeGlobals(bytes, m.globals, (i) => expr(m.globals[i]!.init));
    if (!extra) out.set(SectionId.global, base);
    else {
      const r = new ByteReader(base);
      const n = r.u32();
      w.u32(n + extra).bytes(base, r.pos);
      const s = o.standalone!;
      w.byte(ValType.i64).byte(1).byte(0x42).s64(s.fuel).byte(0x0b);
      w.byte(ValType.i32).byte(1).byte(0x41).s32(s.depth).byte(0x0b);
      w.byte(ValType.i32).byte(1).byte(0x41).s32(0).byte(0x0b);
      w.byte(ValType.i32).byte(1).byte(0x41).s32(0).byte(0x0b);
      out.set(SectionId.global, w.finish());
    }
  }

  const hasMemory = m.memories.length > 0 || m.imports.some((i) => i.kind === 'memory');
  if (ctx.globalShift || o.standalone || o.hostHooks) {
    const exports = m.exports.map((e) => (e.kind === 'global' ? { ...e, index: shift(e.index) } : e));
    const add = (name: string, kind: 'func' | 'global' | 'memory', index: number) => {
      if (exports.some((e) => e.name === name)) throw new ReservedNameError(`the export name \`${name}\` is reserved`);
      exports.push({ name, kind, index });
    };
    if (o.standalone) add('__fuel', 'global', ctx.gFuel);
    if (o.hostHooks) {
      if (m.start !== null) add(HOOK_EXPORTS.start, 'func', m.start);
      if (hasMemory) add(HOOK_EXPORTS.memory, 'memory', 0);
    }
    out.set(SectionId.export, encodeExports(exports));
  }

  if (ctx.globalShift) {
    if (m.elements.length) out.set(SectionId.element, encodeElements(bytes, m.elements, expr));
    if (m.data.length) out.set(SectionId.data, encodeData(bytes, m.data, expr));
  }

  // code
  const code = new ByteWriter(bytes.length + 1024);
  const count = m.code.length + (p.growFunc >= 0 ? 1 : 0);
  code.u32(count);
  const bodyStarts = new Uint32Array(count);
  const rewriter = new BodyRewriter(ctx);
  const importedFuncs = countImports(m, 'func');
  for (let i = 0; i < m.code.length; i++) {
    const type = m.types[m.functions[i]!];
    if (!type) throw new Error(`function ${importedFuncs + i} has an unknown type`);
    bodyStarts[i] = rewriter.rewrite(m.code[i]!, type.params.length, code);
  }
  if (p.growFunc >= 0) {
    const body = growBody(ctx.gDepth + 1, ctx.gFlags);
    code.u32(body.length);
    bodyStarts[m.code.length] = code.len;
    code.bytes(body);
  }
  out.set(SectionId.code, code.finish());

  const sections = o.hostHooks && m.start !== null ? { ...m, sections: m.sections.filter((s) => s.id !== SectionId.start) } : m;
  const result = assembleWithNames(sections, out, o.moduleName, ctx);
  const codeStart = payloadStart(result, SectionId.code);
  for (let i = 0; i < bodyStarts.length; i++) bodyStarts[i]! += codeStart;
  return { bytes: result, bodyStarts, importedFuncs };
}

/** Re-runs the body rewriter for one defined function, recording where each instruction went. */
export function traceFunction(m: WasmModule, definedIndex: number, o: InstrumentOptions = {}): BodyTrace {
  const p = plan(m, o);
  const trace: BodyTrace = { outOffsets: [], costThrough: [], segmentCost: [] };
  const type = m.types[m.functions[definedIndex]!]!;
  new BodyRewriter(p.ctx).rewrite(m.code[definedIndex]!, type.params.length, new ByteWriter(), trace);
  return trace;
}

function capLimits(l: Limits, cap: number): Limits {
  const max = Math.max(l.min, Math.min(l.max ?? Infinity, cap));
  return { flags: l.flags | 1, min: l.min, max };
}

/** The appended `memory.grow` replacement: refuse (flagged) beyond the page budget, else grow and pay. */
function growBody(gPages: number, gFlags: number): Uint8Array {
  const w = new ByteWriter(64);
  w.u32(1).u32(1).byte(ValType.i32); // one extra i32 local: the grow result
  w.byte(0x20).u32(0); // local.get delta
  w.byte(0x23).u32(gPages);
  w.byte(0x4b); // i32.gt_u
  w.byte(0x04).byte(0x40); // if
  w.byte(0x23).u32(gFlags).byte(0x41).s32(MeterFlag.growRefused).byte(0x72).byte(0x24).u32(gFlags);
  w.byte(0x41).s32(-1).byte(0x0f); // i32.const -1; return
  w.byte(0x0b);
  w.byte(0x20).u32(0).byte(0x40).byte(0x00); // local.get delta; memory.grow 0
  w.byte(0x22).u32(1); // local.tee result
  w.byte(0x41).s32(-1).byte(0x47); // i32.ne
  w.byte(0x04).byte(0x40);
  w.byte(0x23).u32(gPages).byte(0x20).u32(0).byte(0x6b).byte(0x24).u32(gPages); // pages -= delta
  w.byte(0x0b);
  w.byte(0x20).u32(1); // result
  w.byte(0x0b);
  return w.finish();
}

/** A constant expression with global indices shifted, or null when it has none to shift. */
export function remapGlobalsInExpr(bytes: Uint8Array, r: Range, imported: number, shift: number): Uint8Array | null {
  const reader = new ByteReader(bytes, r.start, r.end);
  let w: ByteWriter | null = null;
  let copyFrom = r.start;
  while (reader.pos < r.end) {
    const at = reader.pos;
    const { op, kind } = readOpcode(reader);
    if (op === 0x23) {
      const idx = reader.u32();
      if (idx >= imported) {
        w ??= new ByteWriter(r.end - r.start + 8);
        w.bytes(bytes, copyFrom, at).byte(0x23).u32(idx + shift);
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
  // Replace the existing custom section in place, or add one at the end.
  const w = new ByteWriter(m.bytes.length + 256);
  const base = assemble(
    nameSection ? { ...m, sections: m.sections.filter((s) => s !== nameSection) } : m,
    out,
  );
  w.bytes(base);
  w.byte(0).u32(payload.length).bytes(payload);
  return w.finish();
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
