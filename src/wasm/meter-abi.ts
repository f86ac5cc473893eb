/**
 * The imports an instrumented module expects besides its own: one set of mutable globals that
 * every module of an execution shares, so fuel, the stack budget and the memory budget span all of them.
 * Kept in `wasm/` because the rewriter emits them; the engine creates the globals.
 */
export const METER_MODULE = '__meter';

export const METER_GLOBALS = {
  /** i64, mutable: fuel remaining. Negative after an out-of-fuel trap. */
  fuel: 'fuel',
  /** i32, mutable: bytes of the stack budget left (frames and crossings, frame-cost.ts) before `stack_overflow`. */
  stack: 'stack',
  /** i32, mutable: 64 KiB pages that `memory.grow` may still add, across all memories. */
  pages: 'pages',
  /** i32, mutable: why the last trap happened (bits of `MeterFlag`), 0 for an ordinary trap. */
  flags: 'flags',
  /** i32, immutable (shared linking): the lowest value the module's stack pointer may take. */
  spFloor: 'sp_floor',
  /** i32, mutable (shared linking): the module's stack pointer, turned from its first defined global into this import. */
  sp: 'sp',
  /** memory (option `importMemory`): the module's own memory, handed in by the embedder (pooled). */
  memory: 'memory',
} as const;

/**
 * Under `sharedStack` the meter adds six imported globals (fuel, stack, pages, flags, sp_floor, sp)
 * and the stack pointer leaves the defined globals, so every defined global's index moves up by five
 * and the stack pointer's own index becomes that of the `sp` import.
 */
export const SHARED_STACK_SHIFT = 5;

/** What a standalone metered module exports besides the original exports. */
export const STANDALONE_EXPORTS = {
  /** i64, mutable: fuel left; the embedder may set it. Negative after running out. */
  fuel: '__fuel',
  /** i32: why the last call trapped (bits of `MeterFlag`; 0 for the original module's own traps), reset at each top-level call. */
  flags: '__meter_flags',
  /**
   * () -> (): forget the stack budget and flags left by a trap that unwound through an import call (a host
   * function that called back into the module, or threw). Other traps need no reset: the next call
   * from the embedder starts afresh by itself.
   */
  reset: '__meter_reset',
} as const;

export const MeterFlag = {
  outOfFuel: 1,
  stackOverflow: 2,
  growRefused: 4,
  /** A write to a stack pointer below its floor (shared linking's stack guard). */
  stackGuard: 8,
} as const;

/**
 * Exports the engine adds (option `hostHooks`): the start function, deferred so that host functions
 * called from it see a finished instance, and memory 0, so the host reaches it even when unexported.
 */
export const HOOK_EXPORTS = {
  start: '__meter_start',
  memory: '__meter_memory',
  /** The module's own copy of the fuel: the fuel left is the least of the shared value and the copies. */
  fuel: '__meter_fuel',
  /** Table 0, so a library's table can be shared with a contract that imports one. */
  table: '__meter_table',
} as const;
