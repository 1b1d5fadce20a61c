// A cache outage is not an inventory outage. When the store (Redis, or a cache_path that cannot be
// read or written) is unreachable, a run goes on as with cache_max_age = 0: it fetches from AWS,
// takes no shared lock (it refreshes alone), stores nothing shared, and says so in one warning
// line. Only `unreachable` failures are survived this way: a cache another user could have planted
// (permissions.ts) still stops the run, and a lock held by another refresh is still waited for.
//
// With cache_connection, cache_path keeps local copies for such a day: the last good inventory
// (the file store's own three files, kept only with cache_stale_on_error, and served only when a
// refresh fails too) and the last good registry (registry.ts). Both are written atomically, 0600,
// and read within the same trust checks as the file cache.
import type { Settings } from '../settings/read.js';
import { CacheError, InventoryError, errnoOf } from '../errors.js';
import { openCache, openFileCache } from './open.js';
import { cacheFiles, readMetaWrittenAt } from './fileStore.js';
import type { CacheEntry, CacheLock, InventoryCache } from './types.js';

/** True for failures the run survives without the store (see CacheError's reasons). */
export function unreachable(err: unknown): boolean {
  if (err instanceof CacheError) return err.reason === 'unreachable';
  // A system error from a store operation that did not wrap it (a stat of an unreadable folder).
  return !(err instanceof InventoryError) && errnoOf(err) !== undefined;
}

/** What one run could not use of its cache store; said once, as one line. */
export class Outage {
  /** The first failure, in words that name the store (`Redis 10.0.0.5:6379/0: cannot connect: ...`). */
  failure: string | undefined;
  /** No shared lock could be taken: this run refreshed alone. */
  lockless = false;
  /** Further notes (where the registered hosts came from). */
  readonly notes: string[] = [];

  get down(): boolean {
    return this.failure !== undefined;
  }

  storeFailed(err: unknown): void {
    this.failure ??= err instanceof Error ? err.message : String(err);
  }

  /** The warning, or undefined when the store served the whole run. */
  describe(): string | undefined {
    const parts: string[] = [];
    if (this.failure !== undefined) {
      parts.push(`the cache is unreachable, so this run fetched from AWS without it${this.lockless ? ' and refreshed alone (no shared lock)' : ''}: ${this.failure}`);
    }
    parts.push(...this.notes);
    return parts.length > 0 ? parts.join('; ') : undefined;
  }
}

/** The cache of one run, which survives its store going away (see the file's head). */
export interface ResilientCache extends InventoryCache {
  /** What this run could not use of the store so far. */
  readonly outage: Outage;
  /** The newest entry for stale-on-error: the store's, or the local copy's while the store is down. */
  lastGood(digest: string): Promise<{ entry: CacheEntry; from?: string } | undefined>;
}

/** Where the local copies live: cache_path, when the cache itself lives in Redis. */
export function localCopyDir(settings: Pick<Settings, 'cacheConnection' | 'cachePath'>): string | undefined {
  return settings.cacheConnection ? settings.cachePath : undefined;
}

export async function openResilientCache(
  settings: Pick<Settings, 'cachePath' | 'cacheConnection' | 'cacheStaleOnError'> & Partial<Pick<Settings, 'connectTimeout' | 'requestTimeout'>>,
  outage: Outage,
): Promise<ResilientCache> {
  let inner: InventoryCache | undefined;
  // A Redis already found down this run (by the registry) is not waited for a second time.
  if (!(outage.down && settings.cacheConnection)) {
    try {
      inner = await openCache(settings);
    } catch (err) {
      if (!unreachable(err)) throw err;
      outage.storeFailed(err);
    }
  }
  const copyDir = settings.cacheStaleOnError ? localCopyDir(settings) : undefined;
  const up = (): InventoryCache | undefined => (outage.down ? undefined : inner);
  /** Runs a store operation; an unreachable store makes it `fallback` (and the rest of the run storeless). */
  const guarded = async <T>(op: (cache: InventoryCache) => Promise<T>, fallback: T): Promise<T> => {
    const cache = up();
    if (!cache) return fallback;
    try {
      return await op(cache);
    } catch (err) {
      if (!unreachable(err)) throw err;
      outage.storeFailed(err);
      return fallback;
    }
  };
  const cache: ResilientCache = {
    outage,
    where: inner?.where ?? (settings.cacheConnection ? 'Redis' : `cache_path ${settings.cachePath}`),
    ...(inner?.scratchDir !== undefined ? { scratchDir: inner.scratchDir } : {}),
    async get(digest) {
      const entry = await guarded((c) => c.get(digest), undefined);
      if (entry && copyDir) await keepLocalCopy(copyDir, digest, entry);
      return entry;
    },
    async set(digest, entry) {
      if (copyDir) await keepLocalCopy(copyDir, digest, entry);
      await guarded((c) => c.set(digest, entry), undefined);
    },
    ...(inner?.setFile ? { setFile: (digest, entry) => guarded((c) => (c.setFile as NonNullable<InventoryCache['setFile']>)(digest, entry), undefined) } : {}),
    async lock(digest, timeoutMs) {
      const held = await guarded<CacheLock | undefined>((c) => c.lock(digest, timeoutMs), undefined);
      if (!held) {
        outage.lockless = true;
        return { check() {}, async release() {} };
      }
      return {
        check() {
          try {
            held.check();
          } catch (err) {
            if (!unreachable(err)) throw err;
            outage.storeFailed(err);
          }
        },
        release: () => held.release(),
      };
    },
    clear: () => guarded((c) => c.clear(), undefined),
    generation: () => guarded((c) => c.generation(), ''),
    async lastGood(digest) {
      const entry = await guarded((c) => c.get(digest), undefined);
      if (entry) return { entry };
      if (!copyDir || !outage.down) return undefined;
      const copy = await openFileCache(copyDir).get(digest);
      return copy ? { entry: copy, from: `the local copy in ${copyDir}` } : undefined;
    },
    async close() {
      await inner?.close();
    },
  };
  return cache;
}

/**
 * Keeps `entry` as the local copy in `dir` unless the copy there is already as new; a copy that
 * cannot be made costs the run nothing (the shared store has the entry), so failures are ignored.
 * One writer at a time (the file store's lock, not waited for: another process is making the copy).
 */
async function keepLocalCopy(dir: string, digest: string, entry: CacheEntry): Promise<void> {
  let lock: CacheLock | undefined;
  try {
    if ((readMetaWrittenAt(cacheFiles(dir), digest) ?? -1) >= entry.writtenAt) return;
    const local = openFileCache(dir);
    lock = await local.lock(digest, 0);
    // Never the read key: the fast path must not serve a copy as if it were the file cache.
    await local.set(digest, { inventory: entry.inventory, index: entry.index, writtenAt: entry.writtenAt });
  } catch {
    // the next run tries again
  } finally {
    await lock?.release();
  }
}
