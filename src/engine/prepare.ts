/**
 * Preparing a module once for many executions: validate, check policy, instrument, compile.
 * The result is structured-cloneable (WebAssembly.Module and plain data), so it can be handed to
 * worker threads; the original bytes live in a SharedArrayBuffer so that hand-over copies nothing.
 */
import { createHash } from 'node:crypto';
import { instrumentModule, INSTRUMENTATION_VERSION, ReservedNameError } from '../wasm/instrument.js';
import { WasmFormatError } from '../wasm/leb.js';
import { type FuncType, type KindName, type WasmModule, funcTypeOf } from '../wasm/module.js';
import { type Policy, checkPolicy, floatsMode } from '../wasm/policy.js';
import { readModule } from '../wasm/reader.js';
import { type ModuleLayout, analyzeLayout } from '../wasm/layout.js';
import { RequestError, invalidModule, policyViolation } from './errors.js';
import { type VariantShape, checkVariants, mayReachEngineLimits } from './variant-limits.js';

export interface InstrumentSettings {
  /** Declared memory maxima are lowered to this (the configured memory ceiling), in pages. */
  maxMemoryPages: number;
  /** Declared table maxima are lowered to this. */
  maxTableElements: number;
  /**
   * Every NaN result of float arithmetic becomes the canonical NaN (`policy.floats: "canonicalize"`,
   * wasm/nan-canon.ts). `prepare` sets it from the policy (`settingsFor`); part of `settingsKey`.
   */
  canonicalizeNaN?: boolean;
}

export interface ImportInfo {
  module: string;
  name: string;
  kind: KindName;
  /** For functions. */
  type?: FuncType;
}

export interface ExportInfo {
  name: string;
  kind: KindName;
  type?: FuncType;
}

export interface ModuleInfo {
  hash: string;
  bytes: number;
  imports: ImportInfo[];
  exports: ExportInfo[];
  /** Initial pages of the module's own memory (0 when it defines none). */
  memoryPages: number;
  /** Text of the `ffi` custom section, or null. */
  ffi: string | null;
  /** Where the module puts its stack, data and heap (checked before shared linking). */
  layout: ModuleLayout;
}

/**
 * Which instrumentation a module gets: `plain` for bridge linking and single modules, `shared` for
 * shared-memory linking (its stack pointer imported and guarded, when it has one).
 */
export type Variant = 'plain' | 'shared';

export interface PreparedModule {
  info: ModuleInfo;
  /** The original bytes (SharedArrayBuffer-backed): traps are mapped back to them for exact fuel. */
  original: Uint8Array;
  compiled: WebAssembly.Module;
  /** Name written into the instrumented module; V8 stack traces carry it. */
  name: string;
  /** Offsets of each defined function's body in the instrumented bytes. */
  bodyStarts: Uint32Array;
  importedFuncs: number;
  settings: InstrumentSettings;
  settingsKey: string;
  /**
   * The fast variant keeps the fuel in a local per function; after a trap its count lags behind, and
   * the engine re-runs the execution with the exact variant (`exactVariant`).
   */
  localFuel: boolean;
  variant: Variant;
  /**
   * The profiling variant (wasm/profile-hooks.ts: exact fuel, enter and exit hooks), compiled per
   * thread for a request that asks for a fuel profile (`profiledVariant`); absent otherwise.
   */
  profiled?: boolean;
  /** The module's own memory, now imported as `__meter.memory` so the engine can pass a pooled one; null without. */
  memoryImport: { min: number; max: number | null } | null;
}

/** Compiled modules are estimated at this many times their original size when budgeting caches. */
export const COMPILED_SIZE_FACTOR = 8;

