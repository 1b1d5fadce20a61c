// The one declaration of every [ec2] option: parsing (read.ts), its error messages and the
// documentation in ec2.ini.example (example.ts) are all derived from this table.

export type OptionType = 'bool' | 'int' | 'string' | 'list' | 'path' | 'regex' | 'filters';

export interface OptionSpec {
  readonly name: string;
  readonly type: OptionType;
  /**
   * The value used when the option is absent. `undefined` with `required` means ec2.py reads it
   * unconditionally (and crashes without it); we stop with an error naming it instead.
   */
  readonly default?: string;
  readonly required?: boolean;
  /** The value ec2.ini.example shows; defaults to `default`. */
  readonly example?: string;
  /** Extra values a string option accepts beyond free text (documentation and validation). */
  readonly choices?: readonly string[];
  /** The least value an int option takes. */
  readonly min?: number;
  readonly doc: string;
  /** Heading in ec2.ini.example under which the option is documented. */
  readonly topic: string;
  /** The ini section it is read from: [ec2] unless said otherwise (the later ec2.py's [credentials]). */
  readonly section?: 'ec2' | 'credentials';
  /**
   * 'inventory': one value for the whole inventory, set in [ec2] only (the cache, the bounds of a
   * refresh). Every other [ec2] option may be set again in an [account NAME] section.
   */
  readonly scope?: 'inventory';
}

// boto 2 Instance attribute names usable as a destination (see lib/records/aws.ts for how
// each maps to an SDK v3 field); the values ec2.ini users actually set come first.
export const destinationAttributes = [
  'public_dns_name',
  'private_dns_name',
  'ip_address',
  'private_ip_address',
  'dns_name',
  'id',
] as const;

