// The inventory rules of ec2.py, as pure functions: fetched records in, groups and hostvars out.
// Function names are ec2.py's own (add_instance, push_group, to_safe, ...) so that a reader of the
// original finds each rule here; the order of the steps inside each rule is also the original's,
// because it decides which host comes first in a group and which value wins on a collision.
import type { Settings } from '../settings/read.js';
import { pythonMatch } from '../settings/pyregex.js';
import { ec2Attribute, ec2Attributes, OMIT, rdsAttributes, type BotoValue, type EC2Record, type RDSRecord } from './hostvars.js';

export type HostVars = Record<string, string | number | boolean>;

/** A group is a host list, or (with nested_groups) an object with hosts and child group names. */
export type Group = string[] | { hosts?: string[]; children?: string[] };

export interface Inventory {
  _meta: { hostvars: Record<string, HostVars> };
  [group: string]: Group | { hostvars: Record<string, HostVars> };
}

/** Host name to [region, instance or DB identifier]: ec2.py's ansible-ec2.index. */
export type Index = Record<string, [region: string, id: string]>;

export interface Route53RecordSet {
  /** Record name without the trailing dot, as ec2.py strips it. */
  name: string;
  /** The resource record values: addresses for A, host names for CNAME. */
  values: string[];
}

export interface RegionRecords {
  region: string;
  /** In API order; an instance returned by two filter calls appears twice, as in ec2.py. */
  instances: EC2Record[];
  dbInstances: RDSRecord[];
}

/** Everything one refresh fetched, in the order ec2.py walks it. */
export interface FetchedData {
  /** undefined when route53 is off. */
  route53: Route53RecordSet[] | undefined;
  regions: RegionRecords[];
}

export type RuleSettings = Pick<
  Settings,
  | 'allInstances' | 'allRdsInstances' | 'destinationVariable' | 'vpcDestinationVariable'
  | 'patternInclude' | 'patternExclude' | 'nestedGroups' | 'route53'
>;

const dict = <T>(): Record<string, T> => Object.create(null) as Record<string, T>;

export function emptyInventory(): Inventory {
  const inventory = dict<Inventory[string]>() as Inventory;
  inventory._meta = { hostvars: dict<HostVars>() };
  return inventory;
}

/** Builds the inventory and the index from one refresh's records (ec2.py's do_api_calls_update_cache). */
export function buildInventory(data: FetchedData, settings: RuleSettings): { inventory: Inventory; index: Index } {
  const state: State = {
    inventory: emptyInventory(),
    index: dict<[string, string]>(),
    route53Records: data.route53 ? route53RecordMap(data.route53) : new Map(),
    settings,
  };
  for (const region of data.regions) {
    for (const record of region.instances) add_instance(state, record);
    for (const record of region.dbInstances) add_rds_instance(state, record);
  }
  return { inventory: state.inventory, index: state.index };
}

interface State {
  inventory: Inventory;
  index: Index;
  route53Records: Map<string, Set<string>>;
  settings: RuleSettings;
}

/** ec2.py get_route53_records, after the fetch: resource record value → record names. */
export function route53RecordMap(recordSets: Route53RecordSet[]): Map<string, Set<string>> {
  const map = new Map<string, Set<string>>();
  for (const set of recordSets) {
    for (const value of set.values) {
      let names = map.get(value);
      if (!names) map.set(value, (names = new Set()));
      names.add(set.name);
    }
  }
  return map;
}

/** The tag in which launched instances record their requested inventory groups (`web,db`). */
export const LAUNCH_GROUPS_TAG = 'ec2-inventory:groups';

/** Group names from that tag's value; names a user could not have asked for are ignored. */
export function requestedGroups(value: string): string[] {
  return [...new Set(value.split(',').map((g) => g.trim()))]
    .filter((g) => /^[A-Za-z0-9_-]+$/.test(g) && g !== '_meta' && g !== 'all' && g !== 'ungrouped');
}

