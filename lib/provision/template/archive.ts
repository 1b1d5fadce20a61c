import fs from 'node:fs';
import path from 'node:path';
import { ProvisionError, errnoOf } from '../../errors.js';
import { encodeHeader, endOfArchive, padding, type TarHeader } from './tar.js';
import type { OverlayTree } from './tree.js';

export interface ArchiveOptions {
  /**
   * `map-builder` (default): files owned by the owner of the tree's top directory (whoever unpacked
   * or built it, often an unprivileged user) become root's, other owners are kept as numbers.
   * `all-root`: every entry is 0:0.
   */
  ownership?: 'map-builder' | 'all-root';
  /** Modification time for entries written by preparation steps (seconds since the epoch). */
  generatedMtime: number;
  /** When set (SOURCE_DATE_EPOCH), no entry is newer than this. */
  clampMtime?: number;
  /** Called for entries that a tar archive cannot hold (sockets). */
  onSkip?: (rel: string, why: string) => void;
  /** Folder the tree's entries go under (default `.`: `./etc/hostname`; Incus: `rootfs`; `''`: `etc/hostname`, no root entry). */
  prefix?: string;
  /** Entries written before the tree (Incus' metadata.yaml and templates/), owned by root. */
  leading?: readonly LeadingEntry[];
}

export interface LeadingEntry {
  name: string;
  type: 'file' | 'dir';
  mode: number;
  content?: Buffer;
}

