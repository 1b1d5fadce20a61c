// The cache folder as every reader sees it: the names of its files, when an entry is fresh, and
// which files may be trusted. The full path (fileStore.ts, registry.ts, merged.ts, permissions.ts,
// flow/request.ts) and the cached --list (lib/cli/cached.ts) both follow these rules. This module
// imports nothing, so that the cached --list loads no more than it did.
import type * as Fs from 'node:fs';

/** ec2.py's cache pair, its meta (the entry's digest, age and sizes), the refresh lock. */
export const CACHE_FILE = 'ansible-ec2.cache';
export const INDEX_FILE = 'ansible-ec2.index';
export const META_FILE = 'ansible-ec2.meta';
export const LOCK_FILE = 'ansible-ec2.lock';
/** The --list with registered hosts merged in (lib/store/merged.ts). */
export const MERGED_FILE = 'ansible-ec2.merged';
/** The registry of the default store, and its own lock (registering never waits for a refresh). */
export const REGISTRY_FILE = 'ec2-inventory.registry.json';
export const REGISTRY_LOCK_FILE = 'ec2-inventory.registry.lock';
/** With cache_connection: the last registry read from Redis, for when Redis is down (outage.ts). */
export const REGISTRY_COPY_FILE = 'ec2-inventory.registry.copy.json';

/** An entry written at `writtenAt` (ms) is served while younger than cache_max_age seconds. */
export function isFresh(writtenAt: number, maxAgeSeconds: number, now = Date.now()): boolean {
  return writtenAt + maxAgeSeconds * 1000 > now;
}

/**
 * Why a file or folder with this owner and mode cannot be trusted, or undefined when it can: the
 * cache decides what Ansible connects to, so it must be ours (or root's) and writable by nobody
 * else, as ssh wants of ~/.ssh.
 */
export function untrusted(st: Pick<Fs.Stats, 'uid' | 'mode'>, uid = process.getuid?.()): 'owner' | 'mode' | undefined {
  if (uid === undefined) return undefined; // no owners to compare (Windows)
  if (st.uid !== uid && st.uid !== 0) return 'owner';
  if ((st.mode & 0o022) !== 0) return 'mode';
  return undefined;
}