/** Adds an EC2 instance to the inventory and index, as long as it is addressable. */
export function add_instance(state: State, record: EC2Record): void {
  const { inventory, settings } = state;
  const instance = record.instance;
  const region = record.region;
  if (!settings.allInstances && instance.State?.Name !== 'running') return;

  const variable = instance.SubnetId ? settings.vpcDestinationVariable : settings.destinationVariable;
  const destValue = ec2Attribute(record, variable);
  if (typeof destValue !== 'string' || destValue === '') return; // not addressable, e.g. a private VPC subnet
  const dest = destValue;

  if (settings.patternInclude && !pythonMatch(settings.patternInclude.regex, dest)) return;
  if (settings.patternExclude && pythonMatch(settings.patternExclude.regex, dest)) return;

  const id = instance.InstanceId as string;
  state.index[dest] = [region, id];

  inventory[id] = [dest];
  if (settings.nestedGroups) push_group(inventory, 'instances', id);

  if (settings.nestedGroups) push_group(inventory, 'regions', region);
  else push(inventory, region, dest);

  const zone = instance.Placement?.AvailabilityZone ?? '';
  push(inventory, zone, dest);
  if (settings.nestedGroups) push_group(inventory, region, zone);

  const typeName = to_safe('type_' + (instance.InstanceType ?? ''));
  push(inventory, typeName, dest);
  if (settings.nestedGroups) push_group(inventory, 'types', typeName);

  if (instance.KeyName) {
    const keyName = to_safe('key_' + instance.KeyName);
    push(inventory, keyName, dest);
    if (settings.nestedGroups) push_group(inventory, 'keys', keyName);
  }

  if (instance.VpcId) push(inventory, to_safe('vpc_id_' + instance.VpcId), dest);

  for (const group of instance.SecurityGroups ?? []) {
    const key = to_safe('security_group_' + (group.GroupName ?? ''));
    push(inventory, key, dest);
    if (settings.nestedGroups) push_group(inventory, 'security_groups', key);
  }

  const tags = instance.Tags ?? [];
  for (const tag of tags) {
    const k = tag.Key ?? '';
    const key = to_safe('tag_' + k + '=' + (tag.Value ?? ''));
    push(inventory, key, dest);
    if (settings.nestedGroups) {
      push_group(inventory, 'tags', to_safe('tag_' + k));
      push_group(inventory, to_safe('tag_' + k), key);
    }
  }

  // Not in ec2.py: instances started by `ec2-provision launch ec2` carry the inventory groups they
  // were launched into, so they land there even where the registry entry is missing (another
  // controller, a lost cache folder). The registry merge adds nobody twice.
  const requested = tags.find((t) => t.Key === LAUNCH_GROUPS_TAG)?.Value;
  for (const group of requested ? requestedGroups(requested) : []) {
    const existing = inventory[group] as Group | undefined;
    const members = existing === undefined ? [] : Array.isArray(existing) ? existing : existing.hosts ?? [];
    if (!members.includes(dest)) push(inventory, group, dest);
  }

  if (settings.route53) {
    // Record names become groups as they are, without to_safe: ec2.py's behaviour, kept.
    for (const name of get_instance_route53_names(state.route53Records, record)) {
      push(inventory, name, dest);
      if (settings.nestedGroups) push_group(inventory, 'route53', name);
    }
  }

  if (tags.length === 0) push(inventory, 'tag_none', dest);
  push(inventory, 'ec2', dest);

  inventory._meta.hostvars[dest] = get_host_info_dict_from_instance(record);
}

/** Adds an RDS instance to the inventory and index, as long as it is addressable. */
export function add_rds_instance(state: State, record: RDSRecord): void {
  const { inventory, settings } = state;
  const instance = record.instance;
  const region = record.region;
  if (!settings.allRdsInstances && instance.DBInstanceStatus !== 'available') return;

  // ec2.py reads endpoint[0] and dies on an instance still being created (no endpoint yet).
  const dest = instance.Endpoint?.Address;
  if (!dest) return;

  const id = instance.DBInstanceIdentifier as string;
  state.index[dest] = [region, id];

  inventory[id] = [dest];
  if (settings.nestedGroups) push_group(inventory, 'instances', id);

  if (settings.nestedGroups) push_group(inventory, 'regions', region);
  else push(inventory, region, dest);

  const zone = instance.AvailabilityZone ?? '';
  push(inventory, zone, dest);
  if (settings.nestedGroups) push_group(inventory, region, zone);

  const typeName = to_safe('type_' + (instance.DBInstanceClass ?? ''));
  push(inventory, typeName, dest);
  if (settings.nestedGroups) push_group(inventory, 'types', typeName);

  // boto 2's security_group is the last classic DB security group.
  const securityGroup = instance.DBSecurityGroups?.at(-1);
  if (securityGroup) {
    const key = to_safe('security_group_' + (securityGroup.DBSecurityGroupName ?? ''));
    push(inventory, key, dest);
    if (settings.nestedGroups) push_group(inventory, 'security_groups', key);
  }

  const engine = to_safe('rds_' + (instance.Engine ?? ''));
  push(inventory, engine, dest);
  if (settings.nestedGroups) push_group(inventory, 'rds_engines', engine);

  // ec2.py dies on an instance without a parameter group; such an instance just gets no group here.
  const parameterGroup = instance.DBParameterGroups?.at(-1);
  if (parameterGroup) {
    const key = to_safe('rds_parameter_group_' + (parameterGroup.DBParameterGroupName ?? ''));
    push(inventory, key, dest);
    if (settings.nestedGroups) push_group(inventory, 'rds_parameter_groups', key);
  }

  push(inventory, 'rds', dest);

  inventory._meta.hostvars[dest] = get_host_info_dict_from_rds_instance(record);
}

