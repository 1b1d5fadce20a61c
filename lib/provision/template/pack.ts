// Writing a packaging's files: a stream hashed as it goes (before compression too, for OCI's
// diff_ids) into a file that only a successful build renames into place (Outputs).
import crypto from 'node:crypto';
import fs from 'node:fs';
import { writeArchive, writeHashed, type Compression } from './compress.js';
import type { Digest } from '../digest.js';

export type { Digest };

/** Passes `input` on unchanged, hashing it; the digest is complete when the stream is. */
export function hashing(input: AsyncIterable<Buffer>): { stream: AsyncGenerator<Buffer>; digest: () => Digest } {
  const hash = crypto.createHash('sha256');
  let bytes = 0;
  let sha256: string | undefined;
  async function* stream(): AsyncGenerator<Buffer> {
    for await (const chunk of input) {
      hash.update(chunk);
      bytes += chunk.length;
      yield chunk;
    }
    sha256 = hash.digest('hex');
  }
  return {
    stream: stream(),
    digest: () => {
      if (sha256 === undefined) throw new Error('digest read before the stream ended');
      return { sha256, bytes };
    },
  };
}

/** Writes `input` compressed as asked into a new file `dest`; returns the file's digest. */
export async function writeCompressed(input: AsyncIterable<Buffer>, how: Compression | 'none', dest: string, level?: number): Promise<{ file: Digest }> {
  const file = how === 'none' ? await writeHashed(input, dest) : await writeArchive(input, how, dest, level);
  return { file: { sha256: file.sha256, bytes: file.bytes } };
}

/**
 * The same, with the digest of the uncompressed stream too (an OCI layer's diff_id). Only where it
 * is needed: hashing a whole tree's tar stream costs as much CPU as a third of zstd's work.
 */
export async function writeCompressedHashed(input: AsyncIterable<Buffer>, how: Compression, dest: string, level?: number): Promise<{ file: Digest; raw: Digest }> {
  const raw = hashing(input);
  const { file } = await writeCompressed(raw.stream, how, dest, level);
  return { file, raw: raw.digest() };
}

export async function writeBuffer(content: Buffer | string, dest: string): Promise<Digest> {
  const b = Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8');
  await fs.promises.writeFile(dest, b, { flag: 'wx', mode: 0o644 });
  return { sha256: crypto.createHash('sha256').update(b).digest('hex'), bytes: b.length };
}

export interface SmallEntry {
  name: string;
  type: 'file' | 'directory';
  mode: number;
  /** Contents, or a file to copy them from. */
  content?: Buffer;
  from?: string;
}

/**
 * A tar of a few generated entries (Incus metadata, an OCI layout) with tar-stream: root-owned,
 * every entry at `mtime`, in the order given, so the same entries give the same bytes.
 */
export async function* smallTar(entries: readonly SmallEntry[], mtime: number): AsyncGenerator<Buffer> {
  // Loaded here: the plain tar formats never use it.
  const { default: tar } = await import('tar-stream');
  const pack = tar.pack();
  const feeding = (async () => {
    for (const e of entries) {
      const header = { name: e.name, mode: e.mode, uid: 0, gid: 0, uname: 'root', gname: 'root', mtime: new Date(mtime * 1000), type: e.type };
      if (e.type === 'directory') {
        pack.entry(header);
      } else if (e.from !== undefined) {
        const size = (await fs.promises.stat(e.from)).size;
        let sink: ReturnType<typeof pack.entry> | undefined;
        const written = new Promise<void>((resolve, reject) => { sink = pack.entry({ ...header, size }, (err) => (err ? reject(err) : resolve())); });
        for await (const chunk of fs.createReadStream(e.from)) {
          if (!sink!.write(chunk as Buffer)) await new Promise<void>((r) => sink!.once('drain', () => r()));
        }
        sink!.end(undefined);
        await written;
      } else {
        await new Promise<void>((resolve, reject) => pack.entry({ ...header, size: e.content?.length ?? 0 }, e.content ?? Buffer.alloc(0), (err) => (err ? reject(err) : resolve())));
      }
    }
    pack.finalize();
  })();
  feeding.catch((err: unknown) => pack.destroy(err instanceof Error ? err : new Error(String(err))));
  for await (const chunk of pack as AsyncIterable<Buffer>) yield chunk;
  await feeding;
}

/** `HASH  NAME` lines, as sha256sum -c reads them. */
export function sha256Lines(files: readonly { sha256: string; name: string }[]): string {
  return files.map((f) => `${f.sha256}  ${f.name}\n`).join('');
}
