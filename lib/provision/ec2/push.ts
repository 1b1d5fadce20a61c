// A disk image becomes an AMI without S3 and without the vmimport role: its blocks are written
// straight into a new EBS snapshot with the EBS direct APIs, and the snapshot is registered.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CompleteSnapshotCommand, PutSnapshotBlockCommand, StartSnapshotCommand } from '@aws-sdk/client-ebs';
import { CreateTagsCommand, DeleteSnapshotCommand, DescribeImagesCommand, RegisterImageCommand, waitForSnapshotCompleted, type DescribeSnapshotsCommandOutput } from '@aws-sdk/client-ec2';
import { ProvisionError, errnoOf } from '../../errors.js';
import { withScratch } from '../outputs.js';
import { run } from '../../run.js';
import { TAG_DISK, TAG_SNAPSHOT, awsFailure, ebsClient, ec2Client, waitUntil, type CallTimeouts, type Ec2Clients } from './clients.js';
import { checkInterrupted, interruptible, undoable } from '../interrupt.js';
import { Undo } from '../undo.js';

/** The EBS direct APIs take blocks of exactly this size (and no other). */
export const EBS_BLOCK_SIZE = 512 * 1024;
const GiB = 1024 ** 3;

export type Architecture = 'x86_64' | 'arm64';
export type BootMode = 'legacy-bios' | 'uefi';
export const architectures: readonly Architecture[] = ['x86_64', 'arm64'];
export const bootModes: readonly BootMode[] = ['legacy-bios', 'uefi'];

export interface PushProgress {
  blocksSent: number;
  blocksToSend: number;
  bytesSkipped: number;
  bytesSent: number;
  elapsedMs: number;
}

export interface Ec2PushOptions {
  region: string;
  /** A raw or qcow2 disk image. */
  image: string;
  /** AMI name (unique per account and region, so it is also the idempotence key). */
  name: string;
  architecture?: Architecture;
  bootMode?: BootMode;
  description?: string;
  /** PutSnapshotBlock calls in flight at once (default 32). */
  concurrency?: number;
  /** Attempts per API call, with the SDK's adaptive backoff (default 8). */
  maxAttempts?: number;
  /** Seconds to wait for the snapshot to complete (default 1800). */
  waitSeconds?: number;
  pollMs?: number;
  clients?: Ec2Clients;
  /** Per-attempt bounds of every AWS call (connect_timeout, request_timeout). */
  timeouts?: CallTimeouts;
  log?: (message: string) => void;
  /** Told what will make the AMI useless although the push succeeds (a BIOS image without boot code). */
  warn?: (message: string) => void;
  onProgress?: (p: PushProgress) => void;
}

export interface Ec2PushResult {
  region: string;
  name: string;
  imageId: string;
  snapshotId: string;
  /** True when an AMI of this name with the same disk content already existed and was reused. */
  reused: boolean;
  /** Identifies the disk content: equal digests, equal disks (see diskDigest). */
  diskSha256: string;
  volumeSizeGiB: number;
  blockSize: number;
  blocksTotal: number;
  blocksSent: number;
  bytesSkipped: number;
  seconds: number;
  /**
   * The MBR holds boot code (`image build --boot-loader grub` puts GRUB there). Without it an AMI
   * with BootMode legacy-bios registers and launches, but does not boot.
   */
  bootCode: boolean;
}

export interface DiskBlock {
  index: number;
  sha256: Buffer;
}

export interface DiskScan {
  size: number;
  volumeSizeGiB: number;
  blocksTotal: number;
  /** The blocks that hold any non-zero byte, in index order. */
  blocks: DiskBlock[];
  diskSha256: string;
}

async function isQcow2(file: string): Promise<boolean> {
  const fh = await fs.promises.open(file, 'r');
  try {
    const magic = Buffer.alloc(4);
    const { bytesRead } = await fh.read(magic, 0, 4, 0);
    return bytesRead === 4 && magic.equals(Buffer.from([0x51, 0x46, 0x49, 0xfb]));
  } finally {
    await fh.close();
  }
}

