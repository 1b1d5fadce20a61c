// The inventory rules of ec2.py, as pure functions: fetched records in, groups and hostvars out.
// Function names are ec2.py's own (add_instance, push_group, to_safe, ...) so that a reader of the
// original finds each rule here; the order of the steps inside each rule is also the original's,
// because it decides which host comes first in a group and which value wins on a collision.
import { laterDefaults } from '../settings/later.js';
import { pythonMatch } from '../settings/pyregex.js';
import { ec2Attributes, OMIT, rdsAttributes, type BotoValue, type EC2Record, type RDSRecord } from '../records/aws.js';
import { ec2Destination, ec2Hostname, get_instance_route53_names, rdsHostname } from './naming.js';
import type { FetchedData, RegionRecords, Route53RecordSet } from '../records/aws.js';
import type { Group, HostVars, HostVarValue, Index, Inventory } from '../records/inventory.js';
import { add_elasticache_cluster, add_elasticache_replication_group } from './elasticache.js';
import { add_rds_clusters } from './rdsClusters.js';
import { groupNameProblem, push, push_group, to_safe } from './groups.js';
import { withAwsEc2Vars } from './awsEc2.js';
import { accountHostname, arnAccount, push_account_groups, set_id_group, withAccountVars } from './accounts.js';
import type { FullRuleSettings, HostVarsStore, HostVarsWalk, RuleSettings, SharedAccounts, State } from './types.js';

export { add_previous_account_hosts } from './accounts.js';

const dict = <T>(): Record<string, T> => Object.create(null) as Record<string, T>;

export function emptyInventory(): Inventory {
  const inventory = dict<Inventory[string]>() as Inventory;
  inventory._meta = { hostvars: dict<HostVars>() };
  return inventory;
}

/** Builds the inventory and the index from one refresh's records (ec2.py's do_api_calls_update_cache). */
export function buildInventory(data: FetchedData, settings: RuleSettings): { inventory: Inventory; index: Index } {
  const state = newState(settings, data);
  for (const region of data.regions) add_region_records(state, region);
  add_rds_clusters_of(state, data.regions);
  return { inventory: state.inventory, index: state.index };
}

/**
 * The rules' state before the first record: what every record's rules need (Route53 names, the
 * account id) and where hostvars go. A refresh that streams pages through the rules keeps hostvars
 * out of the heap by passing its own store; buildInventory keeps them in inventory._meta.
 */
export function newState(
  settings: RuleSettings,
  context: Pick<FetchedData, 'route53' | 'accountId'>,
  hostvars?: (inventory: Inventory) => HostVarsStore,
): State {
  const full = { ...laterDefaults(), ...definedOnly(settings) } as FullRuleSettings;
  const inventory = emptyInventory();
  return {
    inventory,
    index: dict<[string, string]>(),
    hostvars: hostvars ? hostvars(inventory) : memoryHostVars(inventory),
    route53Records: context.route53 ? route53RecordMap(context.route53) : new Map(),
    settings: full,
    accountId: context.accountId,
    safe: (word) => to_safe(word, full.replaceDashInGroups),
    safeName: safeNameCache((prefix, value) => to_safe(prefix + value, full.replaceDashInGroups)),
    safeTagName: safeNameCache((key, value) => to_safe('tag_' + key + '=' + value, full.replaceDashInGroups)),
  };
}

/**
 * With [account NAME] sections: one state per account, sharing the inventory, the index, the
 * hostvars and who holds each host name, each with its account's settings, Route53 names and id.
 */
export function newAccountStates(
  collision: SharedAccounts['collision'],
  accounts: readonly { name: string; id: string | undefined; route53?: Route53RecordSet[]; settings: RuleSettings }[],
  hostvars?: (inventory: Inventory) => HostVarsStore,
): State[] {
  const shared: SharedAccounts = { collision, owners: new Map(), accounts: accounts.map(({ name, id }) => ({ name, id })) };
  let first: State | undefined;
  return accounts.map(({ name, id, route53, settings }, index) => {
    const state = newState(settings, { route53, accountId: undefined }, first ? () => (first as State).hostvars : hostvars);
    const account = { index, name, id, shared };
    if (!first) return (first = { ...state, account });
    return { ...state, inventory: first.inventory, index: first.index, hostvars: first.hostvars, account };
  });
}

/**
 * Applies the rules to (part of) one region's records, in ec2.py's order: instances, DB instances,
 * then the later ec2.py's ElastiCache listings. Pages fed one after another in that order give the
 * same inventory as the whole region at once. DB clusters wait for add_rds_clusters_of.
 */
