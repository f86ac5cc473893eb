#!/usr/bin/env node
// `npm test`'s build: `npm run build` (tsc) unless dist/ is newer than every input. tsc's own incremental
// no-op still loads the compiler and checks every file (~6 CPU-s); comparing times takes milliseconds.
// Inputs: src/, the tsconfigs and package-lock.json (a dependency's types can change the output).
// The time of dist/.tsbuildinfo is the last build's (tsc rewrites it when the build changed something,
// and this script touches it after a build that did not).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const mtime = (path) => {
  try {
    return statSync(join(root, path)).mtimeMs;
  } catch {
    return undefined;
  }
};
const newest = (dir) =>
  Math.max(0, ...readdirSync(join(root, dir), { withFileTypes: true }).map((e) => (e.isDirectory() ? newest(join(dir, e.name)) : (mtime(join(dir, e.name)) ?? 0))));

const built = mtime('dist/.tsbuildinfo');
const outputs = ['dist/server.js', 'dist/pool/worker.js', 'dist/cli/main.js'].every((f) => mtime(f) !== undefined);
const inputs = Math.max(newest('src'), ...['tsconfig.json', 'tsconfig.build.json', 'package-lock.json'].map((f) => mtime(f) ?? Infinity));
if (built === undefined || !outputs || inputs > built) {
  const r = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  // a build with nothing to change leaves .tsbuildinfo as it was: mark it as this build's
  if (r.status === 0) utimesSync(join(root, 'dist/.tsbuildinfo'), new Date(), new Date());
  process.exit(r.status ?? 1);
}
