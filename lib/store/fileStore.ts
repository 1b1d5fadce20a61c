// The default cache store: ec2.py's ansible-ec2.cache and ansible-ec2.index in cache_path, with the
// same content, so tools and cron jobs that read those files keep working. A small sidecar,
// ansible-ec2.meta, says which configuration (digest) the pair belongs to, when it was written and
// how long each file is; it is what lets a reader trust the pair without parsing it.
//
// Writers (one at a time, under the lock) replace every file atomically, in the order
// meta→"pending", index, cache, meta→final. Readers read meta, the files, then meta again, and
// accept the pair only if both meta reads are the same final one: a pair being rewritten, a
// truncated file, or a pair written for another configuration is never served.
import { EventEmitter } from 'node:events';
import { readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { KeyvStoreAdapter, StoredData } from 'keyv';
import { CacheError } from '../errors.js';
import { writeAtomic } from './atomic.js';
import { lockFolder } from './lock.js';
import type { CacheEntry, CacheLock, FileCacheEntry } from './types.js';
import type { ReadKey } from '../settings/readKey.js';
import { CACHE_FILE, INDEX_FILE, LOCK_FILE, META_FILE } from './layout.js';

export interface CacheFiles {
  dir: string;
  cache: string;
  index: string;
  meta: string;
  lock: string;
  /** A nonce replaced whenever provisioning adds or removes hosts (see InventoryCache.clear). */
  hostsChanged: string;
}

export function cacheFiles(dir: string): CacheFiles {
  const at = (name: string) => path.join(dir, name);
  return {
    dir, cache: at(CACHE_FILE), index: at(INDEX_FILE), meta: at(META_FILE), lock: at(LOCK_FILE),
    hostsChanged: at('ec2-inventory.hosts-changed'),
  };
}

/** The hosts-changed nonce ('' before any change). */
export function hostsGeneration(files: CacheFiles): string {
  try {
    return readFileSync(files.hostsChanged, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw new CacheError(`cannot read ${files.hostsChanged}: ${(err as Error).message}`, files.hostsChanged, { cause: err });
  }
}

/** A new hosts-changed nonce, then no entry: the order InventoryCache.clear promises. */
export function dropEntries(files: CacheFiles): void {
  writeAtomic(files.hostsChanged, randomBytes(8).toString('hex'));
  rmSync(files.meta, { force: true });
}

interface Meta {
  digest: string;
  writtenAt: number;
  nonce: string;
  cacheBytes: number;
  indexBytes: number;
  /** What lets lib/cli/cached.ts serve the pair without parsing settings. */
  read?: ReadKey;
}

function readMeta(files: CacheFiles): Meta | undefined {
  try {
    const meta = JSON.parse(readFileSync(files.meta, 'utf8')) as Partial<Meta>;
    if (typeof meta.digest !== 'string' || typeof meta.writtenAt !== 'number' || typeof meta.nonce !== 'string') return undefined;
    return meta as Meta;
  } catch {
    return undefined;
  }
}

/** When the pair for `digest` was written, from the meta alone; undefined when there is none. */
export function readMetaWrittenAt(files: CacheFiles, digest: string): number | undefined {
  const meta = readMeta(files);
  return meta && meta.digest === digest ? meta.writtenAt : undefined;
}

/** Reads the pair for `digest`, or undefined when it is absent, damaged, foreign or being rewritten. */
export function readEntry(files: CacheFiles, digest: string): CacheEntry | undefined {
  const before = readMeta(files);
  if (!before || before.digest !== digest) return undefined;
  let inventory: Buffer;
  let index: Buffer;
  try {
    inventory = readFileSync(files.cache);
    index = readFileSync(files.index);
  } catch {
    return undefined;
  }
  if (inventory.length !== before.cacheBytes || index.length !== before.indexBytes) return undefined;
  const after = readMeta(files);
  if (!after || after.nonce !== before.nonce) return undefined;
  return { inventory, index, writtenAt: before.writtenAt };
}

export function writeEntry(files: CacheFiles, digest: string, entry: CacheEntry | FileCacheEntry): void {
  const nonce = randomBytes(8).toString('hex');
  const index = typeof entry.index === 'string' ? Buffer.from(entry.index) : entry.index;
  writeAtomic(files.meta, JSON.stringify({ digest: '', writtenAt: 0, nonce: `pending-${nonce}`, cacheBytes: -1, indexBytes: -1 }));
  writeAtomic(files.index, index);
  let cacheBytes: number;
  if ('inventoryFile' in entry) {
    // Built in this folder and fsynced by its writer: moving it into place is the atomic step.
    try {
      cacheBytes = statSync(entry.inventoryFile).size;
      renameSync(entry.inventoryFile, files.cache);
    } catch (err) {
      try { unlinkSync(entry.inventoryFile); } catch { /* already gone */ }
      throw new CacheError(`cannot write cache file ${files.cache}: ${(err as Error).message}`, files.cache, { cause: err });
    }
  } else {
    const inventory = typeof entry.inventory === 'string' ? Buffer.from(entry.inventory) : entry.inventory;
    writeAtomic(files.cache, inventory);
    cacheBytes = inventory.length;
  }
  const meta: Meta = { digest, writtenAt: entry.writtenAt, nonce, cacheBytes, indexBytes: index.length };
  if (entry.readKey) meta.read = entry.readKey;
  writeAtomic(files.meta, JSON.stringify(meta));
}

/** keyv store adapter over the files; keys are `<namespace>:<digest>`. */
export class KeyvFileStore extends EventEmitter implements KeyvStoreAdapter {
  opts: { dir: string };
  namespace?: string;

  constructor(readonly files: CacheFiles) {
    super();
    this.opts = { dir: files.dir };
  }

  async get<Value>(key: string): Promise<StoredData<Value> | undefined> {
    const entry = readEntry(this.files, digestOf(key));
    return entry ? ({ value: entry as Value, expires: undefined } as StoredData<Value>) : undefined;
  }

  async set(key: string, data: { value: CacheEntry | FileCacheEntry }): Promise<boolean> {
    writeEntry(this.files, digestOf(key), data.value);
    return true;
  }

  async delete(key: string): Promise<boolean> {
    const meta = readMeta(this.files);
    if (!meta || meta.digest !== digestOf(key)) return false;
    rmSync(this.files.meta, { force: true });
    return true;
  }

  async clear(): Promise<void> {
    rmSync(this.files.meta, { force: true });
  }
}

/**
 * Temporary files of writers killed between creating and renaming them (kill -9, power loss). Run
 * under the lock, so no live writer of this folder is making any; the age check spares one that
 * lost the lock without knowing it yet.
 */
const leftover = /^\.(ansible-ec2\.(cache|index|meta)|ec2-inventory\.(hostvars|hosts-changed))\.\d+\.[0-9a-f]+\.tmp$/;
export function removeLeftovers(files: CacheFiles, olderThanMs = 60_000): void {
  try {
    for (const name of readdirSync(files.dir)) {
      if (!leftover.test(name)) continue;
      const file = path.join(files.dir, name);
      try {
        if (Date.now() - statSync(file).mtimeMs > olderThanMs) unlinkSync(file);
      } catch { /* gone meanwhile */ }
    }
  } catch { /* an unreadable folder fails the refresh later, with a better message */ }
}

function digestOf(key: string): string {
  return key.slice(key.lastIndexOf(':') + 1);
}

/**
 * One refresh at a time per cache_path, across processes (see lock.ts); leftovers of a refresh that
 * died are removed once the lock is held.
 */
export async function lockFiles(files: CacheFiles, timeoutMs: number, staleMs = 10_000): Promise<CacheLock> {
  const lock = await lockFolder(files.dir, files.lock, timeoutMs,
    (s) => `another refresh of ${files.dir} has held ${files.lock} for more than ${s} s (cache_lock_timeout)`, staleMs);
  removeLeftovers(files);
  return lock;
}
