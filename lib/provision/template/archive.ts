import fs from 'node:fs';
import { ProvisionError, errnoOf } from '../../errors.js';
import { BLOCK, encodeHeader, endOfArchive, paddingOf, writeUstarHeader, type TarHeader } from './tar.js';
import type { OverlayTree } from './tree.js';

export interface ArchiveOptions {
  /**
   * `map-builder` (default): files owned by the owner of the tree's top directory (whoever unpacked
   * or built it, often an unprivileged user) become root's, other owners are kept as numbers.
   * `all-root`: every entry is 0:0.
   */
  ownership?: 'map-builder' | 'all-root';
  /**
   * Modification time for entries written by preparation steps (seconds since the epoch), or what
   * computes it, called once, when the first such entry is written: the archive's entries before
   * it go on to the compressor meanwhile.
   */
  generatedMtime: number | (() => number);
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
 * The archive's bytes in pieces of 1 MiB, written in place: headers are written in, file contents
 * read straight into the piece (no buffer per file, no second copy). A full piece is never touched
 * again until it is given back (recycle), so it can be handed on as it is; reusing the few pieces
 * in flight spares the collector hundreds of megabytes of buffers.
 */
class Pieces {
  readonly full: Buffer[] = [];
  private readonly spare: Buffer[] = [];
  private out: Buffer = Buffer.allocUnsafe(PIECE);
  private pos = 0;

  get room(): number {
    return PIECE - this.pos;
  }

  put(b: Buffer): void {
    for (let off = 0; off < b.length;) {
      const n = Math.min(PIECE - this.pos, b.length - off);
      b.copy(this.out, this.pos, off, off + n);
      this.advance(n);
      off += n;
    }
  }

  header(h: TarHeader): void {
    // Entries are whole blocks and so are pieces: a header starts a block with room for it.
    if (this.room >= BLOCK && writeUstarHeader(h, this.out, this.pos)) this.advance(BLOCK);
    else this.put(encodeHeader(h));
  }

  /** The zeros that fill a file's last block. */
  pad(size: number): void {
    for (let n = paddingOf(size); n > 0;) {
      const k = Math.min(n, this.room);
      this.out.fill(0, this.pos, this.pos + k);
      this.advance(k);
      n -= k;
    }
  }

  /** Reads at most `want` bytes of fd into the archive (less at its end); returns how many. */
  read(fd: number, want: number): number {
    const n = fs.readSync(fd, this.out, this.pos, Math.min(PIECE - this.pos, want), null);
    this.advance(n);
    return n;
  }

  /** Gives a full piece back once its reader is done with it. */
  recycle(piece: Buffer): void {
    this.spare.push(piece);
  }

  rest(): Buffer {
    return this.out.subarray(0, this.pos);
  }

