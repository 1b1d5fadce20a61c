// Opens the cache a configuration asks for: the file store in cache_path by default, Redis when
// cache_connection names one. Redis is only loaded when used.
import { accessSync, constants, mkdirSync } from 'node:fs';
import Keyv from 'keyv';
import type { Settings } from '../settings/read.js';
import { CacheError, describeMkdirError, errnoOf, errnoText } from '../errors.js';
import { cacheFiles, dropEntries, hostsGeneration, KeyvFileStore, lockFiles } from './fileStore.js';
import { checkPrivateDir, checkPrivateFile } from './permissions.js';
import type { CacheEntry, FileCacheEntry, InventoryCache } from './types.js';

export async function openCache(
  settings: Pick<Settings, 'cachePath' | 'cacheConnection'> & Partial<Pick<Settings, 'connectTimeout' | 'requestTimeout'>>,
): Promise<InventoryCache> {
  if (settings.cacheConnection) {
    const { openRedisCache } = await import('./redisStore.js');
    return openRedisCache(settings.cacheConnection, redisTimeouts(settings));
  }
  return openFileCache(settings.cachePath);
}

export function openFileCache(dir: string): InventoryCache {
  const files = cacheFiles(dir);
  ensureCacheDir(dir);
  // Before anything in it is read: a folder others can write may hold a planted cache.
  checkPrivateDir(dir);
  for (const file of [files.cache, files.index, files.meta]) checkPrivateFile(file);
  // serialize/deserialize off: the store keeps the two texts as files, not as a JSON wrapper.
  const keyv = new Keyv<CacheEntry | FileCacheEntry>({
    store: new KeyvFileStore(files), namespace: 'ec2-inventory', serialize: undefined, deserialize: undefined, throwOnErrors: true,
  });
  keyv.on('error', () => { /* thrown to the caller as well */ });
  return {
    where: `cache_path ${dir}`,
    scratchDir: dir,
    get: (digest) => keyv.get(digest) as Promise<CacheEntry | undefined>,
    async set(digest, entry) {
      await keyv.set(digest, entry);
    },
    async setFile(digest, entry) {
      await keyv.set(digest, entry);
    },
    lock: (_digest, timeoutMs) => lockFiles(files, timeoutMs),
    async clear() {
      dropEntries(files);
    },
    generation: async () => hostsGeneration(files),
    async close() { /* nothing held open */ },
  };
}

/**
 * Provisioning added or removed hosts: every cached listing in this cache may now be wrong (an
 * instance terminated a moment ago, listed as running until cache_max_age runs out). Drops them
 * all, so that the next --list and --host ask the APIs again; the fast path (lib/cli/cached.ts)
 * then finds no ansible-ec2.meta and leaves the answer to them. A refresh under way, which may
 * have listed the hosts before the change, drops its own result when it is stored (see
 * InventoryCache.generation). A Redis shared by several configurations loses the entries of all
 * of them: any may list the host.
 */
export async function forgetInventories(
  settings: Pick<Settings, 'cachePath' | 'cacheConnection'> & Partial<Pick<Settings, 'connectTimeout' | 'requestTimeout'>>,
): Promise<void> {
  const cache = await openCache(settings);
  try {
    await cache.clear();
  } finally {
    await cache.close();
  }
}

/**
 * Creates cache_path if needed (as ec2.py does) and checks that it can be written before any API
 * call; the registry, which lives there too, does the same before it takes its lock.
 */
export function ensureCacheDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new CacheError(`cache_path ${dir}: ${describeMkdirError(dir, err)}`, dir, { cause: err });
  }
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (err) {
    const code = errnoOf(err);
    const words = code === undefined ? (err as Error).message : `${errnoText(code) ?? code} (${code})`;
    throw new CacheError(`cache_path ${dir}: cannot write in ${dir}: ${words}`, dir, { cause: err });
  }
}

/** connect_timeout and request_timeout, which bound Redis as they bound the AWS calls. */
export function redisTimeouts(settings: Partial<Pick<Settings, 'connectTimeout' | 'requestTimeout'>>): { connectTimeout?: number; requestTimeout?: number } {
  return {
    ...(settings.connectTimeout !== undefined ? { connectTimeout: settings.connectTimeout } : {}),
    ...(settings.requestTimeout !== undefined ? { requestTimeout: settings.requestTimeout } : {}),
  };
}
