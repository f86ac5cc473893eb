/**
 * The worker pool: Piscina with a bounded queue. A task that outlives its timeout is aborted, which
 * terminates its worker (Piscina starts a fresh one); the caller answers with the `timeout` outcome.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { Piscina } from 'piscina';
import type { EngineConfig, ExecuteInput } from '../engine/execute.js';
import { preparedKey } from '../engine/prepare.js';
import { ModuleHolders } from './module-holders.js';
import { type BatchTask, type ExecuteTask, type TaskResult, type WireInput, type WorkerAnswer, type WorkerData, now } from './task.js';

export class QueueFullError extends Error {}
export class TimeoutError extends Error {}
/** The worker running the task stopped (terminated from outside, out of memory, crashed): the task did not finish. */
export class WorkerLostError extends Error {}

/** Piscina's errors for a task whose thread went away (its own termination, an exit, a thread out of memory). */
function isWorkerLoss(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const code = (e as { code?: unknown }).code;
  return code === 'ERR_WORKER_OUT_OF_MEMORY' || e.message === 'Terminating worker thread' || /^worker exited with code/.test(e.message);
}

export interface PoolOptions {
  workers: number;
  maxQueue: number;
  engine: EngineConfig;
  /** Stack of each worker thread, MB: large enough that the call-depth limit fires before V8's. */
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
  /** Workers lost under a task, and pool errors outside any task, since start. */
  lostWorkers = 0;
  poolErrors = 0;
  readonly size: number;
  private readonly maxQueue: number;

  constructor(opts: PoolOptions) {
    this.size = opts.workers;
    this.maxQueue = opts.maxQueue;
    const data: WorkerData = { engine: opts.engine, moduleCacheBytes: opts.moduleCacheBytes ?? 512 * 1024 * 1024 };
    this.piscina = new Piscina({
      filename: workerFile(),
      minThreads: opts.workers,
      maxThreads: opts.workers,
      maxQueue: Number.MAX_SAFE_INTEGER, // bounded by `execute` itself
      idleTimeout: Infinity,
      concurrentTasksPerWorker: 1,
      workerData: data,
      resourceLimits: { stackSizeMb: opts.stackSizeMb ?? 8 },
    });
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
   * Runs one execution; rejects with QueueFullError or TimeoutError. The bound is counted here, not
   * left to Piscina: tasks given an AbortSignal bypass Piscina's `maxQueue`.
   */
  async execute(input: ExecuteInput, prepareMs: number): Promise<TaskResult> {
    const task = (whole: boolean): ExecuteTask => ({ input: this.wire(input, this.holdersOf(whole)), submittedAt: now(), prepareMs });
    return (await this.dispatch(task, [input], (start) => () => start + input.limits.timeoutMs)) as TaskResult;
  }

  /**
   * Runs several executions back to back in one worker hand-over, in order; one task for the queue
   * bound. Each call keeps its own wall-clock limit: the first from the submission, as a single
   * request's, each later one from its start, which the worker publishes in `progress`. Past a
   * call's limit the worker is stopped (TimeoutError) and the caller runs the calls one by one, each
   * under its own limit, so every answer is what POST /execute would give.
   */
  async executeBatch(inputs: ExecuteInput[], prepareMs: number[]): Promise<TaskResult[]> {
    const progress = new BigInt64Array(new SharedArrayBuffer(16));
    const task = (whole: boolean): BatchTask => {
      const submittedAt = now();
      const threads = this.holdersOf(whole);
      return { batch: inputs.map((input, i) => ({ input: this.wire(input, threads), submittedAt, prepareMs: prepareMs[i] ?? 0 })), progress };
    };
    const deadline = (start: number) => () => {
      const running = Number(Atomics.load(progress, 0)); // 1 + the index of the call running, 0 before the first
      if (running <= 1) return start + inputs[0]!.limits.timeoutMs;
      return Number(Atomics.load(progress, 1)) / 1000 + inputs[running - 1]!.limits.timeoutMs;
    };
    // the watchdog looks often enough to see a short call start and pass its limit between two longer ones
    const pollMs = Math.max(5, Math.min(...inputs.map((x) => x.limits.timeoutMs)) / 10);
    return (await this.dispatch(task, inputs, deadline, pollMs)) as TaskResult[];
  }

  /**
   * One task through Piscina under a wall-clock limit; sent again whole if its worker lacked a module.
   * `deadline(start)` gives the function the watchdog asks, when its timer fires, for the moment
   * (in `now()` time) past which the task is stopped; it re-arms itself until then, at most `pollMs` apart.
   */
  private async dispatch(
    make: (whole: boolean) => ExecuteTask | BatchTask,
    inputs: ExecuteInput[],
    deadline: (start: number) => () => number,
    pollMs = Infinity,
  ): Promise<TaskResult | TaskResult[]> {
    if (this.full) throw new QueueFullError('queue full');
    this.active++;
    // a worker stopped for a timeout is being replaced: its start-up must not count against this task's time
    if (this.replacing) await this.replacing;
    const controller = new AbortController();
    const due = deadline(now());
    let timer: NodeJS.Timeout;
    const next = (left: number) => setTimeout(watch, Math.max(1, Math.ceil(Math.min(left, pollMs))));
    const watch = () => {
      const left = due() - now();
      if (left <= 0) controller.abort();
      else timer = next(left);
    };
    timer = next(due() - now());
    try {
      let answer = await this.piscina.run(make(false), { signal: controller.signal });
      if (answer.missing) {
        this.holders.forget(keysOf(inputs), answer.thread);
        answer = await this.piscina.run(make(true), { signal: controller.signal });
      }
      if (answer.missing) throw new Error('a worker refused modules sent whole'); // cannot happen: a whole task carries them
      this.holders.held(keysOf(inputs), answer.thread);
      return answer.answer;
    } catch (e) {
      if (controller.signal.aborted) {
        this.awaitReplacement();
        throw new TimeoutError('timeout');
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
      this.active--;
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
  private holdersOf(whole: boolean): number[] {
    return whole ? [] : this.piscina.threads.map((t) => t.threadId);
  }

  /** The execution as it crosses: each module by key once every one of `threads` holds it. */
  private wire(input: ExecuteInput, threads: number[]): WireInput {
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
