/**
 * Exact fuel for a trap mid-block: each block is charged up front, so a trap leaves the operators
 * after the trapping one paid but never run. The trap's position (from V8's stack trace) is mapped
 * back to the original instruction by re-running the rewriter on that one function.
 */
import { traceFunction } from '../wasm/instrument.js';
import type { WasmModule } from '../wasm/module.js';
import { readModule } from '../wasm/reader.js';
import type { TrapSite } from './outcome.js';
import { type PreparedModule, variantOptions } from './prepare.js';

const parsed = new Map<string, WasmModule>();
const PARSED_CACHE = 16;

function original(p: PreparedModule): WasmModule {
  let m = parsed.get(p.info.hash);
  if (!m) {
    m = readModule(p.original);
    if (parsed.size >= PARSED_CACHE) parsed.delete(parsed.keys().next().value!);
    parsed.set(p.info.hash, m);
  }
  return m;
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

/** Fuel charged for operators that did not run, or 0 when the site is not ours to map. */
export function unexecutedFuel(p: PreparedModule, site: TrapSite): number {
  const defined = definedFunctionAt(p.bodyStarts, site.offset);
  const m = original(p);
  if (defined < 0 || defined >= m.code.length) return 0; // an appended helper, or not in a body
  const rel = site.offset - p.bodyStarts[defined]!;
  const trace = traceFunction(m, defined, variantOptions(p));
  // the last original instruction that starts at or before the trapping byte
  let lo = 0;
  let hi = trace.outOffsets.length - 1;
  if (hi < 0 || rel < trace.outOffsets[0]!) return 0;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (trace.outOffsets[mid]! <= rel) lo = mid;
    else hi = mid - 1;
  }
  return Math.max(0, trace.segmentCost[lo]! - trace.costThrough[lo]!);
}
