/** Small helpers shared by the benchmarks: timing, statistics, machine description, formatting. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

export const now = (): number => performance.now();

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function min(xs: readonly number[]): number {
  return xs.reduce((a, b) => Math.min(a, b), Infinity);
}

export function max(xs: readonly number[]): number {
  return xs.reduce((a, b) => Math.max(a, b), -Infinity);
}

/** Runs `fn` and returns its duration in milliseconds. */
export function time(fn: () => unknown): number {
  const t = now();
  fn();
  return now() - t;
}

export async function timeAsync(fn: () => Promise<unknown>): Promise<number> {
  const t = now();
  await fn();
  return now() - t;
}

/** Asks V8 for a full collection when the process was started with --expose-gc (keeps GC out of a timed run). */
export function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

export interface Machine {
  cpu: string;
  cores: number;
  node: string;
  v8: string;
  platform: string;
  memoryGiB: number;
  date: string;
  commit: string;
}

export function machine(): Machine {
  let cpu = os.cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpu = m[1]!.trim();
  } catch {
    // not Linux: keep os.cpus()
  }
  let date = new Date().toISOString();
  try {
    date = execFileSync('date', { encoding: 'utf8' }).trim();
  } catch {
    // keep the ISO date
  }
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['--no-optional-locks', 'status', '--porcelain', '--untracked-files=no'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    if (dirty) commit += ' (with uncommitted changes)';
  } catch {
    // not a git checkout
  }
  return {
    cpu,
    cores: os.cpus().length,
    node: process.version,
    v8: process.versions.v8,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    date,
    commit,
  };
}

/** A markdown table (also readable as plain text). */
export function table(head: readonly string[], rows: readonly (readonly string[])[], align?: readonly ('l' | 'r')[]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const cell = (s: string, i: number) => ((align?.[i] ?? 'l') === 'r' ? s.padStart(widths[i]!) : s.padEnd(widths[i]!));
  const line = (r: readonly string[]) => `| ${r.map(cell).join(' | ')} |`;
  const sep = `|${widths.map((w, i) => ((align?.[i] ?? 'l') === 'r' ? '-'.repeat(w + 1) + ':' : '-'.repeat(w + 2))).join('|')}|`;
  return [line(head), sep, ...rows.map(line)].join('\n');
}

export const fmt = {
  ms: (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)),
  ratio: (x: number) => `${x.toFixed(2)}×`,
  mbps: (x: number) => x.toFixed(1),
  bytes: (n: number) =>
    n >= 1_000_000 ? `${(n / 1_000_000).toFixed(2)} MB` : n >= 1000 ? `${(n / 1000).toFixed(1)} kB` : `${n} B`,
  int: (n: number | bigint) => n.toLocaleString('en-US'),
  verdict: (ok: boolean) => (ok ? 'met' : '**not met**'),
};

/** Writes progress to stderr, so stdout holds only the report. */
export function progress(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

/**
 * Interleaved rounds: every side once per round, in an order rotated each round, so drift (frequency,
 * GC, other processes) and the order hit them alike and their ratios hold on a noisy machine. `warmup` rounds first (V8 tiers up hot functions).
 * Answers each side's median ms and its last result.
 */
export function interleaved<R>(sides: Array<{ name: string; run: () => { r: R; ms: number } }>, rounds: number, warmup: number): Map<string, { ms: number; r: R }> {
  for (let i = 0; i < warmup; i++) for (const s of sides) s.run();
  const times = new Map<string, number[]>(sides.map((s) => [s.name, []]));
  const last = new Map<string, R>();
  for (let round = 0; round < rounds; round++) {
    // rotated each round: a side's place in the round (after which side, what that side left in the
    // caches and the heap) moves too; fixed, the first place measured up to 1.4× slower for the same code
    for (let k = 0; k < sides.length; k++) {
      const s = sides[(k + round) % sides.length]!;
      const { r, ms } = s.run();
      times.get(s.name)!.push(ms);
      last.set(s.name, r);
    }
  }
  return new Map(sides.map((s) => [s.name, { ms: median(times.get(s.name)!), r: last.get(s.name)! }]));
}
