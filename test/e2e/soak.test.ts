/**
 * A soak of the built service (scripts/soak-lib.ts, the same run as `npm run soak`): a mix of
 * executions, a batch, a 422 and a 404 at a steady rate; every answer equal to the first of its kind
 * (status, outcome, fuel, output), no errors, and resident memory, heap and handles bounded. 6 s in
 * `npm test`, 2 minutes in `npm run test:long`; longer: `npm run soak -- --minutes N --rate R`.
 */
import t from 'tap';
import { formatReport, soak } from '../../scripts/soak-lib.js';
import { longOr } from '../support/long.js';
import { startServer, tempDir } from './server-harness.js';

const MB = 1e6;
const SECONDS = longOr(120, 6);

t.test(`${SECONDS} s at 40 requests/s: no errors, bounded memory and handles`, { timeout: 120_000 + SECONDS * 1000 }, async (t) => {
  const server = await startServer(t, { STORE_DIR: tempDir(t), WORKERS: '2', SEED_EXAMPLES: 'false' });
  const r = await soak({ url: server.url, seconds: SECONDS, rate: 40 });
  t.comment(formatReport(r));
  t.same(r.errors, [], 'every answer the same as the first of its kind, none failed');
  t.equal(r.answered, r.sent, 'every request answered');
  t.ok(r.sent >= SECONDS * 40 * 0.9, `the rate held (${r.sent} sent)`);
  t.equal(Object.keys(r.byKind).length, 7, 'every kind of request ran');
  t.match(r.byKind['out of fuel']!.fingerprint, /^200:out_of_fuel:50000:/, 'out of fuel at the limit');
  // a leak of one prepared module or one 17-page memory per request would be tens of MB a second
  t.ok(r.rss.endBytes - r.rss.startBytes < 64 * MB, `resident memory settled (${(r.rss.startBytes / MB).toFixed(0)} → ${(r.rss.endBytes / MB).toFixed(0)} MB)`);
  t.ok(r.rss.maxBytes < 600 * MB, `at most ${(r.rss.maxBytes / MB).toFixed(0)} MB resident`);
  const handles = r.samples.map((s) => s.handles);
  t.ok(Math.max(...handles) < 200, `active handles bounded (max ${Math.max(...handles)})`);
  const heap = r.samples.map((s) => s.heapUsedBytes);
  t.ok(heap.at(-1)! < 4 * heap[Math.min(5, heap.length - 1)]! + 32 * MB, 'the main heap settled');
});
