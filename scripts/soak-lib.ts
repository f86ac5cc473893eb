/**
 * A soak run against a running service: a fixed mix of requests at a steady rate, every answer checked
 * against the first answer of its kind (status, outcome and fuel: the service is deterministic), and
 * the process sampled from /metrics every second (resident memory, V8 heap, active handles) with the
 * latency of each request. Used by `npm run soak` (scripts/soak.ts) and by test/e2e/soak.test.ts.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const wasm = (name: string) => new Uint8Array(readFileSync(resolve(ROOT, 'examples/wasm', `${name}.wasm`)));
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const b64 = (s: string) => Buffer.from(s).toString('base64');

interface Kind {
  name: string;
  method: 'POST' | 'PUT';
  path: string;
  body: () => unknown;
  /** What identifies a correct answer (compared with the first one). */
  fingerprint: (status: number, body: any) => string;
}

const exec = (status: number, b: any) => `${status}:${b.error?.kind ?? 'ok'}:${b.fuel?.consumed ?? ''}:${b.result?.output ?? ''}`;

function kinds(): Kind[] {
  const hello = { hash: sha(wasm('hello')) };
  return [
    { name: 'hello by hash', method: 'POST', path: '/execute', body: () => ({ contract: hello, input: b64('soak') }), fingerprint: exec },
    {
      name: 'kv + library (bridge)',
      method: 'POST',
      path: '/execute',
      body: () => ({ contract: { hash: sha(wasm('kv')) }, library: { hash: sha(wasm('library')) }, input: b64('a=1\nb=2\na=3\n') }),
      fingerprint: exec,
    },
    { name: 'out of fuel', method: 'POST', path: '/execute', body: () => ({ contract: { hash: sha(wasm('compute')) }, entrypoint: 'sort', args: [2000], limits: { fuel: 50_000 } }), fingerprint: exec },
    { name: 'panic', method: 'POST', path: '/execute', body: () => ({ contract: { hash: sha(wasm('panic')) }, input: b64('mallory') }), fingerprint: exec },
    {
      name: 'batch of 5',
      method: 'POST',
      path: '/execute/batch',
      body: () => ({ calls: Array.from({ length: 5 }, () => ({ contract: hello, input: b64('batch') })) }),
      fingerprint: (s, b) => `${s}:${(b.results ?? []).map((r: any) => exec(200, r)).join('|')}`,
    },
    { name: 'invalid module (422)', method: 'POST', path: '/execute', body: () => ({ contract: { wasm: b64('not wasm at all') } }), fingerprint: (s, b) => `${s}:${b.error?.kind}` },
    { name: 'unknown hash (404)', method: 'POST', path: '/execute', body: () => ({ contract: { hash: '0'.repeat(64) } }), fingerprint: (s, b) => `${s}:${b.error?.kind}` },
  ];
}

export interface Sample {
  atS: number;
  rssBytes: number;
  heapUsedBytes: number;
  handles: number;
}

export interface SoakReport {
  url: string;
  seconds: number;
  rate: number;
  sent: number;
  answered: number;
  /** Answers that differ from the first of their kind, network errors, or statuses ≥ 500. */
  errors: Array<{ kind: string; what: string }>;
  byKind: Record<string, { count: number; fingerprint: string }>;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  samples: Sample[];
  /** Resident memory: median of the first samples after the warm-up (the first fifth), of the last ones, and the growth per minute. */
  rss: { startBytes: number; endBytes: number; maxBytes: number; growthBytesPerMinute: number };
}

const metric = (text: string, name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'm').exec(text)?.[1] ?? NaN);

async function sample(url: string, t0: number): Promise<Sample> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return {
    atS: (performance.now() - t0) / 1000,
    rssBytes: metric(text, 'process_resident_memory_bytes'),
    heapUsedBytes: metric(text, 'nodejs_heap_size_used_bytes'),
    handles: metric(text, 'nodejs_active_handles_total'),
  };
}

function pct(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[s.length >> 1]! : NaN;
};

