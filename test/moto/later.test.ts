// The later ec2.py's options (issue 4) against a real moto_server: the shared scenario plus an
// ElastiCache replication group, Aurora clusters, and instances in other accounts reached through
// a profile, an assumed role and the ini's [credentials].
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { EC2Client, RunInstancesCommand, CreateTagsCommand, DescribeImagesCommand } from '@aws-sdk/client-ec2';
import { ElastiCacheClient, CreateReplicationGroupCommand } from '@aws-sdk/client-elasticache';
import { RDSClient, CreateDBClusterCommand, CreateDBInstanceCommand } from '@aws-sdk/client-rds';
import { STSClient, AssumeRoleCommand } from '@aws-sdk/client-sts';
import { startMoto, type Moto } from '../support/moto.js';
import { buildScenario, clientConfig, host, type Scenario } from '../support/scenario.js';
import { runInventory, tempDir, writeIni } from '../support/run.js';
import { resolveAuth, callerIdentity } from '../../lib/sources/aws/identity.js';

type Inv = Record<string, unknown> & { _meta: { hostvars: Record<string, Record<string, unknown>> } };

let moto: Moto;
let s: Scenario;
let dir: string;
let credentialsFile: string;
const accounts: Record<string, { key: string; secret: string; token: string; ip: string }> = {};

