// The whole flow of one inventory request, shared by the CLI and the package API:
// settings → cache hit, or (one refresh at a time) fetch → rules → write cache → the JSON text
// ec2.py would print. The AWS SDK is imported only when a refresh is needed: a cached answer never
// pays for loading it.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Settings } from '../settings/read.js';
import { CacheError, InventoryError, errnoOf, errnoText } from '../errors.js';
import { Outage, openResilientCache, unreachable, type ResilientCache } from '../store/outage.js';
import { tempPathFor } from '../store/atomic.js';
import { cacheDigest } from '../store/digest.js';
import { isFresh as isFreshAt } from '../store/layout.js';
import { readKeyOf } from '../settings/readKey.js';
import { asText, type CacheEntry, type StoredText } from '../store/types.js';
import type { HostVarsStore, State } from '../ec2py/types.js';
import type { HostVars, Index, Inventory } from '../records/inventory.js';
import type { RegionRecords } from '../records/aws.js';
import { json_format_dict } from '../ec2py/format.js';
import type { hostOfName as HostOfName } from '../ec2py/accounts.js';
import { registeredForInventory } from '../store/registry.js';
import { keepMergedList, mergedStamp } from '../store/merged.js';
import { type RegisteredHost } from '../records/inventory.js';

export interface Progress {
  regionsDone: number;
  regionsTotal: number;
  instances: number;
}

export interface RequestOptions {
  /** Call the APIs even when the cache is still valid (--refresh-cache). */
  refresh?: boolean;
  /** Told about a refresh as it goes (regions done, instances found). */
  onProgress?: (progress: Progress) => void;
  /**
   * Told, once and in one line, what the request did instead of failing: the cache store was
   * unreachable (lib/store/outage.ts), a failed refresh was answered with the previous inventory
   * (cache_stale_on_error), the inventory could not be stored.
   */
  onWarning?: (message: string) => void;
}

/** Calls the AWS APIs and applies the rules; touches no cache. */
export async function fetchInventory(
  settings: Settings,
  onProgress?: (progress: Progress) => void,
): Promise<{ inventory: Inventory; index: Index }> {
  const { inventory, index } = await fetchInto(settings, undefined, onProgress);
  return { inventory, index };
}

/**
 * A refresh written into a new file in `dir` (for the cache): hostvars wait on disk as text, so
 * memory does not grow with the output.
 */
async function fetchInventoryFile(
  settings: Settings, dir: string, onProgress?: (progress: Progress) => void, previous?: Previous,
): Promise<{ file: string; index: string }> {
  const stream = await import('../store/spill.js');
  let file: string | undefined;
  try {
    const hostvars = new stream.SpilledHostVars(dir);
    try {
      const built = await fetchInto(settings, hostvars, onProgress, previous);
      file = tempPathFor(path.join(dir, 'ansible-ec2.cache'));
      stream.writeInventoryFile(file, built.inventory, hostvars);
      return { file, index: json_format_dict(built.index) };
    } finally {
      hostvars.close();
    }
  } catch (err) {
    // A full or read-only disk under the spill and the new cache file: name the folder, leave no half-written file.
    if (file !== undefined) rmSync(file, { force: true });
    const code = err instanceof InventoryError ? undefined : errnoOf(err);
    if (code === undefined) throw err;
    const at = (err as NodeJS.ErrnoException).path;
    throw new CacheError(`cache_path ${dir}: cannot write the new inventory${at ? ` (${at})` : ''}: ${errnoText(code) ?? (err as Error).message} (${code})`, dir, { cause: err });
  }
}

/**
 * Every API call of a refresh, each page through the rules as soon as it can be applied in ec2.py's
 * order; hostvars go to `hostvars` (inventory._meta when none is given).
 */
let fetches = 0;

/**
 * How many refreshes this process has started. bin/ec2-inventory writes its code cache
 * (lib/cli/fullPath.ts) only after a run that refreshed: the code that matters has run by then.
 */
export function fetchCount(): number {
  return fetches;
}

async function fetchInto(settings: Settings, hostvars: HostVarsStore | undefined, onProgress?: (progress: Progress) => void, previous?: Previous): Promise<State> {
  fetches++;
  // Only on a refresh: a cached answer loads neither the SDK nor the rules.
  const [{ streamRecords }, rules, { withDeadline }] = await Promise.all([import('../sources/aws/fetch.js'), import('../ec2py/rules.js'), import('../sources/aws/http.js')]);
  // refresh_timeout: past it every call in flight is aborted and the error names those pending.
  return withDeadline(settings.refreshTimeout, (stop) => fetchWith(settings, hostvars, streamRecords, rules, onProgress, stop, previous));
}

/**
 * account_errors = warn: the last good entry, from which a failing account's hosts are served, and
 * where the warning saying so goes.
 */
