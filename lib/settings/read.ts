// ec2.ini in, typed Settings out. Every check names the file, the option and its line, because the
// person reading the error is editing that file.
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { SettingsError } from '../errors.js';
import { optionByName, options, type OptionName, type OptionSpec } from './options.js';
import { readValue, type OptionValue, type Pattern } from './values.js';
import { IniError, IniFile } from './configparser.js';
import { filterEntries, filtersOf, parseLaterSettings, withCredentials, type InstanceFilter, type LaterSettings } from './later.js';
import { rememberIniRead } from './readKey.js';
import { iniPathOf } from './paths.js';
import { unknownOptionWarnings } from './unknown.js';
import { readAccounts, roleOptions, type AccountIdentity, type IniView } from './accounts.js';

export type { InstanceFilter } from './later.js';
export type { Pattern } from './values.js';
export type { AccountIdentity } from './accounts.js';

export interface Settings extends LaterSettings {
  /** The ec2.ini these settings were read from. */
  iniPath: string;
  eucalyptus: boolean;
  eucalyptusHost: string | undefined;
  /** Region names, or 'all' to ask DescribeRegions ('auto' is resolved from the environment). */
  regions: string[] | 'all';
  regionsExclude: string[];
  destinationVariable: string;
  vpcDestinationVariable: string;
  route53: boolean;
  route53ExcludedZones: string[];
  rds: boolean;
  allInstances: boolean;
  /** Already false when rds is off, as in ec2.py. */
  allRdsInstances: boolean;
  cachePath: string;
  cacheMaxAge: number;
  nestedGroups: boolean;
  patternInclude: Pattern | undefined;
  patternExclude: Pattern | undefined;
  /**
   * The names and values of instance_filters (or EC2_INSTANCE_FILTERS) in the order of first
   * appearance; instanceFilterCalls says which calls are made with them.
   */
  instanceFilters: InstanceFilter[];
  /** '' for the file store in cachePath, else a redis:// URL. */
  cacheConnection: string;
  cacheStaleOnError: boolean;
  cacheLockTimeout: number;
  registryLockTimeout: number;
  maxConcurrency: number;
  maxAttempts: number;
  /** Seconds to open a connection, per attempt of an API call (at least 1). */
  connectTimeout: number;
  /** Seconds one attempt of an API call may take, answer included (at least 1). */
  requestTimeout: number;
  /** Seconds a whole refresh may take; 0 for no deadline. */
  refreshTimeout: number;
  /** libvirt URIs listed on a refresh; empty for none. */
  libvirtUris: string[];
  /** external_id and role_session_name of iam_role; absent: none, and ansible_dynamic_inventory. */
  externalId?: string;
  roleSessionName?: string;
  /**
   * The [account NAME] sections (lib/settings/accounts.ts): when there is one, these accounts are
   * listed instead of the identity above, each with these settings where it does not say otherwise.
   */
  accounts?: AccountSettings[];
  accountCollision?: 'rename' | 'error';
  accountErrors?: 'fail' | 'warn';
  /** One line per option ec2.py would ignore (file, line, name, nearest known name); not errors. */
  warnings?: readonly string[];
}

/** Settings that hold for the whole inventory: options of scope 'inventory', and the file itself. */
type InventoryKey =
  | 'iniPath' | 'eucalyptus' | 'eucalyptusHost' | 'cachePath' | 'cacheMaxAge' | 'cacheConnection' | 'cacheStaleOnError'
  | 'cacheLockTimeout' | 'registryLockTimeout' | 'maxConcurrency' | 'maxAttempts' | 'connectTimeout' | 'requestTimeout'
  | 'refreshTimeout' | 'libvirtUris' | 'accountCollision' | 'accountErrors' | 'accounts' | 'warnings';
type IdentityKey = 'iamRole' | 'profile' | 'credentialsKeyId' | 'credentials' | 'externalId' | 'roleSessionName';

/** One [account NAME] section: who it calls AWS as, and the settings in which it differs from [ec2]. */
export type AccountSettings = AccountIdentity & Partial<Omit<Settings, InventoryKey | IdentityKey>>;

/** Where ec2.py looks for its ini (lib/settings/paths.ts, the rule the cached --list follows too). */
export function defaultIniPath(executable: string, env: NodeJS.ProcessEnv = process.env): string {
  return iniPathOf(executable, env, realpathSync, path);
}

/**
 * The settings of the ini ec2.py would read for `executable` (defaultIniPath); when there is none,
 * the error says how that ini is found.
 */