async function assumeInto(account: string, role: string) {
  const sts = new STSClient(clientConfig(moto.endpoint, 'us-east-1'));
  const out = await sts.send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${account}:role/${role}`, RoleSessionName: 'fixture' }));
  const c = out.Credentials;
  return { accessKeyId: c?.AccessKeyId as string, secretAccessKey: c?.SecretAccessKey as string, sessionToken: c?.SessionToken as string };
}

/** One running, tagged instance in another account, launched with that account's credentials. */
async function instanceIn(account: string, role: string, name: string): Promise<void> {
  const credentials = await assumeInto(account, role);
  const ec2 = new EC2Client({ endpoint: moto.endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
  const image = (await ec2.send(new DescribeImagesCommand({}))).Images?.[0]?.ImageId as string;
  const out = await ec2.send(new RunInstancesCommand({ ImageId: image, MinCount: 1, MaxCount: 1, InstanceType: 't3.nano' }));
  const inst = out.Instances?.[0];
  await ec2.send(new CreateTagsCommand({ Resources: [inst?.InstanceId as string], Tags: [{ Key: 'Name', Value: name }] }));
  accounts[account] = { key: credentials.accessKeyId, secret: credentials.secretAccessKey, token: credentials.sessionToken, ip: inst?.PublicIpAddress as string };
}

before(async () => {
  moto = await startMoto();
  s = await buildScenario(moto.endpoint);
  dir = tempDir();
  const cache = new ElastiCacheClient(clientConfig(moto.endpoint, 'us-east-1'));
  await cache.send(new CreateReplicationGroupCommand({
    ReplicationGroupId: 'sessions', ReplicationGroupDescription: 'x', Engine: 'redis', CacheNodeType: 'cache.t3.micro', NumCacheClusters: 2,
  }));
  for (const region of ['us-east-1', 'eu-west-1']) {
    const rds = new RDSClient(clientConfig(moto.endpoint, region));
    const id = region === 'us-east-1' ? 'aurora-east' : 'aurora-eu';
    await rds.send(new CreateDBClusterCommand({
      DBClusterIdentifier: id, Engine: 'aurora-mysql', MasterUsername: 'admin', MasterUserPassword: 'password123',
      Tags: [{ Key: 'Env', Value: region === 'us-east-1' ? 'prod' : 'dev' }],
    }));
    await rds.send(new CreateDBInstanceCommand({ DBInstanceIdentifier: `${id}-1`, DBClusterIdentifier: id, Engine: 'aurora-mysql', DBInstanceClass: 'db.r5.large' }));
  }
  await new RDSClient(clientConfig(moto.endpoint, 'us-east-1')).send(new CreateDBClusterCommand({
    DBClusterIdentifier: 'aurora-empty', Engine: 'aurora-mysql', MasterUsername: 'admin', MasterUserPassword: 'password123',
  }));
  await instanceIn('111111111111', 'prod', 'prod-box');
  await instanceIn('222222222222', 'other', 'other-box');
  await instanceIn('333333333333', 'inventory', 'role-box');
  credentialsFile = path.join(dir, 'aws-credentials');
  const profile = (name: string, a: { key: string; secret: string; token: string }) =>
    `[${name}]\naws_access_key_id = ${a.key}\naws_secret_access_key = ${a.secret}\naws_session_token = ${a.token}\n`;
  writeFileSync(credentialsFile, profile('prod', accounts['111111111111']!) + profile('other', accounts['222222222222']!));
});
after(async () => moto?.stop());

const identityEnv = () => ({ AWS_SHARED_CREDENTIALS_FILE: credentialsFile, AWS_CONFIG_FILE: path.join(dir, 'no-config') });

async function run(name: string, overrides: Record<string, string | null> = {}, env: NodeJS.ProcessEnv = {}, args = ['--list']) {
  const ini = writeIni(dir, name, overrides);
  return runInventory(ini, args, moto.endpoint, env);
}

async function list(name: string, overrides: Record<string, string | null> = {}, env: NodeJS.ProcessEnv = {}, args = ['--list']): Promise<Inv> {
  const r = await run(name, overrides, env, args);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '', 'nothing on stderr on success');
  return JSON.parse(r.stdout) as Inv;
}

const ip = (name: string) => host(s, name).publicIp as string;
const groupNames = (inv: Inv) => Object.keys(inv).filter((k) => k !== '_meta').sort();

/** Every later option at the value that keeps the 2014 output. */
const compatible: Record<string, string> = {
  hostname_variable: '', destination_format: '', destination_format_tags: '', route53_hostnames: '',
  elasticache: 'False', instance_states: 'running', include_rds_clusters: 'False',
  all_elasticache_replication_groups: 'False', all_elasticache_clusters: 'False', all_elasticache_nodes: 'False',
  replace_dash_in_groups: 'False', expand_csv_tags: 'False',
  group_by_instance_id: 'True', group_by_region: 'True', group_by_availability_zone: 'True', group_by_aws_account: 'False',
  group_by_ami_id: 'False', group_by_instance_type: 'True', group_by_instance_state: 'False', group_by_platform: 'False',
  group_by_key_pair: 'True', group_by_vpc_id: 'True', group_by_security_group: 'True', group_by_tag_keys: 'True',
  group_by_tag_none: 'True', group_by_route53_names: 'True', group_by_rds_engine: 'True', group_by_rds_parameter_group: 'True',
  group_by_elasticache_engine: 'True', group_by_elasticache_cluster: 'True', group_by_elasticache_parameter_group: 'True',
  group_by_elasticache_replication_group: 'True', extra_hostvars: 'False', stack_filters: 'False', iam_role: '', boto_profile: '',
};

describe('an ini of the 2014 script', () => {
  it('prints the same bytes with the later options absent and set to their defaults, flat and nested', async () => {
    for (const nested of ['False', 'True']) {
      const before = await run(`compat-absent-${nested}`, { nested_groups: nested });
      const after = await run(`compat-explicit-${nested}`, { nested_groups: nested, ...compatible });
      assert.equal(before.code, 0, before.stderr);
      // moto computes an RDS instance's latest restorable time at each call: the one value that moves.
      const steady = (text: string) => text.replace(/("ec2_latest_restorable_time": )"[^"]*"/g, '$1"-"');
      assert.equal(steady(after.stdout), steady(before.stdout));
      assert.ok(before.stdout.length > 10_000);
    }
  });
  it('lists no ElastiCache host, no RDS cluster and no ansible_host although moto has them', async () => {
    const inv = await list('compat-plain');
    const text = JSON.stringify(inv);
    assert.ok(!text.includes('sessions'), 'replication group listed');
    assert.ok(!('db_clusters' in inv));
    assert.ok(!text.includes('ansible_host'));
    assert.ok(!text.includes('ec2_account_id') && !text.includes('ec2_block_devices'));
  });
});

describe('group_by_* switches', () => {
  it('turned off, each default group disappears; ec2 and rds stay', async () => {
    const off = Object.fromEntries(Object.keys(compatible).filter((k) => k.startsWith('group_by_')).map((k) => [k, 'False']));
    const inv = await list('groups-off', off);
    assert.deepEqual(groupNames(inv), ['ec2', 'rds']);
    assert.ok((inv['ec2'] as string[]).includes(ip('web1')));
    assert.equal(inv._meta.hostvars[ip('web1')]?.['ec2_id'], host(s, 'web1').id, 'hostvars unchanged');
  });
  it('ami_id, platform, instance_state and aws_account add their groups, nested under their parents', async () => {
    const on = { group_by_ami_id: 'True', group_by_platform: 'True', group_by_instance_state: 'True', group_by_aws_account: 'True' };
    const inv = await list('groups-on', on);
    const ami = inv._meta.hostvars[ip('web1')]?.['ec2_image_id'] as string;
    assert.ok((inv[ami] as string[]).includes(ip('web1')));
    const platform = inv._meta.hostvars[ip('west1')]?.['ec2_platform'] as string; // moto's images are windows
    assert.ok((inv[platform ? `platform_${platform}` : 'platform_undefined'] as string[]).includes(ip('west1')));
    assert.ok((inv['instance_state_running'] as string[]).includes(ip('eu1')));
    assert.deepEqual([...(inv['123456789012'] as string[])].sort(), ['web1', 'web2', 'untagged', 'west1', 'eu1'].map(ip).sort());
    const nested = await list('groups-on-nested', { ...on, nested_groups: 'True' });
    assert.deepEqual((nested['images'] as { children: string[] }).children.includes(ami), true);
    assert.equal((nested['platforms'] as { children: string[] }).children.length, 1);
    assert.deepEqual((nested['instance_states'] as { children: string[] }).children, ['instance_state_running']);
    assert.deepEqual((nested['accounts'] as { children: string[] }).children, ['123456789012']);
  });
  it('an unknown group_by switch is a warning naming it and the nearest switch; the inventory is as without it', async () => {
    // As ec2.py, which never reads it (a published ec2.ini carries group_by_tag_service = True).
    const r = await run('groups-unknown', { group_by_tag_service: 'True', rds: 'False' }); // RDS: moto's restorable times move
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^ec2-inventory: warning: \S+groups-unknown\.ini:\d+: \[ec2\] option 'group_by_tag_service' is not an ec2\.ini option and is ignored, as ec2\.py ignores it \(nearest known: 'group_by_tag_keys'\)\n$/);
    assert.deepEqual(JSON.parse(r.stdout), await list('groups-known', { rds: 'False' }));
  });
});

describe('group names and tags', () => {
  it('replace_dash_in_groups turns dashes into underscores in group and hostvar names', async () => {
    const inv = await list('dash', { replace_dash_in_groups: 'True' });
    assert.ok('key_ops_key' in inv && !('key_ops-key' in inv));
    assert.ok('tag_Name_web_2' in inv && 'tag_aws_cloudformation_stack_name_front_end' in inv);
    assert.equal(inv._meta.hostvars[ip('web1')]?.['ec2_tag_aws_cloudformation_stack_name'], 'front/end');
    assert.ok('us-east-1' in inv, 'region names are not passed through to_safe');
  });
  it('expand_csv_tags makes a group per value and a list hostvar', async () => {
    const inv = await list('csv', { expand_csv_tags: 'True' });
    assert.deepEqual(inv['tag_Env_staging'], [ip('west1')]);
    assert.deepEqual(inv['tag_Env_qa'], [ip('west1')]);
    assert.ok(!('tag_Env_staging__qa' in inv));
    assert.deepEqual(inv._meta.hostvars[ip('west1')]?.['ec2_tag_Env'], ['staging', 'qa']);
  });
  it('instance_states adds the stopped host and group_by_instance_state names its state', async () => {
    const inv = await list('states', { instance_states: 'running, stopped', group_by_instance_state: 'True', vpc_destination_variable: 'private_ip_address' });
    const stopped = host(s, 'stopped');
    assert.deepEqual(inv[stopped.id], [stopped.privateIp]);
    assert.deepEqual(inv['instance_state_stopped'], [stopped.privateIp]);
    const onlyStopped = await list('states-stopped', { instance_states: 'stopped', vpc_destination_variable: 'private_ip_address' });
    assert.deepEqual(onlyStopped['ec2'], [stopped.privateIp]);
  });
});

describe('host naming', () => {
  it('hostname_variable = tag_Name names hosts by their tag (to_safe, lower case) with ansible_host the address', async () => {
    const inv = await list('hostname-tag', { hostname_variable: 'tag_Name' });
    assert.deepEqual(inv[host(s, 'web1').id], ['web_1']);
    assert.deepEqual(inv[host(s, 'web2').id], ['web-2']);
    assert.equal(inv._meta.hostvars['web_1']?.['ansible_host'], ip('web1'));
    assert.deepEqual(inv[host(s, 'untagged').id], [ip('untagged')], 'no tag: named by its address');
    assert.ok(!('ansible_host' in (inv._meta.hostvars[ip('untagged')] ?? {})), 'no ansible_host when the name is the address');
    const rdsHost = Object.keys(inv._meta.hostvars).find((h) => h.startsWith('orders-db.'));
    assert.ok(rdsHost, 'RDS hosts keep their endpoint names');
  });
  it('--host answers a host by its inventory name, from the cache', async () => {
    const ini = writeIni(dir, 'hostname-host', { hostname_variable: 'tag_Name' });
    const first = await runInventory(ini, ['--host', 'web_1'], moto.endpoint);
    assert.equal(first.code, 0, first.stderr);
    const vars = JSON.parse(first.stdout) as Record<string, unknown>;
    assert.equal(vars['ec2_id'], host(s, 'web1').id);
    assert.equal(vars['ansible_host'], ip('web1'));
  });
  it('hostname_variable = private_dns_name (an attribute) and tag:Name work; pattern_include tests the name', async () => {
    const inv = await list('hostname-attr', { hostname_variable: 'private_dns_name', rds: 'False' });
    const web1 = host(s, 'web1');
    const name = (web1.privateDns as string).replace(/\./g, '_').toLowerCase();
    assert.deepEqual(inv[web1.id], [name]);
    const tagColon = await list('hostname-colon', { hostname_variable: 'tag:Name', pattern_include: 'web', rds: 'False' });
    assert.deepEqual([...(tagColon['ec2'] as string[])].sort(), ['web-2', 'web_1']);
  });
  it('destination_format builds the address from tags, "nil" for what a host lacks', async () => {
    const inv = await list('destfmt', { destination_format: '{0}-{1}.hosts.test', destination_format_tags: 'Name,Env', rds: 'False' });
    assert.deepEqual(inv[host(s, 'web1').id], ['web 1-prod.hosts.test']);
    assert.deepEqual(inv[host(s, 'untagged').id], ['nil-nil.hosts.test']);
    assert.deepEqual(inv[host(s, 'eu1').id], ['nil-prod.hosts.test']);
    const priv = host(s, 'private');
    assert.deepEqual(inv[priv.id], ['internal-prod.hosts.test'], 'overrides the VPC destination too');
    const attr = await list('destfmt-attr', { destination_format: '{}.{}', destination_format_tags: 'Name,instance_type', rds: 'False' });
    assert.deepEqual(attr[host(s, 'web2').id], ['web-2.m5.large']);
  });
  it('route53_hostnames names hosts by their record under the suffix', async () => {
    const inv = await list('r53names', { route53_hostnames: '.internal.example.org', rds: 'False' });
    assert.deepEqual(inv[host(s, 'web1').id], ['web1-int.internal.example.org']);
    assert.equal(inv._meta.hostvars['web1-int.internal.example.org']?.['ansible_host'], ip('web1'));
    // Two records under the suffix: the last one in Route53's (name) order wins, as in the original.
    const two = await list('r53names2', { route53_hostnames: '.example.com', rds: 'False' });
    assert.deepEqual(two[host(s, 'web2').id], ['www.example.com']);
    assert.deepEqual(inv[host(s, 'eu1').id], [ip('eu1')], 'no record: named by its address');
  });
  it('a malformed destination_format is an error naming the option', async () => {
    for (const [format, why] of [['{0', /without its \}/], ['{name}', /only \{0\}/], ['{0}.{2}', /field \{2\}/], ['a}b', /single \}/]] as const) {
      const r = await run('destfmt-bad', { destination_format: format, destination_format_tags: 'Name,Env' });
      assert.equal(r.code, 1, format);
      assert.match(r.stderr, /option 'destination_format'/);
      assert.match(r.stderr, why);
    }
  });
});

describe('services', () => {
  it('elasticache = True lists the replication group by its primary endpoint with its groups and hostvars', async () => {
    const inv = await list('cache', { elasticache: 'True', regions: 'us-east-1' });
    const dest = (inv['sessions'] as string[])[0] as string;
    assert.match(dest, /^master\.sessions\./);
    for (const g of ['us-east-1', 'elasticache_redis', 'elasticache_replication_groups', 'elasticache']) {
      assert.ok((inv[g] as string[]).includes(dest), g);
    }
    const vars = inv._meta.hostvars[dest] as Record<string, unknown>;
    assert.equal(vars['ec2_replication_group_id'], 'sessions');
    assert.equal(vars['ec2_status'], 'available');
    assert.equal(vars['ec2_endpoint_address'], dest);
    assert.equal(vars['ec2_endpoint_port'], 6379);
    assert.equal(vars['ec2_primary_cluster_id'], 'sessions-001');
    const off = await list('cache-noengine', { elasticache: 'True', regions: 'us-east-1', group_by_elasticache_engine: 'False', group_by_instance_id: 'False' });
    assert.ok(!('elasticache_redis' in off) && !('sessions' in off));
  });
  it('include_rds_clusters collects the clusters with members of every region, with their tags', async () => {
    const inv = await list('clusters', { include_rds_clusters: 'True' });
    const clusters = inv['db_clusters'] as Record<string, Record<string, unknown>>;
    assert.deepEqual(Object.keys(clusters).sort(), ['aurora-east', 'aurora-eu']);
    assert.deepEqual(clusters['aurora-east']?.['Tags'], [{ Key: 'Env', Value: 'prod' }]);
    assert.match(clusters['aurora-east']?.['ClusterCreateTime'] as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00$/);
    const filtered = await list('clusters-filter', { include_rds_clusters: 'True', instance_filters: 'tag:Env=dev' });
    assert.deepEqual(Object.keys(filtered['db_clusters'] as object), ['aurora-eu']);
  });
});

describe('instance filters', () => {
  it('& ANDs inside an entry, entries are ORed', async () => {
    const inv = await list('and', { instance_filters: 'instance-type=m5.large&tag:Env=prod,instance-type=c5.xlarge', rds: 'False' });
    assert.deepEqual([...(inv['ec2'] as string[])].sort(), [ip('web2'), ip('west1')].sort());
  });
  it('stack_filters applies every entry at once', async () => {
    const inv = await list('stack', { instance_filters: 'tag:Env=prod,instance-type=t2.micro', stack_filters: 'True', rds: 'False' });
    assert.deepEqual([...(inv['ec2'] as string[])].sort(), [ip('web1'), ip('eu1')].sort());
  });
  it('EC2_INSTANCE_FILTERS replaces instance_filters', async () => {
    const inv = await list('envfilter', { instance_filters: 'tag:Env=prod', rds: 'False' }, { EC2_INSTANCE_FILTERS: 'tag:Name=web-2' });
    assert.deepEqual(inv['ec2'], [ip('web2')]);
  });
  it('& together with stack_filters is an error naming the option', async () => {
    const r = await run('stack-and', { instance_filters: 'a=1&b=2', stack_filters: 'True' });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /option 'instance_filters' uses & while stack_filters = True/);
  });
});

describe('identity', () => {
  const names = (inv: Inv) => Object.values(inv._meta.hostvars).map((v) => v['ec2_tag_Name']).sort();
  const only = { regions: 'us-east-1', rds: 'False', route53: 'False', extra_hostvars: 'True' };

  it('boto_profile reads that profile of the shared credentials file', async () => {
    const inv = await list('profile-ini', { ...only, boto_profile: 'prod' }, identityEnv());
    assert.deepEqual(names(inv), ['prod-box']);
    const vars = inv._meta.hostvars[accounts['111111111111']!.ip];
    assert.equal(vars?.['ec2_account_id'], '111111111111');
    const devices = vars?.['ec2_block_devices'] as Record<string, string>;
    assert.ok(Object.keys(devices).length > 0 && Object.entries(devices).every(([d, v]) => !d.includes('/') && v.startsWith('vol-')), JSON.stringify(devices));
  });
  it('AWS_PROFILE wins over boto_profile, and --profile / --boto-profile over both', async () => {
    const env = { ...identityEnv(), AWS_PROFILE: 'other' };
    assert.deepEqual(names(await list('profile-env', { ...only, boto_profile: 'prod' }, env)), ['other-box']);
    assert.deepEqual(names(await list('profile-cli', { ...only, boto_profile: 'other' }, env, ['--list', '--profile', 'prod'])), ['prod-box']);
    assert.deepEqual(names(await list('profile-cli2', only, env, ['--boto-profile', 'prod'])), ['prod-box']);
  });
  it('an unknown profile is an error naming it', async () => {
    const r = await run('profile-bad', { ...only, boto_profile: 'nope' }, identityEnv());
    assert.equal(r.code, 1);
    assert.match(r.stderr, /profile 'nope'/);
  });
  it('iam_role assumes the role (session ansible_dynamic_inventory) for every call', async () => {
    const inv = await list('role', { ...only, iam_role: 'arn:aws:iam::333333333333:role/inventory', group_by_aws_account: 'True' });
    assert.deepEqual(names(inv), ['role-box']);
    assert.deepEqual(inv['333333333333'], [accounts['333333333333']!.ip]);
    const saved = { ...process.env };
    try {
      Object.assign(process.env, { AWS_ENDPOINT_URL: moto.endpoint, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_EC2_METADATA_DISABLED: 'true' });
      const auth = await resolveAuth({ iniPath: 'ec2.ini', iamRole: 'arn:aws:iam::333333333333:role/inventory' }, 'us-east-1');
      const who = await callerIdentity({ maxAttempts: 3, clientAuth: auth }, 'us-east-1');
      assert.equal(who.arn, 'arn:aws:sts::333333333333:assumed-role/inventory/ansible_dynamic_inventory');
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  });
  it('[credentials] is used when no profile and no AWS_ACCESS_KEY_ID chose an identity', async () => {
    const a = accounts['222222222222']!;
    const ini = writeIni(dir, 'creds', only);
    writeFileSync(ini, `[credentials]\naws_access_key_id = ${a.key}\naws_secret_access_key = ${a.secret}\naws_security_token = ${a.token}\n`, { flag: 'a' });
    const r = await runInventory(ini, ['--list'], moto.endpoint, { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(names(JSON.parse(r.stdout) as Inv), ['other-box']);
    assert.ok(!JSON.stringify(r.stdout).includes(a.secret));
    const withEnv = await runInventory(ini, ['--list', '--refresh-cache'], moto.endpoint);
    assert.ok(!names(JSON.parse(withEnv.stdout) as Inv).includes('other-box'), 'AWS_ACCESS_KEY_ID wins over [credentials]');
  });
  it('regions = auto reads AWS_REGION, else AWS_DEFAULT_REGION', async () => {
    const inv = await list('auto', { regions: 'auto', rds: 'False' }, { AWS_REGION: 'us-west-2' });
    assert.deepEqual(inv['ec2'], [ip('west1')]);
    const inv2 = await list('auto2', { regions: 'auto', rds: 'False' }, { AWS_DEFAULT_REGION: 'eu-west-1' });
    assert.deepEqual(inv2['ec2'], [ip('eu1')]);
    const r = await run('auto-none', { regions: 'auto' });
    assert.match(r.stderr, /option 'regions' is auto but neither AWS_REGION nor AWS_DEFAULT_REGION is set/);
  });
});
