// ec2.py's group helpers: how a host joins a group and how a value becomes a group name.
import type { Group, Inventory } from '../records/inventory.js';

/** Pushes a host onto a group that may not exist yet, or onto the hosts of a nested group. */
export function push(inventory: Inventory, key: string, element: string): void {
  const group = (inventory[key] ??= []) as Group;
  if (Array.isArray(group)) group.push(element);
  else (group.hosts ??= []).push(element);
}

/** Makes a group a child of another group, turning a plain host list into {hosts, children}. */
export function push_group(inventory: Inventory, key: string, element: string): void {
  let parent = (inventory[key] ??= {}) as Group;
  if (Array.isArray(parent)) parent = inventory[key] = { hosts: parent };
  const children = (parent.children ??= []);
  if (!children.includes(element)) children.push(element);
}

/**
 * Converts characters that are not allowed in Ansible group names to underscores; dashes too with
 * replace_dash_in_groups (the later ec2.py's option).
 */
export function to_safe(word: string, replaceDash = false): string {
  if ((replaceDash ? safeWordNoDash : safeWord).test(word)) return word;
  // Per code point, as Python's re.sub on a unicode string.
  return word.replace(replaceDash ? /[^A-Za-z0-9_]/gu : /[^A-Za-z0-9_-]/gu, '_');
}
const safeWord = /^[A-Za-z0-9_-]*$/;
const safeWordNoDash = /^[A-Za-z0-9_]*$/;

/** Groups Ansible's JSON inventory gives a meaning of its own: no host list may take those names. */
export const reservedGroups: readonly string[] = ['_meta', 'all', 'ungrouped'];

/**
 * Why `name` cannot be an inventory group a user asks for (a launch's groups, a registered host's,
 * the launch groups tag), or undefined when it can: the names to_safe leaves alone, not reserved.
 */
export function groupNameProblem(name: string): string | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(name)) return 'may only hold letters, digits, - and _';
  if (reservedGroups.includes(name)) return 'is reserved';
  return undefined;
}
