// The rules one inventory of several AWS accounts adds to ec2.py's ([account NAME] sections): each
// host's account (hostvars ec2_account_id, ec2_account_name; groups accounts > ID and account_NAME),
// one name per host whichever account answered first (account_collision), and the hosts of an
// account that could not be read, served from the previous inventory (account_errors = warn).
// With no account section none of this runs: State.account is undefined.
import { InventoryError } from '../errors.js';
import { push, push_group } from './groups.js';
import type { HostVarsWalk, State } from './types.js';

export type { AccountState, SharedAccounts } from './types.js';
import type { Group, HostVars, Index, Inventory } from '../records/inventory.js';
import type { JsonValue } from '../records/aws.js';

const label = (a: { name: string; id: string | undefined }) => `account ${a.name}${a.id ? ` (${a.id})` : ''}`;

/**
 * The name a host of this account gets: its own, unless a host of an earlier account holds it
 * (rename: NAME@ACCOUNT_ID; error: the refresh fails naming both). Hosts of one account keep
 * ec2.py's rule (the later one wins the name).
 */
export function accountHostname(state: State, hostname: string, id: string): string {
  const account = state.account;
  if (!account) return hostname;
  const owner = account.shared.owners.get(hostname);
  if (owner === undefined || owner.account === account.index) {
    account.shared.owners.set(hostname, { account: account.index, id });
    return hostname;
  }
  const first = account.shared.accounts[owner.account] as { name: string; id: string | undefined };
  if (account.shared.collision === 'error') {
    throw new InventoryError(
      `host name '${hostname}' is ${owner.id} of ${label(first)} and ${id} of ${label(account)} ` +
        `(account_collision = error; account_collision = rename names the second ${hostname}@${account.id ?? account.name})`,
    );
  }
  const renamed = `${hostname}@${account.id ?? account.name}`;
  account.shared.owners.set(renamed, { account: account.index, id });
  return renamed;
}

/**
 * ec2.py's instance-id group: inventory[id] = [host], so within one account the later host of an
 * id wins it. An RDS or ElastiCache id is the user's name and is often the same in every account:
 * with account sections the hosts of other accounts stay in the group beside this one.
 */
export function set_id_group(state: State, id: string, host: string): void {
  const account = state.account;
  const existing = state.inventory[id];
  if (!account || !Array.isArray(existing)) {
    state.inventory[id] = [host];
    return;
  }
  const owners = account.shared.owners;
  const others = existing.filter((h) => h !== host && (owners.get(h)?.account ?? account.index) !== account.index);
  state.inventory[id] = [...others, host];
}

/** The account of a host: its own (the reservation's owner, an ARN's) or the account's. */
function hostAccountId(state: State, own: string | undefined): string | undefined {
  return own || state.account?.id;
}

/**
 * With account sections: the host joins its account's groups (group_by_aws_account), and its
 * index entry says which account it is in (what --host tells apart by).
 */
export function push_account_groups(state: State, hostname: string, own: string | undefined): void {
  const account = state.account;
  if (!account) return;
  const id = hostAccountId(state, own);
  const entry = state.index[hostname];
  if (entry && id) state.index[hostname] = [entry[0], entry[1], id];
  if (!state.settings.groupBy.aws_account) return;
  if (id) {
    pushOnce(state.inventory, id, hostname);
    push_group(state.inventory, 'accounts', id);
  }
  pushOnce(state.inventory, state.safe('account_' + account.name), hostname);
}

// A redis cluster and its node are one host, added twice: it joins each group once.
function pushOnce(inventory: Inventory, group: string, host: string): void {
  const members = hostsOfChild(inventory, group);
  if (members[members.length - 1] !== host) push(inventory, group, host);
}

/** The account id an ARN names (arn:aws:rds:REGION:ACCOUNT:db:NAME), if it is one. */
export function arnAccount(arn: string | undefined): string | undefined {
  return arn ? /^arn:[^:]*:[^:]*:[^:]*:(\d{12}):/.exec(arn)?.[1] : undefined;
}

/**
 * A host's variables with ec2_account_id and ec2_account_name, in key order; ec2_account_id
 * replaces extra_hostvars' (the caller's account) with the host's own.
 */
export function withAccountVars(state: State, own: string | undefined, walk: HostVarsWalk): HostVarsWalk {
  const account = state.account;
  if (!account) return walk;
  const id = hostAccountId(state, own) ?? null;
  return (visit) => {
    let pending = true;
    const flush = () => {
      if (!pending) return;
      pending = false;
      visit('ec2_account_id', id);
      visit('ec2_account_name', account.name);
    };
    walk((name, value) => {
      if (name === 'ec2_account_id') return;
      if (pending && name > 'ec2_account_id') flush();
      visit(name, value);
    });
    flush();
  };
}

