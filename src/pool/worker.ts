/** The worker-thread entry: one linked execution per task, or a batch of them (Piscina calls the default export). */
import { threadId, workerData } from 'node:worker_threads';
import { RequestError } from '../engine/errors.js';
import { type ExecuteInput, execute } from '../engine/execute.js';
import { type BatchTask, type ExecuteTask, type PingTask, type TaskResult, type WorkerAnswer, type WorkerData, now } from './task.js';
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
  const progress = 'batch' in task ? task.progress : undefined;
  const answers = tasks.map((t, i) => {
    if (progress) {
      Atomics.store(progress, 1, BigInt(Math.round(now() * 1000)));
      Atomics.store(progress, 0, BigInt(i + 1));
    }
    return one(t, inputs[i]!);
  });
  return { thread: threadId, answer: 'batch' in task ? answers : answers[0]! };
}

function one(task: ExecuteTask, input: ExecuteInput): TaskResult {
  const queueMs = Math.max(0, now() - task.submittedAt);
  try {
    return { result: execute(input, engine, { queueMs, prepareMs: task.prepareMs }) };
  } catch (e) {
    if (e instanceof RequestError) return { requestError: { kind: e.kind, message: e.message } };
    throw e;
  }
}
