/** Reading and writing the files named on the command line; failures are `bad_request` naming the file. */
import { readFileSync, writeFileSync } from 'node:fs';
import { badRequest } from '../engine/errors.js';

function reason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  switch (err.code) {
    case 'ENOENT':
      return 'no such file';
    case 'EISDIR':
      return 'it is a directory';
    case 'EACCES':
      return 'permission denied';
    default:
      return err.message ?? String(e);
  }
}

/** `what` says which argument named the file, e.g. "CONTRACT" or "--input-file". */
export function readBytes(path: string, what: string): Uint8Array {
  try {
    const b = readFileSync(path);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (e) {
    throw badRequest(`cannot read ${what} \`${path}\`: ${reason(e)}`);
  }
}

export function readText(path: string, what: string): string {
  return new TextDecoder().decode(readBytes(path, what));
}

export function writeBytes(path: string, bytes: Uint8Array, what: string): void {
  try {
    writeFileSync(path, bytes);
  } catch (e) {
    throw badRequest(`cannot write ${what} \`${path}\`: ${reason(e)}`);
  }
}
