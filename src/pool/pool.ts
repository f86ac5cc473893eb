/**
 * The worker pool: Piscina with a bounded queue. A task that outlives its timeout is aborted, which
 * terminates its worker (Piscina starts a fresh one); the caller answers with the `timeout` outcome.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { Piscina } from 'piscina';
import type { EngineConfig, ExecuteInput } from '../engine/execute.js';
import { type ExecuteTask, type TaskResult, type WorkerData, now } from './task.js';

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
  private readonly piscina: Piscina<unknown, TaskResult>;
  private warm = false;
  readonly size: number;

  constructor(opts: PoolOptions) {
    this.size = opts.workers;
    const data: WorkerData = { engine: opts.engine };
    this.piscina = new Piscina({
      filename: workerFile(),
      minThreads: opts.workers,
      maxThreads: opts.workers,
      maxQueue: opts.maxQueue,
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

  get queueSize(): number {
    return this.piscina.queueSize;
  }

  get utilization(): number {
    return this.piscina.utilization;
  }

  get threads(): number {
    return this.piscina.threads.length;
  }

  /** Runs one execution; rejects with QueueFullError or TimeoutError. */
  async execute(input: ExecuteInput, prepareMs: number): Promise<TaskResult> {
    const task: ExecuteTask = { input, submittedAt: now(), prepareMs };
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), input.limits.timeoutMs);
    try {
      return await this.piscina.run(task, { signal: controller.signal });
    } catch (e) {
      if (controller.signal.aborted) throw new TimeoutError('timeout');
      if (e instanceof Error && /queue is at limit/i.test(e.message)) throw new QueueFullError('queue full');
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await this.piscina.close();
  }

  async destroy(): Promise<void> {
    await this.piscina.destroy();
  }
}
