/**
 * The doc test: every command block of README.md and docs/*.md runs as written against the service
 * users run (`node dist/server.js`, spawned once for all documents, the bundled examples seeded on a
 * temporary store), and what it prints is compared with the answer the document shows. A block the
 * test cannot run (docker, npm start, a long benchmark, Redis) must say so with
 * `<!-- doc-test: skip (why) -->`, so a command that drifts fails here instead of in a reader's shell.
 * The rules: docs/TESTING.md, "The doc test"; the parsing: test/support/doc-blocks.ts.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { jsonSequence, normalText, withoutPaths } from '../support/doc-compare.js';
import { type CommandBlock, type Step, parseDoc, rewritePort } from '../support/doc-blocks.js';
import { cannotRun } from '../support/shell-words.js';
import { configEnvNames, ROOT, startServer, tempDir } from '../e2e/server-harness.js';
import { plain } from '../support/plain-node.js';

/** Every document a reader runs commands from. */
const DOCS = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
/** One document's shell, all its blocks, at most this long. */
const SHELL_MS = 60_000;

/** The environment of the documents' shell: the user's, without tap's hooks or the service's settings. */
function shellEnv(): NodeJS.ProcessEnv {
  // the names read from src/config.ts's text: importing it would load TypeBox through tsx's loader hooks (~1.2 CPU-s)
  const config = new Set([...configEnvNames(), 'MAX_CALL_DEPTH', 'CONFIG_FILE', 'NODE_ENV']);
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(NODE_OPTIONS|NODE_V8_COVERAGE|_TAPJS_|TAP)/.test(k) && !config.has(k)));
}

interface Outcome {
  finished: boolean;
  rc: number | null;
  /** How long the block took (a slow one shows in the test's output). */
  ms: number | null;
  stdout: string;
  stderr: string;
  /** HTTP statuses of the block's curl requests, in order. */
  http: number[];
  /** Commands of the block that exited non-zero, with their status. */
  failed: string[];
}

/**
 * Runs `steps` in document order in ONE bash (variables carry from block to block, as in a reader's
 * terminal), each step's output in its own files. `curl` is wrapped to write each answer's HTTP status,
 * and its own messages, to a third file (descriptor 3: a command's `2>&1` leaves its output clean), and
 * an ERR trap records every command that exits non-zero.
 */
async function runShell(steps: Step[], dir: string, port: number): Promise<Outcome[]> {
  const file = (k: number, what: string) => `'${dir}/${k}.${what}'`;
  const script = [
    'set -E',
    `trap 'printf "@@doc-test-failed %s: %s\\n" "$?" "$BASH_COMMAND" >&2' ERR`,
    `curl() { command curl -w '%{stderr}@@doc-test-http %{http_code}\\n' "$@" 2>&3; }`,
    ...steps.flatMap((s, k) => [
      `__doc_test_t0=$EPOCHREALTIME`,
      '{',
      rewritePort(s.script, port),
      `} >${file(k, 'out')} 2>${file(k, 'err')} 3>${file(k, 'curl')} </dev/null`,
      `echo $? $__doc_test_t0 $EPOCHREALTIME >${file(k, 'rc')}`,
    ]),
  ].join('\n');
  const child = spawn(...plain('bash', ['-c', script]), { cwd: ROOT, env: shellEnv(), stdio: 'ignore', detached: true });
  // the shell's process group: whatever a block left running goes with it
  const killGroup = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // gone already
    }
  };
  process.once('exit', killGroup);
  const timer = setTimeout(killGroup, SHELL_MS);
  await new Promise((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  killGroup();
  process.removeListener('exit', killGroup);
  const read = (f: string) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), 'utf8') : '');
  return steps.map((_, k) => {
    const [rc = '', t0, t1] = read(`${k}.rc`).trim().split(' ');
    const err = read(`${k}.err`).split('\n');
    const fromCurl = read(`${k}.curl`).split('\n');
    return {
      finished: rc !== '',
      rc: rc === '' ? null : Number(rc),
      ms: t0 && t1 ? Math.round((Number(t1) - Number(t0)) * 1000) : null,
      stdout: read(`${k}.out`),
      stderr: [...err, ...fromCurl].filter((l) => !l.startsWith('@@doc-test-')).join('\n').trim(),
      http: fromCurl.flatMap((l) => (/^@@doc-test-http \d+$/.test(l) ? [Number(l.split(' ')[1])] : [])),
      // the trap fires inside the curl wrapper and again where it was called: one line, named `curl`
      failed: [...new Set(err.flatMap((l) => (l.startsWith('@@doc-test-failed ') ? [l.slice('@@doc-test-failed '.length).replace(/command curl -w .*$/, 'curl')] : [])))],
    };
  });
}

/** A syntax error, from `bash -n`. */
function syntaxError(script: string): string | undefined {
  const r = spawnSync('bash', ['-n'], { input: script, encoding: 'utf8' });
  return r.status === 0 ? undefined : r.stderr.trim();
}

