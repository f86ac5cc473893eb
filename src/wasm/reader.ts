/**
 * Decodes a module's sections into a `WasmModule`. Instruction sequences (function bodies, constant
 * expressions) are located, not decoded: passes scan them on demand through the opcode table.
 * Structural errors throw `WasmFormatError`; semantic validation is left to `WebAssembly.validate`.
 */
import { ByteReader } from './leb.js';
import { readOpcode, skipImmediates } from './instructions.js';
import {
  type DataSegment,
  type ElementSegment,
  type FuncType,
  type GlobalType,
  type Import,
  KIND_NAMES,
  type Limits,
  type Range,
  type Section,
  SectionId,
  type TableType,
  type WasmModule,
} from './module.js';

const MAGIC = 0x6d736100; // "\0asm"

export function readModule(bytes: Uint8Array): WasmModule {
  const r = new ByteReader(bytes);
  if (bytes.length < 8) r.fail('not a wasm module: too short', 0);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== MAGIC) r.fail('not a wasm module: bad magic number', 0);
  const version = view.getUint32(4, true);
  if (version !== 1) r.fail(`unsupported wasm version ${version}`, 4);
  r.pos = 8;

  const m: WasmModule = {
    bytes,
    version,
    sections: [],
    types: [],
    imports: [],
    functions: [],
    tables: [],
    memories: [],
    globals: [],
    exports: [],
    start: null,
    elements: [],
    dataCount: null,
    code: [],
    data: [],
    customs: [],
  };

  while (!r.atEnd()) {
    const headerStart = r.pos;
    const id = r.byte();
    const size = r.u32();
    const start = r.pos;
    const end = start + size;
    if (end > bytes.length) r.fail('section size out of bounds', headerStart);
    const section: Section = { id, start, end, headerStart };
    const s = new ByteReader(bytes, start, end);
    switch (id) {
      case SectionId.custom:
        section.name = s.name();
        m.customs.push(section);
        break;
      case SectionId.type:
        m.types = vec(s, readFuncType);
        break;
      case SectionId.import:
        m.imports = vec(s, readImport);
        break;
      case SectionId.function:
        m.functions = vec(s, (x) => x.u32());
        break;
      case SectionId.table:
        m.tables = vec(s, readTableType);
        break;
      case SectionId.memory:
        m.memories = vec(s, readLimits);
        break;
      case SectionId.global:
        m.globals = vec(s, (x) => ({ type: readGlobalType(x), init: readConstExpr(x) }));
        break;
      case SectionId.export:
        m.exports = vec(s, (x) => {
          const name = x.name();
          const kindByte = x.byte();
          const kind = KIND_NAMES[kindByte];
          if (!kind) x.fail(`bad export kind ${kindByte}`);
          return { name, kind, index: x.u32() };
        });
        break;
      case SectionId.start:
        m.start = s.u32();
        break;
      case SectionId.element:
        m.elements = vec(s, readElement);
        break;
      case SectionId.code:
        m.code = vec(s, readBody);
        break;
      case SectionId.data:
        m.data = vec(s, readData);
        break;
      case SectionId.dataCount:
        m.dataCount = s.u32();
        break;
      default:
        r.fail(`unknown section id ${id}`, headerStart);
    }
    if (id !== SectionId.custom && s.pos !== end) s.fail('section size mismatch');
    m.sections.push(section);
    r.pos = end;
  }
  if (m.functions.length !== m.code.length) r.fail('function and code section have inconsistent lengths', bytes.length);
  return m;
}

function vec<T>(r: ByteReader, item: (r: ByteReader) => T): T[] {
  const n = r.u32();
  if (n > r.end - r.pos) r.fail('vector length larger than the section');
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(item(r));
  return out;
}

function readValType(r: ByteReader): number {
  const at = r.pos;
  const t = r.byte();
  if ((t >= 0x7b && t <= 0x7f) || t === 0x70 || t === 0x6f) return t;
  return r.fail(`unsupported value type 0x${t.toString(16)}`, at);
}

