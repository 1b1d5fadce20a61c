// The registry of hosts launched (or registered by hand) outside what the AWS APIs list: KVM
// guests, instances whose groups were chosen at launch. It lives in keyv beside the cache: a file
// in cache_path by default, the same Redis as the cache when cache_connection is set. The
// inventory merges it into --list and --host; an empty registry changes nothing. An entry a launch
// made (registered at launch, deregistered at destroy) also drops the cached listings
// (forgetInventories): a host launched or destroyed is listed by the next --list as it is, not as
// the last refresh saw it. Entries registered by hand change only the merge, which follows them.
import { EventEmitter } from 'node:events';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import Keyv, { type KeyvStoreAdapter, type StoredData } from 'keyv';
import type { Settings } from '../settings/read.js';
import { CacheError, InventoryError, describeSystemError } from '../errors.js';
import { writeAtomic } from './atomic.js';
import type { RegisteredHost } from '../records/inventory.js';
import { lockFolder, redisLock } from './lock.js';
import type { CacheLock } from './types.js';
import { checkPrivateDir, checkPrivateFile } from './permissions.js';
import { ensureCacheDir, forgetInventories, redisTimeouts } from './open.js';
import { redisWords } from './redisWords.js';
import { unreachable, type Outage } from './outage.js';
import { groupNameProblem } from '../ec2py/groups.js';
import { REGISTRY_COPY_FILE, REGISTRY_FILE, REGISTRY_LOCK_FILE } from './layout.js';

export interface Registry {
  /** Every registered host, sorted by name. */
  list(): Promise<RegisteredHost[]>;
  get(name: string): Promise<RegisteredHost | undefined>;
  /** Adds or replaces a host. */
  register(host: RegisteredHost): Promise<void>;
  /** Removes a host; false when it was not registered. */
  deregister(name: string): Promise<boolean>;
  /**
   * Hosts were added or removed without a change of a launch's entry (an instance terminated by
   * id): the cached listings are dropped, as such a change drops them.
   */
  hostsChanged(): Promise<void>;
  close(): Promise<void>;
}

export type RegistrySettings = Pick<Settings, 'cachePath' | 'cacheConnection' | 'registryLockTimeout'> & Partial<Pick<Settings, 'connectTimeout' | 'requestTimeout'>>;

type Hosts = Record<string, RegisteredHost>;

/** The registry file of the default store, in cache_path. */
export function registryFile(cachePath: string): string {
  return path.join(cachePath, REGISTRY_FILE);
}

/** Its lock: not the refresh lock, so that registering never waits for a refresh. */
export function registryLockFile(cachePath: string): string {
  return path.join(cachePath, REGISTRY_LOCK_FILE);
}

const KEY = 'hosts';

/**
 * Hostvars that launches write and destroy acts on (kvm_volume names the volume destroy kvm deletes,
 * ec2_id the instance destroy ec2 terminates), and the sources that say a launch made the entry:
 * `register` by hand refuses them, so a registry entry cannot point a destroy at someone else's
 * volume or instance.
 */
export const launchOwnedSources: readonly string[] = ['kvm', 'ec2'];
export function launchOwnedVar(key: string): boolean {
  return /^(kvm|ec2)_/.test(key) || key === 'registry_source';
}

export function validateHost(host: RegisteredHost): void {
  if (!host.name || /\s/.test(host.name)) throw new InventoryError(`registry: host name '${host.name}' is empty or has spaces`);
  for (const g of host.groups) {
    const problem = groupNameProblem(g);
    if (problem !== undefined) throw new InventoryError(`registry: group '${g}' of host '${host.name}' ${problem}`);
  }
}

