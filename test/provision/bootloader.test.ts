import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ProvisionError, buildImage } from '../../lib/index.js';
import { GRUB_PC_DIR, MAX_CORE_SECTORS, embedBootCode } from '../../lib/provision/image/bootloader.js';
import { guestKernel, guestRootfs, scratch } from './support/fixture.js';
import { MARKER } from './support/guest.js';
import { cli, debugfs, extractPartition } from './support/inspect.js';
import { bootAndWait } from './support/qemu.js';
import { needTools } from './support/tools.js';

const TOOLS = ['fakeroot', 'tar', 'sfdisk', 'mkfs.ext4', 'qemu-img', 'debugfs', 'dumpe2fs', 'e2fsck', 'grub-mkimage', 'apt-get', 'dpkg'];
const SECTOR = 512;

function readSectors(file: string, first: number, count: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const b = Buffer.alloc(count * SECTOR);
    fs.readSync(fd, b, 0, b.length, first * SECTOR);
    return b;
  } finally {
    fs.closeSync(fd);
  }
}

interface Summary {
  image: string;
  cmdline: string;
  biosBootable: boolean;
  kernel: string;
  bootLoader?: { type: string; kernel: string; initrd?: string; config: string; coreSectors: number; gapSectors: number };
  partition: { startSector: number; sectors: number };
}

