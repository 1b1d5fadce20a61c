// launch ec2 → the instances are in their requested groups in bin/ec2-inventory --list beside
// ec2.py's own groups → destroy ec2 → gone. Against a real moto_server, through the CLI. Faults
// moto cannot produce (an instance that never runs, an answer lost after a launch) use SDK mocks.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { DescribeImagesCommand, DescribeInstancesCommand, EC2Client, RunInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { startMoto, type Moto } from '../support/moto.js';
import { startProxy } from '../support/proxy.js';
import { awsEnv, run, runInventory, tempDir, writeIni } from '../support/run.js';
import { repoRoot } from '../support/paths.js';
import { destroyEc2, launchEc2, ProvisionError, type LaunchSettings } from '../../lib/provision/index.js';
import { readSettings } from '../../lib/index.js';
import { openRegistry } from '../../lib/store/registry.js';
import { sparseDisk, startProvision, useEndpoint } from './support/ec2.js';

const region = 'us-east-1';
const provisionBin = path.join(repoRoot, 'bin', 'provision');
const iniOverrides = { regions: region, route53: 'False', rds: 'False', cache_max_age: '0' };

describe('launch, list and destroy ec2 (moto, CLI)', () => {
  let moto: Moto;
  let dir: string;
  let ini: string;
  const provision = (args: string[]) => run(provisionBin, args, awsEnv(moto.endpoint, { EC2_INI_PATH: ini }));
  before(async () => {
    moto = await startMoto();
    useEndpoint(moto.endpoint);
    dir = tempDir('ec2inv-launch-');
    ini = writeIni(dir, 'launch', iniOverrides);
  });
  after(async () => moto?.stop());

  it('push → launch 3 into web,canary → listed once each with ec2_* hostvars → destroy → gone, twice', async () => {
    const disk = path.join(dir, 'disk.raw');
    sparseDisk(disk, 8 * 1024 * 1024, [{ offset: 0, length: 65536 }]);
    const pushed = await provision(['push', 'ec2', '--region', region, '--image', disk, '--name', 'launch-test']);
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.equal(pushed.stderr, '', 'no progress when stderr is not a terminal');
    const ami = JSON.parse(pushed.stdout).imageId as string;

    const launched = await provision(['launch', 'ec2', '--region', region, '--ami', ami, '--instance-type', 't3.micro', '--count', '3',
      '--groups', 'web,canary', '--tag', 'Role=web', '--tag', 'Owner=ops=team', '--wait', '60']);
    assert.equal(launched.code, 0, launched.stderr);
    const result = JSON.parse(launched.stdout) as { instances: { instanceId: string; name: string }[]; clientToken: string };
    assert.equal(result.instances.length, 3);
    const names = result.instances.map((i) => i.name).sort();

    const listed = await runInventory(ini, ['--list'], moto.endpoint);
    assert.equal(listed.code, 0, listed.stderr);
    const inv = JSON.parse(listed.stdout);
    assert.deepEqual([...inv.web].sort(), names, 'each host once in web');
    assert.deepEqual([...inv.canary].sort(), names, 'each host once in canary');
    assert.deepEqual([...inv.tag_Role_web].sort(), names, "ec2.py's own tag group");
    assert.deepEqual([...inv.tag_Owner_ops_team].sort(), names);
      assert.deepEqual([...inv['tag_ec2-inventory_groups_web_canary']].sort(), names, 'the groups tag is an ec2.py tag group too');
      assert.equal(Object.keys(inv).filter((k) => k.startsWith('tag_')).length, 3, 'no group per launch');
    assert.deepEqual([...inv.type_t3_micro].sort(), names);
    assert.ok(names.every((n) => inv[region].includes(n)));
    for (const i of result.instances) {
      const hv = inv._meta.hostvars[i.name];
      assert.equal(hv.ec2_id, i.instanceId);
      assert.equal(hv.ec2_region, region);
      assert.equal(hv.ec2_tag_Role, 'web');
      assert.equal(hv['ec2_tag_ec2-inventory_groups'], 'web,canary');
      assert.equal(hv.registry_source, 'ec2');
      assert.equal(typeof hv.ansible_host, 'string');
      assert.deepEqual(inv[i.instanceId], [i.name]);
    }

    // Without its registry entry (another controller, a lost cache folder) the groups tag still
    // puts the host in its groups, once.
    const reg = await openRegistry(readSettings(ini));
    const saved = (await reg.get(names[0]!))!;
    try {
      assert.equal(await reg.deregister(names[0]!), true);
    } finally {
      await reg.close();
    }
    const byTag = JSON.parse((await runInventory(ini, ['--list'], moto.endpoint)).stdout);
    assert.deepEqual([...byTag.web].sort(), names);
    assert.deepEqual([...byTag.canary].sort(), names);
    assert.equal(byTag._meta.hostvars[names[0]!].registry_source, undefined);
    const reg2 = await openRegistry(readSettings(ini));
    try {
      await reg2.register(saved);
    } finally {
      await reg2.close();
    }

    const first = result.instances[0]!;
    const destroyed = await provision(['destroy', 'ec2', '--region', region, '--name', first.name,
      '--instance-id', ...result.instances.slice(1).map((i) => i.instanceId), '--image', 'launch-test']);
    assert.equal(destroyed.code, 0, destroyed.stderr);
    const d = JSON.parse(destroyed.stdout);
    assert.deepEqual([...d.terminated].sort(), result.instances.map((i) => i.instanceId).sort());
    assert.deepEqual([...d.deregistered].sort(), names);
    assert.equal(d.image.imageId, ami);
    assert.equal(existsSync(path.join(dir, 'launch-cache', 'ec2-inventory.registry.json')), false, 'registry empty again');
    const gone = JSON.parse((await runInventory(ini, ['--list'], moto.endpoint)).stdout);
    assert.equal(gone.web, undefined);
    assert.equal(gone.canary, undefined);
    const ec2 = new EC2Client({ region });
    const imgs = await ec2.send(new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'name', Values: ['launch-test'] }] }));
    assert.equal(imgs.Images?.length ?? 0, 0);

    const again = await provision(['destroy', 'ec2', '--region', region, '--name', first.name, '--instance-id', first.instanceId, '--image', ami]);
    assert.equal(again.code, 0, again.stderr);
    const a = JSON.parse(again.stdout);
    assert.deepEqual(a.deregistered, []);
    assert.deepEqual(a.unknownNames, [first.name]);
    assert.equal(a.image.deregistered, false);
  });

  it('with a cache, the --list after a launch or a destroy lists the hosts as they are, not as the cache saw them', async () => {
    // cache_max_age of an hour: without the drop, each --list below would be the cached one.
    const cachedIni = writeIni(dir, 'launch-cached', { ...iniOverrides, cache_max_age: '3600' });
    const cli = (args: string[]) => run(provisionBin, args, awsEnv(moto.endpoint, { EC2_INI_PATH: cachedIni }));
    const list = async () => {
      const r = await runInventory(cachedIni, ['--list'], moto.endpoint);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as Record<string, unknown> & { _meta: { hostvars: Record<string, { ec2_state?: string }> } };
    };
    const ami = (await new EC2Client({ region }).send(new DescribeImagesCommand({}))).Images?.[0]?.ImageId as string;
    const launch = async (group: string) => {
      const r = await cli(['launch', 'ec2', '--region', region, '--ami', ami, '--instance-type', 't3.micro', '--groups', group, '--wait', '60']);
      assert.equal(r.code, 0, r.stderr);
      return (JSON.parse(r.stdout) as { instances: { instanceId: string; name: string }[] }).instances[0]!;
    };
    await list(); // the cache, before any launch
    const one = await launch('cachedone');
    assert.deepEqual((await list())['cachedone'], [one.name], 'a launch is listed at once');
    assert.equal((await list())._meta.hostvars[one.name]?.ec2_state, 'running', 'and the cache now holds it');
    const destroyed = await cli(['destroy', 'ec2', '--region', region, '--name', one.name]);
    assert.equal(destroyed.code, 0, destroyed.stderr);
    const after = await list();
    assert.equal(after['cachedone'], undefined);
    assert.equal(after._meta.hostvars[one.name], undefined, 'the terminated host is not served as running');

    // Terminated by id, after its registry entry went: the cached listing from AWS is dropped too.
    const two = await launch('cachedtwo');
    const registry = await openRegistry(readSettings(cachedIni));
    try {
      assert.equal(await registry.deregister(two.name), true);
    } finally {
      await registry.close();
    }
    assert.equal((await list())._meta.hostvars[two.name]?.ec2_state, 'running', 'listed by AWS alone, and cached');
    const byId = await cli(['destroy', 'ec2', '--region', region, '--instance-id', two.instanceId]);
    assert.equal(byId.code, 0, byId.stderr);
    assert.deepEqual(JSON.parse(byId.stdout).deregistered, []);
    assert.equal((await list())._meta.hostvars[two.name], undefined);
  });

  it('no credentials, or an endpoint that is not a URL: what to set, exit 1, nothing launched or looked for', async () => {
    const home = tempDir('ec2inv-nocreds-');
    const bare = { PATH: process.env['PATH'], HOME: home, AWS_EC2_METADATA_DISABLED: 'true', EC2_INI_PATH: ini };
    const launch = ['launch', 'ec2', '--region', region, '--ami', 'ami-12345678', '--instance-type', 't3.micro', '--groups', 'web'];
    const r = await run(provisionBin, launch, { ...bare, AWS_ENDPOINT_URL: moto.endpoint });
    assert.deepEqual([r.code, r.stdout, r.stderr], [1, '', "ec2-provision: error: launch failed at step 'run instances': RunInstances of ami-12345678 (1 x t3.micro) in us-east-1 failed: " +
      'no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or name a profile of ~/.aws/credentials or ~/.aws/config with AWS_PROFILE (nothing to undo)\n']);
    const url = await run(provisionBin, ['destroy', 'ec2', '--region', region, '--instance-id', 'i-0123456789abcdef0'],
      { ...bare, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_ENDPOINT_URL: 'moto:5000' });
    assert.deepEqual([url.code, url.stdout, url.stderr], [1, '',
      "ec2-provision: error: AWS_ENDPOINT_URL is not a URL: 'moto:5000' (write http://host:port or https://host)\n"]);
  });

  // moto launches from any AMI id, so the rejection it can produce is an unknown subnet.
  it('RunInstances rejected: exit 1 naming the step and the AMI, nothing registered', async () => {
    const r = await provision(['launch', 'ec2', '--region', region, '--ami', 'ami-0000000000000dead', '--instance-type', 't3.micro',
      '--subnet', 'subnet-00000000dead', '--groups', 'web']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /RunInstances of ami-0000000000000dead \(1 x t3.micro\) in us-east-1 failed.*InvalidSubnetID/);
    assert.deepEqual(await registeredNames(readSettings(ini)), [], 'nothing registered');
  });

  it('a RunInstances attempt that fails is retried by the SDK with the same client token: one launch', async () => {
    const ec2 = new EC2Client({ region });
    const bodies: string[] = [];
    // Inside the SDK's retry loop (deserialize runs per attempt): the first attempt is throttled
    // before it reaches moto, as AWS throttles it.
    ec2.middlewareStack.add((next) => async (args) => {
      const body = String((args.request as { body?: unknown }).body ?? '');
      if (!body.includes('Action=RunInstances')) return next(args);
      bodies.push(body);
      if (bodies.length === 1) throw Object.assign(new Error('Request limit exceeded.'), { name: 'RequestLimitExceeded', $metadata: { httpStatusCode: 503 } });
      return next(args);
    }, { step: 'deserialize', name: 'throttleFirstRunInstances' });
    const settings = readSettings(ini);
    const r = await launchEc2({ region, ami: 'ami-12c6146b', instanceType: 't3.micro', groups: ['retry'], settings, clients: { ec2 }, pollMs: 50 });
    assert.equal(bodies.length, 2);
    const tokens = bodies.map((b) => new URLSearchParams(b).get('ClientToken'));
    assert.deepEqual(tokens, [r.clientToken, r.clientToken]);
    const found = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:ec2-inventory:groups', Values: ['retry'] }] }));
    const instances = (found.Reservations ?? []).flatMap((x) => x.Instances ?? []);
    assert.deepEqual(instances.map((i) => i.InstanceId), [r.instances[0]!.instanceId]);
    assert.equal(instances[0]!.ClientToken, r.clientToken);
    await destroyEc2({ region, instanceIds: [r.instances[0]!.instanceId], settings, clients: { ec2 }, pollMs: 50 });
    assert.deepEqual(await registeredNames(settings), []);
  });

  it('bad values are refused before anything is launched', async () => {
    const r = await provision(['launch', 'ec2', '--region', region, '--ami', 'ami-1', '--instance-type', 't3.micro', '--groups', 'web,no spaces']);
    assert.equal(r.code, 1, 'a refused value exits 1, as docs/cli.md says');
    assert.match(r.stderr, /group 'no spaces'/);
    const t = await provision(['launch', 'ec2', '--region', region, '--ami', 'ami-1', '--instance-type', 't3.micro', '--groups', 'web', '--tag', 'novalue']);
    assert.match(t.stderr, /^ec2-provision: error: --tag: expected key=value, not 'novalue'/);
    const missing = path.join(dir, 'no-such.raw');
    const p = await provision(['push', 'ec2', '--region', region, '--image', missing, '--name', 'whatever']);
    assert.equal(p.code, 1);
    assert.equal(p.stderr, `ec2-provision: error: cannot read image ${missing}: ENOENT\n`);
  });

  it('SIGINT while waiting for the instance: terminated, nothing registered, exit 130; a second SIGINT exits at once', async () => {
    const proxy = await startProxy(moto.endpoint);
    try {
      // DescribeInstances (the wait) is held in the proxy; everything else, TerminateInstances
      // included, goes straight through.
      proxy.delayFor = (body) => (body.includes('Action=DescribeInstances') ? 30_000 : undefined);
      proxy.recorded = [];
      const launchArgs = ['launch', 'ec2', '--region', region, '--ami', 'ami-12c6146b', '--instance-type', 't3.micro', '--groups', 'interrupted', '--wait', '60'];
      const launch = startProvision(launchArgs, awsEnv(proxy.url, { EC2_INI_PATH: ini }));
      const waiting = () => proxy.recorded?.some((r) => r.body.includes('Action=DescribeInstances')) ?? false;
      await launch.until(waiting, 'the launch waiting for its instance');
      const { code, ms } = await launch.stop('SIGINT');
      const stderr = launch.stderr;
      assert.equal(code, 130, stderr);
      assert.ok(ms < 20_000, 'the held poll was abandoned, not waited out');
      assert.equal(launch.stdout, '');
      assert.match(stderr, /SIGINT: stopping and undoing/);
      assert.match(stderr, /interrupted by SIGINT/);
      const id = /launch failed at step 'wait until running': interrupted by SIGINT \(undone: instances (i-[0-9a-f]+) in us-east-1\)/.exec(stderr)?.[1];
      assert.ok(id, stderr);
      const ec2 = new EC2Client({ region });
      const found = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
      const state = found.Reservations?.[0]?.Instances?.[0]?.State?.Name;
      assert.ok(state === 'terminated' || state === 'shutting-down', `instance ${id} is ${state}`);
      assert.deepEqual(await registeredNames(readSettings(ini)), [], 'nothing registered');
      assert.equal(proxy.recorded?.filter((r) => r.body.includes('Action=RunInstances')).length, 1);

      // Nothing to undo left, or the user insists: the second signal is not waited on.
      proxy.recorded = [];
      proxy.delayFor = (body) => (/Action=(DescribeInstances|TerminateInstances)/.test(body) ? 30_000 : undefined);
      const stubborn = startProvision(launchArgs, awsEnv(proxy.url, { EC2_INI_PATH: ini }));
      await stubborn.until(waiting, 'the launch waiting for its instance');
      stubborn.kill('SIGINT');
      await stubborn.until(() => proxy.recorded?.some((r) => r.body.includes('Action=TerminateInstances')) ?? false, 'TerminateInstances after the first SIGINT');
      stubborn.kill('SIGINT');
      assert.equal(await stubborn.exited, 130, stubborn.stderr);
      assert.match(stubborn.stderr, /interrupted by SIGINT; temporary files removed/);
      // Its instance was left running by the user's second signal: clean up after the test.
      const left = proxy.recorded?.find((r) => r.body.includes('Action=TerminateInstances'));
      const leftIds = [...new URLSearchParams(left?.body ?? '').entries()].filter(([k]) => k.startsWith('InstanceId')).map(([, v]) => v);
      assert.equal(leftIds.length, 1);
      await ec2.send(new TerminateInstancesCommand({ InstanceIds: leftIds }));
    } finally {
      await proxy.close();
    }
  });
});

