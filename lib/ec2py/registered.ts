// Registered hosts join the inventory as ec2.py's own rules would add a host: pushed onto each of
// their groups (a group named like an EC2 group simply gains members), hostvars under _meta. A host
// already listed (an EC2 instance registered at launch) is not listed twice; its registered
// variables are added to what the APIs said.
import { memoryHostVars } from './rules.js';
import { push } from './groups.js';
import { type HostVarsStore } from './types.js';
import { type HostVars, type Inventory, type Group } from '../records/inventory.js';
import type { RegisteredHost } from '../records/inventory.js';

export function mergeRegistered(
  inventory: Inventory, hosts: readonly RegisteredHost[], hostvars: HostVarsStore = memoryHostVars(inventory),
): Inventory {
  for (const host of hosts) {
    for (const group of host.groups) {
      const existing = inventory[group] as Group | undefined;
      const members = existing === undefined ? [] : Array.isArray(existing) ? existing : existing.hosts ?? [];
      if (!members.includes(host.name)) push(inventory, group, host.name);
    }
    hostvars.set(host.name, registeredVars(hostvars.get(host.name), host));
  }
  return inventory;
}

/** A registered host's variables over what the APIs said about it, if anything. */
export function registeredVars(fromApis: HostVars | undefined, host: RegisteredHost): HostVars {
  return { ...(fromApis ?? {}), ...host.hostvars, registry_source: host.source };
}
