// The records the AWS source produces and the rules consume: SDK v3 objects tagged with their
// region. The rules see the SDK only through this module (as types: they load none of it).
//
// ec2.py builds hostvars by walking every attribute of a boto 2 object. We have SDK v3 records, so
// this is also the one table of those boto 2 attributes: name, and how to get boto 2's value (and
// its type) from the SDK record. get_host_info_dict_from_instance applies ec2.py's rules to it.
import type { Instance } from '@aws-sdk/client-ec2';
import type { DBCluster, DBInstance } from '@aws-sdk/client-rds';
import type { CacheCluster, ReplicationGroup } from '@aws-sdk/client-elasticache';

export type { DBCluster } from '@aws-sdk/client-rds';
export type { CacheCluster, CacheNode, ReplicationGroup } from '@aws-sdk/client-elasticache';

/** ec2.py skips attributes whose boto 2 value is a dict, list or object: so do we. */
export const OMIT = Symbol('omit');
export type BotoValue = string | number | boolean | null | undefined | typeof OMIT;

export interface EC2Record {
  instance: Instance;
  region: string;
  /** The reservation's OwnerId: the account the instance belongs to. */
  ownerId?: string;
}
export interface RDSRecord {
  instance: DBInstance;
  region: string;
}

type Attr<R> = readonly [name: string, get: (r: R) => BotoValue];

// boto 2 keeps timestamps as the text AWS sent; AWS sends ISO 8601 with milliseconds.
const time = (d: Date | undefined): string | undefined => (d ? isoTime(d) : undefined);

// Date#toISOString, about three times faster for the years it is asked about (two per host).
const pad2 = (n: number) => (n < 10 ? '0' : '') + n;
export function isoTime(d: Date): string {
  const y = d.getUTCFullYear();
  if (!(y >= 1000 && y <= 9999)) return d.toISOString();
  const ms = d.getUTCMilliseconds();
  return `${y}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}T${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:` +
    `${pad2(d.getUTCSeconds())}.${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z`;
}
// A sub-element boto 2 parsed into a dict/list when present, and left as None when absent.
const objectOrNone = (v: unknown): BotoValue => (v === undefined ? null : OMIT);
// An XML element boto 2 did not know: stored with its text, '' for a container, absent when absent.
const container = (v: unknown): BotoValue => (v === undefined ? OMIT : '');
const boolText = (v: boolean | undefined): BotoValue => (v === undefined ? OMIT : String(v));
// Called by a dozen attributes per host: a plain loop, without a closure per call.
const primaryInterface = (i: Instance) => {
  const interfaces = i.NetworkInterfaces;
  if (!interfaces) return undefined;
  for (const n of interfaces) if (n.Attachment?.DeviceIndex === 0) return n;
  return interfaces[0];
};

/**
 * boto 2 Instance attributes in the order vars(instance) lists them, then the camelCase names the
 * ec2.py docstring promises (older boto stored the primary network interface's elements on the
 * instance). `tags`, `groups`, `_state` and `_previous_state` are expanded by the rules.
 */
