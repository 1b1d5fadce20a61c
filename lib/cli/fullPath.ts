// bin/ec2-inventory's full path (everything but a cached --list), compiled from a V8 code cache.
// Most of a cold refresh is code running for the first time: parsing and compiling the SDK and the
// rules. V8 can hand out the bytecode of every function a run compiled; a later run that is given
// it back skips that work. ES modules cannot take a code cache on Node 20, so the same code is also
// bundled as one CommonJS script (scripts/bundle.js: dist/bundle/inventory.cjs), compiled here with
// vm.Script. The cache is written once, after a run that refreshed (by then the code a refresh
// needs has been compiled), and read by every later full-path run.
//
// The cache cannot change what a run does: it is used only when its header names this very bundle
// (SHA-256 of its bytes), node binary (path, version, V8 version) and V8 flags, and its bytes hash
// to the SHA-256 it carries; it is read only from a folder and a file that are the user's and
// writable by nobody else (lib/store/permissions.ts), as bytecode is code. Anything else is
// ignored, the bundle compiled from its source as if there were no cache, and a refresh then
// writes a new one. V8 checks its own version and flags again and refuses what does not match.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import vm from 'node:vm';
import { untrusted } from '../store/layout.js';
import { writeAtomic } from '../store/atomic.js';

type Main = (argv: string[]) => Promise<number>;

export interface FullPath {
  main: Main;
  /** After the run: writes the code cache when none was used and the run refreshed. */
  settle(exitCode: number): void;
}

/** What the bundle's CommonJS entry (lib/cli/fullPathEntry.ts) exports. */
interface Entry {
  main: Main;
  fetchCount: () => number;
}

/** The parts of the key a cache is made for, in the header of its file. */
interface Key {
  bundle: string;
  node: string;
  version: string;
  flags: string[];
}

interface Header extends Key {
  format: typeof FORMAT;
  bytes: number;
  sha256: string;
}

const FORMAT = 'ec2-inventory code cache 1';
/** Headers are a few hundred bytes; more is not a header. */
const MAX_HEADER = 64 * 1024;

const bundleDir = new URL('../../bundle/', import.meta.url);

/**
 * Runs the full path and returns its exit code: the CommonJS bundle compiled through the code cache,
 * or with EC2_INVENTORY_CODE_CACHE=off the ES module bundle as it is (no cache read or written).
 */
export async function runFullPath(argv: string[], v8Flags: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (env['EC2_INVENTORY_CODE_CACHE'] === 'off') {
    const { main } = await import(new URL('inventory.js', bundleDir).href) as Pick<Entry, 'main'>;
    return main(argv);
  }
  const fullPath = loadFullPath(fileURLToPath(new URL('inventory.cjs', bundleDir)), v8Flags, env);
  const code = await fullPath.main(argv);
  fullPath.settle(code);
  return code;
}

/**
 * Loads the full path from `bundleFile` (dist/bundle/inventory.cjs). `v8Flags`: the flags the bin
 * set with v8.setFlagsFromString, which V8's cache check sees but process.execArgv does not.
 */
export function loadFullPath(
  bundleFile: string, v8Flags: readonly string[], env: NodeJS.ProcessEnv = process.env, stderr: (text: string) => void = (text) => void process.stderr.write(text),
): FullPath {
  const trace = env['EC2_INVENTORY_TRACE'] ? (line: string) => stderr(`ec2-inventory: trace: code cache ${line}\n`) : () => {};
  const source = fs.readFileSync(bundleFile, 'latin1');
  const key: Key = {
    bundle: createHash('sha256').update(source, 'latin1').digest('hex'),
    node: process.execPath,
    version: `${process.version} (V8 ${process.versions.v8})`,
    flags: [...process.execArgv, ...(env['NODE_OPTIONS'] ? [`NODE_OPTIONS=${env['NODE_OPTIONS']}`] : []), ...v8Flags],
  };
  const file = cacheFile(bundleFile, env);
  const found = file === undefined ? { why: 'no cache folder (neither XDG_CACHE_HOME nor HOME is set)' } : readCache(file, key);
  const script = new vm.Script(source, { filename: bundleFile, ...('data' in found ? { cachedData: found.data } : {}) });
  let used = 'data' in found && !script.cachedDataRejected;
  if (used) trace(`used: ${file}`);
  else trace(`not used: ${'data' in found ? 'refused by V8' : found.why}`);
  const module = { exports: {} as Entry };
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  run(module.exports, createRequire(bundleFile), module, bundleFile, path.dirname(bundleFile), pathToFileURL(bundleFile).href);
  const entry = module.exports;
  return {
    main: entry.main,
    settle(exitCode) {
      if (used || file === undefined || exitCode !== 0 || entry.fetchCount() === 0) return;
      used = true;
      try {
        // The folder first: where none can be made, V8 is not asked to serialise at every refresh.
        privateFolder(path.dirname(file));
        const bytes = writeCache(file, key, script.createCachedData());
        trace(`rebuilt: ${file} (${Math.round(bytes / 1024)} kB)`);
      } catch (err) {
        trace(`not written: ${(err as Error).message}`);
      }
    },
  };
}

