/**
 * What the body rewriter (instrument-body.ts) and the meter code it emits (meter-code.ts) share: the
 * rewriting context a module's plan gives each body, the trace of a rewrite, and the opcodes both treat
 * specially.
 */
import type { StackGuard } from './stack-guard.js';
import type { ProfileHooks } from './profile-hooks.js';

export interface BodyContext {
  bytes: Uint8Array;
  fuel: boolean;
  /** Charge the stack budget (frames and crossings). */
  stack: boolean;
  /** Index of the appended `memory.grow` replacement, or -1 to leave `memory.grow` alone. */
  growFunc: number;
  /** Imported globals before the meter's: indices at or above this shift by `globalShift`. */
  importedGlobals: number;
  globalShift: number;
  /** Global indices of the meter: fuel and the stack budget as this module's code uses them, pages and flags. */
  gFuel: number;
  gStack: number;
  gPages: number;
  gFlags: number;
  /**
   * When the module keeps its own copies of fuel and the stack budget (all but standalone mode): the
   * shared globals they are synced with around calls that may leave the module.
   */
  sync: { fuel: number; stack: number; importedFuncs: number; indirect: boolean } | null;
  /**
   * Standalone mode: a global counting import calls in progress, raised around calls that may leave
   * the module, so an entry wrapper can tell a new top-level call from a call back from an import.
   */
  importCalls: { count: number; importedFuncs: number; indirect: boolean } | null;
  /** Shared linking: the imported stack pointer and its floor. */
  spGuard: StackGuard | null;
  /** Whether writes to `spGuard.sp` are checked (false only to measure the guard's cost). */
  guardWrites?: boolean;
  /** Function references (`ref.func`) redirected to entry wrappers, or null. */
  refRemap: Map<number, number> | null;
  /**
   * Keep the fuel in a local of each function: loaded at entry and after calls, stored back before
   * calls and exits. Fast, but a trap leaves the global behind (the engine then re-runs the execution
   * with the exact variant).
   */
  localFuel: boolean;
  /** The frame cost of a defined function, by defined-function index (frame-cost.ts). */
  frameCost: (definedIndex: number) => number;
  /** Imported functions (function indices below this are imports). */
  importedFuncs: number;
  /** Replace NaN results of float arithmetic by the canonical NaN (nan-canon.ts); costs no fuel. */
  canonicalizeNaN?: boolean;
  /** The profiling variant: the hook imports' function indices (profile-hooks.ts), else null. */
  profile: ProfileHooks | null;
  /** How far defined functions moved in the index space (the hook imports), else 0. */
  funcShift: number;
}

/** Where each original instruction landed and what its segment charged (for exact fuel on traps). */
export interface BodyTrace {
  /** Offset of each original instruction in the rewritten body (from the body's start, after its size). */
  outOffsets: number[];
  /** Offset of each original instruction in the original module's bytes. */
  inOffsets: number[];
  /** Cost of the segment's operators up to and including this one (function entry included). */
  costThrough: number[];
  /** Cost charged up front by this instruction's segment. */
  segmentCost: number[];
}

// Opcodes the rewriter treats specially.
export const UNREACHABLE = 0x00;
export const BLOCK = 0x02;
export const LOOP = 0x03;
export const IF = 0x04;
export const ELSE = 0x05;
export const END = 0x0b;
export const BR = 0x0c;
export const BR_IF = 0x0d;
export const BR_TABLE = 0x0e;
export const RETURN = 0x0f;
export const CALL = 0x10;
export const CALL_INDIRECT = 0x11;
export const RETURN_CALL = 0x12;
export const RETURN_CALL_INDIRECT = 0x13;
export const GLOBAL_GET = 0x23;
export const GLOBAL_SET = 0x24;
export const MEMORY_GROW = 0x40;
export const REF_FUNC = 0xd2;
export const TABLE_GROW = 15; // 0xFC 15

/** The block type of a function without results: the result block is then `block (empty)`. */
export const VOID_BLOCK = Uint8Array.of(0x40);
