// Fetch paths moto cannot produce (403 from RDS, throttling, many pages), with in-process SDK mocks.
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mockClient } from 'aws-sdk-client-mock';
import { EC2Client, DescribeInstancesCommand, DescribeRegionsCommand } from '@aws-sdk/client-ec2';
import { RDSClient, DescribeDBInstancesCommand } from '@aws-sdk/client-rds';
import { Route53Client, ListHostedZonesCommand, ListResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { fetchRecords, getInstancesByRegion, resolveRegions, streamRecords, type FetchSettings, type RecordBatch } from '../../lib/sources/aws/fetch.js';
import { getRdsInstancesByRegion } from '../../lib/sources/aws/rds.js';
import { getRoute53Records } from '../../lib/sources/aws/route53.js';
import { AwsError, SettingsError } from '../../lib/errors.js';

const ec2 = mockClient(EC2Client);
const rds = mockClient(RDSClient);
const r53 = mockClient(Route53Client);

const settings: FetchSettings = {
  iniPath: 'test.ini', eucalyptus: false, eucalyptusHost: undefined, regions: ['us-east-1'], regionsExclude: [],
  route53: false, route53ExcludedZones: [], rds: true, instanceFilters: [], maxConcurrency: 16, maxAttempts: 3,
};

function sdkError(name: string, status: number, message: string): Error {
  return Object.assign(new Error(message), { name, Code: name, $fault: 'client', $metadata: { httpStatusCode: status } });
}

beforeEach(() => {
  process.env['AWS_ACCESS_KEY_ID'] = 'x';
  process.env['AWS_SECRET_ACCESS_KEY'] = 'y';
  ec2.reset(); rds.reset(); r53.reset();
});
afterEach(() => { ec2.reset(); rds.reset(); r53.reset(); });

describe('EC2', () => {
  it('reads every page of DescribeInstances, in order', async () => {
    const pages = [
      { Reservations: [{ Instances: [{ InstanceId: 'i-1' }, { InstanceId: 'i-2' }] }], NextToken: 'p2' },
      { Reservations: [{ Instances: [{ InstanceId: 'i-3' }] }], NextToken: 'p3' },
      { Reservations: [{ Instances: [{ InstanceId: 'i-4' }] }] },
    ];
    const tokens: (string | undefined)[] = [];
    ec2.on(DescribeInstancesCommand).callsFake((input: { NextToken?: string }) => {
      tokens.push(input.NextToken);
      return pages[tokens.length - 1];
    });
    const records = await getInstancesByRegion(settings, 'us-east-1');
    assert.deepEqual(records.map((r) => r.instance.InstanceId), ['i-1', 'i-2', 'i-3', 'i-4']);
    assert.deepEqual(tokens, [undefined, 'p2', 'p3']);
  });

  it('makes one call per instance_filters name with its values ORed', async () => {
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [{ InstanceId: 'i-1' }] }] });
    const records = await getInstancesByRegion({
      ...settings,
      instanceFilters: [{ name: 'tag:Env', values: ['prod', 'qa'] }, { name: 'instance-type', values: ['t3.small'] }],
    }, 'us-east-1');
    assert.equal(records.length, 2, 'a host found by both calls is listed twice, as ec2.py');
    assert.deepEqual(ec2.commandCalls(DescribeInstancesCommand).map((c) => c.args[0].input.Filters),
      [[{ Name: 'tag:Env', Values: ['prod', 'qa'] }], [{ Name: 'instance-type', Values: ['t3.small'] }]]);
  });

  it('an error names service, call, region and AWS code', async () => {
    ec2.on(DescribeInstancesCommand).rejects(sdkError('UnauthorizedOperation', 403, 'You are not authorized to perform this operation.'));
    await assert.rejects(getInstancesByRegion(settings, 'eu-west-3'), (err: unknown) => {
      assert.ok(err instanceof AwsError);
      assert.equal(err.service, 'EC2');
      assert.equal(err.region, 'eu-west-3');
      assert.equal(err.awsCode, 'UnauthorizedOperation');
      assert.match(err.message, /^EC2 DescribeInstances in eu-west-3 failed \(HTTP 403\): UnauthorizedOperation: You are not authorized to perform this operation\.$/);
      return true;
    });
  });

  it('an unknown region is refused before any DescribeInstances', async () => {
    ec2.on(DescribeRegionsCommand).resolves({ Regions: [{ RegionName: 'us-east-1' }, { RegionName: 'eu-west-1' }] });
    await assert.rejects(resolveRegions({ ...settings, regions: ['us-east-1', 'ap-nowhere-7'] }), (err: unknown) => {
      assert.ok(err instanceof SettingsError);
      assert.match(err.message, /unknown region 'ap-nowhere-7'/);
      return true;
    });
    assert.equal(ec2.commandCalls(DescribeRegionsCommand)[0]?.args[0].input.AllRegions, true);
  });

  it('regions = all asks for the enabled regions and drops regions_exclude by whole name', async () => {
    ec2.on(DescribeRegionsCommand).resolves({ Regions: ['us-east-1', 'us-west-1', 'us-gov-west-1', 'eu-west-1'].map((RegionName) => ({ RegionName })) });
    const regions = await resolveRegions({ ...settings, regions: 'all', regionsExclude: ['us-gov-west-1', 'eu-west'] });
    assert.deepEqual(regions, ['us-east-1', 'us-west-1', 'eu-west-1']);
    assert.equal(ec2.commandCalls(DescribeRegionsCommand)[0]?.args[0].input.AllRegions, undefined);
  });
});

