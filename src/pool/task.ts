/** What crosses between the service and its worker threads (all structured-cloneable). */
import type { EngineConfig, ExecuteInput, ExecutionResult } from '../engine/execute.js';
import type { RequestErrorKind } from '../engine/errors.js';
import type { PreparedModule } from '../engine/prepare.js';

/**
 * A prepared module as a task carries it: its key, and the module itself only while some worker may
 * not hold it yet (cloning a compiled module into a worker costs more than the execution).
 */
export interface ModuleRef {
  key: string;
  module?: PreparedModule;
}

/** An execution as it crosses to a worker: the modules by reference. */
export interface WireInput extends Omit<ExecuteInput, 'contract' | 'library' | 'inspectMemory'> {
  contract: ModuleRef;
  library: ModuleRef | null;
}

export interface ExecuteTask {
  input: WireInput;
  /** Wall-clock time (performance.timeOrigin + now) when the task was submitted, for queueMs. */
  submittedAt: number;
  prepareMs: number;
}

/** Several executions back to back in one hand-over (POST /execute/batch); they share nothing. */
export interface BatchTask {
  batch: ExecuteTask[];
  /**
   * Written by the worker as each call starts (Atomics): [0] 1 + the call's index, [1] its start in
   * `now()` microseconds; the pool's watchdog reads it to hold each call to its own time limit.
   */
  progress?: BigInt64Array;
}

/** A task that only proves the worker is up (readiness). */
export interface PingTask {
  ping: true;
}

export type TaskResult = { result: ExecutionResult } | { requestError: { kind: RequestErrorKind; message: string } } | { pong: true };

/**
 * A worker's answer, with its thread id (the pool learns which modules it now holds); `missing` when
 * a module came by key only and the worker no longer holds it: the pool sends the task again, whole.
 */
export type WorkerAnswer = { thread: number; missing: true } | { thread: number; missing?: undefined; answer: TaskResult | TaskResult[] };

export interface WorkerData {
  engine: EngineConfig;
  /** Estimated bytes of compiled modules each worker keeps (the same estimate as the service's cache). */
  moduleCacheBytes: number;
}

export const now = () => performance.timeOrigin + performance.now();
