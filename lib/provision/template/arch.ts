// The architecture of a root filesystem, told by the ELF header of its init (what the kernel will
// run), and the name each packaging gives it: Debian's for Proxmox templates, the kernel's for
// Incus, Go's for OCI. A format with no name for it cannot carry the root.
import { ProvisionError } from '../../errors.js';
import type { OverlayTree } from './tree.js';

export interface Arch {
  /** uname -m, the name Incus uses. */
  kernel: string;
  /** Debian's (dpkg --print-architecture), the one Proxmox template names carry. */
  dpkg: string;
  /** Incus/LXD architecture name (lxc/incus shared/osarch). */
  incus?: string;
  /** OCI image config `architecture` and `variant` (Go's GOARCH/GOARM). */
  oci?: { architecture: string; variant?: string };
  elf: { machine: number; bits: 32 | 64; littleEndian: boolean; hardFloat?: boolean };
}

export const knownArchitectures: readonly Arch[] = [
  { kernel: 'x86_64', dpkg: 'amd64', incus: 'x86_64', oci: { architecture: 'amd64' }, elf: { machine: 62, bits: 64, littleEndian: true } },
  { kernel: 'aarch64', dpkg: 'arm64', incus: 'aarch64', oci: { architecture: 'arm64', variant: 'v8' }, elf: { machine: 183, bits: 64, littleEndian: true } },
  { kernel: 'i686', dpkg: 'i386', incus: 'i686', oci: { architecture: '386' }, elf: { machine: 3, bits: 32, littleEndian: true } },
  { kernel: 'armv7l', dpkg: 'armhf', incus: 'armv7l', oci: { architecture: 'arm', variant: 'v7' }, elf: { machine: 40, bits: 32, littleEndian: true, hardFloat: true } },
  { kernel: 'armv5tel', dpkg: 'armel', oci: { architecture: 'arm', variant: 'v5' }, elf: { machine: 40, bits: 32, littleEndian: true, hardFloat: false } },
  { kernel: 'ppc64le', dpkg: 'ppc64el', incus: 'ppc64le', oci: { architecture: 'ppc64le' }, elf: { machine: 21, bits: 64, littleEndian: true } },
  { kernel: 'ppc64', dpkg: 'ppc64', incus: 'ppc64', oci: { architecture: 'ppc64' }, elf: { machine: 21, bits: 64, littleEndian: false } },
  { kernel: 's390x', dpkg: 's390x', incus: 's390x', oci: { architecture: 's390x' }, elf: { machine: 22, bits: 64, littleEndian: false } },
  { kernel: 'riscv64', dpkg: 'riscv64', incus: 'riscv64', oci: { architecture: 'riscv64' }, elf: { machine: 243, bits: 64, littleEndian: true } },
  { kernel: 'mips64', dpkg: 'mips64el', incus: 'mips64', oci: { architecture: 'mips64le' }, elf: { machine: 8, bits: 64, littleEndian: true } },
  { kernel: 'loongarch64', dpkg: 'loong64', incus: 'loongarch64', oci: { architecture: 'loong64' }, elf: { machine: 258, bits: 64, littleEndian: true } },
  { kernel: 'sparc64', dpkg: 'sparc64', elf: { machine: 43, bits: 64, littleEndian: false } },
  { kernel: 'alpha', dpkg: 'alpha', elf: { machine: 0x9026, bits: 64, littleEndian: true } },
  { kernel: 'm68k', dpkg: 'm68k', elf: { machine: 4, bits: 32, littleEndian: false } },
  { kernel: 'hppa', dpkg: 'hppa', elf: { machine: 15, bits: 32, littleEndian: false } },
];

/** pve-container's `arch` values (PVE::LXC::Config): what a Proxmox template name may carry. */
export const proxmoxArchitectures: readonly string[] = ['amd64', 'i386', 'arm64', 'armhf', 'riscv32', 'riscv64'];

/** An architecture by any of its names (`amd64`, `x86_64`, `arm64`, `aarch64`, ...). */
export function archByName(name: string): Arch | undefined {
  return knownArchitectures.find((a) => a.kernel === name || a.dpkg === name || a.incus === name);
}

const EF_ARM_ABI_FLOAT_HARD = 0x400;

/** The architecture an ELF header says, or a reason it says none. */
export function archOfElf(head: Buffer): Arch | string {
  if (head.length < 52 || head.readUInt32BE(0) !== 0x7f454c46) return 'not an ELF file';
  const bits = head[4] === 2 ? 64 : 32;
  const le = head[5] === 1;
  const machine = le ? head.readUInt16LE(18) : head.readUInt16BE(18);
  const flagsAt = bits === 64 ? 48 : 36;
  const flags = le ? head.readUInt32LE(flagsAt) : head.readUInt32BE(flagsAt);
  const found = knownArchitectures.find((a) =>
    a.elf.machine === machine && a.elf.bits === bits && a.elf.littleEndian === le &&
    (a.elf.hardFloat === undefined || a.elf.hardFloat === ((flags & EF_ARM_ABI_FLOAT_HARD) !== 0)));
  return found ?? `an ELF ${bits}-bit ${le ? 'little' : 'big'}-endian binary for machine ${machine} (0x${machine.toString(16)}), an architecture this tool does not know`;
}

/** The programs whose ELF header names the root's architecture, in the order they are tried. */
const probes = ['sbin/init', 'bin/sh', 'usr/bin/env'];

/** The root's architecture from the ELF header of its init (or shell); `given` (--arch) wins. */
export function detectArch(tree: OverlayTree, given?: string): Arch {
  if (given !== undefined) {
    const a = archByName(given);
    if (!a) throw new ProvisionError(`unknown architecture ${JSON.stringify(given)} (use ${knownArchitectures.map((x) => x.dpkg).join(', ')})`, 'EUSAGE', 'arch');
    return a;
  }
  const why: string[] = [];
  for (const p of probes) {
    const real = tree.resolve(p);
    const head = real === undefined ? undefined : tree.read(real)?.subarray(0, 64);
    if (head === undefined) continue;
    const a = archOfElf(head);
    if (typeof a !== 'string') return a;
    why.push(`/${p} is ${a}`);
  }
  throw new ProvisionError(`cannot tell the architecture of ${tree.root}: ${why.length > 0 ? why.join('; ') : `none of /${probes.join(', /')} is a file`} (give --arch)`, 'EARCH', 'arch');
}
