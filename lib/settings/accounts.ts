// The [account NAME] sections of ec2.ini: several AWS accounts in one inventory. Each section is
// read through [ec2] (an option it does not set is [ec2]'s), by the same parser as [ec2] itself,
// and kept as what it changes: its identity and the settings that differ from [ec2]'s. The package
// API takes the same list (Settings.accounts) built by hand.
import { SettingsError } from '../errors.js';
import { optionByName } from './options.js';
import type { StaticCredentials } from './later.js';
import type { IniFile } from './configparser.js';

/** What the settings parser reads an ini through: the file itself, or an account section over [ec2]. */
export interface IniView {
  hasOption(section: string, option: string): boolean;
  get(section: string, option: string): string;
  line(section: string, option: string): number | undefined;
  options(section: string): string[];
  /** The section an option's value comes from, for messages (absent: the section asked for). */
  sectionOf?(section: string, option: string): string;
}

const identityKeys = new Set<string>(['iamRole', 'profile', 'credentialsKeyId', 'credentials', 'externalId', 'roleSessionName']);

/**
 * Who one account calls AWS as. iamRole is assumed with the inventory's own credentials (its
 * profile, [credentials] or the environment); profile replaces them; neither: the inventory's
 * identity as it is. (Settings' AccountSettings adds the settings an account may change.)
 */
export interface AccountIdentity {
  /** The section's NAME: hostvar ec2_account_name, group account_NAME. */
  name: string;
  iamRole?: string;
  externalId?: string;
  roleSessionName?: string;
  profile?: string;
}

/** What these functions need of Settings (read.ts imports this module, so not Settings itself). */
export interface InventoryIdentity {
  iniPath: string;
  iamRole: string | undefined;
  profile: string | undefined;
  credentialsKeyId: string | undefined;
  readonly credentials?: StaticCredentials;
  externalId?: string;
  roleSessionName?: string;
  accounts?: readonly AccountIdentity[];
}

/** iam_role's ARN: partition and the 12-digit account id. */
const roleArn = /^arn:aws(?:-[a-z]+)*:iam::(\d{12}):role\/[\w+=,.@/-]{1,512}$/;
const externalIdPattern = /^[\w+=,.@:/-]{2,1224}$/;
const sessionNamePattern = /^[\w+=,.@-]{2,64}$/;
const defaultSessionName = optionByName.get('role_session_name')?.default ?? 'ansible_dynamic_inventory';

/** The account id an iam_role ARN names, or undefined when it is not a role ARN. */
export function roleAccountId(arn: string): string | undefined {
  return roleArn.exec(arn)?.[1];
}

/**
 * iam_role (of an account section: a role ARN), external_id and role_session_name checked together; the session name is left out at its
 * default (so settings that never set it keep their cache key).
 */
export function roleOptions(
  iamRole: string | undefined, externalId: string, sessionName: string, fail: (option: string, why: string) => never, checkArn = true,
): { externalId?: string; roleSessionName?: string } {
  // [ec2]'s iam_role is left to AssumeRole to judge, as it always was.
  if (checkArn && iamRole !== undefined && roleAccountId(iamRole) === undefined) {
    fail('iam_role', `is not the ARN of an IAM role (arn:aws:iam::123456789012:role/NAME): '${iamRole}'`);
  }
  if (externalId !== '' && iamRole === undefined) fail('external_id', 'is set without iam_role (it is given to the AssumeRole of iam_role)');
  if (externalId !== '' && !externalIdPattern.test(externalId)) fail('external_id', `must be 2 to 1224 letters, digits or +=,.@:/- characters, not '${externalId}'`);
  const named = sessionName !== '' && sessionName !== defaultSessionName;
  if (named && !sessionNamePattern.test(sessionName)) fail('role_session_name', `must be 2 to 64 letters, digits or +=,.@- characters, not '${sessionName}'`);
  return { ...(externalId !== '' ? { externalId } : {}), ...(named ? { roleSessionName: sessionName } : {}) };
}