/**
 * $XDG_CACHE_HOME/ec2-inventory (~/.cache/ec2-inventory), one file per installed bundle: two
 * installs of the package do not take turns replacing each other's cache.
 */
function cacheFile(bundleFile: string, env: NodeJS.ProcessEnv): string | undefined {
  const base = env['XDG_CACHE_HOME'] && path.isAbsolute(env['XDG_CACHE_HOME']) ? env['XDG_CACHE_HOME']
    : env['HOME'] ? path.join(env['HOME'], '.cache') : undefined;
  if (base === undefined) return undefined;
  const install = createHash('sha256').update(path.resolve(bundleFile)).digest('hex').slice(0, 16);
  return path.join(base, 'ec2-inventory', `code-${install}.v8cache`);
}

/** The cache's bytes when they are trusted and made for `key`; otherwise why not. */
function readCache(file: string, key: Key): { data: Buffer } | { why: string } {
  try {
    return readTrusted(file, key);
  } catch (err) {
    return { why: `ignored: cannot read ${file} (${(err as Error).message})` };
  }
}

function readTrusted(file: string, key: Key): { data: Buffer } | { why: string } {
  const dir = fs.lstatSync(path.dirname(file), { throwIfNoEntry: false });
  if (dir === undefined) return { why: 'none yet' };
  if (!dir.isDirectory() || untrusted(dir)) return { why: `ignored: ${path.dirname(file)} is not a private folder of this user` };
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { why: code === 'ENOENT' ? 'none yet' : `ignored: cannot open ${file} (${code ?? String(err)})` };
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile() || untrusted(st)) return { why: `ignored: ${file} is not a private file of this user` };
    const bytes = fs.readFileSync(fd);
    const newline = bytes.subarray(0, MAX_HEADER).indexOf(0x0a);
    if (newline === -1) return { why: 'ignored: damaged (no header)' };
    let header: Partial<Header>;
    try {
      header = JSON.parse(bytes.subarray(0, newline).toString('utf8')) as Partial<Header>;
    } catch {
      return { why: 'ignored: damaged (header)' };
    }
    if (header.format !== FORMAT) return { why: 'ignored: damaged (not a code cache of this format)' };
    const differs = differences(header, key);
    if (differs) return { why: `stale: made for another ${differs}` };
    const data = bytes.subarray(newline + 1);
    if (data.length !== header.bytes || createHash('sha256').update(data).digest('hex') !== header.sha256) return { why: 'ignored: damaged (its bytes do not match its SHA-256)' };
    return { data };
  } finally {
    fs.closeSync(fd);
  }
}

function differences(header: Partial<Header>, key: Key): string | undefined {
  if (header.bundle !== key.bundle) return 'bundle';
  if (header.node !== key.node || header.version !== key.version) return 'node binary';
  if (!Array.isArray(header.flags) || header.flags.length !== key.flags.length || header.flags.some((f, i) => f !== key.flags[i])) return 'set of V8 flags';
  return undefined;
}

/** Makes `dir` (0700) where it is missing; throws unless it is a folder of this user's that nobody else can write. */
function privateFolder(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = fs.lstatSync(dir);
  if (!st.isDirectory() || untrusted(st)) throw new Error(`${dir} is not a private folder of this user`);
}

/** Writes the cache as the inventory cache is written (0600, atomic: lib/store/atomic.ts); returns its size. */
function writeCache(file: string, key: Key, data: Buffer): number {
  const header: Header = { format: FORMAT, ...key, bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') };
  const bytes = Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`, 'utf8'), data]);
  writeAtomic(file, bytes);
  return bytes.length;
}