interface Previous {
  entry: CacheEntry | undefined;
  onWarning?: (message: string) => void;
}

async function fetchWith(
  settings: Settings, hostvars: HostVarsStore | undefined, streamRecords: typeof import('../sources/aws/fetch.js').streamRecords,
  rules: typeof import('../ec2py/rules.js'), onProgress?: (progress: Progress) => void, stop?: AbortSignal, previous?: Previous,
): Promise<State> {
  let state: State | undefined;
  // With account sections, one state per account (the same inventory).
  let states: State[] = [];
  const clusterBatches: (Pick<RegionRecords, 'dbClusters'> & { account?: number })[] = [];
  await streamRecords(settings, {
    begin: (context) => {
      if (context.accounts) states = rules.newAccountStates(settings.accountCollision ?? 'rename', context.accounts, hostvars && (() => hostvars));
      state = states[0] ?? rules.newState(settings, context, hostvars && (() => hostvars));
    },
    add: (batch) => {
      rules.add_region_records(batch.account === undefined ? state as State : states[batch.account] as State, batch);
      if (batch.dbClusters) clusterBatches.push(batch);
    },
    accountFailed: (account, error) => servePreviousHosts(states[account] as State, error, previous, rules.add_previous_account_hosts),
  }, onProgress);
  const built = state as State;
  if (states.length > 0) rules.add_account_rds_clusters(states, clusterBatches);
  else rules.add_rds_clusters_of(built, clusterBatches);
  if (settings.libvirtUris.length > 0) {
    // The libvirt domains are part of what a refresh fetches, so a cached answer holds them too.
    const [{ libvirtDomains }, { mergeRegistered }] = await Promise.all([import('../sources/libvirt/domains.js'), import('../ec2py/registered.js')]);
    for (const uri of settings.libvirtUris) {
      const hosts = await libvirtDomains(uri, stop);
      mergeRegistered(built.inventory, hosts, built.hostvars);
      for (const h of hosts) built.index[h.name] ??= ['libvirt', String(h.hostvars['kvm_uuid'])];
    }
  }
  return built;
}

/** account_errors = warn: a failed account's hosts from the last good inventory, and a warning saying how old. */
function servePreviousHosts(
  state: State, error: Error, previous: Previous | undefined, addPreviousAccountHosts: typeof import('../ec2py/rules.js').add_previous_account_hosts,
): void {
  const name = state.account?.name ?? '';
  const entry = previous?.entry;
  let served: { hosts: number; since: number | undefined } = { hosts: 0, since: undefined };
  if (entry) {
    try {
      const inventory = JSON.parse(asText(entry.inventory)) as Inventory;
      const index = JSON.parse(asText(entry.index)) as Index;
      served = addPreviousAccountHosts(state, name, { inventory, index, writtenAt: entry.writtenAt });
    } catch (err) {
      if (err instanceof SyntaxError) served = { hosts: 0, since: undefined };
      else throw err;
    }
  }
  const age = served.since === undefined ? 0 : Math.max(0, Math.round((Date.now() - served.since) / 1000));
  const what = !entry
    ? 'no earlier inventory to serve its hosts from: they are left out'
    : served.hosts === 0
      ? 'the last good inventory has no hosts of it'
      : `serving its ${served.hosts} host${served.hosts === 1 ? '' : 's'} as read ${age} s ago (account_errors = warn)`;
  previous?.onWarning?.(`${error.message}; ${what}`);
}

/**
 * The inventory as ec2.py --list prints it (without the final newline), with the registered hosts
 * merged in. With an empty registry these are the stored bytes, untouched.
 */
export async function listInventoryText(settings: Settings, options: RequestOptions = {}): Promise<StoredText> {
  return degradable(options, async (outage, told) => {
    // Taken before the entry and the registry are read: the merged output is kept for the fast path
    // (store/merged.ts) only if neither changed while it was made.
    const stamp = settings.cacheConnection === '' && settings.cacheMaxAge > 0 ? mergedStamp(settings.cachePath) : undefined;
    let refreshed = false;
    const text = await withCache(settings, outage, async (cache, digest) => {
      const current = await currentEntry(cache, digest, settings, told);
      refreshed = current.refreshed;
      return current.entry.inventory;
    });
    const registered = await registeredForInventory(settings, outage);
    if (registered.length === 0) return text;
    const { mergeRegistered } = await import('../ec2py/registered.js');
    const merged = json_format_dict(mergeRegistered(JSON.parse(asText(text)) as Inventory, registered));
    // A refresh's entry may not be the one in the cache (cache_stale_on_error, a store that failed).
    if (stamp && !refreshed && !outage.down) keepMergedList(settings.cachePath, stamp, merged);
    return merged;
  });
}

