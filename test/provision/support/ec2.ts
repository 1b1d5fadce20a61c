// Shared by the EC2 provisioning tests: the SDK in this process talks to one moto_server (or to a
// proxy in front of it), and sparse disks are made with ftruncate plus a few written extents.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { EBSClient } from '@aws-sdk/client-ebs';
import { EC2Client } from '@aws-sdk/client-ec2';

/** Points the SDK clients this process creates at `endpoint` with moto's dummy credentials. */
export function useEndpoint(endpoint: string): void {
  process.env.AWS_ENDPOINT_URL = endpoint;
  process.env.AWS_ACCESS_KEY_ID = 'testing';
  process.env.AWS_SECRET_ACCESS_KEY = 'testing';
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  delete process.env.AWS_PROFILE;
}

export interface Extent {
  offset: number;
  length: number;
}

/** A sparse file of `size` bytes holding random data in `extents` and holes everywhere else. */
export function sparseDisk(file: string, size: number, extents: readonly Extent[]): void {
  const fd = fs.openSync(file, 'w');
  try {
    fs.ftruncateSync(fd, size);
    for (const e of extents) fs.writeSync(fd, crypto.randomBytes(e.length), 0, e.length, e.offset);
  } finally {
    fs.closeSync(fd);
  }
}

/** The 512 KiB block indices the extents touch. */
export function touchedBlocks(extents: readonly Extent[], blockSize = 512 * 1024): number[] {
  const set = new Set<number>();
  for (const e of extents) for (let b = Math.floor(e.offset / blockSize); b <= Math.floor((e.offset + e.length - 1) / blockSize); b++) set.add(b);
  return [...set].sort((a, b) => a - b);
}

/** Records the input of every command a client sends, by command name. */
export function recordInputs(client: EC2Client | EBSClient): Map<string, unknown[]> {
  const seen = new Map<string, unknown[]>();
  (client.middlewareStack as { add: (mw: unknown, opts: unknown) => void }).add(
    (next: (a: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: { input: unknown }) => {
      const name = context.commandName ?? '?';
      seen.set(name, [...(seen.get(name) ?? []), args.input]);
      return next(args);
    },
    { step: 'initialize', name: 'ec2invRecordInputs' },
  );
  return seen;
}
