// The registry has its own lock: a cron refresh that holds the cache's refresh lock for longer than
// cache_lock_timeout must not make a launch fail to register (and so undo the instances or guests it
// has just launched). Both launches run while this process holds the refresh lock.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startMoto, type Moto } from '../support/moto.js';
import { awsEnv, run, tempDir, writeIni } from '../support/run.js';
import { inventoryBin, repoRoot } from '../support/paths.js';
import { readSettings } from '../../lib/index.js';
import { cacheFiles, lockFiles } from '../../lib/store/fileStore.js';
import type { CacheLock } from '../../lib/store/types.js';
import { sparseDisk } from './support/ec2.js';
import { URI, buildServingImage, domains, removePool, startLibvirt, volumes, type GuestImage, type Libvirt } from './support/libvirt.js';
import { inCI } from './support/tools.js';

const region = 'us-east-1';
const provisionBin = path.join(repoRoot, 'bin', 'provision');
const POOL = 'ec2inv-locktest';

describe('registering while a refresh holds the cache lock past cache_lock_timeout', { concurrency: 1 }, () => {
  let moto: Moto;
  let dir: string;
  let ini: string;
  let refresh: CacheLock | undefined;
  const env = () => awsEnv(moto.endpoint, { EC2_INI_PATH: ini });
  const provision = (args: string[]) => run(provisionBin, args, env());

  before(async () => {
    moto = await startMoto();
    dir = tempDir('ec2inv-reglock-');
    ini = writeIni(dir, 'lock', { regions: region, route53: 'False', rds: 'False', cache_max_age: '0', cache_lock_timeout: '1' });
    const files = cacheFiles(readSettings(ini).cachePath);
    fs.mkdirSync(files.dir, { recursive: true, mode: 0o700 });
    refresh = await lockFiles(files, 1000);
    assert.ok(fs.existsSync(files.lock), 'the refresh lock is held for the whole describe');
  });
  after(async () => {
    await refresh?.release();
    await moto?.stop();
  });

  it('the held lock is a real refresh lock: a refresh gives up after cache_lock_timeout', async () => {
    const r = await run(inventoryBin, ['--refresh-only'], env());
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /another refresh of .* has held .*ansible-ec2\.lock for more than 1 s \(cache_lock_timeout\)/);
  });

  it('launch ec2 registers its instances and keeps them', async () => {
    const disk = path.join(dir, 'disk.raw');
    sparseDisk(disk, 4 * 1024 * 1024, [{ offset: 0, length: 4096 }]);
    const pushed = await provision(['push', 'ec2', '--region', region, '--image', disk, '--name', 'lock-test']);
    assert.equal(pushed.code, 0, pushed.stderr);
    const ami = (JSON.parse(pushed.stdout) as { imageId: string }).imageId;
    const launched = await provision(['launch', 'ec2', '--region', region, '--ami', ami, '--instance-type', 't3.micro', '--groups', 'locked', '--wait', '60']);
    assert.equal(launched.code, 0, launched.stderr);
    const name = (JSON.parse(launched.stdout) as { instances: { name: string }[] }).instances[0]!.name;
    const listed = await provision(['list']);
    assert.deepEqual((JSON.parse(listed.stdout) as { name: string; groups: string[] }[]).map((h) => [h.name, h.groups]), [[name, ['locked']]]);
    const destroyed = await provision(['destroy', 'ec2', '--region', region, '--name', name]);
    assert.equal(destroyed.code, 0, destroyed.stderr);
  });

  it('launch kvm registers its guest and keeps it', async (t) => {
    const skips: string[] = [];
    const fake = { skip: (why: string) => skips.push(why), diagnostic: (m: string) => t.diagnostic(m) } as unknown as import('node:test').TestContext;
    const lv: Libvirt | undefined = startLibvirt(fake);
    const img: GuestImage | undefined = lv ? buildServingImage(fake, dir) : undefined;
    if (!lv || !img) {
      if (inCI) throw new Error(skips[0] ?? 'libvirt or the guest image is not available');
      t.skip(skips[0] ?? 'libvirt or the guest image is not available');
      lv?.stop();
      return;
    }
    try {
      removePool(POOL);
      fs.chmodSync(dir, 0o711);
      const pushed = await provision(['push', 'kvm', '--uri', URI, '--pool', POOL, '--create-pool', path.join(dir, 'pool'), '--image', img.image, '--volume', 'base.qcow2']);
      assert.equal(pushed.code, 0, pushed.stderr);
      const launched = await provision(['launch', 'kvm', '--uri', URI, '--pool', POOL, '--volume', 'base.qcow2', '--name', 'ec2inv-tlock', '--groups', 'locked', '--wait', '0']);
      assert.equal(launched.code, 0, launched.stderr);
      const listed = JSON.parse((await provision(['list'])).stdout) as { name: string; groups: string[] }[];
      assert.deepEqual(listed.map((h) => [h.name, h.groups]), [['ec2inv-tlock', ['locked']]]);
      assert.ok(domains().includes('ec2inv-tlock'), 'the guest was kept');
      const destroyed = await provision(['destroy', 'kvm', '--uri', URI, '--name', 'ec2inv-tlock']);
      assert.equal(destroyed.code, 0, destroyed.stderr);
      assert.deepEqual(volumes(POOL).filter((v) => v.startsWith('ec2inv-tlock')), []);
    } finally {
      for (const d of domains()) if (d === 'ec2inv-tlock') await provision(['destroy', 'kvm', '--uri', URI, '--name', d, '--force']);
      removePool(POOL);
      lv.stop();
    }
  });
});
