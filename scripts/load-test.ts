/**
 * Load test of a running service (npm start, or the Docker image) with autocannon:
 *
 *   npm run load-test -- [--url http://127.0.0.1:8080] [--connections 16] [--duration 10] [--contract hello|kv]
 *
 * It uploads the bundled example module(s) with PUT /modules (hello.wasm, or kv.wasm + library.wasm),
 * checks one execution, then POSTs the same /execute body (modules by hash, a fixed input) for the given
 * duration and prints throughput, latency percentiles, status counts and the outcome kinds. The outcome
 * counts are exact: they are the difference of the service's own counters (/metrics
 * wasm_executions_total{outcome} and wasm_requests_rejected_total{kind}) before and after the run, so
 * they include any other traffic the service received meanwhile.
 *
 * Only http://127.0.0.1 and http://localhost targets are accepted: this is a tool for your own machine.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { PROJECT_ROOT } from '../src/config.js';

const USAGE = `usage: npm run load-test -- [options]

Load-tests a running wasm-contract-runner on this machine: uploads the bundled example module(s),
then POSTs /execute (modules by hash, fixed input) with autocannon for a fixed duration.

options:
  --url URL            service base URL; host must be 127.0.0.1 or localhost (default http://127.0.0.1:8080)
  --connections N      concurrent connections (default 16)
  --duration S         seconds of load (default 10, at most 600)
  --contract NAME      hello  — examples/wasm/hello.wasm, input "world" (default)
                       kv     — examples/wasm/kv.wasm linked with library.wasm, input "b=2\\na=1\\nc=3\\n"
  --batch N            POST /execute/batch with N copies of the call instead (1..maxBatch); calls/s
                       are then N × req/s
  --json               also print the figures as one JSON object on the last line
  -h, --help           this text

Prints req/s (mean), latency p50/p90/p99 (ms), total requests, non-2xx responses, and the executions per
outcome kind read from the service's /metrics before and after the run (exact).
Exit status: 0; 1 when the service cannot be reached, the setup fails or connections failed; 2 for bad options.
`;

class UsageError extends Error {}

interface Options {
  url: URL;
  connections: number;
  duration: number;
  contract: 'hello' | 'kv';
  /** Calls per request: 0 = POST /execute, N = POST /execute/batch of N. */
  batch: number;
  json: boolean;
}

function positiveInt(name: string, raw: string, max: number): number {
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > max) throw new UsageError(`--${name} must be an integer from 1 to ${max} (got ${JSON.stringify(raw)})`);
  return Number(raw);
}

function parseOptions(argv: string[]): Options | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        url: { type: 'string', default: 'http://127.0.0.1:8080' },
        connections: { type: 'string', default: '16' },
        duration: { type: 'string', default: '10' },
        contract: { type: 'string', default: 'hello' },
        batch: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const v = parsed.values;
  if (v.help) return 'help';
  let url: URL;
  try {
    url = new URL(v.url!);
  } catch {
    throw new UsageError(`--url ${JSON.stringify(v.url)} is not a URL`);
  }
  if (url.protocol !== 'http:') throw new UsageError(`--url must be an http:// URL (got ${url.protocol}//)`);
  if (url.hostname !== '127.0.0.1' && url.hostname !== 'localhost') {
    throw new UsageError(`refusing to load-test ${url.host}: only http://127.0.0.1 and http://localhost targets are allowed`);
  }
  if (url.pathname !== '/' || url.search || url.hash || url.username || url.password) {
    throw new UsageError('--url is the service base URL, without path, query, fragment or credentials (e.g. http://127.0.0.1:8080)');
  }
  const contract = v.contract!;
  if (contract !== 'hello' && contract !== 'kv') throw new UsageError(`--contract must be hello or kv (got ${JSON.stringify(contract)})`);
  return {
    url,
    connections: positiveInt('connections', v.connections!, 10_000),
    duration: positiveInt('duration', v.duration!, 600),
    contract,
    batch: v.batch === undefined ? 0 : positiveInt('batch', v.batch, 10_000),
    json: v.json!,
  };
}

