/** Helpers for the CLI tests: spawn the built CLI (dist/cli/main.js), temp files, WAT → wasm. */
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { wat } from '../support/wat.js';
import { plain, plainNode } from '../support/plain-node.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const MAIN = join(ROOT, 'dist/cli/main.js');
export const EX = (name: string) => join(ROOT, 'examples/wasm', name);

/** `npm test` builds dist/ first (pretest); a direct `npx tap test/cli/...` after a clean checkout builds here. */
export function ensureBuilt(): void {
  if (existsSync(MAIN)) return;
  const r = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`build failed: ${r.stdout}${r.stderr}`);
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  json: () => any;
}

/**
 * The child's environment without tap's (NODE_OPTIONS, NODE_V8_COVERAGE, its own variables); tap puts
 * its process-info hook back in NODE_OPTIONS of any spawn, which `plainNode` (../support/plain-node.ts)
 * takes out again under `npm test`.
 */
const CHILD_ENV = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !/^(NODE_OPTIONS|NODE_V8_COVERAGE|_TAPJS_|TAP)/.test(k)),
);

function spawnMain(main: string, args: string[]): CliResult {
  const t0 = performance.now();
  const r = spawnSync(...plainNode([main, ...args]), { cwd: ROOT, env: CHILD_ENV, encoding: 'utf8', timeout: 30_000 });
  const ms = performance.now() - t0;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, ms, json: () => JSON.parse(r.stdout) };
}

/** `node dist/cli/main.js ARGS` without blocking: independent process-level cases run side by side. */
export function cliAsync(...args: string[]): Promise<CliResult> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    execFile(...plainNode([MAIN, ...args]), { cwd: ROOT, env: CHILD_ENV, encoding: 'utf8', timeout: 30_000 }, (e, stdout, stderr) => {
      const code = e === null ? 0 : typeof e.code === 'number' ? e.code : null;
      resolve({ code, stdout, stderr, ms: performance.now() - t0, json: () => JSON.parse(stdout) });
    });
  });
}

/** `node dist/cli/main.js ARGS`; `cli.at(path)(ARGS)` runs another copy of main.js. */
export const cli = Object.assign((...args: string[]): CliResult => spawnMain(MAIN, args), {
  at: (main: string) => (...args: string[]) => spawnMain(main, args),
});

/**
 * `run ARGS` answered by a long-lived run host (run-host.mjs: the built CLI's own argument parsing and
 * file reading, and its worker module run-worker.js evaluated afresh per call in one kept worker
 * thread with `run`'s stack): the body `run` prints and its exit code, without a process or thread
 * start per case; calls may overlap (they run one at a time). Output framing, exit statuses, a thread
 * per call and its timeout are process-level: the tests of those spawn `cli`. Close the host at the
 * end of the file (`t.teardown(closeRunHost)`).
 */
export function runHosted(...args: string[]): Promise<CliResult> {
  const h = (host ??= startRunHost());
  const id = ++h.seq;
  const t0 = performance.now();
  return new Promise<HostAnswer>((resolve, reject) => {
    h.pending.set(id, { resolve, reject });
    h.child.stdin!.write(`${JSON.stringify({ id, args })}\n`);
  }).then((a) => {
    if (a.error !== undefined) throw new Error(`run ${args.join(' ')}: ${a.error}`);
    const stdout = `${JSON.stringify(a.body, null, 2)}\n`;
    return { code: a.code, stdout, stderr: '', ms: performance.now() - t0, json: () => JSON.parse(stdout) };
  });
}

/** Ends the run host (if one was started). */
export async function closeRunHost(): Promise<void> {
  const h = host;
  host = undefined;
  if (!h) return;
  h.child.stdin!.end();
  if (h.child.exitCode === null && h.child.signalCode === null) await new Promise((r) => h.child.once('exit', r));
}

interface HostAnswer {
  code: number;
  body?: unknown;
  error?: string;
}
interface RunHost {
  child: ChildProcess;
  seq: number;
  pending: Map<number, { resolve: (a: HostAnswer) => void; reject: (e: Error) => void }>;
}
let host: RunHost | undefined;

function startRunHost(): RunHost {
  const child = spawn(...plainNode([join(ROOT, 'test/cli/run-host.mjs')]), { cwd: ROOT, env: CHILD_ENV, stdio: ['pipe', 'pipe', 'inherit'] });
  const h: RunHost = { child, seq: 0, pending: new Map() };
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const a = JSON.parse(line) as HostAnswer & { id: number };
    h.pending.get(a.id)?.resolve(a);
    h.pending.delete(a.id);
  });
  // a host that dies fails the calls it owed instead of hanging them
  child.once('exit', (code, signal) => {
    for (const p of h.pending.values()) p.reject(new Error(`the run host exited (${signal ?? `code ${code}`})`));
    h.pending.clear();
    if (host === h) host = undefined;
  });
  return h;
}

/** The form outside checks use: `npm run --silent cli -- ARGS`. */
export function npmCli(...args: string[]): CliResult {
  const t0 = performance.now();
  const r = spawnSync(...plain('npm', ['run', '--silent', 'cli', '--', ...args]), { cwd: ROOT, env: CHILD_ENV, encoding: 'utf8', timeout: 30_000 });
  const ms = performance.now() - t0;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, ms, json: () => JSON.parse(r.stdout) };
}

export class TmpDir {
  readonly path = mkdtempSync(join(tmpdir(), 'wasm-runner-cli-'));
  file(name: string, content: string | Uint8Array): string {
    const p = join(this.path, name);
    writeFileSync(p, content);
    return p;
  }
  async wasm(name: string, src: string): Promise<string> {
    return this.file(name, await wat(src));
  }
  remove(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}

/** Σ i for i < n, then acc: costs 13n+6 fuel including the function entry (see the project's fuel model). */
export const SUM_LOOP = `
  (func $sum (export "sum") (param $n i32) (result i32) (local $i i32) (local $acc i32)
    (block $done
      (loop $top
        local.get $i
        local.get $n
        i32.ge_s
        br_if $done
        local.get $acc
        local.get $i
        i32.add
        local.set $acc
        local.get $i
        i32.const 1
        i32.add
        local.set $i
        br $top))
    local.get $acc)`;
