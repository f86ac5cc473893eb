/**
 * Store faults over HTTP: a disk that cannot take a module (here its subdirectory is a file) still
 * accepts the upload, keeps the module in memory and executes it by hash, counting and logging the
 * fault; a module file corrupted on disk is detected by its hash, moved aside and answered as unknown
 * (404, naming PUT), while a copy still in memory keeps executing; uploading it again restores it.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { b64, example, execute, req, sha256, startApp, textOf } from '../support/http.js';

const hello = example('hello');
const hash = sha256(hello);
const put = (app: Parameters<typeof req>[0]) => req(app, { method: 'PUT', url: '/modules', payload: Buffer.from(hello), headers: { 'content-type': 'application/wasm' } });

async function storeFaults(app: Parameters<typeof req>[0]): Promise<Record<string, number>> {
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^wasm_store_faults_total\{fault="(\w+)"\} (\d+)$/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

t.test('a disk that fails the write: 201 all the same, executed from memory, counted', async (t) => {
  const { app, storeDir } = await startApp(t, { seedExamples: false });
  writeFileSync(join(storeDir, hash.slice(0, 2)), 'a file where the subdirectory goes');
  const r = await put(app);
  t.equal(r.status, 201, 'stored (in memory)');
  t.equal(r.body.hash, hash);
  const run = await execute(app, { contract: { hash }, input: b64('disk') });
  t.equal(run.status, 200);
  t.equal(textOf(run.body.result.output), 'hello, disk');
  t.equal((await storeFaults(app)).disk_error, 1);
  t.notOk(existsSync(join(storeDir, hash.slice(0, 2), `${hash}.wasm`)), 'nothing on disk');
});

t.test('a module file corrupted on disk: moved aside, 404 for a new process, restored by a new upload', async (t) => {
  const first = await startApp(t, { seedExamples: false, store: { memoryBudgetBytes: 0 } });
  t.equal((await put(first.app)).status, 201);
  const file = join(first.storeDir, hash.slice(0, 2), `${hash}.wasm`);
  const bytes = readFileSync(file);
  bytes[bytes.length - 1] ^= 0xff;
  writeFileSync(file, bytes);
  // this process prepared the module at upload: it still runs it
  const cached = await execute(first.app, { contract: { hash }, input: b64('still') });
  t.equal(textOf(cached.body.result.output), 'hello, still', 'the prepared copy in memory runs');
  const second = await startApp(t, { seedExamples: false, store: { dir: first.storeDir, memoryBudgetBytes: 0 } });
  const r = await execute(second.app, { contract: { hash } });
  t.equal(r.status, 404, 'the corrupt file is not used');
  t.match(r.body.error.message, /upload it with PUT \/modules/);
  t.equal((await storeFaults(second.app)).corrupt, 1, 'counted');
  t.ok(readdirSync(join(first.storeDir, hash.slice(0, 2))).some((f) => f.startsWith(`${hash}.corrupt-`)), 'kept aside');
  t.equal((await put(second.app)).status, 201, 'uploaded again');
  const again = await execute(second.app, { contract: { hash }, input: b64('back') });
  t.equal(textOf(again.body.result.output), 'hello, back');
});
