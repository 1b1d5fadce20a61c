// The read key: what lets a cached --list be answered without parsing ec2.ini (lib/cli/cached.ts).
// A refresh that writes the file cache also records a hash of everything its settings and its
// cache digest were derived from: the ini's path and exact bytes, the environment they consult,
// --profile, the cache folder and cache_max_age. A later run that hashes the same inputs to the
// same key would parse the same settings, compute the same digest and find the same entry, so it
// may copy the cache file out without loading the settings parser, keyv or the rest.
//
// This module is loaded on that fast path: it imports node builtins only. node:crypto costs about
// 3 ms of start-up; a SHA-256 in plain JavaScript was tried and costs less for a 350-byte ini but
// 8-15 ms for a commented 15 KB one (run once, in the interpreter, every 32-bit intermediate is a
// boxed number), so the flat 3 ms wins.
import { createHash } from 'node:crypto';
import type { Settings } from '../settings/read.js';

/**
 * Bumped to disown every cached entry (a change to the rules' output, or to what the digest is made
 * of); part of the read key too, so that the fast path disowns them at the same moment.
 */
export const digestVersion = 1;

/** Environment that selects the endpoint or the identity the SDK uses (part of the cache digest). */
export const envInDigest = /^(AWS_ENDPOINT_URL(_.*)?|AWS_PROFILE|AWS_DEFAULT_PROFILE|AWS_REGION|AWS_DEFAULT_REGION|AWS_ROLE_ARN|AWS_CONFIG_FILE|AWS_SHARED_CREDENTIALS_FILE|EC2_URL|EC2_INSTANCE_FILTERS)$/;

/**
 * Every variable readSettings or cacheDigest consults: the digest's, the access key id (it decides
 * whether the ini's [credentials] are used, and is in the digest), HOME (~ in cache_path) and
 * EC2_INI_PATH (which ini). AWS_ACCESS_KEY_ID is hashed before it goes anywhere.
 */
function envInReadKey(name: string): boolean {
  return envInDigest.test(name) || name === 'AWS_ACCESS_KEY_ID' || name === 'HOME' || name === 'EC2_INI_PATH';
}

export interface ReadKey {
  /** SHA-256 (hex) of the inputs below. */
  key: string;
  /** cache_max_age of those settings, in seconds (bound into the key). */
  maxAge: number;
}

export interface ReadInputs {
  iniPath: string;
  /** SHA-256 (hex) of the ini's bytes. */
  iniSha: string;
  /** cache_path as the settings hold it (~ expanded). */
  cachePath: string;
  maxAge: number;
  /** --profile, which wins over the environment and the ini. */
  profile: string | undefined;
  env: NodeJS.ProcessEnv;
}

/** The environment part of a read key, as text (the access key id hashed). */
function envText(env: NodeJS.ProcessEnv): string {
  const picked = Object.keys(env).filter(envInReadKey).sort()
    .map((k) => [k, k === 'AWS_ACCESS_KEY_ID' ? sha256Hex(env[k] ?? '') : env[k]]);
  return JSON.stringify(picked);
}

export function computeReadKey(inputs: ReadInputs): string {
  const { iniPath, iniSha, cachePath, maxAge, profile, env } = inputs;
  const environment = envText(env);
  return sha256Hex(JSON.stringify({ v: 1, digest: digestVersion, iniPath, iniSha, cachePath, maxAge, profile: profile ?? null, environment }));
}

interface ParsedFrom {
  iniPath: string;
  iniSha: string;
  profile: string | undefined;
  env: string;
  /** The settings as parsed: a caller that changes them afterwards gets no read key. */
  snapshot: string;
}

// Kept beside the settings rather than in them: a WeakMap entry is not serialised, spread or
// copied, so a Settings object built or copied by hand never claims to come from an ini.
const parsedFrom = new WeakMap<object, ParsedFrom>();

/** Called by readSettings with the bytes it parsed (not a second read of the file). */
export function rememberIniRead(settings: Settings, iniPath: string, iniBytes: Uint8Array, env: NodeJS.ProcessEnv, profile: string | undefined): void {
  parsedFrom.set(settings, { iniPath, iniSha: sha256Hex(iniBytes), profile, env: envText(env), snapshot: JSON.stringify(settings) });
}

/**
 * The read key for an entry written now with these settings, or undefined when a run could not
 * prove it would parse the same settings: they were not read by readSettings, were changed since,
 * the environment differs from the one they were read with, or the cache is not the file store.
 */
export function readKeyOf(settings: Settings, env: NodeJS.ProcessEnv = process.env): ReadKey | undefined {
  const from = parsedFrom.get(settings);
  if (!from || settings.cacheConnection !== '') return undefined;
  if (from.env !== envText(env) || from.snapshot !== JSON.stringify(settings)) return undefined;
  const inputs = { iniPath: from.iniPath, iniSha: from.iniSha, cachePath: settings.cachePath, maxAge: settings.cacheMaxAge, profile: from.profile, env };
  return { key: computeReadKey(inputs), maxAge: settings.cacheMaxAge };
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}
