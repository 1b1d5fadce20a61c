// The options the last ec2.py (community.aws, 2019-2020) added to the 2014 script, parsed into
// typed settings. Their defaults come from the option table and reproduce the 2014 output.
import { groupBySwitches, optionByName, type GroupBySwitch, type OptionName, type OptionSpec } from './options.js';
import { readValue, type OptionValue } from './values.js';
import { keyValue } from './keyValue.js';
import { ec2Attributes, rdsAttributes } from '../records/aws.js';

export interface InstanceFilter {
  name: string;
  values: string[];
}

/** Credentials from the ini's [credentials] section; never serialised (see withCredentials). */
export interface StaticCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export type HostnameVariable = { tag: string } | { attribute: string };

export interface DestinationFormat {
  /** The format text. (Not named `source`: the cache digest reduces objects with one to it.) */
  format: string;
  /** Literal text, or the index of a destination_format_tags value. */
  pieces: (string | number)[];
  /** destination_format_tags: tag keys, or instance attributes when the tag is absent. */
  fields: string[];
}

export interface LaterSettings {
  hostnameVariable: HostnameVariable | undefined;
  destinationFormat: DestinationFormat | undefined;
  /** Route53 record name suffix naming EC2 hosts; '' when off. */
  route53Hostnames: string;
  elasticache: boolean;
  /** States add_instance keeps when all_instances is off. */
  instanceStates: string[];
  includeRdsClusters: boolean;
  allElasticacheReplicationGroups: boolean;
  allElasticacheClusters: boolean;
  allElasticacheNodes: boolean;
  replaceDashInGroups: boolean;
  expandCsvTags: boolean;
  groupBy: Readonly<Record<GroupBySwitch, boolean>>;
  extraHostvars: boolean;
  stackFilters: boolean;
  /**
   * The DescribeInstances calls to make, each with its filters (ANDed by AWS; values of one name
   * ORed). Empty: one call without filters.
   */
  instanceFilterCalls: InstanceFilter[][];
  /** The identity, as plain fields so a cache key can tell identities apart. */
  iamRole: string | undefined;
  profile: string | undefined;
  /** Where profile came from, for messages: `--profile`, `AWS_PROFILE` or `boto_profile in FILE:LINE`. */
  profileFrom?: string;
  /** The access key id of the [credentials] section when those credentials are used. */
  credentialsKeyId: string | undefined;
  /** Present (and not enumerable, so JSON and digests of Settings never see it) with [credentials]. */
  readonly credentials?: StaticCredentials;
}

/** What parseSettings lends the later options: reads by the table's types, errors naming option and line. */
export interface Reader {
  spec(name: OptionName): OptionSpec;
  read<N extends OptionName>(name: N): OptionValue<N>;
  fail(spec: OptionSpec, why: string): never;
  /** FILE:LINE of an option (FILE when it is not in the file), for messages. */
  where(name: OptionName): string;
}

export const instanceStateNames = ['pending', 'running', 'shutting-down', 'terminated', 'stopping', 'stopped'];

export interface LaterContext {
  env: NodeJS.ProcessEnv;
  /** --profile / --boto-profile. */
  cliProfile: string | undefined;
  /** instance_filters (or EC2_INSTANCE_FILTERS) grouped by name, the 2014 way. */
  filtersByName: InstanceFilter[];
  filterText: string;
  failFilters: (why: string) => never;
}

