// Template archives in each compression: the same bytes for the same tree whatever the number of
// threads compressing them, and GNU tar unpacks them to the tree. The parallel gzip is one gzip
// member any gunzip reads, whichever block boundaries the input crosses.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import zlib from 'node:zlib';
import { gzipParallel } from '../../lib/provision/template/compress.js';
import { scratch } from './support/fixture.js';
import { cli, provisionBin, snapshot } from './support/inspect.js';
import { needTools } from './support/tools.js';

const MiB = 1 << 20;

async function collect(source: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of source) parts.push(b);
  return Buffer.concat(parts);
}

async function* pieces(data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let off = 0; off < data.length; off += size) yield data.subarray(off, off + size);
}

/** Half compressible text, half random bytes, so blocks refer back across their boundaries. */
function mixed(bytes: number, seed: string): Buffer {
  const out = Buffer.alloc(bytes);
  const random = crypto.createHash('sha512');
  for (let off = 0; off < bytes; off += 64) {
    if ((off >> 16) % 2) random.copy().update(String(off)).digest().copy(out, off);
    else out.write(`${seed} line ${off % 4096}\n`.repeat(4).slice(0, 64), off, 'latin1');
  }
  return out;
}

test('parallel gzip: one gzip stream that gunzip and zlib read back exactly', async () => {
  for (const size of [0, 1, MiB - 1, MiB, MiB + 1, 3 * MiB + 12345]) {
    const data = mixed(size, `s${size}`);
    // Input chunking does not move the block boundaries.
    const a = await collect(gzipParallel(pieces(data, 4096)));
    const b = await collect(gzipParallel(pieces(data, 700_000)));
    assert.ok(a.equals(b), `size ${size}: the output depends on how the input was chunked`);
    assert.ok(zlib.gunzipSync(a).equals(data), `size ${size}: zlib reads back other bytes`);
    assert.ok(execFileSync('gzip', ['-dc'], { input: a, maxBuffer: 64 * MiB }).equals(data), `size ${size}: gzip reads back other bytes`);
  }
});

test('template build --compress gzip|zstd|xz: deterministic whatever the threads, and GNU tar unpacks it', async (t) => {
  if (!needTools(t, ['tar', 'zstd', 'xz', 'gzip', 'taskset'])) return;
  const dir = scratch('compress');
  const rootfs = path.join(dir, 'rootfs');
  for (const d of ['sbin', 'etc', 'usr/lib/deep/er', 'var/empty']) fs.mkdirSync(path.join(rootfs, d), { recursive: true });
  fs.writeFileSync(path.join(rootfs, 'sbin', 'init'), '#!/bin/sh\n', { mode: 0o755 });
  fs.writeFileSync(path.join(rootfs, 'etc', 'hostname'), 'box\n');
  fs.writeFileSync(path.join(rootfs, 'usr/lib/deep/er', 'big.bin'), mixed(5 * MiB + 77, 'big'));
  for (let i = 0; i < 50; i++) fs.writeFileSync(path.join(rootfs, 'usr/lib', `f${i}`), mixed(i * 997, `f${i}`));
  fs.symlinkSync('../usr/lib/f1', path.join(rootfs, 'etc', 'link'));
  const env = { ...process.env, SOURCE_DATE_EPOCH: '1700000000' };
  for (const how of ['gzip', 'zstd', 'xz'] as const) {
    const suffix = { gzip: '.tar.gz', zstd: '.tar.zst', xz: '.tar.xz' }[how];
    const outs = ['one', 'many'].map((n) => path.join(dir, `${how}-${n}`));
    for (const o of outs) fs.mkdirSync(o);
    // One CPU (taskset: so one xz/zstd thread) and one thread in libuv's pool, then eight.
    const args = ['template', 'build', '--rootfs', rootfs, '--name', 'box', '--out', outs[0]!, '--compress', how, '--skip', ...stepNames()];
    const one = spawnSync('taskset', ['-c', '0', process.execPath, provisionBin, ...args], { encoding: 'utf8', env: { ...env, UV_THREADPOOL_SIZE: '1' } });
    assert.equal(one.status, 0, one.stderr);
    const many = cli(['template', 'build', '--rootfs', rootfs, '--name', 'box', '--out', outs[1]!, '--compress', how, '--skip', ...stepNames()],
      { env: { ...env, UV_THREADPOOL_SIZE: '8' } });
    assert.equal(many.status, 0, many.stderr);
    const archive = path.join(outs[0]!, `box${suffix}`);
    assert.equal((JSON.parse(one.stdout) as { archive: string }).archive, archive);
    assert.ok(fs.readFileSync(archive).equals(fs.readFileSync(path.join(outs[1]!, `box${suffix}`))), `${how}: archives differ`);
    const x = path.join(dir, `${how}-x`);
    fs.mkdirSync(x);
    execFileSync('tar', ['-xf', archive, '-C', x]);
    const unpacked = snapshot(x);
    for (const [rel, line] of snapshot(rootfs)) {
      if (rel === '.') continue;
      const content = (s: string | undefined) => s?.split(' ').at(-1);
      assert.equal(content(unpacked.get(rel)), content(line), `${how}: ${rel} unpacked differently`);
    }
  }
});

