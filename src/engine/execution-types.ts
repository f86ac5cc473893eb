/**
 * The shapes of one linked execution: what it is given (ExecuteInput, EngineConfig), what was checked
 * before it runs (Checked) and what it answers (ExecutionResult, the §3 response body). A host profile
 * adds its own request field, answer field and settings (profiles/index.ts).
 */
import type { OutputLimits, LogLine } from './host-abi.js';
import type { BridgePlan } from './linking/bridge.js';
import type { SharedPlan, Stacks } from './linking/shared.js';
import type { Outcome } from './outcome.js';
import type { Frames } from './frames.js';
import type { InstrumentSettings, PreparedModule } from './prepare.js';
import type { ProfileConfigs, ProfileInputs, ProfileReports } from './profiles/index.js';
import type { JsonValue } from './values.js';
import type { FuncType } from '../wasm/module.js';
import type { FuelProfileReport } from './fuel-profile/report.js';
import type { ProfileFormat } from './fuel-profile/types.js';

export interface EngineConfig extends ProfileConfigs {
  instrument: InstrumentSettings;
  /** The stack budget in bytes (docs/ABI.md, Stack). */
  maxStackBytes: number;
  output: OutputLimits;
}

export interface Limits {
  fuel: number;
  memoryBytes: number;
  timeoutMs: number;
}

export interface LinkOptions {
  mode?: 'bridge' | 'shared';
  namespace?: string;
  ffi?: string;
  /** Shared mode only: each module on its own stack (guarded), or both on the contract's. */
  stacks?: Stacks;
}

export interface ExecuteInput extends ProfileInputs {
  contract: PreparedModule;
  library?: PreparedModule | null;
  link?: LinkOptions;
  entrypoint?: string;
  args?: unknown[];
  input?: Uint8Array;
  limits: Limits;
  /**
   * In-process embedders and tests only (a function does not cross to a worker): called with the
   * linear memories as the run left them, e.g. to prove what a trap did not touch.
   */
  inspectMemory?: (memories: { contract?: WebAssembly.Memory; library?: WebAssembly.Memory }) => void;
  /** What `check(this)` gave, when the caller already checked (plain data: it crosses to a worker). */
  checked?: Checked;
  /** Run the profiling variants and answer a fuel profile in this format (docs/PROFILING.md). */
  fuelProfile?: { format: ProfileFormat };
}

export interface ModuleMemory {
  initialBytes: number;
  peakBytes: number;
}

export interface ExecutionResult extends ProfileReports {
  ok: boolean;
  result: { values: JsonValue[]; output: string } | null;
  /** With the frames where it stopped (frames.ts), except for a timeout. */
  error: (Outcome & Partial<Frames>) | null;
  fuel: { limit: number; consumed: number; remaining: number };
  memory: { limitBytes: number; peakBytes: number; modules: { contract: ModuleMemory; library?: ModuleMemory } };
  logs: LogLine[];
  modules: { contract: { hash: string; bytes: number }; library?: { hash: string; bytes: number } };
  link: { mode: 'bridge' | 'shared'; calls: number; bytesCopied: number; stacks?: Stacks };
  timings: { queueMs: number; prepareMs: number; instantiateMs: number; executeMs: number; totalMs: number };
  /** With `fuelProfile`: where the fuel went (fuel-profile/report.ts). */
  profile?: FuelProfileReport;
}

/** Everything checked before anything runs: a bad request never starts a start function. */
export interface Checked<Plan = unknown> {
  entry: string;
  entryType: FuncType;
  /** Bridge mode: how each library import is wired (empty in shared mode, and without a library). */
  bridge: BridgePlan;
  /** Shared mode: the checked layouts and wiring. */
  shared: SharedPlan | null;
  namespace: string;
  /** The host profile's own findings, e.g. the entrypoint's wasm arguments (plain data too). */
  plan: Plan;
}

/** Time spent before the execution: waiting for a worker, preparing the modules. */
export interface BeforeTimings {
  queueMs?: number;
  prepareMs?: number;
}
