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
  readonly doc: string;
  /** Heading in ec2.ini.example under which the option is documented. */
  readonly topic: string;
}

// boto 2 Instance attribute names usable as a destination (see lib/inventory/hostvars.ts for how
// each maps to an SDK v3 field); the values ec2.ini users actually set come first.
export const destinationAttributes = [
  'public_dns_name',
  'private_dns_name',
  'ip_address',
  'private_ip_address',
  'dns_name',
  'id',
] as const;

export const options = [
  {
    name: 'eucalyptus',
    type: 'bool',
    default: 'False',
    topic: 'Eucalyptus',
    doc: `Talk to a Eucalyptus cloud controller instead of AWS EC2. The endpoint is
EC2_URL when set, else http://<eucalyptus_host>:8773/services/Eucalyptus. With regions = all
the only region is "eucalyptus". RDS is not queried for that region.`,
  },
  {
    name: 'eucalyptus_host',
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
(DescribeRegions) minus regions_exclude. Every named region must exist (checked against
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
    type: 'path',
    required: true,
    example: '~/.ansible/tmp',
    topic: 'Cache',
    doc: `Folder of the cache files ansible-ec2.cache (the inventory) and ansible-ec2.index
(host name to [region, id]). Created when missing; ~ is expanded.`,
  },
  {
    name: 'cache_max_age',
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
its groups (as ec2.py does). Empty: no filter.`,
  },
  {
    name: 'cache_connection',
    type: 'string',
    default: '',
    example: '',
    topic: 'Cache',
    doc: `Where the cache lives. Empty: the two files in cache_path (no server needed). A
redis://[user:password@]host:port/db URL: a Redis shared by several controllers, so that one
refresh serves them all. Either way each configuration has its own entry (a digest of every
setting that changes the output is part of the key).`,
  },
  {
    name: 'cache_stale_on_error',
    type: 'bool',
    default: 'False',
    topic: 'Cache',
    doc: `When a refresh fails, print the previous inventory (with a warning on stderr) and exit 0
instead of failing. Off by default, as ec2.py failed.`,
  },
  {
    name: 'cache_lock_timeout',
    type: 'int',
    default: '120',
    topic: 'Cache',
    doc: `Seconds a run waits for another process's refresh of the same cache before giving up. A
crashed holder's lock expires by itself.`,
  },
  {
    name: 'max_concurrency',
    type: 'int',
    default: '16',
    topic: 'API calls',
    doc: 'API listings (one per region and service) in flight at once during a refresh.',
  },
  {
    name: 'max_attempts',
    type: 'int',
    default: '5',
    topic: 'API calls',
    doc: `Attempts per API call, with the SDK's adaptive retry (backoff, and client-side rate
limiting after throttling) for RequestLimitExceeded/Throttling and 5xx answers.`,
  },
  {
    name: 'libvirt_uris',
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

export type OptionName = (typeof options)[number]['name'];

export const optionByName: ReadonlyMap<string, OptionSpec> = new Map(options.map((o) => [o.name, o]));
