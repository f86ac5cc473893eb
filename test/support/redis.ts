/**
 * A real Redis for the tests: the Debian package's `redis-server` (or $REDIS_SERVER), started on a free
 * loopback port with no persistence, stopped at teardown. Tests that need it skip, saying why, where the
 * binary is absent (`.ci/run` installs it, so CI runs them).
 *
 * It can be stopped and started again on the same port (an outage), frozen with SIGSTOP (a Redis that
 * stops answering: the connection stays open, nothing comes back) and thawed.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

export interface Teardown {
  teardown(fn: () => unknown): void;
}

/** The redis-server binary, or null when there is none. */
export function redisServerBinary(): string | null {
  const candidates = [process.env.REDIS_SERVER, '/usr/bin/redis-server', '/usr/local/bin/redis-server'].filter((x): x is string => !!x);
  for (const c of candidates) {
    if (spawnSync(c, ['--version'], { encoding: 'utf8', timeout: 5000 }).status === 0) return c;
  }
  const which = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  return which.status === 0 && which.stdout.trim() ? which.stdout.trim() : null;
}

/** Why Redis tests skip here, or false when they can run. */
export function redisSkip(): string | false {
  return redisServerBinary() ? false : 'no redis-server on this machine (apt-get install redis-server, or set REDIS_SERVER): .ci/run installs it';
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class TestRedis {
  private proc: ChildProcess | null = null;
  private log = '';
  port = 0;

  private constructor(private readonly bin: string) {}

  /** A running Redis on a free port, stopped at teardown. */
  static async start(t: Teardown): Promise<TestRedis> {
    const bin = redisServerBinary();
    if (!bin) throw new Error('no redis-server');
    const r = new TestRedis(bin);
    r.port = await freePort();
    const kill = () => r.proc?.kill('SIGKILL');
    process.once('exit', kill);
    t.teardown(async () => {
      process.removeListener('exit', kill);
      await r.stop();
    });
    await r.restart();
    return r;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}/0`;
  }

  get running(): boolean {
    return this.proc !== null;
  }

  /** Starts the server (again) on its port and waits until it answers PING. */
  async restart(): Promise<void> {
    if (this.proc) return;
    this.log = '';
    const proc = spawn(this.bin, ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes', '--loglevel', 'warning'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout!.setEncoding('utf8').on('data', (s: string) => (this.log += s));
    proc.stderr!.setEncoding('utf8').on('data', (s: string) => (this.log += s));
    proc.once('exit', () => {
      if (this.proc === proc) this.proc = null;
    });
    this.proc = proc;
    const end = performance.now() + 10_000;
    for (;;) {
      const c = new Redis({ port: this.port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null, connectTimeout: 500, maxRetriesPerRequest: 0 });
      c.on('error', () => undefined);
      try {
        await c.connect();
        if ((await c.ping()) === 'PONG') return;
      } catch {
        // not up yet
      } finally {
        c.disconnect();
      }
      if (!this.proc) throw new Error(`redis-server exited at start: ${this.log}`);
      if (performance.now() > end) throw new Error(`redis-server did not answer within 10 s: ${this.log}`);
      await sleep(50);
    }
  }

  /** Stops the server (SIGKILL: an outage, not a clean shutdown) and waits for its exit. */
  async stop(): Promise<void> {
    const p = this.proc;
    if (!p) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGCONT');
    p.kill('SIGKILL');
    await exited;
    this.proc = null;
  }

  /** SIGSTOP: the server keeps its connections and answers nothing. */
  freeze(): void {
    this.proc?.kill('SIGSTOP');
  }

  thaw(): void {
    this.proc?.kill('SIGCONT');
  }

  /** A client of the test's own, closed at teardown. */
  client(t: Teardown): Redis {
    const c = new Redis({ port: this.port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
    c.on('error', () => undefined);
    t.teardown(() => c.disconnect());
    return c;
  }
}
