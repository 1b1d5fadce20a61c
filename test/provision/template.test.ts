import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { buildTemplate } from '../../lib/provision/index.js';
import { fillPlaceholders } from '../../lib/provision/template/fill.js';
import { templateSteps } from '../../lib/provision/template/steps.js';
import { guestRootfs, scratch } from './support/fixture.js';
import { archiveFile, cli, listArchive, snapshot } from './support/inspect.js';
import { needTools, rootOnly } from './support/tools.js';

const NAME = 'busybox-1.35-x86_64-test';

test('template build: an OpenVZ template cache from a root filesystem, source untouched, deterministic', async (t) => {
  if (!needTools(t, ['tar', 'apt-get', 'dpkg'])) return;
  const dir = scratch('template');
  const rootfs = path.join(dir, 'rootfs');
  if (!guestRootfs(t, rootfs)) return;
  const before = snapshot(rootfs);
  const outA = path.join(dir, 'a');
  const outB = path.join(dir, 'b');
  fs.mkdirSync(outA);
  fs.mkdirSync(outB);

  const r = cli(['template', 'build', '--rootfs', rootfs, '--name', NAME, '--out', outA]);
  assert.equal(r.status, 0, r.stderr);
  const summary = JSON.parse(r.stdout) as { archive: string; sha256: string; steps: { name: string; applied: boolean }[] };
  const archive = path.join(outA, `${NAME}.tar.gz`);
  assert.equal(summary.archive, archive);
  assert.deepEqual(fs.readdirSync(outA).sort(), [`${NAME}.manifest.json`, `${NAME}.tar.gz`, `${NAME}.tar.gz.sha256`]);
  assert.match(r.stderr, /ec2-provision: writing/, 'progress goes to stderr');

  await t.test('the source tree is byte-identical before and after', () => {
    assert.deepEqual(snapshot(rootfs), before);
  });

  await t.test('two builds give the same bytes; .sha256 matches', async () => {
    await buildTemplate({ rootfs, name: NAME, outDir: outB });
    const a = fs.readFileSync(archive);
    assert.ok(a.equals(fs.readFileSync(path.join(outB, `${NAME}.tar.gz`))), 'archives differ');
    const check = execFileSync('sha256sum', ['-c', `${NAME}.tar.gz.sha256`], { cwd: outA, encoding: 'utf8' });
    assert.match(check, /: OK/);
    assert.equal(fs.readFileSync(path.join(outA, `${NAME}.tar.gz.sha256`), 'utf8').split(' ')[0], summary.sha256);
  });

  const entries = listArchive(archive);
  const get = (n: string) => {
    const e = entries.get(n);
    assert.ok(e, `${n} missing from the archive`);
    return e;
  };

  await t.test('every entry is owned by 0:0', () => {
    const notRoot = [...entries.values()].filter((e) => e.owner !== '0/0');
    assert.deepEqual(notRoot, []);
    assert.ok(entries.size > 300, `only ${entries.size} entries`);
  });

  await t.test('modes, setuid bits, symlinks, hard links and fifos are kept', () => {
    assert.equal(get('./usr/bin/setuid-tool').mode, '-rwsr-xr-x');
    assert.equal(get('./tmp').mode, 'drwxrwxrwt');
    assert.equal(get('./root').mode, 'drwx------');
    assert.equal(get('./etc/init.d/rcS').mode, '-rwxr-xr-x');
    assert.equal(get('./sbin/init').link, '../bin/busybox');
    assert.equal(get('./var/run').link, '../run');
    assert.equal(get('./usr/share/doc/readme.hardlink').hardlink, './usr/share/doc/readme');
    assert.equal(get('./run/initctl').mode[0], 'p');
    // content of an untouched file is the source's
    const bb = execFileSync('tar', ['-xzOf', archive, './bin/busybox'], { maxBuffer: 1 << 26 });
    assert.ok(bb.equals(fs.readFileSync(path.join(rootfs, 'bin/busybox'))));
  });

  await t.test('device nodes are kept', { skip: rootOnly('a device node in the source tree (mknod)') }, () => {
    assert.equal(get('./dev/null').mode, 'crw-rw-rw-');
    assert.equal(get('./dev/null').size, '1,3');
    assert.equal(get('./dev/console').size, '5,1');
  });

  await t.test("the seed's removals are done", () => {
    for (const gone of [
      './etc/ssh/ssh_host_ed25519_key',
      './etc/ssh/ssh_host_ed25519_key.pub',
      './root/.ash_history',
      './var/log/messages.1.gz',
      './var/cache/apt/archives/hello_1.0_amd64.deb',
      './var/cache/apt/pkgcache.bin',
      './var/lib/apt/lists/deb.debian.org_dists_bookworm_InRelease',
    ]) {
      assert.equal(entries.has(gone), false, `${gone} should be gone`);
    }
    assert.ok(entries.has('./etc/ssh/sshd_config'));
    assert.ok(entries.has('./var/cache/apt/archives/partial'), 'cache folders stay');
    assert.equal(get('./var/log/messages').size, '0');
    assert.equal(get('./var/log/messages').mode, '-rw-r-----');
    assert.equal(get('./etc/machine-id').size, '0');
    assert.equal(get('./etc/machine-id').mode, '-r--r--r--');
  });

  await t.test('fstab, mtab and the network and hostname placeholders', () => {
    assert.equal(archiveFile(archive, './etc/fstab'), 'proc     /proc      proc     defaults    0  0\ndevpts   /dev/pts   devpts   mode=0620   0  0\n');
    assert.equal(get('./etc/mtab').link, '/proc/mounts');
    const ifaces = archiveFile(archive, './etc/network/interfaces');
    assert.match(ifaces, /iface eth0 inet static\n\s+address __IPADDRESS__\n\s+netmask __NETMASK__\n\s+gateway __GATEWAY__/);
    assert.doesNotMatch(ifaces, /192\.0\.2/);
    assert.equal(archiveFile(archive, './etc/hostname'), '__HOSTNAME__\n');
    const hosts = archiveFile(archive, './etc/hosts');
    assert.match(hosts, /127\.0\.1\.1\t__HOSTNAME__\.example\.org __HOSTNAME__/);
    assert.doesNotMatch(hosts, /buildhost/);
    assert.match(archiveFile(archive, './etc/inittab'), /^::sysinit:\/etc\/ec2inv\/fill-placeholders\n::sysinit:\/etc\/init\.d\/rcS\n/);
    assert.equal(get('./etc/ec2inv/fill-placeholders').mode, '-rwxr-xr-x');
    assert.equal(archiveFile(archive, './etc/ec2inv/placeholder-files'), 'etc/hostname\netc/hosts\netc/network/interfaces\n');
  });

  await t.test('the manifest says what each step changed', () => {
    const m = JSON.parse(fs.readFileSync(path.join(outA, `${NAME}.manifest.json`), 'utf8')) as {
      sha256: string;
      steps: { name: string; applied: boolean; note?: string; changes: { kind: string; path: string }[] }[];
    };
    assert.equal(m.sha256, summary.sha256);
    assert.deepEqual(m.steps.map((s) => s.name), templateSteps.map((s) => s.name));
    const ssh = m.steps.find((s) => s.name === 'ssh-host-keys')!;
    assert.deepEqual(ssh.changes, [
      { kind: 'remove', path: '/etc/ssh/ssh_host_ed25519_key' },
      { kind: 'remove', path: '/etc/ssh/ssh_host_ed25519_key.pub' },
    ]);
    const reboot = m.steps.find((s) => s.name === 'reboot-flag')!;
    assert.equal(reboot.applied, false);
    assert.match(reboot.note ?? '', /cannot tell a reboot from a halt/);
  });

  await t.test('fillPlaceholders fills an unpacked template offline', () => {
    const x = path.join(dir, 'unpacked');
    fs.mkdirSync(x);
    execFileSync('tar', ['-xzf', archive, '-C', x, './etc']);
    const r2 = fillPlaceholders(x, { ip: '10.1.2.3', netmask: 20, gateway: '10.1.0.1', hostname: 'db7' });
    assert.deepEqual(r2.files, ['etc/hostname', 'etc/hosts', 'etc/network/interfaces']);
    const ifaces = fs.readFileSync(path.join(x, 'etc/network/interfaces'), 'utf8');
    assert.match(ifaces, /address 10\.1\.2\.3\n\s+netmask 255\.255\.240\.0\n\s+gateway 10\.1\.0\.1/);
    assert.equal(fs.readFileSync(path.join(x, 'etc/hostname'), 'utf8'), 'db7\n');
    assert.throws(() => fillPlaceholders(x, { ip: '10.1.2.3', netmask: 20, gateway: '10.1.0.1', hostname: 'a;rm -rf' }), /not a valid hostname/);
  });

  await t.test('steps can be switched off; unknown steps are named', () => {
    const out = path.join(dir, 'skip');
    fs.mkdirSync(out);
    const s = cli(['template', 'build', '--rootfs', rootfs, '--name', NAME, '--out', out, '--skip', 'ssh-host-keys', 'network']);
    assert.equal(s.status, 0, s.stderr);
    const e = listArchive(path.join(out, `${NAME}.tar.gz`));
    assert.ok(e.has('./etc/ssh/ssh_host_ed25519_key'));
    assert.match(archiveFile(path.join(out, `${NAME}.tar.gz`), './etc/network/interfaces'), /address 192\.0\.2\.10/);
    const bad = cli(['template', 'build', '--rootfs', rootfs, '--name', NAME, '--out', out, '--force', '--skip', 'nosuchstep']);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^ec2-provision: error: --skip: 'nosuchstep' is not one of ssh-host-keys, /);
  });
});

