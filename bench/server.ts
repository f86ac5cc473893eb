/** Starting the built service (or another server script) as a child process for a benchmark. */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { ROOT } from './corpus.js';

/**
 * Starts `node ARGS` (or `PREFIX... node ARGS`, e.g. `taskset -c 0`); resolves with its base URL once it
 * logs where it listens. Its logs go on being read (and dropped), as a real deployment writes them.
 */
export function startServer(args: string[], env: Record<string, string>, prefix: string[] = []): Promise<{ url: string; proc: ChildProcess }> {
  const [cmd, all] = prefix.length ? [prefix[0]!, [...prefix.slice(1), process.execPath, ...args]] : [process.execPath, args];
  const proc = spawn(cmd, all, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((done, fail) => {
    let buf = '';
    const timer = setTimeout(() => fail(new Error(`${args.join(' ')} did not start`)), 20_000);
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(buf);
      if (m) {
        clearTimeout(timer);
        proc.stdout!.removeAllListeners('data');
        proc.stdout!.resume(); // keep draining the logs
        done({ url: m[1]!, proc });
      }
    });
    proc.on('exit', (code) => fail(new Error(`${args.join(' ')} exited with ${code}`)));
  });
}

/** Polls GET /ready until it answers 200 (20 s at most). */
export async function ready(url: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const r = await fetch(`${url}/ready`).catch(() => null);
    if (r?.ok) return;
    await new Promise((d) => setTimeout(d, 100));
  }
  throw new Error('service not ready');
}

/** SIGTERM, then waits for the exit (the service drains its requests first). */
export async function stopServer(proc: ChildProcess): Promise<void> {
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await exited;
}

/** Whether Debian's redis-server is installed. */
export const hasRedis = (): boolean => spawnSync('redis-server', ['--version']).status === 0;

/** A Redis without persistence on 127.0.0.1:`port`, answering PING; kill it with SIGKILL when done. */
export async function startRedis(port: number): Promise<ChildProcess> {
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    if (spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout?.trim() === 'PONG') return proc;
    await new Promise((d) => setTimeout(d, 50));
  }
  proc.kill('SIGKILL');
  throw new Error(`redis-server on port ${port} did not answer`);
}
