import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { guestRootfs, scratch } from './support/fixture.js';
import { cli, debugfs, extractPartition, listArchive } from './support/inspect.js';
import { needTools } from './support/tools.js';

const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;

function put(root: string, rel: string, content: string, mode = 0o644): void {
  fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  fs.writeFileSync(path.join(root, rel), content, { mode });
  fs.chmodSync(path.join(root, rel), mode);
}

interface Manifest {
  steps: { name: string; applied: boolean; note?: string; changes: { kind: string; path: string }[] }[];
}

// What a used machine leaves behind, which virt-sysprep removes by default and so must we.
function dirty(root: string): void {
  put(root, 'root/.ssh/authorized_keys', 'ssh-ed25519 AAAAC3Nza builder@host\n', 0o600);
  put(root, 'home/alice/.ssh/id_ed25519', '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk=\n-----END OPENSSH PRIVATE KEY-----\n', 0o600);
  put(root, 'home/alice/.ssh/deploy.pem', '-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\n', 0o600);
  put(root, 'home/alice/.ssh/id_ed25519.pub', 'ssh-ed25519 AAAAC3Nza alice@host\n');
  put(root, 'home/alice/.ssh/config', 'Host *\n  ServerAliveInterval 30\n');
  put(root, 'var/lib/cloud/instance/obj.pkl', 'state');
  put(root, 'var/lib/cloud/data/instance-id', 'iid-builder\n');
  put(root, 'var/lib/dhcp/dhclient.eth0.leases', 'lease { fixed-address 192.0.2.99; }\n');
  put(root, 'etc/udev/rules.d/70-persistent-net.rules', 'SUBSYSTEM=="net", ATTR{address}=="52:54:00:12:34:56", NAME="eth0"\n');
  put(root, 'etc/udev/rules.d/99-local.rules', '# kept\n');
  put(root, 'var/lib/systemd/random-seed', 'seedseedseed', 0o600);
  put(root, 'tmp/build.log', 'x');
  fs.mkdirSync(path.join(root, 'tmp/junkdir'));
  put(root, 'var/tmp/cache.bin', 'x');
}

test('template build prepares a used root as virt-sysprep would, and the manifest says what each step did', (t) => {
  if (!needTools(t, ['tar', 'apt-get', 'dpkg'])) return;
  const dir = scratch('realroot');
  const rootfs = path.join(dir, 'rootfs');
  if (!guestRootfs(t, rootfs)) return;
  dirty(rootfs);
  const r = cli(['template', 'build', '--from', rootfs, '--name', 'used', '--out', dir]);
  assert.equal(r.status, 0, r.stderr);
  const entries = listArchive(path.join(dir, 'used.tar.gz'));
  for (const gone of [
    './root/.ssh/authorized_keys',
    './home/alice/.ssh/id_ed25519',
    './home/alice/.ssh/deploy.pem',
    './var/lib/cloud/instance',
    './var/lib/cloud/data/instance-id',
    './var/lib/dhcp/dhclient.eth0.leases',
    './etc/udev/rules.d/70-persistent-net.rules',
    './var/lib/systemd/random-seed',
    './tmp/build.log',
    './tmp/junkdir',
    './var/tmp/cache.bin',
  ]) {
    assert.equal(entries.get(gone), undefined, `${gone} is still in the template`);
  }
  for (const kept of ['./home/alice/.ssh/id_ed25519.pub', './home/alice/.ssh/config', './etc/udev/rules.d/99-local.rules', './var/lib/cloud', './var/lib/dhcp', './root/.ssh']) {
    assert.ok(entries.get(kept), `${kept} should stay`);
  }
  assert.equal(entries.get('./tmp')?.mode, 'drwxrwxrwt', '/tmp keeps its sticky mode');

  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'used.manifest.json'), 'utf8')) as Manifest;
  const step = (n: string) => manifest.steps.find((s) => s.name === n)!;
  assert.deepEqual(step('ssh-user-keys').changes.map((c) => c.path).sort(), ['/home/alice/.ssh/deploy.pem', '/home/alice/.ssh/id_ed25519', '/root/.ssh/authorized_keys']);
  assert.deepEqual(step('cloud-init-state').changes.map((c) => c.path).sort(), ['/var/lib/cloud/data', '/var/lib/cloud/instance']);
  assert.deepEqual(step('dhcp-leases').changes, [{ kind: 'remove', path: '/var/lib/dhcp/dhclient.eth0.leases' }]);
  assert.deepEqual(step('persistent-net').changes, [{ kind: 'remove', path: '/etc/udev/rules.d/70-persistent-net.rules' }]);
  assert.deepEqual(step('random-seed').changes, [{ kind: 'remove', path: '/var/lib/systemd/random-seed' }]);
  assert.deepEqual(step('tmp-files').changes.map((c) => c.path).sort(), ['/tmp/build.log', '/tmp/junkdir', '/var/tmp/cache.bin']);
  // Without cloud-init the placeholder contract of seed 000 stays.
  assert.equal(step('network').applied, true);
  assert.equal(step('placeholder-hook').applied, true);
});

