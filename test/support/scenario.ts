// Builds an AWS state in moto through the real SDK v3 clients: the fixture that the golden,
// differential and Ansible tests read back through the inventory.
import {
  EC2Client, RunInstancesCommand, CreateTagsCommand, CreateSecurityGroupCommand, CreateKeyPairCommand,
  StopInstancesCommand, CreateVpcCommand, CreateSubnetCommand, DescribeImagesCommand, type Instance,
} from '@aws-sdk/client-ec2';
import { RDSClient, CreateDBInstanceCommand, CreateDBParameterGroupCommand } from '@aws-sdk/client-rds';
import { Route53Client, CreateHostedZoneCommand, ChangeResourceRecordSetsCommand } from '@aws-sdk/client-route-53';

export const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };

export function clientConfig(endpoint: string, region: string) {
  return { endpoint, region, credentials, maxAttempts: 1 };
}

export interface ScenarioHost {
  name: string;
  id: string;
  region: string;
  publicIp?: string;
  privateIp?: string;
  publicDns?: string;
  privateDns?: string;
  vpcId?: string;
  state: 'running' | 'stopped';
}

export interface Scenario {
  hosts: ScenarioHost[];
  rds: { id: string; region: string; endpoint: string; engine: string }[];
  zones: { name: string; excluded: boolean }[];
}

async function anyImage(ec2: EC2Client): Promise<string> {
  const out = await ec2.send(new DescribeImagesCommand({}));
  const id = out.Images?.[0]?.ImageId;
  if (!id) throw new Error('moto has no images');
  return id;
}

interface LaunchSpec {
  name: string;
  tags: Record<string, string>;
  groups?: string[];
  keyName?: string;
  subnetId?: string;
  instanceType?: string;
  stop?: boolean;
}

async function launch(ec2: EC2Client, region: string, image: string, spec: LaunchSpec): Promise<ScenarioHost> {
  const out = await ec2.send(new RunInstancesCommand({
    ImageId: image, MinCount: 1, MaxCount: 1,
    InstanceType: (spec.instanceType ?? 't2.micro') as never,
    KeyName: spec.keyName,
    SecurityGroupIds: spec.groups,
    SubnetId: spec.subnetId,
  }));
  const inst = out.Instances?.[0] as Instance;
  const id = inst.InstanceId as string;
  const tags = Object.entries(spec.tags).map(([Key, Value]) => ({ Key, Value }));
  if (tags.length) await ec2.send(new CreateTagsCommand({ Resources: [id], Tags: tags }));
  if (spec.stop) await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
  return {
    name: spec.name, id, region,
    publicIp: inst.PublicIpAddress, privateIp: inst.PrivateIpAddress, publicDns: inst.PublicDnsName,
    privateDns: inst.PrivateDnsName, vpcId: inst.VpcId,
    state: spec.stop ? 'stopped' : 'running',
  };
}

export function host(scenario: Scenario, name: string): ScenarioHost {
  const found = scenario.hosts.find((h) => h.name === name);
  if (!found) throw new Error(`no scenario host ${name}`);
  return found;
}

export function db(scenario: Scenario, id: string): string {
  const found = scenario.rds.find((r) => r.id === id);
  if (!found) throw new Error(`no scenario DB ${id}`);
  return found.endpoint;
}

