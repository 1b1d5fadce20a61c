import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../../support/paths.js';

export const provisionBin = path.join(repoRoot, 'bin', 'provision');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function cli(args: readonly string[], opts: { env?: NodeJS.ProcessEnv; uid?: number } = {}): CliResult {
  const argv = [process.execPath, provisionBin, ...args];
  // setpriv runs the CLI as an unprivileged user, the way a laptop or CI user would.
  const [cmd, ...rest] = opts.uid === undefined ? argv : ['setpriv', `--reuid=${opts.uid}`, `--regid=${opts.uid}`, '--clear-groups', '--', ...argv];
  const r = spawnSync(cmd!, rest, { encoding: 'utf8', env: opts.env ?? process.env, timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Everything about a tree that a build could change: type, mode, owner, size, times, content, link target, device. */
export function snapshot(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const visit = (rel: string) => {
    const abs = path.join(root, rel);
    const st = fs.lstatSync(abs, { bigint: true });
    let extra = '';
    if (st.isFile()) extra = crypto.createHash('sha256').update(fs.readFileSync(abs)).digest('hex');
    else if (st.isSymbolicLink()) extra = fs.readlinkSync(abs);
    out.set(rel || '.', `${st.mode} ${st.uid}:${st.gid} ${st.size} ${st.mtimeNs} ${st.ino} ${st.nlink} ${st.rdev} ${extra}`);
    if (st.isDirectory()) for (const n of fs.readdirSync(abs).sort()) visit(rel ? `${rel}/${n}` : n);
  };
  visit('');
  return out;
}

export interface ArchiveEntry {
  mode: string;
  owner: string;
  size: string;
  name: string;
  link?: string;
  hardlink?: string;
}

/** GNU tar's own reading of the archive, so the test does not trust our writer's idea of it. */
export function listArchive(archive: string): Map<string, ArchiveEntry> {
  const text = execFileSync('tar', ['-tvzf', archive, '--numeric-owner', '--full-time'], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const entries = new Map<string, ArchiveEntry>();
  for (const line of text.split('\n').filter(Boolean)) {
    const m = /^(\S{10})\s+(\d+\/\d+)\s+(\S+)\s+\S+\s+\S+\s+(.*)$/.exec(line);
    if (!m) throw new Error(`cannot parse tar listing line: ${line}`);
    let name = m[4]!;
    const e: ArchiveEntry = { mode: m[1]!, owner: m[2]!, size: m[3]!, name };
    const sym = name.indexOf(' -> ');
    const hard = name.indexOf(' link to ');
    if (m[1]!.startsWith('l') && sym !== -1) [name, e.link] = [name.slice(0, sym), name.slice(sym + 4)];
    else if (m[1]!.startsWith('h') && hard !== -1) [name, e.hardlink] = [name.slice(0, hard), name.slice(hard + 9)];
    e.name = name.replace(/\/$/, '');
    entries.set(e.name, e);
  }
  return entries;
}

export function archiveFile(archive: string, member: string): string {
  return execFileSync('tar', ['-xzOf', archive, member], { encoding: 'utf8' });
}

/** Names in a folder, hidden ones included, so leftovers such as temporary files show up. */
export function listing(dir: string): string[] {
  return fs.readdirSync(dir).sort();
}

/**
 * The file system of a raw disk image's partition, copied (sparse) to `dest` so that debugfs can
 * read it: image build puts its one partition at sector 2048 (1 MiB).
 */
export function extractPartition(rawDisk: string, dest: string, startSector = 2048): string {
  execFileSync('dd', [`if=${rawDisk}`, `of=${dest}`, 'bs=512', `skip=${startSector}`, 'conv=sparse', 'status=none']);
  return dest;
}

/** debugfs -R REQUEST on an ext4 image, read-only (`stat /bin/busybox`, `cat /etc/hostname`, `dump A B`). */
export function debugfs(fsImage: string, request: string): string {
  return execFileSync('debugfs', ['-R', request, fsImage], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 26 });
}
