// image build --for ec2 refuses, with one line and before any output exists, a root that could not
// boot the way an EC2 Nitro instance boots (ec2boot.test.ts boots one that can).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { test } from 'node:test';
import { scratch } from './support/fixture.js';
import { buildGuestRootfs, cloudKernel } from './support/guest.js';
import { provisionBin } from './support/inspect.js';
import { needTools } from './support/tools.js';

test('image build --for ec2 refuses a root that cannot boot that way: one line, exit 1, no image', async (t) => {
  if (!needTools(t, ['sfdisk', 'mkfs.ext4', 'apt-get', 'dpkg', 'grub-mkimage'])) return;
  const dir = scratch('nitro-refuse');
  const root = path.join(dir, 'root');
  buildGuestRootfs(root);
  const kernel = cloudKernel();
  // The cloud kernel (NVMe built in) as the root's own, and cloud-init configured for NoCloud only.
  fs.mkdirSync(path.join(root, 'boot'), { recursive: true });
  fs.copyFileSync(kernel.vmlinuz, path.join(root, 'boot', `vmlinuz-${kernel.version}`));
  fs.mkdirSync(path.join(root, 'lib/modules', kernel.version), { recursive: true });
  fs.copyFileSync(path.join(kernel.modulesDir, 'modules.builtin'), path.join(root, 'lib/modules', kernel.version, 'modules.builtin'));
  fs.mkdirSync(path.join(root, 'etc/cloud/cloud.cfg.d'), { recursive: true });
  fs.writeFileSync(path.join(root, 'etc/cloud/cloud.cfg'), 'datasource_list: [ NoCloud, ConfigDrive, OpenStack, Ec2, None ]\n');
  fs.writeFileSync(path.join(root, 'etc/cloud/cloud.cfg.d/90-datasource.cfg'), 'datasource_list: [ NoCloud, None ]\n');
  const out = path.join(dir, 'out');
  fs.mkdirSync(out);
  const build = (...extra: string[]) => {
    const r = spawnCli(['image', 'build', '--from', root, '--for', 'ec2', '--format', 'raw', '--size', '64M', '--out', path.join(out, 'x.raw'), ...extra]);
    return r;
  };
  const refused = (r: { status: number | null; stderr: string }, pattern: RegExp) => {
    assert.equal(r.status, 1, r.stderr);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('ec2-provision: error: '));
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, pattern);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    assert.deepEqual(fs.readdirSync(out), [], 'no image, no temporary file');
  };
  refused(build(), /cannot boot on EC2: EC2 boots the disk by itself; add --boot-loader grub/);
  refused(build('--boot-loader', 'grub', '--root', '/dev/vda1'), /root=\/dev\/vda1 names a disk Nitro instances do not have/);
  refused(build('--boot-loader', 'grub'), /datasource_list \[ NoCloud, None \] \(\/etc\/cloud\/cloud\.cfg\.d\/90-datasource\.cfg\) has no Ec2/);
  fs.writeFileSync(path.join(root, 'etc/cloud/cloud.cfg.d/90-datasource.cfg'), 'datasource_list: [ NoCloud, Ec2, None ]\n');
  // NVMe as a module, and an initramfs without it.
  fs.writeFileSync(path.join(root, 'lib/modules', kernel.version, 'modules.builtin'), 'kernel/fs/ext4/ext4.ko\n');
  fs.writeFileSync(path.join(root, 'boot', `initrd.img-${kernel.version}`), gzipSync(Buffer.from('070701 a cpio with ./lib/modules/virtio_blk.ko in it TRAILER!!!')));
  refused(build('--boot-loader', 'grub'), /kernel .* has NVMe as a module \(nvme\.ko\) and its initramfs does not hold it/);
  fs.writeFileSync(path.join(root, 'boot', `initrd.img-${kernel.version}`), Buffer.concat([Buffer.from('070701 early TRAILER!!!'), gzipSync(Buffer.from('070701 ./usr/lib/modules/6.1/kernel/drivers/nvme/host/nvme.ko TRAILER!!!'))]));
  fs.rmSync(path.join(root, 'etc/cloud'), { recursive: true });
  refused(build('--boot-loader', 'grub'), /no cloud-init \(\/etc\/cloud\/cloud\.cfg\)/);
});

function spawnCli(args: string[]): { status: number | null; stderr: string } {
  try {
    execFileSync(process.execPath, [provisionBin, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });
    return { status: 0, stderr: '' };
  } catch (err) {
    const e = err as { status: number | null; stderr?: string };
    return { status: e.status, stderr: e.stderr ?? '' };
  }
}
