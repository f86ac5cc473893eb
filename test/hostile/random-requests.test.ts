/**
 * Random requests: valid POST /execute and batch bodies mutated at random (fields dropped, retyped,
 * replaced by extreme numbers, long strings, bad base64, nested junk; bytes of the JSON text flipped
 * or cut), from a fixed seed. Every answer must be one of the documented statuses with the documented
 * body (never a 500, never a hang), a 200 must hold its limits, and the service must answer a normal
 * request exactly afterwards.
 */
import t from 'tap';
import { longOr } from '../support/long.js';
import { b64, example, req, sha256, startTarget, withoutTimings } from './support.js';

// `npm test`: the first 200 of the sequence (they reach every kind of answer the 400 do: 200, 400, 404,
// 422); `npm run test:long`: all 400. Each request costs the server ~5 CPU-ms.
const COUNT = longOr(400, 200);
const SEED = 20261202;
// the examples the bodies name by hash
const { app } = await startTarget(t, {}, ['hello', 'kv', 'library', 'compute']);

/** xorshift32: the same sequence on every machine. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]! };
}

const hello = sha256(example('hello'));
const kv = sha256(example('kv'));
const library = sha256(example('library'));
const BASES: unknown[] = [
  { contract: { hash: hello }, input: b64('fuzz') },
  { contract: { hash: kv }, library: { hash: library }, input: b64('a=1\nb=2\n'), limits: { fuel: 1_000_000, timeoutMs: 2000 } },
  { contract: { hash: sha256(example('compute')) }, entrypoint: 'sort', args: [50], limits: { fuel: 200_000 } },
  { contract: { wasm: b64(example('hello')) }, link: { mode: 'bridge', namespace: 'lib' } },
];
const JUNK: unknown[] = [null, true, false, 0, -1, 1.5, 2 ** 53, -(2 ** 63), 1e308, NaN, '', 'x'.repeat(5000), '%%%', '====', [], [1, [2, [3]]], {}, { a: { b: { c: {} } } }, '0'.repeat(64), 'ZZZZ', '\u0000\uffff'];

function mutate(r: ReturnType<typeof rng>, v: unknown, depth = 0): unknown {
  if (v === null || typeof v !== 'object') return r.next() < 0.5 ? r.pick(JUNK) : v;
  if (Array.isArray(v)) return r.next() < 0.3 ? r.pick(JUNK) : v.map((x) => (r.next() < 0.3 ? mutate(r, x, depth + 1) : x));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    const roll = r.next();
    if (roll < 0.15) continue; // dropped
    out[k] = roll < 0.5 && depth < 4 ? mutate(r, x, depth + 1) : x;
  }
  if (r.next() < 0.15) out[r.pick(['extra', 'contract', 'limits', 'args', 'entrypoint', 'iroha', 'link'])] = r.pick(JUNK);
  return out;
}

function bodyText(r: ReturnType<typeof rng>, base: unknown): string {
  const roll = r.next();
  if (roll < 0.15) {
    // the JSON text itself damaged: a byte flipped, or cut
    const s = JSON.stringify(base);
    const at = r.int(s.length);
    return r.next() < 0.5 ? s.slice(0, at) : s.slice(0, at) + String.fromCharCode(r.int(128)) + s.slice(at + 1);
  }
  const body = mutate(r, base);
  return JSON.stringify(roll < 0.3 ? { calls: [body, r.pick(BASES)] } : body);
}

const ALLOWED: Record<number, string[]> = { 200: [], 400: ['bad_request'], 404: ['not_found'], 413: ['too_large'], 415: ['unsupported_media_type'], 422: ['invalid_module', 'link_error', 'policy_violation'] };

t.test(`${COUNT} random requests from seed ${SEED}: documented answers only, then a healthy service`, async (t) => {
  const normal = { contract: { hash: hello }, input: b64('after') };
  const before = withoutTimings((await req(app, { method: 'POST', url: '/execute', payload: normal })).body);
  const r = rng(SEED);
  const seen: Record<string, number> = {};
  const bad: string[] = [];
  for (let i = 0; i < COUNT; i++) {
    const text = bodyText(r, r.pick(BASES));
    const batch = text.startsWith('{"calls"');
    const res = await req(app, { method: 'POST', url: batch ? '/execute/batch' : '/execute', payload: text, headers: { 'content-type': 'application/json' } });
    const key = `${res.status}${res.body?.error ? ` ${res.body.error.kind}` : ''}`;
    seen[key] = (seen[key] ?? 0) + 1;
    const kinds = ALLOWED[res.status];
    if (!kinds) bad.push(`#${i} ${key}: ${text.slice(0, 120)}`);
    else if (res.status !== 200 && !kinds.includes(res.body?.error?.kind)) bad.push(`#${i} ${key}: ${text.slice(0, 120)}`);
    else if (res.status === 200 && !batch && res.body.fuel && res.body.fuel.consumed > res.body.fuel.limit) bad.push(`#${i} fuel over its limit`);
  }
  t.comment(JSON.stringify(seen));
  t.same(bad, [], 'every answer documented');
  t.ok(Object.keys(seen).length >= 3, 'the mutations reach several kinds of answer');
  const after = withoutTimings((await req(app, { method: 'POST', url: '/execute', payload: normal })).body);
  t.same(after, before, 'the same exact answer to a normal request after');
});
