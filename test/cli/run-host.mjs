// `run` without a process start per case (test/cli/cli-support.ts `runHosted`): a plain node process
// (no test runner loaders, which would be inherited by, and slow down, every worker thread) that
// answers `run` argument lists through the built CLI's own code (dist/cli), as main.js would:
// stdin, one JSON line per call: {"id", "args"}; stdout, one per answer: {"id", "code", "body"}.
//
// The argument parsing and file reading are the CLI's (`parseRunArgs`, `makeJob`); the job runs the
// CLI's worker module itself (dist/cli/run-worker.js, unchanged) in a worker thread with the stack
// `answerJob` gives it, and its messages are answered as `answerJob` answers them. One difference, for
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
const [{ HELP, parseRunArgs }, { makeJob }, { EXIT, errorBody }, { RequestError }, { DEFAULT_ENGINE_CONFIG, workerStackMb }, { timeoutResult }] =
  await Promise.all(['cli/args.js', 'cli/run.js', 'cli/output.js', 'engine/errors.js', 'engine/defaults.js', 'engine/execute.js'].map(load));

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
function jobThread() {
  // the options of run.ts `answerJob`: the stack derived from the budget, stdout swallowed
  thread ??= new Worker(JOB_THREAD, {
    eval: true,
    resourceLimits: { stackSizeMb: workerStackMb(DEFAULT_ENGINE_CONFIG.maxStackBytes) },
    stdout: true,
    stderr: false,
  });
  return thread;
}

/** One job at a time on the job thread: its messages are the current job's. Mirrors run.ts `answerJob`. */
function runOnThread(job) {
  return new Promise((resolve) => {
    const w = jobThread();
    let done = false;
    let timer;
    const finish = (a, kill) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      w.off('message', onMessage);
      w.off('error', onError);
      w.off('exit', onExit);
      if (!kill) return resolve(a);
      if (thread === w) thread = null;
      void w.terminate().then(() => resolve(a), () => resolve(a));
    };
    const onMessage = (m) => {
      switch (m.type) {
        case 'prepared': {
          const started = performance.now();
          timer = setTimeout(() => {
            const input = {
              contract: { info: m.contract },
              library: m.library ? { info: m.library } : null,
              limits: job.limits,
              ...(job.iroha ? { iroha: job.iroha } : {}),
            };
            finish({ result: timeoutResult(input, { prepareMs: m.prepareMs, executeMs: performance.now() - started }), code: EXIT.outcome }, true);
          }, job.limits.timeoutMs);
          break;
        }
        case 'result':
          finish({ result: m.result, code: m.result.ok ? EXIT.ok : EXIT.outcome });
          break;
        case 'request_error':
          finish({ requestError: { kind: m.kind, message: m.message }, code: EXIT.request });
          break;
        case 'internal':
          finish({ internal: m.message, code: EXIT.internal }, true);
          break;
      }
    };
    const onError = (e) => finish({ internal: `worker failed: ${e.message}`, code: EXIT.internal }, true);
    const onExit = (code) => finish({ internal: `worker exited (code ${code}) without a result`, code: EXIT.internal }, true);
    w.on('message', onMessage);
    w.once('error', onError);
    w.once('exit', onExit);
    w.postMessage({ n: ++jobs, job });
  });
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
