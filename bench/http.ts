/**
 * `npm run bench:http`: POST /execute by hash of a small linked contract (hello-lib + library) against a
 * bare Fastify route answering the same JSON (bench/bare-server.ts), side by side in one run:
 * alternating rounds of autocannon on each, both servers as child processes on 127.0.0.1, the same
 * logger settings. Target (docs/BENCHMARKS.md): the service reaches ≥ 0.5× the bare route's requests/s.
 * Options: --connections N (16), --seconds N per round (5), --rounds N (3).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { ROOT } from './corpus.js';
import { ready, startServer } from './server.js';
import { machine, median, table } from './util.js';

const { values: opt } = parseArgs({
  options: { connections: { type: 'string', default: '16' }, seconds: { type: 'string', default: '5' }, rounds: { type: 'string', default: '3' } },
});
const connections = Number(opt.connections);
const seconds = Number(opt.seconds);
const rounds = Number(opt.rounds);

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const wasm = (name: string) => new Uint8Array(readFileSync(resolve(ROOT, 'examples/wasm', `${name}.wasm`)));
const request = JSON.stringify({
  contract: { hash: sha(wasm('hello-lib')) },
  library: { hash: sha(wasm('library')) },
  input: Buffer.from('bench').toString('base64'),
});

interface Round {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
}

async function load(url: string): Promise<Round> {
  const r = await autocannon({
    url: `${url}/execute`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: request,
    connections,
    duration: seconds,
  });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx };
}

const env = { LOG_LEVEL: 'info', HOST: '127.0.0.1', PORT: '0', STORE_DIR: 'none', WORKERS: '2' };
const service = await startServer(['dist/server.js'], env);
await ready(service.url);
// the bare route answers exactly what the service answers to this request
const sample = await (await fetch(`${service.url}/execute`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: request })).text();
if (!JSON.parse(sample).ok) throw new Error(`the benchmark request failed: ${sample}`);
const bare = await startServer(['--import', 'tsx', 'bench/bare-server.ts'], { ...env, BARE_BODY: sample });

const results = { bare: [] as Round[], service: [] as Round[] };
try {
  await load(bare.url); // warm-up, both
  await load(service.url);
  for (let i = 0; i < rounds; i++) {
    results.bare.push(await load(bare.url));
    results.service.push(await load(service.url));
    process.stderr.write(`round ${i + 1}: bare ${results.bare.at(-1)!.rps.toFixed(0)} req/s, service ${results.service.at(-1)!.rps.toFixed(0)} req/s\n`);
  }
} finally {
  service.proc.kill('SIGTERM');
  bare.proc.kill('SIGTERM');
}

const m = machine();
const row = (name: string, rs: Round[]) => [
  name,
  median(rs.map((r) => r.rps)).toFixed(0),
  median(rs.map((r) => r.p50)).toFixed(2),
  median(rs.map((r) => r.p99)).toFixed(2),
  String(rs.reduce((a, r) => a + r.non2xx, 0)),
];
const ratio = median(results.service.map((r, i) => r.rps / results.bare[i]!.rps));
process.stdout.write(
  [
    `POST /execute by hash (hello-lib + library, ${Buffer.byteLength(sample)} B answer) vs a bare Fastify route answering the same JSON; ` +
      `${connections} connections, ${rounds} alternating rounds of ${seconds} s, 2 workers, logger at info; ${m.cpu}, ${m.cores} cores, Node ${m.node}, ${new Date().toISOString()}`,
    '',
    table(['server', 'req/s (median)', 'p50 ms', 'p99 ms', 'non-2xx'], [row('bare Fastify route', results.bare), row('POST /execute', results.service)]),
    '',
    `service / bare: **${ratio.toFixed(2)}×** (target ≥ 0.5×)`,
    '',
  ].join('\n'),
);
