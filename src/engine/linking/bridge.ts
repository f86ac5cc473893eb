/**
 * Bridge linking (docs/API.md "Link modes", RFC 2.3): each module keeps its own memory; functions declared with
 * `bytes` go through a host hop that copies the bytes between memories with the modules' own
 * `alloc`/`dealloc`; every other function is wired wasm to wasm (2.1, no host hop).
 */
import { type FuncType, formatFuncType, sameFuncType } from '../../wasm/module.js';
import { linkError } from '../errors.js';
import { type FfiDecl, FfiSyntaxError, formatDecl, lowerDecl, parseFfi, usesBytes } from '../ffi.js';
import { HostTrap } from '../errors.js';
import { memorySlice } from '../host-abi.js';
import type { Meter } from '../meter.js';
import type { ImportInfo, ModuleInfo } from '../prepare.js';

const ALLOC: FuncType = { params: [0x7f, 0x7f], results: [0x7f] };
const DEALLOC: FuncType = { params: [0x7f, 0x7f, 0x7f], results: [] };

export type Wire = { name: string; via: 'direct' } | { name: string; via: 'bridge'; decl: FfiDecl };

export interface BridgePlan {
  namespace: string;
  wires: Wire[];
}

export interface LinkStats {
  calls: number;
  bytesCopied: number;
}

function exportType(info: ModuleInfo, name: string, kind = 'func'): FuncType | undefined | null {
  const e = info.exports.find((x) => x.name === name);
  if (!e || e.kind !== kind) return null;
  return e.type;
}

function requireExport(info: ModuleInfo, role: string, name: string, type: FuncType | null, why: string): void {
  if (type === null) {
    if (!info.exports.some((e) => e.name === name && e.kind === 'memory')) {
      throw linkError(`the ${role} must export its memory as \`${name}\`: ${why}`);
    }
    return;
  }
  const t = exportType(info, name);
  if (!t) throw linkError(`the ${role} must export \`${name}\` ${formatFuncType(type)}: ${why}`);
  if (!sameFuncType(t, type)) {
    throw linkError(`the ${role} exports \`${name}\` as ${formatFuncType(t)}, but it must be ${formatFuncType(type)}: ${why}`);
  }
}

/** Plans already made, per contract and library description (the service keeps those objects while a module is cached). */
const plans = new WeakMap<ModuleInfo, WeakMap<ModuleInfo, Map<string, BridgePlan>>>();
const PLANS_PER_PAIR = 8;

/**
 * Checks the contract's library imports against the library and the declarations; no instance needed.
 * A plan is plain data, made once per pair of modules, namespace and declarations (parsing the
 * declarations on every request cost more than the rest of the check).
 */
export function planBridge(contract: ModuleInfo, library: ModuleInfo | null, namespace: string, ffiOverride: string | undefined): BridgePlan {
  if (!library) return makePlan(contract, library, namespace, ffiOverride);
  let byLibrary = plans.get(contract);
  if (!byLibrary) plans.set(contract, (byLibrary = new WeakMap()));
  let byText = byLibrary.get(library);
  if (!byText) byLibrary.set(library, (byText = new Map()));
  const key = ffiOverride === undefined ? namespace : `${namespace}\n${ffiOverride}`;
  let plan = byText.get(key);
  if (!plan) {
    plan = makePlan(contract, library, namespace, ffiOverride); // a link error is thrown, not kept
    if (byText.size >= PLANS_PER_PAIR) byText.delete(byText.keys().next().value!);
    byText.set(key, plan);
  }
  return plan;
}

function makePlan(contract: ModuleInfo, library: ModuleInfo | null, namespace: string, ffiOverride: string | undefined): BridgePlan {
  const imports = contract.imports.filter((i) => i.module === namespace);
  if (imports.length === 0) return { namespace, wires: [] };
  if (!library) {
    throw linkError(`the contract imports \`${namespace}.${imports[0]!.name}\` but no library was given`);
  }
  let decls = new Map<string, FfiDecl>();
  const ffiText = ffiOverride ?? library.ffi;
  if (ffiText !== null && ffiText !== undefined) {
    try {
      decls = parseFfi(ffiText);
    } catch (e) {
      if (e instanceof FfiSyntaxError) throw linkError(`bad ffi declaration: ${e.message}`);
      throw e;
    }
  }
  const wires: Wire[] = [];
  let needsBytes = false;
  let needsCallerAlloc = false;
  for (const imp of imports) wires.push(planOne(imp, library, decls, namespace));
  for (const w of wires) {
    if (w.via !== 'bridge') continue;
    needsBytes = true;
    if (w.decl.result === 'bytes') needsCallerAlloc = true;
  }
  if (needsBytes) {
    const why = 'functions declared with `bytes` copy through it';
    requireExport(library, 'library', 'memory', null, why);
    requireExport(library, 'library', 'alloc', ALLOC, why);
    requireExport(library, 'library', 'dealloc', DEALLOC, why);
    requireExport(contract, 'contract', 'memory', null, why);
  }
  if (needsCallerAlloc) {
    const why = 'functions returning `bytes` copy the result into the contract with it';
    requireExport(contract, 'contract', 'alloc', ALLOC, why);
    requireExport(contract, 'contract', 'dealloc', DEALLOC, why);
  }
  return { namespace, wires };
}