/** An account section's name, or undefined for a section that is not one. */
function accountName(section: string): string | undefined {
  const m = /^account(?:\s+(.*))?$/.exec(section);
  return m ? (m[1] ?? '').trim() : undefined;
}

/**
 * Every [account NAME] section, in file order. `parse` reads a view of the ini as [ec2] settings
 * (parseSettings' own reader), so an account's options are checked exactly as [ec2]'s are.
 */
export function readAccounts<S extends InventoryIdentity>(ini: IniFile, iniPath: string, top: S, parse: (view: IniView) => S): (AccountIdentity & Partial<S>)[] {
  const accounts: (AccountIdentity & Partial<S>)[] = [];
  const seen = new Map<string, { section: string; line: number | undefined }>();
  for (const section of ini.sectionNames()) {
    const name = accountName(section);
    if (name === undefined) continue;
    const headerLine = ini.sectionLine(section);
    const fail = (why: string, line = headerLine, option?: string): never => {
      throw new SettingsError(`${iniPath}${line ? `:${line}` : ''}: [${section}] ${why}`, iniPath, option, line);
    };
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) fail(`needs a name of letters, digits, _ . or - after "account" (e.g. [account prod])`);
    if (accounts.some((a) => a.name === name)) fail(`repeats the account name '${name}'`);
    const own = ini.ownOptions(section);
    for (const option of own) {
      const spec = optionByName.get(option);
      const line = ini.line(section, option);
      if (!spec || spec.section === 'credentials') fail(`option '${option}' is not an option an account section takes (see ec2.ini.example)`, line, option);
      if (spec!.scope === 'inventory') fail(`option '${option}' can be set in [ec2] only: it holds for every account`, line, option);
    }
    const ownValue = (option: string): string | undefined => (own.includes(option) ? ini.get(section, option).trim() : undefined);
    const iamRole = ownValue('iam_role') || undefined;
    const profile = ownValue('boto_profile') || undefined;
    if (iamRole && profile) {
      fail(`names both iam_role (line ${ini.line(section, 'iam_role')}) and boto_profile (line ${ini.line(section, 'boto_profile')}): an account is one identity, a role or a profile`, ini.line(section, 'boto_profile'), 'boto_profile');
    }
    const role = roleOptions(iamRole, ownValue('external_id') ?? '', ownValue('role_session_name') ?? '', (option, why) =>
      fail(`option '${option}' ${why}`, ini.line(section, option), option));

    const identity = iamRole ? `account ${roleAccountId(iamRole)}` : profile ? `profile ${profile}` : sameIdentity(top);
    const before = seen.get(identity);
    if (before) fail(`is ${identity} again, as [${before.section}]${before.line ? ` (line ${before.line})` : ''}: one section per account`);
    seen.set(identity, { section, line: headerLine });

    const settings = parse(accountView(ini, section, own));
    accounts.push({
      name,
      ...(iamRole ? { iamRole, ...role } : {}),
      ...(profile ? { profile } : {}),
      ...differences(settings, top),
    });
  }
  return accounts;
}

/** Who an account section without iam_role or boto_profile is: the [ec2] identity. */
function sameIdentity(top: Pick<InventoryIdentity, 'iamRole' | 'profile'>): string {
  const id = top.iamRole ? roleAccountId(top.iamRole) : undefined;
  return id ? `account ${id}` : top.profile ? `profile ${top.profile}` : 'the identity of [ec2]';
}

/** An account section seen as [ec2]: its own options, else [ec2]'s (and DEFAULT's). */
function accountView(ini: IniFile, section: string, own: string[]): IniView {
  const mine = (s: string, option: string) => s === 'ec2' && own.includes(option.toLowerCase());
  return {
    hasOption: (s, option) => mine(s, option) || ini.hasOption(s, option),
    get: (s, option) => ini.get(mine(s, option) ? section : s, option),
    line: (s, option) => ini.line(mine(s, option) ? section : s, option),
    options: (s) => (s === 'ec2' ? [...new Set([...ini.options('ec2'), ...own])] : ini.options(s)),
    sectionOf: (s, option) => (mine(s, option) ? section : s),
  };
}