export const ec2Attributes: readonly Attr<EC2Record>[] = [
  ['id', (r) => r.instance.InstanceId],
  ['dns_name', (r) => r.instance.PublicDnsName],
  ['public_dns_name', (r) => r.instance.PublicDnsName],
  ['private_dns_name', (r) => r.instance.PrivateDnsName],
  ['key_name', (r) => r.instance.KeyName],
  ['instance_type', (r) => r.instance.InstanceType],
  ['launch_time', (r) => time(r.instance.LaunchTime)],
  ['image_id', (r) => r.instance.ImageId],
  ['kernel', (r) => r.instance.KernelId],
  ['ramdisk', (r) => r.instance.RamdiskId],
  ['product_codes', () => OMIT],
  ['ami_launch_index', (r) => (r.instance.AmiLaunchIndex === undefined ? undefined : String(r.instance.AmiLaunchIndex))],
  ['monitored', (r) => r.instance.Monitoring?.State === 'enabled'],
  ['monitoring_state', (r) => r.instance.Monitoring?.State],
  ['spot_instance_request_id', (r) => r.instance.SpotInstanceRequestId],
  ['subnet_id', (r) => r.instance.SubnetId],
  ['vpc_id', (r) => r.instance.VpcId],
  ['private_ip_address', (r) => r.instance.PrivateIpAddress],
  ['ip_address', (r) => r.instance.PublicIpAddress],
  // requesterId belongs to the reservation in every DescribeInstances answer, never the instance.
  ['requester_id', () => null],
  ['_in_monitoring_element', () => false],
  ['persistent', () => false],
  ['root_device_name', (r) => r.instance.RootDeviceName],
  ['root_device_type', (r) => r.instance.RootDeviceType],
  ['block_device_mapping', (r) => objectOrNone(r.instance.BlockDeviceMappings)],
  ['state_reason', (r) => objectOrNone(r.instance.StateReason)],
  // boto 2 only sets group_name inside a <monitoring> element, which never has one.
  ['group_name', () => null],
  ['client_token', (r) => r.instance.ClientToken],
  // DescribeInstances carries no events (DescribeInstanceStatus does).
  ['eventsSet', () => null],
  ['platform', (r) => r.instance.Platform],
  ['interfaces', () => OMIT],
  ['hypervisor', (r) => r.instance.Hypervisor],
  ['virtualization_type', (r) => r.instance.VirtualizationType],
  ['architecture', (r) => r.instance.Architecture],
  ['instance_profile', (r) => objectOrNone(r.instance.IamInstanceProfile)],
  ['region', (r) => r.region],
  // boto 2 keeps a placement object; ec2.py reports its zone under ec2_placement.
  ['placement', (r) => r.instance.Placement?.AvailabilityZone],
  ['ebs_optimized', (r) => r.instance.EbsOptimized ?? OMIT],
  ['monitoring', (r) => container(r.instance.Monitoring)],
  ['reason', (r) => r.instance.StateTransitionReason ?? ''],
  ['sourceDestCheck', (r) => boolText(r.instance.SourceDestCheck)],
  ['item', () => ''],
  // The docstring's names from the primary network interface, as older boto 2 stored them.
  ['association', (r) => container(primaryInterface(r.instance)?.Association)],
  ['attachment', (r) => container(primaryInterface(r.instance)?.Attachment)],
  ['attachmentId', (r) => primaryInterface(r.instance)?.Attachment?.AttachmentId ?? OMIT],
  ['attachTime', (r) => time(primaryInterface(r.instance)?.Attachment?.AttachTime) ?? OMIT],
  ['deleteOnTermination', (r) => boolText(primaryInterface(r.instance)?.Attachment?.DeleteOnTermination)],
  ['description', (r) => primaryInterface(r.instance)?.Description ?? OMIT],
  ['deviceIndex', (r) => {
    const index = primaryInterface(r.instance)?.Attachment?.DeviceIndex;
    return index === undefined ? OMIT : String(index);
  }],
  ['instanceState', (r) => container(r.instance.State)],
  ['ipOwnerId', (r) => primaryInterface(r.instance)?.Association?.IpOwnerId ?? OMIT],
  ['networkInterfaceId', (r) => primaryInterface(r.instance)?.NetworkInterfaceId ?? OMIT],
  ['ownerId', (r) => primaryInterface(r.instance)?.OwnerId ?? OMIT],
  ['publicIp', (r) => primaryInterface(r.instance)?.Association?.PublicIp ?? OMIT],
  ['shutdown_state', () => null],
  ['status', (r) => primaryInterface(r.instance)?.Status ?? OMIT],
  ['tenancy', (r) => r.instance.Placement?.Tenancy ?? OMIT],
];

