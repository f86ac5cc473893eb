/**
 * `run`: one execution in a worker thread, so that the wall-clock limit can stop it (the worker is
 * terminated and the body says `timeout`). Prints the body POST /execute would answer.
 */
import { Worker } from 'node:worker_threads';
import type { ExecutionResult, ExecuteInput, LinkOptions } from '../engine/execute.js';
import { timeoutResult } from '../engine/execute.js';
import type { PreparedModule } from '../engine/prepare.js';
import { HELP, type IrohaArgs, type RunArgs, parseHex, parseRunArgs } from './args.js';
import { RequestError, badRequest } from '../engine/errors.js';
import type { IrohaInput } from '../engine/profiles/iroha/abi.js';
import { readBytes, readText } from './files.js';
import { readContext } from './iroha-command.js';
import { EXIT, printBacktrace, printInternal, printJson, printRequestError } from './output.js';
import type { RunJob, WorkerMessage } from './run-protocol.js';
import { RUN_USAGE } from './usage.js';
import { type ProfileTarget, writeProfile } from './profile-file.js';
import { DEFAULT_ENGINE_CONFIG, workerStackMb } from '../engine/defaults.js';

/** Stack of the worker thread: derived from the stack budget, so that the budget runs out before V8's limit. */
const WORKER_STACK_MB = workerStackMb(DEFAULT_ENGINE_CONFIG.maxStackBytes);

export async function runCommand(argv: string[]): Promise<number> {
  const args = parseRunArgs(argv);
  if (args === HELP) {
    process.stdout.write(RUN_USAGE);
    return EXIT.ok;
  }
  return runJob(makeJob(args), args.profile);
}

export function makeJob(a: RunArgs): RunJob {
  const link: LinkOptions = { mode: a.mode };
  if (a.stacks !== undefined) link.stacks = a.stacks;
  if (a.namespace !== undefined) link.namespace = a.namespace;
  if (a.ffi !== null) link.ffi = readText(a.ffi, '--ffi');
  const iroha = a.iroha ? irohaJob(a.iroha) : null;
  const input = a.input.kind === 'hex' ? a.input.bytes : a.input.kind === 'file' ? readBytes(a.input.path, '--input-file') : new Uint8Array(0);
  return {
    contract: readBytes(a.contract, 'CONTRACT'),
    library: a.lib === null ? null : readBytes(a.lib, '--lib'),
    link: a.iroha ? undefined : link,
    entrypoint: a.entry ?? iroha?.entrypoint,
    args: a.args,
    input,
    limits: a.limits,
    ...(iroha ? { iroha: iroha.input } : {}),
    ...(a.profile ? { fuelProfile: { format: a.profile.format } } : {}),
  };
}

/**
 * --iroha-*: the context (hex, or built from JSON with its entrypoint and maybe its query answers), the
 * answers file (a JSON array of hex strings), the callback.
 */
function irohaJob(a: IrohaArgs): { input: IrohaInput; entrypoint?: string } {
  const built = a.context.kind === 'file' ? readContext(a.context.path, '--iroha-context') : null;
  const out: IrohaInput = { context: a.context.kind === 'hex' ? a.context.bytes : built!.context };
  if (built?.queryResponses) {
    if (a.responses !== null) throw badRequest('the query answers are given twice: by --iroha-responses and by the `queryResponses` of --iroha-context; keep one');
    out.queryResponses = built.queryResponses;
  }
  if (a.responses !== null) {
    let list: unknown;
    try {
      list = JSON.parse(readText(a.responses, '--iroha-responses'));
    } catch (e) {
      if (e instanceof RequestError) throw e;
      throw badRequest(`--iroha-responses: not JSON: ${(e as Error).message}`);
    }
    if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) {
      throw badRequest('--iroha-responses must be a JSON array of hex strings (SCALE Result<QueryResponse, ValidationFail> each)');
    }
    out.queryResponses = list.map((x, i) => parseHex(x as string, `--iroha-responses[${i}]`));
  }
  if (a.callback !== null) out.callback = a.callback;
  return { input: out, ...(built ? { entrypoint: built.entrypoint } : {}) };
}

