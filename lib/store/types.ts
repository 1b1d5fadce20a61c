import type { ReadKey } from '../settings/readKey.js';

/** Text as stored: the file store hands back the bytes it read, so they can be written out untouched. */
export type StoredText = string | Uint8Array;

/** One configuration's cached refresh: ec2.py's two files, and when they were written. */
export interface CacheEntry {
  /** The inventory JSON exactly as --list prints it (ansible-ec2.cache). */
  inventory: StoredText;
  /** Host name → [region, id] (ansible-ec2.index). */
  index: StoredText;
  /** Milliseconds since the epoch. */
  writtenAt: number;
  /** Set by a refresh whose settings came from an ini (file store only): see lib/settings/readKey.ts. */
  readKey?: ReadKey | undefined;
}

/** A refresh already written as a file in the store's scratchDir, to be moved into place. */
export interface FileCacheEntry {
  inventoryFile: string;
  index: StoredText;
  writtenAt: number;
  readKey?: ReadKey | undefined;
}

export interface CacheLock {
  /** Throws if the lock was lost (taken over as stale) since it was acquired. */
  check(): void;
  release(): Promise<void>;
}

/** A cache backend: keyv over the file store or Redis, plus the lock that keeps refreshes single. */
export interface InventoryCache {
  /** Where the cache lives, for messages (never includes credentials). */
  readonly where: string;
  get(digest: string): Promise<CacheEntry | undefined>;
  set(digest: string, entry: CacheEntry): Promise<void>;
  /**
   * Stores a refresh built as a file in scratchDir (taking the file over). Stores without it are
   * handed the file's bytes through set().
   */
  setFile?(digest: string, entry: FileCacheEntry): Promise<void>;
  /** Where a refresh is built: the file store's cache_path, so the result is renamed into place. */
  readonly scratchDir?: string;
  lock(digest: string, timeoutMs: number): Promise<CacheLock>;
  /**
   * Hosts were added or removed (forgetInventories in open.ts): changes generation(), then drops
   * every entry, of every configuration. Takes no lock (a launch must not wait for a refresh).
   */
  clear(): Promise<void>;
  /**
   * Changes with every clear(). A refresh that finds it changed between the start of its API
   * calls and the end of storing their result clears what it stored: it may list hosts as they
   * were before the change.
   */
  generation(): Promise<string>;
  close(): Promise<void>;
}

export function asText(text: StoredText): string {
  return typeof text === 'string' ? text : Buffer.from(text.buffer, text.byteOffset, text.byteLength).toString('utf8');
}
