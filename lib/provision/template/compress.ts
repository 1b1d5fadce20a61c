// Compression of a template archive. The bytes depend only on the tar stream and the chosen format,
// never on the machine's core count, so the same tree and options give the same archive anywhere.
//
// gzip: compressed in fixed 1 MiB blocks on libuv's thread pool, pigz's way: each block is a raw
// deflate stream primed with the previous block's last 32 KiB and ended by a sync flush (so the
// blocks concatenate into one deflate stream that any gunzip reads), several blocks in flight.
// Unless asked otherwise, each compression runs at its tool's own default level (gzip 6, what
// `tar -czf` writes). zstd and xz: the system tools, in their multi-threaded formats, whose output
// does not depend on the number of threads; they write the archive file themselves.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import type { Readable, Writable } from 'node:stream';
import zlib from 'node:zlib';
import { ProvisionError } from '../../errors.js';

export const compressions = ['gzip', 'zstd', 'xz'] as const;
export type Compression = (typeof compressions)[number];

/** The levels each compression takes, and its own default (what gzip, zstd and xz use unasked). */
export const compressionLevels: Readonly<Record<Compression, { min: number; max: number; default: number }>> = {
  gzip: { min: 1, max: 9, default: 6 },
  zstd: { min: 1, max: 19, default: 3 },
  xz: { min: 0, max: 9, default: 6 },
};

/** File name endings: OpenVZ/vzctl read all three; Proxmox's vztmpl takes .tar.gz, .tar.xz and .tar.zst. */
export const archiveSuffix: Record<Compression, string> = { gzip: '.tar.gz', zstd: '.tar.zst', xz: '.tar.xz' };

const BLOCK = 1 << 20;
const WINDOW = 32 * 1024;
// What deflate makes of most blocks fits one output chunk. With zlib's 16 KiB default a block would
// take ~25 round trips between the pool and the main thread, and wait whenever that one is busy.
const OUT_CHUNK = 512 * 1024;
// Magic, deflate, no flags, no mtime, no extra flags, OS unix: no name or time, as Node's gzip wrote.
const gzipHeader = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
// An empty final block with fixed codes: ends the deflate stream after the last sync-flushed block.
const finalBlock = Buffer.from([3, 0]);

/** One block as raw deflate ended by a sync flush; zlib copies the dictionary as it starts. */
function deflateBlock(block: Buffer, dictionary: Buffer | undefined, level: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const z = zlib.createDeflateRaw({ level, chunkSize: OUT_CHUNK, finishFlush: zlib.constants.Z_SYNC_FLUSH, ...(dictionary ? { dictionary } : {}) });
    const out: Buffer[] = [];
    z.on('data', (c: Buffer) => out.push(c));
    z.once('error', reject);
    z.once('end', () => resolve(out.length === 1 ? out[0] as Buffer : Buffer.concat(out)));
    z.end(block);
  });
}

/** gzip of `input`, compressed in parallel; the output is the same whatever the parallelism. */
export async function* gzipParallel(input: AsyncIterable<Buffer>, level = compressionLevels.gzip.default): AsyncGenerator<Buffer> {
  if (typeof zlib.crc32 !== 'function') throw new ProvisionError(`gzip output needs Node 20.15 or later (zlib.crc32); this is ${process.version}: compress with zstd or xz`, 'EUSAGE', 'compress');
  // Twice as many blocks in flight as libuv's pool has threads (4 unless UV_THREADPOOL_SIZE says
  // otherwise): blocks finish out of order, and the pool also serves file reads, so fewer leave
  // cores idle while the oldest block is awaited.
  const inFlight = 2 * Math.max(1, Number(process.env['UV_THREADPOOL_SIZE'] ?? 4) || 4);
  const pending: { out: Promise<Buffer>; block: Buffer }[] = [];
  // Input blocks are reused once compressed: fresh ones for a whole layer would be over a GB of
  // memory outside V8's heap, and V8 answers that with a full collection every ~50 MB.
  const free: Buffer[] = [];
  let crc = 0;
  let size = 0;
  let previous: Buffer | undefined;
  let block: Buffer = Buffer.allocUnsafe(BLOCK);
  let fill = 0;
  const submit = (data: Buffer) => {
    crc = zlib.crc32(data, crc);
    size += data.length;
    pending.push({ out: deflateBlock(data, previous && previous.subarray(previous.length - Math.min(WINDOW, previous.length)), level), block: data });
    previous = data;
  };
  const oldest = async () => {
    const done = pending.shift() as { out: Promise<Buffer>; block: Buffer };
    const out = await done.out;
    if (done.block.length === BLOCK) free.push(done.block);
    return out;
  };
  yield gzipHeader;
  for await (const chunk of input) {
    for (let off = 0; off < chunk.length;) {
      const n = Math.min(BLOCK - fill, chunk.length - off);
      chunk.copy(block, fill, off, off + n);
      fill += n;
      off += n;
      if (fill === BLOCK) {
        submit(block);
        block = free.pop() ?? Buffer.allocUnsafe(BLOCK);
        fill = 0;
        if (pending.length >= inFlight) yield await oldest();
      }
    }
  }
  if (fill > 0) submit(block.subarray(0, fill));
  while (pending.length > 0) yield await oldest();
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE(size % 2 ** 32, 4);
  yield Buffer.concat([finalBlock, trailer]);
}

