import fs from 'node:fs';
import path from 'node:path';
import { ProvisionError, asProvisionError, atPath } from '../../errors.js';
import { Outputs, prepareFolder, removeFolders, withScratch } from '../outputs.js';
import { newestMtime, tarStream } from './archive.js';
import { detectArch } from './arch.js';
import { compressions, type Compression } from './compress.js';
import { archNameFor, checkCompression, checkFormat, compressionLevel, formatOutputs, formatSpecs, proxmoxDefaultFlavour, proxmoxStem, splitRoots, type FormatOutputs, type SplitRoot, type TemplateFormat } from './formats.js';
import { packOciArchive, packOciLayout } from './oci.js';
import { readOsRelease, requireOsRelease } from './osrelease.js';
import { sha256Lines, writeCompressed } from './pack.js';
import type { PackJob, Packed, PackedFile } from './packaging.js';
import { templateSteps, type Step } from './steps.js';
import { OverlayTree, type Change, type SourceMeta } from './tree.js';
import { isTarball, unpackTarball } from './unpack.js';

export interface TemplateBuildOptions {
  /**
   * Root filesystem to package: a folder, only read, or a tarball (`.tar`, `.tar.gz`, `.tar.xz`,
   * `.tar.zst`, a `docker export`), unpacked into a scratch folder beside the outputs.
   */
  rootfs: string;
  /**
   * File name stem, e.g. `debian-12-x86_64-minimal` (OpenVZ finds templates by it). Proxmox
   * templates are named from /etc/os-release; there it is the flavour (default `standard`).
   */
  name?: string;
  /** What to make (default openvz): see `formatSpecs`. */
  format?: TemplateFormat;
  /** gzip, zstd or xz; the format's default (zstd for Proxmox, gzip otherwise) when left out. */
  compress?: Compression;
  /** The compression's level (gzip 1-9, zstd 1-19, xz 0-9); the format's default when left out (compressionLevel). */
  compressLevel?: number;
  /** The root's architecture (amd64, arm64, ...), when its /sbin/init cannot tell. */
  arch?: string;
  /** incus-split: the root as a squashfs (default) or a tarball. */
  splitRoot?: SplitRoot;
  /** incus-split: a virtual machine image, the qcow2 disk image build made from this root. */
  vmDisk?: string;
  outDir: string;
  force?: boolean;
  /** Names of preparation steps to leave out (see `templateSteps`). */
  skip?: readonly string[];
  ownership?: 'map-builder' | 'all-root';
  /** Defaults to $SOURCE_DATE_EPOCH: generated entries get this mtime and no entry is newer. */
  sourceDateEpoch?: number;
  log?: (message: string) => void;
}

export interface StepReport {
  name: string;
  description: string;
  applied: boolean;
  note?: string;
  changes: { kind: Change['kind']; path: string }[];
}

export interface TemplateBuildResult {
  format: TemplateFormat;
  name: string;
  /** The main output: the archive, Incus' metadata tarball, or the OCI layout folder. */
  archive: string;
  /** Every output file with its digest (the OCI folder holds its own digests). */
  files: PackedFile[];
  sha256File?: string;
  manifestFile: string;
  /** SHA-256 of the main output (for the OCI folder: of its manifest). */
  sha256: string;
  bytes: number;
  /** The format's name for the root's architecture (formats that record one). */
  architecture?: string;
  os?: { id: string; versionId: string; codename: string; prettyName: string };
  details?: Record<string, unknown>;
  steps: StepReport[];
  /** Entries a tar archive cannot hold (sockets), left out. */
  leftOut: string[];
}

/** OpenVZ finds templates by file name, so the name must be a plain file name stem. */
const templateNameRe = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

export function templateOutputs(outDir: string, name: string, how: Compression = 'gzip') {
  const f = formatOutputs('openvz', outDir, name, how);
  return { archive: f.main, sha256File: f.sha256File!, manifestFile: f.manifestFile };
}

