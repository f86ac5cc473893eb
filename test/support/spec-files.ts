/**
 * Where the WebAssembly core spec test scripts live (`../shared/wasm-spec` beside the repository, see
 * its README: one folder per script, `<name>/<name>.json` plus the modules it references) and which
 * scripts there are.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LONG } from './long.js';

/** The repository root: the nearest folder above this file that holds a package.json. */
export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/** `<repo root>/../shared/wasm-spec`, or undefined when it is absent. */
export function specRoot(): string | undefined {
  const dir = path.resolve(repoRoot(), '../shared/wasm-spec');
  return existsSync(dir) && statSync(dir).isDirectory() ? dir : undefined;
}

/** Absolute folders of every script under `root` (folders holding `<name>/<name>.json`), sorted by name. */
export function listScripts(root: string): string[] {
  return readdirSync(root)
    .filter((name) => existsSync(path.join(root, name, `${name}.json`)))
    .sort()
    .map((name) => path.join(root, name));
}

/**
 * The numeric tables of the suite: SIMD lane arithmetic and comparisons, float constants and compares.
 * Thousands of assertions on one operator each, which the instrumenter meters like any other
 * instruction; the SIMD scripts kept below cover v128 locals, loads, stores and linking.
 */
const NUMERIC_TABLES = /^(simd_(?!address$|align$|linking$|load$|store$|splat$).*|const|f32|f64|f32_cmp|f64_cmp)$/;

/**
 * The scripts a differential test runs: every one under `npm run test:long`; under `npm test`, all
 * but the numeric tables (about 40% of the time; every control, call, memory, table and module
 * script is in).
 */
export function specSample(scripts: string[]): string[] {
  return LONG ? scripts : scripts.filter((dir) => !NUMERIC_TABLES.test(path.basename(dir)));
}