export function parseLaterSettings(r: Reader, ctx: LaterContext): LaterSettings {
  const groupBy = Object.fromEntries(groupBySwitches.map((k) => [k, r.read(`group_by_${k}`)])) as Record<GroupBySwitch, boolean>;
  const stackFilters = r.read('stack_filters');
  const profile = ctx.cliProfile || ctx.env['AWS_PROFILE'] || r.read('boto_profile') || undefined;
  const profileFrom = ctx.cliProfile ? '--profile' : ctx.env['AWS_PROFILE'] ? 'AWS_PROFILE' : `boto_profile in ${r.where('boto_profile')}`;
  const settings: LaterSettings = {
    hostnameVariable: hostnameVariable(r),
    destinationFormat: destinationFormat(r),
    route53Hostnames: r.read('route53_hostnames'),
    elasticache: r.read('elasticache'),
    instanceStates: instanceStates(r),
    includeRdsClusters: r.read('include_rds_clusters'),
    allElasticacheReplicationGroups: r.read('all_elasticache_replication_groups'),
    allElasticacheClusters: r.read('all_elasticache_clusters'),
    allElasticacheNodes: r.read('all_elasticache_nodes'),
    replaceDashInGroups: r.read('replace_dash_in_groups'),
    expandCsvTags: r.read('expand_csv_tags'),
    groupBy,
    extraHostvars: r.read('extra_hostvars'),
    stackFilters,
    instanceFilterCalls: filterCalls(ctx, stackFilters),
    iamRole: r.read('iam_role') || undefined,
    profile,
    ...(profile ? { profileFrom } : {}),
    credentialsKeyId: undefined,
  };
  // As the last ec2.py: the ini's keys only when nothing else chose an identity.
  if (!(profile || ctx.env['AWS_ACCESS_KEY_ID'])) {
    const credentials = iniCredentials(r);
    if (credentials) return withCredentials(settings, credentials);
  }
  return settings;
}

/** Attaches credentials out of sight of JSON.stringify, Object.keys and spreads. */
export function withCredentials<T extends LaterSettings>(settings: T, credentials: StaticCredentials): T {
  Object.defineProperty(settings, 'credentials', { value: credentials, enumerable: false });
  settings.credentialsKeyId = credentials.accessKeyId;
  return settings;
}

function iniCredentials(r: Reader): StaticCredentials | undefined {
  const accessKeyId = r.read('aws_access_key_id');
  if (!accessKeyId) return undefined;
  const secretAccessKey = r.read('aws_secret_access_key');
  if (!secretAccessKey) r.fail(r.spec('aws_secret_access_key'), 'is missing: [credentials] has aws_access_key_id without its secret');
  const sessionToken = r.read('aws_security_token');
  return sessionToken ? { accessKeyId, secretAccessKey, sessionToken } : { accessKeyId, secretAccessKey };
}

const attributeNames = new Set([...ec2Attributes, ...rdsAttributes].map(([name]) => name));

function hostnameVariable(r: Reader): HostnameVariable | undefined {
  const v = r.read('hostname_variable');
  if (v === '') return undefined;
  // The later ec2.ini's comment says tag:Name while its code tests tag_Name: both work here.
  const tag = /^tag[_:](.+)$/.exec(v);
  if (tag) return { tag: tag[1] as string };
  if (!attributeNames.has(v)) {
    r.fail(r.spec('hostname_variable'), `must be tag_<key> or an instance attribute (e.g. private_dns_name, id), not '${v}'`);
  }
  return { attribute: v };
}

function destinationFormat(r: Reader): DestinationFormat | undefined {
  const source = r.read('destination_format');
  const fields = r.read('destination_format_tags');
  if (source === '' && fields.length === 0) return undefined;
  if (source === '') r.fail(r.spec('destination_format_tags'), 'is set but destination_format is not');
  if (fields.length === 0) r.fail(r.spec('destination_format'), 'needs destination_format_tags (the values of its fields)');
  const fail = (why: string): never => r.fail(r.spec('destination_format'), `'${source}' ${why}`);
  const pieces: (string | number)[] = [];
  let literal = '';
  let auto = 0;
  let numbering: 'auto' | 'manual' | undefined;
  for (let i = 0; i < source.length;) {
    const c = source[i] as string;
    const next = source[i + 1];
    if ((c === '{' || c === '}') && next === c) {
      literal += c;
      i += 2;
      continue;
    }
    if (c === '}') fail('has a single } (write }} for a literal brace)');
    if (c !== '{') {
      literal += c;
      i += 1;
      continue;
    }
    const close = source.indexOf('}', i);
    if (close === -1) fail('has a { without its }');
    const field = source.slice(i + 1, close);
    let index: number;
    if (field === '') {
      if (numbering === 'manual') fail('mixes {} with numbered fields');
      numbering = 'auto';
      index = auto++;
    } else if (/^\d+$/.test(field)) {
      if (numbering === 'auto') fail('mixes numbered fields with {}');
      numbering = 'manual';
      index = Number(field);
    } else {
      fail(`has the field {${field}}: only {0}, {1}, ... or {} are supported`);
    }
    if (index! >= fields.length) {
      fail(`uses field {${index!}} but destination_format_tags has ${fields.length} value${fields.length === 1 ? '' : 's'}`);
    }
    if (literal) pieces.push(literal);
    literal = '';
    pieces.push(index!);
    i = close + 1;
  }
  if (literal) pieces.push(literal);
  return { format: source, pieces, fields };
}

