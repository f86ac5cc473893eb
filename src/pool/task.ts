/** What crosses between the service and its worker threads (all structured-cloneable). */
import type { MessagePort } from 'node:worker_threads';
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

/**
 * Written by the worker as each execution of a task starts (Atomics): [0] 1 + its index in the task
 * (0 before the first), [1] its start in `now()` microseconds. The pool's watchdog reads it to hold
 * each execution to its own time limit, and to tell a running task from a queued one when it gives up.
 */
export type Progress = BigInt64Array;

export const newProgress = (): Progress => new BigInt64Array(new SharedArrayBuffer(16));

export interface ExecuteTask {
  input: WireInput;
  /** Wall-clock time (performance.timeOrigin + now) when the request reached the pool, for queueMs. */
  submittedAt: number;
  prepareMs: number;
  progress?: Progress;
}

/** What a batch may still add to its answer (docs/API.md, maxBatchResponseBytes). */
export interface BatchBudget {
  /** The whole answer's budget. */
  bytes: number;
  /** Bytes of the answer so far (earlier entries). */
  used: number;
  /** The largest answer one call can give (answer-bound.ts): a call starts only when that still fits. */
  perCall: number;
  /** Whether a call of this batch already ran (the first one always runs, as POST /execute would). */
  ranAny: boolean;
}

/** Several executions back to back in one hand-over (POST /execute/batch); they share nothing. */
export interface BatchTask {
  batch: ExecuteTask[];
  progress: Progress;
  /**
   * Each finished call's BatchItem is posted here as it finishes, so that it survives the worker
   * being stopped under a later call: a call that ran is never run again (its peer calls not repeated).
   */
  port: MessagePort;
  budget: BatchBudget;
}

/** One finished call of a batch: its answer and that answer's size, or only the size when it did not fit. */
export type BatchItem = { result: RunResult; bytes: number } | { cut: { bytes: number; outcome: string; fuel: number | null } };

/** A batch task's own answer: how many calls ran (their items went through the port), and why it stopped. */
export interface BatchEnd {
  ran: number;
  /** The budget left too little for the next call's largest answer: the calls from `ran` on did not run. */
  budgetStop: boolean;
}

/** A task that only proves the worker is up (readiness). */
export interface PingTask {
  ping: true;
}

/** What one execution gave: its result, or a request error found only in the worker. */
export type RunResult = { result: ExecutionResult; requestError?: undefined } | { requestError: { kind: RequestErrorKind; message: string }; result?: undefined };
export type TaskResult = RunResult | { pong: true };

/**
 * A worker's answer, with its thread id (the pool learns which modules it now holds); `missing` when
 * a module came by key only and the worker no longer holds it: the pool sends the task again, whole.
 */
export type WorkerAnswer = { thread: number; missing: true } | { thread: number; missing?: undefined; answer: TaskResult | BatchEnd };

export interface WorkerData {
  engine: EngineConfig;
  /** Estimated bytes of compiled modules each worker keeps (the same estimate as the service's cache). */
  moduleCacheBytes: number;
}

export const now = () => performance.timeOrigin + performance.now();
