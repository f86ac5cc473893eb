/**
 * The worst case a configuration may need in memory, checked against what the process may use, so
 * that a container too small for its settings refuses to start with the sum to lower instead of being
 * killed for memory under load (docs/OPERATIONS.md, Memory).
 */
import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { type Config, ConfigError, workerCount } from './config.js';
import { THREAD_MEMORY_POOL_BYTES } from './engine/memory-pool.js';

const MiB = 1024 * 1024;
/** The main thread's own needs (V8, Fastify, the compiled service), measured at ~110 MB idle. */
const PROCESS_BASE = 160 * MiB;
/** One worker thread's V8 isolate and stack. */
const WORKER_BASE = 40 * MiB;

export interface MemoryNeed {
  totalBytes: number;
  parts: Array<{ what: string; bytes: number }>;
}

export function memoryNeed(c: Config): MemoryNeed {
  const workers = workerCount(c);
  const parts = [
    { what: 'the process itself', bytes: PROCESS_BASE },
    { what: `${workers} worker threads`, bytes: workers * WORKER_BASE },
    { what: `one execution per worker at limits.max.memoryBytes`, bytes: workers * c.limits.max.memoryBytes },
    { what: 'memories kept for reuse by the workers', bytes: workers * THREAD_MEMORY_POOL_BYTES },
    { what: 'store.memoryBudgetBytes (module bytes)', bytes: c.store.memoryBudgetBytes },
    { what: 'store.preparedBudgetBytes (compiled modules)', bytes: c.store.preparedBudgetBytes },
    { what: `request bodies: (workers + maxQueue) × bodyLimitBytes`, bytes: (workers + c.maxQueue) * c.bodyLimitBytes },
  ];
  return { totalBytes: parts.reduce((a, p) => a + p.bytes, 0), parts };
}

/** What the process may use: the cgroup's limit (a container's), else the machine's memory. */
export function memoryAvailable(read: (path: string) => string | null = readOrNull): { bytes: number; source: string } {
  const ram = totalmem();
  for (const [path, source] of [
    ['/sys/fs/cgroup/memory.max', 'the cgroup limit (memory.max)'],
    ['/sys/fs/cgroup/memory/memory.limit_in_bytes', 'the cgroup limit (memory.limit_in_bytes)'],
  ] as const) {
    const text = read(path)?.trim();
    if (text && /^\d+$/.test(text) && Number(text) < ram) return { bytes: Number(text), source };
  }
  return { bytes: ram, source: 'the machine\'s memory' };
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

const mib = (b: number) => `${Math.round(b / MiB).toLocaleString('en-US')} MiB`;

/** Throws a ConfigError naming the parts to lower when the worst case does not fit. */
export function checkMemoryBudget(c: Config, available = memoryAvailable()): MemoryNeed {
  const need = memoryNeed(c);
  if (c.overload.checkMemoryBudget && need.totalBytes > available.bytes) {
    const parts = need.parts.map((p) => `${p.what} ${mib(p.bytes)}`).join(', ');
    throw new ConfigError(
      `this configuration may need ${mib(need.totalBytes)} of memory (${parts}) but ${available.source} is ${mib(available.bytes)}: ` +
        'lower WORKERS, MEMORY_BYTES_MAX, maxQueue, bodyLimitBytes or the store budgets, or set overload.checkMemoryBudget to false (CHECK_MEMORY_BUDGET=false)',
    );
  }
  return need;
}
