// The later ec2.py's rules and settings on hand-made records: what moto cannot serve (ElastiCache
// clusters with nodes and endpoints) and the error messages of the new options.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildInventory } from '../../lib/ec2py/rules.js';
import { type RuleSettings } from '../../lib/ec2py/types.js';
import { uncammelize, get_host_info_dict_from_describe_dict } from '../../lib/ec2py/elasticache.js';
import { pythonIsoformat } from '../../lib/ec2py/rdsClusters.js';
import { parseSettings } from '../../lib/settings/read.js';
import { SettingsError } from '../../lib/errors.js';
import { cacheDigest } from '../../lib/store/digest.js';

const base: RuleSettings = {
  allInstances: false, allRdsInstances: false, destinationVariable: 'public_dns_name',
  vpcDestinationVariable: 'ip_address', patternInclude: undefined, patternExclude: undefined,
  nestedGroups: false, route53: false,
};

const memcached = {
  CacheClusterId: 'mc', CacheClusterStatus: 'available', Engine: 'memcached', CacheNodeType: 'cache.t3.micro',
  PreferredAvailabilityZone: 'us-east-1b', ConfigurationEndpoint: { Address: 'mc.cfg.cache.test', Port: 11211 },
  CacheParameterGroup: { CacheParameterGroupName: 'default.memcached1.6', ParameterApplyStatus: 'in-sync', CacheNodeIdsToReboot: [] },
  SecurityGroups: [{ SecurityGroupId: 'sg-1', Status: 'active' }], NumCacheNodes: 2, CacheClusterCreateTime: new Date(0),
  CacheNodes: [
    { CacheNodeId: '0001', CacheNodeStatus: 'available', Endpoint: { Address: 'mc.0001.cache.test', Port: 11211 } },
    { CacheNodeId: '0002', CacheNodeStatus: 'rebooting', Endpoint: { Address: 'mc.0002.cache.test', Port: 11211 } },
  ],
};
const redis = {
  CacheClusterId: 'rd', CacheClusterStatus: 'available', Engine: 'redis', CacheNodeType: 'cache.t3.small',
  PreferredAvailabilityZone: 'us-east-1a', ReplicationGroupId: 'rg',
  CacheParameterGroup: { CacheParameterGroupName: 'default.redis7', ParameterApplyStatus: 'in-sync', CacheNodeIdsToReboot: ['0001'] },
  CacheNodes: [{ CacheNodeId: '0001', CacheNodeStatus: 'available', Endpoint: { Address: 'rd.0001.cache.test', Port: 6379 } }],
};

function cacheInventory(settings: Partial<RuleSettings> = {}, clusters: object[] = [memcached, redis]) {
  return buildInventory({
    route53: undefined,
    regions: [{ region: 'us-east-1', instances: [], dbInstances: [], cacheClusters: clusters.map((cluster) => ({ cluster, region: 'us-east-1' })) }],
  }, { ...base, ...settings }).inventory;
}

