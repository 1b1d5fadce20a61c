import fs from 'node:fs';
import path from 'node:path';
import { ProvisionError, errnoCode } from '../../errors.js';
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
}

function devMajor(rdev: number): number {
  return ((rdev >>> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
}
function devMinor(rdev: number): number {
  return (rdev & 0xff) | ((rdev >>> 12) & ~0xff & 0xfffff);
}

/**
 * Streams an uncompressed tar archive of the overlay tree in name order, entries named `./path`.
 * Source files are read in place; nothing is copied.
 */
export async function* tarStream(tree: OverlayTree, opts: ArchiveOptions): AsyncGenerator<Buffer> {
  // Everything below is synchronous: a generator per directory level that awaited would pass every
  // buffer through each level's promise. Small entries are gathered into pieces of about 1 MiB.
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for (const b of tarEntries(tree, opts)) {
    pending.push(b);
    pendingBytes += b.length;
    if (pendingBytes >= 1 << 20) {
      yield pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
    }
  }
  if (pendingBytes > 0) yield Buffer.concat(pending, pendingBytes);
}

function* tarEntries(tree: OverlayTree, opts: ArchiveOptions): Generator<Buffer> {
  const top = fs.lstatSync(tree.root);
  const mapOwner = (uid: number, gid: number): [number, number] => {
    if (opts.ownership === 'all-root') return [0, 0];
    return [uid === top.uid ? 0 : uid, gid === top.gid ? 0 : gid];
  };
  const clamp = (t: number) => (opts.clampMtime !== undefined && t > opts.clampMtime ? opts.clampMtime : t);
  // First archived path of each multiply-linked inode, so later names become hard links to it.
  const linked = new Map<string, string>();

  function* entry(rel: string): Generator<Buffer> {
    const name = rel === '' ? '.' : `./${rel}`;
    if (!tree.isFromSource(rel)) {
      const c = tree.changes.get(rel)!;
      const base = { name, uid: 0, gid: 0, mtime: clamp(opts.generatedMtime), size: 0 };
      if (c.kind === 'file') {
        yield encodeHeader({ ...base, type: 'file', mode: c.mode, size: c.content.length });
        yield c.content;
        yield padding(c.content.length);
      } else if (c.kind === 'symlink') {
        yield encodeHeader({ ...base, type: 'symlink', mode: 0o777, linkname: c.target });
      } else if (c.kind === 'dir') {
        yield encodeHeader({ ...base, type: 'dir', mode: c.mode });
      }
      return;
    }
    const abs = path.join(tree.root, rel);
    const st = fs.lstatSync(abs);
    const [uid, gid] = mapOwner(st.uid, st.gid);
    const h: TarHeader = { name, uid, gid, mode: st.mode & 0o7777, mtime: clamp(Math.floor(st.mtimeMs / 1000)), size: 0, type: 'file' };
    if (st.isFile()) {
      const key = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1 ? linked.get(key) : undefined;
      if (first !== undefined) {
        yield encodeHeader({ ...h, type: 'hardlink', linkname: first });
        return;
      }
      if (st.nlink > 1) linked.set(key, name);
      yield encodeHeader({ ...h, size: st.size });
      // Read synchronously, in 1 MiB pieces: most files in a root filesystem are small, an async
      // read costs three trips through libuv's thread pool per file, and that pool is busy
      // compressing (compress.ts); a blocked event loop costs nothing here.
      let fd: number;
      try {
        fd = fs.openSync(abs, 'r');
      } catch (err) {
        throw new ProvisionError(`cannot read ${abs}: ${errnoCode(err) ?? String(err)}`, 'EREAD');
      }
      let read = 0;
      try {
        for (;;) {
          // One byte more than expected shows a file that grew.
          const piece = Buffer.allocUnsafe(Math.min(1 << 20, st.size - read + 1));
          let n: number;
          try {
            n = fs.readSync(fd, piece, 0, piece.length, null);
          } catch (err) {
            throw new ProvisionError(`cannot read ${abs}: ${errnoCode(err) ?? String(err)}`, 'EREAD');
          }
          if (n === 0) break;
          read += n;
          if (read > st.size) break;
          yield n === piece.length ? piece : piece.subarray(0, n);
        }
      } finally {
        fs.closeSync(fd);
      }
      // A file that changes size while it is read would corrupt the archive; refuse instead.
      if (read !== st.size) throw new ProvisionError(`${abs} changed while it was being archived`, 'ECHANGED');
      yield padding(st.size);
    } else if (st.isDirectory()) {
      yield encodeHeader({ ...h, type: 'dir' });
    } else if (st.isSymbolicLink()) {
      yield encodeHeader({ ...h, type: 'symlink', linkname: fs.readlinkSync(abs) });
    } else if (st.isCharacterDevice() || st.isBlockDevice()) {
      yield encodeHeader({ ...h, type: st.isCharacterDevice() ? 'char' : 'block', devmajor: devMajor(st.rdev), devminor: devMinor(st.rdev) });
    } else if (st.isFIFO()) {
      yield encodeHeader({ ...h, type: 'fifo' });
    } else {
      opts.onSkip?.(rel, 'sockets cannot be archived');
    }
  }

  function* walk(rel: string): Generator<Buffer> {
    yield* entry(rel);
    if (tree.kind(rel) !== 'dir') return;
    for (const n of tree.list(rel)) yield* walk(rel === '' ? n : `${rel}/${n}`);
  }

  yield* walk('');
  yield endOfArchive;
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
