// Golden expectations for each ec2.ini variant, against a real moto_server holding the shared
// scenario. Expected groups are spelled out from the scenario's own ids and addresses.
import { before, describe, it } from 'node:test';
import { scenarioFixture } from '../support/fixture.js';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import path from 'node:path';
import { db, host } from '../support/scenario.js';
import { runInventory, writeIni } from '../support/run.js';

type Inv = Record<string, unknown> & { _meta: { hostvars: Record<string, Record<string, unknown>> } };

const f = scenarioFixture();

async function list(name: string, overrides: Record<string, string | null> = {}, args = ['--list']): Promise<Inv> {
  const ini = writeIni(f.dir, name, overrides);
  const r = await runInventory(ini, args, f.moto.endpoint);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '', 'nothing on stderr on success');
  return JSON.parse(r.stdout) as Inv;
}

/** Groups without _meta, host lists sorted (ec2.py's order of hosts is not part of the contract). */
function groups(inv: Inv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(inv)) {
    if (k === '_meta') continue;
    if (Array.isArray(v)) out[k] = [...v].sort();
    else {
      const g = v as { hosts?: string[]; children?: string[] };
      out[k] = { ...(g.hosts ? { hosts: [...g.hosts].sort() } : {}), ...(g.children ? { children: [...g.children].sort() } : {}) };
    }
  }
  return out;
}

const sorted = (...xs: string[]) => [...xs].sort();

