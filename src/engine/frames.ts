/**
 * The wasm call stack where an execution stopped (`error.frames`, docs/API.md "Frames"): innermost
 * first, each frame in the original module's terms (function index, name, byte offset as wasmtime's
 * `module_offset`), mapped back through our rewriting. Built from V8's structured call sites of the
 * error the execution threw (call-sites.ts), never from text a module controls; JavaScript frames (host
 * functions, the bridge) and the instrumenter's own functions (entry wrappers, the grow helper) are left
 * out. Every frame of the error is captured (`Error.stackTraceLimit` is lifted while an execution
 * runs), so the frames and `framesOmitted` do not depend on V8's default limit.
 */
import { demangle } from './demangle.js';
import { callSites, wasmSite } from './call-sites.js';
import type { ExecuteInput } from './execution-types.js';
import { definedFunctionAt, functionNameMap, functionTrace, instructionAt, lineTable, originalModule } from './original-module.js';
import type { PreparedModule } from './prepare.js';

/** At most this many frames are reported, innermost first; `framesOmitted` counts the rest. */
export const MAX_FRAMES = 64;
/** A longer name is cut to this many characters, then `…`. */
export const MAX_NAME = 1024;

export interface Frame {
  module: 'contract' | 'library';
  /** The function's index in the original module (imports first). */
  index: number;
  /** From the module's name section, demangled (Rust, C++: demangle.ts), or null. */
  name: string | null;
  /** Byte offset in the original module: the instruction that trapped or called the frame above. */
  offset: number;
  /** From the module's DWARF line table (wasm/dwarf-line.ts), when it has one and a line for the offset. */
  file: string | null;
  line: number | null;
  column: number | null;
}

export interface Frames {
  frames: Frame[];
  framesOmitted: number;
}

/**
 * The frames of `thrown`. `atEntry`: the innermost frame stopped at a charge of the meter (out of fuel,
 * stack budget) rather than at an instruction of the module; it reports its function's first
 * instruction, since the charge covers a whole block.
 */
export function framesOf(thrown: unknown, input: ExecuteInput, atEntry: boolean): Frames {
  const modules = [
    ['contract', input.contract],
    ['library', input.library],
  ] as const;
  const frames: Frame[] = [];
  let omitted = 0;
  for (const cs of callSites(thrown)) {
    const site = wasmSite(cs);
    if (!site) continue;
    const owner = modules.find(([, p]) => p && p.name === site.module);
    if (!owner) continue;
    const [module, p] = owner as readonly ['contract' | 'library', PreparedModule];
    const defined = definedFunctionAt(p.bodyStarts, site.offset);
    if (defined < 0 || defined >= originalModule(p).code.length) continue; // an appended helper
    if (frames.length === MAX_FRAMES) {
      omitted++;
      continue;
    }
    const trace = functionTrace(p, defined);
    const i = atEntry && frames.length === 0 ? 0 : Math.max(0, instructionAt(trace, site.offset - p.bodyStarts[defined]!));
    const index = p.importedFuncs + defined;
    const offset = trace.inOffsets[i] ?? 0;
    // line 0 is the compiler's own code (no line), column 0 an unknown column
    const at = lineTable(p)?.lookup(offset);
    const known = at && at.line > 0 ? at : null;
    frames.push({ module, index, name: functionName(p, index), offset, file: known?.file ?? null, line: known?.line ?? null, column: known?.column || null });
  }
  return { frames, framesOmitted: omitted };
}

/** The function's name from the module's name section, demangled and cut to MAX_NAME, or null. */
export function functionName(p: PreparedModule, index: number): string | null {
  const raw = functionNameMap(p).get(index);
  if (raw === undefined) return null;
  const name = demangle(raw);
  // a module chooses its names: 64 frames of a megabyte name each must not make a 64 MB answer
  return name.length > MAX_NAME ? `${name.slice(0, MAX_NAME)}…` : name;
}

/** Lifts V8's limit on captured frames while an execution runs (frames.ts reads them all); returns the undo. */
export function captureAllFrames(): () => void {
  const prev = Error.stackTraceLimit;
  Error.stackTraceLimit = Infinity;
  return () => {
    Error.stackTraceLimit = prev;
  };
}
