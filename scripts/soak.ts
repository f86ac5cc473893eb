/**
 * `npm run soak -- [--minutes N] [--rate R] [--url URL] [--out report.json]`
 *
 * A long steady run (default 1 minute at 50 requests/s) of a mix of requests (executions by hash,
 * bridge linking, out of fuel, panic, a batch, a 422 and a 404) against the service: every answer is
 * checked against the first of its kind, and the process is sampled every second (RSS, heap, active
 * handles). Without --url it starts the built service (`node dist/server.js`, 2 workers, a temporary
 * store) on 127.0.0.1 and stops it after. Prints the report; --out writes it as JSON (with every
 * sample). Exits 1 when any answer was wrong or failed.
 */
import { spawn } from 'node:child_process';
import { freePort } from './free-port.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { formatReport, soak } from './soak-lib.js';

const { values: opt } = parseArgs({
  options: {
    minutes: { type: 'string', default: '1' },
    rate: { type: 'string', default: '50' },
    url: { type: 'string' },
    out: { type: 'string' },
  },
});
const minutes = Number(opt.minutes);
const rate = Number(opt.rate);
if (!(minutes > 0 && minutes <= 24 * 60) || !(rate > 0 && rate <= 5000)) {
  process.stderr.write('usage: npm run soak -- [--minutes N (0 < N ≤ 1440)] [--rate R (0 < R ≤ 5000)] [--url http://127.0.0.1:PORT] [--out file.json]\n');
  process.exit(2);
}
if (opt.url && !/^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?$/.test(opt.url)) {
  process.stderr.write('--url must be http://127.0.0.1[:port] or http://localhost[:port]: this is a tool for your own machine\n');
  process.exit(2);
}


let url = opt.url;
let stop = async () => {};
if (!url) {
  const dir = mkdtempSync(join(tmpdir(), 'wcr-soak-'));
  const port = await freePort();
  const proc = spawn(process.execPath, [resolve(import.meta.dirname, '../dist/server.js')], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), STORE_DIR: dir, WORKERS: '2', LOG_LEVEL: 'warn', SEED_EXAMPLES: 'false' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  url = `http://127.0.0.1:${port}`;
  const exited = new Promise<number | null>((r) => proc.once('exit', r));
  for (let i = 0; ; i++) {
    if ((await fetch(`${url}/ready`).catch(() => null))?.ok) break;
    if (i > 200 || proc.exitCode !== null) throw new Error('the service did not become ready within 20 s (run `npm run build`?)');
    await new Promise((r) => setTimeout(r, 100));
  }
  stop = async () => {
    proc.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
}

try {
  const report = await soak({ url, seconds: minutes * 60, rate });
  process.stdout.write(`${formatReport(report)}\n`);
  if (opt.out) writeFileSync(opt.out, JSON.stringify(report, null, 2));
  process.exitCode = report.errors.length ? 1 : 0;
} finally {
  await stop();
}
