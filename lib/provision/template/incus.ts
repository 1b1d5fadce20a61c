// Incus/LXD images (lxc/incus doc/reference/image_format.md): metadata.yaml (architecture,
// creation_date, properties, templates) with templates/ that Incus renders at instance creation,
// either in one tarball with rootfs/ (unified) or as a metadata tarball beside a squashfs or tarball
// root, or beside a qcow2 disk for a virtual machine (split).
import fs from 'node:fs';
import os from 'node:os';
import YAML from 'yaml';
import { ProvisionError } from '../../errors.js';
import { runWithStdin } from '../../run.js';
import { tarStream, type LeadingEntry } from './archive.js';
import type { Compression } from './compress.js';
import { smallTar, writeCompressed, type SmallEntry } from './pack.js';
import { fileDigest } from '../digest.js';
import type { PackJob, Packed, PackedFile } from './packaging.js';
import { hostsNaming, oldHostname } from './steps.js';
import type { OverlayTree } from './tree.js';

/** Incus renders templates with pongo2; this is the instance name in its context. */
const INSTANCE_NAME = '{{ instance.name }}';

/** Text from the root made inert for pongo2: anything that would open a tag prints literally instead. */
export function pongoLiteral(text: string): string {
  return text.replace(/\{([{%#])/g, (_m, c: string) => `{{ "{${c}" }}`);
}

export interface IncusTemplates {
  /** templates/NAME.tpl contents. */
  files: Map<string, string>;
  /** metadata.yaml's `templates` section. */
  section: Record<string, { when: string[]; create_only: boolean; template: string; properties: Record<string, string> }>;
}

/**
 * /etc/hostname and /etc/hosts naming the instance, as Incus' own images do: rendered when the
 * instance is created or copied. hosts keeps the root's own lines, the old host name replaced.
 */
export function incusTemplates(tree: OverlayTree): IncusTemplates {
  const hosts = hostsNaming(pongoLiteral(tree.readText('etc/hosts') ?? '127.0.0.1\tlocalhost\n'), oldHostname(tree), INSTANCE_NAME);
  const files = new Map([
    ['hostname.tpl', `${INSTANCE_NAME}\n`],
    ['hosts.tpl', hosts],
  ]);
  const entry = (template: string) => ({ when: ['create', 'copy'], create_only: false, template, properties: {} });
  return { files, section: { '/etc/hostname': entry('hostname.tpl'), '/etc/hosts': entry('hosts.tpl') } };
}

export function incusMetadata(job: PackJob, templates: IncusTemplates): string {
  const os = job.os!;
  const serial = new Date(job.epoch() * 1000).toISOString().replace(/[-:]/g, '').replace('T', '_').slice(0, 13);
  const doc = {
    architecture: job.archName,
    creation_date: job.epoch(),
    properties: {
      architecture: job.archName,
      description: `${os.prettyName} (${job.name})`,
      name: job.name,
      os: os.id,
      release: os.codename || os.versionId,
      serial,
      variant: 'default',
    },
    templates: templates.section,
  };
  return YAML.stringify(doc);
}

function leadingEntries(metadata: string, templates: IncusTemplates): LeadingEntry[] {
  return [
    { name: 'metadata.yaml', type: 'file', mode: 0o644, content: Buffer.from(metadata) },
    { name: 'templates', type: 'dir', mode: 0o755 },
    ...[...templates.files].map(([n, text]): LeadingEntry => ({ name: `templates/${n}`, type: 'file', mode: 0o644, content: Buffer.from(text) })),
  ];
}

/** One tarball: metadata.yaml, templates/, rootfs/. */
export async function packIncusUnified(job: PackJob): Promise<Packed> {
  const templates = incusTemplates(job.tree);
  const metadata = incusMetadata(job, templates);
  const dest = job.finals.main;
  job.log(`writing ${dest}`);
  const { file } = await writeCompressed(tarStream(job.tree, { ...job.archive, prefix: 'rootfs', leading: leadingEntries(metadata, templates) }), job.how, job.outputs.temp(dest), job.level);
  return { files: [{ path: dest, ...file }], sha256: file.sha256, bytes: file.bytes, details: { architecture: job.archName } };
}

const squashfsCompressors: Record<Compression, string> = { gzip: 'gzip', zstd: 'zstd', xz: 'xz' };

/** mksquashfs reads the tree's tar on stdin (-tar), so owners and device nodes need no root. */
async function writeSquashfs(job: PackJob, dest: string): Promise<void> {
  const rootMode = (job.tree.mode('') ?? 0o755).toString(8);
  const t = String(job.epoch());
  await runWithStdin('mksquashfs', [
    '-', dest, '-tar', '-noappend', '-quiet', '-no-progress', '-reproducible', '-comp', squashfsCompressors[job.how],
    '-root-mode', rootMode, '-root-uid', '0', '-root-gid', '0',
    // The thread count does not change the bytes (-reproducible); one fewer keeps the tar writer fed.
    '-processors', String(Math.max(1, os.availableParallelism() - 1)),
    // SOURCE_DATE_EPOCH, not -root-time: with -tar, 4.5 ignores -root-time and stamps the root folder
    // with the clock. It also clamps entry times, to no effect: no entry is newer than the epoch.
  ], tarStream(job.tree, { ...job.archive, prefix: '' }), { label: 'mksquashfs', env: { ...process.env, SOURCE_DATE_EPOCH: t } });
}

function checkQcow2(disk: string): void {
  const fd = fs.openSync(disk, 'r');
  try {
    const head = Buffer.alloc(4);
    fs.readSync(fd, head, 0, 4, 0);
    if (!head.equals(Buffer.from([0x51, 0x46, 0x49, 0xfb]))) throw new ProvisionError(`${disk} is not a qcow2 image (Incus takes a VM's disk as qcow2: image build --format qcow2)`, 'EUSAGE', 'vmDisk');
  } finally {
    fs.closeSync(fd);
  }
}

/** A metadata tarball plus the root: squashfs, tarball, or (a VM) the qcow2 disk image build made. */
export async function packIncusSplit(job: PackJob, root: { kind: 'squashfs' | 'tar' } | { kind: 'qcow2'; disk: string }): Promise<Packed> {
  const templates = incusTemplates(job.tree);
  const metadata = incusMetadata(job, templates);
  const meta = job.finals.main;
  const rootOut = job.finals.root!;
  const entries: SmallEntry[] = leadingEntries(metadata, templates).map((e) => ({ name: e.name, type: e.type === 'dir' ? 'directory' : 'file', mode: e.mode, ...(e.content ? { content: e.content } : {}) }));
  job.log(`writing ${meta}`);
  const { file: metaDigest } = await writeCompressed(smallTar(entries, job.epoch()), job.how, job.outputs.temp(meta), job.level);
  const files: PackedFile[] = [{ path: meta, ...metaDigest }];
  job.log(`writing ${rootOut}`);
  const rootTemp = job.outputs.temp(rootOut);
  if (root.kind === 'tar') {
    files.push({ path: rootOut, ...(await writeCompressed(tarStream(job.tree, job.archive), job.how, rootTemp, job.level)).file });
  } else {
    if (root.kind === 'squashfs') await writeSquashfs(job, rootTemp);
    else if (root.kind === 'qcow2') {
      checkQcow2(root.disk);
      await fs.promises.copyFile(root.disk, rootTemp, fs.constants.COPYFILE_FICLONE);
    }
    files.push({ path: rootOut, ...(await fileDigest(rootTemp)) });
  }
  return { files, sha256: metaDigest.sha256, bytes: metaDigest.bytes, details: { architecture: job.archName, root: root.kind } };
}