export async function openRegistry(settings: RegistrySettings): Promise<Registry> {
  // The whole registry is one keyv value: it is small (hosts launched by hand), it changes under its
  // own lock, and one read tells whether there is anything to merge.
  const timeoutMs = settings.registryLockTimeout * 1000;
  const heldBy = (s: number) => `another process has held the registry lock for more than ${s} s (registry_lock_timeout)`;
  let keyv: Keyv<Hosts>;
  let lock: () => Promise<CacheLock>;
  // Every Redis command is bounded (connect_timeout, request_timeout); the file store needs none.
  let bounded = <T>(p: Promise<T>, _what: string): Promise<T> => p;
  let close = async (): Promise<void> => { await keyv.disconnect().catch(() => {}); };
  if (settings.cacheConnection) {
    const redis = await redisKeyv(settings.cacheConnection, settings);
    keyv = redis.keyv;
    bounded = redis.bounded;
    // destroy, not a graceful close: a close waits for answers that a frozen Redis never sends.
    close = async () => { try { redis.client.destroy(); } catch { /* already closed */ } };
    lock = () => redisLock(redis.client, 'ec2-inventory-registry:lock', { where: redis.where, timeoutMs, heldBy, ttlMs: 30_000, bounded: redis.bounded });
  } else {
    const dir = settings.cachePath;
    keyv = new Keyv<Hosts>({ store: new KeyvJsonFile(registryFile(dir)), namespace: 'ec2-inventory-registry', serialize: undefined, deserialize: undefined, throwOnErrors: true });
    lock = () => {
      ensureCacheDir(dir);
      return lockFolder(dir, registryLockFile(dir), timeoutMs, (s) => `${registryLockFile(dir)}: ${heldBy(s)}`);
    };
  }
  keyv.on('error', () => { /* thrown to the caller as well */ });
  const read = async (): Promise<Hosts> => ((await bounded(keyv.get(KEY), 'GET')) as Hosts | undefined) ?? {};
  // edit returns the entries it added, replaced or removed.
  const change = async (edit: (hosts: Hosts) => RegisteredHost[]): Promise<boolean> => {
    let held: CacheLock | undefined;
    try {
      held = await lock();
      const hosts = await read();
      const touched = edit(hosts);
      if (touched.length === 0) return false;
      // A launch's entry comes or goes with the machine itself, which the cached listings may
      // show as it was. Dropped before the registry is written: when the cache cannot be dropped,
      // nothing has changed (a launch then undoes what it started, with no entry left behind).
      if (touched.some((h) => launchOwnedSources.includes(h.source))) await forgetInventories(settings);
      held.check();
      await bounded(keyv.set(KEY, hosts), 'SET');
      return true;
    } finally {
      await held?.release();
    }
  };
  return {
    async list() {
      return Object.values(await read()).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    },
    async get(name) {
      const hosts = await read();
      return Object.hasOwn(hosts, name) ? hosts[name] : undefined;
    },
    async register(host) {
      validateHost(host);
      await change((hosts) => {
        const replaced = Object.hasOwn(hosts, host.name) ? [hosts[host.name] as RegisteredHost] : [];
        hosts[host.name] = host;
        return [...replaced, host];
      });
    },
    async deregister(name) {
      return change((hosts) => {
        if (!Object.hasOwn(hosts, name)) return [];
        const removed = hosts[name] as RegisteredHost;
        delete hosts[name];
        return [removed];
      });
    },
    hostsChanged: () => forgetInventories(settings),
    async close() {
      await close();
    },
  };
}

async function redisKeyv(url: string, settings: RegistrySettings) {
  const [{ default: KeyvRedis }, { connectRedis }] = await Promise.all([import('@keyv/redis'), import('./redisStore.js')]);
  const { client, where, timed } = await connectRedis(url, redisTimeouts(settings));
  const keyv = new Keyv<Hosts>({ store: new KeyvRedis(client, { throwOnErrors: true }), namespace: 'ec2-inventory-registry', throwOnErrors: true });
  const bounded = <T>(p: Promise<T>, what: string): Promise<T> => timed(p, `registry ${what}`).catch((err: unknown) => {
    if (err instanceof CacheError) throw err;
    const words = redisWords(err);
    // A bound of connectRedis's already names the command (`registry GET: no answer within ...`).
    throw new CacheError(`${where}: ${words.startsWith('registry ') ? words : `registry ${what}: ${words}`}`, where, { cause: err });
  });
  return { keyv, client, where, bounded };
}

/**
 * Reads the registered hosts without opening the cache or taking a lock: what --list does on
 * every run, so it must cost one stat when the registry is empty.
 */
export async function registeredHosts(settings: RegistrySettings): Promise<RegisteredHost[]> {
  if (!settings.cacheConnection) {
    const hosts = readJsonFile(registryFile(settings.cachePath));
    return hosts ? Object.values(hosts).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) : [];
  }
  const registry = await openRegistry(settings);
  try {
    return await registry.list();
  } finally {
    await registry.close();
  }
}