export function add_region_records(state: State, records: Partial<RegionRecords>): void {
  for (const record of records.instances ?? []) add_instance(state, record);
  for (const record of records.dbInstances ?? []) add_rds_instance(state, record);
  for (const record of records.cacheClusters ?? []) add_elasticache_cluster(state, record);
  for (const record of records.replicationGroups ?? []) add_elasticache_replication_group(state, record);
}

/** include_rds_clusters: every region's clusters, once all regions are in. */
export function add_rds_clusters_of(state: State, regions: readonly Pick<RegionRecords, 'dbClusters'>[]): void {
  if (state.settings.includeRdsClusters) add_rds_clusters(state, regions.flatMap((r) => r.dbClusters ?? []));
}

/** Hostvars kept in inventory._meta.hostvars. */
export function memoryHostVars(inventory: Inventory): HostVarsStore {
  const all = inventory._meta.hostvars;
  return {
    get: (host) => (Object.hasOwn(all, host) ? all[host] : undefined),
    set: (host, vars) => { all[host] = vars; },
    setWalk: (host, walk) => { all[host] = varsObject(walk); },
  };
}

// A caller's `undefined` must not hide a default.
function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * A group name made from a fixed part and a record's value, remembered per (part, value). Most
 * group names repeat across hosts (types, zones, key pairs, security groups, tag values): a
 * remembered name skips the concatenation and to_safe, and is already the string the inventory
 * is keyed by, so the group lookup does not hash and intern a new string either. Values that never
 * repeat (Name tags, ids) would only fill it: each part keeps at most PER_PART values, the whole
 * cache at most TOTAL, and names past that are made as before.
 */
function safeNameCache(make: (part: string, value: string) => string): (part: string, value: string) => string {
  const PER_PART = 1_000;
  const TOTAL = 50_000;
  const byPart = new Map<string, Map<string, string>>();
  let size = 0;
  return (part, value) => {
    let names = byPart.get(part);
    if (names === undefined) {
      names = new Map();
      if (size < TOTAL) byPart.set(part, names);
    }
    let name = names.get(value);
    if (name === undefined) {
      name = make(part, value);
      if (names.size < PER_PART && size < TOTAL) {
        names.set(value, name);
        size++;
      }
    }
    return name;
  };
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
    .filter((g) => groupNameProblem(g) === undefined);
}

/**
 * Adds an EC2 instance to the inventory and index, as long as it is addressable. The later
 * ec2.py's switches and names apply where set; at their defaults every step is the 2014 one (the
 * later ec2.py also changed nesting and empty-tag names: those changes are not taken, see docs/compat.md).
 */