describe('RDS', () => {
  it('a 403 (no RDS permission) is skipped silently, as ec2.py does', async () => {
    rds.on(DescribeDBInstancesCommand).rejects(sdkError('AccessDenied', 403, 'User is not authorized'));
    assert.deepEqual(await getRdsInstancesByRegion(settings, 'us-east-1'), []);
  });

  it('any other error names RDS and the region', async () => {
    rds.on(DescribeDBInstancesCommand).rejects(sdkError('InvalidClientTokenId', 400, 'The security token included in the request is invalid.'));
    await assert.rejects(getRdsInstancesByRegion(settings, 'sa-east-1'), /^AwsError: RDS DescribeDBInstances in sa-east-1 failed \(HTTP 400\): InvalidClientTokenId: The security token/);
  });

  it('reads every page', async () => {
    rds.on(DescribeDBInstancesCommand)
      .resolvesOnce({ DBInstances: [{ DBInstanceIdentifier: 'a' }], Marker: 'm' })
      .resolvesOnce({ DBInstances: [{ DBInstanceIdentifier: 'b' }] });
    assert.deepEqual((await getRdsInstancesByRegion(settings, 'us-east-1')).map((r) => r.instance.DBInstanceIdentifier), ['a', 'b']);
  });
});

describe('Route53', () => {
  it('pages zones and record sets, strips trailing dots, leaves out excluded zones', async () => {
    r53.on(ListHostedZonesCommand)
      .resolvesOnce({ HostedZones: [{ Id: '/hostedzone/A', Name: 'a.com.', CallerReference: 'a' }], IsTruncated: true, NextMarker: 'z', Marker: '', MaxItems: 1 })
      .resolvesOnce({ HostedZones: [{ Id: '/hostedzone/B', Name: 'b.com.', CallerReference: 'b' }], IsTruncated: false, Marker: 'z', MaxItems: 1 });
    r53.on(ListResourceRecordSetsCommand, { HostedZoneId: '/hostedzone/A' })
      .resolvesOnce({ ResourceRecordSets: [{ Name: 'x.a.com.', Type: 'A', ResourceRecords: [{ Value: '1.2.3.4' }] }], IsTruncated: true, NextRecordName: 'y.a.com.', NextRecordType: 'A', MaxItems: 1 })
      .resolvesOnce({ ResourceRecordSets: [{ Name: 'y.a.com.', Type: 'A', ResourceRecords: [{ Value: '5.6.7.8' }, { Value: '1.2.3.4' }] }], IsTruncated: false, MaxItems: 1 });
    const sets = await getRoute53Records(settings, ['b.com']);
    assert.deepEqual(sets, [{ name: 'x.a.com', values: ['1.2.3.4'] }, { name: 'y.a.com', values: ['5.6.7.8', '1.2.3.4'] }]);
    assert.equal(r53.commandCalls(ListResourceRecordSetsCommand).length, 2, 'the excluded zone is never read');
    assert.equal(r53.commandCalls(ListResourceRecordSetsCommand)[1]?.args[0].input.StartRecordName, 'y.a.com.');
  });
});

