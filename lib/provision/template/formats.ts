// What each packaging of a prepared root is called, what it needs from the root, and which files it
// writes. One preparation (the steps of scope `all`, plus OpenVZ's own), several packagings.
import path from 'node:path';
import { ProvisionError } from '../../errors.js';
import { proxmoxArchitectures, type Arch } from './arch.js';
import { archiveSuffix, compressionLevels, type Compression } from './compress.js';
import type { OsRelease } from './osrelease.js';

export const templateFormats = ['openvz', 'proxmox', 'incus', 'incus-split', 'oci', 'oci-tar', 'nspawn'] as const;
export type TemplateFormat = (typeof templateFormats)[number];

/** The root of a split Incus image: a squashfs (what Incus images carry), or a tarball. */
export const splitRoots = ['squashfs', 'tar'] as const;
export type SplitRoot = (typeof splitRoots)[number];

export interface FormatSpec {
  /** One line for the help. */
  describe: string;
  compressions: readonly Compression[];
  defaultCompression: Compression;
  /** Levels other than the compression's own default (compressionLevels), for this format's main output. */
  defaultLevel?: Partial<Record<Compression, number>>;
  /** The format describes the OS from /etc/os-release and cannot do without it. */
  needsOsRelease: boolean;
  /** The format's name for the architecture, undefined when it has none; absent: the format does not record one. */
  archName?: (a: Arch) => string | undefined;
  /** `--name` may be left out: the format names its file itself. */
  derivesName: boolean;
}

// An OCI layer at about the size podman, buildah and umoci write theirs (Go's gzip at its default
// level: 180 MB for the bookworm root, where zlib's level 6 makes 173 MB and level 4 177 MB), at
// about their speed; a template cache keeps gzip's own 6, what tar -czf writes.
const ociLevels = { gzip: 4 } as const;

export const formatSpecs: Readonly<Record<TemplateFormat, FormatSpec>> = {
  openvz: {
    describe: 'NAME.tar.gz: an OpenVZ/Virtuozzo template cache (network and hostname filled in at boot)',
    compressions: ['gzip', 'zstd', 'xz'], defaultCompression: 'gzip', needsOsRelease: false, derivesName: false,
  },
  proxmox: {
    describe: "ID-VERSION-FLAVOUR_VERSION-1_ARCH.tar.zst: a Proxmox VE container template for pct create (named from /etc/os-release; --name is the flavour, default 'standard')",
    compressions: ['zstd', 'gzip', 'xz'], defaultCompression: 'zstd', needsOsRelease: true, derivesName: true,
    archName: (a) => (proxmoxArchitectures.includes(a.dpkg) ? a.dpkg : undefined),
  },
  incus: {
    describe: 'NAME.incus.tar.gz: a unified Incus/LXD image (metadata.yaml, templates/, rootfs/) for incus image import',
    compressions: ['gzip', 'zstd', 'xz'], defaultCompression: 'gzip', needsOsRelease: true, derivesName: false,
    archName: (a) => a.incus,
  },
  'incus-split': {
    describe: 'NAME.metadata.tar.gz plus NAME.squashfs (or NAME.rootfs.tar.gz, or NAME.qcow2 for a VM): a split Incus/LXD image',
    compressions: ['gzip', 'zstd', 'xz'], defaultCompression: 'gzip', needsOsRelease: true, derivesName: false,
    archName: (a) => a.incus,
  },
  oci: {
    describe: 'NAME.oci/: an OCI image layout folder (podman, skopeo copy oci:, umoci)',
    compressions: ['gzip', 'zstd'], defaultCompression: 'gzip', defaultLevel: ociLevels, needsOsRelease: false, derivesName: false,
    archName: (a) => a.oci?.architecture,
  },
  'oci-tar': {
    describe: 'NAME.oci.tar: the OCI image layout as one tar (skopeo copy oci-archive:, podman load, Proxmox VE 9 templates)',
    compressions: ['gzip', 'zstd'], defaultCompression: 'gzip', defaultLevel: ociLevels, needsOsRelease: false, derivesName: false,
    archName: (a) => a.oci?.architecture,
  },
  nspawn: {
    describe: 'NAME.tar.gz: a machine for machinectl import-tar (systemd-nspawn); the image build raw disk is for import-raw',
    compressions: ['gzip', 'zstd', 'xz'], defaultCompression: 'gzip', needsOsRelease: false, derivesName: false,
  },
};

export function checkFormat(format: string): TemplateFormat {
  if (!(templateFormats as readonly string[]).includes(format)) {
    throw new ProvisionError(`unknown format ${JSON.stringify(format)} (use ${templateFormats.join(', ')})`, 'EFORMAT', 'format');
  }
  return format as TemplateFormat;
}