const ec2pyOptions = [
  {
    name: 'eucalyptus',
    scope: 'inventory',
    type: 'bool',
    default: 'False',
    topic: 'Eucalyptus',
    doc: `Talk to a Eucalyptus cloud controller instead of AWS EC2. The endpoint is
EC2_URL when set, else http://<eucalyptus_host>:8773/services/Eucalyptus. With regions = all
the only region is "eucalyptus". RDS is not queried for that region.`,
  },
  {
    name: 'eucalyptus_host',
    scope: 'inventory',
    type: 'string',
    topic: 'Eucalyptus',
    example: '',
    doc: 'Host name of the Eucalyptus cloud controller; read only when eucalyptus = True.',
  },
  {
    name: 'regions',
    type: 'list',
    required: true,
    example: 'all',
    topic: 'Regions',
    doc: `Comma-separated AWS regions to query, or "all" for every region enabled in the account
(DescribeRegions) minus regions_exclude, or "auto" for the one region in AWS_REGION (else
AWS_DEFAULT_REGION), as the later ec2.py reads it. Every named region must exist (checked against
DescribeRegions with AllRegions).`,
  },
  {
    name: 'regions_exclude',
    type: 'list',
    required: true,
    example: 'us-gov-west-1,cn-north-1',
    topic: 'Regions',
    doc: `Comma-separated regions left out when regions = all. Names are compared whole (ec2.py
tested substrings of the raw option text).`,
  },
  {
    name: 'destination_variable',
    type: 'string',
    required: true,
    example: 'public_dns_name',
    choices: destinationAttributes,
    topic: 'Destination addresses',
    doc: `The instance attribute (boto 2 name) used as the inventory host name for instances
outside a VPC (EC2-Classic). Instances for which it is empty are left out.`,
  },
  {
    name: 'vpc_destination_variable',
    type: 'string',
    required: true,
    example: 'ip_address',
    choices: destinationAttributes,
    topic: 'Destination addresses',
    doc: `The instance attribute used as the host name for instances in a VPC subnet:
ip_address (public IP) or private_ip_address when the controller runs inside the VPC.`,
  },
  {
    name: 'route53',
    type: 'bool',
    required: true,
    example: 'False',
    topic: 'Route53',
    doc: `Read Route53 hosted zones and add a group per record name that points at an instance
(by public or private DNS name or IP address). Group names are the record names as they are.`,
  },
  {
    name: 'route53_excluded_zones',
    type: 'list',
    default: '',
    topic: 'Route53',
    doc: 'Comma-separated hosted zone names (without the trailing dot) whose records are ignored.',
  },
  {
    name: 'rds',
    type: 'bool',
    default: 'True',
    topic: 'Services',
    doc: 'Include RDS instances (read with DescribeDBInstances; a 403 from RDS is skipped silently).',
  },
  {
    name: 'all_instances',
    type: 'bool',
    default: 'False',
    topic: 'Services',
    doc: 'Include EC2 instances in every state, not only running ones.',
  },
  {
    name: 'all_rds_instances',
    type: 'bool',
    default: 'False',
    topic: 'Services',
    doc: 'Include RDS instances in every state, not only available ones (read only when rds = True).',
  },
  {
    name: 'cache_path',
    scope: 'inventory',
    type: 'path',
    required: true,
    example: '~/.ansible/tmp',
    topic: 'Cache',
    doc: `Folder of the cache files ansible-ec2.cache (the inventory) and ansible-ec2.index
(host name to [region, id]). Created when missing; ~ is expanded. With cache_connection it holds
the local copies used while Redis is down (docs/cache.md).`,
  },
  {
    name: 'cache_max_age',
    scope: 'inventory',
    type: 'int',
    required: true,
    example: '300',
    topic: 'Cache',
    doc: `Seconds the cache stays valid. 0 makes every run call the APIs. --refresh-cache forces a
refresh at any age.`,
  },
  {
    name: 'nested_groups',
    type: 'bool',
    default: 'False',
    topic: 'Groups',
    doc: `Nest groups: regions > availability zones, instances, types, keys, security_groups,
tags > tag_<key> > tag_<key>=<value>, route53, rds_engines, rds_parameter_groups.`,
  },
  {
    name: 'pattern_include',
    type: 'regex',
    default: '',
    topic: 'Host patterns',
    doc: `Only hosts whose destination matches this regular expression (matched at the start of the
name, as Python's re.match). Empty: no restriction.`,
  },
  {
    name: 'pattern_exclude',
    type: 'regex',
    default: '',
    topic: 'Host patterns',
    doc: 'Hosts whose destination matches this regular expression (at the start) are left out.',
  },
  {
    name: 'instance_filters',
    type: 'filters',
    default: '',
    example: '',
    topic: 'Instance filters',
    doc: `Comma-separated Name=Value DescribeInstances filters, e.g.
tag:Environment=prod,instance-state-name=running. Values of the same name are ORed; each name is
a separate API call and the results are added up, so a host matching two names is listed twice in
its groups (as ec2.py does). As in the later ec2.py, & ANDs Name=Value parts within one entry
(tag:Env=prod&instance-type=t3.small), but only when every part around & is Name=Value: in
tag:Dept=R&D the & is part of the value, as the 2014 script read it. Empty: no filter.`,
  },
  {
    name: 'cache_connection',
    scope: 'inventory',
    type: 'string',
    default: '',
    example: '',
    topic: 'Cache',
    doc: `Where the cache lives. Empty: the two files in cache_path (no server needed). A
redis://[user:password@]host:port/db URL: a Redis shared by several controllers, so that one
refresh serves them all. Either way each configuration has its own entry (a digest of every
setting that changes the output is part of the key). A store that cannot be reached (Redis down,
frozen or silent; a cache_path that cannot be written) does not stop the inventory: it is fetched
from AWS without the cache, with one warning on stderr (see docs/cache.md).`,
  },
  {
    name: 'cache_stale_on_error',
    scope: 'inventory',
    type: 'bool',
    default: 'False',
    topic: 'Cache',
    doc: `When a refresh fails, print the previous inventory (with a warning on stderr) and exit 0
instead of failing. Off by default, as ec2.py failed. With cache_connection, a local copy of the
last good inventory is kept in cache_path (0600), served when Redis is down as well.`,
  },
  {
    name: 'cache_lock_timeout',
    scope: 'inventory',
    type: 'int',
    default: '120',
    topic: 'Cache',
    doc: `Seconds a run waits for another process's refresh of the same cache before giving up. A
crashed holder's lock expires by itself.`,
  },
  {
    name: 'registry_lock_timeout',
    scope: 'inventory',
    type: 'int',
    default: '30',
    topic: 'Cache',
    doc: `Seconds a launch, destroy or register waits for another process's change of the registry
(beside the cache) before giving up. Its lock is not the refresh lock: a long refresh never holds up
a registration.`,
  },
  {
    name: 'max_concurrency',
    scope: 'inventory',
    type: 'int',
    min: 1,
    default: '256',
    topic: 'API calls',
    doc: `API listings (one per account, region and service) in flight at once during a refresh. The
default covers every region's EC2 and RDS listings and Route53 of several [account NAME] sections in
one wave: each wave costs a round trip.`,
  },
  {
    name: 'max_attempts',
    scope: 'inventory',
    type: 'int',
    min: 1,
    default: '5',
    topic: 'API calls',
    doc: `Attempts per API call, with the SDK's adaptive retry (backoff, and client-side rate
limiting after throttling) for RequestLimitExceeded/Throttling and 5xx answers.`,
  },
  {
    name: 'connect_timeout',
    scope: 'inventory',
    type: 'int',
    min: 1,
    default: '5',
    topic: 'API calls',
    doc: `Seconds an API call may take to open its connection (TCP and TLS) before the attempt fails
and is retried (a black-holed endpoint or a dead proxy). At least 1.`,
  },
  {
    name: 'request_timeout',
    scope: 'inventory',
    type: 'int',
    min: 1,
    default: '60',
    topic: 'API calls',
    doc: `Seconds one attempt of an API call may take from sending the request to the last byte of
the answer before it is abandoned and retried (a peer that stalls, or trickles its answer). At
least 1; one call takes at most max_attempts times this (plus backoff).`,
  },
  {
    name: 'refresh_timeout',
    scope: 'inventory',
    type: 'int',
    default: '300',
    topic: 'API calls',
    doc: `Seconds a whole refresh may take. Past it the refresh stops, names the calls still pending
(service, call, region) and fails, or serves the previous inventory with cache_stale_on_error.
The cache is left as it was. 0: no deadline beyond each call's own.`,
  },
  {
    name: 'libvirt_uris',
    scope: 'inventory',
    type: 'list',
    default: '',
    example: '',
    topic: 'Libvirt',
    doc: `Comma-separated libvirt URIs (qemu:///system, qemu+ssh://user@host/system) whose domains
join the inventory, registered or not, on every refresh (never on a cached answer): groups from the
domain metadata ec2-provision launch writes, plus libvirt and libvirt_<state>; hostvars kvm_uri,
kvm_domain, kvm_uuid, kvm_state and those the launch recorded. Empty: no libvirt calls.`,
  },
] as const satisfies readonly OptionSpec[];