export function readDefaultSettings(executable: string, env: NodeJS.ProcessEnv = process.env, overrides: SettingsOverrides = {}): Settings {
  const iniPath = defaultIniPath(executable, env);
  if (!existsSync(iniPath)) throw new SettingsError(`cannot read ${iniPath}: file not found (set EC2_INI_PATH or put ec2.ini beside the executable)`, iniPath);
  return readSettings(iniPath, env, overrides);
}

/** What the command line adds to the ini. */
export interface SettingsOverrides {
  /** --profile / --boto-profile: wins over AWS_PROFILE and boto_profile. */
  profile?: string;
}

/** Reads and validates an ec2.ini file. Throws SettingsError naming the file, option and line. */
export function readSettings(iniPath: string, env: NodeJS.ProcessEnv = process.env, overrides: SettingsOverrides = {}): Settings {
  let bytes: Buffer;
  try {
    bytes = readFileSync(iniPath);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (err as Error).message;
    throw new SettingsError(`cannot read ${iniPath}: ${reason}`, iniPath);
  }
  let text: string;
  try {
    // Python reads it in the locale's encoding, UTF-8 wherever ec2.py runs today; undecodable
    // bytes stopped it with UnicodeDecodeError.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new SettingsError(`${iniPath}: is not UTF-8 text`, iniPath);
  }
  const settings = parseSettings(text, iniPath, env, overrides);
  // The very bytes parsed, so that a cached --list can later prove it would parse the same settings.
  rememberIniRead(settings, iniPath, bytes, env, overrides.profile);
  return settings;
}

/** Parses ec2.ini text; `iniPath` is used in messages and as the base of nothing else. */
export function parseSettings(
  text: string, iniPath: string, env: NodeJS.ProcessEnv = process.env, overrides: SettingsOverrides = {},
): Settings {
  const ini = readIni(text, iniPath);
  const settings = settingsFrom(ini, iniPath, env, overrides);
  settings.warnings = unknownOptionWarnings(ini, iniPath);
  const accounts: AccountSettings[] = readAccounts(ini, iniPath, settings, (view) => settingsFrom(view, iniPath, env, overrides));
  if (accounts.length > 0) settings.accounts = accounts;
  return settings;
}

