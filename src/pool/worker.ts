/** The worker-thread entry: one linked execution per task (Piscina calls the default export). */
import { workerData } from 'node:worker_threads';
import { RequestError } from '../engine/errors.js';
import { execute } from '../engine/execute.js';
import { type BatchTask, type ExecuteTask, type PingTask, type TaskResult, type WorkerData, now } from './task.js';

const { engine } = workerData as WorkerData;

export default function run(task: ExecuteTask | BatchTask | PingTask): TaskResult | TaskResult[] {
  if ('ping' in task) return { pong: true };
  if ('batch' in task) return task.batch.map(one);
  return one(task);
}

function one(task: ExecuteTask): TaskResult {
  const queueMs = Math.max(0, now() - task.submittedAt);
  try {
    return { result: execute(task.input, engine, { queueMs, prepareMs: task.prepareMs }) };
  } catch (e) {
    if (e instanceof RequestError) return { requestError: { kind: e.kind, message: e.message } };
    throw e;
  }
}
