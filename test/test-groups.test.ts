/**
 * test/groups/manifest.ts: `npm test` runs the group files (.taprc `include`), so a test file in no group
 * would never run. Every test file is in exactly one group, and every group has its entry file.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import t from 'tap';
import { GROUPS, TEST_ROOT } from './groups/manifest.js';

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return testFiles(path);
    return e.name.endsWith('.test.ts') ? [relative(TEST_ROOT, path)] : [];
  });
}

const all = testFiles(join(TEST_ROOT, 'test'));
const entries = all.filter((f) => f.startsWith('test/groups/'));
const members = all.filter((f) => !f.startsWith('test/groups/'));

t.test('every test file is in exactly one group', async (t) => {
  const listed = Object.values(GROUPS).flat();
  const missing = members.filter((f) => !listed.includes(f));
  t.same(missing, [], 'each in a group (add a file missing here to a group in test/groups/manifest.ts)');
  const twice = listed.filter((f, i) => listed.indexOf(f) !== i);
  t.same(twice, [], 'listed twice');
  const gone = listed.filter((f) => !members.includes(f));
  t.same(gone, [], 'listed but not found');
  t.ok(members.length > 50, `${members.length} test files in ${Object.keys(GROUPS).length} groups`);
});

t.test('every group has its entry file, and only they are in test/groups', async (t) => {
  const expected = Object.keys(GROUPS).map((g) => `test/groups/${g}.test.ts`);
  t.same([...entries].sort(), [...expected].sort());
  for (const [group, file] of Object.keys(GROUPS).map((g) => [g, `test/groups/${g}.test.ts`])) {
    if (!entries.includes(file)) continue;
    t.match(readFileSync(join(TEST_ROOT, file), 'utf8'), `await runGroup('${group}');`, `${file} runs its group`);
  }
});

t.test('npm test runs the group files', async (t) => {
  const rc = readFileSync(join(TEST_ROOT, '.taprc'), 'utf8');
  t.match(rc, /include:\s*\n\s*- "test\/groups\/\*\.test\.ts"\s*\n/, '.taprc includes test/groups/*.test.ts only');
});
