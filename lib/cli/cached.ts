// A cached --list at the cost of reading a file. bin/ec2-inventory calls serveCachedList before it
// loads anything else; it answers only when it can prove that the full path (lib/cli/inventory.ts)
// would print exactly the same bytes, and otherwise returns false without having written anything,
// so that the full path answers (and reports whatever is wrong) as if this did not exist.
//
// The proof is the read key (lib/settings/readKey.ts): the refresh that wrote the cache recorded in
// ansible-ec2.meta a hash of the ini's path and bytes, the environment, the cache folder and
// cache_max_age. Same inputs → same settings → same digest → same entry. Everything else the full
// path checks for a cached --list is checked here the same way: the entry is whole, fresh and not
// being rewritten (the protocol of lib/store/fileStore.ts readEntry) and the cache folder is
// writable. With a registry file, the answer is the merged output the full path kept
// (lib/store/merged.ts), served only while it names this very cache meta and registry file.
//
// Where the ini and the cache are, when an entry is fresh and which files are trusted are the full
// path's own rules, from the modules it takes them from: lib/settings/paths.ts and
// lib/store/layout.ts. Those, lib/settings/readKey.ts and lib/settings/configparser.ts import
// nothing, and node:fs and node:path come through process.getBuiltinModule (see getBuiltin there):
// together, about 7 ms less than importing node:fs and node:crypto, on a floor of about 40 ms.
import type * as Fs from 'node:fs';
import type * as Path from 'node:path';
import { computeReadKey, getBuiltin, sha256Hex } from '../settings/readKey.js';
import { IniFile } from '../settings/configparser.js';
import { iniPathOf, pathValue } from '../settings/paths.js';
import { CACHE_FILE, INDEX_FILE, MERGED_FILE, META_FILE, REGISTRY_FILE, isFresh, untrusted } from '../store/layout.js';

let fs: typeof Fs;
let path: typeof Path;

/** Serves `--list` (or no argument) from a valid file cache; false when the full path must answer. */
export function serveCachedList(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, executable = process.argv[1] ?? '', fd = 1): boolean {
  if (!(argv.length === 0 || (argv.length === 1 && argv[0] === '--list'))) return false;
  if (!getBuiltin) return false;
  fs = getBuiltin('node:fs');
  path = getBuiltin('node:path');
  let cache: OpenCache | undefined;
  try {
    cache = cachedInventory(env, executable);
  } catch {
    cache = undefined; // the full path reads the same files and says what is wrong
  }
  if (!cache) return false;
  try {
    const served = copyOut(cache, fd);
    // Not before: when nothing was served the full path answers, and warns itself.
    if (served) for (const warning of cache.warnings) process.stderr.write(`ec2-inventory: warning: ${warning}\n`);
    if (served && env['EC2_INVENTORY_TRACE']) process.stderr.write('ec2-inventory: trace: --list served from the cache by the fast path\n');
    return served;
  } finally {
    fs.closeSync(cache.fd);
  }
}

interface OpenCache {
  fd: number;
  /** Where the output starts in the file (after the merged output's header line), and its length. */
  start: number;
  size: number;
  /** The ini's warnings, recorded with the read key by the refresh that read the same ini. */
  warnings: string[];
}

interface Meta {
  writtenAt: number;
  nonce: string;
  cacheBytes: number;
  indexBytes: number;
  read: { key: string; maxAge: number; warnings?: string[] };
}

function readMeta(file: string): { meta: Meta; text: string } | undefined {
  const text = fs.readFileSync(file, 'utf8');
  const meta = JSON.parse(text) as Partial<Meta>;
  const read = meta.read;
  if (typeof meta.writtenAt !== 'number' || typeof meta.nonce !== 'string' || typeof meta.cacheBytes !== 'number' ||
      typeof meta.indexBytes !== 'number' || !read || typeof read.key !== 'string' || typeof read.maxAge !== 'number') return undefined;
  return { meta: meta as Meta, text };
}

/**
 * The cache file, open, when the full path would print its bytes (and a newline); undefined when
 * that is not certain. Cache files are only ever replaced by rename, never written in place, so
 * the open file's bytes are the ones checked here while it is copied out.
 */