export function add_instance(state: State, record: EC2Record): void {
  const { inventory, settings, safe, safeName } = state;
  const g = settings.groupBy;
  const instance = record.instance;
  const region = record.region;
  if (!settings.allInstances && !settings.instanceStates.includes(instance.State?.Name ?? '')) return;

  const dest = ec2Destination(record, settings);
  if (!dest) return; // not addressable, e.g. a private VPC subnet
  let hostname = ec2Hostname(state, record, dest);

  if (settings.patternInclude && !pythonMatch(settings.patternInclude.regex, hostname)) return;
  if (settings.patternExclude && pythonMatch(settings.patternExclude.regex, hostname)) return;

  const id = instance.InstanceId as string;
  if (state.account) hostname = accountHostname(state, hostname, id);
  push_placement_groups(state, hostname, region, id, instance.Placement?.AvailabilityZone ?? '');

  if (g.ami_id) {
    const ami = safeName('', instance.ImageId ?? '');
    push(inventory, ami, hostname);
    if (settings.nestedGroups) push_group(inventory, 'images', ami);
  }

  if (g.instance_type) {
    const typeName = safeName('type_', instance.InstanceType ?? '');
    push(inventory, typeName, hostname);
    if (settings.nestedGroups) push_group(inventory, 'types', typeName);
  }

  if (g.instance_state) {
    const stateName = safeName('instance_state_', instance.State?.Name ?? '');
    push(inventory, stateName, hostname);
    if (settings.nestedGroups) push_group(inventory, 'instance_states', stateName);
  }

  if (g.platform) {
    const platform = safeName('platform_', instance.Platform || 'undefined');
    push(inventory, platform, hostname);
    if (settings.nestedGroups) push_group(inventory, 'platforms', platform);
  }

  if (g.key_pair && instance.KeyName) {
    const keyName = safeName('key_', instance.KeyName);
    push(inventory, keyName, hostname);
    if (settings.nestedGroups) push_group(inventory, 'keys', keyName);
  }

  if (g.vpc_id && instance.VpcId) push(inventory, safeName('vpc_id_', instance.VpcId), hostname);

  if (g.security_group) {
    for (const group of instance.SecurityGroups ?? []) {
      const key = safeName('security_group_', group.GroupName ?? '');
      push(inventory, key, hostname);
      if (settings.nestedGroups) push_group(inventory, 'security_groups', key);
    }
  }

  if (g.aws_account && state.accountId) {
    push(inventory, state.accountId, hostname);
    if (settings.nestedGroups) push_group(inventory, 'accounts', state.accountId);
  }

  const tags = instance.Tags ?? [];
  if (g.tag_keys) {
    for (const tag of tags) {
      const k = tag.Key ?? '';
      // 2014 names: tag_<key>=<value> even for an empty value (the later ec2.py wrote tag_<key>).
      for (const v of tagValues(tag.Value ?? '', settings.expandCsvTags)) {
        const key = state.safeTagName(k, v);
        push(inventory, key, hostname);
        if (settings.nestedGroups) {
          push_group(inventory, 'tags', safe('tag_' + k));
          push_group(inventory, safe('tag_' + k), key);
        }
      }
    }
  }

  // Not in ec2.py: instances started by `ec2-provision launch ec2` carry the inventory groups they
  // were launched into, so they land there even where the registry entry is missing (another
  // controller, a lost cache folder). The registry merge adds nobody twice.
  const requested = tags.find((t) => t.Key === LAUNCH_GROUPS_TAG)?.Value;
  for (const group of requested ? requestedGroups(requested) : []) {
    const existing = inventory[group] as Group | undefined;
    const members = existing === undefined ? [] : Array.isArray(existing) ? existing : existing.hosts ?? [];
    if (!members.includes(hostname)) push(inventory, group, hostname);
  }

  if (settings.route53 && g.route53_names) {
    // Record names become groups as they are, without to_safe: ec2.py's behaviour, kept.
    for (const name of get_instance_route53_names(state.route53Records, record)) {
      push(inventory, name, hostname);
      if (settings.nestedGroups) push_group(inventory, 'route53', name);
    }
  }

  if (g.tag_none && tags.length === 0) push(inventory, 'tag_none', hostname);
  push(inventory, 'ec2', hostname);
  push_account_groups(state, hostname, record.ownerId);

  const ec2py = host_info_from_instance(record, state);
  const vars = withAccountVars(state, record.ownerId, settings.awsEc2Hostvars ? withAwsEc2Vars(record, ec2py) : ec2py);
  state.hostvars.setWalk(hostname, hostname === dest ? vars : withAnsibleHost(vars, dest));
}

/** A tag value, or its comma-separated parts with expand_csv_tags. */
function tagValues(value: string, expandCsv: boolean): string[] {
  return expandCsv && value.includes(',') ? value.split(',').map((x) => x.trim()) : [value];
}

/** Adds an RDS instance to the inventory and index, as long as it is addressable. */
export function add_rds_instance(state: State, record: RDSRecord): void {
  const { inventory, settings, safe } = state;
  const g = settings.groupBy;
  const instance = record.instance;
  const region = record.region;
  if (!settings.allRdsInstances && instance.DBInstanceStatus !== 'available') return;

  // ec2.py reads endpoint[0] and dies on an instance still being created (no endpoint yet).
  const dest = instance.Endpoint?.Address;
  if (!dest) return;
  const id = instance.DBInstanceIdentifier as string;
  const named = rdsHostname(state, record, dest);
  const hostname = state.account ? accountHostname(state, named, id) : named;
  push_placement_groups(state, hostname, region, id, instance.AvailabilityZone ?? '');

  if (g.instance_type) {
    const typeName = safe('type_' + (instance.DBInstanceClass ?? ''));
    push(inventory, typeName, hostname);
    if (settings.nestedGroups) push_group(inventory, 'types', typeName);
  }

  // boto 2's security_group is the last classic DB security group.
  const securityGroup = instance.DBSecurityGroups?.at(-1);
  if (g.security_group && securityGroup) {
    const key = safe('security_group_' + (securityGroup.DBSecurityGroupName ?? ''));
    push(inventory, key, hostname);
    if (settings.nestedGroups) push_group(inventory, 'security_groups', key);
  }

  if (g.rds_engine) {
    const engine = safe('rds_' + (instance.Engine ?? ''));
    push(inventory, engine, hostname);
    if (settings.nestedGroups) push_group(inventory, 'rds_engines', engine);
  }

  // ec2.py dies on an instance without a parameter group; such an instance just gets no group here.
  const parameterGroup = instance.DBParameterGroups?.at(-1);
  if (g.rds_parameter_group && parameterGroup) {
    const key = safe('rds_parameter_group_' + (parameterGroup.DBParameterGroupName ?? ''));
    push(inventory, key, hostname);
    if (settings.nestedGroups) push_group(inventory, 'rds_parameter_groups', key);
  }

  push(inventory, 'rds', hostname);
  const owner = arnAccount(instance.DBInstanceArn);
  push_account_groups(state, hostname, owner);

  const vars = withAccountVars(state, owner, host_info_from_rds_instance(record));
  state.hostvars.setWalk(hostname, hostname === dest ? vars : withAnsibleHost(vars, dest));
}

