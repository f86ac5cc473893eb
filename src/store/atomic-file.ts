/**
 * Atomic file writes for the stores: the bytes go to a temp file beside the target
 * (`<name>.tmp-<pid>-<random>`), are fsynced, then renamed over the final name, so readers see either
 * no file or a complete one. A failed write removes its temp file; one left by a crash is inert (its
 * name never matches what the stores read).
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import path from 'node:path';

/** `durable: false` skips the fsync: for files that can be made again (a crash may leave an empty one). */
export async function writeFileAtomic(file: string, bytes: Uint8Array, { durable = true } = {}): Promise<void> {
  const dir = path.dirname(file);
  await fs.mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `${path.basename(file)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  try {
    const fh = await fs.open(tmp, 'wx');
    try {
      await fh.writeFile(bytes);
      if (durable) await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}

export function errCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

/** The file's bytes, or null when it does not exist. */
export async function readFileOrNull(file: string): Promise<Uint8Array | null> {
  try {
    const buf = await fs.readFile(file);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (err) {
    if (errCode(err) === 'ENOENT' || errCode(err) === 'ENOTDIR') return null;
    throw err;
  }
}

/** Renames a file whose content failed its check to `<name>.corrupt-<epoch ms>`; the new path, or null when it was already gone. */
export async function moveAside(file: string): Promise<string | null> {
  const aside = `${file.replace(/\.[a-z]+$/, '')}.corrupt-${Date.now()}`;
  try {
    await fs.rename(file, aside);
    return aside;
  } catch (err) {
    if (errCode(err) === 'ENOENT') return null;
    throw err;
  }
}
