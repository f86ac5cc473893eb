/** What the instrumenter (instrument.ts) is asked to do: which meters, which caps, which variant. */
export interface InstrumentOptions {
  /** Charge fuel (default true). */
  fuel?: boolean;
  /** Charge the stack budget: each function's frame, each call leaving the module (default true). */
  stack?: boolean;
  /** Route `memory.grow` through the shared page budget (default true; not in standalone mode). */
  memory?: boolean;
  /** Lower every defined memory's declared maximum to this many pages. */
  maxMemoryPages?: number;
  /** Lower every defined table's declared maximum to this many elements. */
  maxTableElements?: number;
  /** Module name written into the name section (V8 shows it in stack traces: traps are mapped back by it). */
  moduleName?: string;
  /** Define the meter inside the module (initial fuel and stack budget in bytes) and export the fuel as `__fuel`. */
  standalone?: { fuel: bigint; stackBytes: number };
  /** Export the start function (instead of running it at instantiation) and memory 0 under `HOOK_EXPORTS`. */
  hostHooks?: boolean;
  /**
   * Keep the fuel in a local per function (faster). Exact for runs that finish or run out of fuel; after
   * a trap the meter lags behind, and the exact count needs the same run without this option.
   */
  localFuel?: boolean;
  /**
   * Shared-memory linking: the module's stack pointer (its first defined global, checked by the
   * caller with layout analysis) becomes the import `__meter.sp`, and every write to it is checked
   * against the import `__meter.sp_floor` (see stack-guard.ts). Not with `standalone`.
   */
  sharedStack?: boolean;
  /** With `sharedStack`: check the writes (default true; false only to measure what the guard costs). */
  stackGuard?: boolean;
  /**
   * The module's own memory (when it defines exactly one, unshared, 32-bit) becomes the import
   * `__meter.memory` with the same (capped) limits, so the embedder can hand it a pooled memory.
   * Not with `standalone`.
   */
  importMemory?: boolean;
  /**
   * Replace every NaN that float arithmetic produces by the canonical NaN (nan-canon.ts; the
   * `policy.floats: "canonicalize"` setting). Costs no fuel. Default false.
   */
  canonicalizeNaN?: boolean;
  /**
   * The profiling variant (profile-hooks.ts): hooks at every function's entry and exit report the fuel
   * left to the embedder (`__meter.profile_enter` / `profile_exit`). Not with `standalone`. Default false.
   */
  profile?: boolean;
}
