// Several AWS accounts in one inventory ([account NAME] sections), against moto, which keeps one
// state per account: AssumeRole into arn:aws:iam::111111111111:role/... answers credentials that
// act in account 111111111111. The scenario is built through those credentials: the same private
// IP and the same Name tag in three accounts, RDS in one, a Route53 zone in another.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import {
  EC2Client, RunInstancesCommand, CreateVpcCommand, CreateSubnetCommand, DescribeImagesCommand,
} from '@aws-sdk/client-ec2';
import { RDSClient, CreateDBInstanceCommand, CreateDBClusterCommand } from '@aws-sdk/client-rds';
import { Route53Client, CreateHostedZoneCommand, ChangeResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { ElastiCacheClient, CreateReplicationGroupCommand } from '@aws-sdk/client-elasticache';
import { STSClient, AssumeRoleCommand } from '@aws-sdk/client-sts';
import { startMoto, type Moto } from '../support/moto.js';
import { credentials } from '../support/scenario.js';
import { runInventory, tempDir, type RunResult } from '../support/run.js';
import type { Inventory } from '../../lib/records/inventory.js';
import { fetchInventory, readSettings, SettingsError, type AccountSettings } from 'ec2-inventory';

const region = 'us-east-1';
const PROD = '111111111111';
const STAGE = '222222222222';
const MAIN = '123456789012'; // moto's own account: the credentials of the environment
const roleOf = (id: string) => `arn:aws:iam::${id}:role/inventory`;

interface Creds { accessKeyId: string; secretAccessKey: string; sessionToken?: string }

async function assume(endpoint: string, id: string): Promise<Creds> {
  const sts = new STSClient({ endpoint, region, credentials, maxAttempts: 1 });
  const out = await sts.send(new AssumeRoleCommand({ RoleArn: roleOf(id), RoleSessionName: 'scenario' }));
  const c = out.Credentials;
  return { accessKeyId: c?.AccessKeyId as string, secretAccessKey: c?.SecretAccessKey as string, sessionToken: c?.SessionToken as string };
}

/** Instances of one account in a VPC of its own: 10.0.1.10 (Name web) in every account, plus extras. */
async function buildAccount(endpoint: string, creds: Creds, extra: { name: string; ip: string }[]): Promise<Record<string, string>> {
  const ec2 = new EC2Client({ endpoint, region, credentials: creds, maxAttempts: 1 });
  const images = await ec2.send(new DescribeImagesCommand({}));
  const image = images.Images?.[0]?.ImageId as string;
  const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }));
  const subnet = await ec2.send(new CreateSubnetCommand({ VpcId: vpc.Vpc?.VpcId, CidrBlock: '10.0.1.0/24' }));
  const ids: Record<string, string> = {};
  for (const { name, ip } of [{ name: 'web', ip: '10.0.1.10' }, ...extra]) {
    const out = await ec2.send(new RunInstancesCommand({
      ImageId: image, MinCount: 1, MaxCount: 1, InstanceType: 't2.micro', SubnetId: subnet.Subnet?.SubnetId, PrivateIpAddress: ip,
      TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: name }] }],
    }));
    ids[name] = out.Instances?.[0]?.InstanceId as string;
  }
  return ids;
}

let moto: Moto;
let dir: string;
let home: string;
const ids: Record<string, Record<string, string>> = {};