export function checkRootfs(rootfs: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(rootfs);
  } catch {
    throw new ProvisionError(`root filesystem ${rootfs} does not exist`, 'ENOENT');
  }
  if (!st.isDirectory()) throw new ProvisionError(`root filesystem ${rootfs} is not a folder`, 'ENOTDIR');
  try {
    // lstat: /sbin/init is usually a symlink into the tree (busybox, systemd) that the host cannot
    // follow; through the tree, because /sbin itself may be a link (merged /usr), one into the tree.
    fs.lstatSync(new OverlayTree(rootfs).sourcePath('sbin/init'));
  } catch (err) {
    if (err instanceof ProvisionError) throw err;
    throw new ProvisionError(`${rootfs} has no /sbin/init: not a bootable root filesystem`, 'ENOINIT');
  }
}

/** The tarball's `/sbin/init` may be a link into the tree, which lstat (not stat) sees. */
function checkUnpacked(root: string, from: string): void {
  if (fs.lstatSync(path.join(root, 'sbin', 'init'), { throwIfNoEntry: false }) === undefined) {
    throw new ProvisionError(`${from} has no /sbin/init: not a bootable root filesystem`, 'ENOINIT');
  }
}

/** The steps a format takes (OpenVZ all, the others those of scope `all`), less the skipped ones. */
export function selectSteps(skip: readonly string[] = [], format: TemplateFormat = 'openvz'): Step[] {
  const known = new Set(templateSteps.map((s) => s.name));
  const unknown = skip.filter((s) => !known.has(s));
  if (unknown.length > 0) {
    throw new ProvisionError(`unknown step: ${unknown.join(', ')} (steps: ${[...known].join(', ')})`, 'EUSAGE', 'skip');
  }
  return templateSteps.filter((s) => !skip.includes(s.name) && (format === 'openvz' || s.scope === 'all'));
}

/** Runs the preparation steps over an overlay of `rootfs` and reports what each did. */
export function prepareTree(rootfs: string, steps: readonly Step[], meta?: ReadonlyMap<string, SourceMeta>): { tree: OverlayTree; reports: StepReport[] } {
  const tree = new OverlayTree(rootfs, meta);
  const reports: StepReport[] = [];
  for (const step of steps) {
    const changes: StepReport['changes'] = [];
    const note = step.run({
      tree,
      change(c) {
        tree.apply(c);
        changes.push({ kind: c.kind, path: '/' + c.path.replace(/^\/+/, '') });
      },
    });
    reports.push({ name: step.name, description: step.description, applied: changes.length > 0, ...(note ? { note } : {}), changes });
  }
  return { tree, reports };
}

function epochFromEnv(): number | undefined {
  const v = process.env.SOURCE_DATE_EPOCH;
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v)) throw new ProvisionError(`SOURCE_DATE_EPOCH is not a number of seconds: ${v}`, 'EUSAGE');
  return Number(v);
}

const packagers: Record<TemplateFormat, (job: PackJob, opts: TemplateBuildOptions) => Promise<Packed>> = {
  openvz: packPlainTar,
  proxmox: packPlainTar,
  nspawn: packPlainTar,
  // Loaded with their format: YAML is theirs alone.
  incus: async (job) => (await import('./incus.js')).packIncusUnified(job),
  'incus-split': async (job, opts) => (await import('./incus.js')).packIncusSplit(job, opts.vmDisk !== undefined ? { kind: 'qcow2', disk: opts.vmDisk } : { kind: opts.splitRoot ?? 'squashfs' }),
  oci: packOciLayout,
  'oci-tar': packOciArchive,
};

/** The tree as one compressed tar, `./`-relative: OpenVZ, Proxmox and machinectl import-tar all take this. */
async function packPlainTar(job: PackJob): Promise<Packed> {
  job.log(`writing ${job.finals.main}`);
  const { file } = await writeCompressed(tarStream(job.tree, job.archive), job.how, job.outputs.temp(job.finals.main), job.level);
  return { files: [{ path: job.finals.main, ...file }], sha256: file.sha256, bytes: file.bytes };
}

function finalPaths(f: FormatOutputs): string[] {
  return [f.main, f.root, f.sha256File, f.manifestFile].filter((p): p is string => p !== undefined);
}

