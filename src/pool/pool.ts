/**
 * The worker pool: Piscina with a bounded queue. A task that outlives its timeout is aborted, which
 * terminates its worker (Piscina starts a fresh one); the caller answers with the `timeout` outcome.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { Piscina } from 'piscina';
import type { EngineConfig, ExecuteInput } from '../engine/execute.js';
import { type BatchTask, type ExecuteTask, type TaskResult, type WorkerData, now } from './task.js';

export class QueueFullError extends Error {}
export class TimeoutError extends Error {}

export interface PoolOptions {
  workers: number;
  maxQueue: number;
  engine: EngineConfig;
  /** Stack of each worker thread, MB: large enough that the call-depth limit fires before V8's. */
  stackSizeMb?: number;
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
  private readonly piscina: Piscina<unknown, TaskResult | TaskResult[]>;
  private warm = false;
  private active = 0;
  readonly size: number;
  private readonly maxQueue: number;

  constructor(opts: PoolOptions) {
    this.size = opts.workers;
    this.maxQueue = opts.maxQueue;
    const data: WorkerData = { engine: opts.engine };
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
    if (this.full) throw new QueueFullError('queue full');
    this.active++;
    const task: ExecuteTask = { input, submittedAt: now(), prepareMs };
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), input.limits.timeoutMs);
    try {
      return (await this.piscina.run(task, { signal: controller.signal })) as TaskResult;
    } catch (e) {
      if (controller.signal.aborted) throw new TimeoutError('timeout');
      controller.abort(); // never leave a refused task queued to run for nobody
      throw e;
    } finally {
      clearTimeout(timer);
      this.active--;
    }
  }

  /**
   * Runs several executions back to back in one worker hand-over, in order; one task for the queue
   * bound. The wall-clock limit is the sum of theirs: past it, the worker is stopped (TimeoutError) and
   * the caller runs the calls one by one, each under its own limit.
   */
  async executeBatch(inputs: ExecuteInput[], prepareMs: number[]): Promise<TaskResult[]> {
    if (this.full) throw new QueueFullError('queue full');
    this.active++;
    const submittedAt = now();
    const task: BatchTask = { batch: inputs.map((input, i) => ({ input, submittedAt, prepareMs: prepareMs[i] ?? 0 })) };
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), inputs.reduce((a, x) => a + x.limits.timeoutMs, 0));
    try {
      return (await this.piscina.run(task, { signal: controller.signal })) as TaskResult[];
    } catch (e) {
      if (controller.signal.aborted) throw new TimeoutError('timeout');
      controller.abort();
      throw e;
    } finally {
      clearTimeout(timer);
      this.active--;
    }
  }

  async close(): Promise<void> {
    await this.piscina.close();
  }

  async destroy(): Promise<void> {
    await this.piscina.destroy();
  }
}
