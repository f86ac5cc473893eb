/**
 * The worker pool: Piscina with a bounded queue. A task that outlives its timeout is given up: taken
 * out of the queue if it had not started, else its worker is terminated (Piscina starts a fresh one);
 * the caller answers with the `timeout` outcome. Batches: batch.ts.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import type { Transferable } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { EngineConfig, ExecuteInput } from '../engine/execute.js';
import { preparedKey } from '../engine/prepare.js';
import { stackTooSmall, workerStackMb } from '../engine/defaults.js';
import { ModuleHolders } from './module-holders.js';
import { maxAnswerBytes } from '../engine/answer-bound.js';
import { type BatchOutcome, runBatch } from './batch.js';
import { QueueFullError, TimeoutError, WorkerLostError, isWorkerLoss } from './errors.js';
import { type BatchEnd, type BatchTask, type ExecuteTask, type Progress, type RunResult, type TaskResult, type WireInput, type WorkerAnswer, type WorkerData, newProgress, now } from './task.js';

/** One hand-over of a task, and what it transfers (a batch's MessagePort). */
export interface Attempt {
  task: ExecuteTask | BatchTask;
  transferList?: Transferable[];
}

export { QueueFullError, TimeoutError, WorkerLostError } from './errors.js';

export interface PoolOptions {
  workers: number;
  maxQueue: number;
  engine: EngineConfig;
  /**
   * Stack of each worker thread, MB (default: derived from `engine.maxStackBytes`, engine/defaults.ts),
   * so that the stack budget always runs out before V8's own limit; a smaller one is refused.
   */
  stackSizeMb?: number;
  /** Estimated bytes of compiled modules each worker keeps (default 512 MiB). */
  moduleCacheBytes?: number;
  /**
   * Errors of the pool that belong to no task (a worker failing while idle, a late answer for a task
   * already given up): Piscina emits them as 'error' events, which would end the process unheard.
   */
  onError?: (err: Error) => void;
}

/** The compiled worker: next to this file in dist/, or dist/pool/worker.js when running from src/ (tests). */
function workerFile(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const sibling = resolve(here, 'worker.js');
  if (existsSync(sibling)) return sibling;
  const built = resolve(here, '../../dist/pool/worker.js');
  if (existsSync(built)) return built;
  throw new Error(`worker script not found (looked for ${sibling} and ${built}): run \`npm run build\``);
}

export class ExecutionPool {
  private readonly piscina: Piscina<unknown, WorkerAnswer>;
  private readonly holders = new ModuleHolders();
  private warm = false;
  /** Set while the workers are pinged after one was stopped, until its replacement answers. */
  private replacing: Promise<void> | null = null;
  private active = 0;
  /** Workers Piscina has stopped since start ('workerDestroy'): tells a running task's abort from a queued one's. */
  private destroyedWorkers = 0;
  /** The largest answer one execution can give (a batch reserves it before each call). */
  readonly perCall: number;
  /** Workers lost under a task, and pool errors outside any task, since start. */
  lostWorkers = 0;
  poolErrors = 0;
  readonly size: number;
  private readonly maxQueue: number;

  constructor(opts: PoolOptions) {
    this.size = opts.workers;
    this.maxQueue = opts.maxQueue;
    const stackSizeMb = opts.stackSizeMb ?? workerStackMb(opts.engine.maxStackBytes);
    const tooSmall = stackTooSmall(stackSizeMb, opts.engine.maxStackBytes);
    if (tooSmall) throw new Error(tooSmall);
    const data: WorkerData = { engine: opts.engine, moduleCacheBytes: opts.moduleCacheBytes ?? 512 * 1024 * 1024 };
    this.piscina = new Piscina({
      filename: workerFile(),
      minThreads: opts.workers,
      maxThreads: opts.workers,
      maxQueue: Number.MAX_SAFE_INTEGER, // bounded by `execute` itself
      idleTimeout: Infinity,
      concurrentTasksPerWorker: 1,
      workerData: data,
      resourceLimits: { stackSizeMb },
      // none of the parent's flags: a loader it was started with (--import, e.g. a test runner's or an
      // agent's) would be loaded again in every worker, which runs only worker.js (about 1 s of CPU
      // per worker under the test runner's hooks)
      execArgv: [],
    });
    this.perCall = maxAnswerBytes(opts.engine.output);
    this.piscina.on('workerDestroy', () => this.destroyedWorkers++);
    this.piscina.on('error', (err: Error) => {
      this.poolErrors++;
      opts.onError?.(err);
    });
  }

  /** Starts every thread and waits until each answered once. */
  async warmUp(): Promise<void> {
    await Promise.all(Array.from({ length: this.size }, () => this.piscina.run({ ping: true })));
    this.warm = true;
  }

  get ready(): boolean {
    return this.warm;
  }

  /** Executions waiting for a worker (Piscina's own count misses tasks that carry an AbortSignal). */
  get queueSize(): number {
    return Math.max(0, this.active - this.size);
  }

  /** Share of the workers busy right now (Piscina 5.3's own `utilization` is off by a factor of 1000). */
  get utilization(): number {
    return Math.min(this.active, this.size) / this.size;
  }

  get threads(): number {
    return this.piscina.threads.length;
  }

  /** Whether a new execution would be refused now. */
  get full(): boolean {
    return this.active >= this.size + this.maxQueue;
  }

