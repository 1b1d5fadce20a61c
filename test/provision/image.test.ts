import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { kernelCmdlineParams } from '../../lib/provision/template/placeholders.js';
import { guestKernel, guestRootfs, scratch } from './support/fixture.js';
import { MARKER } from './support/guest.js';
import { cli, debugfs, extractPartition } from './support/inspect.js';
import { bootAndWait } from './support/qemu.js';
import { needTools, rootOnly } from './support/tools.js';

const TOOLS = ['fakeroot', 'tar', 'sfdisk', 'mkfs.ext4', 'qemu-img', 'debugfs', 'apt-get', 'dpkg'];

test('rootfs -> template cache -> qcow2 image -> boots in qemu with the address, netmask, gateway and hostname given at boot', async (t) => {
  if (!needTools(t, [...TOOLS, 'qemu-system-x86_64'])) return;
  const dir = scratch('boot');
  const rootfs = path.join(dir, 'rootfs');
  if (!guestRootfs(t, rootfs)) return;
  const k = guestKernel(t);
  if (!k) return;
  const out = path.join(dir, 'out');
  fs.mkdirSync(out);

  const tpl = cli(['template', 'build', '--rootfs', rootfs, '--name', 'busybox-1-x86_64-guest', '--out', out]);
  assert.equal(tpl.status, 0, tpl.stderr);
  const archive = (JSON.parse(tpl.stdout) as { archive: string }).archive;

  const img = cli(['image', 'build', '--from', archive, '--kernel', k.kernel.vmlinuz, '--initrd', k.initrd, '--size', '64M', '--out', path.join(out, 'guest.qcow2')]);
  assert.equal(img.status, 0, img.stderr);
  const r = JSON.parse(img.stdout) as { image: string; kernel: string; initrd: string; cmdline: string; format: string; sizeBytes: number };
  assert.equal(r.format, 'qcow2');
  assert.equal(r.kernel, path.join(out, 'guest.vmlinuz'));
  assert.ok(fs.readFileSync(r.kernel).equals(fs.readFileSync(k.kernel.vmlinuz)), 'the kernel is kept beside the image');
  assert.ok(fs.readFileSync(r.initrd).equals(fs.readFileSync(k.initrd)), 'the initrd is kept beside the image');
  const info = JSON.parse(execFileSync('qemu-img', ['info', '--output=json', r.image], { encoding: 'utf8' })) as { format: string; 'virtual-size': number };
  assert.equal(info.format, 'qcow2');
  assert.equal(info['virtual-size'], 64 * 1024 * 1024);
  assert.deepEqual(fs.readdirSync(out).sort(), ['busybox-1-x86_64-guest.manifest.json', 'busybox-1-x86_64-guest.tar.gz', 'busybox-1-x86_64-guest.tar.gz.sha256', 'guest.initrd', 'guest.qcow2', 'guest.vmlinuz']);

  const values = { ip: '192.168.77.10', netmask: '255.255.255.192', gateway: '192.168.77.1', hostname: 'web1' };
  const boot = await bootAndWait(t, {
    image: r.image,
    format: 'qcow2',
    kernel: r.kernel,
    initrd: r.initrd,
    append: `${r.cmdline} panic=-1 ${kernelCmdlineParams(values)}`,
    serialLog: path.join(dir, 'serial.log'),
    until: new RegExp(`${MARKER} .*`),
    timeoutMs: 90_000,
  });
  t.diagnostic(`booted with ${boot.accel} in ${boot.ms} ms (boot retries: ${boot.attempts - 1})`);
  assert.equal(boot.match[0].trim(), `${MARKER} host=web1 addr=192.168.77.10/26 gw=192.168.77.1`);
  assert.doesNotMatch(boot.log, /ec2inv: /, 'the placeholder hook reported no error');
});

test('image build from a folder, raw: MBR with one bootable ext4 partition at 1 MiB, sparse, root-owned files, devices kept', async (t) => {
  if (!needTools(t, TOOLS)) return;
  const dir = scratch('raw');
  const rootfs = path.join(dir, 'rootfs');
  if (!guestRootfs(t, rootfs)) return;
  const kernel = path.join(dir, 'vmlinuz');
  fs.writeFileSync(kernel, 'not really a kernel');
  const out = path.join(dir, 'disk.raw');
  const res = cli(['image', 'build', '--from', rootfs, '--kernel', kernel, '--format', 'raw', '--size', '256M', '--out', out]);
  assert.equal(res.status, 0, res.stderr);
  const summary = JSON.parse(res.stdout) as { allocatedBytes: number; partition: { startSector: number; sectors: number } };
  assert.equal(fs.statSync(out).size, 256 * 1024 * 1024);
  assert.ok(fs.statSync(out).blocks * 512 < 64 * 1024 * 1024, `not sparse: ${fs.statSync(out).blocks * 512} bytes allocated`);
  assert.equal(summary.allocatedBytes, fs.statSync(out).blocks * 512);
  assert.ok(!fs.existsSync(path.join(dir, 'disk.initrd')), 'no initrd asked for, none written');

  const table = JSON.parse(execFileSync('sfdisk', ['-J', out], { encoding: 'utf8' })) as {
    partitiontable: { label: string; partitions: { start: number; size: number; type: string; bootable?: boolean }[] };
  };
  assert.equal(table.partitiontable.label, 'dos');
  assert.equal(table.partitiontable.partitions.length, 1);
  const p = table.partitiontable.partitions[0]!;
  assert.deepEqual([p.start, p.type, p.bootable], [2048, '83', true]);
  assert.equal(p.start + p.size, (256 * 1024 * 1024) / 512, 'the partition fills the disk');
  assert.deepEqual([summary.partition.startSector, summary.partition.sectors], [p.start, p.size]);

  const part = extractPartition(out, path.join(dir, 'part.ext4'), p.start);
  execFileSync('e2fsck', ['-fn', part], { stdio: 'ignore' }); // throws on any inconsistency
  const setuid = debugfs(part, 'stat /usr/bin/setuid-tool');
  assert.match(setuid, /Mode:\s+04755/);
  assert.match(setuid, /User:\s+0\s+Group:\s+0/);
  assert.match(debugfs(part, 'cat /etc/network/interfaces'), /address 192\.0\.2\.10/, 'a folder is imaged as it is, without template steps');
  assert.match(debugfs(part, 'stat /run/initctl'), /Type: FIFO/);
  await t.test('device nodes are kept', { skip: rootOnly('a device node in the source tree (mknod)') }, () => {
    assert.match(debugfs(part, 'stat /dev/null'), /Device major\/minor number: 01:03/);
  });
  const readme = debugfs(part, 'stat /usr/share/doc/readme');
  assert.match(readme, /Links: 2/, 'hard links stay hard links');
});
