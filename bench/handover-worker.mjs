// The worker of bench/handover.ts: a Piscina task function answering like the engine's worker, and
// the same answer over a raw MessagePort when started with workerData.raw.
import { parentPort, workerData } from 'node:worker_threads';

export default function task(t) {
  return { thread: 1, answer: { result: { ok: true, n: t.n } } };
}

if (workerData?.raw) {
  parentPort.on('message', (m) => parentPort.postMessage({ id: m.id, thread: 1, answer: { result: { ok: true, n: m.n } } }));
}
