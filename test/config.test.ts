/**
 * src/config.ts: config/default.json, then config/production.json (NODE_ENV=production), then
 * CONFIG_FILE, then environment variables, then overrides; bad values refused with a ConfigError
 * naming them; and `node dist/server.js` exiting 78 (EX_CONFIG) on a bad config.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import t from 'tap';
import { ConfigError, loadConfig, PROJECT_ROOT, validateConfig, workerCount } from '../src/config.js';
import { plainNode } from './support/plain-node.js';

const defaults = JSON.parse(readFileSync(resolve(PROJECT_ROOT, 'config/default.json'), 'utf8'));
const production = JSON.parse(readFileSync(resolve(PROJECT_ROOT, 'config/production.json'), 'utf8'));

const dir = mkdtempSync(join(tmpdir(), 'wcr-config-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
/** A config file with this content (an object is written as JSON, a string as it is). */
function configFile(content: unknown): string {
  const path = join(dir, `config-${files++}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

/** The ConfigError message of loading this env (and overrides); fails the test when it loads. */
function refused(t: Pick<(typeof import('tap'))['t'], 'type' | 'fail'>, env: NodeJS.ProcessEnv, overrides: Record<string, unknown> = {}): string {
  try {
    loadConfig(env, overrides);
  } catch (e) {
    t.type(e, ConfigError, 'a ConfigError');
    return (e as Error).message;
  }
  t.fail(`loaded: ${JSON.stringify(env)} ${JSON.stringify(overrides)}`);
  return '';
}

t.test('defaults: config/default.json as it is, and valid', async (t) => {
  const c = loadConfig({});
  t.same(c, defaults);
  t.equal(c.host, '127.0.0.1');
  t.equal(c.port, 8080);
  t.equal(c.limits.defaults.fuel, 55_000_000, 'the Iroha on-chain fuel default');
  t.equal(c.limits.defaults.memoryBytes, 55_000_000, 'the Iroha on-chain memory default');
  t.equal(c.policy.maxModuleBytes, 4 * 1024 * 1024, 'the Iroha contract size limit');
  t.same(validateConfig(structuredClone(defaults)), defaults);
  // loadConfig() reads process.env by default: with none of its variables set, the same
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (/^(HOST|PORT|LOG_LEVEL|WORKERS|MAX_QUEUE|BODY_LIMIT_BYTES|STORE_DIR|STORE_SHARED_|FUEL_|MEMORY_BYTES_|TIMEOUT_MS_|MAX_CALL_DEPTH|MAX_STACK_BYTES|DETERMINISTIC|SEED_EXAMPLES|CONFIG_FILE|NODE_ENV)/.test(k)) delete env[k];
  t.same(loadConfig(env), defaults);
});

t.test('environment variables override the defaults', async (t) => {
  const c = loadConfig({
    HOST: '::1',
    PORT: '9000',
    LOG_LEVEL: 'debug',
    WORKERS: '3',
    MAX_QUEUE: '7',
    BODY_LIMIT_BYTES: '2048',
    STORE_DIR: '/srv/modules',
    FUEL_DEFAULT: '1000',
    FUEL_MAX: '20000000000',
    MEMORY_BYTES_DEFAULT: '65536',
    MEMORY_BYTES_MAX: '131072',
    TIMEOUT_MS_DEFAULT: '100',
    TIMEOUT_MS_MAX: '200',
    MAX_STACK_BYTES: '524288',
    DETERMINISTIC: 'true',
    SEED_EXAMPLES: 'false',
  });
  t.equal(c.host, '::1');
  t.equal(c.port, 9000);
  t.equal(c.logLevel, 'debug');
  t.equal(c.workers, 3);
  t.equal(c.maxQueue, 7);
  t.equal(c.bodyLimitBytes, 2048);
  t.equal(c.store.dir, '/srv/modules');
  t.same(c.limits, { defaults: { fuel: 1000, memoryBytes: 65536, timeoutMs: 100 }, max: { fuel: 20_000_000_000, memoryBytes: 131072, timeoutMs: 200 } });
  t.equal(c.engine.maxStackBytes, 524288);
  t.equal(c.policy.deterministic, true);
  t.equal(c.seedExamples, false);
  // untouched values keep their defaults (a deep merge, not a replacement)
  t.same(c.engine.output, defaults.engine.output);
  t.same(c.store.memoryBudgetBytes, defaults.store.memoryBudgetBytes);

  t.equal(loadConfig({ STORE_DIR: 'none' }).store.dir, null, 'STORE_DIR=none: memory only');
  t.equal(loadConfig({ DETERMINISTIC: '1' }).policy.deterministic, true);
  t.equal(loadConfig({ DETERMINISTIC: '0', SEED_EXAMPLES: '1' }).policy.deterministic, false);
  t.equal(loadConfig({ PORT: '' }).port, defaults.port, 'an empty variable is ignored');
  t.equal(loadConfig({ PORT: '0' }).port, 0, 'port 0 (any free port) is allowed');
});

t.test('overrides beat environment variables', async (t) => {
  const c = loadConfig({ PORT: '9000', WORKERS: '3' }, { port: 9100, store: { dir: null } });
  t.equal(c.port, 9100);
  t.equal(c.workers, 3);
  t.equal(c.store.dir, null);
  t.equal(c.store.memoryBudgetBytes, defaults.store.memoryBudgetBytes, 'nested overrides merge');
});

t.test('CONFIG_FILE is merged over the defaults, under the environment', async (t) => {
  const file = configFile({ port: 1234, workers: 2, limits: { max: { fuel: 20_000_000_000 } }, policy: { deterministic: true }, store: { dir: null } });
  const c = loadConfig({ CONFIG_FILE: file });
  t.equal(c.port, 1234);
  t.equal(c.workers, 2);
  t.equal(c.limits.max.fuel, 20_000_000_000);
  t.same(c.limits.defaults, defaults.limits.defaults, 'siblings kept');
  t.equal(c.limits.max.memoryBytes, defaults.limits.max.memoryBytes, 'siblings kept, one level deeper');
  t.equal(c.policy.deterministic, true);
  t.equal(c.policy.maxModuleBytes, defaults.policy.maxModuleBytes);
  t.equal(c.store.dir, null, 'a file may set the store to memory only');
  t.equal(c.host, defaults.host);

  const withEnv = loadConfig({ CONFIG_FILE: file, PORT: '5678', STORE_DIR: '/x' });
  t.equal(withEnv.port, 5678, 'the environment beats the file');
  t.equal(withEnv.store.dir, '/x');
  t.equal(withEnv.workers, 2);

  // a relative CONFIG_FILE is resolved from the working directory
  const rel = relative(process.cwd(), file);
  t.notOk(isAbsolute(rel));
  t.equal(loadConfig({ CONFIG_FILE: rel }).port, 1234);
});

t.test('NODE_ENV=production: config/production.json (listens on all interfaces)', async (t) => {
  const c = loadConfig({ NODE_ENV: 'production' });
  t.equal(c.host, '0.0.0.0');
  t.equal(c.store.dir, production.store.dir);
  t.equal(c.port, defaults.port, 'the rest from the defaults');
  t.equal(loadConfig({ NODE_ENV: 'production', HOST: '127.0.0.1' }).host, '127.0.0.1', 'the environment still wins');
  t.equal(loadConfig({ NODE_ENV: 'production', CONFIG_FILE: configFile({ host: '10.0.0.1' }) }).host, '10.0.0.1', 'and CONFIG_FILE');
  t.equal(loadConfig({ NODE_ENV: 'development' }).host, '127.0.0.1', 'other NODE_ENV values change nothing');
});

t.test('bad values are refused with a message naming them', async (t) => {
  const m1 = refused(t, { PORT: 'abc' });
  t.match(m1, /PORT/);
  t.match(m1, /abc/);
  const m2 = refused(t, { WORKERS: '-1' });
  t.match(m2, /WORKERS/);
  t.match(m2, /-1/);
  const m3 = refused(t, { PORT: '99999' });
  t.match(m3, /port/);
  t.match(m3, /99999/);
  t.match(refused(t, { DETERMINISTIC: 'yes' }), /DETERMINISTIC.*yes/);
  t.match(refused(t, { FUEL_MAX: '1e9' }), /FUEL_MAX/);
  t.match(refused(t, { BODY_LIMIT_BYTES: '100' }), /bodyLimitBytes.*100/);
  t.match(refused(t, { LOG_LEVEL: 'loud' }), /logLevel.*loud/);
  t.match(refused(t, { MAX_STACK_BYTES: '1000' }), /maxStackBytes.*MAX_STACK_BYTES/);
  t.match(refused(t, { MAX_STACK_BYTES: String(32 * 1024 * 1024) }), /maxStackBytes/, 'above the ceiling');
  // the old names: a message naming the replacement
  t.match(refused(t, { MAX_CALL_DEPTH: '5000' }), /MAX_CALL_DEPTH was replaced by MAX_STACK_BYTES/);
  t.match(refused(t, { CONFIG_FILE: configFile({ engine: { maxCallDepth: 5000 } }) }), /engine\.maxCallDepth was replaced by engine\.maxStackBytes/);

  const level = refused(t, { CONFIG_FILE: configFile({ logLevel: 'loud' }) });
  t.match(level, /logLevel/);
  t.match(level, /loud/);

  for (const k of ['fuel', 'memoryBytes', 'timeoutMs'] as const) {
    const over = { limits: { defaults: { [k]: defaults.limits.max[k] + 1 } } };
    t.match(refused(t, { CONFIG_FILE: configFile(over) }), new RegExp(`limits\\.defaults\\.${k}.*above.*limits\\.max\\.${k}`), `defaults.${k} above max`);
  }
  t.match(refused(t, { FUEL_DEFAULT: '200', FUEL_MAX: '100' }), /limits\.defaults\.fuel \(200\).*limits\.max\.fuel \(100\)/);
  t.equal(loadConfig({ FUEL_DEFAULT: '100', FUEL_MAX: '100' }).limits.defaults.fuel, 100, 'default equal to max is fine');

  t.match(refused(t, { CONFIG_FILE: configFile({ prot: 8080 }) }), /prot/, 'an unknown top-level key');
  t.match(refused(t, { CONFIG_FILE: configFile({ limits: { max: { gas: 1 } } }) }), /gas/, 'an unknown nested key');
  t.match(refused(t, { CONFIG_FILE: configFile({ workers: '4' }) }), /workers/, 'a string for a number');
  t.match(refused(t, { CONFIG_FILE: configFile({ store: { dir: '' } }) }), /store\/dir|dir/, 'an empty store dir');

  const both = refused(t, { CONFIG_FILE: configFile({ port: -1, logLevel: 'loud' }) });
  t.match(both, /port/, 'every bad value named: port');
  t.match(both, /logLevel/, 'every bad value named: logLevel');

  const missing = join(dir, 'does-not-exist.json');
  const m4 = refused(t, { CONFIG_FILE: missing });
  t.match(m4, /cannot read config file/);
  t.match(m4, missing);
  const badJson = configFile('{"port": 80,');
  const m5 = refused(t, { CONFIG_FILE: badJson });
  t.match(m5, /not valid JSON/);
  t.match(m5, badJson);

  t.match(refused(t, {}, { logLevel: 'loud' }), /logLevel/, 'overrides are validated too');
  let empty: unknown;
  try {
    validateConfig({ ...defaults, host: '' });
  } catch (e) {
    empty = e;
  }
  t.type(empty, ConfigError, 'an empty host is refused');
  t.match((empty as Error | undefined)?.message, /host/);
});

t.test('the shared store: STORE_SHARED_URL, none, and a bad URL named without its password', async (t) => {
  t.equal(defaults.store.shared, null, 'off by default: one process, its own store');
  const c = loadConfig({ STORE_SHARED_URL: 'redis://:pw@redis:6379/0', STORE_SHARED_TIMEOUT_MS: '250' });
  t.equal(c.store.shared, 'redis://:pw@redis:6379/0');
  t.equal(c.store.sharedTimeoutMs, 250);
  t.equal(loadConfig({ STORE_SHARED_URL: 'rediss://redis:6380' }).store.shared, 'rediss://redis:6380', 'TLS');
  t.equal(loadConfig({ STORE_SHARED_URL: 'none' }, {}).store.shared, null, 'none: off');
  t.equal(loadConfig({ STORE_SHARED_URL: 'none', CONFIG_FILE: configFile({ store: { shared: 'redis://a:6379' } }) }).store.shared, null, 'none beats the file');
  const scheme = refused(t, { STORE_SHARED_URL: 'http://user:topsecret@redis:6379' });
  t.match(scheme, /store\/shared/);
  t.match(scheme, /http:\/\/user:\*\*\*@redis:6379/, 'the value named, its password masked');
  t.notMatch(scheme, /topsecret/);
  const broken = refused(t, { STORE_SHARED_URL: 'redis://:topsecret@[bad' });
  t.match(broken, /store\.shared .* is not a URL/);
  t.notMatch(broken, /topsecret/);
  t.match(refused(t, { STORE_SHARED_TIMEOUT_MS: '0' }), /sharedTimeoutMs/);
});

t.test('workerCount: the configured number, or one per core', async (t) => {
  t.equal(workerCount(loadConfig({ WORKERS: '3' })), 3);
  t.equal(workerCount(loadConfig({ WORKERS: '0' })), Math.max(1, availableParallelism()));
});

t.test('node dist/server.js with a bad config exits 78 with the message on stderr', async (t) => {
  const server = resolve(PROJECT_ROOT, 'dist/server.js');
  const run = (env: Record<string, string>) =>
    spawnSync(...plainNode([server]), { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 15_000 });
  const started = Date.now();
  const r = run({ PORT: '99999' });
  t.equal(r.error, undefined, 'exited by itself (no timeout)');
  t.equal(r.signal, null);
  t.equal(r.status, 78, 'EX_CONFIG');
  t.match(r.stderr, /port/);
  t.match(r.stderr, /99999/);
  t.equal(r.stdout, '', 'nothing on stdout (it never started)');
  t.ok(Date.now() - started < 10_000, 'quickly');

  const f = run({ CONFIG_FILE: join(dir, 'missing.json') });
  t.equal(f.status, 78);
  t.match(f.stderr, /cannot read config file .*missing\.json/);
});

t.test('http: timeouts and the connection cap from the environment; bad values named with their variable', async (t) => {
  t.same(defaults.http, { headersTimeoutMs: 10000, requestTimeoutMs: 30000, keepAliveTimeoutMs: 72000, maxConnections: 2048 }, 'the documented defaults');
  const c = loadConfig({ HTTP_HEADERS_TIMEOUT_MS: '1000', HTTP_REQUEST_TIMEOUT_MS: '2000', HTTP_KEEP_ALIVE_TIMEOUT_MS: '500', HTTP_MAX_CONNECTIONS: '10' });
  t.same(c.http, { headersTimeoutMs: 1000, requestTimeoutMs: 2000, keepAliveTimeoutMs: 500, maxConnections: 10 });
  t.match(refused(t, { HTTP_MAX_CONNECTIONS: '0' }), /\/http\/maxConnections \(environment variable HTTP_MAX_CONNECTIONS\)/);
  t.match(refused(t, { HTTP_REQUEST_TIMEOUT_MS: 'soon' }), /HTTP_REQUEST_TIMEOUT_MS.*non-negative integer/);
});

t.test('a short AUTH_TOKEN: the variable and the minimum length named, the token never shown', async (t) => {
  const m = refused(t, { AUTH_TOKEN: 'short-secret' });
  t.match(m, /AUTH_TOKEN/, 'names the variable');
  t.match(m, /at least 16 characters, got 12/, 'says the minimum and the length');
  t.notMatch(m, /short-secret/, 'never shows the token');
  t.notMatch(m, /Expected union value/, 'not the schema library\'s wording');
  t.match(refused(t, { CONFIG_FILE: configFile({ auth: { token: 42 } }) }), /auth\/token .*at least 16 characters, or null/);
});

t.test('a union says what each branch expects', async (t) => {
  t.match(refused(t, { LOG_LEVEL: 'loud' }), /\/logLevel \(environment variable LOG_LEVEL\): expected one of 'fatal', 'error', .*'silent' \(got "loud"\)/);
  t.match(refused(t, { POLICY_FLOATS: 'maybe' }), /POLICY_FLOATS\): expected one of 'allow', 'canonicalize', 'refuse'/);
  // every variable with allowed values names them
  t.match(refused(t, { LOG_LEVEL: 'verbose' }), /LOG_LEVEL\): expected one of 'fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent' \(got "verbose"\)/);
  t.match(refused(t, { METRICS_AUTH: 'closed' }), /\/auth\/metrics \(environment variable METRICS_AUTH\): expected one of 'open', 'token' \(got "closed"\)/);
});

t.test('memory only: the budget must hold the largest module', async (t) => {
  const m = refused(t, { STORE_DIR: 'none' }, { store: { memoryBudgetBytes: 1000 }, policy: { maxModuleBytes: 4096 } });
  t.match(m, /store\.dir is null \(memory only\), so store\.memoryBudgetBytes \(1000\) must be at least policy\.maxModuleBytes \(4096\)/);
  t.equal(loadConfig({ STORE_DIR: 'none' }, { store: { memoryBudgetBytes: 4096 }, policy: { maxModuleBytes: 4096 } }).store.memoryBudgetBytes, 4096, 'equal is fine');
  t.equal(loadConfig({}, { store: { memoryBudgetBytes: 0 } }).store.memoryBudgetBytes, 0, 'with a directory, any budget (a cache)');
});
