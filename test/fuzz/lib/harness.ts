/**
 * The fuzz loop: seeds → worker threads (generate + run a case, worker.ts), each case under a
 * wall-clock timeout (an original that never ends is stopped by terminating its worker), a sample
 * of the cases replayed on wasmtime (oracle.ts), counts and findings summed up.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import path from 'node:path';
import type { CaseOptions, CaseReport, Finding, OracleJob } from './case.js';
import { generate, oracleSeed } from './generate.js';
import { type OracleCounts, compareOracle, runWasmtime } from './oracle.js';
import type { WorkerTask } from './worker.js';

export interface FuzzConfig {
  /** Seeds to run, in order; `next()` answering undefined ends the run. */
  seeds: () => number | undefined;
  workers: number;
  /** Wall clock of one case (generation included). */
  timeoutMs: number;
  options: Partial<CaseOptions>;
  maxInput?: number;
  /** Stop starting cases after this time (performance.now()). */
  deadline?: number;
  /** wasmtime: the python that imports it; the seeds replayed there are generate.ts `oracleSeed`. */
  oracle?: { python: string; batch?: number };
  /** Where to save the module (and findings) of each seed with a finding. */
  saveDir?: string;
  onReport?: (r: CaseReport) => void;
}

export interface FuzzSummary {
  modules: number;
  applicable: number;
  notApplicable: Record<string, number>;
  steps: number;
  compared: number;
  traps: number;
  looping: number;
  exhausted: number;
  limitRuns: number;
  timeouts: number;
  findings: Finding[];
  /** Seeds with a finding, and where their module was saved. */
  saved: Array<{ seed: number; file: string }>;
  oracle: (OracleCounts & { version: string; skipped?: string }) | null;
  ms: number;
}

const workerUrl = () => new URL(`./worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

type Answer = { ok: true; report: CaseReport; bytes?: Uint8Array } | { ok: false; error: string };

/** A refusal's reason without its numbers, so like reasons count together. */
export const reasonKey = (r: string) => r.replace(/\b\d+\b/g, 'N').replace(/@\+N/g, '').slice(0, 160);

/** Under tsx the worker is TypeScript too: it registers tsx's loader before importing it. */
function startWorker(): Worker {
  const url = workerUrl();
  if (!url.pathname.endsWith('.ts')) return new Worker(url);
  const src = `import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(src, { eval: true });
}

