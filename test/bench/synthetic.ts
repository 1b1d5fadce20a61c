// Realistic EC2 records in bulk for the benchmark: VPC hosts with tags, groups and interfaces
// shaped like DescribeInstances answers.
import type { Instance } from '@aws-sdk/client-ec2';
import type { FetchedData } from '../../lib/records/aws.js';
import { parseSettings, type Settings } from '../../lib/settings/read.js';

/** The settings of the 100,000-instance refresh (big.ts) and of its floor (bigFloor.ts). */
export function bigSettings(cacheDir: string): Settings {
  return parseSettings(`[ec2]
regions = us-east-1
regions_exclude =
destination_variable = public_dns_name
vpc_destination_variable = ip_address
route53 = False
rds = False
cache_path = ${cacheDir}
cache_max_age = 300
`, 'bench.ini');
}

export function syntheticInstance(i: number, region: string): Instance {
  const a = (i >> 16) & 255;
  const b = (i >> 8) & 255;
  const c = i & 255;
  const ip = `54.${a}.${b}.${c}`;
  const priv = `10.${a}.${b}.${c}`;
  const zone = `${region}${'abc'[i % 3]}`;
  return {
    InstanceId: `i-${i.toString(16).padStart(17, '0')}`,
    ImageId: 'ami-0abcdef1234567890', State: { Code: 16, Name: 'running' },
    PrivateDnsName: `ip-10-${a}-${b}-${c}.ec2.internal`, PublicDnsName: `ec2-54-${a}-${b}-${c}.compute-1.amazonaws.com`,
    StateTransitionReason: '', KeyName: `key-${i % 7}`, AmiLaunchIndex: 0, InstanceType: (['t3.micro', 'm5.large', 'c5.xlarge'] as const)[i % 3],
    LaunchTime: new Date(1_700_000_000_000 + i * 1000), Placement: { AvailabilityZone: zone, GroupName: '', Tenancy: 'default' },
    Monitoring: { State: 'disabled' }, SubnetId: `subnet-${(i % 50).toString(16).padStart(8, '0')}`, VpcId: `vpc-${(i % 5).toString(16).padStart(8, '0')}`,
    PrivateIpAddress: priv, PublicIpAddress: ip, Architecture: 'x86_64', RootDeviceType: 'ebs', RootDeviceName: '/dev/xvda',
    BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeId: `vol-${i.toString(16)}`, Status: 'attached', DeleteOnTermination: true } }],
    VirtualizationType: 'hvm', ClientToken: '', Hypervisor: 'xen', EbsOptimized: false, SourceDestCheck: true,
    SecurityGroups: [{ GroupId: `sg-${(i % 20).toString(16).padStart(8, '0')}`, GroupName: `web-${i % 20}` }],
    NetworkInterfaces: [{
      NetworkInterfaceId: `eni-${i.toString(16)}`, OwnerId: '123456789012', Status: 'in-use', Description: '',
      Attachment: { AttachmentId: `eni-attach-${i.toString(16)}`, DeviceIndex: 0, Status: 'attached', AttachTime: new Date(1_700_000_000_000), DeleteOnTermination: true },
      Association: { PublicIp: ip, IpOwnerId: 'amazon', PublicDnsName: '' },
    }],
    Tags: [
      { Key: 'Name', Value: `web-${i}` }, { Key: 'Environment', Value: ['prod', 'staging', 'dev'][i % 3] as string },
      { Key: 'Team', Value: `team-${i % 40}` }, { Key: 'aws:autoscaling:groupName', Value: `asg-${i % 100}` },
    ],
  };
}

export function syntheticRecords(count: number, region: string): FetchedData {
  const instances = Array.from({ length: count }, (_, i) => ({ region, instance: syntheticInstance(i, region) }));
  return { route53: undefined, regions: [{ region, instances, dbInstances: [] }] };
}
