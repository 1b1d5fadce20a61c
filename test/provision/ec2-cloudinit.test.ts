// launch ec2 --ssh-key/--user-data against moto: the instance's UserData, read back through the
// API, is the cloud-config with that key; bad identity input stops the launch before any call.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { DescribeInstanceAttributeCommand, DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import YAML from 'yaml';
import { startMoto, type Moto } from '../support/moto.js';
import { awsEnv, run, runInventory, tempDir, writeIni } from '../support/run.js';
import { repoRoot } from '../support/paths.js';
import { sparseDisk, useEndpoint } from './support/ec2.js';
import { needTools } from './support/tools.js';

const region = 'us-east-1';
const provisionBin = path.join(repoRoot, 'bin', 'provision');

describe('launch ec2 with cloud-init identity (moto, CLI)', () => {
  let moto: Moto;
  let dir: string;
  let ini: string;
  let ami: string;
  const provision = (args: string[]) => run(provisionBin, args, awsEnv(moto.endpoint, { EC2_INI_PATH: ini }));
  const instanceCount = async () => {
    const ec2 = new EC2Client({ region, endpoint: moto.endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
    const r = await ec2.send(new DescribeInstancesCommand({}));
    return (r.Reservations ?? []).flatMap((x) => x.Instances ?? []).length;
  };
  before(async () => {
    moto = await startMoto();
    useEndpoint(moto.endpoint);
    dir = tempDir('ec2inv-cloudinit-');
    ini = writeIni(dir, 'ci', { regions: region, route53: 'False', rds: 'False', cache_max_age: '0' });
    const disk = path.join(dir, 'disk.raw');
    sparseDisk(disk, 8 * 1024 * 1024, [{ offset: 0, length: 65536 }]);
    const pushed = await provision(['push', 'ec2', '--region', region, '--image', disk, '--name', 'cloudinit-test']);
    assert.equal(pushed.code, 0, pushed.stderr);
    ami = JSON.parse(pushed.stdout).imageId as string;
  });
  after(async () => moto?.stop());

  it('--ssh-key: UserData read back is our cloud-config with that key, merged with --user-data; ansible_user registered', async (t) => {
    if (!needTools(t, ['ssh-keygen'])) return;
    const key = path.join(dir, 'id_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ci@test', '-f', key]);
    const own = path.join(dir, 'own.yaml');
    fs.writeFileSync(own, '#cloud-config\npackages: [nginx]\n');
    const r = await provision(['launch', 'ec2', '--region', region, '--ami', ami, '--instance-type', 't3.micro', '--groups', 'web',
      '--ssh-key', `${key}.pub`, '--user', 'deploy', '--user-data', own, '--wait', '60']);
    assert.equal(r.code, 0, r.stderr);
    const id = (JSON.parse(r.stdout) as { instances: { instanceId: string; name: string }[] }).instances[0]!;
    const ec2 = new EC2Client({ region, endpoint: moto.endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
    const attr = await ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: id.instanceId, Attribute: 'userData' }));
    const text = Buffer.from(attr.UserData?.Value ?? '', 'base64').toString('utf8');
    assert.match(text, /^#cloud-config\n/);
    const doc = YAML.parse(text) as { users: { name: string; ssh_authorized_keys: string[]; sudo: string }[]; packages: string[]; manage_etc_hosts: boolean };
    assert.equal(doc.users[0]!.name, 'deploy');
    assert.deepEqual(doc.users[0]!.ssh_authorized_keys, [fs.readFileSync(`${key}.pub`, 'utf8').trim()]);
    assert.equal(doc.users[0]!.sudo, 'ALL=(ALL) NOPASSWD:ALL');
    assert.deepEqual(doc.packages, ['nginx']);
    assert.equal(doc.manage_etc_hosts, true);
    const listed = await runInventory(ini, ['--list'], moto.endpoint);
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal(JSON.parse(listed.stdout)._meta.hostvars[id.name].ansible_user, 'deploy');
    const d = await provision(['destroy', 'ec2', '--region', region, '--name', id.name, '--wait', '60']);
    assert.equal(d.code, 0, d.stderr);
  });

  it('a private key, unreadable or non-cloud-config user-data: one line on stderr, nothing launched', async (t) => {
    if (!needTools(t, ['ssh-keygen'])) return;
    const key = path.join(dir, 'bad_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    const plain = path.join(dir, 'plain.txt');
    fs.writeFileSync(plain, 'packages: [nginx]\n');
    const locked = path.join(dir, 'locked.yaml');
    fs.writeFileSync(locked, '#cloud-config\n');
    const before = await instanceCount();
    const secret = fs.readFileSync(key, 'utf8');
    // Exit 1 for a bad file or a value refused, 2 only when the words cannot be read as a command (docs/cli.md).
    const cases: [string[], RegExp, number][] = [
      [['--ssh-key', key], /--ssh-key: SSH public key .*bad_key is a private key: give the public key .*nothing was copied/, 1],
      [['--ssh-key', path.join(dir, 'nope.pub')], /--ssh-key: SSH public key .*nope\.pub: cannot read it \(ENOENT\)/, 1],
      [['--ssh-key', `${key}.pub`, '--user-data', plain], /--user-data: \S*plain\.txt is neither a cloud-config .* nor a script/, 1],
      [['--ssh-key', `${key}.pub`, '--user-data', path.join(dir, 'missing.yaml')], /--user-data: \S*missing\.yaml: cannot read it/, 1],
      [['--user', 'deploy'], /--user: a login user or password hash needs an SSH public key/, 1],
      [['--ssh-key', `${key}.pub`, '--password-hash', 'secret'], /--password-hash: password hash: expected a crypt\(3\) hash/, 1],
    ];
    for (const [extra, message, code] of cases) {
      const r = await provision(['launch', 'ec2', '--region', region, '--ami', ami, '--instance-type', 't3.micro', '--groups', 'web', '--wait', '60', ...extra]);
      assert.equal(r.code, code, `${extra.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.equal(r.stdout, '');
      for (const line of secret.split('\n').filter((l) => l.length > 20)) assert.ok(!r.stderr.includes(line), 'private key material on stderr');
    }
    assert.equal(await instanceCount(), before, 'nothing was launched');
  });
});