function cachedInventory(env: NodeJS.ProcessEnv, executable: string): OpenCache | undefined {
  const iniPath = iniPathOf(executable, env, fs.realpathSync, path);
  const iniBytes = fs.readFileSync(iniPath);
  const dir = cacheDir(iniBytes.toString('utf8'), env);
  if (dir === undefined) return undefined;
  const metaFile = path.join(dir, META_FILE);
  const before = readMeta(metaFile);
  if (!before) return undefined;
  const { meta } = before;
  // cache_max_age = 0: the full path never reads the cache.
  if (!(meta.read.maxAge > 0)) return undefined;
  const key = computeReadKey({ iniPath, iniSha: sha256Hex(iniBytes), cachePath: dir, maxAge: meta.read.maxAge, profile: undefined, env });
  if (key !== meta.read.key) return undefined;
  if (!isFresh(meta.writtenAt, meta.read.maxAge)) return undefined;
  // The full path opens the cache only in a folder it can write (lib/store/open.ts ensureCacheDir),
  // and only in one nobody else can (lib/store/permissions.ts): it says why, so leave that to it.
  fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK);
  if (!trusted(fs.statSync(dir)) || !trusted(fs.lstatSync(metaFile))) return undefined;
  // Registered hosts are merged into --list: served from the merged output when it is current.
  const registryFile = path.join(dir, REGISTRY_FILE);
  const registrySt = fs.lstatSync(registryFile, { throwIfNoEntry: false });
  if (registrySt !== undefined && !trusted(registrySt)) return undefined;
  const registry = registrySt === undefined ? undefined : fs.readFileSync(registryFile, 'utf8');
  const indexFile = path.join(dir, INDEX_FILE);
  fs.accessSync(indexFile, fs.constants.R_OK);
  if (fs.statSync(indexFile).size !== meta.indexBytes) return undefined;
  if (!trusted(fs.lstatSync(indexFile))) return undefined;
  const fd = fs.openSync(path.join(dir, registry === undefined ? CACHE_FILE : MERGED_FILE), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    const st = fs.fstatSync(fd);
    if (!trusted(st)) throw new Error('untrusted');
    const total = st.size;
    const start = registry === undefined ? 0 : mergedStart(fd, before.text, registry);
    // A rewrite that started since meta was read changes meta (readEntry's protocol): then the
    // file opened may not be the one meta describes.
    const after = readMeta(metaFile);
    const current = registry === undefined ? total === meta.cacheBytes : start !== undefined;
    if (current && start !== undefined && after && after.text === before.text) {
      return { fd, start, size: total - start, warnings: Array.isArray(meta.read.warnings) ? meta.read.warnings : [] };
    }
  } catch {
    // closed below
  }
  fs.closeSync(fd);
  return undefined;
}

/**
 * Where the output starts in ansible-ec2.merged, when its header (lib/store/merged.ts) names these
 * meta and registry texts; undefined when it was made from others.
 */
function mergedStart(fd: number, metaText: string, registry: string): number | undefined {
  // The header holds both texts JSON-escaped: a little longer than they are.
  const room = Buffer.byteLength(metaText) * 2 + Buffer.byteLength(registry) * 2 + 256;
  const head = Buffer.allocUnsafe(room);
  const n = fs.readSync(fd, head, 0, room, 0);
  const newline = head.subarray(0, n).indexOf(0x0a);
  if (newline === -1) return undefined;
  const header = JSON.parse(head.subarray(0, newline).toString('utf8')) as { v?: unknown; meta?: unknown; registry?: unknown };
  return header.v === 1 && header.meta === metaText && header.registry === registry ? newline + 1 : undefined;
}

/** As the full path trusts a cache file (lib/store/permissions.ts): ours or root's, written by nobody else, no link. */
function trusted(st: Fs.Stats): boolean {
  return untrusted(st) === undefined && !st.isSymbolicLink();
}

