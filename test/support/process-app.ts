/**
 * The app of `startApp` (test/support/http.ts), but as the process users run: `node dist/server.js`
 * spawned with the same configuration (written to a CONFIG_FILE), and an `inject` that sends each
 * request over a real socket. Test files written against `startApp` run unchanged against the
 * production process: the hostile corpus does (test/hostile/, unless HOSTILE_TARGET=app).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { type Config, loadConfig } from '../../src/config.js';
import { startServer } from '../e2e/server-harness.js';
import type { T, TestApp } from './http.js';

interface Injected {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  json(): unknown;
}

/** What the tests use of a Fastify instance, over HTTP. */
export interface ProcessApp {
  inject(opts: InjectOptions): Promise<Injected>;
  listen(opts?: unknown): Promise<string>;
  ready(): Promise<void>;
  close(): Promise<void>;
  pool: { killWorker(): Promise<void> };
}

function bodyOf(opts: InjectOptions): { body?: string | Uint8Array<ArrayBuffer>; type?: string } {
  const p = opts.payload ?? opts.body;
  if (p === undefined) return {};
  if (typeof p === 'string') return { body: p };
  if (p instanceof Uint8Array) return { body: new Uint8Array(p) };
  return { body: JSON.stringify(p), type: 'application/json' };
}

export async function startProcessApp(t: T, overrides: Record<string, unknown> = {}): Promise<TestApp> {
  const { store, ...rest } = overrides as { store?: Record<string, unknown>; overload?: Record<string, unknown> };
  const dir = mkdtempSync(join(tmpdir(), 'wcr-proc-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // a store directory given by the caller (null: memory only) is kept as it is
  const storeDir = store?.dir !== undefined ? (store.dir as string | null) : join(dir, 'store');
  const config: Config = loadConfig({}, { workers: 1, logLevel: 'silent', ...rest, overload: { maxEventLoopDelayMs: 0, ...rest.overload }, store: { ...store, dir: storeDir } });
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify({ ...config, host: '127.0.0.1', port: 0, logLevel: 'info' }));
  const server = await startServer(t, { CONFIG_FILE: file }, 30_000);
  const inject = async (opts: InjectOptions): Promise<Injected> => {
    const { body, type } = bodyOf(opts);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(opts.headers ?? {})) if (v !== undefined) headers[k.toLowerCase()] = String(v);
    if (type && !headers['content-type']) headers['content-type'] = type;
    const res = await fetch(server.url + String(opts.url), { method: opts.method ?? 'GET', headers, body, signal: AbortSignal.timeout(120_000) });
    const text = await res.text();
    const h: Record<string, string> = {};
    res.headers.forEach((v, k) => (h[k] = v));
    return { statusCode: res.status, headers: h, body: text, json: () => JSON.parse(text) };
  };
  const app: ProcessApp = {
    inject,
    listen: async () => server.url,
    ready: async () => undefined,
    close: async () => void (await server.stop('SIGTERM').catch(() => undefined)),
    // no handle on a worker from outside the process: the fault tests that need one stay in-process
    pool: {
      killWorker: async () => {
        throw new Error('killWorker is not available against a spawned server');
      },
    },
  };
  return { app: app as unknown as FastifyInstance, config, storeDir: storeDir as string };
}

/** The hostile corpus runs against the spawned process, or in-process with HOSTILE_TARGET=app (for debugging it). */
export function targetIsProcess(): boolean {
  return process.env.HOSTILE_TARGET !== 'app';
}
