/**
 * Static policy checks (a `policy_violation`, docs/API.md; the limits are `policy.*` in
 * docs/OPERATIONS.md): size and count limits, an optional determinism policy that refuses float
 * operators, threads (shared memory, atomics) and relaxed SIMD, and the float policy (`floats`):
 * allow, canonicalize NaNs (done by the instrumenter, nan-canon.ts) or refuse.
 *
 * How the two combine (`floatsMode`): `floats` decides about floats, except that `deterministic: true`
 * turns the default "allow" into "refuse"; "canonicalize" makes floats deterministic, so with it
 * `deterministic: true` refuses only threads and relaxed SIMD.
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
  /** Refuse threads and relaxed SIMD, and floats unless `floats` is "canonicalize". */
  deterministic: boolean;
  /** Floats: "allow" (the default), "canonicalize" (every NaN result the canonical NaN) or "refuse". */
  floats?: FloatsPolicy;
}

export type FloatsPolicy = 'allow' | 'canonicalize' | 'refuse';

export const FLOATS_POLICIES: readonly FloatsPolicy[] = ['allow', 'canonicalize', 'refuse'];

/**
 * What happens to floats under a policy: `floats`, but "refuse" when it is "allow" (or unset) and
 * `deterministic` is on. Under "canonicalize" the module must be instrumented with `canonicalizeNaN`.
 */
export function floatsMode(p: Pick<Policy, 'deterministic' | 'floats'>): FloatsPolicy {
  const f = p.floats ?? 'allow';
  return f === 'allow' && p.deterministic ? 'refuse' : f;
}

export const DEFAULT_POLICY: Policy = {
  maxModuleBytes: 4 * 1024 * 1024,
  maxFunctions: 100_000,
  maxImports: 1_000,
  maxLocals: 10_000,
  maxTableElements: 100_000,
  maxDataBytes: 16 * 1024 * 1024,
  deterministic: false,
  floats: 'allow',
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
  const wait = findAtomicWait(m);
  if (wait) return wait;
  const floats = floatsMode(p) === 'refuse';
  if (p.deterministic || floats) {
    return checkDeterminism(m, p.deterministic, floats ? (p.floats === 'refuse' ? 'the float policy' : 'the determinism policy') : null);
  }
  return null;
}

/**
 * `memory.atomic.wait32/64` on a shared memory, refused under every policy: no other thread can
 * touch an execution's memory, so a wait only sleeps until its timeout, holding a worker for the
 * request's whole `timeoutMs` for a few units of fuel. (On an unshared memory it traps at once.)
 */
function findAtomicWait(m: WasmModule): string | null {
  const mems = [...m.memories, ...m.imports.flatMap((i) => (i.kind === 'memory' ? [i.memory] : []))];
  if (!mems.some((l) => l.flags & 2)) return null;
  const importedFuncs = m.imports.filter((i) => i.kind === 'func').length;
  for (let i = 0; i < m.code.length; i++) {
    const body = m.code[i]!;
    const r = new ByteReader(m.bytes, body.codeStart, body.body.end);
    while (r.pos < body.body.end) {
      const at = r.pos;
      const { op, sub, kind } = readOpcode(r);
      skipImmediates(r, kind);
      if (op === PREFIX_FE && (sub === 0x01 || sub === 0x02)) {
        return `\`${opName(op, sub)}\` at byte ${at} (function ${importedFuncs + i}): waiting is not allowed: nothing else can touch an execution's memory, so a wait would only sleep until its timeout; remove the wait (or use a memory that is not shared)`;
      }
    }
  }
  return null;
}

/**
 * Threads and relaxed SIMD when `threads` (the determinism policy); floats (types, locals, operators)
 * when `floatsRule` names the rule refusing them. The first violation in module order wins.
 */
function checkDeterminism(m: WasmModule, threads: boolean, floatsRule: string | null): string | null {
  const mems = [...m.memories, ...m.imports.flatMap((i) => (i.kind === 'memory' ? [i.memory] : []))];
  if (threads && mems.some((l) => l.flags & 2)) return 'shared memory (threads) is not allowed by the determinism policy';
  if (floatsRule) {
    for (const t of m.types) {
      if ([...t.params, ...t.results].some((v) => FLOAT_VALTYPES.has(v))) {
        return `a function type uses f32/f64: floats are not allowed by ${floatsRule}`;
      }
    }
    const globals = [...m.imports.flatMap((i) => (i.kind === 'global' ? [i.global] : [])), ...m.globals.map((g) => g.type)];
    if (globals.some((g) => FLOAT_VALTYPES.has(g.valType))) {
      return `a global of type f32/f64: floats are not allowed by ${floatsRule}`;
    }
  }
  const importedFuncs = m.imports.filter((i) => i.kind === 'func').length;
  for (let i = 0; i < m.code.length; i++) {
    const body = m.code[i]!;
    if (floatsRule && body.locals.some((l) => FLOAT_VALTYPES.has(l.type))) {
      return `function ${importedFuncs + i} has f32/f64 locals: floats are not allowed by ${floatsRule}`;
    }
    const r = new ByteReader(m.bytes, body.codeStart, body.body.end);
    while (r.pos < body.body.end) {
      const at = r.pos;
      const { op, sub, kind } = readOpcode(r);
      skipImmediates(r, kind);
      const name = opName(op, sub);
      const why =
        threads && op === PREFIX_FE
          ? 'atomics (threads)'
          : threads && op === PREFIX_FD && sub >= 0x100
            ? 'relaxed SIMD'
            : floatsRule && /f32|f64/.test(name)
              ? 'floats'
              : null;
      if (why) return `\`${name}\` at byte ${at}: ${why} are not allowed by ${why === 'floats' ? floatsRule : 'the determinism policy'}`;
    }
  }
  return null;
}
