// What an image must have to boot the way an EC2 Nitro instance boots it: the disk boots by itself
// (BIOS through GRUB; UEFI is not made here), the root is found on an NVMe disk (Nitro has no
// virtio-blk: /dev/vda does not exist there), the kernel can drive NVMe before the root is
// mounted, and cloud-init reads the EC2 metadata service (hostname, keys, user-data).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { ProvisionError } from '../../errors.js';

export const imageTargets = ['kvm', 'ec2'] as const;
export type ImageTarget = (typeof imageTargets)[number];

function refuse(why: string): never {
  throw new ProvisionError(`this root cannot boot on EC2: ${why}`, 'EEC2BOOT', 'for');
}

/** Checked before the root is read: the options themselves. */
export function checkEc2Options(o: { bootLoader: string; root: string }): void {
  if (o.bootLoader !== 'grub') refuse('EC2 boots the disk by itself; add --boot-loader grub');
  if (/^\/dev\/(vd|xvd|sd|hd)[a-z]/.test(o.root)) refuse(`root=${o.root} names a disk Nitro instances do not have (their root disk is NVMe, /dev/nvme0n1p1): leave --root to its default PARTUUID`);
}

const compressors: [Buffer, string[]][] = [
  [Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), ['zstd', '-dcq']],
  [Buffer.from([0x1f, 0x8b, 0x08]), ['gzip', '-dc']],
  [Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), ['xz', '-dc']],
  [Buffer.from([0x02, 0x21, 0x4c, 0x18]), ['lz4', '-dc']],
];

/**
 * Whether an initramfs holds the NVMe driver. Debian's is an uncompressed early archive (CPU
 * microcode) followed by the compressed main one: the names are searched in the uncompressed part,
 * then in the decompressed rest (from the first compressor magic after the early archive's end).
 */
export function initrdHasModule(initrd: string, module: string): boolean {
  const bytes = fs.readFileSync(initrd);
  const wanted = `/${module}.ko`;
  if (bytes.includes(wanted)) return true;
  const trailer = bytes.lastIndexOf('TRAILER!!!');
  const from = trailer === -1 ? 0 : trailer;
  const starts = compressors
    .map(([magic, cmd]) => ({ at: bytes.indexOf(magic, from), cmd }))
    .filter((c) => c.at !== -1)
    .sort((a, b) => a.at - b.at);
  const first = starts[0];
  if (!first) return false;
  const r = spawnSync(first.cmd[0]!, first.cmd.slice(1), { input: bytes.subarray(first.at), maxBuffer: 1 << 30, timeout: 120_000 });
  if (r.error) throw new ProvisionError(`cannot read ${initrd}: ${first.cmd[0]} ${(r.error as NodeJS.ErrnoException).code ?? r.error.message}`, 'EREAD');
  // A trailing archive (or padding) after the main one makes the tool complain; what it decoded still counts.
  return r.stdout.includes(wanted);
}

/** The kernel drives NVMe without loading a module: modules.builtin says so. */
function nvmeBuiltIn(root: string, version: string): boolean | undefined {
  for (const dir of ['lib/modules', 'usr/lib/modules']) {
    const f = path.join(root, dir, version, 'modules.builtin');
    if (fs.existsSync(f)) return /\/nvme\.ko$/m.test(fs.readFileSync(f, 'utf8'));
  }
  return undefined;
}

/** cloud-init's datasource_list as the root configures it: cloud.cfg, then cloud.cfg.d/*.cfg in name order. */
export function datasourceList(root: string): { list: string[] | undefined; from: string } | undefined {
  const base = path.join(root, 'etc/cloud/cloud.cfg');
  if (!fs.existsSync(base)) return undefined;
  let list: string[] | undefined;
  let from = '/etc/cloud/cloud.cfg';
  const dir = path.join(root, 'etc/cloud/cloud.cfg.d');
  const parts = [base, ...(fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => n.endsWith('.cfg')).sort().map((n) => path.join(dir, n)) : [])];
  for (const p of parts) {
    let doc: unknown;
    try {
      doc = YAML.parse(fs.readFileSync(p, 'utf8'));
    } catch {
      continue; // cloud-init skips a file it cannot parse, and so does this check
    }
    const v = (doc as { datasource_list?: unknown } | null)?.datasource_list;
    if (Array.isArray(v)) {
      list = v.map(String);
      from = '/' + path.relative(root, p);
    }
  }
  return { list, from };
}

/** Checked on the unpacked root: the kernel reaches an NVMe root, and cloud-init reads EC2's metadata. */
export function checkEc2Root(root: string, kernel: { version?: string; initrd?: string }): void {
  if (kernel.version !== undefined) {
    const builtIn = nvmeBuiltIn(root, kernel.version);
    if (builtIn === false && (kernel.initrd === undefined || !initrdHasModule(kernel.initrd, 'nvme'))) {
      refuse(`kernel ${kernel.version} has NVMe as a module (nvme.ko) and ${kernel.initrd === undefined ? 'no initramfs' : 'its initramfs does not hold it'}: the root disk on Nitro is NVMe (add nvme to /etc/initramfs-tools/modules and update-initramfs, or use linux-image-cloud-amd64)`);
    }
  }
  const ds = datasourceList(root);
  if (ds === undefined) refuse('no cloud-init (/etc/cloud/cloud.cfg): EC2 gives the hostname, SSH key and user-data through its metadata service, which cloud-init reads');
  if (ds.list !== undefined && !ds.list.includes('Ec2')) {
    refuse(`cloud-init's datasource_list [ ${ds.list.join(', ')} ] (${ds.from}) has no Ec2: build the root with rootfs build --for ec2`);
  }
}