/** The assertions of one step: it ran, every command succeeded, every HTTP answer is a success unless shown, the shown answer matches. */
function check(t: Test, doc: string, step: Step, out: Outcome): void {
  const where = `${doc}:${step.line}`;
  const diag = { command: step.script, stdout: out.stdout.slice(0, 4000), stderr: out.stderr.slice(0, 4000) };
  if (!out.finished) {
    t.fail(`${where}: did not finish (the document's shell is stopped after ${SHELL_MS / 1000} s, or an earlier block ended it)`, diag);
    return;
  }
  for (const f of out.failed) t.fail(`${where}: a command exited with status ${f}`, diag);
  if (out.rc !== 0 && out.failed.length === 0) t.fail(`${where}: the block exited with status ${out.rc}`, diag);
  for (const status of out.http) {
    if (status === 0) t.fail(`${where}: curl could not reach the service`, diag);
    else if (status >= 400 && !step.expected) t.fail(`${where}: the service answered HTTP ${status} (show that answer after the block if it is meant)`, diag);
  }
  if (!step.expected) return void t.pass(`${where} ran (${out.ms} ms)`);
  const shown = step.expected;
  const expected = jsonSequence(shown.text);
  if (!expected) {
    if (shown.json) t.fail(`${doc}:${shown.line}: the answer shown is not JSON: fix it, or mark it <!-- doc-test: skip (why) -->`, diag);
    else t.equal(normalText(out.stdout), normalText(shown.text), `${where}: prints what ${doc}:${shown.line} shows`, diag);
    return;
  }
  const actual = jsonSequence(out.stdout);
  if (!actual) return void t.fail(`${where}: printed something that is not JSON, where ${doc}:${shown.line} shows JSON`, diag);
  const strip = (vs: unknown[]) => vs.map((v) => withoutPaths(v, shown.ignore));
  t.same(strip(actual), strip(expected), `${where}: answers what ${doc}:${shown.line} shows${shown.ignore.length ? `, ignoring ${shown.ignore.join(', ')}` : ''} (${out.ms} ms)`, {
    command: step.script,
    stderr: diag.stderr,
  });
}

interface Planned {
  doc: string;
  block: CommandBlock;
  /** Why it is not run: a skip marker, or a problem that fails it. */
  skip?: string;
  problem?: string;
}

const dataDir = tempDir(t, 'wasm-runner-docs-');
// the server starts (seeding the examples) while the documents are read and checked
const starting = startServer(t, { STORE_DIR: join(dataDir, 'modules'), WORKERS: '2' }, 60_000);

const plans = DOCS.map((doc) => {
  const parsed = parseDoc(readFileSync(join(ROOT, doc), 'utf8'));
  const blocks: Planned[] = parsed.blocks.map((block) => {
    if (block.markers.skip !== undefined) return { doc, block, skip: block.markers.skip };
    const script = block.steps.map((s) => s.script).join('\n');
    const blocked = cannotRun(script);
    if (blocked.length > 0) {
      const list = blocked.map((c) => `\`${c}\``).join(', ');
      return { doc, block, problem: `${list}: not ${blocked.length > 1 ? 'commands' : 'a command'} the doc test runs; mark the block <!-- doc-test: skip (why) --> or fix it` };
    }
    const bad = syntaxError(script);
    return bad === undefined ? { doc, block } : { doc, block, problem: `not valid bash: ${bad}` };
  });
  return { doc, problems: parsed.problems, blocks };
});

const server = await starting;
// the documents run side by side, each in its own shell and its own directory of outputs
const outcomes = await Promise.all(
  plans.map(async (p) => {
    const steps = p.blocks.filter((b) => !b.skip && !b.problem).flatMap((b) => b.block.steps);
    return new Map(steps.length === 0 ? [] : (await runShell(steps, tempDir(t, 'doc-test-out-'), server.port)).map((o, k) => [steps[k]!, o]));
  }),
);

plans.forEach((p, k) => {
  t.test(p.doc, async (t) => {
    for (const pr of p.problems) t.fail(`${p.doc}:${pr.line}: ${pr.message}`);
    for (const b of p.blocks) {
      const name = `${p.doc}:${b.block.line} ${b.block.steps[0]?.script.split('\n')[0] ?? ''}`;
      if (b.skip) {
        t.test(name, { skip: b.skip }, async () => undefined);
        continue;
      }
      if (b.problem) {
        t.fail(`${p.doc}:${b.block.line}: ${b.problem}`, { command: b.block.body });
        continue;
      }
      await t.test(name, async (t) => {
        for (const step of b.block.steps) check(t, p.doc, step, outcomes[k]!.get(step)!);
      });
    }
  });
});

// a parser that stopped seeing blocks would pass every document: the README, API.md and OPERATIONS.md
// alone hold five commands and three shown answers
const runnable = plans.flatMap((p) => p.blocks).filter((b) => !b.skip && !b.problem).flatMap((b) => b.block.steps);
t.ok(runnable.length >= 5, `commands run: ${runnable.length}`);
t.ok(runnable.filter((s) => s.expected).length >= 3, `answers compared: ${runnable.filter((s) => s.expected).length}`);
