// A second, more varied AWS state for the differential test: the corners the shared scenario does
// not reach (monitoring, EBS optimisation, dedicated tenancy, terminated hosts, tag
// collisions, Multi-AZ and provisioned-IOPS databases, read replicas, stopped databases, alias,
// wildcard, weighted and TXT records).
import {
  EC2Client, RunInstancesCommand, CreateTagsCommand, TerminateInstancesCommand, DescribeImagesCommand,
  CreateSecurityGroupCommand, CreateNetworkInterfaceCommand, AttachNetworkInterfaceCommand, RequestSpotInstancesCommand,
  StopInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  RDSClient, CreateDBInstanceCommand, CreateDBInstanceReadReplicaCommand, StopDBInstanceCommand, CreateDBSecurityGroupCommand,
} from '@aws-sdk/client-rds';
import { Route53Client, CreateHostedZoneCommand, ChangeResourceRecordSetsCommand, type Change } from '@aws-sdk/client-route-53';
import { clientConfig } from './scenario.js';

// Names the call that moto refused, so a failing fixture says what it could not build.
async function step<T>(what: string, call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    throw new Error(`variety fixture: ${what} failed: ${(err as Error).message.split('\n')[0]}`);
  }
}

export async function buildVariety(endpoint: string): Promise<void> {
  const region = 'eu-central-1';
  const ec2 = new EC2Client(clientConfig(endpoint, region));
  const image = (await step('DescribeImagesCommand', ec2.send(new DescribeImagesCommand({})))).Images?.[0]?.ImageId as string;
  const sg = await step('CreateSecurityGroupCommand', ec2.send(new CreateSecurityGroupCommand({ GroupName: 'a b', Description: 'x' })));
  const sg2 = await step('CreateSecurityGroupCommand', ec2.send(new CreateSecurityGroupCommand({ GroupName: 'a_b', Description: 'x' })));
  const ips: string[] = [];
  const launch = async (extra: Record<string, unknown>, tags: Record<string, string>) => {
    const out = await step('RunInstancesCommand', ec2.send(new RunInstancesCommand({ ImageId: image, MinCount: 1, MaxCount: 1, InstanceType: 't3.small', ...extra })));
    const inst = out.Instances?.[0];
    const id = inst?.InstanceId as string;
    const t = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
    if (t.length) await step('CreateTagsCommand', ec2.send(new CreateTagsCommand({ Resources: [id], Tags: t })));
    ips.push(inst?.PublicIpAddress ?? '');
    return { id, publicIp: inst?.PublicIpAddress ?? '', privateIp: inst?.PrivateIpAddress ?? '', dns: inst?.PublicDnsName ?? '' };
  };
  const monitored = await launch(
    { Monitoring: { Enabled: true }, EbsOptimized: true, SecurityGroupIds: [sg.GroupId, sg2.GroupId], Placement: { Tenancy: 'dedicated' } },
    { 'a b': '1', a_b: '2', 'k=v': 'x=y', Long: 'x'.repeat(200), 'tab\there': 'new\nline' },
  );
  const many = await launch({ MinCount: 3, MaxCount: 3 }, { Role: 'worker' });
  const doomed = await launch({}, { Role: 'gone' });
  await step('TerminateInstancesCommand', ec2.send(new TerminateInstancesCommand({ InstanceIds: [doomed.id] })));
  // A second network interface, astral-plane and mixed-script tags, a stopped host with a reason.
  const multi = await launch({ KeyName: undefined }, { 'emoji 😀': 'rocket 🚀', 'Ärger': 'ß', 'dup': 'one' });
  const described = await step('RunInstancesCommand', ec2.send(new RunInstancesCommand({ ImageId: image, MinCount: 1, MaxCount: 1 })));
  const subnetId = described.Instances?.[0]?.SubnetId;
  const eni = await step('CreateNetworkInterfaceCommand', ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: subnetId, Description: 'second one' })));
  await step('AttachNetworkInterfaceCommand', ec2.send(new AttachNetworkInterfaceCommand({
    NetworkInterfaceId: eni.NetworkInterface?.NetworkInterfaceId, InstanceId: multi.id, DeviceIndex: 1,
  })));
  const parked = await launch({}, { Name: 'parked' });
  await step('StopInstancesCommand', ec2.send(new StopInstancesCommand({ InstanceIds: [parked.id] })));
  await step('RequestSpotInstancesCommand', ec2.send(new RequestSpotInstancesCommand({
    InstanceCount: 1, SpotPrice: '0.05', LaunchSpecification: { ImageId: image, InstanceType: 't3.small' },
  })));
  await launch({ InstanceType: 'm6i.metal', KeyName: undefined }, { Name: '' });

  const rds = new RDSClient(clientConfig(endpoint, region));
  // Classic DB security groups: boto 2's security_group is the last of them.
  await step('CreateDBSecurityGroupCommand', rds.send(new CreateDBSecurityGroupCommand({ DBSecurityGroupName: 'legacy one', DBSecurityGroupDescription: 'x' })));
  await step('CreateDBSecurityGroupCommand', rds.send(new CreateDBSecurityGroupCommand({ DBSecurityGroupName: 'legacy-two', DBSecurityGroupDescription: 'x' })));
  await step('CreateDBInstanceCommand', rds.send(new CreateDBInstanceCommand({
    DBInstanceIdentifier: 'classic', Engine: 'mysql', DBInstanceClass: 'db.t3.micro', AllocatedStorage: 10,
    MasterUsername: 'root', MasterUserPassword: 'password123', DBSecurityGroups: ['legacy one', 'legacy-two'],
  })));
  await step('CreateDBInstanceCommand', rds.send(new CreateDBInstanceCommand({
    DBInstanceIdentifier: 'big', Engine: 'postgres', DBInstanceClass: 'db.r5.large', AllocatedStorage: 100,
    MasterUsername: 'root', MasterUserPassword: 'password123', MultiAZ: true,
  })));
  await step('CreateDBInstanceReadReplicaCommand', rds.send(new CreateDBInstanceReadReplicaCommand({ DBInstanceIdentifier: 'big-replica', SourceDBInstanceIdentifier: 'big' })));
  await step('CreateDBInstanceCommand', rds.send(new CreateDBInstanceCommand({
    DBInstanceIdentifier: 'sleepy', Engine: 'mysql', DBInstanceClass: 'db.t3.small', AllocatedStorage: 20,
    MasterUsername: 'root', MasterUserPassword: 'password123',
  })));
  await step('StopDBInstanceCommand', rds.send(new StopDBInstanceCommand({ DBInstanceIdentifier: 'sleepy' })));

  const r53 = new Route53Client(clientConfig(endpoint, 'us-east-1'));
  const zone = await step('CreateHostedZoneCommand', r53.send(new CreateHostedZoneCommand({ Name: 'variety.test.', CallerReference: 'variety' })));
  const zoneId = zone.HostedZone?.Id as string;
  const changes: Change[] = [
    { Action: 'CREATE', ResourceRecordSet: { Name: '*.variety.test', Type: 'A', TTL: 60, ResourceRecords: [{ Value: monitored.publicIp }] } },
    { Action: 'CREATE', ResourceRecordSet: { Name: 'txt.variety.test', Type: 'TXT', TTL: 60, ResourceRecords: [{ Value: `"${monitored.publicIp}"` }] } },
    { Action: 'CREATE', ResourceRecordSet: { Name: 'w.variety.test', Type: 'A', TTL: 60, SetIdentifier: 'one', Weight: 10, ResourceRecords: [{ Value: monitored.publicIp }] } },
    { Action: 'CREATE', ResourceRecordSet: { Name: 'w.variety.test', Type: 'A', TTL: 60, SetIdentifier: 'two', Weight: 20, ResourceRecords: [{ Value: many.publicIp }] } },
    { Action: 'CREATE', ResourceRecordSet: { Name: 'dns.variety.test', Type: 'CNAME', TTL: 60, ResourceRecords: [{ Value: many.dns }] } },
    { Action: 'CREATE', ResourceRecordSet: { Name: 'priv.variety.test', Type: 'A', TTL: 60, ResourceRecords: [{ Value: monitored.privateIp }, { Value: many.privateIp }] } },
  ];
  // Enough records to need more than one ListResourceRecordSets page (moto pages at 300).
  for (let i = 0; i < 320; i++) {
    changes.push({ Action: 'CREATE', ResourceRecordSet: { Name: `bulk${String(i).padStart(3, '0')}.variety.test`, Type: 'A', TTL: 60, ResourceRecords: [{ Value: ips[i % ips.length] as string }] } });
  }
  await step('ChangeResourceRecordSetsCommand', r53.send(new ChangeResourceRecordSetsCommand({ HostedZoneId: zoneId, ChangeBatch: { Changes: changes } })));
}
