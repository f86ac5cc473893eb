/**
 * `policy.floats` in the configuration (src/config.ts): "allow" by default, set by a config file or
 * POLICY_FLOATS, any other value refused naming the key; and the instrumentation settings it implies.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ConfigError, loadConfig } from '../src/config.js';
import { DEFAULT_ENGINE_CONFIG } from '../src/engine/defaults.js';
import { settingsFor } from '../src/engine/prepare.js';
import { floatsMode } from '../src/wasm/policy.js';

t.test('policy.floats: default, file, environment', async (t) => {
  t.equal(loadConfig({}).policy.floats, 'allow', 'default: allow');
  for (const v of ['allow', 'canonicalize', 'refuse'] as const) t.equal(loadConfig({ POLICY_FLOATS: v }).policy.floats, v, `POLICY_FLOATS=${v}`);
  const dir = mkdtempSync(join(tmpdir(), 'wcr-floats-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({ policy: { floats: 'canonicalize', deterministic: true } }));
  const c = loadConfig({ CONFIG_FILE: file });
  t.equal(c.policy.floats, 'canonicalize', 'from a config file');
  t.equal(c.policy.deterministic, true);
  t.equal(floatsMode(c.policy), 'canonicalize', 'deterministic + canonicalize: canonicalized');
  t.equal(settingsFor(DEFAULT_ENGINE_CONFIG.instrument, c.policy).canonicalizeNaN, true, 'and instrumented so');
  t.equal(loadConfig({ CONFIG_FILE: file, POLICY_FLOATS: 'refuse' }).policy.floats, 'refuse', 'the environment wins over the file');
  t.equal(floatsMode(loadConfig({ DETERMINISTIC: 'true' }).policy), 'refuse', 'DETERMINISTIC alone still refuses floats');

  for (const bad of [{ POLICY_FLOATS: 'canonicalise' }, { POLICY_FLOATS: 'true' }]) {
    try {
      loadConfig(bad);
      t.fail(`${bad.POLICY_FLOATS} loaded`);
    } catch (e) {
      t.type(e, ConfigError);
      t.match((e as Error).message, /\/policy\/floats/, `${bad.POLICY_FLOATS}: refused naming policy.floats`);
    }
  }
  t.throws(() => loadConfig({}, { policy: { floats: 1 } }), /\/policy\/floats/, 'a non-string');
});