  /**
   * Runs one execution; rejects with QueueFullError, TimeoutError or WorkerLostError. The bound is
   * counted here, not left to Piscina: tasks given an AbortSignal bypass Piscina's `maxQueue`.
   */
  async execute(input: ExecuteInput, prepareMs: number): Promise<RunResult> {
    return this.admit(async () => {
      const submittedAt = now();
      const progress = newProgress();
      const make = (whole: boolean): Attempt => ({ task: { input: this.wire(input, this.holdersOf(whole)), submittedAt, prepareMs, progress } });
      return (await this.runTask(make, [input], progress, submittedAt, (start) => () => start + input.limits.timeoutMs)) as RunResult;
    });
  }

  /**
   * Runs several executions back to back in one worker hand-over, in order; one task for the queue
   * bound, and never a call twice (batch.ts): docs/API.md says what each call answers.
   */
  async executeBatch(inputs: ExecuteInput[], prepareMs: number[], budget: { bytes: number; used: number }): Promise<BatchOutcome[]> {
    return this.admit(() => runBatch(this, inputs, prepareMs, { ...budget, perCall: this.perCall }));
  }

  /** Counts the task against the queue bound while it lasts. */
  private async admit<T>(f: () => Promise<T>): Promise<T> {
    if (this.full) throw new QueueFullError('queue full');
    this.active++;
    try {
      return await f();
    } finally {
      this.active--;
    }
  }

  /**
   * One task through Piscina under a wall-clock limit; sent again whole if its worker lacked a module.
   * `deadline(start)` gives the function the watchdog asks, when its timer fires, for the moment
   * (in `now()` time) past which the task is given up; it re-arms itself until then, at most `pollMs`
   * apart. A task given up while queued is only taken out of the queue; one given up while running
   * stops its worker, and later tasks wait for the replacement (awaitReplacement).
   */
  async runTask(make: (whole: boolean) => Attempt, inputs: ExecuteInput[], progress: Progress, submittedAt: number, deadline: (start: number) => () => number, pollMs = Infinity): Promise<TaskResult | BatchEnd> {
    // a worker stopped for a timeout is being replaced: its start-up must not count against this
    // task's time limit (its queueMs, counted from `submittedAt`, shows the wait)
    while (this.replacing) await this.replacing;
    const controller = new AbortController();
    const due = deadline(now());
    let givenUpAt = 0;
    let stoppedWorker = false;
    let timer: NodeJS.Timeout;
    const next = (left: number) => setTimeout(watch, Math.max(1, Math.ceil(Math.min(left, pollMs))));
    const watch = () => {
      const left = due() - now();
      if (left > 0) return void (timer = next(left));
      givenUpAt = now();
      const destroyed = this.destroyedWorkers;
      controller.abort();
      // Piscina stops the worker at once (synchronously) when the task was running on it
      stoppedWorker = this.destroyedWorkers !== destroyed;
    };
    timer = next(due() - now());
    try {
      let attempt = make(false);
      let answer = await this.piscina.run(attempt.task, { signal: controller.signal, transferList: attempt.transferList });
      if (answer.missing) {
        this.holders.forget(keysOf(inputs), answer.thread);
        attempt = make(true);
        answer = await this.piscina.run(attempt.task, { signal: controller.signal, transferList: attempt.transferList });
      }
      if (answer.missing) throw new Error('a worker refused modules sent whole'); // cannot happen: a whole task carries them
      this.holders.held(keysOf(inputs), answer.thread);
      return answer.answer;
    } catch (e) {
      if (givenUpAt) {
        if (stoppedWorker) this.awaitReplacement();
        const running = Number(Atomics.load(progress, 0));
        const startedAt = running > 0 ? Number(Atomics.load(progress, 1)) / 1000 : givenUpAt;
        throw new TimeoutError(running, round(startedAt - submittedAt), round(givenUpAt - startedAt));
      }
      controller.abort(); // never leave a refused task queued to run for nobody
      if (isWorkerLoss(e)) {
        this.lostWorkers++;
        this.awaitReplacement();
        throw new WorkerLostError(`the worker running this execution stopped (${(e as Error).message}); the pool has replaced it`);
      }
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Later tasks wait until the stopped worker's replacement is up (its start-up is not their time):
   * Piscina announces it with 'workerCreate' once it has loaded. Not a ping, which would queue behind
   * the busy workers; bounded, in case no replacement comes (the pool closing).
   */
  private awaitReplacement(): void {
    this.replacing ??= new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(bound);
        this.piscina.off('workerCreate', done);
        resolve();
      };
      const bound = setTimeout(done, 10_000);
      bound.unref();
      this.piscina.on('workerCreate', done);
    }).finally(() => (this.replacing = null));
  }

  /** Stops one worker thread as a crash would (fault tests, and operators' drills); Piscina replaces it. */
  async killWorker(index = 0): Promise<void> {
    await this.piscina.threads[index]?.terminate();
  }

  /** The live workers a module must be held by to travel by key (none when the task goes whole). */
  holdersOf(whole: boolean): number[] {
    return whole ? [] : this.piscina.threads.map((t) => t.threadId);
  }

  /** The execution as it crosses: each module by key once every one of `threads` holds it. */
  wire(input: ExecuteInput, threads: number[]): WireInput {
    const { contract, library, inspectMemory: _, ...rest } = input;
    return { ...rest, contract: this.holders.ref(contract, threads), library: library ? this.holders.ref(library, threads) : null };
  }

  async close(): Promise<void> {
    await this.piscina.close();
  }

  async destroy(): Promise<void> {
    await this.piscina.destroy();
  }
}

const keysOf = (inputs: ExecuteInput[]) => inputs.flatMap((i) => (i.library ? [preparedKey(i.contract), preparedKey(i.library)] : [preparedKey(i.contract)]));

const round = (ms: number) => Math.max(0, Math.round(ms * 1000) / 1000);