before(async () => {
  moto = await startMoto();
  dir = tempDir('ec2inv-accounts-');
  const prod = await assume(moto.endpoint, PROD);
  const stage = await assume(moto.endpoint, STAGE);
  ids[MAIN] = await buildAccount(moto.endpoint, credentials, []);
  ids[PROD] = await buildAccount(moto.endpoint, prod, [{ name: 'api', ip: '10.0.1.11' }]);
  ids[STAGE] = await buildAccount(moto.endpoint, stage, [{ name: 'batch', ip: '10.0.1.12' }]);
  // RDS in prod.
  const rds = new RDSClient({ endpoint: moto.endpoint, region, credentials: prod, maxAttempts: 1 });
  await rds.send(new CreateDBInstanceCommand({
    DBInstanceIdentifier: 'orders', DBInstanceClass: 'db.t3.micro', Engine: 'postgres', AllocatedStorage: 10,
    MasterUsername: 'admin', MasterUserPassword: 'password1234',
  }));
  // A Route53 zone in stage naming its batch host.
  const r53 = new Route53Client({ endpoint: moto.endpoint, region, credentials: stage, maxAttempts: 1 });
  const zone = await r53.send(new CreateHostedZoneCommand({ Name: 'stage.example.com', CallerReference: 'stage' }));
  await r53.send(new ChangeResourceRecordSetsCommand({
    HostedZoneId: zone.HostedZone?.Id,
    ChangeBatch: { Changes: [{ Action: 'CREATE', ResourceRecordSet: { Name: 'batch.stage.example.com', Type: 'A', TTL: 60, ResourceRecords: [{ Value: '10.0.1.12' }] } }] },
  }));
  // A HOME whose ~/.aws/config has a profile that assumes the stage role.
  home = path.join(dir, 'home');
  mkdirSync(path.join(home, '.aws'), { recursive: true });
  writeFileSync(path.join(home, '.aws', 'credentials'), '[base]\naws_access_key_id = testing\naws_secret_access_key = testing\n');
  writeProfiles(true);
});
after(async () => moto?.stop());

function writeProfiles(withStaging: boolean): void {
  const staging = withStaging ? `[profile staging]\nrole_arn = ${roleOf(STAGE)}\nsource_profile = base\nregion = ${region}\n` : '';
  writeFileSync(path.join(home, '.aws', 'config'), `[profile base]\nregion = ${region}\n${staging}`);
}

const ec2Section = (cache: string, extra: Record<string, string> = {}) => ({
  regions: region,
  regions_exclude: '',
  all_instances: 'False',
  all_rds_instances: 'False',
  nested_groups: 'False',
  destination_variable: 'private_dns_name',
  vpc_destination_variable: 'private_ip_address',
  route53: 'False',
  rds: 'True',
  cache_path: cache,
  cache_max_age: '300',
  group_by_aws_account: 'True',
  ...extra,
});

function writeAccountsIni(name: string, sections: Record<string, Record<string, string>>): string {
  const lines: string[] = [];
  for (const [section, values] of Object.entries(sections)) {
    lines.push(`[${section}]`);
    for (const [k, v] of Object.entries(values)) lines.push(`${k} = ${v}`);
    lines.push('');
  }
  const file = path.join(dir, `${name}.ini`);
  writeFileSync(file, lines.join('\n'));
  return file;
}

const threeAccounts = (cache: string, extra: Record<string, string> = {}) => ({
  ec2: ec2Section(cache, extra),
  'account main': {},
  'account prod': { iam_role: roleOf(PROD), external_id: 'inventory-ext', role_session_name: 'inv-test' },
  'account stage': { iam_role: roleOf(STAGE), route53: 'True' },
});

const env = () => ({ HOME: home });

async function list(ini: string, args: string[] = ['--list']): Promise<{ r: RunResult; inv: Inventory }> {
  const r = await runInventory(ini, args, moto.endpoint, env());
  assert.equal(r.code, 0, r.stderr);
  return { r, inv: JSON.parse(r.stdout) as Inventory };
}

// moto moves an RDS instance's latest restorable time on every call.
const steady = (json: string) => json.replace(/"ec2_latest_restorable_time": "[^"]*"/g, '"ec2_latest_restorable_time": "(moving)"');

const hostvarsOf = (inv: Inventory, host: string) => inv._meta.hostvars[host] as Record<string, unknown>;