function planOne(imp: ImportInfo, library: ModuleInfo, decls: Map<string, FfiDecl>, ns: string): Wire {
  const what = `\`${ns}.${imp.name}\``;
  if (imp.kind !== 'func') throw linkError(`the contract imports ${what} as a ${imp.kind}: only functions can be imported from the library`);
  const libType = exportType(library, imp.name);
  if (!libType) throw linkError(`the contract imports ${what}, but the library exports no function \`${imp.name}\``);
  const decl = decls.get(imp.name);
  const importType = imp.type!;
  if (!decl) {
    if (!sameFuncType(importType, libType)) {
      throw linkError(
        `signature mismatch for ${what}: the contract imports ${formatFuncType(importType)}, the library exports ${formatFuncType(libType)} (and no ffi declaration says how to translate)`,
      );
    }
    return { name: imp.name, via: 'direct' };
  }
  const lowered = lowerDecl(decl);
  if (!sameFuncType(importType, lowered)) {
    throw linkError(
      `signature mismatch for ${what}: the contract imports ${formatFuncType(importType)}, but the ffi declaration \`${formatDecl(decl)}\` lowers to ${formatFuncType(lowered)}`,
    );
  }
  if (!sameFuncType(libType, lowered)) {
    throw linkError(
      `signature mismatch for ${what}: the library exports ${formatFuncType(libType)}, but the ffi declaration \`${formatDecl(decl)}\` lowers to ${formatFuncType(lowered)}`,
    );
  }
  return usesBytes(decl) ? { name: imp.name, via: 'bridge', decl } : { name: imp.name, via: 'direct' };
}

type Fn = (...args: unknown[]) => unknown;

/** The contract's `namespace` imports, wired to a live library instance. */
export function bridgeImports(
  plan: BridgePlan,
  library: WebAssembly.Instance,
  contract: () => WebAssembly.Instance | undefined,
  meter: Meter,
  stats: LinkStats,
): WebAssembly.ModuleImports {
  const lib = library.exports;
  const out: WebAssembly.ModuleImports = {};
  for (const w of plan.wires) {
    const target = lib[w.name] as Fn;
    if (w.via === 'direct') {
      out[w.name] = target as WebAssembly.ImportValue;
      continue;
    }
    out[w.name] = hop(w.decl, target, lib, contract, meter, stats);
  }
  return out;
}

function hop(decl: FfiDecl, target: Fn, lib: WebAssembly.Exports, contract: () => WebAssembly.Instance | undefined, meter: Meter, stats: LinkStats): Fn {
  const libMemory = lib.memory as WebAssembly.Memory;
  const libAlloc = lib.alloc as (size: number, align: number) => number;
  const libDealloc = lib.dealloc as (ptr: number, size: number, align: number) => void;
  const name = decl.name;
  return (...args: unknown[]) => {
    stats.calls++;
    const instance = contract();
    // unreachable in practice: start functions are deferred until the instance exists
    if (!instance) throw new HostTrap(`\`${name}\` copies bytes and cannot be called before the contract is instantiated`);
    const c = instance.exports;
    const cMemory = c.memory as WebAssembly.Memory;
    const callArgs: unknown[] = [];
    const toFree: Array<[number, number]> = [];
    let a = 0;
    for (const p of decl.params) {
      if (p !== 'bytes') {
        callArgs.push(args[a++]);
        continue;
      }
      const ptr = args[a++] as number;
      const n = (args[a++] as number) >>> 0;
      memorySlice(cMemory, ptr, n, `${name} (bytes argument)`); // bounds check before allocating
      const dst = libAlloc(n, 1) >>> 0;
      if (dst === 0 && n > 0) throw new HostTrap(`library alloc(${n}, 1) failed for \`${name}\``);
      toFree.push([dst, n]);
      meter.charge(n);
      // both views taken after alloc: it may have grown (and so detached) the library memory
      memorySlice(libMemory, dst, n, `${name} (library alloc result)`).set(memorySlice(cMemory, ptr, n, name));
      stats.bytesCopied += n;
      callArgs.push(dst, n);
    }
    const result = target(...callArgs);
    // freed only after a normal return: after a trap the execution is over anyway
    for (const [p, n] of toFree) libDealloc(p, n, 1);
    if (decl.result !== 'bytes') return result;
    const packed = BigInt.asUintN(64, result as bigint);
    const len = Number(packed >> 32n);
    const ptr = Number(packed & 0xffffffffn);
    memorySlice(libMemory, ptr, len, `${name} (bytes result)`);
    const cAlloc = c.alloc as (size: number, align: number) => number;
    const dst = cAlloc(len, 1) >>> 0;
    if (dst === 0 && len > 0) throw new HostTrap(`contract alloc(${len}, 1) failed for the result of \`${name}\``);
    meter.charge(len);
    memorySlice(cMemory, dst, len, `${name} (contract alloc result)`).set(memorySlice(libMemory, ptr, len, name));
    stats.bytesCopied += len;
    libDealloc(ptr, len, 1);
    return (BigInt(len) << 32n) | BigInt(dst);
  };
}
