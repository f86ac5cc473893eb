/**
 * A batch through the pool (POST /execute/batch): its calls run in order in one hand-over, and no call
 * ever runs twice, so that no side effect (an Iroha peer's instruction) is ever repeated.
 *
 * The worker posts each finished call's answer through a MessagePort given with the task, so the
 * answers of the calls before one that ran out of time survive the worker being stopped. That call
 * answers `timeout`; the calls after it go to a worker again (the batch keeps its place in the queue
 * bound). A lost worker likewise costs only the call it was running. A batch given up before any of
 * its calls started (still queued) answers `timeout` for all of them.
 *
 * The answer has a byte budget: a call starts only when the answer so far plus the largest answer one
 * call can give fits in it (the first call always runs, as POST /execute would); the calls after that
 * are not run, and answer so.
 */
import { MessageChannel, type MessagePort, receiveMessageOnPort } from 'node:worker_threads';
import type { ExecuteInput } from '../engine/execute.js';
import { TimeoutError, WorkerLostError } from './errors.js';
import type { Attempt, ExecutionPool } from './pool.js';
import { type BatchBudget, type BatchEnd, type BatchItem, type BatchTask, type RunResult, newProgress, now } from './task.js';

/** What became of one call of a batch, when it did not simply run (RunResult). */
export type BatchOutcome =
  | RunResult
  /** Ran out of its `timeoutMs` (while running, or with the batch still queued). */
  | { timeout: { queueMs: number; executeMs: number } }
  /** The worker stopped under it (`message` says why). */
  | { lost: string }
  /** Not run: the answer so far plus one more call's largest answer would be over the budget. */
  | { refused: { usedBytes: number; budgetBytes: number; perCallBytes: number } }
  /** Ran, but its answer alone did not fit in what was left of the budget. */
  | { cut: { bytes: number; outcome: string; fuel: number | null; usedBytes: number; budgetBytes: number } };

/** What a timeout or lost entry adds to the answer, about (their bodies are small and fixed). */
const SMALL_ENTRY_BYTES = 2048;

export async function runBatch(pool: ExecutionPool, inputs: ExecuteInput[], prepareMs: number[], budget: Omit<BatchBudget, 'ranAny'>): Promise<BatchOutcome[]> {
  const submittedAt = now();
  const out: BatchOutcome[] = [];
  let used = budget.used;
  let ranAny = false;
  while (out.length < inputs.length) {
    const from = out.length;
    const part = await runPart(pool, inputs.slice(from), prepareMs.slice(from), submittedAt, { ...budget, used, ranAny });
    for (const item of part.items) {
      if ('cut' in item) out.push({ cut: { ...item.cut, usedBytes: used, budgetBytes: budget.bytes } });
      else {
        out.push(item.result);
        used += item.bytes;
      }
      ranAny = true;
    }
    const end = part.end;
    if (end instanceof TimeoutError) {
      const k = part.items.length;
      if (end.running === 0 && k === 0) {
        // given up before any call started: the batch waited its first call's timeoutMs
        while (out.length < inputs.length) out.push({ timeout: { queueMs: end.queueMs, executeMs: 0 } });
      } else if (end.running > k) {
        out.push({ timeout: { queueMs: end.queueMs, executeMs: end.executeMs } });
        used += SMALL_ENTRY_BYTES;
      } // else the call running had just finished when its time ran out: it keeps its answer
    } else if (end instanceof WorkerLostError) {
      out.push({ lost: end.message });
      used += SMALL_ENTRY_BYTES;
    } else {
      // never run a call again for want of its answer: that would repeat its side effects
      if (part.items.length !== end.ran) throw new Error(`a batch's worker ran ${end.ran} calls but handed over ${part.items.length} answers`);
      if (end.budgetStop) while (out.length < inputs.length) out.push({ refused: { usedBytes: used, budgetBytes: budget.bytes, perCallBytes: budget.perCall } });
    }
  }
  return out;
}

/** One hand-over of the calls not yet answered: the items of those that finished, and how it ended. */
async function runPart(
  pool: ExecutionPool,
  inputs: ExecuteInput[],
  prepareMs: number[],
  submittedAt: number,
  budget: BatchBudget,
): Promise<{ items: BatchItem[]; end: BatchEnd | TimeoutError | WorkerLostError }> {
  const progress = newProgress();
  const ports: MessagePort[] = [];
  const make = (whole: boolean): Attempt => {
    const { port1, port2 } = new MessageChannel();
    ports.push(port1);
    const threads = pool.holdersOf(whole);
    const task: BatchTask = {
      batch: inputs.map((input, i) => ({ input: pool.wire(input, threads), submittedAt, prepareMs: prepareMs[i] ?? 0 })),
      progress,
      port: port2,
      budget,
    };
    return { task, transferList: [port2] };
  };
  // the first call's time counts from the hand-over, as a single request's; each later one's from its start
  const deadline = (start: number) => () => {
    const running = Number(Atomics.load(progress, 0)); // 1 + the index of the call running, 0 before the first
    if (running <= 1) return start + inputs[0]!.limits.timeoutMs;
    return Number(Atomics.load(progress, 1)) / 1000 + inputs[running - 1]!.limits.timeoutMs;
  };
  // the watchdog looks often enough to see a short call start and pass its limit between two longer ones
  const pollMs = Math.max(5, Math.min(...inputs.map((x) => x.limits.timeoutMs)) / 10);
  let end: BatchEnd | TimeoutError | WorkerLostError;
  try {
    end = (await pool.runTask(make, inputs, progress, submittedAt, deadline, pollMs)) as BatchEnd;
  } catch (e) {
    if (!(e instanceof TimeoutError || e instanceof WorkerLostError)) {
      for (const p of ports) p.close();
      throw e;
    }
    end = e;
  }
  // what the worker posted before it finished or was stopped: every message is already queued here
  return { items: ports.flatMap(drain), end };
}

function drain(port: MessagePort): BatchItem[] {
  const items: BatchItem[] = [];
  for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) items.push(m.message as BatchItem);
  port.close();
  return items;
}