describe('accounts: one inventory of three accounts', () => {
  it('lists every account\'s hosts, each with its own account id and name, renaming the later account\'s repeated IP', async () => {
    const { inv } = await list(writeAccountsIni('three', threeAccounts(path.join(dir, 'three-cache'))));
    const ec2 = inv['ec2'] as string[];
    assert.deepEqual([...ec2].sort(), ['10.0.1.10', `10.0.1.10@${PROD}`, `10.0.1.10@${STAGE}`, '10.0.1.11', '10.0.1.12'].sort());
    const expect: [string, string, string, string][] = [
      ['10.0.1.10', MAIN, 'main', ids[MAIN]?.['web'] as string],
      [`10.0.1.10@${PROD}`, PROD, 'prod', ids[PROD]?.['web'] as string],
      [`10.0.1.10@${STAGE}`, STAGE, 'stage', ids[STAGE]?.['web'] as string],
      ['10.0.1.11', PROD, 'prod', ids[PROD]?.['api'] as string],
      ['10.0.1.12', STAGE, 'stage', ids[STAGE]?.['batch'] as string],
    ];
    for (const [host, account, name, id] of expect) {
      const vars = hostvarsOf(inv, host);
      assert.equal(vars['ec2_account_id'], account, host);
      assert.equal(vars['ec2_account_name'], name, host);
      assert.equal(vars['ec2_id'], id, host);
    }
    // A renamed host is still reached at its address.
    assert.equal(hostvarsOf(inv, `10.0.1.10@${PROD}`)['ansible_host'], '10.0.1.10');
    assert.equal(hostvarsOf(inv, '10.0.1.10')['ansible_host'], undefined);
    // Groups: accounts > one child per id, account_<name>.
    assert.deepEqual([...((inv['accounts'] as { children: string[] }).children)].sort(), [MAIN, PROD, STAGE].sort());
    assert.deepEqual(inv[PROD], [`10.0.1.10@${PROD}`, '10.0.1.11', (inv['rds'] as string[])[0]]);
    assert.deepEqual(inv['account_stage'], [`10.0.1.10@${STAGE}`, '10.0.1.12']);
    assert.deepEqual(inv['account_main'], ['10.0.1.10']);
    // RDS in prod only, with prod's id from its ARN.
    const rds = inv['rds'] as string[];
    assert.equal(rds.length, 1);
    assert.equal(hostvarsOf(inv, rds[0] as string)['ec2_account_id'], PROD);
    // Route53 read in stage alone (route53 = True is stage's own line).
    assert.deepEqual(inv['batch.stage.example.com'], ['10.0.1.12']);
  });

  it('names the same hosts whatever order the answers arrive in (one listing at a time, or all at once)', async () => {
    const a = await list(writeAccountsIni('order-wide', threeAccounts(path.join(dir, 'order-wide-cache'), { max_concurrency: '64' })));
    const b = await list(writeAccountsIni('order-one', threeAccounts(path.join(dir, 'order-one-cache'), { max_concurrency: '1' })));
    assert.equal(steady(a.r.stdout), steady(b.r.stdout));
  });

  it('account_collision = error fails naming both hosts and accounts, cache untouched', async () => {
    const cache = path.join(dir, 'collide-cache');
    const r = await runInventory(writeAccountsIni('collide', threeAccounts(cache, { account_collision: 'error' })), ['--list'], moto.endpoint, env());
    assertOneLine(r, /'10\.0\.1\.10'/, /account main \(123456789012\)/, /account prod \(111111111111\)/, /account_collision = error/);
    assert.equal(existsSync(path.join(cache, 'ansible-ec2.cache')), false);
  });

  it('the same Name tag with hostname_variable: renamed the same way', async () => {
    const { inv } = await list(writeAccountsIni('names', threeAccounts(path.join(dir, 'names-cache'), { hostname_variable: 'tag_Name' })));
    assert.deepEqual([...(inv['ec2'] as string[])].sort(), ['api', 'batch', 'web', `web@${PROD}`, `web@${STAGE}`].sort());
    assert.equal(hostvarsOf(inv, `web@${STAGE}`)['ansible_host'], '10.0.1.10');
  });

  it('--host answers a renamed host and the one that kept the name by NAME@ACCOUNT; a name two accounts share is an error', async () => {
    const ini = writeAccountsIni('host', threeAccounts(path.join(dir, 'host-cache')));
    await list(ini);
    const renamed = await list(ini, ['--host', `10.0.1.10@${PROD}`]);
    assert.equal((renamed.inv as unknown as Record<string, unknown>)['ec2_account_id'], PROD);
    const kept = await list(ini, ['--host', `10.0.1.10@${MAIN}`]);
    assert.equal((kept.inv as unknown as Record<string, unknown>)['ec2_account_id'], MAIN);
    const plain = await list(ini, ['--host', '10.0.1.11']);
    assert.equal((plain.inv as unknown as Record<string, unknown>)['ec2_account_name'], 'prod');
    const ambiguous = await runInventory(ini, ['--host', '10.0.1.10'], moto.endpoint, env());
    assertOneLine(ambiguous, /--host 10\.0\.1\.10/, new RegExp(`10\\.0\\.1\\.10@${MAIN}`), new RegExp(`10\\.0\\.1\\.10@${PROD}`), new RegExp(`10\\.0\\.1\\.10@${STAGE}`));
  });

  it('a profile-based account (~/.aws/config role_arn in a temporary HOME) acts in its account', async () => {
    const { inv } = await list(writeAccountsIni('profile', {
      ec2: ec2Section(path.join(dir, 'profile-cache')),
      'account staging': { boto_profile: 'staging' },
    }));
    assert.deepEqual([...(inv['ec2'] as string[])].sort(), ['10.0.1.10', '10.0.1.12']);
    assert.equal(hostvarsOf(inv, '10.0.1.12')['ec2_account_id'], STAGE);
    assert.deepEqual((inv['accounts'] as { children: string[] }).children, [STAGE]);
  });
});

