/**
 * The content-addressed module store (src/store/module-store.ts): put/get round trip and `created`,
 * persistence across a restart, the memory LRU's byte budget and the disk fallback, memory-only mode,
 * verification of what is read from disk (corrupt files moved aside, restored by a later put), hash
 * validation without file-system access, atomic writes under concurrency (no temp files left), init
 * errors and readiness. Every test uses its own temp directory, removed at the end.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import * as realFs from 'node:fs/promises';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ModuleStore, isModuleHash, type ModuleStoreOptions } from '../../src/store/module-store.js';

/** Anything with tap's teardown (the root `t` or a subtest). */
interface Teardown {
  teardown(fn: () => void): void;
}

function tempDir(tt: Teardown): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wcr-store-'));
  tt.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** `n` deterministic bytes, different for each seed (a wasm header first, for realism). */
function moduleBytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  b.set([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00].slice(0, n));
  let x = (seed * 2654435761 + 1) >>> 0;
  for (let i = Math.min(8, n); i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

function sha(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function fileOf(dir: string, hash: string): string {
  return path.join(dir, hash.slice(0, 2), `${hash}.wasm`);
}

/** Every file under `dir`, relative, sorted; but the modules' records (`<hash>.json`, test/store/module-list.test.ts). */
function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path.join(d, e.name), r);
      else if (!/^[0-9a-f]{64}\.json$/.test(e.name)) out.push(r);
    }
  };
  walk(dir, '');
  return out.sort();
}

function collectingLogger() {
  const warnings: { obj: Record<string, unknown>; msg: string }[] = [];
  return {
    warnings,
    logger: {
      warn(obj: object, msg: string) {
        warnings.push({ obj: obj as Record<string, unknown>, msg });
      },
    },
  };
}

async function openStore(opts: ModuleStoreOptions): Promise<ModuleStore> {
  const s = new ModuleStore(opts);
  await s.init();
  return s;
}

t.test('put/get round trip stores the bytes under their sha256', async (t) => {
  const dir = tempDir(t);
  const store = await openStore({ dir, memoryBudgetBytes: 1 << 20 });
  const bytes = moduleBytes(1000, 1);
  const expectedHash = sha(bytes);

  const r = await store.put(bytes);
  t.equal(r.hash, expectedHash);
  t.equal(r.created, true);
  t.ok(isModuleHash(r.hash));

  // The caller's buffer is copied: mutating it afterwards changes nothing stored.
  const original = bytes.slice();
  bytes.fill(0xee);
  const got = await store.get(r.hash);
  t.ok(got);
  t.same(Buffer.from(got!), Buffer.from(original));
  t.same(readFileSync(fileOf(dir, r.hash)), Buffer.from(original), 'on disk at <dir>/<xx>/<hash>.wasm');
  t.same(listFiles(dir), [`${r.hash.slice(0, 2)}/${r.hash}.wasm`]);

  t.equal(await store.has(r.hash), true);
  t.equal(await store.has(sha(moduleBytes(10, 99))), false);
  t.equal(await store.get(sha(moduleBytes(10, 99))), null, 'unknown hash');

  const s = store.stats();
  t.equal(s.puts, 1);
  t.equal(s.memoryHits, 1);
  t.equal(s.diskHits, 0);
  t.equal(s.misses, 1);
  t.equal(s.memoryEntries, 1);
  t.equal(s.memoryBytes, 1000);
  t.equal(s.corrupt, 0);
});

t.test('created is true for a new module, false when already known (memory, then disk)', async (t) => {
  const dir = tempDir(t);
  const a = moduleBytes(300, 2);
  const b = moduleBytes(300, 3);
  const store = await openStore({ dir, memoryBudgetBytes: 1 << 20 });
  t.same(await store.put(a), { hash: sha(a), created: true });
  t.same(await store.put(a), { hash: sha(a), created: false }, 'known in memory');
  t.same(await store.put(b), { hash: sha(b), created: true });
  t.equal(store.stats().puts, 3);

  const restarted = await openStore({ dir, memoryBudgetBytes: 1 << 20 });
  t.same(await restarted.put(a), { hash: sha(a), created: false }, 'known on disk only');
  t.same(listFiles(dir).length, 2);
});