function instanceStates(r: Reader): string[] {
  const states = r.read('instance_states');
  for (const s of states) {
    if (!instanceStateNames.includes(s)) {
      r.fail(r.spec('instance_states'), `names an unknown state '${s}' (known: ${instanceStateNames.join(', ')})`);
    }
  }
  if (states.length === 0) r.fail(r.spec('instance_states'), 'is empty: name at least one state, or set all_instances = True');
  return states;
}

/**
 * instance_filters split into entries (at commas) and each entry into the Name=Value parts it
 * ANDs. `&` is the later ec2.py's AND only where every `&`-separated part is itself Name=Value
 * (`tag:Env=prod&instance-type=t3.small`); otherwise it is part of a value
 * (`tag:Cost Center=R&D / Ops`), as the 2014 script read it.
 */
export function filterEntries(text: string): string[][] {
  if (text === '') return [];
  return text.split(',').map((entry) => {
    if (!entry.includes('&')) return [entry];
    const parts = entry.split('&');
    return parts.every((part) => keyValue(part.trim()) !== undefined) ? parts : [entry];
  });
}

/**
 * Name=Value items into filters, the values of one name together, names in order of first
 * appearance; `fail` names an item that is not Name=Value. ec2.py split on every '=' and died on a
 * value holding one: the first '=' separates (lib/settings/keyValue.ts).
 */
export function filtersOf(items: readonly string[], fail: (why: string) => never): InstanceFilter[] {
  const byName = new Map<string, string[]>();
  for (const raw of items) {
    const item = raw.trim();
    const pair = keyValue(item);
    if (pair === undefined) fail(`has an entry without Name=Value: '${item}'`);
    const name = pair[0].trim();
    byName.set(name, [...(byName.get(name) ?? []), pair[1].trim()]);
  }
  return [...byName].map(([name, values]) => ({ name, values }));
}

function filterCalls(ctx: LaterContext, stack: boolean): InstanceFilter[][] {
  const entries = filterEntries(ctx.filterText);
  const anded = entries.some((parts) => parts.length > 1);
  if (stack && anded) ctx.failFilters("uses & while stack_filters = True: either AND inside an entry with & or stack every entry, not both");
  if (stack) return ctx.filtersByName.length > 0 ? [ctx.filtersByName] : [];
  // Without & the 2014 grouping stands: one call per filter name, its values ORed.
  if (!anded) return ctx.filtersByName.map((f) => [f]);
  const calls: InstanceFilter[][] = [];
  for (const parts of entries) {
    if (parts.length === 1 && (parts[0] as string).trim() === '') continue;
    calls.push(filtersOf(parts, ctx.failFilters));
  }
  return calls;
}

/**
 * The later options at their table defaults: what a caller of buildInventory or fetchRecords who
 * predates them (or an ini without them) gets, i.e. the 2014 behaviour.
 */
export function laterDefaults(): LaterSettings {
  const spec = (name: OptionName): OptionSpec => {
    const found = optionByName.get(name);
    if (!found) throw new Error(`no option ${name}`);
    return found;
  };
  const fail = (s: OptionSpec, why: string): never => { throw new Error(`option table default of ${s.name} ${why}`); };
  const reader: Reader = {
    spec,
    where: () => 'the option table',
    read: <N extends OptionName>(name: N) => {
      const s = spec(name);
      return readValue(s, s.default ?? '', (why) => fail(s, why), {}) as OptionValue<N>;
    },
    fail,
  };
  return parseLaterSettings(reader, {
    env: {}, cliProfile: undefined, filtersByName: [], filterText: '',
    failFilters: (why) => { throw new Error(`option table default of instance_filters ${why}`); },
  });
}
