// The read key: what lets a cached --list be answered without parsing ec2.ini (lib/cli/cached.ts).
// A refresh that writes the file cache also records a hash of everything its settings and its
// cache digest were derived from: the ini's path and exact bytes, the environment they consult,
// --profile, the cache folder and cache_max_age. A later run that hashes the same inputs to the
// same key would parse the same settings, compute the same digest and find the same entry, so it
// may copy the cache file out without loading the settings parser, keyv or the rest.
//
// This module is loaded on that fast path, so it imports nothing (see sha256Hex for how it hashes).

/** The settings a read key depends on (a structural type: readSettings imports this module). */
interface KeyedSettings {
  cachePath: string;
  cacheConnection: string;
  cacheMaxAge: number;
  warnings?: readonly string[];
}

/**
 * process.getBuiltinModule (Node 20.16+) hands out a builtin without the ESM namespace an import
 * builds, which for node:fs means loading its stream classes and the stream modules (~3 ms here).
 * Undefined on older Node, where the fast path stays off (readKeyOf, serveCachedList).
 */
export const getBuiltin = (process as { getBuiltinModule?: unknown }).getBuiltinModule as (<K extends keyof Builtins>(id: K) => Builtins[K]) | undefined;

interface Builtins {
  'node:fs': typeof import('node:fs');
  'node:path': typeof import('node:path');
  'node:crypto': typeof import('node:crypto');
}

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
  /**
   * The settings' warnings (options ec2.py would ignore): the same ini gives the same ones, so a
   * cached --list prints them from here as the full path would, without parsing the ini for them.
   */
  warnings?: string[];
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
export function rememberIniRead(settings: KeyedSettings, iniPath: string, iniBytes: Uint8Array, env: NodeJS.ProcessEnv, profile: string | undefined): void {
  parsedFrom.set(settings, { iniPath, iniSha: sha256Hex(iniBytes), profile, env: envText(env), snapshot: JSON.stringify(settings) });
}

/**
 * The read key for an entry written now with these settings, or undefined when a run could not
 * prove it would parse the same settings: they were not read by readSettings, were changed since,
 * the environment differs from the one they were read with, or the cache is not the file store.
 */
export function readKeyOf(settings: KeyedSettings, env: NodeJS.ProcessEnv = process.env): ReadKey | undefined {
  const from = parsedFrom.get(settings);
  if (!from || settings.cacheConnection !== '' || !getBuiltin) return undefined;
  if (from.env !== envText(env) || from.snapshot !== JSON.stringify(settings)) return undefined;
  const inputs = { iniPath: from.iniPath, iniSha: from.iniSha, cachePath: settings.cachePath, maxAge: settings.cacheMaxAge, profile: from.profile, env };
  const warnings = settings.warnings?.length ? { warnings: [...settings.warnings] } : {};
  return { key: computeReadKey(inputs), maxAge: settings.cacheMaxAge, ...warnings };
}

/**
 * SHA-256 (hex). node:crypto costs about 4 ms to load (it pulls in the stream modules), which is
 * most of what a cached --list costs over starting node; this SHA-256 in JavaScript runs once, in
 * the interpreter, at about 0.7 ms per KiB, so it takes the small inputs (the key's own text, the
 * access key id, a short ini) and node:crypto the rest. Both give the same digest (tested).
 */
export function sha256Hex(data: Uint8Array | string): string {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  if (bytes.length > 2048 && getBuiltin) return getBuiltin('node:crypto').createHash('sha256').update(bytes).digest('hex');
  return sha256Js(bytes);
}

// FIPS 180-4.
const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

export function sha256Js(bytes: Uint8Array): string {
  const length = bytes.length;
  const padded = new Uint8Array((((length + 8) >> 6) + 1) << 6);
  padded.set(bytes);
  padded[length] = 0x80;
  const end = padded.length;
  const high = Math.floor(length / 0x20000000);
  const low = (length << 3) >>> 0;
  padded[end - 8] = high >>> 24; padded[end - 7] = high >>> 16; padded[end - 6] = high >>> 8; padded[end - 5] = high;
  padded[end - 4] = low >>> 24; padded[end - 3] = low >>> 16; padded[end - 2] = low >>> 8; padded[end - 1] = low;
  let h0 = 0x6a09e667, h1 = 0xbb67ae85, h2 = 0x3c6ef372, h3 = 0xa54ff53a, h4 = 0x510e527f, h5 = 0x9b05688c, h6 = 0x1f83d9ab, h7 = 0x5be0cd19;
  const w = new Int32Array(64);
  // Plain locals and inlined rotations: run once per process in the interpreter, the number of
  // operations per round is what counts.
  for (let block = 0; block < end; block += 64) {
    for (let i = 0, j = block; i < 16; i++, j += 4) {
      w[i] = ((padded[j] as number) << 24) | ((padded[j + 1] as number) << 16) | ((padded[j + 2] as number) << 8) | (padded[j + 3] as number);
    }
    for (let i = 16; i < 64; i++) {
      const x = w[i - 15] as number;
      const y = w[i - 2] as number;
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      w[i] = ((w[i - 16] as number) + s0 + (w[i - 7] as number) + s1) | 0;
    }
    let a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7;
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (h + S1 + ((e & f) ^ (~e & g)) + (K[i] as number) + (w[i] as number)) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    h0 = (h0 + a) | 0; h1 = (h1 + b) | 0; h2 = (h2 + c) | 0; h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0; h5 = (h5 + f) | 0; h6 = (h6 + g) | 0; h7 = (h7 + h) | 0;
  }
  let hex = '';
  for (const x of [h0, h1, h2, h3, h4, h5, h6, h7]) hex += (x >>> 0).toString(16).padStart(8, '0');
  return hex;
}