/** With cache_connection: the local copy of the last registry read from Redis, for when Redis is down (outage.ts). */
export function registryCopyFile(cachePath: string): string {
  return path.join(cachePath, REGISTRY_COPY_FILE);
}

/**
 * The registered hosts an inventory run merges, from wherever they can be read: the registry, or
 * (Redis down) the local copy of the last one read; none, with a note, when neither can be. A
 * registry another user could have planted still stops the run.
 */
export async function registeredForInventory(settings: RegistrySettings, outage: Outage): Promise<RegisteredHost[]> {
  const copy = settings.cacheConnection ? registryCopyFile(settings.cachePath) : undefined;
  if (!(copy && outage.down)) {
    try {
      const hosts = await registeredHosts(settings);
      if (copy) keepRegistryCopy(copy, hosts);
      return hosts;
    } catch (err) {
      if (!unreachable(err)) throw err;
      if (!copy) {
        outage.notes.push(`registered hosts left out: ${describeSystemError(err) ?? (err as Error).message}`);
        return [];
      }
      outage.storeFailed(err); // the registry's Redis is the cache's
    }
  }
  let kept: Hosts | undefined;
  try {
    kept = readJsonFile(copy);
  } catch (err) {
    if (!unreachable(err)) throw err;
    outage.notes.push(`registered hosts left out: ${describeSystemError(err) ?? (err as Error).message}`);
    return [];
  }
  if (kept === undefined) {
    outage.notes.push(`registered hosts left out: no local copy of the registry yet (${copy})`);
    return [];
  }
  const hosts = sortedHosts(kept);
  if (hosts.length > 0) outage.notes.push(`${hosts.length} registered host${hosts.length === 1 ? '' : 's'} from the local copy ${copy}`);
  return hosts;
}

/** Writes the copy when it differs from the registry just read (atomic, 0600); a failure costs the run nothing. */
function keepRegistryCopy(file: string, hosts: RegisteredHost[]): void {
  const text = JSON.stringify(Object.fromEntries(hosts.map((h) => [h.name, h])), null, 2) + '\n';
  try {
    const dir = path.dirname(file);
    ensureCacheDir(dir);
    checkPrivateDir(dir, 'the registry folder (cache_path)');
    checkPrivateFile(file);
    let current: string | undefined;
    try {
      current = readFileSync(file, 'utf8');
    } catch { /* none yet */ }
    if (current !== text) writeAtomic(file, text);
  } catch {
    // the next run tries again
  }
}

function sortedHosts(hosts: Hosts): RegisteredHost[] {
  return Object.values(hosts).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function readJsonFile(file: string): Hosts | undefined {
  let text: string;
  // The registry, too, says where Ansible connects: the same rule as the cache files.
  checkPrivateDir(path.dirname(file), 'the registry folder (cache_path)');
  checkPrivateFile(file);
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CacheError(`cannot read the registry ${file}: ${(err as Error).message}`, file, { cause: err });
  }
  try {
    return JSON.parse(text) as Hosts;
  } catch (err) {
    throw new CacheError(`the registry ${file} is not valid JSON: ${(err as Error).message}`, file, { cause: err });
  }
}

/** keyv adapter over one JSON file holding the registry (written atomically, 0600). */
class KeyvJsonFile extends EventEmitter implements KeyvStoreAdapter {
  opts: { file: string };
  namespace?: string;
  constructor(readonly file: string) {
    super();
    this.opts = { file };
  }
  async get<Value>(): Promise<StoredData<Value> | undefined> {
    const hosts = readJsonFile(this.file);
    return hosts ? ({ value: hosts as Value, expires: undefined } as StoredData<Value>) : undefined;
  }
  async set(_key: string, data: { value: Hosts }): Promise<boolean> {
    if (Object.keys(data.value).length === 0) rmSync(this.file, { force: true });
    else writeAtomic(this.file, JSON.stringify(data.value, null, 2) + '\n');
    return true;
  }
  async delete(): Promise<boolean> {
    rmSync(this.file, { force: true });
    return true;
  }
  async clear(): Promise<void> {
    rmSync(this.file, { force: true });
  }
}
