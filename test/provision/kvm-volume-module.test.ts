// The collection's kvm_volume module under Debian's real ansible-core against a real libvirtd:
// check mode decides as the real run does, by the bytes of the volume against the image's, not
// by the volume's name. The same image is unchanged under --check; another image under the same
// volume name is refused under --check exactly as the real run refuses it, and with force is a
// change whose --diff names the two digests; nothing is uploaded or created in check mode.
// Starts libvirtd (no guest boots): run under `flock /tmp/ec2inv-heavy.lock` on shared machines.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it, type TestContext } from 'node:test';
import { run, writeIni } from '../support/run.js';
import { hasTool, skipUnless } from '../support/tools.js';
import { installCollection, localRecap } from '../support/collection.js';
import { scratch } from './support/fixture.js';
import { URI, removePool, startLibvirt, volumes, type Libvirt } from './support/libvirt.js';
import { inCI } from './support/tools.js';

const skip = skipUnless('kvm_volume module test', hasTool('ansible-playbook') && hasTool('ansible-galaxy') ? undefined : 'ansible-core not found (apt-get install ansible-core)');
const POOL = 'ec2inv-i25c-volmod';

describe('kvm_volume module: check mode judges by the bytes (ansible-playbook, real libvirtd)', { skip, concurrency: 1 }, () => {
  let lv: Libvirt | undefined;
  let skipWhy: string | undefined;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let image: string;
  let poolDir: string;

  before(() => {
    const skips: string[] = [];
    const fake = { skip: (why: string) => skips.push(why), diagnostic: (m: string) => process.stderr.write(`${m}\n`) } as unknown as TestContext;
    lv = startLibvirt(fake);
    skipWhy = skips[0];
    dir = scratch('kvm-volume-module');
    const installed = installCollection(dir);
    env = { ...process.env, ...installed.env, PATH: `${installed.binDir}:${process.env['PATH']}`, EC2_INI_PATH: writeIni(dir, 'volmod') };
    image = path.join(dir, 'disk.raw');
    fs.writeFileSync(image, crypto.randomBytes(256 * 1024));
    poolDir = path.join(dir, 'pool');
    fs.chmodSync(dir, 0o711);
    if (lv) removePool(POOL);
  });

  after(() => {
    if (!lv) return;
    removePool(POOL);
    lv.stop();
  });

  const ready = (t: TestContext): boolean => {
    if (lv) return true;
    if (inCI) throw new Error(skipWhy ?? 'libvirt is not available');
    t.skip(skipWhy ?? 'libvirt is not available');
    return false;
  };

  function playbook(name: string, extra = ''): string {
    const file = path.join(dir, `${name}.yml`);
    fs.writeFileSync(file, `- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n` +
      `    - ec2inventory.provision.kvm_volume:\n        uri: ${URI}\n        pool: ${POOL}\n        create_pool: ${poolDir}\n        image: ${image}\n        volume: mod.raw\n${extra}`);
    return file;
  }
  const play = (file: string, ...args: string[]) => run('ansible-playbook', ['-i', 'localhost,', file, ...args], env, 300_000);
  const poolExists = () => spawnSync('virsh', ['-c', URI, 'pool-info', POOL]).status === 0;
  const inPool = () => fs.readFileSync(path.join(poolDir, 'mod.raw'));

  it('--check on a clean state: a change, and no pool or volume made', async (t) => {
    if (!ready(t)) return;
    const r = await play(playbook('present'), '--check');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(localRecap(r.stdout)['changed'], 1);
    assert.equal(poolExists(), false, 'check mode created the pool');
  });

  it('the same image: uploaded once, then unchanged under --check and in the real run', async (t) => {
    if (!ready(t)) return;
    const first = await play(playbook('present'));
    assert.equal(localRecap(first.stdout)['changed'], 1, first.stdout);
    assert.deepEqual(volumes(POOL), ['mod.raw']);
    const check = await play(playbook('present'), '--check');
    assert.equal(check.code, 0, check.stdout + check.stderr);
    assert.equal(localRecap(check.stdout)['changed'], 0, check.stdout);
    assert.equal(localRecap((await play(playbook('present'))).stdout)['changed'], 0);
  });

  it('other bytes under the same name: refused under --check as the real run refuses; with force a change with the digests as --diff, nothing uploaded', async (t) => {
    if (!ready(t)) return;
    const pushed = inPool();
    const before = crypto.createHash('sha256').update(pushed).digest('hex');
    fs.writeFileSync(image, crypto.randomBytes(256 * 1024));
    const after = crypto.createHash('sha256').update(fs.readFileSync(image)).digest('hex');
    const check = await play(playbook('present'), '--check');
    assert.notEqual(check.code, 0, check.stdout);
    assert.match(check.stdout, /"msg": "volume 'mod\.raw' in pool 'ec2inv-i25c-volmod' holds a different image \(force replaces it\)"/);
    const real = await play(playbook('present'));
    assert.notEqual(real.code, 0, real.stdout);
    assert.match(real.stdout, /"msg": "volume 'mod\.raw' in pool 'ec2inv-i25c-volmod' holds a different image \(force replaces it\)"/);
    assert.ok(inPool().equals(pushed), 'the refused push changed the volume');
    const forced = await play(playbook('force', '        force: true\n'), '--check', '--diff');
    assert.equal(forced.code, 0, forced.stdout + forced.stderr);
    assert.equal(localRecap(forced.stdout)['changed'], 1, forced.stdout);
    assert.match(forced.stdout, new RegExp(`-\\s+"sha256": "${before}"`));
    assert.match(forced.stdout, new RegExp(`\\+\\s+"sha256": "${after}"`));
    assert.ok(inPool().equals(pushed), 'check mode uploaded the image');
    assert.equal(localRecap((await play(playbook('force', '        force: true\n'))).stdout)['changed'], 1);
    assert.ok(inPool().equals(fs.readFileSync(image)));
    assert.equal(localRecap((await play(playbook('force', '        force: true\n'), '--check')).stdout)['changed'], 0);
  });

  it('absent by the volume name alone (as the example playbook tears down) removes it once; with neither volume nor image, one line', async (t) => {
    if (!ready(t)) return;
    const absent = (name: string, args: string) => {
      const file = path.join(dir, `${name}.yml`);
      fs.writeFileSync(file, `- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n` +
        `    - ec2inventory.provision.kvm_volume:\n        uri: ${URI}\n        pool: ${POOL}\n${args}        state: absent\n`);
      return file;
    };
    const neither = await play(absent('absent-neither', ''));
    assert.notEqual(neither.code, 0, neither.stdout);
    assert.match(neither.stdout, /"msg": "volume: give the volume, or the image it was pushed from"/);
    assert.deepEqual(volumes(POOL), ['mod.raw']);
    const byName = absent('absent-volume', '        volume: mod.raw\n');
    const first = await play(byName);
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.equal(localRecap(first.stdout)['changed'], 1);
    assert.deepEqual(volumes(POOL), []);
    assert.equal(localRecap((await play(byName)).stdout)['changed'], 0);
  });
});
