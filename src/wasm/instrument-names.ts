/**
 * Assembling the instrumented module with its name section rewritten: the module name set (V8 shows
 * it in stack traces, by which traps are mapped back), the global names shifted past the meter's, the
 * function-indexed names past the profiling hooks.
 */
import { ByteReader, ByteWriter } from './leb.js';
import type { WasmModule } from './module.js';
import { assemble } from './writer.js';
import type { BodyContext } from './body-context.js';
import { shiftFunctionNames } from './profile-hooks.js';

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
export function assembleWithNames(m: WasmModule, out: Map<number, Uint8Array>, moduleName: string | undefined, ctx: BodyContext): Uint8Array {
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
      if (id >= 1 && id <= 3 && ctx.funcShift) {
        // function, local and label names are keyed by function index: moved past the profiling hooks
        const sub = shiftFunctionNames(m.bytes, start, start + size, id, ctx.importedFuncs, ctx.funcShift);
        if (sub) copy.byte(id).u32(sub.length).bytes(sub);
      } else if (id === 7 && ctx.globalShift) {
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
