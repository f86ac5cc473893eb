/**
 * Layout analysis: where a module puts things in linear memory, read from the binary alone, so two
 * modules can be checked for collisions before they share one memory (shared linking).
 *
 * LLVM/lld's convention ("stack first"): the shadow stack pointer is the first defined global, a
 * mutable i32 initialised by `i32.const`; the stack grows down from it, static data follows, the heap
 * starts at the exported `__heap_base`. A name section, when present, must agree (`__stack_pointer`).
 */
import { NameSubsection, nameMap } from './name-section.js';
import { ByteReader } from './leb.js';
import { countImports, type Range, type WasmModule } from './module.js';
import { readOpcode, skipImmediates } from './instructions.js';

export interface MemRegion {
  start: number;
  end: number;
}

export interface StackPointer {
  /** Index in the global index space (imports first). */
  global: number;
  initial: number;
  /** From the name section, when it names the global. */
  name: string | null;
}

export interface ModuleLayout {
  /** The shadow stack pointer, or null when the module does not follow the convention (see `stackPointerNote`). */
  stackPointer: StackPointer | null;
  /** Why no stack pointer was recognised (null when one was). */
  stackPointerNote: string | null;
  /**
   * Largest frame a function allocates below the stack pointer without writing the new value back
   * (LLVM's leaf functions): a stack guard keeps that much room above its floor.
   */
  leafFrameBytes: number;
  /** Active data segments of memory 0 with constant offsets, in module order. */
  data: MemRegion[];
  /** Active data segments whose offset is not a constant (e.g. `global.get $__memory_base`). */
  dynamicData: number;
  heapBase: number | null;
  dataEnd: number | null;
  memory: {
    /** `module.name` of the imported memory 0, or null when it is defined (or absent). */
    imported: string | null;
    defined: boolean;
    exportedAs: string[];
    minPages: number;
    maxPages: number | null;
  } | null;
  table: {
    imported: string | null;
    defined: boolean;
    exportedAs: string[];
    min: number;
    max: number | null;
  } | null;
  /** Active element segments with constant offsets: table index and slot range. */
  elements: Array<{ table: number; start: number; end: number }>;
  dynamicElements: number;
}

/** The value of a constant expression that is exactly `i32.const K` (as unsigned), else null. */
export function constI32(bytes: Uint8Array, r: Range): number | null {
  const reader = new ByteReader(bytes, r.start, r.end);
  if (reader.byte() !== 0x41) return null;
  const v = reader.s32();
  if (reader.byte() !== 0x0b || reader.pos !== r.end) return null;
  return v >>> 0;
}

/** Global names from the name section (subsection 7), or an empty map. */
export function globalNames(m: WasmModule): Map<number, string> {
  return nameMap(m, NameSubsection.global);
}

function findStackPointer(m: WasmModule): { sp: StackPointer | null; note: string | null } {
  const imported = countImports(m, 'global');
  const names = globalNames(m);
  const named = [...names].find(([, n]) => n === '__stack_pointer');
  const first = m.globals[0];
  if (!first) {
    return { sp: null, note: named ? 'the global named `__stack_pointer` is imported, not defined' : 'the module defines no globals' };
  }
  if (named && named[0] !== imported) {
    return { sp: null, note: `the global named \`__stack_pointer\` is global ${named[0]}, not the first defined global (${imported})` };
  }
  if (!first.type.mutable || first.type.valType !== 0x7f) {
    return { sp: null, note: `the first defined global (${imported}) is not a mutable i32` };
  }
  const initial = constI32(m.bytes, first.init);
  if (initial === null) return { sp: null, note: `the first defined global (${imported}) is not initialised by \`i32.const\`` };
  const name = names.get(imported) ?? null;
  if (name !== null && name !== '__stack_pointer') {
    return { sp: null, note: `the first defined global is named \`${name}\`, not \`__stack_pointer\`` };
  }
  return { sp: { global: imported, initial, name }, note: null };
}