describe('launch ec2 failures (SDK mocks)', () => {
  let dir: string;
  let settings: LaunchSettings;
  before(() => {
    dir = tempDir('ec2inv-launchmock-');
    settings = readSettings(writeIni(dir, 'mock', iniOverrides));
  });

  const instance = (id: string, state: string) => ({ InstanceId: id, State: { Name: state as 'pending' }, PrivateIpAddress: '10.0.0.9', SubnetId: 'subnet-1' });

  it('an instance that never reaches running: timeout named, both instances terminated, nothing registered', async () => {
    const ec2 = mockClient(new EC2Client({ region }));
    ec2.on(RunInstancesCommand).resolves({ Instances: [instance('i-aaa', 'pending'), instance('i-bbb', 'pending')] });
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [instance('i-aaa', 'running'), instance('i-bbb', 'pending')] }] });
    ec2.on(TerminateInstancesCommand).resolves({});
    await assert.rejects(
      launchEc2({ region, ami: 'ami-1', instanceType: 't3.micro', count: 2, groups: ['web'], settings, waitSeconds: 0.3, pollMs: 50, clients: { ec2: ec2 as unknown as EC2Client }, clientToken: 'tok-1' }),
      (e: ProvisionError) => /timed out after 0.3 s waiting for i-aaa, i-bbb in us-east-1 to run/.test(e.message) && /\(undone: instances i-aaa, i-bbb in us-east-1\)$/.test(e.message));
    assert.deepEqual(ec2.commandCalls(TerminateInstancesCommand)[0]!.args[0].input.InstanceIds, ['i-aaa', 'i-bbb']);
    const run = ec2.commandCalls(RunInstancesCommand)[0]!.args[0].input;
    assert.equal(run.ClientToken, 'tok-1', 'the token the caller gave is what AWS dedupes on');
    assert.deepEqual(run.TagSpecifications?.map((s) => s.ResourceType), ['instance', 'volume']);
    assert.ok(run.TagSpecifications?.[1]?.Tags?.some((t) => t.Key === 'ec2-inventory:groups' && t.Value === 'web'));
    assert.deepEqual(await registeredNames(settings), []);
  });

  it('an instance that goes to terminated: named with its reason, the other terminated', async () => {
    const ec2 = mockClient(new EC2Client({ region }));
    ec2.on(RunInstancesCommand).resolves({ Instances: [instance('i-aaa', 'pending'), instance('i-bbb', 'pending')] });
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [
      instance('i-aaa', 'running'), { ...instance('i-bbb', 'terminated'), StateReason: { Message: 'Server.InsufficientInstanceCapacity' } }] }] });
    ec2.on(TerminateInstancesCommand).resolves({});
    await assert.rejects(
      launchEc2({ region, ami: 'ami-1', instanceType: 't3.micro', count: 2, groups: ['web'], settings, pollMs: 50, clients: { ec2: ec2 as unknown as EC2Client } }),
      /ProvisionError: launch failed at step 'wait until running': instance i-bbb in us-east-1 went to terminated instead of running: Server.InsufficientInstanceCapacity \(undone: instances i-aaa, i-bbb in us-east-1\)$/);
    assert.deepEqual(await registeredNames(settings), []);
  });

  it('RunInstances fails after AWS launched (answer lost): the client token finds and terminates them', async () => {
    const ec2 = mockClient(new EC2Client({ region }));
    ec2.on(RunInstancesCommand).rejects(Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }));
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [instance('i-lost', 'pending')] }] });
    ec2.on(TerminateInstancesCommand).resolves({});
    await assert.rejects(
      launchEc2({ region, ami: 'ami-1', instanceType: 't3.micro', groups: ['web'], settings, clients: { ec2: ec2 as unknown as EC2Client }, clientToken: 'tok-lost' }),
      /ProvisionError: launch failed at step 'run instances': RunInstances of ami-1 \(1 x t3.micro\) in us-east-1 failed: TimeoutError: socket hang up \(undone: instances i-lost in us-east-1\)$/);
    const filter = ec2.commandCalls(DescribeInstancesCommand)[0]!.args[0].input.Filters;
    assert.deepEqual(filter, [{ Name: 'client-token', Values: ['tok-lost'] }]);
    assert.deepEqual(await registeredNames(settings), []);
  });
});

async function registeredNames(settings: LaunchSettings): Promise<string[]> {
  const reg = await openRegistry(settings);
  try {
    return (await reg.list()).map((h) => h.name);
  } finally {
    await reg.close();
  }
}