/** The Route53 names pointing at an instance, through its DNS names or addresses. */
export function get_instance_route53_names(route53Records: Map<string, Set<string>>, record: EC2Record): string[] {
  const names = new Set<string>();
  for (const attrib of ['public_dns_name', 'private_dns_name', 'ip_address', 'private_ip_address']) {
    const value = ec2Attribute(record, attrib);
    if (typeof value !== 'string') continue;
    for (const name of route53Records.get(value) ?? []) names.add(name);
  }
  return [...names];
}

/** ec2.py get_host_info_dict_from_instance for an EC2 instance. */
export function get_host_info_dict_from_instance(record: EC2Record): HostVars {
  const vars = dict<string | number | boolean>();
  for (let i = 0; i < ec2Attributes.length; i++) setVar(vars, ec2VarNames[i] as string, (ec2Attributes[i] as (typeof ec2Attributes)[number])[1](record));
  const instance = record.instance;
  vars['ec2_state'] = instance.State?.Name ?? '';
  vars['ec2_state_code'] = instance.State?.Code ?? 0;
  // DescribeInstances has no previousState; boto 2 answers None and 0.
  vars['ec2_previous_state'] = '';
  vars['ec2_previous_state_code'] = 0;
  for (const tag of instance.Tags ?? []) {
    vars[to_safe('ec2_tag_' + (tag.Key ?? ''))] = tag.Value ?? '';
  }
  const groups = instance.SecurityGroups ?? [];
  vars['ec2_security_group_ids'] = groups.map((g) => g.GroupId ?? '').join(',');
  vars['ec2_security_group_names'] = groups.map((g) => g.GroupName ?? '').join(',');
  return inKeyOrder(vars);
}

// Hostvars are written sorted; building them in that order lets the serialiser use them as they are.
function inKeyOrder(vars: HostVars): HostVars {
  const sorted = dict<string | number | boolean>();
  for (const key of Object.keys(vars).sort()) sorted[key] = vars[key] as string | number | boolean;
  return sorted;
}

/** ec2.py get_host_info_dict_from_instance applied to a boto 2 DBInstance. */
export function get_host_info_dict_from_rds_instance(record: RDSRecord): HostVars {
  const vars = dict<string | number | boolean>();
  for (let i = 0; i < rdsAttributes.length; i++) setVar(vars, rdsVarNames[i] as string, (rdsAttributes[i] as (typeof rdsAttributes)[number])[1](record));
  return inKeyOrder(vars);
}

// ec2.py's type rules: numbers and booleans as they are, strings stripped, None as ''.
function setVar(vars: HostVars, key: string, value: BotoValue): void {
  if (value === OMIT) return;
  if (value === null || value === undefined) vars[key] = '';
  else if (typeof value === 'string') vars[key] = pyStrip(value);
  else vars[key] = value;
}

// Python's str.strip() removes Unicode whitespace, which JS trim() nearly matches; the
// difference (\u001c-\u001f) matters for values boto 2 read from XML.
const edgeSpace = /[\s\u001c-\u001f\u0085]/;
function pyStrip(s: string): string {
  if (s.length === 0 || (!edgeSpace.test(s[0] as string) && !edgeSpace.test(s[s.length - 1] as string))) return s;
  return s.replace(/^[\s\u001c-\u001f\u0085]+|[\s\u001c-\u001f\u0085]+$/g, '');
}

/** Pushes a host onto a group that may not exist yet, or onto the hosts of a nested group. */
export function push(inventory: Inventory, key: string, element: string): void {
  const group = (inventory[key] ??= []) as Group;
  if (Array.isArray(group)) group.push(element);
  else (group.hosts ??= []).push(element);
}

/** Makes a group a child of another group, turning a plain host list into {hosts, children}. */
export function push_group(inventory: Inventory, key: string, element: string): void {
  let parent = (inventory[key] ??= {}) as Group;
  if (Array.isArray(parent)) parent = inventory[key] = { hosts: parent };
  const children = (parent.children ??= []);
  if (!children.includes(element)) children.push(element);
}

/** Converts characters that are not allowed in Ansible group names to underscores. */
export function to_safe(word: string): string {
  if (safeWord.test(word)) return word;
  // Per code point, as Python's re.sub on a unicode string.
  return word.replace(/[^A-Za-z0-9-]/gu, '_');
}
const safeWord = /^[A-Za-z0-9-]*$/;

// Hostvar names of the attribute tables, computed once rather than per host.
const ec2VarNames = ec2Attributes.map(([name]) => to_safe('ec2_' + name));
const rdsVarNames = rdsAttributes.map(([name]) => to_safe('ec2_' + name));