t.test('modules persist across a restart (a new store on the same dir)', async (t) => {
  const dir = tempDir(t);
  const mods = [moduleBytes(500, 4), moduleBytes(700, 5), moduleBytes(1, 6), new Uint8Array(0)];
  const first = await openStore({ dir, memoryBudgetBytes: 1 << 20 });
  const hashes: string[] = [];
  for (const m of mods) hashes.push((await first.put(m)).hash);
  t.equal(hashes[3], sha(new Uint8Array(0)), 'even the empty byte string has a hash');

  const second = await openStore({ dir, memoryBudgetBytes: 1 << 20 });
  t.equal(second.stats().memoryEntries, 0);
  for (let i = 0; i < mods.length; i++) {
    t.equal(await second.has(hashes[i]!), true);
    const got = await second.get(hashes[i]!);
    t.ok(got, `module ${i} read back`);
    t.same(Buffer.from(got!), Buffer.from(mods[i]!));
  }
  t.equal(second.stats().diskHits, 4);
  // Read from disk once, then served from memory.
  await second.get(hashes[0]!);
  t.equal(second.stats().memoryHits, 1);
  t.equal(second.stats().diskHits, 4);
});

t.test('the memory LRU respects its byte budget; evicted modules are re-read from disk', async (t) => {
  const dir = tempDir(t);
  const store = await openStore({ dir, memoryBudgetBytes: 250 });
  const [a, b, c] = [moduleBytes(100, 7), moduleBytes(100, 8), moduleBytes(100, 9)];
  const ha = (await store.put(a)).hash;
  const hb = (await store.put(b)).hash;
  t.same([store.stats().memoryEntries, store.stats().memoryBytes], [2, 200]);
  const hc = (await store.put(c)).hash;
  t.same([store.stats().memoryEntries, store.stats().memoryBytes], [2, 200], 'a was evicted for c');

  t.same(Buffer.from((await store.get(hc))!), Buffer.from(c));
  t.same(store.stats().memoryHits, 1);
  t.same(Buffer.from((await store.get(ha))!), Buffer.from(a), 'evicted module read back from disk');
  t.same([store.stats().memoryHits, store.stats().diskHits], [1, 1]);
  // a is back in memory, evicting the least recently used (b).
  await store.get(ha);
  t.same([store.stats().memoryHits, store.stats().diskHits], [2, 1]);
  await store.get(hb);
  t.same([store.stats().memoryHits, store.stats().diskHits], [2, 2], 'b had been evicted');

  // A module larger than the whole budget is stored on disk but never held in memory.
  const big = moduleBytes(1000, 10);
  const before = store.stats();
  const hbig = (await store.put(big)).hash;
  t.same([store.stats().memoryEntries, store.stats().memoryBytes], [before.memoryEntries, before.memoryBytes]);
  t.same(Buffer.from((await store.get(hbig))!), Buffer.from(big));
  t.same(Buffer.from((await store.get(hbig))!), Buffer.from(big));
  t.equal(store.stats().diskHits, before.diskHits + 2, 'the big module is read from disk every time');
  t.ok(store.stats().memoryBytes <= 250);
});