describe('default ec2.ini (flat groups, public addresses, RDS and Route53 on)', () => {
  let inv: Inv;
  before(async () => { inv = await list('base'); });

  it('has exactly the groups ec2.py makes, each with its hosts', () => {
    const ip = (n: string) => host(f.s, n).publicIp as string;
    const [web1, web2, untagged, west1, eu1] = ['web1', 'web2', 'untagged', 'west1', 'eu1'].map(ip) as string[] as [string, string, string, string, string];
    const orders = db(f.s, 'orders-db');
    const analytics = db(f.s, 'analytics');
    const expected: Record<string, string[]> = {
      [host(f.s, 'web1').id]: [web1], [host(f.s, 'web2').id]: [web2], [host(f.s, 'untagged').id]: [untagged],
      [host(f.s, 'west1').id]: [west1], [host(f.s, 'eu1').id]: [eu1],
      'orders-db': [orders], analytics: [analytics],
      'us-east-1': sorted(web1, web2, untagged, orders), 'us-east-1a': sorted(web1, web2, untagged, orders),
      'us-west-2': [west1], 'us-west-2a': [west1],
      'eu-west-1': sorted(eu1, analytics), 'eu-west-1a': sorted(eu1, analytics),
      type_t2_micro: sorted(web1, untagged, eu1), type_m5_large: [web2], type_c5_xlarge: [west1],
      type_db_m5_large: [orders], type_db_t3_micro: [analytics],
      'key_ops-key': sorted(web1, west1), key_deploy_key_2: [web2],
      [`vpc_id_${host(f.s, 'web1').vpcId}`]: sorted(web1, web2, untagged),
      [`vpc_id_${host(f.s, 'west1').vpcId}`]: [west1],
      [`vpc_id_${host(f.s, 'eu1').vpcId}`]: [eu1],
      security_group_web: sorted(web1, web2), security_group_db_access_5432: [web1],
      tag_Name_web_1: [web1], tag_Env_prod: sorted(web1, web2, eu1),
      'tag_aws_cloudformation_stack-name_front_end': [web1],
      'tag_Name_web-2': [web2], tag_Owner_Zo___n_code: [web2], tag_Role____: [web2], tag_Empty_: [web2],
      tag_Name_batch_1: [west1], tag_Env_staging__qa: [west1],
      tag_none: [untagged],
      'www.example.com': sorted(web1, web2), 'web1.example.com': [web1], 'alias.example.com': [web2],
      'web1-int.internal.example.org': [web1],
      ec2: sorted(web1, web2, untagged, west1, eu1),
      rds: sorted(orders, analytics), rds_mysql: [orders], rds_postgres: [analytics],
      'rds_parameter_group_orders-db-params': [orders], 'rds_parameter_group_analytics-params': [analytics],
    };
    assert.deepEqual(groups(inv), expected);
  });

  it('leaves out stopped hosts, hosts without a public address and the excluded Route53 zone', () => {
    const all = JSON.stringify(inv);
    assert.ok(!all.includes(host(f.s, 'stopped').id), 'stopped instance listed');
    assert.ok(!all.includes(host(f.s, 'private').id), 'unaddressable instance listed');
    assert.ok(!('secret.hidden.example.net' in inv));
    assert.ok(!('db.internal.example.org' in inv), 'a record pointing only at a skipped host makes no group');
  });

  it('gives EC2 hostvars with boto 2 names, types and values', () => {
    const h = host(f.s, 'web2');
    const vars = inv._meta.hostvars[h.publicIp as string] as Record<string, unknown>;
    assert.equal(vars['ec2_id'], h.id);
    assert.equal(vars['ec2_ip_address'], h.publicIp);
    assert.equal(vars['ec2_private_ip_address'], h.privateIp);
    assert.equal(vars['ec2_public_dns_name'], h.publicDns);
    assert.equal(vars['ec2_dns_name'], h.publicDns);
    assert.equal(vars['ec2_private_dns_name'], h.privateDns);
    assert.equal(vars['ec2_instance_type'], 'm5.large');
    assert.equal(vars['ec2_key_name'], 'deploy.key 2');
    assert.equal(vars['ec2_placement'], 'us-east-1a');
    assert.equal(vars['ec2_region'], 'us-east-1');
    assert.equal(vars['ec2_state'], 'running');
    assert.equal(vars['ec2_state_code'], 16);
    assert.equal(vars['ec2_previous_state'], '');
    assert.equal(vars['ec2_previous_state_code'], 0);
    assert.equal(vars['ec2_ami_launch_index'], '0', 'a string, as boto 2 gives it');
    assert.match(vars['ec2_launch_time'] as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(vars['ec2_monitored'], false);
    assert.equal(vars['ec2_monitoring_state'], 'disabled');
    assert.equal(vars['ec2_kernel'], '', 'None becomes an empty string');
    assert.equal(vars['ec2_vpc_id'], h.vpcId);
    assert.equal(vars['ec2_sourceDestCheck'], 'true');
    assert.equal(vars['ec2_eventsSet'], '');
    assert.equal(vars['ec2_security_group_names'], 'web');
    assert.match(vars['ec2_security_group_ids'] as string, /^sg-[0-9a-f]+$/);
    assert.equal(vars['ec2_tag_Owner'], 'Zoë Ünïcode');
    assert.equal(vars['ec2_tag_Role'], '日本語');
    assert.equal(vars['ec2_tag_Empty'], '');
    assert.equal(vars['ec2_tag_Name'], 'web-2');
    const web1 = inv._meta.hostvars[host(f.s, 'web1').publicIp as string] as Record<string, unknown>;
    assert.equal(web1['ec2_security_group_names'], 'web,db access:5432', 'comma-joined in API order');
    assert.equal(web1['ec2_tag_aws_cloudformation_stack-name'], 'front/end');
  });

  it('gives RDS hostvars with boto 2 names and types', () => {
    const vars = inv._meta.hostvars[db(f.s, 'orders-db')] as Record<string, unknown>;
    assert.equal(vars['ec2_id'], 'orders-db');
    assert.equal(vars['ec2_engine'], 'mysql');
    assert.equal(vars['ec2_instance_class'], 'db.m5.large');
    assert.equal(vars['ec2_status'], 'available');
    assert.equal(vars['ec2_allocated_storage'], 20);
    assert.equal(vars['ec2_availability_zone'], 'us-east-1a');
    assert.equal(vars['ec2_master_username'], 'admin');
    assert.equal(vars['ec2_multi_az'], false);
    assert.equal(vars['ec2__port'], 3306);
    assert.equal(vars['ec2__address'], db(f.s, 'orders-db'));
    assert.equal(typeof vars['ec2_backup_retention_period'], 'number');
    assert.equal(typeof vars['ec2_auto_minor_version_upgrade'], 'boolean');
    assert.equal(vars['ec2_iops'], '');
    assert.ok(!('ec2_region' in vars), 'boto 2 DBInstance has no region attribute');
  });

  it('prints exactly what Python json.dumps(sort_keys=True, indent=2) prints', async () => {
    const ini = writeIni(f.dir, 'base');
    const r = await runInventory(ini, [], f.moto.endpoint);
    const py = execFileSync('python3', ['-c', 'import json,sys; print(json.dumps(json.load(sys.stdin), sort_keys=True, indent=2))'], { input: r.stdout }).toString();
    assert.equal(r.stdout, py);
    assert.match(r.stdout, /\\u00eb/, 'non-ASCII escaped as ensure_ascii does');
  });

  it('writes the two cache files 0600, and the cache file holds exactly the printed inventory', async () => {
    const cacheDir = path.join(f.dir, 'base-cache');
    for (const f of ['ansible-ec2.cache', 'ansible-ec2.index']) {
      assert.equal(statSync(path.join(cacheDir, f)).mode & 0o777, 0o600, f);
    }
    const index = JSON.parse(execFileSync('cat', [path.join(cacheDir, 'ansible-ec2.index')]).toString()) as Record<string, unknown>;
    assert.deepEqual(index[host(f.s, 'west1').publicIp as string], ['us-west-2', host(f.s, 'west1').id]);
    assert.deepEqual(index[db(f.s, 'analytics')], ['eu-west-1', 'analytics']);
  });
});

describe('ini variants', () => {
  it('nested_groups = True nests regions, zones, types, keys, groups, tags, route53 and rds groups', async () => {
    const inv = await list('nested', { nested_groups: 'True' });
    const g = groups(inv);
    const web1 = host(f.s, 'web1').publicIp as string;
    assert.deepEqual(g['regions'], { children: sorted('us-east-1', 'us-west-2', 'eu-west-1') });
    assert.deepEqual(g['us-east-1'], { children: ['us-east-1a'] }, 'no hosts directly in a region');
    assert.deepEqual(g['tags'], { children: sorted('tag_Name', 'tag_Env', 'tag_aws_cloudformation_stack-name', 'tag_Owner', 'tag_Role', 'tag_Empty') });
    assert.deepEqual(g['tag_Env'], { children: sorted('tag_Env_prod', 'tag_Env_staging__qa') });
    assert.deepEqual(g['tag_Name_web_1'], [web1]);
    assert.deepEqual(g['keys'], { children: sorted('key_ops-key', 'key_deploy_key_2') });
    assert.deepEqual(g['types'], { children: sorted('type_t2_micro', 'type_m5_large', 'type_c5_xlarge', 'type_db_m5_large', 'type_db_t3_micro') });
    assert.deepEqual(g['security_groups'], { children: sorted('security_group_web', 'security_group_db_access_5432') });
    assert.deepEqual(g['route53'], { children: sorted('www.example.com', 'web1.example.com', 'alias.example.com', 'web1-int.internal.example.org') });
    assert.deepEqual(g['rds_engines'], { children: sorted('rds_mysql', 'rds_postgres') });
    assert.deepEqual(g['rds_parameter_groups'], { children: sorted('rds_parameter_group_orders-db-params', 'rds_parameter_group_analytics-params') });
    assert.equal((g['instances'] as { children: string[] }).children.length, 7);
    assert.ok(!('us-east-1' in g && Array.isArray(g['us-east-1'])));
  });

  it('all_instances = True adds the stopped host when it is addressable', async () => {
    const inv = await list('all', { all_instances: 'True', vpc_destination_variable: 'private_ip_address' });
    const stopped = host(f.s, 'stopped');
    assert.deepEqual(inv[stopped.id], [stopped.privateIp]);
    assert.equal(inv._meta.hostvars[stopped.privateIp as string]?.['ec2_state'], 'stopped');
    assert.equal(inv._meta.hostvars[stopped.privateIp as string]?.['ec2_state_code'], 80);
    assert.ok((inv['tag_Env_dev'] as string[]).includes(stopped.privateIp as string));
  });

  it('vpc_destination_variable = private_ip_address names hosts by private address and reaches private subnets', async () => {
    const inv = await list('private', { vpc_destination_variable: 'private_ip_address' });
    const priv = host(f.s, 'private');
    assert.deepEqual(inv[priv.id], [priv.privateIp]);
    assert.deepEqual(inv['db.internal.example.org'], [priv.privateIp], 'Route53 matches private addresses');
    assert.deepEqual(inv['web1-int.internal.example.org'], [host(f.s, 'web1').privateIp]);
    assert.ok(!(host(f.s, 'web1').publicIp as string in inv._meta.hostvars));
  });

  it('rds = False leaves out every RDS host and group', async () => {
    const inv = await list('nords', { rds: 'False', all_rds_instances: 'True' });
    for (const k of ['rds', 'rds_mysql', 'orders-db', 'type_db_m5_large']) assert.ok(!(k in inv), k);
    assert.ok(!(db(f.s, 'orders-db') in inv._meta.hostvars));
    assert.deepEqual((inv['us-east-1'] as string[]).length, 3);
  });

  it('route53 = False makes no record-name groups', async () => {
    const inv = await list('nor53', { route53: 'False' });
    for (const k of ['www.example.com', 'web1.example.com', 'alias.example.com']) assert.ok(!(k in inv), k);
  });

  it('route53_excluded_zones empty includes every zone', async () => {
    const inv = await list('allzones', { route53_excluded_zones: '' });
    assert.deepEqual(inv['secret.hidden.example.net'], [host(f.s, 'web1').publicIp]);
  });

  it('instance_filters: one call per name, values ORed, a host matching two names listed twice (as ec2.py)', async () => {
    const inv = await list('filters', { instance_filters: 'tag:Env=prod,instance-type=m5.large,instance-type=c5.xlarge' });
    const web2 = host(f.s, 'web2').publicIp as string;
    const web1 = host(f.s, 'web1').publicIp as string;
    const eu1 = host(f.s, 'eu1').publicIp as string;
    const west1 = host(f.s, 'west1').publicIp as string;
    assert.deepEqual([...(inv['ec2'] as string[])].sort(), sorted(web1, web2, web2, eu1, west1));
    assert.deepEqual(inv[host(f.s, 'web2').id], [web2], 'the id group is set, not appended');
    assert.ok(!(host(f.s, 'untagged').publicIp as string in inv._meta.hostvars));
  });

  it('pattern_include matches at the start only (Python re.match), pattern_exclude removes, RDS untouched', async () => {
    const web1 = host(f.s, 'web1').publicIp as string;
    const escaped = web1.replace(/\./g, '\\.');
    let inv = await list('incl', { pattern_include: escaped });
    assert.deepEqual(inv['ec2'], [web1]);
    assert.ok('rds' in inv, 'patterns apply to EC2 hosts only, as in ec2.py');
    inv = await list('incl-mid', { pattern_include: '214' });
    assert.ok(!('ec2' in inv), 'a match in the middle of the name does not count');
    inv = await list('excl', { pattern_exclude: `(?P<other>)(?!${escaped}$)` });
    assert.deepEqual(inv['ec2'], [web1], 'Python named groups are understood');
  });

  it('regions limits the walk to the named regions', async () => {
    const inv = await list('west', { regions: 'us-west-2' });
    assert.deepEqual(inv['ec2'], [host(f.s, 'west1').publicIp]);
    assert.ok(!('rds' in inv));
  });

  it('regions = all walks every region moto offers, minus regions_exclude', async () => {
    let inv = await list('allregions', { regions: 'all' });
    assert.deepEqual([...(inv['ec2'] as string[])].sort(), ['web1', 'web2', 'untagged', 'west1', 'eu1'].map((n) => host(f.s, n).publicIp as string).sort());
    inv = await list('allregions-excl', { regions: 'all', regions_exclude: 'eu-west-1, us-west-2' });
    assert.deepEqual([...(inv['ec2'] as string[])].sort(), ['web1', 'web2', 'untagged'].map((n) => host(f.s, n).publicIp as string).sort());
  });
});

describe('--host', () => {
  it('answers an EC2 host and an RDS endpoint from the cache, and {} for an unknown host', async () => {
    const ini = writeIni(f.dir, 'hostq');
    const listed = JSON.parse((await runInventory(ini, ['--list'], f.moto.endpoint)).stdout) as Inv;
    const web2 = host(f.s, 'web2').publicIp as string;
    let r = await runInventory(ini, ['--host', web2], f.moto.endpoint);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), listed._meta.hostvars[web2]);
    r = await runInventory(ini, ['--host', db(f.s, 'analytics')], f.moto.endpoint);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).ec2_engine, 'postgres');
    r = await runInventory(ini, ['--host', 'no-such-host.example'], f.moto.endpoint);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '{}\n');
  });
});
