import fs from 'node:fs';
import path from 'node:path';
import { ProvisionError } from '../../errors.js';

export const MiB = 1024 * 1024;
/** The partition starts at 1 MiB (sector 2048): aligned for any disk and leaves room for a boot loader. */
export const PARTITION_OFFSET = MiB;
export const BLOCK_SIZE = 4096;
const INODE_SIZE = 256;
const INODE_RATIO = 16384;

const units: Record<string, number> = { '': 1, K: 1024, M: MiB, G: 1024 * MiB, T: 1024 * 1024 * MiB };

/** Parses `2G`, `512M`, `1.5G`, `1073741824` (binary units, as qemu-img does) and rounds up to whole MiB. */
export function parseSize(text: string | number): number {
  const m = typeof text === 'number' ? ['', String(text), ''] : /^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*$/i.exec(text);
  if (!m) throw new ProvisionError(`bad size ${JSON.stringify(text)}: use a number with K, M, G or T (e.g. 2G)`, 'EUSAGE');
  const bytes = Number(m[1]) * units[m[2]!.toUpperCase()]!;
  if (!Number.isFinite(bytes) || bytes <= 0) throw new ProvisionError(`bad size ${JSON.stringify(text)}`, 'EUSAGE');
  return Math.ceil(bytes / MiB) * MiB;
}

export interface TreeUsage {
  entries: number;
  /** Bytes of data blocks the files and folders take, rounded to the block size. */
  dataBytes: number;
}

export function treeUsage(root: string): TreeUsage {
  let entries = 1;
  let dataBytes = BLOCK_SIZE;
  const seen = new Set<string>();
  const visit = (dir: string) => {
    for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
      const abs = path.join(dir, d.name);
      const st = fs.lstatSync(abs);
      entries++;
      if (st.nlink > 1 && !st.isDirectory()) {
        const key = `${st.dev}:${st.ino}`;
        if (seen.has(key)) continue;
        seen.add(key);
      }
      // Symlinks up to 60 bytes live in the inode; longer ones take a block.
      const bytes = st.isFile() ? st.size : st.isDirectory() ? BLOCK_SIZE : st.isSymbolicLink() && st.size > 60 ? st.size : 0;
      dataBytes += Math.ceil(bytes / BLOCK_SIZE) * BLOCK_SIZE;
      if (st.isDirectory()) visit(abs);
    }
  };
  visit(root);
  return { entries, dataBytes };
}

/** mke2fs's default journal size (lib/ext2fs/mkjournal.c) for a file system of this many blocks. */
function journalBlocks(blocks: number): number {
  if (blocks < 2048) return 0;
  if (blocks < 32768) return 1024;
  if (blocks < 256 * 1024) return 4096;
  if (blocks < 512 * 1024) return 8192;
  if (blocks < 4096 * 1024) return 16384;
  if (blocks < 8192 * 1024) return 32768;
  if (blocks < 16384 * 1024) return 65536;
  if (blocks < 32768 * 1024) return 131072;
  return 262144;
}

export interface FsPlan {
  fsBytes: number;
  inodes: number;
  /** Estimated bytes the file system needs: data, inode tables, journal and metadata. */
  neededBytes: number;
}

function estimate(fsBytes: number, usage: TreeUsage): { inodes: number; neededBytes: number } {
  const blocks = Math.floor(fsBytes / BLOCK_SIZE);
  const inodes = Math.max(Math.floor(fsBytes / INODE_RATIO), usage.entries + 1024);
  // Bitmaps, group descriptors and directory growth: a few percent on top, as measured on small trees.
  const metadata = Math.ceil(blocks / 32768) * 2 * BLOCK_SIZE + Math.ceil(usage.dataBytes * 0.02) + 4 * MiB;
  return { inodes, neededBytes: usage.dataBytes + inodes * INODE_SIZE + journalBlocks(blocks) * BLOCK_SIZE + metadata };
}

/** File system bytes a disk of `diskBytes` leaves after the partition table, in whole blocks. */
export function filesystemBytes(diskBytes: number): number {
  return Math.floor((diskBytes - PARTITION_OFFSET) / BLOCK_SIZE) * BLOCK_SIZE;
}

/**
 * The smallest whole-MiB disk of at least `atLeast` bytes that the tree fits in. Searched rather
 * than computed because the journal grows in steps with the file system, so a slightly bigger disk
 * can need more room than a smaller one.
 */
export function minimumDiskBytes(usage: TreeUsage, atLeast = 0): number {
  for (let mib = Math.max(5, Math.ceil(atLeast / MiB)); ; mib++) {
    const disk = mib * MiB;
    if (estimate(filesystemBytes(disk), usage).neededBytes <= filesystemBytes(disk)) return disk;
  }
}

/** Plans the ext4 file system for a partition of `fsBytes` and checks that the tree fits. */
export function planFilesystem(fsBytes: number, usage: TreeUsage, sizeText: string): FsPlan {
  const { inodes, neededBytes } = estimate(fsBytes, usage);
  if (neededBytes > fsBytes) {
    throw new ProvisionError(
      `the files do not fit: they need about ${Math.ceil(neededBytes / MiB)} MiB of file system but size ${sizeText} ` +
        `leaves ${Math.floor(fsBytes / MiB)} MiB after the partition table; size ${minimumDiskBytes(usage, fsBytes + PARTITION_OFFSET) / MiB}M fits`,
      'ENOSPC',
      'size',
    );
  }
  return { fsBytes, inodes, neededBytes };
}