/** withAccountVars for hosts whose variables are an object (ElastiCache). */
export function accountVars(state: State, own: string | undefined, vars: HostVars): HostVars {
  if (!state.account) return vars;
  return { ...vars, ec2_account_id: hostAccountId(state, own) ?? null, ec2_account_name: state.account.name };
}

/**
 * account_errors = warn: the hosts of account `name` in the previous inventory, added where that
 * account's records would have been (so they keep their names), each in the groups it was in.
 * Returns how many and since when (ms) they were last read from AWS.
 */
export function add_previous_account_hosts(
  state: State, name: string, previous: { inventory: Inventory; index: Index; writtenAt: number },
): { hosts: number; since: number | undefined } {
  const { inventory, hostvars } = state;
  const hosts = Object.keys(previous.inventory._meta.hostvars).filter((h) => previous.inventory._meta.hostvars[h]?.['ec2_account_name'] === name);
  const id = state.account?.id ?? hosts.map((h) => previous.inventory._meta.hostvars[h]?.['ec2_account_id']).find((v) => typeof v === 'string');
  if (id !== undefined) state.previousClusters = previousClusters(previous.inventory, id as string);
  if (hosts.length === 0) return { hosts: 0, since: undefined };
  const wanted = new Set(hosts);
  let since = Number.POSITIVE_INFINITY;
  for (const host of hosts) {
    const entry = previous.index[host];
    if (entry) {
      // When these hosts were last read: kept across refreshes that failed again.
      const at = entry[3] ?? previous.writtenAt;
      since = Math.min(since, at);
      state.index[host] = [entry[0], entry[1], entry[2] ?? state.account?.id ?? '', at];
    }
    if (state.account) state.account.shared.owners.set(host, { account: state.account.index, id: entry?.[1] ?? host });
    hostvars.set(host, previous.inventory._meta.hostvars[host] as HostVars);
  }
  for (const [group, value] of Object.entries(previous.inventory)) {
    if (group === '_meta' || group === 'db_clusters') continue;
    const members = Array.isArray(value) ? value : ((value as { hosts?: string[] }).hosts ?? []);
    for (const host of members as string[]) if (wanted.has(host)) push(inventory, group, host);
    for (const child of Array.isArray(value) ? [] : ((value as { children?: string[] }).children ?? [])) {
      if (Object.hasOwn(inventory, child) || hostsOfChild(previous.inventory, child).some((h) => wanted.has(h))) push_group(inventory, group, child);
    }
  }
  return { hosts: hosts.length, since: Number.isFinite(since) ? since : previous.writtenAt };
}

/** db_clusters (include_rds_clusters) of account `id` in an earlier inventory: the account in each cluster's ARN. */
function previousClusters(inventory: Inventory, id: string): JsonValue[] {
  const clusters = inventory.db_clusters;
  if (!clusters || typeof clusters !== 'object') return [];
  return Object.values(clusters).filter((c) => {
    const arn = (c as { DBClusterArn?: unknown } | null)?.DBClusterArn;
    return typeof arn === 'string' && arnAccount(arn) === id;
  });
}

function hostsOfChild(inventory: Inventory, group: string): string[] {
  const value = inventory[group] as Group | undefined;
  if (value === undefined) return [];
  return Array.isArray(value) ? value : value.hosts ?? [];
}

/**
 * --host with account sections: the host a name means. A name two accounts' hosts were given
 * (the second renamed NAME@ACCOUNT_ID) is ambiguous: the answer names both. NAME@ACCOUNT_ID also
 * finds the account's host that kept the plain name.
 */
export function hostOfName(index: Index, host: string): { host: string } | { ambiguous: string[] } | undefined {
  const renamed = Object.keys(index).filter((h) => h.startsWith(host + '@') && accountOf(index, h) === h.slice(host.length + 1));
  if (Object.hasOwn(index, host)) {
    if (renamed.length > 0) return { ambiguous: [`${host}@${accountOf(index, host) ?? '?'}`, ...renamed] };
    return { host };
  }
  const at = host.lastIndexOf('@');
  if (at > 0) {
    const plain = host.slice(0, at);
    if (Object.hasOwn(index, plain) && accountOf(index, plain) === host.slice(at + 1)) return { host: plain };
  }
  return undefined;
}

function accountOf(index: Index, host: string): string | undefined {
  const entry = index[host];
  return entry?.[2];
}
