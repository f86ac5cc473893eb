/** ArtifactStore: verified round trip, corruption moved aside, names that cannot leave the directory. */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ArtifactStore } from '../../src/store/artifact-store.js';

const H = 'ab'.repeat(32);
const warnings: string[] = [];
const logger = { warn: (_o: object, msg: string) => void warnings.push(msg) };

function fresh(t: { teardown(fn: () => void): void }): ArtifactStore {
  const dir = mkdtempSync(join(tmpdir(), 'wcr-artifact-store-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return new ArtifactStore(dir, logger);
}

t.test('round trip, per key', async (t) => {
  const s = fresh(t);
  t.equal(await s.get(H, 'v5:m1:t1'), null, 'nothing yet');
  t.equal(await s.put(H, 'v5:m1:t1', new Uint8Array([1, 2, 3])), true);
  t.same(await s.get(H, 'v5:m1:t1'), new Uint8Array([1, 2, 3]));
  t.equal(await s.get(H, 'v5:m1:t1:shared'), null, 'another key is another artifact');
  t.equal(await s.put(H, 'v5:m1:t1', new Uint8Array(0)), true, 'an empty payload is fine');
  t.same(await s.get(H, 'v5:m1:t1'), new Uint8Array(0), 'and replaced the earlier one');
  t.match(s.stats(), { hits: 2, misses: 2, written: 2, corrupt: 0, writeErrors: 0 });
});

t.test('a corrupt or truncated file is moved aside and answered as missing', async (t) => {
  const s = fresh(t);
  await s.put(H, 'k', new Uint8Array(100).fill(7));
  const sub = join(s.dir, 'ab');
  const file = join(sub, `${H}.k.prepared`);
  const bytes = readFileSync(file);
  bytes[50] ^= 1;
  writeFileSync(file, bytes);
  t.equal(await s.get(H, 'k'), null);
  t.notOk(existsSync(file), 'moved away');
  t.ok(readdirSync(sub).some((f) => f.startsWith(`${H}.k.corrupt-`)), 'kept aside for inspection');
  writeFileSync(file, new Uint8Array(5));
  t.equal(await s.get(H, 'k'), null, 'shorter than its checksum');
  t.equal(s.stats().corrupt, 2);
  t.ok(warnings.some((w) => w.includes('checksum mismatch')), 'logged');
});

t.test('hashes and keys that are not names are refused without touching the disk', async (t) => {
  const s = fresh(t);
  for (const [hash, key] of [['../' + H.slice(3), 'k'], [H.toUpperCase(), 'k'], [H, '../../x'], [H, 'a/b'], [H, '']]) {
    t.equal(await s.put(hash!, key!, new Uint8Array([1])), false, `put ${hash}/${key}`);
    t.equal(await s.get(hash!, key!), null, `get ${hash}/${key}`);
  }
  t.notOk(existsSync(s.dir), 'nothing was created');
});

t.test('a write that fails is counted and logged, not thrown', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wcr-artifact-store-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'prepared'), 'a file where the directory should be');
  const s = new ArtifactStore(dir, logger);
  t.equal(await s.put(H, 'k', new Uint8Array([1])), false);
  t.equal(s.stats().writeErrors, 1);
  t.ok(warnings.some((w) => w.includes('cannot be written')));
});
