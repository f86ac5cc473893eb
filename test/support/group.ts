/**
 * Runs several test files in one test process (test/groups/). tap gives each test file a process of its
 * own, and each such process pays a fixed cost before its first assertion (tap and tsx, TypeBox, the
 * app's modules: 2-5 CPU-s), so files that need no process of their own share one.
 *
 * The files run one after the other, each as it would alone: a file is imported only when the tests of
 * the one before it have ended, so what it schedules on tap's root (its tests, `t.before`, its root
 * assertions) runs before the next file is loaded. The teardowns it registers on the root run when its
 * last test has ended (in a subtest "<file>: teardown"), not when the process ends, so no file keeps an
 * app, a pool or a server alive while the next one runs.
 *
 * What a grouped file must not do: plan the root (`t.plan`: skip with a skipped subtest instead), or
 * change the process for the files after it (a V8 flag, an environment variable) unless it is the last
 * of its group.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import { GROUPS, TEST_ROOT } from '../groups/manifest.js';

type Teardown = () => unknown;

export async function runGroup(name: string): Promise<void> {
  const files = GROUPS[name];
  if (!files) throw new Error(`no test group "${name}" in test/groups/manifest.ts`);
  const rootTeardown = t.teardown;
  for (const file of files) {
    const teardowns: Teardown[] = [];
    t.teardown = (fn: Teardown) => void teardowns.push(fn);
    let loadError: unknown;
    try {
      await import(pathToFileURL(resolve(TEST_ROOT, file)).href);
    } catch (err) {
      loadError = err;
    }
    // Queued after every test the file scheduled, so it starts when the last of them has ended.
    await t.test(`${file}: teardown`, async (st) => {
      t.teardown = rootTeardown;
      if (loadError !== undefined) st.error(loadError, `${file} failed to load`);
      // Last registered, first run: the order tap runs a file's root teardowns in.
      for (const fn of teardowns.reverse()) await fn();
      st.pass(`${file}: ${teardowns.length} teardowns run`);
    });
  }
}