/** boto 2 DBInstance attributes in vars() order; `endpoint` (a tuple) is skipped as ec2.py does. */
export const rdsAttributes: readonly Attr<RDSRecord>[] = [
  ['id', (r) => r.instance.DBInstanceIdentifier],
  ['create_time', (r) => time(r.instance.InstanceCreateTime)],
  ['engine', (r) => r.instance.Engine],
  ['status', (r) => r.instance.DBInstanceStatus],
  ['allocated_storage', (r) => r.instance.AllocatedStorage],
  ['auto_minor_version_upgrade', (r) => r.instance.AutoMinorVersionUpgrade],
  ['endpoint', () => OMIT],
  ['instance_class', (r) => r.instance.DBInstanceClass],
  ['master_username', (r) => r.instance.MasterUsername],
  ['parameter_groups', () => OMIT],
  ['security_groups', () => OMIT],
  ['read_replica_dbinstance_identifiers', () => OMIT],
  ['availability_zone', (r) => r.instance.AvailabilityZone],
  ['backup_retention_period', (r) => r.instance.BackupRetentionPeriod],
  ['preferred_backup_window', (r) => r.instance.PreferredBackupWindow],
  ['preferred_maintenance_window', (r) => r.instance.PreferredMaintenanceWindow],
  ['latest_restorable_time', (r) => time(r.instance.LatestRestorableTime)],
  ['multi_az', (r) => r.instance.MultiAZ ?? false],
  ['iops', (r) => r.instance.Iops],
  ['vpc_security_groups', (r) => objectOrNone(r.instance.VpcSecurityGroups)],
  ['pending_modified_values', (r) => objectOrNone(r.instance.PendingModifiedValues)],
  ['_in_endpoint', () => false],
  ['_port', (r) => r.instance.Endpoint?.Port],
  ['_address', (r) => r.instance.Endpoint?.Address],
  ['status_infos', (r) => objectOrNone(r.instance.StatusInfos)],
  ['character_set_name', (r) => r.instance.CharacterSetName],
  ['subnet_group', (r) => objectOrNone(r.instance.DBSubnetGroup)],
  ['engine_version', (r) => r.instance.EngineVersion],
  ['license_model', (r) => r.instance.LicenseModel],
];

/** The boto 2 value of one EC2 attribute, e.g. for destination_variable. */
export function ec2Attribute(record: EC2Record, name: string): BotoValue {
  return ec2AttributeByName.get(name)?.(record);
}
// Asked once or more per host (destination, Route53 names): a map, not a walk along the table.
const ec2AttributeByName = new Map(ec2Attributes.map(([name, get]) => [name, get]));

export interface Route53RecordSet {
  /** Record name without the trailing dot, as ec2.py strips it. */
  name: string;
  /** The resource record values: addresses for A, host names for CNAME. */
  values: string[];
}

export interface RegionRecords {
  region: string;
  /** In API order; an instance returned by two filter calls appears twice, as in ec2.py. */
  instances: EC2Record[];
  dbInstances: RDSRecord[];
  /** elasticache: DescribeCacheClusters with node info, and DescribeReplicationGroups. */
  cacheClusters?: CacheClusterRecord[];
  replicationGroups?: ReplicationGroupRecord[];
  /** include_rds_clusters: DescribeDBClusters. */
  dbClusters?: DBClusterRecord[];
}

/** Everything one refresh fetched, in the order ec2.py walks it. */
export interface FetchedData {
  /** undefined when route53 is off. */
  route53: Route53RecordSet[] | undefined;
  regions: RegionRecords[];
  /** The account id (STS GetCallerIdentity), when group_by_aws_account or extra_hostvars wants it. */
  accountId?: string;
}

export interface CacheClusterRecord {
  cluster: CacheCluster;
  region: string;
}
export interface ReplicationGroupRecord {
  group: ReplicationGroup;
  region: string;
}

export interface DBClusterRecord {
  cluster: DBCluster;
  region: string;
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
