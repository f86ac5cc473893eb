/**
 * Listing the module store (ModuleStore.list, module-index.ts; GET /modules): pages in hash order
 * after a cursor, each module's first-seen time and summary kept in its record on disk, the same
 * after a restart (a new store over the directory), a record made again for a module stored without
 * one (its file's time), with a cut one, or with an older summary format; memory only, the LRU's modules and nothing
 * evicted; behind a shared store, what this replica holds.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Describer, ModuleStore, type ModuleRecord } from '../../src/store/module-store.js';
import type { SharedStore } from '../../src/store/shared-store.js';
import { TieredModuleStore } from '../../src/store/tiered-store.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const bytesOf = (i: number) => new Uint8Array(Buffer.from(`\0asm\x01\0\0\0module ${i}`, 'latin1'));

function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wcr-list-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A describer that records what it was asked to describe (its summary: the bytes' length and text). */
function describer(version = 'v1') {
  const described: string[] = [];
  const d: Describer = {
    version,
    describe: (b) => {
      described.push(sha(b));
      return { length: b.length, text: Buffer.from(b.subarray(8)).toString('latin1'), version };
    },
  };
  return { d, described };
}

/** Every page of the store, following `next`, with the page sizes. */
async function allPages(store: { list: ModuleStore['list'] }, limit: number) {
  const pages: ModuleRecord[][] = [];
  let after: string | null = null;
  for (let i = 0; i < 100; i++) {
    const page = await store.list(after, limit);
    pages.push(page.modules);
    if (page.next === null) break;
    t.equal(page.next, page.modules.at(-1)!.hash, 'next is the last hash of the page');
    after = page.next;
  }
  return pages;
}

t.test('a disk store: pages in hash order, first seen and summary kept across a restart', async (t) => {
  const dir = tempDir();
  const { d, described } = describer();
  const store = new ModuleStore({ dir, memoryBudgetBytes: 1 << 20, describer: d });
  await store.init();
  const modules = [0, 1, 2, 3, 4].map(bytesOf);
  const before = Date.now();
  for (const m of modules) await store.put(m);
  await store.put(modules[0]!); // known: no new record, no new description
  t.equal(described.length, 5, 'each module described once, when first stored');

  const hashes = modules.map(sha).sort();
  const pages = await allPages(store, 2);
  t.same(pages.map((p) => p.length), [2, 2, 1], '5 modules in pages of 2');
  const listed = pages.flat();
  t.same(listed.map((m) => m.hash), hashes, 'every module once, in hash order');
  for (const m of listed) {
    const i = modules.findIndex((b) => sha(b) === m.hash);
    t.equal(m.bytes, modules[i]!.length);
    t.same(m.summary, { length: modules[i]!.length, text: `module ${i}`, version: 'v1' }, 'the describer\'s summary');
    t.ok(Date.parse(m.firstSeen) >= before - 1000 && Date.parse(m.firstSeen) <= Date.now(), `first seen ${m.firstSeen} is when it was stored`);
  }
  t.same((await store.list(hashes[4]!, 10)).modules, [], 'after the last hash: an empty page');
  t.same((await store.list(hashes[1]!, 10)).modules.map((m) => m.hash), hashes.slice(2), 'a page starts after the cursor');
  t.equal((await store.list(null, 5)).next, null, 'a page holding the rest has no next');
  t.same(store.stats().memoryHits + store.stats().diskHits, 0, 'listing is no lookup');

  // a restart: a new store over the directory lists the same, with the same times, describing nothing
  const again = describer();
  const restarted = new ModuleStore({ dir, memoryBudgetBytes: 1 << 20, describer: again.d });
  await restarted.init();
  t.same((await allPages(restarted, 3)).flat(), listed, 'the same modules, times and summaries after a restart');
  t.same(again.described, [], 'read from the records, no module described again');
});

