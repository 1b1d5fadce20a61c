// Push a built image into a libvirt storage pool, through libvirt itself (vol-upload), so the same
// code works on the local daemon and over qemu+ssh without a second channel to the hypervisor.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ProvisionError } from '../../errors.js';
import { run, transferLimitMs } from '../../run.js';
import { Virsh, type Log } from '../../sources/libvirt/virsh.js';
import { Undo } from '../undo.js';
import { fileDigest } from '../digest.js';
import { dirPoolXml, volumeXml } from './xml.js';

export interface PushKvmOptions {
  uri: string;
  pool: string;
  image: string;
  /** Volume name; the image's file name by default. */
  volume?: string;
  /** Define, build and start a directory pool at this path when POOL does not exist. */
  createPool?: string;
  /** Replace a volume of that name holding a different image. */
  force?: boolean;
  /** Kernel and initrd for direct kernel boot; found beside the image (NAME.vmlinuz / NAME.initrd) by default. */
  kernel?: string;
  initrd?: string;
  log?: Log;
}

export interface PushedVolume {
  volume: string;
  path: string;
  bytes: number;
  sha256: string;
  /** 'uploaded', or 'unchanged' when the pool already held these exact bytes. */
  action: 'uploaded' | 'unchanged';
}

export interface PushKvmResult {
  uri: string;
  pool: string;
  poolCreated: boolean;
  format: string;
  image: PushedVolume;
  kernel?: PushedVolume;
  initrd?: PushedVolume;
}

/** Names of the companion volumes that launch looks for beside an image volume. */
export const kernelVolume = (volume: string) => `${volume}.vmlinuz`;
export const initrdVolume = (volume: string) => `${volume}.initrd`;

/** The volume push kvm names after the image, unless given its own name (absent may give either). */
export function volumeName(o: Pick<PushKvmOptions, 'image' | 'volume'>): string {
  if (o.volume !== undefined) return o.volume;
  if (o.image === undefined || o.image === '') throw new ProvisionError('give the volume, or the image it was pushed from', 'EUSAGE', 'volume');
  return path.basename(o.image);
}

async function remoteDigest(v: Virsh, pool: string, volume: string): Promise<{ bytes: number; sha256: string }> {
  const h = crypto.createHash('sha256');
  let bytes = 0;
  await v.download(pool, volume, (c) => { h.update(c); bytes += c.length; });
  return { bytes, sha256: h.digest('hex') };
}

/** The companion file beside the image (guest.qcow2 → guest.vmlinuz), as image build writes it. */
function beside(image: string, ext: string): string | undefined {
  const p = path.join(path.dirname(image), `${path.basename(image, path.extname(image))}.${ext}`);
  return fs.existsSync(p) ? p : undefined;
}

async function imageFormat(file: string): Promise<string> {
  const info = JSON.parse((await run('qemu-img', ['info', '--output=json', file])).stdout) as { format?: string };
  if (info.format !== 'qcow2' && info.format !== 'raw') throw new ProvisionError(`${file}: image format '${info.format}' is not qcow2 or raw`, 'EFORMAT');
  return info.format;
}

/** What a push does with one volume: keep it (the same bytes), upload it (none there), or replace it (other bytes, force). */
export interface VolumePlan {
  volume: string;
  file: string;
  bytes: number;
  sha256: string;
  action: 'unchanged' | 'upload' | 'replace';
  /** What the volume holds now, when it exists. */
  before?: { bytes: number; sha256: string };
}

/**
 * The one rule for a volume, for the push and for check mode alike: the volume's bytes, read back
 * through libvirt rather than trusted from a size (the pool may have probed a qcow2 volume's
 * virtual size), against the file's. Other bytes are refused unless `force` replaces them.
 */
async function judgeVolume(v: Virsh, pool: string, poolExists: boolean, file: string, volume: string, force: boolean): Promise<VolumePlan> {
  const bytes = fs.statSync(file).size;
  const { sha256 } = await fileDigest(file);
  if (!poolExists || !(await v.volumeExists(pool, volume))) return { volume, file, bytes, sha256, action: 'upload' };
  const before = await remoteDigest(v, pool, volume);
  if (before.sha256 === sha256) return { volume, file, bytes, sha256, action: 'unchanged', before };
  if (!force) throw new ProvisionError(`volume '${volume}' in pool '${pool}' holds a different image (force replaces it)`, 'EEXIST', 'force');
  return { volume, file, bytes, sha256, action: 'replace', before };
}