/** The archive as written: its SHA-256 and size. */
export interface Written {
  sha256: string;
  bytes: number;
}

/**
 * Writes `input` compressed as asked to `file` (created 0644; it must not exist) and returns what
 * was written. zstd and xz write the file themselves: the compressed bytes do not pass through
 * this process, which hashes them from the file as it grows (FileHasher).
 */
export async function writeArchive(input: AsyncIterable<Buffer>, how: Compression, file: string, level = compressionLevels[how].default): Promise<Written> {
  const threads = os.availableParallelism();
  switch (how) {
    case 'gzip':
      return writeHashed(gzipParallel(input, level), file);
    case 'zstd':
      // -T: multi-threaded format (the same bytes for any number of workers).
      return toolWrites('zstd', ['-q', '-c', `-${level}`, `-T${threads}`], input, file, 'zstd');
    case 'xz':
      // "+N": multi-threaded format even with one thread (xz's single-threaded output differs).
      return toolWrites('xz', ['-c', `-${level}`, `-T+${threads}`], input, file, 'xz-utils');
  }
}

/**
 * Writes `output` into a new file (0644), hashing it. Synchronously: a write through fs streams
 * would queue on libuv's pool behind the gzip blocks being compressed, and its back-pressure would
 * stop new blocks from being handed out; and a piece is written before the next is asked for.
 */
export async function writeHashed(output: AsyncIterable<Buffer>, file: string): Promise<Written> {
  const hash = createHash('sha256');
  let bytes = 0;
  const fd = fs.openSync(file, 'wx', 0o644);
  try {
    for await (const chunk of output) {
      hash.update(chunk);
      for (let off = 0; off < chunk.length;) off += fs.writeSync(fd, chunk, off);
      bytes += chunk.length;
    }
  } finally {
    fs.closeSync(fd);
  }
  return { sha256: hash.digest('hex'), bytes };
}

/**
 * Hashes a file that another process is writing, as far as it has been written: catchUp reads
 * what is new since the last call (from the page cache, where the writer just put it).
 */
class FileHasher {
  private readonly hash = createHash('sha256');
  private readonly buffer = Buffer.allocUnsafe(1 << 20);
  bytes = 0;

  constructor(private readonly fd: number) {}

  catchUp(): void {
    for (let n = -1; n !== 0;) {
      n = fs.readSync(this.fd, this.buffer, 0, this.buffer.length, this.bytes);
      this.hash.update(this.buffer.subarray(0, n));
      this.bytes += n;
    }
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}

/** Runs `tool args` with `input` on stdin and its stdout on `file`; returns what it wrote. */
async function toolWrites(tool: string, args: string[], input: AsyncIterable<Buffer>, file: string, pkg: string): Promise<Written> {
  const out = fs.openSync(file, 'wx', 0o644);
  let hashed: number | undefined;
  let child: ChildProcess;
  try {
    hashed = fs.openSync(file, 'r');
    child = spawn(tool, args, { stdio: ['pipe', out, 'pipe'] });
  } catch (err) {
    if (hashed !== undefined) fs.closeSync(hashed);
    throw err;
  } finally {
    fs.closeSync(out); // the tool has its own
  }
  const hasher = new FileHasher(hashed);
  // Both piped (spawn's stdio above).
  const stdin = child.stdin as Writable;
  let stderr = '';
  (child.stderr as Readable).on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-2000); });
  const exited = new Promise<number | string>((resolve) => {
    child.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? String(err)));
    child.once('close', (code, signal) => resolve(code ?? signal ?? 1));
  });
  let closed = false;
  child.once('close', () => { closed = true; });
  child.once('error', () => { closed = true; });
  // stdin errors (EPIPE when the tool died) are reported by its exit.
  stdin.on('error', () => {});
  let complete = false;
  try {
    for await (const chunk of input) {
      if (closed) break;
      if (!stdin.write(chunk)) {
        // A tool that died never drains: its close ends the wait too.
        await new Promise<void>((r) => {
          const done = () => { stdin.off('drain', done); child.off('close', done); r(); };
          stdin.once('drain', done);
          child.once('close', done);
        });
      }
      hasher.catchUp();
    }
    stdin.end();
    const result = await exited;
    if (result === 'ENOENT') throw new ProvisionError(`${tool} is not installed (apt-get install ${pkg})`, 'ENOTOOL');
    if (result !== 0) throw writeFailure(stderr) ?? new ProvisionError(`${tool} failed (${result}): ${stderr.trim().split('\n').pop() ?? ''}`, 'ECOMPRESS');
    hasher.catchUp();
    complete = true;
    return { sha256: hasher.digest(), bytes: hasher.bytes };
  } finally {
    fs.closeSync(hashed);
    // Abandoned (a read failed, or a signal): the tool must not outlive the build.
    if (!complete && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

// The tool writes the archive itself, so a full or read-only disk reaches us as its strerror text:
// turned back into the system error it was, it is reported as any other write, naming the file.
const writeErrors: ReadonlyArray<readonly [string, string]> = [
  ['No space left on device', 'ENOSPC'], ['Disk quota exceeded', 'EDQUOT'], ['File too large', 'EFBIG'], ['Read-only file system', 'EROFS'],
];

function writeFailure(stderr: string): NodeJS.ErrnoException | undefined {
  const known = writeErrors.find(([text]) => stderr.includes(text));
  return known && Object.assign(new Error(known[0]), { code: known[1], syscall: 'write' });
}
