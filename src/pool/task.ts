/** What crosses between the service and its worker threads (all structured-cloneable). */
import type { EngineConfig, ExecuteInput, ExecutionResult } from '../engine/execute.js';
import type { RequestErrorKind } from '../engine/errors.js';

export interface ExecuteTask {
  input: ExecuteInput;
  /** Wall-clock time (performance.timeOrigin + now) when the task was submitted, for queueMs. */
  submittedAt: number;
  prepareMs: number;
}

/** Several executions back to back in one hand-over (POST /execute/batch); they share nothing. */
export interface BatchTask {
  batch: ExecuteTask[];
}

/** A task that only proves the worker is up (readiness). */
export interface PingTask {
  ping: true;
}

export type TaskResult = { result: ExecutionResult } | { requestError: { kind: RequestErrorKind; message: string } } | { pong: true };

export interface WorkerData {
  engine: EngineConfig;
}

export const now = () => performance.timeOrigin + performance.now();
