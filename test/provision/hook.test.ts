import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { buildTemplate } from '../../lib/provision/index.js';
import { kernelCmdlineParams, netmaskToPrefix, prefixToNetmask } from '../../lib/provision/template/placeholders.js';
import { guestRootfs, scratch } from './support/fixture.js';
import { inCI, needTools } from './support/tools.js';

test('netmask and prefix conversions; kernel parameters refuse values that could break the guest files', () => {
  assert.equal(prefixToNetmask(0), '0.0.0.0');
  assert.equal(prefixToNetmask(26), '255.255.255.192');
  assert.equal(prefixToNetmask(32), '255.255.255.255');
  assert.equal(netmaskToPrefix('255.255.240.0'), 20);
  assert.throws(() => netmaskToPrefix('255.0.255.0'), /not a contiguous netmask/);
  assert.throws(() => prefixToNetmask(33), /bad prefix length/);
  assert.equal(
    kernelCmdlineParams({ ip: '10.0.2.15', netmask: '255.255.255.0', gateway: '10.0.2.2', hostname: 'web1' }),
    'ec2inv.ip=10.0.2.15/24 ec2inv.gw=10.0.2.2 ec2inv.hostname=web1',
  );
  assert.throws(() => kernelCmdlineParams({ ip: '10.0.2.15', netmask: 24, gateway: '10.0.2.2', hostname: 'a b' }), /not a valid hostname/);
  assert.throws(() => kernelCmdlineParams({ ip: '10.0.2.256', netmask: 24, gateway: '10.0.2.2', hostname: 'a' }), /not an IPv4 address/);
});

// The first-boot hook runs under busybox in a chroot of the unpacked template, with a private mount
// and UTS namespace so its /proc/cmdline is ours and its `hostname` call cannot rename the host.
test('the first-boot hook fills the placeholders from /proc/cmdline and rejects bad values', async (t) => {
  if (process.getuid?.() !== 0) {
    if (inCI) throw new Error('the hook test needs root (chroot, unshare)');
    return t.skip('needs root for chroot and unshare');
  }
  if (!needTools(t, ['unshare', 'chroot', 'tar', 'apt-get', 'dpkg'])) return;
  const dir = scratch('hook');
  const rootfs = path.join(dir, 'rootfs');
  if (!guestRootfs(t, rootfs)) return;
  const r = await buildTemplate({ rootfs, name: 'hook', outDir: dir });
  const guest = path.join(dir, 'guest');
  const cmdline = path.join(dir, 'cmdline');

  const boot = (line: string) => {
    fs.rmSync(guest, { recursive: true, force: true });
    fs.mkdirSync(guest);
    execFileSync('tar', ['-xzf', r.archive, '-C', guest]);
    fs.writeFileSync(path.join(guest, 'proc', 'cmdline'), '');
    fs.writeFileSync(cmdline, line + '\n');
    const script = 'mount --bind "$1" "$2/proc/cmdline" && exec chroot "$2" /etc/ec2inv/fill-placeholders';
    const res = spawnSync('unshare', ['-m', '-u', 'sh', '-c', script, 'sh', cmdline, guest], { encoding: 'utf8', timeout: 20_000 });
    const read = (p: string) => fs.readFileSync(path.join(guest, p), 'utf8');
    return { status: res.status, stderr: res.stderr, interfaces: read('etc/network/interfaces'), hostname: read('etc/hostname'), hosts: read('etc/hosts') };
  };

  await t.test('values from the command line land in the files', () => {
    const g = boot(`console=ttyS0 root=/dev/vda1 ${kernelCmdlineParams({ ip: '172.16.5.9', netmask: 12, gateway: '172.16.0.1', hostname: 'db-3' })} quiet`);
    assert.equal(g.status, 0, g.stderr);
    assert.match(g.interfaces, /address 172\.16\.5\.9\n\s+netmask 255\.240\.0\.0\n\s+gateway 172\.16\.0\.1\n/);
    assert.equal(g.hostname, 'db-3\n');
    assert.match(g.hosts, /127\.0\.1\.1\tdb-3\.example\.org db-3/);
  });

  await t.test('the hook runs again on the next boot with new values (pristine copies are kept)', () => {
    const g = boot('ec2inv.ip=10.0.0.5/8 ec2inv.gw=10.0.0.1 ec2inv.hostname=second');
    assert.equal(g.status, 0, g.stderr);
    assert.match(g.interfaces, /address 10\.0\.0\.5\n\s+netmask 255\.0\.0\.0/);
  });

  await t.test('without a gateway the gateway line is dropped', () => {
    const g = boot('ec2inv.ip=10.0.0.5/24 ec2inv.hostname=nogw');
    assert.equal(g.status, 0, g.stderr);
    assert.doesNotMatch(g.interfaces, /gateway/);
    assert.match(g.interfaces, /netmask 255\.255\.255\.0/);
  });

  await t.test('without ec2inv.ip nothing changes', () => {
    const g = boot('console=ttyS0 root=/dev/vda1');
    assert.equal(g.status, 0, g.stderr);
    assert.match(g.interfaces, /address __IPADDRESS__/);
    assert.equal(g.hostname, '__HOSTNAME__\n');
  });

  for (const [what, line, err] of [
    ['a hostname with a sed metacharacter', 'ec2inv.ip=10.0.0.5/24 ec2inv.gw=10.0.0.1 ec2inv.hostname=a/b', /bad ec2inv\.hostname: a\/b/],
    ['an address with letters', 'ec2inv.ip=10.0.0.x/24 ec2inv.gw=10.0.0.1', /bad ec2inv\.ip: 10\.0\.0\.x/],
    ['a prefix over 32', 'ec2inv.ip=10.0.0.5/33 ec2inv.gw=10.0.0.1', /bad prefix length: 33/],
  ] as const) {
    await t.test(`refuses ${what} and leaves the placeholders`, () => {
      const g = boot(line);
      assert.equal(g.status, 1);
      assert.match(g.stderr, err);
      assert.match(g.interfaces, /address __IPADDRESS__/);
    });
  }
});