/**
 * The steps add_instance and add_rds_instance share (ec2.py repeats them in both): the index, the
 * instance-id group, the region and the availability zone.
 */
function push_placement_groups(state: State, hostname: string, region: string, id: string, zone: string): void {
  const { inventory, settings } = state;
  const g = settings.groupBy;
  state.index[hostname] = [region, id];

  if (g.instance_id) {
    set_id_group(state, id, hostname);
    if (settings.nestedGroups) push_group(inventory, 'instances', id);
  }

  // 2014: with nested_groups the host is not in its region group, only in its zone.
  if (g.region) {
    if (settings.nestedGroups) push_group(inventory, 'regions', region);
    else push(inventory, region, hostname);
  }

  if (g.availability_zone) {
    push(inventory, zone, hostname);
    if (settings.nestedGroups && g.region) push_group(inventory, region, zone);
  }
}

/** ec2.py get_host_info_dict_from_instance for an EC2 instance. */
export function get_host_info_dict_from_instance(record: EC2Record, state?: Pick<State, 'settings' | 'accountId'>): HostVars {
  return varsObject(host_info_from_instance(record, state));
}

/** get_host_info_dict_from_instance as a walk. */
export function host_info_from_instance(record: EC2Record, state?: Pick<State, 'settings' | 'accountId'>): HostVarsWalk {
  const replaceDash = state?.settings.replaceDashInGroups ?? false;
  const expandCsv = state?.settings.expandCsvTags ?? false;
  const instance = record.instance;
  // Tag variables, sorted (stably: of two tags with the same safe name the later one wins, as in ec2.py).
  const tags: [string, HostVarValue][] = [];
  for (const tag of instance.Tags ?? []) {
    const value = tag.Value ?? '';
    const values = tagValues(value, expandCsv);
    tags.push([tagVarName(tag.Key ?? '', replaceDash), value.includes(',') && values.length > 1 ? values : value]);
  }
  if (tags.length > 1) tags.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const fixed = state?.settings.extraHostvars ? ec2FixedWithExtra : ec2Fixed;
  // Both lists are sorted: merging them gives the variables in key order without sorting them.
  return (visit) => {
    const tag = (t: number) => {
      const [name, value] = tags[t] as [string, HostVarValue];
      if (t + 1 >= tags.length || (tags[t + 1] as [string, HostVarValue])[0] !== name) visit(name, value);
    };
    let t = 0;
    for (let i = 0; i < fixed.length; i++) {
      const [name, get, raw] = fixed[i] as FixedVar<EC2Record>;
      for (; t < tags.length && (tags[t] as [string, HostVarValue])[0] < name; t++) tag(t);
      const value = get(record, state);
      if (raw) visit(name, value as HostVarValue);
      else if (value !== OMIT) visit(name, botoValue(value as Exclude<BotoValue, typeof OMIT>));
    }
    for (; t < tags.length; t++) tag(t);
  };
}

// Tag keys are few and repeat on every host: their variable names are made once.
const tagVarNames = [safeNameCache((_, key) => to_safe('ec2_tag_' + key)), safeNameCache((_, key) => to_safe('ec2_tag_' + key, true))] as const;
const tagVarName = (key: string, replaceDash: boolean) => tagVarNames[replaceDash ? 1 : 0]('', key);

/** The object of a walk (its names all start with ec2_ or ansible_, so none is special to an object). */
export function varsObject(walk: HostVarsWalk): HostVars {
  const vars: HostVars = {};
  walk((name, value) => { vars[name] = value; });
  return vars;
}