describe('add_elasticache_cluster and add_elasticache_node', () => {
  it('lists a memcached cluster by its configuration endpoint and each available node by its own', () => {
    const inv = cacheInventory();
    assert.deepEqual(inv['mc'], ['mc.cfg.cache.test']);
    assert.deepEqual(inv['mc_0001'], ['mc.0001.cache.test']);
    assert.ok(!('mc_0002' in inv), 'a rebooting node is left out');
    assert.deepEqual(inv['us-east-1'], ['mc.cfg.cache.test', 'mc.0001.cache.test', 'rd.0001.cache.test']);
    assert.deepEqual(inv['elasticache_memcached'], ['mc.cfg.cache.test', 'mc.0001.cache.test']);
    assert.deepEqual(inv['elasticache_cluster_mc'], ['mc.0001.cache.test']);
    assert.deepEqual(inv['elasticache_parameter_group_default_memcached1_6'], ['mc.cfg.cache.test']);
    assert.deepEqual(inv['security_group_sg-1'], ['mc.cfg.cache.test', 'mc.0001.cache.test']);
    assert.deepEqual(inv['type_cache_t3_micro'], ['mc.cfg.cache.test', 'mc.0001.cache.test']);
    assert.deepEqual(inv['elasticache_nodes'], ['mc.0001.cache.test', 'rd.0001.cache.test']);
    assert.deepEqual(inv['elasticache_clusters'], ['mc.cfg.cache.test', 'rd.0001.cache.test']);
    assert.deepEqual(inv['elasticache'], ['mc.cfg.cache.test', 'mc.0001.cache.test', 'rd.0001.cache.test']);
    const vars = inv._meta.hostvars['mc.cfg.cache.test'] as Record<string, unknown>;
    assert.equal(vars['ec2_configuration_endpoint_address'], 'mc.cfg.cache.test');
    assert.equal(vars['ec2_configuration_endpoint_port'], 11211);
    assert.equal(vars['ec2_cache_parameter_group_name'], 'default.memcached1.6');
    assert.equal(vars['ec2_security_group_ids'], 'sg-1');
    assert.equal(vars['ec2_num_cache_nodes'], 2);
    assert.ok(!('ec2_cache_cluster_create_time' in vars), 'objects (timestamps) are left out');
    assert.equal(all_nodes(), 'mc.0002.cache.test');
  });
  it('merges a single-node redis cluster with its node, grouped only by parameter and replication group there', () => {
    const inv = cacheInventory();
    assert.deepEqual(inv['rd'], ['rd.0001.cache.test']);
    assert.deepEqual(inv['elasticache_replication_group_rg'], ['rd.0001.cache.test']);
    assert.deepEqual(inv['elasticache_redis'], ['rd.0001.cache.test'], 'from the node only');
    const vars = inv._meta.hostvars['rd.0001.cache.test'] as Record<string, unknown>;
    assert.equal(vars['ec2_cache_cluster_id'], 'rd', 'the cluster details');
    assert.equal(vars['ec2_cache_node_id'], '0001', 'and the node details');
    assert.equal(vars['ec2_endpoint_port'], 6379);
    assert.equal(vars['ec2_cache_node_ids_to_reboot'], '0001');
  });
  it('skips clusters that are not available or have no address, unless all_elasticache_clusters', () => {
    const creating = { ...memcached, CacheClusterId: 'new', CacheClusterStatus: 'creating', ConfigurationEndpoint: undefined, CacheNodes: [] };
    assert.ok(!('new' in cacheInventory({}, [creating])));
    assert.ok(!('new' in cacheInventory({ allElasticacheClusters: true }, [creating])), 'no address: still skipped');
    const modifying = { ...memcached, CacheClusterStatus: 'modifying' };
    assert.deepEqual(cacheInventory({ allElasticacheClusters: true }, [modifying])['mc'], ['mc.cfg.cache.test']);
  });
  it('nests under the groups that exist, and obeys its group_by switches', () => {
    const inv = cacheInventory({ nestedGroups: true });
    assert.deepEqual((inv['elasticache_engines'] as { children: string[] }).children, ['elasticache_memcached', 'elasticache_redis']);
    assert.deepEqual((inv['elasticache_parameter_groups'] as { children: string[] }).children, ['elasticache_parameter_group_default_memcached1_6', 'elasticache_parameter_group_default_redis7']);
    const off = cacheInventory({ groupBy: { ...cacheInventorySwitches(), elasticache_engine: false, elasticache_cluster: false } });
    assert.ok(!('elasticache_memcached' in off) && !('elasticache_cluster_mc' in off));
  });
});

function all_nodes(): string {
  const inv = cacheInventory({ allElasticacheNodes: true });
  return (inv['mc_0002'] as string[])[0] as string;
}

function cacheInventorySwitches() {
  return parseSettings('[ec2]\nregions = us-east-1\nregions_exclude =\ndestination_variable = public_dns_name\nvpc_destination_variable = ip_address\nroute53 = False\ncache_path = /tmp\ncache_max_age = 0\n', 'ec2.ini', {}).groupBy;
}

