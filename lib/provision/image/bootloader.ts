import fs from 'node:fs';
import path from 'node:path';
import { ProvisionError } from '../../errors.js';
import { requireTools, run } from '../../run.js';
import { withOwners } from './owners.js';

// Makes a disk image BIOS-bootable with GRUB 2 the way grub-install + grub-bios-setup would
// (util/setup.c, embedding without Reed-Solomon codes, as `grub-bios-setup --no-rs-codes`), but on
// a plain file: no root, no loop device, no mount, no device probing.

export type BootLoader = 'none' | 'grub';
export const bootLoaders: readonly BootLoader[] = ['none', 'grub'];

/** Debian's grub-pc-bin puts GRUB's i386-pc images and modules here. */
export const GRUB_PC_DIR = '/usr/lib/grub/i386-pc';

/** Where the kernel, initrd and configuration go inside the root file system. */
export const BOOT_FILES = { kernel: '/boot/vmlinuz', initrd: '/boot/initrd.img', config: '/boot/grub/grub.cfg' } as const;

// Enough to read the first MBR partition's ext4 and boot Linux from a menu entry: normal brings
// boot and terminal with it; serial puts GRUB's own messages on ttyS0, which is what EC2's
// console shows. Everything is embedded, so nothing is loaded from /boot/grub/i386-pc at boot.
export const GRUB_MODULES: readonly string[] = ['biosdisk', 'part_msdos', 'ext2', 'linux', 'normal', 'serial'];

// The partition on the BIOS boot drive, whatever number the BIOS gives that drive (kern/main.c
// fills the drive in front of a prefix device that starts with a comma).
const PREFIX = '(,msdos1)/boot/grub';

const SECTOR = 512;
// Offsets in boot.img (include/grub/i386/pc/boot.h).
const BPB_START = 0x3;
const BPB_END = 0x5a;
const KERNEL_SECTOR = 0x5c;
const BOOT_DRIVE = 0x64;
const DRIVE_CHECK = 0x66;
const WINDOWS_NT_MAGIC = 0x1b8; // disk signature, then the partition table up to 0x1fe
const PART_END = 0x1fe;
// struct grub_pc_bios_boot_blocklist { u64 start; u16 len; u16 segment; } packed, at the end of
// core.img's first sector (diskboot.img), the next ones growing downwards; len 0 ends the list.
const BLOCKLIST_SIZE = 12;
const FIRST_BLOCKLIST = SECTOR - BLOCKLIST_SIZE;
/** 0x800 (GRUB_BOOT_I386_PC_KERNEL_SEG) + one sector: where diskboot loads the rest of core.img. */
const FIRST_SEGMENT = 0x820;
// The core image is loaded below 0x78000 from GRUB_KERNEL_I386_PC_LINK_ADDR (0x9000): setup.c's maxsec.
export const MAX_CORE_SECTORS = (0x78000 - 0x9000) / SECTOR;
// Offset, in core.img's second sector, of the field mkimage sets to 0xffff on a mismatched version.
const NO_REED_SOLOMON_LENGTH = SECTOR + 0x14;

const GRUB_FILES = ['boot.img', 'diskboot.img', 'kernel.img', 'moddep.lst', ...GRUB_MODULES.map((m) => `${m}.mod`)];

/**
 * Fails before any work when grub-mkimage or GRUB's i386-pc files are missing, naming the
 * Debian package, like requireTools does for the other tools.
 */
export function requireGrub(grubDir: string, envPath?: string): void {
  requireTools(['grub-mkimage'], envPath);
  const missing = GRUB_FILES.filter((f) => !fs.existsSync(path.join(grubDir, f)));
  if (missing.length > 0) {
    throw new ProvisionError(
      `GRUB's i386-pc files are missing from ${grubDir} (${missing.join(', ')}): apt-get install grub-pc-bin`,
      'ETOOLMISSING',
    );
  }
}

/**
 * Kernel command-line values go into grub.cfg, which GRUB parses as a script: only characters
 * that need no quoting there (or in libvirt XML, or a shell) are accepted.
 */
