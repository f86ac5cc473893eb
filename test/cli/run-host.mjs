// `run` without a process start per case (test/cli/cli-support.ts `runHosted`): a plain node process
// (no test runner loaders, which would be inherited by, and slow down, every worker thread) that
// answers `run` argument lists through the built CLI's own code (dist/cli), as main.js would:
// stdin, one JSON line per call: {"id", "args"}; stdout, one per answer: {"id", "code", "body"}.
//
// The argument parsing and file reading are the CLI's (`parseRunArgs`, `makeJob`); the job runs the
// CLI's worker module itself (dist/cli/run-worker.js, unchanged) in a worker thread with `answerJob`'s
// options, and run.ts `superviseJob` answers its messages, as it does for `answerJob`. One difference, for
// the CPU: `answerJob` starts a thread per call (~150 ms of CPU: a fresh isolate loading the engine's
// ~100 modules), here one job thread is kept and evaluates run-worker.js again per job (a new module
// URL, `workerData` set to the job first), the engine's modules loaded once — as the server's pool
// workers keep them across requests. A thread per call, its stdout, the timeout that terminates it,
// and a worker that fails are what the tests that spawn the CLI check (test/cli/run.test.ts,
// cli.test.ts; `batch` runs every call through `answerJob`, and its test compares each body with this
// host's). A job still running after its timeout is answered as `answerJob` answers it (the thread is
// terminated and a new one started for the next job).
import { createInterface } from 'node:readline';
import { Worker } from 'node:worker_threads';

const dist = new URL('../../dist/', import.meta.url);
const load = (path) => import(new URL(path, dist).href);
const [{ HELP, parseRunArgs }, { JOB_THREAD_OPTIONS, makeJob, superviseJob }, { EXIT, errorBody }, { RequestError }] = await Promise.all(
  ['cli/args.js', 'cli/run.js', 'cli/output.js', 'engine/errors.js'].map(load),
);

const RUN_WORKER = new URL('cli/run-worker.js', dist).href;
/** The job thread: each message a job; run-worker.js evaluated afresh for it, with the job as workerData. */
const JOB_THREAD = `
  const { parentPort } = require('node:worker_threads');
  const { syncBuiltinESMExports } = require('node:module');
  parentPort.on('message', ({ n, job }) => {
    require('node:worker_threads').workerData = job;
    syncBuiltinESMExports();
    import(${JSON.stringify(RUN_WORKER)} + '?job=' + n).catch((e) => parentPort.postMessage({ type: 'internal', message: 'job thread: ' + String(e && e.stack || e) }));
  });`;

let thread = null;
let jobs = 0;

/** One job at a time on the kept job thread, supervised by run.ts `superviseJob` as `answerJob` does. */
function runOnThread(job) {
  thread ??= new Worker(JOB_THREAD, { ...JOB_THREAD_OPTIONS, eval: true });
  const w = thread;
  const answered = superviseJob(w, job, async (failed) => {
    if (!failed) return;
    if (thread === w) thread = null;
    await w.terminate();
  });
  w.postMessage({ n: ++jobs, job });
  return answered;
}

let queue = Promise.resolve();
const answerJob = (job) => {
  const a = queue.then(() => runOnThread(job));
  queue = a.then(() => undefined);
  return a;
};

/** What `wasm-runner run ARGS` prints on stdout (as an object) and its exit code. */
async function answer(args) {
  try {
    const parsed = parseRunArgs(args);
    if (parsed === HELP) return { code: EXIT.internal, error: '--help prints usage: spawn the CLI for it' };
    const a = await answerJob(makeJob(parsed));
    if ('internal' in a) return { code: a.code, error: a.internal };
    return { code: a.code, body: 'result' in a ? a.result : errorBody(a.requestError.kind, a.requestError.message) };
  } catch (e) {
    if (e instanceof RequestError) return { code: EXIT.request, body: errorBody(e.kind, e.message) };
    return { code: EXIT.internal, error: String(e?.stack ?? e) };
  }
}

for await (const line of createInterface({ input: process.stdin })) {
  const { id, args } = JSON.parse(line);
  void answer(args).then((a) => process.stdout.write(`${JSON.stringify({ id, ...a })}\n`));
}
// stdin closed (closeRunHost): the jobs still queued are answered, then the job thread ends
await queue;
await thread?.terminate();
