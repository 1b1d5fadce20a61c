// The AWS state of the cold-refresh rows, built in moto through the SDK: nine tagged instances in
// each of the sixteen regions boto 2.49 (the reference) knows, a DB instance in four of them and a
// Route53 zone naming some hosts. 144 EC2 hosts, as in the measurement.
import { EC2Client, RunInstancesCommand, DescribeImagesCommand, CreateTagsCommand } from '@aws-sdk/client-ec2';
import { RDSClient, CreateDBInstanceCommand } from '@aws-sdk/client-rds';
import { Route53Client, CreateHostedZoneCommand, ChangeResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { clientConfig as defaultConfig } from '../support/scenario.js';

export const benchRegions = [
  'us-east-1', 'us-east-2', 'us-west-1', 'us-west-2', 'ca-central-1', 'eu-west-1', 'eu-west-2', 'eu-central-1',
  'ap-south-1', 'ap-northeast-1', 'ap-northeast-2', 'ap-southeast-1', 'ap-southeast-2', 'sa-east-1', 'cn-north-1', 'us-gov-west-1',
];

export interface BenchAccount {
  /** Credentials acting in the account (moto: an assumed role's); absent: moto's default account. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  regions?: readonly string[];
  /** The Route53 zone naming some hosts. */
  zone?: string;
}

export async function buildBenchState(endpoint: string, perRegion = 9, account: BenchAccount = {}): Promise<{ hosts: number }> {
  const named: { name: string; ip: string }[] = [];
  let hosts = 0;
  const zoneName = account.zone ?? 'bench.example.com';
  const clientConfig = (at: string, region: string) => ({ ...defaultConfig(at, region), ...(account.credentials ? { credentials: account.credentials } : {}) });
  await Promise.all((account.regions ?? benchRegions).map(async (region, r) => {
    const ec2 = new EC2Client(clientConfig(endpoint, region));
    const image = (await ec2.send(new DescribeImagesCommand({}))).Images?.[0]?.ImageId;
    const out = await ec2.send(new RunInstancesCommand({ ImageId: image, MinCount: perRegion, MaxCount: perRegion, InstanceType: 't3.micro' }));
    const instances = out.Instances ?? [];
    hosts += instances.length;
    for (const [i, inst] of instances.entries()) {
      await ec2.send(new CreateTagsCommand({
        Resources: [inst.InstanceId as string],
        Tags: [{ Key: 'Name', Value: `web-${r}-${i}` }, { Key: 'Role', Value: i % 3 === 0 ? 'db' : 'web' }, { Key: 'Env', Value: i % 2 ? 'prod' : 'staging' }],
      }));
      if (i === 0 && inst.PublicIpAddress) named.push({ name: `web-${region}.${zoneName}`, ip: inst.PublicIpAddress });
    }
    if (r % 4 === 0) {
      await new RDSClient(clientConfig(endpoint, region)).send(new CreateDBInstanceCommand({
        DBInstanceIdentifier: `orders-${r}`, Engine: 'postgres', DBInstanceClass: 'db.t3.micro', AllocatedStorage: 20,
        MasterUsername: 'admin', MasterUserPassword: 'password123',
      }));
    }
  }));
  const r53 = new Route53Client(clientConfig(endpoint, 'us-east-1'));
  const zone = await r53.send(new CreateHostedZoneCommand({ Name: zoneName, CallerReference: zoneName }));
  await r53.send(new ChangeResourceRecordSetsCommand({
    HostedZoneId: zone.HostedZone?.Id,
    ChangeBatch: {
      Changes: named.map((n) => ({ Action: 'CREATE' as const, ResourceRecordSet: { Name: n.name, Type: 'A' as const, TTL: 300, ResourceRecords: [{ Value: n.ip }] } })),
    },
  }));
  return { hosts };
}
