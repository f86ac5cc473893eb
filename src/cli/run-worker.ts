/** Worker thread of `run`: prepare both modules, execute once, post the body back (see run-protocol.ts). */
import { parentPort, workerData } from 'node:worker_threads';
import { DEFAULT_ENGINE_CONFIG, DEFAULT_ENGINE_POLICY } from '../engine/defaults.js';
import { RequestError } from '../engine/errors.js';
import { type ExecuteInput, execute } from '../engine/execute.js';
import { prepare } from '../engine/prepare.js';
import type { RunJob, WorkerMessage } from './run-protocol.js';

const post = (m: WorkerMessage) => parentPort!.postMessage(m);
const job = workerData as RunJob;

try {
  const t0 = performance.now();
  const contract = prepare(job.contract, DEFAULT_ENGINE_CONFIG.instrument, DEFAULT_ENGINE_POLICY);
  const library = job.library ? prepare(job.library, DEFAULT_ENGINE_CONFIG.instrument, DEFAULT_ENGINE_POLICY) : null;
  const prepareMs = performance.now() - t0;
  post({ type: 'prepared', contract: contract.info, library: library?.info ?? null, prepareMs });
  const input: ExecuteInput = {
    contract,
    library,
    link: job.link,
    entrypoint: job.entrypoint,
    args: job.args,
    input: job.input,
    limits: job.limits,
    ...(job.iroha ? { iroha: job.iroha } : {}),
    ...(job.fuelProfile ? { fuelProfile: job.fuelProfile } : {}),
  };
  post({ type: 'result', result: execute(input, DEFAULT_ENGINE_CONFIG, { prepareMs }) });
} catch (e) {
  if (e instanceof RequestError) post({ type: 'request_error', kind: e.kind, message: e.message });
  else post({ type: 'internal', message: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
}
