// The part of a cache key that says which inventory an entry is: a digest of every setting and
// every environment value that changes what a refresh returns. Two configurations or two
// accounts sharing a cache_path or a Redis never read each other's inventory.
import { createHash } from 'node:crypto';
import type { Settings } from '../settings/read.js';
// Declared beside the read key, which must change whenever the digest would.
import { digestVersion, envInDigest as envInKey } from '../settings/readKey.js';

/** Settings that only say how the cache and the calls behave, not what the inventory holds. */
const notInKey = new Set<string>([
  'iniPath', 'cachePath', 'cacheMaxAge', 'cacheConnection', 'cacheStaleOnError', 'cacheLockTimeout', 'registryLockTimeout',
  'maxConcurrency', 'maxAttempts', 'connectTimeout', 'requestTimeout', 'refreshTimeout', 'warnings', 'profileFrom',
]);

/** Raised when the merge of accounts' hosts changes what a refresh renders. */
const accountMergeVersion = 2;

export function cacheDigest(settings: Settings, env: NodeJS.ProcessEnv = process.env): string {
  const relevant: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(settings).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (notInKey.has(key)) continue;
    // Added after caches existed: left out while empty, so those caches keep their keys.
    if (key === 'libvirtUris' && Array.isArray(value) && value.length === 0) continue;
    if (key === 'awsEc2Hostvars' && value === false) continue;
    const accounts = settings.accounts ?? [];
    if (key === 'accounts' && accounts.length === 0) continue;
    // How accounts are merged changes the output only when there are accounts to merge.
    if (key === 'accountCollision' && accounts.length === 0) continue;
    // account_errors decides whether a refresh fails, not what a good one holds.
    if (key === 'accountErrors') continue;
    // Every account's identity and settings: one entry for the whole inventory.
    if (key === 'accounts') relevant[key] = accounts.map((a) => Object.fromEntries(Object.entries(a).sort(([x], [y]) => (x < y ? -1 : 1)).map(([k, v]) => [k, keyed(v)])));
    else relevant[key] = keyed(value);
  }
  // How several accounts' hosts are merged has its own version, so a change to that merge re-keys
  // only the caches of inventories with account sections.
  if ((settings.accounts ?? []).length > 0) relevant['accountMerge'] = accountMergeVersion;
  const environment = Object.keys(env).filter((k) => envInKey.test(k)).sort().map((k) => [k, env[k]]);
  // The access key id tells accounts apart without a call; only its hash goes into the key,
  // and the secret is never read.
  const keyId = env['AWS_ACCESS_KEY_ID'] ? createHash('sha256').update(env['AWS_ACCESS_KEY_ID']).digest('hex') : '';
  return createHash('sha256')
    .update(JSON.stringify({ v: digestVersion, relevant, environment, keyId }))
    .digest('hex')
    .slice(0, 32);
}

// Patterns hold a RegExp; their source text is what identifies them.
function keyed(value: unknown): unknown {
  return value && typeof value === 'object' && 'source' in value ? (value as { source: string }).source : value;
}