export async function fuzz(cfg: FuzzConfig): Promise<FuzzSummary> {
  const started = performance.now();
  const s: FuzzSummary = {
    modules: 0,
    applicable: 0,
    notApplicable: {},
    steps: 0,
    compared: 0,
    traps: 0,
    looping: 0,
    exhausted: 0,
    limitRuns: 0,
    timeouts: 0,
    findings: [],
    saved: [],
    oracle: cfg.oracle ? { modules: 0, fuelEqual: 0, trapCalls: 0, version: '' } : null,
    ms: 0,
  };
  const pendingJobs: OracleJob[] = [];
  const oracleRuns: Promise<void>[] = [];
  const flushOracle = () => {
    if (!cfg.oracle || !pendingJobs.length) return;
    const jobs = pendingJobs.splice(0);
    oracleRuns.push(
      runWasmtime(cfg.oracle.python, jobs).then(
        (r) => {
          s.oracle!.version = r.version;
          r.results.forEach((res, i) => {
            const found = compareOracle(jobs[i]!, res, s.oracle!);
            if (found.length) record(found);
          });
        },
        (e: Error) => record([{ seed: jobs[0]!.seed, check: 'wasmtime', detail: `oracle failed on seeds ${jobs.map((j) => j.seed).join(', ')}: ${e.message}` }]),
      ),
    );
  };
  const saving: Promise<void>[] = [];
  const record = (found: Finding[], bytes?: Uint8Array) => {
    s.findings.push(...found);
    if (!cfg.saveDir) return;
    const dir = cfg.saveDir;
    for (const seed of new Set(found.map((f) => f.seed))) {
      const file = path.join(dir, `${seed}.wasm`);
      const notes = () => writeFileSync(path.join(dir, `${seed}.json`), JSON.stringify(s.findings.filter((f) => f.seed === seed), null, 2));
      if (s.saved.some((x) => x.seed === seed)) {
        notes();
        continue;
      }
      s.saved.push({ seed, file });
      mkdirSync(dir, { recursive: true });
      saving.push(
        (bytes ? Promise.resolve(bytes) : generate(seed, { maxInput: cfg.maxInput }).then((g) => g.bytes)).then(
          (b) => {
            writeFileSync(file, b);
            notes();
          },
          () => notes(), // generation itself failed: the finding says so
        ),
      );
    }
  };
  const take = (r: CaseReport, bytes?: Uint8Array) => {
    s.modules++;
    if (r.notApplicable !== null) {
      const k = reasonKey(r.notApplicable);
      s.notApplicable[k] = (s.notApplicable[k] ?? 0) + 1;
    } else s.applicable++;
    s.steps += r.steps;
    s.compared += r.compared;
    s.traps += r.traps;
    s.looping += r.looping ? 1 : 0;
    s.exhausted += r.exhausted ? 1 : 0;
    s.limitRuns += r.limitRuns;
    if (r.findings.length) record(r.findings, bytes);
    if (r.oracle) {
      pendingJobs.push(r.oracle);
      if (pendingJobs.length >= (cfg.oracle?.batch ?? 25)) flushOracle();
    }
    cfg.onReport?.(r);
  };

  const lane = async (): Promise<void> => {
    let worker: Worker | null = null;
    try {
      for (;;) {
        if (cfg.deadline !== undefined && performance.now() > cfg.deadline) return;
        const seed = cfg.seeds();
        if (seed === undefined) return;
        worker ??= startWorker();
        const w: Worker = worker;
        const task: WorkerTask = {
          seed,
          ...(cfg.maxInput !== undefined && { maxInput: cfg.maxInput }),
          options: { ...cfg.options, oracle: !!cfg.oracle && oracleSeed(seed) },
        };
        const answer = await new Promise<Answer | 'timeout'>((resolve) => {
          const timer = setTimeout(() => resolve('timeout'), cfg.timeoutMs);
          const done = (m: Answer) => {
            clearTimeout(timer);
            w.off('error', fail);
            resolve(m);
          };
          const fail = (e: Error) => {
            clearTimeout(timer);
            w.off('message', done);
            resolve({ ok: false, error: `worker died: ${e.message}` });
          };
          w.once('message', done);
          w.once('error', fail);
          w.postMessage(task);
        });
        if (answer === 'timeout' || !answer.ok) {
          w.removeAllListeners();
          await w.terminate();
          worker = null;
          s.modules++;
          if (answer === 'timeout') s.timeouts++;
          record([
            {
              seed,
              check: answer === 'timeout' ? 'timeout' : 'harness',
              detail: answer === 'timeout' ? `the case ran longer than ${cfg.timeoutMs} ms` : answer.error,
            },
          ]);
          continue;
        }
        take(answer.report, answer.bytes);
      }
    } finally {
      await worker?.terminate();
    }
  };
  await Promise.all(Array.from({ length: cfg.workers }, lane));
  flushOracle();
  await Promise.all(oracleRuns);
  await Promise.all(saving);
  s.ms = performance.now() - started;
  return s;
}

export function formatSummary(s: FuzzSummary): string {
  const lines = [
    `modules ${s.modules}, applicable ${s.applicable}, steps ${s.steps} (calls compared with the original ${s.compared}, ` +
      `traps ${s.traps}), looping ${s.looping}, exhausted ${s.exhausted}, limit runs ${s.limitRuns}, timeouts ${s.timeouts}, ` +
      `findings ${s.findings.length} in ${Math.round(s.ms / 1000)} s`,
  ];
  const na = Object.entries(s.notApplicable).sort((a, b) => b[1] - a[1]);
  if (na.length) lines.push(`not applicable ${na.reduce((n, [, c]) => n + c, 0)}:`, ...na.map(([r, c]) => `  ${c} × ${r}`));
  if (s.oracle) {
    lines.push(
      s.oracle.skipped
        ? `wasmtime: skipped (${s.oracle.skipped})`
        : `wasmtime ${s.oracle.version}: ${s.oracle.modules} modules, ${s.oracle.fuelEqual} calls with equal fuel, ${s.oracle.trapCalls} traps on both (wasmtime ≤ ours)`,
    );
  }
  for (const f of s.findings) lines.push(`FINDING seed ${f.seed} [${f.check}]${f.step ? ` ${f.step}` : ''}: ${f.detail}`);
  for (const x of s.saved) lines.push(`  saved ${x.file}`);
  return lines.join('\n');
}
