/** Starting the built service (or another server script) as a child process for a benchmark. */
import { type ChildProcess, spawn } from 'node:child_process';
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