export function checkCompression(format: TemplateFormat, how: Compression): void {
  const allowed = formatSpecs[format].compressions;
  if (!allowed.includes(how)) throw new ProvisionError(`${format} cannot be compressed with ${how} (use ${allowed.join(', ')})`, 'EUSAGE', 'compress');
}

/** The level `format`'s output is compressed at: the one asked for, checked, else the format's default. */
export function compressionLevel(format: TemplateFormat, how: Compression, asked?: number): number {
  const { min, max, default: own } = compressionLevels[how];
  if (asked === undefined) return formatSpecs[format].defaultLevel?.[how] ?? own;
  if (!Number.isInteger(asked) || asked < min || asked > max) throw new ProvisionError(`${how} takes levels ${min} to ${max}, not ${asked}`, 'EUSAGE', 'compressLevel');
  return asked;
}

/** The format's name for `arch`, or one line saying it has none. */
export function archNameFor(format: TemplateFormat, arch: Arch): string {
  const name = formatSpecs[format].archName?.(arch);
  if (name === undefined) throw new ProvisionError(`the root is ${arch.kernel} (${arch.dpkg}), an architecture ${format} images cannot name`, 'EARCH', 'arch');
  return name;
}

/** os-release values must be plain words (os-release(5) allows a-z, 0-9, ".", "_", "-") to go into a file name. */
const wordRe = /^[a-z0-9][a-z0-9._-]*$/;

/**
 * Proxmox's template name, `debian-12-standard_12.7-1_amd64` (the stem without `.tar.zst`): OS id and
 * major version, flavour, full version with a package release of 1, architecture. A rolling
 * distribution (no VERSION_ID) gets the build date as its version, as Proxmox's own Arch template.
 */
export function proxmoxStem(os: OsRelease, flavour: string, arch: string, epoch: () => number): string {
  for (const [what, v] of [['ID', os.id], ['VERSION_ID', os.versionId]] as const) {
    if (v !== '' && !wordRe.test(v)) throw new ProvisionError(`${os.path} ${what}=${JSON.stringify(v)} cannot go into a template name (a-z, 0-9, ".", "_", "-")`, 'EOSRELEASE', 'rootfs');
  }
  checkProxmoxFlavour(flavour);
  if (os.versionId === '') {
    const day = new Date(epoch() * 1000).toISOString().slice(0, 10).replace(/-/g, '');
    return `${os.id}-${flavour}_${day}-1_${arch}`;
  }
  return `${os.id}-${os.versionId}-${flavour}_${os.fullVersion}-1_${arch}`;
}

/** The flavour of a Proxmox template name when none is given, as Proxmox's own `debian-12-standard`. */
export const proxmoxDefaultFlavour = 'standard';

export function checkProxmoxFlavour(flavour: string): void {
  if (!/^[a-z0-9]+$/.test(flavour)) throw new ProvisionError(`bad Proxmox template flavour ${JSON.stringify(flavour)}: lower-case letters and digits (e.g. standard)`, 'EUSAGE', 'name');
}

export interface FormatOutputs {
  /** The main output (file, or the OCI folder). */
  main: string;
  /** incus-split: the root (squashfs, tarball or qcow2). */
  root?: string;
  /** `HASH  NAME` lines for the files; none for the OCI folder, which carries its own digests. */
  sha256File?: string;
  manifestFile: string;
}

export function formatOutputs(format: TemplateFormat, outDir: string, stem: string, how: Compression, split: SplitRoot | 'qcow2' = 'squashfs'): FormatOutputs {
  const at = (n: string) => path.join(outDir, n);
  // Formats that share a folder must not share a build manifest: all but the plain tars say which they are.
  const manifestFile = at(format === 'openvz' || format === 'proxmox' || format === 'nspawn' ? `${stem}.manifest.json` : `${stem}.${format}.manifest.json`);
  const suffix = archiveSuffix[how];
  switch (format) {
    case 'openvz':
    case 'proxmox':
    case 'nspawn':
      return { main: at(`${stem}${suffix}`), sha256File: at(`${stem}${suffix}.sha256`), manifestFile };
    case 'incus':
      return { main: at(`${stem}.incus${suffix}`), sha256File: at(`${stem}.incus${suffix}.sha256`), manifestFile };
    case 'incus-split':
      return {
        main: at(`${stem}.metadata${suffix}`),
        root: at(split === 'squashfs' ? `${stem}.squashfs` : split === 'qcow2' ? `${stem}.qcow2` : `${stem}.rootfs${suffix}`),
        sha256File: at(`${stem}.sha256`),
        manifestFile,
      };
    case 'oci':
      return { main: at(`${stem}.oci`), manifestFile };
    case 'oci-tar':
      return { main: at(`${stem}.oci.tar`), sha256File: at(`${stem}.oci.tar.sha256`), manifestFile };
  }
}