/** The inventory as ec2.py --list prints it (without the final newline). */
export async function listInventory(settings: Settings, options: RequestOptions = {}): Promise<string> {
  return asText(await listInventoryText(settings, options));
}

/** Refreshes the cache (one refresh at a time; a run that waited for another's refresh reuses it). */
export async function refreshInventory(settings: Settings, options: Omit<RequestOptions, 'refresh'> = {}): Promise<void> {
  // Nothing is printed: a large inventory is never read back into memory.
  await degradable(options, (outage, told) =>
    withCache(settings, outage, (cache, digest) => currentEntry(cache, digest, settings, { ...told, refresh: true }, false)));
}

/**
 * The variables of one host as ec2.py --host prints them: from the cache, refreshed once when the
 * host is unknown to it (it may be new), and `{}` when it is still unknown.
 */
export async function hostInventory(settings: Settings, host: string, options: RequestOptions = {}): Promise<string> {
  return degradable(options, async (outage, told) => {
    const registered = (await registeredForInventory(settings, outage)).find((h) => h.name === host);
    return withCache(settings, outage, async (cache, digest) => {
      // Loaded only with account sections: a plain --host never loads the rules.
      const byName = settings.accounts?.length ? (await import('../ec2py/accounts.js')).hostOfName : undefined;
      let current = await currentEntry(cache, digest, settings, told);
      let vars = entryHostVars(current.entry, host, byName);
      if (vars === undefined && !current.refreshed && !registered) {
        current = await currentEntry(cache, digest, settings, { ...told, refresh: true });
        vars = entryHostVars(current.entry, host, byName);
      }
      if (registered) vars = (await import('../ec2py/registered.js')).registeredVars(vars, registered);
      return json_format_dict(vars ?? {});
    });
  });
}

/**
 * Runs one request that survives an unreachable cache store. Whatever it did instead of failing is
 * told once, as one line; a request that fails anyway says it in its one error line.
 */
async function degradable<T>(options: RequestOptions, work: (outage: Outage, told: RequestOptions) => Promise<T>): Promise<T> {
  const outage = new Outage();
  const warnings: string[] = [];
  let result: T;
  try {
    result = await work(outage, { ...options, onWarning: (message) => warnings.push(message) });
  } catch (err) {
    const note = outage.describe();
    if (note !== undefined && err instanceof InventoryError) err.message = `${err.message}; ${note}`;
    throw err;
  }
  const line = [outage.describe(), ...warnings].filter((w) => w !== undefined).join('; ');
  if (line) options.onWarning?.(line);
  return result;
}

/** The hostvars of one host in an inventory, or undefined when it has none. */
export function hostVars(inventory: Inventory, host: string): HostVars | undefined {
  return Object.hasOwn(inventory._meta.hostvars, host) ? inventory._meta.hostvars[host] : undefined;
}

async function withCache<T>(settings: Settings, outage: Outage, work: (cache: ResilientCache, digest: string) => Promise<T>): Promise<T> {
  const cache = await openResilientCache(settings, outage);
  try {
    return await work(cache, cacheDigest(settings));
  } finally {
    await cache.close();
  }
}

interface Current {
  entry: CacheEntry;
  /** This call did the API calls (or tried to and served stale). */
  refreshed: boolean;
}

function isFresh(entry: CacheEntry, settings: Settings, now = Date.now()): boolean {
  return isFreshAt(entry.writtenAt, settings.cacheMaxAge, now);
}

/**
 * ec2.py's "is_cache_valid, else do_api_calls_update_cache", made safe for many processes. Without
 * `wantText` a refresh's entry has empty texts (the refresh is in the cache, not in memory).
 */
async function currentEntry(
  cache: ResilientCache, digest: string, settings: Settings, options: RequestOptions, wantText = true,
): Promise<Current> {
  let previous: CacheEntry | undefined;
  if (!options.refresh && settings.cacheMaxAge > 0) {
    previous = await cache.get(digest);
    if (previous && isFresh(previous, settings)) return { entry: previous, refreshed: false };
  } else if (settings.cacheStaleOnError) {
    // Read before refreshing, so a store that fails later in the run still has an answer to give.
    previous = await cache.get(digest);
  }
  return do_api_calls_update_cache(cache, digest, settings, options, previous, wantText);
}

