// The whole path a user takes, for real: a Debian bookworm root built by rootfs build (mmdebstrap,
// from the mirror apt uses) → template build → image build --boot-loader grub with the root's own
// kernel → push kvm → launch kvm of two guests (web, db) with cloud-init identity → ec2-inventory
// --list → ansible-playbook over SSH through the inventory → destroy leaves nothing; then the same root
// as EC2 boots it (support/nitro.ts): image build --for ec2 → push ec2 → launch ec2 → a Nitro-like boot.
// Guests use qemu user networking with restrict=on: they reach nothing but the loopback forwards.
// Run it under `flock /tmp/vm.lock` on shared machines; it boots two TCG guests (~2 min each).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startMoto, type Moto } from '../support/moto.js';
import { awsEnv, run, writeIni } from '../support/run.js';
import { inventoryBin } from '../support/paths.js';
import { scratch } from './support/fixture.js';
import { provisionBin } from './support/inspect.js';
import { URI, domains, removePool, startLibvirt, volumes, type Libvirt } from './support/libvirt.js';
import { inCI, needTools } from './support/tools.js';
import { parseDomifaddr } from '../../lib/provision/libvirt/launch.js';
import { bootLikeNitro, nitroTools } from './support/nitro.js';

const POOL = 'ec2inv-e2e';
const GUESTS = { web: 'ec2inv-e2e-web', db: 'ec2inv-e2e-db' } as const;
const TEMPLATE = 'debian-12-x86_64-cloud';

/**
 * The Debian root: built here by `rootfs build` unless EC2INV_DEBIAN_ROOT names a tarball that
 * exists (a development cache; when it names a missing file, the build goes there).
 */
async function debianRoot(dir: string): Promise<string> {
  const cached = process.env['EC2INV_DEBIAN_ROOT'];
  if (cached && fs.existsSync(cached)) return cached;
  const out = cached || path.join(dir, 'bookworm-root.tar');
  // --for ec2: cloud-init reads NoCloud first (the KVM guests' seeds) and the EC2 metadata service
  // after it, so the same root also boots as an EC2 instance below.
  const r = await provision(['rootfs', 'build', '--suite', 'bookworm', '--for', 'ec2', '--out', out], 30 * 60_000);
  const summary = JSON.parse(r.stdout) as { kernelVersion: string | null; packages: number; initrd: boolean };
  assert.match(summary.kernelVersion ?? '', /-cloud-amd64$/);
  assert.ok(summary.initrd, 'the root has an initramfs for its kernel');
  assert.ok(summary.packages > 100);
  return out;
}

async function provision(args: string[], timeoutMs: number, env: NodeJS.ProcessEnv = process.env): Promise<{ stdout: string; stderr: string }> {
  const r = await run(process.execPath, [provisionBin, ...args], env, timeoutMs);
  assert.equal(r.code, 0, `ec2-provision ${args.slice(0, 2).join(' ')} failed:\n${r.stderr}`);
  return r;
}

