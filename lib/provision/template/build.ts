import fs from 'node:fs';
import path from 'node:path';
import { ProvisionError, asProvisionError, atPath } from '../../errors.js';
import { Outputs, withScratch } from '../outputs.js';
import { newestMtime, tarStream } from './archive.js';
import { archiveSuffix, compressions, writeArchive, type Compression } from './compress.js';
import { templateSteps, type Step } from './steps.js';
import { OverlayTree, type Change, type SourceMeta } from './tree.js';
import { isTarball, unpackTarball } from './unpack.js';

export interface TemplateBuildOptions {
  /**
   * Root filesystem to package: a folder, only read, or a tarball (`.tar`, `.tar.gz`, `.tar.xz`,
   * `.tar.zst`, a `docker export`), unpacked into a scratch folder beside the outputs.
   */
  rootfs: string;
  /** OpenVZ template name, e.g. `debian-12-x86_64-minimal`; the archive is `NAME.tar.gz` (`.tar.zst`, `.tar.xz`). */
  name: string;
  /** gzip (default), zstd or xz. */
  compress?: Compression;
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
  name: string;
  archive: string;
  sha256File: string;
  manifestFile: string;
  sha256: string;
  bytes: number;
  steps: StepReport[];
  /** Entries a tar archive cannot hold (sockets), left out. */
  leftOut: string[];
}

/** OpenVZ finds templates by file name, so the name must be a plain file name stem. */
const templateNameRe = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

export function templateOutputs(outDir: string, name: string, how: Compression = 'gzip') {
  const suffix = archiveSuffix[how];
  return {
    archive: path.join(outDir, `${name}${suffix}`),
    sha256File: path.join(outDir, `${name}${suffix}.sha256`),
    manifestFile: path.join(outDir, `${name}.manifest.json`),
  };
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

export function selectSteps(skip: readonly string[] = []): Step[] {
  const known = new Set(templateSteps.map((s) => s.name));
  const unknown = skip.filter((s) => !known.has(s));
  if (unknown.length > 0) {
    throw new ProvisionError(`unknown step: ${unknown.join(', ')} (steps: ${[...known].join(', ')})`, 'EUSAGE', 'skip');
  }
  return templateSteps.filter((s) => !skip.includes(s.name));
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

/** Writes NAME.tar.gz (an OpenVZ template cache; .tar.zst or .tar.xz), its .sha256 and NAME.manifest.json. */
export async function buildTemplate(opts: TemplateBuildOptions): Promise<TemplateBuildResult> {
  const log = opts.log ?? (() => {});
  if (!templateNameRe.test(opts.name)) {
    throw new ProvisionError(`bad template name ${JSON.stringify(opts.name)}: use letters, digits, ".", "_", "-" (e.g. debian-12-x86_64-minimal)`, 'EUSAGE', 'name');
  }
  const tarball = isTarball(opts.rootfs);
  if (!tarball) checkRootfs(opts.rootfs);
  // The tree owner is read from the top folder, so look at the folder itself, not a link to it.
  const source = fs.realpathSync(opts.rootfs);
  const steps = selectSteps(opts.skip);
  const how = opts.compress ?? 'gzip';
  if (!compressions.includes(how)) throw new ProvisionError(`unknown compression ${JSON.stringify(how)} (use ${compressions.join(', ')})`, 'EUSAGE', 'compress');
  const finals = templateOutputs(path.resolve(opts.outDir), opts.name, how);
  if (!tarball && (path.resolve(opts.outDir).startsWith(source + path.sep) || path.resolve(opts.outDir) === source)) {
    throw new ProvisionError(`output folder ${opts.outDir} is inside the root filesystem ${source}`, 'EUSAGE', 'outDir');
  }
  const outputs = await Outputs.prepare(Object.values(finals), opts.force ?? false);
  try {
    if (!tarball) return await writeTemplate(source, undefined);
    return await withScratch(path.dirname(finals.archive), async (scratch) => {
      const root = path.join(scratch, 'root');
      fs.mkdirSync(root, { mode: 0o755 });
      log(`unpacking ${source}`);
      const meta = await unpackTarball(source, root);
      checkUnpacked(root, opts.rootfs);
      return await writeTemplate(root, meta);
    });
  } catch (err) {
    await outputs.discard();
    throw asProvisionError(err);
  }

  async function writeTemplate(rootfs: string, meta: ReadonlyMap<string, SourceMeta> | undefined): Promise<TemplateBuildResult> {
    log(`preparing ${rootfs === source ? rootfs : source} (${steps.map((s) => s.name).join(', ')})`);
    const { tree, reports } = prepareTree(rootfs, steps, meta);
    const epoch = opts.sourceDateEpoch ?? epochFromEnv();
    const leftOut: string[] = [];
    const archiveTmp = outputs.temp(finals.archive);
    log(`writing ${finals.archive}`);
    const stream = tarStream(tree, {
      ownership: opts.ownership ?? 'map-builder',
      generatedMtime: epoch ?? newestMtime(rootfs),
      ...(epoch !== undefined ? { clampMtime: epoch } : {}),
      onSkip: (rel) => leftOut.push('/' + rel),
    });
    // A full disk is reported naming the file the user asked for, not its temporary name.
    const { sha256, bytes } = await writeArchive(stream, how, archiveTmp).catch((err: unknown) => { throw atPath(err, finals.archive); });
    const manifest = { name: opts.name, archive: path.basename(finals.archive), sha256, bytes, source, steps: reports, leftOut };
    for (const [file, text] of [[finals.sha256File, `${sha256}  ${path.basename(finals.archive)}\n`], [finals.manifestFile, JSON.stringify(manifest, null, 2) + '\n']] as const) {
      try {
        fs.writeFileSync(outputs.temp(file), text, { flag: 'wx' });
      } catch (err) {
        // Named by the file the user asked for, not its temporary name.
        throw atPath(Object.assign(err as object, { path: undefined }), file);
      }
    }
    await outputs.commit();
    return { name: opts.name, ...finals, sha256, bytes, steps: reports, leftOut };
  }
}
