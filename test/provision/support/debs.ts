import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// Downloaded packages and their unpacked trees are kept between runs; only apt-get and dpkg are
// needed, no install, so the host's own packages do not matter.
export const cacheDir = process.env.EC2INV_TEST_CACHE ?? path.join(os.homedir(), '.cache', 'ec2-inventory-test');

function cachedDeb(pattern: RegExp): string | undefined {
  const dir = path.join(cacheDir, 'debs');
  if (!fs.existsSync(dir)) return undefined;
  const hit = fs.readdirSync(dir).filter((n) => pattern.test(n)).sort().pop();
  return hit ? path.join(dir, hit) : undefined;
}

function download(pkg: string): void {
  const dir = path.join(cacheDir, 'debs');
  fs.mkdirSync(dir, { recursive: true });
  // A scratch folder, so an interrupted download never looks like a cached package.
  const tmp = fs.mkdtempSync(path.join(dir, '.dl-'));
  try {
    fs.chmodSync(tmp, 0o777); // apt drops to user _apt for downloads when it can
    execFileSync('apt-get', ['download', '-q', pkg], { cwd: tmp, stdio: ['ignore', 'ignore', 'pipe'] });
    for (const n of fs.readdirSync(tmp)) fs.renameSync(path.join(tmp, n), path.join(dir, n));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function deb(pkg: string): string {
  const pattern = new RegExp(`^${escape(pkg)}_.*\\.deb$`);
  const hit = cachedDeb(pattern);
  if (hit) return hit;
  download(pkg);
  const got = cachedDeb(pattern);
  if (!got) throw new Error(`apt-get download ${pkg} produced no .deb`);
  return got;
}

/** The versioned kernel package behind linux-image-cloud-amd64 (the metapackage only depends on it). */
export function cloudKernelDeb(): string {
  const hit = cachedDeb(/^linux-image-\d.*-cloud-amd64_.*\.deb$/);
  if (hit) return hit;
  const out = execFileSync('apt-cache', ['depends', 'linux-image-cloud-amd64'], { encoding: 'utf8' });
  const m = /Depends:\s*(linux-image-\d\S*-cloud-amd64)/.exec(out);
  if (!m) throw new Error(`cannot find the kernel package behind linux-image-cloud-amd64:\n${out}`);
  return deb(m[1]!);
}

/** Unpacks a .deb with dpkg -x into the cache (once) and returns the folder. */
export function unpacked(debFile: string): string {
  const dest = path.join(cacheDir, 'unpacked', path.basename(debFile, '.deb'));
  if (fs.existsSync(dest)) return dest;
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  const tmp = fs.mkdtempSync(`${dest}.tmp-`);
  try {
    execFileSync('dpkg', ['-x', debFile, tmp]);
    fs.renameSync(tmp, dest);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  return dest;
}
