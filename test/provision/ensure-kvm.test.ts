// KVM guests as a desired state through ec2-provision --json (what the Ansible modules call),
// against a real libvirtd with busybox guests under TCG: push twice uploads once, the same launch
// twice launches once, count adds and removes the difference, memory/vCPU/group changes show as a
// diff, check mode creates nothing, state absent leaves nothing and is idempotent.
// Boots guests: run under `flock /tmp/ec2inv-heavy.lock` on shared machines.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { writeIni } from '../support/run.js';
import { scratch } from './support/fixture.js';
import { cli, provisionBin } from './support/inspect.js';
import { URI, buildServingImage, domains, removePool, startLibvirt, volumes, type GuestImage, type Libvirt } from './support/libvirt.js';
import { inCI } from './support/tools.js';

const POOL = 'ec2inv-i25ensure';
const NAME = 'ec2inv-i25g';

interface Answer { changed: boolean; failed?: boolean; msg?: string; plan?: { launch: string[]; destroy: string[]; update: { name: string; after: Record<string, unknown> }[] }; hosts?: { name: string; groups: string[] }[]; [k: string]: unknown }

describe('ec2-provision --json: push kvm and launch kvm as a desired state (real libvirtd)', { concurrency: 1 }, () => {
  let lv: Libvirt | undefined;
  let img: GuestImage | undefined;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let skipWhy: string | undefined;

  before(() => {
    const skips: string[] = [];
    const fake = { skip: (why: string) => skips.push(why), diagnostic: (m: string) => process.stderr.write(`${m}\n`) } as unknown as TestContext;
    lv = startLibvirt(fake);
    dir = scratch('ensure-kvm');
    if (lv) img = buildServingImage(fake, dir);
    skipWhy = skips[0];
    if (!lv || !img) return;
    removePool(POOL);
    fs.chmodSync(dir, 0o711);
    env = { ...process.env, EC2_INI_PATH: writeIni(dir, 'ensure', { regions: 'us-east-1', rds: 'False', route53: 'False' }) };
  });

  after(() => {
    if (!lv) return;
    for (const d of domains()) if (d.startsWith(NAME)) cli(['destroy', 'kvm', '--uri', URI, '--name', d, '--force'], { env });
    removePool(POOL);
    for (const n of fs.readdirSync('/var/log/libvirt/qemu')) if (n.startsWith(NAME) && n.endsWith('.log')) fs.rmSync(path.join('/var/log/libvirt/qemu', n), { force: true });
    lv.stop();
  });

  const ready = (t: TestContext): boolean => {
    if (lv && img) return true;
    if (inCI) throw new Error(skipWhy ?? 'libvirt or the guest image is not available');
    t.skip(skipWhy ?? 'libvirt or the guest image is not available');
    return false;
  };

  function request(body: unknown): Answer {
    const r = spawnSync(process.execPath, [provisionBin, '--json'], { input: JSON.stringify(body), encoding: 'utf8', env, timeout: 300_000 });
    const answer = JSON.parse(r.stdout) as Answer;
    assert.equal(r.status, answer.failed ? 1 : 0);
    return answer;
  }
  const ok = (body: unknown): Answer => {
    const a = request(body);
    assert.ok(!a.failed, a.msg);
    return a;
  };
  const guests = (count: number, extra: Record<string, unknown> = {}, rest: Record<string, unknown> = {}) => ({
    command: 'launch kvm', ...rest,
    options: { uri: URI, pool: POOL, volume: 'serve.qcow2', name: NAME, count, groups: ['web'], memory: '128M', waitSeconds: 0, restrictNetwork: true, ...extra },
  });
  const ours = () => domains().filter((d) => d.startsWith(NAME));

  const push = () => ({ command: 'push kvm', options: { uri: URI, pool: POOL, createPool: path.join(dir, 'pool'), image: img!.image, volume: 'serve.qcow2' } });

  it('push kvm: check uploads nothing, then it uploads once and answers changed=false', (t) => {
    if (!ready(t)) return;
    assert.equal(ok({ ...push(), check: true }).changed, true);
    assert.equal(spawnSync('virsh', ['-c', URI, 'pool-info', POOL]).status, 1, 'check mode created the pool');
    assert.equal(ok(push()).changed, true);
    assert.equal(ok(push()).changed, false);
  });

  it('launch kvm that fails fails with one line and leaves no domain, volume or registry entry', (t) => {
    if (!ready(t)) return;
    const failed = request(guests(2, { volume: 'missing.qcow2' }));
    assert.equal(failed.failed, true);
    assert.match(failed.msg ?? '', /^volume: launch failed at step 'check pool and volume': volume 'missing\.qcow2' not found in pool .*\(nothing to undo\)$/);
    assert.deepEqual(ours(), []);
    assert.deepEqual(volumes(POOL), ['serve.qcow2', 'serve.qcow2.initrd', 'serve.qcow2.vmlinuz']);
    const listed = JSON.parse(spawnSync(process.execPath, [provisionBin, 'list'], { env, encoding: 'utf8' }).stdout) as unknown[];
    assert.deepEqual(listed, []);
  });

  it('launch kvm: check creates nothing; count 2 launches two, the same request again changes nothing', (t) => {
    if (!ready(t)) return;
    const planned = ok(guests(2, {}, { check: true }));
    assert.equal(planned.changed, true);
    assert.deepEqual(planned.plan?.launch, [`${NAME}-1`, `${NAME}-2`]);
    assert.deepEqual(ours(), []);
    assert.deepEqual(volumes(POOL), ['serve.qcow2', 'serve.qcow2.initrd', 'serve.qcow2.vmlinuz']);
    const first = ok(guests(2));
    assert.equal(first.changed, true);
    assert.deepEqual(ours(), [`${NAME}-1`, `${NAME}-2`]);
    const again = ok(guests(2));
    assert.equal(again.changed, false, JSON.stringify(again.plan));
    assert.deepEqual(again.hosts?.map((h) => h.name), [`${NAME}-1`, `${NAME}-2`]);
  });

  it('launch kvm: count 3 adds one, count 2 removes it (exact_count), with nothing else touched', (t) => {
    if (!ready(t)) return;
    const uuid = (n: string) => spawnSync('virsh', ['-c', URI, 'domuuid', n], { encoding: 'utf8' }).stdout.trim();
    const kept = uuid(`${NAME}-1`);
    const up = ok(guests(3));
    assert.deepEqual(up.plan?.launch, [`${NAME}-3`]);
    assert.deepEqual(ours(), [`${NAME}-1`, `${NAME}-2`, `${NAME}-3`]);
    assert.equal(uuid(`${NAME}-1`), kept, 'an existing guest was replaced');
    const down = ok(guests(2));
    assert.deepEqual(down.plan?.destroy, [`${NAME}-3`]);
    assert.deepEqual(ours(), [`${NAME}-1`, `${NAME}-2`]);
    assert.ok(!volumes(POOL).includes(`${NAME}-3.qcow2`));
    assert.equal(ok(guests(2)).changed, false);
  });

  it('launch kvm: other memory, vCPUs and groups are a diff, applied once', (t) => {
    if (!ready(t)) return;
    const changed = ok(guests(2, { memory: '192M', vcpus: 2, groups: ['web', 'blue'] }));
    assert.equal(changed.changed, true);
    assert.deepEqual(changed.plan?.update.map((u) => u.after), [
      { memoryKiB: 196608, vcpus: 2, groups: ['blue', 'web'] },
      { memoryKiB: 196608, vcpus: 2, groups: ['blue', 'web'] },
    ]);
    assert.deepEqual(changed.hosts?.map((h) => [...h.groups].sort()), [['blue', 'web'], ['blue', 'web']]);
    assert.equal(ok(guests(2, { memory: '192M', vcpus: 2, groups: ['web', 'blue'] })).changed, false);
  });

  it('launch kvm state absent: check keeps everything, then all guests, overlays and entries go; again changes nothing', (t) => {
    if (!ready(t)) return;
    assert.equal(ok(guests(2, {}, { state: 'absent', check: true })).changed, true);
    assert.equal(ours().length, 2);
    const busy = request({ ...push(), state: 'absent' });
    assert.match(busy.msg ?? '', /is built on 'serve\.qcow2': remove its guest first/);
    const gone = ok(guests(2, {}, { state: 'absent' }));
    assert.equal(gone.changed, true);
    assert.deepEqual(ours(), []);
    assert.deepEqual(volumes(POOL), ['serve.qcow2', 'serve.qcow2.initrd', 'serve.qcow2.vmlinuz']);
    const listed = JSON.parse(spawnSync(process.execPath, [provisionBin, 'list'], { env, encoding: 'utf8' }).stdout) as unknown[];
    assert.deepEqual(listed, []);
    assert.equal(ok(guests(2, {}, { state: 'absent' })).changed, false);
    assert.equal(ok({ ...push(), state: 'absent' }).changed, true);
    assert.deepEqual(volumes(POOL), []);
    assert.equal(ok({ ...push(), state: 'absent' }).changed, false);
  });
});