test('template build: Debian sysvinit and RHEL layouts get placeholders, the reboot flag and the hook', async (t) => {
  if (!needTools(t, ['tar'])) return;
  const dir = scratch('layouts');
  const rootfs = path.join(dir, 'rootfs');
  const w = (rel: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(rootfs, rel)), { recursive: true });
    fs.writeFileSync(path.join(rootfs, rel), text);
  };
  w('sbin/init', '');
  w('etc/init.d/networking', '#!/bin/sh\n');
  fs.mkdirSync(path.join(rootfs, 'etc/rc6.d'), { recursive: true });
  fs.mkdirSync(path.join(rootfs, 'etc/rcS.d'), { recursive: true });
  w('etc/network/interfaces', 'source /etc/network/interfaces.d/*\nauto lo\niface lo inet loopback\nallow-hotplug ens3\niface ens3 inet dhcp\n');
  w('etc/network/interfaces.d/ens3', 'iface ens3 inet6 auto\n');
  w('etc/sysconfig/network-scripts/ifcfg-eth0', 'DEVICE=eth0\nBOOTPROTO=dhcp\nHWADDR=52:54:00:12:34:56\nONBOOT=no\n');
  w('etc/sysconfig/network', 'NETWORKING=yes\nHOSTNAME=old.example.com\n');
  w('lib/systemd/systemd', '');
  const out = path.join(dir, 'out');
  fs.mkdirSync(out);
  const r = await buildTemplate({ rootfs, name: 'layouts', outDir: out });
  const archive = r.archive;
  const ifaces = archiveFile(archive, './etc/network/interfaces');
  assert.match(ifaces, /^source \/etc\/network\/interfaces\.d\/\*$/m);
  assert.match(ifaces, /auto ens3\niface ens3 inet static\n\s+address __IPADDRESS__/);
  const e = listArchive(archive);
  assert.equal(e.has('./etc/network/interfaces.d/ens3'), false, 'a competing stanza for the interface is removed');
  const ifcfg = archiveFile(archive, './etc/sysconfig/network-scripts/ifcfg-eth0');
  assert.equal(ifcfg, 'DEVICE=eth0\nBOOTPROTO=none\nONBOOT=yes\nIPADDR=__IPADDRESS__\nNETMASK=__NETMASK__\nGATEWAY=__GATEWAY__\n');
  assert.match(archiveFile(archive, './etc/sysconfig/network'), /^HOSTNAME=__HOSTNAME__$/m);
  assert.equal(e.get('./etc/rc6.d/S00vzreboot')?.link, '../init.d/vzreboot');
  assert.match(archiveFile(archive, './etc/init.d/vzreboot'), /touch \/reboot/);
  assert.equal(e.get('./etc/systemd/system/reboot.target.wants/vz-reboot-flag.service')?.link, '../vz-reboot-flag.service');
  assert.equal(e.get('./etc/rcS.d/S01ec2inv-placeholders')?.link, '../init.d/ec2inv-placeholders');
  assert.equal(e.get('./etc/systemd/system/sysinit.target.wants/ec2inv-placeholders.service')?.link, '../ec2inv-placeholders.service');
  assert.match(archiveFile(archive, './etc/ec2inv/placeholder-files'), /etc\/sysconfig\/network-scripts\/ifcfg-eth0/);
});