/** Checks what does not need the root: format, compression, name, the split root's form. */
function checkOptions(opts: TemplateBuildOptions): { format: TemplateFormat; how: Compression; level: number } {
  const format = checkFormat(opts.format ?? 'openvz');
  const spec = formatSpecs[format];
  const how = opts.compress ?? spec.defaultCompression;
  if (!compressions.includes(how)) throw new ProvisionError(`unknown compression ${JSON.stringify(how)} (use ${compressions.join(', ')})`, 'EUSAGE', 'compress');
  checkCompression(format, how);
  const level = compressionLevel(format, how, opts.compressLevel);
  if (opts.name === undefined) {
    if (!spec.derivesName) throw new ProvisionError(`a ${format} build needs a name (e.g. debian-12-x86_64-minimal)`, 'EUSAGE', 'name');
  } else if (format !== 'proxmox' && !templateNameRe.test(opts.name)) {
    throw new ProvisionError(`bad template name ${JSON.stringify(opts.name)}: use letters, digits, ".", "_", "-" (e.g. debian-12-x86_64-minimal)`, 'EUSAGE', 'name');
  }
  if (opts.splitRoot !== undefined && !(splitRoots as readonly string[]).includes(opts.splitRoot)) {
    throw new ProvisionError(`unknown split root ${JSON.stringify(opts.splitRoot)} (use ${splitRoots.join(', ')})`, 'EUSAGE', 'splitRoot');
  }
  if ((opts.splitRoot !== undefined || opts.vmDisk !== undefined) && format !== 'incus-split') {
    throw new ProvisionError(`${opts.vmDisk !== undefined ? 'a VM disk' : 'a split root'} is for the incus-split format only`, 'EUSAGE', opts.vmDisk !== undefined ? 'vmDisk' : 'splitRoot');
  }
  if (opts.vmDisk !== undefined && opts.splitRoot !== undefined) throw new ProvisionError('a VM disk is the root of its image: leave out the split root', 'EUSAGE', 'splitRoot');
  if (opts.vmDisk !== undefined && !fs.statSync(opts.vmDisk, { throwIfNoEntry: false })?.isFile()) {
    throw new ProvisionError(`VM disk ${opts.vmDisk} does not exist or is not a file`, 'ENOENT', 'vmDisk');
  }
  return { format, how, level };
}

/** What the format needs to know about the root, checked before any output exists. */
function describeRoot(tree: OverlayTree, format: TemplateFormat, opts: TemplateBuildOptions): Pick<PackJob, 'os' | 'arch' | 'archName'> {
  const spec = formatSpecs[format];
  const os = spec.needsOsRelease ? requireOsRelease(tree, `${format} images name the OS from it`) : readOsRelease(tree);
  if (format === 'nspawn' && tree.kind('usr') !== 'dir') throw new ProvisionError(`${tree.root} has no /usr: systemd-nspawn and machinectl refuse such a tree`, 'ENOUSR', 'rootfs');
  if (!spec.archName) return os ? { os } : {};
  const arch = detectArch(tree, opts.arch);
  return { ...(os ? { os } : {}), arch, archName: archNameFor(format, arch) };
}

/**
 * Prepares a root filesystem once and packages it as `format` asks: an OpenVZ template cache
 * (NAME.tar.gz), a Proxmox template, an Incus image, an OCI layout or an nspawn machine tar, with a
 * .sha256 and NAME.manifest.json. Nothing is left under a final name unless everything succeeded.
 */
