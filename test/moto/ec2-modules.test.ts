// The collection's ec2_ami and ec2_instance modules under Debian's real ansible-core against moto:
// present, the same task again unchanged, exact_count going up and down, --check changing
// nothing and deciding by the disk digest as the real run does, absent, and absent again unchanged.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { DescribeImagesCommand, DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { startMoto, type Moto } from '../support/moto.js';
import { clientConfig } from '../support/scenario.js';
import { awsEnv, run, tempDir, writeIni } from '../support/run.js';
import { hasTool, skipUnless } from '../support/tools.js';
import { installCollection, localRecap } from '../support/collection.js';
import { sparseDisk } from '../provision/support/ec2.js';

const skip = skipUnless('EC2 modules test', hasTool('ansible-playbook') && hasTool('ansible-galaxy') ? undefined : 'ansible-core not found (apt-get install ansible-core)');
const region = 'us-east-1';


describe('ec2_ami and ec2_instance modules (ansible-playbook against moto)', { skip, concurrency: 1 }, () => {
  let moto: Moto;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let ec2: EC2Client;
  let disk: string;

  before(async () => {
    moto = await startMoto();
    dir = tempDir('ec2inv-ec2mod-');
    const installed = installCollection(dir);
    env = awsEnv(moto.endpoint, {
      ...installed.env, PATH: `${installed.binDir}:${process.env['PATH']}`,
      EC2_INI_PATH: writeIni(dir, 'ec2mod', { regions: region, route53: 'False', rds: 'False', cache_max_age: '0' }),
    });
    ec2 = new EC2Client(clientConfig(moto.endpoint, region));
    disk = path.join(dir, 'disk.raw');
    sparseDisk(disk, 8 * 1024 * 1024, [{ offset: 0, length: 65536 }]);
  });
  after(async () => moto?.stop());

  function playbook(name: string, task: string): string {
    const file = path.join(dir, `${name}.yml`);
    fs.writeFileSync(file, `- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n${task}`);
    return file;
  }
  async function play(file: string, ...args: string[]): Promise<Record<string, number>> {
    const r = await run('ansible-playbook', ['-i', 'localhost,', file, ...args], env, 300_000);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    return localRecap(r.stdout);
  }
  const amis = async () => ((await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? []).filter((i) => i.Name === 'mod-test' && i.State !== 'deregistered');
  const running = async () => ((await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:Name', Values: ['mod-web'] }, { Name: 'instance-state-name', Values: ['pending', 'running'] }] }))).Reservations ?? []).flatMap((r) => r.Instances ?? []);
  const ami = (state: string) => playbook(`ami-${state}`, `    - ec2inventory.provision.ec2_ami:\n        region: ${region}\n        image: ${disk}\n        name: mod-test\n        state: ${state}\n`);

  it('ec2_ami: --check uploads nothing, present uploads once, the second run is unchanged', async () => {
    assert.equal((await play(ami('present'), '--check'))['changed'], 1);
    assert.equal((await amis()).length, 0);
    assert.equal((await play(ami('present')))['changed'], 1);
    assert.equal((await amis()).length, 1);
    assert.equal((await play(ami('present')))['changed'], 0);
  });

  it('ec2_ami: --check judges by the disk digest as the real run does: the same disk unchanged, another disk under the name refused by both, nothing uploaded', async () => {
    assert.equal((await play(ami('present'), '--check'))['changed'], 0);
    const other = path.join(dir, 'other.raw');
    sparseDisk(other, 8 * 1024 * 1024, [{ offset: 0, length: 131072 }]);
    const otherAmi = playbook('ami-other', `    - ec2inventory.provision.ec2_ami:\n        region: ${region}\n        image: ${other}\n        name: mod-test\n`);
    const ids = (await amis()).map((i) => i.ImageId);
    for (const args of [['--check'], []]) {
      const r = await run('ansible-playbook', ['-i', 'localhost,', otherAmi, ...args], env, 300_000);
      assert.notEqual(r.code, 0, r.stdout);
      assert.match(r.stdout, /"msg": "name: AMI 'mod-test' \(ami-[0-9a-f]+\) already exists in us-east-1 with different disk content \([0-9a-f]{12}, this disk [0-9a-f]{12}\); choose another name or destroy it first"/);
    }
    assert.deepEqual((await amis()).map((i) => i.ImageId), ids);
    const renamed = playbook('ami-renamed', `    - ec2inventory.provision.ec2_ami:\n        region: ${region}\n        image: ${other}\n        name: mod-test-other\n`);
    const planned = await run('ansible-playbook', ['-i', 'localhost,', renamed, '--check', '--diff'], env, 300_000);
    assert.equal(planned.code, 0, planned.stdout + planned.stderr);
    assert.equal(localRecap(planned.stdout)['changed'], 1);
    assert.match(planned.stdout, /\+\s+"diskSha256": "[0-9a-f]{64}"/);
    const all = ((await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? []).filter((i) => i.State !== 'deregistered');
    assert.deepEqual(all.map((i) => i.Name), ['mod-test'], 'check mode registered an AMI');
  });

  const instances = (count: number, state = 'present', groups = '[web]') => playbook(`i-${count}-${state}-${groups.length}`,
    `    - ec2inventory.provision.ec2_ami:\n        region: ${region}\n        image: ${disk}\n        name: mod-test\n      register: pushed\n` +
    `    - ec2inventory.provision.ec2_instance:\n        region: ${region}\n        image_id: "{{ pushed.imageId }}"\n        instance_type: t3.micro\n        count: ${count}\n        groups: ${groups}\n        tags: {Name: mod-web, Role: web}\n        wait_timeout: 60\n        state: ${state}\n`);

  it('ec2_instance: --check launches nothing, count 2 launches two, the same task again changes nothing', async () => {
    assert.equal((await play(instances(2), '--check'))['changed'], 1);
    assert.equal((await running()).length, 0);
    assert.equal((await play(instances(2)))['changed'], 1);
    assert.equal((await running()).length, 2);
    assert.equal((await play(instances(2)))['changed'], 0);
  });

  it('ec2_instance: exact_count goes up to 3 and down to 1, keeping the oldest; other groups are a change once', async () => {
    const before = (await running()).map((i) => i.InstanceId).sort();
    assert.equal((await play(instances(3)))['changed'], 1);
    const three = await running();
    assert.equal(three.length, 3);
    assert.ok(before.every((id) => three.some((i) => i.InstanceId === id)), 'an existing instance was replaced');
    assert.equal((await play(instances(1)))['changed'], 1);
    const one = await running();
    assert.equal(one.length, 1);
    assert.ok(before.includes(one[0]?.InstanceId), 'the oldest instance is the one kept');
    assert.equal((await play(instances(1, 'present', '[web, blue]')))['changed'], 1);
    assert.equal((await play(instances(1, 'present', '[web, blue]')))['changed'], 0);
    const listed = JSON.parse((await run(path.join(dir, 'bin', 'ec2-provision'), ['list'], env)).stdout) as { groups: string[] }[];
    assert.deepEqual(listed.map((h) => [...h.groups].sort()), [['blue', 'web']]);
  });

  it('absent: instances terminated and deregistered, the AMI and its snapshot gone; again changes nothing', async () => {
    const gone = instances(1, 'absent');
    assert.equal((await play(gone, '--check'))['changed'], 1);
    assert.equal((await running()).length, 1);
    assert.equal((await play(gone))['changed'], 1);
    assert.equal((await running()).length, 0);
    assert.equal((await play(gone))['changed'], 0);
    assert.equal((await play(ami('absent')))['changed'], 1);
    assert.equal((await amis()).length, 0);
    assert.equal((await play(ami('absent')))['changed'], 0);
    const listed = JSON.parse((await run(path.join(dir, 'bin', 'ec2-provision'), ['list'], env)).stdout) as unknown[];
    assert.deepEqual(listed, []);
  });
});
