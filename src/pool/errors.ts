/** What the pool rejects an execution with (the HTTP routes turn each into its answer). */

export class QueueFullError extends Error {}

/** The execution ran out of its `timeoutMs`, queued or running (`running`: 1 + the index of the execution running, 0 if none). */
export class TimeoutError extends Error {
  constructor(
    readonly running: number,
    /** From the submission to its start, or to the moment it was given up when it never started. */
    readonly queueMs: number,
    readonly executeMs: number,
  ) {
    super('timeout');
  }
}

/** The worker running the task stopped (terminated from outside, out of memory, crashed): the task did not finish. */
export class WorkerLostError extends Error {}

/** Piscina's errors for a task whose thread went away (its own termination, an exit, a thread out of memory). */
export function isWorkerLoss(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const code = (e as { code?: unknown }).code;
  return code === 'ERR_WORKER_OUT_OF_MEMORY' || e.message === 'Terminating worker thread' || /^worker exited with code/.test(e.message);
}
