/**
 * Reading and writing the files named on the command line; failures are `bad_request` naming the file.
 *
 * A relative path is the caller's: `npm run cli -- run hello.wasm` runs in the project root (npm's
 * doing), so under the project's `cli` script it is resolved against `INIT_CWD`, the directory the
 * command was typed in; otherwise against the working directory. Only under that script: in another
 * one (`npm test` running a test that spawns the CLI) INIT_CWD is not where the paths come from.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { badRequest } from '../engine/errors.js';

function reason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  switch (err.code) {
    case 'ENOENT':
      return 'no such file';
    case 'ENOTDIR':
      return 'a directory on the way is a file';
    case 'EISDIR':
      return 'it is a directory';
    case 'EACCES':
      return 'permission denied';
    default:
      return err.message ?? String(e);
  }
}

/** The directory relative paths are resolved against, and why it is that one. */
export function baseDir(): { dir: string; why: string } {
  const init = process.env.INIT_CWD;
  if (init && process.env.npm_lifecycle_event === 'cli') return { dir: init, why: 'the directory `npm run cli` was run from (INIT_CWD)' };
  return { dir: process.cwd(), why: 'the working directory' };
}

/** The absolute path of a path given on the command line (see the module comment). */
export function resolvePath(path: string): string {
  return isAbsolute(path) ? path : resolve(baseDir().dir, path);
}

/**
 * "cannot read CONTRACT `hello.wasm`: no such file (looked at /tmp/x/hello.wasm; a relative path is
 * resolved against the working directory, /tmp/x)".
 */
function failure(verb: string, what: string, path: string, e: unknown): Error {
  const base = baseDir();
  const where = isAbsolute(path) ? '' : ` (looked at ${resolvePath(path)}; a relative path is resolved against ${base.why}, ${base.dir})`;
  return badRequest(`cannot ${verb} ${what} \`${path}\`: ${reason(e)}${where}`);
}

/** `what` says which argument named the file, e.g. "CONTRACT" or "--input-file". */
export function readBytes(path: string, what: string): Uint8Array {
  try {
    const b = readFileSync(resolvePath(path));
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (e) {
    throw failure('read', what, path, e);
  }
}

export function readText(path: string, what: string): string {
  return new TextDecoder().decode(readBytes(path, what));
}

/** `path`, or standard input for `-`. */
export function readTextOrStdin(path: string, what: string): string {
  if (path !== '-') return readText(path, what);
  try {
    return readFileSync(0, 'utf8');
  } catch (e) {
    throw badRequest(`cannot read ${what} from standard input: ${reason(e)}`);
  }
}

export function writeBytes(path: string, bytes: Uint8Array, what: string): void {
  try {
    writeFileSync(resolvePath(path), bytes);
  } catch (e) {
    throw failure('write', what, path, e);
  }
}