function stepNames(): string[] {
  const r = cli(['template', 'steps']);
  return (JSON.parse(r.stdout) as { name: string }[]).map((s) => s.name);
}

test('template build --compress zstd: a tool that fails or is missing is one line on stderr, and no archive is left', async (t) => {
  if (!needTools(t, ['tar'])) return;
  const dir = scratch('compress-fail');
  const rootfs = path.join(dir, 'rootfs');
  fs.mkdirSync(path.join(rootfs, 'sbin'), { recursive: true });
  fs.writeFileSync(path.join(rootfs, 'sbin', 'init'), '#!/bin/sh\n', { mode: 0o755 });
  fs.writeFileSync(path.join(rootfs, 'big'), mixed(3 * MiB, 'big'));
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  const out = path.join(dir, 'out');
  fs.mkdirSync(out);
  const args = ['template', 'build', '--rootfs', rootfs, '--name', 'box', '--out', out, '--compress', 'zstd'];
  const missing = cli(args, { env: { ...process.env, PATH: bin } });
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /zstd is not installed \(apt-get install zstd\)\n$/);
  fs.writeFileSync(path.join(bin, 'zstd'), '#!/bin/sh\necho "zstd: out of luck" >&2\nexit 3\n', { mode: 0o755 });
  const failed = cli(args, { env: { ...process.env, PATH: bin } });
  assert.equal(failed.status, 1);
  assert.match(failed.stderr, /zstd failed \(3\): zstd: out of luck\n$/);
  assert.doesNotMatch(failed.stderr, /\n {4}at /, 'no stack trace');
  assert.deepEqual(fs.readdirSync(out), [], 'nothing left behind');
});

/**
 * A tree whose every byte, name, mode and time is fixed, so its archive can be compared with one
 * recorded: files of several sizes (one over the 1 MiB pieces the archive is written in), a hard
 * link, a symlink, a long name (a pax record), an empty folder.
 */
function fixedTree(root: string): void {
  const dirs = ['sbin', 'etc', 'usr/lib/deep/er', 'var/empty', `opt/${'long-name-'.repeat(12)}`];
  for (const d of dirs) fs.mkdirSync(path.join(root, d), { recursive: true });
  const files: [string, Buffer | string, number][] = [
    ['sbin/init', '#!/bin/sh\n', 0o755],
    ['etc/hostname', 'box\n', 0o644],
    ['etc/shadow', 'root:*:19000:0:99999:7:::\n', 0o640],
    ['usr/lib/deep/er/big.bin', mixed(2 * MiB + 4321, 'big'), 0o644],
    [`opt/${'long-name-'.repeat(12)}/file-with-a-name-past-one-hundred-bytes-${'x'.repeat(60)}`, 'long\n', 0o600],
  ];
  for (let i = 0; i < 40; i++) files.push([`usr/lib/f${i}`, mixed(i * 1031, `f${i}`), 0o644]);
  for (const [rel, content, mode] of files) {
    fs.writeFileSync(path.join(root, rel), content);
    fs.chmodSync(path.join(root, rel), mode);
  }
  fs.linkSync(path.join(root, 'usr/lib/f3'), path.join(root, 'usr/lib/f3-hardlink'));
  fs.symlinkSync('../usr/lib/f1', path.join(root, 'etc', 'link'));
  const when = new Date(1_600_000_000_000);
  for (const rel of [...files.map(([f]) => f), 'usr/lib/f3-hardlink']) fs.utimesSync(path.join(root, rel), when, when);
  fs.lutimesSync(path.join(root, 'etc', 'link'), when, when);
  // Folders last, deepest first: writing into a folder changes its time.
  const folders = new Set(['']);
  for (const d of dirs) d.split('/').forEach((_, i, parts) => folders.add(parts.slice(0, i + 1).join('/')));
  for (const d of [...folders].sort((a, b) => b.split('/').length - a.split('/').length)) {
    fs.chmodSync(path.join(root, d), 0o755);
    fs.utimesSync(path.join(root, d), when, when);
  }
}

// Recorded from the archives template build wrote for fixedTree before its zstd output was
// written by zstd itself, with zstd 1.5.4 (Debian 12): the same input must give the same bytes.
const recorded = {
  tar: '9b242a40df1f674b2e8d64da6dd55ef61e6daaceee7a77b9748bf5f02d0d403d',
  gzip: '34dc06487e24b6a251c6d5e36ed99266c92589d195d487ee53141963372b985d',
  zstd: { version: 'v1.5.4', sha256: '8ed36b2a7bf846d922d8fe957582e52278998ef09544144c16481f4f61b90ecb' },
};