t.test('memory-only mode (dir null): evicted modules are gone', async (t) => {
  const store = await openStore({ dir: null, memoryBudgetBytes: 250 });
  t.equal(await store.isReadable(), true);
  const [a, b, c] = [moduleBytes(100, 11), moduleBytes(100, 12), moduleBytes(100, 13)];
  const ha = (await store.put(a)).hash;
  await store.put(b);
  const hc = (await store.put(c)).hash;
  t.equal(await store.get(ha), null, 'evicted: gone');
  t.equal(await store.has(ha), false);
  t.same(Buffer.from((await store.get(hc))!), Buffer.from(c));
  t.same([store.stats().misses, store.stats().memoryHits, store.stats().diskHits], [1, 1, 0]);
  t.same(await store.put(a), { hash: ha, created: true }, 'a put after eviction creates it again');
  t.same(await store.put(a), { hash: ha, created: false });

  const none = await openStore({ dir: null, memoryBudgetBytes: 0 });
  const r = await none.put(a);
  t.equal(r.created, true);
  t.equal(await none.get(r.hash), null, 'a zero budget keeps nothing');
  t.same([none.stats().memoryEntries, none.stats().memoryBytes], [0, 0]);
});

t.test('a corrupt file is detected on read, counted, moved aside, and restored by a later put', async (t) => {
  const dir = tempDir(t);
  const bytes = moduleBytes(400, 14);
  const writer = await openStore({ dir, memoryBudgetBytes: 1 << 20 });
  const hash = (await writer.put(bytes)).hash;
  const file = fileOf(dir, hash);
  const bad = moduleBytes(400, 15);
  writeFileSync(file, bad);

  const { warnings, logger } = collectingLogger();
  const store = await openStore({ dir, memoryBudgetBytes: 1 << 20, logger });
  t.equal(await store.get(hash), null);
  const s = store.stats();
  t.same([s.corrupt, s.misses, s.diskHits, s.memoryEntries], [1, 1, 0, 0]);
  t.equal(warnings.length, 1);
  t.equal(warnings[0]!.obj.hash, hash);
  t.equal(existsSync(file), false, 'the corrupt file is no longer under its name');
  const aside = listFiles(dir).filter((f) => f.startsWith(`${hash.slice(0, 2)}/${hash}.corrupt-`));
  t.equal(aside.length, 1, 'moved aside to <hash>.corrupt-<time>');
  t.same(readFileSync(path.join(dir, aside[0]!)), Buffer.from(bad), 'the corrupt content is kept for inspection');
  t.equal(warnings[0]!.obj.movedTo, path.join(dir, aside[0]!));
  t.equal(await store.has(hash), false);
  t.equal(await store.get(hash), null, 'still unknown (the aside file is never read)');
  t.equal(store.stats().corrupt, 1);

  t.same(await store.put(bytes), { hash, created: true }, 'a later put restores it');
  t.same(readFileSync(file), Buffer.from(bytes));
  const fresh = await openStore({ dir, memoryBudgetBytes: 1 << 20 });
  t.same(Buffer.from((await fresh.get(hash))!), Buffer.from(bytes));
  t.equal(fresh.stats().diskHits, 1);
  t.equal(fresh.stats().corrupt, 0);
});

t.test('put over a corrupt (truncated) file on disk rewrites it', async (t) => {
  const dir = tempDir(t);
  const bytes = moduleBytes(400, 16);
  const hash = (await (await openStore({ dir, memoryBudgetBytes: 0 })).put(bytes)).hash;
  writeFileSync(fileOf(dir, hash), bytes.subarray(0, 100));

  const { warnings, logger } = collectingLogger();
  const store = await openStore({ dir, memoryBudgetBytes: 0, logger });
  t.same(await store.put(bytes), { hash, created: true });
  t.equal(store.stats().corrupt, 1);
  t.equal(warnings.length, 1);
  t.same(readFileSync(fileOf(dir, hash)), Buffer.from(bytes));
  t.same(Buffer.from((await store.get(hash))!), Buffer.from(bytes));
  t.equal(store.stats().diskHits, 1);
});

