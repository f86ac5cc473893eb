/** The worker-thread entry: one linked execution per task, or a batch of them (Piscina calls the default export). */
import { threadId, workerData } from 'node:worker_threads';
import { answerBytes } from '../engine/answer-bound.js';
import { RequestError } from '../engine/errors.js';
import { type ExecuteInput, execute } from '../engine/execute.js';
import type { BatchEnd, BatchItem, BatchTask, ExecuteTask, PingTask, Progress, RunResult, WorkerAnswer, WorkerData } from './task.js';
import { now } from './task.js';
import { WorkerModules } from './worker-modules.js';

const { engine, moduleCacheBytes } = workerData as WorkerData;
const modules = new WorkerModules(moduleCacheBytes);

export default function run(task: ExecuteTask | BatchTask | PingTask): WorkerAnswer {
  if ('ping' in task) return { thread: threadId, answer: { pong: true } };
  const tasks = 'batch' in task ? task.batch : [task];
  // every module of the task first: a batch runs all of its calls or none
  const inputs: ExecuteInput[] = [];
  for (const t of tasks) {
    const contract = modules.resolve(t.input.contract);
    const library = t.input.library ? modules.resolve(t.input.library) : null;
    if (!contract || library === undefined) return { thread: threadId, missing: true };
    inputs.push({ ...t.input, contract, library });
  }
  if ('batch' in task) return { thread: threadId, answer: runCalls(task, inputs) };
  if (task.progress) started(task.progress, 0);
  return { thread: threadId, answer: one(task, inputs[0]!) };
}

/**
 * The calls in order, each one's answer posted as soon as it is known (the worker keeps none), while
 * the budget can take the largest answer of one more call.
 */
function runCalls(task: BatchTask, inputs: ExecuteInput[]): BatchEnd {
  const { budget, port, progress } = task;
  let used = budget.used;
  let ranAny = budget.ranAny;
  for (const [i, t] of task.batch.entries()) {
    if (ranAny && used + budget.perCall > budget.bytes) return { ran: i, budgetStop: true };
    started(progress, i);
    const result = one(t, inputs[i]!);
    const bytes = answerBytes(result.result ?? result.requestError);
    // over one call's bound (answer-bound.ts): only a very long callback URL in a message can do it
    const fits = !ranAny || used + bytes <= budget.bytes;
    port.postMessage(fits ? { result, bytes } : cut(result, bytes));
    used += fits ? bytes : 0;
    ranAny = true;
  }
  return { ran: task.batch.length, budgetStop: false };
}

/** What is said of a call that ran but whose answer does not fit. */
function cut(r: RunResult, bytes: number): BatchItem {
  const outcome = r.result ? (r.result.error?.kind ?? 'ok') : r.requestError.kind;
  return { cut: { bytes, outcome, fuel: r.result?.fuel.consumed ?? null } };
}

function started(progress: Progress, index: number): void {
  Atomics.store(progress, 1, BigInt(Math.round(now() * 1000)));
  Atomics.store(progress, 0, BigInt(index + 1));
}

function one(task: ExecuteTask, input: ExecuteInput): RunResult {
  const queueMs = Math.max(0, now() - task.submittedAt);
  try {
    return { result: execute(input, engine, { queueMs, prepareMs: task.prepareMs }) };
  } catch (e) {
    if (e instanceof RequestError) return { requestError: { kind: e.kind, message: e.message } };
    throw e;
  }
}
