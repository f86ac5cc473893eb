/** Worker thread of the fuzz harness: generates the module of a seed and runs its case (case.ts). */
import { parentPort } from 'node:worker_threads';
import { type CaseOptions, runCase } from './case.js';
import { generate } from './generate.js';

export interface WorkerTask {
  seed: number;
  /** Bytes to run instead of generating from the seed (regressions). */
  bytes?: Uint8Array;
  maxInput?: number;
  options: Partial<CaseOptions>;
}

parentPort!.on('message', async (task: WorkerTask) => {
  try {
    const bytes = task.bytes ?? (await generate(task.seed, { maxInput: task.maxInput })).bytes;
    const report = runCase(task.seed, bytes, task.options);
    // the module of a finding goes back with it, to be saved
    parentPort!.postMessage({ ok: true, report, ...(report.findings.length && { bytes }) });
  } catch (e) {
    parentPort!.postMessage({ ok: false, error: (e as Error).stack ?? String(e) });
  }
});