t.test('invalid hash strings answer null/false without touching the file system', async (t) => {
  const calls: string[] = [];
  const spyFs: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(realFs)) {
    spyFs[k] =
      typeof v === 'function'
        ? (...args: unknown[]) => {
            calls.push(`${k}(${String(args[0])})`);
            return (v as (...a: unknown[]) => unknown)(...args);
          }
        : v;
  }
  const mod = await t.mockImport<typeof import('../../src/store/module-store.js')>(
    '../../src/store/module-store.js',
    // the writes and reads go through atomic-file.js: it sees the same file system
    { 'node:fs/promises': spyFs, '../../src/store/atomic-file.js': await t.mockImport('../../src/store/atomic-file.js', { 'node:fs/promises': spyFs }) },
  );
  const dir = tempDir(t);
  // Something a traversal could reach: a file outside the store named like a module.
  const outside = path.join(dir, 'outside.wasm');
  writeFileSync(outside, 'secret');
  const storeDir = path.join(dir, 'store');
  const store = new mod.ModuleStore({ dir: storeDir, memoryBudgetBytes: 1 << 20 });
  await store.init();
  const known = (await store.put(moduleBytes(64, 17))).hash;
  // A store whose memory is empty, so any access would have to go to disk.
  const cold = new mod.ModuleStore({ dir: storeDir, memoryBudgetBytes: 1 << 20 });

  const invalid = [
    '../../etc/passwd',
    '../outside',
    `../${'a'.repeat(61)}`,
    known.toUpperCase(),
    known.slice(0, 63),
    `${known}0`,
    known.slice(0, 62) + 'A0',
    'g'.repeat(64),
    '',
    `${known.slice(0, 63)}\0`,
    `${known}\n`,
    ` ${known.slice(1)}`,
    `${known.slice(0, 2)}/${known.slice(3)}`,
    'constructor',
    '__proto__',
  ];
  calls.length = 0;
  for (const h of invalid) {
    t.equal(await cold.get(h), null, `get ${JSON.stringify(h)}`);
    t.equal(await cold.has(h), false, `has ${JSON.stringify(h)}`);
    t.equal(await store.get(h), null, `get ${JSON.stringify(h)} (warm store)`);
    t.equal(await store.has(h), false, `has ${JSON.stringify(h)} (warm store)`);
  }
  t.same(calls, [], 'no file-system call for any invalid hash');
  t.equal(cold.stats().misses, invalid.length);

  // Control: the spy does see the accesses a valid hash causes.
  t.ok(await cold.get(known));
  t.ok(calls.some((c) => c.startsWith('readFile(') && c.includes(known)), 'a valid hash is read from disk');
  t.equal(readFileSync(outside, 'utf8'), 'secret');
});