function devMajor(rdev: number): number {
  return ((rdev >>> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
}
function devMinor(rdev: number): number {
  return (rdev & 0xff) | ((rdev >>> 12) & ~0xff & 0xfffff);
}

const PIECE = 1 << 20;

/**
 * The archive's bytes in pieces of 1 MiB, written in place: headers are copied in, file contents
 * read straight into the piece (no buffer per file, no second copy). A full piece is never touched
 * again, so it can be handed on as it is.
 */
class Pieces {
  readonly full: Buffer[] = [];
  private out = Buffer.allocUnsafe(PIECE);
  private pos = 0;

  put(b: Buffer): void {
    for (let off = 0; off < b.length;) {
      const n = Math.min(PIECE - this.pos, b.length - off);
      b.copy(this.out, this.pos, off, off + n);
      this.pos += n;
      off += n;
      if (this.pos === PIECE) this.rotate();
    }
  }

  /** Reads at most `want` bytes of fd into the archive (less at its end); returns how many. */
  read(fd: number, want: number): number {
    const n = fs.readSync(fd, this.out, this.pos, Math.min(PIECE - this.pos, want), null);
    this.pos += n;
    if (this.pos === PIECE) this.rotate();
    return n;
  }

  rest(): Buffer {
    return this.out.subarray(0, this.pos);
  }

  private rotate(): void {
    this.full.push(this.out);
    this.out = Buffer.allocUnsafe(PIECE);
    this.pos = 0;
  }
}

/**
 * Streams an uncompressed tar archive of the overlay tree in name order, entries named `./path`.
 * Source files are read in place; nothing is copied.
 */
export async function* tarStream(tree: OverlayTree, opts: ArchiveOptions): AsyncGenerator<Buffer> {
  // Everything below is synchronous: a generator per directory level that awaited would pass every
  // buffer through each level's promise. The walk pauses (yields) after each entry and each piece
  // of a file, and the full pieces go on from here.
  const pieces = new Pieces();
  for (const e of opts.leading ?? []) {
    const content = e.content ?? Buffer.alloc(0);
    pieces.put(encodeHeader({ name: e.name, type: e.type, mode: e.mode, uid: 0, gid: 0, size: e.type === 'file' ? content.length : 0, mtime: opts.generatedMtime }));
    if (e.type === 'file') {
      pieces.put(content);
      pieces.put(padding(content.length));
    }
  }
  for (const _ of tarEntries(tree, opts, pieces)) {
    while (pieces.full.length > 0) yield pieces.full.shift() as Buffer;
  }
  pieces.put(endOfArchive);
  yield* pieces.full;
  yield pieces.rest();
}

function* tarEntries(tree: OverlayTree, opts: ArchiveOptions, out: Pieces): Generator<void> {
  const top = fs.lstatSync(tree.root);
  const mapOwner = (uid: number, gid: number): [number, number] => {
    if (opts.ownership === 'all-root') return [0, 0];
    return [uid === top.uid ? 0 : uid, gid === top.gid ? 0 : gid];
  };
  const clamp = (t: number) => (opts.clampMtime !== undefined && t > opts.clampMtime ? opts.clampMtime : t);
  // First archived path of each multiply-linked inode, so later names become hard links to it.
  const linked = new Map<string, string>();
  const probe = Buffer.alloc(1);
  const prefix = opts.prefix ?? '.';

  /** Writes one entry; returns whether it is a directory (to be walked). */
  function* entry(rel: string): Generator<void, boolean> {
    const name = rel === '' ? prefix : prefix === '' ? rel : `${prefix}/${rel}`;
    if (!tree.isFromSource(rel)) {
      const c = tree.changes.get(rel)!;
      const base = { name, uid: 0, gid: 0, mtime: clamp(opts.generatedMtime), size: 0 };
      if (c.kind === 'file') {
        out.put(encodeHeader({ ...base, type: 'file', mode: c.mode, size: c.content.length }));
        out.put(c.content);
        out.put(padding(c.content.length));
      } else if (c.kind === 'symlink') {
        out.put(encodeHeader({ ...base, type: 'symlink', mode: 0o777, linkname: c.target }));
      } else if (c.kind === 'dir') {
        out.put(encodeHeader({ ...base, type: 'dir', mode: c.mode }));
      }
      return c.kind === 'dir';
    }
    const abs = tree.sourcePath(rel);
    const st = fs.lstatSync(abs);
    const m = tree.meta?.get(rel);
    // A tarball's own owners are kept as they are; only a tree's builder is mapped to root.
    const [uid, gid] = m ? (opts.ownership === 'all-root' ? [0, 0] : [m.uid, m.gid]) : mapOwner(st.uid, st.gid);
    const mtime = m ? m.mtime : Math.floor(st.mtimeMs / 1000);
    const h: TarHeader = { name, uid, gid, mode: m ? m.mode : st.mode & 0o7777, mtime: clamp(mtime), size: 0, type: 'file' };
    if (m && (m.type === 'char' || m.type === 'block' || m.type === 'fifo')) {
      // Unpacked without root these are empty files; the tarball said what they are.
      out.put(encodeHeader({ ...h, type: m.type, devmajor: m.devmajor ?? 0, devminor: m.devminor ?? 0 }));
      return false;
    }
    if (st.isFile()) {
      const key = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1 ? linked.get(key) : undefined;
      if (first !== undefined) {
        out.put(encodeHeader({ ...h, type: 'hardlink', linkname: first }));
        return false;
      }
      if (st.nlink > 1) linked.set(key, name);
      out.put(encodeHeader({ ...h, size: st.size }));
      // Read synchronously: most files in a root filesystem are small, an async read costs three
      // trips through libuv's thread pool per file, and that pool is busy compressing
      // (compress.ts); a blocked event loop costs nothing here.
      let fd: number;
      try {
        fd = fs.openSync(abs, 'r');
      } catch (err) {
        throw new ProvisionError(`cannot read ${abs}: ${errnoOf(err) ?? String(err)}`, 'EREAD');
      }
      let read = 0;
      let grew = false;
      try {
        try {
          for (let n = -1; read < st.size && n !== 0;) {
            n = out.read(fd, st.size - read);
            read += n;
            if (out.full.length > 0) yield;
          }
          // One byte more than expected shows a file that grew.
          grew = read === st.size && fs.readSync(fd, probe, 0, 1, null) > 0;
        } catch (err) {
          throw new ProvisionError(`cannot read ${abs}: ${errnoOf(err) ?? String(err)}`, 'EREAD');
        }
      } finally {
        fs.closeSync(fd);
      }
      // A file that changes size while it is read would corrupt the archive; refuse instead.
      if (read !== st.size || grew) throw new ProvisionError(`${abs} changed while it was being archived`, 'ECHANGED');
      out.put(padding(st.size));
    } else if (st.isDirectory()) {
      out.put(encodeHeader({ ...h, type: 'dir' }));
      return true;
    } else if (st.isSymbolicLink()) {
      out.put(encodeHeader({ ...h, type: 'symlink', linkname: fs.readlinkSync(abs) }));
    } else if (st.isCharacterDevice() || st.isBlockDevice()) {
      out.put(encodeHeader({ ...h, type: st.isCharacterDevice() ? 'char' : 'block', devmajor: devMajor(st.rdev), devminor: devMinor(st.rdev) }));
    } else if (st.isFIFO()) {
      out.put(encodeHeader({ ...h, type: 'fifo' }));
    } else {
      opts.onSkip?.(rel, 'sockets cannot be archived');
    }
    return false;
  }

  function* walk(rel: string): Generator<void> {
    // With an empty prefix the root folder has no name, so no entry: its children are the archive's top.
    const isDir = rel === '' && prefix === '' ? true : yield* entry(rel);
    yield;
    if (!isDir) return;
    for (const n of tree.list(rel)) yield* walk(rel === '' ? n : `${rel}/${n}`);
  }

  yield* walk('');
}

/** Newest modification time in the source tree, in seconds: a deterministic default for generated entries. */
export function newestMtime(root: string): number {
  let newest = 0;
  const visit = (dir: string) => {
    for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
      const abs = path.join(dir, d.name);
      const st = fs.lstatSync(abs);
      newest = Math.max(newest, Math.floor(st.mtimeMs / 1000));
      if (d.isDirectory()) visit(abs);
    }
  };
  visit(root);
  return newest;
}
