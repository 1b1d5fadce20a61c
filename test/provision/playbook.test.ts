// The whole path a user takes, for real, as one playbook (the end-to-end test of KVM guests):
// collection/playbooks/kvm_site.yml run by Debian's ansible-core, with the collection
// built and installed from the working tree and the inventory plugin as inventory. A Debian
// bookworm root (mmdebstrap) → template → image with GRUB → push → guests web and db with
// cloud-init identity → meta: refresh_inventory → a play on web over SSH. --check on a clean
// state creates nothing; the second run changes nothing; --tags teardown leaves nothing, and
// again changes nothing.
// The test's isolation, applied to the playbook as text: guest names with a prefix of its own on the
// shared libvirtd, and user networking with restrict=on (guests reach nothing but their forwards).
// Boots two TCG guests: run under `flock /tmp/ec2inv-heavy.lock`.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startMoto, type Moto } from '../support/moto.js';
import { awsEnv, run, writeIni } from '../support/run.js';
import { repoRoot } from '../support/paths.js';
import { installCollection, playRecap } from '../support/collection.js';
import { scratch } from './support/fixture.js';
import { provisionBin } from './support/inspect.js';
import { URI, domains, removePool, startLibvirt, volumes, type Libvirt } from './support/libvirt.js';
import { inCI, needTools } from './support/tools.js';
import { parseDomifaddr } from '../../lib/provision/libvirt/launch.js';

const POOL = 'ec2inv-play';
const PREFIX = 'ec2inv-play-';
const GUESTS = { web: `${PREFIX}web`, db: `${PREFIX}db` } as const;