/** Uploads the examples the mix names, then runs the mix at `rate` requests/s for `seconds`. */
export async function soak(opts: { url: string; seconds: number; rate: number; headers?: Record<string, string> }): Promise<SoakReport> {
  const { url, seconds, rate } = opts;
  const headers = opts.headers ?? {};
  for (const name of ['hello', 'kv', 'library', 'compute', 'panic']) {
    const r = await fetch(`${url}/modules`, { method: 'PUT', body: wasm(name) as Uint8Array<ArrayBuffer>, headers: { 'content-type': 'application/wasm', ...headers } });
    if (r.status !== 200 && r.status !== 201) throw new Error(`PUT ${name}: ${r.status} ${await r.text()}`);
  }
  const mix = kinds();
  const byKind: SoakReport['byKind'] = {};
  const errors: SoakReport['errors'] = [];
  const latencies: number[] = [];
  const samples: Sample[] = [];
  let sent = 0;
  let answered = 0;
  const t0 = performance.now();
  const inFlight = new Set<Promise<void>>();
  const one = async (k: Kind) => {
    const started = performance.now();
    try {
      const r = await fetch(`${url}${k.path}`, { method: k.method, body: JSON.stringify(k.body()), headers: { 'content-type': 'application/json', ...headers } });
      const body = await r.json();
      latencies.push(performance.now() - started);
      answered++;
      const f = k.fingerprint(r.status, body);
      const seen = (byKind[k.name] ??= { count: 0, fingerprint: f });
      seen.count++;
      if (f !== seen.fingerprint) errors.push({ kind: k.name, what: `answered ${f}, first answered ${seen.fingerprint}` });
      else if (r.status >= 500) errors.push({ kind: k.name, what: `status ${r.status}: ${JSON.stringify(body.error)}` });
    } catch (e) {
      errors.push({ kind: k.name, what: `request failed: ${(e as Error).message}` });
    }
  };
  let nextSample = 0;
  for (let i = 0; ; i++) {
    const due = t0 + (i * 1000) / rate;
    const now = performance.now();
    if (now - t0 >= seconds * 1000) break;
    if (due > now) await new Promise((r) => setTimeout(r, due - now));
    if (performance.now() - t0 >= nextSample * 1000) {
      nextSample++;
      samples.push(await sample(url, t0));
    }
    // bounded: a stalled service shows as latency and errors, not as an unbounded pile of sockets
    if (inFlight.size >= 64) {
      errors.push({ kind: mix[i % mix.length]!.name, what: 'skipped: 64 requests already in flight' });
      continue;
    }
    sent++;
    const p = one(mix[i % mix.length]!).finally(() => inFlight.delete(p));
    inFlight.add(p);
  }
  await Promise.all(inFlight);
  samples.push(await sample(url, t0));
  const sorted = [...latencies].sort((a, b) => a - b);
  // the first fifth (at least 5 s) is warm-up: caches, pooled memories and V8's code fill up
  const settled = samples.slice(Math.min(Math.max(5, Math.floor(samples.length / 5)), samples.length - 1));
  const head = settled.slice(0, 5).map((s) => s.rssBytes);
  const tail = settled.slice(-5).map((s) => s.rssBytes);
  const span = (settled.at(-1)!.atS - settled[0]!.atS) / 60;
  return {
    url,
    seconds,
    rate,
    sent,
    answered,
    errors,
    byKind,
    latencyMs: { p50: pct(sorted, 50), p90: pct(sorted, 90), p99: pct(sorted, 99), max: sorted.at(-1) ?? NaN },
    samples,
    rss: {
      startBytes: median(head),
      endBytes: median(tail),
      maxBytes: Math.max(...samples.map((s) => s.rssBytes)),
      growthBytesPerMinute: span > 0 ? (median(tail) - median(head)) / span : 0,
    },
  };
}

const MB = 1e6;

export function formatReport(r: SoakReport): string {
  const first = r.samples[0]!;
  const last = r.samples.at(-1)!;
  return [
    `soak of ${r.url}: ${r.seconds} s at ${r.rate} requests/s, ${r.sent} sent, ${r.answered} answered, ${r.errors.length} errors`,
    `latency ms: p50 ${r.latencyMs.p50.toFixed(2)}, p90 ${r.latencyMs.p90.toFixed(2)}, p99 ${r.latencyMs.p99.toFixed(2)}, max ${r.latencyMs.max.toFixed(2)}`,
    `RSS MB: settled ${(r.rss.startBytes / MB).toFixed(1)} → ${(r.rss.endBytes / MB).toFixed(1)} (max ${(r.rss.maxBytes / MB).toFixed(1)}; ${(r.rss.growthBytesPerMinute / MB).toFixed(2)} MB/min)`,
    `heap MB: ${(first.heapUsedBytes / MB).toFixed(1)} → ${(last.heapUsedBytes / MB).toFixed(1)}; active handles: ${first.handles} → ${last.handles}`,
    ...Object.entries(r.byKind).map(([k, v]) => `  ${k}: ${v.count} × ${v.fingerprint.slice(0, 80)}`),
    ...r.errors.slice(0, 20).map((e) => `  error: ${e.kind}: ${e.what}`),
  ].join('\n');
}