async function pushOne(v: Virsh, pool: string, plan: VolumePlan, undo: Undo, log: Log): Promise<PushedVolume> {
  const { volume, file, bytes, sha256 } = plan;
  if (plan.action === 'unchanged') {
    log(`volume ${pool}/${volume} already holds ${path.basename(file)} (sha256 ${sha256.slice(0, 12)}): nothing to do`);
    return { volume, path: await v.volumePath(pool, volume), bytes, sha256, action: 'unchanged' };
  }
  if (plan.action === 'replace') {
    log(`replacing volume ${pool}/${volume}`);
    await v.call(['vol-delete', '--pool', pool, '--', volume]);
  }
  log(`uploading ${file} (${bytes} bytes) to ${pool}/${volume}`);
  // Raw capacity of exactly the file size: vol-upload then stores the bytes as they are, qcow2 or not.
  await v.withXml(['vol-create', '--pool', pool, '--file'], volumeXml({ name: volume, capacityBytes: bytes, format: 'raw' }));
  undo.add(`volume ${pool}/${volume}`, () => v.call(['vol-delete', '--pool', pool, '--', volume]));
  await v.call(['vol-upload', '--pool', pool, '--', volume, file], transferLimitMs(fs.statSync(file).size));
  const got = await remoteDigest(v, pool, volume);
  if (got.bytes !== bytes || got.sha256 !== sha256) {
    throw new ProvisionError(`verify: ${pool}/${volume} holds ${got.bytes} bytes sha256 ${got.sha256}, expected ${bytes} bytes sha256 ${sha256}`, 'EVERIFY');
  }
  return { volume, path: await v.volumePath(pool, volume), bytes, sha256, action: 'uploaded' };
}

/** What a push would do, found without changing anything: pushKvm carries it out, check mode answers it. */
export interface KvmPushPlan {
  uri: string;
  pool: string;
  /** The pool is missing and createPool makes it. */
  createPool: boolean;
  format: string;
  image: VolumePlan;
  kernel?: VolumePlan;
  initrd?: VolumePlan;
}

export async function planKvmPush(o: PushKvmOptions): Promise<KvmPushPlan> {
  const v = new Virsh(o.uri);
  if (!fs.existsSync(o.image)) throw new ProvisionError(`image ${o.image} does not exist`, 'ENOENT');
  const volume = volumeName(o);
  const kernel = o.kernel ?? beside(o.image, 'vmlinuz');
  const initrd = o.initrd ?? (o.kernel === undefined ? beside(o.image, 'initrd') : undefined);
  for (const f of [kernel, initrd]) if (f !== undefined && !fs.existsSync(f)) throw new ProvisionError(`${f} does not exist`, 'ENOENT');
  const format = await imageFormat(o.image);
  const poolExists = await v.poolExists(o.pool);
  if (!poolExists && o.createPool === undefined) throw new ProvisionError(`storage pool '${o.pool}' does not exist on ${o.uri} (createPool DIR creates it)`, 'ENOPOOL', 'createPool');
  const judge = (file: string, vol: string) => judgeVolume(v, o.pool, poolExists, file, vol, o.force ?? false);
  const image = await judge(o.image, volume);
  const k = kernel === undefined ? undefined : await judge(kernel, kernelVolume(volume));
  const i = initrd === undefined ? undefined : await judge(initrd, initrdVolume(volume));
  return { uri: o.uri, pool: o.pool, createPool: !poolExists, format, image, ...(k ? { kernel: k } : {}), ...(i ? { initrd: i } : {}) };
}

export async function pushKvm(o: PushKvmOptions): Promise<PushKvmResult> {
  return applyKvmPush(o, await planKvmPush(o));
}

/** Carries out a plan of planKvmPush; what it uploads is undone if a later step fails. */
export async function applyKvmPush(o: PushKvmOptions, plan: KvmPushPlan): Promise<PushKvmResult> {
  const log = o.log ?? (() => {});
  const v = new Virsh(o.uri);
  const undo = new Undo('push', log);
  return undo.guard(async () => {
    undo.step('pool');
    if (plan.createPool && o.createPool !== undefined) {
      log(`creating directory pool ${o.pool} at ${o.createPool}`);
      await v.withXml(['pool-define', '--file'], dirPoolXml(o.pool, path.resolve(o.createPool)));
      undo.add(`pool ${o.pool}`, async () => {
        await v.call(['pool-destroy', '--', o.pool]).catch(() => {});
        await v.call(['pool-undefine', '--', o.pool]);
      });
      await v.call(['pool-build', '--', o.pool]);
      await v.call(['pool-start', '--', o.pool]);
      await v.call(['pool-autostart', '--', o.pool]);
    }
    undo.step('upload image');
    const image = await pushOne(v, o.pool, plan.image, undo, log);
    undo.step('upload kernel');
    const k = plan.kernel && (await pushOne(v, o.pool, plan.kernel, undo, log));
    undo.step('upload initrd');
    const i = plan.initrd && (await pushOne(v, o.pool, plan.initrd, undo, log));
    await v.call(['pool-refresh', '--', o.pool]);
    return { uri: o.uri, pool: o.pool, poolCreated: plan.createPool, format: plan.format, image, ...(k ? { kernel: k } : {}), ...(i ? { initrd: i } : {}) };
  });
}
