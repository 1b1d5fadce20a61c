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
