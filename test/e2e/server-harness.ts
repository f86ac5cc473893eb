/**
 * End-to-end harness: spawns the built server (`node dist/server.js`) as a child process on 127.0.0.1,
 * captures its stdout (pino JSON lines) and stderr, and stops it. Every wait has a deadline, and every
 * child is killed in `t.teardown` (and on process exit) whatever happened to the test.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ENV } from '../../src/config-env.js';
import { plainNode } from '../support/plain-node.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const SERVER = join(ROOT, 'dist/server.js');

/** The part of tap's `t` the harness needs (the root `t` and subtests alike). */
export interface Teardown {
  teardown(fn: () => unknown): void;
}

/** `npm test` builds dist/ first (pretest); a direct `npx tap test/e2e/...` after a clean checkout builds here. */
export function ensureBuilt(): void {
  if (existsSync(SERVER) && existsSync(join(ROOT, 'dist/pool/worker.js'))) return;
  const r = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`build failed: ${r.stdout}${r.stderr}`);
}

/**
 * The environment variables the config reads (src/config-env.ts, without TypeBox: src/config.ts would
 * load it through the tests' loader hooks, ~1 CPU-s in every file that uses this harness).
 */
export function configEnvNames(): string[] {
  return ENV.map(([name]) => name);
}

/** Variables the config reads (src/config.ts): never inherited from the test's own environment. */
const CONFIG_VARS = new Set([...configEnvNames(), 'MAX_CALL_DEPTH', 'CONFIG_FILE', 'NODE_ENV']);

/**
 * The test's environment for a child that runs the service: without the variables the config reads,
 * and without tap's per-process hooks and coverage collection (NODE_OPTIONS, NODE_V8_COVERAGE,
 * processinfo): they slow every start, and coverage is not enforced.
 */
export function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(NODE_OPTIONS|NODE_V8_COVERAGE|_TAPJS_|TAP)/.test(k) && !CONFIG_VARS.has(k)),
  );
  return { ...base, ...env };
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export const b64 = (bytes: Uint8Array | string) => Buffer.from(bytes).toString('base64');
export const fromB64 = (text: string) => new Uint8Array(Buffer.from(text, 'base64'));
export const hexOfB64 = (text: string) => Buffer.from(text, 'base64').toString('hex');

export function example(name: string): { bytes: Uint8Array; hash: string } {
  const bytes = new Uint8Array(readFileSync(join(ROOT, 'examples/wasm', `${name}.wasm`)));
  return { bytes, hash: sha256(bytes) };
}