t.test('writes are atomic: no temp files left, concurrent puts are safe', async (t) => {
  t.test('20 concurrent puts of the same module in one store', async (t) => {
    const dir = tempDir(t);
    const store = await openStore({ dir, memoryBudgetBytes: 1 << 20 });
    const bytes = moduleBytes(5000, 18);
    const results = await Promise.all(Array.from({ length: 20 }, () => store.put(bytes)));
    t.ok(results.every((r) => r.hash === sha(bytes)));
    t.equal(results.filter((r) => r.created).length, 1, 'exactly one created');
    t.same(listFiles(dir), [`${sha(bytes).slice(0, 2)}/${sha(bytes)}.wasm`]);
    t.equal(store.stats().puts, 20);
    t.same(readFileSync(fileOf(dir, sha(bytes))), Buffer.from(bytes));
  });

  t.test('20 concurrent puts of the same module from 20 stores on one dir (as separate processes)', async (t) => {
    const dir = tempDir(t);
    const stores = await Promise.all(Array.from({ length: 20 }, () => openStore({ dir, memoryBudgetBytes: 0 })));
    const bytes = moduleBytes(20000, 19);
    const results = await Promise.all(stores.map((s) => s.put(bytes)));
    t.ok(results.every((r) => r.hash === sha(bytes)), 'all succeed');
    t.ok(results.some((r) => r.created));
    t.same(listFiles(dir), [`${sha(bytes).slice(0, 2)}/${sha(bytes)}.wasm`], 'one file, no temp files');
    t.same(readFileSync(fileOf(dir, sha(bytes))), Buffer.from(bytes));
    for (const s of stores) t.equal(s.stats().corrupt, 0);
  });

  t.test('20 concurrent puts of different modules', async (t) => {
    const dir = tempDir(t);
    const store = await openStore({ dir, memoryBudgetBytes: 1 << 20 });
    const mods = Array.from({ length: 20 }, (_, i) => moduleBytes(1000 + i, 100 + i));
    const results = await Promise.all(mods.map((m) => store.put(m)));
    t.ok(results.every((r) => r.created));
    const expected = mods.map((m) => `${sha(m).slice(0, 2)}/${sha(m)}.wasm`).sort();
    t.same(listFiles(dir), expected, 'exactly the 20 module files');
    const fresh = await openStore({ dir, memoryBudgetBytes: 1 << 20 });
    for (const m of mods) t.same(Buffer.from((await fresh.get(sha(m)))!), Buffer.from(m));
    t.equal(fresh.stats().diskHits, 20);
  });

  t.test('a failed write removes its temp file; the module is kept in memory, counted; a later put writes it', async (t) => {
    const failing: Record<string, unknown> = { ...realFs };
    let renames = 0;
    failing.rename = async (from: string, to: string) => {
      if (String(to).endsWith('.wasm') && renames++ === 0) {
        throw Object.assign(new Error('simulated EIO'), { code: 'EIO' });
      }
      return realFs.rename(from, to);
    };
    const mod = await t.mockImport<typeof import('../../src/store/module-store.js')>(
      '../../src/store/module-store.js',
      { 'node:fs/promises': failing, '../../src/store/atomic-file.js': await t.mockImport('../../src/store/atomic-file.js', { 'node:fs/promises': failing }) },
    );
    const dir = tempDir(t);
    const store = new mod.ModuleStore({ dir, memoryBudgetBytes: 1 << 20 });
    await store.init();
    const bytes = moduleBytes(100, 20);
    t.same(await store.put(bytes), { hash: sha(bytes), created: true }, 'the upload is not failed by the disk');
    t.same(listFiles(dir), [], 'no temp file, no module file');
    t.equal(await store.has(sha(bytes)), true, 'kept in memory');
    t.same(await store.get(sha(bytes)), bytes, 'and readable');
    t.equal(store.stats().diskErrors, 1, 'counted');
    t.same(await store.put(bytes), { hash: sha(bytes), created: false }, 'a later put of the same bytes…');
    t.same(listFiles(dir), [`${sha(bytes).slice(0, 2)}/${sha(bytes)}.wasm`], '…writes it to disk');
    t.equal(store.stats().diskErrors, 1);
  });
});

t.test('init creates the directory, or throws an error naming it', async (t) => {
  const dir = tempDir(t);
  const nested = path.join(dir, 'a', 'b', 'modules');
  await openStore({ dir: nested, memoryBudgetBytes: 0 });
  t.ok(existsSync(nested), 'created recursively');
  t.same(readdirSync(nested), [], 'the write probe is removed');

  const file = path.join(dir, 'regular-file');
  writeFileSync(file, 'x');
  const under = path.join(file, 'store');
  const store = new ModuleStore({ dir: under, memoryBudgetBytes: 0 });
  const err = await store.init().then(
    () => null,
    (e: unknown) => e,
  );
  t.ok(err instanceof Error, 'init rejects');
  t.match((err as Error).message, under, 'the message names the directory');
  t.match((err as Error).message, /cannot be created or written/);
  t.equal(await store.isReadable(), false);

  // The directory itself being a regular file.
  const store2 = new ModuleStore({ dir: file, memoryBudgetBytes: 0 });
  await t.rejects(store2.init(), { message: new RegExp(file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) });

  await t.resolves(new ModuleStore({ dir: null, memoryBudgetBytes: 0 }).init(), 'memory-only init is a no-op');
});