describe('accounts: ElastiCache hosts', () => {
  // In a region of their own, so the scenario above stays as it is: a replication group `sessions`
  // in prod and in stage (the same id, each its own address), and an instance in main whose
  // destination_format names it by prod's group's address.
  const cacheRegion = 'eu-west-1';
  let address = '';
  let mainId = '';

  before(async () => {
    const endpoints: Record<string, string> = {};
    for (const [id, creds] of [[PROD, await assume(moto.endpoint, PROD)], [STAGE, await assume(moto.endpoint, STAGE)]] as const) {
      const cache = new ElastiCacheClient({ endpoint: moto.endpoint, region: cacheRegion, credentials: creds, maxAttempts: 1 });
      const out = await cache.send(new CreateReplicationGroupCommand({
        ReplicationGroupId: 'sessions', ReplicationGroupDescription: 'x', Engine: 'redis', CacheNodeType: 'cache.t3.micro', NumCacheClusters: 2,
      }));
      endpoints[id] = out.ReplicationGroup?.NodeGroups?.[0]?.PrimaryEndpoint?.Address as string;
    }
    address = endpoints[PROD] as string;
    assert.notEqual(address, endpoints[STAGE]);
    const ec2 = new EC2Client({ endpoint: moto.endpoint, region: cacheRegion, credentials, maxAttempts: 1 });
    const image = (await ec2.send(new DescribeImagesCommand({}))).Images?.[0]?.ImageId as string;
    const out = await ec2.send(new RunInstancesCommand({
      ImageId: image, MinCount: 1, MaxCount: 1, InstanceType: 't2.micro',
      TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: address }] }],
    }));
    mainId = out.Instances?.[0]?.InstanceId as string;
  });

  const cacheSections = (name: string, order: string[], extra: Record<string, string> = {}) => {
    const all: Record<string, Record<string, string>> = {
      'account main': {}, 'account prod': { iam_role: roleOf(PROD) }, 'account stage': { iam_role: roleOf(STAGE) },
    };
    return writeAccountsIni(name, {
      ec2: ec2Section(path.join(dir, `${name}-cache`), {
        regions: cacheRegion, elasticache: 'True', destination_format: '{0}', destination_format_tags: 'Name', ...extra,
      }),
      ...Object.fromEntries(order.map((a) => [`account ${a}`, all[`account ${a}`] as Record<string, string>])),
    });
  };

  it('rename: a replication group whose address an earlier account\'s host has is NAME@ACCOUNT, reached at its address', async () => {
    const { inv } = await list(cacheSections('cache-rename', ['main', 'prod', 'stage']));
    const renamed = `${address}@${PROD}`;
    assert.deepEqual(inv['ec2'], [address]);
    assert.equal(hostvarsOf(inv, address)['ec2_id'], mainId);
    assert.equal(hostvarsOf(inv, address)['ec2_account_id'], MAIN);
    const groups = inv['elasticache_replication_groups'] as string[];
    assert.equal(groups.length, 2);
    assert.equal(groups[0], renamed);
    const stageHost = groups[1] as string;
    assert.notEqual(stageHost, address);
    const vars = hostvarsOf(inv, renamed);
    assert.equal(vars['ansible_host'], address);
    assert.equal(vars['ec2_replication_group_id'], 'sessions');
    assert.equal(vars['ec2_account_id'], PROD);
    assert.equal(vars['ec2_account_name'], 'prod');
    assert.equal(hostvarsOf(inv, stageHost)['ec2_account_id'], STAGE);
    assert.equal(hostvarsOf(inv, stageHost)['ansible_host'], undefined);
    assert.deepEqual(inv[PROD], [renamed]);
    assert.deepEqual(inv['account_prod'], [renamed]);
    assert.deepEqual(inv['elasticache'], [renamed, stageHost]);
    assert.deepEqual(inv['elasticache_redis'], [renamed, stageHost]);
    // The id both accounts gave their group: one instance-id group holding both.
    assert.deepEqual(inv['sessions'], [renamed, stageHost]);
  });

  it('rename in the other order: the replication group keeps its address, the later account\'s instance is renamed', async () => {
    const { inv } = await list(cacheSections('cache-rename-back', ['prod', 'main']));
    assert.deepEqual(inv['ec2'], [`${address}@${MAIN}`]);
    assert.equal(hostvarsOf(inv, `${address}@${MAIN}`)['ec2_id'], mainId);
    assert.equal(hostvarsOf(inv, `${address}@${MAIN}`)['ansible_host'], address);
    assert.deepEqual(inv['elasticache_replication_groups'], [address]);
    assert.equal(hostvarsOf(inv, address)['ec2_replication_group_id'], 'sessions');
    assert.equal(hostvarsOf(inv, address)['ansible_host'], undefined);
  });

  it('error: the refresh fails naming the address, the instance and the replication group, cache untouched', async () => {
    const ini = cacheSections('cache-error', ['main', 'prod'], { account_collision: 'error' });
    const r = await runInventory(ini, ['--list'], moto.endpoint, env());
    assertOneLine(r, new RegExp(`'${address.replace(/\./g, '\\.')}' is ${mainId} of account main \\(${MAIN}\\) and sessions of account prod \\(${PROD}\\)`));
    assert.equal(existsSync(path.join(dir, 'cache-error-cache', 'ansible-ec2.cache')), false);
  });

  it('--host answers the renamed replication group, and the plain address is ambiguous', async () => {
    const ini = cacheSections('cache-host', ['main', 'prod', 'stage']);
    await list(ini);
    const renamed = await list(ini, ['--host', `${address}@${PROD}`]);
    const vars = renamed.inv as unknown as Record<string, unknown>;
    assert.equal(vars['ec2_replication_group_id'], 'sessions');
    assert.equal(vars['ec2_account_id'], PROD);
    const kept = await list(ini, ['--host', `${address}@${MAIN}`]);
    assert.equal((kept.inv as unknown as Record<string, unknown>)['ec2_id'], mainId);
    const ambiguous = await runInventory(ini, ['--host', address], moto.endpoint, env());
    assertOneLine(ambiguous, new RegExp(`${address.replace(/\./g, '\\.')}@${MAIN}`), new RegExp(`${address.replace(/\./g, '\\.')}@${PROD}`));
  });
});