/** The settings an account changes: those that read differently from [ec2]'s. */
function differences<S extends object>(settings: S, top: S): Partial<S> {
  const changed: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(settings)) {
    if (identityKeys.has(key) || key === 'accounts') continue;
    if (inventoryKeys.has(key)) continue;
    if (JSON.stringify(value, patternText) !== JSON.stringify((top as Record<string, unknown>)[key], patternText)) changed[key] = value;
  }
  return changed as Partial<S>;
}

const inventoryKeys = new Set<string>([
  'iniPath', 'eucalyptus', 'eucalyptusHost', 'cachePath', 'cacheMaxAge', 'cacheConnection', 'cacheStaleOnError',
  'cacheLockTimeout', 'registryLockTimeout', 'maxConcurrency', 'maxAttempts', 'connectTimeout', 'requestTimeout',
  'refreshTimeout', 'libvirtUris', 'accountCollision', 'accountErrors', 'warnings',
]);

function patternText(this: unknown, _key: string, value: unknown): unknown {
  return value instanceof RegExp ? value.source : value;
}

/**
 * The whole settings one account is fetched and ruled with: the inventory's, what the account
 * changes, and its identity (see AccountSettings).
 */
export function accountSettings<S extends InventoryIdentity>(top: S, account: AccountIdentity & Partial<S>): S {
  const { name: _name, iamRole, externalId, roleSessionName, profile, ...changes } = account;
  const merged: S = { ...top };
  for (const [key, value] of Object.entries(changes)) {
    if (value !== undefined && !inventoryKeys.has(key) && !identityKeys.has(key)) (merged as unknown as Record<string, unknown>)[key] = value;
  }
  delete merged.accounts;
  if (profile) {
    // A profile replaces the inventory's credentials (the spread above left them behind).
    return { ...merged, profile, iamRole: undefined, credentialsKeyId: undefined, externalId: undefined, roleSessionName: undefined };
  }
  const own = iamRole ? { iamRole, externalId, roleSessionName } : {};
  const withIdentity: S = { ...merged, ...own };
  // The [credentials] keys stay out of sight of JSON and spreads, as withCredentials keeps them.
  if (top.credentials) Object.defineProperty(withIdentity, 'credentials', { value: top.credentials, enumerable: false });
  return withIdentity;
}

/**
 * The accounts of hand-built settings (the package API) checked as the ini's are: names, one
 * identity each, role ARNs, one entry per account.
 */
export function checkAccounts(top: InventoryIdentity): void {
  const seen = new Map<string, string>();
  const names = new Set<string>();
  for (const account of top.accounts ?? []) {
    const fail = (why: string): never => { throw new SettingsError(`${top.iniPath}: account '${account.name}' ${why}`, top.iniPath); };
    if (!/^[A-Za-z0-9_.-]+$/.test(account.name ?? '')) fail('needs a name of letters, digits, _ . or -');
    if (names.has(account.name)) fail('is named twice');
    names.add(account.name);
    if (account.iamRole && account.profile) fail('has both iamRole and profile: an account is one identity, a role or a profile');
    roleOptions(account.iamRole, account.externalId ?? '', account.roleSessionName ?? '', (option, why) => fail(`${option} ${why}`));
    const identity = account.iamRole ? `account ${roleAccountId(account.iamRole)}` : account.profile ? `profile ${account.profile}` : sameIdentity(top);
    const before = seen.get(identity);
    if (before) fail(`is ${identity} again, as account '${before}': one entry per account`);
    seen.set(identity, account.name);
  }
}