// Options of the last ec2.py (community.aws, 2019-2020) and amazon.aws's aws_ec2 plugin. Every
// default reproduces the 2014 script's output, so an ini that does not name them prints the same
// bytes; where the last ec2.py's default differs, the doc says so (and docs/compat.md lists them).
const laterOptions = [
  {
    name: 'hostname_variable',
    type: 'string',
    default: '',
    topic: 'Destination addresses',
    doc: `Name hosts by this instance attribute (boto 2 name, e.g. private_dns_name) or tag
(tag_Name, or tag:Name as the later ec2.ini's comment writes it) instead of their address; the name
is passed through to_safe and lower-cased, ansible_host keeps the address. Hosts without the
attribute or tag keep their address as name. Applies to EC2 and RDS hosts.`,
  },
  {
    name: 'destination_format',
    type: 'string',
    default: '',
    example: '',
    topic: 'Destination addresses',
    doc: `A Python format string ({0}, {1} or {} fields; {{ and }} for braces) that builds the address
of EC2 hosts from destination_format_tags, e.g. {0}.{1}.example.com. Needs destination_format_tags
and then overrides destination_variable and vpc_destination_variable.`,
  },
  {
    name: 'destination_format_tags',
    type: 'list',
    default: '',
    example: '',
    topic: 'Destination addresses',
    doc: `Comma-separated tag keys (or instance attributes, used when no such tag) that fill
destination_format's fields in order. A value the host does not have becomes "nil".`,
  },
  {
    name: 'route53_hostnames',
    type: 'string',
    default: '',
    example: '',
    topic: 'Route53',
    doc: `With route53 = True: name EC2 hosts by the Route53 record pointing at them whose name ends
with this suffix (e.g. .example.com), lower-cased. Empty: hosts are named by their address.`,
  },
  {
    name: 'elasticache',
    type: 'bool',
    default: 'False',
    topic: 'Services',
    doc: `Include ElastiCache clusters, their nodes and replication groups. The last ec2.py
defaulted to True; here it is off so that a 2014 ec2.ini gives the same inventory.`,
  },
  {
    name: 'instance_states',
    type: 'list',
    default: 'running',
    topic: 'Services',
    doc: `Comma-separated EC2 instance states to include (pending, running, shutting-down,
terminated, stopping, stopped). all_instances = True includes every state whatever this says.`,
  },
  {
    name: 'include_rds_clusters',
    type: 'bool',
    default: 'False',
    topic: 'Services',
    doc: `Add the RDS (Aurora) clusters of every region, with their tags, as a "db_clusters" entry
mapping cluster id to its description (clusters without members are left out). The last ec2.py
kept only the last region's clusters; here all regions are collected.`,
  },
  {
    name: 'all_elasticache_replication_groups',
    type: 'bool',
    default: 'False',
    topic: 'Services',
    doc: 'Include ElastiCache replication groups in every state, not only available ones.',
  },
  {
    name: 'all_elasticache_clusters',
    type: 'bool',
    default: 'False',
    topic: 'Services',
    doc: 'Include ElastiCache clusters in every state, not only available ones.',
  },
  {
    name: 'all_elasticache_nodes',
    type: 'bool',
    default: 'False',
    topic: 'Services',
    doc: `Include ElastiCache nodes in every state, not only available ones. Nodes are only read from
the clusters that are listed.`,
  },
  {
    name: 'replace_dash_in_groups',
    type: 'bool',
    default: 'False',
    topic: 'Groups',
    doc: `Also turn "-" into "_" in group names and hostvar names (to_safe). The last ec2.py
defaulted to True; here it is off to keep the 2014 names.`,
  },
  {
    name: 'expand_csv_tags',
    type: 'bool',
    default: 'False',
    topic: 'Groups',
    doc: `A tag value "a, b" gives the groups tag_<key>=a and tag_<key>=b, and its hostvar becomes the
list ["a", "b"].`,
  },
  ...(
    [
      ['instance_id', 'True', 'a group per instance (and RDS, ElastiCache) id'],
      ['region', 'True', 'a group per region'],
      ['availability_zone', 'True', 'a group per availability zone'],
      ['aws_account', 'False', 'a group named by the account id (read with STS GetCallerIdentity); with [account NAME] sections, the group accounts with one child per account id, and account_NAME'],
      ['ami_id', 'False', 'a group per AMI id (ami-...); the last ec2.py defaulted to True'],
      ['instance_type', 'True', 'a group per instance type (type_...)'],
      ['instance_state', 'False', 'a group per instance state (instance_state_...)'],
      ['platform', 'False', 'a group per platform (platform_windows, platform_undefined); the last ec2.py defaulted to True'],
      ['key_pair', 'True', 'a group per key pair (key_...)'],
      ['vpc_id', 'True', 'a group per VPC (vpc_id_...)'],
      ['security_group', 'True', 'a group per security group (security_group_...)'],
      ['tag_keys', 'True', 'a group per tag (tag_<key>=<value>)'],
      ['tag_none', 'True', 'the group tag_none of instances without tags'],
      ['route53_names', 'True', 'a group per Route53 record name (with route53 = True)'],
      ['rds_engine', 'True', 'a group per RDS engine (rds_...)'],
      ['rds_parameter_group', 'True', 'a group per RDS parameter group (rds_parameter_group_...)'],
      ['elasticache_engine', 'True', 'a group per ElastiCache engine (elasticache_redis, ...)'],
      ['elasticache_cluster', 'True', 'a group per ElastiCache cluster of its nodes (elasticache_cluster_...)'],
      ['elasticache_parameter_group', 'True', 'a group per ElastiCache parameter group (elasticache_parameter_group_...)'],
      ['elasticache_replication_group', 'True', 'a group per ElastiCache replication group (elasticache_replication_group_...)'],
    ] as const
  ).map(([key, def, what]) => ({
    name: `group_by_${key}` as const,
    type: 'bool' as const,
    default: def,
    topic: 'Groups',
    doc: `Make ${what}.`,
  })),
  {
    name: 'extra_hostvars',
    type: 'bool',
    default: 'False',
    topic: 'Host variables',
    doc: `Add the hostvars the last ec2.py added to EC2 hosts: ec2_block_devices (device name to
volume id) and ec2_account_id (from STS GetCallerIdentity). Off keeps the 2014 hostvars. (Not an
ec2.py option: the last ec2.py always added them.) With [account NAME] sections every host has
ec2_account_id (its own account) and ec2_account_name whatever this says.`,
  },
  {
    name: 'stack_filters',
    type: 'bool',
    default: 'False',
    topic: 'Instance filters',
    doc: `Apply every instance_filters entry at once (one DescribeInstances call; values of the same
name are ORed) instead of adding up one call per entry. Cannot be combined with "&" in
instance_filters.`,
  },
  {
    name: 'iam_role',
    type: 'string',
    default: '',
    example: '',
    topic: 'Identity',
    doc: `ARN of an IAM role to assume (STS AssumeRole, session name ansible_dynamic_inventory) for
every call, e.g. to read another account.`,
  },
  {
    name: 'external_id',
    type: 'string',
    default: '',
    example: '',
    topic: 'Identity',
    doc: `ExternalId given to the AssumeRole of iam_role, when the role's trust policy asks for one
(2 to 1224 letters, digits and +=,.@:/-).`,
  },
  {
    name: 'role_session_name',
    type: 'string',
    default: 'ansible_dynamic_inventory',
    topic: 'Identity',
    doc: `Session name of the AssumeRole of iam_role, as CloudTrail shows it (2 to 64 letters,
digits and +=,.@-).`,
  },
  {
    name: 'boto_profile',
    type: 'string',
    default: '',
    example: '',
    topic: 'Identity',
    doc: `Profile of ~/.aws/credentials or ~/.aws/config to use (static keys, role_arn, SSO, ...).
--profile/--boto-profile on the command line wins, then AWS_PROFILE, then this option.`,
  },
  {
    name: 'account_collision',
    type: 'string',
    default: 'rename',
    choices: ['rename', 'error'],
    scope: 'inventory',
    topic: 'Accounts',
    doc: `With [account NAME] sections: what happens when hosts of two accounts get the same
inventory name (the same private IP in two VPCs, the same Name tag with hostname_variable). rename:
the host of the account whose section comes later is named NAME@ACCOUNT_ID, whatever order the
answers arrive in; error: the refresh fails naming both. Within one account ec2.py's rule stays
(the later host wins).`,
  },
  {
    name: 'account_errors',
    type: 'string',
    default: 'fail',
    choices: ['fail', 'warn'],
    scope: 'inventory',
    topic: 'Accounts',
    doc: `With [account NAME] sections: what a failing account (a refused AssumeRole, an API call
that keeps failing) does to the refresh. fail: the refresh fails naming the account, the call and
the region, and the cache is left as it was. warn: the other accounts are listed, the failing one's
hosts come from the last good cache (stderr names the account and how old they are), and the next
refresh tries it again. A refresh in which every account fails fails.`,
  },
  ...(
    [
      ['aws_access_key_id', 'Access key id'],
      ['aws_secret_access_key', 'Secret access key (needed with aws_access_key_id)'],
      ['aws_security_token', 'Session token of temporary credentials'],
    ] as const
  ).map(([name, what]) => ({
    name,
    type: 'string' as const,
    default: '',
    example: '',
    topic: 'Credentials',
    section: 'credentials' as const,
    doc: `${what}, in the [credentials] section. Used only when no profile is chosen and
AWS_ACCESS_KEY_ID is not set; held in memory, never written to the cache. Prefer a profile.`,
  })),
] as const satisfies readonly OptionSpec[];

