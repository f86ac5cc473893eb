/**
 * Planning an instrumentation before any byte is written: the indices of what gets appended (the
 * `memory.grow` helper, the entry wrappers, the standalone reset, new types), where the meter's globals
 * land, and the context every function body is rewritten with (body-context.ts).
 */
import { ByteReader, ByteWriter } from './leb.js';
import { SHARED_STACK_SHIFT } from './meter-abi.js';
import { type FuncType, type Range, ValType, type WasmModule, countImports, funcTypeOf, sameFuncType } from './module.js';
import { readOpcode, skipImmediates } from './instructions.js';
import { type BodyContext, VOID_BLOCK } from './body-context.js';
import { frameCost } from './frame-cost.js';
import type { InstrumentOptions } from './instrument-options.js';
import { PROFILE_HOOK_TYPE, PROFILE_SHIFT } from './profile-hooks.js';

export interface Plan {
  ctx: BodyContext;
  growFunc: number;
  growType: number;
  types: FuncType[];
  newTypes: boolean;
  /** Defined functions that get an entry wrapper (syncing the module's fuel with the shared meter). */
  wrapped: number[];
  /** Function index → its wrapper's index, for the wrapped ones. */
  wrapperOf: Map<number, number>;
  /** Whether element segments and `ref.func` point at wrappers (function references may leave the module). */
  remapRefs: boolean;
  /** The meter's own globals defined in the module, appended after its globals. */
  definedMeter: number;
  /** The module's defined globals that stay defined (all but the stack pointer under `sharedStack`). */
  keptGlobals: number;
  sharedStack: boolean;
  /** Standalone mode: the appended `__meter_reset` function and its type. */
  resetFunc: number;
  resetType: number;
  /** By type index of a defined function: the encoded block type of its body's result block (trap blocks). */
  blockTypes: Uint8Array[];
  /** The profiling variant (profile-hooks.ts): the hooks' type index, else -1. */
  hookType: number;
  /** How far defined functions move (the profiling variant's two hook imports), else 0. */
  funcShift: number;
}

const isRef = (v: number) => v === ValType.funcref || v === ValType.externref;

/**
 * Can a function of this module be reached from outside other than through its exports (a shared
 * table, a function reference handed out)? Then references point at wrappers too.
 */
function referencesEscape(m: WasmModule): boolean {
  if (m.imports.some((i) => i.kind === 'table' || (i.kind === 'global' && isRef(i.global.valType)))) return true;
  if (m.exports.some((e) => e.kind === 'table' || (e.kind === 'global' && isRef(m.globals[e.index - countImports(m, 'global')]?.type.valType ?? 0)))) return true;
  const sigs = [...m.imports.flatMap((i) => (i.kind === 'func' ? [m.types[i.typeIndex]] : [])), ...m.exports.flatMap((e) => (e.kind === 'func' ? [funcTypeOf(m, e.index)] : []))];
  return sigs.some((t) => t && [...t.params, ...t.results].some(isRef));
}

/** Function indices a module can take a reference to (elements, exports, global initialisers). */
function referencedFunctions(m: WasmModule): Set<number> {
  const out = new Set<number>();
  const scan = (r: Range) => {
    const reader = new ByteReader(m.bytes, r.start, r.end);
    while (reader.pos < r.end) {
      const { op, kind } = readOpcode(reader);
      if (op === 0xd2) out.add(reader.u32());
      else skipImmediates(reader, kind);
    }
  };
  for (const e of m.elements) {
    e.funcIndices?.forEach((f) => out.add(f));
    e.exprs?.forEach(scan);
  }
  for (const g of m.globals) scan(g.init);
  for (const e of m.exports) if (e.kind === 'func') out.add(e.index);
  return out;
}

