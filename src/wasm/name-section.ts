/** Names from a module's `name` custom section (the extended name section's index → name maps). */
import { ByteReader } from './leb.js';
import type { WasmModule } from './module.js';

export const NameSubsection = { function: 1, global: 7 } as const;

/** The index → name map of one subsection, or an empty map (a malformed section is ignored, as engines do). */
export function nameMap(m: WasmModule, subsection: number): Map<number, string> {
  const out = new Map<number, string>();
  const section = m.customs.find((c) => c.name === 'name');
  if (!section) return out;
  try {
    const r = new ByteReader(m.bytes, section.start, section.end);
    r.name();
    while (!r.atEnd()) {
      const id = r.byte();
      const size = r.u32();
      const end = r.pos + size;
      if (id === subsection) {
        const n = r.u32();
        for (let i = 0; i < n; i++) out.set(r.u32(), r.name());
      }
      r.pos = end;
    }
  } catch {
    // keep what was read before the fault
  }
  return out;
}

/** Function names (subsection 1), by function index (imports first). */
export const functionNames = (m: WasmModule): Map<number, string> => nameMap(m, NameSubsection.function);