/**
 * Reads the disk once: which 512 KiB blocks hold data and their SHA-256. A last partial block is
 * read as if padded with zeros, which is what the volume holds past the end of the file.
 */
export async function scanDisk(file: string): Promise<DiskScan> {
  const size = (await fs.promises.stat(file)).size;
  if (size === 0) throw new ProvisionError(`${file} is empty`, 'EINVAL');
  const volumeSizeGiB = Math.max(1, Math.ceil(size / GiB));
  const blocksTotal = Math.ceil(size / EBS_BLOCK_SIZE);
  const blocks: DiskBlock[] = [];
  const fh = await fs.promises.open(file, 'r');
  try {
    const buf = Buffer.alloc(EBS_BLOCK_SIZE);
    const zero = Buffer.alloc(EBS_BLOCK_SIZE);
    for (let index = 0; index < blocksTotal; index++) {
      await readBlock(fh, buf, index, size);
      if (!buf.equals(zero)) blocks.push({ index, sha256: crypto.createHash('sha256').update(buf).digest() });
    }
  } finally {
    await fh.close();
  }
  return { size, volumeSizeGiB, blocksTotal, blocks, diskSha256: diskDigest(size, blocks) };
}

async function readBlock(fh: fs.promises.FileHandle, buf: Buffer, index: number, size: number): Promise<void> {
  const start = index * EBS_BLOCK_SIZE;
  const want = Math.min(EBS_BLOCK_SIZE, size - start);
  let got = 0;
  while (got < want) {
    const { bytesRead } = await fh.read(buf, got, want - got, start + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  buf.fill(0, got);
}

/**
 * One digest for the whole disk without hashing its zeros: the size plus each data block's index
 * and SHA-256 determine every byte. Stored as a tag on the AMI so a second push of the same disk
 * under the same name reuses it.
 */
export function diskDigest(size: number, blocks: readonly DiskBlock[]): string {
  const h = crypto.createHash('sha256').update(`ec2-inventory disk v1 ${size} ${EBS_BLOCK_SIZE}\n`);
  const idx = Buffer.alloc(4);
  for (const b of blocks) {
    idx.writeUInt32BE(b.index);
    h.update(idx).update(b.sha256);
  }
  return h.digest('hex');
}

/** CompleteSnapshot's LINEAR aggregate: SHA-256 over the blocks' digests in index order. */
export function aggregateChecksum(blocks: readonly DiskBlock[]): string {
  const h = crypto.createHash('sha256');
  for (const b of [...blocks].sort((x, y) => x.index - y.index)) h.update(b.sha256);
  return h.digest('base64');
}

/**
 * Pushes a disk image as an AMI; see Ec2PushOptions. A failure or a signal (interrupt.ts) before
 * the image is registered deletes the unfinished snapshot.
 */
export function pushEc2(opts: Ec2PushOptions): Promise<Ec2PushResult> {
  // The whole push, the qcow2 conversion included, so that a signal still cleans up its scratch.
  return undoable(() => {
    const started = Date.now();
    return withRawDisk(opts, async (raw) => pushRaw(opts, raw, await judgeAmi(opts, raw), started));
  });
}

/** What a push would do, found without changing anything: check mode answers it. */
export async function planEc2Push(opts: Ec2PushOptions): Promise<AmiPlan> {
  return withRawDisk(opts, (raw) => judgeAmi(opts, raw));
}

/** The image as a raw disk: itself, or a qcow2 converted into scratch that is gone afterwards. */
async function withRawDisk<T>(opts: Ec2PushOptions, fn: (raw: string) => Promise<T>): Promise<T> {
  try {
    await fs.promises.access(opts.image, fs.constants.R_OK);
    if ((await fs.promises.stat(opts.image)).isDirectory()) throw new ProvisionError(`image ${opts.image} is a folder, not a file`, 'EISDIR');
  } catch (err) {
    if (err instanceof ProvisionError) throw err;
    throw new ProvisionError(`cannot read image ${opts.image}: ${errnoOf(err) ?? (err as Error).message}`, errnoOf(err) ?? 'EINVAL');
  }
  if (!opts.name || opts.name.length < 3 || opts.name.length > 128 || !/^[A-Za-z0-9()[\] ./'@_-]+$/.test(opts.name)) {
    throw new ProvisionError(`AMI name '${opts.name}' must be 3 to 128 letters, digits or ( ) [ ] space . / ' @ _ -`, 'EUSAGE', 'name');
  }
  if (!(await isQcow2(opts.image))) return fn(opts.image);
  // qemu-img writes holes for zero runs, so the raw copy costs only the data it holds.
  return withScratch(os.tmpdir(), async (dir) => {
    const raw = path.join(dir, 'disk.raw');
    opts.log?.(`converting ${opts.image} from qcow2 to raw`);
    await run('qemu-img', ['convert', '-f', 'qcow2', '-O', 'raw', opts.image, raw], { label: `qemu-img convert ${opts.image}` });
    return fn(raw);
  });
}

/** What a push does: reuse the AMI of this name that holds this disk, or push one where there is none. */
export interface AmiPlan {
  action: 'reuse' | 'push';
  region: string;
  name: string;
  scan: DiskScan;
  bootCode: boolean;
  /** The AMI of this name, when there is one (it holds this disk: another is refused). */
  existing?: FoundImage;
}

/**
 * The one rule for an AMI, for the push and for check mode alike: AMI names are unique in a region,
 * so the AMI of this name either holds the same disk (its digest tag equals the local disk's) and
 * is reused, or holds another and is refused, never replaced behind the user's back.
 */
async function judgeAmi(opts: Ec2PushOptions, raw: string): Promise<AmiPlan> {
  const ec2 = ec2Client(opts.region, opts.clients?.ec2, opts.maxAttempts, opts.timeouts);
  const scan = await scanDisk(raw);
  const bootCode = await hasBootCode(raw);
  const existing = await findImageByName(ec2, opts.region, opts.name);
  if (existing && existing.diskSha256 !== scan.diskSha256) {
    throw new ProvisionError(
      `AMI '${opts.name}' (${existing.imageId}) already exists in ${opts.region} with different disk content (${existing.diskSha256?.slice(0, 12) ?? 'no digest tag'}, this disk ${scan.diskSha256.slice(0, 12)}); choose another name or destroy it first`,
      'EEXIST', 'name');
  }
  return { action: existing ? 'reuse' : 'push', region: opts.region, name: opts.name, scan, bootCode, ...(existing ? { existing } : {}) };
}

async function pushRaw(opts: Ec2PushOptions, raw: string, plan: AmiPlan, started: number): Promise<Ec2PushResult> {
  const { region } = opts;
  const ec2 = ec2Client(region, opts.clients?.ec2, opts.maxAttempts, opts.timeouts);
  const ebs = ebsClient(region, opts.clients?.ebs, opts.maxAttempts, opts.timeouts);
  const { scan, bootCode, existing } = plan;
  if (!bootCode && (opts.bootMode ?? 'legacy-bios') === 'legacy-bios') {
    opts.warn?.(`${opts.image} has no boot code in its MBR: the AMI will launch but not boot (build the image with boot loader grub)`);
  }
  const base = {
    region, name: opts.name, diskSha256: scan.diskSha256, volumeSizeGiB: scan.volumeSizeGiB,
    blockSize: EBS_BLOCK_SIZE, blocksTotal: scan.blocksTotal, bootCode,
  };
  if (existing) {
    opts.log?.(`AMI '${opts.name}' (${existing.imageId}) already holds this disk; reusing it`);
    return { ...base, imageId: existing.imageId, snapshotId: existing.snapshotId ?? '', reused: true, blocksSent: 0, bytesSkipped: 0, seconds: (Date.now() - started) / 1000 };
  }

  const undo = new Undo('push', opts.log ?? (() => {}));
  return undo.guard(async () => {
    undo.step('start snapshot');
    const start = await ebs.send(new StartSnapshotCommand({
      VolumeSize: scan.volumeSizeGiB,
      Description: opts.description ?? `ec2-inventory push of ${opts.name}`,
      Tags: [{ Key: TAG_DISK, Value: scan.diskSha256 }],
      ClientToken: crypto.randomUUID(),
      // Minutes before AWS errors out a snapshot left pending (a crashed push cleans up itself).
      Timeout: 60,
    })).catch((err: unknown) => { throw awsFailure(`StartSnapshot for ${opts.image}`, region, err); });
    const snapshotId = start.SnapshotId;
    if (!snapshotId) throw new ProvisionError(`StartSnapshot in ${region} answered without a snapshot id`, 'EAWS');
    // A snapshot nothing refers to only costs money: deleted unless an AMI comes to use it.
    undo.add(`snapshot ${snapshotId}`, () => ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId })));
    opts.log?.(`snapshot ${snapshotId}: sending ${scan.blocks.length} of ${scan.blocksTotal} blocks`);

    undo.step('send blocks');
    const sent = await putBlocks(ebs, raw, scan, snapshotId, opts, started);

    undo.step('complete snapshot');
    const done = await ebs.send(new CompleteSnapshotCommand({
      SnapshotId: snapshotId,
      ChangedBlocksCount: scan.blocks.length,
      Checksum: aggregateChecksum(scan.blocks),
      ChecksumAlgorithm: 'SHA256',
      ChecksumAggregationMethod: 'LINEAR',
    })).catch((err: unknown) => { throw awsFailure(`CompleteSnapshot of ${snapshotId}`, region, err); });
    if (done.Status === 'error') throw new ProvisionError(`CompleteSnapshot of ${snapshotId} in ${region}: the snapshot is in error`, 'EAWS');

    await waitUntil(waitForSnapshotCompleted, ec2, { SnapshotIds: [snapshotId] }, {
      what: `snapshot ${snapshotId} in ${region} to complete`, seconds: opts.waitSeconds ?? 1800, pollMs: opts.pollMs,
      failed: (last: DescribeSnapshotsCommandOutput | undefined) =>
        new ProvisionError(`snapshot ${snapshotId} in ${region} went into state error: ${last?.Snapshots?.[0]?.StateMessage ?? ''}`, 'EAWS'),
    });

    undo.step('register image');
    const reg = await ec2.send(new RegisterImageCommand({
      Name: opts.name,
      Description: opts.description,
      // The API's default for an EBS-backed image is i386, which nothing we build is.
      Architecture: opts.architecture ?? 'x86_64',
      BootMode: opts.bootMode ?? 'legacy-bios',
      VirtualizationType: 'hvm',
      EnaSupport: true,
      RootDeviceName: '/dev/xvda',
      BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: snapshotId, DeleteOnTermination: true, VolumeType: 'gp3' } }],
    })).catch((err: unknown) => { throw awsFailure(`RegisterImage '${opts.name}' from ${snapshotId}`, region, err); });
    const imageId = reg.ImageId;
    if (!imageId) throw new ProvisionError(`RegisterImage in ${region} answered without an AMI id`, 'EAWS');
    // The AMI holds the snapshot now: it is the push's result, even if tagging it fails.
    undo.keep();
    undo.step('tag image');
    // The snapshot id is also a tag because not every EC2-compatible API (moto among them) keeps
    // the block device mapping, and destroy --image needs it.
    await ec2.send(new CreateTagsCommand({
      Resources: [imageId],
      Tags: [{ Key: TAG_DISK, Value: scan.diskSha256 }, { Key: TAG_SNAPSHOT, Value: snapshotId }, { Key: 'Name', Value: opts.name }],
    })).catch((err: unknown) => { throw awsFailure(`CreateTags on ${imageId} (registered, but a later push will not recognise it)`, region, err); });
    return { ...base, imageId, snapshotId, reused: false, ...sent, seconds: (Date.now() - started) / 1000 };
  });
}