const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

/** Builds of fixedTree with no preparation step and a fixed time, into a scratch folder, replacing the last. */
async function fixedBuilds(prefix: string) {
  const { buildTemplate } = await import('../../lib/provision/template/build.js');
  const { templateSteps } = await import('../../lib/provision/template/steps.js');
  const dir = scratch(prefix);
  const rootfs = path.join(dir, 'rootfs');
  fixedTree(rootfs);
  const build = (o: { compress?: 'gzip' | 'zstd'; compressLevel?: number; format?: 'oci' }) => buildTemplate({
    rootfs, name: 'fixed', outDir: dir, ownership: 'all-root', sourceDateEpoch: 1_700_000_000, skip: templateSteps.map((s) => s.name), force: true, arch: 'amd64', ...o,
  });
  return { dir, rootfs, build };
}

test('template build --compress gzip|zstd: the same bytes as recorded for a fixed tree', async (t) => {
  if (!needTools(t, ['zstd', 'gzip'])) return;
  const { build: fixed } = await fixedBuilds('recorded');
  const build = (compress: 'gzip' | 'zstd') => fixed({ compress });
  const gz = await build('gzip');
  assert.equal(sha(zlib.gunzipSync(fs.readFileSync(gz.archive))), recorded.tar, 'the tar stream');
  assert.equal(gz.sha256, recorded.gzip);
  assert.equal(sha(fs.readFileSync(gz.archive)), gz.sha256, 'the digest reported is the file\'s');
  const zs = await build('zstd');
  assert.equal(sha(fs.readFileSync(zs.archive)), zs.sha256, 'the digest reported is the file\'s');
  assert.equal(fs.readFileSync(`${zs.archive}.sha256`, 'utf8'), `${zs.sha256}  fixed.tar.zst\n`);
  assert.equal(zs.bytes, fs.statSync(zs.archive).size);
  assert.equal(sha(execFileSync('zstd', ['-dc', zs.archive], { maxBuffer: 64 * MiB })), recorded.tar, 'zstd holds the same tar stream');
  const version = /v\d+\.\d+\.\d+/.exec(execFileSync('zstd', ['--version'], { encoding: 'utf8' }))?.[0];
  if (version === recorded.zstd.version) assert.equal(zs.sha256, recorded.zstd.sha256);
  else t.diagnostic(`zstd ${version} is not the ${recorded.zstd.version} the digest was recorded with: only its tar stream compared`);
});

test('template build --compress-level: the level asked for, the format\'s own unasked, one line for a level the compression does not take', async (t) => {
  if (!needTools(t, ['zstd', 'gzip'])) return;
  const { dir, rootfs, build } = await fixedBuilds('levels');
  const tar = zlib.gunzipSync(fs.readFileSync((await build({ compress: 'gzip' })).archive));
  assert.equal(sha(tar), recorded.tar);
  assert.equal((await build({ compress: 'gzip', compressLevel: 6 })).sha256, recorded.gzip, 'gzip unasked is level 6');
  const gzip1 = await build({ compress: 'gzip', compressLevel: 1 });
  assert.equal(gzip1.sha256, sha(await collect(gzipParallel(pieces(tar, 64 * 1024), 1))), 'gzip level 1');
  const zstd19 = await build({ compress: 'zstd', compressLevel: 19 });
  assert.equal(zstd19.sha256, sha(execFileSync('zstd', ['-q', '-c', '-19', '-T1'], { input: tar, maxBuffer: 64 * MiB })), 'zstd level 19');

  // An OCI layer is gzip level 4 unasked; its tar is the template's, without the leading ./
  const oci = await build({ format: 'oci' });
  const layer = (oci.details as { layerDigest: string }).layerDigest.slice('sha256:'.length);
  const blob = fs.readFileSync(path.join(oci.archive, 'blobs', 'sha256', layer));
  assert.equal(sha(blob), sha(await collect(gzipParallel(pieces(zlib.gunzipSync(blob), 64 * 1024), 4))), 'the layer at level 4');
  assert.notEqual((await build({ format: 'oci', compressLevel: 6 })).details?.['layerDigest'], `sha256:${layer}`);

  const out = path.join(dir, 'refused');
  const r = cli(['build', 'template', '--rootfs', rootfs, '--name', 'x', '--out', out, '--compress-level', '12']);
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stderr, 'ec2-provision: error: --compress-level: gzip takes levels 1 to 9, not 12 (see ec2-provision build template --help)\n');
  assert.equal(fs.existsSync(out), false, 'no output folder made');
  const x = cli(['build', 'template', '--rootfs', rootfs, '--name', 'x', '--out', out, '--compress', 'xz', '--compress-level', '0']);
  assert.equal(x.status, 0, `xz takes level 0: ${x.stderr}`);
});