/** Prometheus text → value of every sample of `metric`, keyed by the value of `label`. */
function counterByLabel(text: string, metric: string, label: string): Map<string, number> {
  const out = new Map<string, number>();
  const re = new RegExp(`^${metric}\\{([^}]*)\\}\\s+(\\S+)`);
  for (const line of text.split('\n')) {
    const m = re.exec(line);
    if (!m) continue;
    const l = new RegExp(`(?:^|,)${label}="([^"]*)"`).exec(m[1]!);
    if (l) out.set(l[1]!, Number(m[2]));
  }
  return out;
}

function diff(after: Map<string, number>, before: Map<string, number>): Array<[string, number]> {
  return [...after]
    .map(([k, v]) => [k, v - (before.get(k) ?? 0)] as [string, number])
    .filter(([, d]) => d !== 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

async function request(url: URL, path: string, init?: RequestInit): Promise<Response> {
  try {
    return await fetch(new URL(path, url), init);
  } catch (e) {
    const cause = (e as { cause?: { message?: string } }).cause?.message;
    throw new Error(`cannot reach ${new URL(path, url)}: ${cause ?? (e as Error).message} (is the service running? \`npm start\`)`);
  }
}

async function upload(url: URL, file: string): Promise<string> {
  const bytes = readFileSync(resolve(PROJECT_ROOT, 'examples/wasm', file));
  const expected = createHash('sha256').update(bytes).digest('hex');
  const res = await request(url, '/modules', { method: 'PUT', headers: { 'content-type': 'application/wasm' }, body: bytes });
  const body = (await res.json()) as { hash?: string; error?: { kind: string; message: string } };
  if (res.status !== 200 && res.status !== 201) throw new Error(`PUT /modules ${file}: HTTP ${res.status} ${JSON.stringify(body.error ?? body)}`);
  if (body.hash !== expected) throw new Error(`PUT /modules ${file}: the service answered hash ${body.hash}, expected sha256 ${expected}`);
  return expected;
}

async function metricsText(url: URL): Promise<string> {
  const res = await request(url, '/metrics');
  if (!res.ok) throw new Error(`GET /metrics: HTTP ${res.status}`);
  return res.text();
}

/** Response times of 2xx answers, ms (autocannon's own histogram keeps whole milliseconds only). */
class Latencies {
  private buf = new Float64Array(1 << 16);
  private n = 0;

  add(ms: number): void {
    if (this.n === this.buf.length) {
      const bigger = new Float64Array(this.buf.length * 2);
      bigger.set(this.buf);
      this.buf = bigger;
    }
    this.buf[this.n++] = ms;
  }

  /** Nearest-rank percentiles of the recorded values. */
  summary(): { count: number; p50: number; p90: number; p99: number; max: number; mean: number } {
    const xs = this.buf.subarray(0, this.n).sort();
    const at = (p: number) => (xs.length ? xs[Math.min(xs.length - 1, Math.max(0, Math.ceil((p / 100) * xs.length) - 1))]! : NaN);
    let sum = 0;
    for (const x of xs) sum += x;
    return { count: xs.length, p50: at(50), p90: at(90), p99: at(99), max: xs.length ? xs[xs.length - 1]! : NaN, mean: xs.length ? sum / xs.length : NaN };
  }
}

const fmt = (n: number, digits = 1) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

async function main(): Promise<number> {
  let opts: Options | 'help';
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`load-test: ${e.message}\n\n${USAGE}`);
    return 2;
  }
  if (opts === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const { url } = opts;

  // 1. the modules, by hash
  let body: Record<string, unknown>;
  if (opts.contract === 'hello') {
    const hello = await upload(url, 'hello.wasm');
    body = { contract: { hash: hello }, input: Buffer.from('world').toString('base64') };
  } else {
    const [kv, library] = [await upload(url, 'kv.wasm'), await upload(url, 'library.wasm')];
    body = { contract: { hash: kv }, library: { hash: library }, input: Buffer.from('b=2\na=1\nc=3\n').toString('base64') };
  }
  const single = JSON.stringify(body);
  const path = opts.batch ? '/execute/batch' : '/execute';
  const json = opts.batch ? JSON.stringify({ calls: Array.from({ length: opts.batch }, () => body) }) : single;

  // 2. one execution: the body works (and the compiled modules are cached before the clock starts)
  const probe = await request(url, '/execute', { method: 'POST', headers: { 'content-type': 'application/json' }, body: single });
  const first = (await probe.json()) as { ok?: boolean; error?: { kind: string; message: string } | null; fuel?: { consumed: number } };
  if (probe.status !== 200 || first.ok !== true) {
    throw new Error(`the probe POST /execute answered HTTP ${probe.status}: ${JSON.stringify(first.error ?? first)}`);
  }
  process.stderr.write(
    `${opts.contract}: modules uploaded, probe ok (fuel ${first.fuel?.consumed}); ` +
      `${opts.connections} connections for ${opts.duration} s against ${new URL(path, url)}${opts.batch ? ` (${opts.batch} calls a request)` : ''} ...\n`,
  );

  // 3. the load, between two readings of the service's counters
  const before = await metricsText(url);
  const latencies = new Latencies();
  const result = await new Promise<autocannon.Result>((done, fail) => {
    const instance = autocannon(
      {
        url: new URL(path, url).toString(),
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: json,
        connections: opts.connections,
        duration: opts.duration,
        timeout: 30,
      },
      (err, res) => (err ? fail(err) : done(res)),
    );
    instance.on('response', (_client, status, _bytes, ms) => {
      if (status >= 200 && status < 300) latencies.add(ms);
    });
  });
  const after = await metricsText(url);
  const lat = latencies.summary();

  const outcomes = diff(counterByLabel(after, 'wasm_executions_total', 'outcome'), counterByLabel(before, 'wasm_executions_total', 'outcome'));
  const rejected = diff(
    counterByLabel(after, 'wasm_requests_rejected_total', 'kind'),
    counterByLabel(before, 'wasm_requests_rejected_total', 'kind'),
  );
  const statuses = Object.entries(result.statusCodeStats ?? {})
    .map(([code, s]) => `${code}: ${s.count ?? 0}`)
    .join(', ');

  const lines = [
    `contract         ${opts.contract}${opts.contract === 'kv' ? ' + library (bridge)' : ''}`,
    `connections      ${opts.connections}`,
    `duration         ${fmt(result.duration, 1)} s`,
    ...(opts.batch ? [`batch            ${opts.batch} calls a request: ${fmt(result.requests.mean * opts.batch, 1)} calls/s`] : []),
    `req/s (mean)     ${fmt(result.requests.mean, 1)}  (stddev ${fmt(result.requests.stddev, 1)}, min ${fmt(result.requests.min, 0)}, max ${fmt(result.requests.max, 0)})`,
    `latency p50      ${fmt(lat.p50, 2)} ms   (2xx responses, from send to last byte)`,
    `latency p90      ${fmt(lat.p90, 2)} ms`,
    `latency p99      ${fmt(lat.p99, 2)} ms`,
    `latency max      ${fmt(lat.max, 2)} ms  (mean ${fmt(lat.mean, 2)} ms)`,
    `total requests   ${result.requests.total}  (sent ${result.requests.sent})`,
    `non-2xx          ${result.non2xx}${statuses ? `  (status codes: ${statuses})` : ''}`,
    `errors           ${result.errors}  (timeouts ${result.timeouts})`,
    `outcomes         ${outcomes.length ? outcomes.map(([k, n]) => `${k}: ${n}`).join(', ') : '(none)'}   [from /metrics wasm_executions_total]`,
    `rejected         ${rejected.length ? rejected.map(([k, n]) => `${k}: ${n}`).join(', ') : '(none)'}   [from /metrics wasm_requests_rejected_total]`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (opts.json) {
    process.stdout.write(
      `${JSON.stringify({
        contract: opts.contract,
        connections: opts.connections,
        batch: opts.batch,
        durationS: result.duration,
        reqPerSecMean: result.requests.mean,
        latencyMs: { p50: lat.p50, p90: lat.p90, p99: lat.p99, max: lat.max, mean: lat.mean },
        total: result.requests.total,
        non2xx: result.non2xx,
        errors: result.errors,
        timeouts: result.timeouts,
        statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([c, s]) => [c, s.count ?? 0])),
        outcomes: Object.fromEntries(outcomes),
        rejected: Object.fromEntries(rejected),
      })}\n`,
    );
  }
  return result.errors > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`load-test: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
