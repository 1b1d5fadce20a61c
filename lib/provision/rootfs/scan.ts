// Reading root filesystem tarballs: whatever compression they use (told by their first bytes, not
// their name: `docker export` writes a plain tar under any name), entry by entry with tar-stream.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import type tarStream from 'tar-stream';
import { ProvisionError } from '../../errors.js';
import { toolPackages } from '../../run.js';

export type Compression = 'none' | 'gzip' | 'zstd' | 'xz' | 'bzip2';

export function detectCompression(head: Buffer): Compression {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (head.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
  return 'none';
}

function readHead(file: string): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const b = Buffer.alloc(8);
    fs.readSync(fd, b, 0, 8, 0);
    return b;
  } finally {
    fs.closeSync(fd);
  }
}

const decompressors: Record<Exclude<Compression, 'none' | 'gzip'>, string> = { zstd: 'zstd', xz: 'xz', bzip2: 'bzip2' };

/** Pipes `source` through the decompressor into `sink`: zlib for gzip, the Debian tool for the others (Node 20 has no zstd). */
function decompressInto(c: Compression, source: Readable, sink: NodeJS.WritableStream): Promise<unknown> {
  if (c === 'none') return pipeline(source, sink);
  if (c === 'gzip') return pipeline(source, zlib.createGunzip(), sink);
  const tool = decompressors[c];
  const child = spawn(tool, ['-dc'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<void>((resolve, reject) => {
    child.on('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'ENOENT' ? new ProvisionError(`${tool} not found: apt-get install ${toolPackages[tool] ?? tool}`, 'ETOOLMISSING') : e),
    );
    child.on('close', (code) => (code === 0 ? resolve() : reject(new ProvisionError(`${tool} -dc failed: ${stderr.trim().split('\n').at(-1) ?? `exit ${code}`}`, 'ETOOLFAILED'))));
  });
  return Promise.all([exited, pipeline(source, child.stdin), pipeline(child.stdout, sink)]);
}

export type TarEntryHeader = tarStream.Header;
export type TarBody = AsyncIterable<unknown> & { resume(): unknown };

/** Entry names as paths inside the tree: `etc/hostname` (no `./`, no leading or trailing slash; '' for the top). */
export function entryPath(name: string): string {
  return name.replace(/^(\.?\/)+/, '').replace(/\/+$/, '').replace(/^\.$/, '');
}

/**
 * Calls `onEntry` for every entry of a tarball, in order, with its body as a stream (which the
 * callback must consume or leave alone: unread bodies are skipped). `onRaw` sees the file's bytes
 * as stored (for a checksum of the file itself).
 */
export async function readTarball(
  file: string,
  onEntry: (h: TarEntryHeader, body: TarBody) => Promise<void>,
  onRaw?: (chunk: Buffer) => void,
): Promise<void> {
  let compression: Compression;
  try {
    compression = detectCompression(readHead(file));
  } catch (err) {
    throw new ProvisionError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, 'EREAD');
  }
  // Loaded here: commands that never read a tarball (a template of a folder) do without it.
  const { default: tar } = await import('tar-stream');
  const extract = tar.extract();
  const tap = new Transform({
    transform(chunk: Buffer, _e, cb) {
      onRaw?.(chunk);
      cb(null, chunk);
    },
  });
  const consume = (async () => {
    for await (const entry of extract) {
      await onEntry(entry.header, entry);
      entry.resume();
    }
  })();
  try {
    const source = fs.createReadStream(file, { highWaterMark: 1 << 20 }).pipe(tap);
    await Promise.all([decompressInto(compression, source, extract), consume]);
  } catch (err) {
    if (err instanceof ProvisionError) throw err;
    throw new ProvisionError(`${file} is not a readable tar archive: ${(err as Error).message}`, 'EBADTAR');
  }
}

export async function readAll(body: AsyncIterable<unknown>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of body) parts.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(parts);
}

export interface TarScan {
  bytes: number;
  sha256: string;
  entries: number;
  packages: number;
  kernelVersion: string | null;
  initrd: boolean;
}

/** Compares Debian kernel versions such as 6.1.0-37-cloud-amd64 by their numbers. */
export function compareKernelVersions(a: string, b: string): number {
  const pa = a.split(/[^0-9]+/).filter(Boolean).map(Number);
  const pb = b.split(/[^0-9]+/).filter(Boolean).map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? -1) - (pb[i] ?? -1);
    if (d !== 0) return d;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Installed packages in a dpkg status file. */
export function countInstalled(status: string): number {
  return status.split(/\n\s*\n/).filter((s) => /^Status: install ok installed$/m.test(s)).length;
}

/** One pass over a built root tarball: its checksum, size, kernel and package count. */
export async function scanTar(file: string): Promise<TarScan> {
  const hash = crypto.createHash('sha256');
  let bytes = 0;
  let entries = 0;
  let packages = 0;
  const kernels: string[] = [];
  const initrds = new Set<string>();
  await readTarball(
    file,
    async (h, body) => {
      entries++;
      const p = entryPath(h.name);
      const k = /^boot\/vmlinuz-(.+)$/.exec(p);
      if (k && (h.type === 'file' || h.type === 'symlink')) kernels.push(k[1]!);
      const i = /^boot\/initrd\.img-(.+)$/.exec(p);
      if (i) initrds.add(i[1]!);
      if (p === 'var/lib/dpkg/status' && h.type === 'file') packages = countInstalled((await readAll(body)).toString('utf8'));
    },
    (chunk) => {
      hash.update(chunk);
      bytes += chunk.length;
    },
  );
  const kernelVersion = kernels.sort(compareKernelVersions).at(-1) ?? null;
  return { bytes, sha256: hash.digest('hex'), entries, packages, kernelVersion, initrd: kernelVersion !== null && initrds.has(kernelVersion) };
}

