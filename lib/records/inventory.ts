// What the rules make and every later stage (stores, request flow, CLI) passes on: the inventory as
// ec2.py prints it, its index, and the hosts registered outside the AWS listings.
import type { JsonValue } from './aws.js';

/**
 * Hostvar values: boto 2's scalars ('' for None), plus what the later ec2.py's options add: the
 * list of an expanded CSV tag, the ec2_block_devices map, and None for an unknown account id.
 */
export type HostVarValue = string | number | boolean | null | string[] | Record<string, string>;
export type HostVars = Record<string, HostVarValue>;

/** A group is a host list, or (with nested_groups) an object with hosts and child group names. */
export type Group = string[] | { hosts?: string[]; children?: string[] };

export interface Inventory {
  _meta: { hostvars: Record<string, HostVars> };
  /** include_rds_clusters: cluster id → its description, as the later ec2.py prints it. */
  db_clusters?: Record<string, JsonValue>;
  [group: string]: Group | { hostvars: Record<string, HostVars> } | Record<string, JsonValue> | undefined;
}

/**
 * Host name to [region, instance or DB identifier]: ec2.py's ansible-ec2.index. With account
 * sections also the host's account id, and for hosts served from an earlier refresh (an account
 * that failed, account_errors = warn) when they were last read (ms since the epoch).
 */
export type Index = Record<string, [region: string, id: string, account?: string, since?: number]>;

/** A registered host's variable: scalars only, as the CLI's --var gives them. */
export type RegisteredValue = string | number | boolean;

export interface RegisteredHost {
  /** The inventory host name (what Ansible connects to, unless ansible_host says otherwise). */
  name: string;
  groups: string[];
  hostvars: Record<string, RegisteredValue>;
  /** Who registered it: 'kvm', 'ec2', 'manual', ... (also a hostvar: registry_source). */
  source: string;
  /** Milliseconds since the epoch. */
  registeredAt: number;
}