function ssh(key: string, port: number, user: string, command: string): { status: number | null; stdout: string } {
  try {
    const stdout = execFileSync('ssh', [
      '-i', key, '-p', String(port), '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
      '-o', 'LogLevel=ERROR', '-o', 'ConnectTimeout=20', `${user}@127.0.0.1`, command,
    ], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
    return { status: 0, stdout };
  } catch (err) {
    const e = err as { status: number | null; stdout?: string };
    return { status: e.status, stdout: e.stdout ?? '' };
  }
}

describe('a real Debian guest, end to end: rootfs → template → image → push → launch → Ansible over SSH → destroy', { concurrency: 1 }, () => {
  let lv: Libvirt | undefined;
  let moto: Moto | undefined;
  let dir: string;
  let ini: string;
  let env: NodeJS.ProcessEnv;
  let skipWhy: string | undefined;
  let rootBuilt: Promise<string> | undefined;
  const root = () => (rootBuilt ??= debianRoot(dir));

  before(async () => {
    const skips: string[] = [];
    const fake = { skip: (why: string) => skips.push(why), diagnostic: (m: string) => process.stderr.write(`${m}\n`) } as unknown as import('node:test').TestContext;
    if (!needTools(fake, ['mmdebstrap', 'genisoimage', 'ssh', 'ssh-keygen', 'ansible-playbook', 'fakeroot', 'sfdisk', 'mkfs.ext4', 'qemu-img', 'grub-mkimage'])) {
      skipWhy = skips[0];
      return;
    }
    lv = startLibvirt(fake);
    skipWhy = skips[0];
    if (!lv) return;
    dir = scratch('e2e');
    // qemu runs as libvirt-qemu and must reach the pool folder: mkdtemp makes the scratch 0700.
    fs.chmodSync(dir, 0o711);
    removePool(POOL);
    for (const d of Object.values(GUESTS)) if (domains().includes(d)) execFileSync('virsh', ['-c', URI, 'destroy', d], { stdio: 'ignore' });
    moto = await startMoto();
    ini = writeIni(dir, 'e2e', { regions: 'us-east-1', rds: 'False', route53: 'False', elasticache: 'False' });
    env = { ...process.env, EC2_INI_PATH: ini };
  });

  after(async () => {
    if (lv) {
      for (const d of Object.values(GUESTS)) if (domains().includes(d)) await run(process.execPath, [provisionBin, 'destroy', 'kvm', '--uri', URI, '--name', d, '--force'], env);
      removePool(POOL);
      for (const n of fs.readdirSync('/var/log/libvirt/qemu')) if (n.startsWith('ec2inv-e2e') && n.endsWith('.log')) fs.rmSync(path.join('/var/log/libvirt/qemu', n), { force: true });
      lv.stop();
    }
    await moto?.stop();
  });

  it('two configured Debian guests in inventory groups, then nothing left', { timeout: 60 * 60_000 }, async (t) => {
    if (skipWhy) {
      if (inCI) throw new Error(skipWhy);
      t.skip(skipWhy);
      return;
    }
    t.diagnostic(`root ${await root()}`);
    await provision(['template', 'build', '--from', await root(), '--name', TEMPLATE, '--out', dir], 30 * 60_000);
    const image = path.join(dir, 'debian.qcow2');
    const built = JSON.parse((await provision(['image', 'build', '--from', path.join(dir, `${TEMPLATE}.tar.gz`), '--boot-loader', 'grub', '--size', '2G', '--out', image], 30 * 60_000)).stdout) as {
      biosBootable: boolean;
      initrd?: string;
    };
    assert.ok(built.biosBootable);
    assert.ok(built.initrd, "the root's own initramfs went beside the image");
    await provision(['push', 'kvm', '--uri', URI, '--pool', POOL, '--create-pool', path.join(dir, 'pool'), '--image', image], 10 * 60_000);

    const key = path.join(dir, 'id_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'e2e', '-f', key]);
    const launch = (name: string, group: string) =>
      provision(['launch', 'kvm', '--uri', URI, '--pool', POOL, '--volume', 'debian.qcow2', '--name', name, '--groups', group, '--memory', '768M',
        '--ssh-key', `${key}.pub`, '--restrict', '--wait', '900', '--var', `db_password=hunter2-${group}`], 20 * 60_000, env);
    // Both boot at once: under TCG each takes a minute or two to reach SSH.
    const [web, db] = await Promise.all([launch(GUESTS.web, 'web'), launch(GUESTS.db, 'db')]);
    type Guest = { name: string; ansibleHost: string; ansiblePort: number; ansibleUser: string; seedVolume: string };
    const gWeb = (JSON.parse(web.stdout) as { guests: Guest[] }).guests[0]!;
    const gDb = (JSON.parse(db.stdout) as { guests: Guest[] }).guests[0]!;
    assert.equal(gWeb.ansibleUser, 'ansible');
    assert.notEqual(gWeb.ansiblePort, gDb.ansiblePort, 'each guest has its own SSH port');
    assert.deepEqual(volumes(POOL).filter((v) => v.endsWith('-cidata.iso')).sort(), [`${GUESTS.db}-cidata.iso`, `${GUESTS.web}-cidata.iso`]);
    const xml = execFileSync('virsh', ['-c', URI, '-r', 'dumpxml', GUESTS.web], { encoding: 'utf8' });
    assert.doesNotMatch(xml, /hunter2/, 'a --var value is in the domain XML, readable by any local user');
    assert.match(xml, /device=["']cdrom["'][^]*<readonly\/>/);

    // The guest agent reports the guest's own address for real (user networking: slirp's DHCP gives
    // 10.0.2.15), read by the same code that discovers addresses on libvirt networks.
    let agentOut = '';
    for (let i = 0; i < 60 && parseDomifaddr(agentOut) === undefined; i++) {
      try {
        agentOut = execFileSync('virsh', ['-c', URI, 'domifaddr', '--source', 'agent', GUESTS.web], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      } catch {
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    t.diagnostic(`domifaddr --source agent: ${JSON.stringify(agentOut)}`);
    assert.equal(parseDomifaddr(agentOut), '10.0.2.15');

    const inventoryEnv = awsEnv(moto!.endpoint, { EC2_INI_PATH: ini });
    const inv = await run(inventoryBin, ['--list', '--refresh-cache'], inventoryEnv);
    assert.equal(inv.code, 0, inv.stderr);
    // ec2.py's shape: a group is a plain list of host names.
    const list = JSON.parse(inv.stdout) as Record<string, string[]> & { _meta: { hostvars: Record<string, Record<string, unknown>> } };
    assert.deepEqual(list['web'], [GUESTS.web]);
    assert.deepEqual(list['db'], [GUESTS.db]);
    for (const g of [gWeb, gDb]) {
      const hv = list._meta.hostvars[g.name]!;
      assert.equal(hv['ansible_host'], '127.0.0.1');
      assert.equal(hv['ansible_port'], g.ansiblePort);
      assert.equal(hv['ansible_user'], 'ansible');
    }

    const facts = path.join(dir, 'facts');
    fs.mkdirSync(facts);
    const playbook = path.join(dir, 'site.yml');
    fs.writeFileSync(
      playbook,
      [
        '- hosts: web',
        '  become: true',
        '  tasks:',
        '    - ansible.builtin.copy: { dest: /etc/ec2inv-e2e, content: "configured by ansible\\n", mode: "0644" }',
        '- hosts: web:db',
        '  tasks:',
        `    - ansible.builtin.copy: { dest: "${facts}/{{ inventory_hostname }}", content: "{{ ansible_hostname }}" }`,
        '      delegate_to: localhost',
        '',
      ].join('\n'),
    );
    const play = await run('ansible-playbook', ['-i', inventoryBin, playbook], {
      ...inventoryEnv,
      ANSIBLE_HOST_KEY_CHECKING: 'False',
      ANSIBLE_PRIVATE_KEY_FILE: key,
      ANSIBLE_LOCAL_TEMP: path.join(dir, 'ansible-tmp'),
      ANSIBLE_NOCOLOR: '1',
      ANSIBLE_PYTHON_INTERPRETER: 'auto_silent',
    }, 20 * 60_000);
    assert.equal(play.code, 0, `${play.stdout}\n${play.stderr}`);
    assert.match(play.stdout, new RegExp(`${GUESTS.web}\\s*: ok=\\d+\\s+changed=[1-9]`));

    // Checked over SSH, not through Ansible: only web has the file, and each guest is named after itself.
    assert.equal(ssh(key, gWeb.ansiblePort, 'ansible', 'cat /etc/ec2inv-e2e').stdout, 'configured by ansible\n');
    assert.equal(ssh(key, gDb.ansiblePort, 'ansible', 'test -e /etc/ec2inv-e2e').status, 1);
    for (const g of [gWeb, gDb]) assert.equal(fs.readFileSync(path.join(facts, g.name), 'utf8'), g.name);

    for (const g of [gWeb, gDb]) {
      const d = JSON.parse((await provision(['destroy', 'kvm', '--uri', URI, '--name', g.name], 5 * 60_000, env)).stdout) as { seed: { action: string }; registry: string };
      assert.equal(d.seed.action, 'deleted');
      assert.equal(d.registry, 'removed');
    }
    assert.deepEqual(domains().filter((d) => d.startsWith('ec2inv-e2e')), []);
    assert.deepEqual(volumes(POOL).sort(), ['debian.qcow2', 'debian.qcow2.initrd', 'debian.qcow2.vmlinuz'].sort(), 'only the pushed image is left in the pool');
    const after = JSON.parse((await provision(['list'], 60_000, env)).stdout) as unknown[];
    assert.deepEqual(after, []);
  });

  it('the same root as EC2 boots it: the image push ec2 uploads, on NVMe, BIOS, DHCP and IMDSv2; cloud-init takes what launch ec2 sent; Ansible logs in', { timeout: 60 * 60_000 }, async (t) => {
    if (skipWhy) {
      if (inCI) throw new Error(skipWhy);
      t.skip(skipWhy);
      return;
    }
    if (!needTools(t, nitroTools)) return;
    await bootLikeNitro(t, await root(), dir);
  });
});
