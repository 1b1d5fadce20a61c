// KVM provisioning against a real libvirtd (started here) with real busybox guests under TCG:
// push → launch → inventory → destroy, and failure injection at each step leaving nothing behind.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startMoto, freePort, type Moto } from '../support/moto.js';
import { run, awsEnv, writeIni } from '../support/run.js';
import { inventoryBin } from '../support/paths.js';
import { scratch } from './support/fixture.js';
import { cli, type CliResult } from './support/inspect.js';
import { MARKER } from './support/guest.js';
import { READY, URI, buildServingImage, domains, removePool, startLibvirt, volumes, type GuestImage, type Libvirt } from './support/libvirt.js';
import { hasTool, inCI } from './support/tools.js';

const POOL = 'ec2inv-test';

function get(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/', timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve(body));
    }).on('error', reject);
  });
}

function ok(r: CliResult): Record<string, unknown> {
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

function failed(r: CliResult, step: RegExp): void {
  assert.equal(r.status, 1, `expected a failure, got ${r.status}: ${r.stdout}${r.stderr}`);
  assert.equal(r.stdout, '', 'no summary on failure');
  assert.match(r.stderr, step);
}

describe('provision push / launch / destroy kvm (real libvirtd, TCG guests)', { concurrency: 1 }, () => {
  let lv: Libvirt | undefined;
  let moto: Moto | undefined;
  let dir: string;
  let img: GuestImage | undefined;
  let ini: string;
  let env: NodeJS.ProcessEnv;
  let poolDir: string;
  let skipWhy: string | undefined;

  before(async (c) => {
    const t = c as unknown as import('node:test').TestContext;
    const skips: string[] = [];
    const fake = { skip: (why: string) => skips.push(why), diagnostic: (m: string) => process.stderr.write(`# ${m}\n`) } as unknown as import('node:test').TestContext;
    void t;
    lv = startLibvirt(fake);
    dir = scratch('kvm');
    if (lv) img = buildServingImage(fake, dir);
    skipWhy = skips[0];
    if (!lv || !img) return;
    removePool(POOL);
    // qemu runs as libvirt-qemu and must reach the pool folder: mkdtemp makes the scratch 0700.
    fs.chmodSync(dir, 0o711);
    poolDir = path.join(dir, 'pool');
    moto = await startMoto();
    ini = writeIni(dir, 'kvm', { regions: 'us-east-1', rds: 'False', route53: 'False' });
    env = { ...process.env, EC2_INI_PATH: ini };
  });

  after(async () => {
    if (lv) {
      for (const d of domains()) if (d.startsWith('ec2inv-t')) await Promise.resolve(cli(['destroy', 'kvm', '--uri', URI, '--name', d], { env }));
      removePool(POOL);
      lv.stop();
    }
    await moto?.stop();
  });

  const ready = (t: import('node:test').TestContext): boolean => {
    if (lv && img) return true;
    if (inCI) throw new Error(skipWhy ?? 'libvirt or the guest image is not available');
    t.skip(skipWhy ?? 'libvirt or the guest image is not available');
    return false;
  };

  it('push: creates the pool, uploads image + kernel + initrd verified; again is a no-op; another image under the name is refused', (t) => {
    if (!ready(t)) return;
    const first = ok(cli(['push', 'kvm', '--uri', URI, '--pool', POOL, '--create-pool', poolDir, '--image', img!.image, '--volume', 'serve.qcow2'], { env }));
    assert.equal(first['poolCreated'], true);
    assert.equal((first['image'] as { action: string }).action, 'uploaded');
    assert.equal((first['kernel'] as { action: string }).action, 'uploaded');
    assert.equal((first['initrd'] as { action: string }).action, 'uploaded');
    assert.ok(fs.readFileSync(path.join(poolDir, 'serve.qcow2')).equals(fs.readFileSync(img!.image)), 'byte-identical in the pool');
    assert.deepEqual(volumes(POOL), ['serve.qcow2', 'serve.qcow2.initrd', 'serve.qcow2.vmlinuz']);
    const again = ok(cli(['push', 'kvm', '--uri', URI, '--pool', POOL, '--image', img!.image, '--volume', 'serve.qcow2'], { env }));
    assert.equal((again['image'] as { action: string }).action, 'unchanged');
    assert.equal(again['poolCreated'], false);
    const other = path.join(dir, 'other.qcow2');
    fs.copyFileSync(img!.kernel, other.replace('.qcow2', '.raw'));
    const refused = cli(['push', 'kvm', '--uri', URI, '--pool', POOL, '--image', other.replace('.qcow2', '.raw'), '--volume', 'serve.qcow2', '--kernel', img!.kernel], { env });
    failed(refused, /holds a different image \(use --force/);
    assert.deepEqual(volumes(POOL), ['serve.qcow2', 'serve.qcow2.initrd', 'serve.qcow2.vmlinuz']);
  });

  it('launch two guests with their own addresses and groups → ready, in --list and ansible-inventory --graph → destroy leaves nothing', async (t) => {
    if (!ready(t)) return;
    const started = Date.now();
    const [p1, p2] = [await freePort(), await freePort()];
    const web = ok(cli(['launch', 'kvm', '--uri', URI, '--pool', POOL, '--volume', 'serve.qcow2', '--name', 'ec2inv-tweb',
      '--ip', '10.0.2.21/24', '--gateway', '10.0.2.2', '--forward', `${p1}:80`, '--groups', 'web,tag_Env_prod', '--var', 'role=frontend', '--wait', '90'], { env }));
    const db = ok(cli(['launch', 'kvm', '--uri', URI, '--pool', POOL, '--volume', 'serve.qcow2', '--name', 'ec2inv-tdb',
      '--ip', '10.0.2.32/24', '--gateway', '10.0.2.2', '--forward', `${p2}:80`, '--groups', 'db', '--ready-line', READY, '--wait', '90'], { env }));
    t.diagnostic(`two guests launched and ready in ${Date.now() - started} ms`);
    const g1 = (web['guests'] as { name: string; uuid: string; serialLog: string; domainType: string }[])[0]!;
    const g2 = (db['guests'] as { name: string; uuid: string; serialLog: string }[])[0]!;
    assert.equal(g1.domainType, hasTool('virsh') && /\b(vmx|svm)\b/.test(fs.readFileSync('/proc/cpuinfo', 'utf8')) ? g1.domainType : 'qemu');
    assert.equal(await get(p1), 'host=ec2inv-tweb addr=10.0.2.21/24\n');
    assert.equal(await get(p2), 'host=ec2inv-tdb addr=10.0.2.32/24\n');
    assert.match(fs.readFileSync(g2.serialLog, 'utf8'), new RegExp(`${MARKER} host=ec2inv-tdb addr=10.0.2.32/24 gw=10.0.2.2`));
    assert.deepEqual(volumes(POOL), ['ec2inv-tdb.qcow2', 'ec2inv-tweb.qcow2', 'serve.qcow2', 'serve.qcow2.initrd', 'serve.qcow2.vmlinuz']);
    assert.ok(fs.readFileSync(path.join(poolDir, 'serve.qcow2')).equals(fs.readFileSync(img!.image)), 'the pushed image stays pristine');

    const dup = cli(['launch', 'kvm', '--uri', URI, '--pool', POOL, '--volume', 'serve.qcow2', '--name', 'ec2inv-tweb', '--groups', 'web', '--wait', '0'], { env });
    failed(dup, /failed at step 'check names': a domain named 'ec2inv-tweb' already exists/);

    const inv = await run(inventoryBin, ['--list', '--refresh-cache'], awsEnv(moto!.endpoint, { EC2_INI_PATH: ini }));
    assert.equal(inv.code, 0, inv.stderr);
    const list = JSON.parse(inv.stdout) as Record<string, string[]> & { _meta: { hostvars: Record<string, Record<string, unknown>> } };
    assert.deepEqual(list['web'], ['ec2inv-tweb']);
    assert.deepEqual(list['tag_Env_prod'], ['ec2inv-tweb']);
    assert.deepEqual(list['db'], ['ec2inv-tdb']);
    assert.deepEqual(list._meta.hostvars['ec2inv-tweb'], {
      ansible_host: '127.0.0.1', ansible_port: p1, role: 'frontend', kvm_uri: URI, kvm_domain: 'ec2inv-tweb', kvm_uuid: g1.uuid,
      kvm_pool: POOL, kvm_volume: 'ec2inv-tweb.qcow2', registry_source: 'kvm',
    });
    assert.equal(list._meta.hostvars['ec2inv-tdb']?.['ansible_port'], p2);

    if (hasTool('ansible-inventory') || inCI) {
      const dirA = path.join(dir, 'ansible');
      const graph = await run('ansible-inventory', ['-i', inventoryBin, '--graph'], awsEnv(moto!.endpoint, {
        EC2_INI_PATH: ini, ANSIBLE_LOCAL_TEMP: path.join(dirA, 'tmp'), ANSIBLE_HOME: path.join(dirA, 'home'), ANSIBLE_NOCOLOR: '1', ANSIBLE_INVENTORY_ENABLED: 'script', LANG: 'C.UTF-8',
      }));
      assert.equal(graph.code, 0, graph.stderr);
      assert.match(graph.stdout, /@web:\n[ |]*--ec2inv-tweb/);
      assert.match(graph.stdout, /@db:\n[ |]*--ec2inv-tdb/);
    } else t.diagnostic('ansible-inventory not installed: --graph not checked');

    for (const name of ['ec2inv-tweb', 'ec2inv-tdb']) {
      const d = ok(cli(['destroy', 'kvm', '--uri', URI, '--name', name], { env }));
      assert.deepEqual([d['domain'], (d['volume'] as { action: string }).action, d['registry']], ['destroyed', 'deleted', 'removed']);
      const again = ok(cli(['destroy', 'kvm', '--uri', URI, '--name', name], { env }));
      assert.deepEqual([again['domain'], again['volume'], again['registry']], ['absent', null, 'absent']);
    }
    assert.deepEqual(domains().filter((d) => d.startsWith('ec2inv-t')), []);
    assert.deepEqual(volumes(POOL), ['serve.qcow2', 'serve.qcow2.initrd', 'serve.qcow2.vmlinuz']);
    assert.deepEqual(JSON.parse(cli(['list'], { env }).stdout), []);
    assert.ok(!fs.existsSync(g1.serialLog), 'the serial log went with the guest');
  });
});