/** A temporary directory removed at teardown. */
export function tempDir(t: Teardown, prefix = 'wasm-runner-e2e-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Rejects with `what` when `p` has not settled within `ms`. */
export async function deadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`deadline of ${ms} ms passed: ${what}`)), ms);
  });
  try {
    return await Promise.race([p, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `probe` until it returns a value other than undefined; throws after `ms`. */
export async function waitFor<T>(probe: () => T | undefined | Promise<T | undefined>, ms: number, what: string, everyMs = 20): Promise<T> {
  const end = performance.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (performance.now() > end) throw new Error(`gave up after ${ms} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One JSON log line of the server (pino). */
export type LogLine = Record<string, any> & { level: number; msg?: string };

export interface Reply {
  status: number;
  headers: Headers;
  /** Parsed JSON, or the text when the body is not JSON. */
  body: any;
  text: string;
  ms: number;
}

export class ServerProcess {
  readonly proc: ChildProcess;
  readonly exited: Promise<Exit>;
  private out = '';
  private err = '';
  private exit: Exit | null = null;
  /** logs(): the lines parsed so far, and the length of stdout they cover. */
  private readonly parsed: LogLine[] = [];
  private parsedTo = 0;
  /** `http://127.0.0.1:PORT`, known once the server logged that it listens. */
  url = '';
  port = 0;

  constructor(t: Teardown, env: Record<string, string>) {
    ensureBuilt();
    this.proc = spawn(...plainNode([SERVER]), { cwd: ROOT, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout!.setEncoding('utf8').on('data', (s: string) => (this.out += s));
    this.proc.stderr!.setEncoding('utf8').on('data', (s: string) => (this.err += s));
    this.exited = new Promise<Exit>((resolve) => {
      this.proc.on('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
      this.proc.on('error', (e) => {
        this.err += `\n[spawn error] ${e.message}`;
        this.exit = { code: null, signal: null };
        resolve(this.exit);
      });
    });
    const kill = () => {
      if (this.exit === null) this.proc.kill('SIGKILL');
    };
    process.once('exit', kill);
    t.teardown(async () => {
      process.removeListener('exit', kill);
      kill();
      await deadline(this.exited, 5000, 'a killed server to exit').catch(() => undefined);
    });
  }

  get stdout(): string {
    return this.out;
  }

  get stderr(): string {
    return this.err;
  }

  get running(): boolean {
    return this.exit === null;
  }

  /**
   * The complete JSON lines written to stdout so far (a trailing partial line is left out). Each line
   * is parsed once: the waits poll this every 20 ms, and a server of a long file logs thousands.
   */
  logs(): LogLine[] {
    const end = this.out.lastIndexOf('\n') + 1;
    if (end > this.parsedTo) {
      for (const l of this.out.slice(this.parsedTo, end).split('\n')) if (l.startsWith('{')) this.parsed.push(JSON.parse(l) as LogLine);
      this.parsedTo = end;
    }
    return this.parsed.slice();
  }

  waitForLog(pred: (l: LogLine) => boolean, ms: number, what: string): Promise<LogLine> {
    return waitFor(() => {
      if (!this.running) throw new Error(`server exited (${JSON.stringify(this.exit)}) while waiting for ${what}\n${this.tail()}`);
      return this.logs().find(pred);
    }, ms, what);
  }

  /** The last lines of both streams, for failure messages. */
  tail(n = 15): string {
    const last = (s: string) => s.split('\n').slice(-n).join('\n');
    return `--- stdout ---\n${last(this.out)}\n--- stderr ---\n${last(this.err)}`;
  }

  /** Waits for the listening line, then polls GET /ready until it answers 200. */
  async ready(ms = 15_000): Promise<this> {
    const end = performance.now() + ms;
    const listening = await this.waitForLog((l) => typeof l.msg === 'string' && /^Server listening at http:\/\/127\.0\.0\.1:\d+$/.test(l.msg), ms, 'the server to listen');
    this.url = listening.msg!.slice('Server listening at '.length);
    this.port = Number(new URL(this.url).port);
    await waitFor(async () => {
      const r = await this.request('GET', '/ready', undefined, { timeoutMs: 1000 }).catch(() => undefined);
      return r?.status === 200 ? r : undefined;
    }, Math.max(100, end - performance.now()), 'GET /ready to answer 200', 50);
    return this;
  }

  /** One HTTP request (global fetch), bounded in time. `body`: an object is sent as JSON, bytes as application/wasm. */
  async request(
    method: string,
    path: string,
    body?: unknown,
    opts: { timeoutMs?: number; contentType?: string; headers?: Record<string, string> } = {},
  ): Promise<Reply> {
    const headers: Record<string, string> = { ...opts.headers };
    let payload: string | Uint8Array<ArrayBuffer> | undefined;
    if (body instanceof Uint8Array) {
      payload = new Uint8Array(body);
      headers['content-type'] = opts.contentType ?? 'application/wasm';
    } else if (typeof body === 'string') {
      payload = body;
      headers['content-type'] = opts.contentType ?? 'application/json';
    } else if (body !== undefined) {
      payload = JSON.stringify(body);
      headers['content-type'] = opts.contentType ?? 'application/json';
    }
    const t0 = performance.now();
    const res = await fetch(this.url + path, { method, headers, body: payload, signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000) });
    const text = await res.text();
    let parsed: any = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON (metrics, yaml)
    }
    return { status: res.status, headers: res.headers, body: parsed, text, ms: performance.now() - t0 };
  }

  /**
   * An upload the server should refuse from its Content-Length alone (413): the request head is sent
   * first and the body only if no answer came within `bodyAfterMs` (as a client waiting for
   * `100 Continue` would). Sending the whole body at once races with the server closing the connection
   * after its early answer: the client then sees EPIPE or ECONNRESET instead of the response.
   */
  upload(method: string, path: string, body: Uint8Array | string, contentType: string, opts: { timeoutMs?: number; bodyAfterMs?: number } = {}): Promise<Reply> {
    const t0 = performance.now();
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const payload = Buffer.from(body);
    return new Promise<Reply>((resolve, reject) => {
      const sock = connect({ host: '127.0.0.1', port: this.port });
      const chunks: Buffer[] = [];
      let settled = false;
      const finish = (e?: Error) => {
        if (settled) return;
        const raw = Buffer.concat(chunks);
        const split = raw.indexOf('\r\n\r\n');
        if (split < 0) {
          if (!e) return; // not complete yet
          settled = true;
          clearTimeout(giveUp);
          clearTimeout(sendBody);
          sock.destroy();
          reject(new Error(`no complete response head (${raw.length} bytes): ${e.message}`));
          return;
        }
        const [statusLine, ...lines] = raw.subarray(0, split).toString('latin1').split('\r\n');
        const headers = new Headers();
        for (const l of lines) {
          const i = l.indexOf(':');
          if (i > 0) headers.append(l.slice(0, i).trim(), l.slice(i + 1).trim());
        }
        const length = Number(headers.get('content-length') ?? NaN);
        const rest = raw.subarray(split + 4);
        if (Number.isFinite(length) ? rest.length < length : !e) {
          if (e) {
            settled = true;
            clearTimeout(giveUp);
            clearTimeout(sendBody);
            reject(new Error(`truncated response body: ${e.message}`));
          }
          return;
        }
        settled = true;
        clearTimeout(giveUp);
        clearTimeout(sendBody);
        sock.destroy();
        const text = (Number.isFinite(length) ? rest.subarray(0, length) : rest).toString('utf8');
        let parsed: any = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // not JSON
        }
        resolve({ status: Number(statusLine!.split(' ')[1]), headers, body: parsed, text, ms: performance.now() - t0 });
      };
      const giveUp = setTimeout(() => finish(new Error(`no response within ${timeoutMs} ms`)), timeoutMs);
      let sendBody: NodeJS.Timeout | undefined;
      sock.on('data', (c: Buffer) => {
        chunks.push(c);
        finish();
      });
      sock.on('end', () => finish(new Error('connection ended')));
      sock.on('error', (e) => finish(e));
      sock.on('close', () => finish(new Error('connection closed')));
      sock.once('connect', () => {
        const u = new URL(this.url);
        sock.write(
          `${method} ${path} HTTP/1.1\r\nhost: ${u.host}\r\ncontent-type: ${contentType}\r\ncontent-length: ${payload.length}\r\nconnection: close\r\n\r\n`,
        );
        sendBody = setTimeout(() => {
          if (chunks.length === 0) sock.write(payload, () => undefined);
        }, opts.bodyAfterMs ?? 1000);
      });
    });
  }

  execute(req: Record<string, unknown>, timeoutMs?: number): Promise<Reply> {
    return this.request('POST', '/execute', req, { timeoutMs });
  }

  /** Sends `signal` and waits (bounded) for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', ms = 10_000): Promise<Exit> {
    if (this.running) this.proc.kill(signal);
    return deadline(this.exited, ms, `the server to exit after ${signal}`);
  }
}

/**
 * A script of scripts/ (TypeScript, run by `npm run <script>` under tsx) compiled once to plain
 * JavaScript in a temporary directory, to be run with `plainNode([path, ...args])`. Under tsx every
 * module a script loads goes through tsx's loader thread: load-test.ts takes ~2.2 CPU-s to print its
 * usage that way, ~0.7 compiled. esbuild (tsx's own compiler) bundles the script's own files; packages
 * stay imports resolved from the project's node_modules, and `../src/*` becomes the built `dist/*`
 * (tsc's output of the same sources, which `npm test` builds first; PROJECT_ROOT is the same from both).
 */
export async function compiledScript(t: Teardown, script: string): Promise<string> {
  ensureBuilt();
  const { build } = await import('esbuild');
  const outfile = join(tempDir(t, 'wasm-runner-script-'), basename(script).replace(/\.ts$/, '.mjs'));
  const distUrl = (rel: string) => pathToFileURL(join(ROOT, 'dist', rel)).href;
  await build({
    entryPoints: [join(ROOT, script)],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'error',
    plugins: [
      {
        name: 'packages-and-dist',
        setup(b) {
          b.onResolve({ filter: /^\.\.\/src\// }, (a) => ({ path: distUrl(a.path.slice('../src/'.length)), external: true }));
          // a package: resolved from here (the project's node_modules), since the output is elsewhere
          b.onResolve({ filter: /^[^./]/ }, (a) => (a.path.startsWith('node:') ? { external: true } : { path: import.meta.resolve(a.path), external: true }));
        },
      },
    ],
  });
  return outfile;
}

/** Spawns a server and waits until it is ready (listening and GET /ready 200). */
export async function startServer(t: Teardown, env: Record<string, string>, ms = 15_000): Promise<ServerProcess> {
  const s = new ServerProcess(t, { HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env });
  try {
    return await s.ready(ms);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${s.tail()}`);
  }
}

/** Spawns the server with a configuration expected to be refused; returns its exit and stderr. */
export async function runRefused(t: Teardown, env: Record<string, string>, ms = 10_000): Promise<Exit & { stderr: string; stdout: string }> {
  const s = new ServerProcess(t, { HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env });
  const exit = await deadline(s.exited, ms, 'the server to exit on a bad configuration');
  // the pipes may still hold the last bytes after 'exit'
  await waitFor(() => (s.proc.stdout!.readableEnded && s.proc.stderr!.readableEnded ? true : undefined), 2000, 'the pipes to close').catch(() => undefined);
  return { ...exit, stderr: s.stderr, stdout: s.stdout };
}

/** Resolves with the connect error code (e.g. ECONNREFUSED), or 'connected' when a TCP connection opens. */
export function tryConnect(port: number, ms = 2000): Promise<string> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => {
      sock.destroy();
      resolve('timeout');
    }, ms);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.destroy();
      resolve('connected');
    });
    sock.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(e.code ?? e.message);
    });
  });
}

/** Σ i for i < n (wrapping i32), exported as `main(n)`: costs 13n+6 fuel including the function entry. */
export const LOOP_WAT = `(module
  (func (export "main") (param $n i32) (result i32) (local $i i32) (local $acc i32)
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
    local.get $acc))`;

export const loopFuel = (n: number) => 13 * n + 6;
/** The value LOOP_WAT returns for n (Σ i, i < n, wrapped to i32). */
export const loopValue = (n: number) => Number(BigInt.asIntN(32, (BigInt(n) * BigInt(n - 1)) / 2n));

/**
 * A service already running elsewhere (e.g. the Docker image, `npm run test:docker`): the same
 * request helpers as a spawned server, without a process to watch.
 */
export class RemoteServer {
  readonly port: number;
  constructor(readonly url: string) {
    this.port = Number(new URL(url).port);
  }
  request = ServerProcess.prototype.request;
  execute = ServerProcess.prototype.execute;
  upload = ServerProcess.prototype.upload;
}
