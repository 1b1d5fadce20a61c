// The package as automation code uses it: imported by its name, typed, no console output, no exit.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EC2Client, RunInstancesCommand, CreateTagsCommand, DescribeImagesCommand } from '@aws-sdk/client-ec2';
import {
  readSettings, fetchInventory, listInventory, hostInventory, hostVars, formatInventory, SettingsError, AwsError,
  type Inventory, type Settings,
} from 'ec2-inventory';
import { startMoto, type Moto } from '../support/moto.js';
import { startProxy, type Proxy } from '../support/proxy.js';
import { clientConfig } from '../support/scenario.js';
import { tempDir, writeIni } from '../support/run.js';

describe('package API', () => {
  let moto: Moto;
  // Every AWS call goes through it: its count says which calls the cache answered.
  let proxy: Proxy;
  let settings: Settings;
  let ip: string;
  const saved = { ...process.env };

  before(async () => {
    moto = await startMoto();
    const ec2 = new EC2Client(clientConfig(moto.endpoint, 'us-east-1'));
    const image = (await ec2.send(new DescribeImagesCommand({}))).Images?.[0]?.ImageId;
    const out = await ec2.send(new RunInstancesCommand({ ImageId: image, MinCount: 1, MaxCount: 1 }));
    const id = out.Instances?.[0]?.InstanceId as string;
    ip = out.Instances?.[0]?.PublicIpAddress as string;
    await ec2.send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: 'team', Value: 'ops' }] }));
    proxy = await startProxy(moto.endpoint);
    Object.assign(process.env, { AWS_ENDPOINT_URL: proxy.url, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' });
    settings = readSettings(writeIni(tempDir(), 'api', { regions: 'us-east-1', route53: 'False', rds: 'False' }));
  });
  after(async () => {
    process.env = saved;
    await proxy?.close();
    await moto?.stop();
  });

  it('fetchInventory gives typed groups and hostvars, hostVars reads one host', async () => {
    const { inventory, index } = await fetchInventory(settings);
    const typed: Inventory = inventory;
    assert.deepEqual(typed['tag_team_ops'], [ip]);
    assert.equal(hostVars(inventory, ip)?.['ec2_tag_team'], 'ops');
    assert.equal(hostVars(inventory, 'nope'), undefined);
    assert.equal(index[ip]?.[0], 'us-east-1');
    assert.match(formatInventory(inventory), /^\{\n {2}"_meta": \{/);
  });

  it('listInventory and hostInventory give the CLI text, through the cache', async () => {
    proxy.requests = 0;
    const text = await listInventory(settings);
    assert.deepEqual(JSON.parse(text)['tag_team_ops'], [ip]);
    assert.ok(proxy.requests > 0, 'the first call fetched');
    proxy.requests = 0;
    assert.equal(await listInventory(settings), text);
    assert.equal(JSON.parse(await hostInventory(settings, ip))['ec2_tag_team'], 'ops');
    assert.equal(proxy.requests, 0, 'the second --list and the --host were answered from the cache');
  });

  it('throws typed errors', async () => {
    assert.throws(() => readSettings('/nonexistent/ec2.ini'), (err: unknown) => err instanceof SettingsError && /^cannot read \/nonexistent\/ec2\.ini: file not found/.test(err.message));
    process.env['AWS_ENDPOINT_URL'] = 'http://127.0.0.1:1';
    try {
      await assert.rejects(fetchInventory(settings), (err: unknown) => err instanceof AwsError && err.service === 'EC2' && err.region === 'us-east-1' && /^EC2 \w+ in us-east-1 failed after \d+ attempts: connection refused \(ECONNREFUSED\)$/.test(err.message));
    } finally {
      process.env['AWS_ENDPOINT_URL'] = proxy.url;
    }
  });
});
