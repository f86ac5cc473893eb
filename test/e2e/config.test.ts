/**
 * A bad configuration is refused at start: exit code 78 (EX_CONFIG) and a message on stderr naming the
 * bad setting, before anything listens.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { runRefused, tempDir } from './server-harness.js';

/** Safe values for everything not under test: nothing binds a fixed port or writes a store if the start wrongly succeeds. */
const SAFE = { PORT: '0', STORE_DIR: 'none', SEED_EXAMPLES: 'false', WORKERS: '1' };

function refusedCleanly(t: Pick<typeof import('tap')['t'], 'same' | 'match' | 'notMatch'>, r: Awaited<ReturnType<typeof runRefused>>, name: RegExp): void {
  t.same({ code: r.code, signal: r.signal }, { code: 78, signal: null }, 'exit code 78');
  t.match(r.stderr, name, `stderr names the setting: ${r.stderr.trim()}`);
  t.notMatch(r.stdout, /Server listening/, 'never listened');
}

t.test('PORT=abc', async (t) => {
  const r = await runRefused(t, { ...SAFE, PORT: 'abc' });
  refusedCleanly(t, r, /\bPORT\b/);
  t.match(r.stderr, /abc/, 'and the bad value');
});

// Bad values the schema check finds are all named in one message (loadConfig: "naming every bad
// value"), so one start checks two of them: each refused start costs ~1.3 CPU-s (it loads the app first).
t.test('CONFIG_FILE with "workers": -3, and a bad LOG_LEVEL: both named', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'bad.json');
  writeFileSync(file, JSON.stringify({ workers: -3 }));
  const r = await runRefused(t, { ...SAFE, WORKERS: '', CONFIG_FILE: file, LOG_LEVEL: 'loud' });
  refusedCleanly(t, r, /\bworkers\b/);
  t.match(r.stderr, /-3/, 'and the bad value');
  t.match(r.stderr, /logLevel/, 'the bad LOG_LEVEL too');
  t.match(r.stderr, /loud/, 'and its value');
});

t.test('CONFIG_FILE that does not exist', async (t) => {
  const dir = tempDir(t);
  const missing = join(dir, 'missing.json');
  refusedCleanly(t, await runRefused(t, { ...SAFE, CONFIG_FILE: missing }), new RegExp(missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
});

t.test('a configuration whose worst-case memory exceeds the machine: refused, naming what to lower', async (t) => {
  // 1,000 workers × the 256 MiB memory ceiling is far more than any test machine has
  const r = await runRefused(t, { ...SAFE, WORKERS: '1000' });
  refusedCleanly(t, r, /this configuration may need [\d,]+ MiB of memory/);
  t.match(r.stderr, /1000 worker threads/, 'the breakdown');
  t.match(r.stderr, /CHECK_MEMORY_BUDGET=false/, 'and how to turn the check off');
});
