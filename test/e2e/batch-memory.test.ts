/**
 * The built server's memory stays bounded under batches built to make it large (docs/API.md, the
 * batch answer budget; docs/IROHA.md, record limits): 100 calls each writing the whole output limit,
 * and 100 Iroha calls each trying to record 4 × 16 MiB, answer 200 within the budget, and the
 * process's peak resident memory (VmHWM) stays far below what keeping every answer would take.
 */
import { existsSync, readFileSync } from 'node:fs';
import t from 'tap';
import { b64, startServer, tempDir } from './server-harness.js';
import { RECORD_FLOOD_WAT } from '../support/iroha.js';
import { wat } from '../support/wat.js';

const MB = 1024 * 1024;
const BUDGET = 12 * MB;
const proc = (pid: number) => `/proc/${pid}/status`;
const skip = existsSync(proc(process.pid)) ? false : 'no /proc here: the peak resident memory cannot be read';
const peakRss = (pid: number) => Number(/^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(proc(pid), 'utf8'))![1]) * 1024;

t.test('batches built to be huge: 200 within the budget, peak memory bounded', { skip, timeout: 120_000 }, async (t) => {
  // The answer budget lowered from its 32 MiB default to 12 MiB: a call is run only while the rest of
  // the budget holds its largest answer, so 4 of the 100 calls run (19 at 32 MiB) and the answer to
  // build, send and parse is a quarter. Keeping every answer would still take the gigabytes the peak is
  // checked against.
  const server = await startServer(t, { STORE_DIR: tempDir(t), WORKERS: '1', SEED_EXAMPLES: 'false', MAX_BATCH_RESPONSE_BYTES: String(BUDGET) });
  const pid = server.proc.pid!;
  const start = peakRss(pid);

  // each call: the whole output limit (1 MiB), i.e. 1.4 MB of base64 in its answer
  const writer = b64(await wat('(module (import "host" "output" (func $out (param i32 i32))) (memory 17) (func (export "main") i32.const 0 i32.const 1048576 call $out))'));
  const outputs = await server.request('POST', '/execute/batch', { calls: Array.from({ length: 100 }, () => ({ contract: { wasm: writer } })) }, { timeoutMs: 60_000 });
  t.equal(outputs.status, 200);
  t.ok(outputs.text.length <= BUDGET, `the answer is ${(outputs.text.length / MB).toFixed(1)} MiB, within the ${BUDGET / MB} MiB budget`);
  const ran = outputs.body.results.filter((x: any) => x.ok).length;
  t.ok(ran >= 3 && ran < 100, `${ran} calls ran, the others answered 413 too_large`);
  t.same(new Set(outputs.body.results.slice(ran).map((x: any) => x.error.kind)), new Set(['too_large']));

  // each call: 4 instructions of 16 MiB (the memory holds them), each over the record limit
  const flood = b64(
    await wat(RECORD_FLOOD_WAT),
  );
  const call = { contract: { wasm: flood }, iroha: { context: '' }, limits: { memoryBytes: 17_039_360 } };
  const iroha = await server.request('POST', '/execute/batch', { calls: Array.from({ length: 100 }, () => call) }, { timeoutMs: 60_000 });
  t.equal(iroha.status, 200);
  t.ok(iroha.text.length < MB, `${(iroha.text.length / 1024).toFixed(0)} KiB: every call a small trap`);
  t.same(new Set(iroha.body.results.map((x: any) => x.error?.kind)), new Set(['trap']));

  const peak = peakRss(pid);
  t.comment(`peak resident memory: ${(start / MB).toFixed(0)} MiB at start, ${(peak / MB).toFixed(0)} MiB after`);
  t.ok(peak < 700 * MB, `peak resident memory ${(peak / MB).toFixed(0)} MiB (keeping every answer took 1.2–1.7 GB)`);
  t.equal((await server.request('GET', '/ready')).status, 200, 'the server is fine');
});