t.test('isReadable reflects the directory', async (t) => {
  const dir = tempDir(t);
  const storeDir = path.join(dir, 'modules');
  const store = new ModuleStore({ dir: storeDir, memoryBudgetBytes: 0 });
  t.equal(await store.isReadable(), false, 'before init the directory does not exist');
  await store.init();
  t.equal(await store.isReadable(), true);
  rmSync(storeDir, { recursive: true });
  t.equal(await store.isReadable(), false, 'removed');
  writeFileSync(storeDir, 'not a directory');
  t.equal(await store.isReadable(), false, 'replaced by a regular file');
  rmSync(storeDir);
  mkdirSync(storeDir);
  t.equal(await store.isReadable(), true, 'back');
  t.equal(await new ModuleStore({ dir: null, memoryBudgetBytes: 10 }).isReadable(), true);
});

t.test('a negative or non-finite memory budget is refused', async (t) => {
  t.throws(() => new ModuleStore({ dir: null, memoryBudgetBytes: -1 }), RangeError);
  t.throws(() => new ModuleStore({ dir: null, memoryBudgetBytes: Number.NaN }), RangeError);
});

t.test('memory only: evictions are counted and logged; has() counts as a use', async (t) => {
  const logged: Array<{ obj: any; msg: string }> = [];
  const logger = { warn: (obj: object, msg: string) => logged.push({ obj, msg }) };
  const store = await openStore({ dir: null, memoryBudgetBytes: 250, logger });
  const [a, b, c] = [moduleBytes(100, 31), moduleBytes(100, 32), moduleBytes(100, 33)];
  const [ha, hb, hc] = [a, b, c].map(sha) as [string, string, string];
  await store.put(a);
  await store.put(b);
  t.equal(await store.has(ha), true, 'a is known (and now the most recently used)');
  await store.put(c);
  t.equal(await store.has(hb), false, 'b, the least recently used, was evicted');
  t.equal(await store.has(ha), true, 'a stayed');
  t.equal(await store.has(hc), true);
  t.equal(store.stats().evictions, 1, 'counted');
  t.equal(logged.length, 1, 'logged');
  t.match(logged[0]!.msg, /memory only.*evicted.*404 until uploaded again/);
  t.equal(logged[0]!.obj.hash, hb);

  // with a directory an eviction is counted, not logged: the module is still on disk
  const onDisk: typeof logged = [];
  const disk = await openStore({ dir: tempDir(t), memoryBudgetBytes: 150, logger: { warn: (obj: object, msg: string) => onDisk.push({ obj, msg }), info: () => undefined } });
  await disk.put(a);
  await disk.put(b);
  t.equal(disk.stats().evictions, 1);
  t.same(onDisk, [], 'no warning');
  t.equal(await disk.has(ha), true, 'still stored');
});

t.test('a read out of file descriptors (EMFILE) is a StoreBusyError, not "unknown"', async (t) => {
  const failing: Record<string, unknown> = { ...realFs };
  let fail = false;
  failing.readFile = async (...args: unknown[]) => {
    if (fail) throw Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' });
    return (realFs.readFile as (...a: unknown[]) => Promise<Buffer>)(...args);
  };
  const mod = await t.mockImport<typeof import('../../src/store/module-store.js')>('../../src/store/module-store.js', {
    'node:fs/promises': failing,
    '../../src/store/atomic-file.js': await t.mockImport('../../src/store/atomic-file.js', { 'node:fs/promises': failing }),
  });
  const dir = tempDir(t);
  const bytes = moduleBytes(100, 34);
  await new mod.ModuleStore({ dir, memoryBudgetBytes: 0 }).put(bytes);
  const cold = new mod.ModuleStore({ dir, memoryBudgetBytes: 0 });
  fail = true;
  const err = await cold.get(sha(bytes)).then(() => null, (e: unknown) => e);
  t.ok(err instanceof mod.StoreBusyError, 'rejects with StoreBusyError');
  t.match((err as Error).message, /EMFILE.*out of file descriptors/);
  t.equal(cold.stats().diskErrors, 0, 'not a disk fault');
  fail = false;
  t.same(await cold.get(sha(bytes)), bytes, 'read once descriptors are free');
});
