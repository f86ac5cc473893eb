/**
 * SyncPoster against a real HTTP server on 127.0.0.1 (in its own worker thread, since a blocked
 * caller on the main thread could not serve it): binary echo, a 500, a peer that never answers (the
 * caller returns on time and the late answer is dropped), a refused port, answers over the limit,
 * a redirect, 50 calls in a row, the I/O worker crashing mid-call, and a process that ends by itself
 * with its I/O worker still running. Every scenario runs from the main thread and from a worker thread.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { type PostOptions, type PostResult, SyncPoster } from '../../src/callback/sync-post.js';
import { plainNode } from '../support/plain-node.js';

/** The module under test, as this process loads it (src/, TypeScript under the tests' loader). */
const MODULE = import.meta.resolve('../../src/callback/sync-post.js');
/**
 * The module the caller thread and the child process import: the build of the same source (dist/, as
 * the pool's workers run it) when it is up to date with src/callback, else MODULE itself. A thread or
 * process that imports TypeScript must register tsx's loader first (on Node 20 a worker thread does
 * not get the loader of the test's `--import=tsx`), ~1.5 CPU-s each: a stale or missing build falls
 * back to that.
 */
const OTHER_MODULE = (() => {
  const src = fileURLToPath(new URL('../../src/callback/', import.meta.url));
  const dist = fileURLToPath(new URL('../../dist/callback/', import.meta.url));
  const built = (f: string) => {
    try {
      return statSync(join(dist, f.replace(/\.ts$/, '.js'))).mtimeMs >= statSync(join(src, f)).mtimeMs;
    } catch {
      return false;
    }
  };
  const fresh = readdirSync(src).filter((f) => f.endsWith('.ts')).every(built);
  return fresh ? pathToFileURL(join(dist, 'sync-post.js')).href : MODULE;
})();
/** Worker source that imports OTHER_MODULE: when it is TypeScript, it registers tsx's loader first. */
const REGISTER_TS = OTHER_MODULE.endsWith('.ts') ? `(await import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})).register();` : '';
/** Scheduling slack on a shared 2-core machine. */
const SLACK_MS = 500;

const SERVER = `'use strict';
const http = require('node:http');
const { parentPort } = require('node:worker_threads');
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    switch (req.url) {
      case '/echo':
        res.setHeader('x-content-type-seen', String(req.headers['content-type']));
        return res.end(body);
      case '/500':
        res.statusCode = 500;
        return res.end('boom');
      case '/hang':
        return; // never answers
      case '/big': // 10000 bytes, chunked (no content-length)
        res.write(Buffer.alloc(5000, 1));
        setTimeout(() => res.end(Buffer.alloc(5000, 2)), 10);
        return;
      case '/big-declared':
        res.setHeader('content-length', '10000');
        return res.end(Buffer.alloc(10000, 3));
      case '/redirect':
        res.statusCode = 302;
        res.setHeader('location', '/echo');
        return res.end();
      default:
        res.statusCode = 404;
        return res.end();
    }
  });
});
server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
`;

