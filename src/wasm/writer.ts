/**
 * Encodes sections from the decoded model and assembles modules. Sections nobody changed are
 * copied byte for byte, so an unchanged module round-trips exactly.
 */
import { ByteWriter } from './leb.js';
import {
  type DataSegment,
  type ElementSegment,
  type Export,
  type FuncType,
  type FunctionBody,
  type Global,
  type Import,
  KIND_NAMES,
  type Limits,
  type Range,
  SectionId,
  type TableType,
  type WasmModule,
} from './module.js';

/** Where each known section goes (the binary format fixes the order; data count sits before code). */
const ORDER: Record<number, number> = { 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 7, 8: 8, 9: 9, 12: 10, 10: 11, 11: 12 };

/**
 * Assembles `m` with some known sections replaced (or added, when `m` had none) by new payloads, and
 * `trailer` (a custom section's payload, its name included) appended at the end. Custom sections keep
 * their place after the known section they followed. The pieces are gathered first and copied once
 * into a buffer of the exact size: instrumented modules run to tens of megabytes.
 */
export function assemble(m: WasmModule, replacements: ReadonlyMap<number, Uint8Array> = new Map(), trailer?: Uint8Array): Uint8Array {
  const pieces: Uint8Array[] = [m.bytes.subarray(0, 8)];
  const section = (id: number, payload: Uint8Array) => {
    pieces.push(new ByteWriter(6).byte(id).u32(payload.length).finish(), payload);
  };
  const pending = new Map(replacements);
  const flushBefore = (rank: number) => {
    for (const [id, payload] of [...pending].sort((a, b) => ORDER[a[0]]! - ORDER[b[0]]!)) {
      if (ORDER[id]! >= rank) break;
      section(id, payload);
      pending.delete(id);
    }
  };
  for (const s of m.sections) {
    if (s.id !== SectionId.custom) flushBefore(ORDER[s.id]!);
    const replacement = pending.get(s.id);
    if (s.id !== SectionId.custom && replacement) {
      section(s.id, replacement);
      pending.delete(s.id);
    } else {
      pieces.push(m.bytes.subarray(s.headerStart, s.end));
    }
  }
  flushBefore(Infinity);
  if (trailer) section(SectionId.custom, trailer);
  let size = 0;
  for (const piece of pieces) size += piece.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const piece of pieces) {
    out.set(piece, at);
    at += piece.length;
  }
  return out;
}

export function writeSection(w: ByteWriter, id: number, payload: Uint8Array): void {
  w.byte(id).u32(payload.length).bytes(payload);
}

/** Re-encodes every known section from the model (custom sections are copied). */
export function reencodeModule(m: WasmModule): Uint8Array {
  const out = new Map<number, Uint8Array>();
  for (const s of m.sections) {
    const payload = encodeSection(m, s.id);
    if (payload) out.set(s.id, payload);
  }
  return assemble(m, out);
}

export function encodeSection(m: WasmModule, id: number): Uint8Array | null {
  switch (id) {
    case SectionId.type:
      return encodeTypes(m.types);
    case SectionId.import:
      return encodeImports(m.imports);
    case SectionId.function:
      return vec(m.functions, (w, t) => w.u32(t));
    case SectionId.table:
      return vec(m.tables, writeTableType);
    case SectionId.memory:
      return vec(m.memories, writeLimits);
    case SectionId.global:
      return encodeGlobals(m.bytes, m.globals);
    case SectionId.export:
      return encodeExports(m.exports);
    case SectionId.start:
      return new ByteWriter(8).u32(m.start ?? 0).finish();
    case SectionId.element:
      return encodeElements(m.bytes, m.elements);
    case SectionId.dataCount:
      return new ByteWriter(8).u32(m.dataCount ?? 0).finish();
    case SectionId.code:
      return vec(m.code, (w, b) => writeBody(w, m.bytes, b));
    case SectionId.data:
      return encodeData(m.bytes, m.data);
    default:
      return null;
  }
}

function vec<T>(items: readonly T[], each: (w: ByteWriter, item: T) => void, w = new ByteWriter()): Uint8Array {
  w.u32(items.length);
  for (const item of items) each(w, item);
  return w.finish();
}