export function plan(m: WasmModule, o: InstrumentOptions): Plan {
  const importedGlobals = countImports(m, 'global');
  const importedFuncs = countImports(m, 'func');
  const hasMemory = m.memories.length > 0 || m.imports.some((i) => i.kind === 'memory');
  const standalone = !!o.standalone;
  if (o.profile && (standalone || o.localFuel || o.fuel === false)) throw new Error('the profiling variant needs the shared meter and exact fuel');
  const types = m.types.slice();
  let newTypes = false;
  let growFunc = -1;
  let growType = -1;
  // the profiling variant's hook imports come before every defined function
  const funcShift = o.profile ? PROFILE_SHIFT : 0;
  let hookType = -1;
  if (o.profile) {
    hookType = types.findIndex((t) => sameFuncType(t, PROFILE_HOOK_TYPE));
    if (hookType < 0) {
      hookType = types.push(PROFILE_HOOK_TYPE) - 1;
      newTypes = true;
    }
  }
  let nextFunc = importedFuncs + funcShift + m.functions.length;
  // memory.grow goes through a helper: the page budget (not standalone) and the per-page fuel
  const budget = (o.memory ?? true) && !standalone;
  if (hasMemory && (budget || (o.fuel ?? true))) {
    const sig: FuncType = { params: [ValType.i32], results: [ValType.i32] };
    growType = types.findIndex((t) => sameFuncType(t, sig));
    if (growType < 0) {
      growType = types.push(sig) - 1;
      newTypes = true;
    }
    growFunc = nextFunc++;
  }
  // Shared meter (imported) and, outside standalone mode, the module's own fast copies of fuel and stack budget.
  // Standalone: fuel, stack budget, pages, flags and a count of import calls in progress, all defined.
  const sharedStack = !!o.sharedStack && !standalone;
  const globalShift = standalone ? 0 : sharedStack ? SHARED_STACK_SHIFT : 4;
  const keptGlobals = m.globals.length - (sharedStack ? 1 : 0);
  const shared = standalone ? importedGlobals + m.globals.length : importedGlobals;
  const definedMeter = standalone ? 5 : 2;
  const local = standalone ? shared : importedGlobals + (sharedStack ? 6 : 4) + keptGlobals;
  const wrapperOf = new Map<number, number>();
  const wrapped: number[] = [];
  let remapRefs = false;
  const refs = referencedFunctions(m);
  const escapes = referencesEscape(m);
  const syncIndirect = escapes || [...refs].some((f) => f < importedFuncs);
  {
    // Entries from outside get a wrapper: outside standalone mode it syncs the module's copies of the
    // meter; in standalone mode it resets the stack budget and flags when no import call is in progress (a
    // new top-level call, also after an earlier call trapped mid-way).
    remapRefs = !standalone && escapes;
    const entries = new Set<number>();
    for (const e of m.exports) if (e.kind === 'func') entries.add(e.index);
    if (m.start !== null && !standalone) entries.add(m.start);
    if (remapRefs) refs.forEach((f) => entries.add(f));
    for (const f of [...entries].sort((a, b) => a - b)) {
      if (f < importedFuncs) continue; // re-exported imports run none of this module's code
      wrapped.push(f);
      wrapperOf.set(f, nextFunc++);
    }
  }
  // The result block that wraps each body (meter-code.ts, trap blocks) has the function's
  // results and no parameters: the shorthand for none or one, else a type index ([] -> results).
  const blockTypes: Uint8Array[] = [];
  if ((o.fuel ?? true) || (o.stack ?? true)) {
    for (const ti of m.functions) {
      if (blockTypes[ti]) continue;
      const t = m.types[ti];
      if (!t) continue; // reported when the body is rewritten
      if (t.results.length === 0) blockTypes[ti] = VOID_BLOCK;
      else if (t.results.length === 1) blockTypes[ti] = Uint8Array.of(t.results[0]!);
      else {
        const sig: FuncType = { params: [], results: t.results };
        let bt = t.params.length === 0 ? ti : types.findIndex((u) => sameFuncType(u, sig));
        if (bt < 0) {
          bt = types.push(sig) - 1;
          newTypes = true;
        }
        blockTypes[ti] = new ByteWriter(5).s32(bt).finish();
      }
    }
  }
  let resetFunc = -1;
  let resetType = -1;
  if (standalone) {
    const sig: FuncType = { params: [], results: [] };
    resetType = types.findIndex((t) => sameFuncType(t, sig));
    if (resetType < 0) {
      resetType = types.push(sig) - 1;
      newTypes = true;
    }
    resetFunc = nextFunc++;
  }
  return {
    resetFunc,
    resetType,
    blockTypes,
    hookType,
    funcShift,
    ctx: {
      bytes: m.bytes,
      fuel: o.fuel ?? true,
      stack: o.stack ?? true,
      growFunc,
      importedGlobals,
      globalShift,
      gFuel: local,
      gStack: local + 1,
      gPages: shared + 2,
      gFlags: shared + 3,
      sync: standalone ? null : { fuel: shared, stack: shared + 1, importedFuncs, indirect: syncIndirect },
      importCalls: standalone ? { count: shared + 4, importedFuncs, indirect: syncIndirect } : null,
      refRemap: remapRefs ? wrapperOf : null,
      localFuel: o.localFuel ?? false,
      spGuard: sharedStack ? { sp: importedGlobals + SHARED_STACK_SHIFT, floor: importedGlobals + SHARED_STACK_SHIFT - 1 } : null,
      guardWrites: o.stackGuard ?? true,
      frameCost: (i) => frameCost(m, i),
      importedFuncs,
      canonicalizeNaN: o.canonicalizeNaN ?? false,
      profile: o.profile ? { enter: importedFuncs, exit: importedFuncs + 1 } : null,
      funcShift,
    },
    growFunc,
    growType,
    types,
    newTypes,
    wrapped,
    wrapperOf,
    remapRefs,
    definedMeter,
    keptGlobals,
    sharedStack,
  };
}
