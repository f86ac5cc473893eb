/**
 * `npm start` stops when it is told to: npm passes SIGTERM and SIGINT on to the script's process, and
 * the script is `exec node dist/server.js`, so that process is the server itself, not a shell that dies
 * and leaves the server running and holding the port. Each case spawns `npm start` as a reader would
 * (its own process group, a free port, a temporary store), waits for GET /ready, signals, and checks
 * that the server drained and exited, that npm exited, and that the port is free.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { ROOT, childEnv, deadline, ensureBuilt, tempDir, tryConnect, waitFor } from '../e2e/server-harness.js';
import { plain } from '../support/plain-node.js';

ensureBuilt();

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The parent of `pid`, from /proc (Linux). */
const parentOf = (pid: number): number | undefined => {
  const stat = `/proc/${pid}/stat`;
  if (!existsSync(stat)) return undefined;
  return Number(readFileSync(stat, 'utf8').split(') ')[1]!.split(' ')[1]);
};

/**
 * The user's environment without tap's hooks or any setting of the service: the harness's (it reads the
 * config's variable names without importing src/config.ts, which costs ~1 CPU-s under the tests' loader).
 */
const env = childEnv;

interface Started {
  npm: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  port: number;
  /** The server's pid, from its log lines. */
  server: number;
  output: () => string;
}

async function npmStart(t: Test): Promise<Started> {
  const port = await freePort();
  const dir = tempDir(t, 'npm-start-');
  const npm = spawn(...plain('npm', ['start']), {
    cwd: ROOT,
    // its own process group, as a terminal gives a foreground job: the Ctrl-C case signals the group
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: env({ HOST: '127.0.0.1', PORT: String(port), STORE_DIR: join(dir, 'modules'), WORKERS: '1', SEED_EXAMPLES: 'false', LOG_LEVEL: 'info' }),
  });
  let out = '';
  npm.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  npm.stderr!.setEncoding('utf8').on('data', (s: string) => (out += s));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => npm.once('exit', (code, signal) => resolve({ code, signal })));
  // whatever happens, nothing of this case outlives the test: npm, and a server it may have orphaned
  const killAll = () => {
    for (const pid of [-npm.pid!, serverPid()]) {
      try {
        if (pid) process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  const serverPid = () => Number(/"pid":(\d+)/.exec(out)?.[1] ?? 0);
  process.once('exit', killAll);
  t.teardown(() => {
    process.removeListener('exit', killAll);
    killAll();
  });
  await waitFor(
    async () => {
      if (npm.exitCode !== null) throw new Error(`npm start exited (${npm.exitCode}):\n${out}`);
      // no request before the server says it listens: a refused fetch every 50 ms while three servers
      // start costs this process about a CPU-second
      if (!out.includes('Server listening at')) return undefined;
      const r = await fetch(`http://127.0.0.1:${port}/ready`, { signal: AbortSignal.timeout(1000) }).catch(() => undefined);
      return r?.status === 200 ? true : undefined;
    },
    30_000,
    `npm start to answer GET /ready 200 on port ${port}`,
    50,
  );
  const pidLine = /"pid":(\d+)/.exec(out);
  if (!pidLine) throw new Error(`no pid in the server's log:\n${out}`);
  return { npm, exited, port, server: Number(pidLine[1]), output: () => out };
}

const cases: Array<{ name: string; signal: NodeJS.Signals; group: boolean }> = [
  { name: 'SIGTERM to npm', signal: 'SIGTERM', group: false },
  { name: 'SIGINT to npm', signal: 'SIGINT', group: false },
  // a terminal's Ctrl-C: npm and the server both get SIGINT, and npm passes its copy on
  { name: 'Ctrl-C (SIGINT to the process group)', signal: 'SIGINT', group: true },
];

/** One case, start to exit: what the assertions look at (or why it could not get that far). */
async function run(c: (typeof cases)[number]) {
  try {
    const s = await npmStart(t);
    const parent = parentOf(s.server);
    process.kill(c.group ? -s.npm.pid! : s.npm.pid!, c.signal);
    const exit = await deadline(s.exited, 10_000, `npm start to exit after ${c.name}`).catch((e: Error) => e.message);
    await waitFor(() => (alive(s.server) ? undefined : true), 5000, `the server (pid ${s.server}) to exit`).catch(() => undefined);
    return { c, s, parent, exit, port: await tryConnect(s.port), error: undefined };
  } catch (e) {
    return { c, s: undefined, parent: undefined, exit: undefined, port: undefined, error: (e as Error).message };
  }
}

// the three cases side by side: each is mostly waiting for a server to start
const runs = await Promise.all(cases.map(run));

for (const r of runs) {
  t.test(r.c.name, async (t) => {
    if (r.error !== undefined || !r.s) return void t.fail(r.error ?? 'no run');
    const { s, parent, exit, port } = r;
    if (parent !== undefined) t.equal(parent, s.npm.pid, "the server is npm's own child: no shell in between");
    t.notOk(alive(s.server), 'the server process is gone');
    t.equal(port, 'ECONNREFUSED', 'the port is free');
    t.match(s.output(), /closing: draining in-flight requests/, 'the server drained (graceful shutdown)');
    t.notMatch(s.output(), /second signal: exiting now/, 'one stop, not two');
    t.same(exit, { code: 0, signal: null }, 'npm exits 0 with the server');
  });
}