describe('accounts: include_rds_clusters', () => {
  // Its own region: an Aurora cluster `aurora` (one member) in prod and in stage.
  const clusterRegion = 'ap-southeast-2';
  before(async () => {
    for (const id of [PROD, STAGE]) {
      const rds = new RDSClient({ endpoint: moto.endpoint, region: clusterRegion, credentials: await assume(moto.endpoint, id), maxAttempts: 1 });
      await rds.send(new CreateDBClusterCommand({ DBClusterIdentifier: 'aurora', Engine: 'aurora-mysql', MasterUsername: 'admin', MasterUserPassword: 'password123' }));
      await rds.send(new CreateDBInstanceCommand({ DBInstanceIdentifier: 'aurora-1', DBClusterIdentifier: 'aurora', Engine: 'aurora-mysql', DBInstanceClass: 'db.r5.large' }));
    }
  });

  it('lists the clusters of each account that includes them, a cluster id of an earlier account keyed ID@ACCOUNT', async () => {
    const { inv } = await list(writeAccountsIni('clusters', {
      ec2: ec2Section(path.join(dir, 'clusters-cache'), { regions: clusterRegion }),
      'account main': {},
      'account prod': { iam_role: roleOf(PROD), include_rds_clusters: 'True' },
      'account stage': { iam_role: roleOf(STAGE), include_rds_clusters: 'True' },
    }));
    const clusters = inv['db_clusters'] as unknown as Record<string, { DBClusterArn: string }>;
    assert.deepEqual(Object.keys(clusters).sort(), ['aurora', `aurora@${STAGE}`]);
    assert.match(clusters['aurora']?.DBClusterArn ?? '', new RegExp(`:${PROD}:cluster:aurora$`));
    assert.match(clusters[`aurora@${STAGE}`]?.DBClusterArn ?? '', new RegExp(`:${STAGE}:cluster:aurora$`));
    // Their member instances are hosts as ever, one per account.
    assert.equal((inv['rds'] as string[]).length, 2);
  });

  it('warn: the clusters of an account that fails come from the last good cache, as its hosts do', async () => {
    writeProfiles(true);
    const ini = writeAccountsIni('clusters-warn', {
      ec2: ec2Section(path.join(dir, 'clusters-warn-cache'), { regions: clusterRegion, account_errors: 'warn', include_rds_clusters: 'True' }),
      'account prod': { iam_role: roleOf(PROD) },
      'account staging': { boto_profile: 'staging' },
    });
    const good = await list(ini);
    assert.deepEqual(Object.keys(good.inv['db_clusters'] as object).sort(), ['aurora', `aurora@${STAGE}`]);
    writeProfiles(false);
    try {
      const r = await runInventory(ini, ['--list', '--refresh-cache'], moto.endpoint, env());
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /warning: account staging: .*serving its 1 host as read/);
      const inv = JSON.parse(r.stdout) as Inventory;
      const served = `aurora@${STAGE}`;
      const clusters = (i: Inventory) => i['db_clusters'] as unknown as Record<string, Record<string, unknown>>;
      assert.deepEqual(clusters(inv)[served], clusters(good.inv)[served], 'staging\'s cluster as the cache had it');
      assert.equal(clusters(inv)['aurora']?.['DBClusterArn'], clusters(good.inv)['aurora']?.['DBClusterArn'], 'prod\'s cluster read afresh');
      const moving = (text: string) => steady(text).replace(/"LatestRestorableTime": "[^"]*"/g, '');
      assert.equal(moving(r.stdout), moving(good.r.stdout), 'otherwise the same inventory: prod fresh, staging from the cache');
    } finally {
      writeProfiles(true);
    }
  });
});

