/**
 * What traps are mapped back through (refund.ts: exact fuel; frames.ts: reported frames): a prepared
 * module's original, parsed; the rewriter's trace of one of its functions; its function names; its DWARF
 * line table. Each is computed on demand (a trap path, not a hot one) and kept in a small cache per worker.
 */
import { traceFunction } from '../wasm/instrument.js';
import type { BodyTrace } from '../wasm/body-context.js';
import type { WasmModule } from '../wasm/module.js';
import { readModule } from '../wasm/reader.js';
import { type LineTable, hasLineTable, readLineTable } from '../wasm/dwarf-line.js';
import { functionNames } from '../wasm/name-section.js';
import { type PreparedModule, variantOptions } from './prepare.js';

const PARSED_CACHE = 16;
const TRACE_CACHE = 256;
const parsed = new Map<string, WasmModule>();
const traces = new Map<string, BodyTrace>();
const LINES_CACHE = 16;
const lines = new Map<string, LineTable | null>();
const names = new Map<string, Map<number, string>>();

function remember<V>(cache: Map<string, V>, cap: number, key: string, make: () => V): V {
  let v = cache.get(key);
  if (v === undefined) {
    v = make();
    if (cache.size >= cap) cache.delete(cache.keys().next().value!);
    cache.set(key, v);
  }
  return v;
}

export function originalModule(p: PreparedModule): WasmModule {
  return remember(parsed, PARSED_CACHE, p.info.hash, () => readModule(p.original));
}

/** The module's function names (name section), by function index. */
export function functionNameMap(p: PreparedModule): Map<number, string> {
  return remember(names, PARSED_CACHE, p.info.hash, () => functionNames(originalModule(p)));
}

/** The module's DWARF line table, or null (none, or one that cannot be read). */
export function lineTable(p: PreparedModule): LineTable | null {
  return remember(lines, LINES_CACHE, p.info.hash, () => {
    const m = originalModule(p);
    return hasLineTable(m) ? readLineTable(m) : null;
  });
}

/** The rewriter's trace of defined function `defined`, for the variant `p` was instrumented as. */
export function functionTrace(p: PreparedModule, defined: number): BodyTrace {
  // the module's name says which variant (plain or shared); the options say the rest
  const o = variantOptions(p);
  const key = `${p.info.hash}:${p.name}:${o.localFuel ? 1 : 0}:${o.sharedStack ? 1 : 0}:${o.profile ? 1 : 0}:${p.settingsKey}:${defined}`;
  return remember(traces, TRACE_CACHE, key, () => traceFunction(originalModule(p), defined, o));
}

/** The defined function whose body holds `offset` (of the instrumented bytes), or -1. */
export function definedFunctionAt(bodyStarts: Uint32Array, offset: number): number {
  let lo = 0;
  let hi = bodyStarts.length - 1;
  if (hi < 0 || offset < bodyStarts[0]!) return -1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (bodyStarts[mid]! <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The index of the last original instruction whose rewritten code starts at or before `rel`, or -1. */
export function instructionAt(trace: BodyTrace, rel: number): number {
  let lo = 0;
  let hi = trace.outOffsets.length - 1;
  if (hi < 0 || rel < trace.outOffsets[0]!) return -1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (trace.outOffsets[mid]! <= rel) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
