// What every launch asks of the inventory entries it makes, KVM and EC2 alike: the groups its hosts
// join. The names are ec2py's rule (groupNameProblem), the same the registry and the launch groups
// tag apply, so a group a launch accepts is one the inventory lists.
import { ProvisionError } from '../errors.js';
import { groupNameProblem } from '../ec2py/groups.js';

/** `web,db` (or several values) into group names, deduplicated and each checked. */
export function parseGroups(values: readonly string[]): string[] {
  const groups = [...new Set(values.flatMap((v) => v.split(',')).map((g) => g.trim()).filter((g) => g !== ''))];
  if (groups.length === 0) throw new ProvisionError('no inventory group given (groups is empty)', 'EUSAGE', 'groups');
  for (const g of groups) {
    const problem = groupNameProblem(g);
    if (problem !== undefined) throw new ProvisionError(`group '${g}' ${problem}`, 'EUSAGE', 'groups');
  }
  return groups;
}
