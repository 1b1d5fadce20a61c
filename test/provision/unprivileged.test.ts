import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { guestRootfs, scratch } from './support/fixture.js';
import { cli, debugfs, extractPartition, listArchive, snapshot } from './support/inspect.js';
import { hasTool, inCI, isRoot, needTools, rootOnly } from './support/tools.js';

const NOBODY = 65534;

// The promise is "no root": run both builds as nobody over a tree that nobody owns, the
// way an unprivileged user unpacks a root filesystem, and check that root owns everything inside.
test('template and image build work as an unprivileged user; the tree owner becomes root inside', async (t) => {
  if (!needTools(t, ['fakeroot', 'tar', 'sfdisk', 'mkfs.ext4', 'debugfs', 'apt-get', 'dpkg', ...(isRoot ? ['setpriv'] : [])])) return;
  const dir = scratch('nobody');
  const rootfs = path.join(dir, 'rootfs');
  if (!guestRootfs(t, rootfs)) return;
  // As root: hand the tree and the work folder to nobody; otherwise we already are unprivileged.
  // The checks that only mean something as root are subtests, reported as skipped otherwise.
  const asRoot = (what: string) => ({ skip: rootOnly(what) });
  const uid = isRoot ? NOBODY : undefined;
  if (isRoot) {
    execFileSync('chown', ['-R', '-h', `${NOBODY}:${NOBODY}`, dir]);
    // chown clears setuid bits; put it back so the test still sees one travel through the pipeline
    fs.chmodSync(path.join(rootfs, 'usr/bin/setuid-tool'), 0o4755);
  }
  const as = uid === undefined ? {} : { uid };
  const before = snapshot(rootfs);

  const tpl = cli(['template', 'build', '--rootfs', rootfs, '--name', 'nobody-1-x86_64', '--out', dir], as);
  assert.equal(tpl.status, 0, tpl.stderr);
  const archive = path.join(dir, 'nobody-1-x86_64.tar.gz');
  await t.test('the build really ran as nobody', asRoot('dropping from root to nobody'), () => {
    assert.equal(fs.statSync(archive).uid, NOBODY);
  });
  const entries = [...listArchive(archive).values()];
  assert.deepEqual(entries.filter((e) => e.owner !== '0/0'), []);
  await t.test('device nodes are read without root', asRoot('a device node in the source tree (mknod)'), () => {
    assert.equal(listArchive(archive).get('./dev/null')?.size, '1,3');
  });
  assert.deepEqual(snapshot(rootfs), before);

  const kernel = path.join(dir, 'vmlinuz');
  fs.writeFileSync(kernel, 'kernel');
  if (isRoot) fs.chownSync(kernel, NOBODY, NOBODY);
  const out = path.join(dir, 'disk.raw');
  const img = cli(['image', 'build', '--from', archive, '--kernel', kernel, '--format', 'raw', '--size', '32M', '--out', out], as);
  assert.equal(img.status, 0, img.stderr);
  const part = extractPartition(out, path.join(dir, 'part.ext4'));
  const stat = (p: string) => debugfs(part, `stat ${p}`);
  assert.match(stat('/bin/busybox'), /User:\s+0\s+Group:\s+0/);
  assert.match(stat('/etc/ec2inv/fill-placeholders'), /User:\s+0\s+Group:\s+0/);
  assert.match(stat('/usr/bin/setuid-tool'), /Mode:\s+04755/);
  await t.test('device nodes are imaged without root', asRoot('a device node in the source tree (mknod)'), () => {
    assert.match(stat('/dev/console'), /Device major\/minor number: 05:01/);
  });

  // With the boot loader the files put into /boot are root's too, and the gap is written as nobody.
  if (hasTool('grub-mkimage')) {
    const grubOut = path.join(dir, 'grub.raw');
    const grub = cli(['image', 'build', '--from', archive, '--kernel', kernel, '--format', 'raw', '--size', '32M', '--boot-loader', 'grub', '--out', grubOut], as);
    assert.equal(grub.status, 0, grub.stderr);
    extractPartition(grubOut, part);
    for (const p of ['/boot', '/boot/grub', '/boot/vmlinuz', '/boot/grub/grub.cfg']) assert.match(stat(p), /User:\s+0\s+Group:\s+0/, p);
  } else if (inCI) throw new Error('missing grub-mkimage (see .ci/run for the Debian packages)');
  assert.deepEqual(fs.readdirSync(dir).filter((n) => n.startsWith('.')), [], 'no scratch left behind');

  await t.test('a folder it cannot read is a user error naming it, and no partial archive', asRoot('a folder only root can read'), () => {
    const secret = path.join(rootfs, 'root', 'private');
    fs.mkdirSync(secret);
    fs.chmodSync(secret, 0o700);
    const outDir = path.join(dir, 'denied');
    fs.mkdirSync(outDir);
    fs.chownSync(outDir, NOBODY, NOBODY);
    const denied = cli(['template', 'build', '--rootfs', rootfs, '--name', 'denied', '--out', outDir], as);
    assert.equal(denied.status, 1);
    assert.match(denied.stderr, /cannot (list the folder|open) .*\/root\/private: permission denied \(EACCES\) \(run as a user who can read the whole tree\)/);
    assert.doesNotMatch(denied.stderr, /\n\s+at /);
    assert.deepEqual(fs.readdirSync(outDir), []);
  });
});