describe('accounts: one account down', () => {
  const sections = (cache: string, errors: string) => ({
    ec2: ec2Section(cache, { account_errors: errors }),
    'account prod': { iam_role: roleOf(PROD) },
    'account staging': { boto_profile: 'staging' },
  });

  it('fail: the refresh fails naming the account, and the cache is left as it was', async () => {
    writeProfiles(true);
    const cache = path.join(dir, 'down-fail-cache');
    const ini = writeAccountsIni('down-fail', sections(cache, 'fail'));
    await list(ini);
    const before = readFileSync(path.join(cache, 'ansible-ec2.cache'), 'utf8');
    const mtime = statSync(path.join(cache, 'ansible-ec2.cache')).mtimeMs;
    writeProfiles(false);
    try {
      const r = await runInventory(ini, ['--list', '--refresh-cache'], moto.endpoint, env());
      assertOneLine(r, /account staging/, /profile 'staging'/);
      assert.equal(readFileSync(path.join(cache, 'ansible-ec2.cache'), 'utf8'), before);
      assert.equal(statSync(path.join(cache, 'ansible-ec2.cache')).mtimeMs, mtime);
    } finally {
      writeProfiles(true);
    }
  });

  it('fail: an API call failing in one account (its own instance_filters) names the account, the call and the region', async () => {
    const cache = path.join(dir, 'call-fail-cache');
    const ini = writeAccountsIni('call-fail', {
      ec2: ec2Section(cache, { max_attempts: '1' }),
      'account main': {},
      'account prod': { iam_role: roleOf(PROD), instance_filters: 'no-such-filter=1' },
    });
    const r = await runInventory(ini, ['--list'], moto.endpoint, env());
    assertOneLine(r, /account prod \(111111111111\): EC2 DescribeInstances in us-east-1 failed/);
    assert.equal(existsSync(path.join(cache, 'ansible-ec2.cache')), false);
  });

  it('warn: the other accounts are listed, the failing one\'s hosts come from the last good cache with its age on stderr', async () => {
    writeProfiles(true);
    const cache = path.join(dir, 'down-warn-cache');
    const ini = writeAccountsIni('down-warn', sections(cache, 'warn'));
    const good = await list(ini);
    writeProfiles(false);
    try {
      const r = await runInventory(ini, ['--list', '--refresh-cache'], moto.endpoint, env());
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /warning: account staging: .*profile 'staging'.*serving its 2 hosts as read \d+ s ago/);
      assert.equal(steady(r.stdout), steady(good.r.stdout), 'the same inventory: prod fresh, staging from the cache');
      // The next refresh tries the account again: with its profile back, it is read afresh.
      writeProfiles(true);
      const again = await runInventory(ini, ['--list', '--refresh-cache'], moto.endpoint, env());
      assert.equal(again.code, 0, again.stderr);
      assert.equal(again.stderr, '');
      assert.equal(steady(again.stdout), steady(good.r.stdout));
    } finally {
      writeProfiles(true);
    }
  });

  it('warn without a previous cache: the other accounts are listed, stderr says the failing one is left out', async () => {
    writeProfiles(false);
    try {
      const ini = writeAccountsIni('down-warn-cold', sections(path.join(dir, 'down-warn-cold-cache'), 'warn'));
      const r = await runInventory(ini, ['--list'], moto.endpoint, env());
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /warning: account staging: .*no earlier inventory .* left out/);
      const inv = JSON.parse(r.stdout) as Inventory;
      assert.deepEqual([...(inv['ec2'] as string[])].sort(), ['10.0.1.10', '10.0.1.11']);
      assert.equal(inv['account_staging'], undefined);
    } finally {
      writeProfiles(true);
    }
  });
});