async function startServer(): Promise<{ base: string; stop: () => Promise<number> }> {
  const w = new Worker(SERVER, { eval: true, execArgv: [] });
  const port = await new Promise<number>((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  return { base: `http://127.0.0.1:${port}`, stop: () => w.terminate() };
}

/** A port nothing listens on: bound, then closed. */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Timed {
  r: PostResult;
  ms: number;
}
interface Caller {
  post(url: string, body: Uint8Array, opts: PostOptions): Promise<Timed>;
  crashNext(): Promise<void>;
  stats(): Promise<{ discarded: number; started: number }>;
  /** SyncPoster#close */
  close(): Promise<void>;
  /** Ends the caller (and its thread). */
  dispose(): Promise<void>;
}

function mainThreadCaller(): Caller {
  const p = new SyncPoster();
  return {
    async post(url, body, opts) {
      const t0 = performance.now();
      const r = p.post(url, body, opts);
      return { r, ms: performance.now() - t0 };
    },
    async crashNext() {
      p.crashIoWorkerDuringNextCall();
    },
    async stats() {
      return { discarded: p.discardedAnswers, started: p.workersStarted };
    },
    close: () => p.close(),
    dispose: () => p.close(),
  };
}

/** The caller inside a worker thread (as in a Piscina worker), driven by messages. */
const CALLER = `
import { parentPort, workerData } from 'node:worker_threads';
try {
  ${REGISTER_TS}
  const { SyncPoster } = await import(workerData.module);
  const p = new SyncPoster();
  parentPort.on('message', async (m) => {
    let out;
    if (m.op === 'post') {
      const t0 = performance.now();
      const r = p.post(m.url, m.body, m.opts);
      out = { r, ms: performance.now() - t0 };
    } else if (m.op === 'crash') p.crashIoWorkerDuringNextCall();
    else if (m.op === 'stats') out = { discarded: p.discardedAnswers, started: p.workersStarted };
    else if (m.op === 'close') await p.close();
    parentPort.postMessage({ id: m.id, out });
  });
  parentPort.postMessage({ ready: true });
} catch (e) {
  parentPort.postMessage({ error: String((e && e.stack) || e) });
}
`;

async function workerThreadCaller(): Promise<Caller> {
  const w = new Worker(esm(CALLER), { workerData: { module: OTHER_MODULE } });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let seq = 0;
  await new Promise<void>((resolve, reject) => {
    w.once('error', reject);
    w.once('message', (m: { ready?: true; error?: string }) => (m.ready ? resolve() : reject(new Error(m.error))));
  });
  w.on('message', (m: { id: number; out: unknown }) => {
    pending.get(m.id)?.resolve(m.out);
    pending.delete(m.id);
  });
  // a caller thread that dies fails its pending calls instead of hanging the test
  w.on('exit', (code) => {
    for (const p of pending.values()) p.reject(new Error(`caller thread exited (code ${code})`));
    pending.clear();
  });
  const rpc = <T>(msg: object): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = ++seq;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      w.postMessage({ ...msg, id });
    });
  return {
    post: (url, body, opts) => rpc<Timed>({ op: 'post', url, body, opts }),
    crashNext: () => rpc<void>({ op: 'crash' }),
    stats: () => rpc({ op: 'stats' }),
    close: () => rpc<void>({ op: 'close' }),
    async dispose() {
      await w.terminate();
    },
  };
}

/** An ES module worker from source (a data: URL is always ESM). */
const esm = (src: string) => new URL(`data:text/javascript,${encodeURIComponent(src)}`);

const OPTS: PostOptions = { timeoutMs: 3000, maxResponseBytes: 1 << 20 };

