// The SHA-256 of a file, read as a stream: what every step that records, compares or verifies a
// file's bytes (recorded inputs, pushed volumes and templates, packaged files) computes alike.
import crypto from 'node:crypto';
import fs from 'node:fs';

export interface Digest {
  /** SHA-256 (hex) of the bytes. */
  sha256: string;
  bytes: number;
}

export async function fileDigest(file: string): Promise<Digest> {
  const hash = crypto.createHash('sha256');
  let bytes = 0;
  for await (const chunk of fs.createReadStream(file)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}