function ssh(key: string, port: number, command: string): { status: number | null; stdout: string } {
  try {
    const stdout = execFileSync('ssh', [
      '-i', key, '-p', String(port), '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
      '-o', 'LogLevel=ERROR', '-o', 'ConnectTimeout=20', 'ansible@127.0.0.1', command,
    ], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
    return { status: 0, stdout };
  } catch (err) {
    const e = err as { status: number | null; stdout?: string };
    return { status: e.status, stdout: e.stdout ?? '' };
  }
}


describe('the example playbook end to end: a Debian root to configured KVM guests and back to nothing', { concurrency: 1 }, () => {
  let lv: Libvirt | undefined;
  let moto: Moto | undefined;
  let dir: string;
  let build: string;
  let env: NodeJS.ProcessEnv;
  let site: string;
  let inventory: string;
  let key: string;
  let extraVars: string;
  let skipWhy: string | undefined;

  before(async () => {
    const skips: string[] = [];
    const fake = { skip: (why: string) => skips.push(why), diagnostic: (m: string) => process.stderr.write(`${m}\n`) } as unknown as import('node:test').TestContext;
    if (!needTools(fake, ['mmdebstrap', 'genisoimage', 'ssh', 'ssh-keygen', 'ansible-playbook', 'ansible-galaxy', 'fakeroot', 'sfdisk', 'mkfs.ext4', 'qemu-img', 'grub-mkimage'])) {
      skipWhy = skips[0];
      return;
    }
    lv = startLibvirt(fake);
    skipWhy = skips[0];
    if (!lv) return;
    dir = scratch('playbook');
    // qemu runs as libvirt-qemu and must reach the pool folder: mkdtemp makes the scratch 0700.
    fs.chmodSync(dir, 0o711);
    removePool(POOL);
    build = path.join(dir, 'build');
    fs.mkdirSync(build);
    moto = await startMoto();
    const installed = installCollection(dir);
    key = path.join(dir, 'id_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'playbook', '-f', key]);
    env = awsEnv(moto.endpoint, {
      ...installed.env,
      PATH: `${installed.binDir}:${process.env['PATH']}`,
      HOME: process.env['HOME'],
      EC2_INI_PATH: writeIni(dir, 'playbook', { regions: 'us-east-1', rds: 'False', route53: 'False', elasticache: 'False' }),
      ANSIBLE_PRIVATE_KEY_FILE: key,
    });
    inventory = path.join(dir, 'inventory');
    fs.mkdirSync(inventory);
    fs.writeFileSync(path.join(inventory, 'site.ec2_inventory.yml'), `plugin: ec2inventory.provision.ec2_inventory\nini_path: ${env['EC2_INI_PATH']}\n`);
    const example = fs.readFileSync(path.join(repoRoot, 'collection', 'playbooks', 'kvm_site.yml'), 'utf8');
    const isolated = example.replaceAll('name: "{{ item }}"', `name: "${PREFIX}{{ item }}"`).replace('memory: 1G,', 'memory: 768M, restrict_network: true,');
    assert.notEqual(isolated, example);
    site = path.join(dir, 'kvm_site.yml');
    fs.writeFileSync(site, isolated);
    extraVars = JSON.stringify({ build, kvm: { uri: URI, pool: POOL, volume: 'debian.qcow2' }, pool_dir: path.join(dir, 'pool'), ssh_key: `${key}.pub` });
  });

  after(async () => {
    if (lv) {
      for (const d of Object.values(GUESTS)) if (domains().includes(d)) await run(process.execPath, [provisionBin, 'destroy', 'kvm', '--uri', URI, '--name', d, '--force'], env);
      removePool(POOL);
      for (const n of fs.readdirSync('/var/log/libvirt/qemu')) if (n.startsWith(PREFIX) && n.endsWith('.log')) fs.rmSync(path.join('/var/log/libvirt/qemu', n), { force: true });
      lv.stop();
    }
    await moto?.stop();
  });

  const playbook = async (...args: string[]) => {
    const r = await run('ansible-playbook', ['-i', inventory, site, '-e', extraVars, ...args], env, 40 * 60_000);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    return playRecap(r.stdout);
  };
  const nothingLeft = async () => {
    assert.deepEqual(domains().filter((d) => d.startsWith(PREFIX)), []);
    assert.deepEqual(fs.readdirSync(build), []);
    const listed = JSON.parse((await run(process.execPath, [provisionBin, 'list'], env)).stdout) as unknown[];
    assert.deepEqual(listed, []);
  };

  it('--check, run, run again, teardown, teardown again', { timeout: 90 * 60_000 }, async (t) => {
    if (skipWhy) {
      if (inCI) throw new Error(skipWhy);
      t.skip(skipWhy);
      return;
    }
    const planned = await playbook('--check');
    assert.equal(planned['localhost']?.['changed'], 5, JSON.stringify(planned));
    await nothingLeft();
    assert.equal(execFileSync('virsh', ['-c', URI, 'pool-list', '--all', '--name'], { encoding: 'utf8' }).includes(POOL), false, 'check mode created the pool');

    const first = await playbook();
    assert.equal(first['localhost']?.['failed'], 0);
    assert.equal(first['localhost']?.['changed'], 5, JSON.stringify(first));
    assert.equal(first[GUESTS.web]?.['changed'], 1, 'the play on web ran over SSH and changed the motd');
    assert.equal(first[GUESTS.db], undefined, 'the web play ran on web only');

    // Checked over SSH, not through Ansible: the address and port the inventory gives, the motd
    // only on web, and the guest agent reporting the guest's own address (slirp's 10.0.2.15).
    const listed = JSON.parse((await run(path.join(repoRoot, 'bin', 'ec2-inventory'), ['--list'], env)).stdout) as Record<string, unknown> & { _meta: { hostvars: Record<string, Record<string, unknown>> } };
    assert.deepEqual(listed['web'], [GUESTS.web]);
    assert.deepEqual(listed['db'], [GUESTS.db]);
    const port = (g: string) => Number(listed._meta.hostvars[g]?.['ansible_port']);
    assert.equal(ssh(key, port(GUESTS.web), 'cat /etc/motd').stdout, `${GUESTS.web} in web\n`);
    assert.equal(ssh(key, port(GUESTS.db), 'grep -c "in web" /etc/motd').stdout.trim(), '0');
    let agentOut = '';
    for (let i = 0; i < 60 && parseDomifaddr(agentOut) === undefined; i++) {
      try {
        agentOut = execFileSync('virsh', ['-c', URI, 'domifaddr', '--source', 'agent', GUESTS.web], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      } catch {
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    assert.equal(parseDomifaddr(agentOut), '10.0.2.15');

    const second = await playbook();
    assert.equal(second['localhost']?.['changed'], 0, `the second run changed something: ${JSON.stringify(second)}`);
    assert.equal(second[GUESTS.web]?.['changed'], 0);

    const teardown = await playbook('--tags', 'teardown');
    assert.equal(teardown['localhost']?.['changed'], 5, JSON.stringify(teardown));
    await nothingLeft();
    assert.deepEqual(volumes(POOL), []);
    assert.equal((await playbook('--tags', 'teardown'))['localhost']?.['changed'], 0);
  });
});