export function checkRootDevice(root: string): string {
  if (!/^[A-Za-z0-9/_.:=+-]+$/.test(root)) {
    throw new ProvisionError(`root ${JSON.stringify(root)}: use a device such as /dev/nvme0n1p1 or PARTUUID=... (letters, digits and / _ . : = + - only)`, 'EUSAGE', 'root');
  }
  return root;
}

/** grub.cfg: boot the one entry at once, with GRUB's messages on the serial console too. */
export function grubConfig(cmdline: string, withInitrd: boolean): string {
  return [
    '# Written by ec2-provision image build: boots /boot/vmlinuz at once.',
    'set timeout=0',
    'set default=0',
    'serial --unit=0 --speed=115200',
    'terminal_input serial console',
    'terminal_output serial console',
    "menuentry 'Linux' {",
    `  linux ${BOOT_FILES.kernel} ${cmdline}`,
    ...(withInitrd ? [`  initrd ${BOOT_FILES.initrd}`] : []),
    '}',
    '',
  ].join('\n');
}

/** The folder `rel` of the tree, made when missing; returns it when it was made (it needs an owner). */
function realDir(root: string, rel: string): string[] {
  const abs = path.join(root, rel);
  const st = fs.lstatSync(abs, { throwIfNoEntry: false });
  if (!st) {
    fs.mkdirSync(abs, { mode: 0o755 });
    fs.chmodSync(abs, 0o755);
    return [abs];
  }
  // A link could point out of the staging tree (an absolute /boot -> /mnt/boot): never write through it.
  if (!st.isDirectory()) throw new ProvisionError(`/${rel} in the root file system is not a folder (${st.isSymbolicLink() ? 'a symlink' : 'a file'}): the boot loader needs a real /${rel}`, 'ENOTDIR');
  return [];
}

/**
 * Puts the kernel, initrd and grub.cfg into the unpacked tree, owned by root (for an unprivileged
 * user in fakeroot's state: the tree was unpacked under it, and mkfs.ext4 reads the owners from it).
 */
export async function stageBootFiles(
  staging: string,
  fakerootState: string,
  files: { kernel: string; initrd?: string; config: string },
): Promise<void> {
  const made = [...realDir(staging, 'boot'), ...realDir(staging, 'boot/grub')];
  const targets: [string, (p: string) => void][] = [
    [BOOT_FILES.kernel, (p) => fs.copyFileSync(files.kernel, p)],
    ...(files.initrd ? [[BOOT_FILES.initrd, (p: string) => fs.copyFileSync(files.initrd!, p)] as [string, (p: string) => void]] : []),
    [BOOT_FILES.config, (p) => fs.writeFileSync(p, files.config)],
  ];
  const existing: string[] = [];
  for (const [rel] of targets) {
    const abs = path.join(staging, rel);
    const st = fs.lstatSync(abs, { throwIfNoEntry: false });
    if (st?.isDirectory()) throw new ProvisionError(`${rel} in the root file system is a folder: the boot loader needs to put a file there`, 'EISDIR');
    if (st) existing.push(abs);
  }
  // Removed under fakeroot, so its record of the old entry goes too: a new file given the freed
  // inode number would otherwise take the old owner and type (a symlink that cannot be read).
  // Unlinked, never written through: a link there may point out of the tree or to another file.
  if (existing.length > 0) await run(...withOwners({ file: fakerootState, load: true, save: true }, 'rm', ['-f', '--', ...existing]), { label: 'rm' });
  const written = [...made];
  for (const [rel, write] of targets) {
    const abs = path.join(staging, rel);
    write(abs);
    fs.chmodSync(abs, 0o644);
    written.push(abs);
  }
  await run(...withOwners({ file: fakerootState, load: true, save: true }, 'chown', ['-h', '0:0', '--', ...written]), { label: 'chown' });
}

