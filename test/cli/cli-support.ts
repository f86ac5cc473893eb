/** Helpers for the CLI tests: spawn the built CLI (dist/cli/main.js), temp files, WAT → wasm. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { wat } from '../support/wat.js';

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
 * The child runs without tap's per-process hooks and coverage collection (NODE_OPTIONS, NODE_V8_COVERAGE,
 * processinfo): they triple the cost of each ~100 ms spawn, and coverage is not enforced.
 */
const CHILD_ENV = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !/^(NODE_OPTIONS|NODE_V8_COVERAGE|_TAPJS_|TAP)/.test(k)),
);

function spawnMain(main: string, args: string[]): CliResult {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [main, ...args], { cwd: ROOT, env: CHILD_ENV, encoding: 'utf8', timeout: 30_000 });
  const ms = performance.now() - t0;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, ms, json: () => JSON.parse(r.stdout) };
}

/** `node dist/cli/main.js ARGS`; `cli.at(path)(ARGS)` runs another copy of main.js. */
export const cli = Object.assign((...args: string[]): CliResult => spawnMain(MAIN, args), {
  at: (main: string) => (...args: string[]) => spawnMain(main, args),
});

/** The form outside checks use: `npm run --silent cli -- ARGS`. */
export function npmCli(...args: string[]): CliResult {
  const t0 = performance.now();
  const r = spawnSync('npm', ['run', '--silent', 'cli', '--', ...args], { cwd: ROOT, env: CHILD_ENV, encoding: 'utf8', timeout: 30_000 });
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