  private advance(n: number): void {
    this.pos += n;
    if (this.pos === PIECE) {
      this.full.push(this.out);
      this.out = this.spare.pop() ?? Buffer.allocUnsafe(PIECE);
      this.pos = 0;
    }
  }
}

/**
 * Streams an uncompressed tar archive of the overlay tree in name order, entries named `./path`.
 * Source files are read in place; nothing is copied. Each piece yielded is reused for later bytes
 * once the next one is asked for: a consumer that keeps pieces longer (a stream's buffer) copies them.
 */
export async function* tarStream(tree: OverlayTree, opts: ArchiveOptions): AsyncGenerator<Buffer> {
  // Everything below is synchronous: a generator per directory level that awaited would pass every
  // buffer through each level's promise. The walk pauses (yields) when a piece is full, and the
  // full pieces go on from here.
  const pieces = new Pieces();
  const generatedMtime = once(opts.generatedMtime);
  for (const e of opts.leading ?? []) {
    const content = e.content ?? Buffer.alloc(0);
    pieces.header({ name: e.name, type: e.type, mode: e.mode, uid: 0, gid: 0, size: e.type === 'file' ? content.length : 0, mtime: generatedMtime() });
    if (e.type === 'file') {
      pieces.put(content);
      pieces.pad(content.length);
    }
  }
  for (const _ of tarEntries(tree, opts, generatedMtime, pieces)) {
    for (let piece = pieces.full.shift(); piece !== undefined; piece = pieces.full.shift()) {
      yield piece;
      pieces.recycle(piece);
    }
  }
  pieces.put(endOfArchive);
  yield* pieces.full;
  yield pieces.rest();
}

function once(value: number | (() => number)): () => number {
  let known = typeof value === 'number' ? value : undefined;
  return () => (known ??= (value as () => number)());
}

function* tarEntries(tree: OverlayTree, opts: ArchiveOptions, generatedMtime: () => number, out: Pieces): Generator<void> {
  const top = fs.lstatSync(tree.root);
  const mapOwner = (uid: number, gid: number): [number, number] => {
    if (opts.ownership === 'all-root') return [0, 0];
    return [uid === top.uid ? 0 : uid, gid === top.gid ? 0 : gid];
  };
  const clamp = (t: number) => (opts.clampMtime !== undefined && t > opts.clampMtime ? opts.clampMtime : t);
  // First archived path of each multiply-linked inode, so later names become hard links to it.
  const linked = new Map<string, string>();
  const prefix = opts.prefix ?? '.';

  /** Writes one entry: whether it is a folder (to walk), or the file whose contents follow. */
  function entry(rel: string): 'dir' | { abs: string; size: number } | undefined {
    const name = rel === '' ? prefix : prefix === '' ? rel : `${prefix}/${rel}`;
    // The walk goes down no path a step replaced or removed, so nothing below it is hidden: an
    // entry was written by a step exactly when a change is recorded at its path.
    const c = tree.changes.get(rel);
    if (c !== undefined) {
      const base = { name, uid: 0, gid: 0, mtime: clamp(generatedMtime()), size: 0 };
      if (c.kind === 'file') {
        out.header({ ...base, type: 'file', mode: c.mode, size: c.content.length });
        out.put(c.content);
        out.pad(c.content.length);
      } else if (c.kind === 'symlink') {
        out.header({ ...base, type: 'symlink', mode: 0o777, linkname: c.target });
      } else if (c.kind === 'dir') {
        out.header({ ...base, type: 'dir', mode: c.mode });
        return 'dir';
      }
      return undefined;
    }
    const st = tree.sourceStat(rel);
    const abs = tree.sourcePath(rel);
    if (st === undefined) throw new ProvisionError(`${abs} changed while it was being archived (it is gone)`, 'ECHANGED');
    const m = tree.meta?.get(rel);
    // A tarball's own owners are kept as they are; only a tree's builder is mapped to root.
    const [uid, gid] = m ? (opts.ownership === 'all-root' ? [0, 0] : [m.uid, m.gid]) : mapOwner(st.uid, st.gid);
    const mtime = m ? m.mtime : Math.floor(st.mtimeMs / 1000);
    const h: TarHeader = { name, uid, gid, mode: m ? m.mode : st.mode & 0o7777, mtime: clamp(mtime), size: 0, type: 'file' };
    if (m && (m.type === 'char' || m.type === 'block' || m.type === 'fifo')) {
      // Unpacked without root these are empty files; the tarball said what they are.
      out.header({ ...h, type: m.type, devmajor: m.devmajor ?? 0, devminor: m.devminor ?? 0 });
      return undefined;
    }
    if (st.isFile()) {
      if (st.nlink > 1) {
        const key = `${st.dev}:${st.ino}`;
        const first = linked.get(key);
        if (first !== undefined) {
          out.header({ ...h, type: 'hardlink', linkname: first });
          return undefined;
        }
        linked.set(key, name);
      }
      h.size = st.size;
      out.header(h);
      return { abs, size: st.size };
    }
    if (st.isDirectory()) {
      out.header({ ...h, type: 'dir' });
      return 'dir';
    }
    if (st.isSymbolicLink()) out.header({ ...h, type: 'symlink', linkname: fs.readlinkSync(abs) });
    else if (st.isCharacterDevice() || st.isBlockDevice()) {
      out.header({ ...h, type: st.isCharacterDevice() ? 'char' : 'block', devmajor: devMajor(st.rdev), devminor: devMinor(st.rdev) });
    } else if (st.isFIFO()) out.header({ ...h, type: 'fifo' });
    else opts.onSkip?.(rel, 'sockets cannot be archived');
    return undefined;
  }

  function* walk(dir: string): Generator<void> {
    for (const n of tree.list(dir)) {
      const rel = dir === '' ? n : `${dir}/${n}`;
      const written = entry(rel);
      if (written === 'dir') yield* walk(rel);
      else if (written !== undefined) {
        yield* copyFile(written.abs, written.size, out);
        out.pad(written.size);
      }
      // Until a piece is full there is nothing to hand on.
      if (out.full.length > 0) yield;
    }
  }

  // With an empty prefix the root folder has no name, so no entry: its children are the archive's top.
  if (prefix === '' || entry('') === 'dir') yield* walk('');
}

/**
 * Copies a file of `size` bytes (as its lstat said, maybe long before) into the archive, pausing
 * whenever a piece fills. A file that is not that size when read would corrupt the archive: it
 * is refused instead.
 */
function* copyFile(abs: string, size: number, out: Pieces): Generator<void> {
  // Read synchronously: most files in a root filesystem are small, an async read costs three
  // trips through libuv's thread pool per file, and that pool is busy compressing
  // (compress.ts); a blocked event loop costs nothing here.
  // Not through a symlink: what was a regular file at its lstat is archived as one or refused (ELOOP).
  let fd: number;
  try {
    fd = fs.openSync(abs, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch (err) {
    throw new ProvisionError(`cannot read ${abs}: ${errnoOf(err) ?? String(err)}`, 'EREAD');
  }
  let read = 0;
  try {
    for (;;) {
      // One byte more than expected shows a file that grew, in the same read; a read short of
      // what was asked ends the file.
      const ask = Math.min(out.room, size + 1 - read);
      let n: number;
      try {
        n = out.read(fd, ask);
      } catch (err) {
        throw new ProvisionError(`cannot read ${abs}: ${errnoOf(err) ?? String(err)}`, 'EREAD');
      }
      read += n;
      if (n === 0 || read > size || (read === size && n < ask)) break;
      if (out.full.length > 0) yield;
    }
  } finally {
    fs.closeSync(fd);
  }
  if (read !== size) throw new ProvisionError(`${abs} changed while it was being archived`, 'ECHANGED');
}

/** Newest modification time in the source tree, in seconds: a deterministic default for generated entries. */
export function newestMtime(tree: OverlayTree): number {
  let newest = 0;
  tree.scanSource((_, st) => {
    if (st.mtimeMs > newest) newest = st.mtimeMs;
  });
  return Math.floor(newest / 1000);
}