/**
 * cache_path as the full path reads it: the same configparser reading and path rule; undefined for
 * what it leaves to the full path (cache_connection, no HOME to expand ~ with). Any error in the
 * file makes cachedInventory fail, and the full path report it.
 */
function cacheDir(text: string, env: NodeJS.ProcessEnv): string | undefined {
  const ini = IniFile.parse(text);
  if (ini.hasOption('ec2', 'cache_connection') && ini.get('ec2', 'cache_connection').trim() !== '') return undefined; // Redis: the full path's business
  if (!ini.hasOption('ec2', 'cache_path')) return undefined;
  return pathValue(ini.get('ec2', 'cache_path'), () => env['HOME'] || noHome(), path);
}

function noHome(): never {
  throw new Error('no HOME: the full path finds the home folder');
}

/**
 * Copies the cache file and a newline to fd. False only when nothing was written (the full path
 * then answers). A reader that closes the pipe ends the run quietly, as the full path does.
 */
function copyOut(cache: OpenCache, fd: number): boolean {
  const total = cache.size + 1;
  // Chunks, as cat copies: no buffer the size of the inventory (267 MB at 100,000 hosts).
  const buffer = Buffer.allocUnsafe(Math.min(total, CHUNK));
  let wroteAny = false;
  for (let position = 0; position < total;) {
    let length: number;
    try {
      length = fill(cache, buffer, position);
    } catch (err) {
      return failed(err, wroteAny, 'read the cache');
    }
    for (let off = 0; off < length;) {
      try {
        off += fs.writeSync(fd, buffer, off, length - off);
        wroteAny = true;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (readerGone(code)) return true;
        if (code === 'EAGAIN' && fd === 1) {
          // A non-blocking stdout (shared with a parent that set O_NONBLOCK): node's own stream
          // waits for it to drain; rare enough to pay for loading it.
          handOffToStdout(cache, Buffer.from(buffer.subarray(off, length)), position + length);
          return true;
        }
        return failed(err, wroteAny, 'write the inventory to stdout');
      }
    }
    position += length;
  }
  return true;
}

// cat's buffer size: a buffer that stays in the L2 cache between the read and the write measured
// 1.01-1.09x of cat at 100,000 hosts, against 1.12-1.15x with 1 MiB.
const CHUNK = 128 * 1024;

/**
 * The reader went away (`| head`): EPIPE on a pipe, ECONNRESET on the socket pair a node parent
 * gives a child as its stdout. Either ends the answer quietly, as cat does.
 */
export function readerGone(code: string | undefined): boolean {
  return code === 'EPIPE' || code === 'ECONNRESET';
}

/** Fills buffer with the output from `from` on (the file's bytes, then a newline); returns how many. */
function fill(cache: OpenCache, buffer: Buffer, from: number): number {
  const want = Math.min(buffer.length, cache.size + 1 - from);
  let got = 0;
  while (got < want) {
    if (from + got === cache.size) {
      buffer[got++] = 0x0a;
      continue;
    }
    const n = fs.readSync(cache.fd, buffer, got, Math.min(want - got, cache.size - from - got), cache.start + from + got);
    if (n === 0) throw new Error(`it is ${cache.size - from - got} bytes shorter than it was a moment ago`);
    got += n;
  }
  return got;
}

function failed(err: unknown, wroteAny: boolean, what: string): boolean {
  if (!wroteAny) return false;
  // Part of the inventory is out: too late for the full path. Say so, and fail the run.
  process.stderr.write(`ec2-inventory: cannot ${what}: ${(err as Error).message}\n`);
  process.exitCode = 1;
  return true;
}

/** The rest of the output through process.stdout: `pending`, then the output from `from` on. */
function handOffToStdout(cache: OpenCache, pending: Buffer, from: number): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (readerGone(err.code)) process.exit(process.exitCode ?? 0);
    throw err;
  });
  process.stdout.write(pending);
  for (let position = from; position < cache.size + 1;) {
    const chunk = Buffer.allocUnsafe(Math.min(cache.size + 1 - position, CHUNK));
    const length = fill(cache, chunk, position);
    process.stdout.write(chunk.subarray(0, length));
    position += length;
  }
}
