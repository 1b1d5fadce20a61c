// push ec2 against a real moto_server through the real SDK clients: only the data blocks travel,
// each reads back identical, the snapshot completes and an AMI is registered; a second push of the
// same disk reuses it; a block that keeps failing is reported by index and leaves no snapshot.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { EBSClient, GetSnapshotBlockCommand, ListSnapshotBlocksCommand } from '@aws-sdk/client-ebs';
import { DescribeImagesCommand, DescribeSnapshotsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { startMoto, type Moto } from '../support/moto.js';
import { awsEnv } from '../support/run.js';
import { startProxy, type Proxy } from '../support/proxy.js';
import { pushEc2, ProvisionError } from '../../lib/provision/index.js';
import { aggregateChecksum, scanDisk, EBS_BLOCK_SIZE } from '../../lib/provision/ec2/push.js';
import { recordInputs, sparseDisk, startProvision, touchedBlocks, useEndpoint, type Extent } from './support/ec2.js';
import { scratch } from './support/fixture.js';
import { needTools } from './support/tools.js';

const region = 'us-east-1';
const MiB = 1024 * 1024;
const size = 2 * 1024 * MiB;
// Unaligned on purpose: an extent that starts mid-block and one that ends the disk.
const extents: Extent[] = [
  { offset: 0, length: 1 * MiB },
  { offset: 100 * MiB + 12345, length: 3 * MiB },
  { offset: size - 200 * 1024, length: 200 * 1024 },
];

describe('push ec2 (moto)', () => {
  let moto: Moto;
  let dir: string;
  let disk: string;
  before(async () => {
    moto = await startMoto();
    useEndpoint(moto.endpoint);
    dir = scratch('ec2push');
    disk = path.join(dir, 'disk.raw');
    sparseDisk(disk, size, extents);
  });
  after(async () => moto?.stop());

  it('sends only the non-zero blocks, each identical on the server, then registers an x86_64 HVM ENA AMI', async () => {
    const ec2 = new EC2Client({ region });
    const ebs = new EBSClient({ region });
    const ec2Calls = recordInputs(ec2);
    const ebsCalls = recordInputs(ebs);
    const r = await pushEc2({ region, image: disk, name: 'web-2g', clients: { ec2, ebs }, pollMs: 50 });
    const expected = touchedBlocks(extents);
    assert.equal(r.blocksTotal, size / EBS_BLOCK_SIZE);
    assert.equal(r.blocksSent, expected.length);
    assert.equal(r.bytesSkipped, (r.blocksTotal - expected.length) * EBS_BLOCK_SIZE);
    assert.equal(r.volumeSizeGiB, 2);
    assert.equal(r.reused, false);
    assert.equal(r.bootCode, true, 'the first extent fills the MBR');
    assert.match(r.snapshotId, /^snap-/);
    assert.match(r.imageId, /^ami-/);

    const listed = await ebs.send(new ListSnapshotBlocksCommand({ SnapshotId: r.snapshotId }));
    // moto answers BlockIndex as the string it took from the URL; AWS sends a number.
    assert.deepEqual((listed.Blocks ?? []).map((b) => Number(b.BlockIndex)).sort((a, b) => a - b), expected);
    const fd = fs.openSync(disk, 'r');
    try {
      for (const index of expected) {
        const got = await ebs.send(new GetSnapshotBlockCommand({ SnapshotId: r.snapshotId, BlockIndex: index, BlockToken: 'unused-by-moto' }));
        const bytes = Buffer.from(await got.BlockData!.transformToByteArray());
        const want = Buffer.alloc(EBS_BLOCK_SIZE);
        fs.readSync(fd, want, 0, EBS_BLOCK_SIZE, index * EBS_BLOCK_SIZE);
        assert.ok(bytes.equals(want), `block ${index} reads back identical`);
        assert.equal(got.Checksum, crypto.createHash('sha256').update(want).digest('base64'));
        assert.equal(got.ChecksumAlgorithm, 'SHA256');
      }
    } finally {
      fs.closeSync(fd);
    }

    // moto accepts CompleteSnapshot's checksum without checking it, so the test checks what was sent.
    const complete = ebsCalls.get('CompleteSnapshotCommand')![0] as Record<string, unknown>;
    const scan = await scanDisk(disk);
    assert.equal(complete.ChangedBlocksCount, expected.length);
    assert.equal(complete.ChecksumAggregationMethod, 'LINEAR');
    assert.equal(complete.Checksum, aggregateChecksum(scan.blocks));
    const linear = crypto.createHash('sha256');
    for (const b of scan.blocks) linear.update(b.sha256);
    assert.equal(complete.Checksum, linear.digest('base64'));

    // moto's RegisterImage keeps only name and description, so the request itself is checked.
    const reg = ec2Calls.get('RegisterImageCommand')![0] as Record<string, unknown>;
    assert.equal(reg.Architecture, 'x86_64');
    assert.equal(reg.VirtualizationType, 'hvm');
    assert.equal(reg.EnaSupport, true);
    assert.equal(reg.RootDeviceName, '/dev/xvda');
    assert.deepEqual(reg.BlockDeviceMappings, [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: r.snapshotId, DeleteOnTermination: true, VolumeType: 'gp3' } }]);
    const snap = await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [r.snapshotId] }));
    assert.equal(snap.Snapshots?.[0]?.State, 'completed');
    const img = await ec2.send(new DescribeImagesCommand({ ImageIds: [r.imageId] }));
    assert.equal(img.Images?.[0]?.Name, 'web-2g');

    // Same disk, same name: the AMI is reused and no block is sent again.
    const again = await pushEc2({ region, image: disk, name: 'web-2g', clients: { ec2, ebs }, pollMs: 50 });
    assert.equal(again.reused, true);
    assert.equal(again.imageId, r.imageId);
    assert.equal(again.snapshotId, r.snapshotId);
    assert.equal(ebsCalls.get('PutSnapshotBlockCommand')!.length, expected.length);

    // Same name, other content: refused, naming the AMI.
    const other = path.join(dir, 'other.raw');
    sparseDisk(other, 8 * MiB, [{ offset: 0, length: 4096 }]);
    await assert.rejects(pushEc2({ region, image: other, name: 'web-2g', clients: { ec2, ebs } }),
      (e: ProvisionError) => e.code === 'EEXIST' && e.message.includes(r.imageId) && e.message.includes('web-2g'));
  });

  it('a disk without boot code in its MBR is pushed, with a warning that it will not boot (legacy-bios only)', async () => {
    const blank = path.join(dir, 'no-boot-code.raw');
    sparseDisk(blank, 8 * MiB, [{ offset: 1 * MiB, length: 4096 }]);
    const warnings: string[] = [];
    const r = await pushEc2({ region, image: blank, name: 'no-boot-code', pollMs: 50, warn: (m) => warnings.push(m) });
    assert.equal(r.bootCode, false);
    assert.match(r.imageId, /^ami-/);
    assert.deepEqual(warnings, [`${blank} has no boot code in its MBR: the AMI will launch but not boot (build the image with boot loader grub)`]);
    const uefi: string[] = [];
    await pushEc2({ region, image: blank, name: 'no-boot-code-uefi', bootMode: 'uefi', pollMs: 50, warn: (m) => uefi.push(m) });
    assert.deepEqual(uefi, [], 'a UEFI image boots from its EFI partition, not the MBR');
  });

  it('reads a qcow2 image as the disk it describes', async (t) => {
    if (!needTools(t, ['qemu-img'])) return;
    const small = path.join(dir, 'small.raw');
    const smallExtents = [{ offset: 3 * MiB, length: 700 * 1024 }];
    sparseDisk(small, 64 * MiB, smallExtents);
    const qcow = path.join(dir, 'small.qcow2');
    const { execFileSync } = await import('node:child_process');
    execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', small, qcow]);
    const r = await pushEc2({ region, image: qcow, name: 'small-qcow2', pollMs: 50 });
    assert.equal(r.blocksSent, touchedBlocks(smallExtents).length);
    assert.equal(r.diskSha256, (await scanDisk(small)).diskSha256);
    assert.equal(r.volumeSizeGiB, 1);
  });

  it('SIGINT while blocks are in flight: the unfinished snapshot is deleted, no AMI, exit 130', async () => {
    const proxy = await startProxy(moto.endpoint);
    try {
      // The blocks are held in the proxy; StartSnapshot before them and DeleteSnapshot after pass.
      proxy.delayFor = (_body, url) => (/\/snapshots\/[^/]+\/blocks\/\d+$/.test(url) ? 30_000 : undefined);
      proxy.recorded = [];
      const push = startProvision(['push', 'ec2', '--region', region, '--image', disk, '--name', 'interrupted-push'], awsEnv(proxy.url));
      await push.until(() => proxy.recorded?.some((r) => r.path.includes('/blocks/')) ?? false, 'a block sent');
      const { code, ms } = await push.stop('SIGINT');
      const stderr = push.stderr;
      assert.equal(code, 130, stderr);
      assert.ok(ms < 20_000, 'the held blocks were abandoned, not waited out');
      assert.equal(push.stdout, '');
      const snapshotId = /undone: snapshot (snap-[0-9a-f]+)/.exec(stderr)?.[1];
      assert.ok(snapshotId, stderr);
      assert.match(stderr, /push failed at step 'send blocks': interrupted by SIGINT \(undone: snapshot snap-[0-9a-f]+\)/);
      const ec2 = new EC2Client({ region });
      await assert.rejects(ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] })), /InvalidSnapshot\.NotFound/);
      const imgs = await ec2.send(new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'name', Values: ['interrupted-push'] }] }));
      assert.equal(imgs.Images?.length ?? 0, 0);
    } finally {
      await proxy.close();
    }
  });

  it('a PutSnapshotBlock that keeps failing: error names the block and snapshot, the snapshot is deleted, no AMI', async () => {
    const proxy: Proxy = await startProxy(moto.endpoint);
    try {
      proxy.failWith = 503;
      proxy.failWhen = (method, url) => method === 'PUT' && /\/snapshots\/[^/]+\/blocks\/\d+$/.test(url);
      const ec2 = new EC2Client({ region, endpoint: proxy.url });
      const ebs = new EBSClient({ region, endpoint: proxy.url, maxAttempts: 3 });
      const small = path.join(dir, 'fail.raw');
      sparseDisk(small, 16 * MiB, [{ offset: 0, length: 4096 }]);
      const ebsCalls = recordInputs(ebs);
      const logs: string[] = [];
      await assert.rejects(pushEc2({ region, image: small, name: 'never-registered', clients: { ec2, ebs }, log: (m) => logs.push(m) }),
        (e: ProvisionError) => {
          assert.equal(e.code, 'EAWS');
          assert.match(e.message, /^push failed at step 'send blocks': PutSnapshotBlock of block 0 to snap-\S+ in us-east-1 failed after 3 attempts[\s\S]* \(undone: snapshot snap-[0-9a-f]+\)$/);
          return true;
        });
      const snapshotId = (ebsCalls.get('PutSnapshotBlockCommand')![0] as { SnapshotId: string }).SnapshotId;
      assert.ok(logs.some((l) => l.includes(`undone: snapshot ${snapshotId}`)), logs.join('\n'));
      proxy.failWith = 0;
      await assert.rejects(ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] })), /InvalidSnapshot\.NotFound/);
      const imgs = await ec2.send(new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'name', Values: ['never-registered'] }] }));
      assert.equal(imgs.Images?.length ?? 0, 0);
    } finally {
      await proxy.close();
    }
  });
});
