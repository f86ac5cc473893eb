/**
 * Relative paths on the command line are the caller's: against the working directory, or — under the
 * project's `npm run cli`, which runs in the project root — against the directory npm was run from
 * (INIT_CWD). Every file option follows it (modules, --input-file, batch files and the paths in them,
 * -o outputs, iroha-context files and --request), and a file that is not there is named as given, as
 * the absolute path tried and with the directory it was resolved against. Spawned from a temporary
 * directory, as `node dist/cli/main.js` and as `npm run --prefix <repo> cli`.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { plain } from '../support/plain-node.js';

// nothing of src/ or of the other helpers: this file only spawns the built CLI (cheap to load)
const ROOT = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');
const MAIN = join(ROOT, 'dist/cli/main.js');
const EX = (name: string) => join(ROOT, 'examples/wasm', name);
if (!existsSync(MAIN)) {
  const b = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  if (b.status !== 0) throw new Error(`build failed: ${b.stdout}${b.stderr}`);
}
const HERE = mkdtempSync(join(tmpdir(), 'wasm-runner-paths-'));
t.teardown(() => rmSync(HERE, { recursive: true, force: true }));
const tmp = { file: (name: string, content: string) => (writeFileSync(join(HERE, name), content), join(HERE, name)) };
copyFileSync(EX('hello.wasm'), join(HERE, 'hello.wasm'));
mkdirSync(join(HERE, 'sub'));
const ELSEWHERE = join(HERE, 'sub');

/** The environment of a user's shell: no tap hooks, no npm variables (tests run under `npm test`). */
const USER_ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(NODE_OPTIONS|NODE_V8_COVERAGE|_TAPJS_|TAP|npm_|INIT_CWD$)/.test(k)));

function spawn(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  const r = spawnSync(...plain(cmd, args), { cwd, env: { ...USER_ENV, ...env }, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stderr: r.stderr, json: () => JSON.parse(r.stdout) };
}
const node = (cwd: string, env: Record<string, string>, ...args: string[]) => spawn(process.execPath, [MAIN, ...args], cwd, env);
/** What `npm run cli` gives the CLI: it runs in the project root, INIT_CWD is where npm was run. */
const underNpmCli = { INIT_CWD: HERE, npm_lifecycle_event: 'cli' };

t.test('node dist/cli/main.js: against the working directory', async (t) => {
  // one process, several paths: a batch's calls are answered one by one
  tmp.file('calls.json', JSON.stringify([['hello.wasm', '--input-hex', '78'], ['nope.wasm'], [join(ELSEWHERE, 'nope.wasm')]]));
  const r = node(HERE, {}, 'batch', 'calls.json');
  const [ok, missing, absolute] = r.json().results;
  t.equal(Buffer.from(ok.result.output, 'base64').toString(), 'hello, x', 'the batch file and the module it names');
  t.equal(missing.error.message, `cannot read CONTRACT \`nope.wasm\`: no such file (looked at ${join(HERE, 'nope.wasm')}; a relative path is resolved against the working directory, ${HERE})`);
  t.equal(absolute.error.message, `cannot read CONTRACT \`${join(ELSEWHERE, 'nope.wasm')}\`: no such file`, 'an absolute path is only named');
  // INIT_CWD of another npm script (`npm test` spawning the CLI) is not where the paths come from
  const other = node(ELSEWHERE, { INIT_CWD: HERE, npm_lifecycle_event: 'test' }, 'inspect', 'hello.wasm');
  t.match(other.json().error.message, `looked at ${join(ELSEWHERE, 'hello.wasm')}; a relative path is resolved against the working directory, ${ELSEWHERE})`);
});

t.test('under `npm run cli` (INIT_CWD): every file option', async (t) => {
  const out = node(ROOT, underNpmCli, 'instrument', 'hello.wasm', '-o', 'metered.wasm');
  t.equal(out.code, 0, out.stderr);
  t.ok(existsSync(join(HERE, 'metered.wasm')), '-o: written in the caller’s directory');
  tmp.file('batch.json', JSON.stringify([['hello.wasm', '--input-file', 'in.txt'], ['metered.wasm', '--entry', 'nope'], ['hello.wasm', '--input-file', 'missing.bin']]));
  tmp.file('in.txt', 'x');
  const [first, second, third] = node(ROOT, underNpmCli, 'batch', 'batch.json').json().results;
  t.equal(Buffer.from(first.result.output, 'base64').toString(), 'hello, x', 'the batch file, and the module and input file it names');
  t.match(second, { status: 400, error: { message: /exports no function `nope`/ } }, 'the -o output is there too');
  t.equal(third.error.message, `cannot read --input-file \`missing.bin\`: no such file (looked at ${join(HERE, 'missing.bin')}; a relative path is resolved against the directory \`npm run cli\` was run from (INIT_CWD), ${HERE})`);
  tmp.file('ctx.json', JSON.stringify({ kind: 'executor', authority: `ed0120${'A1'.repeat(32)}@wonderland` }));
  const ctx = node(ROOT, underNpmCli, 'iroha-context', 'ctx.json', '--request', 'hello.wasm');
  t.equal(ctx.json().contract.hash, createHash('sha256').update(readFileSync(EX('hello.wasm'))).digest('hex'), 'iroha-context FILE and --request MODULE');
});

t.test('the real npm: `npm run --prefix <repo> cli -- run hello.wasm` from another directory', async (t) => {
  const r = spawn('npm', ['run', '--silent', '--prefix', ROOT, 'cli', '--', 'run', 'hello.wasm', '--input-hex', '6e706d'], HERE);
  t.equal(r.code, 0, r.stderr);
  t.equal(Buffer.from(r.json().result.output, 'base64').toString(), 'hello, npm');
});
