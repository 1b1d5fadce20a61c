import fs from 'node:fs';
import path from 'node:path';
import { ProvisionError, errnoOf } from '../../errors.js';

// Preparation steps never touch the source tree. They record changes in an overlay, and read the
// tree through it, so a later step sees what an earlier one wrote (the placeholder hook, for
// instance, looks for the files that the network step rewrote).

export type Change =
  | { kind: 'remove'; path: string }
  | { kind: 'file'; path: string; content: Buffer; mode: number }
  | { kind: 'symlink'; path: string; target: string }
  | { kind: 'dir'; path: string; mode: number };

export type NodeKind = 'file' | 'dir' | 'symlink' | 'other';

/** Normalises a path inside the tree to the form `etc/hostname` (no leading slash, no `..`). */
export function treePath(p: string): string {
  const norm = path.posix.normalize('/' + p).slice(1).replace(/\/+$/, '');
  if (norm.split('/').includes('..')) throw new Error(`path escapes the tree: ${p}`);
  return norm;
}

/**
 * What a tarball said about an entry, for a tree unpacked from it without root: the files on disk
 * then belong to whoever unpacked them and device nodes are empty files, so owners, modes, times
 * and node types come from here instead of lstat.
 */
export interface SourceMeta {
  type: 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo';
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  devmajor?: number;
  devminor?: number;
}

export class OverlayTree {
  /** Latest change per path; `remove` also hides everything below the path in the source. */
  readonly changes = new Map<string, Change>();

  /** Folders of the source already known to lead nowhere outside the tree. */
  private readonly safeDirs = new Set<string>();
  private realRoot: string | undefined;
  // The source as first seen, so that preparation, the default time and the archive, which each
  // look at every entry of a root of tens of thousands, lstat and list each one once. The source is
  // only read, so what was seen stays true; a file that changes anyway is still caught, because the
  // archive reads its contents by the size seen here.
  private readonly stats = new Map<string, fs.Stats | null>();
  private readonly listings = new Map<string, readonly string[]>();
  /** The root with one trailing slash: a tree path appended to it is its host path. */
  private readonly base: string;

  constructor(
    readonly root: string,
    readonly meta?: ReadonlyMap<string, SourceMeta>,
  ) {
    this.base = path.join(root, '/');
  }

