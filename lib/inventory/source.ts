// The whole flow of one inventory request, shared by the CLI and the package API:
// settings → cache hit, or fetch → rules → write cache → the JSON text ec2.py would print.
// The AWS SDK is imported only when a refresh is needed: a cached answer never pays for loading it.
import type { Settings } from '../settings/read.js';
import { cacheFiles, ensureCacheDir, is_cache_valid, readCacheText, readIndexText, writeCache, type CacheFiles } from '../cache/files.js';
import { buildInventory, type HostVars, type Index, type Inventory } from './rules.js';
import { json_format_dict } from './format.js';

export interface RequestOptions {
  /** Call the APIs even when the cache is still valid (--refresh-cache). */
  refresh?: boolean;
}

/** Calls the AWS APIs and applies the rules; touches no cache. */
export async function fetchInventory(settings: Settings): Promise<{ inventory: Inventory; index: Index }> {
  const { fetchRecords } = await import('../aws/fetch.js');
  return buildInventory(await fetchRecords(settings), settings);
}

interface Fresh {
  inventoryText: string;
  index: Index;
}

/** ec2.py do_api_calls_update_cache: fetch, build, then replace both cache files. */
async function do_api_calls_update_cache(settings: Settings, files: CacheFiles): Promise<Fresh> {
  const { inventory, index } = await fetchInventory(settings);
  const inventoryText = json_format_dict(inventory);
  writeCache(files, inventoryText, json_format_dict(index));
  return { inventoryText, index };
}

/** The inventory as ec2.py --list prints it (without the final newline). */
export async function listInventory(settings: Settings, options: RequestOptions = {}): Promise<string> {
  const files = cacheFiles(settings.cachePath);
  ensureCacheDir(files);
  if (options.refresh || !is_cache_valid(files, settings.cacheMaxAge)) {
    return (await do_api_calls_update_cache(settings, files)).inventoryText;
  }
  // Served as the bytes on disk: no parse, no re-serialisation.
  return readCacheText(files);
}

/**
 * The variables of one host as ec2.py --host prints them: from the cache, refreshed once when the
 * host is unknown to it (it may be new), and `{}` when it is still unknown.
 */
export async function hostInventory(settings: Settings, host: string, options: RequestOptions = {}): Promise<string> {
  const files = cacheFiles(settings.cachePath);
  ensureCacheDir(files);
  let fresh: Fresh | undefined;
  if (options.refresh || !is_cache_valid(files, settings.cacheMaxAge)) {
    fresh = await do_api_calls_update_cache(settings, files);
  }
  let vars = fresh ? hostVarsFromText(fresh.inventoryText, fresh.index, host) : cachedHostVars(files, host);
  if (vars === undefined && !fresh) {
    fresh = await do_api_calls_update_cache(settings, files);
    vars = hostVarsFromText(fresh.inventoryText, fresh.index, host);
  }
  return json_format_dict(vars ?? {});
}

/** The hostvars of one host in an inventory, or undefined when it has none. */
export function hostVars(inventory: Inventory, host: string): HostVars | undefined {
  return Object.hasOwn(inventory._meta.hostvars, host) ? inventory._meta.hostvars[host] : undefined;
}

function cachedHostVars(files: CacheFiles, host: string): HostVars | undefined {
  try {
    const index = JSON.parse(readIndexText(files)) as Index;
    return hostVarsFromText(readCacheText(files), index, host);
  } catch {
    // A damaged cache is as good as none: the caller refreshes it.
    return undefined;
  }
}

function hostVarsFromText(inventoryText: string, index: Index, host: string): HostVars | undefined {
  if (!Object.hasOwn(index, host)) return undefined;
  return hostVars(JSON.parse(inventoryText) as Inventory, host);
}