t.test('a module without a record gets one from its file; a new summary format is made again', async (t) => {
  const dir = tempDir();
  const store = new ModuleStore({ dir, memoryBudgetBytes: 0, describer: describer().d });
  const a = bytesOf(10);
  const b = bytesOf(11);
  await store.put(a);
  await store.put(b);
  const recordOf = (h: string) => path.join(dir, h.slice(0, 2), `${h}.json`);
  const kept = JSON.parse(readFileSync(recordOf(sha(b)), 'utf8'));
  unlinkSync(recordOf(sha(a))); // as stored by a version without records
  const mtime = statSync(path.join(dir, sha(a).slice(0, 2), `${sha(a)}.wasm`)).mtime.toISOString();

  const v2 = describer('v2');
  const next = new ModuleStore({ dir, memoryBudgetBytes: 0, describer: v2.d });
  const listed = (await next.list(null, 10)).modules;
  const byHash = Object.fromEntries(listed.map((m) => [m.hash, m]));
  t.equal(byHash[sha(a)]!.firstSeen, mtime, 'no record: first seen is the file\'s time');
  t.equal(byHash[sha(b)]!.firstSeen, kept.firstSeen, 'an older summary: made again, its first-seen time kept');
  t.same(listed.map((m) => (m.summary as { version: string }).version), ['v2', 'v2'], 'both summaries in the new format');
  t.same(v2.described.sort(), [sha(a), sha(b)].sort(), 'each described once from its verified bytes');
  t.equal(JSON.parse(readFileSync(recordOf(sha(a)), 'utf8')).firstSeen, mtime, 'and the record written for the next listing');
  await next.list(null, 10);
  t.equal(v2.described.length, 2, 'the next listing reads the records');

  // a record cut by a crash (records are not fsynced): made again, with the file's time
  writeFileSync(recordOf(sha(b)), '{"firstSe');
  const again = (await next.list(null, 10)).modules.find((m) => m.hash === sha(b))!;
  t.equal(again.firstSeen, statSync(path.join(dir, sha(b).slice(0, 2), `${sha(b)}.wasm`)).mtime.toISOString(), 'a cut record: made again from the file');
  t.equal(v2.described.length, 3);
});

t.test('memory only: the modules the LRU holds; an evicted one is gone from the list', async (t) => {
  const store = new ModuleStore({ dir: null, memoryBudgetBytes: 40, describer: describer().d });
  const [a, b, c] = [bytesOf(20), bytesOf(21), bytesOf(22)]; // 17 bytes each: two fit
  await store.put(a);
  await store.put(b);
  t.same((await store.list(null, 10)).modules.map((m) => m.hash), [sha(a), sha(b)].sort());
  await store.put(c); // evicts a, the least recently used
  const page = await store.list(null, 1);
  t.same(page.modules.map((m) => m.hash), [[sha(b), sha(c)].sort()[0]], 'pages of one');
  t.same((await store.list(page.next, 1)).modules.map((m) => m.hash), [[sha(b), sha(c)].sort()[1]]);
  t.notOk((await allPages(store, 10)).flat().some((m) => m.hash === sha(a)), 'the evicted module is not listed');
  t.equal(store.stats().evictions, 1);
});

t.test('behind a shared store: what this replica holds, a module read from the shared store included', async (t) => {
  const shared = new Map<string, Uint8Array>();
  const fake: SharedStore = {
    get: async (k) => shared.get(k) ?? null,
    put: async (k, v) => (shared.has(k) ? 'known' : (shared.set(k, v), 'written')),
    deleteIfEqual: async () => false,
    status: () => ({ url: 'fake://', state: 'up', lastError: null }),
    connected: async () => true,
    close: async () => undefined,
  };
  const replica = () => new TieredModuleStore({ local: new ModuleStore({ dir: tempDir(), memoryBudgetBytes: 1 << 20, describer: describer().d }), shared: fake, keyPrefix: 'p:' });
  const [one, two] = [replica(), replica()];
  const [a, b] = [bytesOf(30), bytesOf(31)];
  await one.put(a);
  await one.put(b);
  t.same((await two.list(null, 10)).modules, [], 'the other replica holds nothing yet');
  t.ok(await two.get(sha(a)), 'it reads one module from the shared store');
  await two.flush();
  t.same((await two.list(null, 10)).modules.map((m) => m.hash), [sha(a)], 'and lists that one');
  t.same((await one.list(null, 10)).modules.map((m) => m.hash), [sha(a), sha(b)].sort());
});

t.test('has() counts its answers: checks are lookups too', async (t) => {
  const store = new ModuleStore({ dir: tempDir(), memoryBudgetBytes: 1 << 20 });
  const a = bytesOf(40);
  await store.put(a);
  await store.has(sha(a));
  await store.has('0'.repeat(64));
  const cold = new ModuleStore({ dir: store.dir, memoryBudgetBytes: 1 << 20 });
  await cold.has(sha(a));
  t.match(store.stats(), { checkMemoryHits: 1, checkDiskHits: 0, checkMisses: 1, memoryHits: 0, misses: 0 });
  t.match(cold.stats(), { checkMemoryHits: 0, checkDiskHits: 1, checkMisses: 0 });
});