/** Whether the first 440 bytes (the MBR's boot code, before the disk signature) hold anything. */
async function hasBootCode(raw: string): Promise<boolean> {
  const fh = await fs.promises.open(raw, 'r');
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(440), 0, 440, 0);
    return buffer.subarray(0, bytesRead).some((b) => b !== 0);
  } finally {
    await fh.close();
  }
}

async function putBlocks(
  ebs: ReturnType<typeof ebsClient>, raw: string, scan: DiskScan, snapshotId: string, opts: Ec2PushOptions, started: number,
): Promise<{ blocksSent: number; bytesSkipped: number }> {
  const concurrency = Math.max(1, opts.concurrency ?? 32);
  const bytesSkipped = (scan.blocksTotal - scan.blocks.length) * EBS_BLOCK_SIZE;
  let next = 0;
  let blocksSent = 0;
  let failed: unknown;
  const fh = await fs.promises.open(raw, 'r');
  try {
    const worker = async (): Promise<void> => {
      // Each worker owns one buffer: memory stays at concurrency x 512 KiB whatever the disk size.
      const buf = Buffer.alloc(EBS_BLOCK_SIZE);
      while (failed === undefined && next < scan.blocks.length) {
        checkInterrupted();
        const block = scan.blocks[next++]!;
        await readBlock(fh, buf, block.index, scan.size);
        const sha = crypto.createHash('sha256').update(buf).digest();
        if (!sha.equals(block.sha256)) {
          throw new ProvisionError(`${opts.image} changed while it was being pushed (block ${block.index})`, 'EINVAL');
        }
        try {
          // A signal of its own per block (interruptible): the one shared `interruption` signal
          // given to 32 blocks in flight gathered a listener per request (MaxListenersExceededWarning).
          await interruptible((abortSignal) => ebs.send(new PutSnapshotBlockCommand({
            SnapshotId: snapshotId,
            BlockIndex: block.index,
            BlockData: buf,
            DataLength: EBS_BLOCK_SIZE,
            Checksum: sha.toString('base64'),
            ChecksumAlgorithm: 'SHA256',
            Progress: Math.floor((100 * (blocksSent + 1)) / scan.blocks.length),
          }), { abortSignal })); // a block cut short is lost with the snapshot anyway
        } catch (err) {
          checkInterrupted();
          throw awsFailure(`PutSnapshotBlock of block ${block.index} to ${snapshotId}`, opts.region, err);
        }
        blocksSent++;
        opts.onProgress?.({ blocksSent, blocksToSend: scan.blocks.length, bytesSkipped, bytesSent: blocksSent * EBS_BLOCK_SIZE, elapsedMs: Date.now() - started });
      }
    };
    const workers = Array.from({ length: Math.min(concurrency, Math.max(1, scan.blocks.length)) }, () =>
      worker().catch((err: unknown) => { failed ??= err; }));
    await Promise.all(workers);
  } finally {
    await fh.close();
  }
  if (failed !== undefined) throw failed;
  return { blocksSent, bytesSkipped };
}

export interface FoundImage {
  imageId: string;
  snapshotId: string | undefined;
  diskSha256: string | undefined;
}

/** The caller's own AMI of this name in the region, if any (AMI names are unique there). */
export async function findImageByName(ec2: ReturnType<typeof ec2Client>, region: string, name: string): Promise<FoundImage | undefined> {
  const r = await ec2.send(new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'name', Values: [name] }] }))
    .catch((err: unknown) => { throw awsFailure(`DescribeImages for the AMI named '${name}'`, region, err); });
  const image = r.Images?.find((i) => i.Name === name && i.State !== 'deregistered');
  if (!image?.ImageId) return undefined;
  const tag = (k: string) => image.Tags?.find((t) => t.Key === k)?.Value;
  return {
    imageId: image.ImageId,
    // Our own tag first: moto answers a made-up mapping for images it registered; on AWS both agree.
    snapshotId: tag(TAG_SNAPSHOT) ?? image.BlockDeviceMappings?.find((b) => b.Ebs?.SnapshotId)?.Ebs?.SnapshotId,
    diskSha256: tag(TAG_DISK),
  };
}