export const options = [...ec2pyOptions, ...laterOptions] as const;

/**
 * The [account NAME] sections: the one declaration of what they hold, rendered into
 * ec2.ini.example and read by lib/settings/accounts.ts.
 */
export const accountSection = {
  /** The options that say who an account section calls AWS as (and are never inherited). */
  identity: ['iam_role', 'external_id', 'role_session_name', 'boto_profile'],
  doc: `Several AWS accounts in one inventory: one [account NAME] section per account (NAME: letters,
digits, _ . -). When there is at least one, only the accounts are listed, every one in the same
refresh (max_concurrency listings at once across all of them) and into one inventory and one cache
entry. An account section says who to call AWS as: iam_role (with external_id and
role_session_name), assumed with the credentials of [ec2] (its boto_profile, [credentials] or the
environment), or boto_profile, used instead of them; neither: the credentials of [ec2] themselves.
Every other [ec2] option not set in the section is inherited from [ec2], so a per-account change is
one line; the options marked "[ec2] only" cannot be set per account. Every host gets ec2_account_id
(the reservation's owner; for RDS and ElastiCache the account in their ARN) and
ec2_account_name (NAME); group_by_aws_account adds the group "accounts" with one child per account
id, and account_NAME. Two sections may not name the same account.`,
  example: [
    '[account prod]',
    'iam_role = arn:aws:iam::111111111111:role/inventory',
    'external_id = ops-inventory',
    'regions = us-east-1,eu-west-1',
    '',
    '[account staging]',
    'boto_profile = staging',
    'hostname_variable = tag_Name',
  ],
} as const;

/** The group_by_* switches, without their prefix. */
type SwitchOf<N> = N extends `group_by_${infer K}` ? K : never;
export type GroupBySwitch = SwitchOf<(typeof laterOptions)[number]['name']>;
export const groupBySwitches = laterOptions
  .map((o) => o.name)
  .filter((n): n is `group_by_${GroupBySwitch}` => n.startsWith('group_by_'))
  .map((n) => n.slice('group_by_'.length) as GroupBySwitch);

export type OptionName = (typeof options)[number]['name'];

export const optionByName: ReadonlyMap<string, OptionSpec> = new Map(options.map((o) => [o.name, o]));