function binary(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

const server = await startServer();
t.teardown(() => server.stop());
const refusedPort = await deadPort();

for (const [name, make] of [
  ['main thread', async () => mainThreadCaller()],
  ['worker thread', workerThreadCaller],
] as const) {
  t.test(`from the ${name}`, { timeout: 30_000 }, async (t) => {
    const c = await make();
    t.teardown(() => c.dispose());
    const { base } = server;

    t.test('200: binary bytes echoed exactly', async (t) => {
      const sent = binary(70_000, 1);
      sent.set([0, 0xff, 0x00, 0x80, 0x7f], 0);
      const { r } = await c.post(`${base}/echo`, sent, OPTS);
      t.ok(r.ok);
      if (!r.ok) return;
      t.equal(r.status, 200);
      t.ok(r.body instanceof Uint8Array, 'a Uint8Array');
      t.equal(Buffer.compare(Buffer.from(r.body), Buffer.from(sent)), 0, 'same 70000 bytes');
      const empty = await c.post(`${base}/echo`, new Uint8Array(0), OPTS);
      t.same(empty.r, { ok: true, status: 200, body: new Uint8Array(0) }, 'empty body, empty answer');
    });

    t.test('a view into a larger buffer sends only its bytes', async (t) => {
      const big = binary(4096, 2);
      const view = big.subarray(100, 110);
      const { r } = await c.post(`${base}/echo`, view, OPTS);
      t.same(r.ok && Array.from(r.body), Array.from(view));
    });

    t.test('500 is ok: true with the status (the caller decides)', async (t) => {
      const { r } = await c.post(`${base}/500`, new Uint8Array([1]), OPTS);
      t.same(r, { ok: true, status: 500, body: new Uint8Array(Buffer.from('boom')) });
    });

    t.test('a peer that never answers: timeout on time, late answer dropped', async (t) => {
      const { r, ms } = await c.post(`${base}/hang`, new Uint8Array([1]), { timeoutMs: 300, maxResponseBytes: 100 });
      t.same(r, { ok: false, reason: 'no answer within 300 ms' });
      t.ok(ms >= 295, `waited the timeout (${ms.toFixed(0)} ms)`);
      t.ok(ms < 300 + SLACK_MS, `returned within the timeout + ${SLACK_MS} ms (${ms.toFixed(0)} ms)`);
      const next = await c.post(`${base}/echo`, new Uint8Array([9, 8, 7]), OPTS);
      t.same(next.r, { ok: true, status: 200, body: new Uint8Array([9, 8, 7]) }, 'the next call gets its own answer');
      await sleep(300);
      const again = await c.post(`${base}/echo`, new Uint8Array([6]), OPTS);
      t.same(again.r, { ok: true, status: 200, body: new Uint8Array([6]) });
      t.equal((await c.stats()).discarded, 1, 'the timed-out call\'s answer was discarded');
      t.equal((await c.stats()).started, 1, 'the same I/O worker (it did acknowledge the request)');
    });

    t.test('a refused port', async (t) => {
      const { r, ms } = await c.post(`http://127.0.0.1:${refusedPort}/x`, new Uint8Array([1]), OPTS);
      t.same(r, { ok: false, reason: 'connection refused (ECONNREFUSED)' });
      t.ok(ms < 2000, 'fails fast');
    });

    t.test('answers over maxResponseBytes', async (t) => {
      for (const path of ['/big', '/big-declared']) {
        const { r } = await c.post(`${base}${path}`, new Uint8Array(0), { timeoutMs: 3000, maxResponseBytes: 9999 });
        t.same(r, { ok: false, reason: 'answer larger than 9999 bytes' }, path);
        const exact = await c.post(`${base}${path}`, new Uint8Array(0), { timeoutMs: 3000, maxResponseBytes: 10000 });
        t.ok(exact.r.ok && exact.r.body.length === 10000, `${path}: exactly the limit is fine`);
      }
    });

    t.test('redirects are refused', async (t) => {
      const { r } = await c.post(`${base}/redirect`, new Uint8Array(0), OPTS);
      t.same(r, { ok: false, reason: 'the peer answered with a redirect (redirects are refused)' });
    });

    t.test('URLs that are not http(s)', async (t) => {
      t.same((await c.post('not a url', new Uint8Array(0), OPTS)).r, { ok: false, reason: 'invalid URL: "not a url"' });
      t.same((await c.post('file:///etc/passwd', new Uint8Array(0), OPTS)).r, { ok: false, reason: 'only http: and https: URLs can be called, not file:' });
    });

    t.test('50 sequential calls', async (t) => {
      let right = 0;
      const t0 = performance.now();
      for (let i = 0; i < 50; i++) {
        const sent = binary(1 + i * 37, 100 + i);
        const { r } = await c.post(`${base}/echo`, sent, OPTS);
        if (r.ok && r.status === 200 && Buffer.compare(Buffer.from(r.body), Buffer.from(sent)) === 0) right++;
      }
      t.equal(right, 50, `all 50 answers exact (${(performance.now() - t0).toFixed(0)} ms)`);
    });

    t.test('the I/O worker dies mid-call: the caller wakes, the next call works', async (t) => {
      const before = (await c.stats()).started;
      await c.crashNext();
      const { r, ms } = await c.post(`${base}/hang`, new Uint8Array([1]), { timeoutMs: 5000, maxResponseBytes: 100 });
      t.equal(r.ok, false);
      t.match(!r.ok && r.reason, /^callback I\/O thread stopped during the call \(exit code 1\)/);
      t.ok(ms < 30 + SLACK_MS, `woke at once, not after the 5 s timeout (${ms.toFixed(0)} ms)`);
      const next = await c.post(`${base}/echo`, new Uint8Array([4, 2]), OPTS);
      t.same(next.r, { ok: true, status: 200, body: new Uint8Array([4, 2]) });
      t.equal((await c.stats()).started, before + 1, 'a new I/O worker');
    });

    t.test('close() then use again', async (t) => {
      await c.close();
      const { r } = await c.post(`${base}/echo`, new Uint8Array([1]), OPTS);
      t.same(r, { ok: true, status: 200, body: new Uint8Array([1]) });
    });
  });
}

t.test('bad options are programming errors', async (t) => {
  const p = new SyncPoster();
  t.throws(() => p.post(`${server.base}/echo`, new Uint8Array(0), { timeoutMs: 0, maxResponseBytes: 1 }), RangeError);
  t.throws(() => p.post(`${server.base}/echo`, new Uint8Array(0), { timeoutMs: 10, maxResponseBytes: -1 }), RangeError);
  t.equal(p.workersStarted, 0, 'no worker started for them');
});

t.test('warmUp starts the worker ahead of the first call', async (t) => {
  const p = new SyncPoster();
  t.teardown(() => p.close());
  t.equal(p.warmUp(), true);
  const t0 = performance.now();
  const r = p.post(`${server.base}/echo`, new Uint8Array([5]), { timeoutMs: 1000, maxResponseBytes: 10 });
  t.same(r, { ok: true, status: 200, body: new Uint8Array([5]) });
  t.ok(performance.now() - t0 < 1000);
  t.equal(p.workersStarted, 1);
});

t.test('a process that never calls close() ends by itself', { timeout: 30_000 }, async (t) => {
  // The child (plain node, no tap hook; the tests' TypeScript loader when OTHER_MODULE is TypeScript)
  // makes calls (one timed out) on the main thread and in a worker thread, and just ends.
  const execArgv = OTHER_MODULE.endsWith('.ts') ? process.execArgv.filter((a) => !a.includes('processinfo')) : [];
  const code = `
    import { Worker } from 'node:worker_threads';
    const { threadPoster } = await import(${JSON.stringify(OTHER_MODULE)});
    const p = threadPoster();
    const a = p.post(${JSON.stringify(`${server.base}/echo`)}, new Uint8Array([1, 2, 3]), { timeoutMs: 3000, maxResponseBytes: 10 });
    const b = p.post(${JSON.stringify(`${server.base}/hang`)}, new Uint8Array(0), { timeoutMs: 100, maxResponseBytes: 10 });
    const w = new Worker(${JSON.stringify(`${REGISTER_TS} const { threadPoster } = await import(${JSON.stringify(OTHER_MODULE)});
      const r = threadPoster().post(${JSON.stringify(`${server.base}/echo`)}, new Uint8Array([4]), { timeoutMs: 3000, maxResponseBytes: 10 });
      (await import('node:worker_threads')).parentPort.postMessage(r.ok && Array.from(r.body));`)}, { eval: true, type: 'module' });
    const fromWorker = await new Promise((r) => w.once('message', r));
    console.log(JSON.stringify({ a: a.ok && Array.from(a.body), b, fromWorker }));
  `;
  const t0 = performance.now();
  const child = spawn(...plainNode([...execArgv, '--input-type=module', '-e', code]), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const [exit, signal] = await new Promise<[number | null, string | null]>((r) => child.once('exit', (c, s) => r([c, s])));
  clearTimeout(killer);
  t.equal(signal, null, 'not killed');
  t.equal(exit, 0, err);
  t.same(JSON.parse(out.trim()), { a: [1, 2, 3], b: { ok: false, reason: 'no answer within 100 ms' }, fromWorker: [4] });
  t.ok(performance.now() - t0 < 20_000, `ended by itself in ${(performance.now() - t0).toFixed(0)} ms`);
});
