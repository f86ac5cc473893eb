/**
 * The long variant of test/e2e/http-limits.test.ts: many slow clients, then a process out of file
 * descriptors, against `node dist/server.js` (as `npm start` runs it) on 127.0.0.1.
 *
 *   npm run hostile:slow -- [--clients 2000] [--seconds 60] [--nofile 512]
 *
 * Phase 1: `--clients` connections held by slow clients (a third dribble their headers, a third
 * their body, a third say nothing) for up to `--seconds`, while a probe executes a small module every
 * 250 ms; every slow connection must be cut by the server's timeouts, every probe answered.
 * Phase 2: the server's file limit lowered to what it holds + `--nofile` (prlimit), twice that many
 * connections opened at once, then closed; the process must live on and answer.
 * Prints a JSON summary; exits 1 if the server died, a slow client outlived the timeouts, or a probe
 * failed outside phase 2's flood.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { type Socket, connect } from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { clients: { type: 'string', default: '2000' }, seconds: { type: 'string', default: '60' }, nofile: { type: 'string', default: '512' } } });
const CLIENTS = Number(values.clients);
const SECONDS = Number(values.seconds);
const NOFILE = Number(values.nofile);
const HEADERS_MS = 5000;
const REQUEST_MS = 10_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// `main` returns 7
const SEVEN = Buffer.from('0061736d010000000105016000017f03020100070801046d61696e00000a060104004107' + '0b', 'hex').toString('base64');

const server = spawn(process.execPath, ['dist/server.js'], {
  env: { ...process.env, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'warn', WORKERS: '1', STORE_DIR: 'none', SEED_EXAMPLES: 'false', HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_MS), HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_MS), HTTP_MAX_CONNECTIONS: String(CLIENTS + 256) },
  stdio: ['ignore', 'pipe', 'inherit'],
});
let exited: string | null = null;
server.on('exit', (code, signal) => (exited = `exit ${code} ${signal ?? ''}`.trim()));
process.on('exit', () => server.kill('SIGKILL'));

async function listening(): Promise<number> {
  // LOG_LEVEL=warn hides the listening line: find the port from /proc instead
  for (let i = 0; i < 100; i++) {
    await sleep(100);
    const r = spawnSync('ss', ['-ltnpH'], { encoding: 'utf8' });
    const line = r.stdout.split('\n').find((l) => l.includes(`pid=${server.pid},`));
    const port = line && /127\.0\.0\.1:(\d+)/.exec(line)?.[1];
    if (port) return Number(port);
  }
  throw new Error('the server did not start listening');
}

const port = await listening();
const url = `http://127.0.0.1:${port}`;
const probes = { sent: 0, ok: 0, failed: 0, ms: [] as number[] };
let probing = true;
let flood = false;
const probeLoop = (async () => {
  while (probing) {
    const t0 = performance.now();
    probes.sent++;
    try {
      const r = await fetch(`${url}/execute`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ contract: { wasm: SEVEN } }), signal: AbortSignal.timeout(5000) });
      const b = (await r.json()) as { result?: { values?: number[] } };
      if (r.status === 200 && b.result?.values?.[0] === 7) {
        probes.ok++;
        probes.ms.push(performance.now() - t0);
      } else if (!flood) probes.failed++;
    } catch {
      if (!flood) probes.failed++;
    }
    await sleep(250);
  }
})();

// phase 1: slow clients
const slow = { opened: 0, refused: 0, cutByServer: 0, outlived: 0, closeMs: [] as number[] };
const sockets: Socket[] = [];
const started = performance.now();
await Promise.all(
  Array.from({ length: CLIENTS }, (_, i) =>
    new Promise<void>((resolve) => {
      const s = connect({ host: '127.0.0.1', port });
      sockets.push(s);
      let timer: NodeJS.Timeout | undefined;
      const t0 = performance.now();
      s.on('connect', () => {
        slow.opened++;
        const kind = i % 3;
        const text = kind === 0 ? `GET /health HTTP/1.1\r\nhost: x\r\nx-slow: ${'a'.repeat(4000)}\r\n\r\n` : `${'{"x":"'}${'a'.repeat(4000)}"}`;
        if (kind === 1) s.write(`POST /execute HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${text.length}\r\n\r\n`);
        let at = 0;
        if (kind !== 2) timer = setInterval(() => at < text.length && s.write(text[at++]!), 500);
      });
      s.on('error', () => undefined);
      s.on('close', () => {
        clearInterval(timer);
        if (s.bytesWritten === 0 && performance.now() - t0 < 50) slow.refused++;
        else if (performance.now() - started < SECONDS * 1000) {
          slow.cutByServer++;
          slow.closeMs.push(performance.now() - t0);
        }
        resolve();
      });
      setTimeout(() => {
        if (!s.destroyed) {
          slow.outlived++;
          s.destroy();
        }
      }, SECONDS * 1000).unref();
    }),
  ),
);
const health1 = await fetch(`${url}/health`).then((r) => r.status, () => 0);

// phase 2: out of file descriptors
const held = (() => {
  try {
    return readdirSync(`/proc/${server.pid}/fd`).length;
  } catch {
    return 0;
  }
})();
const limit = held + NOFILE;
const prlimit = spawnSync('prlimit', [`--pid=${server.pid}`, `--nofile=${limit}:${limit}`], { encoding: 'utf8' });
flood = true;
const floodSockets: Socket[] = [];
for (let i = 0; i < NOFILE * 2; i++) {
  const s = connect({ host: '127.0.0.1', port });
  s.on('error', () => undefined);
  floodSockets.push(s);
}
await sleep(2000);
for (const s of floodSockets) s.destroy();
await sleep(1500);
flood = false;
spawnSync('prlimit', [`--pid=${server.pid}`, '--nofile=65536:65536']);
const health2 = await fetch(`${url}/health`, { signal: AbortSignal.timeout(5000) }).then((r) => r.status, () => 0);
const after = await fetch(`${url}/execute`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ contract: { wasm: SEVEN } }), signal: AbortSignal.timeout(5000) }).then((r) => r.status, () => 0);

probing = false;
await probeLoop;
const pct = (xs: number[], p: number) => (xs.length ? Math.round([...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!) : null);
const summary = {
  slowClients: { ...slow, closeMs: { p50: pct(slow.closeMs, 0.5), max: pct(slow.closeMs, 1) } },
  probes: { sent: probes.sent, ok: probes.ok, failed: probes.failed, p50Ms: pct(probes.ms, 0.5), p99Ms: pct(probes.ms, 0.99) },
  fdExhaustion: { fdsHeld: held, limit, prlimit: prlimit.status === 0 ? 'applied' : `failed: ${prlimit.stderr.trim()}`, connectionsOpened: NOFILE * 2, healthAfter: health2, executeAfter: after },
  healthAfterSlowClients: health1,
  serverExited: exited,
};
process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
server.kill('SIGTERM');
const bad = exited !== null || slow.outlived > 0 || probes.failed > 0 || health1 !== 200 || health2 !== 200 || after !== 200;
process.exit(bad ? 1 : 0);