/** What identifies a prepared module's compiled code: its bytes, settings, variant and fuel scheme. */
export function preparedKey(p: Pick<PreparedModule, 'info' | 'settingsKey' | 'localFuel'>): string {
  return `${p.info.hash}:${p.settingsKey}${p.localFuel ? '' : ':exact'}`;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function settingsKey(s: InstrumentSettings, variant: Variant = 'plain'): string {
  return `v${INSTRUMENTATION_VERSION}:m${s.maxMemoryPages}:t${s.maxTableElements}${s.canonicalizeNaN ? ':nan' : ''}${variant === 'shared' ? ':shared' : ''}`;
}

/**
 * The instrumentation settings a module checked against `policy` is prepared with: `canonicalizeNaN`
 * on when the policy canonicalizes floats. (Callers that key caches by `settingsKey` before preparing
 * should key them by these settings.)
 */
export function settingsFor(settings: InstrumentSettings, policy: Pick<Policy, 'deterministic' | 'floats'>): InstrumentSettings {
  if (settings.canonicalizeNaN || floatsMode(policy) !== 'canonicalize') return settings;
  return { ...settings, canonicalizeNaN: true };
}

/** The module's structure, or `invalid_module` naming what is wrong. */
export function inspect(bytes: Uint8Array): { module: WasmModule; info: ModuleInfo } {
  if (!WebAssembly.validate(bytes as BufferSource)) {
    let why = 'not a valid WebAssembly module';
    try {
      new WebAssembly.Module(bytes as BufferSource);
    } catch (e) {
      why = (e as Error).message.replace(/^WebAssembly\.Module\(\): /, '');
    }
    throw invalidModule(why);
  }
  let module: WasmModule;
  try {
    module = readModule(bytes);
  } catch (e) {
    if (e instanceof WasmFormatError) throw invalidModule(e.message);
    throw e;
  }
  return { module, info: describe(module, sha256Hex(bytes)) };
}

export function describe(m: WasmModule, hash: string): ModuleInfo {
  const imports: ImportInfo[] = m.imports.map((i) => ({
    module: i.module,
    name: i.name,
    kind: i.kind,
    ...(i.kind === 'func' ? { type: m.types[i.typeIndex] } : {}),
  }));
  const exports: ExportInfo[] = m.exports.map((e) => ({
    name: e.name,
    kind: e.kind,
    ...(e.kind === 'func' ? { type: funcTypeOf(m, e.index) } : {}),
  }));
  const ffiSection = m.customs.find((c) => c.name === 'ffi');
  let ffi: string | null = null;
  if (ffiSection) {
    // the payload after the section name
    const nameLen = 'ffi'.length + 1;
    ffi = new TextDecoder().decode(m.bytes.subarray(ffiSection.start + nameLen, ffiSection.end));
  }
  return { hash, bytes: m.bytes.length, imports, exports, memoryPages: m.memories[0]?.min ?? 0, ffi, layout: analyzeLayout(m) };
}

export function prepare(bytes: Uint8Array, settings: InstrumentSettings, policy: Policy, variant: Variant = 'plain'): PreparedModule {
  return prepareWithBytes(bytes, settings, policy, variant).prepared;
}

/** `prepare`, also answering the instrumented bytes (to be kept as an artifact, engine/prepared-artifact.ts). */
export function prepareWithBytes(bytes: Uint8Array, settings: InstrumentSettings, policy: Policy, variant: Variant = 'plain'): Compiled {
  const { module, info } = inspect(bytes);
  const violation = checkPolicy(module, policy);
  if (violation) throw policyViolation(violation);
  const chosen = settingsFor(settings, policy);
  const compiled = compileVariant(module, info, toShared(bytes), chosen, true, variant);
  // every other variant an execution may need fits V8's limits too: accepted now, never refused later
  if (mayReachEngineLimits(module)) {
    const others = ALL_VARIANTS.filter((v) => v.localFuel !== true || v.shared !== (variant === 'shared'));
    const problem = checkVariants(module, others, (v) =>
      variantOptions({ name: compiled.prepared.name, settings: chosen, localFuel: v.localFuel, variant: v.shared ? 'shared' : 'plain', info }),
    );
    if (problem) throw policyViolation(`module cannot be metered: ${problem}`);
  }
  return compiled;
}

/** The variants an execution can need: fast and exact fuel, each for bridge and shared linking. */
const ALL_VARIANTS: VariantShape[] = [
  { localFuel: true, shared: false },
  { localFuel: false, shared: false },
  { localFuel: true, shared: true },
  { localFuel: false, shared: true },
];

/** The bytes in a SharedArrayBuffer, so that handing them to a worker copies nothing. */
export function toShared(bytes: Uint8Array): Uint8Array {
  const shared = new Uint8Array(new SharedArrayBuffer(bytes.length));
  shared.set(bytes);
  return shared;
}

/** The module compiled for another variant (no cache: for callers that keep their own). */
export function deriveVariant(p: PreparedModule, variant: Variant): PreparedModule {
  return deriveVariantWithBytes(p, variant).prepared;
}

export function deriveVariantWithBytes(p: PreparedModule, variant: Variant): Compiled {
  return compileVariant(readModule(p.original), p.info, p.original, p.settings, p.localFuel, variant, p.profiled === true);
}

/** A prepared module and the instrumented bytes it was compiled from. */
export interface Compiled {
  prepared: PreparedModule;
  instrumented: Uint8Array;
}

/**
 * The same module prepared for the other variant (its original bytes and description reused),
 * compiled once per thread. The service prepares the right variant up front; this serves callers
 * that hand over the plain one.
 */
export function toVariant(p: PreparedModule, variant: Variant): PreparedModule {
  if (p.variant === variant) return p;
  return perThread(`${p.info.hash}:${settingsKey(p.settings, variant)}:${p.localFuel}${p.profiled ? ':profile' : ''}`, () => deriveVariant(p, variant));
}

/** The instrumentation options of a variant: everything that shapes the instrumented bytes. */
export function variantOptions(p: Pick<PreparedModule, 'name' | 'settings' | 'localFuel' | 'variant' | 'info' | 'profiled'>) {
  return {
    moduleName: p.name,
    maxMemoryPages: p.settings.maxMemoryPages,
    maxTableElements: p.settings.maxTableElements,
    hostHooks: true,
    importMemory: true,
    localFuel: p.localFuel,
    // a module without a recognised stack pointer has nothing to import or guard
    sharedStack: p.variant === 'shared' && p.info.layout.stackPointer !== null,
    ...(p.settings.canonicalizeNaN ? { canonicalizeNaN: true } : {}),
    ...(p.profiled ? { profile: true } : {}),
  };
}

function compileVariant(
  module: WasmModule,
  info: ModuleInfo,
  original: Uint8Array,
  settings: InstrumentSettings,
  localFuel: boolean,
  variant: Variant,
  profiled = false,
): Compiled {
  // the variant is part of the name: V8's stack traces then tell which instrumented bytes trapped
  const name = `m${info.hash.slice(0, 16)}${variant === 'shared' ? 's' : ''}${profiled ? 'p' : ''}`;
  let out;
  try {
    out = instrumentModule(module, variantOptions({ name, settings, localFuel, variant, info, profiled }));
  } catch (e) {
    if (e instanceof ReservedNameError || e instanceof WasmFormatError) throw policyViolation(`module cannot be metered: ${e.message}`);
    throw e;
  }
  let compiled: WebAssembly.Module;
  try {
    compiled = new WebAssembly.Module(out.bytes as BufferSource);
  } catch (e) {
    // The original validated, so this is a limit of the engine (e.g. too many locals once metered).
    throw policyViolation(`module cannot be metered: ${(e as Error).message}`);
  }
  const prepared: PreparedModule = {
    info,
    original,
    compiled,
    name,
    bodyStarts: out.bodyStarts,
    importedFuncs: out.importedFuncs,
    settings,
    settingsKey: settingsKey(settings, variant),
    localFuel,
    variant,
    memoryImport: out.memoryImport,
    ...(profiled ? { profiled } : {}),
  };
  return { prepared, instrumented: out.bytes };
}

/** Variants compiled in this thread on demand (exact ones after a trap, the other link variant), a few kept. */
const threadVariants = new Map<string, PreparedModule>();
const THREAD_CACHE = 32;

function perThread(key: string, make: () => PreparedModule): PreparedModule {
  let v = threadVariants.get(key);
  if (!v) {
    v = make();
    if (threadVariants.size >= THREAD_CACHE) threadVariants.delete(threadVariants.keys().next().value!);
    threadVariants.set(key, v);
  }
  return v;
}

/**
 * The profiling variant of a prepared module (exact fuel, enter and exit hooks), compiled once per
 * thread. It was not checked against V8's limits at preparation (ordinary runs never need it): a module
 * whose profiled functions are too large for V8 is refused for profiling only.
 */
export function profiledVariant(p: PreparedModule): PreparedModule {
  if (p.profiled) return p;
  return perThread(`${p.info.hash}:${p.settingsKey}:profile`, () => {
    try {
      return compileVariant(readModule(p.original), p.info, p.original, p.settings, false, p.variant, true).prepared;
    } catch (e) {
      if (e instanceof RequestError) throw policyViolation(e.message.replace('module cannot be metered', 'module cannot be profiled'));
      throw e;
    }
  });
}

/** The exact variant of a prepared module (fuel in the module's global at every block), compiled once per thread. */
export function exactVariant(p: PreparedModule): PreparedModule {
  if (!p.localFuel) return p;
  return perThread(`${p.info.hash}:${p.settingsKey}:exact`, () => compileVariant(readModule(p.original), p.info, p.original, p.settings, false, p.variant).prepared);
}
