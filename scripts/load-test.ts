/**
 * Load test of a running service (npm start, or the Docker image) with autocannon:
 *
 *   npm run load-test -- [--url http://127.0.0.1:8080 ...] [--connections 16] [--duration 10] [--contract hello|kv]
 *
 * It uploads the bundled example module(s) with PUT /modules (hello.wasm, or kv.wasm + library.wasm) to
 * the first --url, checks one execution on every --url (several replicas: they must share a module
 * store, store.shared, since the modules were uploaded to the first only), then POSTs the same /execute
 * body (modules by hash, a fixed input) for the given duration, the connections spread evenly over the
 * URLs, and prints throughput, latency percentiles, status counts and the outcome kinds, in all and
 * per URL. The outcome
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
  --url URL            service base URL; host must be 127.0.0.1 or localhost (default http://127.0.0.1:8080).
                       Repeat it for several replicas: the modules are uploaded to the first, executed by
                       hash on all (the replicas must share a store: store.shared), the load spread evenly
  --connections N      concurrent connections in all, split over the URLs (default 16)
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
  urls: URL[];
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

function checkUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--url ${JSON.stringify(raw)} is not a URL`);
  }
  if (url.protocol !== 'http:') throw new UsageError(`--url must be an http:// URL (got ${url.protocol}//)`);
  if (url.hostname !== '127.0.0.1' && url.hostname !== 'localhost') {
    throw new UsageError(`refusing to load-test ${url.host}: only http://127.0.0.1 and http://localhost targets are allowed`);
  }
  if (url.pathname !== '/' || url.search || url.hash || url.username || url.password) {
    throw new UsageError('--url is the service base URL, without path, query, fragment or credentials (e.g. http://127.0.0.1:8080)');
  }
  return url;
}

function parseOptions(argv: string[]): Options | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        url: { type: 'string', multiple: true, default: ['http://127.0.0.1:8080'] },
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
  const urls = v.url!.map(checkUrl);
  if (new Set(urls.map(String)).size !== urls.length) throw new UsageError('--url: the same URL twice');
  const contract = v.contract!;
  if (contract !== 'hello' && contract !== 'kv') throw new UsageError(`--contract must be hello or kv (got ${JSON.stringify(contract)})`);
  const connections = positiveInt('connections', v.connections!, 10_000);
  if (connections < urls.length) throw new UsageError(`--connections ${connections}: at least one per --url (${urls.length})`);
  return {
    urls,
    connections,
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

  /** All the values of several recorders in one. */
  static merge(all: Latencies[]): Latencies {
    const out = new Latencies();
    for (const l of all) for (const x of l.buf.subarray(0, l.n)) out.add(x);
    return out;
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

/** Counters of one service's /metrics, summed over several. */
function sumMaps(maps: Array<Map<string, number>>): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of maps) for (const [k, v] of m) out.set(k, (out.get(k) ?? 0) + v);
  return out;
}