async function do_api_calls_update_cache(
  cache: ResilientCache, digest: string, settings: Settings, options: RequestOptions, previous: CacheEntry | undefined, wantText: boolean,
): Promise<Current> {
  const waitingSince = Date.now();
  const staleOr = (err: unknown) => serveStale(err, cache, digest, settings, options, previous);
  let lock;
  try {
    lock = await cache.lock(digest, settings.cacheLockTimeout * 1000);
  } catch (err) {
    return staleOr(err);
  }
  // Stores that cannot take a file (Redis) get the refresh built in a private temporary folder.
  let scratch = cache.scratchDir ?? privateScratch();
  let built: { file: string; index: string } | undefined;
  try {
    // Whoever held the lock may just have refreshed this configuration: serve that, don't repeat it.
    if (settings.cacheMaxAge > 0) {
      const entry = await cache.get(digest);
      if (entry && entry.writtenAt >= waitingSince && isFresh(entry, settings)) return { entry, refreshed: false };
    }
    const generation = await cache.generation();
    // account_errors = warn serves a failing account's hosts from the last good entry.
    const accountsWarn = settings.accounts?.length && settings.accountErrors === 'warn';
    const last = accountsWarn ? { entry: previous ?? (await cache.get(digest).catch(() => undefined)), onWarning: options.onWarning } : undefined;
    try {
      built = await fetchInventoryFile(settings, scratch, options.onProgress, last);
    } catch (err) {
      if (!(scratch === cache.scratchDir && unreachable(err))) return await staleOr(err);
      // cache_path cannot be written (a full disk): the refresh is built, and served, without it.
      cache.outage.storeFailed(err);
      scratch = privateScratch();
      try {
        built = await fetchInventoryFile(settings, scratch, options.onProgress, last);
      } catch (again) {
        return await staleOr(again);
      }
    }
    const writtenAt = Date.now();
    // Lets a later cached --list skip parsing settings (lib/cli/cached.ts), only while these
    // settings still give the digest this entry is stored under.
    const readKey = cacheDigest(settings) === digest ? readKeyOf(settings) : undefined;
    // The file store takes the file itself; other stores (Redis) are given the text, as text.
    const inventory = !cache.setFile ? readFileSync(built.file, 'latin1') : wantText ? readFileSync(built.file) : '';
    const entry: CacheEntry = { inventory, index: built.index, writtenAt, ...(readKey ? { readKey } : {}) };
    try {
      lock.check();
      if (cache.setFile) await cache.setFile(digest, { inventoryFile: built.file, index: built.index, writtenAt, ...(readKey ? { readKey } : {}) });
      else await cache.set(digest, entry);
      // Provisioning added or removed hosts since these calls began: this listing may show them
      // as they were, so the next run must ask again. Checked after storing, because the change
      // drops entries without waiting for this lock.
      if ((await cache.generation()) !== generation) await cache.clear();
    } catch (err) {
      // The inventory is fresh; only storing it failed. With cache_stale_on_error the run still
      // answers (with this newer inventory), otherwise the failure is reported as it is.
      if (!settings.cacheStaleOnError) throw err;
      options.onWarning?.(`the inventory was fetched but not cached: ${(err as Error).message}`);
    }
    return { entry, refreshed: true };
  } finally {
    if (built) rmSync(built.file, { force: true });
    if (scratch !== cache.scratchDir) rmSync(scratch, { recursive: true, force: true });
    await lock.release();
  }
}

/** cache_stale_on_error: the previous inventory and a warning instead of the failure. */
async function serveStale(
  err: unknown, cache: ResilientCache, digest: string, settings: Settings, options: RequestOptions, previous: CacheEntry | undefined,
): Promise<Current> {
  if (!settings.cacheStaleOnError) throw err;
  // The store's entry, or (the store down) the local copy kept for this case.
  const last = previous ? { entry: previous } : await cache.lastGood(digest);
  if (!last) throw err;
  const { entry, from } = last;
  const age = Math.round((Date.now() - entry.writtenAt) / 1000);
  options.onWarning?.(`refresh failed, serving the inventory cached ${age} s ago${from ? ` (${from})` : ''} (cache_stale_on_error): ${(err as Error)?.message ?? String(err)}`);
  return { entry, refreshed: true };
}

function privateScratch(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'ec2-inventory-'));
}

function entryHostVars(entry: CacheEntry, host: string, hostOfName?: typeof HostOfName): HostVars | undefined {
  let index: Index;
  try {
    index = JSON.parse(asText(entry.index)) as Index;
  } catch {
    return undefined;
  }
  let name = host;
  if (hostOfName) {
    // Two accounts' hosts that map to one name: --host answers each by its own name, never one at random.
    const found = hostOfName(index, host);
    if (found === undefined) return undefined;
    if ('ambiguous' in found) {
      throw new InventoryError(`--host ${host}: hosts of ${found.ambiguous.length} accounts have that name; ask for one of ${found.ambiguous.join(', ')}`);
    }
    name = found.host;
  } else if (!Object.hasOwn(index, host)) {
    return undefined;
  }
  try {
    return hostVars(JSON.parse(asText(entry.inventory)) as Inventory, name);
  } catch {
    return undefined;
  }
}