export async function buildTemplate(opts: TemplateBuildOptions): Promise<TemplateBuildResult> {
  const log = opts.log ?? (() => {});
  const { format, how, level } = checkOptions(opts);
  const tarball = isTarball(opts.rootfs);
  if (!tarball) checkRootfs(opts.rootfs);
  // The tree owner is read from the top folder, so look at the folder itself, not a link to it.
  const source = fs.realpathSync(opts.rootfs);
  const steps = selectSteps(opts.skip, format);
  const outDir = path.resolve(opts.outDir);
  if (!tarball && (outDir.startsWith(source + path.sep) || outDir === source)) {
    throw new ProvisionError(`output folder ${opts.outDir} is inside the root filesystem ${source}`, 'EUSAGE', 'outDir');
  }
  const madeFolders = await prepareFolder(outDir);
  try {
    // Known names are checked before a tarball is unpacked; a Proxmox name needs the root's os-release.
    if (opts.name !== undefined && format !== 'proxmox') {
      const f = formatOutputs(format, outDir, opts.name, how, opts.vmDisk !== undefined ? 'qcow2' : opts.splitRoot);
      await Outputs.prepare(finalPaths(f), opts.force ?? false);
    }
    if (!tarball) return await buildFrom(source, undefined);
    return await withScratch(outDir, async (scratch) => {
      const root = path.join(scratch, 'root');
      fs.mkdirSync(root, { mode: 0o755 });
      log(`unpacking ${source}`);
      const meta = await unpackTarball(source, root).catch((err: unknown) => { throw asProvisionError(err); });
      checkUnpacked(root, opts.rootfs);
      return buildFrom(root, meta);
    });
  } catch (err) {
    removeFolders(madeFolders);
    // A tree it cannot read (EACCES below the root) is the user's to fix: one line naming the path.
    throw asProvisionError(err);
  }

  async function buildFrom(rootfs: string, meta: ReadonlyMap<string, SourceMeta> | undefined): Promise<TemplateBuildResult> {
    log(`preparing ${rootfs === source ? rootfs : source} for ${format} (${steps.map((s) => s.name).join(', ')})`);
    const { tree, reports } = prepareTree(rootfs, steps, meta);
    const facts = describeRoot(tree, format, opts);
    const given = opts.sourceDateEpoch ?? epochFromEnv();
    // Without SOURCE_DATE_EPOCH, the tree's newest mtime: a walk of the whole source, taken when
    // first needed, so that an archive's first entries are being compressed meanwhile.
    let newest: number | undefined;
    const epoch = () => given ?? (newest ??= newestMtime(tree));
    const name = format === 'proxmox' ? proxmoxStem(facts.os!, opts.name ?? proxmoxDefaultFlavour, facts.archName!, epoch) : opts.name!;
    const finals = formatOutputs(format, outDir, name, how, opts.vmDisk !== undefined ? 'qcow2' : opts.splitRoot);
    const outputs = await Outputs.prepare(finalPaths(finals), opts.force ?? false);
    try {
      const leftOut: string[] = [];
      const archive = {
        ownership: opts.ownership ?? 'map-builder',
        generatedMtime: epoch,
        ...(given !== undefined ? { clampMtime: given } : {}),
        onSkip: (rel: string) => leftOut.push('/' + rel),
      } as const;
      const packed = await packagers[format]({ tree, archive, how, level, epoch, outputs, finals, name, ...facts, log }, opts);
      const write = (file: string, text: string) => {
        try {
          fs.writeFileSync(outputs.temp(file), text, { flag: 'wx' });
        } catch (err) {
          // Named by the file the user asked for, not its temporary name.
          throw atPath(Object.assign(err as object, { path: undefined }), file);
        }
      };
      if (finals.sha256File) write(finals.sha256File, sha256Lines(packed.files.map((f) => ({ sha256: f.sha256, name: path.basename(f.path) }))));
      const os = facts.os ? { id: facts.os.id, versionId: facts.os.versionId, codename: facts.os.codename, prettyName: facts.os.prettyName } : undefined;
      const result: TemplateBuildResult = {
        format, name, archive: finals.main, files: packed.files,
        ...(finals.sha256File ? { sha256File: finals.sha256File } : {}),
        manifestFile: finals.manifestFile, sha256: packed.sha256, bytes: packed.bytes,
        ...(facts.archName ? { architecture: facts.archName } : {}),
        ...(os ? { os } : {}),
        ...(packed.details ? { details: packed.details } : {}),
        steps: reports, leftOut,
      };
      const manifest = {
        format, name, archive: path.basename(finals.main), sha256: packed.sha256, bytes: packed.bytes, source,
        files: packed.files.map((f) => ({ name: path.basename(f.path), sha256: f.sha256, bytes: f.bytes })),
        ...(result.architecture ? { architecture: result.architecture } : {}),
        ...(os ? { os } : {}),
        ...(packed.details ? { details: packed.details } : {}),
        steps: reports, leftOut,
      };
      write(finals.manifestFile, JSON.stringify(manifest, null, 2) + '\n');
      await outputs.commit();
      return result;
    } catch (err) {
      await outputs.discard();
      // A stream's errors carry no path: a full disk is reported naming the output it stopped.
      throw asProvisionError(atPath(err, finals.main));
    }
  }
}
