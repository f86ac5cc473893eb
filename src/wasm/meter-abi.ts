/**
 * The imports an instrumented module expects besides its own: one set of mutable globals that
 * every module of an execution shares, so fuel, call depth and the memory budget span all of them.
 * Kept in `wasm/` because the rewriter emits them; the engine creates the globals.
 */
export const METER_MODULE = '__meter';

export const METER_GLOBALS = {
  /** i64, mutable: fuel remaining. Negative after an out-of-fuel trap. */
  fuel: 'fuel',
  /** i32, mutable: calls that may still be nested before `stack_overflow`. */
  depth: 'depth',
  /** i32, mutable: 64 KiB pages that `memory.grow` may still add, across all memories. */
  pages: 'pages',
  /** i32, mutable: why the last trap happened (bits of `MeterFlag`), 0 for an ordinary trap. */
  flags: 'flags',
} as const;

export const MeterFlag = {
  outOfFuel: 1,
  stackOverflow: 2,
  growRefused: 4,
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
} as const;
