/**
 * The profiling variant of the instrumentation (`InstrumentOptions.profile`, docs/PROFILING.md): every
 * defined function calls the import `__meter.profile_enter` first thing in its body, before its frame
 * and entry charges, and `__meter.profile_exit` in its epilogue (after the result block, which every
 * `return` branches to) and before a tail call. Each passes the function's index in the original module
 * and the fuel left (the module's copy, as f64: exact below 2^53), so the embedder attributes every unit
 * of fuel to the function on top of its shadow stack. The hooks cost no fuel: ordinary runs keep their
 * code, and a profiled run consumes exactly the fuel an ordinary one does.
 *
 * The two imports are appended after the module's own imports, so every defined function (and every
 * appended helper) moves up by two in the function index space: calls, `ref.func`, element segments,
 * exports, the start function and the name section's function-indexed maps are shifted to match.
 * Imported functions keep their indices.
 */
import { ByteReader, ByteWriter } from './leb.js';
import { type FuncType, ValType } from './module.js';

export const PROFILE_HOOKS = { enter: 'profile_enter', exit: 'profile_exit' } as const;

/** How far defined functions move in the profiling variant: the two hook imports. */
export const PROFILE_SHIFT = 2;

/** `(func index, fuel left) -> ()`. */
export const PROFILE_HOOK_TYPE: FuncType = { params: [ValType.i32, ValType.f64], results: [] };

/** The hook imports' function indices, and the function index of the function being rewritten. */
export interface ProfileHooks {
  enter: number;
  exit: number;
}

/** `hook(index, fuel)`: the function's original index, and the module's copy of the fuel left. */
export function emitHook(w: ByteWriter, hook: number, originalIndex: number, gFuel: number): void {
  w.byte(0x41).s32(originalIndex); // i32.const
  w.byte(0x23).u32(gFuel); // global.get
  w.byte(0xb9); // f64.convert_i64_s
  w.byte(0x10).u32(hook); // call
}

/** A function index of the original module in the profiling variant's index space. */
export function shiftFunc(f: number, importedFuncs: number, shift: number): number {
  return f >= importedFuncs ? f + shift : f;
}

/**
 * A name section subsection keyed by function index (1: function names, 2: local names, 3: label
 * names) with its indices shifted; null when it cannot be read (it is then dropped: engines ignore a
 * malformed name section anyway).
 */
export function shiftFunctionNames(bytes: Uint8Array, start: number, end: number, id: number, importedFuncs: number, shift: number): Uint8Array | null {
  try {
    const r = new ByteReader(bytes, start, end);
    const w = new ByteWriter(end - start + 16);
    const name = () => {
      const len = r.u32();
      w.u32(len).bytes(r.take(len)); // copied as they are: a name need not be valid UTF-8 to be kept
    };
    const n = r.u32();
    w.u32(n);
    for (let i = 0; i < n; i++) {
      w.u32(shiftFunc(r.u32(), importedFuncs, shift));
      if (id === 1) {
        name();
        continue;
      }
      const inner = r.u32(); // local or label names: an inner name map, copied as it is
      w.u32(inner);
      for (let j = 0; j < inner; j++) {
        w.u32(r.u32());
        name();
      }
    }
    if (!r.atEnd()) return null;
    return w.finish();
  } catch {
    return null;
  }
}
