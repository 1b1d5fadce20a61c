// The types the rules share: which settings they read, where hostvars go, and the state one refresh
// builds. Types only, so the rule modules can share them without importing each other.
import type { Settings } from '../settings/read.js';
import type { LaterSettings } from '../settings/later.js';
import type { HostVars, HostVarValue, Index, Inventory } from '../records/inventory.js';
import type { JsonValue } from '../records/aws.js';

/** The later ec2.py's options the rules read; absent ones take their 2014-compatible defaults. */
export type LaterRuleSettings = Pick<
  LaterSettings,
  | 'hostnameVariable' | 'destinationFormat' | 'route53Hostnames' | 'instanceStates' | 'includeRdsClusters'
  | 'allElasticacheClusters' | 'allElasticacheNodes' | 'allElasticacheReplicationGroups'
  | 'replaceDashInGroups' | 'expandCsvTags' | 'groupBy' | 'extraHostvars' | 'awsEc2Hostvars' | 'instanceFilterCalls'
>;

export type RuleSettings = Pick<
  Settings,
  | 'allInstances' | 'allRdsInstances' | 'destinationVariable' | 'vpcDestinationVariable'
  | 'patternInclude' | 'patternExclude' | 'nestedGroups' | 'route53'
> & Partial<LaterRuleSettings>;

/** RuleSettings with every later option present. */
export type FullRuleSettings = Pick<Settings, keyof RuleSettings & keyof Settings> & LaterRuleSettings;

/**
 * A host's variables handed one by one, in key order, to `visit`: what the rules make of a record
 * without building an object, so a large refresh can write them straight out.
 */
export type HostVarsWalk = (visit: (name: string, value: HostVarValue) => void) => void;

/** Where the rules put each host's variables, and read them back to merge into (ElastiCache, registry). */
export interface HostVarsStore {
  get(host: string): HostVars | undefined;
  set(host: string, vars: HostVars): void;
  /** set() for variables the rules made, given in key order. */
  setWalk(host: string, walk: HostVarsWalk): void;
}

export interface State {
  inventory: Inventory;
  index: Index;
  hostvars: HostVarsStore;
  route53Records: Map<string, Set<string>>;
  settings: FullRuleSettings;
  accountId: string | undefined;
  /** The account whose records this state applies, with [account NAME] sections (ec2py/accounts.ts). */
  account?: AccountState;
  /** account_errors = warn, an account that failed: its db_clusters as the last good inventory had them. */
  previousClusters?: JsonValue[];
  /** to_safe with the replace_dash_in_groups setting. */
  safe: (word: string) => string;
  /** safe(prefix + value), remembered for values that repeat from host to host. */
  safeName: (prefix: string, value: string) => string;
  /** safe('tag_' + key + '=' + value), remembered the same way. */
  safeTagName: (key: string, value: string) => string;
}

/** What every account's rules share ([account NAME] sections): who holds each host name. */
export interface SharedAccounts {
  collision: 'rename' | 'error';
  /** Host name → the account (position in the ini) and the record that took it. */
  owners: Map<string, { account: number; id: string }>;
  accounts: readonly { name: string; id: string | undefined }[];
}

/** The account whose records a State applies. */
export interface AccountState {
  index: number;
  name: string;
  id: string | undefined;
  shared: SharedAccounts;
}
