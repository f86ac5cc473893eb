/**
 * Exact fuel for a trap mid-block: each block is charged up front, so a trap leaves the operators
 * after the trapping one paid but never run. The trap's position (from V8's stack trace) is mapped
 * back to the original instruction by re-running the rewriter on that one function.
 */
import type { TrapSite } from './outcome.js';
import type { PreparedModule } from './prepare.js';
import { definedFunctionAt, functionTrace, instructionAt, originalModule } from './original-module.js';

export { definedFunctionAt } from './original-module.js';

/** Fuel charged for operators that did not run, or 0 when the site is not ours to map. */
export function unexecutedFuel(p: PreparedModule, site: TrapSite): number {
  const defined = definedFunctionAt(p.bodyStarts, site.offset);
  if (defined < 0 || defined >= originalModule(p).code.length) return 0; // an appended helper, or not in a body
  const trace = functionTrace(p, defined);
  // the last original instruction that starts at or before the trapping byte
  const i = instructionAt(trace, site.offset - p.bodyStarts[defined]!);
  if (i < 0) return 0;
  return Math.max(0, trace.segmentCost[i]! - trace.costThrough[i]!);
}
