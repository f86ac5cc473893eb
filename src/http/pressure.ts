/**
 * Refuses work (503 `overloaded`, Retry-After) while the process is under pressure: the event loop
 * delayed or saturated, or the heap or resident memory above their thresholds (config `overload`,
 * docs/OPERATIONS.md). Registered in the context of the work routes only, so `/health`, `/ready` and
 * `/metrics` answer whatever the load: an orchestrator must see a busy process as alive.
 */
import underPressure from '@fastify/under-pressure';
import { getHeapStatistics } from 'node:v8';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import { HttpError } from './errors.js';

const WHAT: Record<string, (v: number | undefined, c: Config['overload']) => string> = {
  eventLoopDelay: (v, c) => `the event loop is ${Math.round(v ?? 0)} ms behind (limit ${c.maxEventLoopDelayMs} ms)`,
  heapUsedBytes: (v, c) => `the heap holds ${v} bytes (limit ${c.maxHeapUsedBytes})`,
  rssBytes: (v, c) => `the process holds ${v} bytes (limit ${c.maxRssBytes})`,
  eventLoopUtilization: (v, c) => `the event loop is ${Math.round((v ?? 0) * 100)}% busy (limit ${Math.round(c.maxEventLoopUtilization * 100)}%)`,
};

/** Marks process.memoryUsage once made resilient. */
const RESILIENT = Symbol('resilient memoryUsage');

/**
 * process.memoryUsage() reads /proc/self/stat, which takes a file descriptor: with none left (EMFILE)
 * it throws, and under-pressure calls it from a timer, where a throw would end the process. It
 * answers the last good reading instead (the heap figures, which need no descriptor, kept fresh).
 */
function resilientMemoryUsage(): void {
  const original = process.memoryUsage;
  if ((original as unknown as Record<symbol, boolean>)[RESILIENT]) return;
  let last: NodeJS.MemoryUsage | undefined;
  const usage = () => {
    try {
      last = original();
    } catch {
      const h = getHeapStatistics();
      last = { rss: last?.rss ?? 0, heapTotal: h.total_heap_size, heapUsed: h.used_heap_size, external: h.external_memory, arrayBuffers: last?.arrayBuffers ?? 0 };
    }
    return last;
  };
  const rss = () => {
    try {
      return original.rss();
    } catch {
      return last?.rss ?? 0;
    }
  };
  process.memoryUsage = Object.assign(usage, { rss, [RESILIENT]: true });
}

export async function registerPressure(app: FastifyInstance, c: Config['overload']): Promise<void> {
  if (!c.maxEventLoopDelayMs && !c.maxEventLoopUtilization && !c.maxHeapUsedBytes && !c.maxRssBytes) return;
  resilientMemoryUsage();
  await app.register(underPressure, {
    ...(c.maxEventLoopDelayMs ? { maxEventLoopDelay: c.maxEventLoopDelayMs } : {}),
    ...(c.maxEventLoopUtilization ? { maxEventLoopUtilization: c.maxEventLoopUtilization } : {}),
    ...(c.maxHeapUsedBytes ? { maxHeapUsedBytes: c.maxHeapUsedBytes } : {}),
    ...(c.maxRssBytes ? { maxRssBytes: c.maxRssBytes } : {}),
    sampleInterval: 250,
    pressureHandler: async (_req, _reply, type, value) => {
      // no delay sample in the last interval (the loop was busy throughout, e.g. starting up): the
      // monitor reports Infinity; the request being handled shows the loop turns again, so let it in
      if (type === 'eventLoopDelay' && !Number.isFinite(value)) return;
      const why = WHAT[type]?.(value as number | undefined, c) ?? `the process is under pressure (${type})`;
      throw new HttpError(503, 'overloaded', `${why}: retry later`, 1);
    },
  });
}