test('--boot-loader grub, qcow2, no initramfs: boots from the disk alone (BIOS, no -kernel) on an NVMe disk with the default root=PARTUUID', async (t) => {
  if (!needTools(t, [...TOOLS, 'qemu-system-x86_64'])) return;
  const dir = scratch('grub-nvme');
  const rootfs = path.join(dir, 'rootfs');
  if (!guestRootfs(t, rootfs)) return;
  const k = guestKernel(t);
  if (!k) return;
  // Debian's cloud kernel has NVMe and ext4 built in and resolves PARTUUID= itself: EC2 Nitro's case.
  const res = cli(['image', 'build', '--from', rootfs, '--kernel', k.kernel.vmlinuz, '--size', '64M', '--boot-loader', 'grub', '--out', path.join(dir, 'nitro.qcow2')]);
  assert.equal(res.status, 0, res.stderr);
  const r = JSON.parse(res.stdout) as Summary;
  assert.equal(r.biosBootable, true);
  assert.equal(r.cmdline, 'root=PARTUUID=ec2e1e01-01 rw console=ttyS0');
  assert.deepEqual(r.bootLoader && { ...r.bootLoader, coreSectors: 0 }, { type: 'grub', kernel: '/boot/vmlinuz', config: '/boot/grub/grub.cfg', coreSectors: 0, gapSectors: 2047 });
  assert.ok(fs.existsSync(r.kernel), 'the kernel is still kept beside the image for direct kernel boot');

  const boot = await bootAndWait(t, {
    image: r.image,
    format: 'qcow2',
    disk: 'nvme',
    serialLog: path.join(dir, 'serial.log'),
    until: new RegExp(`${MARKER} .*`),
    timeoutMs: 90_000,
  });
  t.diagnostic(`BIOS boot to userspace with ${boot.accel} in ${boot.ms} ms (boot retries: ${boot.attempts - 1})`);
  assert.match(boot.log, /Booting `Linux'/, "GRUB ran the image's menu entry");
  assert.match(boot.log, /Command line: BOOT_IMAGE=\/boot\/vmlinuz root=PARTUUID=ec2e1e01-01 rw console=ttyS0/);
  assert.match(boot.log, /EXT4-fs \(nvme0n1p1\): mounted/);
});

test('--boot-loader grub with an initrd and --root /dev/vda1, raw: GRUB in the MBR and the gap, partition table kept, files in /boot; boots on virtio', async (t) => {
  if (!needTools(t, [...TOOLS, 'qemu-system-x86_64'])) return;
  const dir = scratch('grub-virtio');
  const rootfs = path.join(dir, 'rootfs');
  if (!guestRootfs(t, rootfs)) return;
  const k = guestKernel(t);
  if (!k) return;
  // A rootfs that already has a /boot/vmlinuz, linked to another file: replaced in the image, neither written through.
  fs.mkdirSync(path.join(rootfs, 'boot'));
  fs.writeFileSync(path.join(rootfs, 'etc', 'keep'), 'keep\n');
  fs.symlinkSync('../etc/keep', path.join(rootfs, 'boot', 'vmlinuz'));

  const plain = cli(['image', 'build', '--from', rootfs, '--kernel', k.kernel.vmlinuz, '--format', 'raw', '--size', '64M', '--out', path.join(dir, 'plain.raw')]);
  assert.equal(plain.status, 0, plain.stderr);
  assert.equal((JSON.parse(plain.stdout) as Summary).biosBootable, false, 'no boot loader unless asked');
  assert.equal((JSON.parse(plain.stdout) as Summary).cmdline, 'root=/dev/vda1 rw console=ttyS0', 'the default stays as it was');
  assert.ok(readSectors(path.join(dir, 'plain.raw'), 0, 1).subarray(0, 440).equals(Buffer.alloc(440)), 'no boot code by default');

  const out = path.join(dir, 'disk.raw');
  const res = cli(['image', 'build', '--from', rootfs, '--kernel', k.kernel.vmlinuz, '--initrd', k.initrd, '--format', 'raw', '--size', '64M', '--boot-loader', 'grub', '--root', '/dev/vda1', '--out', out]);
  assert.equal(res.status, 0, res.stderr);
  const r = JSON.parse(res.stdout) as Summary;
  assert.equal(r.cmdline, 'root=/dev/vda1 rw console=ttyS0');
  assert.equal(r.bootLoader?.initrd, '/boot/initrd.img');
  assert.equal(fs.readFileSync(path.join(rootfs, 'etc', 'keep'), 'utf8'), 'keep\n', 'the source tree is untouched');

  // The MBR: GRUB's boot code, the disk signature and partition table sfdisk wrote, the 0x55AA.
  const bootImg = fs.readFileSync(path.join(GRUB_PC_DIR, 'boot.img'));
  const mbr = readSectors(out, 0, 1);
  const plainMbr = readSectors(path.join(dir, 'plain.raw'), 0, 1);
  assert.ok(mbr.subarray(0x1b8).equals(plainMbr.subarray(0x1b8)), 'disk signature, partition table and boot signature kept');
  assert.equal(mbr.readUInt32LE(0x1b8), 0xec2e1e01);
  assert.ok(mbr.subarray(0, 0x03).equals(bootImg.subarray(0, 0x03)) && mbr[0x65] === bootImg[0x65] && mbr.subarray(0x68, 0x1b8).equals(bootImg.subarray(0x68, 0x1b8)), "boot.img's code");
  assert.equal(mbr.readBigUInt64LE(0x5c), 1n, 'boot.img loads core.img from sector 1');
  assert.equal(mbr[0x64], 0xff, 'from the drive the BIOS booted');
  assert.deepEqual([...mbr.subarray(0x66, 0x68)], [0x90, 0x90], 'hard-disk drive check as grub-bios-setup sets it');
  const table = JSON.parse(execFileSync('sfdisk', ['-J', out], { encoding: 'utf8' })) as { partitiontable: { partitions: { start: number; type: string; bootable?: boolean }[] } };
  assert.deepEqual(table.partitiontable.partitions.map((p) => [p.start, p.type, p.bootable]), [[2048, '83', true]]);

  // core.img in the gap: diskboot.img's blocklist reads the rest, contiguously, then a terminator.
  const sectors = r.bootLoader!.coreSectors;
  assert.ok(sectors > 1 && sectors <= MAX_CORE_SECTORS, `core.img is ${sectors} sectors`);
  const first = readSectors(out, 1, 1);
  assert.equal(first.readBigUInt64LE(SECTOR - 12), 2n);
  assert.equal(first.readUInt16LE(SECTOR - 4), sectors - 1);
  assert.equal(first.readUInt16LE(SECTOR - 2), 0x820);
  assert.ok(first.subarray(SECTOR - 24, SECTOR - 12).equals(Buffer.alloc(12)), 'terminator');
  assert.ok(!readSectors(out, sectors, 1).equals(Buffer.alloc(SECTOR)), 'the last core sector is written');
  assert.ok(readSectors(out, sectors + 1, 2047 - sectors).equals(Buffer.alloc((2047 - sectors) * SECTOR)), 'nothing past core.img in the gap');

  // The file system: kernel, initrd and grub.cfg in /boot, root-owned; an ext4 GRUB 2.06 reads.
  const part = extractPartition(out, path.join(dir, 'part.ext4'));
  execFileSync('e2fsck', ['-fn', part], { stdio: 'ignore' });
  assert.doesNotMatch(execFileSync('dumpe2fs', ['-h', part], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }), /metadata_csum_seed/);
  const cfg = debugfs(part, 'cat /boot/grub/grub.cfg');
  assert.match(cfg, /^set timeout=0$/m);
  assert.match(cfg, /^ {2}linux \/boot\/vmlinuz root=\/dev\/vda1 rw console=ttyS0$/m);
  assert.match(cfg, /^ {2}initrd \/boot\/initrd\.img$/m);
  for (const [file, source] of [['/boot/vmlinuz', k.kernel.vmlinuz], ['/boot/initrd.img', k.initrd]] as const) {
    const dumped = path.join(dir, path.basename(file));
    debugfs(part, `dump ${file} ${dumped}`);
    assert.ok(fs.readFileSync(dumped).equals(fs.readFileSync(source)), `${file} is the given file`);
    assert.match(debugfs(part, `stat ${file}`), /Type: regular\s+Mode:\s+0644/);
    assert.match(debugfs(part, `stat ${file}`), /User:\s+0\s+Group:\s+0/);
  }
  assert.match(debugfs(part, 'stat /boot/grub'), /User:\s+0\s+Group:\s+0/);
  assert.equal(debugfs(part, 'cat /etc/keep'), 'keep\n');

  const boot = await bootAndWait(t, {
    image: out,
    format: 'raw',
    serialLog: path.join(dir, 'serial.log'),
    until: new RegExp(`${MARKER} .*`),
    timeoutMs: 90_000,
  });
  t.diagnostic(`BIOS boot to userspace with ${boot.accel} in ${boot.ms} ms (boot retries: ${boot.attempts - 1})`);
  assert.match(boot.log, /Booting `Linux'/);
  assert.match(boot.log, /EXT4-fs \(vda1\): mounted/);
  assert.equal(boot.match[0].trim(), `${MARKER} host=(none) addr=192.0.2.10/24 gw=192.0.2.1`, 'the initramfs from /boot loaded virtio_net');
});

test('--boot-loader grub refuses, before any output, when grub-mkimage or the GRUB files are missing, and a bad --root', async (t) => {
  if (!needTools(t, ['fakeroot', 'tar', 'sfdisk', 'mkfs.ext4', 'grub-mkimage'])) return;
  const dir = scratch('grub-refuse');
  const rootfs = path.join(dir, 'rootfs');
  fs.mkdirSync(path.join(rootfs, 'sbin'), { recursive: true });
  fs.writeFileSync(path.join(rootfs, 'sbin', 'init'), '#!/bin/sh\n', { mode: 0o755 });
  const kernel = path.join(dir, 'vmlinuz');
  fs.writeFileSync(kernel, 'kernel');
  const base = ['image', 'build', '--from', rootfs, '--kernel', kernel, '--format', 'raw', '--size', '16M', '--boot-loader', 'grub'];
  const outDir = path.join(dir, 'out');
  fs.mkdirSync(outDir);

  const empty = path.join(dir, 'no-grub');
  fs.mkdirSync(empty);
  const noFiles = cli([...base, '--grub-dir', empty, '--out', path.join(outDir, 'a.raw')]);
  assert.equal(noFiles.status, 1);
  assert.match(noFiles.stderr, new RegExp(`GRUB's i386-pc files are missing from ${empty} \\(boot\\.img, diskboot\\.img, kernel\\.img, .*\\): apt-get install grub-pc-bin`));

  // A PATH with every tool but grub-mkimage.
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  for (const tool of ['fakeroot', 'tar', 'sfdisk', 'mkfs.ext4', 'qemu-img']) {
    const real = execFileSync('sh', ['-c', 'command -v "$1"', 'sh', tool], { encoding: 'utf8' }).trim();
    if (real) fs.symlinkSync(real, path.join(bin, tool));
  }
  const noTool = cli([...base, '--out', path.join(outDir, 'b.raw')], { env: { ...process.env, PATH: bin } });
  assert.equal(noTool.status, 1);
  assert.match(noTool.stderr, /grub-mkimage not found: apt-get install grub-common/);

  const badRoot = cli([...base, '--root', '/dev/vda1 init=/bin/sh;x', '--out', path.join(outDir, 'c.raw')]);
  assert.equal(badRoot.status, 1, 'a malformed --root is a refused value (exit 1, as docs/cli.md says)');
  assert.match(badRoot.stderr, /--root: "\/dev\/vda1 init=\/bin\/sh;x"/);

  await assert.rejects(buildImage({ from: rootfs, kernel, out: path.join(outDir, 'd.raw'), bootLoader: 'lilo' as 'grub' }), (e: unknown) => e instanceof ProvisionError && e.code === 'EUSAGE' && e.message === 'unknown boot loader "lilo": use none or grub');
  await assert.rejects(
    buildImage({ from: rootfs, kernel, out: path.join(outDir, 'e.raw'), format: 'raw', size: '16M', bootLoader: 'grub', grubDir: empty }),
    (e: unknown) => e instanceof ProvisionError && e.code === 'ETOOLMISSING' && /grub-pc-bin/.test(e.message),
  );
  // A /boot that is a link out of the tree is never written through.
  const outside = path.join(dir, 'outside');
  fs.mkdirSync(outside);
  fs.symlinkSync(outside, path.join(rootfs, 'boot'));
  const linked = cli([...base, '--out', path.join(outDir, 'f.raw')]);
  assert.equal(linked.status, 1);
  assert.match(linked.stderr, /\/boot in the root file system is not a folder \(a symlink\)/);
  assert.deepEqual(fs.readdirSync(outside), []);
  assert.deepEqual(fs.readdirSync(outDir), [], 'nothing written, not even temporary files');
});

test('a core image that does not fit before the first partition is refused and the disk left as it was', async (t) => {
  if (!needTools(t, ['grub-mkimage', 'sfdisk'])) return;
  const dir = scratch('grub-fit');
  const core = path.join(dir, 'core.img');
  execFileSync('grub-mkimage', ['-d', GRUB_PC_DIR, '-O', 'i386-pc', '-o', core, '-p', '(,msdos1)/boot/grub', 'biosdisk', 'part_msdos', 'ext2', 'linux', 'normal', 'serial']);
  const coreImg = fs.readFileSync(core);
  const coreSectors = Math.ceil(coreImg.length / SECTOR);
  const disk = path.join(dir, 'disk.raw');
  fs.writeFileSync(disk, Buffer.alloc(0));
  fs.truncateSync(disk, 8 * 1024 * 1024);
  // A partition that starts right after a gap one sector too small for this core image.
  execFileSync('sfdisk', ['--no-reread', '--no-tell-kernel', '-q', disk], { input: `label: dos\nlabel-id: 0xec2e1e01\nunit: sectors\nstart=${coreSectors}, type=83\n` });
  const before = fs.readFileSync(disk);
  const bootImg = fs.readFileSync(path.join(GRUB_PC_DIR, 'boot.img'));
  assert.throws(
    () => embedBootCode(disk, coreImg, bootImg, coreSectors - 1),
    (e: unknown) => e instanceof ProvisionError && e.code === 'ENOSPC' && new RegExp(`\\(${coreSectors} sectors, \\d+ bytes\\) does not fit in the ${coreSectors - 1} sectors between the MBR and the first partition`).test(e.message),
  );
  // Beyond what diskboot.img can load below 0x78000, even when the gap is large.
  const huge = Buffer.concat([coreImg, Buffer.alloc(MAX_CORE_SECTORS * SECTOR)]);
  assert.throws(() => embedBootCode(disk, huge, bootImg, 2047), (e: unknown) => e instanceof ProvisionError && e.code === 'ENOSPC' && /the 888 sectors GRUB can load/.test(e.message));
  assert.ok(fs.readFileSync(disk).equals(before), 'the disk is untouched');
  // One sector more and it fits.
  assert.equal(embedBootCode(disk, coreImg, bootImg, coreSectors).coreSectors, coreSectors);
});
