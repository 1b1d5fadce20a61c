import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import YAML from 'yaml';
import { buildSeedIso, networkConfig, parseUserData, readSshPublicKey, seedFiles, userDataText, type CloudConfig } from '../../lib/provision/cloudinit.js';
import { ProvisionError } from '../../lib/errors.js';
import { scratch } from './support/fixture.js';
import { needTools } from './support/tools.js';

function keypair(dir: string, name = 'id_ed25519'): { priv: string; pub: string } {
  const priv = path.join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'tester@example', '-f', priv]);
  return { priv, pub: `${priv}.pub` };
}

function cloudConfigOf(userData: string): CloudConfig {
  assert.match(userData, /^#cloud-config\n/);
  return YAML.parse(userData) as CloudConfig;
}

test('SSH keys: a public key file is read; a private key is refused without its content anywhere', (t) => {
  if (!needTools(t, ['ssh-keygen'])) return;
  const dir = scratch('keys');
  const { priv, pub } = keypair(dir);
  const keys = readSshPublicKey(pub);
  assert.deepEqual(keys, [fs.readFileSync(pub, 'utf8').trim()]);
  const secret = fs.readFileSync(priv, 'utf8');
  assert.throws(
    () => readSshPublicKey(priv),
    (err: unknown) => {
      assert.ok(err instanceof ProvisionError);
      assert.match(err.message, /is a private key: give the public key \(.*id_ed25519\.pub\); nothing was copied/);
      for (const line of secret.split('\n').filter((l) => l.length > 20)) assert.ok(!err.message.includes(line), 'key material in the message');
      return true;
    },
  );
  fs.writeFileSync(path.join(dir, 'junk.pub'), 'ssh-ed25519 notbase64!! x\n');
  assert.throws(() => readSshPublicKey(path.join(dir, 'junk.pub')), /line 1 is not an OpenSSH public key/);
  // A blob of another key type: a mangled paste.
  const blob = fs.readFileSync(pub, 'utf8').split(' ')[1]!;
  fs.writeFileSync(path.join(dir, 'mixed.pub'), `ssh-rsa ${blob} x\n`);
  assert.throws(() => readSshPublicKey(path.join(dir, 'mixed.pub')), /not an OpenSSH public key/);
  fs.writeFileSync(path.join(dir, 'empty.pub'), '# nothing\n\n');
  assert.throws(() => readSshPublicKey(path.join(dir, 'empty.pub')), /no public key in it/);
  assert.throws(() => readSshPublicKey(path.join(dir, 'missing.pub')), /cannot read it \(ENOENT\)/);
});

test('user-data is a #cloud-config YAML mapping or a script; anything else is refused', () => {
  assert.deepEqual(parseUserData('#cloud-config\npackages: [nginx]\n'), { kind: 'cloud-config', config: { packages: ['nginx'] } });
  assert.deepEqual(parseUserData('#cloud-config\n'), { kind: 'cloud-config', config: {} });
  assert.equal(parseUserData('#!/bin/sh\necho hi\n').kind, 'script');
  assert.throws(() => parseUserData('packages: [nginx]\n'), /neither a cloud-config .* nor a script/);
  assert.throws(() => parseUserData('#cloud-config\n- a\n- b\n'), /must be a YAML mapping .*not a list/);
  assert.throws(() => parseUserData('#cloud-config\nusers: [\n'), /#cloud-config is not valid YAML/);
  assert.throws(() => parseUserData('#cloud-config\na: 1\na: 2\n'), /not valid YAML/);
});

test("user-data: our user with the key and sudo, manage_etc_hosts, merged with the user's own cloud-config", () => {
  const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK8 me@host';
  const doc = cloudConfigOf(
    userDataText({
      user: 'deploy',
      sshKeys: [key],
      userData: parseUserData('#cloud-config\nusers: [{name: bob}]\npackages: [nginx]\nmanage_etc_hosts: localhost\n'),
    }),
  );
  const users = doc['users'] as CloudConfig[];
  assert.equal(users[0]!['name'], 'deploy');
  assert.deepEqual(users[0]!['ssh_authorized_keys'], [key]);
  assert.equal(users[0]!['sudo'], 'ALL=(ALL) NOPASSWD:ALL');
  assert.equal(users[1]!['name'], 'bob', "the user's own users come after ours");
  assert.deepEqual(doc['packages'], ['nginx']);
  assert.equal(doc['manage_etc_hosts'], 'localhost', "the user's scalar wins");
  assert.equal(cloudConfigOf(userDataText({ sshKeys: [key] }))['manage_etc_hosts'], true);

  const multi = userDataText({ sshKeys: [key], userData: parseUserData('#!/bin/sh\ntouch /ran\n') });
  assert.match(multi, /^Content-Type: multipart\/mixed; boundary="([^"]+)"/);
  assert.match(multi, /Content-Type: text\/cloud-config;[^]*#cloud-config\n[^]*ssh_authorized_keys[^]*Content-Type: text\/x-shellscript;[^]*#!\/bin\/sh\ntouch \/ran\n/);

  assert.throws(() => userDataText({ sshKeys: [key], user: 'Root Admin' }), /login user "Root Admin": expected a login name/);
  assert.throws(() => userDataText({ sshKeys: [key], passwordHash: 'hunter2' }), /password hash: expected a crypt\(3\) hash/);
  const withHash = cloudConfigOf(userDataText({ sshKeys: [key], passwordHash: '$6$saltsalt$abcdefghijklmnopqrstuv' }));
  assert.equal((withHash['users'] as CloudConfig[])[0]!['lock_passwd'], false);
});

test('network-config: for the NIC with our MAC, DHCP by default, the static address when given', () => {
  const mac = '52:54:00:0a:0b:0c';
  assert.deepEqual(YAML.parse(networkConfig({ mac })), { version: 2, ethernets: { primary: { match: { macaddress: mac }, dhcp4: true } } });
  assert.deepEqual(YAML.parse(networkConfig({ mac, address: '10.0.2.21/24', gateway: '10.0.2.2', nameservers: ['10.0.2.3'] })), {
    version: 2,
    ethernets: { primary: { match: { macaddress: mac }, addresses: ['10.0.2.21/24'], gateway4: '10.0.2.2', nameservers: { addresses: ['10.0.2.3'] } } },
  });
  assert.throws(() => networkConfig({ mac, address: '10.0.2.21' }), /expected ADDR\/PREFIX/);
  assert.throws(() => networkConfig({ mac: '52:54:00:0a:0b' }), /MAC address/);
  // No MAC: no network-config, cloud-init's own fallback (DHCP on the first NIC).
  assert.equal(seedFiles({ hostname: 'web', sshKeys: [] })['network-config'], undefined);
  assert.throws(() => seedFiles({ hostname: 'web', sshKeys: [], network: { address: '10.0.2.21/24' } }), /needs the NIC's MAC/);
});

test('the NoCloud seed: an ISO 9660 volume labelled cidata holding meta-data, user-data and network-config', async (t) => {
  if (!needTools(t, ['genisoimage', 'isoinfo'])) return;
  const dir = scratch('seed');
  const files = seedFiles({ hostname: 'web', sshKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK8 me@host'], network: { mac: '52:54:00:0a:0b:0c' } });
  assert.match(files['meta-data'], /^instance-id: iid-web-[0-9a-f]{8}\nlocal-hostname: web\n$/);
  const iso = path.join(dir, 'seed.iso');
  await buildSeedIso(files, iso);
  assert.equal(fs.statSync(iso).mode & 0o777, 0o600);
  const info = execFileSync('isoinfo', ['-d', '-i', iso], { encoding: 'utf8' });
  assert.match(info, /^Volume id: cidata$/m);
  for (const name of ['meta-data', 'user-data', 'network-config'] as const) {
    const got = execFileSync('isoinfo', ['-R', '-x', `/${name}`, '-i', iso], { encoding: 'utf8' });
    assert.equal(got, files[name]!, name);
  }
  assert.throws(() => seedFiles({ hostname: 'bad_name', sshKeys: ['x'] }), /cannot be a hostname/);
});

test('launch kvm: a private key or bad user-data is refused before libvirt is asked anything', async (t) => {
  if (!needTools(t, ['ssh-keygen'])) return;
  const { cli } = await import('./support/inspect.js');
  const dir = scratch('launch-identity');
  const { priv, pub } = keypair(dir);
  const bad = path.join(dir, 'bad.yaml');
  fs.writeFileSync(bad, 'users: []\n');
  // A URI no daemon answers: reaching libvirt at all would fail differently.
  const base = ['launch', 'kvm', '--uri', 'qemu+unix:///system?socket=/nonexistent/sock', '--pool', 'p', '--volume', 'v', '--name', 'g', '--groups', 'web', '--no-register'];
  const cases: [string[], RegExp][] = [
    [['--ssh-key', priv], /is a private key: give the public key/],
    [['--ssh-key', pub, '--user-data', bad], /is neither a cloud-config .* nor a script/],
    [['--ssh-key', pub, '--user', 'Bad User'], /--user: login user "Bad User": expected a login name/],
    [['--user', 'deploy'], /--user: a login user or password hash needs an SSH public key/],
    [['--ssh-key', pub, '--address-source', 'dhcp'], /^ec2-provision: error: --address-source: must be one of auto, lease, agent, arp, not 'dhcp'/],
  ];
  for (const [extra, message] of cases) {
    const r = cli([...base, ...extra]);
    assert.notEqual(r.status, 0, extra.join(' '));
    assert.match(r.stderr, message);
    assert.equal(r.stdout, '');
    assert.doesNotMatch(r.stderr.trim().split('\n').at(-1) ?? '', /nonexistent|virsh|libvirt/, 'refused before any virsh call');
  }
});
