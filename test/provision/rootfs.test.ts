import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { aptMirror, datasourceConfig, mmdebstrapError } from '../../lib/provision/rootfs/build.js';
import { compareKernelVersions, countInstalled, detectCompression, entryPath } from '../../lib/provision/rootfs/scan.js';
import { scratch } from './support/fixture.js';
import { cli } from './support/inspect.js';
import { needTools } from './support/tools.js';

test('the default mirror is the one apt uses: one-line and deb822 sources, security and updates skipped', () => {
  const dir = scratch('apt');
  fs.mkdirSync(path.join(dir, 'sources.list.d'));
  assert.equal(aptMirror(dir), undefined, 'no sources: the caller falls back to deb.debian.org');
  fs.writeFileSync(
    path.join(dir, 'sources.list.d', 'debian.sources'),
    [
      'Types: deb-src deb',
      'URIs: http://security.example/debian-security',
      'Suites: bookworm-security',
      'Components: main',
      '',
      '# a disabled one first',
      'Types: deb',
      'URIs: http://disabled.example/debian',
      'Suites: bookworm',
      'Enabled: no',
      '',
      'Types: deb',
      '# http://snapshot.debian.org/archive/debian/20250520T000000Z',
      'URIs: http://mirror.example/debian/',
      'Suites: bookworm bookworm-updates',
      'Components: main',
      '',
    ].join('\n'),
  );
  assert.equal(aptMirror(dir), 'http://mirror.example/debian');
  // sources.list is read before sources.list.d, as apt does.
  fs.writeFileSync(path.join(dir, 'sources.list'), '# comment\ndeb-src http://src.example/debian bookworm main\ndeb [arch=amd64 signed-by=/k.gpg] http://one.example/debian bookworm main\n');
  assert.equal(aptMirror(dir), 'http://one.example/debian');
  fs.writeFileSync(path.join(dir, 'sources.list'), 'deb http://one.example/debian bookworm-updates main\n');
  assert.equal(aptMirror(dir), 'http://mirror.example/debian', 'an updates archive is no full suite');
});

test('cloud-init is limited to NoCloud (and Ec2 only for EC2): a test guest never probes a metadata address', () => {
  assert.match(datasourceConfig('kvm'), /^datasource_list: \[ NoCloud, None \]$/m);
  assert.match(datasourceConfig('ec2'), /^datasource_list: \[ NoCloud, Ec2, None \]$/m);
});

test("mmdebstrap's failure becomes apt's own line, not the generic summary", () => {
  const stderr = [
    'I: running apt-get update...',
    'Err:2 http://deb.debian.org/debian nosuchsuite Release',
    "E: The repository 'http://deb.debian.org/debian nosuchsuite Release' does not have a Release file.",
    'E: apt-get update --error-on=any -oAPT::Status-Fd=<$fd> -oDpkg::Use-Pty=false failed',
    'E: mmdebstrap failed to run',
  ].join('\n');
  assert.equal(mmdebstrapError(stderr), "The repository 'http://deb.debian.org/debian nosuchsuite Release' does not have a Release file.");
  assert.equal(mmdebstrapError('E: apt-get update failed\nE: mmdebstrap failed to run\n'), 'apt-get update failed');
});

test('tarball reading: compression by magic bytes, entry names of docker exports, kernel order, dpkg status', () => {
  assert.equal(detectCompression(Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0])), 'gzip');
  assert.equal(detectCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0])), 'zstd');
  assert.equal(detectCompression(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0, 0, 0])), 'xz');
  assert.equal(detectCompression(Buffer.from('./etc/\0\0')), 'none');
  assert.equal(entryPath('./etc/hostname'), 'etc/hostname');
  assert.equal(entryPath('etc/'), 'etc');
  assert.equal(entryPath('./'), '');
  assert.equal(entryPath('/boot/vmlinuz'), 'boot/vmlinuz');
  assert.deepEqual(['6.1.0-9-cloud-amd64', '6.1.0-37-cloud-amd64', '5.10.0-30-amd64'].sort(compareKernelVersions), ['5.10.0-30-amd64', '6.1.0-9-cloud-amd64', '6.1.0-37-cloud-amd64']);
  assert.equal(countInstalled('Package: a\nStatus: install ok installed\n\nPackage: b\nStatus: deinstall ok config-files\n\nPackage: c\nStatus: install ok installed\n'), 2);
});

test('rootfs build: bad input is one line on stderr before mmdebstrap runs; a missing mmdebstrap names its package', (t) => {
  if (!needTools(t, ['mmdebstrap'])) return;
  const dir = scratch('rootfs-errors');
  const out = path.join(dir, 'root.tar');
  const emptyBin = scratch('empty-path');
  // Option values that cannot be right and a missing tool are both bad input (exit 1).
  const cases: [string, string[], RegExp, number, NodeJS.ProcessEnv?][] = [
    ['bad suite name', ['--suite', 'Book worm'], /--suite: "Book worm": expected a Debian suite/, 1],
    ['bad package name', ['--include', 'vim,Bad Name'], /--include: package "Bad Name": not a Debian package name/, 1],
    ['bad output name', ['--out', path.join(dir, 'root.img')], /--out: output .*root\.img: expected a file name ending in \.tar/, 1],
    ['bad mirror', ['--mirror', 'ftp;rm -rf /'], /--mirror: "ftp;rm -rf \/": expected an http/, 1],
    // Only node on PATH: what a machine without the Debian package sees.
    ['missing mmdebstrap', [], /^ec2-provision: error: mmdebstrap not found: apt-get install mmdebstrap\n$/, 1, { ...process.env, PATH: emptyBin }],
  ];
  for (const [name, extra, message, code, env] of cases) {
    const args = ['rootfs', 'build', ...(extra.includes('--out') ? [] : ['--out', out]), ...extra];
    const r = cli(args, env ? { env } : {});
    assert.equal(r.status, code, `${name}: ${r.stderr}`);
    assert.match(r.stderr, message, name);
    assert.equal(r.stderr.trim().split('\n').length, 1, `${name}: one line`);
    assert.equal(r.stdout, '', name);
  }
  assert.deepEqual(fs.readdirSync(dir), [], 'nothing left behind');
});

test("rootfs build: an unknown suite is mmdebstrap's (apt's) message in one line, nothing left behind", (t) => {
  if (!needTools(t, ['mmdebstrap'])) return;
  const dir = scratch('rootfs-suite');
  const r = cli(['rootfs', 'build', '--suite', 'nosuchsuite', '--out', path.join(dir, 'root.tar')]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /^ec2-provision: error: mmdebstrap failed \(exit \d+\): The repository '\S+ nosuchsuite Release' does not have a Release file\.\n$/);
  assert.equal(r.stdout, '');
  assert.deepEqual(fs.readdirSync(dir), []);
});