const range = (w: ByteWriter, bytes: Uint8Array, r: Range) => w.bytes(bytes, r.start, r.end);

export function encodeTypes(types: readonly FuncType[]): Uint8Array {
  return vec(types, (w, t) => {
    w.byte(0x60).u32(t.params.length);
    for (const p of t.params) w.byte(p);
    w.u32(t.results.length);
    for (const r of t.results) w.byte(r);
  });
}

export function writeLimits(w: ByteWriter, l: Limits): void {
  w.byte(l.flags);
  const write = (v: number) => (l.flags & 4 ? w.s64(BigInt(v)) : w.u32(v));
  write(l.min);
  if (l.flags & 1) write(l.max ?? 0);
}

function writeTableType(w: ByteWriter, t: TableType): void {
  w.byte(t.elemType);
  writeLimits(w, t.limits);
}

export function encodeImports(imports: readonly Import[]): Uint8Array {
  return vec(imports, (w, i) => {
    w.name(i.module).name(i.name);
    switch (i.kind) {
      case 'func':
        w.byte(0).u32(i.typeIndex);
        break;
      case 'table':
        w.byte(1);
        writeTableType(w, i.table);
        break;
      case 'memory':
        w.byte(2);
        writeLimits(w, i.memory);
        break;
      case 'global':
        w.byte(3).byte(i.global.valType).byte(i.global.mutable ? 1 : 0);
        break;
    }
  });
}

/** Globals; `init` overrides the constant expression bytes of some globals (by index). */
export function encodeGlobals(bytes: Uint8Array, globals: readonly Global[], init?: (i: number) => Uint8Array | null): Uint8Array {
  let i = 0;
  return vec(globals, (w, g) => {
    w.byte(g.type.valType).byte(g.type.mutable ? 1 : 0);
    const replaced = init?.(i++);
    if (replaced) w.bytes(replaced);
    else range(w, bytes, g.init);
  });
}

export function encodeExports(exports: readonly Export[]): Uint8Array {
  return vec(exports, (w, e) => w.name(e.name).byte(KIND_NAMES.indexOf(e.kind)).u32(e.index));
}

/** Element segments; `expr` may rewrite each constant expression (offsets and item expressions). */
export function encodeElements(bytes: Uint8Array, elements: readonly ElementSegment[], expr?: (r: Range) => Uint8Array | null): Uint8Array {
  const writeExpr = (w: ByteWriter, r: Range) => {
    const replaced = expr?.(r);
    if (replaced) w.bytes(replaced);
    else range(w, bytes, r);
  };
  return vec(elements, (w, e) => {
    w.u32(e.flags);
    if (e.flags === 2 || e.flags === 6) w.u32(e.table);
    if (e.offset) writeExpr(w, e.offset);
    if (e.flags & 3) w.byte(e.flags & 4 ? e.elemType : 0x00);
    if (e.funcIndices) {
      w.u32(e.funcIndices.length);
      for (const f of e.funcIndices) w.u32(f);
    } else {
      w.u32(e.exprs!.length);
      for (const x of e.exprs!) writeExpr(w, x);
    }
  });
}

export function encodeData(bytes: Uint8Array, data: readonly DataSegment[], expr?: (r: Range) => Uint8Array | null): Uint8Array {
  return vec(data, (w, d) => {
    w.u32(d.flags);
    if (d.flags === 2) w.u32(d.memory);
    if (d.offset) {
      const replaced = expr?.(d.offset);
      if (replaced) w.bytes(replaced);
      else range(w, bytes, d.offset);
    }
    w.u32(d.init.end - d.init.start);
    range(w, bytes, d.init);
  });
}

function writeBody(w: ByteWriter, bytes: Uint8Array, b: FunctionBody): void {
  const locals = new ByteWriter(16);
  locals.u32(b.locals.length);
  for (const l of b.locals) locals.u32(l.count).byte(l.type);
  w.u32(locals.len + (b.body.end - b.codeStart));
  w.bytes(locals.buf, 0, locals.len);
  range(w, bytes, { start: b.codeStart, end: b.body.end });
}