export async function buildScenario(endpoint: string): Promise<Scenario> {
  const hosts: ScenarioHost[] = [];
  const rds: Scenario['rds'] = [];

  // us-east-1: the busy region: several groups, key pairs, odd tags, a stopped host and a private subnet.
  {
    const region = 'us-east-1';
    const ec2 = new EC2Client(clientConfig(endpoint, region));
    const image = await anyImage(ec2);
    await ec2.send(new CreateKeyPairCommand({ KeyName: 'ops-key' }));
    await ec2.send(new CreateKeyPairCommand({ KeyName: 'deploy.key 2' }));
    const web = await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'web', Description: 'web' }));
    const db = await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'db access:5432', Description: 'db' }));
    const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.20.0.0/16' }));
    const subnet = await ec2.send(new CreateSubnetCommand({ VpcId: vpc.Vpc?.VpcId, CidrBlock: '10.20.1.0/24' }));
    hosts.push(await launch(ec2, region, image, {
      name: 'web1', keyName: 'ops-key', groups: [web.GroupId as string, db.GroupId as string],
      tags: { Name: 'web 1', Env: 'prod', 'aws:cloudformation:stack-name': 'front/end' },
    }));
    hosts.push(await launch(ec2, region, image, {
      name: 'web2', keyName: 'deploy.key 2', groups: [web.GroupId as string], instanceType: 'm5.large',
      tags: { Name: 'web-2', Env: 'prod', Owner: 'Zoë Ünïcode', Role: '日本語', Empty: '' },
    }));
    hosts.push(await launch(ec2, region, image, { name: 'untagged', tags: {} }));
    hosts.push(await launch(ec2, region, image, {
      name: 'stopped', keyName: 'ops-key', tags: { Name: 'old box', Env: 'dev' }, stop: true,
    }));
    hosts.push(await launch(ec2, region, image, {
      name: 'private', subnetId: subnet.Subnet?.SubnetId, tags: { Name: 'internal', Env: 'prod' },
    }));
  }

  // us-west-2: a second region with its own naming.
  {
    const region = 'us-west-2';
    const ec2 = new EC2Client(clientConfig(endpoint, region));
    const image = await anyImage(ec2);
    await ec2.send(new CreateKeyPairCommand({ KeyName: 'ops-key' }));
    hosts.push(await launch(ec2, region, image, {
      name: 'west1', keyName: 'ops-key', instanceType: 'c5.xlarge', tags: { Name: 'batch=1', Env: 'staging, qa' },
    }));
  }

  // eu-west-1: RDS only, plus one instance so region groups nest.
  {
    const region = 'eu-west-1';
    const ec2 = new EC2Client(clientConfig(endpoint, region));
    const image = await anyImage(ec2);
    hosts.push(await launch(ec2, region, image, { name: 'eu1', tags: { Env: 'prod' } }));
  }

  for (const [region, id, engine, cls] of [
    ['us-east-1', 'orders-db', 'mysql', 'db.m5.large'],
    ['eu-west-1', 'analytics', 'postgres', 'db.t3.micro'],
  ] as const) {
    const client = new RDSClient(clientConfig(endpoint, region));
    const pg = `${id}-params`;
    await client.send(new CreateDBParameterGroupCommand({
      DBParameterGroupName: pg, DBParameterGroupFamily: engine === 'mysql' ? 'mysql8.0' : 'postgres15', Description: 'test',
    }));
    const out = await client.send(new CreateDBInstanceCommand({
      DBInstanceIdentifier: id, Engine: engine, DBInstanceClass: cls, AllocatedStorage: 20,
      MasterUsername: 'admin', MasterUserPassword: 'password123', DBParameterGroupName: pg,
    }));
    rds.push({ id, region, engine, endpoint: out.DBInstance?.Endpoint?.Address ?? '' });
  }

  const r53 = new Route53Client(clientConfig(endpoint, 'us-east-1'));
  const zones = [
    { name: 'example.com', excluded: false },
    { name: 'internal.example.org', excluded: false },
    { name: 'hidden.example.net', excluded: true },
  ];
  const web1 = hosts[0] as ScenarioHost;
  const web2 = hosts[1] as ScenarioHost;
  const priv = hosts[4] as ScenarioHost;
  for (const zone of zones) {
    const created = await r53.send(new CreateHostedZoneCommand({ Name: zone.name, CallerReference: zone.name }));
    const zoneId = created.HostedZone?.Id as string;
    const records: { name: string; type: 'A' | 'CNAME'; values: string[] }[] =
      zone.name === 'example.com'
        ? [
            { name: 'www.example.com', type: 'A', values: [web1.publicIp as string, web2.publicIp as string] },
            { name: 'web1.example.com', type: 'A', values: [web1.publicIp as string] },
            { name: 'alias.example.com', type: 'CNAME', values: [web2.publicDns as string] },
          ]
        : zone.name === 'internal.example.org'
          ? [{ name: 'db.internal.example.org', type: 'A', values: [priv.privateIp as string] },
             { name: 'web1-int.internal.example.org', type: 'A', values: [web1.privateIp as string] }]
          : [{ name: 'secret.hidden.example.net', type: 'A', values: [web1.publicIp as string] }];
    await r53.send(new ChangeResourceRecordSetsCommand({
      HostedZoneId: zoneId,
      ChangeBatch: {
        Changes: records.map((r) => ({
          Action: 'CREATE' as const,
          ResourceRecordSet: { Name: r.name, Type: r.type, TTL: 300, ResourceRecords: r.values.map((Value) => ({ Value })) },
        })),
      },
    }));
  }
  return { hosts, rds, zones };
}
