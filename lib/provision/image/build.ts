import fs from 'node:fs';
import path from 'node:path';
import { ProvisionError, asProvisionError, errnoOf, errnoText } from '../../errors.js';
import { Outputs, withScratch } from '../outputs.js';
import { requireTools, run, runWithStdin } from '../../run.js';
import { tarStream } from '../template/archive.js';
import { checkRootfs } from '../template/build.js';
import { runsAsRoot, withOwners } from './owners.js';
import { OverlayTree } from '../template/tree.js';
import { compareKernelVersions } from '../rootfs/scan.js';
import { BOOT_FILES, GRUB_PC_DIR, bootLoaders, checkRootDevice, embedBootCode, grubConfig, makeCoreImage, requireGrub, stageBootFiles, type BootLoader } from './bootloader.js';
import { checkEc2Options, checkEc2Root, imageTargets, type ImageTarget } from './ec2check.js';
import { BLOCK_SIZE, MiB, PARTITION_OFFSET, filesystemBytes, parseSize, planFilesystem, treeUsage } from './size.js';

export type ImageFormat = 'qcow2' | 'raw';
export const imageFormats: readonly ImageFormat[] = ['qcow2', 'raw'];

export interface ImageBuildOptions {
  /** A root filesystem folder or a template cache (`.tar.gz`, `.tgz`, `.tar.xz`, `.tar.zst`, `.tar`). */
  from: string;
  /** Kernel for the image; default: the root's own newest /boot/vmlinuz-* (and its /boot/initrd.img-*). */
  kernel?: string;
  initrd?: string;
  /** Whole disk size, e.g. `2G` (default). */
  size?: string | number;
  format?: ImageFormat;
  out: string;
  force?: boolean;
  /**
   * `grub`: also make the disk BIOS-bootable (GRUB 2 in the MBR and the gap before the partition,
   * kernel and initrd in /boot), as EC2 and a plain BIOS VM need. Default `none`: direct kernel boot only.
   */
  bootLoader?: BootLoader;
  /** root= on the kernel command line. Default: `/dev/vda1`, or `PARTUUID=ec2e1e01-01` with a boot loader. */
  root?: string;
  /** GRUB's i386-pc files (boot.img, modules); default /usr/lib/grub/i386-pc (Debian's grub-pc-bin). */
  grubDir?: string;
  /** `ec2`: refuse a root that cannot boot as a Nitro instance boots it (see ec2check.ts). Default `kvm`. */
  for?: ImageTarget;
  log?: (message: string) => void;
}

export interface BootLoaderResult {
  type: 'grub';
  /** Where, inside the image's file system, GRUB finds what it boots. */
  kernel: string;
  initrd?: string;
  config: string;
  /** core.img's place on the disk: sector 1 on, in the gap before the partition. */
  coreSectors: number;
  gapSectors: number;
}

export interface ImageBuildResult {
  image: string;
  format: ImageFormat;
  sizeBytes: number;
  partition: { number: 1; startSector: number; sectors: number; fsType: 'ext4'; device: '/dev/vda1' };
  kernel: string;
  initrd?: string;
  /** Kernel command line for a direct kernel boot of this image (and the one grub.cfg boots with); add ec2inv.* values to it. */
  cmdline: string;
  /** True when the disk boots by itself in a BIOS machine (EC2 legacy-bios, a VM without -kernel). */
  biosBootable: boolean;
  bootLoader?: BootLoaderResult;
  /** Bytes the image file takes on disk (it is sparse). */
  allocatedBytes: number;
}

const SECTOR = 512;
/** The MBR disk identifier: fixed, so the image is independent of the run and PARTUUID is known in advance. */
export const DISK_ID = 0xec2e1e01;
/** PARTUUID of the one partition: the MBR disk identifier and the partition number, as Linux names it. */
export const ROOT_PARTUUID = `PARTUUID=${DISK_ID.toString(16).padStart(8, '0')}-01`;

// GNU tar recognises the compression itself when it reads a file, so any of these can be --from.
function isArchive(p: string): boolean {
  return /\.(tar|tar\.gz|tgz|tar\.xz|txz|tar\.bz2|tar\.zst)$/.test(p);
}

