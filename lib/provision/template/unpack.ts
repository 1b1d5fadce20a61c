// A root filesystem given as a tarball (mmdebstrap's ROOT.tar, a template cache, `docker export` /
// `podman export`) is unpacked into a scratch folder so the preparation steps can read it like a
// folder. Without root, GNU tar runs under fakeroot (device nodes become empty files, owners are
// the unpacking user's), and what the tarball said about each entry is kept beside it.
import fs from 'node:fs';
import path from 'node:path';
import { ProvisionError } from '../../errors.js';
import { run } from '../../run.js';
import { entryPath, readTarball } from '../rootfs/scan.js';
import type { SourceMeta } from './tree.js';

/** A file that is a root filesystem tarball rather than a folder. */
export function isTarball(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

const types: Record<string, SourceMeta['type'] | undefined> = {
  file: 'file',
  'contiguous-file': 'file',
  // A hard link's header carries the same owner and mode as the file it links to.
  link: 'file',
  directory: 'dir',
  symlink: 'symlink',
  'character-device': 'char',
  'block-device': 'block',
  fifo: 'fifo',
};

/** Every entry's type, mode, owner, time and device numbers, by path inside the tree. */
export async function indexTarball(file: string): Promise<Map<string, SourceMeta>> {
  const meta = new Map<string, SourceMeta>();
  await readTarball(file, async (h) => {
    const rel = entryPath(h.name);
    const type = types[h.type ?? 'file'];
    if (type === undefined || rel.split('/').includes('..')) return;
    meta.set(rel, {
      type,
      mode: (h.mode ?? 0o644) & 0o7777,
      uid: h.uid ?? 0,
      gid: h.gid ?? 0,
      mtime: Math.floor((h.mtime?.getTime() ?? 0) / 1000),
      ...(type === 'char' || type === 'block' ? { devmajor: h.devmajor ?? 0, devminor: h.devminor ?? 0 } : {}),
    });
  });
  return meta;
}

/** Makes every unpacked file and folder readable by its owner (us): the true modes are in the index. */
function openUp(dir: string): void {
  for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
    const abs = path.join(dir, d.name);
    if (d.isSymbolicLink()) continue;
    const mode = fs.lstatSync(abs).mode & 0o7777;
    if (d.isDirectory()) {
      if ((mode & 0o700) !== 0o700) fs.chmodSync(abs, mode | 0o700);
      openUp(abs);
    } else if ((mode & 0o400) === 0) fs.chmodSync(abs, mode | 0o400);
  }
}

/** Unpacks `file` into the empty folder `dest` and returns the tarball's own record of each entry. */
export async function unpackTarball(file: string, dest: string): Promise<Map<string, SourceMeta>> {
  const asRoot = process.getuid?.() === 0;
  // GNU tar tells gzip, xz, zstd and bzip2 apart by their bytes when it reads a file.
  const tarArgs = ['-x', '-p', '--numeric-owner', ...(asRoot ? ['--same-owner'] : []), '-C', dest, '-f', file];
  const [meta] = await Promise.all([
    indexTarball(file),
    asRoot ? run('tar', tarArgs) : run('fakeroot', ['--', 'tar', ...tarArgs], { label: 'tar' }),
  ]);
  if (!asRoot) openUp(dest);
  if (meta.size === 0) throw new ProvisionError(`${file} holds no entries`, 'EBADTAR');
  return meta;
}
