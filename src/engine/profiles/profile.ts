/**
 * A host profile: the host a contract is written against. It says what the contract may import and
 * builds those imports, checks a request before anything runs, calls the entrypoint its way, keeps its
 * own state during a run, and adds its part to the answer. The engine (execute.ts) runs the wasm, the
 * meter, the memories and the linking the same way for every profile.
 *
 * Profiles: host ABI v1 (host.ts, module `host`, JSON args ↔ wasm values) and the Iroha profile
 * (iroha/profile.ts, module `iroha`, a SCALE context in guest memory). index.ts chooses one per request.
 */
import type { HostState } from '../host-abi.js';
import type { Meter } from '../meter.js';
import type { Outcome } from '../outcome.js';
import type { JsonValue } from '../values.js';
import type { Checked, EngineConfig, ExecuteInput } from '../execution-types.js';
import type { ProfileReports } from './index.js';

/**
 * Import modules that belong to another profile, each with what to tell a request that imports it
 * without selecting that profile.
 */
export type ForeignImports = ReadonlyMap<string, string>;

/** What a run of a profile is given. */
export interface RunContext<Plan = unknown> {
  input: ExecuteInput;
  checked: Checked<Plan>;
  config: EngineConfig;
  /** The records every profile shares: output, logs, and their limits. */
  host: HostState;
  meter: Meter;
  /** performance.now() after which nothing of this run may start or wait (its `timeoutMs`). */
  deadline: number;
  /**
   * When the run is repeated for exact fuel (after a trap, with the exact variants): what the first
   * run's `replay()` gave; undefined on a first run.
   */
  replay: unknown;
}

/** One run of a profile: its state, and the hooks the engine calls. */
export interface ProfileRun {
  /** The import modules this profile provides to a module, bound to that module's instance (once it exists). */
  imports(instance: () => WebAssembly.Instance | undefined): WebAssembly.Imports;
  /** Calls the entrypoint of the contract's instance its way; returns `result.values`. */
  call(entry: (...args: unknown[]) => unknown, instance: WebAssembly.Instance): JsonValue[];
  /** The run's outcome, with what the profile knows of its likely cause (kind and fuel unchanged). */
  explain(outcome: Outcome, error: unknown): Outcome;
  /** What the profile adds to the answer. */
  report(): ProfileReports;
  /** What a repetition of this run for exact fuel needs from it (e.g. a peer's answers, not to ask twice). */
  replay(): unknown;
}

export interface HostProfile<Plan = unknown> {
  readonly name: string;
  /** Whether the request is for this profile (the default profile is used when none is). */
  selects(input: ExecuteInput): boolean;
  /** The import module this profile provides, and what to tell a request of another profile importing it. */
  readonly foreignImport?: { module: string; hint: string };
  /** Checks the request and the modules before anything runs; throws its 4xx RequestError. */
  check(input: ExecuteInput, foreign: ForeignImports): Checked<Plan>;
  start(ctx: RunContext<Plan>): ProfileRun;
  /** What a run stopped by the wall-clock backstop adds to its answer (nothing of the run is known). */
  timeoutReport(input: ExecuteInput): ProfileReports;
}
