// Shared by the EC2 provisioning tests: the SDK in this process talks to one moto_server (or to a
// proxy in front of it), and sparse disks are made with ftruncate plus a few written extents.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { EBSClient } from '@aws-sdk/client-ebs';
import { EC2Client } from '@aws-sdk/client-ec2';
import { repoRoot } from '../../support/paths.js';

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

/** bin/provision running in a child, for tests that interrupt it. */
export interface RunningProvision {
  kill(signal: NodeJS.Signals): void;
  /** Its exit code once it has exited. */
  exited: Promise<number | null>;
  /** What it wrote so far. */
  readonly stdout: string;
  readonly stderr: string;
  /** Sends `signal` and waits for the exit: its code, and how long the child took to go. */
  stop(signal: NodeJS.Signals): Promise<{ code: number | null; ms: number }>;
  /** Resolves once `reached()` holds; fails if the child exits first or a minute passes. */
  until(reached: () => boolean, what: string): Promise<void>;
}

export function startProvision(args: string[], env: NodeJS.ProcessEnv): RunningProvision {
  const child = spawn(path.join(repoRoot, 'bin', 'provision'), args, { env });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d: Buffer) => { out.stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { out.stderr += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    kill: (signal) => { child.kill(signal); },
    exited,
    async stop(signal) {
      const t0 = Date.now();
      child.kill(signal);
      const code = await exited;
      return { code, ms: Date.now() - t0 };
    },
    get stdout() { return out.stdout; },
    get stderr() { return out.stderr; },
    async until(reached, what) {
      for (const t0 = Date.now(); !reached(); await new Promise((r) => setTimeout(r, 20))) {
        if (child.exitCode !== null || Date.now() - t0 > 60_000) throw new Error(`${what} never happened: ${out.stderr}`);
      }
    },
  };
}
