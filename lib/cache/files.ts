// The cache as ec2.py keeps it: ansible-ec2.cache (the inventory JSON, exactly as printed) and
// ansible-ec2.index (host → [region, id]) in cache_path. Same names, content and validity rule, so
// tools reading those files keep working; but each file is replaced atomically and created 0600,
// so a reader never sees half a file and a failed refresh never damages the previous one.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync, accessSync, constants } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { CacheError } from '../errors.js';

export interface CacheFiles {
  dir: string;
  cache: string;
  index: string;
}

export function cacheFiles(dir: string): CacheFiles {
  return { dir, cache: path.join(dir, 'ansible-ec2.cache'), index: path.join(dir, 'ansible-ec2.index') };
}

/** Creates cache_path if needed (as ec2.py does) and checks that it can be written before any API call. */
export function ensureCacheDir(files: CacheFiles): void {
  try {
    mkdirSync(files.dir, { recursive: true, mode: 0o700 });
    accessSync(files.dir, constants.W_OK | constants.X_OK);
  } catch (err) {
    throw new CacheError(`cache_path ${files.dir} is not a writable folder: ${(err as Error).message}`, files.dir, { cause: err });
  }
}

/** ec2.py is_cache_valid: the cache file is younger than max_age seconds and the index exists. */
export function is_cache_valid(files: CacheFiles, maxAgeSeconds: number, now = Date.now()): boolean {
  try {
    const st = statSync(files.cache);
    if (!st.isFile() || st.mtimeMs + maxAgeSeconds * 1000 <= now) return false;
    return statSync(files.index).isFile();
  } catch {
    return false;
  }
}

export function readCacheText(files: CacheFiles): string {
  return readText(files.cache);
}

export function readIndexText(files: CacheFiles): string {
  return readText(files.index);
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new CacheError(`cannot read cache file ${file}: ${(err as Error).message}`, file, { cause: err });
  }
}

/**
 * ec2.py write_to_cache for both files. The index goes first: the cache file's mtime is what
 * makes the pair valid, so it is renamed into place last.
 */
export function writeCache(files: CacheFiles, inventoryText: string, indexText: string): void {
  writeAtomic(files.index, indexText);
  writeAtomic(files.cache, inventoryText);
}

/** Temporary file in the same folder, fsync, rename: readers see the old or the new file, whole. */
export function writeAtomic(file: string, text: string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', 0o600);
    const data = Buffer.from(text, 'utf8');
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off, data.length - off);
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
