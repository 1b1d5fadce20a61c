// aws_ec2_hostvars: the variables amazon.aws's aws_ec2 inventory plugin gives an EC2 host (boto3's
// DescribeInstances answer in snake case, tags as a map, placement.region added), so that an
// aws_ec2 user's keyed_groups and compose (`tags.Role`, `private_ip_address`) work unchanged on
// top of ec2.py's variables. Values are as AWS sent them: aws_ec2 strips nothing.
import type { EC2Record } from '../records/aws.js';
import type { HostVarValue } from '../records/inventory.js';
import type { HostVarsWalk } from './types.js';
import { pythonIsoformat } from './rdsClusters.js';

type AwsVar = readonly [name: string, get: (r: EC2Record) => HostVarValue | undefined];

const dict = <T>(): Record<string, T> => Object.create(null) as Record<string, T>;

/** Only what AWS reported: aws_ec2 has no key for an absent field (no public address, no key pair). */
function present(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

// Sorted by name once, so that merging them into ec2.py's sorted variables keeps the key order.
const awsVars: readonly AwsVar[] = ([
  ['architecture', (r) => r.instance.Architecture],
  ['image_id', (r) => r.instance.ImageId],
  ['instance_id', (r) => r.instance.InstanceId],
  ['instance_type', (r) => r.instance.InstanceType],
  ['key_name', (r) => present(r.instance.KeyName)],
  ['launch_time', (r) => (r.instance.LaunchTime ? pythonIsoformat(r.instance.LaunchTime) : undefined)],
  ['owner_id', (r) => r.ownerId],
  ['placement', (r) => {
    const placement = dict<string>();
    if (r.instance.Placement?.AvailabilityZone) placement['availability_zone'] = r.instance.Placement.AvailabilityZone;
    if (r.instance.Placement?.GroupName !== undefined) placement['group_name'] = r.instance.Placement.GroupName;
    placement['region'] = r.region;
    if (r.instance.Placement?.Tenancy) placement['tenancy'] = r.instance.Placement.Tenancy;
    return placement;
  }],
  ['private_dns_name', (r) => r.instance.PrivateDnsName],
  ['private_ip_address', (r) => present(r.instance.PrivateIpAddress)],
  ['public_dns_name', (r) => r.instance.PublicDnsName],
  ['public_ip_address', (r) => present(r.instance.PublicIpAddress)],
  ['security_groups', (r) => (r.instance.SecurityGroups ?? []).map((g) => ({ group_id: g.GroupId ?? '', group_name: g.GroupName ?? '' }))],
  ['state', (r) => (r.instance.State ? { code: r.instance.State.Code ?? 0, name: r.instance.State.Name ?? '' } : undefined)],
  ['subnet_id', (r) => present(r.instance.SubnetId)],
  ['tags', (r) => {
    const tags = dict<string>();
    for (const tag of r.instance.Tags ?? []) tags[tag.Key ?? ''] = tag.Value ?? '';
    return tags;
  }],
  ['vpc_id', (r) => present(r.instance.VpcId)],
] as AwsVar[]).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/** `walk` with the aws_ec2 variables of `record` merged in, still in key order. */
export function withAwsEc2Vars(record: EC2Record, walk: HostVarsWalk): HostVarsWalk {
  return (visit) => {
    let i = 0;
    const upTo = (name: string | undefined) => {
      for (; i < awsVars.length && (name === undefined || (awsVars[i] as AwsVar)[0] < name); i++) {
        const [own, get] = awsVars[i] as AwsVar;
        const value = get(record);
        if (value !== undefined) visit(own, value);
      }
    };
    walk((name, value) => {
      upTo(name);
      visit(name, value);
    });
    upTo(undefined);
  };
}
