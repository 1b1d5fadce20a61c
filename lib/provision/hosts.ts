// What every launch asks of the inventory entries it makes, KVM and EC2 alike, and what a host
// registered by hand may hold. Group names are ec2py's rule (groupNameProblem), the same the
// registry and the launch groups tag apply, so a group a launch accepts is one the inventory lists.
import { ProvisionError } from '../errors.js';
import { groupNameProblem } from '../ec2py/groups.js';
import { keyValues } from '../settings/keyValue.js';
import { launchOwnedSources, launchOwnedVar, openRegistry, type RegistrySettings } from '../store/registry.js';
import type { RegisteredHost, RegisteredValue } from '../records/inventory.js';

/** `web,db` (or several values) into group names, deduplicated and each checked. */
export function parseGroups(values: string | readonly string[]): string[] {
  const list = typeof values === 'string' ? [values] : values;
  const groups = [...new Set(list.flatMap((v) => v.split(',')).map((g) => g.trim()).filter((g) => g !== ''))];
  if (groups.length === 0) throw new ProvisionError('no inventory group given (groups is empty)', 'EUSAGE', 'groups');
  for (const g of groups) {
    const problem = groupNameProblem(g);
    if (problem !== undefined) throw new ProvisionError(`group '${g}' ${problem}`, 'EUSAGE', 'groups');
  }
  return groups;
}

/**
 * `key=value` strings into a registered host's variables: whole numbers and true/false keep their
 * type, as Ansible reads them from a YAML inventory.
 */
export function parseHostVars(items: readonly string[]): Record<string, RegisteredValue> {
  const text = keyValues(items, (why) => new ProvisionError(`hostvars: ${why}`, 'EUSAGE', 'hostvars'));
  return Object.fromEntries(Object.entries(text).map(([k, v]) => [k, typedValue(v)]));
}

function typedValue(text: string): RegisteredValue {
  return /^-?\d+$/.test(text) && String(Number(text)) === text ? Number(text) : text === 'true' ? true : text === 'false' ? false : text;
}

/** A host to record in the registry by hand: what a caller says of it, nothing the launches own. */
export interface RegisterOptions {
  /** The inventory host name (what Ansible connects to, unless `ansible_host` says otherwise). */
  name: string;
  /** Inventory groups: names, or `web,db`. */
  groups: string | readonly string[];
  /** Host variables; `kvm_*`, `ec2_*` and `registry_source` are written by launches and used by destroy. */
  hostvars?: Readonly<Record<string, RegisteredValue>>;
  /** Who registers it (default `manual`); `kvm` and `ec2` are what launches record. */
  source?: string;
}

/**
 * The entry a hand registration records, checked: nothing a launch writes and destroy trusts
 * (kvm_*, ec2_* variables, the kvm and ec2 sources) can be set this way.
 */
export function registeredHost(o: RegisterOptions): RegisteredHost {
  const source = o.source ?? 'manual';
  if (launchOwnedSources.includes(source)) throw new ProvisionError(`source '${source}' is what launch ${source} records; register by hand with another source (default: manual)`, 'EUSAGE', 'source');
  const hostvars = { ...(o.hostvars ?? {}) };
  for (const key of Object.keys(hostvars)) {
    if (launchOwnedVar(key)) throw new ProvisionError(`hostvars: '${key}': kvm_*, ec2_* and registry_source are written by launch and used by destroy; register cannot set them`, 'EUSAGE', 'hostvars');
  }
  if (!o.name || /\s/.test(o.name)) throw new ProvisionError(`host name '${o.name}' is empty or has spaces`, 'EUSAGE', 'name');
  return { name: o.name, groups: parseGroups(o.groups), hostvars, source, registeredAt: Date.now() };
}

/**
 * Records a host in the registry (replacing one of that name): it appears in the inventory's --list
 * and --host from the next run on. Returns the entry as stored.
 */
export async function register(settings: RegistrySettings, o: RegisterOptions): Promise<RegisteredHost> {
  return recordHost(settings, registeredHost(o));
}

/**
 * Records an entry registeredHost made. The CLI makes it before it reads the ec2.ini the settings
 * come from, so that bad input is bad usage whether or not that file can be read.
 */
export async function recordHost(settings: RegistrySettings, host: RegisteredHost): Promise<RegisteredHost> {
  await withRegistry(settings, (r) => r.register(host));
  return host;
}

/** Removes a host from the registry; false when it was not registered. */
export async function deregister(settings: RegistrySettings, name: string): Promise<boolean> {
  return withRegistry(settings, (r) => r.deregister(name));
}

async function withRegistry<T>(settings: RegistrySettings, work: (r: Awaited<ReturnType<typeof openRegistry>>) => Promise<T>): Promise<T> {
  const registry = await openRegistry(settings);
  try {
    return await work(registry);
  } finally {
    await registry.close();
  }
}