/** Largest `global.get $sp; i32.const N; i32.sub` of a function that never writes `$sp`. */
function leafFrames(m: WasmModule, sp: number): number {
  let max = 0;
  for (const body of m.code) {
    const r = new ByteReader(m.bytes, body.codeStart, body.body.end);
    let writes = false;
    let frame = 0;
    // a tiny window over the last three instructions
    let prev2 = -1;
    let prev1 = -1;
    let prevConst = 0;
    let prev2Sp = false;
    let prev1Sp = false;
    while (r.pos < body.body.end && !writes) {
      const { op, kind } = readOpcode(r);
      let isSp = false;
      let k = 0;
      if (op === 0x23 || op === 0x24) {
        const idx = r.u32();
        isSp = idx === sp;
        if (op === 0x24 && isSp) writes = true;
      } else if (op === 0x41) {
        k = r.s32();
      } else skipImmediates(r, kind);
      if (op === 0x6b && prev1 === 0x41 && prev2 === 0x23 && prev2Sp && prevConst > frame) frame = prevConst;
      prev2 = prev1;
      prev2Sp = prev1Sp;
      prev1 = op;
      prev1Sp = isSp;
      prevConst = k;
    }
    if (!writes && frame > max) max = frame;
  }
  return max;
}

export function analyzeLayout(m: WasmModule): ModuleLayout {
  const { sp, note } = findStackPointer(m);
  const importedGlobals = countImports(m, 'global');
  const exportedGlobal = (name: string): number | null => {
    const e = m.exports.find((x) => x.name === name && x.kind === 'global');
    if (!e || e.index < importedGlobals) return null;
    const g = m.globals[e.index - importedGlobals];
    return g && g.type.valType === 0x7f ? constI32(m.bytes, g.init) : null;
  };
  const data: MemRegion[] = [];
  let dynamicData = 0;
  for (const d of m.data) {
    if (d.mode !== 'active' || d.memory !== 0 || !d.offset) continue;
    const at = constI32(m.bytes, d.offset);
    if (at === null) dynamicData++;
    else data.push({ start: at, end: at + (d.init.end - d.init.start) });
  }
  const elements: ModuleLayout['elements'] = [];
  let dynamicElements = 0;
  for (const e of m.elements) {
    if (e.mode !== 'active' || !e.offset) continue;
    const at = constI32(m.bytes, e.offset);
    const n = e.funcIndices?.length ?? e.exprs?.length ?? 0;
    if (at === null) dynamicElements++;
    else elements.push({ table: e.table, start: at, end: at + n });
  }
  const exportsOf = (kind: 'memory' | 'table') => m.exports.filter((e) => e.kind === kind && e.index === 0).map((e) => e.name);
  const memImport = m.imports.find((i) => i.kind === 'memory');
  const tableImport = m.imports.find((i) => i.kind === 'table');
  const memLimits = memImport?.kind === 'memory' ? memImport.memory : m.memories[0];
  const tableLimits = tableImport?.kind === 'table' ? tableImport.table.limits : m.tables[0]?.limits;
  return {
    stackPointer: sp,
    stackPointerNote: note,
    leafFrameBytes: sp ? leafFrames(m, sp.global) : 0,
    data,
    dynamicData,
    heapBase: exportedGlobal('__heap_base'),
    dataEnd: exportedGlobal('__data_end'),
    memory: memLimits
      ? {
          imported: memImport ? `${memImport.module}.${memImport.name}` : null,
          defined: !memImport,
          exportedAs: exportsOf('memory'),
          minPages: memLimits.min,
          maxPages: memLimits.max,
        }
      : null,
    table: tableLimits
      ? {
          imported: tableImport ? `${tableImport.module}.${tableImport.name}` : null,
          defined: !tableImport,
          exportedAs: exportsOf('table'),
          min: tableLimits.min,
          max: tableLimits.max,
        }
      : null,
    elements,
    dynamicElements,
  };
}

export const hex = (n: number) => `0x${n.toString(16)}`;
export const formatRegion = (r: MemRegion) => `[${hex(r.start)}, ${hex(r.end)})`;