describe('fetchRecords', () => {
  it('keeps ec2.py order (regions as configured, EC2 before RDS) whatever order calls finish in', async () => {
    ec2.on(DescribeRegionsCommand).resolves({ Regions: [{ RegionName: 'us-east-1' }, { RegionName: 'eu-west-1' }] });
    ec2.on(DescribeInstancesCommand).callsFake(async () => {
      await new Promise((r) => setTimeout(r, Math.random() * 30));
      return { Reservations: [{ Instances: [{ InstanceId: 'i' }] }] };
    });
    rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [{ DBInstanceIdentifier: 'd' }] });
    const data = await fetchRecords({ ...settings, regions: ['eu-west-1', 'us-east-1'] });
    assert.deepEqual(data.regions.map((r) => [r.region, r.instances.length, r.dbInstances.length]), [['eu-west-1', 1, 1], ['us-east-1', 1, 1]]);
    assert.equal(data.route53, undefined);
  });
});

describe('streamRecords', () => {
  it('hands pages over in ec2.py order as they become due, and none before the Route53 names', async () => {
    ec2.on(DescribeRegionsCommand).resolves({ Regions: [{ RegionName: 'us-east-1' }, { RegionName: 'eu-west-1' }] });
    // The second region answers at once, the first slowly, page by page.
    ec2.on(DescribeInstancesCommand).callsFake(async (input: { NextToken?: string }, getClient: () => EC2Client) => {
      const region = await getClient().config.region();
      const page = Number(input.NextToken ?? '0');
      if (region === 'eu-west-1') await new Promise((r) => setTimeout(r, 20));
      return { Reservations: [{ Instances: [{ InstanceId: `${region}-${page}` }] }], NextToken: page < 2 ? String(page + 1) : undefined };
    });
    rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [{ DBInstanceIdentifier: 'db' }] });
    r53.on(ListHostedZonesCommand).callsFake(async () => {
      await new Promise((r) => setTimeout(r, 100));
      return { HostedZones: [{ Id: '/hostedzone/A', Name: 'a.com.', CallerReference: 'a' }], IsTruncated: false, Marker: '', MaxItems: 1 };
    });
    r53.on(ListResourceRecordSetsCommand).resolves({ ResourceRecordSets: [{ Name: 'x.a.com.', Type: 'A', ResourceRecords: [{ Value: '1.2.3.4' }] }], IsTruncated: false, MaxItems: 1 });
    const seen: string[] = [];
    await streamRecords({ ...settings, route53: true, regions: ['eu-west-1', 'us-east-1'] }, {
      begin: ({ regions, route53 }) => { seen.push(`begin ${regions.join(',')} ${route53?.map((r) => r.name).join(',')}`); },
      add: (batch: RecordBatch) => {
        for (const r of batch.instances ?? []) seen.push(`${batch.region} ec2 ${r.instance.InstanceId}`);
        for (const r of batch.dbInstances ?? []) seen.push(`${batch.region} rds ${r.instance.DBInstanceIdentifier}`);
      },
    });
    assert.deepEqual(seen, [
      'begin eu-west-1,us-east-1 x.a.com',
      'eu-west-1 ec2 eu-west-1-0', 'eu-west-1 ec2 eu-west-1-1', 'eu-west-1 ec2 eu-west-1-2', 'eu-west-1 rds db',
      'us-east-1 ec2 us-east-1-0', 'us-east-1 ec2 us-east-1-1', 'us-east-1 ec2 us-east-1-2', 'us-east-1 rds db',
    ]);
  });
});

describe('the later listings', () => {
  it('name service, call and region when they fail, and a refusal is an error (unlike RDS in 2014)', async () => {
    const { ElastiCacheClient, DescribeReplicationGroupsCommand } = await import('@aws-sdk/client-elasticache');
    const { getElasticacheReplicationGroupsByRegion } = await import('../../lib/sources/aws/elasticache.js');
    const cache = mockClient(ElastiCacheClient);
    try {
      cache.on(DescribeReplicationGroupsCommand).rejects(sdkError('AccessDenied', 403, 'not allowed'));
      await assert.rejects(getElasticacheReplicationGroupsByRegion(settings, 'eu-west-2'),
        /^AwsError: ElastiCache DescribeReplicationGroups in eu-west-2 failed \(HTTP 403\): AccessDenied: not allowed$/);
    } finally {
      cache.restore();
    }
  });
});
