/** Messages between `run` (main thread) and its worker (run-worker.ts). */
import type { ExecuteInput, ExecutionResult, LinkOptions, Limits } from '../engine/execute.js';
import type { ModuleInfo } from '../engine/prepare.js';
import type { IrohaInput } from '../engine/profiles/iroha/abi.js';

export interface RunJob {
  contract: Uint8Array;
  library: Uint8Array | null;
  link: LinkOptions | undefined;
  entrypoint: string | undefined;
  args: unknown[];
  input: Uint8Array;
  limits: Limits;
  iroha?: IrohaInput;
  /** A fuel profile in this format (docs/PROFILING.md). */
  fuelProfile?: ExecuteInput['fuelProfile'];
}

export type WorkerMessage =
  /** Both modules are prepared: execution starts now (the timeout clock starts here). */
  | { type: 'prepared'; contract: ModuleInfo; library: ModuleInfo | null; prepareMs: number }
  | { type: 'result'; result: ExecutionResult }
  | { type: 'request_error'; kind: string; message: string }
  | { type: 'internal'; message: string };