/** The settings of [ec2] (or of an account section seen through [ec2], lib/settings/accounts.ts). */
function settingsFrom(ini: IniView, iniPath: string, env: NodeJS.ProcessEnv, overrides: SettingsOverrides): Settings {
  const where = (name: OptionName): string => {
    const line = ini.line(spec(name).section ?? 'ec2', name);
    return line ? `${iniPath}:${line}` : iniPath;
  };
  const fail = (spec: OptionSpec, why: string): never => {
    const section = spec.section ?? 'ec2';
    const line = ini.line(section, spec.name);
    const where = line ? `${iniPath}:${line}` : iniPath;
    throw new SettingsError(`${where}: [${ini.sectionOf?.(section, spec.name) ?? section}] option '${spec.name}' ${why}`, iniPath, spec.name, line);
  };
  const textOf = (spec: OptionSpec): string => {
    const section = spec.section ?? 'ec2';
    if (!ini.hasOption(section, spec.name)) {
      if (spec.required) {
        throw new SettingsError(`${iniPath}: [ec2] option '${spec.name}' is missing (${firstLine(spec.doc)})`, iniPath, spec.name);
      }
      return spec.default ?? '';
    }
    try {
      return ini.get(section, spec.name);
    } catch (err) {
      if (err instanceof IniError) return fail(spec, err.message);
      throw err;
    }
  };
  // Every option is read as the table declares its type; only rules between options are written here.
  const read = <N extends OptionName>(name: N): OptionValue<N> => {
    const s = spec(name);
    return readValue(s, textOf(s), (why) => fail(s, why), env) as OptionValue<N>;
  };

  const connection = (): string => {
    const v = read('cache_connection');
    if (v === '') return v;
    let url: URL;
    try {
      url = new URL(v);
    } catch {
      return fail(spec('cache_connection'), `is not a URL: use redis://host:port/db or leave it empty`);
    }
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
      return fail(spec('cache_connection'), `has an unsupported scheme '${url.protocol}' (redis:// or rediss://)`);
    }
    return v;
  };

  const eucalyptus = read('eucalyptus');
  const regions = readRegions(read('regions'), eucalyptus, env, (why) => fail(spec('regions'), why));
  const rds = read('rds');
  const cachePath = read('cache_path');
  // The later ec2.py: EC2_INSTANCE_FILTERS, when set, replaces instance_filters.
  const filtersFromEnv = env['EC2_INSTANCE_FILTERS'] !== undefined;
  const filterText = filtersFromEnv ? (env['EC2_INSTANCE_FILTERS'] as string).trim() : read('instance_filters');
  const failFilters = (why: string): never =>
    fail(spec('instance_filters'), filtersFromEnv ? `(from EC2_INSTANCE_FILTERS) ${why}` : why);
  const instanceFilters = parseFilters(filterText, failFilters);

  const later = parseLaterSettings(
    { spec, read, fail, where },
    { env, cliProfile: overrides.profile, filtersByName: instanceFilters, filterText, failFilters },
  );
  const settings: Settings = {
    iniPath,
    eucalyptus,
    eucalyptusHost: eucalyptus ? read('eucalyptus_host') || undefined : undefined,
    regions,
    regionsExclude: read('regions_exclude'),
    destinationVariable: read('destination_variable'),
    vpcDestinationVariable: read('vpc_destination_variable'),
    route53: read('route53'),
    route53ExcludedZones: read('route53_excluded_zones'),
    rds,
    allInstances: read('all_instances'),
    allRdsInstances: rds ? read('all_rds_instances') : false,
    cachePath,
    cacheMaxAge: read('cache_max_age'),
    nestedGroups: read('nested_groups'),
    patternInclude: read('pattern_include'),
    patternExclude: read('pattern_exclude'),
    instanceFilters,
    cacheConnection: connection(),
    cacheStaleOnError: read('cache_stale_on_error'),
    cacheLockTimeout: read('cache_lock_timeout'),
    registryLockTimeout: read('registry_lock_timeout'),
    maxConcurrency: read('max_concurrency'),
    maxAttempts: read('max_attempts'),
    connectTimeout: read('connect_timeout'),
    requestTimeout: read('request_timeout'),
    refreshTimeout: read('refresh_timeout'),
    accountCollision: read('account_collision') as 'rename' | 'error',
    accountErrors: read('account_errors') as 'fail' | 'warn',
    ...later,
    libvirtUris: read('libvirt_uris').map((u) => (/^[a-z][a-z0-9+.-]*:\/\//i.test(u) ? u : fail(spec('libvirt_uris'), `has '${u}', which is not a libvirt URI (qemu:///system, qemu+ssh://user@host/system)`))),
  };
  const role = roleOptions(settings.iamRole, read('external_id'), read('role_session_name'), (name, why) => fail(spec(name as OptionName), why), false);
  if (role.externalId !== undefined) settings.externalId = role.externalId;
  if (role.roleSessionName !== undefined) settings.roleSessionName = role.roleSessionName;
  return later.credentials ? withCredentials(settings, later.credentials) : settings;
}

function spec(name: OptionName): OptionSpec {
  const found = optionByName.get(name);
  if (!found) throw new Error(`no option ${name}`);
  return found;
}

/** regions: 'all', 'auto' (the environment's region, as the later ec2.py reads it) or names. */
function readRegions(
  names: string[], eucalyptus: boolean, env: NodeJS.ProcessEnv, fail: (why: string) => never,
): string[] | 'all' {
  if (names.length === 0) fail('is empty: name regions (us-east-1,eu-west-1) or use all');
  if (names.length === 1 && names[0] === 'all') return 'all';
  if (names.includes('auto')) {
    const envRegion = env['AWS_REGION'] || env['AWS_DEFAULT_REGION'];
    if (!envRegion) fail('is auto but neither AWS_REGION nor AWS_DEFAULT_REGION is set');
    return [envRegion as string];
  }
  for (const r of names) {
    if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(r) && !(eucalyptus && r === 'eucalyptus')) fail(`names an unknown region '${r}'`);
  }
  return names;
}

function parseFilters(text: string, fail: (why: string) => never): InstanceFilter[] {
  return filtersOf(filterEntries(text).flat(), fail);
}

/** The ini as configparser reads it, with an [ec2] section; SettingsError naming the line if not. */
function readIni(text: string, iniPath: string): IniFile {
  let ini: IniFile;
  try {
    ini = IniFile.parse(text);
  } catch (err) {
    if (!(err instanceof IniError)) throw err;
    throw new SettingsError(`${iniPath}${err.line ? `:${err.line}` : ''}: ${err.message}`, iniPath, err.option, err.line);
  }
  if (!ini.hasSection('ec2')) throw new SettingsError(`${iniPath}: no [ec2] section`, iniPath);
  return ini;
}

function firstLine(doc: string): string {
  const end = doc.search(/[.\n]/);
  return end === -1 ? doc : doc.slice(0, end);
}
