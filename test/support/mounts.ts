// Small, full and read-only file systems for the failure tests: a tmpfs mounted by the test (root
// only: these tests run as root here and in CI) and unmounted when the process ends.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const isRoot = process.getuid?.() === 0;

// One exit handler for every mount (a listener per mount would pile up on `process`).
const mounted: string[] = [];
process.on('exit', () => {
  for (const dir of mounted) {
    try {
      execFileSync('umount', ['-l', dir]);
      fs.rmdirSync(dir);
    } catch {
      // best effort at exit
    }
  }
});

/** A fresh tmpfs of `size` (e.g. '64k'), read-only with `readOnly`; its mount point is returned. */
export function tmpfs(size: string, opts: { readOnly?: boolean } = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ec2inv-tmpfs-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700${opts.readOnly ? ',ro' : ''}`, 'tmpfs', dir]);
  mounted.push(dir);
  return dir;
}

/** Fills what is left of the file system holding `dir`, so the next write gets ENOSPC. */
export function fill(dir: string): void {
  const fd = fs.openSync(path.join(dir, '.filler'), 'w');
  try {
    const chunk = Buffer.alloc(4096, 1);
    for (;;) fs.writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    fs.closeSync(fd);
  }
}

/** Every entry under `dir` (names relative to it), hidden ones included. */
export function entries(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).sort();
}

/** A one-line failure: exactly one line on stderr, and no stack trace in it. */
export function assertOneLine(stderr: string, pattern: RegExp): void {
  // ec2-provision reports progress on stderr too; those lines are not the failure.
  const lines = stderr.split('\n').filter((l) => l !== '' && !(l.startsWith('ec2-provision: ') && !l.startsWith('ec2-provision: error: ')));
  if (lines.length !== 1) throw new Error(`expected one line on stderr, got ${lines.length}:\n${stderr}`);
  if (stderr.includes('    at ')) throw new Error(`stack trace on stderr:\n${stderr}`);
  if (!pattern.test(lines[0]!)) throw new Error(`stderr line does not match ${pattern}:\n${stderr}`);
}