test('with cloud-init in the root, network and hostname are left to it; no placeholder hook', (t) => {
  if (!needTools(t, ['tar', 'apt-get', 'dpkg'])) return;
  const dir = scratch('realroot-ci');
  const rootfs = path.join(dir, 'rootfs');
  if (!guestRootfs(t, rootfs)) return;
  put(rootfs, 'etc/cloud/cloud.cfg', 'users: [default]\n');
  put(rootfs, 'etc/cloud/cloud.cfg.d/90-datasource.cfg', 'datasource_list: [ NoCloud, None ]\n');
  put(rootfs, 'usr/bin/cloud-init', '#!/usr/bin/python3\n', 0o755);
  const interfaces = fs.readFileSync(path.join(rootfs, 'etc/network/interfaces'));
  const r = cli(['template', 'build', '--from', rootfs, '--name', 'ci', '--out', dir]);
  assert.equal(r.status, 0, r.stderr);
  const manifest = JSON.parse(r.stdout) as Manifest;
  const step = (n: string) => manifest.steps.find((s) => s.name === n)!;
  assert.match(step('network').note ?? '', /left to cloud-init/);
  assert.deepEqual(step('network').changes, []);
  assert.match(step('hostname').note ?? '', /left to cloud-init/);
  assert.deepEqual(step('hostname').changes, [{ kind: 'file', path: '/etc/hostname' }], "the builder's name goes");
  assert.equal(step('placeholder-hook').applied, false);
  const archive = path.join(dir, 'ci.tar.gz');
  const read = (p: string) => execFileSync('tar', ['-xzOf', archive, p]);
  assert.ok(read('./etc/network/interfaces').equals(interfaces), 'network configuration untouched');
  assert.equal(read('./etc/hostname').toString(), 'localhost\n');
  assert.equal(listArchive(archive).get('./etc/ec2inv/fill-placeholders'), undefined);
});

test('every stage takes a root tarball: .tar.zst, .tar.gz and a docker-export layout, without root', async (t) => {
  if (!needTools(t, ['tar', 'zstd', 'fakeroot', 'sfdisk', 'mkfs.ext4', 'debugfs', 'apt-get', 'dpkg', ...(isRoot ? ['setpriv'] : [])])) return;
  const dir = scratch('tarball');
  const rootfs = path.join(dir, 'rootfs');
  if (!guestRootfs(t, rootfs)) return;
  // As root the fixture has real device nodes and root-owned files, as a tarball from mmdebstrap,
  // and a file of another user, whose owner must survive an unpack by nobody.
  if (isRoot) fs.chownSync(path.join(rootfs, 'usr/share/doc/readme'), 1000, 1000);
  const zst = path.join(dir, 'root.tar.zst');
  execFileSync('tar', ['--zstd', '--numeric-owner', '-cf', zst, '-C', rootfs, '.']);
  const gz = path.join(dir, 'root.tar.gz');
  execFileSync('tar', ['-czf', gz, '--numeric-owner', '-C', rootfs, '.']);
  // docker export: names without ./, no entry for the top folder, any file name.
  const docker = path.join(dir, 'container.export');
  execFileSync('tar', ['--numeric-owner', '-cf', docker, '-C', rootfs, ...fs.readdirSync(rootfs).sort()]);
  const out = path.join(dir, 'out');
  fs.mkdirSync(out);
  const as = isRoot ? { uid: NOBODY } : {};
  if (isRoot) for (const p of [dir, out, zst, gz, docker]) fs.chownSync(p, NOBODY, NOBODY);
  fs.chmodSync(dir, 0o755);

  const fromFolder = cli(['template', 'build', '--from', rootfs, '--name', 'folder', '--out', out]);
  assert.equal(fromFolder.status, 0, fromFolder.stderr);
  const reference = listArchive(path.join(out, 'folder.tar.gz'));

  for (const [name, file] of [['zst', zst], ['gz', gz], ['docker', docker]] as const) {
    await t.test(`template build --from ${path.basename(file)}`, () => {
      const r = cli(['template', 'build', '--from', file, '--name', name, '--out', out], as);
      assert.equal(r.status, 0, r.stderr);
      const entries = listArchive(path.join(out, `${name}.tar.gz`));
      assert.deepEqual([...entries.keys()].sort(), [...reference.keys()].sort(), 'same entries as from the folder');
      const other = isRoot ? ['./usr/share/doc/readme', './usr/share/doc/readme.hardlink'] : [];
      assert.deepEqual([...entries.values()].filter((e) => e.owner !== '0/0' && !other.includes(e.name)), [], 'owners come from the tarball, not the unpacking user');
      for (const n of other) assert.equal(entries.get(n)?.owner, '1000/1000', n);
      assert.equal(entries.get('./usr/bin/setuid-tool')?.mode, '-rwsr-xr-x');
      assert.equal(entries.get('./run/initctl')?.mode.at(0), 'p');
      if (isRoot) {
        assert.equal(entries.get('./dev/console')?.mode, 'crw-------');
        assert.equal(entries.get('./dev/console')?.size, '5,1');
      }
      assert.equal(entries.get('./usr/share/doc/readme.hardlink')?.hardlink, './usr/share/doc/readme');
    });
  }

  await t.test('image build --from a .tar.zst root, without root', () => {
    const kernel = path.join(dir, 'vmlinuz');
    fs.writeFileSync(kernel, 'kernel');
    if (isRoot) fs.chownSync(kernel, NOBODY, NOBODY);
    const disk = path.join(out, 'disk.raw');
    const r = cli(['image', 'build', '--from', zst, '--kernel', kernel, '--format', 'raw', '--size', '32M', '--out', disk], as);
    assert.equal(r.status, 0, r.stderr);
    const part = extractPartition(disk, path.join(dir, 'part.ext4'));
    const stat = debugfs(part, 'stat /usr/bin/setuid-tool');
    assert.match(stat, /Mode:\s+04755/);
    assert.match(stat, /User:\s+0\s+Group:\s+0/);
  });
  assert.deepEqual(fs.readdirSync(out).filter((n) => n.startsWith('.')), [], 'no scratch left behind');
});
