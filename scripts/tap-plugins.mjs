#!/usr/bin/env node
// Builds tap's test class for the plugins of the tap config (.taprc, or TAP_RCFILE) when it was built for
// others, before the tests run. tap's runner does it itself when it starts, but keeps the build it loaded:
// on the first run after `npm ci` every test process then also gets the loaders of tap's default plugins
// (ts-node's among them), and the whole run takes ~1.7 times the CPU. A no-op when the build matches.
import { spawnSync } from 'node:child_process';

let stale = true;
try {
  // tap's own packages (dependencies of tap): the config's plugin list and the built class's
  const [{ TapConfig }, { signature }] = await Promise.all([import('@tapjs/config'), import('@tapjs/test')]);
  stale = signature !== (await TapConfig.load()).pluginSignature;
} catch {
  // their layout changed: build, as tap would
}
if (stale) {
  const r = spawnSync('tap', ['build'], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
