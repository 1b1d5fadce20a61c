import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { CacheError } from '../errors.js';

/**
 * A temporary file name beside `file` (same folder, so it can be renamed over it). The pattern is
 * what removeLeftovers (fileStore.ts) recognises as a killed writer's.
 */
export function tempPathFor(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * Temporary file in the same folder (mode 0600), fsync, rename: a reader sees the old file or the
 * new one, whole, and a failure leaves the old one in place.
 */
export function writeAtomic(file: string, data: string | Uint8Array): void {
  const tmp = tempPathFor(file);
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', 0o600);
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, file);
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    try { unlinkSync(tmp); } catch { /* never created */ }
    throw new CacheError(`cannot write cache file ${file}: ${(err as Error).message}`, file, { cause: err });
  }
}