/** Runs grub-mkimage for an i386-pc core image (diskboot.img + kernel + modules) and returns it. */
export async function makeCoreImage(grubDir: string, out: string): Promise<Buffer> {
  await run('grub-mkimage', ['-d', grubDir, '-O', 'i386-pc', '-o', out, '-p', PREFIX, ...GRUB_MODULES]);
  return fs.readFileSync(out);
}

export interface EmbeddedCore {
  /** First sector of core.img on the disk. */
  firstSector: number;
  coreSectors: number;
  /** Sectors between the MBR and the first partition. */
  gapSectors: number;
}

/**
 * Writes core.img into the gap after the MBR (sector 1 on) and boot.img into the MBR's boot code,
 * keeping the disk signature and partition table: what grub-bios-setup does for an MBR disk.
 */
export function embedBootCode(disk: string, core: Buffer, bootImg: Buffer, gapSectors: number): EmbeddedCore {
  if (bootImg.length !== SECTOR) throw new ProvisionError(`GRUB's boot.img is ${bootImg.length} bytes, not ${SECTOR}`, 'ETOOLFAILED');
  if (core.length < 2 * SECTOR) throw new ProvisionError(`the GRUB core image is too small (${core.length} bytes)`, 'ETOOLFAILED');
  const coreSectors = Math.ceil(core.length / SECTOR);
  const limit = Math.min(gapSectors, MAX_CORE_SECTORS);
  if (coreSectors > limit) {
    const where = gapSectors <= MAX_CORE_SECTORS ? `the ${gapSectors} sectors between the MBR and the first partition` : `the ${MAX_CORE_SECTORS} sectors GRUB can load`;
    throw new ProvisionError(`the GRUB core image (${coreSectors} sectors, ${core.length} bytes) does not fit in ${where}`, 'ENOSPC');
  }
  const firstSector = 1;
  const img = Buffer.alloc(coreSectors * SECTOR);
  core.copy(img);
  if (img.readUInt16LE(NO_REED_SOLOMON_LENGTH) === 0xffff) throw new ProvisionError('core.img version mismatch: grub-mkimage and the GRUB files differ', 'ETOOLFAILED');
  // mkimage has set the length (sectors after the first) and the segment; the start is ours to set.
  const len = img.readUInt16LE(FIRST_BLOCKLIST + 8);
  const segment = img.readUInt16LE(FIRST_BLOCKLIST + 10);
  if (len !== coreSectors - 1 || segment !== FIRST_SEGMENT) {
    throw new ProvisionError(`unexpected core.img blocklist (len ${len}, segment 0x${segment.toString(16)}; expected ${coreSectors - 1}, 0x${FIRST_SEGMENT.toString(16)})`, 'ETOOLFAILED');
  }
  // One contiguous run right after diskboot.img, then a terminator (len 0).
  img.writeBigUInt64LE(BigInt(firstSector + 1), FIRST_BLOCKLIST);
  img.fill(0, FIRST_BLOCKLIST - BLOCKLIST_SIZE, FIRST_BLOCKLIST);

  const fd = fs.openSync(disk, 'r+');
  try {
    const mbr = Buffer.alloc(SECTOR);
    fs.readSync(fd, mbr, 0, SECTOR, 0);
    const boot = Buffer.from(bootImg);
    mbr.copy(boot, BPB_START, BPB_START, BPB_END); // a possible DOS BPB, as setup.c keeps it
    mbr.copy(boot, WINDOWS_NT_MAGIC, WINDOWS_NT_MAGIC, PART_END); // disk signature and partition table
    boot.writeBigUInt64LE(BigInt(firstSector), KERNEL_SECTOR);
    boot[BOOT_DRIVE] = 0xff; // use the drive the BIOS booted from (DL)
    // A hard disk: nop out the jump over the check that works around BIOSes passing 0x00 for 0x80.
    boot[DRIVE_CHECK] = 0x90;
    boot[DRIVE_CHECK + 1] = 0x90;
    fs.writeSync(fd, img, 0, img.length, firstSector * SECTOR);
    fs.writeSync(fd, boot, 0, SECTOR, 0);
  } finally {
    fs.closeSync(fd);
  }
  return { firstSector, coreSectors, gapSectors };
}