describe('get_host_info_dict_from_describe_dict', () => {
  it('uncammelizes as the original did', () => {
    assert.equal(uncammelize('CacheClusterId'), 'cache_cluster_id');
    assert.equal(uncammelize('ARN'), 'arn');
    assert.equal(uncammelize('AuthTokenLastModifiedDate'), 'auth_token_last_modified_date');
    assert.equal(uncammelize('NodeGroupId'), 'node_group_id');
  });
  it('spells out a replication group primary and replicas', () => {
    const vars = get_host_info_dict_from_describe_dict({
      ReplicationGroupId: 'rg', Status: 'available', MemberClusters: ['rg-001', 'rg-002'],
      NodeGroups: [{ PrimaryEndpoint: { Address: 'master.rg', Port: 6379 }, NodeGroupMembers: [
        { CacheClusterId: 'rg-001', CurrentRole: 'primary', ReadEndpoint: { Address: 'rg-001.rg', Port: 6379 } },
        { CacheClusterId: 'rg-002', CurrentRole: 'replica', ReadEndpoint: { Address: 'rg-002.rg', Port: 6379 } },
      ] }],
    });
    assert.deepEqual({ ...vars }, {
      ec2_replication_group_id: 'rg', ec2_status: 'available', ec2_member_clusters: 'rg-001,rg-002',
      ec2_endpoint_address: 'master.rg', ec2_endpoint_port: 6379,
      ec2_primary_cluster_address: 'rg-001.rg', ec2_primary_cluster_port: 6379, ec2_primary_cluster_id: 'rg-001',
      ec2_replica_cluster_address_0: 'rg-002.rg', ec2_replica_cluster_port_0: 6379, ec2_replica_cluster_id_0: 'rg-002',
    });
  });
  it('writes timestamps of db_clusters as Python isoformat', () => {
    assert.equal(pythonIsoformat(new Date('2020-01-02T03:04:05.678Z')), '2020-01-02T03:04:05.678000+00:00');
    assert.equal(pythonIsoformat(new Date('2020-01-02T03:04:05Z')), '2020-01-02T03:04:05+00:00');
  });
});