function workerUrl(): URL {
  // Under a TypeScript loader (tsx) this module is run.ts and its worker run-worker.ts.
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./run-worker${ext}`, import.meta.url);
}

/** What one job gave: the body POST /execute would answer (or its request error), and the exit code. */
export type JobAnswer =
  | { result: ExecutionResult; code: number }
  | { requestError: { kind: string; message: string }; code: number }
  | { internal: string; code: number };

/** Runs the job in a worker; prints the body (and writes its fuel profile to `profile`); resolves to the exit code. */
export async function runJob(job: RunJob, profile: ProfileTarget | null = null): Promise<number> {
  const a = await answerJob(job);
  if ('result' in a) {
    if (profile && a.result.profile) {
      a.result.profile = writeProfile(profile, a.result.profile);
      process.stderr.write(`fuel profile (${profile.format}${profile.gzip ? ', gzipped' : ''}): ${a.result.profile.total} fuel → ${profile.path}\n`);
    }
    printJson(a.result);
    printBacktrace(a.result.error);
  }
  else if ('requestError' in a) printRequestError(a.requestError);
  else printInternal(a.internal);
  return a.code;
}

/** The options of a job's thread: the stack derived from the budget, stdout swallowed (it carries only the body). */
export const JOB_THREAD_OPTIONS = {
  resourceLimits: { stackSizeMb: WORKER_STACK_MB },
  stdout: true,
  stderr: false,
} as const;

/** Runs the job in a worker thread of its own, under its wall-clock limit; resolves to its answer. */
export function answerJob(job: RunJob): Promise<JobAnswer> {
  const worker = new Worker(workerUrl(), { ...JOB_THREAD_OPTIONS, workerData: job });
  return superviseJob(worker, job, () => worker.terminate());
}

/**
 * Answers a job from the messages of the thread running it (run-worker.ts), under the job's wall-clock
 * limit: a timeout, a failure or an exit without a result each give their answer. `release(failed)` is
 * awaited before the answer: `failed` when the thread timed out or broke (it must be terminated), not
 * when it answered (a thread kept for the next job may go on: the tests' run host keeps one).
 */
export function superviseJob(worker: Worker, job: RunJob, release: (failed: boolean) => Promise<unknown>): Promise<JobAnswer> {
  return new Promise((resolve) => {
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (a: JobAnswer, failed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
      if (failed) worker.on('error', () => undefined); // whatever a thread being stopped still reports
      void release(failed).then(() => resolve(a), () => resolve(a));
    };
    const onMessage = (m: WorkerMessage) => {
      switch (m.type) {
        case 'prepared': {
          const started = performance.now();
          timer = setTimeout(() => {
            const input = {
              contract: { info: m.contract } as PreparedModule,
              library: m.library ? ({ info: m.library } as PreparedModule) : null,
              limits: job.limits,
              ...(job.iroha ? { iroha: job.iroha } : {}),
            } as ExecuteInput;
            finish({ result: timeoutResult(input, { prepareMs: m.prepareMs, executeMs: performance.now() - started }), code: EXIT.outcome }, true);
          }, job.limits.timeoutMs);
          break;
        }
        case 'result':
          finish({ result: m.result satisfies ExecutionResult, code: m.result.ok ? EXIT.ok : EXIT.outcome }, false);
          break;
        case 'request_error':
          finish({ requestError: { kind: m.kind, message: m.message }, code: EXIT.request }, false);
          break;
        case 'internal':
          finish({ internal: m.message, code: EXIT.internal }, true);
          break;
      }
    };
    const onError = (e: Error) => finish({ internal: `worker failed: ${e.message}`, code: EXIT.internal }, true);
    const onExit = (code: number) => finish({ internal: `worker exited (code ${code}) without a result`, code: EXIT.internal }, true);
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}