  /**
   * The host path of `rel` in the source. lstat and open follow symlinks in the middle of a path,
   * so a root whose `etc` links to the host's /etc would hand the host's files to the archive: every
   * folder on the way is resolved and must stay inside the tree, else the build is refused.
   */
  sourcePath(rel: string): string {
    // A safe folder's own folders were checked before it: only its parent needs looking up.
    const parent = rel.lastIndexOf('/');
    if (parent === -1 || this.safeDirs.has(rel.slice(0, parent))) return rel === '' ? this.root : this.base + rel;
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (this.safeDirs.has(dir)) continue;
      const abs = path.join(this.root, dir);
      const st = this.sourceStat(dir);
      if (st === undefined) break; // nothing below it either
      if (st.isSymbolicLink()) {
        let real: string;
        try {
          real = fs.realpathSync(abs);
        } catch (err) {
          if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR') break; // dangling: nothing below it
          throw err;
        }
        this.realRoot ??= fs.realpathSync(this.root);
        if (real !== this.realRoot && !real.startsWith(this.realRoot + path.sep)) {
          throw new ProvisionError(
            `${abs} is a symlink to ${fs.readlinkSync(abs)}, outside the root filesystem ${this.root}: refusing to read /${rel} through it (make it relative to the tree, or remove it)`,
            'ESYMLINK');
        }
      }
      this.safeDirs.add(dir);
    }
    return this.base + rel;
  }

  /**
   * lstat of `rel` in the source (undefined when it is not there), taken once per build; other
   * errors (EACCES) are thrown each time asked.
   */
  sourceStat(rel: string, abs?: string): fs.Stats | undefined {
    const known = this.stats.get(rel);
    if (known !== undefined) return known ?? undefined;
    let st: fs.Stats | null = null;
    try {
      st = fs.lstatSync(abs ?? this.sourcePath(rel));
    } catch (err) {
      if (errnoOf(err) !== 'ENOENT' && errnoOf(err) !== 'ENOTDIR') throw err;
    }
    this.stats.set(rel, st);
    return st ?? undefined;
  }

  /** Names in a source folder, in archive order (compareNames), read once per build. */
  sourceNames(rel: string): readonly string[] {
    let names = this.listings.get(rel);
    if (names === undefined) {
      names = sortNames(fs.readdirSync(this.sourcePath(rel)));
      this.listings.set(rel, names);
    }
    return names;
  }

  /**
   * Calls `visit` with every entry of the source below the root and its lstat, folders before
   * their contents, in name order. It goes down real folders only, so no path it takes leads out of
   * the tree: they need no check, now or later.
   */
  scanSource(visit: (rel: string, st: fs.Stats) => void): void {
    const walk = (dir: string) => {
      for (const name of this.sourceNames(dir)) {
        const rel = dir === '' ? name : `${dir}/${name}`;
        // Gone since its folder was read: not there.
        const st = this.sourceStat(rel, this.base + rel);
        if (st === undefined) continue;
        visit(rel, st);
        if (st.isDirectory()) {
          this.safeDirs.add(rel);
          walk(rel);
        }
      }
    };
    walk('');
  }

  private hiddenBySourceRemoval(rel: string): boolean {
    for (let i = rel.indexOf('/'); i !== -1; i = rel.indexOf('/', i + 1)) {
      const c = this.changes.get(rel.slice(0, i));
      if (c && c.kind !== 'dir') return true;
    }
    return false;
  }

  kind(p: string): NodeKind | undefined {
    const rel = treePath(p);
    const c = this.changes.get(rel);
    if (c) return c.kind === 'remove' ? undefined : c.kind;
    if (this.hiddenBySourceRemoval(rel)) return undefined;
    const m = this.meta?.get(rel);
    if (m && (m.type === 'char' || m.type === 'block' || m.type === 'fifo')) return this.sourceKind(rel) === undefined ? undefined : 'other';
    const st = this.sourceStat(rel);
    if (st === undefined) return undefined;
    return st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
  }

  exists(p: string): boolean {
    return this.kind(p) !== undefined;
  }

  /** Contents of a regular file (not following symlinks), or undefined if it is not one. */
  read(p: string): Buffer | undefined {
    const rel = treePath(p);
    const c = this.changes.get(rel);
    if (c) return c.kind === 'file' ? c.content : undefined;
    if (this.kind(rel) !== 'file') return undefined;
    try {
      return fs.readFileSync(this.sourcePath(rel));
    } catch (err) {
      throw new ProvisionError(`cannot read ${this.sourcePath(rel)}: ${errnoOf(err) ?? String(err)}`, 'EREAD');
    }
  }

  readText(p: string): string | undefined {
    return this.read(p)?.toString('utf8');
  }

  /** Target of a symlink (as written in it), or undefined if `p` is not one. */
  linkTarget(p: string): string | undefined {
    const rel = treePath(p);
    const c = this.changes.get(rel);
    if (c) return c.kind === 'symlink' ? c.target : undefined;
    if (this.kind(rel) !== 'symlink') return undefined;
    return fs.readlinkSync(this.sourcePath(rel));
  }

  /**
   * `p` with every symlink on the way followed inside the tree, as the guest would see it (absolute
   * targets start at the tree's root, never the host's); undefined when it leads nowhere.
   */
  resolve(p: string): string | undefined {
    let parts = treePath(p).split('/');
    const done: string[] = [];
    for (let hops = 0; parts.length > 0;) {
      const part = parts.shift()!;
      if (part === '' || part === '.') continue;
      // `..` above the root stays at the root, as in a chroot.
      if (part === '..') {
        done.pop();
        continue;
      }
      const next = [...done, part].join('/');
      const target = this.linkTarget(next);
      if (target === undefined) {
        if (!this.exists(next)) return undefined;
        done.push(part);
        continue;
      }
      if (++hops > 40) return undefined;
      if (target.startsWith('/')) done.length = 0;
      parts = [...target.split('/'), ...parts];
    }
    return done.join('/');
  }

  /** Mode bits of an existing regular file or directory, so rewritten files keep them. */
  mode(p: string): number | undefined {
    const rel = treePath(p);
    const c = this.changes.get(rel);
    if (c) return c.kind === 'file' || c.kind === 'dir' ? c.mode : undefined;
    if (!this.exists(rel)) return undefined;
    return this.meta?.get(rel)?.mode ?? this.sourceStat(rel)!.mode & 0o7777;
  }

  /** Sorted names in a directory, merged from source and overlay. */
  list(p: string): readonly string[] {
    const rel = treePath(p);
    if (this.kind(rel) !== 'dir') return [];
    const prefix = rel === '' ? '' : rel + '/';
    // Nothing recorded at or below this folder (most of a tree): the source's names are the
    // listing, with no lstat per name.
    if (rel !== '' && !this.changedAtOrBelow(rel, prefix)) return this.sourceNames(rel);
    const names = new Set<string>();
    const c = this.changes.get(rel);
    // A directory created by a step replaces whatever the source had at that path.
    if (!(c && c.kind === 'dir' && this.sourceKind(rel) !== 'dir')) {
      for (const n of this.sourceNames(rel)) names.add(n);
    }
    for (const key of this.changes.keys()) {
      if (key.startsWith(prefix) && key.length > prefix.length && !key.slice(prefix.length).includes('/')) names.add(key.slice(prefix.length));
    }
    return [...names].filter((n) => this.exists(prefix + n)).sort(compareNames);
  }

  private changedAtOrBelow(rel: string, prefix: string): boolean {
    for (const key of this.changes.keys()) if (key === rel || key.startsWith(prefix)) return true;
    return false;
  }

  private sourceKind(rel: string): NodeKind | undefined {
    let st: fs.Stats | undefined;
    try {
      st = this.sourceStat(rel);
    } catch (err) {
      if (err instanceof ProvisionError) throw err;
      return undefined;
    }
    if (st === undefined) return undefined;
    return st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'file';
  }

  /** Records a change, creating missing parent directories (mode 0755) so the archive stays extractable. */
  apply(change: Change): void {
    const rel = treePath(change.path);
    if (rel === '') throw new Error('a step cannot replace the root directory');
    const parent = path.posix.dirname(rel);
    // A step that wrote through a symlinked folder would either change what the link points at or
    // turn the link into a folder; neither is the tree it was given.
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (this.kind(dir) === 'symlink') {
        throw new ProvisionError(`a preparation step would write /${rel} through the symlink /${dir} of ${this.root}; refusing (skip that step, or replace the link with a folder)`, 'ESYMLINK');
      }
    }
    if (parent !== '.' && this.kind(parent) !== 'dir') this.apply({ kind: 'dir', path: parent, mode: 0o755 });
    if (change.kind === 'remove' && !this.exists(rel)) return;
    this.changes.set(rel, { ...change, path: rel });
    if (change.kind !== 'dir') {
      // Anything recorded below a replaced path is gone with it.
      for (const key of [...this.changes.keys()]) if (key.startsWith(rel + '/')) this.changes.delete(key);
    }
  }
}

/** Sorts `names` in place by compareNames. */
export function sortNames(names: string[]): string[] {
  // Below U+D800, UTF-16 code units sort as UTF-8 bytes do: the engine's own order, no comparator.
  return names.some((n) => beyondSurrogates.test(n)) ? names.sort(compareNames) : names.sort();
}

/** Byte order of UTF-8 names, which is what GNU tar's --sort=name uses. */
export function compareNames(a: string, b: string): number {
  // Below U+D800, UTF-16 code units sort as UTF-8 bytes do: no buffers for almost every name.
  if (!beyondSurrogates.test(a) && !beyondSurrogates.test(b)) return a < b ? -1 : a > b ? 1 : 0;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

const beyondSurrogates = /[\ud800-\uffff]/;