function readFuncType(r: ByteReader): FuncType {
  const at = r.pos;
  const form = r.byte();
  if (form !== 0x60) r.fail(`unsupported type form 0x${form.toString(16)}`, at);
  return { params: vec(r, readValType), results: vec(r, readValType) };
}

export function readLimits(r: ByteReader): Limits {
  const at = r.pos;
  const flags = r.byte();
  if (flags > 7) r.fail(`bad limits flags ${flags}`, at);
  const wide = (flags & 4) !== 0;
  const read = () => (wide ? Number(r.s64() & 0xffffffffffffffffn) : r.u32());
  const min = read();
  const max = flags & 1 ? read() : null;
  return { flags, min, max };
}

function readTableType(r: ByteReader): TableType {
  const elemType = readValType(r);
  return { elemType, limits: readLimits(r) };
}

function readGlobalType(r: ByteReader): GlobalType {
  const valType = readValType(r);
  const at = r.pos;
  const mut = r.byte();
  if (mut > 1) r.fail('malformed mutability', at);
  return { valType, mutable: mut === 1 };
}

function readImport(r: ByteReader): Import {
  const module = r.name();
  const name = r.name();
  const at = r.pos;
  const kind = r.byte();
  switch (kind) {
    case 0:
      return { module, name, kind: 'func', typeIndex: r.u32() };
    case 1:
      return { module, name, kind: 'table', table: readTableType(r) };
    case 2:
      return { module, name, kind: 'memory', memory: readLimits(r) };
    case 3:
      return { module, name, kind: 'global', global: readGlobalType(r) };
    default:
      return r.fail(`bad import kind ${kind}`, at);
  }
}

/** Locates a constant expression: instructions up to and including the `end` at depth 0. */
export function readConstExpr(r: ByteReader): Range {
  const start = r.pos;
  for (;;) {
    const { op, kind } = readOpcode(r);
    skipImmediates(r, kind);
    if (op === 0x0b) return { start, end: r.pos };
  }
}

function readElement(r: ByteReader): ElementSegment {
  const at = r.pos;
  const flags = r.u32();
  if (flags > 7) r.fail(`bad element segment flags ${flags}`, at);
  const mode = flags & 1 ? (flags & 2 ? 'declarative' : 'passive') : 'active';
  const table = flags & 2 && !(flags & 1) ? r.u32() : 0;
  const offset = mode === 'active' ? readConstExpr(r) : null;
  let elemType = 0x70;
  if (flags & 3) {
    // an elemkind (0x00 = funcref) for function-index lists, a reftype for expression lists
    const k = r.byte();
    elemType = flags & 4 ? k : k === 0 ? 0x70 : r.fail(`bad element kind ${k}`, r.pos - 1);
  }
  if (flags & 4) return { flags, mode, table, offset, elemType, funcIndices: null, exprs: vec(r, readConstExpr) };
  return { flags, mode, table, offset, elemType, funcIndices: vec(r, (x) => x.u32()), exprs: null };
}

function readData(r: ByteReader): DataSegment {
  const at = r.pos;
  const flags = r.u32();
  if (flags > 2) r.fail(`bad data segment flags ${flags}`, at);
  const memory = flags === 2 ? r.u32() : 0;
  const offset = flags === 1 ? null : readConstExpr(r);
  const len = r.u32();
  const start = r.pos;
  r.skip(len);
  return { flags, mode: flags === 1 ? 'passive' : 'active', memory, offset, init: { start, end: start + len } };
}

function readBody(r: ByteReader): import('./module.js').FunctionBody {
  const size = r.u32();
  const start = r.pos;
  const end = start + size;
  if (end > r.end) r.fail('function body out of bounds');
  const b = new ByteReader(r.bytes, start, end);
  const locals = vec(b, (x) => ({ count: x.u32(), type: readValType(x) }));
  r.pos = end;
  return { body: { start, end }, locals, codeStart: b.pos };
}