/** A variable's name and value; `raw` ones are set as they are, the boto 2 attributes through botoValue. */
type FixedVar<R> = readonly [name: string, get: (r: R, state?: Pick<State, 'settings' | 'accountId'>) => BotoValue | HostVarValue, raw?: boolean];

/** The variables every EC2 host has (tags aside), sorted by name once rather than per host. */
function ec2FixedVars(extra: boolean): readonly FixedVar<EC2Record>[] {
  const vars: FixedVar<EC2Record>[] = ec2Attributes.map(([, get], i) => [ec2VarNames[i] as string, get] as const);
  vars.push(
    ['ec2_state', (r) => r.instance.State?.Name ?? '', true],
    ['ec2_state_code', (r) => r.instance.State?.Code ?? 0, true],
    // DescribeInstances has no previousState; boto 2 answers None and 0.
    ['ec2_previous_state', () => '', true],
    ['ec2_previous_state_code', () => 0, true],
    ['ec2_security_group_ids', (r) => (r.instance.SecurityGroups ?? []).map((g) => g.GroupId ?? '').join(','), true],
    ['ec2_security_group_names', (r) => (r.instance.SecurityGroups ?? []).map((g) => g.GroupName ?? '').join(','), true],
  );
  if (extra) {
    // The later ec2.py: device name (basename) → EBS volume id, and the account id (None unknown).
    vars.push(
      ['ec2_block_devices', (r) => {
        const devices = dict<string>();
        for (const m of r.instance.BlockDeviceMappings ?? []) {
          if (m.DeviceName && m.Ebs?.VolumeId) devices[m.DeviceName.slice(m.DeviceName.lastIndexOf('/') + 1)] = m.Ebs.VolumeId;
        }
        return devices;
      }, true],
      ['ec2_account_id', (_r, state) => state?.accountId ?? null, true],
    );
  }
  return vars.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Hostvars with ansible_host (when the inventory name is not the address), still in key order. */
function withAnsibleHost(walk: HostVarsWalk, dest: string): HostVarsWalk {
  // EC2 and RDS variable names all start with ec2_, after ansible_host.
  return (visit) => {
    visit('ansible_host', dest);
    walk(visit);
  };
}

/** ec2.py get_host_info_dict_from_instance applied to a boto 2 DBInstance. */
export function get_host_info_dict_from_rds_instance(record: RDSRecord): HostVars {
  return varsObject(host_info_from_rds_instance(record));
}

/** get_host_info_dict_from_rds_instance as a walk. */
export function host_info_from_rds_instance(record: RDSRecord): HostVarsWalk {
  return (visit) => {
    for (const [name, get] of rdsFixed) {
      const value = get(record);
      if (value !== OMIT) visit(name, botoValue(value as Exclude<BotoValue, typeof OMIT>));
    }
  };
}

// ec2.py's type rules: numbers and booleans as they are, strings stripped, None as ''.
function botoValue(value: Exclude<BotoValue, typeof OMIT>): HostVarValue {
  if (value === null || value === undefined) return '';
  return typeof value === 'string' ? pyStrip(value) : value;
}

// Python's str.strip() removes Unicode whitespace, which JS trim() nearly matches; the
// difference (\u001c-\u001f) matters for values boto 2 read from XML.
const edgeSpace = /[\s\u001c-\u001f\u0085]/;
// Printable ASCII is never whitespace: the common case, decided without a regular expression.
const plainEdge = (unit: number) => unit > 0x20 && unit < 0x7f;
function pyStrip(s: string): string {
  if (s.length === 0 || (plainEdge(s.charCodeAt(0)) && plainEdge(s.charCodeAt(s.length - 1)))) return s;
  if (!edgeSpace.test(s[0] as string) && !edgeSpace.test(s[s.length - 1] as string)) return s;
  return s.replace(/^[\s\u001c-\u001f\u0085]+|[\s\u001c-\u001f\u0085]+$/g, '');
}

// Hostvar names of the attribute tables, computed once rather than per host.
const ec2VarNames = ec2Attributes.map(([name]) => to_safe('ec2_' + name));
const rdsVarNames = rdsAttributes.map(([name]) => to_safe('ec2_' + name));
const ec2Fixed = ec2FixedVars(false);
const ec2FixedWithExtra = ec2FixedVars(true);
const rdsFixed: readonly FixedVar<RDSRecord>[] = rdsAttributes
  .map(([, get], i) => [rdsVarNames[i] as string, get] as const)
  .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