describe('accounts: the package API', () => {
  it('takes the accounts as a list of identities, each inheriting the settings it does not set', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, { AWS_ENDPOINT_URL: moto.endpoint, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', HOME: home });
    try {
      const settings = readSettings(writeAccountsIni('api', { ec2: ec2Section(path.join(dir, 'api-cache')) }));
      const accounts: AccountSettings[] = [
        { name: 'prod', iamRole: roleOf(PROD), rds: false },
        { name: 'stage', profile: 'staging', hostnameVariable: { tag: 'Name' } },
      ];
      const { inventory } = await fetchInventory({ ...settings, accounts });
      assert.deepEqual([...(inventory['ec2'] as string[])].sort(), ['10.0.1.10', '10.0.1.11', 'batch', 'web'].sort());
      assert.equal(inventory['rds'], undefined, "prod's own rds = false");
      assert.equal(inventory._meta.hostvars['web']?.['ec2_account_id'], STAGE);
      await assert.rejects(fetchInventory({ ...settings, accounts: [{ name: 'x', iamRole: roleOf(PROD), profile: 'staging' }] }), SettingsError);
    } finally {
      process.env = saved;
    }
  });
});

describe('accounts: bad input', () => {
  const cases: { name: string; section: Record<string, string>; expect: RegExp[] }[] = [
    { name: 'role-and-profile', section: { iam_role: roleOf(PROD), boto_profile: 'staging' }, expect: [/\[account bad\] names both iam_role \(line \d+\) and boto_profile/, /\.ini:\d+:/] },
    { name: 'unknown-option', section: { iam_role: roleOf(PROD), regionz: 'us-east-1' }, expect: [/\[account bad\] option 'regionz' is not an option an account section takes/, /\.ini:\d+:/] },
    { name: 'inventory-option', section: { iam_role: roleOf(PROD), cache_max_age: '5' }, expect: [/\[account bad\] option 'cache_max_age' can be set in \[ec2\] only/] },
    { name: 'not-an-arn', section: { iam_role: 'arn:aws:iam::1111:role/x' }, expect: [/\[account bad\] option 'iam_role' is not the ARN of an IAM role/, /'arn:aws:iam::1111:role\/x'/] },
    { name: 'same-account', section: { iam_role: `arn:aws:iam::${PROD}:role/other` }, expect: [/\[account bad\] is account 111111111111 again, as \[account prod\] \(line \d+\)/] },
    { name: 'bad-value', section: { iam_role: roleOf(STAGE), rds: 'maybe' }, expect: [/\.ini:\d+: \[account bad\] option 'rds' must be a boolean/] },
  ];
  for (const c of cases) {
    it(`${c.name}: one line, exit 1, cache untouched`, async () => {
      const cache = path.join(dir, `bad-${c.name}-cache`);
      const good = writeAccountsIni(`bad-${c.name}-good`, { ec2: ec2Section(cache), 'account prod': { iam_role: roleOf(PROD) } });
      await list(good);
      const before = readFileSync(path.join(cache, 'ansible-ec2.cache'), 'utf8');
      const ini = writeAccountsIni(`bad-${c.name}`, { ec2: ec2Section(cache), 'account prod': { iam_role: roleOf(PROD) }, 'account bad': c.section });
      const r = await runInventory(ini, ['--list', '--refresh-cache'], moto.endpoint, env());
      assertOneLine(r, ...c.expect);
      assert.equal(readFileSync(path.join(cache, 'ansible-ec2.cache'), 'utf8'), before);
    });
  }
});

function assertOneLine(r: RunResult, ...patterns: RegExp[]): void {
  assert.equal(r.code, 1, `exit code; stderr: ${r.stderr}`);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^ec2-inventory: /);
  assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
  for (const p of patterns) assert.match(r.stderr, p);
}


