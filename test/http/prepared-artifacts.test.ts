/**
 * Prepared modules persist in the store directory (store.persistPrepared): after a restart, an
 * execution by hash compiles the stored artifact instead of instrumenting the module again, and
 * answers exactly what the first process answered (values, output, fuel, traps and out-of-fuel at
 * their exact fuel, bridge and shared linking). A corrupt artifact, one made for another policy or
 * for another module, or an unwritable artifact directory cost time, never an answer.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { FastifyInstance } from 'fastify';
import { b64, example, execute, req, sha256, startApp, withoutTimings } from '../support/http.js';

const dir = mkdtempSync(join(tmpdir(), 'wcr-artifacts-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const modules = ['library', 'kv', 'compute', 'panic', 'kv-shared', 'library-shared'];
const hash = (name: string) => sha256(example(name));
const REQUESTS: Array<[string, unknown]> = [
  ['bridge-linked kv', { contract: { hash: hash('kv') }, library: { hash: hash('library') }, input: b64('a=1;b=2;a') }],
  ['out of fuel (the exact variant re-run after a trap)', { contract: { hash: hash('compute') }, entrypoint: 'sha_loop', args: [1000], limits: { fuel: 1000 } }],
  ['a panic', { contract: { hash: hash('panic') }, input: b64('alice') }],
  ['shared-linked kv', { contract: { hash: hash('kv-shared') }, library: { hash: hash('library-shared') }, link: { mode: 'shared' }, input: b64('a=1;b=2;a') }],
];

async function artifactCounts(app: FastifyInstance): Promise<Record<string, number>> {
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^wasm_prepared_artifacts_total\{result="(\w+)"\} (\d+)$/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

async function answers(app: FastifyInstance): Promise<unknown[]> {
  const out = [];
  for (const [, body] of REQUESTS) {
    const r = await execute(app, body);
    out.push({ status: r.status, body: withoutTimings(r.body) });
  }
  return out;
}

function artifactFiles(): string[] {
  const root = join(dir, 'prepared');
  if (!existsSync(root)) return [];
  return readdirSync(root).flatMap((sub) => readdirSync(join(root, sub)).filter((f) => f.endsWith('.prepared')).map((f) => join(root, sub, f)));
}

let first: unknown[] = [];

t.test('first process: PUT writes an artifact per module; executions prepare the shared variants', async (t) => {
  const { app } = await startApp(t, { seedExamples: false, store: { dir } });
  for (const name of modules) {
    const r = await req(app, { method: 'PUT', url: '/modules', payload: Buffer.from(example(name)), headers: { 'content-type': 'application/wasm' } });
    t.equal(r.status, 201, `${name} stored`);
  }
  t.equal(artifactFiles().length, modules.length, 'one artifact per PUT (the plain variant)');
  first = await answers(app);
  t.same(
    first.map((a: any) => a.body.error?.kind ?? 'ok'),
    ['ok', 'out_of_fuel', 'panic', 'ok'],
    'the outcomes the requests are meant to have',
  );
  t.equal((first[1] as any).body.fuel.consumed, 1000, 'out of fuel at the limit');
  const files = artifactFiles();
  t.ok(files.some((f) => f.includes(hash('kv-shared')) && f.endsWith('_shared.prepared')), 'the shared variant was persisted on first use');
  const counts = await artifactCounts(app);
  t.equal(counts.hit, 0, 'nothing to read in a new store');
  t.equal(counts.written, files.length, 'every artifact file was written by this process');
});

t.test('after a restart: the same answers, from the artifacts', async (t) => {
  const { app } = await startApp(t, { seedExamples: false, store: { dir } });
  const together = await Promise.all([1, 2, 3].map(() => execute(app, REQUESTS[0]![1])));
  for (const r of together) t.same(withoutTimings(r.body), (first[0] as any).body, 'concurrent first requests: the same answer');
  t.equal((await artifactCounts(app)).hit, 2, 'they shared one load of each module (contract and library)');
  t.same(await answers(app), first, 'same status, values, output, fuel and errors');
  const counts = await artifactCounts(app);
  t.equal(counts.hit, 6, 'every module of the requests came from its artifact (kv-shared and library-shared in their shared variant)');
  t.equal(counts.miss, 0);
  t.equal(counts.written, 0, 'nothing prepared again');
});

t.test('a corrupt artifact is moved aside and the module prepared again, with the same answer', async (t) => {
  const file = artifactFiles().find((f) => f.includes(hash('kv')) && !f.endsWith('_shared.prepared'))!;
  const bytes = new Uint8Array(readFileSync(file));
  bytes[bytes.length - 10]! ^= 0xff;
  writeFileSync(file, bytes);
  const { app } = await startApp(t, { seedExamples: false, store: { dir } });
  t.same(await answers(app), first);
  const counts = await artifactCounts(app);
  t.equal(counts.corrupt, 1, 'the checksum caught it');
  t.equal(counts.written, 1, 'prepared again and rewritten');
  t.ok(readdirSync(join(file, '..')).some((f) => f.startsWith(`${hash('kv')}.`) && f.includes('.corrupt-')), 'the corrupt file is kept aside');
  t.notSame(new Uint8Array(readFileSync(file)), bytes, 'a good artifact replaced it');
});

t.test('an artifact made for another module (valid checksum) is not used', async (t) => {
  const kvFile = artifactFiles().find((f) => f.includes(hash('kv')) && !f.endsWith('_shared.prepared'))!;
  const libFile = artifactFiles().find((f) => f.includes(hash('library')) && !f.endsWith('_shared.prepared'))!;
  writeFileSync(kvFile, readFileSync(libFile)); // checksum intact, header names the library
  const { app } = await startApp(t, { seedExamples: false, store: { dir } });
  t.same(await answers(app), first);
  const counts = await artifactCounts(app);
  t.equal(counts.hit, 6, 'read (its checksum holds)…');
  t.equal(counts.written, 1, '…but refused by its header, and the module prepared again');
});

t.test('another policy: the artifacts are not used (the module is checked against the new one)', async (t) => {
  const { app } = await startApp(t, { seedExamples: false, store: { dir }, policy: { maxLocals: 9_999 } });
  t.same(await answers(app), first);
  const counts = await artifactCounts(app);
  t.equal(counts.written, 6, 'every module prepared again under the new policy');
});

t.test('persistPrepared false: nothing written, same answers', async (t) => {
  const own = mkdtempSync(join(tmpdir(), 'wcr-no-artifacts-'));
  t.teardown(() => rmSync(own, { recursive: true, force: true }));
  const { app } = await startApp(t, { seedExamples: false, store: { dir: own, persistPrepared: false } });
  for (const name of modules) await req(app, { method: 'PUT', url: '/modules', payload: Buffer.from(example(name)), headers: { 'content-type': 'application/wasm' } });
  t.same(await answers(app), first);
  t.notOk(existsSync(join(own, 'prepared')), 'no artifact directory');
  t.same(await artifactCounts(app), {}, 'no artifact metrics');
});

t.test('an artifact directory that cannot be written: executions go on, the error is counted', async (t) => {
  const own = mkdtempSync(join(tmpdir(), 'wcr-bad-artifacts-'));
  t.teardown(() => rmSync(own, { recursive: true, force: true }));
  writeFileSync(join(own, 'prepared'), 'not a directory');
  const { app } = await startApp(t, { seedExamples: false, store: { dir: own } });
  for (const name of modules) {
    const r = await req(app, { method: 'PUT', url: '/modules', payload: Buffer.from(example(name)), headers: { 'content-type': 'application/wasm' } });
    t.equal(r.status, 201, `${name} stored anyway`);
  }
  t.same(await answers(app), first);
  const counts = await artifactCounts(app);
  t.equal(counts.write_error, 8, 'six PUTs and two shared variants could not be persisted');
  t.equal(counts.written, 0);
});

t.test('artifact names are derived from the hash only', async (t) => {
  for (const f of artifactFiles()) {
    const name = f.slice(f.lastIndexOf('/') + 1);
    t.match(name, /^[0-9a-f]{64}\.v\d+_m\d+_t\d+(_shared)?\.prepared$/, name);
  }
});
