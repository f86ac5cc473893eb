/** Prometheus metrics (prom-client), one registry per app so tests can build several apps. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ArtifactStats } from '../store/artifact-store.js';
import type { StoreStats } from '../store/module-store.js';
import type { SharedStoreStats } from '../store/tiered-store.js';
import type { ConnectionStats } from './server-guards.js';

export interface MetricSources {
  queueSize(): number;
  utilization(): number;
  threads(): number;
  store(): Pick<StoreStats, 'memoryHits' | 'diskHits' | 'misses' | 'checkMemoryHits' | 'checkDiskHits' | 'checkMisses' | 'memoryBytes' | 'corrupt' | 'diskErrors' | 'evictions'>;
  prepared(): { hits: number; misses: number; size: number };
  /** null when prepared modules are not persisted. */
  artifacts(): ArtifactStats | null;
  poolFaults(): { lostWorkers: number; poolErrors: number };
  /** null without a shared store. */
  sharedStore(): SharedStoreStats | null;
  /** 1 connected, 0 not; null without a shared store. */
  sharedStoreUp(): number | null;
  /** The HTTP server's connections (server-guards.ts). */
  connections(): ConnectionStats;
}

export function createMetrics(src: MetricSources) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const executions = new Counter({
    name: 'wasm_executions_total',
    help: 'Executions that ran to an outcome, by outcome kind (ok for success)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const rejected = new Counter({
    name: 'wasm_requests_rejected_total',
    help: 'Execute requests answered with an error status, by error kind',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  const fuel = new Histogram({
    name: 'wasm_fuel_consumed',
    help: 'Fuel consumed per execution that reached an outcome other than timeout (a timed-out run\'s use is unknown: counted in wasm_executions_total{outcome="timeout"} only)',
    buckets: [1e3, 1e4, 1e5, 1e6, 1e7, 5.5e7, 1e8, 1e9, 1e10],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'wasm_execution_duration_seconds',
    help: 'Total time of an execution request (queue, prepare, instantiate, execute)',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  new Gauge({ name: 'wasm_pool_queue_depth', help: 'Executions waiting for a worker', registers: [registry], collect() { this.set(src.queueSize()); } });
  new Gauge({ name: 'wasm_pool_utilization', help: 'Share of the worker threads busy with an execution at the time of the scrape (0..1)', registers: [registry], collect() { this.set(src.utilization()); } });
  new Gauge({ name: 'wasm_pool_threads', help: 'Worker threads running', registers: [registry], collect() { this.set(src.threads()); } });
  /**
   * A counter of counts since start, by one label, read from its source at each scrape (the sources
   * count; a counter only ever rises, so rate() and increase() work); `read` answering null leaves it empty.
   */
  const countsBy = (name: string, help: string, label: string, read: () => Record<string, number> | null) =>
    new Counter({
      name,
      help,
      labelNames: [label],
      registers: [registry],
      collect() {
        const counts = read();
        if (!counts) return;
        this.reset();
        for (const [value, n] of Object.entries(counts)) this.inc({ [label]: value }, n);
      },
    });
  new Counter({
    name: 'wasm_store_lookups_total',
    help: 'Module store lookups since start, by op (check: is it stored? asked by every execution by hash, the compiled cache answering or not; read: its bytes read) and result (memory_hit, disk_hit, miss)',
    labelNames: ['op', 'result'],
    registers: [registry],
    collect() {
      const s = src.store();
      this.reset();
      this.inc({ op: 'check', result: 'memory_hit' }, s.checkMemoryHits);
      this.inc({ op: 'check', result: 'disk_hit' }, s.checkDiskHits);
      this.inc({ op: 'check', result: 'miss' }, s.checkMisses);
      this.inc({ op: 'read', result: 'memory_hit' }, s.memoryHits);
      this.inc({ op: 'read', result: 'disk_hit' }, s.diskHits);
      this.inc({ op: 'read', result: 'miss' }, s.misses);
    },
  });
  countsBy(
    'wasm_store_faults_total',
    'Module store faults since start: files whose content did not match their hash (moved aside), disk reads and writes that failed (modules kept in memory)',
    'fault',
    () => {
      const s = src.store();
      return { corrupt: s.corrupt, disk_error: s.diskErrors };
    },
  );
  new Gauge({ name: 'wasm_store_memory_bytes', help: 'Bytes of modules held in memory', registers: [registry], collect() { this.set(src.store().memoryBytes); } });
  new Counter({
    name: 'wasm_store_memory_evictions_total',
    help: 'Modules evicted from the memory LRU since start (with store.dir still on disk; memory only: gone, 404 until uploaded again)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(src.store().evictions);
    },
  });
  new Gauge({ name: 'wasm_http_open_connections', help: 'HTTP connections open', registers: [registry], collect() { this.set(src.connections().open); } });
  countsBy(
    'wasm_http_connections_refused_total',
    'Connections closed at once since start: over_cap (http.maxConnections open), or not accepted by the kernel (EMFILE, ENFILE: out of file descriptors)',
    'reason',
    () => {
      const c = src.connections();
      return { over_cap: c.dropped, ...Object.fromEntries(Object.entries(c.acceptErrors).map(([code, n]) => [`accept_${code}`, n])) };
    },
  );
  countsBy('wasm_http_client_errors_total', 'Requests answered before routing since start, by error kind: bad_request (malformed HTTP), request_timeout (408), headers_too_large (431)', 'kind', () => src.connections().clientErrors);
  countsBy('wasm_prepared_cache_lookups_total', 'Compiled-module cache lookups since start, by result (an execution by hash first checks the store holds the module: wasm_store_lookups_total{op="check"})', 'result', () => {
    const p = src.prepared();
    return { hit: p.hits, miss: p.misses };
  });
  countsBy(
    'wasm_prepared_artifacts_total',
    'Prepared modules persisted in the store directory, since start: read (hit), not there (miss), written, corrupt (moved aside), write errors',
    'result',
    () => {
      const a = src.artifacts();
      return a && { hit: a.hits, miss: a.misses, written: a.written, corrupt: a.corrupt, write_error: a.writeErrors };
    },
  );
  countsBy('wasm_pool_faults_total', 'Since start: workers lost under an execution (answered 503 worker_lost), and pool errors outside any execution (logged)', 'fault', () => {
    const f = src.poolFaults();
    return { worker_lost: f.lostWorkers, pool_error: f.poolErrors };
  });
  countsBy(
    'wasm_shared_store_lookups_total',
    'Local misses looked up in the shared store since start: hit (verified), miss, corrupt (refused and removed), error (failed or timed out: answered 503)',
    'result',
    () => {
      const s = src.sharedStore();
      return s && { hit: s.hits, miss: s.misses, corrupt: s.corrupt, error: s.readErrors };
    },
  );
  countsBy(
    'wasm_shared_store_writes_total',
    'Uploads written through to the shared store since start: written (new there), known, repaired (replaced a corrupt value), error (answered 503)',
    'result',
    () => {
      const s = src.sharedStore();
      return s && { written: s.written, known: s.known, repaired: s.repaired, error: s.writeErrors };
    },
  );
  // a gauge without labels reads 0 until set: absent, not "down", without a shared store
  if (src.sharedStoreUp() !== null) {
    new Gauge({ name: 'wasm_shared_store_up', help: 'Whether the shared module store is connected (1) or not (0)', registers: [registry], collect() { this.set(src.sharedStoreUp() ?? 0); } });
  }
  const sharedStoreDuration = new Histogram({
    name: 'wasm_shared_store_duration_seconds',
    help: 'Time of one shared-store operation (read or write), by result (ok, error: failed or timed out)',
    labelNames: ['op', 'result'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  return { registry, executions, rejected, fuel, duration, sharedStoreDuration };
}

export type Metrics = ReturnType<typeof createMetrics>;