function checkReadableFile(p: string, what: string): string {
  const abs = path.resolve(p);
  let st: fs.Stats;
  try {
    st = fs.statSync(abs);
    fs.accessSync(abs, fs.constants.R_OK);
  } catch (err) {
    const code = errnoOf(err) ?? 'ENOENT';
    throw new ProvisionError(`${what} ${p} is not a readable file: ${errnoText(code) ?? code} (${code})`, code, what);
  }
  if (st.isDirectory()) throw new ProvisionError(`${what} ${p} is a folder, not a file`, 'EISDIR');
  if (!st.isFile()) throw new ProvisionError(`${what} ${p} is not a regular file`, 'EINVAL');
  return abs;
}

function isSbinInit(root: string): boolean {
  try {
    fs.lstatSync(path.join(root, 'sbin', 'init'));
    return true;
  } catch {
    return false;
  }
}

/**
 * The root's own newest kernel (`/boot/vmlinuz-VERSION`, a regular file) and the initramfs made for
 * it (`/boot/initrd.img-VERSION`), as Debian's kernel packages and initramfs-tools install them.
 */
export function rootKernel(root: string): { kernel: string; initrd?: string; version: string } | undefined {
  const boot = path.join(root, 'boot');
  let names: string[];
  try {
    names = fs.readdirSync(boot);
  } catch {
    return undefined;
  }
  const versions = names
    .map((n) => /^vmlinuz-(.+)$/.exec(n)?.[1])
    .filter((v): v is string => v !== undefined && fs.lstatSync(path.join(boot, `vmlinuz-${v}`)).isFile())
    .sort(compareKernelVersions);
  const version = versions.at(-1);
  if (version === undefined) return undefined;
  const initrd = path.join(boot, `initrd.img-${version}`);
  const hasInitrd = fs.lstatSync(initrd, { throwIfNoEntry: false })?.isFile() === true;
  return { kernel: path.join(boot, `vmlinuz-${version}`), ...(hasInitrd ? { initrd } : {}), version };
}

/** Where the kernel and initrd go: beside the image, named after it. */
export function imageOutputs(out: string) {
  const abs = path.resolve(out);
  const stem = abs.replace(/\.(qcow2|raw|img)$/, '');
  return { image: abs, kernel: `${stem}.vmlinuz`, initrd: `${stem}.initrd` };
}

async function extractInto(from: string, staging: string, fakerootState: string): Promise<void> {
  // fakeroot records owners and device nodes that an unprivileged tar -x cannot create for real;
  // mkfs.ext4 later runs in the same fakeroot state and writes them into the file system (owners.ts).
  const tar = (file: string) => withOwners({ file: fakerootState, load: false, save: true }, 'tar',
    ['-x', '-p', '--same-owner', '--numeric-owner', '-C', staging, '-f', file]);
  if (isArchive(from)) {
    await run(...tar(from), { label: 'tar' });
  } else {
    const stream = tarStream(new OverlayTree(from), { generatedMtime: 0, ownership: 'map-builder' });
    await runWithStdin(...tar('-'), stream, { label: 'tar' });
  }
}

/** The folder itself is 0:0, so the archive's owner mapping (map-builder) changes no owner in it. */
function ownedByRoot(dir: string): boolean {
  const st = fs.lstatSync(dir);
  return st.uid === 0 && st.gid === 0;
}

/**
 * Builds a partitioned disk image (MBR, one ext4 partition at 1 MiB) from a root filesystem or a
 * template cache, without root, loop devices or mounts, and puts the kernel (and initrd) beside it;
 * with `bootLoader: 'grub'` the disk also boots by itself on a BIOS machine.
 */
