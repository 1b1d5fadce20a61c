// The package API (docs/api.md): what automation code needs to read the inventory, register hosts,
// build, push, launch and destroy machines, with typed results. The same work, results and errors
// as bin/ec2-inventory and bin/provision; nothing here exits the process or writes to the console.
// Everything not exported here is internal and may change.
import { fetchInventory as fetchRaw, hostInventory, listInventory, refreshInventory, type Progress, type RequestOptions } from './flow/request.js';
import type { Settings } from './settings/read.js';
import type { Index, Inventory as RuleInventory } from './records/inventory.js';
import type { RegisteredValue } from './records/inventory.js';

// ec2.ini: the settings every call takes.
export { readSettings, readDefaultSettings, parseSettings, defaultIniPath } from './settings/read.js';
export type { Settings, SettingsOverrides, AccountSettings, AccountIdentity } from './settings/read.js';

// The inventory, as `ec2-inventory --list` / `--host` / `--refresh-cache` give it.
export { listInventory, hostInventory, refreshInventory };
export type { RequestOptions, Progress, Index };
export { json_format_dict as formatInventory } from './ec2py/format.js';

/** A hostvar value: a string, number or boolean; a list or map for a few (ec2_block_devices, expanded CSV tags); null for None. */
export type HostVarValue = string | number | boolean | null | string[] | Record<string, string>;

/**
 * One host's variables. The ones every EC2 host has are named (ec2.py's names); KVM guests and
 * registered hosts have the ansible_* ones and their own; any other name is a HostVarValue.
 */
export interface HostVars {
  /** Where Ansible connects, when not the inventory name (registered and KVM hosts). */
  ansible_host?: string;
  ansible_port?: number;
  ansible_user?: string;
  /** Instance id (i-...). */
  ec2_id?: string;
  /** running, stopped, ... */
  ec2_state?: string;
  ec2_state_code?: number;
  ec2_region?: string;
  /** Availability zone. */
  ec2_placement?: string;
  ec2_instance_type?: string;
  ec2_image_id?: string;
  ec2_private_ip_address?: string;
  /** Public address ('' when none). */
  ec2_ip_address?: string;
  ec2_public_dns_name?: string;
  ec2_private_dns_name?: string;
  ec2_vpc_id?: string;
  ec2_subnet_id?: string;
  ec2_key_name?: string;
  ec2_launch_time?: string;
  /** Comma-separated, as ec2.py joins them. */
  ec2_security_group_ids?: string;
  ec2_security_group_names?: string;
  /** A tag's value, by the tag key made safe (`ec2_tag_Role`). */
  [tag: `ec2_tag_${string}`]: string | string[] | undefined;
  /** With [account NAME] sections (docs/accounts.md): the host's account id (null if unknown) and NAME. */
  ec2_account_id?: string | null;
  ec2_account_name?: string;
  /** Who registered a registered host: kvm, ec2, manual, ... */
  registry_source?: string;
  [name: string]: HostVarValue | undefined;
}

/**
 * The inventory as `ec2-inventory --list` prints it: every group a list of host names
 * (`inventory['tag_Role_web'].length`), and `_meta.hostvars` each host's variables. With
 * nested_groups = True in ec2.ini, a group that has child groups is `{ hosts, children }` instead
 * of a list: read those with groupHosts.
 */
export type Inventory = { readonly [group: string]: string[] } & { readonly _meta: { hostvars: Record<string, HostVars> } };

/** Calls the AWS APIs and applies ec2.py's rules; reads and writes no cache. */
export async function fetchInventory(settings: Settings, onProgress?: (progress: Progress) => void): Promise<{ inventory: Inventory; index: Index }> {
  const { inventory, index } = await fetchRaw(settings, onProgress);
  return { inventory: inventory as unknown as Inventory, index };
}

/** The --list, parsed: from the cache while it is fresh, with registered hosts merged in. */
export async function readInventory(settings: Settings, options: RequestOptions = {}): Promise<Inventory> {
  return JSON.parse(await listInventory(settings, options)) as Inventory;
}

/** One host's variables as --host gives them (refreshed once when the host is new); {} when unknown. */
export async function readHostVars(settings: Settings, host: string, options: RequestOptions = {}): Promise<HostVars> {
  return JSON.parse(await hostInventory(settings, host, options)) as HostVars;
}

/** One host's variables in an inventory, or undefined when it has none. */
export function hostVars(inventory: Inventory, host: string): HostVars | undefined {
  return Object.hasOwn(inventory._meta.hostvars, host) ? inventory._meta.hostvars[host] : undefined;
}

/** The hosts of a group, whether a plain list or (nested_groups) `{ hosts, children }`; [] when none. */
export function groupHosts(inventory: Inventory, group: string): string[] {
  if (group === '_meta' || !Object.hasOwn(inventory, group)) return [];
  const g = (inventory as unknown as RuleInventory)[group];
  return Array.isArray(g) ? g : g && typeof g === 'object' && Array.isArray((g as { hosts?: unknown }).hosts) ? (g as { hosts: string[] }).hosts : [];
}

// The registry: hosts listed beside the AWS ones (launched KVM guests and EC2 instances, and hosts
// registered by hand).
export { registeredHosts } from './store/registry.js';
export type { RegistrySettings } from './store/registry.js';
export type { RegisteredHost } from './records/inventory.js';
export type { RegisteredValue };

// Building, pushing, launching and destroying machines, and the errors of every call.
export * from './provision/index.js';
export { InventoryError, SettingsError, AwsError, CacheError } from './errors.js';