test('template build: long names and link targets survive (pax records), as GNU tar reads them', async (t) => {
  if (!needTools(t, ['tar'])) return;
  const dir = scratch('long');
  const rootfs = path.join(dir, 'rootfs');
  const deep = path.join(rootfs, 'opt', 'd'.repeat(120), 'e'.repeat(120));
  fs.mkdirSync(deep, { recursive: true });
  fs.mkdirSync(path.join(rootfs, 'sbin'));
  fs.writeFileSync(path.join(rootfs, 'sbin', 'init'), '');
  fs.writeFileSync(path.join(deep, 'f'.repeat(150)), 'deep\n');
  fs.symlinkSync('/' + 't'.repeat(180), path.join(rootfs, 'opt', 'longlink'));
  fs.writeFileSync(path.join(rootfs, 'opt', 'unicode-é'), 'é\n');
  const out = path.join(dir, 'out');
  fs.mkdirSync(out);
  const r = await buildTemplate({ rootfs, name: 'long', outDir: out, skip: templateSteps.map((s) => s.name) });
  const x = path.join(dir, 'x');
  fs.mkdirSync(x);
  execFileSync('tar', ['-xzf', r.archive, '-C', x]);
  assert.equal(fs.readFileSync(path.join(x, 'opt', 'd'.repeat(120), 'e'.repeat(120), 'f'.repeat(150)), 'utf8'), 'deep\n');
  assert.equal(fs.readlinkSync(path.join(x, 'opt', 'longlink')), '/' + 't'.repeat(180));
  assert.equal(fs.readFileSync(path.join(x, 'opt', 'unicode-é'), 'utf8'), 'é\n');
  assert.deepEqual(r.steps.filter((s) => s.applied), []);
});