export async function buildImage(opts: ImageBuildOptions): Promise<ImageBuildResult> {
  const log = opts.log ?? (() => {});
  const format = opts.format ?? 'qcow2';
  if (!imageFormats.includes(format)) {
    throw new ProvisionError(`unknown image format ${JSON.stringify(format)}: use ${imageFormats.join(' or ')}`, 'EUSAGE', 'format');
  }
  const sizeText = String(opts.size ?? '2G');
  const sizeBytes = parseSize(sizeText);
  if (sizeBytes < PARTITION_OFFSET + 4 * MiB) throw new ProvisionError(`size ${sizeText} is too small for a disk (minimum 5M)`, 'ENOSPC', 'size');
  const from = path.resolve(opts.from);
  if (!fs.existsSync(from)) throw new ProvisionError(`root filesystem ${opts.from} does not exist`, 'ENOENT', 'from');
  if (fs.statSync(from).isDirectory()) checkRootfs(from);
  else if (!isArchive(from)) throw new ProvisionError(`root filesystem ${opts.from} is neither a folder nor a template archive (.tar.gz, .tgz, .tar.xz, .tar.zst, .tar)`, 'EUSAGE', 'from');
  const givenKernel = opts.kernel === undefined ? undefined : checkReadableFile(opts.kernel, 'kernel');
  const givenInitrd = opts.initrd === undefined ? undefined : checkReadableFile(opts.initrd, 'initrd');
  const noKernel = () => new ProvisionError(`${opts.from} has no kernel (/boot/vmlinuz-*) and no kernel was given: give kernel (and initrd)`, 'ENOKERNEL', 'kernel');
  // A folder is checked before the long part; an archive once it is unpacked.
  if (givenKernel === undefined && fs.statSync(from).isDirectory() && rootKernel(from) === undefined) throw noKernel();
  const bootLoader = opts.bootLoader ?? 'none';
  if (!bootLoaders.includes(bootLoader)) {
    throw new ProvisionError(`unknown boot loader ${JSON.stringify(bootLoader)}: use ${bootLoaders.join(' or ')}`, 'EUSAGE', 'bootLoader');
  }
  const grub = bootLoader === 'grub';
  const root = checkRootDevice(opts.root ?? (grub ? ROOT_PARTUUID : '/dev/vda1'));
  const target = opts.for ?? 'kvm';
  if (!imageTargets.includes(target)) throw new ProvisionError(`unknown target ${JSON.stringify(target)}: use ${imageTargets.join(' or ')}`, 'EUSAGE', 'for');
  if (target === 'ec2') checkEc2Options({ bootLoader, root });
  const cmdline = `root=${root} rw console=ttyS0`;
  requireTools([...(runsAsRoot() ? [] : ['fakeroot']), 'tar', 'sfdisk', 'mkfs.ext4', ...(format === 'qcow2' ? ['qemu-img'] : [])]);
  const grubDir = path.resolve(opts.grubDir ?? GRUB_PC_DIR);
  if (grub) requireGrub(grubDir);
  const finals = imageOutputs(opts.out);
  const outDir = path.dirname(finals.image);
  // Whether an initrd comes is known only once the root is unpacked, so its name is always checked.
  const outputs = await Outputs.prepare([finals.image, finals.kernel, finals.initrd], opts.force ?? false);
  try {
    return await withScratch(outDir, async (scratch) => {
      const state = path.join(scratch, 'fakeroot.state');
      // Root reading a root-owned folder, with nothing to add to it: the copy would hold the same
      // owners, modes and device nodes, so mkfs.ext4 -d reads the folder itself (the copy is
      // most of an image build's time: 470 MB written to disk for a Debian root).
      const direct = !grub && runsAsRoot() && fs.statSync(from).isDirectory() && ownedByRoot(from);
      const staging = direct ? from : path.join(scratch, 'root');
      if (!direct) {
        fs.mkdirSync(staging, { mode: 0o755 });
        log(`unpacking ${from}`);
        await extractInto(from, staging, state);
      }
      if (!isSbinInit(staging)) {
        throw new ProvisionError(`${opts.from} has no /sbin/init: not a bootable root filesystem`, 'ENOINIT');
      }
      const own = givenKernel === undefined ? rootKernel(staging) : undefined;
      if (givenKernel === undefined && own === undefined) throw noKernel();
      const kernel = givenKernel ?? own!.kernel;
      const initrd = givenKernel !== undefined ? givenInitrd : givenInitrd ?? own!.initrd;
      if (own) log(`using the root's own kernel ${own.version}${own.initrd ? ' and its initramfs' : ''}`);
      if (target === 'ec2') checkEc2Root(staging, { ...(own ? { version: own.version } : {}), ...(initrd ? { initrd } : {}) });
      if (grub) {
        // Before the size estimate, so the kernel and initrd are counted in it.
        await stageBootFiles(staging, state, { kernel, ...(initrd ? { initrd } : {}), config: grubConfig(cmdline, initrd !== undefined) });
      }

      const fsBytes = filesystemBytes(sizeBytes);
      const plan = planFilesystem(fsBytes, treeUsage(staging), sizeText);
      const raw = format === 'raw' ? outputs.temp(finals.image) : path.join(scratch, 'disk.raw');
      // A truncated file is sparse: only what mkfs writes takes space.
      fs.closeSync(fs.openSync(raw, 'wx', 0o644));
      fs.truncateSync(raw, sizeBytes);

      log(`partitioning ${sizeBytes / MiB} MiB disk`);
      const startSector = PARTITION_OFFSET / SECTOR;
      const sectors = fsBytes / SECTOR;
      // A fixed disk identifier keeps the image independent of the run; the partition is addressed by device name.
      await run('sfdisk', ['--no-reread', '--no-tell-kernel', '-q', raw], {
        input: `label: dos\nlabel-id: 0x${DISK_ID.toString(16)}\nunit: sectors\nstart=${startSector}, size=${sectors}, type=83, bootable\n`,
      });

      log(`writing ext4 file system (${Math.ceil(plan.neededBytes / MiB)} MiB estimated use of ${fsBytes / MiB} MiB)`);
      try {
        await run(...withOwners({ file: state, load: true, save: false }, 'mkfs.ext4', [
          '-q', '-F', '-T', 'default', '-b', String(BLOCK_SIZE), '-N', String(plan.inodes), '-L', 'root',
          // GRUB 2.06 refuses ext4 with the metadata_csum_seed incompat flag, which newer mke2fs.conf turn on.
          ...(grub ? ['-O', '^metadata_csum_seed'] : []),
          '-E', `offset=${PARTITION_OFFSET}`, '-d', staging, raw, `${fsBytes / 1024}k`,
        ]), { label: 'mkfs.ext4' });
      } catch (err) {
        if (err instanceof ProvisionError && /Could not allocate|No space left on device/i.test(err.message)) {
          throw new ProvisionError(`the files do not fit in size ${sizeText}: ${err.message}`, 'ENOSPC', 'size');
        }
        throw err;
      }

      let embedded: ReturnType<typeof embedBootCode> | undefined;
      if (grub) {
        log('installing GRUB (BIOS boot)');
        const core = await makeCoreImage(grubDir, path.join(scratch, 'core.img'));
        embedded = embedBootCode(raw, core, fs.readFileSync(path.join(grubDir, 'boot.img')), startSector - 1);
      }

      if (format === 'qcow2') {
        log('converting to qcow2');
        await run('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'qcow2', raw, outputs.temp(finals.image)]);
      }
      fs.copyFileSync(kernel, outputs.temp(finals.kernel));
      if (initrd) fs.copyFileSync(initrd, outputs.temp(finals.initrd));
      await outputs.commit();
      // An initrd left from an earlier --force build would be taken as this image's by push kvm.
      if (!initrd) fs.rmSync(finals.initrd, { force: true });
      const allocatedBytes = fs.statSync(finals.image).blocks * 512;
      return {
        image: finals.image,
        format,
        sizeBytes,
        partition: { number: 1, startSector, sectors, fsType: 'ext4', device: '/dev/vda1' },
        kernel: finals.kernel,
        ...(initrd ? { initrd: finals.initrd } : {}),
        cmdline,
        biosBootable: embedded !== undefined,
        ...(embedded
          ? {
              bootLoader: {
                type: 'grub' as const,
                kernel: BOOT_FILES.kernel,
                ...(initrd ? { initrd: BOOT_FILES.initrd } : {}),
                config: BOOT_FILES.config,
                coreSectors: embedded.coreSectors,
                gapSectors: embedded.gapSectors,
              },
            }
          : {}),
        allocatedBytes,
      };
    });
  } catch (err) {
    await outputs.discard();
    if (err instanceof ProvisionError && err.code === 'ENOSPC' && !err.message.startsWith('the files do not fit')) {
      throw new ProvisionError(`cannot write in ${outDir}: ${err.message}`, 'ENOSPC');
    }
    throw asProvisionError(err);
  }
}