describe('settings of the later ec2.py', () => {
  const minimal = '[ec2]\nregions = us-east-1\nregions_exclude =\ndestination_variable = public_dns_name\nvpc_destination_variable = ip_address\nroute53 = False\ncache_path = /tmp\ncache_max_age = 0\n';
  const fails = (extra: string, option: string, message: RegExp, env: NodeJS.ProcessEnv = {}) =>
    assert.throws(() => parseSettings(minimal + extra, 'ec2.ini', env), (err: unknown) => {
      assert.ok(err instanceof SettingsError, String(err));
      assert.equal(err.option, option);
      assert.match(err.message, message);
      return true;
    });

  it('names the option of every bad value, with its line', () => {
    fails('destination_format = {0}\n', 'destination_format', /needs destination_format_tags/);
    fails('destination_format_tags = Name\n', 'destination_format_tags', /destination_format is not/);
    fails('destination_format = {}-{1}\ndestination_format_tags = a,b\n', 'destination_format', /mixes/);
    fails('destination_format = {0!r}\ndestination_format_tags = a\n', 'destination_format', /only \{0\}/);
    fails('hostname_variable = colour\n', 'hostname_variable', /tag_<key> or an instance attribute/);
    fails('instance_states = running,sleeping\n', 'instance_states', /unknown state 'sleeping'/);
    fails('stack_filters = True\ninstance_filters = a=1&b=2\n', 'instance_filters', /stack_filters/);
    fails('elasticache = maybe\n', 'elasticache', /must be a boolean/);
    fails('\n[credentials]\naws_access_key_id = AKIDEXAMPLE\n', 'aws_secret_access_key', /^ec2\.ini: \[credentials\] option 'aws_secret_access_key' is missing/);
    fails('instance_filters = a=1\n', 'instance_filters', /\(from EC2_INSTANCE_FILTERS\) has an entry without Name=Value: 'oops'/, { EC2_INSTANCE_FILTERS: 'oops' });
  });

  it('plans the DescribeInstances calls: 2014 grouping, & sets, stacking', () => {
    const calls = (extra: string) => parseSettings(minimal + extra, 'ec2.ini', {}).instanceFilterCalls;
    assert.deepEqual(calls('instance_filters = tag:a=1,tag:b=2,tag:a=3\n'), [
      [{ name: 'tag:a', values: ['1', '3'] }], [{ name: 'tag:b', values: ['2'] }],
    ]);
    assert.deepEqual(calls('instance_filters = t=x&tag:e=s, t=y\n'), [
      [{ name: 't', values: ['x'] }, { name: 'tag:e', values: ['s'] }], [{ name: 't', values: ['y'] }],
    ]);
    assert.deepEqual(calls('instance_filters = tag:a=1,tag:b=2,tag:a=3\nstack_filters = True\n'), [
      [{ name: 'tag:a', values: ['1', '3'] }, { name: 'tag:b', values: ['2'] }],
    ]);
    assert.deepEqual(calls(''), []);
  });

  it('reads & as AND only where every &-separated part is Name=Value; otherwise as part of the value (2014)', () => {
    const s = parseSettings(minimal + 'instance_filters = tag:Cost Center=R&D / Ops\n', 'ec2.ini', {});
    assert.deepEqual(s.instanceFilters, [{ name: 'tag:Cost Center', values: ['R&D / Ops'] }]);
    assert.deepEqual(s.instanceFilterCalls, [[{ name: 'tag:Cost Center', values: ['R&D / Ops'] }]]);
    const and = parseSettings(minimal + 'instance_filters = tag:Env=prod&instance-type=t3.small\n', 'ec2.ini', {});
    assert.deepEqual(and.instanceFilterCalls, [[{ name: 'tag:Env', values: ['prod'] }, { name: 'instance-type', values: ['t3.small'] }]]);
    // One entry of each kind: the AND entry makes one call, the literal one another.
    assert.deepEqual(parseSettings(minimal + 'instance_filters = a=1&b=2,tag:Dept=R&D\n', 'ec2.ini', {}).instanceFilterCalls, [
      [{ name: 'a', values: ['1'] }, { name: 'b', values: ['2'] }], [{ name: 'tag:Dept', values: ['R&D'] }],
    ]);
    // A literal & does not collide with stack_filters.
    assert.deepEqual(parseSettings(minimal + 'instance_filters = tag:Dept=R&D,tag:x=1\nstack_filters = True\n', 'ec2.ini', {}).instanceFilterCalls, [
      [{ name: 'tag:Dept', values: ['R&D'] }, { name: 'tag:x', values: ['1'] }],
    ]);
  });

  it('chooses the profile from --profile, then AWS_PROFILE, then boto_profile; keeps [credentials] out of sight', () => {
    const ini = minimal + 'boto_profile = fromini\n\n[credentials]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = s3cret\n';
    assert.equal(parseSettings(ini, 'ec2.ini', {}, { profile: 'cli' }).profile, 'cli');
    assert.equal(parseSettings(ini, 'ec2.ini', { AWS_PROFILE: 'env' }).profile, 'env');
    assert.equal(parseSettings(ini, 'ec2.ini', {}).profile, 'fromini');
    assert.equal(parseSettings(ini, 'ec2.ini', {}).credentials, undefined, 'a profile wins over [credentials]');
    const s = parseSettings(minimal + '\n[credentials]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = s3cret\n', 'ec2.ini', {});
    assert.equal(s.credentials?.secretAccessKey, 's3cret');
    assert.equal(s.credentialsKeyId, 'AKIDEXAMPLE');
    assert.ok(!JSON.stringify(s).includes('s3cret') && !Object.keys(s).includes('credentials'));
    assert.equal(parseSettings(minimal + '\n[credentials]\naws_access_key_id = AKID\naws_secret_access_key = x\n', 'ec2.ini', { AWS_ACCESS_KEY_ID: 'env' }).credentials, undefined);
  });

  it('reads the option lines of the last ec2.ini as it shipped', () => {
    // Its uncommented options, with its values (comments left out).
    const lastIni = [
      '[ec2]', 'regions = all', 'regions_exclude = us-gov-west-1, cn-north-1', 'destination_variable = public_dns_name',
      'vpc_destination_variable = ip_address', 'route53 = False', 'all_instances = False', 'all_rds_instances = False',
      'include_rds_clusters = False', 'all_elasticache_replication_groups = False', 'all_elasticache_clusters = False',
      'all_elasticache_nodes = False', 'cache_path = ~/.ansible/tmp', 'cache_max_age = 300', 'nested_groups = False',
      'replace_dash_in_groups = True', 'expand_csv_tags = False',
      ...['instance_id', 'region', 'availability_zone'].map((k) => `group_by_${k} = True`), 'group_by_aws_account = False',
      ...['ami_id', 'instance_type'].map((k) => `group_by_${k} = True`), 'group_by_instance_state = False',
      ...['platform', 'key_pair', 'vpc_id', 'security_group', 'tag_keys', 'tag_none', 'route53_names', 'rds_engine',
        'rds_parameter_group', 'elasticache_engine', 'elasticache_cluster', 'elasticache_parameter_group',
        'elasticache_replication_group'].map((k) => `group_by_${k} = True`),
      'stack_filters = False', '', '[credentials]', '',
    ].join('\n');
    const s = parseSettings(lastIni, 'ec2.ini', { HOME: '/home/ops' });
    assert.equal(s.replaceDashInGroups, true);
    assert.equal(s.groupBy.ami_id, true);
    assert.equal(s.groupBy.platform, true);
    assert.equal(s.groupBy.instance_state, false);
    assert.deepEqual(s.regionsExclude, ['us-gov-west-1', 'cn-north-1']);
    assert.equal(s.credentials, undefined);
  });

  it('keeps the cache digest that caches made before aws_ec2_hostvars existed while it is off, and changes it when on', () => {
    const account = '\n[account staging]\niam_role = arn:aws:iam::123456789012:role/staging\n';
    for (const extra of ['', account]) {
      const settings = parseSettings(minimal + extra, 'ec2.ini', {});
      // The settings as they were before the option: no such key, in [ec2] or in an account.
      const before = { ...settings, accounts: settings.accounts?.map((a) => { const { awsEc2Hostvars: _, ...rest } = a; return rest; }) } as typeof settings;
      delete (before as Partial<typeof settings>).awsEc2Hostvars;
      if (!settings.accounts) delete before.accounts;
      assert.equal(cacheDigest(settings, {}), cacheDigest(before, {}));
      assert.notEqual(cacheDigest(parseSettings(minimal + 'aws_ec2_hostvars = True\n' + extra, 'ec2.ini', {}), {}), cacheDigest(settings, {}));
    }
  });

  it('keys one cache entry by every account section: its identity, each setting it changes, the sections\' order and account_collision', () => {
    const prod = '\n[account prod]\niam_role = arn:aws:iam::111111111111:role/inventory\n';
    const stage = '\n[account stage]\niam_role = arn:aws:iam::222222222222:role/inventory\n';
    const digest = (ini: string) => cacheDigest(parseSettings(ini, 'ec2.ini', {}), {});
    const both = digest(minimal + prod + stage);
    const variants = [
      digest(minimal),
      digest(minimal + prod),
      digest(minimal + stage + prod),
      digest(minimal + prod.replace('111111111111', '333333333333') + stage),
      digest(minimal + prod + 'external_id = other\n' + stage),
      digest(minimal + prod + 'rds = False\n' + stage),
      digest(minimal + prod + stage + 'regions = eu-west-1\n'),
      digest(minimal + prod.replace('[account prod]', '[account production]') + stage),
      digest(minimal + 'account_collision = error\n' + prod + stage),
    ];
    assert.equal(new Set([both, ...variants]).size, variants.length + 1);
    // Neither how a failing account is handled nor the bounds of the calls change what a good refresh holds.
    assert.equal(digest(minimal + 'account_errors = warn\n' + prod + stage), both);
    assert.equal(digest(minimal + 'max_concurrency = 8\n' + prod + stage), both);
    // Without account sections, account_collision is not in the key (caches made before it keep theirs).
    assert.equal(digest(minimal + 'account_collision = error\n'), digest(minimal));
  });

  it('gives each profile, role, [credentials] key and destination format its own cache digest; the secret none', () => {
    const digest = (extra: string, overrides = {}) => cacheDigest(parseSettings(minimal + extra, 'ec2.ini', {}, overrides), {});
    const plain = digest('');
    const seen = new Set([plain]);
    for (const d of [
      digest('boto_profile = a\n'), digest('boto_profile = b\n'), digest('', { profile: 'c' }),
      digest('iam_role = arn:aws:iam::1:role/x\n'), digest('iam_role = arn:aws:iam::2:role/x\n'),
      digest('\n[credentials]\naws_access_key_id = AKID1\naws_secret_access_key = s\n'),
      digest('destination_format = {0}\ndestination_format_tags = Name\n'),
      digest('destination_format = {0}\ndestination_format_tags = Env\n'),
    ]) {
      assert.ok(!seen.has(d), 'digest shared');
      seen.add(d);
    }
    assert.equal(
      digest('\n[credentials]\naws_access_key_id = AKID1\naws_secret_access_key = one\n'),
      digest('\n[credentials]\naws_access_key_id = AKID1\naws_secret_access_key = two\n'),
    );
  });

  it('defaults give the 2014 behaviour', () => {
    const s = parseSettings(minimal, 'ec2.ini', {});
    assert.deepEqual(s.instanceStates, ['running']);
    assert.equal(s.elasticache, false);
    assert.equal(s.replaceDashInGroups, false);
    assert.equal(s.groupBy.ami_id, false);
    assert.equal(s.groupBy.platform, false);
    assert.equal(s.groupBy.instance_id, true);
    assert.equal(s.profile, undefined);
    assert.equal(s.iamRole, undefined);
  });
});
