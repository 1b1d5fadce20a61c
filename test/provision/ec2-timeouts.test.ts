// push ec2 never waits on a silent EBS: a block whose upload stalls, trickles or is reset times out
// per attempt (request_timeout), is retried on its own, and a block that never gets through ends
// the push with one error naming the block, the snapshot and the region, the snapshot deleted.
// And 32 blocks in flight no longer pile up abort listeners (MaxListenersExceededWarning).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { DescribeImagesCommand, DescribeSnapshotsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { startMoto, type Moto } from '../support/moto.js';
import { faults, startFaultServer, type FaultServer } from '../support/faults.js';
import { pushEc2, ProvisionError } from '../../lib/provision/index.js';
import { sparseDisk, useEndpoint } from './support/ec2.js';
import { scratch } from './support/fixture.js';

const region = 'us-east-1';
const MiB = 1024 * 1024;
const blockPut = /\/snapshots\/[^/]+\/blocks\/(\d+)$/;
/** Far above 2 attempts of 2 s plus backoff; far below "hangs". */
const BOUND_MS = 45_000;

describe('push ec2 with a stalled block', () => {
  let moto: Moto;
  let dir: string;
  let disk: string;
  before(async () => {
    moto = await startMoto();
    dir = scratch('ec2-timeouts');
    disk = path.join(dir, 'disk.raw');
    // three data blocks: 0, 2 and 4
    sparseDisk(disk, 8 * MiB, [0, 2, 4].map((b) => ({ offset: b * 512 * 1024, length: 4096 })));
    // moto's first EC2 call sets up its images for seconds: not what the 2 s bounds below are about.
    useEndpoint(moto.endpoint);
    await new EC2Client({ region }).send(new DescribeImagesCommand({ Owners: ['self'] }));
  });
  after(async () => moto?.stop());

  for (const fault of faults) {
    it(`${fault}: block 2 fails after its attempts, named with its snapshot and region; the snapshot is deleted`, async () => {
      const server: FaultServer = await startFaultServer({ fault, target: moto.endpoint, when: (method, url) => method === 'PUT' && blockPut.exec(url)?.[1] === '2' });
      useEndpoint(server.url);
      try {
        const started = Date.now();
        let snapshot = '';
        await assert.rejects(
          pushEc2({ region, image: disk, name: `stalled-${fault}`, maxAttempts: 2, timeouts: { connectTimeout: 1, requestTimeout: 2 }, pollMs: 50 }),
          (e: ProvisionError) => {
            assert.equal(e.code, 'EAWS');
            assert.match(e.message, /^push failed at step 'send blocks': PutSnapshotBlock of block 2 to (snap-\S+) in us-east-1 failed after 2 attempts: (no answer within 2 s \(request_timeout\)|the answer did not arrive within 2 s \(request_timeout\)|connection reset by the peer \(ECONNRESET\)) \(undone: snapshot snap-\S+\)$/);
            assert.doesNotMatch(e.message, /\n/);
            snapshot = /\(undone: snapshot (snap-[0-9a-f]+)\)/.exec(e.message)![1]!;
            return true;
          });
        assert.ok(Date.now() - started < BOUND_MS, 'ended within the bound');
        assert.equal(server.faulted, 2, 'the block was tried twice (max_attempts), no more');
        useEndpoint(moto.endpoint);
        await assert.rejects(new EC2Client({ region }).send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshot] })), /InvalidSnapshot\.NotFound/);
        for (let i = 0; i < 50 && server.open() > 0; i++) await new Promise((r) => setTimeout(r, 100));
        assert.equal(server.open(), 0, 'no connection left open');
      } finally {
        useEndpoint(moto.endpoint);
        await server.close();
      }
    });
  }

  it('a block that stalls once is retried on its own and the push completes', async () => {
    let stalled = 0;
    const server = await startFaultServer({
      fault: 'silent', target: moto.endpoint,
      when: (method, url) => method === 'PUT' && blockPut.exec(url)?.[1] === '4' && stalled++ === 0,
    });
    useEndpoint(server.url);
    try {
      const r = await pushEc2({ region, image: disk, name: 'stalled-once', maxAttempts: 3, timeouts: { connectTimeout: 1, requestTimeout: 2 }, pollMs: 50 });
      assert.equal(r.blocksSent, 3);
      assert.equal(server.faulted, 1, 'only the stalled attempt met the fault');
      assert.equal(stalled, 2, 'block 4 was sent twice, the others once');
    } finally {
      useEndpoint(moto.endpoint);
      await server.close();
    }
  });

  it('32 blocks in flight: no MaxListenersExceededWarning', async () => {
    useEndpoint(moto.endpoint);
    const many = path.join(dir, 'many.raw');
    sparseDisk(many, 40 * MiB, Array.from({ length: 64 }, (_, b) => ({ offset: b * 512 * 1024, length: 512 })));
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    try {
      const r = await pushEc2({ region, image: many, name: 'many-blocks', concurrency: 32, pollMs: 50 });
      assert.equal(r.blocksSent, 64);
      await new Promise((res) => setImmediate(res)); // warnings are emitted on the next tick
    } finally {
      process.off('warning', onWarning);
    }
    assert.deepEqual(warnings.filter((w) => w.startsWith('MaxListenersExceededWarning')), []);
  });
});
