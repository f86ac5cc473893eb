/**
 * The app of `startApp` (test/support/http.ts), but as the process users run: `node dist/server.js`
 * spawned with the same configuration (written to a CONFIG_FILE), and an `inject` that sends each
 * request over a real socket. Test files written against `startApp` run unchanged against the
 * production process: the hostile corpus does (test/hostile/, unless HOSTILE_TARGET=app).
 *
 * Lean on purpose, since every file of the hostile corpus pays for what this module loads:
 * - it does not import src/config.ts: TypeBox's ~270 ES modules through tsx's loader hooks cost
 *   ~1.2 CPU-s per test process. The configuration the test gets is the one the server loads
 *   (config/default.json with the overrides merged over it, as `loadConfig` does with no environment);
 *   the server validates it and refuses to start, saying why, if it is invalid.
 * - requests go through node:http with a keep-alive agent: fetch (undici) costs ~3 CPU-ms per request,
 *   node:http ~0.6, and the corpus sends thousands.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, type IncomingHttpHeaders, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, InjectOptions } from 'fastify';
import type { Config } from '../../src/config.js';
import { type Json, merge } from '../../src/config-merge.js';
import { ROOT, startServer } from '../e2e/server-harness.js';
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

/** The body as fetch would send it: an object as JSON; a string without a type as text/plain (fetch's default). */
function bodyOf(opts: InjectOptions): { body?: string | Uint8Array; type?: string } {
  const p = opts.payload ?? opts.body;
  if (p === undefined) return {};
  if (typeof p === 'string') return { body: p, type: 'text/plain;charset=UTF-8' };
  if (p instanceof Uint8Array) return { body: p };
  return { body: JSON.stringify(p), type: 'application/json' };
}

export async function startProcessApp(t: T, overrides: Record<string, unknown> = {}): Promise<TestApp> {
  const { store, ...rest } = overrides as { store?: Record<string, unknown>; overload?: Record<string, unknown> };
  const dir = mkdtempSync(join(tmpdir(), 'wcr-proc-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // a store directory given by the caller (null: memory only) is kept as it is
  const storeDir = store?.dir !== undefined ? (store.dir as string | null) : join(dir, 'store');
  // what `loadConfig({}, overrides)` gives: the defaults, the overrides over them (validated by the server)
  const defaults = JSON.parse(readFileSync(join(ROOT, 'config/default.json'), 'utf8')) as Json;
  const config = merge(defaults, { workers: 1, logLevel: 'silent', ...rest, overload: { maxEventLoopDelayMs: 0, ...rest.overload }, store: { ...store, dir: storeDir } }) as unknown as Config;
  const file = join(dir, 'config.json');
  // logged at info: the listening line gives the port
  writeFileSync(file, JSON.stringify({ ...config, host: '127.0.0.1', port: 0, logLevel: 'info' }));
  const server = await startServer(t, { CONFIG_FILE: file }, 30_000);
  const base = server.url;
  const agent = new Agent({ keepAlive: true });
  t.teardown(() => agent.destroy());

  const send = (opts: InjectOptions, retry: boolean): Promise<Injected> =>
    new Promise((resolve, reject) => {
      const { body, type } = bodyOf(opts);
      const headers: Record<string, string | number> = {};
      for (const [k, v] of Object.entries(opts.headers ?? {})) if (v !== undefined) headers[k.toLowerCase()] = String(v);
      if (type && !headers['content-type']) headers['content-type'] = type;
      const payload = typeof body === 'string' ? Buffer.from(body) : body;
      if (payload) headers['content-length'] = payload.length;
      // the path as fetch would send it (WHATWG URL normalisation)
      const u = new URL(String(opts.url), base);
      const rq = request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method: opts.method ?? 'GET', headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const h: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers as IncomingHttpHeaders)) if (v !== undefined) h[k] = Array.isArray(v) ? v.join(', ') : v;
          resolve({ statusCode: res.statusCode ?? 0, headers: h, body: text, json: () => JSON.parse(text) });
        });
      });
      rq.setTimeout(120_000, () => rq.destroy(new Error(`no answer to ${opts.method ?? 'GET'} ${opts.url} within 120 s`)));
      rq.on('error', (e: NodeJS.ErrnoException) => {
        // a kept-alive socket the server closed just as this request went out (node's documented race):
        // sent again once on a new connection; a server that went away fails the retry too
        if (retry && rq.reusedSocket && e.code === 'ECONNRESET') resolve(send(opts, false));
        else reject(e);
      });
      rq.end(payload);
    });

  const app: ProcessApp = {
    inject: (opts) => send(opts, true),
    listen: async () => base,
    ready: async () => undefined,
    close: async () => {
      agent.destroy();
      await server.stop('SIGTERM').catch(() => undefined);
    },
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
