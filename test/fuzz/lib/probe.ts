/**
 * The probe of a module: the same module with its memory and every global exported, so the final
 * state of an original instance can be read and compared with the instrumented one's. Nothing else
 * changes; the export section is re-encoded here (not by src/wasm/writer.ts, which is under test).
 */
import { readModule } from '../../../src/wasm/reader.js';
import { leb } from '../../support/leb.js';
import { countImports, type WasmModule } from '../../../src/wasm/module.js';

export const PROBE_MEMORY = 'probe:memory';
export const probeGlobal = (i: number) => `probe:global:${i}`;

const uleb = (n: number, out: number[]): void => void out.push(...leb(n));

function name(s: string, out: number[]): void {
  const b = new TextEncoder().encode(s);
  uleb(b.length, out);
  out.push(...b);
}

/** Global types by index (imports first): 0x7f i32, 0x7e i64, 0x7d f32, 0x7c f64, ... */
export function globalTypes(m: WasmModule): number[] {
  return [...m.imports.flatMap((i) => (i.kind === 'global' ? [i.global.valType] : [])), ...m.globals.map((g) => g.type.valType)];
}

export function addProbes(bytes: Uint8Array): Uint8Array {
  const m = readModule(bytes);
  const payload: number[] = [];
  const globals = globalTypes(m);
  const hasMemory = m.memories.length + countImports(m, 'memory') > 0;
  const extra = globals.length + (hasMemory ? 1 : 0);
  uleb(m.exports.length + extra, payload);
  const kinds = { func: 0, table: 1, memory: 2, global: 3 };
  for (const e of m.exports) {
    name(e.name, payload);
    payload.push(kinds[e.kind]);
    uleb(e.index, payload);
  }
  if (hasMemory) {
    name(PROBE_MEMORY, payload);
    payload.push(2, 0);
  }
  globals.forEach((_, i) => {
    name(probeGlobal(i), payload);
    payload.push(3);
    uleb(i, payload);
  });
  const section: number[] = [7];
  uleb(payload.length, section);
  section.push(...payload);

  // Replace the export section, or insert it where it belongs (after globals, before start/elements/...).
  const old = m.sections.find((s) => s.id === 7);
  let at: number;
  let skipTo: number;
  if (old) {
    at = old.headerStart;
    skipTo = old.end;
  } else {
    const ORDER = [1, 2, 3, 4, 5, 13, 6]; // sections an export section follows (13: tags)
    const before = m.sections.filter((s) => ORDER.includes(s.id));
    at = before.length ? before[before.length - 1]!.end : 8;
    skipTo = at;
  }
  const out = new Uint8Array(bytes.length - (skipTo - at) + section.length);
  out.set(bytes.subarray(0, at), 0);
  out.set(section, at);
  out.set(bytes.subarray(skipTo), at + section.length);
  return out;
}
