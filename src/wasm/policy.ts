/**
 * Static policy checks (a `policy_violation`, docs/API.md; the limits are `policy.*` in
 * docs/OPERATIONS.md): size and count limits, and an optional determinism policy that refuses float
 * operators, threads (shared memory, atomics) and relaxed SIMD.
 */
import { ByteReader } from './leb.js';
import { readOpcode, skipImmediates } from './instructions.js';
import type { WasmModule } from './module.js';
import { PREFIX_FD, PREFIX_FE, opName } from './opcodes.js';

export interface Policy {
  maxModuleBytes: number;
  maxFunctions: number;
  maxImports: number;
  maxLocals: number;
  maxTableElements: number;
  maxDataBytes: number;
  /** Refuse float operators, threads and relaxed SIMD. */
  deterministic: boolean;
}

export const DEFAULT_POLICY: Policy = {
  maxModuleBytes: 4 * 1024 * 1024,
  maxFunctions: 100_000,
  maxImports: 1_000,
  maxLocals: 10_000,
  maxTableElements: 100_000,
  maxDataBytes: 16 * 1024 * 1024,
  deterministic: false,
};

const FLOAT_VALTYPES = new Set([0x7d, 0x7c]);

/** The first violation found, as a message a contract author can act on, or null. */
export function checkPolicy(m: WasmModule, p: Policy): string | null {
  if (m.bytes.length > p.maxModuleBytes) return `module is ${m.bytes.length} bytes, more than the limit of ${p.maxModuleBytes}`;
  const funcs = m.functions.length + m.imports.filter((i) => i.kind === 'func').length;
  if (funcs > p.maxFunctions) return `module has ${funcs} functions, more than the limit of ${p.maxFunctions}`;
  if (m.imports.length > p.maxImports) return `module has ${m.imports.length} imports, more than the limit of ${p.maxImports}`;
  const importedFuncs = m.imports.filter((i) => i.kind === 'func').length;
  for (let i = 0; i < m.code.length; i++) {
    let n = 0;
    for (const l of m.code[i]!.locals) n += l.count;
    if (n > p.maxLocals) return `function ${importedFuncs + i} declares ${n} locals, more than the limit of ${p.maxLocals}`;
  }
  const tables = [...m.tables, ...m.imports.flatMap((i) => (i.kind === 'table' ? [i.table] : []))];
  for (const t of tables) {
    if (t.limits.min > p.maxTableElements) return `a table starts with ${t.limits.min} elements, more than the limit of ${p.maxTableElements}`;
  }
  let data = 0;
  for (const d of m.data) data += d.init.end - d.init.start;
  if (data > p.maxDataBytes) return `data segments hold ${data} bytes, more than the limit of ${p.maxDataBytes}`;
  if (p.deterministic) return checkDeterminism(m);
  return null;
}

function checkDeterminism(m: WasmModule): string | null {
  const mems = [...m.memories, ...m.imports.flatMap((i) => (i.kind === 'memory' ? [i.memory] : []))];
  if (mems.some((l) => l.flags & 2)) return 'shared memory (threads) is not allowed by the determinism policy';
  for (const t of m.types) {
    if ([...t.params, ...t.results].some((v) => FLOAT_VALTYPES.has(v))) {
      return 'a function type uses f32/f64: floats are not allowed by the determinism policy';
    }
  }
  const globals = [...m.imports.flatMap((i) => (i.kind === 'global' ? [i.global] : [])), ...m.globals.map((g) => g.type)];
  if (globals.some((g) => FLOAT_VALTYPES.has(g.valType))) {
    return 'a global of type f32/f64: floats are not allowed by the determinism policy';
  }
  const importedFuncs = m.imports.filter((i) => i.kind === 'func').length;
  for (let i = 0; i < m.code.length; i++) {
    const body = m.code[i]!;
    if (body.locals.some((l) => FLOAT_VALTYPES.has(l.type))) {
      return `function ${importedFuncs + i} has f32/f64 locals: floats are not allowed by the determinism policy`;
    }
    const r = new ByteReader(m.bytes, body.codeStart, body.body.end);
    while (r.pos < body.body.end) {
      const at = r.pos;
      const { op, sub, kind } = readOpcode(r);
      skipImmediates(r, kind);
      const name = opName(op, sub);
      const why =
        op === PREFIX_FE
          ? 'atomics (threads)'
          : op === PREFIX_FD && sub >= 0x100
            ? 'relaxed SIMD'
            : /f32|f64/.test(name)
              ? 'floats'
              : null;
      if (why) return `\`${name}\` at byte ${at}: ${why} are not allowed by the determinism policy`;
    }
  }
  return null;
}
