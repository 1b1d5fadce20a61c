import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { guestRootfs, scratch } from './support/fixture.js';
import { cli, listing, provisionBin, type CliResult } from './support/inspect.js';
import { hasTool, inCI, needTools } from './support/tools.js';

/** A user error: non-zero exit, the message names the problem, nothing on stdout, no stack trace. */
function assertUserError(r: CliResult, message: RegExp): void {
  assert.notEqual(r.status, 0, `expected failure, got: ${r.stdout}`);
  assert.match(r.stderr, message);
  assert.equal(r.stdout, '', 'no summary on failure');
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace for a user error');
}

test('bad input is refused with a clear error, a non-zero exit and nothing left behind', async (t) => {
  if (!needTools(t, ['fakeroot', 'tar', 'sfdisk', 'mkfs.ext4', 'qemu-img', 'apt-get', 'dpkg'])) return;
  const dir = scratch('errors');
  const rootfs = path.join(dir, 'rootfs');
  if (!guestRootfs(t, rootfs)) return;
  const out = path.join(dir, 'out');
  fs.mkdirSync(out);
  const kernel = path.join(dir, 'vmlinuz');
  fs.writeFileSync(kernel, 'kernel');
  const tpl = cli(['template', 'build', '--rootfs', rootfs, '--name', 'good', '--out', dir]);
  assert.equal(tpl.status, 0, tpl.stderr);
  const archive = path.join(dir, 'good.tar.gz');
  const noInit = path.join(dir, 'noinit.tar.gz');
  execFileSync('tar', ['-czf', noInit, '-C', path.join(rootfs, 'etc'), '.']);
  const image = (...extra: string[]) => ['image', 'build', '--from', rootfs, '--kernel', kernel, '--out', path.join(out, 'disk.qcow2'), ...extra];

  const cases: [string, string[], RegExp][] = [
    ['missing rootfs', ['template', 'build', '--rootfs', path.join(dir, 'nope'), '--name', 'x', '--out', out], /root filesystem .*nope does not exist/],
    ['rootfs without /sbin/init', ['template', 'build', '--rootfs', out, '--name', 'x', '--out', dir], /has no \/sbin\/init/],
    ['image from a folder without /sbin/init', ['image', 'build', '--from', path.join(rootfs, 'etc'), '--kernel', kernel, '--out', path.join(out, 'd.qcow2')], /has no \/sbin\/init/],
    ['template archive without /sbin/init', ['image', 'build', '--from', noInit, '--kernel', kernel, '--size', '64M', '--out', path.join(out, 'd.qcow2')], /noinit\.tar\.gz has no \/sbin\/init/],
    ['bad template name', ['template', 'build', '--rootfs', rootfs, '--name', '../evil', '--out', out], /bad template name "\.\.\/evil"/],
    ['size too small', image('--size', '5M'), /--size: the files do not fit: they need about \d+ MiB .* size 5M leaves 4 MiB .* size \d+M fits/],
    ['size not a size', image('--size', 'big'), /bad size "big"/],
    ['unknown format', image('--format', 'vmdk'), /^ec2-provision: error: --format: must be one of qcow2, raw, not 'vmdk' \(see ec2-provision build image --help\)\n$/],
    ['missing kernel', ['image', 'build', '--from', rootfs, '--kernel', path.join(dir, 'no-kernel'), '--out', path.join(out, 'd.qcow2')], /--kernel: \/.*no-kernel is not a readable file/],
    ['from is neither folder nor template', ['image', 'build', '--from', kernel, '--kernel', kernel, '--out', path.join(out, 'd.qcow2')], /neither a folder nor a template archive/],
    ['output inside the rootfs', ['template', 'build', '--rootfs', rootfs, '--name', 'x', '--out', path.join(rootfs, 'tmp')], /is inside the root filesystem/],
    ['missing required option', ['image', 'build', '--from', rootfs], /^ec2-provision: error: --out is required \(Image file to write\) \(see ec2-provision build image --help\)\n$/],
    ['a root without a kernel and no --kernel', ['image', 'build', '--from', rootfs, '--out', path.join(out, 'd.qcow2')], /--kernel: .*rootfs has no kernel \(\/boot\/vmlinuz-\*\) and no kernel was given/],
    ['an archive without a kernel and no --kernel', ['image', 'build', '--from', archive, '--size', '64M', '--out', path.join(out, 'd.qcow2')], /--kernel: .*good\.tar\.gz has no kernel \(\/boot\/vmlinuz-\*\) and no kernel was given/],
  ];
  for (const [name, args, message] of cases) {
    await t.test(name, () => {
      const before = listing(out);
      assertUserError(cli(args), message);
      assert.deepEqual(listing(out), before, 'no leftovers in the output folder');
    });
  }

  await t.test('existing output without --force is kept; with --force it is replaced', () => {
    const target = path.join(out, 'disk.qcow2');
    fs.writeFileSync(target, 'precious');
    assertUserError(cli(image('--size', '64M')), /output already exists \(--force replaces it\): .*disk\.qcow2/);
    assert.equal(fs.readFileSync(target, 'utf8'), 'precious');
    assert.deepEqual(listing(out), ['disk.qcow2']);
    fs.writeFileSync(path.join(dir, 'good.manifest.json'), 'precious');
    assertUserError(cli(['template', 'build', '--rootfs', rootfs, '--name', 'good', '--out', dir]), /output already exists .*good\.tar\.gz/);
    const forced = cli(image('--size', '64M', '--force'));
    assert.equal(forced.status, 0, forced.stderr);
    assert.notEqual(fs.readFileSync(target, 'utf8'), 'precious');
    fs.rmSync(target);
    fs.rmSync(path.join(out, 'disk.vmlinuz'));
  });

  await t.test('a corrupt template fails with tar\'s own message and leaves nothing behind', () => {
    const bad = path.join(dir, 'corrupt.tar.gz');
    const bytes = fs.readFileSync(archive);
    fs.writeFileSync(bad, bytes.subarray(0, Math.floor(bytes.length / 2)));
    assertUserError(cli(['image', 'build', '--from', bad, '--kernel', kernel, '--size', '64M', '--out', path.join(out, 'c.qcow2')]), /tar failed \(exit 2\): .*unexpected end of file/is);
    assert.deepEqual(listing(out), []);
  });

  await t.test('a build killed with SIGTERM half-way removes its temporary files', async () => {
    const child = spawn(process.execPath, [provisionBin, ...image('--size', '1G')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    // kill once work is under way (scratch folder exists), not before it started
    await new Promise<void>((resolve) => {
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
        if (/unpacking|partitioning|writing/.test(stderr)) resolve();
      });
      child.on('exit', () => resolve());
    });
    assert.ok(listing(out).some((n) => n.startsWith('.ec2-provision-')), `no scratch folder seen: ${listing(out).join(', ')}`);
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    assert.equal(code, 143, stderr);
    assert.deepEqual(listing(out), []);
  });

  await t.test('a missing tool is named with its Debian package', () => {
    // A PATH with everything the host has except mkfs.ext4.
    const bin = path.join(dir, 'path');
    fs.mkdirSync(bin);
    for (const d of ['/usr/local/bin', '/usr/bin', '/bin', '/usr/sbin', '/sbin']) {
      if (!fs.existsSync(d) || fs.lstatSync(d).isSymbolicLink()) continue;
      for (const n of fs.readdirSync(d)) {
        if (n !== 'mkfs.ext4' && !fs.existsSync(path.join(bin, n))) fs.symlinkSync(path.join(d, n), path.join(bin, n));
      }
    }
    const r = cli(image('--size', '64M'), { env: { ...process.env, PATH: bin } });
    assertUserError(r, /mkfs\.ext4 not found: apt-get install e2fsprogs/);
    assert.deepEqual(listing(out), []);
  });

  await t.test('an unwritable output folder is refused (as an unprivileged user)', (tt) => {
    const ro = path.join(dir, 'readonly');
    fs.mkdirSync(ro, { mode: 0o755 });
    let uid: number | undefined;
    if (process.getuid?.() === 0) {
      // root writes anywhere, so run the CLI as nobody against a root-owned folder
      if (!hasTool('setpriv')) {
        if (inCI) throw new Error('setpriv (util-linux) is needed to test as an unprivileged user');
        return tt.skip('setpriv missing: cannot drop root to test an unwritable folder');
      }
      uid = 65534;
      fs.chmodSync(dir, 0o755);
    } else {
      fs.chmodSync(ro, 0o555);
    }
    // a tiny rootfs that nobody can read, so only the output folder is in the way
    fs.mkdirSync(path.join(dir, 'tiny', 'sbin'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'tiny', 'sbin', 'init'), '');
    execFileSync('chmod', ['-R', 'a+rX', path.join(dir, 'tiny')]);
    assertUserError(cli(['template', 'build', '--rootfs', path.join(dir, 'tiny'), '--name', 'x', '--out', ro], uid === undefined ? {} : { uid }), /output folder .*readonly is not writable/);
    assert.deepEqual(listing(ro), []);
  });
});