/** One autocannon run against one URL, its 2xx latencies recorded into `latencies` (shared by all runs). */
function load(url: URL, path: string, json: string, connections: number, duration: number, latencies: Latencies[]): Promise<autocannon.Result> {
  const own = new Latencies();
  latencies.push(own);
  return new Promise<autocannon.Result>((done, fail) => {
    const instance = autocannon(
      {
        url: new URL(path, url).toString(),
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: json,
        connections,
        duration,
        timeout: 30,
      },
      (err, res) => (err ? fail(err) : done(res)),
    );
    instance.on('response', (_client, status, _bytes, ms) => {
      if (status >= 200 && status < 300) own.add(ms);
    });
  });
}

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
  const { urls } = opts;
  const first = urls[0]!;

  // 1. the modules, uploaded to the first URL, executed by hash on every one
  let body: Record<string, unknown>;
  if (opts.contract === 'hello') {
    const hello = await upload(first, 'hello.wasm');
    body = { contract: { hash: hello }, input: Buffer.from('world').toString('base64') };
  } else {
    const [kv, library] = [await upload(first, 'kv.wasm'), await upload(first, 'library.wasm')];
    body = { contract: { hash: kv }, library: { hash: library }, input: Buffer.from('b=2\na=1\nc=3\n').toString('base64') };
  }
  const single = JSON.stringify(body);
  const path = opts.batch ? '/execute/batch' : '/execute';
  const json = opts.batch ? JSON.stringify({ calls: Array.from({ length: opts.batch }, () => body) }) : single;

  // 2. one execution on each URL: the body works there (and its compiled modules are cached before the clock starts)
  let fuel: number | undefined;
  for (const url of urls) {
    const probe = await request(url, '/execute', { method: 'POST', headers: { 'content-type': 'application/json' }, body: single });
    const answer = (await probe.json()) as { ok?: boolean; error?: { kind: string; message: string } | null; fuel?: { consumed: number } };
    if (probe.status !== 200 || answer.ok !== true) {
      const hint = probe.status === 404 && url !== first ? ` (the modules were uploaded to ${first.origin}: do the replicas share a module store? config store.shared)` : '';
      throw new Error(`the probe POST /execute on ${url.origin} answered HTTP ${probe.status}: ${JSON.stringify(answer.error ?? answer)}${hint}`);
    }
    if (fuel !== undefined && answer.fuel?.consumed !== fuel) throw new Error(`${url.origin} consumed ${answer.fuel?.consumed} fuel where ${first.origin} consumed ${fuel}: not the same service`);
    fuel = answer.fuel?.consumed;
  }
  // the connections split evenly, the first URLs taking the remainder
  const split = urls.map((_, i) => Math.floor(opts.connections / urls.length) + (i < opts.connections % urls.length ? 1 : 0));
  process.stderr.write(
    `${opts.contract}: modules uploaded, probe ok on ${urls.length} URL${urls.length > 1 ? 's' : ''} (fuel ${fuel}); ` +
      `${opts.connections} connections (${split.join(' + ')}) for ${opts.duration} s against ${urls.map((u) => new URL(path, u).toString()).join(', ')}${opts.batch ? ` (${opts.batch} calls a request)` : ''} ...\n`,
  );

  // 3. the load, between two readings of each service's counters
  const before = await Promise.all(urls.map(metricsText));
  const recorded: Latencies[] = [];
  const results = await Promise.all(urls.map((u, i) => load(u, path, json, split[i]!, opts.duration, recorded)));
  const after = await Promise.all(urls.map(metricsText));
  const lat = Latencies.merge(recorded).summary();

  const counted = (metric: string, label: string) => diff(sumMaps(after.map((a) => counterByLabel(a, metric, label))), sumMaps(before.map((b) => counterByLabel(b, metric, label))));
  const outcomes = counted('wasm_executions_total', 'outcome');
  const rejected = counted('wasm_requests_rejected_total', 'kind');
  const statusCounts = new Map<string, number>();
  for (const r of results) for (const [code, st] of Object.entries(r.statusCodeStats ?? {})) statusCounts.set(code, (statusCounts.get(code) ?? 0) + (st.count ?? 0));
  const statuses = [...statusCounts].map(([code, n]) => `${code}: ${n}`).join(', ');
  const sum = (f: (r: autocannon.Result) => number) => results.reduce((a, r) => a + f(r), 0);
  const duration = Math.max(...results.map((r) => r.duration));
  const total = sum((r) => r.requests.total);
  const reqPerSec = sum((r) => r.requests.mean);
  const errors = sum((r) => r.errors);
  const timeouts = sum((r) => r.timeouts);
  const non2xx = sum((r) => r.non2xx);

  const lines = [
    `contract         ${opts.contract}${opts.contract === 'kv' ? ' + library (bridge)' : ''}`,
    `urls             ${urls.map((u) => u.origin).join(', ')}`,
    `connections      ${opts.connections}${urls.length > 1 ? `  (${split.join(' + ')})` : ''}`,
    `duration         ${fmt(duration, 1)} s`,
    ...(opts.batch ? [`batch            ${opts.batch} calls a request: ${fmt(reqPerSec * opts.batch, 1)} calls/s`] : []),
    urls.length === 1
      ? `req/s (mean)     ${fmt(results[0]!.requests.mean, 1)}  (stddev ${fmt(results[0]!.requests.stddev, 1)}, min ${fmt(results[0]!.requests.min, 0)}, max ${fmt(results[0]!.requests.max, 0)})`
      : `req/s (mean)     ${fmt(reqPerSec, 1)} in all  (${results.map((r, i) => `${urls[i]!.origin}: ${fmt(r.requests.mean, 1)}`).join(', ')})`,
    `latency p50      ${fmt(lat.p50, 2)} ms   (2xx responses, from send to last byte)`,
    `latency p90      ${fmt(lat.p90, 2)} ms`,
    `latency p99      ${fmt(lat.p99, 2)} ms`,
    `latency max      ${fmt(lat.max, 2)} ms  (mean ${fmt(lat.mean, 2)} ms)`,
    `total requests   ${total}  (sent ${sum((r) => r.requests.sent)})`,
    `non-2xx          ${non2xx}${statuses ? `  (status codes: ${statuses})` : ''}`,
    `errors           ${errors}  (timeouts ${timeouts})`,
    `outcomes         ${outcomes.length ? outcomes.map(([k, n]) => `${k}: ${n}`).join(', ') : '(none)'}   [from /metrics wasm_executions_total]`,
    `rejected         ${rejected.length ? rejected.map(([k, n]) => `${k}: ${n}`).join(', ') : '(none)'}   [from /metrics wasm_requests_rejected_total]`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (opts.json) {
    process.stdout.write(
      `${JSON.stringify({
        contract: opts.contract,
        urls: urls.map((u) => u.origin),
        connections: opts.connections,
        batch: opts.batch,
        durationS: duration,
        reqPerSecMean: reqPerSec,
        perUrl: results.map((r, i) => ({ url: urls[i]!.origin, connections: split[i], reqPerSecMean: r.requests.mean, total: r.requests.total, latencyMs: recorded[i]!.summary() })),
        latencyMs: { p50: lat.p50, p90: lat.p90, p99: lat.p99, max: lat.max, mean: lat.mean },
        total,
        non2xx,
        errors,
        timeouts,
        statusCodes: Object.fromEntries(statusCounts),
        outcomes: Object.fromEntries(outcomes),
        rejected: Object.fromEntries(rejected),
      })}\n`,
    );
  }
  return errors > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`load-test: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
